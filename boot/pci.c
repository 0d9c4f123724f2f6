/* See pci.h. Config space comes from hardware we do not trust to be sane:
 * capability pointers are masked to dword alignment, kept inside the
 * 256-byte space and the walk stops at a revisited offset. */
#include <minihv/format.h>
#include <minihv/libc.h>
#include <minihv/pci.h>
#include "boot/pci.h"

static uint32_t cfg_read(const struct pci_access *pa, const struct pci_dev_info *d, uint16_t off)
{
    return pa->read32(pa->opaque, d->bus, d->dev, d->fn, off);
}

static void cfg_write(const struct pci_access *pa, const struct pci_dev_info *d, uint16_t off, uint32_t v)
{
    pa->write32(pa->opaque, d->bus, d->dev, d->fn, off, v);
}

/* Writes all-ones and reads back the size mask (PCI 3.0 6.2.5.1). */
static uint32_t size_probe(const struct pci_access *pa, const struct pci_dev_info *d, uint16_t off,
                           uint32_t ones)
{
    uint32_t saved = cfg_read(pa, d, off);
    cfg_write(pa, d, off, ones);
    uint32_t mask = cfg_read(pa, d, off);
    cfg_write(pa, d, off, saved);
    return mask;
}

static void size_bars(const struct pci_access *pa, struct pci_dev_info *d)
{
    unsigned nbars = (d->header_type & 0x7f) == 0 ? 6 : (d->header_type & 0x7f) == 1 ? 2 : 0;
    uint32_t cmd = cfg_read(pa, d, PCI_COMMAND);
    /* No decoding while a BAR holds all-ones. */
    cfg_write(pa, d, PCI_COMMAND, cmd & ~(uint32_t)(PCI_COMMAND_IO | PCI_COMMAND_MEMORY));
    for (unsigned i = 0; i < nbars; i++) {
        struct pci_bar_info *b = &d->bars[i];
        uint16_t off = (uint16_t)(PCI_BAR0 + 4 * i);
        uint32_t lo = cfg_read(pa, d, off);
        uint32_t mask = size_probe(pa, d, off, 0xffffffff);
        if (lo & PCI_BAR_IO) {
            b->io = true;
            b->addr = lo & ~3u;
            mask &= ~3u & 0xffff;
            b->size = mask ? (~mask & 0xffff) + 1 : 0;
            continue;
        }
        b->prefetch = lo & PCI_BAR_MEM_PREFETCH;
        uint64_t addr = lo & ~0xfu, size_mask = mask & ~0xfu;
        if ((lo & 6) == PCI_BAR_MEM_TYPE_64 && i + 1 < nbars) {
            b->is64 = true;
            addr |= (uint64_t)cfg_read(pa, d, off + 4) << 32;
            size_mask |= (uint64_t)size_probe(pa, d, off + 4, 0xffffffff) << 32;
        } else if (size_mask) {
            size_mask |= 0xffffffff00000000ull; /* 32-bit BAR: upper bits fixed */
        }
        b->addr = addr;
        b->size = size_mask ? ~size_mask + 1 : 0; /* 0 mask: BAR not implemented */
        if (b->is64)
            i++; /* the upper half has no BAR of its own */
    }
    uint16_t rom_off = (d->header_type & 0x7f) == 0 ? PCI_ROM_ADDRESS : PCI_ROM_ADDRESS1;
    if ((d->header_type & 0x7f) <= 1) {
        uint32_t rom = cfg_read(pa, d, rom_off);
        uint32_t mask = size_probe(pa, d, rom_off, 0xfffff800) & 0xfffff800;
        d->rom_addr = rom & 0xfffff800;
        d->rom_size = mask ? ~mask + 1 : 0;
    }
    cfg_write(pa, d, PCI_COMMAND, cmd);
}

