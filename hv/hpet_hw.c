/* The HPET timer blocks as judged pages (hv/judged_mmio.h; the rule is
 * hpet_write_judge, hv/hpet.h): reads native, each write decoded and
 * judged, FSB routes and FSB enables that break the rule dropped and
 * counted (hpet-fsb). */
#include "hv/hpet_hw.h"
#include <minihv/boot_info.h>
#include "hv/console.h"
#include "hv/hpet.h"
#include "hv/hv.h"
#include "hv/io.h"
#include "hv/judged_mmio.h"
#include "hv/refuse.h"
#include "hv/vcpu.h"

/* Intel's HPTC (High Precision Timer Configuration: RCBA + 0x3404 on ICH6
 * to the 9-series PCH, the P2SB's config 0x60 from the 100 series; Address
 * Select, bits 1:0) places the HPET at 0xFED00000, 0xFED01000, 0xFED02000
 * or 0xFED03000, and the guest can write it: the block would leave the
 * judged page, and its FSB routes the judge. Where the chipset has it (an
 * Intel ISA bridge at 00:1f.0) every page of that window is judged as an
 * HPET block, whatever the ACPI lists there. */
#define HPTC_WINDOW      0xfed00000ull
#define HPTC_WINDOW_SIZE 0x4000ull
static bool hptc_judged;

/* The block holding gpa, or 0 (the page's rest past a block). */
static uint64_t block_of(uint64_t gpa)
{
    for (unsigned i = 0; i < hv_boot->hpet_count && i < MINIHV_MAX_HPETS; i++)
        if (gpa - hv_boot->hpet_base[i] < HPET_BLOCK_SIZE)
            return hv_boot->hpet_base[i];
    if (hptc_judged && gpa - HPTC_WINDOW < HPTC_WINDOW_SIZE && (gpa & 0xfff) < HPET_BLOCK_SIZE)
        return gpa & ~0xfffull; /* where HPTC may put the block */
    return 0;
}

/* Two dword reads: the HPET takes 32- or 64-bit accesses (2.3.1), every
 * chipset the first. */
static uint64_t read64(void *ctx, uint32_t off)
{
    volatile uint32_t *r = (volatile uint32_t *)(uintptr_t)(*(uint64_t *)ctx + off);
    uint64_t lo = r[0];
    return lo | (uint64_t)r[1] << 32;
}

static bool hpet_write(struct vcpu *v, uint64_t gpa, unsigned size, uint64_t value)
{
    uint64_t base = block_of(gpa), route = 0;
    if (!base)
        return true;
    uint32_t off = (uint32_t)(gpa - base);
    enum hpet_verdict verdict = hpet_write_judge(off, size, value, read64, &base, &route);
    if (verdict == HPET_PASS)
        return true;
    hv_refuse(HV_REFUSE_HPET_FSB, "cpu %u: %u-byte write of 0x%lx at HPET 0x%lx+0x%x: %s (route 0x%lx): dropped",
              v->index, size, value, base, off, hpet_verdict_name(verdict), route);
    return false;
}

static bool intel_isa_bridge(void)
{
    uint32_t id = io_pci_read32(31, 0, 0x00), class_rev = io_pci_read32(31, 0, 0x08);
    return (id & 0xffff) == 0x8086 && class_rev >> 16 == 0x0601;
}

int hpet_register(const struct minihv_boot_info *bi)
{
    unsigned untrapped = 0;
    for (unsigned i = 0; i < bi->hpet_count && i < MINIHV_MAX_HPETS; i++) {
        bool trapped = !judged_mmio_add(SPECIAL_HPET, bi->hpet_base[i], "an HPET timer block", hpet_write);
        hv_log("hpet: timer block 0x%lx: %s", bi->hpet_base[i],
               trapped ? "read-only, writes judged (FSB routes)" : "NOT trapped: its FSB route could write anywhere");
        untrapped += !trapped;
    }
    /* Whatever the ACPI says: a firmware that turned the HPET off and left
     * its table out leaves HPTC's enable to the guest (review R5). */
    if (intel_isa_bridge()) {
        unsigned judged = 0;
        for (uint64_t page = HPTC_WINDOW; page < HPTC_WINDOW + HPTC_WINDOW_SIZE; page += 0x1000)
            judged += !judged_mmio_add(SPECIAL_HPET, page, "a page HPTC may move the HPET to", hpet_write);
        hptc_judged = true;
        untrapped += 4 - judged;
        hv_log("hpet: Intel chipset (HPTC may move the HPET within 0x%llx-0x%llx): %u of its 4 pages judged",
               HPTC_WINDOW, HPTC_WINDOW + HPTC_WINDOW_SIZE - 1, judged);
    }
    /* An FSB route the core does not judge is a dword write anywhere, the
     * block included (review R s7 finding 5): fail closed (review R4). */
    if (untrapped)
        hv_log("hpet: %u HPET page(s) could not be judged: not virtualizing", untrapped);
    return untrapped ? -1 : 0;
}
