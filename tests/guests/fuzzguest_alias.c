/* The alias window of the fuzzing guest (issue 16: "operands in pages
 * whose guest PTEs it changes concurrently from another CPU").
 *
 * FZ_ALIAS_SLOTS pages at FZ_ALIAS_VA, mapped by a page table of the
 * fuzzer's own under a copy of the firmware's PML4 (every other entry is
 * the firmware's: its identity map goes on working). Each slot's PTE points
 * at one target page — a region's page (the APIC, the core's block, an
 * IOMMU unit, the passthrough device's ECAM page, BARs and MSI-X table, a
 * page where nothing is) or a page of guest RAM — or at nothing. Every CPU
 * changes slots' PTEs while the others run MMIO instructions through them,
 * with and without INVLPG, so the core's exit may be for one page while the
 * guest's tables already say another: the core must emulate the access at
 * the address the exit gives (EPT violation / #NPF guest-physical address),
 * never at what a walk of the guest's tables says now, and bound it to that
 * page (an operand crossing the slot's end continues in the next slot,
 * which maps elsewhere).
 *
 * What may be written through the window: only read-modify-write
 * instructions that write back what they read (OR 0, AND -1, ...), and only
 * through the write slots (4-7), whose targets are pages where such a write
 * is harmless wherever it lands: the xAPIC page (not ICR low: the IPI
 * operation's), pages where the core drops writes (its block, IOMMU units,
 * the unmapped page) and the guest RAM page. Reads go through any slot.
 * On Intel (Bochs), which panics on an xAPIC access not at a 16-byte
 * boundary (fuzzguest_ops.c, gen_mmio), every access through the window is
 * a dword there: a MOVL load or an ORL $0.
 *
 * The code slot (slot FZ_ALIAS_SLOTS, after the data slots) maps one of
 * two pages of guest RAM, or nothing: one holds a load from (%rdi) and the
 * other a store to it, both at the same offset. A CPU calls into the slot
 * with RDI in the core's block (a trapped page where the core drops
 * writes) while the CPUs rewrite the slot's PTE, so the instruction the
 * core fetches after the exit may not be the one that exited: a store
 * whose exit the core sees as a load, or the reverse. The core must not
 * carry out the instruction it finds (it is not what happened): it runs
 * the guest again (refused, `insn-changed`).
 *
 * The decisions come from a second xorshift stream per CPU (rng2), so the
 * main stream, and every step number, is the one without the window:
 * alias=0 replays a seed from before it. */
#include <efi.h>
#include <efilib.h>
#include <minihv/format.h>
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "tests/guests/fuzzguest.h"
#include "tests/guests/print.h"

bool fz_alias_on = true;

#define PTE_P   (1ull << 0)
#define PTE_RW  (1ull << 1)
#define PTE_PWT (1ull << 3)
#define PTE_PCD (1ull << 4)
#define PTE_A   (1ull << 5)
#define PTE_D   (1ull << 6)
#define PTE_ADDR 0x000ffffffffff000ull
#define READ_SLOTS 4 /* slots 0-3: reads; 4-7: identity read-modify-writes too */
#define CODE_OFF   0x7f0 /* the instruction's offset in both code pages */
#define PTE_FLAGS  (PTE_P | PTE_RW | PTE_PCD | PTE_PWT | PTE_A | PTE_D)

static uint64_t *pml4, *pt;
static uint64_t read_target[FZ_MAX_REGIONS + 1], write_target[FZ_MAX_REGIONS + 1];
static unsigned reads, writes;
static const char *target_name[FZ_MAX_REGIONS + 1];
static uint64_t target_page[FZ_MAX_REGIONS + 1];
static unsigned targets;
static uint64_t code_page[2]; /* mov (%rdi),%eax; ret — mov %eax,(%rdi); ret */

static uint64_t rnd2(struct fz_cpu *c, uint64_t n)
{
    return n ? fz_xorshift(&c->rng2) % n : 0;
}

static uint64_t read_cr3(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}

static void *page_below_4g(void)
{
    EFI_PHYSICAL_ADDRESS pa = 0xffffffff;
    if (EFI_ERROR(BS->AllocatePages(AllocateMaxAddress, EfiBootServicesData, 1, &pa)))
        return NULL;
    memset((void *)(uintptr_t)pa, 0, 4096);
    return (void *)(uintptr_t)pa;
}

static void add_target(const char *name, uint64_t page, bool writable)
{
    if (targets >= FZ_MAX_REGIONS + 1)
        return;
    target_name[targets] = name;
    target_page[targets] = page;
    read_target[reads++] = page;
    if (writable)
        write_target[writes++] = page;
    targets++;
}

