/* Loads the core: allocates its block as EfiReservedMemoryType (so the OS
 * never gets it), copies the image, builds the core's page tables with the
 * shared builder (hv/paging.c), fills the boot info and calls the entry on
 * the BSP with the core's CR3. */
#include <efi.h>
#include <efilib.h>
#include <minihv/boot_info.h>
#include <minihv/io.h>
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "boot/launch.h"
#include "boot/log.h"
#include "hv/paging.h"

/* The core image, embedded by boot/hv_image.S. */
extern const uint8_t hv_image_blob[], hv_image_blob_end[];

static uint64_t block_base, block_size;

struct block_alloc {
    uint64_t next, end;
};

static uint64_t block_alloc_page(void *opaque)
{
    struct block_alloc *a = opaque;
    if (a->next + PAGE_SIZE > a->end)
        return 0;
    uint64_t pa = a->next;
    a->next += PAGE_SIZE;
    return pa;
}

static void *identity(void *opaque, uint64_t pa)
{
    (void)opaque;
    return (void *)(uintptr_t)pa;
}

static const struct minihv_image_header *check_image(const char **why)
{
    size_t len = (size_t)(hv_image_blob_end - hv_image_blob);
    const struct minihv_image_header *h = (const void *)hv_image_blob;
    if (len < sizeof(*h) || h->magic != MINIHV_IMAGE_MAGIC)
        *why = "bad magic";
    else if (h->version != MINIHV_BOOT_VERSION || h->header_size != sizeof(*h))
        *why = "version mismatch between loader and core";
    else if (h->file_size != len || h->mem_size < h->file_size || h->entry_offset >= h->file_size)
        *why = "sizes inconsistent";
    else
        return h;
    return NULL;
}

/* Allocates hv_mem_mb MiB of reserved memory aligned to 2 MiB, so that the
 * EPT hole it leaves splits as few large pages as possible. */
static int alloc_block(uint64_t bytes)
{
    UINTN pages = (UINTN)((bytes + SIZE_2M) / PAGE_SIZE);
    EFI_PHYSICAL_ADDRESS pa = 0;
    if (EFI_ERROR(BS->AllocatePages(AllocateAnyPages, EfiReservedMemoryType, pages, &pa)))
        return -1;
    uint64_t aligned = ALIGN_UP((uint64_t)pa, SIZE_2M);
    if (aligned > pa)
        BS->FreePages(pa, (UINTN)((aligned - pa) / PAGE_SIZE));
    uint64_t tail = pa + pages * PAGE_SIZE - (aligned + bytes);
    if (tail)
        BS->FreePages(aligned + bytes, (UINTN)(tail / PAGE_SIZE));
    block_base = aligned;
    block_size = bytes;
    return 0;
}

/* SysV call into the core with its page tables loaded, interrupts off. */
typedef int (*hv_entry_fn)(struct minihv_boot_info *) __attribute__((sysv_abi));

static int call_core(uint64_t cr3, hv_entry_fn entry, struct minihv_boot_info *bi)
{
    uint64_t flags, old_cr3 = read_cr3();
    __asm__ volatile("pushfq; pop %0; cli" : "=r"(flags)::"memory");
    write_cr3(cr3);
    int rc = entry(bi);
    write_cr3(old_cr3);
    __asm__ volatile("push %0; popfq" ::"r"(flags) : "memory", "cc");
    return rc;
}

