/* PCI enumeration for the platform report: devices, BARs (sized), capability
 * list with MSI/MSI-X, expansion ROM. Pure C over config-access callbacks. */
#ifndef MINIHV_BOOT_PCI_H
#define MINIHV_BOOT_PCI_H

#include <stdbool.h>
#include <stdint.h>

#define PCI_MAX_DEVICES 128
#define PCI_MAX_CAPS    16

struct pci_access {
    uint32_t (*read32)(void *opaque, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off);
    void (*write32)(void *opaque, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, uint32_t val);
    void *opaque;
};

struct pci_bar_info {
    uint64_t addr;
    uint64_t size; /* 0: not implemented (or the upper half of a 64-bit BAR) */
    bool io, is64, prefetch;
};

struct pci_dev_info {
    uint8_t bus, dev, fn;
    uint8_t header_type;
    uint16_t vendor, device;
    uint32_t class_code; /* base class << 16 | subclass << 8 | prog-if */
    struct pci_bar_info bars[6];
    uint64_t rom_addr;
    uint32_t rom_size;
    uint8_t cap_count;
    uint8_t cap_ids[PCI_MAX_CAPS];
    uint8_t cap_offs[PCI_MAX_CAPS];
    bool cap_loop; /* the list pointed back into itself: walk stopped */
    uint8_t msi_cap, msix_cap; /* 0: absent */
    uint16_t msix_entries;
    uint8_t msix_table_bir, msix_pba_bir;
    uint32_t msix_table_off, msix_pba_off;
};

/* Walks buses from 0 through the bridges' secondary bus numbers; sizes each
 * BAR with decode disabled. Returns the number of devices stored. */
unsigned pci_scan(const struct pci_access *pa, struct pci_dev_info *devs, unsigned max);

/* Walks the capability list of a 256-byte config image (loop- and
 * bounds-checked); fills cap_*, msi_*, msix_* of `d`. */
void pci_parse_caps(const uint8_t *cfg, struct pci_dev_info *d);

const char *pci_class_name(uint32_t class_code);

/* One line of a report; printf-like (the loader's log_line, preflight's). */
typedef void (*pci_line_fn)(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The `pci: BB:DD.F ...` line, its BARs, ROM, capabilities, MSI and MSI-X,
 * as the loader logs them at boot and preflight prints them. */
void pci_report_device(const struct pci_dev_info *d, bool passthrough, pci_line_fn line);

#endif
