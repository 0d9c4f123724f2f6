/* See ept.h. */
#include <minihv/boot_info.h>
#include <minihv/io.h>
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "hv/console.h"
#include "hv/ept.h"
#include "hv/ioapic.h"
#include "hv/heap.h"
#include "hv/special_pages.h"
#include "hv/typed_map.h"

#define MSR_IA32_APIC_BASE 0x1b
#define IOAPIC_DEFAULT_BASE 0xfec00000ull
#define MSI_WINDOW_BASE 0xfee00000ull
#define MSI_WINDOW_END  0xfef00000ull

static struct pt_ctx ept;
static const struct minihv_boot_info *ept_bi;
static struct mtrr_state ept_mtrr; /* the types the map was built with */
static volatile uint64_t ept_gen;

void mtrr_read_cpu(struct mtrr_state *s)
{
    uint32_t r[4];
    memset(s, 0, sizeof(*s));
    x86_cpuid(1, 0, r);
    if (!(r[3] & (1u << 12))) {
        /* No MTRRs: take everything as WB; MMIO is made UC below. */
        s->def_type = (1ull << 11) | MEMTYPE_WB;
        return;
    }
    s->cap = rdmsr(MSR_IA32_MTRRCAP);
    s->def_type = rdmsr(MSR_IA32_MTRR_DEF_TYPE);
    if (s->cap & (1ull << 8))
        for (unsigned i = 0; i < MTRR_FIXED_MSRS; i++)
            s->fixed[i] = rdmsr(mtrr_fixed_msr(i));
    s->var_count = MIN((unsigned)(s->cap & 0xff), (unsigned)MTRR_MAX_VAR);
    for (unsigned i = 0; i < s->var_count; i++) {
        s->var[i].base = rdmsr(MSR_MTRR_PHYSBASE0 + 2 * i);
        s->var[i].mask = rdmsr(MSR_MTRR_PHYSBASE0 + 2 * i + 1);
    }
    x86_cpuid(0x80000000, 0, r);
    s->phys_bits = 36;
    if (r[0] >= 0x80000008) {
        x86_cpuid(0x80000008, 0, r);
        s->phys_bits = r[0] & 0xff;
    }
}

static uint64_t alloc_page(void *opaque)
{
    (void)opaque;
    return heap_alloc(1);
}

static void *identity(void *opaque, uint64_t pa)
{
    (void)opaque;
    return (void *)(uintptr_t)pa;
}

/* One registry entry onto the map: not present, read-only identity, or
 * identity as built (hv/special_pages.h). [gpa, +size) inside the entry. */
static int apply_special(void *opaque, const struct special_page *e, uint64_t gpa, uint64_t size);

/* Identity as ept_build made it, for [gpa, gpa + size) (page-aligned).
 * The largest block map_block may decide on: 2 MiB when aligned. */
static int identity_run(void *opaque, uint64_t gpa, uint64_t size)
{
    (void)opaque;
    uint64_t end = gpa + size;
    while (gpa < end) {
        bool big = !(gpa & (SIZE_2M - 1)) && end - gpa >= SIZE_2M;
        uint64_t chunk = big ? SIZE_2M : PAGE_SIZE;
        /* At or above phys_top ept_build mapped nothing: a BAR moved up
         * there and away leaves it not present (accesses exit, refused
         * unmapped-gpa), never identity RWX (review R, finding 6). */
        int rc = gpa >= ept_bi->phys_top ? pt_unmap(&ept, gpa, chunk)
                                         : typed_map_block(&ept, ept_bi, &ept_mtrr, gpa, chunk, big ? 2 : 1, true);
        if (rc)
            return rc;
        gpa += chunk;
    }
    return 0;
}

static int apply_special(void *opaque, const struct special_page *e, uint64_t gpa, uint64_t size)
{
    switch (e->map) {
    case SPECIAL_MAP_NONE:
        return pt_unmap(&ept, gpa, size);
    case SPECIAL_MAP_READ_ONLY:
        return pt_map(&ept, gpa, gpa, size, PT_ATTRS(PT_READ | PT_EXEC, MEMTYPE_UC));
    case SPECIAL_MAP_READ_ONLY_WB:
        return pt_map(&ept, gpa, gpa, size, PT_ATTRS(PT_READ | PT_EXEC, MEMTYPE_WB));
    default:
        return identity_run(opaque, gpa, size);
    }
}

