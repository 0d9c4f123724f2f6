/* x86 instruction decoder and emulator for the guest's MMIO accesses.
 *
 * On an EPT violation (VMX) or a nested page fault (SVM) on a trapped page the
 * hypervisor knows the guest-physical address but not what the instruction
 * wanted to do; on AMD without next-RIP save it does not even know how long
 * the instruction was. This file decodes the few instruction forms that
 * compilers and firmware use for device registers, and applies one to the
 * guest's registers and a device model:
 *
 *     struct decoded_insn insn;
 *     enum decode_status st = decode_insn(bytes, nbytes, DECODE_MODE_64, &insn);
 *     if (st == DECODE_OK)
 *         st = decode_emulate(&insn, &regs, gpa, &mmio_ops);   // also RIP += length
 *     if (st != DECODE_OK) {
 *         char why[80];
 *         decode_format_error(st, &insn, why, sizeof(why));   // "unsupported opcode 0x0f 0x0b"
 *         ... fatal report ...
 *     }
 *
 * The instruction bytes come from guest memory and are untrusted: the decoder
 * never reads past `len` (nor past 15 bytes), and any form it does not know is
 * reported, never guessed. Pure C, no allocation, no floating point: built
 * for the core (freestanding), the host tests and the fuzzer alike.
 *
 * References are to the Intel SDM Vol. 2 (2.1 instruction format, 2.2.1 REX,
 * Tables 2-1/2-2/2-3 addressing forms, Appendix A opcode maps). */
#ifndef MINIHV_HV_DECODE_H
#define MINIHV_HV_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* SDM Vol. 1 3.3.7 / Vol. 2 2.1: an instruction is at most 15 bytes. */
#define DECODE_MAX_INSN_LEN 15

/* The code segment the instruction runs in; sets the default operand and
 * address sizes (SDM Vol. 1 3.6, Vol. 2 Table 2-4 for long mode). */
enum decode_mode {
    DECODE_MODE_16 = 16, /* real mode, or protected mode with CS.D = 0 */
    DECODE_MODE_32 = 32, /* protected mode or compatibility mode, CS.D = 1 */
    DECODE_MODE_64 = 64, /* 64-bit mode (IA32_EFER.LMA = 1 and CS.L = 1) */
};

enum decode_status {
    DECODE_OK = 0,
    DECODE_ERR_ARGS,         /* NULL pointer or unknown mode */
    DECODE_ERR_TRUNCATED,    /* the bytes end before the instruction does */
    DECODE_ERR_TOO_LONG,     /* more than 15 bytes (e.g. 16 prefixes): #GP on hardware */
    DECODE_ERR_UNSUPPORTED,  /* an opcode (or /digit, or prefix combination) not handled */
    DECODE_ERR_NO_MEMORY,    /* ModRM.mod = 11: a register-only form, cannot be an MMIO access */
    DECODE_ERR_STRING,       /* MOVS/STOS/LODS/CMPS/SCAS (with or without REP) */
    DECODE_ERR_LOCK,         /* LOCK on an instruction that is not a read-modify-write: #UD */
    DECODE_ERR_MMIO,         /* decode_emulate: the device read or write callback failed */
};

/* What the instruction does with the MMIO location. */
enum decode_kind {
    DECODE_KIND_LOAD,     /* reg <- [mem]                 MOV, MOVZX, MOVSX, MOVSXD */
    DECODE_KIND_STORE,    /* [mem] <- reg or imm          MOV, MOVNTI */
    DECODE_KIND_RMW,      /* [mem] <- [mem] op src, flags  ADD/OR/ADC/SBB/AND/SUB/XOR r/m, src */
    DECODE_KIND_LOAD_ALU, /* reg <- reg op [mem], flags    ADD/OR/.../XOR reg, r/m */
    DECODE_KIND_COMPARE,  /* flags <- op of [mem] and src  CMP (either order), TEST */
};

