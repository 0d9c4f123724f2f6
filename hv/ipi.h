/* INIT and SIPI between vCPUs, for both backends. Under SVM there is no
 * wait-for-SIPI state and no SIPI exit, and a physical INIT to a CPU in
 * guest mode resets it out of the guest (intercepted or not, the INIT stays
 * pending until GIF is set; QEMU takes it even then); under VMX, Bochs 2.7
 * leaves an INIT pending after its INIT exit (SDM 3C 28.1 says the exit
 * consumes it), so a restarted AP exits again before its first
 * instruction. So no INIT or SIPI ever reaches a virtualized CPU: the sender's interrupt command is intercepted (the
 * xAPIC page is mapped read-only in the NPT, the x2APIC ICR MSR exits),
 * INIT and SIPI for virtualized CPUs are posted in the target's mailbox,
 * and the target is kicked out of the guest with an NMI (intercepted).
 * It then takes the INIT state and waits in the core for the SIPI's
 * vector, as a real AP would. CPUs the core has not virtualized yet (the
 * loader starts them one by one through the firmware, which uses
 * INIT-SIPI-SIPI) get a physical copy addressed to their APIC ID. No
 * INIT or SIPI is ever sent as the guest wrote it: logical destinations
 * and shorthands are resolved against the boot list (ipi_route.h), and
 * one that reaches no CPU of the list is refused and counted
 * (hv/refuse.h), so no CPU outside the core is ever started.
 * APM Vol. 2 15.13, 15.17, 16.5;
 * the design is Jailhouse's (NMI kick, events handled in the core). */
#ifndef MINIHV_HV_IPI_H
#define MINIHV_HV_IPI_H

#include <stdbool.h>
#include <stdint.h>
#include "hv/vcpu.h"

/* The mailbox state of a vCPU: running, or between INIT and SIPI; a
 * value >= 0 is the SIPI vector the target has not taken yet. */
#define SIPI_RUNNING      (-3)
#define SIPI_INIT_PENDING (-2)
#define SIPI_WAITING      (-1)

/* Once, after the EPT/NPT is built: finds the local APIC's page
 * (IA32_APIC_BASE) and maps it read-only there. 0, or an ept_set_attrs
 * error (out of table pages). */
int ipi_setup(void);
uint64_t ipi_apic_page(void);
/* On each CPU as the core takes it: records its xAPIC logical destination
 * (LDR, DFR) as the firmware left it, for logical INIT/SIPI routing. */
void ipi_cpu_init(unsigned index);

/* Sender side. A guest write to the xAPIC page (the NPT maps it
 * read-only): decoded, carried out on the real APIC, an interrupt command
 * with INIT or SIPI for virtualized CPUs posted instead of sent. */
void ipi_apic_write(struct vcpu *v, uint64_t gpa);
/* WRMSR to the x2APIC ICR (0x830); false when the APIC is not in x2APIC
 * mode or a reserved bit is set (the caller raises #GP). */
bool ipi_x2apic_icr_write(struct vcpu *v, uint64_t value);

/* Writes to the xAPIC page by register (every one exits: the page is
 * read-only in the EPT/NPT), per CPU, for the summary and `make bench`
 * (issue 15: what the APIC page costs the guest). Rows in this order;
 * "other" is any offset not named, or a write the decoder refused. */
enum ipi_apic_reg {
    IPI_APIC_TPR, IPI_APIC_EOI, IPI_APIC_LDR, IPI_APIC_DFR, IPI_APIC_SVR, IPI_APIC_ESR, IPI_APIC_ICR_LOW,
    IPI_APIC_ICR_HIGH, IPI_APIC_LVT_TIMER, IPI_APIC_LVT, IPI_APIC_TMICT, IPI_APIC_TDCR, IPI_APIC_OTHER,
    IPI_APIC_REGS
};
#define IPI_APIC_REG_NAMES "tpr", "eoi", "ldr", "dfr", "svr", "esr", "icr-low", "icr-high", "lvt-timer", \
                           "lvt-other", "tmict", "tdcr", "other"
uint64_t ipi_apic_writes(unsigned index, enum ipi_apic_reg reg);

/* The loader's MINIHV_HC_AP_LAUNCH_DONE, from vCPU v: no physical INIT
 * or SIPI from now on (ipi-not-entered), and each listed CPU that never
 * entered the core gets one physical INIT (held in wait-for-SIPI: only a
 * SIPI would start it, and the core sends none). The count of those. */
unsigned ipi_ap_launch_done(struct vcpu *v);

/* Target side: the mailbox state of vCPU `index`. */
int ipi_state(unsigned index);
/* Waits (in the core, GIF clear) until a SIPI follows the INIT; calls
 * reset(v) once for the INIT state (again if another INIT comes first)
 * and returns the SIPI vector. */
uint8_t ipi_wait_for_sipi(struct vcpu *v, void (*reset)(struct vcpu *v), void (*idle)(void));

#endif
