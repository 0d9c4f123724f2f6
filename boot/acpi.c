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

/* HPET (IA-PC HPET 1.0a 3.2.4): Event Timer Block ID at 36, the base as
 * a GAS at 40 (space id at 40, address at 44), HPET number at 52. The
 * register block is 1 KiB (2.3.1), so the base is 1 KiB aligned. */
static void parse_hpet(const uint8_t *t, uint32_t len, struct acpi_info *out)
{
    const char *why = NULL;
    uint64_t base = len >= 52 ? le64(t + 44) : 0;
    if (len < 52)
        why = "HPET: length below 52 bytes";
    else if (t[40] != 0)
        why = "HPET: base address not in System Memory (GAS space id)";
    else if (!base || (base & 0x3ff) || base >= (1ull << 52) - 0x400)
        why = "HPET: base address 0, not 1 KiB aligned or past 52 bits";
    else if (out->hpet_count >= ACPI_HPET_MAX)
        why = "HPET: more tables than the loader keeps";
    if (why) {
        out->hpet_bad++;
        out->hpet_why = why;
        return;
    }
    out->hpet_base[out->hpet_count++] = base;
}

/* MCFG: 8 reserved bytes after the header, then 16-byte allocations. */
static void parse_mcfg(const uint8_t *t, uint32_t len, struct acpi_info *out)
{
    for (uint32_t off = 44; range_ok(off, 16, len); off += 16) {
        if (out->mcfg_count == ACPI_MAX_MCFG) {
            out->mcfg_dropped++; /* the loader says so: not kept from DMA */
            continue;
        }
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

/* Generic Address Structure (5.2.3.2): space id, bit width, bit offset,
 * access size, u64 address. A port when it is System I/O (space 1) and
 * the register fits below 0x10000; else 0. */
#define GAS_SYSTEM_IO 1
static uint16_t gas_port(const uint8_t *g, unsigned bytes)
{
    uint64_t a = le64(g + 4);
    if (g[0] != GAS_SYSTEM_IO || !a || a > 0x10000u - bytes)
        return 0;
    return (uint16_t)a;
}

/* A sleep control register whose GAS is System Memory (space 0): listed
 * with the field that makes it untrappable, if any. The register must be
 * the whole of its `bytes` at bit offset 0 (bit width `bytes` * 8, or 32
 * for a PM1x_CNT some firmware widen; access size 0-4, 5.2.3.2 Table
 * 5.1), below 2^52 (MAXPHYADDR, SDM 4.1.4); the caller saw a nonzero address. */
#define GAS_SYSTEM_MEMORY 0
#define ACPI_ADDR_LIMIT (1ull << 52)
static void note_sleep_mmio(const uint8_t *g, enum acpi_sleep_reg reg, unsigned bytes, unsigned slp_byte,
                            struct acpi_info *out)
{
    if (g[0] != GAS_SYSTEM_MEMORY || out->sleep_mmio_count >= ACPI_SLEEP_MMIO_MAX)
        return;
    struct acpi_sleep_mmio *m = &out->sleep_mmio[out->sleep_mmio_count++];
    uint64_t a = le64(g + 4);
    *m = (struct acpi_sleep_mmio){ a, (uint8_t)reg, (uint8_t)bytes, (uint8_t)slp_byte, NULL };
    if (g[1] != bytes * 8 && !(bytes == 2 && g[1] == 32))
        m->why = "GAS bit width not the register's";
    else if (g[2] != 0)
        m->why = "GAS bit offset not 0";
    else if (g[3] > 4)
        m->why = "GAS access size above 4 (QWORD)";
    else if (a >= ACPI_ADDR_LIMIT - bytes)
        m->why = "address at or above 2^52";
}

const char *acpi_sleep_reg_name(unsigned reg)
{
    static const char *const names[] = { "X_PM1a_CNT_BLK", "X_PM1b_CNT_BLK", "SLEEP_CONTROL_REG" };
    return reg < 3 ? names[reg] : "?";
}

/* A 32-bit PM1x_CNT_BLK (offsets 64/68): a port when nonzero and 2 bytes
 * fit below 0x10000. */
static uint16_t blk_port(uint32_t a)
{
    return a && a + 2 <= 0x10000 ? (uint16_t)a : 0;
}

/* FADT (ACPI 6.5 5.2.9, Table 5.9): PM1a_CNT_BLK u32 at 64, PM1b_CNT_BLK
 * at 68, PM1_CNT_LEN u8 at 89, Flags u32 at 112 (RESET_REG_SUP bit 10,
 * HW_REDUCED_ACPI bit 20), RESET_REG GAS at 116, RESET_VALUE at 128,
 * X_PM1a_CNT_BLK GAS at 172, X_PM1b_CNT_BLK at 184. A nonzero X_ address
 * overrides the 32-bit one; an X_ block outside System I/O means no port. */
static void parse_fadt(const uint8_t *t, uint32_t len, struct acpi_info *out)
{
    out->has_fadt = true;
    uint32_t flags = len >= 116 ? le32(t + 112) : 0;
    if (len < 90 || (flags & (1u << 20)) || t[89] < 2)
        goto reset; /* no PM1 control block (or hardware-reduced ACPI) */
    out->pm1a_cnt = blk_port(le32(t + 64));
    out->pm1b_cnt = blk_port(le32(t + 68));
    if (len >= 184 && le64(t + 172 + 4)) {
        out->pm1a_cnt = gas_port(t + 172, 2);
        note_sleep_mmio(t + 172, ACPI_SLEEP_PM1A_CNT, 2, 1, out);
    }
    if (len >= 196 && le64(t + 184 + 4)) {
        out->pm1b_cnt = gas_port(t + 184, 2);
        note_sleep_mmio(t + 184, ACPI_SLEEP_PM1B_CNT, 2, 1, out);
    }
reset:
    /* RESET_REG: 8 bits wide at bit offset 0 (4.8.4.6). */
    if (len >= 129 && (flags & (1u << 10)) && t[116 + 1] == 8 && t[116 + 2] == 0) {
        out->reset_port = gas_port(t + 116, 1);
        out->reset_value = t[128];
    }
    /* SLEEP_CONTROL_REG GAS at 244 (ACPI 5.0+): SLP_TYPx bits 4:2 and
     * SLP_EN bit 5 of one byte (4.8.3.7). A register outside System I/O
     * (or not 8 bits at offset 0) is noted: the core cannot trap it. */
    if (len >= 256 && le64(t + 244 + 4)) {
        if (t[244] == GAS_SYSTEM_IO && t[244 + 1] == 8 && t[244 + 2] == 0)
            out->sleep_ctl_port = gas_port(t + 244, 1);
        if (!out->sleep_ctl_port)
            out->sleep_ctl_mmio = true;
        note_sleep_mmio(t + 244, ACPI_SLEEP_CONTROL, 1, 0, out);
    }
}

/* An AML integer constant at aml[*at] (20.2.3 ComputationalData; 20.2.5
 * ConstObj): advances *at; -1 when it is none or runs past len. */
static int aml_integer(const uint8_t *aml, uint32_t len, uint32_t *at, uint64_t *v)
{
    static const uint8_t width[] = { [0x0a] = 1, [0x0b] = 2, [0x0c] = 4, [0x0e] = 8 };
    if (*at >= len)
        return -1;
    uint8_t op = aml[(*at)++];
    if (op == 0x00 || op == 0x01 || op == 0xff) { /* ZeroOp, OneOp, OnesOp */
        *v = op == 0xff ? ~0ull : op;
        return 0;
    }
    unsigned w = op < sizeof(width) ? width[op] : 0;
    if (!w || !range_ok(*at, w, len))
        return -1;
    *v = 0;
    for (unsigned i = 0; i < w; i++)
        *v |= (uint64_t)aml[*at + i] << (8 * i);
    *at += w;
    return 0;
}

int acpi_find_s5(const uint8_t *aml, uint32_t len, uint8_t *typ_a, uint8_t *typ_b, const char **why)
{
    *why = "\\_S5: no `_S5_` name in the DSDT";
    for (uint32_t i = 1; i + 4 <= len; i++) {
        if (memcmp(aml + i, "_S5_", 4))
            continue;
        /* NameOp, or NameOp then the root prefix: a definition, not a use. */
        if (aml[i - 1] != 0x08 && !(i >= 2 && aml[i - 1] == '\\' && aml[i - 2] == 0x08)) {
            *why = "\\_S5: `_S5_` found only where it is not defined by Name()";
            continue;
        }
        uint32_t at = i + 4;
        if (at >= len || aml[at] != 0x12) { /* PackageOp */
            *why = "\\_S5: Name(_S5) is not a Package";
            continue;
        }
        at++;
        /* PkgLength (20.2.4): bits 7:6 of the lead byte count the bytes
         * that follow it; the length counts itself and the package body. */
        if (at >= len) {
            *why = "\\_S5: PkgLength past the end of the DSDT";
            continue;
        }
        unsigned follow = aml[at] >> 6;
        uint32_t pkg_len = follow ? aml[at] & 0x0f : aml[at] & 0x3f;
        for (unsigned b = 0; b < follow; b++)
            pkg_len |= at + 1 + b < len ? (uint32_t)aml[at + 1 + b] << (4 + 8 * b) : 0;
        if (!range_ok(at, pkg_len, len) || pkg_len < follow + 2u) {
            *why = "\\_S5: PkgLength runs past the end of the DSDT";
            continue;
        }
        uint32_t end = at + pkg_len;
        at += 1 + follow;
        uint8_t count = aml[at++];
        uint64_t a, b = 0;
        if (!count || aml_integer(aml, end, &at, &a) || (count >= 2 && aml_integer(aml, end, &at, &b))) {
            *why = "\\_S5: package elements are not integer constants";
            continue;
        }
        if (count == 1)
            b = a >> 8; /* one integer: SLP_TYPa in 7:0, SLP_TYPb in 15:8 (ACPICA) */
        *typ_a = (uint8_t)(a & 7);
        *typ_b = (uint8_t)(b & 7);
        *why = NULL;
        return 0;
    }
    return -1;
}

/* The DSDT the FADT names (X_DSDT at 140 over DSDT at 40): its \_S5, and
 * whether it names QEMU's fw_cfg device (_HID "QEMU0002"). */
static void find_s5(const uint8_t *fadt, uint32_t len, acpi_map_fn map, void *opaque, struct acpi_info *out)
{
    uint64_t pa = len >= 44 ? le32(fadt + 40) : 0;
    if (len >= 148 && le64(fadt + 140))
        pa = le64(fadt + 140);
    uint32_t dlen;
    const uint8_t *d = pa ? map_table(pa, map, opaque, &dlen) : NULL;
    if (!pa)
        out->s5_why = "\\_S5: the FADT names no DSDT (DSDT, X_DSDT)";
    else if (!d)
        out->s5_why = "\\_S5: DSDT: bad length or checksum";
    else if (memcmp(d, "DSDT", 4))
        out->s5_why = "\\_S5: DSDT: bad signature";
    else {
        out->s5_found = !acpi_find_s5(d + ACPI_HEADER_LEN, dlen - ACPI_HEADER_LEN, &out->s5_slp_typ_a,
                                      &out->s5_slp_typ_b, &out->s5_why);
        for (uint32_t i = ACPI_HEADER_LEN; i + 8 <= dlen && !out->dsdt_fw_cfg; i++)
            out->dsdt_fw_cfg = !memcmp(d + i, "QEMU0002", 8);
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
        else if (!memcmp(t, "FACP", 4) && !out->has_fadt) {
            parse_fadt(t, len, out);
            find_s5(t, len, map, opaque, out);
        } else if (!memcmp(t, "DMAR", 4))
            out->has_dmar = true;
        else if (!memcmp(t, "IVRS", 4))
            out->has_ivrs = true;
        else if (!memcmp(t, "HPET", 4))
            parse_hpet(t, len, out);
    }
    /* Some firmware defines \_S5 in an SSDT rather than the DSDT. */
    for (unsigned i = 0; out->has_fadt && !out->s5_found && i < out->table_count; i++) {
        uint32_t len = 0;
        const char *why;
        const uint8_t *t = NULL;
        if (!memcmp(out->tables[i].sig, "SSDT", 4))
            t = map_table(out->tables[i].address, map, opaque, &len);
        if (t && !acpi_find_s5(t + ACPI_HEADER_LEN, len - ACPI_HEADER_LEN, &out->s5_slp_typ_a,
                               &out->s5_slp_typ_b, &why)) {
            out->s5_found = true;
            out->s5_why = NULL;
        }
    }
    return 0;
}

int acpi_resource_io(const uint8_t *res, size_t len, uint16_t *base, uint16_t *count, const char **why)
{
    size_t at = 0;
    while (at < len) {
        uint8_t tag = res[at];
        size_t item;
        if (tag & 0x80) { /* large item: tag, 16-bit length, data */
            if (len - at < 3) {
                *why = "a large item's length runs past the list";
                return -1;
            }
            item = 3 + (size_t)(res[at + 1] | res[at + 2] << 8);
        } else {
            item = 1 + (tag & 7u);
        }
        if (item > len - at) {
            *why = "an item runs past the list";
            return -1;
        }
        const uint8_t *p = res + at;
        if (!(tag & 0x80) && (tag & 0x78) == 0x78) { /* End Tag (0x79) */
            *why = "no I/O port descriptor before the End Tag";
            return -1;
        }
        if (tag == 0x47) { /* I/O Port Descriptor: _MIN, _MAX, _ALN, _LEN */
            *base = (uint16_t)(p[2] | p[3] << 8);
            *count = p[7];
            return 0;
        }
        if (tag == 0x4b) { /* Fixed Location I/O Port: 10-bit _BAS, _LEN */
            *base = (uint16_t)((p[1] | p[2] << 8) & 0x3ff);
            *count = p[3];
            return 0;
        }
        at += item;
    }
    *why = "no End Tag within the list";
    return -1;
}
