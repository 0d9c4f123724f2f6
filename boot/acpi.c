/* See acpi.h. Firmware tables are untrusted: every length is checked
 * against what was mapped, and a table that fails its checksum is skipped. */
#include <minihv/libc.h>
#include "boot/acpi.h"

#define ACPI_HEADER_LEN 36

static uint8_t checksum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    while (n--)
        s = (uint8_t)(s + *p++);
    return s;
}

/* Maps a table: header first, then the length it claims. */
static const uint8_t *map_table(uint64_t pa, acpi_map_fn map, void *opaque, uint32_t *len)
{
    const uint8_t *h = map(opaque, pa, ACPI_HEADER_LEN);
    if (!h)
        return NULL;
    uint32_t l = le32(h + 4);
    if (l < ACPI_HEADER_LEN || l > (16u << 20))
        return NULL;
    const uint8_t *t = map(opaque, pa, l);
    if (!t || checksum(t, l))
        return NULL;
    *len = l;
    return t;
}

/* MADT (ACPI 5.2.12): entries after the 44-byte fixed part. Type 0 Local
 * APIC (flags at +4, u32), type 9 x2APIC (flags at +8). Bit 0 enabled,
 * bit 1 online capable. */
static void parse_madt(const uint8_t *t, uint32_t len, struct acpi_info *out)
{
    out->has_madt = true;
    for (uint32_t off = 44; off + 2 <= len;) {
        uint8_t type = t[off], elen = t[off + 1];
        if (elen < 2 || !range_ok(off, elen, len))
            break;
        uint32_t flags = 0;
        if (type == 0 && elen >= 8)
            flags = le32(t + off + 4);
        else if (type == 9 && elen >= 16)
            flags = le32(t + off + 8);
        if ((type == 0 || type == 9) && (flags & 3))
            out->madt_cpus++;
        off += elen;
    }
}

/* MCFG: 8 reserved bytes after the header, then 16-byte allocations. */
static void parse_mcfg(const uint8_t *t, uint32_t len, struct acpi_info *out)
{
    for (uint32_t off = 44; range_ok(off, 16, len) && out->mcfg_count < ACPI_MAX_MCFG; off += 16) {
        struct acpi_mcfg_segment *s = &out->mcfg[out->mcfg_count];
        s->base = le64(t + off);
        s->segment = le16(t + off + 8);
        s->bus_start = t[off + 10];
        s->bus_end = t[off + 11];
        if (s->bus_end < s->bus_start || (s->base & 0xfffff))
            continue; /* not usable */
        out->mcfg_count++;
    }
}

int acpi_parse(uint64_t rsdp_pa, acpi_map_fn map, void *opaque, struct acpi_info *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    const uint8_t *rsdp = map(opaque, rsdp_pa, 20);
    if (!rsdp || memcmp(rsdp, "RSD PTR ", 8)) {
        *why = "RSDP: bad signature";
        return -1;
    }
    if (checksum(rsdp, 20)) {
        *why = "RSDP: bad checksum (first 20 bytes)";
        return -1;
    }
    out->revision = rsdp[15];
    memcpy(out->oem_id, rsdp + 9, 6);
    for (int i = 0; i < 6; i++)
        if (out->oem_id[i] < 0x20 || out->oem_id[i] > 0x7e)
            out->oem_id[i] = '?';

    uint64_t root_pa = le32(rsdp + 16);
    unsigned entry_size = 4;
    if (out->revision >= 2) {
        const uint8_t *r2 = map(opaque, rsdp_pa, 36);
        if (r2 && le32(r2 + 20) >= 36 && !checksum(r2, 36) && le64(r2 + 24)) {
            root_pa = le64(r2 + 24);
            entry_size = 8;
            out->xsdt = true;
        }
    }
    uint32_t root_len;
    const uint8_t *root = map_table(root_pa, map, opaque, &root_len);
    if (!root) {
        *why = out->xsdt ? "XSDT: bad length or checksum" : "RSDT: bad length or checksum";
        return -1;
    }
    if (memcmp(root, out->xsdt ? "XSDT" : "RSDT", 4)) {
        *why = out->xsdt ? "XSDT: bad signature" : "RSDT: bad signature";
        return -1;
    }
    for (uint32_t off = ACPI_HEADER_LEN; off + entry_size <= root_len; off += entry_size) {
        uint64_t pa = entry_size == 8 ? le64(root + off) : le32(root + off);
        uint32_t len;
        const uint8_t *t = pa ? map_table(pa, map, opaque, &len) : NULL;
        if (!t) {
            out->skipped++;
            continue;
        }
        if (out->table_count < ACPI_MAX_TABLES) {
            struct acpi_table_ref *ref = &out->tables[out->table_count++];
            memcpy(ref->sig, t, 4);
            ref->sig[4] = '\0';
            ref->address = pa;
            ref->length = len;
        }
        if (!memcmp(t, "APIC", 4))
            parse_madt(t, len, out);
        else if (!memcmp(t, "MCFG", 4))
            parse_mcfg(t, len, out);
        else if (!memcmp(t, "DMAR", 4))
            out->has_dmar = true;
        else if (!memcmp(t, "IVRS", 4))
            out->has_ivrs = true;
    }
    return 0;
}
