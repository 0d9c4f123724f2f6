/* Attacks mmio-fetch, mmio-insn and hpet-split (session 8, helper A;
 * docs/security.md "Instruction fetch from a page that is not memory" and
 * the HPET row): the instruction forms on pages that are not memory, or
 * that the core traps, which its MMIO decoder does not emulate, and the
 * HPET judge's unaligned write across a judged register. Each must be
 * refused as the table says, never a FATAL report (the core's first
 * versions stopped the machine on both, 980b154). */
#include <minihv/format.h>
#include <minihv/hypercall.h>
#include <minihv/io.h>
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "tests/guests/attack.h"

static char why[240];

static void cr0_write(uint64_t v)
{
    __asm__ volatile("mov %0, %%cr0" ::"r"(v) : "memory");
}

/* The end of mmio-fetch and mmio-insn: PASS led by the count the
 * summary must show of the kind (the harness reads it), or FAIL. */
static void finish(const char *name, bool all, unsigned refused, const char *did, const char *want)
{
    bool ok = atk_core_intact_self(why, sizeof(why));
    if (all && ok)
        atk_pass(name, "summary: %s >= %u; %s: %s; core intact", name, refused, did, want);
    else
        atk_fail(name, "%s (want %s); %s", did, want, ok ? "core intact" : why);
}

/* ---- mmio-fetch ----
 * The guest's own translation of the target is made executable: XD
 * (bit 63) cleared at every level of the walk (OVMF maps reserved memory
 * and MMIO no-execute, PcdDxeNxMemoryProtectionPolicy), so the fetch
 * reaches the nested walk; put back afterwards. */
struct exec_path {
    uint64_t *entry[4];
    uint64_t saved[4];
    unsigned n;
};

static bool exec_path_open(uint64_t va, struct exec_path *p)
{
    p->n = 0;
    if (read_cr4() & CR4_LA57)
        return false;
    uint64_t table = read_cr3();
    for (int shift = 39; shift >= 12; shift -= 9) {
        uint64_t *e = (uint64_t *)(uintptr_t)((table & 0x000ffffffffff000ull) + ((va >> shift) & 511) * 8);
        if (!(*e & PTE_P))
            return false;
        p->entry[p->n] = e;
        p->saved[p->n++] = *e;
        if (shift == 12 || (shift < 39 && (*e & PTE_PS)))
            break;
        table = *e;
    }
    uint64_t cr0 = read_cr0();
    cr0_write(cr0 & ~(1ull << 16)); /* CR0.WP: OVMF may map its tables read-only */
    for (unsigned i = 0; i < p->n; i++)
        *p->entry[i] &= ~PTE_NX;
    cr0_write(cr0);
    write_cr3(read_cr3());
    return true;
}

static void exec_path_close(struct exec_path *p)
{
    uint64_t cr0 = read_cr0();
    cr0_write(cr0 & ~(1ull << 16));
    for (unsigned i = p->n; i-- > 0;)
        *p->entry[i] = p->saved[i];
    cr0_write(cr0);
    write_cr3(read_cr3());
}

#define HOLE_GPA        0x7ffffff000ull /* above RAM and every BAR, as unmapped-gpa */
#define MSI_WINDOW_PAGE 0xfee01000ull   /* the interrupt message window beside the APIC page */

/* One fetch at `target`: true when it raised #UD with RIP at the target;
 * what happened appended to out (the target alone when it did). */
static bool fetch_one(const char *what, uint64_t target, char *out, size_t size)
{
    struct atk_high_map m;
    struct exec_path p;
    char w[80], d[24];
    size_t k = strlen(out);
    const char *sep = k ? "; " : "";
    if (!atk_high_map(target, &m, w, sizeof(w))) {
        fmt_snprintf(out + k, size - k, "%s%s 0x%lx: %s", sep, what, target, w);
        return false;
    }
    uint64_t f = atk_irq_save();
    if (!exec_path_open(target, &p)) {
        atk_irq_restore(f);
        atk_high_unmap(target, &m);
        fmt_snprintf(out + k, size - k, "%s%s 0x%lx: not mapped in the guest's page tables", sep, what, target);
        return false;
    }
    uint64_t rip = 0, fault = atk_fetch(target, &rip);
    exec_path_close(&p);
    atk_irq_restore(f);
    atk_high_unmap(target, &m);
    bool ud = fault && GUARD_VECTOR(fault) == VEC_UD && rip == target;
    if (ud)
        fmt_snprintf(out + k, size - k, "%s%s 0x%lx", sep, what, target);
    else
        fmt_snprintf(out + k, size - k, "%s%s 0x%lx: %s at RIP 0x%lx", sep, what, target,
                     fault ? guard_describe(fault, d, sizeof(d)) : "returned", rip);
    return ud;
}

