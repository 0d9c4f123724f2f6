/* The hand-off from the UEFI loader (boot/) to the core (hv/): everything the
 * core knows about the machine it gets from here, never from firmware calls. */
#ifndef MINIHV_BOOT_INFO_H
#define MINIHV_BOOT_INFO_H

#include <stdint.h>

#define MINIHV_IMAGE_MAGIC   0x6567616d49764821ull /* "!HvImage" */
#define MINIHV_BOOT_MAGIC    0x6f666e4976484d21ull /* "!MHvInfo" */
#define MINIHV_BOOT_VERSION  4 /* 4: the log ring and the GOP framebuffer (issue 17) */

#define MINIHV_MAX_CPUS        256 /* more: the loader refuses (boot/cpu_plan.h) */
#define MINIHV_MAX_MEM_RANGES  256
#define MINIHV_MAX_IOAPICS     16 /* more in the MADT: the loader refuses (boot/cpu_plan.h) */
#define MINIHV_MAX_ECAM        8  /* MCFG allocations handed on (boot/acpi.h ACPI_MAX_MCFG) */

/* Placed by linker.ld at the first byte of the core image; the loader
 * validates it before copying anything. */
struct minihv_image_header {
    uint64_t magic;        /* MINIHV_IMAGE_MAGIC */
    uint32_t version;      /* MINIHV_BOOT_VERSION the core was built for */
    uint32_t header_size;  /* sizeof(struct minihv_image_header) */
    uint64_t link_base;    /* virtual address the image is linked at */
    uint64_t file_size;    /* bytes present in the image file */
    uint64_t mem_size;     /* bytes in memory, .bss included (zeroed by loader) */
    uint64_t entry_offset; /* hv_entry, from link_base */
};

enum minihv_mem_type {
    MINIHV_MEM_RAM = 1,      /* usable by the guest */
    MINIHV_MEM_RESERVED = 2, /* firmware reserved, ACPI, runtime services */
    MINIHV_MEM_MMIO = 3,
    MINIHV_MEM_HV = 4,       /* the core's own block: never mapped for the guest */
};

struct minihv_mem_range {
    uint64_t base;
    uint64_t size;
    uint32_t type; /* enum minihv_mem_type */
    uint32_t reserved;
};

struct minihv_cpu_info {
    uint32_t apic_id;
    uint32_t flags; /* MINIHV_CPU_BSP */
};
#define MINIHV_CPU_BSP 1u

/* One sleep control register in System Memory: reg is
 * MINIHV_SLEEP_PM1A/PM1B (SLP_TYP bits 12:10, SLP_EN 13: slp_byte 1,
 * \_S5's SLP_TYPa/b) or MINIHV_SLEEP_CONTROL (bits 4:2 and 5 of byte 0,
 * \_S5's SLP_TYPa; ACPI 6.5 4.8.3.7). */
#define MINIHV_MAX_SLEEP_MMIO 3
#define MINIHV_MAX_HPETS 4 /* ACPI HPET tables (one per timer block) the core traps */
#define MINIHV_SLEEP_PM1A    0
#define MINIHV_SLEEP_PM1B    1
#define MINIHV_SLEEP_CONTROL 2
struct minihv_sleep_mmio {
    uint64_t address;
    uint8_t reg, bytes, slp_byte;
    uint8_t pad[5];
};

#define MINIHV_S5_FOUND 1u /* acpi_s5_flags: \_S5 read from the DSDT */

/* What the loader's trampoline (boot/launch.c) records before it calls the
 * core on a CPU: where that CPU resumes as the guest once the core has
 * virtualized it (RAX = 0 there, as if the call returned success). The
 * segment and descriptor-table state the core reads from the CPU itself. */
struct minihv_resume {
    uint64_t rip;    /* a label right after the call, in the loader */
    uint64_t rsp;
    uint64_t rflags; /* IF clear: the loader restores its own flags */
    uint64_t cr3;    /* the firmware's page tables */
};

/* ---- the passthrough device (issue 8) ----
 * What the loader read of the one device handed to the guest, before the
 * firmware goes on as the guest; the core builds its vfio model
 * (vfio/vfio.h) from this and never asks the firmware again. */
#define MINIHV_PT_CFG_MAX 4096

struct minihv_pt_bar {
    uint64_t addr;    /* host-physical address the firmware assigned */
    uint64_t size;    /* sized by the loader; 0: absent or the upper half of a 64-bit BAR */
    uint8_t io, is64, prefetch, pad[5];
};

/* A bridge whose config space the guest may read but not write (IGD: the
 * host bridge 00:00.0 and the LPC bridge 00:1f.0). */
struct minihv_pt_bridge {
    uint8_t present, bus, dev, fn;
    uint32_t pad;
    uint8_t cfg[256]; /* the loader's copy, for the vfio HOST_CFG/LPC_CFG regions */
};

#define MINIHV_PT_IGD        (1u << 0) /* IGD personality: OpRegion, bridges, shadow ROM */
#define MINIHV_PT_IGD_FORCED (1u << 1) /* igd_force = 1 (test only): on a device that is no IGD */
/* config_guard = on (boot/config.h): the core traps config space and
 * guards the other functions' registers (PMBASE, PCIEXBAR, the IOMMU's
 * base) even with present 0; segment and ECAM window say where. */