static const char *name_of(uint64_t pte)
{
    if (!(pte & PTE_P))
        return "none";
    if ((pte & PTE_ADDR) == code_page[0])
        return "code-load";
    if ((pte & PTE_ADDR) == code_page[1])
        return "code-store";
    for (unsigned i = 0; i < targets; i++)
        if (target_page[i] == (pte & PTE_ADDR))
            return target_name[i];
    return "?";
}

bool fz_alias_setup(void)
{
    uint64_t cr4;
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    if (!fz_alias_on)
        return false;
    if (cr4 & (1ull << 12)) { /* CR4.LA57: 5-level paging, another layout */
        guest_print("fuzzguest: alias window: off (5-level paging)");
        return fz_alias_on = false;
    }
    const uint64_t *fw = (const uint64_t *)(uintptr_t)(read_cr3() & PTE_ADDR);
    if (fw[511] & PTE_P) {
        guest_print("fuzzguest: alias window: off (the firmware maps PML4 entry 511)");
        return fz_alias_on = false;
    }
    uint64_t *pdpt, *pd;
    uint8_t *ram;
    if (!(pml4 = page_below_4g()) || !(pdpt = page_below_4g()) || !(pd = page_below_4g()) || !(pt = page_below_4g()) ||
        !(ram = page_below_4g())) {
        guest_print("fuzzguest: alias window: off (out of memory)");
        return fz_alias_on = false;
    }
    uint8_t *load = page_below_4g(), *store = page_below_4g();
    if (!load || !store) {
        guest_print("fuzzguest: alias window: off (out of memory)");
        return fz_alias_on = false;
    }
    static const uint8_t load_insn[] = { 0x8b, 0x07, 0xc3 }, store_insn[] = { 0x89, 0x07, 0xc3 };
    memcpy(load + CODE_OFF, load_insn, sizeof(load_insn));
    memcpy(store + CODE_OFF, store_insn, sizeof(store_insn));
    code_page[0] = (uint64_t)(uintptr_t)load;
    code_page[1] = (uint64_t)(uintptr_t)store;
    memcpy(pml4, fw, 4096);
    pml4[511] = (uint64_t)(uintptr_t)pdpt | PTE_P | PTE_RW;
    pdpt[0] = (uint64_t)(uintptr_t)pd | PTE_P | PTE_RW;
    pd[0] = (uint64_t)(uintptr_t)pt | PTE_P | PTE_RW;
    for (unsigned i = 0; i < fz.regions; i++) {
        const struct fz_region *g = &fz.region[i];
        bool apic = g->base == fz.apic_base;
        add_target(g->name, g->base & PTE_ADDR, apic || g->wpol == W_DROP);
    }
    add_target("ram", (uint64_t)(uintptr_t)ram, true);
    for (unsigned s = 0; s < FZ_ALIAS_SLOTS; s++) /* slot s starts at a target of its kind */
        pt[s] = (s < READ_SLOTS ? read_target[s % reads] : write_target[s % writes]) | PTE_FLAGS;
    pt[FZ_ALIAS_SLOTS] = code_page[0] | PTE_P | PTE_A;
    char line[240];
    int n = fmt_snprintf(line, sizeof(line), "fuzzguest: alias window 0x%lx, %u slots; targets (w: writable slots too):",
                         (uint64_t)FZ_ALIAS_VA, FZ_ALIAS_SLOTS);
    for (unsigned i = 0; i < targets && n < (int)sizeof(line) - 24; i++) {
        bool w = false;
        for (unsigned j = 0; j < writes; j++)
            w |= write_target[j] == target_page[i];
        n += fmt_snprintf(line + n, sizeof(line) - (size_t)n, " %s%s", target_name[i], w ? "(w)" : "");
    }
    guest_print("%s", line);
    return true;
}

void fz_alias_enter(struct fz_cpu *c, unsigned stream_index)
{
    c->rng2 = (fz.seed ^ 0xa11a5a11a5a11a5ull) * (2 * stream_index + 3) | 1;
    __asm__ volatile("mov %%cr3, %0" : "=r"(c->cr3_start));
    if (fz_alias_on)
        __asm__ volatile("mov %0, %%cr3" ::"r"((uint64_t)(uintptr_t)pml4 | (c->cr3_start & 0xfff)) : "memory");
}

void fz_alias_leave(struct fz_cpu *c)
{
    if (fz_alias_on && c->cr3_start)
        __asm__ volatile("mov %0, %%cr3" ::"r"(c->cr3_start) : "memory");
}

