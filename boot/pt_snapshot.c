/* See pt_snapshot.h. Pure C: the scan results and the ROM candidates come
 * in as buffers; nothing here touches hardware or firmware. */
#include <minihv/format.h>
#include <minihv/libc.h>
#include <minihv/pci.h>
#include "boot/pt_snapshot.h"

bool pt_is_igd(const struct pci_dev_info *d)
{
    return d->bus == 0 && d->dev == 2 && d->fn == 0 && d->vendor == PCI_VENDOR_INTEL &&
           (d->class_code >> 8) == PCI_CLASS_DISPLAY_VGA;
}

uint32_t pt_flags(const struct pci_dev_info *d, const struct minihv_config *cfg)
{
    if (cfg->passthrough == PASSTHROUGH_IGD || pt_is_igd(d))
        return MINIHV_PT_IGD;
    return cfg->igd_force ? MINIHV_PT_IGD | MINIHV_PT_IGD_FORCED : 0;
}

void pt_fill_device(struct minihv_passthrough *pt, const struct pci_dev_info *d, uint16_t segment,
                    uint32_t flags)
{
    pt->present = 1;
    pt->flags = flags;
    pt->segment = segment;
    pt->bus = d->bus;
    pt->dev = d->dev;
    pt->fn = d->fn;
    for (unsigned i = 0; i < 6; i++) {
        const struct pci_bar_info *b = &d->bars[i];
        pt->bars[i] = (struct minihv_pt_bar){
            .addr = b->addr, .size = b->size, .io = b->io, .is64 = b->is64, .prefetch = b->prefetch,
        };
    }
    pt->rom_bar_size = d->rom_size;
}

bool pt_find_ecam(struct minihv_passthrough *pt, const struct acpi_mcfg_segment *m, unsigned n,
                  uint16_t segment, uint8_t bus)
{
    pt->ecam_base = 0;
    pt->ecam_bus_start = pt->ecam_bus_end = 0;
    for (unsigned i = 0; i < n; i++) {
        if (m[i].segment != segment || bus < m[i].bus_start || bus > m[i].bus_end ||
            m[i].bus_start > m[i].bus_end)
            continue;
        pt->ecam_base = m[i].base + ((uint64_t)m[i].bus_start << 20);
        pt->ecam_bus_start = m[i].bus_start;
        pt->ecam_bus_end = m[i].bus_end;
        return true;
    }
    return false;
}

uint64_t pt_rom_region_size(enum igd_rom_source src, uint64_t rom_len, uint64_t rom_bar_size)
{
    uint64_t size = igd_rom_region_size(src, rom_len);
    return MAX(size, rom_bar_size);
}

int pt_rom_pick(const struct igd_rom_candidate cand[IGD_ROM_SRC_COUNT], bool igd, uint16_t vendor,
                uint16_t device, uint64_t rom_bar_size, struct pt_rom_pick *out)
{
    memset(out, 0, sizeof(*out));
    enum igd_rom_source src;
    if (igd) {
        struct igd_rom_choice c;
        if (igd_rom_choose(cand, vendor, device, &c, out->errs))
            return -IGD_ENOENT;
        src = c.source;
        out->info = c.info;
        out->len = c.len;
    } else {
        field_fail(&out->errs[IGD_ROM_SRC_SHADOW], IGD_ENOENT, "rom", 0, "the shadow is an IGD's only");
        int s = IGD_ROM_SRC_PCIIO;
        for (; s < IGD_ROM_SRC_COUNT; s++) {
            struct field_error *e = &out->errs[s];
            if (!cand[s].buf || cand[s].len == 0)
                field_fail(e, IGD_ENOENT, "rom", 0, "source has no ROM");
            else if (igd_rom_parse(cand[s].buf, cand[s].len, &out->info, e) == 0)
                break;
        }
        if (s == IGD_ROM_SRC_COUNT) {
            memset(&out->info, 0, sizeof(out->info));
            return -IGD_ENOENT;
        }
        src = (enum igd_rom_source)s;
        out->len = out->info.total_len;
    }
    uint64_t region = pt_rom_region_size(src, out->len, rom_bar_size);
    if (region > PT_ROM_MAX_REGION || out->len > region) {
        field_fail(&out->errs[src], IGD_ERANGE, "rom", 0, "ROM region larger than 16 MiB");
        memset(&out->info, 0, sizeof(out->info));
        out->len = 0;
        return -IGD_ERANGE;
    }
    out->region_size = region;
    out->source = (uint32_t)src + 1; /* enum igd_rom_source -> enum minihv_pt_rom_source */
    return 0;
}

