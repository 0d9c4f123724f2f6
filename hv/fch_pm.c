/* See fch_pm.h; the decision is fch_pm_write (hv/io.c). */
#include "hv/fch_pm.h"
#include <minihv/format.h>
#include <minihv/io.h>
#include <minihv/x86.h>
#include "hv/console.h"
#include "hv/decode.h"
#include "hv/devmodel.h"
#include "hv/ept.h"
#include "hv/hv.h"
#include "hv/io.h"
#include "hv/lock.h"
#include "hv/refuse.h"
#include "hv/vcpu.h"

/* The PM index is one register of the FCH, shared by every CPU: a guest
 * may write it on one CPU and the data on another. The shadow and each
 * data access to the hardware go under one lock; before a data access the
 * core writes the index it judged back to the hardware (SMM, which does
 * not exit, may have changed it in between), so the data always lands at
 * the register that was judged. */
static uint8_t pm_index;
static struct spinlock pm_lock;
static uint64_t accesses, dropped;
/* The AcpiMmio page, when an FCH is there: read-only, writes judged. */
static bool mmio_trapped;
static uint64_t mmio_writes, mmio_dropped;
/* Which PM registers place what (hv/io.h fch_layout_of), from the SMBus
 * controller read at global init; OTHER without an FCH. */
static enum fch_layout layout;

static bool fch_pm_io(struct vcpu *v, uint16_t port, unsigned size, bool in, uint32_t *value)
{
    uint32_t out = in ? 0 : *value, result = 0;
    int refused_index = -1;
    uint8_t refused_byte = 0;
    spin_lock(&pm_lock);
    /* Per byte, as the bus carries an access that spans both ports (a
     * word at 0xcd6: index then data) or ports beside them (0xcd4-0xcd5:
     * the BIOS RAM index/data, to the hardware). */
    for (unsigned i = 0; i < size; i++) {
        uint16_t p = (uint16_t)(port + i);
        uint32_t byte = (out >> (8 * i)) & 0xff;
        if (p == FCH_PM_INDEX || p == FCH_PM_DATA)
            accesses++;
        if (p == FCH_PM_DATA) {
            uint32_t idx = pm_index;
            io_hw(FCH_PM_INDEX, 1, false, &idx);
        }
        bool ok = in || fch_pm_write(p, (uint8_t)byte, &pm_index);
        if (ok && !in && p == FCH_PM_DATA && fch_pm_bits_judged(layout, pm_index)) {
            /* A register whose bits are judged one by one: against what
             * the hardware holds now (the index is the judged one). */
            uint32_t now = 0;
            io_hw(FCH_PM_DATA, 1, true, &now);
            ok = fch_pm_bits_ok(layout, pm_index, (uint8_t)now, (uint8_t)byte);
        }
        if (!ok) {
            dropped++;
            if (refused_index < 0) {
                refused_index = pm_index;
                refused_byte = (uint8_t)byte;
            }
            continue;
        }
        io_hw(p, 1, in, &byte);
        result |= (byte & 0xff) << (8 * i);
    }
    spin_unlock(&pm_lock);
    if (refused_index >= 0)
        hv_refuse(HV_REFUSE_FCH_PM, "cpu %u: write of 0x%x to FCH PM register 0x%x (through 0xcd6/0xcd7), which "
                  "places or enables the ACPI I/O block or the AcpiMmio page: dropped", v->index, (unsigned)refused_byte,
                  (unsigned)refused_index);
    if (in)
        *value = result;
    return true;
}

/* ---- the AcpiMmio page (hv/io.h fch_mmio_judge) ---- */

static bool mmio_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *value)
{
    (void)ctx;
    return devmodel_read_in_page(gpa, size, value);
}

static bool mmio_write(void *ctx, uint64_t gpa, unsigned size, uint64_t value)
{
    struct vcpu *v = ctx;
    uint32_t off = (uint32_t)(gpa - FCH_ACPIMMIO_BASE);
    enum fch_mmio_verdict d = fch_mmio_judge(off, size, value, hv_boot->acpi_s5_flags & MINIHV_S5_FOUND,
                                             hv_boot->acpi_s5_slp_typ_a);
    __atomic_add_fetch(&mmio_writes, 1, __ATOMIC_RELAXED);
    /* AcpiMmioEn's bytes among the write (SB800 layout): each against the
     * page's byte now; one that cannot be read is dropped. */
    for (unsigned i = 0; i < size && d == FCH_MMIO_PASS; i++) {
        uint32_t at = off + i;
        if (at < FCH_ACPIMMIO_PM || at >= FCH_ACPIMMIO_PM + 0x100)
            continue;
        uint8_t index = (uint8_t)(at - FCH_ACPIMMIO_PM), byte = (uint8_t)(value >> (8 * i));
        uint64_t now = byte;
        if (fch_pm_bits_judged(layout, index) &&
            (!devmodel_read_in_page(gpa + i, 1, &now) || !fch_pm_bits_ok(layout, index, (uint8_t)now, byte)))
            d = FCH_MMIO_DROP_PM;
    }
    if (d == FCH_MMIO_DROP_PM || d == FCH_MMIO_DROP_SLEEP) {
        __atomic_add_fetch(&mmio_dropped, 1, __ATOMIC_RELAXED);
        if (d == FCH_MMIO_DROP_PM)
            hv_refuse(HV_REFUSE_FCH_PM, "cpu %u: %u-byte write of 0x%lx at AcpiMmio +0x%x (FCH PM register 0x%x on): "
                      "places or enables the ACPI I/O block or the AcpiMmio page: dropped", v->index, size, value, off,
                      off - FCH_ACPIMMIO_PM);
        else
            hv_refuse(HV_REFUSE_SLEEP_STATE, "cpu %u: %u-byte write of 0x%lx at AcpiMmio +0x%x (PM1_CNT's memory "
                      "alias): SLP_EN with an SLP_TYP other than \\_S5's: dropped", v->index, size, value, off);
        return true;
    }
    /* FCH_MMIO_S5 (power-off) and the rest: the hardware, as written. */
    volatile void *p = (volatile void *)(uintptr_t)gpa;
    if (size == 1)
        *(volatile uint8_t *)p = (uint8_t)value;
    else if (size == 2)
        *(volatile uint16_t *)p = (uint16_t)value;
    else if (size == 4)
        *(volatile uint32_t *)p = (uint32_t)value;
    else
        *(volatile uint64_t *)p = value;
    return true;
}

