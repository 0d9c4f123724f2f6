/* Shared by the test_iommu_* tests: a byte-table builder for hand-made
 * DMAR/IVRS tables and a fake physical memory of contiguous pages. */
#ifndef TEST_IOMMU_FAKE_H
#define TEST_IOMMU_FAKE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <minihv/iommu.h>

/* ---- errors (include cmocka.h first) ---- */

/* rc is -code, and err names `field` at `offset` with a reason. */
static inline void check_error(int rc, const struct field_error *err, int code, const char *field, size_t offset)
{
    assert_int_equal(rc, -code);
    assert_non_null(err->field);
    assert_string_equal(err->field, field);
    assert_int_equal(err->offset, offset);
    assert_non_null(err->what);
}

/* ---- tables ---- */

struct tbl {
    uint8_t b[4096];
    size_t n;
};

static inline void t_u8(struct tbl *t, uint8_t v) { t->b[t->n++] = v; }
static inline void t_u16(struct tbl *t, uint16_t v) { t_u8(t, (uint8_t)v); t_u8(t, (uint8_t)(v >> 8)); }
static inline void t_u32(struct tbl *t, uint32_t v) { t_u16(t, (uint16_t)v); t_u16(t, (uint16_t)(v >> 16)); }
static inline void t_u64(struct tbl *t, uint64_t v) { t_u32(t, (uint32_t)v); t_u32(t, (uint32_t)(v >> 32)); }
static inline void t_zero(struct tbl *t, size_t n) { while (n--) t_u8(t, 0); }
static inline void t_set16(struct tbl *t, size_t off, uint16_t v)
{
    t->b[off] = (uint8_t)v;
    t->b[off + 1] = (uint8_t)(v >> 8);
}

/* ACPI header (36 bytes) + 12 bytes: DMAR's HAW/flags/reserved or IVRS's
 * IVinfo/reserved; `b0`, `b1` are bytes 36 and 37. */
static inline void t_header(struct tbl *t, const char *sig, uint8_t b0, uint8_t b1)
{
    t->n = 0;
    memcpy(t->b, sig, 4);
    t->n = 4;
    t_u32(t, 0);          /* length, set by t_finish */
    t_u8(t, 1);           /* revision */
    t_u8(t, 0);           /* checksum */
    memcpy(t->b + t->n, "MINIHVTESTTABLE", 14); /* OEM ID (6), OEM table ID (8) */
    t->n += 14;
    t_u32(t, 1);          /* OEM revision */
    t_u32(t, 0x4e4d4f43); /* creator ID */
    t_u32(t, 1);          /* creator revision */
    t_u8(t, b0);
    t_u8(t, b1);
    t_zero(t, 10);
}

/* A structure whose 16-bit length sits at +2 (DMAR and IVRS alike). */
static inline size_t t_begin(struct tbl *t) { return t->n; }
static inline void t_end(struct tbl *t, size_t off) { t_set16(t, off + 2, (uint16_t)(t->n - off)); }

static inline void t_finish(struct tbl *t)
{
    t->b[4] = (uint8_t)t->n;
    t->b[5] = (uint8_t)(t->n >> 8);
    t->b[6] = t->b[7] = 0;
    t->b[9] = 0;
    uint8_t sum = 0;
    for (size_t i = 0; i < t->n; i++)
        sum = (uint8_t)(sum + t->b[i]);
    t->b[9] = (uint8_t)(0x100 - sum);
}

/* DMAR structures (VT-d 8.3, 8.3.1, 8.4); lengths set by t_end. */
static inline void t_dmar_scope(struct tbl *b, uint8_t type, uint8_t enum_id, uint8_t bus, const uint8_t *path, unsigned hops)
{
    t_u8(b, type);
    t_u8(b, (uint8_t)(6 + 2 * hops));
    t_u16(b, 0);
    t_u8(b, enum_id);
    t_u8(b, bus);
    for (unsigned i = 0; i < 2 * hops; i++)
        t_u8(b, path[i]);
}

static inline size_t t_dmar_drhd(struct tbl *b, uint8_t flags, uint16_t seg, uint64_t base)
{
    size_t off = t_begin(b);
    t_u16(b, 0);
    t_u16(b, 0);
    t_u8(b, flags);
    t_u8(b, 0);
    t_u16(b, seg);
    t_u64(b, base);
    return off;
}

static inline size_t t_dmar_rmrr(struct tbl *b, uint16_t seg, uint64_t base, uint64_t limit)
{
    size_t off = t_begin(b);
    t_u16(b, 1);
    t_u16(b, 0);
    t_u16(b, 0);
    t_u16(b, seg);
    t_u64(b, base);
    t_u64(b, limit);
    return off;
}

