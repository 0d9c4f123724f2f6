/* The core's C entry, on its own stack and page tables. */
#include <minihv/boot_info.h>
#include "hv/console.h"

extern char hv_image_start[];

int hv_main(struct minihv_boot_info *bi)
{
    if (bi->magic != MINIHV_BOOT_MAGIC || bi->version != MINIHV_BOOT_VERSION ||
        bi->size != sizeof(*bi))
        return -1;
    console_init(bi->serial_port);
    hv_log("core running at %p (phys 0x%lx), %lu KiB image, block 0x%lx+%lu MiB",
           (void *)hv_image_start, bi->image_phys,
           bi->image_mem_size / 1024, bi->hv_phys_base,
           bi->hv_phys_size >> 20);
    return 0;
}