static bool fch_mmio_npf(struct vcpu *v, uint64_t gpa, unsigned access)
{
    if (!mmio_trapped || (gpa & ~(PAGE_SIZE - 1)) != FCH_ACPIMMIO_BASE)
        return false;
    vcpu_count(v, MINIHV_EXIT_NPF_MMIO);
    if (access & NPF_FETCH) {
        vcpu_refuse_fetch(v, gpa, "the FCH AcpiMmio page");
        return true;
    }
    struct decode_mmio_ops ops = { mmio_read, mmio_write, v };
    struct decoded_insn insn;
    enum decode_status st = vcpu_emulate_mmio(v, gpa, &ops, &insn);
    if (st != DECODE_OK)
        vcpu_refuse_insn(v, gpa, st, &insn, "the FCH AcpiMmio page");
    return true;
}

static void fch_pm_summary(void (*emit)(const char *line))
{
    char line[200];
    int n = fmt_snprintf(line, sizeof(line),
                         "fch pm: port accesses (exits) 0xcd6-0xcd7 %lu, ACPI-block writes dropped %lu", accesses,
                         dropped);
    if (mmio_trapped && n > 0 && (size_t)n < sizeof(line))
        fmt_snprintf(line + n, sizeof(line) - (size_t)n, "; AcpiMmio page writes (exits) %lu, dropped %lu",
                     mmio_writes, mmio_dropped);
    emit(line);
}

static const struct devmodel fch_pm_devmodel = {
    .name = "fch pm",
    .npf = fch_mmio_npf,
    .summary = fch_pm_summary,
};

/* An AMD FCH: its SMBus controller at 00:14.0 (SB7x0-SB900 1002:4385,
 * Hudson/Bolton 1022:780b, Family 17h on 1022:790b), read through CF8/CFC
 * at global init, before any guest runs. */
static bool fch_present(uint32_t *id, uint8_t *revision)
{
    uint32_t saved = inl(0xcf8);
    outl(0xcf8, 0x80000000u | 0x14u << 11);
    *id = inl(0xcfc);
    outl(0xcf8, 0x80000000u | 0x14u << 11 | 0x08); /* class code and revision ID */
    *revision = (uint8_t)inl(0xcfc);
    outl(0xcf8, saved);
    return *id == 0x43851002 || *id == 0x780b1022 || *id == 0x790b1022;
}

int fch_pm_register(void)
{
    uint32_t r[4];
    x86_cpuid(0, 0, r);
    bool amd = r[1] == 0x68747541 && r[3] == 0x69746e65 && r[2] == 0x444d4163;   /* AuthenticAMD */
    bool hygon = r[1] == 0x6f677948 && r[3] == 0x6e65476e && r[2] == 0x656e6975; /* HygonGenuine */
    if (!amd && !hygon)
        return 0;
    if (io_register(FCH_PM_INDEX, 2, fch_pm_io, "the FCH PM index/data")) {
        hv_log("io: cannot intercept ports 0xcd6-0xcd7 (table full or taken): the guest could move the ACPI "
               "block; not virtualizing");
        return -1;
    }
    uint32_t id;
    uint8_t revision;
    if (fch_present(&id, &revision)) {
        layout = fch_layout_of(id, revision);
        /* Before the guest map is built: ept_build applies the entry. */
        mmio_trapped = !ept_reserve(SPECIAL_FCH_ACPIMMIO, FCH_ACPIMMIO_BASE, PAGE_SIZE, SPECIAL_MAP_READ_ONLY);
        hv_log("fch: SMBus %04x:%04x rev 0x%02x at 00:14.0: AcpiMmio page 0x%lx %s%s", id & 0xffff, id >> 16,
               revision, FCH_ACPIMMIO_BASE,
               mmio_trapped ? "read-only, writes judged (PM block, PM1_CNT)" : "NOT trapped (registry full)",
               layout == FCH_LAYOUT_SB800 ? "; SB800 layout: AcpiMmioEn PMx24-0x27 kept in place" : "");
    }
    devmodel_register(&fch_pm_devmodel);
    return 0;
}
