/* The fuzzer's fault recovery (see fuzzguest.h). Each CPU gets a copy of
 * its IDT with vectors 0-31 (not #DF and #MC), NMI and FZ_IPI_VEC pointed
 * at the stubs below; the struct fz_cpu sits right after the copy, so the
 * handler finds it with SIDT (no per-CPU register needed). Frames: SDM
 * Vol. 3A 6.14.1 (64-bit mode: SS, RSP, RFLAGS, CS, RIP, then the error
 * code for the vectors of 6.15 Table 6-1 that have one). A fault while
 * armed resumes at fz_try's return with RSP restored and RFLAGS.TF clear;
 * a #DB while single-stepping counts and returns; an NMI or FZ_IPI_VEC
 * counts (the IPI also EOIs, the xAPIC EOI register, SDM 10.8.5); anything
 * else goes on to the handler that was there. */
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "tests/guests/fuzzguest.h"
#include "tests/guests/guard.h"

#define FZ_STUB_ERR(v) \
    ".balign 16\n fz_stub_" #v ":\n pushq $(" #v " | 0x100)\n jmp fz_common\n"
#define FZ_STUB(v) \
    ".balign 16\n fz_stub_" #v ":\n pushq $0\n pushq $" #v "\n jmp fz_common\n"

__asm__(
    ".text\n"
    /* Stack at fz_common: vec(|0x100 with a CPU error code), error code or
     * the stub's 0, RIP, CS, RFLAGS, RSP, SS. */
    "fz_common:\n"
    "    push %rax\n"
    "    push %rcx\n"
    "    push %rdx\n"
    /* 0 rdx, 8 rcx, 16 rax, 24 vec, 32 err, 40 rip, 48 cs, 56 rflags, 64 rsp, 72 ss */
    "    sub $16, %rsp\n"
    "    sidt (%rsp)\n"
    "    mov 2(%rsp), %rax\n"
    "    add $16, %rsp\n"
    "    add $4096, %rax\n"
    "    movzbl 24(%rsp), %ecx\n"
    "    cmp $2, %ecx\n"
    "    je 5f\n"
    "    cmp $0xf1, %ecx\n"
    "    je 6f\n"
    "    cmp $1, %ecx\n"
    "    jne 1f\n"
    "    cmpq $0, 24(%rax)\n"
    "    je 1f\n"
    "    incq 32(%rax)\n"           /* single-step trap: count, go on */
    "    jmp 8f\n"
    "1:  cmpq $0, 8(%rax)\n"
    "    je 7f\n"
    "    mov 32(%rsp), %rdx\n"      /* armed: the report */
    "    shl $8, %rdx\n"
    "    or %rcx, %rdx\n"
    "    bts $63, %rdx\n"
    "    mov %rdx, 16(%rax)\n"
    "    movq $0, 8(%rax)\n"
    "    lea fz_try_resume(%rip), %rdx\n"
    "    mov %rdx, 40(%rsp)\n"
    "    mov 0(%rax), %rdx\n"
    "    mov %rdx, 64(%rsp)\n"
    "    andq $~0x100, 56(%rsp)\n"
    "    jmp 8f\n"
    "5:  incq 40(%rax)\n"           /* NMI */
    "    jmp 8f\n"
    "6:  incq 48(%rax)\n"           /* the fuzzer's fixed IPI: EOI */
    "    mov $0xfee000b0, %edx\n"
    "    movl $0, (%rdx)\n"
    "    jmp 8f\n"
    "7:  mov 56(%rax,%rcx,8), %rdx\n" /* chain to the original handler */
    "    testl $0x100, 24(%rsp)\n"
    "    jnz 9f\n"
    "    mov %rdx, 32(%rsp)\n"      /* no CPU error code: drop vec and the 0 */
    "    pop %rdx\n"
    "    pop %rcx\n"
    "    pop %rax\n"
    "    add $8, %rsp\n"
    "    ret\n"
    "9:  mov %rdx, 24(%rsp)\n"      /* with one: drop vec, keep the code */
    "    pop %rdx\n"
    "    pop %rcx\n"
    "    pop %rax\n"
    "    ret\n"
    "8:  pop %rdx\n"
    "    pop %rcx\n"
    "    pop %rax\n"
    "    add $16, %rsp\n"
    "    iretq\n"

    FZ_STUB(0) FZ_STUB(1) FZ_STUB(2) FZ_STUB(3) FZ_STUB(4) FZ_STUB(5) FZ_STUB(6) FZ_STUB(7)
    FZ_STUB(9) FZ_STUB_ERR(10) FZ_STUB_ERR(11) FZ_STUB_ERR(12) FZ_STUB_ERR(13) FZ_STUB_ERR(14)
    FZ_STUB(15) FZ_STUB(16) FZ_STUB_ERR(17) FZ_STUB(19) FZ_STUB(20) FZ_STUB_ERR(21) FZ_STUB(22)
    FZ_STUB(23) FZ_STUB(24) FZ_STUB(25) FZ_STUB(26) FZ_STUB(27) FZ_STUB(28) FZ_STUB_ERR(29)
    FZ_STUB_ERR(30) FZ_STUB(31) FZ_STUB(0xf1)

    /* uint64_t fz_try(fn %rdi, arg %rsi, cpu %rdx, tf %rcx) */
    ".globl fz_try\n"
    ".hidden fz_try\n"
    "fz_try:\n"
    "    push %rbx\n"
    "    push %rbp\n"
    "    push %r12\n"
    "    push %r13\n"
    "    push %r14\n"
    "    push %r15\n"
    "    push %rdx\n"
    "    mov %rsp, 0(%rdx)\n"
    "    movq $0, 16(%rdx)\n"
    "    movq $1, 8(%rdx)\n"
    "    mov %rdi, %rax\n"
    "    mov %rsi, %rdi\n"
    "    test %rcx, %rcx\n"
    "    jz 1f\n"
    "    movq $1, 24(%rdx)\n"
    "    pushfq\n"
    "    orq $0x100, (%rsp)\n"
    "    popfq\n"
    "1:  call *%rax\n"
    "    pushfq\n"
    "    andq $~0x100, (%rsp)\n"
    "    popfq\n"
    "    mov (%rsp), %rdx\n"
    "    movq $0, 8(%rdx)\n"
    "    movq $0, 24(%rdx)\n"
    "    xor %eax, %eax\n"
    "    jmp 2f\n"
    ".globl fz_try_resume\n"
    ".hidden fz_try_resume\n"
    "fz_try_resume:\n"
    "    cld\n"
    "    mov (%rsp), %rdx\n"
    "    movq $0, 8(%rdx)\n"
    "    movq $0, 24(%rdx)\n"
    "    mov 16(%rdx), %rax\n"
    "2:  add $8, %rsp\n"
    "    pop %r15\n"
    "    pop %r14\n"
    "    pop %r13\n"
    "    pop %r12\n"
    "    pop %rbp\n"
    "    pop %rbx\n"
    "    ret\n");

