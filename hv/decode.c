/* x86 instruction decoder for the guest's MMIO accesses, and its error
 * reports; the emulation of a decoded instruction is emulate.c. The API
 * and its use are described in decode.h. Section and table numbers refer to
 * the Intel SDM Vol. 2 (Instruction Set Reference), chapter 2 and Appendix A. */
#include <minihv/libc.h>

#include "hv/decode.h"
#include "hv/decode_util.h"

/* REX bits (2.2.1.2, Table 2-4). */
#define REX_W 0x08
#define REX_R 0x04
#define REX_X 0x02
#define REX_B 0x01

#define TRY(expr)                                   \
    do {                                            \
        enum decode_status try_status_ = (expr);    \
        if (try_status_ != DECODE_OK)               \
            return try_status_;                     \
    } while (0)

/* The bytes being decoded: never read at or past `len`, nor past 15. */
struct cursor {
    const uint8_t *bytes;
    size_t len;
    size_t pos;
};

static enum decode_status next_byte(struct cursor *c, uint8_t *byte)
{
    if (c->pos >= DECODE_MAX_INSN_LEN)
        return DECODE_ERR_TOO_LONG;
    if (c->pos >= c->len)
        return DECODE_ERR_TRUNCATED;
    *byte = c->bytes[c->pos++];
    return DECODE_OK;
}

/* A little-endian field of n bytes (displacement, immediate, moffs),
 * sign-extended to 64 bits when `is_signed`. */
static enum decode_status take_field(struct cursor *c, unsigned n, bool is_signed, uint64_t *value)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) {
        uint8_t byte;
        TRY(next_byte(c, &byte));
        v |= (uint64_t)byte << (8 * i);
    }
    *value = is_signed ? sign_extend(v, n) : v;
    return DECODE_OK;
}

/* Effective operand size (2.2.1.2, Table 2-4 for 64-bit mode; Vol. 1 3.6). */
static unsigned operand_size(const struct decoded_insn *insn)
{
    if (insn->rex & REX_W)
        return 8;
    unsigned dflt = insn->mode == DECODE_MODE_16 ? 2 : 4;
    if (insn->opsize_prefix)
        return dflt == 2 ? 4 : 2;
    return dflt;
}

/* Effective address size (Vol. 1 3.6; 67 selects the other one). */
static unsigned address_size(const struct decoded_insn *insn)
{
    switch (insn->mode) {
    case DECODE_MODE_64:
        return insn->addrsize_prefix ? 4 : 8;
    case DECODE_MODE_32:
        return insn->addrsize_prefix ? 2 : 4;
    default:
        return insn->addrsize_prefix ? 4 : 2;
    }
}

/* The register named by ModRM.reg (with REX.R) at `size` bytes. Without any
 * REX prefix, byte registers 4-7 are AH, CH, DH, BH (2.2.1.2, Table 3-1). */
static struct decode_reg modrm_reg_operand(const struct decoded_insn *insn, unsigned reg_field,
                                           unsigned size)
{
    struct decode_reg reg = { .num = (uint8_t)reg_field, .high_byte = false, .size = (uint8_t)size };
    if (size == 1 && insn->rex == 0 && reg_field >= 4 && reg_field <= 7) {
        reg.num = (uint8_t)(reg_field - 4);
        reg.high_byte = true;
    }
    return reg;
}

/* 16-bit addressing forms with the ModRM byte (Table 2-1). */
static enum decode_status decode_mem16(struct cursor *c, unsigned mod, unsigned rm,
                                       struct decode_mem *mem)
{
    static const int8_t base16[8] = { DECODE_RBX, DECODE_RBX, DECODE_RBP, DECODE_RBP,
                                      DECODE_RSI, DECODE_RDI, DECODE_RBP, DECODE_RBX };
    static const int8_t index16[8] = { DECODE_RSI, DECODE_RDI, DECODE_RSI, DECODE_RDI,
                                       DECODE_NO_REG, DECODE_NO_REG, DECODE_NO_REG, DECODE_NO_REG };
    mem->base = base16[rm];
    mem->index = index16[rm];
    if (mod == 0 && rm == 6) { /* [disp16] */
        mem->base = DECODE_NO_REG;
        return take_field(c, 2, true, &mem->disp);
    }
    if (mod == 1)
        return take_field(c, 1, true, &mem->disp);
    if (mod == 2)
        return take_field(c, 2, true, &mem->disp);
    return DECODE_OK;
}

