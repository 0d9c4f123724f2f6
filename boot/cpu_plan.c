/* See cpu_plan.h. */
#include <minihv/format.h>
#include <minihv/libc.h>
#include "boot/cpu_plan.h"

#define MADT_HEADER 44 /* SDT header 36, local APIC address 4, flags 4 */

static int fail(const char **why, const char *what)
{
    *why = what;
    return -1;
}

static int madt_find(const struct madt_cpus *m, uint32_t apic_id)
{
    for (unsigned i = 0; i < m->count; i++)
        if (m->apic_id[i] == apic_id)
            return (int)i;
    return -1;
}

int madt_cpus_parse(const uint8_t *madt, uint32_t len, struct madt_cpus *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    if (len < MADT_HEADER)
        return fail(why, "MADT length shorter than its fixed part");
    out->revision = madt[8];
    uint32_t usable = out->revision >= 5 ? MADT_LAPIC_ENABLED | MADT_LAPIC_ONLINE_CAPABLE : MADT_LAPIC_ENABLED;
    for (uint32_t off = MADT_HEADER; off < len;) {
        if (len - off < 2)
            return fail(why, "MADT entry header past the table end");
        uint8_t type = madt[off], elen = madt[off + 1];
        if (elen < 2 || elen > len - off)
            return fail(why, "MADT entry length");
        uint32_t id, flags;
        if (type == 0) { /* Processor Local APIC: UID, APIC ID, flags */
            if (elen < 8)
                return fail(why, "MADT Local APIC entry length");
            id = madt[off + 3];
            flags = le32(madt + off + 4);
        } else if (type == 9) { /* Processor Local x2APIC: reserved, x2APIC ID, flags, UID */
            if (elen < 16)
                return fail(why, "MADT x2APIC entry length");
            id = le32(madt + off + 4);
            flags = le32(madt + off + 8);
        } else if (type == 1) { /* I/O APIC: ID, reserved, address, GSI base */
            if (elen < 12)
                return fail(why, "MADT I/O APIC entry length");
            uint64_t base = le32(madt + off + 4);
            /* The same unit listed twice (firmware does) counts once; two
             * in one page cannot each have the page's model (hv/ioapic.c). */
            bool twice = false, shared_page = false;
            for (unsigned k = 0; k < out->ioapic_count; k++) {
                twice |= out->ioapic_base[k] == base;
                shared_page |= out->ioapic_base[k] != base && (out->ioapic_base[k] >> 12) == (base >> 12);
            }
            if (twice) {
                off += elen;
                continue;
            }
            if ((base & 0xfff) > 0x1000 - 0x44) {
                if (!out->ioapic_refusal)
                    out->ioapic_refusal = "MADT I/O APIC address: its registers cross a page end";
            } else if (shared_page) {
                if (!out->ioapic_refusal)
                    out->ioapic_refusal = "MADT I/O APIC address: two I/O APICs in one page";
            } else if (out->ioapic_count == MINIHV_MAX_IOAPICS) {
                out->ioapic_refusal = "MADT lists more I/O APICs than the core traps (16)";
            } else {
                out->ioapic_base[out->ioapic_count++] = base;
            }
            off += elen;
            continue;
        } else {
            off += elen;
            continue;
        }
        off += elen;
        flags &= usable;
        if (!flags) {
            out->not_present++;
            continue;
        }
        /* Firmware may list a CPU twice (Local APIC and x2APIC entries). */
        int at = madt_find(out, id);
        if (at >= 0) {
            out->flags[at] |= (uint8_t)flags;
            continue;
        }
        if (out->count == CPU_PLAN_MAX_MADT)
            return fail(why, "MADT lists more processors than the loader checks");
        out->apic_id[out->count] = id;
        out->flags[out->count++] = (uint8_t)flags;
    }
    return 0;
}

