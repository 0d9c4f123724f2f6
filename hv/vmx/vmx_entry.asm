; VM launch and the VM-exit trampoline (SDM Vol. 3C 27.5: on an exit the
; CPU loads the host RIP/RSP from the VMCS, nothing else of the GPRs).
; The host RSP of each CPU points at a slot holding its struct vcpu *;
; struct vcpu starts with struct decode_regs, gpr[16] in encoding order
; (rax rcx rdx rbx rsp rbp rsi rdi r8..r15). RSP, RIP and RFLAGS live in
; the VMCS and are synced by vmx_handle_exit.
bits 64
default rel

global vmx_launch, vmx_exit_entry
extern vmx_handle_exit, vmx_resume_failed

%define GPR(n) (8 * (n))

%macro LOAD_GUEST_GPRS 0          ; rax = struct vcpu *
    mov rcx, [rax + GPR(1)]
    mov rdx, [rax + GPR(2)]
    mov rbx, [rax + GPR(3)]
    mov rbp, [rax + GPR(5)]
    mov rsi, [rax + GPR(6)]
    mov rdi, [rax + GPR(7)]
    mov r8,  [rax + GPR(8)]
    mov r9,  [rax + GPR(9)]
    mov r10, [rax + GPR(10)]
    mov r11, [rax + GPR(11)]
    mov r12, [rax + GPR(12)]
    mov r13, [rax + GPR(13)]
    mov r14, [rax + GPR(14)]
    mov r15, [rax + GPR(15)]
    mov rax, [rax + GPR(0)]
%endmacro

section .text

; int vmx_launch(struct vcpu *v): VMLAUNCH with the guest GPRs from v.
; Returns -1 only when VMLAUNCH fails (VMfail, 31.4); on success the CPU
; is in the guest and the next thing the core sees is vmx_exit_entry.
vmx_launch:
    push rbx
    push rbp
    push r12
    push r13
    push r14
    push r15
    mov rax, rdi
    LOAD_GUEST_GPRS
    vmlaunch
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    mov eax, -1
    ret

vmx_exit_entry:
    push rax
    mov rax, [rsp + 8]              ; struct vcpu *
    mov [rax + GPR(1)], rcx
    mov [rax + GPR(2)], rdx
    mov [rax + GPR(3)], rbx
    mov [rax + GPR(5)], rbp
    mov [rax + GPR(6)], rsi
    mov [rax + GPR(7)], rdi
    mov [rax + GPR(8)], r8
    mov [rax + GPR(9)], r9
    mov [rax + GPR(10)], r10
    mov [rax + GPR(11)], r11
    mov [rax + GPR(12)], r12
    mov [rax + GPR(13)], r13
    mov [rax + GPR(14)], r14
    mov [rax + GPR(15)], r15
    pop qword [rax + GPR(0)]        ; RSP is back at the slot: 16-byte aligned
    mov rdi, rax
    cld
    call vmx_handle_exit
    mov rax, [rsp]
    LOAD_GUEST_GPRS
    vmresume
    mov rdi, [rsp]                  ; VMRESUME failed
    call vmx_resume_failed          ; does not return
    ud2
