; Entry from the loader's trampoline (System V ABI):
;   int hv_entry(struct minihv_boot_info *bi, uint64_t cpu_index,
;                const struct minihv_resume *resume)
; on the core's page tables, interrupts off, still on the caller's stack.
; Switches to the CPU's own stack (hv_stack_top[cpu_index], allocated by
; the first CPU, which itself starts on the boot stack: no heap yet) and
; runs hv_main. When hv_main virtualizes the CPU it never comes back here:
; the CPU resumes in the loader as the guest. Otherwise its status goes
; back to the loader on the loader's stack.
bits 64
default rel

MAX_CPUS equ 256                 ; MINIHV_MAX_CPUS

global hv_entry, hv_stack_top
extern hv_main

section .bss
align 16
hv_boot_stack: resb 16384
hv_boot_stack_top:
align 8
hv_stack_top: resq MAX_CPUS       ; top of each CPU's stack, 0 until allocated

section .text
hv_entry:
    push rbp
    mov rbp, rsp
    push rbx
    push r12
    push r13
    push r14
    push r15
    mov r12, rsp                ; the loader's stack, callee-saved
    cmp rsi, MAX_CPUS
    jae .bad_cpu
    lea rax, [hv_stack_top]
    mov rax, [rax + rsi * 8]
    test rax, rax
    jnz .have_stack
    lea rax, [hv_boot_stack_top] ; the first CPU in: no heap yet (CPUs enter one at a time)
.have_stack:
    lea rsp, [rax - 16]         ; the top 16 bytes: the exit slot (hv/vmx/vmx_entry.asm)
    call hv_main                ; rdi, rsi, rdx pass through
    jmp .out
.bad_cpu:
    mov eax, -1
.out:
    mov rsp, r12
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret
