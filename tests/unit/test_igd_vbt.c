/* VBT parser: every real VBT in tests/fixtures/vbt parses and every
 * truncation of it is rejected; synthetic VBTs cover the block walk's edges
 * (MIPI sequence v3 size, overrunning blocks, child devices).
 * The comparison with intel_vbt_decode is tests/unit/igd/check-igd.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <drivers/igd/vbt.h>

static const char *fixture_dir(void)
{
    const char *d = getenv("IGD_VBT_FIXTURES");
    return d ? d : "tests/fixtures/vbt";
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static struct igd_vbt_summary s;

static void test_fixtures_parse(void **state)
{
    (void)state;
    DIR *d = opendir(fixture_dir());
    if (!d)
        fail_msg("cannot open the VBT fixtures in %s (run from the repository root, or set IGD_VBT_FIXTURES)", fixture_dir());
    struct dirent *de;
    int parsed = 0;
    while ((de = readdir(d))) {
        size_t name_len = strlen(de->d_name);
        if (de->d_name[0] == '.' || name_len < 5 || strcmp(de->d_name + name_len - 4, ".vbt"))
            continue; /* README.md and anything else that is not a VBT */
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", fixture_dir(), de->d_name);
        size_t len;
        uint8_t *buf = read_file(path, &len);
        assert_non_null(buf);
        struct field_error e = { 0 };
        int rc = igd_vbt_parse(buf, len, &s, &e);
        if (rc)
            fail_msg("%s: %s at 0x%x: %s", de->d_name, e.field, e.offset, e.what);
        assert_true(s.vbt_size <= len);
        assert_true(s.nblocks > 10);
        assert_true(s.bdb_version >= 100);
        assert_non_null(igd_vbt_find_block(&s, IGD_BDB_GENERAL_DEFINITIONS));
        assert_true(s.nchildren > 0);
        for (uint32_t i = 0; i < s.nblocks; i++)
            assert_true((uint64_t)s.blocks[i].offset + s.blocks[i].size <= s.bdb_offset + s.bdb_size);
        /* every cut shorter than vbt_size is refused, never read past */
        for (size_t cut = 0; cut < s.vbt_size; cut++) {
            uint8_t *copy = malloc(cut ? cut : 1);
            memcpy(copy, buf, cut);
            static struct igd_vbt_summary t;
            assert_true(igd_vbt_parse(copy, cut, &t, &e) < 0);
            free(copy);
        }
        free(buf);
        parsed++;
    }
    closedir(d);
    print_message("parsed %d fixture VBTs from %s\n", parsed, fixture_dir());
    assert_true(parsed > 0);
}

/* ---- synthetic VBTs ---- */

static uint8_t v[70000];
static size_t vlen;
static uint32_t bdb_end;

static void put16(uint8_t *p, uint16_t x) { p[0] = (uint8_t)x; p[1] = (uint8_t)(x >> 8); }
static void put32(uint8_t *p, uint32_t x) { put16(p, (uint16_t)x); put16(p + 2, (uint16_t)(x >> 16)); }

static void vbt_begin(void)
{
    memset(v, 0, sizeof(v));
    memcpy(v, "$VBT SYNTHETIC      ", 20);
    put16(v + 0x14, 100);
    put16(v + 0x16, 48);
    put32(v + 0x1C, 48);
    memcpy(v + 48, "BIOS_DATA_BLOCK ", 16);
    put16(v + 48 + 0x10, 230);
    put16(v + 48 + 0x12, 22);
    bdb_end = 48 + 22;
}

static uint8_t *vbt_block(uint8_t id, uint16_t size)
{
    v[bdb_end] = id;
    put16(v + bdb_end + 1, size);
    uint8_t *data = v + bdb_end + 3;
    bdb_end += 3u + size;
    return data;
}

static void vbt_end(uint32_t extra)
{
    bdb_end += extra;
    put16(v + 48 + 0x14, (uint16_t)(bdb_end - 48));
    put16(v + 0x18, (uint16_t)bdb_end);
    vlen = bdb_end;
}

static void test_synthetic_walk(void **state)
{
    (void)state;
    struct field_error e;
    vbt_begin();
    vbt_block(1, 8);
    uint8_t *lfp = vbt_block(40, 4);
    lfp[0] = 3;
    vbt_block(9, 1);
    vbt_end(0);
    assert_int_equal(igd_vbt_parse(v, vlen, &s, &e), 0);
    assert_int_equal(s.nblocks, 3);
    assert_int_equal(s.blocks[0].id, 1);
    assert_int_equal(s.blocks[0].offset, 48 + 22 + 3);
    assert_int_equal(s.blocks[0].size, 8);
    assert_int_equal(s.blocks[1].id, 40);
    assert_int_equal(s.blocks[2].id, 9);
    assert_false(s.walk_stopped);
    assert_int_equal(s.panel_type, 3);
    assert_int_equal(s.bdb_version, 230);

    /* i915's `index + 3 < total`: an empty block ending exactly at the BDB
     * end is not seen by i915, so not by us */
    vbt_begin();
    vbt_block(1, 8);
    vbt_block(2, 0);
    vbt_end(0);
    assert_int_equal(igd_vbt_parse(v, vlen, &s, &e), 0);
    assert_int_equal(s.nblocks, 1);
}

