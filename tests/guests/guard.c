/* See guard.h. The entry points follow SDM Vol. 3 6.14 (64-bit mode
 * exception frames): the CPU pushes SS, RSP, RFLAGS, CS, RIP and, for #GP
 * and #PF, an error code (6.15, Table 6-1). A fault at a guarded site gets
 * RIP replaced by the site's resume label and R11 set to the fault report;
 * the sites clear R11 before the instruction and return it afterwards. */
#include <minihv/format.h>
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "tests/guests/guard.h"

/* The firmware's handlers for the three vectors: faults outside a guarded
 * site go there. Written by guard_install on the CPU that runs the guarded
 * code (one CPU at a time: the BSP waits while an AP runs). */
__attribute__((visibility("hidden"))) uint64_t guard_orig_ud, guard_orig_gp, guard_orig_pf;

void guard_ud_entry(void) __attribute__((visibility("hidden")));
void guard_gp_entry(void) __attribute__((visibility("hidden")));
void guard_pf_entry(void) __attribute__((visibility("hidden")));

__asm__(
    ".text\n"

    /* %rax: faulting RIP in, resume RIP (or 0: not a guarded site) out. */
    "guard_find_resume:\n"
    "    push %rcx\n"
    "    push %rdx\n"
    "    push %rsi\n"
    "    lea guard_sites(%rip), %rsi\n"
    "    mov %rsi, %rcx\n"
    "1:  movslq (%rcx), %rdx\n"
    "    test %rdx, %rdx\n"
    "    jz 3f\n"
    "    add %rsi, %rdx\n"
    "    cmp %rdx, %rax\n"
    "    je 2f\n"
    "    add $8, %rcx\n"
    "    jmp 1b\n"
    "2:  movslq 4(%rcx), %rax\n"
    "    add %rsi, %rax\n"
    "    jmp 4f\n"
    "3:  xor %eax, %eax\n"
    "4:  pop %rsi\n"
    "    pop %rdx\n"
    "    pop %rcx\n"
    "    ret\n"

    /* #UD: no error code, RIP at 0(%rsp). */
    ".globl guard_ud_entry\n"
    ".hidden guard_ud_entry\n"
    "guard_ud_entry:\n"
    "    push %rax\n"
    "    mov 8(%rsp), %rax\n"
    "    call guard_find_resume\n"
    "    test %rax, %rax\n"
    "    jz 1f\n"
    "    mov %rax, 8(%rsp)\n"
    "    pop %rax\n"
    "    movabs $0x8000000000000006, %r11\n"
    "    iretq\n"
    "1:  pop %rax\n"
    "    jmp *guard_orig_ud(%rip)\n"

    /* #GP and #PF: error code at 0(%rsp), RIP at 8(%rsp). */
    ".macro GUARD_ERRCODE_ENTRY name, vector, orig\n"
    ".globl \\name\n"
    ".hidden \\name\n"
    "\\name:\n"
    "    push %rax\n"
    "    mov 16(%rsp), %rax\n"
    "    call guard_find_resume\n"
    "    test %rax, %rax\n"
    "    jz 1f\n"
    "    mov %rax, 16(%rsp)\n"
    "    mov 8(%rsp), %r11d\n"
    "    shl $8, %r11\n"
    "    or $\\vector, %r11\n"
    "    bts $63, %r11\n"
    "    pop %rax\n"
    "    add $8, %rsp\n"
    "    iretq\n"
    "1:  pop %rax\n"
    "    jmp *\\orig(%rip)\n"
    ".endm\n"
    "GUARD_ERRCODE_ENTRY guard_gp_entry, 13, guard_orig_gp\n"
    "GUARD_ERRCODE_ENTRY guard_pf_entry, 14, guard_orig_pf\n"

    /* The guarded sites. */
    ".globl guard_vmxon\n"
    ".hidden guard_vmxon\n"
    "guard_vmxon:\n"
    "    xor %r11d, %r11d\n"
    "guard_vmxon_site:\n"
    "    vmxon (%rdi)\n"
    "guard_vmxon_resume:\n"
    "    pushfq\n"
    "    pop (%rsi)\n"
    "    mov %r11, %rax\n"
    "    ret\n"

    ".globl guard_vmxoff\n"
    ".hidden guard_vmxoff\n"
    "guard_vmxoff:\n"
    "    xor %r11d, %r11d\n"
    "guard_vmxoff_site:\n"
    "    vmxoff\n"
    "guard_vmxoff_resume:\n"
    "    mov %r11, %rax\n"
    "    ret\n"

    /* The hypercall sites keep the struct pointer on the stack: the ABI
     * lets the core change RAX..RDX only, but the probe trusts no register. */
    ".macro GUARD_HYPERCALL name, insn\n"
    ".globl \\name\n"
    ".hidden \\name\n"
    "\\name:\n"
    "    push %rbx\n"
    "    push %rdi\n"
    "    mov 0(%rdi), %rax\n"
    "    mov 8(%rdi), %rbx\n"
    "    mov 16(%rdi), %rcx\n"
    "    mov 24(%rdi), %rdx\n"
    "    xor %r11d, %r11d\n"
    "\\name\\()_site:\n"
    "    \\insn\n"
    "\\name\\()_resume:\n"
    "    pop %rdi\n"
    "    mov %rax, 0(%rdi)\n"
    "    mov %rbx, 8(%rdi)\n"
    "    mov %rcx, 16(%rdi)\n"
    "    mov %rdx, 24(%rdi)\n"
    "    mov %r11, %rax\n"
    "    pop %rbx\n"
    "    ret\n"
    ".endm\n"
    "GUARD_HYPERCALL guard_vmcall, vmcall\n"
    "GUARD_HYPERCALL guard_vmmcall, vmmcall\n"

    ".globl guard_read64\n"
    ".hidden guard_read64\n"
    "guard_read64:\n"
    "    xor %r11d, %r11d\n"
    "    xor %eax, %eax\n"
    "guard_read64_site:\n"
    "    mov (%rdi), %rax\n"
    "guard_read64_resume:\n"
    "    mov %rax, (%rsi)\n"
    "    mov %r11, %rax\n"
    "    ret\n"

    ".globl guard_write64\n"
    ".hidden guard_write64\n"
    "guard_write64:\n"
    "    xor %r11d, %r11d\n"
    "guard_write64_site:\n"
    "    mov %rsi, (%rdi)\n"
    "guard_write64_resume:\n"
    "    mov %r11, %rax\n"
    "    ret\n"

    /* (site, resume) pairs as offsets from guard_sites; 0 ends the table. */
    ".balign 8\n"
    "guard_sites:\n"
    "    .long guard_vmxon_site - guard_sites, guard_vmxon_resume - guard_sites\n"
    "    .long guard_vmxoff_site - guard_sites, guard_vmxoff_resume - guard_sites\n"
    "    .long guard_vmcall_site - guard_sites, guard_vmcall_resume - guard_sites\n"
    "    .long guard_vmmcall_site - guard_sites, guard_vmmcall_resume - guard_sites\n"
    "    .long guard_read64_site - guard_sites, guard_read64_resume - guard_sites\n"
    "    .long guard_write64_site - guard_sites, guard_write64_resume - guard_sites\n"
    "    .long 0, 0\n");