#define MINIHV_PT_CONFIG_GUARD (1u << 2)

enum minihv_pt_rom_source {
    MINIHV_PT_ROM_NONE = 0,
    MINIHV_PT_ROM_SHADOW = 1, /* legacy 0xC0000 (IGD) */
    MINIHV_PT_ROM_PCIIO = 2,  /* EFI_PCI_IO_PROTOCOL.RomImage */
    MINIHV_PT_ROM_FILE = 3,   /* `rom = path` in minihv.cfg */
};

struct minihv_passthrough {
    uint32_t present;  /* 0: none configured, or not found */
    uint32_t flags;    /* MINIHV_PT_* */
    uint16_t segment;
    uint8_t bus, dev, fn;
    uint8_t pad0[3];
    uint32_t cfg_len;  /* 4096 when read through ECAM, else 256 */
    uint32_t pad1;
    uint8_t cfg[MINIHV_PT_CFG_MAX];
    struct minihv_pt_bar bars[6];
    uint64_t rom_bar_size; /* the device's sized ROM BAR; 0: none */

    /* ECAM window (MCFG) for this segment, so the core traps the device's
     * (and the bridges') 4 KiB config pages; 0: CF8/CFC only. */
    uint64_t ecam_base;    /* address of bus ecam_bus_start */
    uint8_t ecam_bus_start, ecam_bus_end;
    uint8_t pad2[6];

    /* The ROM the guest reads through its (virtual) ROM BAR: a copy inside
     * the core's block, zero-padded to rom_region_size (a power of two,
     * >= 2 KiB), mapped read-only into the guest where the guest places the
     * ROM BAR. rom_phys 0: no ROM is presented (ROM BAR reads as absent). */
    uint64_t rom_phys;
    uint64_t rom_region_size;
    uint32_t rom_len;      /* bytes of image(s) in the copy */
    uint32_t rom_source;   /* enum minihv_pt_rom_source */

    /* IGD: the guest's OpRegion copy (igd_opregion_build_guest), in ACPI
     * NVS memory below 4 GiB outside the block; ASLS reads give this. */
    uint64_t opregion_phys;
    uint32_t opregion_len;
    uint32_t pad3;
    struct minihv_pt_bridge host_bridge, lpc_bridge;
};

struct minihv_boot_info {
    uint64_t magic;   /* MINIHV_BOOT_MAGIC */
    uint32_t version; /* MINIHV_BOOT_VERSION */
    uint32_t size;    /* sizeof(struct minihv_boot_info) */

    /* The reserved block (EfiReservedMemoryType) that holds everything of
     * the core: image, page tables, per-CPU state, heap. */
    uint64_t hv_phys_base;
    uint64_t hv_phys_size;
    uint64_t image_phys;
    uint64_t image_mem_size;
    uint64_t image_virt;
    uint64_t heap_phys;  /* first free page of the block after the loader's use */
    uint64_t heap_size;

    uint64_t host_cr3;   /* core page tables: identity map + image at image_virt */
    uint64_t phys_top;   /* identity map covers [0, phys_top) */
    uint64_t pt_pages;   /* pages the loader used for those tables */

    uint16_t serial_port; /* 0: serial off */
    uint16_t pad0;
    uint32_t cpu_count;
    struct minihv_cpu_info cpus[MINIHV_MAX_CPUS];

    uint32_t mem_range_count;
    uint32_t pad1;
    struct minihv_mem_range mem[MINIHV_MAX_MEM_RANGES];

    /* From the FADT (ACPI 6.5 5.2.9), System I/O ports only; 0: none. The
     * core intercepts them to print its summary before the power-off or
     * reset the guest asks for (and then does it). */
    uint16_t acpi_pm1a_cnt;     /* PM1a_CNT: SLP_TYP + SLP_EN (bit 13) */
    uint16_t acpi_pm1b_cnt;
    uint16_t acpi_reset_port;   /* RESET_REG (8 bits) */
    uint8_t acpi_reset_value;   /* RESET_VALUE */
    /* Sleep (issue 14): only power-off may reach the hardware. The DSDT's
     * \_S5 SLP_TYPa/b (valid with MINIHV_S5_FOUND); without it every
     * sleep request is refused. acpi_sleep_ctl_port: the FADT's
     * SLEEP_CONTROL_REG (hardware-reduced ACPI, 8 bits) in System I/O. */
    uint8_t acpi_s5_flags;
    uint16_t acpi_sleep_ctl_port;
    uint8_t acpi_s5_slp_typ_a, acpi_s5_slp_typ_b;

    struct minihv_passthrough pt;

    /* ---- the IOMMU (issue 9) ----
     * `iommu =` from minihv.cfg (enum iommu_mode of include/minihv/iommu.h:
     * 0 auto, 1 vtd, 2 amdvi, 3 none) and the loader's copies of the
     * firmware's DMAR and IVRS inside the block (checksum verified by the
     * loader; the firmware's own copies are renamed XMAR/XVRS once the core
     * runs). phys 0: no such table, or iommu = none. */
    uint32_t iommu_mode;
    uint32_t dmar_len;
    uint64_t dmar_phys;
    uint64_t ivrs_phys;
    uint32_t ivrs_len;
    uint32_t pad4;