/* 32/64-bit addressing forms with the ModRM and SIB bytes (Tables 2-2, 2-3;
 * REX.X/B extensions and their special cases in 2.2.1.2 and Table 2-5;
 * RIP-relative addressing in 2.2.1.6). */
static enum decode_status decode_mem32(struct cursor *c, const struct decoded_insn *insn,
                                       unsigned mod, unsigned rm, struct decode_mem *mem)
{
    unsigned rex_b = (insn->rex & REX_B) ? 8 : 0;
    bool disp32_only = false;

    if (rm == 4) {
        uint8_t sib;
        TRY(next_byte(c, &sib));
        unsigned scale_bits = sib >> 6;
        unsigned index = ((sib >> 3) & 7) | ((insn->rex & REX_X) ? 8 : 0);
        unsigned base = sib & 7;
        mem->scale = (uint8_t)(1u << scale_bits);
        /* index 100 without REX.X means "none"; with REX.X it is R12. */
        mem->index = index == 4 ? DECODE_NO_REG : (int8_t)index;
        if (base == 5 && mod == 0) /* [index*scale + disp32], no base */
            disp32_only = true;
        else
            mem->base = (int8_t)(base | rex_b);
    } else if (rm == 5 && mod == 0) {
        /* [disp32]: RIP-relative in 64-bit mode, absolute otherwise. */
        mem->rip_relative = insn->mode == DECODE_MODE_64;
        disp32_only = true;
    } else {
        mem->base = (int8_t)(rm | rex_b);
    }

    if (disp32_only || mod == 2)
        return take_field(c, 4, true, &mem->disp);
    if (mod == 1)
        return take_field(c, 1, true, &mem->disp);
    return DECODE_OK;
}

/* Reads ModRM (and SIB, displacement): the memory operand into insn->mem and
 * the reg field (REX.R applied) into *reg_field, the raw 3 bits into
 * *digit. mod = 11 (a register operand) is no MMIO access. */
static enum decode_status decode_modrm(struct cursor *c, struct decoded_insn *insn,
                                       unsigned *reg_field, unsigned *digit)
{
    uint8_t modrm;
    TRY(next_byte(c, &modrm));
    unsigned mod = modrm >> 6, rm = modrm & 7;
    *digit = (modrm >> 3) & 7;
    *reg_field = *digit | ((insn->rex & REX_R) ? 8 : 0);
    if (mod == 3)
        return DECODE_ERR_NO_MEMORY;

    struct decode_mem *mem = &insn->mem;
    mem->base = DECODE_NO_REG;
    mem->index = DECODE_NO_REG;
    mem->scale = 1;
    mem->addr_size = (uint8_t)address_size(insn);
    if (mem->addr_size == 2)
        TRY(decode_mem16(c, mod, rm, mem));
    else
        TRY(decode_mem32(c, insn, mod, rm, mem));

    /* Default segment: SS when the base is rSP or rBP, else DS (Vol. 1 3.7.4). */
    if (!mem->seg_override)
        mem->seg = (mem->base == DECODE_RSP || mem->base == DECODE_RBP) ? DECODE_SEG_SS
                                                                         : DECODE_SEG_DS;
    return DECODE_OK;
}

/* An immediate of `n` bytes, sign-extended and then masked to the operand
 * size (imm8 of 83, imm32 of REX.W 81/C7/F7: 2.2.1.5). */
static enum decode_status take_imm(struct cursor *c, struct decoded_insn *insn, unsigned n)
{
    uint64_t v;
    TRY(take_field(c, n, true, &v));
    insn->imm = v & size_mask(insn->size);
    insn->has_imm = true;
    return DECODE_OK;
}

/* The imm16/imm32 ("iz") size of 81, C7, F7. */
static unsigned imm_z_size(unsigned size)
{
    return size == 2 ? 2 : 4;
}

/* Two-byte opcodes 0F xx (Table A-3). */
static enum decode_status decode_0f(struct cursor *c, struct decoded_insn *insn, uint8_t opcode)
{
    unsigned reg_field, digit;

    /* F2/F3 (and 66) are mandatory prefixes in this map: they select another
     * instruction (F3 0F B8 is POPCNT), so refuse rather than guess. */
    if (insn->rep || insn->repne)
        return DECODE_ERR_UNSUPPORTED;

