; The SVM run loop (AMD APM Vol. 2 15.5: VMRUN saves the host state to
; VM_HSAVE_PA and loads the guest's from the VMCB; #VMEXIT restores the host
; RSP, RIP, RAX and segment/control state, nothing else of the GPRs).
; VMRUN does not touch FS, GS, TR, LDTR, KernelGSBase, STAR/LSTAR/CSTAR/
; SFMASK and SYSENTER_*: VMLOAD/VMSAVE move those (15.5.2), so around each
; VMRUN the guest's are loaded from its VMCB and saved back, and the core's
; own (its TSS above all: the IST stack of an NMI) reloaded from the host
; VMCB. struct vcpu starts with struct decode_regs, gpr[16] in encoding
; order (rax rcx rdx rbx rsp rbp rsi rdi r8..r15); RAX, RSP, RIP and
; RFLAGS live in the VMCB and are synced by svm_handle_exit.
bits 64
default rel

global svm_launch
extern svm_handle_exit

%include "hv/gprs.inc"

; Frame on the CPU's own stack, from the top: the caller's RSP, then
; (rsp + 16) struct vcpu *, (rsp + 8) guest VMCB PA, (rsp + 0) host VMCB PA.
%define FRAME_VCPU  16
%define FRAME_GUEST 8
%define FRAME_HOST  0

section .text

; int svm_launch(struct vcpu *v, uint64_t guest_vmcb_pa, uint64_t host_vmcb_pa,
;                uint64_t stack_top)
; Runs the guest on stack_top until svm_handle_exit returns non-zero (the
; first VMRUN failed its consistency checks); then returns that value on
; the caller's stack. Interrupts are off and GIF is clear throughout.
svm_launch:
    PUSH_CALLEE_SAVED
    mov rax, rsp
    mov rsp, rcx
    push rax                        ; the caller's stack
    push rdi                        ; FRAME_VCPU
    push rsi                        ; FRAME_GUEST
    push rdx                        ; FRAME_HOST (RSP now 16-byte aligned)
.run:
    mov rax, [rsp + FRAME_VCPU]
    LOAD_GPRS_BUT_RAX_RSP
    mov rax, [rsp + FRAME_GUEST]
    vmload
    vmrun
    mov rax, [rsp + FRAME_GUEST]    ; guest GPRs live except RAX and RSP (guest's are in the VMCB)
    vmsave
    push rax
    mov rax, [rsp + 8 + FRAME_VCPU]
    SAVE_GPRS_BUT_RAX_RSP
    pop rax
    mov rax, [rsp + FRAME_HOST]
    vmload                      ; the core's TR, FS, GS, ... back
    mov rdi, [rsp + FRAME_VCPU]
    cld
    call svm_handle_exit
    test eax, eax
    jz .run
    add rsp, 24
    pop rsp                         ; the caller's stack
    POP_CALLEE_SAVED
    ret
