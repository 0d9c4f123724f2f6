/* One 4-level page-table builder for the core's own tables, for EPT, NPT and
 * the VT-d and AMD-Vi I/O page tables. What differs between them is only the
 * entry format, given as a struct pt_format; tables come from a caller's page
 * allocator. Pure C with no tie to hv/ or iommu/: the loader, the core,
 * iommu/ and the host tests build the same file. */
#ifndef MINIHV_PAGING_H
#define MINIHV_PAGING_H

#include <stdbool.h>
#include <stdint.h>

/* Generic permissions and memory type of a leaf. */
#define PT_READ   1u
#define PT_WRITE  2u
#define PT_EXEC   4u
#define PT_RWX    (PT_READ | PT_WRITE | PT_EXEC)
#define PT_MEMTYPE_SHIFT 8 /* enum x86_memtype in bits 8..10 */
#define PT_ATTRS(perm, memtype) ((perm) | ((uint32_t)(memtype) << PT_MEMTYPE_SHIFT))
#define PT_ATTR_MEMTYPE(a) (((a) >> PT_MEMTYPE_SHIFT) & 7u)

/* Levels: 4 = PML4 entry (512 GiB), 3 = 1 GiB, 2 = 2 MiB, 1 = 4 KiB. */
struct pt_format {
    const char *name;
    uint64_t (*table_entry)(uint64_t table_pa);
    uint64_t (*leaf_entry)(uint64_t pa, int level, uint32_t attrs);
    uint32_t (*leaf_attrs)(uint64_t entry, int level);
    bool (*present)(uint64_t entry);
    bool (*is_leaf)(uint64_t entry, int level); /* level 1 entries always are */
    /* Optional: a table entry that must name the level of the table it
     * points to (AMD-Vi "next level"); when set, used instead of table_entry. */
    uint64_t (*table_entry_at)(uint64_t table_pa, int child_level);
};

extern const struct pt_format pt_format_host; /* SDM 4.5, PAT index from memtype */
extern const struct pt_format pt_format_ept;  /* SDM 28.3.2 */
extern const struct pt_format pt_format_npt;  /* APM 15.25: host format, U/S set */
extern const struct pt_format pt_format_vtd;  /* VT-d 9.8: second-level, legacy mode */
extern const struct pt_format pt_format_amdvi; /* AMD IOMMU 2.2.3: I/O page tables */

struct pt_stats {
    uint64_t tables;     /* table pages allocated, root included */
    uint64_t leaves[4];  /* [0] 4K, [1] 2M, [2] 1G — counted by pt_count_leaves */
};

struct pt_ctx {
    const struct pt_format *fmt;
    uint64_t root_pa;
    bool allow_1g;                         /* CPU supports 1 GiB leaves here */
    uint64_t (*alloc_page)(void *opaque);  /* zeroed page, its phys address; 0 = none */
    void *(*phys_to_virt)(void *opaque, uint64_t pa);
    void *opaque;
    struct pt_stats stats;
};

enum { PT_OK = 0, PT_ENOMEM = -1, PT_EINVAL = -2 };

/* Allocates the root table. */
int pt_init(struct pt_ctx *pt);
/* Maps [va, va+size) to [pa, ...) with the largest leaves the alignment
 * allows; splits existing large leaves that the range cuts. Page-aligned. */
int pt_map(struct pt_ctx *pt, uint64_t va, uint64_t pa, uint64_t size, uint32_t attrs);
/* Makes [va, va+size) not present, splitting large leaves at the edges. */
int pt_unmap(struct pt_ctx *pt, uint64_t va, uint64_t size);
/* Walks to the leaf for va: its entry pointer and level, or NULL. */
uint64_t *pt_lookup(struct pt_ctx *pt, uint64_t va, int *level);
/* Recounts pt->stats.leaves. */
void pt_count_leaves(struct pt_ctx *pt);

#endif