/* The operation. The ALU values are the group-1 /digit numbers (SDM Vol. 2
 * Table A-6), which are also bits 5:3 of the one-byte ALU opcodes 00-3B. */
enum decode_op {
    DECODE_OP_ADD = 0,
    DECODE_OP_OR = 1,
    DECODE_OP_ADC = 2,
    DECODE_OP_SBB = 3,
    DECODE_OP_AND = 4,
    DECODE_OP_SUB = 5,
    DECODE_OP_XOR = 6,
    DECODE_OP_CMP = 7,
    DECODE_OP_TEST = 8,
    DECODE_OP_MOV = 9,   /* also MOVNTI, and MOVSXD without REX.W */
    DECODE_OP_MOVZX = 10,
    DECODE_OP_MOVSX = 11, /* also MOVSXD */
};

/* How a LOAD widens the value read to the register size. */
enum decode_ext {
    DECODE_EXT_NONE, /* same size */
    DECODE_EXT_ZERO, /* MOVZX */
    DECODE_EXT_SIGN, /* MOVSX, MOVSXD */
};

/* Register numbers as encoded (ModRM.reg/rm with REX.R/B, SDM 2.2.1.2). */
enum decode_gpr {
    DECODE_RAX, DECODE_RCX, DECODE_RDX, DECODE_RBX,
    DECODE_RSP, DECODE_RBP, DECODE_RSI, DECODE_RDI,
    DECODE_R8, DECODE_R9, DECODE_R10, DECODE_R11,
    DECODE_R12, DECODE_R13, DECODE_R14, DECODE_R15,
};
#define DECODE_NO_REG (-1)

/* Segment registers, in the sreg encoding order (SDM Vol. 2 3.1.1.1). */
enum decode_seg {
    DECODE_SEG_ES, DECODE_SEG_CS, DECODE_SEG_SS,
    DECODE_SEG_DS, DECODE_SEG_FS, DECODE_SEG_GS,
};

/* A general-purpose register operand. AH/CH/DH/BH (byte registers 4-7
 * without any REX prefix) are given as num = RAX..RBX with high_byte set. */
struct decode_reg {
    uint8_t num;    /* 0-15, enum decode_gpr */
    bool high_byte; /* bits 15:8 of num rather than bits 7:0 */
    uint8_t size;   /* 1, 2, 4 or 8: the register's operand size */
};

/* The memory operand: address = base + index * scale + disp (+ the next
 * instruction's RIP when rip_relative), truncated to addr_size bytes,
 * in segment `seg`. The moffs forms (A0-A3) give the address in disp with
 * neither base nor index. */
struct decode_mem {
    int8_t base;       /* 0-15, or DECODE_NO_REG */
    int8_t index;      /* 0-15, or DECODE_NO_REG */
    uint8_t scale;     /* 1, 2, 4 or 8 */
    bool rip_relative; /* 64-bit mode, ModRM mod=00 rm=101 (SDM 2.2.1.6) */
    uint8_t addr_size; /* 2, 4 or 8 */
    uint8_t seg;       /* enum decode_seg: the override, else DS or SS (rBP/rSP base) */
    bool seg_override; /* a segment prefix was given */
    uint64_t disp;     /* sign-extended to 64 bits (moffs: zero-extended) */
};