    switch (opcode) {
    case 0xB6: /* MOVZX Gv, Eb */
    case 0xB7: /* MOVZX Gv, Ew */
    case 0xBE: /* MOVSX Gv, Eb */
    case 0xBF: /* MOVSX Gv, Ew */
        TRY(decode_modrm(c, insn, &reg_field, &digit));
        insn->kind = DECODE_KIND_LOAD;
        insn->size = (opcode & 1) ? 2 : 1;
        insn->op = opcode >= 0xBE ? DECODE_OP_MOVSX : DECODE_OP_MOVZX;
        insn->ext = opcode >= 0xBE ? DECODE_EXT_SIGN : DECODE_EXT_ZERO;
        insn->reg = modrm_reg_operand(insn, reg_field, operand_size(insn));
        insn->has_reg = true;
        return DECODE_OK;
    case 0xC3: /* MOVNTI My, Gy: 32 or 64 bits only */
        if (insn->opsize_prefix)
            return DECODE_ERR_UNSUPPORTED;
        TRY(decode_modrm(c, insn, &reg_field, &digit));
        insn->kind = DECODE_KIND_STORE;
        insn->op = DECODE_OP_MOV;
        insn->size = (insn->rex & REX_W) ? 8 : 4;
        insn->reg = modrm_reg_operand(insn, reg_field, insn->size);
        insn->has_reg = true;
        return DECODE_OK;
    default:
        return DECODE_ERR_UNSUPPORTED;
    }
}

/* One-byte opcodes (Table A-2). */
static enum decode_status decode_1byte(struct cursor *c, struct decoded_insn *insn, uint8_t opcode)
{
    unsigned osz = operand_size(insn);
    unsigned reg_field, digit;

    /* ADD/OR/ADC/SBB/AND/SUB/XOR/CMP Eb,Gb / Ev,Gv / Gb,Eb / Gv,Ev:
     * bits 5:3 the operation, bit 1 "reg is the destination", bit 0 "not byte". */
    if (opcode < 0x40 && (opcode & 7) < 4) {
        TRY(decode_modrm(c, insn, &reg_field, &digit));
        bool to_reg = opcode & 2;
        insn->op = opcode >> 3;
        insn->size = (opcode & 1) ? (uint8_t)osz : 1;
        insn->reg = modrm_reg_operand(insn, reg_field, insn->size);
        insn->has_reg = true;
        if (insn->op == DECODE_OP_CMP) {
            insn->kind = DECODE_KIND_COMPARE;
            insn->reg_is_first = to_reg;
        } else {
            insn->kind = to_reg ? DECODE_KIND_LOAD_ALU : DECODE_KIND_RMW;
        }
        return DECODE_OK;
    }

