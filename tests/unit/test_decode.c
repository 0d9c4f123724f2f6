/* Host tests of hv/decode.c.
 *
 * The instruction bytes come from GNU as (decode_cases.S assembles every case
 * of decode_cases.h between two labels); this file states what each must
 * decode to, and checks the emulation against an independent reading: the
 * arithmetic flags the host CPU itself computes for the same operation, and
 * a register model written with unions rather than masks.
 *
 *   build/tests/test_decode                       run the tests
 *   build/tests/test_decode --write-corpus DIR    write the cases as fuzzer seeds */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv/decode.h"

/* ---- the case table ---- */

#define CASE(name, ...) extern const uint8_t dc_##name##_start[], dc_##name##_end[];
#define REJECT(name, ...) extern const uint8_t dc_##name##_start[], dc_##name##_end[];
#include "decode_cases.h"
#undef CASE
#undef REJECT

struct expect_reg {
    bool present;
    int num;
    bool high_byte;
    int size;
};

struct expect_imm {
    bool present;
    uint64_t value;
};

struct expect_mem {
    int base, index, scale;
    bool rip_relative;
    int addr_size;
    int seg;
    bool seg_override;
    uint64_t disp;
};

struct decode_case {
    const char *name, *text;
    const uint8_t *start, *end;
    enum decode_mode mode;
    int kind;
    bool reg_is_first;
    int op;
    int size;
    struct expect_reg reg;
    struct expect_imm imm;
    struct expect_mem mem;
};

struct reject_case {
    const char *name, *text;
    const uint8_t *start, *end;
    enum decode_mode mode;
    enum decode_status status;
};

#define R_NONE DECODE_NO_REG
#define R_RAX DECODE_RAX
#define R_RCX DECODE_RCX
#define R_RDX DECODE_RDX
#define R_RBX DECODE_RBX
#define R_RSP DECODE_RSP
#define R_RBP DECODE_RBP
#define R_RSI DECODE_RSI
#define R_RDI DECODE_RDI
#define R_R8 DECODE_R8
#define R_R9 DECODE_R9
#define R_R10 DECODE_R10
#define R_R11 DECODE_R11
#define R_R12 DECODE_R12
#define R_R13 DECODE_R13
#define R_R14 DECODE_R14
#define R_R15 DECODE_R15
#define K_LOAD DECODE_KIND_LOAD, false
#define K_STORE DECODE_KIND_STORE, false
#define K_RMW DECODE_KIND_RMW, false
#define K_LOAD_ALU DECODE_KIND_LOAD_ALU, false
#define K_COMPARE DECODE_KIND_COMPARE, false
#define K_COMPARE_REG DECODE_KIND_COMPARE, true
#define SEG_DS DECODE_SEG_DS, false
#define SEG_SS DECODE_SEG_SS, false
#define SEG_OVR_ES DECODE_SEG_ES, true
#define SEG_OVR_CS DECODE_SEG_CS, true
#define SEG_OVR_SS DECODE_SEG_SS, true
#define SEG_OVR_DS DECODE_SEG_DS, true
#define SEG_OVR_FS DECODE_SEG_FS, true
#define SEG_OVR_GS DECODE_SEG_GS, true
#define R(n, s) { true, R_##n, false, s }
#define H(n) { true, R_##n, true, 1 }
#define NOREG { false, 0, false, 0 }
#define I(v) { true, (uint64_t)(v) }
#define NOIMM { false, 0 }
#define M(b, i, s, d, a, sg) { R_##b, R_##i, s, false, a, SEG_##sg, (uint64_t)(d) }
#define RIP(d, a, sg) { R_NONE, R_NONE, 1, true, a, SEG_##sg, (uint64_t)(d) }
#define MOFFS(d, a, sg) { R_NONE, R_NONE, 1, false, a, SEG_##sg, (uint64_t)(d) }

#define CASE(name, mode, insn, kind, op, size, reg, imm, mem)                              \
    { #name, #insn, dc_##name##_start, dc_##name##_end, DECODE_MODE_##mode, K_##kind,     \
      DECODE_OP_##op, size, reg, imm, mem },
#define REJECT(...)
static const struct decode_case cases[] = {
#include "decode_cases.h"
};
#undef CASE
#undef REJECT

#define CASE(...)
#define REJECT(name, mode, insn, status) \
    { #name, #insn, dc_##name##_start, dc_##name##_end, DECODE_MODE_##mode, DECODE_ERR_##status },
static const struct reject_case rejects[] = {
#include "decode_cases.h"
};
#undef CASE
#undef REJECT
#undef R
#undef H
#undef I
#undef M

static const struct decode_case *find_case(const char *name)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (strcmp(cases[i].name, name) == 0)
            return &cases[i];
    fail_msg("no case %s", name);
    return NULL;
}

static size_t case_len(const struct decode_case *c)
{
    return (size_t)(c->end - c->start);
}

/* Decodes from an exact-size heap copy, so that ASan sees any read past `len`. */
static enum decode_status decode_exact(const uint8_t *bytes, size_t len, enum decode_mode mode,
                                       struct decoded_insn *out)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, bytes, len);
    enum decode_status st = decode_insn(copy, len, mode, out);
    free(copy);
    return st;
}

static bool insn_equal(const struct decoded_insn *a, const struct decoded_insn *b)
{
    return a->length == b->length && a->mode == b->mode && a->kind == b->kind &&
           a->op == b->op && a->ext == b->ext && a->size == b->size && a->has_reg == b->has_reg &&
           a->has_imm == b->has_imm && a->reg_is_first == b->reg_is_first && a->lock == b->lock &&
           a->rep == b->rep && a->repne == b->repne && a->opsize_prefix == b->opsize_prefix &&
           a->addrsize_prefix == b->addrsize_prefix && a->rex == b->rex &&
           a->reg.num == b->reg.num && a->reg.high_byte == b->reg.high_byte &&
           a->reg.size == b->reg.size && a->imm == b->imm && a->mem.base == b->mem.base &&
           a->mem.index == b->mem.index && a->mem.scale == b->mem.scale &&
           a->mem.rip_relative == b->mem.rip_relative && a->mem.addr_size == b->mem.addr_size &&
           a->mem.seg == b->mem.seg && a->mem.seg_override == b->mem.seg_override &&
           a->mem.disp == b->mem.disp;
}

static void print_bytes(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        print_error("%02x ", p[i]);
}

/* ---- 1. every case decodes as stated ---- */