const char *pt_rom_source_name(uint32_t source)
{
    static const char *const names[] = { "none", "shadow", "PciIo", "file" };
    return source < ARRAY_SIZE(names) ? names[source] : "?";
}

uint32_t pt_fnv1a32(const void *buf, size_t len)
{
    const uint8_t *p = buf;
    uint32_t h = 0x811c9dc5u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x01000193u;
    return h;
}

struct strbuf {
    char *buf;
    size_t n, len;
};

static void sb_add(struct strbuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(struct strbuf *s, const char *fmt, ...)
{
    if (s->len + 1 >= s->n)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = fmt_vsnprintf(s->buf + s->len, s->n - s->len, fmt, ap);
    va_end(ap);
    s->len = w < 0 ? s->len : MIN(s->len + (size_t)w, s->n - 1);
}

void pt_rom_kinds(const struct igd_rom_info *info, char *buf, size_t n)
{
    static const char *const code[] = { "x86", "Open Firmware", "PA-RISC", "EFI" };
    struct strbuf s = { buf, n, 0 };
    buf[0] = '\0';
    for (uint32_t i = 0; i < info->nimages; i++) {
        uint8_t t = info->images[i].code_type;
        if (t < ARRAY_SIZE(code))
            sb_add(&s, "%s%s", i ? "+" : "", code[t]);
        else
            sb_add(&s, "%stype 0x%x", i ? "+" : "", t);
    }
    sb_add(&s, info->nimages == 1 ? " image" : " images");
}

void pt_size_str(uint64_t bytes, char *buf, size_t n)
{
    static const char *const unit[] = { "GiB", "MiB", "KiB" };
    for (unsigned i = 0; i < 3; i++) {
        unsigned shift = 30 - 10 * i;
        if (bytes && !(bytes & ((1ull << shift) - 1))) {
            fmt_snprintf(buf, n, "%lu %s", (unsigned long)(bytes >> shift), unit[i]);
            return;
        }
    }
    fmt_snprintf(buf, n, "%lu bytes", (unsigned long)bytes);
}

void pt_describe(const struct minihv_passthrough *pt, const struct pci_dev_info *d, char *buf,
                 size_t n)
{
    struct strbuf s = { buf, n, 0 };
    char size[32];
    buf[0] = '\0';
    if (pt->segment)
        sb_add(&s, "%04x:", pt->segment);
    sb_add(&s, "%02x:%02x.%x %04x:%04x %s, config %u bytes via %s", pt->bus, pt->dev, pt->fn,
           d->vendor, d->device, pci_class_name(d->class_code), pt->cfg_len,
           pt->cfg_len > 256 ? "ECAM" : "CF8/CFC");
    for (unsigned i = 0; i < 6; i++) {
        const struct minihv_pt_bar *b = &pt->bars[i];
        if (!b->size)
            continue;
        pt_size_str(b->size, size, sizeof(size));
        sb_add(&s, ", BAR%u %s0x%lx %s%s%s", i, b->io ? "io " : "", (unsigned long)b->addr, size,
               b->is64 ? " 64-bit" : "", b->prefetch ? " prefetchable" : "");
    }
    if (d->msi_cap)
        sb_add(&s, ", MSI");
    if (d->msix_cap)
        sb_add(&s, ", MSI-X %u entries (table BAR%u+0x%x, PBA BAR%u+0x%x)", d->msix_entries,
               d->msix_table_bir, d->msix_table_off, d->msix_pba_bir, d->msix_pba_off);
    if (!d->msi_cap && !d->msix_cap)
        sb_add(&s, ", no MSI/MSI-X");
    if (pt->rom_bar_size) {
        pt_size_str(pt->rom_bar_size, size, sizeof(size));
        sb_add(&s, ", ROM BAR %s", size);
    } else {
        sb_add(&s, ", ROM BAR none");
    }
    if (pt->flags & MINIHV_PT_IGD_FORCED)
        sb_add(&s, ", IGD personality forced (igd_force = 1, test only)");
    else if (pt->flags & MINIHV_PT_IGD)
        sb_add(&s, ", IGD");
}