/* The core maps [0, phys_top) identity, holes too (the guest's, as on
 * hardware): phys_top covers every BAR, so with a 64-bit BAR high up the
 * hole is below it. Not present only when a read there exits (npf-mmio). */
static bool hole_unmapped(uint64_t gpa, char *out, size_t size)
{
    struct atk_high_map m;
    char w[80];
    uint64_t v = 0;
    if (!atk_high_map(gpa, &m, w, sizeof(w)))
        return true; /* fetch_one says why */
    uint64_t f = atk_irq_save();
    uint64_t before = atk_exits_self_of(MINIHV_EXIT_NPF_MMIO);
    atk_read64(gpa, &v);
    uint64_t after = atk_exits_self_of(MINIHV_EXIT_NPF_MMIO);
    atk_irq_restore(f);
    atk_high_unmap(gpa, &m);
    if (after != before)
        return true;
    fmt_snprintf(out, size, "(not the hole 0x%lx: identity in the core's map, below its phys_top)", gpa);
    return false;
}

/* The hole (first: the harness looks for its line, or the block's), the block, the
 * interrupt message window; where the boot has them, an IOMMU's register
 * page (vcpu_handle_npf like the rest) and the passthrough device's MSI-X
 * table page (its own path, hv/passthrough_hw.c). */
void attack_mmio_fetch(void)
{
    const char *name = "mmio-fetch";
    uint64_t msix = atk_pt_msix_last_entry();
    const struct {
        const char *what;
        uint64_t gpa;
    } targets[] = {
        { "hole", HOLE_GPA },
        { "block", env.fp.block_base + env.fp.block_size - PAGE_SIZE },
        { "MSI window", MSI_WINDOW_PAGE },
        { "IOMMU", atk_iommu_regs() },
        { "MSI-X table", msix & ~(uint64_t)(PAGE_SIZE - 1) },
    };
    char line[300] = "";
    unsigned refused = 0;
    bool all = true;
    for (unsigned i = 0; i < ARRAY_SIZE(targets); i++) {
        if (!targets[i].gpa)
            continue;
        if (i == 0 && !hole_unmapped(targets[i].gpa, line, sizeof(line)))
            continue;
        bool ud = fetch_one(targets[i].what, targets[i].gpa, line, sizeof(line));
        refused += ud;
        all &= ud;
    }
    char did[320];
    fmt_snprintf(did, sizeof(did), "a jump to each of %s", line);
    finish(name, all, refused, did, "#UD there, RIP not advanced");
}

/* ---- mmio-insn ----
 * Stores the core's decoder does not emulate (REP STOSD, MOVSB, REP
 * MOVSD, an SSE MOVDQU) on trapped read-only pages whose writes exit: the
 * I/O APIC's (IOREGSEL), the HPET's where an ACPI table names it (timer
 * 0's comparator and FSB route, the MOVDQU carrying a route into the
 * block) and the passthrough device's MSI-X table (bdf=: its last entry,
 * an SMI message at the block, unmasked). Each must raise #GP(0)
 * (hardware would complete it; the core refuses it whole, hv/vcpu.c
 * vcpu_refuse_insn) and leave the registers as they were. */
#define IOAPIC_PAGE 0xfec00000ull

/* The first HPET's base from the ACPI HPET table (IA-PC HPET 3.2.4: the
 * Base Address GAS at offset 40, its address at 44), as the loader finds
 * the page it traps; 0 without a table (Bochs has an HPET at 0xFED00000
 * but no table: the page is the guest's, untrapped). */
static uint64_t hpet_page(void)
{
    uint64_t t = atk_acpi_table("HPET"), base = 0, cap = 0;
    uint32_t len = 0;
    if (!t)
        return 0;
    memcpy(&len, (const void *)(uintptr_t)(t + 4), 4);
    if (len < 52)
        return 0;
    memcpy(&base, (const void *)(uintptr_t)(t + 44), 8);
    atk_read64(base, &cap);
    return cap && cap != ~0ull ? base : 0;
}

/* The four forms at `at`, each storing from `value` (REP STOSD its first
 * dword); the `watch_dwords` registers at `at` read the same after. */
static bool insn_page(const char *what, uint64_t at, const uint32_t value[4], unsigned watch_dwords, char *out,
                      size_t size, unsigned *refused)
{
    static uint32_t src[4] __attribute__((aligned(16)));
    uint32_t before[4] = { 0 }, after[4] = { 0 };
    for (unsigned i = 0; i < watch_dwords; i++)
        atk_read32(at + 4 * i, &before[i]);
    memcpy(src, value, sizeof(src));
    uint64_t f = atk_irq_save();
    uint64_t r[4] = {
        atk_rep_stosd(at, src[0]),
        atk_movsb(at, src),
        atk_rep_movsd(at, src),
        atk_movdqu(at, src),
    };
    atk_irq_restore(f);
    for (unsigned i = 0; i < watch_dwords; i++)
        atk_read32(at + 4 * i, &after[i]);
    static const char *const form[4] = { "rep stosd", "movsb", "rep movsd", "movdqu" };
    bool all = true;
    for (unsigned i = 0; i < 4; i++) {
        bool gp = r[i] && GUARD_VECTOR(r[i]) == VEC_GP && GUARD_ERROR(r[i]) == 0;
        *refused += gp;
        all &= gp;
    }
    int n = fmt_snprintf(out, size, "%s 0x%lx%s", what, at, all ? "" : ":");
    for (unsigned i = 0; i < 4 && !all; i++) {
        char d[24];
        if (n > 0 && (size_t)n < size)
            n += fmt_snprintf(out + n, size - (size_t)n, " %s %s", form[i], r[i] ? guard_describe(r[i], d, sizeof(d)) : "completed");
    }
    bool same = !memcmp(before, after, sizeof(before));
    if (!same && n > 0 && (size_t)n < size)
        fmt_snprintf(out + n, size - (size_t)n, "; changed: 0x%x 0x%x 0x%x 0x%x -> 0x%x 0x%x 0x%x 0x%x", before[0],
                     before[1], before[2], before[3], after[0], after[1], after[2], after[3]);
    return all && same;
}

void attack_mmio_insn(void)
{
    const char *name = "mmio-insn";
    char line[3][200], all_lines[420];
    unsigned refused = 0, pages = 0;
    bool all = true;
    uint32_t sel = ~0u;
    uint64_t hpet = hpet_page(), msix = atk_pt_msix_last_entry();
    uint64_t block = env.fp.block_base + env.fp.block_size - 0x10000;
    atk_read32(IOAPIC_PAGE, &sel);
    if (sel != ~0u) { /* IOREGSEL: an 8-bit index, never all-ones */
        const uint32_t v[4] = { (sel ^ 0x2a) & 0xff, 0x3f, 0x3f, 0x3f };
        all &= insn_page("the I/O APIC's IOREGSEL", IOAPIC_PAGE, v, 1, line[pages], sizeof(line[0]), &refused);
        pages++;
    }
    if (hpet) { /* timer 0: comparator 0x108; the MOVDQU puts an FSB route (SMI, into the block) at 0x110 */
        const uint32_t v[4] = { 0x12345678u, 0x9abcdef0u, 0x00000200u, (uint32_t)block };
        all &= insn_page("the HPET's timer 0 comparator", hpet + 0x108, v, 4, line[pages], sizeof(line[0]), &refused);
        pages++;
    }
    if (msix) { /* the passthrough device's last MSI-X entry: SMI, unmasked, at the block */
        const uint32_t v[4] = { (uint32_t)block, 0, 0x00000230u, 0 };
        all &= insn_page("the passthrough device's last MSI-X entry", msix, v, 4, line[pages], sizeof(line[0]), &refused);
        pages++;
    }
    if (!pages) {
        atk_skip(name, "neither an I/O APIC at 0x%llx nor an ACPI HPET table nor a passthrough MSI-X table", IOAPIC_PAGE);
        return;
    }
    all_lines[0] = 0;
    for (unsigned i = 0; i < pages; i++) {
        size_t k = strlen(all_lines);
        fmt_snprintf(all_lines + k, sizeof(all_lines) - k, "%s%s", i ? "; " : "", line[i]);
    }
    char did[450];
    fmt_snprintf(did, sizeof(did), "rep stosd, movsb, rep movsd, movdqu at %s", all_lines);
    finish(name, all, refused, did, "#GP(0) each, the registers unchanged");
}

/* ---- hpet-split ----
 * Unaligned writes that straddle a judged HPET register (hv/hpet.c
 * HPET_DROP_SPLIT): the judge cannot read a route out of half a register,
 * so the whole write is dropped and counted hpet-fsb. Timer 0: a dword at
 * 0xfe whose upper half is Tn_CONFIG's low word with FSB_EN (bit 14), a
 * dword at 0x10e (comparator's top, route value's low half: delivery mode
 * SMI), a qword at 0x10e (the whole value and the address's low half) and
 * a dword at 0x116 (the address's high half: into the block). QEMU 7.2's
 * HPET takes no unaligned access (valid.unaligned false), so there only
 * the count (the harness, from the summary) can tell; a chipset HPET that
 * took them would show the route changed. */