#define EXPECT_FIELD(field, got, want)                                                       \
    do {                                                                                   \
        unsigned long long got_ = (unsigned long long)(got), want_ = (unsigned long long)(want); \
        if (got_ != want_) {                                                               \
            print_error("%s %s: %s is %#llx, expected %#llx; bytes ", c->name, c->text,     \
                        field, got_, want_);                                               \
            print_bytes(c->start, case_len(c));                                            \
            print_error("\n");                                                            \
            bad++;                                                                         \
        }                                                                                  \
    } while (0)

static void test_case_decodes(void **state)
{
    const struct decode_case *c = *state;
    struct decoded_insn insn;
    int bad = 0;
    size_t len = case_len(c);

    enum decode_status st = decode_exact(c->start, len, c->mode, &insn);
    if (st != DECODE_OK) {
        char why[96];
        decode_format_error(st, &insn, why, sizeof(why));
        print_bytes(c->start, len);
        fail_msg("%s %s: %s", c->name, c->text, why);
    }
    int ext = c->op == DECODE_OP_MOVZX ? DECODE_EXT_ZERO
              : c->op == DECODE_OP_MOVSX ? DECODE_EXT_SIGN : DECODE_EXT_NONE;
    EXPECT_FIELD("length", insn.length, len);
    EXPECT_FIELD("mode", insn.mode, c->mode);
    EXPECT_FIELD("kind", insn.kind, c->kind);
    EXPECT_FIELD("reg_is_first", insn.reg_is_first, c->reg_is_first);
    EXPECT_FIELD("op", insn.op, c->op);
    EXPECT_FIELD("ext", insn.ext, ext);
    EXPECT_FIELD("size", insn.size, c->size);
    EXPECT_FIELD("has_reg", insn.has_reg, c->reg.present);
    if (c->reg.present) {
        EXPECT_FIELD("reg.num", insn.reg.num, c->reg.num);
        EXPECT_FIELD("reg.high_byte", insn.reg.high_byte, c->reg.high_byte);
        EXPECT_FIELD("reg.size", insn.reg.size, c->reg.size);
    }
    EXPECT_FIELD("has_imm", insn.has_imm, c->imm.present);
    if (c->imm.present)
        EXPECT_FIELD("imm", insn.imm, c->imm.value);
    EXPECT_FIELD("mem.base", insn.mem.base, c->mem.base);
    EXPECT_FIELD("mem.index", insn.mem.index, c->mem.index);
    EXPECT_FIELD("mem.scale", insn.mem.scale, c->mem.scale);
    EXPECT_FIELD("mem.rip_relative", insn.mem.rip_relative, c->mem.rip_relative);
    EXPECT_FIELD("mem.addr_size", insn.mem.addr_size, c->mem.addr_size);
    EXPECT_FIELD("mem.seg", insn.mem.seg, c->mem.seg);
    EXPECT_FIELD("mem.seg_override", insn.mem.seg_override, c->mem.seg_override);
    EXPECT_FIELD("mem.disp", insn.mem.disp, c->mem.disp);
    if (bad)
        fail_msg("%s: %d fields differ", c->name, bad);
}

/* ---- 2. truncated and padded inputs ---- */

/* Every proper prefix of a case is refused as truncated (the full length is
 * always needed); trailing bytes after it change nothing. */
static void test_case_truncations(void **state)
{
    const struct decode_case *c = *state;
    size_t len = case_len(c);
    struct decoded_insn full, insn;
    assert_int_equal(decode_exact(c->start, len, c->mode, &full), DECODE_OK);

    for (size_t k = 0; k < len; k++) {
        enum decode_status st = decode_exact(c->start, k, c->mode, &insn);
        if (st != DECODE_ERR_TRUNCATED)
            fail_msg("%s: first %zu of %zu bytes gave %s", c->name, k, len, decode_status_name(st));
        assert_true(insn.length <= k);
    }

    static const uint8_t fills[] = { 0x00, 0x0f, 0x66, 0xcc, 0xff };
    for (size_t f = 0; f < sizeof(fills); f++) {
        uint8_t buf[32];
        memset(buf, fills[f], sizeof(buf));
        memcpy(buf, c->start, len);
        for (size_t total = len; total <= sizeof(buf); total += 3) {
            assert_int_equal(decode_exact(buf, total, c->mode, &insn), DECODE_OK);
            if (!insn_equal(&insn, &full))
                fail_msg("%s: decodes differently with %zu trailing bytes 0x%02x", c->name,
                         total - len, fills[f]);
        }
    }
}

/* ---- 3. forms that must be refused, as encoded by as ---- */

static void test_rejects(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rejects) / sizeof(rejects[0]); i++) {
        const struct reject_case *r = &rejects[i];
        size_t len = (size_t)(r->end - r->start);
        struct decoded_insn insn;
        enum decode_status st = decode_exact(r->start, len, r->mode, &insn);
        if (st != r->status)
            fail_msg("%s %s: got %s, expected %s", r->name, r->text, decode_status_name(st),
                     decode_status_name(r->status));
        assert_true(insn.length <= len);
        char why[96];
        size_t n = decode_format_error(st, &insn, why, sizeof(why));
        assert_int_equal(n, strlen(why));
        assert_true(n > 0);
        /* Every prefix of it fails too, and never reads past its end. */
        for (size_t k = 0; k < len; k++)
            assert_int_not_equal(decode_exact(r->start, k, r->mode, &insn), DECODE_OK);
    }
}

static void test_error_messages(void **state)
{
    (void)state;
    static const uint8_t ud2[] = { 0x0f, 0x0b };
    struct decoded_insn insn;
    char why[96];
    assert_int_equal(decode_insn(ud2, sizeof(ud2), DECODE_MODE_64, &insn), DECODE_ERR_UNSUPPORTED);
    decode_format_error(DECODE_ERR_UNSUPPORTED, &insn, why, sizeof(why));
    assert_string_equal(why, "unsupported opcode 0x0f 0x0b (after 2 bytes)");

    static const uint8_t inc_32[] = { 0x48 };
    assert_int_equal(decode_insn(inc_32, sizeof(inc_32), DECODE_MODE_32, &insn), DECODE_ERR_UNSUPPORTED);
    decode_format_error(DECODE_ERR_UNSUPPORTED, &insn, why, sizeof(why));
    assert_string_equal(why, "unsupported opcode 0x48 (after 1 bytes)");

    /* A short buffer is cut, still NUL-terminated; the return value never
     * exceeds what was written. */
    char small[8];
    memset(small, 'x', sizeof(small));
    assert_int_equal(decode_format_error(DECODE_ERR_UNSUPPORTED, &insn, small, sizeof(small)), 7);
    assert_string_equal(small, "unsuppo");
    assert_int_equal(decode_format_error(DECODE_ERR_UNSUPPORTED, &insn, small, 1), 0);
    assert_int_equal(small[0], '\0');
    assert_int_equal(decode_format_error(DECODE_ERR_UNSUPPORTED, &insn, NULL, 0), 0);
    for (int s = DECODE_OK; s <= DECODE_ERR_MMIO; s++)
        assert_true(strlen(decode_status_name(s)) > 0);
}