int guard_install(struct guard *g, void *buf, size_t buf_size)
{
    struct idt_ptr copy;
    g->active = false;
    __asm__ volatile("sidt %0" : "=m"(g->saved));
    size_t bytes = (size_t)g->saved.limit + 1;
    if (!g->saved.base || bytes < (VEC_PF + 1) * sizeof(struct x86_idt_gate) || bytes > buf_size)
        return -1;
    memcpy(buf, (const void *)(uintptr_t)g->saved.base, bytes);
    struct x86_idt_gate *gates = buf;
    guard_orig_ud = x86_idt_gate_offset(&gates[VEC_UD]);
    guard_orig_gp = x86_idt_gate_offset(&gates[VEC_GP]);
    guard_orig_pf = x86_idt_gate_offset(&gates[VEC_PF]);
    /* Present 64-bit interrupt gates keep their selector, IST and type. */
    x86_idt_gate_set_offset(&gates[VEC_UD], (uint64_t)(uintptr_t)guard_ud_entry);
    x86_idt_gate_set_offset(&gates[VEC_GP], (uint64_t)(uintptr_t)guard_gp_entry);
    x86_idt_gate_set_offset(&gates[VEC_PF], (uint64_t)(uintptr_t)guard_pf_entry);
    copy.limit = g->saved.limit;
    copy.base = (uint64_t)(uintptr_t)buf;
    __asm__ volatile("lidt %0" ::"m"(copy) : "memory");
    g->active = true;
    return 0;
}

void guard_remove(struct guard *g)
{
    if (g->active)
        __asm__ volatile("lidt %0" ::"m"(g->saved) : "memory");
    g->active = false;
}

const char *guard_describe(uint64_t report, char *buf, size_t size)
{
    unsigned vec = GUARD_VECTOR(report);
    if (!(report & GUARD_FAULTED))
        fmt_snprintf(buf, size, "no fault");
    else if (vec == VEC_UD)
        fmt_snprintf(buf, size, "#UD");
    else
        fmt_snprintf(buf, size, "%s(0x%x)", vec == VEC_GP ? "#GP" : vec == VEC_PF ? "#PF" : "#?",
                     GUARD_ERROR(report));
    return buf;
}
