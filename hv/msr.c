/* See msr.h. */
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "hv/console.h"
#include "hv/ept.h"
#include "hv/hv.h"
#include "hv/extable.h"
#include "hv/ipi.h"
#include "hv/msr.h"
#include "hv/msr_policy.h"
#include "hv/refuse.h"
#include "hv/vcpu_policy.h"

static void inject_gp(struct vcpu *v)
{
    v->ops->inject_exception(v, 13, true, 0);
}

static void done_read(struct vcpu *v, uint64_t value)
{
    v->regs.gpr[DECODE_RAX] = (uint32_t)value;
    v->regs.gpr[DECODE_RDX] = value >> 32;
    vcpu_skip_insn(v);
}

static struct msr_env env_now(void)
{
    uint32_t r[4];
    uint64_t cap = 0;
    x86_cpuid(0x80000000u, 0, r);
    unsigned phys = 36; /* SDM Vol. 3A 4.1.4: without leaf 0x80000008 */
    if (r[0] >= 0x80000008u) {
        x86_cpuid(0x80000008u, 0, r);
        phys = r[0] & 0xff;
    }
    if (msr_safe_read(MSR_IA32_MTRRCAP, &cap))
        cap = 0;
    /* The XSS bits the guest sees in CPUID.(0xd,1) ECX/EDX (hv/vcpu_policy.c hides PT and CET). */
    uint64_t xss = 0;
    x86_cpuid(0, 0, r);
    if (r[0] >= 0xd) {
        x86_cpuid(0xd, 1, r);
        cpuid_policy(0xd, 1, r);
        xss = (uint64_t)r[3] << 32 | r[2];
    }
    return (struct msr_env){ .phys_bits = phys, .mtrr_vcnt = (unsigned)(cap & 0xff), .xss_allowed = xss };
}

/* With EPT/NPT the guest's memory types come from the EPT leaves (NPT:
 * the host PAT and MTRRs) and the guest PAT, not from the MTRRs as the
 * guest sets them (SDM Vol. 3C 29.3.7.2): the core built the leaves from
 * the MTRRs at launch. Said once. */
static void tell_mtrr(struct vcpu *v, uint32_t msr, uint64_t value)
{
    static bool told;
    if (!__atomic_exchange_n(&told, true, __ATOMIC_RELAXED))
        hv_log("cpu %u: guest writes MTRR 0x%x = 0x%lx: the EPT/NPT memory types were fixed from the "
               "MTRRs at launch and stay so (logged once)", v->index, msr, value);
}

/* The MTRRs are the hardware's for host and guest alike (only the guest
 * map's types were fixed at launch): a write that would turn part of the
 * core's block or its log ring WC, WT or WP is refused with #GP (WC's
 * weakly ordered stores would break the core's locks). WB and UC pass (an
 * OS turns the MTRRs off while it rewrites them, SDM 11.11.7.2). The core's
 * MMIO is UC through the PAT whatever the MTRRs say (host_map_retype). */
static bool mtrr_write_keeps_core(struct vcpu *v, uint32_t msr, uint64_t value)
{
    struct mtrr_state before, after;
    mtrr_read_cpu(&before);
    after = before;
    if (!mtrr_state_write(&after, msr, value))
        return true; /* not one the model holds (a pair beyond VCNT #GPs in msr_mtrr_check) */
    const uint64_t range[2][2] = {
        { hv_boot->hv_phys_base, hv_boot->hv_phys_size },
        { hv_boot->log_phys, hv_boot->log_size },
    };
    for (unsigned i = 0; i < 2; i++)
        if (range[i][1] && !mtrr_write_keeps_range(&before, &after, range[i][0], range[i][1])) {
            hv_refuse(HV_REFUSE_MTRR, "cpu %u: WRMSR 0x%x = 0x%lx would make the core's %s at 0x%lx WC, WT or WP",
                      v->index, msr, value, i ? "log ring" : "block", range[i][0]);
            return false;
        }
    return true;
}

static void refuse(struct vcpu *v, const struct msr_rule *r, bool write, uint32_t msr, uint64_t value)
{
    enum hv_refuse_kind kind = r->check == MSR_CHECK_APIC_BASE ? HV_REFUSE_APIC_BASE : HV_REFUSE_MSR;
    /* The row's name: its reason up to the first ':' (the log line has
     * room for that, not for the whole reason). */
    char name[48];
    unsigned n = 0;
    while (n < sizeof(name) - 1 && r->why[n] && r->why[n] != ':')
        n++;
    memcpy(name, r->why, n);
    name[n] = 0;
    if (write)
        hv_refuse(kind, "cpu %u: WRMSR 0x%x (%s) = 0x%lx", v->index, msr, name, value);
    else
        hv_refuse(kind, "cpu %u: RDMSR 0x%x (%s)", v->index, msr, name);
    inject_gp(v);
}