/* ---- 4. hand-made byte sequences as cannot produce ---- */

static enum decode_status decode_hex(enum decode_mode mode, struct decoded_insn *insn, size_t n, ...)
{
    uint8_t buf[32];
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)va_arg(ap, int);
    va_end(ap);
    return decode_exact(buf, n, mode, insn);
}

static void test_prefix_limits(void **state)
{
    (void)state;
    struct decoded_insn insn;
    uint8_t buf[32];

    /* 16 bytes of prefixes: longer than 15 bytes, #GP on hardware. */
    memset(buf, 0x66, 16);
    assert_int_equal(decode_exact(buf, 16, DECODE_MODE_64, &insn), DECODE_ERR_TOO_LONG);
    assert_int_equal(insn.length, 15);
    memset(buf, 0x3e, sizeof(buf));
    assert_int_equal(decode_exact(buf, sizeof(buf), DECODE_MODE_64, &insn), DECODE_ERR_TOO_LONG);
    /* ... 15 prefixes with only 15 bytes given is just as long. */
    assert_int_equal(decode_exact(buf, 15, DECODE_MODE_64, &insn), DECODE_ERR_TOO_LONG);
    /* ... but with fewer bytes than that, the input simply ends. */
    assert_int_equal(decode_exact(buf, 10, DECODE_MODE_64, &insn), DECODE_ERR_TRUNCATED);

    /* 13 prefixes + 8B 00 = 15 bytes: the longest allowed. */
    memset(buf, 0x66, 13);
    buf[13] = 0x8b;
    buf[14] = 0x00;
    assert_int_equal(decode_exact(buf, 15, DECODE_MODE_64, &insn), DECODE_OK);
    assert_int_equal(insn.length, 15);
    assert_int_equal(insn.size, 2);
    /* 14 prefixes + 8B 00 = 16 bytes. */
    memset(buf, 0x2e, 14);
    buf[14] = 0x8b;
    buf[15] = 0x00;
    assert_int_equal(decode_exact(buf, 16, DECODE_MODE_64, &insn), DECODE_ERR_TOO_LONG);
    /* 12 prefixes + 81 /0 with disp8 and imm32 = 19 bytes. */
    memset(buf, 0x3e, 12);
    memcpy(buf + 12, (const uint8_t[]){ 0x81, 0x40, 0x10, 1, 2, 3, 4 }, 7);
    assert_int_equal(decode_exact(buf, 19, DECODE_MODE_64, &insn), DECODE_ERR_TOO_LONG);
    assert_int_equal(decode_exact(buf + 4, 15, DECODE_MODE_64, &insn), DECODE_OK);

    /* Nothing at all. */
    assert_int_equal(decode_insn(NULL, 0, DECODE_MODE_64, &insn), DECODE_ERR_TRUNCATED);
    assert_int_equal(decode_insn(NULL, 5, DECODE_MODE_64, &insn), DECODE_ERR_TRUNCATED);
    assert_int_equal(decode_insn(buf, 0, DECODE_MODE_64, &insn), DECODE_ERR_TRUNCATED);
    assert_int_equal(decode_insn(buf, 1, DECODE_MODE_64, NULL), DECODE_ERR_ARGS);
    assert_int_equal(decode_insn(buf, 15, (enum decode_mode)8, &insn), DECODE_ERR_ARGS);
}

static void test_rex_rules(void **state)
{
    (void)state;
    struct decoded_insn insn;

    /* SDM 2.2.1: a REX followed by a legacy prefix is ignored. 48 66 8B 08 is
     * mov (%rax),%cx, not a 64-bit load. */
    assert_int_equal(decode_hex(DECODE_MODE_64, &insn, 4, 0x48, 0x66, 0x8b, 0x08), DECODE_OK);
    assert_int_equal(insn.size, 2);
    assert_int_equal(insn.rex, 0);
    assert_int_equal(insn.reg.num, DECODE_RCX);
    assert_int_equal(insn.length, 4);

    /* Two REX bytes: only the last counts (41 is dropped: base RAX, not R8). */
    assert_int_equal(decode_hex(DECODE_MODE_64, &insn, 4, 0x41, 0x48, 0x8b, 0x00), DECODE_OK);
    assert_int_equal(insn.size, 8);
    assert_int_equal(insn.mem.base, DECODE_RAX);

    /* REX without W/R/X/B still turns byte registers 4-7 into SPL..DIL. */
    assert_int_equal(decode_hex(DECODE_MODE_64, &insn, 3, 0x40, 0x88, 0x23), DECODE_OK);
    assert_int_equal(insn.reg.num, DECODE_RSP);
    assert_false(insn.reg.high_byte);
    assert_int_equal(decode_hex(DECODE_MODE_64, &insn, 2, 0x88, 0x23), DECODE_OK);
    assert_int_equal(insn.reg.num, DECODE_RAX);
    assert_true(insn.reg.high_byte);

    /* Table 2-5: SIB base 101 with mod 00 has no base whatever REX.B says. */
    assert_int_equal(decode_hex(DECODE_MODE_64, &insn, 8, 0x41, 0x8b, 0x04, 0x25, 0x00, 0x10, 0x00, 0x00),
                     DECODE_OK);
    assert_int_equal(insn.mem.base, DECODE_NO_REG);
    assert_int_equal(insn.mem.index, DECODE_NO_REG);
    assert_int_equal(insn.mem.disp, 0x1000);
    /* ... nor does ModRM mod 00 rm 101 stop being RIP-relative (2.2.1.6). */
    assert_int_equal(decode_hex(DECODE_MODE_64, &insn, 7, 0x41, 0x8b, 0x05, 0x10, 0x00, 0x00, 0x00),
                     DECODE_OK);
    assert_true(insn.mem.rip_relative);
    assert_int_equal(insn.mem.base, DECODE_NO_REG);
    /* ... while mod 01 rm 101 with REX.B is [r13 + disp8]. */
    assert_int_equal(decode_hex(DECODE_MODE_64, &insn, 4, 0x41, 0x8b, 0x45, 0x08), DECODE_OK);
    assert_int_equal(insn.mem.base, DECODE_R13);
    assert_int_equal(insn.mem.disp, 8);
    /* SIB index 100 with REX.X is R12 (not "none"). */
    assert_int_equal(decode_hex(DECODE_MODE_64, &insn, 4, 0x42, 0x8b, 0x04, 0x20), DECODE_OK);
    assert_int_equal(insn.mem.index, DECODE_R12);
    assert_int_equal(insn.mem.base, DECODE_RAX);
    /* SIB index 100 without REX.X ignores the scale bits. */
    assert_int_equal(decode_hex(DECODE_MODE_64, &insn, 3, 0x8b, 0x04, 0xe0), DECODE_OK);
    assert_int_equal(insn.mem.index, DECODE_NO_REG);

    /* In 32-bit mode, 40-4F are INC/DEC, mod 00 rm 101 is absolute. */
    assert_int_equal(decode_hex(DECODE_MODE_32, &insn, 3, 0x48, 0x8b, 0x00), DECODE_ERR_UNSUPPORTED);
    assert_int_equal(insn.opcode[0], 0x48);
    assert_int_equal(decode_hex(DECODE_MODE_32, &insn, 6, 0x8b, 0x05, 0x00, 0x10, 0x00, 0x00), DECODE_OK);
    assert_false(insn.mem.rip_relative);
    assert_int_equal(insn.mem.base, DECODE_NO_REG);
}

