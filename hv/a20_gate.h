/* Keeps the A20 gate on (the policy and its reasons: hv/io.h, "the A20
 * gate"): intercepts ports 0x60, 0x64 and 0x92, passes reads and every
 * write to the hardware but those that would turn the gate off. */
#ifndef MINIHV_HV_A20_GATE_H
#define MINIHV_HV_A20_GATE_H

/* Before the power ports (the FADT's RESET_REG may be 0x64 or 0x92: the
 * gate's handler judges it, hv/summary.c leaves it) and before the
 * backend builds its I/O bitmap (hv_main's global init). 0, or -1 when a
 * port cannot be taken (the core does not start: the gate would be open). */
int a20_gate_register(void);

#endif
