/* The image header the loader checks before it copies the core. */
#include <minihv/boot_info.h>

/* Absolute symbols from linker.ld: their "address" is the value. */
extern char hv_image_start[], hv_file_size[], hv_mem_size[], hv_entry_offset[];

__attribute__((section(".hv_header"), used)) const struct minihv_image_header hv_image_header = {
    .magic = MINIHV_IMAGE_MAGIC,
    .version = MINIHV_BOOT_VERSION,
    .header_size = sizeof(struct minihv_image_header),
    .link_base = (uint64_t)hv_image_start,
    .file_size = (uint64_t)hv_file_size,
    .mem_size = (uint64_t)hv_mem_size,
    .entry_offset = (uint64_t)hv_entry_offset,
};