#define FZ_DECL(v) extern char fz_stub_##v[] __attribute__((visibility("hidden")));
FZ_DECL(0) FZ_DECL(1) FZ_DECL(2) FZ_DECL(3) FZ_DECL(4) FZ_DECL(5) FZ_DECL(6) FZ_DECL(7)
FZ_DECL(9) FZ_DECL(10) FZ_DECL(11) FZ_DECL(12) FZ_DECL(13) FZ_DECL(14) FZ_DECL(15) FZ_DECL(16)
FZ_DECL(17) FZ_DECL(19) FZ_DECL(20) FZ_DECL(21) FZ_DECL(22) FZ_DECL(23) FZ_DECL(24) FZ_DECL(25)
FZ_DECL(26) FZ_DECL(27) FZ_DECL(28) FZ_DECL(29) FZ_DECL(30) FZ_DECL(31) FZ_DECL(0xf1)

/* A present DPL-0 interrupt gate to fn in selector cs. */
static void gate_set(struct x86_idt_gate *g, const void *fn, uint16_t cs)
{
    *g = x86_idt_gate_intr((uint64_t)(uintptr_t)fn, cs, 0);
}

int fz_idt_install(void *idt)
{
    static char *const stubs[32] = {
        fz_stub_0, fz_stub_1, fz_stub_2, fz_stub_3, fz_stub_4, fz_stub_5, fz_stub_6, fz_stub_7,
        NULL, fz_stub_9, fz_stub_10, fz_stub_11, fz_stub_12, fz_stub_13, fz_stub_14, fz_stub_15,
        fz_stub_16, fz_stub_17, NULL, fz_stub_19, fz_stub_20, fz_stub_21, fz_stub_22, fz_stub_23,
        fz_stub_24, fz_stub_25, fz_stub_26, fz_stub_27, fz_stub_28, fz_stub_29, fz_stub_30, fz_stub_31,
    };
    struct idt_ptr cur, mine;
    struct fz_cpu *c = (struct fz_cpu *)((uint8_t *)idt + 4096);
    uint16_t cs;
    __asm__ volatile("sidt %0" : "=m"(cur));
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    size_t bytes = (size_t)cur.limit + 1;
    if (!cur.base || bytes < 32 * sizeof(struct x86_idt_gate) || bytes > 4096)
        return -1;
    memset(idt, 0, 4096);
    memcpy(idt, (const void *)(uintptr_t)cur.base, bytes);
    c->idt_saved_base = cur.base;
    c->idt_saved_limit = cur.limit;
    struct x86_idt_gate *g = idt;
    for (unsigned v = 0; v < 32; v++) {
        c->orig[v] = x86_idt_gate_offset(&g[v]);
        if (stubs[v])
            gate_set(&g[v], stubs[v], cs);
    }
    if (bytes >= (FZ_IPI_VEC + 1) * sizeof(struct x86_idt_gate))
        gate_set(&g[FZ_IPI_VEC], fz_stub_0xf1, cs);
    mine.limit = cur.limit;
    mine.base = (uint64_t)(uintptr_t)idt;
    c->idt_limit = cur.limit;
    __asm__ volatile("lidt %0" ::"m"(mine) : "memory");
    return 0;
}

void fz_idt_remove(struct fz_cpu *c)
{
    struct idt_ptr p = { c->idt_saved_limit, c->idt_saved_base };
    __asm__ volatile("lidt %0" ::"m"(p) : "memory");
}
