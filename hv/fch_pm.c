/* See fch_pm.h; the decision is fch_pm_write (hv/io.c). */
#include "hv/fch_pm.h"
#include <minihv/format.h>
#include <minihv/io.h>
#include <minihv/x86.h>
#include "hv/console.h"
#include "hv/devmodel.h"
#include "hv/hv.h"
#include "hv/io.h"
#include "hv/judged_mmio.h"
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
        bool ok = in || fch_pm_write(layout, p, (uint8_t)byte, &pm_index);
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

/* ---- the AcpiMmio page (hv/io.h fch_mmio_judge): a judged page ---- */

static bool acpimmio_write(struct vcpu *v, uint64_t gpa, unsigned size, uint64_t value)
{
    uint32_t off = (uint32_t)(gpa - FCH_ACPIMMIO_BASE);
    enum fch_mmio_verdict d = fch_mmio_judge(off, size, value, hv_boot->acpi_s5_flags & MINIHV_S5_FOUND,
                                             hv_boot->acpi_s5_slp_typ_a);
    /* AcpiMmioEn's bytes among the write (SB800 layout): each against the
     * page's byte now; one that cannot be read is dropped. */
    for (unsigned i = 0; i < size && d != FCH_MMIO_DROP_PM; i++) {
        uint32_t at = off + i;
        if (at < FCH_ACPIMMIO_PM || at >= FCH_ACPIMMIO_PM + 0x100)
            continue;
        uint8_t index = (uint8_t)(at - FCH_ACPIMMIO_PM), byte = (uint8_t)(value >> (8 * i));
        uint64_t now = byte;
        if (fch_pm_bits_judged(layout, index) &&
            (!devmodel_read_in_page(gpa + i, 1, &now) || !fch_pm_bits_ok(layout, index, (uint8_t)now, byte)))
            d = FCH_MMIO_DROP_PM;
    }
    if (d == FCH_MMIO_DROP_PM) {
        hv_refuse(HV_REFUSE_FCH_PM, "cpu %u: %u-byte write of 0x%lx at AcpiMmio +0x%x (FCH PM register 0x%x on): "
                  "places or enables the ACPI I/O block or the AcpiMmio page: dropped", v->index, size, value, off,
                  off - FCH_ACPIMMIO_PM);
        return false;
    }
    /* PM1_CNT's memory alias: the sleep judge of the ports (summary before S5). */
    return vcpu_sleep_write(v, "AcpiMmio PM1_CNT", FCH_ACPIMMIO_BASE + FCH_ACPIMMIO_PM1_CNT, 1,
                            hv_boot->acpi_s5_slp_typ_a, gpa, size, value);
}

static void fch_pm_summary(void (*emit)(const char *line))
{
    char line[160];
    fmt_snprintf(line, sizeof(line), "fch pm: port accesses (exits) 0xcd6-0xcd7 %lu, ACPI-block writes dropped %lu",
                 accesses, dropped);
    emit(line);
}

static const struct devmodel fch_pm_devmodel = {
    .name = "fch pm",
    .summary = fch_pm_summary,
};

/* An AMD FCH: its SMBus controller at 00:14.0 (SB7x0-SB900 1002:4385,
 * Hudson/Bolton 1022:780b, Family 17h on 1022:790b), read through CF8/CFC
 * at global init, before any guest runs. */
static bool fch_present(uint32_t *id, uint8_t *revision)
{
    *id = io_pci_read32(0x14, 0, 0);
    *revision = (uint8_t)io_pci_read32(0x14, 0, 0x08); /* class code and revision ID */
    return *id == 0x43851002 || *id == 0x780b1022 || *id == 0x790b1022;
}

int fch_pm_register(void)
{
    if (!x86_cpu_amd_like())
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
        if (layout == FCH_LAYOUT_SB7X0) { /* no AcpiMmio page before SB800 */
            hv_log("fch: SMBus %04x:%04x rev 0x%02x at 00:14.0: SB7x0 layout, PM 0x20-0x2F (the ACPI block's bases) "
                   "guarded", id & 0xffff, id >> 16, revision);
            devmodel_register(&fch_pm_devmodel);
            return 0;
        }
        bool mmio_trapped = !judged_mmio_add(SPECIAL_FCH_ACPIMMIO, FCH_ACPIMMIO_BASE, "the FCH AcpiMmio page",
                                             acpimmio_write);
        hv_log("fch: SMBus %04x:%04x rev 0x%02x at 00:14.0: AcpiMmio page 0x%lx %s%s", id & 0xffff, id >> 16,
               revision, FCH_ACPIMMIO_BASE,
               mmio_trapped ? "read-only, writes judged (PM block, PM1_CNT)" : "NOT trapped (registry full)",
               layout == FCH_LAYOUT_SB800 ? "; SB800 layout: AcpiMmioEn PMx24-0x27 kept in place" : "");
    }
    devmodel_register(&fch_pm_devmodel);
    return 0;
}