    switch (opcode) {
    case 0x63: /* MOVSXD Gv, Ed (64-bit mode; ARPL elsewhere) */
        if (insn->mode != DECODE_MODE_64)
            return DECODE_ERR_UNSUPPORTED;
        TRY(decode_modrm(c, insn, &reg_field, &digit));
        insn->kind = DECODE_KIND_LOAD;
        insn->size = osz == 8 ? 4 : (uint8_t)osz;
        insn->op = osz == 8 ? DECODE_OP_MOVSX : DECODE_OP_MOV;
        insn->ext = osz == 8 ? DECODE_EXT_SIGN : DECODE_EXT_NONE;
        insn->reg = modrm_reg_operand(insn, reg_field, osz);
        insn->has_reg = true;
        return DECODE_OK;

    case 0x80: /* group 1 Eb, Ib */
    case 0x81: /* group 1 Ev, Iz */
    case 0x83: /* group 1 Ev, Ib (sign-extended) */
        TRY(decode_modrm(c, insn, &reg_field, &digit));
        insn->op = (uint8_t)digit;
        insn->size = opcode == 0x80 ? 1 : (uint8_t)osz;
        insn->kind = digit == DECODE_OP_CMP ? DECODE_KIND_COMPARE : DECODE_KIND_RMW;
        return take_imm(c, insn, opcode == 0x81 ? imm_z_size(osz) : 1);

    case 0x84: /* TEST Eb, Gb */
    case 0x85: /* TEST Ev, Gv */
        TRY(decode_modrm(c, insn, &reg_field, &digit));
        insn->kind = DECODE_KIND_COMPARE;
        insn->op = DECODE_OP_TEST;
        insn->size = opcode == 0x84 ? 1 : (uint8_t)osz;
        insn->reg = modrm_reg_operand(insn, reg_field, insn->size);
        insn->has_reg = true;
        return DECODE_OK;

    case 0x88: /* MOV Eb, Gb */
    case 0x89: /* MOV Ev, Gv */
    case 0x8A: /* MOV Gb, Eb */
    case 0x8B: /* MOV Gv, Ev */
        TRY(decode_modrm(c, insn, &reg_field, &digit));
        insn->kind = (opcode & 2) ? DECODE_KIND_LOAD : DECODE_KIND_STORE;
        insn->op = DECODE_OP_MOV;
        insn->size = (opcode & 1) ? (uint8_t)osz : 1;
        insn->reg = modrm_reg_operand(insn, reg_field, insn->size);
        insn->has_reg = true;
        return DECODE_OK;

    case 0xA0: /* MOV AL, Ob */
    case 0xA1: /* MOV rAX, Ov */
    case 0xA2: /* MOV Ob, AL */
    case 0xA3: /* MOV Ov, rAX */
        /* moffs: an address-size offset, no ModRM (2.2.1.4: 64 bits in
         * 64-bit mode, unaffected by REX.W). */
        insn->kind = (opcode & 2) ? DECODE_KIND_STORE : DECODE_KIND_LOAD;
        insn->op = DECODE_OP_MOV;
        insn->size = (opcode & 1) ? (uint8_t)osz : 1;
        insn->reg = (struct decode_reg){ .num = DECODE_RAX, .size = insn->size };
        insn->has_reg = true;
        insn->mem.base = DECODE_NO_REG;
        insn->mem.index = DECODE_NO_REG;
        insn->mem.scale = 1;
        insn->mem.addr_size = (uint8_t)address_size(insn);
        if (!insn->mem.seg_override)
            insn->mem.seg = DECODE_SEG_DS;
        return take_field(c, insn->mem.addr_size, false, &insn->mem.disp);

    case 0xA4: case 0xA5: /* MOVS */
    case 0xA6: case 0xA7: /* CMPS */
    case 0xAA: case 0xAB: /* STOS */
    case 0xAC: case 0xAD: /* LODS */
    case 0xAE: case 0xAF: /* SCAS */
        return DECODE_ERR_STRING;

    case 0xC6: /* group 11: MOV Eb, Ib */
    case 0xC7: /* group 11: MOV Ev, Iz */
        TRY(decode_modrm(c, insn, &reg_field, &digit));
        if (digit != 0)
            return DECODE_ERR_UNSUPPORTED;
        insn->kind = DECODE_KIND_STORE;
        insn->op = DECODE_OP_MOV;
        insn->size = opcode == 0xC6 ? 1 : (uint8_t)osz;
        return take_imm(c, insn, opcode == 0xC6 ? 1 : imm_z_size(osz));

    case 0xF6: /* group 3: TEST Eb, Ib */
    case 0xF7: /* group 3: TEST Ev, Iz */
        TRY(decode_modrm(c, insn, &reg_field, &digit));
        if (digit != 0) /* NOT, NEG, MUL, DIV...; /1 is an undocumented TEST alias */
            return DECODE_ERR_UNSUPPORTED;
        insn->kind = DECODE_KIND_COMPARE;
        insn->op = DECODE_OP_TEST;
        insn->size = opcode == 0xF6 ? 1 : (uint8_t)osz;
        return take_imm(c, insn, opcode == 0xF6 ? 1 : imm_z_size(osz));

    default:
        return DECODE_ERR_UNSUPPORTED;
    }
}

static enum decode_status decode_body(struct cursor *c, struct decoded_insn *insn)
{
    uint8_t byte;

    /* Legacy prefixes in any order (2.1.1), then REX (2.2.1): a REX that is
     * followed by a legacy prefix is ignored, so only the last REX right
     * before the opcode counts. In 16/32-bit mode 40-4F are INC/DEC. */
    for (;;) {
        TRY(next_byte(c, &byte));
        switch (byte) {
        case 0xF0: insn->lock = true; break;
        case 0xF2: insn->repne = true; insn->rep = false; break;
        case 0xF3: insn->rep = true; insn->repne = false; break;
        case 0x66: insn->opsize_prefix = true; break;
        case 0x67: insn->addrsize_prefix = true; break;
        case 0x26: insn->mem.seg = DECODE_SEG_ES; insn->mem.seg_override = true; break;
        case 0x2E: insn->mem.seg = DECODE_SEG_CS; insn->mem.seg_override = true; break;
        case 0x36: insn->mem.seg = DECODE_SEG_SS; insn->mem.seg_override = true; break;
        case 0x3E: insn->mem.seg = DECODE_SEG_DS; insn->mem.seg_override = true; break;
        case 0x64: insn->mem.seg = DECODE_SEG_FS; insn->mem.seg_override = true; break;
        case 0x65: insn->mem.seg = DECODE_SEG_GS; insn->mem.seg_override = true; break;
        default:
            if (insn->mode == DECODE_MODE_64 && (byte & 0xF0) == 0x40) {
                insn->rex = byte;
                continue;
            }
            goto opcode;
        }
        insn->rex = 0;
    }

opcode:
    insn->opcode[0] = byte;
    insn->opcode_len = 1;
    enum decode_status status;
    if (byte == 0x0F) {
        TRY(next_byte(c, &byte));
        insn->opcode[1] = byte;
        insn->opcode_len = 2;
        status = decode_0f(c, insn, byte);
    } else {
        status = decode_1byte(c, insn, byte);
    }
    if (status != DECODE_OK)
        return status;