void pci_parse_caps(const uint8_t *cfg, struct pci_dev_info *d)
{
    uint8_t seen[256 / 4] = { 0 };
    d->cap_count = 0;
    if (!(le16(cfg + PCI_STATUS) & PCI_STATUS_CAP_LIST))
        return;
    uint8_t off = cfg[PCI_CAP_PTR] & 0xfc;
    while (off >= 0x40) {
        if (seen[off / 4]) {
            d->cap_loop = true;
            return;
        }
        seen[off / 4] = 1;
        uint8_t id = cfg[off];
        if (d->cap_count < PCI_MAX_CAPS) {
            d->cap_ids[d->cap_count] = id;
            d->cap_offs[d->cap_count++] = off;
        }
        if (id == PCI_CAP_ID_MSI && !d->msi_cap)
            d->msi_cap = off;
        if (id == PCI_CAP_ID_MSIX && !d->msix_cap && off <= 256 - 12) {
            d->msix_cap = off;
            d->msix_entries = (le16(cfg + off + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_QSIZE) + 1;
            uint32_t t = le32(cfg + off + PCI_MSIX_TABLE), p = le32(cfg + off + PCI_MSIX_PBA);
            d->msix_table_bir = t & PCI_MSIX_BIR_MASK;
            d->msix_table_off = t & ~(uint32_t)PCI_MSIX_BIR_MASK;
            d->msix_pba_bir = p & PCI_MSIX_BIR_MASK;
            d->msix_pba_off = p & ~(uint32_t)PCI_MSIX_BIR_MASK;
        }
        if (off == 0xff)
            return;
        off = cfg[off + 1] & 0xfc;
    }
}

static void read_config(const struct pci_access *pa, const struct pci_dev_info *d, uint8_t cfg[256])
{
    for (uint16_t off = 0; off < 256; off += 4) {
        uint32_t v = cfg_read(pa, d, off);
        memcpy(cfg + off, &v, 4);
    }
}

static unsigned scan_bus(const struct pci_access *pa, uint8_t bus, struct pci_dev_info *devs,
                         unsigned n, unsigned max, uint8_t *visited)
{
    if (visited[bus])
        return n;
    visited[bus] = 1;
    for (uint8_t dev = 0; dev < 32; dev++) {
        for (uint8_t fn = 0; fn < 8; fn++) {
            struct pci_dev_info d = { .bus = bus, .dev = dev, .fn = fn };
            uint32_t id = cfg_read(pa, &d, PCI_VENDOR_ID);
            if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0) {
                if (fn == 0)
                    break;
                continue;
            }
            uint8_t cfg[256];
            read_config(pa, &d, cfg);
            d.vendor = le16(cfg);
            d.device = le16(cfg + 2);
            d.class_code = le32(cfg + PCI_CLASS_REVISION) >> 8;
            d.header_type = cfg[PCI_HEADER_TYPE];
            pci_parse_caps(cfg, &d);
            size_bars(pa, &d);
            if (n < max)
                devs[n++] = d;
            if ((d.header_type & 0x7f) == 1 && cfg[PCI_SECONDARY_BUS] > bus)
                n = scan_bus(pa, cfg[PCI_SECONDARY_BUS], devs, n, max, visited);
            if (fn == 0 && !(d.header_type & 0x80))
                break; /* single-function device */
        }
    }
    return n;
}

unsigned pci_scan(const struct pci_access *pa, struct pci_dev_info *devs, unsigned max)
{
    uint8_t visited[256] = { 0 };
    return scan_bus(pa, 0, devs, 0, max, visited);
}

const char *pci_class_name(uint32_t class_code)
{
    static const struct {
        uint16_t cls;
        const char *name;
    } names[] = {
        { 0x0100, "SCSI storage" }, { 0x0101, "IDE" }, { 0x0106, "SATA" }, { 0x0108, "NVMe" },
        { 0x0200, "Ethernet" }, { 0x0300, "VGA" }, { 0x0380, "display" },
        { 0x0403, "audio" }, { 0x0500, "RAM" }, { 0x0600, "host bridge" }, { 0x0601, "ISA bridge" },
        { 0x0604, "PCI bridge" }, { 0x0680, "bridge" }, { 0x0c03, "USB" }, { 0x0c05, "SMBus" },
        { 0x00ff, "unclassified" }, { 0x0880, "system" }, { 0x0780, "communication" },
    };
    for (unsigned i = 0; i < ARRAY_SIZE(names); i++)
        if (names[i].cls == class_code >> 8)
            return names[i].name;
    return "other";
}

/* The loader's lines for one function (the same wording in preflight:
 * users compare them). */
void pci_report_device(const struct pci_dev_info *d, bool passthrough, pci_line_fn line)
{
    line("pci: %02x:%02x.%x %04x:%04x class %06x (%s)%s", d->bus, d->dev, d->fn, d->vendor, d->device,
         d->class_code, pci_class_name(d->class_code), passthrough ? "  <== passthrough" : "");
    for (unsigned i = 0; i < 6; i++) {
        const struct pci_bar_info *b = &d->bars[i];
        if (!b->size)
            continue;
        line("pci:     BAR%u %s at 0x%lx size 0x%lx%s%s", i, b->io ? "io " : "mem", b->addr, b->size,
             b->is64 ? " 64-bit" : "", b->prefetch ? " prefetchable" : "");
    }
    /* OVMF leaves a ROM BAR it read and disabled holding the sizing
     * pattern (all-ones above the size): no address. */
    if (d->rom_size && d->rom_addr == (uint32_t)~(d->rom_size - 1))
        line("pci:     ROM size 0x%x, not placed", d->rom_size);
    else if (d->rom_size)
        line("pci:     ROM at 0x%lx size 0x%x", d->rom_addr, d->rom_size);
    if (d->cap_count) {
        char caps[PCI_MAX_CAPS * 9 + 1];
        size_t n = 0;
        for (unsigned i = 0; i < d->cap_count; i++)
            n += (size_t)fmt_snprintf(caps + n, sizeof(caps) - n, " %02x@%02x", d->cap_ids[i], d->cap_offs[i]);
        line("pci:     caps%s%s", caps, d->cap_loop ? " (list loops: stopped)" : "");
    }
    if (d->msi_cap)
        line("pci:     MSI at 0x%02x", d->msi_cap);
    if (d->msix_cap)
        line("pci:     MSI-X at 0x%02x: %u entries, table BAR%u+0x%x, PBA BAR%u+0x%x", d->msix_cap,
             d->msix_entries, d->msix_table_bir, d->msix_table_off, d->msix_pba_bir,
             d->msix_pba_off);
}
