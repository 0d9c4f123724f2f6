/* The emulation of an instruction decode.c decoded: the ALU with its
 * flags, register and effective-address access, and one access carried out
 * against a device model's read/write callbacks (decode.h has the API).
 * Section numbers refer to the Intel SDM. */
#include <minihv/libc.h>

#include "hv/decode.h"
#include "hv/decode_util.h"

/* RFLAGS bits the ALU instructions write (SDM Vol. 1 3.4.3.1). */
#define RFLAGS_CF (1ull << 0)
#define RFLAGS_PF (1ull << 2)
#define RFLAGS_AF (1ull << 4)
#define RFLAGS_ZF (1ull << 6)
#define RFLAGS_SF (1ull << 7)
#define RFLAGS_OF (1ull << 11)
#define RFLAGS_ARITH (RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF)

static bool parity_even(uint64_t value)
{
    uint8_t b = (uint8_t)value;
    b ^= b >> 4;
    b ^= b >> 2;
    b ^= b >> 1;
    return !(b & 1);
}

uint64_t decode_alu(enum decode_op op, unsigned size, uint64_t dst, uint64_t src,
                    uint64_t *rflags)
{
    if (size != 1 && size != 2 && size != 4 && size != 8)
        size = 8;
    uint64_t mask = size_mask(size);
    uint64_t msb = 1ull << (size * 8 - 1);
    uint64_t a = dst & mask, b = src & mask;
    uint64_t carry_in = (*rflags & RFLAGS_CF) ? 1 : 0;
    uint64_t r, flags = 0;

    switch (op) {
    case DECODE_OP_ADD:
    case DECODE_OP_ADC:
        r = (a + b + (op == DECODE_OP_ADC ? carry_in : 0)) & mask;
        if (((a & b) | ((a | b) & ~r)) & msb) /* carry out of the top bit */
            flags |= RFLAGS_CF;
        if ((a ^ r) & (b ^ r) & msb) /* both inputs' sign differs from the result's */
            flags |= RFLAGS_OF;
        flags |= (a ^ b ^ r) & RFLAGS_AF; /* carry out of bit 3 */
        break;
    case DECODE_OP_SUB:
    case DECODE_OP_SBB:
    case DECODE_OP_CMP:
        r = (a - b - (op == DECODE_OP_SBB ? carry_in : 0)) & mask;
        if (((~a & b) | (~(a ^ b) & r)) & msb) /* borrow into the top bit */
            flags |= RFLAGS_CF;
        if ((a ^ b) & (a ^ r) & msb)
            flags |= RFLAGS_OF;
        flags |= (a ^ b ^ r) & RFLAGS_AF;
        break;
    case DECODE_OP_OR:
        r = a | b;
        break;
    case DECODE_OP_XOR:
        r = a ^ b;
        break;
    case DECODE_OP_AND:
    case DECODE_OP_TEST:
    default:
        r = a & b;
        break;
    }
    if (r == 0)
        flags |= RFLAGS_ZF;
    if (r & msb)
        flags |= RFLAGS_SF;
    if (parity_even(r))
        flags |= RFLAGS_PF;
    *rflags = (*rflags & ~RFLAGS_ARITH) | flags;
    return r;
}

uint64_t decode_reg_read(const struct decode_regs *regs, struct decode_reg reg)
{
    uint64_t v = regs->gpr[reg.num & 15];
    if (reg.high_byte)
        return (v >> 8) & 0xff;
    return v & size_mask(reg.size);
}

/* SDM Vol. 1 3.4.1.1: 32-bit results are zero-extended to 64 bits, 8- and
 * 16-bit results leave the rest of the register alone. */
void decode_reg_write(struct decode_regs *regs, struct decode_reg reg, uint64_t value)
{
    uint64_t *r = &regs->gpr[reg.num & 15];
    if (reg.high_byte)
        *r = (*r & ~0xff00ull) | ((value & 0xff) << 8);
    else if (reg.size == 4)
        *r = value & 0xffffffffull;
    else if (reg.size >= 8)
        *r = value;
    else
        *r = (*r & ~size_mask(reg.size)) | (value & size_mask(reg.size));
}

uint64_t decode_effective_address(const struct decoded_insn *insn,
                                  const struct decode_regs *regs)
{
    const struct decode_mem *mem = &insn->mem;
    uint64_t ea = mem->disp;
    if (mem->rip_relative)
        ea += regs->rip + insn->length;
    if (mem->base >= 0 && mem->base < 16)
        ea += regs->gpr[mem->base];
    if (mem->index >= 0 && mem->index < 16)
        ea += regs->gpr[mem->index] * mem->scale;
    return ea & size_mask(mem->addr_size ? mem->addr_size : 8);
}

static bool valid_size(unsigned size)
{
    return size == 1 || size == 2 || size == 4 || size == 8;
}

enum decode_status decode_emulate(const struct decoded_insn *insn, struct decode_regs *regs,
                                  uint64_t gpa, const struct decode_mmio_ops *ops)
{
    if (!insn || !regs || !ops || !valid_size(insn->size) ||
        (insn->has_reg && (insn->reg.num > 15 || !valid_size(insn->reg.size))))
        return DECODE_ERR_ARGS;

    struct decode_regs next = *regs;
    unsigned size = insn->size;
    uint64_t mask = size_mask(size);
    uint64_t src = insn->has_imm ? insn->imm : insn->has_reg ? decode_reg_read(regs, insn->reg) : 0;
    uint64_t value = 0;
    bool reads = insn->kind != DECODE_KIND_STORE;

    if (reads) {
        if (!ops->read || !ops->read(ops->ctx, gpa, size, &value))
            return DECODE_ERR_MMIO;
        value &= mask;
    }

    switch (insn->kind) {
    case DECODE_KIND_LOAD:
        if (!insn->has_reg)
            return DECODE_ERR_ARGS;
        if (insn->ext == DECODE_EXT_SIGN)
            value = sign_extend(value, size);
        decode_reg_write(&next, insn->reg, value);
        break;
    case DECODE_KIND_STORE:
        if (!ops->write || !ops->write(ops->ctx, gpa, size, src & mask))
            return DECODE_ERR_MMIO;
        break;
    case DECODE_KIND_RMW: {
        uint64_t result = decode_alu(insn->op, size, value, src, &next.rflags);
        if (!ops->write || !ops->write(ops->ctx, gpa, size, result))
            return DECODE_ERR_MMIO;
        break;
    }
    case DECODE_KIND_LOAD_ALU:
        if (!insn->has_reg)
            return DECODE_ERR_ARGS;
        decode_reg_write(&next, insn->reg, decode_alu(insn->op, size, src, value, &next.rflags));
        break;
    case DECODE_KIND_COMPARE:
        if (insn->reg_is_first)
            decode_alu(insn->op, size, src, value, &next.rflags);
        else
            decode_alu(insn->op, size, value, src, &next.rflags);
        break;
    default:
        return DECODE_ERR_ARGS;
    }

    /* The instruction pointer wraps at the code segment's size. */
    next.rip = regs->rip + insn->length;
    if (insn->mode == DECODE_MODE_32)
        next.rip &= 0xffffffffull;
    else if (insn->mode == DECODE_MODE_16)
        next.rip &= 0xffffull;
    *regs = next;
    return DECODE_OK;
}
