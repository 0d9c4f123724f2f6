/* The pure part of the passthrough snapshot (struct minihv_passthrough in
 * include/minihv/boot_info.h): which personality, BARs, the ECAM window,
 * which ROM, and the log text. Host-tested; boot/passthrough.c does the
 * firmware calls around it. */
#ifndef MINIHV_BOOT_PT_SNAPSHOT_H
#define MINIHV_BOOT_PT_SNAPSHOT_H

#include <minihv/boot_info.h>
#include <drivers/igd/rom.h>
#include "boot/acpi.h"
#include "boot/config.h"
#include "boot/pci.h"

#define PT_ROM_MAX_REGION (16u << 20) /* PCI 3.0 6.2.5.2: ROM BARs up to 16 MiB */

/* An Intel VGA function at 00:02.0: the IGD (i915 and vfio_pci_igd.c look
 * exactly there). */
bool pt_is_igd(const struct pci_dev_info *d);

/* MINIHV_PT_IGD for `passthrough = igd` or a real IGD; IGD | IGD_FORCED for
 * igd_force = 1 on any other device (test only). */
uint32_t pt_flags(const struct pci_dev_info *d, const struct minihv_config *cfg);

/* present, segment/bus/dev/fn, flags, bars[] and rom_bar_size from the
 * scan (sized with decode off, restored). cfg[] is the caller's. */
void pt_fill_device(struct minihv_passthrough *pt, const struct pci_dev_info *d, uint16_t segment,
                    uint32_t flags);

/* The MCFG entry of `segment` whose bus range holds `bus`: ecam_base is the
 * address of its first bus (the MCFG base is that of bus 0, PCI Firmware
 * 3.0 4.1.2). False (fields 0) when none does. */
bool pt_find_ecam(struct minihv_passthrough *pt, const struct acpi_mcfg_segment *m, unsigned n,
                  uint16_t segment, uint8_t bus);

/* igd_rom_region_size(), and at least the device's ROM BAR: the guest sizes
 * the BAR the core presents and must see the size the hardware has. */
uint64_t pt_rom_region_size(enum igd_rom_source src, uint64_t rom_len, uint64_t rom_bar_size);

struct pt_rom_pick {
    uint32_t source;            /* enum minihv_pt_rom_source; NONE: nothing fit */
    struct igd_rom_info info;
    uint32_t len;               /* bytes of image(s) to copy */
    uint64_t region_size;
    struct field_error errs[IGD_ROM_SRC_COUNT]; /* why each candidate was passed over */
};

/* IGD: igd_rom_choose (shadow, PciIo, file; must be an x86 display image
 * of vendor:device). Other devices: PciIo, then file, each walked by
 * igd_rom_parse (the shadow is the IGD's only). Returns 0 or -IGD_ENOENT,
 * or -IGD_ERANGE when the region would exceed PT_ROM_MAX_REGION. */
int pt_rom_pick(const struct igd_rom_candidate cand[IGD_ROM_SRC_COUNT], bool igd, uint16_t vendor,
                uint16_t device, uint64_t rom_bar_size, struct pt_rom_pick *out);

const char *pt_rom_source_name(uint32_t source); /* "shadow", "PciIo", "file" */

/* "x86+EFI images", "x86 image", ... */
void pt_rom_kinds(const struct igd_rom_info *info, char *buf, size_t n);

/* "32 bytes", "16 KiB", "256 MiB", "4 GiB" (exact units only). */
void pt_size_str(uint64_t bytes, char *buf, size_t n);

/* FNV-1a 32-bit: the log's fingerprint of the ROM and VBT copies, so a
 * test can compare them with the files the emulator was given. */
uint32_t pt_fnv1a32(const void *buf, size_t len);

/* The device line: "00:05.0 1b36:0010 NVMe, config 4096 bytes via ECAM,
 * BAR0 0xc1040000 16 KiB 64-bit, MSI-X 65 entries (table BAR0+0x2000, PBA
 * BAR0+0x3000), ROM BAR none". */
void pt_describe(const struct minihv_passthrough *pt, const struct pci_dev_info *d, char *buf,
                 size_t n);

#endif