int launch_core(const struct minihv_config *cfg, const struct platform *p)
{
    const char *why = NULL;
    const struct minihv_image_header *h = check_image(&why);
    if (!h) {
        log_line("core: embedded image rejected: %s", why);
        return -1;
    }
    if (alloc_block((uint64_t)cfg->hv_mem_mb << 20)) {
        log_line("core: cannot reserve %u MiB for the core", cfg->hv_mem_mb);
        return -1;
    }
    /* Layout: [boot info][image][page tables][heap ...] */
    uint64_t bi_pa = block_base;
    uint64_t image_pa = block_base + ALIGN_UP(sizeof(struct minihv_boot_info), PAGE_SIZE);
    uint64_t image_pages = ALIGN_UP(h->mem_size, PAGE_SIZE);
    struct block_alloc alloc = { image_pa + image_pages, block_base + block_size };
    if (alloc.next >= alloc.end) {
        log_line("core: image (%lu KiB) does not fit in hv_mem_mb", h->mem_size >> 10);
        return -1;
    }
    memset((void *)(uintptr_t)block_base, 0, (size_t)(alloc.next - block_base));
    memcpy((void *)(uintptr_t)image_pa, hv_image_blob, (size_t)h->file_size);

    struct pt_ctx pt = {
        .fmt = &pt_format_host,
        .allow_1g = p->cpu.page_1g,
        .alloc_page = block_alloc_page,
        .phys_to_virt = identity,
        .opaque = &alloc,
    };
    uint64_t phys_top = ALIGN_UP(p->phys_top, SIZE_1G);
    if (pt_init(&pt) || pt_map(&pt, 0, 0, phys_top, PT_ATTRS(PT_RWX, MEMTYPE_WB)) ||
        pt_map(&pt, h->link_base, image_pa, image_pages, PT_ATTRS(PT_RWX, MEMTYPE_WB))) {
        log_line("core: out of memory building page tables");
        return -1;
    }

    struct minihv_boot_info *bi = (void *)(uintptr_t)bi_pa;
    bi->magic = MINIHV_BOOT_MAGIC;
    bi->version = MINIHV_BOOT_VERSION;
    bi->size = sizeof(*bi);
    bi->hv_phys_base = block_base;
    bi->hv_phys_size = block_size;
    bi->image_phys = image_pa;
    bi->image_mem_size = h->mem_size;
    bi->image_virt = h->link_base;
    bi->host_cr3 = pt.root_pa;
    bi->phys_top = phys_top;
    bi->pt_pages = pt.stats.tables;
    bi->heap_phys = alloc.next;
    bi->heap_size = alloc.end - alloc.next;
    bi->serial_port = cfg->serial_port;
    bi->cpu_count = p->cpu_count;
    memcpy(bi->cpus, p->cpus, sizeof(bi->cpus));

    log_line("core: %lu KiB image at 0x%lx (linked at 0x%lx), block 0x%lx-0x%lx reserved, "
             "page tables %lu pages for [0, %lu GiB)",
             h->mem_size >> 10, image_pa,
             h->link_base, block_base,
             (block_base + block_size - 1), pt.stats.tables,
             (phys_top >> 30));
    int rc = call_core(pt.root_pa, (hv_entry_fn)(uintptr_t)(h->link_base + h->entry_offset), bi);
    log_line("core: returned %d", rc);
    return rc;
}

void launch_report_final_memmap(void)
{
    UINTN entries, key, desc_size;
    UINT32 desc_version;
    EFI_MEMORY_DESCRIPTOR *map = LibMemoryMap(&entries, &key, &desc_size, &desc_version);
    if (!map || !block_size)
        return;
    for (UINTN i = 0; i < entries; i++) {
        EFI_MEMORY_DESCRIPTOR *d = (EFI_MEMORY_DESCRIPTOR *)((uint8_t *)map + i * desc_size);
        uint64_t end = d->PhysicalStart + d->NumberOfPages * PAGE_SIZE;
        if (d->PhysicalStart <= block_base && block_base + block_size <= end)
            log_line("memmap: core block 0x%lx-0x%lx is in a %s descriptor 0x%lx-0x%lx",
                     block_base, (block_base + block_size - 1),
                     d->Type == EfiReservedMemoryType ? "Reserved" : "NOT reserved",
                     d->PhysicalStart, (end - 1));
    }
    FreePool(map);
}