    /* ---- the log ring (issue 17, include/minihv/logring.h) ----
     * The area the loader allocated (EfiReservedMemoryType, outside the
     * block) and already writes; the core appends to it and maps it
     * read-only for the guest. phys 0: no ring (the loader could not get
     * the memory), serial and console only. */
    uint64_t log_phys;
    uint64_t log_size;

    /* ---- the firmware's framebuffer (issue 17: FATAL on screen) ----
     * The GOP mode the loader found at start (UEFI 2.10 12.9); fb_format
     * 0: none (no GOP, or a BltOnly mode), 1: RGB reserved 8 bits per
     * colour (PixelRedGreenBlueReserved8BitPerColor), 2: BGR (Blue first,
     * PixelBlueGreenRedReserved8BitPerColor). */
    uint64_t fb_phys;
    uint64_t fb_size;
    uint32_t fb_width, fb_height;
    uint32_t fb_stride;  /* pixels per scan line */
    uint32_t fb_format;

    /* ---- the I/O APICs (MADT type 1, ACPI 6.5 5.2.12.3) ----
     * Each one's register address (IOREGSEL), in MADT order; the core maps
     * each page read-only and judges the writes (hv/ioapic.c). Count 0: no
     * MADT, the core takes the PC default 0xFEC00000. */
    uint32_t ioapic_count;
    uint32_t pad5;
    uint64_t ioapic_base[MINIHV_MAX_IOAPICS];

    /* ---- the default SMRAM (SDM Vol. 3C 32.5.1, 32.11; issue 14) ----
     * A firmware with no SMM handler never relocates SMBASE: an SMI runs
     * the code at MINIHV_SMBASE_DEFAULT + 0x8000 and saves the state at
     * + 0xFE00, in RAM the guest could write. Where the chipset shows SMM
     * open (q35: SMRAMC D_LCK clear) the loader takes that 64 KiB
     * (Reserved) and puts RSM at + 0x8000; the core keeps it from the guest
     * and from device DMA. 0: not taken (SMM locked, or not known). */
    uint64_t smm_default_phys;

    /* ---- sleep control registers in System Memory (issue 14) ----
     * The FADT's X_PM1a_CNT_BLK, X_PM1b_CNT_BLK or SLEEP_CONTROL_REG when
     * its GAS is System Memory (ACPI 6.5 5.2.9 Table 5.9, 5.2.3.2), checked
     * by the loader (width, offset, not in the block). The core maps each
     * one's page read-only and judges every write as the port's (hv/io.h
     * io_sleep_decide). */
    uint32_t sleep_mmio_count;
    uint32_t pad6;
    struct minihv_sleep_mmio sleep_mmio[MINIHV_MAX_SLEEP_MMIO];

    /* ---- the ECAM windows (MCFG, PCI Firmware 3.3 4.1.2) ----
     * Each allocation's buses [bus_start, bus_end]: base is bus_start's
     * config page, size (bus_end - bus_start + 1) MiB; checked by the
     * loader (no wrap, below 2^52). The core leaves every one out of the
     * IOMMU's DMA domain: a device's write there is a config write past
     * every config guard (review R s7, finding 2). */
    uint32_t ecam_count;
    uint32_t pad7;
    struct minihv_ecam_window {
        uint64_t base, size;
    } ecam[MINIHV_MAX_ECAM];

    /* ---- the HPETs (IA-PC HPET 1.0a 3.2.4: one ACPI HPET table per
     * timer block) ----
     * Each block's base (System Memory, 1 KiB aligned, checked by the
     * loader, not in the block). A timer's FSB route makes the HPET write
     * any dword to any address: the core maps each page read-only and
     * judges the writes (hv/hpet_hw.c). */
    uint32_t hpet_count;
    uint32_t pad8;
    uint64_t hpet_base[MINIHV_MAX_HPETS];

    /* ---- QEMU's fw_cfg (QEMU docs/specs/fw_cfg.rst; emulator only) ----
     * Seen by the loader: the DSDT names a QEMU0002 device and selector 0
     * reads "QEMU" at ports 0x510/0x511. Its DMA interface (0x514-0x51B)
     * copies into any guest-physical address, past EPT/NPT and the IOMMU:
     * the core intercepts those ports and refuses every request
     * (hv/fw_cfg.c). */
    uint32_t fw_cfg_flags;
    uint32_t pad9;
};

#define MINIHV_FW_CFG_PRESENT 1u /* fw_cfg_flags: the signature read "QEMU" */
#define MINIHV_FW_CFG_DMA     2u /* FW_CFG_ID bit 1: the DMA interface is there */

#define MINIHV_SMBASE_DEFAULT   ((uint64_t)0x30000)
#define MINIHV_SMM_DEFAULT_SIZE ((uint64_t)0x10000)

#endif