static void test_mipi_sequence_v3(void **state)
{
    (void)state;
    struct field_error e;
    vbt_begin();
    vbt_block(1, 4);
    /* block 53, version 3: the u16 size is ignored, the u32 after the
     * version byte gives the data size (i915 _get_blocksize) */
    uint32_t at = bdb_end;
    uint8_t *m = vbt_block(53, 0xFFFF - 1);   /* bogus u16 */
    bdb_end = at + 3 + 300;                    /* real extent: u32 size 300 */
    m[0] = 3;
    put32(m + 1, 300);
    vbt_block(9, 2);
    vbt_end(0);
    assert_int_equal(igd_vbt_parse(v, vlen, &s, &e), 0);
    assert_int_equal(s.nblocks, 3);
    assert_int_equal(s.blocks[1].id, 53);
    assert_int_equal(s.blocks[1].size, 300);
    assert_int_equal(s.blocks[2].id, 9);

    /* version 2: the u16 counts */
    vbt_begin();
    m = vbt_block(53, 10);
    m[0] = 2;
    put32(m + 1, 0xFFFFFF);
    vbt_block(9, 2);
    vbt_end(0);
    assert_int_equal(igd_vbt_parse(v, vlen, &s, &e), 0);
    assert_int_equal(s.nblocks, 2);
    assert_int_equal(s.blocks[0].size, 10);

    /* v3 whose u32 does not fit before the BDB end: walk stops there */
    vbt_begin();
    vbt_block(1, 4);
    at = bdb_end;
    v[at] = 53;
    v[at + 3] = 3;
    bdb_end = at + 6;
    vbt_end(0);
    assert_int_equal(igd_vbt_parse(v, vlen, &s, &e), 0);
    assert_int_equal(s.nblocks, 1);
    assert_true(s.walk_stopped);
    assert_int_equal(s.stop_block_id, 53);
    assert_int_equal(s.stop_offset, at);

    /* v3 with a huge u32 size */
    vbt_begin();
    m = vbt_block(53, 8);
    m[0] = 3;
    put32(m + 1, 0xFFFFFFF0u);
    vbt_end(0);
    assert_int_equal(igd_vbt_parse(v, vlen, &s, &e), 0);
    assert_int_equal(s.nblocks, 0);
    assert_true(s.walk_stopped);
    assert_int_equal(s.stop_block_size, 0xFFFFFFF0u);
}

static void test_overrunning_block(void **state)
{
    (void)state;
    struct field_error e;
    /* as in several real VBTs: a block claims more than is left; i915 and
     * intel_vbt_decode stop there, keeping the blocks before it */
    vbt_begin();
    vbt_block(1, 5);
    vbt_block(2, 5);
    uint32_t at = bdb_end;
    v[at] = 58;
    put16(v + at + 1, 1000);
    bdb_end += 3 + 10;
    vbt_end(0);
    assert_int_equal(igd_vbt_parse(v, vlen, &s, &e), 0);
    assert_int_equal(s.nblocks, 2);
    assert_true(s.walk_stopped);
    assert_int_equal(s.stop_block_id, 58);
    assert_int_equal(s.stop_block_size, 1000);
    assert_int_equal(s.stop_offset, at);
}

static void test_children(void **state)
{
    (void)state;
    struct field_error e;
    vbt_begin();
    uint8_t *d = vbt_block(2, 5 + 3 * 38 + 7);   /* 3 configs of 38 bytes + slack */
    d[4] = 38;
    uint8_t *c0 = d + 5, *c2 = d + 5 + 2 * 38;
    put16(c0, 0x0008); put16(c0 + 2, 0x1806); c0[16] = 10; c0[19] = 0; c0[25] = 0x40;
    /* slot 1 empty (device_type 0) */
    put16(c2, 0x0040); put16(c2 + 2, 0x60D2); c2[16] = 1; c2[19] = 2; c2[25] = 0x10;
    vbt_end(0);
    assert_int_equal(igd_vbt_parse(v, vlen, &s, &e), 0);
    assert_int_equal(s.child_dev_size, 38);
    assert_int_equal(s.nchildren, 2);
    assert_int_equal(s.children[0].handle, 0x0008);
    assert_int_equal(s.children[0].device_type, 0x1806);
    assert_int_equal(s.children[0].dvo_port, 10);
    assert_int_equal(s.children[0].aux_channel, 0x40);
    assert_int_equal(s.children[1].handle, 0x0040);
    assert_int_equal(s.children[1].ddc_pin, 2);
    assert_int_equal(s.panel_type, -1);

    /* a child size below the legacy 33 bytes: i915 keeps no children */
    d[4] = 20;
    assert_int_equal(igd_vbt_parse(v, vlen, &s, &e), 0);
    assert_int_equal(s.nchildren, 0);
    /* block too short for the general definitions header */
    vbt_begin();
    vbt_block(2, 3);
    vbt_end(0);
    assert_int_equal(igd_vbt_parse(v, vlen, &s, &e), 0);
    assert_int_equal(s.nchildren, 0);
    /* more non-empty children than the summary holds: capped */
    vbt_begin();
    d = vbt_block(2, 5 + 40 * 33);
    d[4] = 33;
    for (int i = 0; i < 40; i++)
        put16(d + 5 + i * 33 + 2, 0x60D2);
    vbt_end(0);
    assert_int_equal(igd_vbt_parse(v, vlen, &s, &e), 0);
    assert_int_equal(s.nchildren, IGD_VBT_MAX_CHILDREN);
}