static void test_other_rejects(void **state)
{
    (void)state;
    struct decoded_insn insn;
    /* C7 /1..7 and F7 /1 (the undocumented TEST alias) are refused. */
    assert_int_equal(decode_hex(DECODE_MODE_64, &insn, 6, 0xc7, 0x08, 1, 0, 0, 0), DECODE_ERR_UNSUPPORTED);
    assert_int_equal(decode_hex(DECODE_MODE_64, &insn, 6, 0xf7, 0x08, 1, 0, 0, 0), DECODE_ERR_UNSUPPORTED);
    assert_int_equal(decode_hex(DECODE_MODE_64, &insn, 3, 0xf6, 0x18, 1), DECODE_ERR_UNSUPPORTED);
    /* 82 (an alias of 80 outside 64-bit mode) is refused in every mode. */
    assert_int_equal(decode_hex(DECODE_MODE_32, &insn, 3, 0x82, 0x00, 1), DECODE_ERR_UNSUPPORTED);
    assert_int_equal(decode_hex(DECODE_MODE_64, &insn, 3, 0x82, 0x00, 1), DECODE_ERR_UNSUPPORTED);
    /* MOVSXD exists only in 64-bit mode. */
    assert_int_equal(decode_hex(DECODE_MODE_16, &insn, 2, 0x63, 0x00), DECODE_ERR_UNSUPPORTED);
    /* F2 before a 0F opcode selects another instruction. */
    assert_int_equal(decode_hex(DECODE_MODE_64, &insn, 4, 0xf2, 0x0f, 0xb6, 0x00), DECODE_ERR_UNSUPPORTED);
    /* LOCK + string: the string error wins (it is a string op, not RMW). */
    assert_int_equal(decode_hex(DECODE_MODE_64, &insn, 2, 0xf0, 0xa5), DECODE_ERR_STRING);
    /* Every one-byte and 0F opcode, with a memory ModRM and padding, never
     * crashes or overruns; a success has a sane length. */
    for (int map = 0; map < 2; map++) {
        for (int op = 0; op < 256; op++) {
            for (int mode = 0; mode < 3; mode++) {
                static const enum decode_mode modes[] = { DECODE_MODE_64, DECODE_MODE_32, DECODE_MODE_16 };
                uint8_t buf[16] = { 0 };
                size_t n = 0;
                if (map)
                    buf[n++] = 0x0f;
                buf[n++] = (uint8_t)op;
                buf[n++] = 0x84; /* mod 10 rm 100: SIB + disp32 */
                for (size_t len = 0; len <= sizeof(buf); len++) {
                    enum decode_status st = decode_exact(buf, len, modes[mode], &insn);
                    assert_true(insn.length <= len);
                    if (st == DECODE_OK)
                        assert_true(insn.size == 1 || insn.size == 2 || insn.size == 4 || insn.size == 8);
                }
            }
        }
    }
}

static void test_prefix_flags(void **state)
{
    (void)state;
    struct decoded_insn insn;
    const struct decode_case *c = find_case("lock_or32");
    assert_int_equal(decode_insn(c->start, case_len(c), c->mode, &insn), DECODE_OK);
    assert_true(insn.lock);
    assert_false(insn.rep || insn.repne);
    c = find_case("mov_st_xrelease");
    assert_int_equal(decode_insn(c->start, case_len(c), c->mode, &insn), DECODE_OK);
    assert_true(insn.rep);
    assert_false(insn.lock);
    c = find_case("xacquire_lock_add");
    assert_int_equal(decode_insn(c->start, case_len(c), c->mode, &insn), DECODE_OK);
    assert_true(insn.repne && insn.lock);
    c = find_case("mov_ld_gs_66_rex");
    assert_int_equal(decode_insn(c->start, case_len(c), c->mode, &insn), DECODE_OK);
    assert_true(insn.opsize_prefix);
    assert_int_equal(insn.rex, 0x45);
    c = find_case("mov_ld_66_67");
    assert_int_equal(decode_insn(c->start, case_len(c), c->mode, &insn), DECODE_OK);
    assert_true(insn.opsize_prefix && insn.addrsize_prefix);
    c = find_case("movzx_w64");
    assert_int_equal(decode_insn(c->start, case_len(c), c->mode, &insn), DECODE_OK);
    assert_int_equal(insn.opcode_len, 2);
    assert_int_equal(insn.opcode[0], 0x0f);
    assert_int_equal(insn.opcode[1], 0xb7);
}

/* ---- 5. the ALU against the host CPU ---- */

#define RFLAGS_CF 0x001ull
#define RFLAGS_PF 0x004ull
#define RFLAGS_AF 0x010ull
#define RFLAGS_ZF 0x040ull
#define RFLAGS_SF 0x080ull
#define RFLAGS_OF 0x800ull
#define RFLAGS_ARITH (RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF)

/* Runs "MN y, x" on the host with CF = cf and returns x and RFLAGS. The
 * stack pointer steps over the red zone before pushfq. */
#define HOST_ASM(mn)                                                                 \
    "bt $0, %[c]\n\t" mn " %[y], %[x]\n\t"                                           \
    "lea -128(%%rsp), %%rsp\n\tpushfq\n\tpopq %[f]\n\tlea 128(%%rsp), %%rsp"
#define HOST_SIZE(T, mn)                                                             \
    {                                                                                \
        T x = (T)a, y = (T)b;                                                        \
        __asm__ volatile(HOST_ASM(mn) : [x] "+r"(x), [f] "=&r"(f) : [y] "r"(y), [c] "r"(cf) : "cc"); \
        *flags = f;                                                                  \
        return (uint64_t)x;                                                          \
    }