int ept_reserve(enum special_kind kind, uint64_t base, uint64_t size, enum special_map map)
{
    if (special_add(&hv_special, kind, base, size, map)) {
        hv_log("ept: special page %s 0x%lx+0x%lx not registered (bad range or table full, %u entries)",
               special_kind_name(kind), base, size, hv_special.count);
        return -1;
    }
    if (!ept.root_pa)
        return 0; /* ept_build applies it */
    const struct special_page *e = &hv_special.e[hv_special.count - 1];
    return apply_special(NULL, e, e->base, e->size);
}

int ept_build(const struct minihv_boot_info *bi, const struct pt_format *fmt, bool allow_1g,
              const struct mtrr_state *mtrr)
{
    ept = (struct pt_ctx){
        .fmt = fmt, .allow_1g = allow_1g, .alloc_page = alloc_page, .phys_to_virt = identity,
    };
    if (pt_init(&ept))
        return -1;
    ept_bi = bi;
    ept_mtrr = *mtrr;
    for (uint64_t base = 0; base < bi->phys_top; base += SIZE_1G)
        if (typed_map_block(&ept, bi, mtrr, base, SIZE_1G, 3, true))
            return -1;
    /* The special pages known now (others register later through
     * ept_reserve): the block (never mapped above) and the local APIC
     * page, read-only so that ICR writes exit (hv/ipi.c, SDM 10.4.4). */
    special_add(&hv_special, SPECIAL_CORE_BLOCK, bi->hv_phys_base, bi->hv_phys_size, SPECIAL_MAP_NONE);
    uint64_t lapic = rdmsr(MSR_IA32_APIC_BASE) & 0x000ffffffffff000ull;
    special_add(&hv_special, SPECIAL_LAPIC, lapic, PAGE_SIZE, SPECIAL_MAP_READ_ONLY);
    /* The rest of the interrupt message window (SDM Vol. 3A 11.11.1: a
     * write there is an MSI, not memory): not present, so no CPU write
     * becomes a message (QEMU's APIC takes a dword anywhere in the 1 MiB
     * for an MSI of any delivery mode, apic_mem_write) and no BAR lands
     * there. The APIC page keeps its own entry around it. */
    if (lapic > MSI_WINDOW_BASE)
        special_add(&hv_special, SPECIAL_MSI_WINDOW, MSI_WINDOW_BASE, MIN(lapic, MSI_WINDOW_END) - MSI_WINDOW_BASE,
                    SPECIAL_MAP_NONE);
    if (lapic + PAGE_SIZE < MSI_WINDOW_END)
        special_add(&hv_special, SPECIAL_MSI_WINDOW, MAX(lapic + PAGE_SIZE, MSI_WINDOW_BASE),
                    MSI_WINDOW_END - MAX(lapic + PAGE_SIZE, MSI_WINDOW_BASE), SPECIAL_MAP_NONE);
    /* Every I/O APIC of the MADT (the PC default without one): read-only,
     * so that redirection entry writes exit to hv/ioapic.c (INIT/SMI modes
     * refused); no BAR or hypercall buffer goes over it. One the model
     * cannot take stops the core: its entries would reach the hardware. */
    unsigned n_ioapic = bi->ioapic_count ? bi->ioapic_count : 1;
    if (n_ioapic > MINIHV_MAX_IOAPICS) {
        hv_log("ept: boot_info.ioapic_count %u: more than %u", bi->ioapic_count, MINIHV_MAX_IOAPICS);
        return -1;
    }
    for (unsigned i = 0; i < n_ioapic; i++) {
        uint64_t base = bi->ioapic_count ? bi->ioapic_base[i] : IOAPIC_DEFAULT_BASE;
        if (ioapic_model_add(base) ||
            special_add(&hv_special, SPECIAL_IOAPIC, base & ~(PAGE_SIZE - 1), PAGE_SIZE, SPECIAL_MAP_READ_ONLY))
            return -1;
    }
    /* The default SMRAM the loader took (open SMM): not present, only SMM
     * (no EPT/NPT there) runs its RSM; any other address is a loader bug. */
    if (bi->smm_default_phys && (bi->smm_default_phys != MINIHV_SMBASE_DEFAULT ||
                                 special_add(&hv_special, SPECIAL_SMM_DEFAULT, bi->smm_default_phys,
                                             MINIHV_SMM_DEFAULT_SIZE, SPECIAL_MAP_NONE))) {
        hv_log("ept: boot_info.smm_default_phys 0x%lx: not 0x%lx or not registered", bi->smm_default_phys,
               MINIHV_SMBASE_DEFAULT);
        return -1;
    }
    for (unsigned i = 0; i < hv_special.count; i++)
        if (apply_special(NULL, &hv_special.e[i], hv_special.e[i].base, hv_special.e[i].size))
            return -1;
    return 0;
}

