/* The decoder's test instructions, encoded by GNU as: each case of
 * decode_cases.h becomes dc_NAME_start: <instruction> dc_NAME_end:, in the
 * case's code size, so test_decode.c knows the exact bytes and length as
 * assembled. The bytes are only read, never run: they live in .rodata. */
#define UNPAREN(...) __VA_ARGS__
#define CODE_64 .code64
#define CODE_32 .code32
#define CODE_16 .code16
#define EMIT(name, mode, insn)                                   \
    CODE_##mode;                                                 \
    .globl dc_##name##_start, dc_##name##_end;                   \
    dc_##name##_start: UNPAREN insn; dc_##name##_end: ; .code64
#define CASE(name, mode, insn, ...) EMIT(name, mode, insn)
#define REJECT(name, mode, insn, ...) EMIT(name, mode, insn)

    .section .rodata.decode_cases, "a"
#include "decode_cases.h"

    .section .note.GNU-stack, "", @progbits