struct decoded_insn {
    uint8_t length;      /* bytes, prefixes included; on error, bytes examined */
    uint8_t mode;        /* enum decode_mode it was decoded for */
    uint8_t kind;        /* enum decode_kind */
    uint8_t op;          /* enum decode_op */
    uint8_t ext;         /* enum decode_ext */
    uint8_t size;        /* bytes accessed at the MMIO address: 1, 2, 4 or 8 */
    bool has_reg;        /* `reg` is an operand (source of a store/RMW, destination of a load) */
    bool has_imm;        /* `imm` is the source operand */
    bool reg_is_first;   /* COMPARE only: CMP reg, [mem] (3A/3B) computes reg - [mem] */
    bool lock;           /* F0 */
    bool rep;            /* F3 (ignored by hardware on these forms, or XRELEASE) */
    bool repne;          /* F2 (ignored, or XACQUIRE) */
    bool opsize_prefix;  /* 66 */
    bool addrsize_prefix;/* 67 */
    uint8_t rex;         /* the REX byte in effect (64-bit mode), else 0 */
    uint8_t opcode_len;  /* 1, or 2 with the 0F escape */
    uint8_t opcode[2];   /* the opcode (and error reports: the unsupported one) */
    struct decode_reg reg;
    uint64_t imm;        /* extended to the operand size and masked to it */
    struct decode_mem mem;
};

/* Decodes the instruction at bytes[0..len). Only the first 15 bytes are ever
 * looked at. On success fills *out and returns DECODE_OK; on error returns the
 * reason, with out->length/opcode saying how far it got (for the report). */
enum decode_status decode_insn(const uint8_t *bytes, size_t len, enum decode_mode mode,
                               struct decoded_insn *out);

/* The guest's registers as the exit handler keeps them. gpr[] is in encoding
 * order (enum decode_gpr); rip is the address of the instruction. The caller
 * copies RSP/RIP/RFLAGS from and back to the VMCS/VMCB. */
struct decode_regs {
    uint64_t gpr[16];
    uint64_t rip;
    uint64_t rflags;
};

/* The device model behind the trapped page. size is 1, 2, 4 or 8; a read
 * returns the value zero-extended. Return false to make decode_emulate fail
 * with DECODE_ERR_MMIO (the caller decides: inject #GP, or a fatal report). */
struct decode_mmio_ops {
    bool (*read)(void *ctx, uint64_t gpa, unsigned size, uint64_t *value);
    bool (*write)(void *ctx, uint64_t gpa, unsigned size, uint64_t value);
    void *ctx;
};

/* Carries out a decoded instruction whose memory operand is at `gpa`:
 * reads/writes the device through ops, updates the destination register
 * (a 32-bit write zeroes bits 63:32, 8- and 16-bit writes keep the rest),
 * the arithmetic flags (CF PF AF ZF SF OF; AF is cleared by the logical
 * ops, where the SDM leaves it undefined), and advances RIP by the length
 * (wrapping at 32 or 16 bits outside 64-bit mode). RF, TF single-step and
 * interrupt shadows are the caller's. On failure *regs is unchanged. */
enum decode_status decode_emulate(const struct decoded_insn *insn, struct decode_regs *regs,
                                  uint64_t gpa, const struct decode_mmio_ops *ops);

/* The memory operand's effective address (segment base not added: in 64-bit
 * mode it is 0 except for FS/GS, see insn->mem.seg). */
uint64_t decode_effective_address(const struct decoded_insn *insn,
                                  const struct decode_regs *regs);

/* The ALU step alone: returns dst op src at `size` bytes and updates the six
 * arithmetic flags in *rflags (ADC/SBB read CF from it). op is ADD..TEST. */
uint64_t decode_alu(enum decode_op op, unsigned size, uint64_t dst, uint64_t src,
                    uint64_t *rflags);

/* Register access with the x86 width rules, used by decode_emulate. */
uint64_t decode_reg_read(const struct decode_regs *regs, struct decode_reg reg);
void decode_reg_write(struct decode_regs *regs, struct decode_reg reg, uint64_t value);

/* A short name for a status ("unsupported", "truncated", ...). */
const char *decode_status_name(enum decode_status status);

/* Writes a one-line reason into buf (always NUL-terminated when size > 0),
 * e.g. "unsupported opcode 0x0f 0x0b (length so far 3)". Returns strlen. */
size_t decode_format_error(enum decode_status status, const struct decoded_insn *insn,
                           char *buf, size_t size);

#endif