    /* LOCK is only valid on a read-modify-write of memory (Vol. 2 LOCK). */
    if (insn->lock && insn->kind != DECODE_KIND_RMW)
        return DECODE_ERR_LOCK;
    return DECODE_OK;
}

enum decode_status decode_insn(const uint8_t *bytes, size_t len, enum decode_mode mode,
                               struct decoded_insn *out)
{
    if (!out)
        return DECODE_ERR_ARGS;
    /* Zeroed by assignment: the compiler stores 48 bytes in a few moves,
     * the core's memset loops byte by byte (~190 of an emulated APIC
     * write's 440 decode instructions, docs/bench.md). */
    *out = (struct decoded_insn){ 0 };
    if (mode != DECODE_MODE_16 && mode != DECODE_MODE_32 && mode != DECODE_MODE_64)
        return DECODE_ERR_ARGS;
    if (!bytes)
        len = 0;
    out->mode = (uint8_t)mode;
    struct cursor c = { .bytes = bytes, .len = len, .pos = 0 };
    enum decode_status status = decode_body(&c, out);
    out->length = (uint8_t)c.pos;
    return status;
}

/* ---- error reports ---- */

const char *decode_status_name(enum decode_status status)
{
    switch (status) {
    case DECODE_OK: return "ok";
    case DECODE_ERR_ARGS: return "bad arguments";
    case DECODE_ERR_TRUNCATED: return "truncated instruction";
    case DECODE_ERR_TOO_LONG: return "instruction longer than 15 bytes";
    case DECODE_ERR_UNSUPPORTED: return "unsupported";
    case DECODE_ERR_NO_MEMORY: return "no memory operand";
    case DECODE_ERR_STRING: return "unsupported string instruction";
    case DECODE_ERR_LOCK: return "LOCK prefix not allowed";
    case DECODE_ERR_MMIO: return "MMIO access failed";
    }
    return "unknown status";
}

struct text {
    char *buf;
    size_t size, len;
};

static void put_char(struct text *t, char ch)
{
    if (t->len + 1 < t->size)
        t->buf[t->len] = ch;
    t->len++;
}

static void put_str(struct text *t, const char *s)
{
    while (*s)
        put_char(t, *s++);
}

static void put_hex8(struct text *t, uint8_t v)
{
    static const char digits[] = "0123456789abcdef";
    put_str(t, "0x");
    put_char(t, digits[v >> 4]);
    put_char(t, digits[v & 15]);
}

static void put_dec(struct text *t, unsigned v)
{
    if (v >= 10)
        put_dec(t, v / 10);
    put_char(t, (char)('0' + v % 10));
}

size_t decode_format_error(enum decode_status status, const struct decoded_insn *insn,
                           char *buf, size_t size)
{
    struct text t = { .buf = buf, .size = buf ? size : 0, .len = 0 };
    put_str(&t, decode_status_name(status));
    if (insn && insn->opcode_len > 0 && insn->opcode_len <= 2) {
        put_str(&t, " opcode");
        for (unsigned i = 0; i < insn->opcode_len; i++) {
            put_char(&t, ' ');
            put_hex8(&t, insn->opcode[i]);
        }
    }
    if (insn && status != DECODE_OK) {
        put_str(&t, " (after ");
        put_dec(&t, insn->length);
        put_str(&t, " bytes)");
    }
    if (t.size > 0)
        t.buf[t.len < t.size ? t.len : t.size - 1] = '\0';
    return t.len < t.size ? t.len : (t.size ? t.size - 1 : 0);
}
