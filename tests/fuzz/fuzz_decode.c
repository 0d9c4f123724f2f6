/* libFuzzer target for hv/decode.c: guest instruction bytes are untrusted.
 *
 * Input: byte 0 selects the mode (0 = 64-bit, 1 = 32-bit, 2 = 16-bit, by
 * value mod 3), the rest are the instruction bytes. Besides the sanitizers,
 * checks the decoder's promises: it never claims more bytes than it was
 * given or than 15; a success is self-consistent, decodes the same from
 * exactly `length` bytes and fails on fewer; emulation touches the device
 * as the kind says and advances RIP by the length. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/decode.h"

#define CHECK(cond)        \
    do {                   \
        if (!(cond))       \
            abort();       \
    } while (0)

struct fuzz_device {
    uint64_t value;
    int reads, writes;
    unsigned last_size;
};

static bool fuzz_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *value)
{
    struct fuzz_device *d = ctx;
    (void)gpa;
    CHECK(size == 1 || size == 2 || size == 4 || size == 8);
    d->reads++;
    d->last_size = size;
    *value = d->value & (size == 8 ? ~0ull : (1ull << (size * 8)) - 1);
    return true;
}

static bool fuzz_write(void *ctx, uint64_t gpa, unsigned size, uint64_t value)
{
    struct fuzz_device *d = ctx;
    (void)gpa;
    CHECK(size == 1 || size == 2 || size == 4 || size == 8);
    CHECK(size == 8 || value >> (size * 8) == 0);
    d->writes++;
    d->last_size = size;
    return true;
}

static bool same_decode(const struct decoded_insn *a, const struct decoded_insn *b)
{
    return a->length == b->length && a->kind == b->kind && a->op == b->op && a->ext == b->ext &&
           a->size == b->size && a->has_reg == b->has_reg && a->has_imm == b->has_imm &&
           a->reg.num == b->reg.num && a->reg.high_byte == b->reg.high_byte &&
           a->reg.size == b->reg.size && a->imm == b->imm && a->mem.base == b->mem.base &&
           a->mem.index == b->mem.index && a->mem.scale == b->mem.scale &&
           a->mem.rip_relative == b->mem.rip_relative && a->mem.addr_size == b->mem.addr_size &&
           a->mem.disp == b->mem.disp && a->mem.seg == b->mem.seg;
}

static bool valid_size(unsigned s)
{
    return s == 1 || s == 2 || s == 4 || s == 8;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum decode_mode modes[3] = { DECODE_MODE_64, DECODE_MODE_32, DECODE_MODE_16 };
    if (size < 1)
        return 0;
    enum decode_mode mode = modes[data[0] % 3];
    const uint8_t *bytes = data + 1;
    size_t n = size - 1;

    struct decoded_insn insn;
    enum decode_status st = decode_insn(n ? bytes : NULL, n, mode, &insn);
    CHECK(insn.length <= DECODE_MAX_INSN_LEN);
    CHECK(insn.length <= n);

    char why[96];
    size_t len = decode_format_error(st, &insn, why, sizeof(why));
    CHECK(len < sizeof(why) && strlen(why) == len);
    char tiny[5];
    len = decode_format_error(st, &insn, tiny, sizeof(tiny));
    CHECK(len < sizeof(tiny) && strlen(tiny) == len);

    if (st != DECODE_OK)
        return 0;

    /* A success is self-consistent. */
    CHECK(insn.length >= 1);
    CHECK(insn.mode == mode);
    CHECK(valid_size(insn.size));
    CHECK(insn.kind <= DECODE_KIND_COMPARE);
    CHECK(insn.op <= DECODE_OP_MOVSX);
    CHECK(insn.has_reg || insn.has_imm);
    CHECK(!(insn.has_reg && insn.has_imm));
    if (insn.has_reg) {
        CHECK(insn.reg.num < 16);
        CHECK(valid_size(insn.reg.size));
        CHECK(!insn.reg.high_byte || (insn.reg.num < 4 && insn.reg.size == 1 && insn.rex == 0));
    }
    if (insn.has_imm)
        CHECK(insn.size == 8 || insn.imm >> (insn.size * 8) == 0);
    CHECK(insn.mem.base >= DECODE_NO_REG && insn.mem.base < 16);
    CHECK(insn.mem.index >= DECODE_NO_REG && insn.mem.index < 16 && insn.mem.index != DECODE_RSP);
    CHECK(insn.mem.scale == 1 || insn.mem.scale == 2 || insn.mem.scale == 4 || insn.mem.scale == 8);
    CHECK(insn.mem.addr_size == 2 || insn.mem.addr_size == 4 || insn.mem.addr_size == 8);
    CHECK(insn.mem.seg <= DECODE_SEG_GS);
    CHECK(!insn.mem.rip_relative || (mode == DECODE_MODE_64 && insn.mem.base == DECODE_NO_REG));
    CHECK(!insn.lock || insn.kind == DECODE_KIND_RMW);
    CHECK(insn.rex == 0 || mode == DECODE_MODE_64);

    /* The same from exactly `length` bytes (heap copy: ASan sees overruns),
     * and truncated one byte shorter. */
    uint8_t *exact = malloc(insn.length);
    CHECK(exact);
    memcpy(exact, bytes, insn.length);
    struct decoded_insn again;
    CHECK(decode_insn(exact, insn.length, mode, &again) == DECODE_OK);
    CHECK(same_decode(&insn, &again));
    CHECK(decode_insn(exact, insn.length - 1u, mode, &again) == DECODE_ERR_TRUNCATED);
    free(exact);

    /* Emulate with registers and an MMIO value taken from the input. */
    struct decode_regs regs;
    memset(&regs, 0, sizeof(regs));
    for (size_t i = 0; i < 16; i++)
        regs.gpr[i] = 0x0101010101010101ull * (uint8_t)(data[i % size] + i);
    regs.rip = 0xfffffffffffffff0ull + data[size - 1];
    regs.rflags = 0x202 | (data[0] & 0xd5);
    struct decode_regs before = regs;
    struct fuzz_device dev = { .value = regs.gpr[data[size / 2] & 15] ^ 0x8040201008040201ull };
    struct decode_mmio_ops ops = { fuzz_read, fuzz_write, &dev };
    (void)decode_effective_address(&insn, &regs);
    CHECK(decode_emulate(&insn, &regs, 0xfed00000, &ops) == DECODE_OK);

    CHECK(dev.reads == (insn.kind == DECODE_KIND_STORE ? 0 : 1));
    CHECK(dev.writes == (insn.kind == DECODE_KIND_STORE || insn.kind == DECODE_KIND_RMW ? 1 : 0));
    CHECK(dev.last_size == insn.size);
    uint64_t rip = before.rip + insn.length;
    if (mode == DECODE_MODE_32)
        rip &= 0xffffffffull;
    else if (mode == DECODE_MODE_16)
        rip &= 0xffffull;
    CHECK(regs.rip == rip);
    /* Only RFLAGS' arithmetic bits may change, and only for ALU kinds. */
    CHECK((regs.rflags & ~0x8d5ull) == (before.rflags & ~0x8d5ull));
    if (insn.kind == DECODE_KIND_LOAD || insn.kind == DECODE_KIND_STORE)
        CHECK(regs.rflags == before.rflags);
    /* At most the destination register changes. */
    for (int i = 0; i < 16; i++) {
        bool dest = insn.has_reg && insn.reg.num == i &&
                    (insn.kind == DECODE_KIND_LOAD || insn.kind == DECODE_KIND_LOAD_ALU);
        if (!dest)
            CHECK(regs.gpr[i] == before.gpr[i]);
    }
    return 0;
}