static void test_header_errors(void **state)
{
    (void)state;
    struct field_error e;
    vbt_begin();
    vbt_block(1, 4);
    vbt_end(0);
    assert_int_equal(igd_vbt_parse(v, vlen, &s, &e), 0);
    assert_true(igd_vbt_present(v, vlen));

    assert_int_equal(igd_vbt_parse(v, 47, &s, &e), -IGD_ERANGE);
    assert_string_equal(e.field, "vbt_header");
    assert_int_equal(igd_vbt_parse(NULL, 100, &s, &e), -IGD_ERANGE);

    v[1] = 'X';
    assert_int_equal(igd_vbt_parse(v, vlen, &s, &e), -IGD_EINVAL);
    assert_string_equal(e.field, "vbt.signature");
    v[1] = 'V';

    put16(v + 0x18, (uint16_t)(vlen + 1));
    assert_int_equal(igd_vbt_parse(v, vlen, &s, &e), -IGD_ERANGE);
    assert_string_equal(e.field, "vbt.vbt_size");
    assert_int_equal(e.offset, 0x18);
    put16(v + 0x18, (uint16_t)vlen);

    put16(v + 0x16, 40);
    assert_int_equal(igd_vbt_parse(v, vlen, &s, &e), -IGD_EINVAL);
    assert_string_equal(e.field, "vbt.header_size");
    put16(v + 0x16, 48);

    put32(v + 0x1C, 0xFFFFFFF0u);   /* bdb_offset + 22 must not wrap */
    assert_int_equal(igd_vbt_parse(v, vlen, &s, &e), -IGD_ERANGE);
    assert_string_equal(e.field, "vbt.bdb_offset");
    assert_int_equal(e.offset, 0x1C);
    put32(v + 0x1C, (uint32_t)vlen - 10);
    assert_int_equal(igd_vbt_parse(v, vlen, &s, &e), -IGD_ERANGE);
    put32(v + 0x1C, 48);

    v[48] = 'b';
    assert_int_equal(igd_vbt_parse(v, vlen, &s, &e), -IGD_EINVAL);
    assert_string_equal(e.field, "bdb.signature");
    assert_int_equal(e.offset, 48);
    v[48] = 'B';

    put16(v + 48 + 0x14, (uint16_t)(vlen - 48 + 1));
    assert_int_equal(igd_vbt_parse(v, vlen, &s, &e), -IGD_ERANGE);
    assert_string_equal(e.field, "bdb.bdb_size");
    assert_int_equal(e.offset, 48 + 0x14);
    put16(v + 48 + 0x14, (uint16_t)(vlen - 48));

    put16(v + 48 + 0x12, 21);
    assert_int_equal(igd_vbt_parse(v, vlen, &s, &e), -IGD_EINVAL);
    assert_string_equal(e.field, "bdb.header_size");
    put16(v + 48 + 0x12, (uint16_t)(vlen - 48 + 1));
    assert_int_equal(igd_vbt_parse(v, vlen, &s, &e), -IGD_ERANGE);
}

static void test_too_many_blocks(void **state)
{
    (void)state;
    struct field_error e;
    vbt_begin();
    for (int i = 0; i < IGD_VBT_MAX_BLOCKS + 1; i++)
        vbt_block((uint8_t)i, 1);
    vbt_end(0);
    assert_int_equal(igd_vbt_parse(v, vlen, &s, &e), -IGD_ENOSPC);
    assert_string_equal(e.field, "bdb.blocks");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures_parse),
        cmocka_unit_test(test_synthetic_walk),
        cmocka_unit_test(test_mipi_sequence_v3),
        cmocka_unit_test(test_overrunning_block),
        cmocka_unit_test(test_children),
        cmocka_unit_test(test_header_errors),
        cmocka_unit_test(test_too_many_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