static void hw_write(struct vcpu *v, const struct msr_rule *r, uint32_t msr, uint64_t value)
{
    uint64_t hw = 0;
    struct msr_env env = { 0 };
    if (r->check != MSR_CHECK_NONE) {
        /* The hardware's #GP for an MSR it lacks (SYSCFG on Intel), and
         * for an x2APIC LVT while the APIC is in xAPIC mode (SDM Vol. 3A
         * 10.12.1.2): before the row's check, so that an LVT write the
         * check would drop #GPs there as on hardware (check-transparency
         * x2apic-off-*). */
        if (msr_safe_read(msr, &hw)) {
            inject_gp(v);
            return;
        }
        env = env_now();
    }
    switch (msr_write_check(r, msr, hw, value, &env)) {
    case MSR_WRITE_OK:
        /* A checked row whose value stays: nothing to write (a locked
         * SMM_ADDR would #GP on the write itself). */
        if (r->check != MSR_CHECK_NONE && value == hw) {
            vcpu_skip_insn(v);
            return;
        }
        if (r->check == MSR_CHECK_MTRR && !mtrr_write_keeps_core(v, msr, value)) {
            inject_gp(v);
            return;
        }
        if (msr_safe_write(msr, value)) {
            inject_gp(v);
            return;
        }
        if (r->check == MSR_CHECK_MTRR)
            tell_mtrr(v, msr, value);
        vcpu_skip_insn(v);
        return;
    case MSR_WRITE_GP:
        inject_gp(v);
        return;
    case MSR_WRITE_REFUSE:
        refuse(v, r, true, msr, value);
        return;
    case MSR_WRITE_DROP: /* MSR_CHECK_LVT: an x2APIC LVT with SMI/INIT/reserved mode */
        hv_refuse(HV_REFUSE_LVT_DELIVERY, "cpu %u: WRMSR 0x%x (x2APIC LVT) = 0x%lx: delivery mode %u: dropped",
                  v->index, msr, value, (unsigned)(value >> 8) & 7);
        vcpu_skip_insn(v);
        return;
    }
}

static void emulate(struct vcpu *v, const struct msr_rule *r, bool write, uint32_t msr, uint64_t value)
{
    uint64_t hw = 0, out = 0;
    switch ((enum msr_emul)r->emul) {
    case MSR_EMUL_FEATURE_CONTROL:
        if (!write && !msr_safe_read(msr, &hw) && msr_read_policy(msr, hw, &out) == MSR_OK) {
            done_read(v, out);
            return;
        }
        break;
    case MSR_EMUL_X2APIC_ICR:
        if (write) {
            if (ipi_x2apic_icr_write(v, value))
                vcpu_skip_insn(v);
            else
                inject_gp(v); /* not in x2APIC mode */
            return;
        }
        break;
    default:
        break;
    }
    /* A backend's row the backend did not take: refuse rather than guess. */
    refuse(v, r, write, msr, value);
}

void msr_handle_exit(struct vcpu *v, unsigned on, bool write)
{
    uint32_t msr = (uint32_t)v->regs.gpr[DECODE_RCX];
    uint64_t value = (uint32_t)v->regs.gpr[DECODE_RAX] | v->regs.gpr[DECODE_RDX] << 32;
    const struct msr_rule *r = msr_rule_find(msr, on);
    switch ((enum msr_action)(write ? r->write : r->read)) {
    case MSR_PASS: /* outside the bitmap's ranges every access exits: as the hardware */
    case MSR_HW:
        if (write) {
            hw_write(v, r, msr, value);
        } else {
            uint64_t hw = 0;
            if (msr_safe_read(msr, &hw))
                inject_gp(v); /* the hardware's #GP: the MSR does not exist */
            else
                done_read(v, hw);
        }
        return;
    case MSR_EMUL:
        emulate(v, r, write, msr, value);
        return;
    case MSR_DENY:
        refuse(v, r, write, msr, value);
        return;
    }
    inject_gp(v);
}
