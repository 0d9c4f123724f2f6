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

%include "hv/gprs.inc"

%macro LOAD_GUEST_GPRS 0          ; rax = struct vcpu *
    LOAD_GPRS_BUT_RAX_RSP
    mov rax, [rax + GPR(0)]
%endmacro

section .text

; int vmx_launch(struct vcpu *v): VMLAUNCH with the guest GPRs from v.
; Returns -1 only when VMLAUNCH fails (VMfail, 31.4); on success the CPU
; is in the guest and the next thing the core sees is vmx_exit_entry.
vmx_launch:
    PUSH_CALLEE_SAVED
    mov rax, rdi
    LOAD_GUEST_GPRS
    vmlaunch
    POP_CALLEE_SAVED
    mov eax, -1
    ret

vmx_exit_entry:
    push rax
    mov rax, [rsp + 8]              ; struct vcpu *
    SAVE_GPRS_BUT_RAX_RSP
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