void attack_hpet_split(void)
{
    const char *name = "hpet-split";
    uint64_t hpet = hpet_page();
    if (!hpet) {
        atk_skip(name, "no ACPI HPET table (the page is not trapped)");
        return;
    }
    uint64_t block = env.fp.block_base + env.fp.block_size - 0x10000;
    uint32_t before[6], after[6]; /* config, comparator, route: 0x100-0x117 */
    for (unsigned i = 0; i < 6; i++)
        atk_read32(hpet + 0x100 + 4 * i, &before[i]);
    const struct {
        uint32_t off;
        unsigned size;
        uint64_t value;
    } w[] = {
        { 0xfe, 4, (uint64_t)((before[0] & 0xffff) | (1u << 14)) << 16 },
        { 0x10e, 4, 0x0200ull << 16 | 0xffff },
        { 0x10e, 8, (block & 0xffff) << 48 | 0x00000200ull << 16 | 0xffff },
        { 0x116, 4, 0xffff0000ull | ((block >> 16) & 0xffff) },
    };
    char d[24];
    unsigned faults = 0;
    uint64_t f = atk_irq_save();
    for (unsigned i = 0; i < ARRAY_SIZE(w); i++) {
        uint64_t r = w[i].size == 8 ? atk_write64(hpet + w[i].off, w[i].value)
                                    : atk_write32(hpet + w[i].off, (uint32_t)w[i].value);
        if (r && !faults++)
            guard_describe(r, d, sizeof(d));
    }
    atk_irq_restore(f);
    for (unsigned i = 0; i < 6; i++)
        atk_read32(hpet + 0x100 + 4 * i, &after[i]);
    bool same = !memcmp(before, after, sizeof(before));
    bool ok = atk_core_intact_self(why, sizeof(why));
    if (same && !faults && ok)
        atk_pass(name, "summary: hpet-fsb >= %u; dword at 0xfe (FSB_EN), dword and qword at 0x10e, dword at 0x116 "
                 "(route address 0x%lx): dropped, timer 0 config 0x%x, route 0x%x:%08x unchanged; %s",
                 (unsigned)ARRAY_SIZE(w), block, before[0], before[5], before[4], why);
    else
        atk_fail(name, "4 writes across Tn_CONFIG / Tn_FSB_INT_ROUTE: %s%s; timer 0 config 0x%x -> 0x%x, route "
                 "0x%x:%08x -> 0x%x:%08x; %s", faults ? "faulted: " : "no fault", faults ? d : "", before[0], after[0],
                 before[5], before[4], after[5], after[4], ok ? "core intact" : why);
}

/* ---- hpet-hptc ----
 * Intel's HPTC (RCBA + 0x3404, or the P2SB's 0x60 from the 100-series PCH)
 * moves the HPET among the four pages at 0xFED00000-0xFED03FFF, and the
 * guest may write it; the block's FSB routes would leave the judged page
 * with it. With an Intel ISA bridge at 00:1f.0 the core judges the other
 * three pages as HPET blocks too (hv/hpet_hw.c). Each gets timer 0's FSB
 * address dword aimed into the core's block: dropped, counted hpet-fsb (the
 * harness, from the summary: QEMU's HPET does not move, nothing answers
 * on those pages, so the guest cannot see the refusal). */
void attack_hpet_hptc(void)
{
    const char *name = "hpet-hptc";
    uint64_t hpet = hpet_page();
    uint32_t id = atk_cfg_read32(0, 31, 0, 0), class_rev = atk_cfg_read32(0, 31, 0, 8);
    if (!hpet || hpet - 0xfed00000ull >= 0x4000) {
        atk_skip(name, "no ACPI HPET in 0xfed00000-0xfed03fff");
        return;
    }
    if ((id & 0xffff) != 0x8086 || class_rev >> 16 != 0x0601) {
        atk_skip(name, "no Intel ISA bridge at 00:1f.0 (no HPTC)");
        return;
    }
    uint64_t block = env.fp.block_base + env.fp.block_size - 0x10000;
    unsigned pages = 0;
    char d[24] = "";
    uint64_t f = atk_irq_save();
    for (uint64_t page = 0xfed00000ull; page < 0xfed04000ull; page += 0x1000) {
        if (page == (hpet & ~0xfffull))
            continue;
        uint64_t r = atk_write32(page + 0x114, (uint32_t)block); /* timer 0 Tn_FSB_INT_ADDR */
        if (r && !d[0])
            guard_describe(r, d, sizeof(d));
        pages++;
    }
    atk_irq_restore(f);
    bool ok = atk_core_intact_self(why, sizeof(why));
    if (!d[0] && ok)
        atk_pass(name, "summary: hpet-fsb >= %u; timer 0's FSB address 0x%lx (in the block) written at +0x114 of the "
                 "%u other pages HPTC may move the HPET (0x%lx) to; %s", pages, block, pages, hpet, why);
    else
        atk_fail(name, "FSB address writes on the HPTC pages: %s; %s", d[0] ? d : "no fault", ok ? "core intact" : why);
}
