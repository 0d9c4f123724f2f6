/* The core image (build/hv.bin) travels inside minihv.efi; the Makefile
 * passes its path as HV_BIN_PATH. */
#define STR2(x) #x
#define STR(x) STR2(x)

__asm__(".section .rodata\n"
        ".balign 4096\n"
        ".global hv_image_blob, hv_image_blob_end\n"
        "hv_image_blob:\n"
        ".incbin \"" STR(HV_BIN_PATH) "\"\n"
        "hv_image_blob_end:\n"
        ".previous\n");
