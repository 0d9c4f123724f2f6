; Entry from the loader (System V ABI, rdi = struct minihv_boot_info *),
; on the core's page tables but still on the loader's stack. Switches to
; the core's own boot stack, runs hv_main and returns its status to the
; loader on the loader's stack.
bits 64
default rel

global hv_entry
extern hv_main

section .bss
align 16
hv_boot_stack: resb 16384
hv_boot_stack_top:

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
    lea rsp, [hv_boot_stack_top]
    call hv_main                ; rdi passes through
    mov rsp, r12
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret
