/* Keeps the A20 gate on (the policy and its reasons: hv/io.h, "the A20
 * gate"): intercepts ports 0x60, 0x64 and 0x92, passes reads and every
 * write to the hardware but those that would turn the gate off. */
#ifndef MINIHV_HV_A20_GATE_H
#define MINIHV_HV_A20_GATE_H

/* Before the backend builds its I/O bitmap (hv_main's global init). */
void a20_gate_register(void);

#endif
