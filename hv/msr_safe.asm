; RDMSR and WRMSR that may raise #GP (an MSR the guest named, a value the
; hardware refuses): the core's #GP handler looks the faulting RIP up in
; hv/extable.c and resumes at msr_safe_fault, which returns -1, instead of
; parking the CPU. System V ABI: edi = MSR, rsi = value pointer / value.
bits 64
default rel

global msr_safe_read, msr_safe_write
global msr_safe_rdmsr_insn, msr_safe_wrmsr_insn, msr_safe_fault

section .text
; int msr_safe_read(uint32_t msr, uint64_t *value): 0, or -1 on #GP
msr_safe_read:
    mov ecx, edi
msr_safe_rdmsr_insn:
    rdmsr
    shl rdx, 32
    or rax, rdx
    mov [rsi], rax
    xor eax, eax
    ret

; int msr_safe_write(uint32_t msr, uint64_t value): 0, or -1 on #GP
msr_safe_write:
    mov ecx, edi
    mov eax, esi
    mov rdx, rsi
    shr rdx, 32
msr_safe_wrmsr_insn:
    wrmsr
    xor eax, eax
    ret

; Reached through the #GP handler's IRETQ with the caller's stack as it
; was at the faulting instruction: the return address is on top.
msr_safe_fault:
    mov eax, -1
    ret