/* IVRS blocks (AMD IOMMU 5.2.2, 5.2.3). */
static inline size_t t_ivhd(struct tbl *b, uint8_t type, uint16_t devid, uint64_t base, uint16_t seg)
{
    size_t off = t_begin(b);
    t_u8(b, type);
    t_u8(b, 0xb0);     /* flags */
    t_u16(b, 0);       /* length */
    t_u16(b, devid);
    t_u16(b, 0x40);    /* capability offset */
    t_u64(b, base);
    t_u16(b, seg);
    t_u16(b, 0);       /* IOMMU info */
    t_u32(b, 0x12345); /* feature reporting / attributes */
    if (type != 0x10) {
        t_u64(b, 0x0000004000000046ull); /* EFR image: IASup ... */
        t_u64(b, 0);
    }
    return off;
}

static inline void t_ivhd_entry4(struct tbl *b, uint8_t type, uint16_t devid, uint8_t setting)
{
    t_u8(b, type);
    t_u16(b, devid);
    t_u8(b, setting);
}

static inline void t_ivhd_entry8(struct tbl *b, uint8_t type, uint16_t devid, uint8_t setting, uint8_t b4,
                   uint16_t w5, uint8_t b7)
{
    t_ivhd_entry4(b, type, devid, setting);
    t_u8(b, b4);
    t_u16(b, w5);
    t_u8(b, b7);
}

static inline size_t t_ivmd(struct tbl *b, uint8_t type, uint8_t flags, uint16_t devid, uint16_t aux,
                   uint64_t start, uint64_t len)
{
    size_t off = t_begin(b);
    t_u8(b, type);
    t_u8(b, flags);
    t_u16(b, 0);
    t_u16(b, devid);
    t_u16(b, aux);
    t_u64(b, 0);
    t_u64(b, start);
    t_u64(b, len);
    t_end(b, off);
    return off;
}

/* ---- fake physical memory ---- */

#define FAKE_PAGES 2048
#define FAKE_BASE 0x100000000ull /* "physical" address of page 0 */

struct fake_mem {
    uint8_t (*pages)[4096];
    unsigned used;
    unsigned flushes;
};

static inline uint64_t fake_alloc(void *opaque, size_t count)
{
    struct fake_mem *m = opaque;
    if (count == 0 || count > FAKE_PAGES - m->used)
        return 0;
    uint64_t pa = FAKE_BASE + (uint64_t)m->used * 4096;
    memset(m->pages[m->used], 0xa5, count * 4096); /* callers must zero what they use */
    m->used += (unsigned)count;
    return pa;
}

static inline void *fake_virt(void *opaque, uint64_t pa)
{
    struct fake_mem *m = opaque;
    if (pa < FAKE_BASE || pa >= FAKE_BASE + (uint64_t)m->used * 4096)
        return NULL;
    return m->pages[(pa - FAKE_BASE) / 4096] + (pa & 0xfff);
}

static inline void fake_flush(void *opaque, uint64_t pa, size_t len)
{
    (void)pa;
    (void)len;
    ((struct fake_mem *)opaque)->flushes++;
}

static inline void fake_mem_init(struct fake_mem *m)
{
    static uint8_t pages[FAKE_PAGES][4096] __attribute__((aligned(4096)));
    m->pages = pages;
    m->used = 0;
    m->flushes = 0;
}

static inline struct iommu_mem fake_iommu_mem(struct fake_mem *m)
{
    return (struct iommu_mem){ fake_alloc, fake_virt, fake_flush, m };
}

/* ---- a provider with no table from the firmware ---- */

#define NO_TABLE_LOG_BYTES 1024

static inline char *no_table_log(void)
{
    static char text[NO_TABLE_LOG_BYTES];
    return text;
}

static inline void no_table_log_line(void *opaque, enum iommu_log_level level, const char *line)
{
    (void)opaque;
    (void)level;
    size_t n = strlen(no_table_log());
    snprintf(no_table_log() + n, NO_TABLE_LOG_BYTES - n, "%s\n", line);
}

/* prov was set up without a table: its probe fails with IOMMU_ENOENT and
 * `what`, and a forced bring-up logs `line`, not a parser error about a
 * buffer at 0x0. */
static inline void expect_no_table(const struct iommu_provider *prov, enum iommu_mode mode, const char *what,
                                   const char *line)
{
    struct field_error err = { 0 };
    assert_int_equal(prov->probe(prov->ctx, &err), -IOMMU_ENOENT);
    assert_string_equal(err.what, what);
    no_table_log()[0] = 0;
    struct iommu_request req = { .log = no_table_log_line };
    assert_null(iommu_select(mode, prov, 1, &req));
    assert_non_null(strstr(no_table_log(), line));
    assert_null(strstr(no_table_log(), "buffer"));
}

#endif