const char *cpu_virt_unusable(const struct cpu_virt_caps *c)
{
    if (c->intel && c->vmx && !c->vmx_locked_off && c->ept_unrestricted)
        return "";
    if (c->amd && c->svm && !c->svm_disabled && c->npt)
        return "";
    if (c->intel && !c->vmx)
        return "no VMX";
    if (c->intel && c->vmx_locked_off)
        return "VMX disabled and locked by the firmware (IA32_FEATURE_CONTROL)";
    if (c->intel)
        return "VMX without EPT or unrestricted guest";
    if (c->amd && !c->svm)
        return "no SVM";
    if (c->amd && c->svm_disabled)
        return "SVM disabled by the firmware (VM_CR.SVMDIS)";
    if (c->amd)
        return "SVM without nested paging";
    return "neither an Intel nor an AMD CPU";
}

static int refuse(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int refuse(char *why, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(why, len, fmt, ap);
    va_end(ap);
    return -1;
}

int cpu_plan(const struct madt_cpus *madt, const struct mp_cpu *mp, unsigned mp_count, unsigned limit,
             struct minihv_cpu_info *out, unsigned *out_count, char *why, size_t why_len)
{
    *out_count = 0;
    if (!mp_count)
        return refuse(why, why_len, "MP services list no processor");
    if (mp_count > limit)
        return refuse(why, why_len, "%u processors, the core runs at most %u", mp_count, limit);
    unsigned bsps = 0;
    for (unsigned i = 0; i < mp_count; i++) {
        /* A disabled AP still sits in the firmware's AP loop, and a UEFI
         * application can enable it and run code there, natively. */
        if (!(mp[i].status & MP_CPU_ENABLED))
            return refuse(why, why_len, "processor %u (APIC id %u) is disabled in MP services: the core "
                          "cannot take it, and it stays the firmware's", i, mp[i].apic_id);
        for (unsigned j = 0; j < i; j++)
            if (mp[j].apic_id == mp[i].apic_id)
                return refuse(why, why_len, "MP services list APIC id %u twice (processors %u and %u)",
                              mp[i].apic_id, j, i);
        if (mp[i].status & MP_CPU_BSP)
            bsps++;
    }
    if (bsps != 1)
        return refuse(why, why_len, "MP services list %u BSPs", bsps);
    /* Every CPU the MADT lists as there (or able to come online) must be
     * one the core takes: one the firmware did not start could be started
     * later, by INIT-SIPI, outside the core. */
    if (madt) {
        for (unsigned m = 0; m < madt->count; m++) {
            unsigned i = 0;
            while (i < mp_count && mp[i].apic_id != madt->apic_id[m])
                i++;
            if (i == mp_count)
                return refuse(why, why_len, "the MADT lists APIC id %u (%s) but MP services do not run it: "
                              "a CPU outside the core", madt->apic_id[m],
                              (madt->flags[m] & MADT_LAPIC_ENABLED) ? "enabled" : "online capable");
        }
    }
    for (unsigned i = 0; i < mp_count; i++) {
        out[i].apic_id = mp[i].apic_id;
        out[i].flags = (mp[i].status & MP_CPU_BSP) ? MINIHV_CPU_BSP : 0;
    }
    *out_count = mp_count;
    return 0;
}

int cpu_plan_check_ap(const struct cpu_virt_caps *bsp, const struct cpu_virt_caps *ap, uint32_t apic_id,
                      char *why, size_t why_len)
{
    const char *b = cpu_virt_unusable(bsp), *a = cpu_virt_unusable(ap);
    if (*a)
        return refuse(why, why_len, "APIC id %u: %s", apic_id, a);
    /* The backend is chosen once, from the BSP: every AP must offer it. */
    bool bsp_vmx = !*b && bsp->intel, ap_vmx = ap->intel;
    if (!*b && bsp_vmx != ap_vmx)
        return refuse(why, why_len, "APIC id %u: %s, the BSP %s", apic_id, ap_vmx ? "VMX" : "SVM",
                      bsp_vmx ? "VMX" : "SVM");
    return 0;
}