int ept_set_attrs(uint64_t gpa, uint64_t size, uint32_t attrs)
{
    return pt_map(&ept, gpa, gpa, size, attrs);
}

int ept_map(uint64_t gpa, uint64_t hpa, uint64_t size, uint32_t attrs)
{
    return pt_map(&ept, gpa, hpa, size, attrs);
}

int ept_unmap(uint64_t gpa, uint64_t size)
{
    return pt_unmap(&ept, gpa, size);
}

int ept_restore_identity(uint64_t gpa, uint64_t size)
{
    if (!ept_bi || (gpa | size) & (PAGE_SIZE - 1))
        return -1;
    /* Identity, except where the registry says otherwise: a BAR moved off
     * the APIC page or an ECAM page gives back what the core had there. */
    return special_split(&hv_special, gpa, size, identity_run, apply_special, NULL);
}

void ept_changed(void)
{
    __atomic_add_fetch(&ept_gen, 1, __ATOMIC_RELEASE);
}

uint64_t ept_generation(void)
{
    return __atomic_load_n(&ept_gen, __ATOMIC_ACQUIRE);
}

uint64_t ept_root_pa(void)
{
    return ept.root_pa;
}

uint64_t ept_table_bytes(void)
{
    return ept.stats.tables * PAGE_SIZE;
}

void ept_count_leaves(struct pt_stats *out)
{
    struct pt_ctx copy = ept; /* counted on a copy: CPUs may ask at once */
    if (copy.root_pa)
        pt_count_leaves(&copy);
    *out = copy.stats;
}

/* The core's own identity map (the loader built it WB over [0, phys_top),
 * boot/launch.c) gets the guest map's types: UC through the PAT (PCD|PWT,
 * PAT3) wherever the launch MTRRs or the memory map say MMIO or a hole.
 * A UC PAT entry is UC whatever the MTRRs say (SDM Vol. 3A 12.5.2.2,
 * Table 12-7), so a guest that rewrites the MTRRs (native writes after
 * msr_mtrr_check) cannot make the core's accesses to the APIC, the I/O
 * APIC, the IOMMU's registers, ECAM or a BAR cacheable. Memory stays PAT0
 * (WB): its type follows the MTRRs, which the core keeps WB or UC over its
 * own memory (hv/msr.c). On the BSP before any AP enters the core. */
int host_map_retype(const struct minihv_boot_info *bi, const struct mtrr_state *mtrr, bool allow_1g)
{
    uint64_t pat = rdmsr(MSR_IA32_PAT);
    if ((pat & 0xff) != MEMTYPE_WB || ((pat >> 8) & 0xff) != MEMTYPE_WT || ((pat >> 24) & 0xff) != MEMTYPE_UC)
        hv_log("host map: IA32_PAT 0x%lx is not the power-on layout (PAT0 WB, PAT1 WT, PAT3 UC): "
               "the core's memory types may differ from the MTRRs'", pat);
    struct pt_ctx host = {
        .fmt = &pt_format_host, .root_pa = bi->host_cr3, .allow_1g = allow_1g,
        .alloc_page = alloc_page, .phys_to_virt = identity,
    };
    for (uint64_t base = 0; base < bi->phys_top; base += SIZE_1G)
        if (typed_map_block(&host, bi, mtrr, base, SIZE_1G, 3, false))
            return -1;
    __asm__ volatile("mov %%cr3, %%rax\n\tmov %%rax, %%cr3" : : : "rax", "memory");
    return (int)host.stats.tables;
}
