/* The core's own CPU tables (host state of every VM exit): a GDT with a
 * 64-bit code segment and a real 64-bit TSS per CPU, one IDT whose
 * handlers report the exception on the serial log and park the CPU (an
 * NMI is handed to the guest instead), per-CPU IST stacks. */
#ifndef MINIHV_HV_HOST_H
#define MINIHV_HV_HOST_H

#include <stdint.h>

#define HOST_CS 0x08
#define HOST_DS 0x10
#define HOST_TR 0x18

struct host_tables {
    uint64_t gdt_base;
    uint64_t tr_base;
    uint64_t idt_base;
};

/* Once, before the first CPU starts. */
void host_idt_init(void);
/* This CPU's GDT and TSS (rsp0 = stack_top, IST1 an own stack for NMI,
 * #DF, #MC) in freshly allocated pages; -1 when out of memory. */
int host_cpu_tables(uint64_t stack_top, struct host_tables *out, uint64_t *bytes);

/* The stack frame the IDT stubs (hv/isr.asm) build. */
struct host_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;
};
void host_exception(struct host_frame *f);

#endif
