/* PCI expansion ROM (video BIOS) images: 0x55AA header, PCI Data Structure
 * ("PCIR", PCI Firmware Spec 3.0 §5.1), multi-image walk (legacy x86 + EFI),
 * source fallback and the size of the vfio ROM region. */
#ifndef MINIHV_DRIVERS_IGD_ROM_H
#define MINIHV_DRIVERS_IGD_ROM_H

#include <drivers/igd/igd.h>

#define IGD_ROM_MAX_IMAGES  8
#define IGD_ROM_UNIT        512u      /* image length and init size unit */
#define IGD_ROM_SHADOW_BASE 0xC0000u  /* legacy VGA shadow */
#define IGD_ROM_SHADOW_REGION 0x20000u /* Linux pci_map_rom: shadow ROM size */

#define IGD_ROM_CODE_X86    0x00
#define IGD_ROM_CODE_OPENFW 0x01
#define IGD_ROM_CODE_HPPA   0x02
#define IGD_ROM_CODE_EFI    0x03

struct igd_rom_image {
    uint32_t offset;        /* of the 0x55AA header in the buffer */
    uint32_t length;        /* PCIR image length x 512 */
    uint32_t pcir_offset;   /* from the image start */
    uint16_t vendor, device;
    uint8_t class_code[3];  /* programming interface, subclass, base class */
    uint8_t pcir_revision;
    uint8_t code_type;
    bool last;              /* indicator bit 7 */
    uint32_t init_size;     /* x86: byte 2 x 512; EFI: u16 @2 x 512 */
    uint16_t efi_subsystem, efi_machine;  /* EFI images only */
};

struct igd_rom_info {
    uint32_t nimages;
    struct igd_rom_image images[IGD_ROM_MAX_IMAGES];
    uint32_t total_len;     /* end of the last image */
};

/* Walks every image of the ROM in buf[0..len) until the one with the
 * last-image bit. Rejects a missing 0x55AA, a PCIR pointer or structure
 * outside the image, a bad "PCIR", an image length of 0 or past the buffer,
 * an init size past the image, and a ROM that ends without a last image. */
int igd_rom_parse(const void *buf, size_t len, struct igd_rom_info *out,
                  struct field_error *err);

/* The shadow at 0xC0000 holds only the initialised legacy image: its size is
 * byte 2 x 512, the PCIR image length may be larger (the BIOS may shrink its
 * runtime image), so only the first image is read, bounded by that size. */
int igd_rom_parse_shadow(const void *buf, size_t len, struct igd_rom_info *out,
                         struct field_error *err);

/* True when the ROM has an x86 image for vendor:device with a display class
 * (base class 0x03); fills err otherwise. */
int igd_rom_check_device(const struct igd_rom_info *rom, uint16_t vendor,
                         uint16_t device, struct field_error *err);

enum igd_rom_source {
    IGD_ROM_SRC_SHADOW = 0,  /* legacy 0xC0000 */
    IGD_ROM_SRC_PCIIO,       /* EFI_PCI_IO_PROTOCOL.RomImage */
    IGD_ROM_SRC_FILE,        /* `rom = path` in minihv.cfg */
    IGD_ROM_SRC_COUNT
};

struct igd_rom_candidate {
    const void *buf;   /* NULL when that source has nothing */
    size_t len;
};

struct igd_rom_choice {
    enum igd_rom_source source;
    struct igd_rom_info info;
    uint32_t len;            /* bytes of the chosen ROM to expose */
    uint64_t region_size;    /* vfio ROM region (index 6) size */
};

/* Tries shadow, then PciIo RomImage, then the file, in that order; takes the
 * first that parses and matches vendor:device. errs[i] (may be NULL) gets
 * why candidate i was passed over. Returns -IGD_ENOENT when none fit. */
int igd_rom_choose(const struct igd_rom_candidate cand[IGD_ROM_SRC_COUNT],
                   uint16_t vendor, uint16_t device, struct igd_rom_choice *out,
                   struct field_error errs[IGD_ROM_SRC_COUNT]);

/* ROM region size: 0x20000 for a shadow ROM (as Linux), else the ROM length
 * rounded up to a power of two, at least 2 KiB (a ROM BAR's minimum). */
uint64_t igd_rom_region_size(enum igd_rom_source src, uint64_t rom_len);

#endif
