/* Pure rules both backends share for guest actions that used to park a
 * CPU (issue 14): an event whose delivery the core cannot complete, the
 * instruction length across an IP wraparound, a port write that covers a
 * reset register. No hardware access: tests/unit/test_event_rules.c. */
#ifndef MINIHV_HV_EVENT_RULES_H
#define MINIHV_HV_EVENT_RULES_H

#include <stdbool.h>
#include <stdint.h>

/* ---- a fault while an event is delivered (SDM Vol. 3A 6.15) ----
 * The core cannot complete the delivery of an event (its IDT gate, GDT
 * descriptor, TSS or stack is on a page the guest may not touch, or it is
 * a task switch the core does not emulate). It raises, in the guest, the
 * contributory fault hardware raises for an unusable gate or TSS: #GP.
 * Table 6-5 (interrupt and exception classes, Table 6-4) decides what
 * the guest sees: after a benign event (interrupts, NMI, INT n, #DB, #BP,
 * #UD, ...) the #GP itself; after a contributory one (#DE, #TS, #NP, #SS,
 * #GP, #CP) or a page fault (#PF, #VE) a #DF(0); after a #DF the CPU
 * shuts down (a triple fault: the core's machine reset). */
enum event_outcome {
    EVENT_RAISE_GP,     /* #GP(error) */
    EVENT_RAISE_DF,     /* #DF(0) */
    EVENT_TRIPLE_FAULT, /* shutdown */
};

/* `hw_exception`: the event was a hardware exception (VMX interruption
 * type 3, SVM event type 3), whose vector is `vector`; anything else
 * (external interrupt, NMI, INT n, INT3/INTO as software exceptions) is
 * benign. */
enum event_outcome event_delivery_fault(bool hw_exception, unsigned vector);

/* The #GP error code for an IDT gate that could not be used (SDM Vol. 3A
 * 6.13, Figure 6-6): the vector as the index, IDT bit set, EXT set when
 * the event came from outside the program (`external`: interrupt, NMI,
 * hardware exception). */
uint32_t event_idt_error_code(unsigned vector, bool external);

/* The #GP error code for a task switch to a TSS selector the core does
 * not carry out (SDM Vol. 3A 7.3, Table 7-1: selector index, TI; EXT). */
uint32_t event_selector_error_code(uint16_t selector, bool external);

/* ---- instruction length with IP wraparound ----
 * The next IP of an instruction is computed in the code segment's
 * address size (SDM Vol. 1 3.6; APM Vol. 2 15.10.2, 15.7.1 next RIP): in
 * 16-bit code an instruction at IP 0xFFFF continues at 0. `long_mode`:
 * EFER.LMA and CS.L; `cs_db`: CS.D. */
uint64_t ip_mask(bool long_mode, bool cs_db);
/* A linear address is canonical when bits 63:N-1 are all equal, N = 48,
 * or 57 with CR4.LA57 (SDM Vol. 1 3.3.7.1). */
bool addr_canonical(uint64_t la, bool la57);

/* The length from RIP to the next RIP, modulo the address size; 0 when
 * it is not a possible length (1 to 15). */
unsigned insn_len_wrapped(uint64_t rip, uint64_t next_rip, uint64_t mask);

/* ---- a port write that covers a register byte ----
 * An OUT of `size` bytes at `port` writes the bytes port..port+size-1.
 * True when `reg` is one of them; *byte is the value written there. */
bool port_write_covers(uint16_t port, unsigned size, uint32_t value, uint16_t reg, uint8_t *byte);

#endif