#define HOST_OP(mn)                                                                        \
    static uint64_t host_##mn(unsigned size, uint64_t a, uint64_t b, uint64_t cf, uint64_t *flags) \
    {                                                                                      \
        uint64_t f;                                                                        \
        switch (size) {                                                                    \
        case 1: HOST_SIZE(uint8_t, #mn)                                                    \
        case 2: HOST_SIZE(uint16_t, #mn)                                                   \
        case 4: HOST_SIZE(uint32_t, #mn)                                                   \
        default: HOST_SIZE(uint64_t, #mn)                                                  \
        }                                                                                  \
    }
HOST_OP(add)
HOST_OP(adc)
HOST_OP(sub)
HOST_OP(sbb)
HOST_OP(cmp)
HOST_OP(and)
HOST_OP(or)
HOST_OP(xor)
HOST_OP(test)

/* The host's result of `a op b` and its flags. */
static uint64_t host_alu(int op, unsigned size, uint64_t a, uint64_t b, bool cf, uint64_t *flags)
{
    switch (op) {
    case DECODE_OP_ADD: return host_add(size, a, b, cf, flags);
    case DECODE_OP_ADC: return host_adc(size, a, b, cf, flags);
    case DECODE_OP_SUB: return host_sub(size, a, b, cf, flags);
    case DECODE_OP_SBB: return host_sbb(size, a, b, cf, flags);
    case DECODE_OP_CMP: return host_cmp(size, a, b, cf, flags);
    case DECODE_OP_AND: return host_and(size, a, b, cf, flags);
    case DECODE_OP_OR: return host_or(size, a, b, cf, flags);
    case DECODE_OP_XOR: return host_xor(size, a, b, cf, flags);
    case DECODE_OP_TEST: return host_test(size, a, b, cf, flags);
    }
    fail_msg("op %d", op);
    return 0;
}

static bool is_logical(int op)
{
    return op == DECODE_OP_AND || op == DECODE_OP_OR || op == DECODE_OP_XOR || op == DECODE_OP_TEST;
}

/* Flags that must match the CPU: AF is undefined after the logical ops. */
static uint64_t defined_flags(int op)
{
    return is_logical(op) ? RFLAGS_ARITH & ~RFLAGS_AF : RFLAGS_ARITH;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void test_alu_matches_host(void **state)
{
    (void)state;
    static const uint64_t edges[] = {
        0, 1, 2, 0x0f, 0x10, 0x55, 0x7f, 0x80, 0xaa, 0xfe, 0xff, 0x100, 0x7fff, 0x8000, 0xffff,
        0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x100000000ull,
        0x7fffffffffffffffull, 0x8000000000000000ull, 0xfffffffffffffffeull, 0xffffffffffffffffull,
    };
    enum { N_EDGES = sizeof(edges) / sizeof(edges[0]), N_VALUES = N_EDGES + 15 };
    uint64_t values[N_VALUES];
    memcpy(values, edges, sizeof(edges));
    for (int i = N_EDGES; i < N_VALUES; i++)
        values[i] = rng();
    static const int ops[] = { DECODE_OP_ADD, DECODE_OP_ADC, DECODE_OP_SUB, DECODE_OP_SBB, DECODE_OP_CMP,
                               DECODE_OP_AND, DECODE_OP_OR, DECODE_OP_XOR, DECODE_OP_TEST };
    static const unsigned sizes[] = { 1, 2, 4, 8 };
    unsigned long checks = 0;

    for (size_t o = 0; o < sizeof(ops) / sizeof(ops[0]); o++)
        for (size_t s = 0; s < 4; s++)
            for (int i = 0; i < N_VALUES; i++)
                for (int j = 0; j < N_VALUES; j++)
                    for (int cf = 0; cf < 2; cf++) {
                        int op = ops[o];
                        unsigned size = sizes[s];
                        uint64_t host_flags;
                        uint64_t want = host_alu(op, size, values[i], values[j], cf, &host_flags);
                        /* Other RFLAGS bits (IF, DF, reserved bit 1) must survive. */
                        uint64_t other = 0x202 | (rng() & 0x400);
                        uint64_t rflags = other | (cf ? RFLAGS_CF : 0) | (rng() & RFLAGS_ARITH & ~RFLAGS_CF);
                        uint64_t got = decode_alu(op, size, values[i], values[j], &rflags);
                        uint64_t mask = size == 8 ? ~0ull : (1ull << (size * 8)) - 1;
                        uint64_t fm = defined_flags(op);
                        if ((op != DECODE_OP_CMP && op != DECODE_OP_TEST && got != (want & mask)) ||
                            (rflags & fm) != (host_flags & fm) || (rflags & ~RFLAGS_ARITH) != other ||
                            (is_logical(op) && (rflags & RFLAGS_AF)))
                            fail_msg("op %d size %u %#llx, %#llx cf %d: result %#llx flags %#llx, host %#llx flags %#llx",
                                     op, size, (unsigned long long)values[i], (unsigned long long)values[j], cf,
                                     (unsigned long long)got, (unsigned long long)(rflags & RFLAGS_ARITH),
                                     (unsigned long long)want, (unsigned long long)(host_flags & RFLAGS_ARITH));
                        checks++;
                    }
    assert_true(checks > 50000);
}

/* ---- 6. emulation of every case against a model ---- */

struct mock_device {
    uint64_t gpa;
    uint64_t value;     /* what a read returns (before masking) */
    int reads, writes;
    unsigned read_size, write_size;
    uint64_t written;
    bool fail_read, fail_write;
};

static bool mock_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *value)
{
    struct mock_device *d = ctx;
    assert_int_equal(gpa, d->gpa);
    d->reads++;
    d->read_size = size;
    if (d->fail_read)
        return false;
    *value = d->value & (size == 8 ? ~0ull : (1ull << (size * 8)) - 1);
    return true;
}

static bool mock_write(void *ctx, uint64_t gpa, unsigned size, uint64_t value)
{
    struct mock_device *d = ctx;
    assert_int_equal(gpa, d->gpa);
    d->writes++;
    d->write_size = size;
    d->written = value;
    return !d->fail_write;
}

/* A register model built on unions (the host is little-endian), so that it
 * does not share the decoder's masks. */
union gpr_bytes {
    uint64_t q;
    uint32_t d;
    uint16_t w;
    uint8_t b[8];
};

static uint64_t model_read(const uint64_t *gpr, const struct expect_reg *r)
{
    union gpr_bytes u = { .q = gpr[r->num] };
    if (r->high_byte)
        return u.b[1];
    switch (r->size) {
    case 1: return u.b[0];
    case 2: return u.w;
    case 4: return u.d;
    default: return u.q;
    }
}

static void model_write(uint64_t *gpr, const struct expect_reg *r, uint64_t v)
{
    union gpr_bytes u = { .q = gpr[r->num] };
    if (r->high_byte)
        u.b[1] = (uint8_t)v;
    else if (r->size == 1)
        u.b[0] = (uint8_t)v;
    else if (r->size == 2)
        u.w = (uint16_t)v;
    else if (r->size == 4)
        u.q = (uint32_t)v; /* a 32-bit destination clears bits 63:32 */
    else
        u.q = v;
    gpr[r->num] = u.q;
}

static uint64_t model_extend(int op, int size, uint64_t v)
{
    if (op != DECODE_OP_MOVSX)
        return v;
    switch (size) {
    case 1: return (uint64_t)(int64_t)(int8_t)v;
    case 2: return (uint64_t)(int64_t)(int16_t)v;
    case 4: return (uint64_t)(int64_t)(int32_t)v;
    default: return v;
    }
}

static void test_case_emulates(void **state)
{
    const struct decode_case *c = *state;
    size_t len = case_len(c);
    struct decoded_insn insn;
    assert_int_equal(decode_exact(c->start, len, c->mode, &insn), DECODE_OK);
    uint64_t size_mask = c->size == 8 ? ~0ull : (1ull << (c->size * 8)) - 1;

    for (int trial = 0; trial < 64; trial++) {
        struct decode_regs regs, before;
        for (int i = 0; i < 16; i++)
            regs.gpr[i] = rng();
        if (trial < 8) /* some small values, where carries and zeros happen */
            for (int i = 0; i < 16; i++)
                regs.gpr[i] &= 0x81;
        regs.rip = rng();
        regs.rflags = 0x202 | (rng() & RFLAGS_ARITH);
        before = regs;
        struct mock_device dev = { .gpa = rng(), .value = trial < 8 ? rng() & 0x81 : rng() };
        if (trial == 1)
            dev.value = 0;
        struct decode_mmio_ops ops = { mock_read, mock_write, &dev };

        assert_int_equal(decode_emulate(&insn, &regs, dev.gpa, &ops), DECODE_OK);

        uint64_t want_gpr[16];
        memcpy(want_gpr, before.gpr, sizeof(want_gpr));
        uint64_t want_flags = before.rflags, host_flags = 0;
        uint64_t mem = dev.value & size_mask;
        uint64_t src = c->imm.present ? c->imm.value : c->reg.present ? model_read(before.gpr, &c->reg) : 0;
        bool cf = before.rflags & RFLAGS_CF;
        int want_reads = 1, want_writes = 0;
        uint64_t want_written = 0;

        switch (c->kind) {
        case DECODE_KIND_LOAD:
            model_write(want_gpr, &c->reg, model_extend(c->op, c->size, mem));
            break;
        case DECODE_KIND_STORE:
            want_reads = 0;
            want_writes = 1;
            want_written = src & size_mask;
            break;
        case DECODE_KIND_RMW:
            want_writes = 1;
            want_written = host_alu(c->op, c->size, mem, src, cf, &host_flags) & size_mask;
            break;
        case DECODE_KIND_LOAD_ALU:
            model_write(want_gpr, &c->reg, host_alu(c->op, c->size, src, mem, cf, &host_flags));
            break;
        case DECODE_KIND_COMPARE:
            if (c->reg_is_first)
                host_alu(c->op, c->size, src, mem, cf, &host_flags);
            else
                host_alu(c->op, c->size, mem, src, cf, &host_flags);
            break;
        }
        if (c->kind != DECODE_KIND_LOAD && c->kind != DECODE_KIND_STORE) {
            uint64_t fm = defined_flags(c->op);
            want_flags = (want_flags & ~fm) | (host_flags & fm);
            if (is_logical(c->op))
                want_flags &= ~RFLAGS_AF;
        }
        uint64_t want_rip = before.rip + len;
        if (c->mode == DECODE_MODE_32)
            want_rip = (uint32_t)want_rip;
        else if (c->mode == DECODE_MODE_16)
            want_rip = (uint16_t)want_rip;

        assert_int_equal(dev.reads, want_reads);
        assert_int_equal(dev.writes, want_writes);
        if (want_reads)
            assert_int_equal(dev.read_size, c->size);
        if (want_writes) {
            assert_int_equal(dev.write_size, c->size);
            if (dev.written != want_written)
                fail_msg("%s: wrote %#llx, expected %#llx", c->name, (unsigned long long)dev.written,
                         (unsigned long long)want_written);
        }
        for (int i = 0; i < 16; i++)
            if (regs.gpr[i] != want_gpr[i])
                fail_msg("%s: gpr[%d] is %#llx, expected %#llx (mmio %#llx)", c->name, i,
                         (unsigned long long)regs.gpr[i], (unsigned long long)want_gpr[i],
                         (unsigned long long)mem);
        if (regs.rflags != want_flags)
            fail_msg("%s: rflags %#llx, expected %#llx", c->name, (unsigned long long)regs.rflags,
                     (unsigned long long)want_flags);
        assert_int_equal(regs.rip, want_rip);
    }
}

/* ---- 7. explicit emulation results and the effective address ---- */

static struct decoded_insn decode_case(const char *name)
{
    const struct decode_case *c = find_case(name);
    struct decoded_insn insn;
    assert_int_equal(decode_insn(c->start, case_len(c), c->mode, &insn), DECODE_OK);
    return insn;
}

static uint64_t emulate_load(const char *name, int reg, uint64_t before, uint64_t mmio)
{
    struct decoded_insn insn = decode_case(name);
    struct decode_regs regs = { .rip = 0x1000, .rflags = 0x2 };
    regs.gpr[reg] = before;
    struct mock_device dev = { .gpa = 0xfed00000, .value = mmio };
    struct decode_mmio_ops ops = { mock_read, mock_write, &dev };
    assert_int_equal(decode_emulate(&insn, &regs, dev.gpa, &ops), DECODE_OK);
    assert_int_equal(regs.rip, 0x1000 + insn.length);
    assert_int_equal(regs.rflags, 0x2);
    return regs.gpr[reg];
}

static void test_emulate_width_rules(void **state)
{
    (void)state;
    const uint64_t ones = 0xffffffffffffffffull, pattern = 0x1111111111111111ull;
    assert_int_equal(emulate_load("mov_ld32", DECODE_RCX, ones, 0x12345678), 0x12345678);
    assert_int_equal(emulate_load("mov_ld16_rsp", DECODE_RDX, ones, 0xabcd), 0xffffffffffffabcdull);
    assert_int_equal(emulate_load("mov_ld8_dh_rbp", DECODE_RDX, pattern, 0xab), 0x111111111111ab11ull);
    assert_int_equal(emulate_load("mov_ld8_dil", DECODE_RDI, pattern, 0xab), 0x11111111111111abull);
    assert_int_equal(emulate_load("mov_ld64_r15", DECODE_R15, 0, 0x8877665544332211ull), 0x8877665544332211ull);
    assert_int_equal(emulate_load("movsx_b64", DECODE_R11, 0, 0x80), 0xffffffffffffff80ull);
    assert_int_equal(emulate_load("movsx_w32", DECODE_RCX, ones, 0x8000), 0x00000000ffff8000ull);
    assert_int_equal(emulate_load("movsx_b16", DECODE_RCX, pattern, 0xff), 0x111111111111ffffull);
    assert_int_equal(emulate_load("movzx_b16", DECODE_RCX, ones, 0x80), 0xffffffffffff0080ull);
    assert_int_equal(emulate_load("movzx_w64", DECODE_R8, ones, 0xffff), 0xffff);
    assert_int_equal(emulate_load("movsxd", DECODE_RCX, 0, 0x80000000), 0xffffffff80000000ull);
    assert_int_equal(emulate_load("moffs_ld8", DECODE_RAX, pattern, 0x22), 0x1111111111111122ull);
    assert_int_equal(emulate_load("c32_mov_ld8_ah", DECODE_RAX, 0, 0x5a), 0x5a00);

    /* Stores: the register's bytes, AH included, and immediates. */
    struct decode_regs regs = { .rip = 0x2000, .rflags = 0x2 };
    regs.gpr[DECODE_RAX] = 0x1122334455667788ull;
    struct mock_device dev = { .gpa = 0x1000 };
    struct decode_mmio_ops ops = { mock_read, mock_write, &dev };
    struct decoded_insn insn = decode_case("mov_st8_ah");
    assert_int_equal(decode_emulate(&insn, &regs, dev.gpa, &ops), DECODE_OK);
    assert_int_equal(dev.written, 0x77);
    assert_int_equal(dev.write_size, 1);
    insn = decode_case("mov_imm64_neg");
    assert_int_equal(decode_emulate(&insn, &regs, dev.gpa, &ops), DECODE_OK);
    assert_int_equal(dev.written, 0xfffffffffffffffeull);
    assert_int_equal(dev.write_size, 8);
    insn = decode_case("moffs_st64");
    assert_int_equal(decode_emulate(&insn, &regs, dev.gpa, &ops), DECODE_OK);
    assert_int_equal(dev.written, 0x1122334455667788ull);

    /* OR with the sign bit: SF set, ZF/CF/OF clear. */
    insn = decode_case("or_imm8");
    dev = (struct mock_device){ .gpa = 0x1000, .value = 0x01 };
    regs.rflags = 0x2 | RFLAGS_CF | RFLAGS_ZF | RFLAGS_OF;
    assert_int_equal(decode_emulate(&insn, &regs, dev.gpa, &ops), DECODE_OK);
    assert_int_equal(dev.written, 0x81);
    assert_int_equal(regs.rflags, 0x2 | RFLAGS_SF | RFLAGS_PF);
    /* CMP reg, mem and CMP mem, reg: opposite borrows. */
    regs.gpr[DECODE_RAX] = 1;
    dev.value = 2;
    insn = decode_case("cmp_r32"); /* eax - [mem] = 1 - 2 */
    assert_int_equal(decode_emulate(&insn, &regs, dev.gpa, &ops), DECODE_OK);
    assert_true(regs.rflags & RFLAGS_CF);
    assert_true(regs.rflags & RFLAGS_SF);
    insn = decode_case("cmp_rm32"); /* [mem] - eax = 2 - 1 */
    assert_int_equal(decode_emulate(&insn, &regs, dev.gpa, &ops), DECODE_OK);
    assert_false(regs.rflags & (RFLAGS_CF | RFLAGS_SF | RFLAGS_ZF));
    /* TEST with a clear bit: ZF. */
    insn = decode_case("test_imm32");
    dev.value = 0x7fffffff;
    dev.writes = 0;
    assert_int_equal(decode_emulate(&insn, &regs, dev.gpa, &ops), DECODE_OK);
    assert_true(regs.rflags & RFLAGS_ZF);
    assert_int_equal(dev.writes, 0);
}

static void test_emulate_rip_and_failures(void **state)
{
    (void)state;
    struct mock_device dev = { .gpa = 0xfee00000, .value = 0x1234 };
    struct decode_mmio_ops ops = { mock_read, mock_write, &dev };

    /* EIP and IP wrap at the code size. */
    struct decoded_insn insn = decode_case("c32_mov_ld");
    struct decode_regs regs = { .rip = 0xfffffffe, .rflags = 0x2 };
    assert_int_equal(decode_emulate(&insn, &regs, dev.gpa, &ops), DECODE_OK);
    assert_int_equal(regs.rip, 1);
    insn = decode_case("c16_mov_ld");
    regs.rip = 0xffff;
    assert_int_equal(decode_emulate(&insn, &regs, dev.gpa, &ops), DECODE_OK);
    assert_int_equal(regs.rip, 1);
    assert_int_equal(regs.gpr[DECODE_RAX], 0x1234);

    /* A failed read or write leaves every register as it was. */
    insn = decode_case("lock_or32");
    regs = (struct decode_regs){ .rip = 0x5000, .rflags = 0x202 };
    regs.gpr[DECODE_RAX] = 0xff;
    struct decode_regs saved = regs;
    dev.fail_read = true;
    assert_int_equal(decode_emulate(&insn, &regs, dev.gpa, &ops), DECODE_ERR_MMIO);
    assert_memory_equal(&regs, &saved, sizeof(regs));
    assert_int_equal(dev.writes, 0);
    dev.fail_read = false;
    dev.fail_write = true;
    assert_int_equal(decode_emulate(&insn, &regs, dev.gpa, &ops), DECODE_ERR_MMIO);
    assert_memory_equal(&regs, &saved, sizeof(regs));
    insn = decode_case("mov_ld32");
    dev.fail_read = true;
    assert_int_equal(decode_emulate(&insn, &regs, dev.gpa, &ops), DECODE_ERR_MMIO);
    assert_memory_equal(&regs, &saved, sizeof(regs));
    /* Missing callbacks and nonsense structs are refused, not followed. */
    struct decode_mmio_ops no_ops = { NULL, NULL, &dev };
    assert_int_equal(decode_emulate(&insn, &regs, dev.gpa, &no_ops), DECODE_ERR_MMIO);
    assert_int_equal(decode_emulate(NULL, &regs, dev.gpa, &ops), DECODE_ERR_ARGS);
    assert_int_equal(decode_emulate(&insn, NULL, dev.gpa, &ops), DECODE_ERR_ARGS);
    assert_int_equal(decode_emulate(&insn, &regs, dev.gpa, NULL), DECODE_ERR_ARGS);
    insn.size = 3;
    assert_int_equal(decode_emulate(&insn, &regs, dev.gpa, &ops), DECODE_ERR_ARGS);
    insn = decode_case("mov_ld32");
    insn.reg.num = 16;
    assert_int_equal(decode_emulate(&insn, &regs, dev.gpa, &ops), DECODE_ERR_ARGS);
    insn = decode_case("mov_ld32");
    insn.kind = 99;
    dev.fail_read = false;
    assert_int_equal(decode_emulate(&insn, &regs, dev.gpa, &ops), DECODE_ERR_ARGS);
    assert_memory_equal(&regs, &saved, sizeof(regs));
}

static void test_effective_address(void **state)
{
    (void)state;
    struct decode_regs regs = { .rip = 0x400000 };
    struct decoded_insn insn;

    insn = decode_case("mov_ld_sib"); /* 0x10(%rax,%rcx,4) */
    regs.gpr[DECODE_RAX] = 0xfee00000;
    regs.gpr[DECODE_RCX] = 3;
    assert_int_equal(decode_effective_address(&insn, &regs), 0xfee00000 + 12 + 0x10);
    insn = decode_case("mov_imm_rip"); /* $1, 0x10(%rip): relative to the end, imm included */
    assert_int_equal(decode_effective_address(&insn, &regs), 0x400000 + insn.length + 0x10);
    assert_int_equal(insn.length, 10);
    insn = decode_case("mov_st_rip_neg");
    assert_int_equal(decode_effective_address(&insn, &regs), 0x400000 + insn.length - 0x20);
    insn = decode_case("mov_ld_eip"); /* 0x10(%eip) wraps at 4 GiB */
    regs.rip = 0xfffffff0;
    assert_int_equal(decode_effective_address(&insn, &regs), (0xfffffff0 + insn.length + 0x10) & 0xffffffff);
    insn = decode_case("mov_ld_addr32_sib"); /* 4(%r8d,%ecx,2): upper halves ignored */
    regs.gpr[DECODE_R8] = 0xffffffff00001000ull;
    regs.gpr[DECODE_RCX] = 0xaaaaaaaa00000008ull;
    assert_int_equal(decode_effective_address(&insn, &regs), 0x1000 + 16 + 4);
    insn = decode_case("mov_ld_sib_nobase"); /* 0x100(,%rbx,8) */
    regs.gpr[DECODE_RBX] = 0x20;
    assert_int_equal(decode_effective_address(&insn, &regs), 0x200);
    insn = decode_case("mov_ld_abs32_neg");
    assert_int_equal(decode_effective_address(&insn, &regs), 0xfffffffffffffff0ull);
    insn = decode_case("moffs_ld64");
    assert_int_equal(decode_effective_address(&insn, &regs), 0xffffffff80001000ull);
    insn = decode_case("c32_abs_ecx");
    assert_int_equal(decode_effective_address(&insn, &regs), 0xfee00020);
    insn = decode_case("c16_bp_si_disp16"); /* 0x1234(%bp,%si) wraps at 64 KiB */
    regs.gpr[DECODE_RBP] = 0xff00;
    regs.gpr[DECODE_RSI] = 0x1000;
    assert_int_equal(decode_effective_address(&insn, &regs), (0xff00 + 0x1000 + 0x1234) & 0xffff);
    insn = decode_case("c16_si_neg"); /* -2(%si) */
    regs.gpr[DECODE_RSI] = 1;
    assert_int_equal(decode_effective_address(&insn, &regs), 0xffff);
    insn = decode_case("mov_ld_sib_r12_index");
    regs.gpr[DECODE_RAX] = 0x100;
    regs.gpr[DECODE_R12] = 2;
    assert_int_equal(decode_effective_address(&insn, &regs), 0x110);
}

/* ---- seeds for the fuzzer ---- */

static int write_corpus(const char *dir)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct decode_case *c = &cases[i];
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", dir, c->name);
        FILE *f = fopen(path, "wb");
        if (!f) {
            perror(path);
            return 1;
        }
        /* The fuzzer's first byte selects the mode: 0 = 64, 1 = 32, 2 = 16. */
        fputc(c->mode == DECODE_MODE_64 ? 0 : c->mode == DECODE_MODE_32 ? 1 : 2, f);
        fwrite(c->start, 1, case_len(c), f);
        fclose(f);
    }
    printf("%zu seeds in %s\n", sizeof(cases) / sizeof(cases[0]), dir);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0)
        return write_corpus(argv[2]);

    static const struct CMUnitTest general[] = {
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_error_messages),
        cmocka_unit_test(test_prefix_limits),
        cmocka_unit_test(test_rex_rules),
        cmocka_unit_test(test_other_rejects),
        cmocka_unit_test(test_prefix_flags),
        cmocka_unit_test(test_alu_matches_host),
        cmocka_unit_test(test_emulate_width_rules),
        cmocka_unit_test(test_emulate_rip_and_failures),
        cmocka_unit_test(test_effective_address),
    };
    /* One group (the runner reads one "PASSED" line): the general tests,
     * then decode, truncate and emulate for every case of the table. */
    enum { N_GENERAL = sizeof(general) / sizeof(general[0]), N_CASES = sizeof(cases) / sizeof(cases[0]) };
    static struct CMUnitTest tests[N_GENERAL + 3 * N_CASES];
    static char names[3 * N_CASES][80];
    static void (*const per_case[3])(void **) = { test_case_decodes, test_case_truncations, test_case_emulates };
    static const char *const per_case_names[3] = { "decode", "truncate", "emulate" };
    memcpy(tests, general, sizeof(general));
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < N_CASES; i++) {
            int n = k * N_CASES + i;
            snprintf(names[n], sizeof(names[0]), "%s_%s", per_case_names[k], cases[i].name);
            tests[N_GENERAL + n] = (struct CMUnitTest){
                .name = names[n],
                .test_func = per_case[k],
                .initial_state = (void *)&cases[i],
            };
        }
    int failed = _cmocka_run_group_tests("decode", tests, N_GENERAL + 3 * N_CASES, NULL, NULL);
    return failed ? 1 : 0;
}
