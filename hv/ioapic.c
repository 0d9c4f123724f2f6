/* See ioapic.h. The register interface (82093AA datasheet 3.1): IOREGSEL
 * at +0x00 (the index), IOWIN at +0x10 (the selected register), EOI at
 * +0x40 (version 0x20 and later); redirection entry n at index 0x10 + 2n
 * (low dword: vector, delivery mode 10:8, mask 16) and 0x11 + 2n (the
 * destination). QEMU decodes offset bits 7:0 only (+0x110 is IOWIN): so
 * any write but an aligned dword at those three offsets is dropped. */
#include <minihv/format.h>
#include <minihv/x86.h>
#include "hv/console.h"
#include "hv/decode.h"
#include "hv/devmodel.h"
#include "hv/ioapic.h"
#include "hv/lock.h"
#include "hv/msr_policy.h"
#include "hv/refuse.h"
#include "hv/vcpu.h"

#define IOAPIC_IOREGSEL 0x00
#define IOAPIC_IOWIN    0x10
#define IOAPIC_EOI      0x40

static struct ioapic_unit {
    uint64_t base;
    uint32_t sel; /* IOREGSEL as the guest last wrote it (every write comes here) */
} units[IOAPIC_MAX_UNITS];
static unsigned unit_count;
static struct spinlock lock; /* IOREGSEL then IOWIN is one step for the core */

/* Fixed, lowest priority, NMI or ExtINT (include/minihv/x86.h's table). */
bool ioapic_rte_low_ok(uint32_t low)
{
    return x86_delivery_mode_allowed(X86_SRC_IOAPIC_RTE, X86_DELIVERY_MODE(low));
}

/* The unit whose page holds gpa (a page holds one I/O APIC). */
static struct ioapic_unit *unit_at(uint64_t gpa)
{
    for (unsigned i = 0; i < unit_count; i++)
        if ((gpa & ~(PAGE_SIZE - 1)) == (units[i].base & ~(PAGE_SIZE - 1)))
            return &units[i];
    return NULL;
}

static bool io_write(void *ctx, uint64_t gpa, unsigned size, uint64_t value)
{
    struct vcpu *v = ctx;
    struct ioapic_unit *u = unit_at(gpa);
    if (!u)
        return true;
    uint64_t off = gpa - u->base; /* below the base: huge, refused */
    if (size != 4 || (off != IOAPIC_IOREGSEL && off != IOAPIC_IOWIN && off != IOAPIC_EOI)) {
        hv_refuse(HV_REFUSE_IOAPIC_ACCESS, "cpu %u: %u-byte write at 0x%lx (I/O APIC 0x%lx): dropped", v->index,
                  size, gpa, u->base);
        return true;
    }
    volatile uint32_t *reg = (volatile uint32_t *)(uintptr_t)(u->base + off);
    spin_lock(&lock);
    if (off == IOAPIC_IOREGSEL) {
        u->sel = (uint32_t)value;
        *reg = (uint32_t)value;
    } else if (off == IOAPIC_IOWIN) {
        unsigned index = u->sel & 0xff;
        if (index >= 0x10 && !(index & 1) && !ioapic_rte_low_ok((uint32_t)value)) {
            spin_unlock(&lock);
            hv_refuse(HV_REFUSE_IOAPIC_DELIVERY, "cpu %u: I/O APIC 0x%lx RTE %u low 0x%08x: delivery mode %s: "
                      "dropped (the entry keeps 0x%08x)", v->index, u->base, (index - 0x10) / 2, (uint32_t)value,
                      x86_delivery_mode_name(X86_DELIVERY_MODE((uint32_t)value)), *(volatile uint32_t *)(uintptr_t)(u->base + IOAPIC_IOWIN));
            return true;
        }
        /* The index the guest chose, again: the hardware's IOREGSEL is
         * only ever written here, but keep the pair one step. */
        *(volatile uint32_t *)(uintptr_t)(u->base + IOAPIC_IOREGSEL) = u->sel;
        *reg = (uint32_t)value;
    } else {
        *reg = (uint32_t)value;
    }
    spin_unlock(&lock);
    return true;
}

static bool ioapic_npf(struct vcpu *v, uint64_t gpa, unsigned access)
{
    if (!unit_at(gpa))
        return false;
    /* Reads (the read half of a read-modify-write too): the register as
     * the hardware has it. */
    struct decode_mmio_ops ops = { devmodel_native_read, io_write, v };
    vcpu_emulate_page(v, gpa, access, &ops, "an I/O APIC page");
    return true;
}

static void ioapic_summary(void (*emit)(const char *line))
{
    char line[160];
    int n = fmt_snprintf(line, sizeof(line), "ioapic: %u unit(s)", unit_count);
    for (unsigned i = 0; i < unit_count && n > 0 && (size_t)n < sizeof(line); i++)
        n += fmt_snprintf(line + n, sizeof(line) - (size_t)n, "%s0x%lx", i ? ", " : " at ", units[i].base);
    if (n > 0 && (size_t)n < sizeof(line))
        fmt_snprintf(line + n, sizeof(line) - (size_t)n, "; entries refused %lu",
                     (unsigned long)hv_refuse_count(HV_REFUSE_IOAPIC_DELIVERY));
    emit(line);
}

static const struct devmodel ioapic_devmodel = {
    .name = "ioapic",
    .npf = ioapic_npf,
    .summary = ioapic_summary,
};

int ioapic_model_add(uint64_t base)
{
    if ((base & (PAGE_SIZE - 1)) > PAGE_SIZE - 0x44) {
        hv_log("ioapic: base 0x%lx: its registers cross a page end", base);
        return -1;
    }
    if (unit_at(base)) {
        hv_log("ioapic: base 0x%lx: a page shared with I/O APIC 0x%lx: not taken", base, unit_at(base)->base);
        return -1;
    }
    if (unit_count >= IOAPIC_MAX_UNITS) {
        hv_log("ioapic: more than %u I/O APICs: 0x%lx not trapped", IOAPIC_MAX_UNITS, base);
        return -1;
    }
    if (!unit_count && devmodel_register(&ioapic_devmodel))
        return -1;
    units[unit_count].base = base;
    units[unit_count].sel = 0;
    unit_count++;
    return 0;
}