static void flip(struct fz_cpu *c)
{
    unsigned s = (unsigned)rnd2(c, FZ_ALIAS_SLOTS + 2);
    if (s >= FZ_ALIAS_SLOTS) { /* the code slot: the load, the store, or (1 in 8) nothing */
        uint64_t i = rnd2(c, 8);
        __atomic_store_n(&pt[FZ_ALIAS_SLOTS], i == 7 ? 0 : code_page[i & 1] | PTE_P | PTE_A, __ATOMIC_SEQ_CST);
        if (rnd2(c, 2))
            __asm__ volatile("invlpg (%0)" ::"r"(FZ_ALIAS_VA + FZ_ALIAS_SLOTS * 4096ull) : "memory");
        c->alias_flips++;
        return;
    }
    const uint64_t *set = s < READ_SLOTS ? read_target : write_target;
    unsigned n = s < READ_SLOTS ? reads : writes;
    uint64_t i = rnd2(c, n + 1), pte = 0;
    if (i < n)
        pte = set[i] | PTE_FLAGS;
    __atomic_store_n(&pt[s], pte, __ATOMIC_SEQ_CST);
    if (rnd2(c, 2)) /* the other CPUs keep what their TLBs hold: no shootdown */
        __asm__ volatile("invlpg (%0)" ::"r"(FZ_ALIAS_VA + s * 4096ull) : "memory");
    c->alias_flips++;
}

bool fz_alias_op(struct fz_cpu *c, struct fz_rec *r, bool identity_rmw)
{
    if (!fz_alias_on)
        return false;
    if (rnd2(c, 8) == 0)
        flip(c);
    bool write = r->kind == K_MMIO_W;
    if ((r->kind == K_MMIO_R || write) && fz.block_size && rnd2(c, 32) == 0) {
        r->sub = FZ_SUB_EXEC;
        r->a = fz.block_base + (rnd2(c, fz.block_size) & ~0xfull);
        r->b = FZ_ALIAS_VA + FZ_ALIAS_SLOTS * 4096ull + CODE_OFF;
        r->c = __atomic_load_n(&pt[FZ_ALIAS_SLOTS], __ATOMIC_SEQ_CST);
        c->alias_ops++;
        return true;
    }
    if ((r->kind != K_MMIO_R && !(write && identity_rmw)) || rnd2(c, 4))
        return false;
    uint64_t off = r->a & 0xfff;
    if (fz.apic_strict) /* a dword at a 16-byte boundary: safe on every target (the caller makes it MOVL / ORL $0) */
        off &= 0xff0;
    if (write && off < 0x304 && off + 8 > 0x300) /* ICR low (see the APIC region) */
        return false;
    unsigned s = write ? READ_SLOTS + (unsigned)rnd2(c, FZ_ALIAS_SLOTS - READ_SLOTS) : (unsigned)rnd2(c, FZ_ALIAS_SLOTS);
    if (rnd2(c, 2)) { /* aim the slot at the operation's own page, when that is one of its targets */
        const uint64_t *set = s < READ_SLOTS ? read_target : write_target;
        unsigned n = s < READ_SLOTS ? reads : writes;
        for (unsigned i = 0; i < n; i++)
            if (set[i] == (r->a & PTE_ADDR)) {
                __atomic_store_n(&pt[s], set[i] | PTE_FLAGS, __ATOMIC_SEQ_CST);
                __asm__ volatile("invlpg (%0)" ::"r"(FZ_ALIAS_VA + s * 4096ull) : "memory");
                break;
            }
    }
    r->a = FZ_ALIAS_VA + s * 4096ull + off;
    r->c = __atomic_load_n(&pt[s], __ATOMIC_SEQ_CST); /* the PTE when it was issued, for the log */
    c->alias_ops++;
    return true;
}

void fz_alias_describe(uint64_t pte, char *buf, size_t size)
{
    fmt_snprintf(buf, size, " (alias: %s)", name_of(pte));
}

void fz_alias_report(struct fz_cpu *const *cpus, unsigned n)
{
    if (!fz_alias_on)
        return;
    uint64_t ops = 0, flips = 0;
    for (unsigned i = 0; i < n; i++)
        if (cpus[i]) {
            ops += cpus[i]->alias_ops;
            flips += cpus[i]->alias_flips;
        }
    char line[200];
    int k = fmt_snprintf(line, sizeof(line), "fuzzguest: alias window: %lu operations through it, %lu PTE changes; slots now:",
                         ops, flips);
    for (unsigned s = 0; s <= FZ_ALIAS_SLOTS && k < (int)sizeof(line) - 16; s++)
        k += fmt_snprintf(line + k, sizeof(line) - (size_t)k, " %s", name_of(pt[s]));
    guest_print("%s", line);
}
