/* See ipi.h. */
#include <minihv/format.h>
#include <minihv/io.h>
#include <minihv/x86.h>
#include "hv/console.h"
#include "hv/devmodel.h"
#include "hv/ept.h"
#include "hv/hv.h"
#include "hv/ipi.h"
#include "hv/ipi_route.h"
#include "hv/msr_policy.h"
#include "hv/refuse.h"
#include "hv/svm/svm_policy.h"
#include "hv/vcpu.h"

#define MSR_APIC_BASE      0x1b
#define APIC_BASE_X2APIC   (1ull << 10)
#define APIC_LDR           0xd0
#define APIC_DFR           0xe0
#define APIC_ICR_LOW       0x300
#define APIC_ICR_HIGH      0x310
/* x2APIC ICR bits that must be 0 (SDM Vol. 3A 10.12.9): 13, 12 (delivery
 * status, read-only), 17:16 and 31:20. WRMSR with one of them: #GP. */
#define X2APIC_ICR_RESERVED 0xfff33000ull
#define APIC_ICR_BUSY      (1u << 12)
#define APIC_ICR_ASSERT    (1u << 14)
#define APIC_ICR_LEVEL     (1u << 15) /* trigger mode: level (INIT assert, SDM 10.6.1) */
#define APIC_SPIN_LIMIT    1000000u

static uint64_t apic_page;
static int mailbox[MINIHV_MAX_CPUS];
/* Each vCPU's xAPIC logical destination registers as it last wrote them
 * (every write to the APIC page exits): a logical INIT/SIPI is routed
 * with them. Reset values until then (SDM 10.4.7.1). */
static struct apic_logical logical[MINIHV_MAX_CPUS];
/* CPUs that have entered the core (ipi_cpu_init): from then on the core
 * owns them, virtualized or parked, and never sends them a physical
 * INIT or SIPI; before that they are the firmware's, which the loader
 * asks (from the guest) to start them. */
static bool entered[MINIHV_MAX_CPUS];
/* Guest writes to the xAPIC page per CPU and register (ipi_apic_writes). */
static uint32_t apic_writes[MINIHV_MAX_CPUS][IPI_APIC_REGS];
/* Set by the loader once its AP launch is over (ipi_ap_launch_done): a
 * CPU not virtualized by then is never sent anything physically again. */
static bool launch_done;

int ipi_setup(void)
{
    apic_page = rdmsr(MSR_APIC_BASE) & 0x000ffffffffff000ull;
    for (unsigned i = 0; i < MINIHV_MAX_CPUS; i++) {
        mailbox[i] = SIPI_RUNNING;
        logical[i] = (struct apic_logical){ 0, APIC_DFR_RESET };
    }
    /* The xAPIC page read-only in the EPT/NPT: the guest's ICR writes exit,
     * so no INIT or SIPI it sends ever reaches a virtualized CPU. */
    return ept_set_attrs(apic_page, PAGE_SIZE, PT_ATTRS(PT_READ | PT_EXEC, MEMTYPE_UC));
}

uint64_t ipi_apic_page(void)
{
    return apic_page;
}

int ipi_state(unsigned index)
{
    return __atomic_load_n(&mailbox[index], __ATOMIC_ACQUIRE);
}

static volatile uint32_t *apic_reg(unsigned offset)
{
    return (volatile uint32_t *)(uintptr_t)(apic_page + offset);
}

static bool x2apic_mode(void)
{
    return rdmsr(MSR_APIC_BASE) & APIC_BASE_X2APIC;
}

void ipi_cpu_init(unsigned index)
{
    if (index >= MINIHV_MAX_CPUS)
        return;
    __atomic_store_n(&entered[index], true, __ATOMIC_RELEASE);
    if (!x2apic_mode())
        logical[index] = (struct apic_logical){ *apic_reg(APIC_LDR), *apic_reg(APIC_DFR) };
}

/* Sends an interrupt command from this CPU's real APIC to one APIC ID,
 * keeping the guest's ICR high half (xAPIC) as it was. */
static void send_command(uint32_t icr_low, uint32_t apic_id)
{
    icr_low &= ~(3u << 18); /* no shorthand: the destination field */
    icr_low &= ~(1u << 11); /* physical destination mode */
    if (x2apic_mode()) {
        wrmsr(MSR_X2APIC_ICR, (uint64_t)apic_id << 32 | icr_low);
        return;
    }
    unsigned spins = 0;
    uint32_t guest_high = *apic_reg(APIC_ICR_HIGH);
    while ((*apic_reg(APIC_ICR_LOW) & APIC_ICR_BUSY) && ++spins < APIC_SPIN_LIMIT)
        __asm__ volatile("pause");
    *apic_reg(APIC_ICR_HIGH) = apic_id << 24;
    *apic_reg(APIC_ICR_LOW) = icr_low;
    while ((*apic_reg(APIC_ICR_LOW) & APIC_ICR_BUSY) && ++spins < APIC_SPIN_LIMIT)
        __asm__ volatile("pause");
    *apic_reg(APIC_ICR_HIGH) = guest_high;
}

static bool virtualized(unsigned index)
{
    struct vcpu *t = vcpu_get(index);
    return t && t->ops;
}

static void post_init(unsigned index, uint32_t apic_id)
{
    int old = __atomic_exchange_n(&mailbox[index], SIPI_INIT_PENDING, __ATOMIC_ACQ_REL);
    /* A target already between INIT and SIPI is in the core (or has an
     * NMI on its way): no second kick, it would reach the guest. */
    if (old == SIPI_RUNNING)
        send_command((X86_DM_NMI << 8) | APIC_ICR_ASSERT, apic_id);
}

static void post_sipi(unsigned index, uint8_t vector)
{
    int expected = SIPI_WAITING;
    if (__atomic_compare_exchange_n(&mailbox[index], &expected, vector, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        return;
    expected = SIPI_INIT_PENDING; /* the target has not taken the INIT yet */
    __atomic_compare_exchange_n(&mailbox[index], &expected, vector, false, __ATOMIC_ACQ_REL,
                                __ATOMIC_ACQUIRE);
    /* Otherwise it runs (or has its vector): a SIPI is ignored then. */
}

static const char *icr_kind(const struct apic_icr *icr)
{
    return icr->delivery == X86_DM_INIT ? "INIT" : "SIPI";
}

/* An interrupt command from vCPU v. False: not INIT or SIPI, the caller
 * writes it to the real APIC unchanged. SMI and the reserved modes are
 * dropped (apic_icr_delivery_ok). INIT and SIPI never reach the
 * hardware as the guest wrote them, whatever the destination mode or
 * shorthand: each CPU of the boot list the command targets (ipi_route.h)
 * gets it from the core, virtualized ones through their mailbox; a CPU
 * not yet virtualized (the loader is still starting the APs through the
 * firmware, which sends INIT-SIPI-SIPI from the guest) gets a physical,
 * fixed-destination copy; one the core parked (hv/main.c) gets nothing.
 * A CPU outside the list is never reached: such a CPU would run without
 * the core under it. */
static bool interrupt_command(struct vcpu *v, uint32_t icr_low, uint32_t dest, bool x2apic)
{
    struct apic_icr icr = apic_icr_parse(icr_low);
    if (!apic_icr_delivery_ok(&icr)) {
        /* Dropped whole, whatever the destination (review R: an SMI IPI
         * ran guest RAM in SMM under the emulators' SMM-less OVMF). */
        hv_refuse(HV_REFUSE_ICR_DELIVERY, "cpu %u: interrupt command 0x%08x (destination 0x%x): delivery mode %u: "
                  "dropped", v->index, icr_low, dest, icr.delivery);
        return true;
    }
    if (icr.delivery != X86_DM_INIT && icr.delivery != X86_DM_STARTUP)
        return false;
    unsigned count = hv_boot->cpu_count < MINIHV_MAX_CPUS ? hv_boot->cpu_count : MINIHV_MAX_CPUS;
    uint32_t self = hv_boot->cpus[v->index].apic_id;
    unsigned reached = 0;
    for (unsigned i = 0; i < count; i++) {
        uint32_t id = hv_boot->cpus[i].apic_id;
        if (!ipi_route_targets(&icr, dest, x2apic, self, id, &logical[i]))
            continue;
        reached++;
        if (i == v->index)
            /* An INIT to itself would leave the guest (and the CPU has
             * no wait-for-SIPI under SVM): dropped. */
            hv_refuse(HV_REFUSE_IPI_SELF, "cpu %u: %s to itself", v->index, icr_kind(&icr));
        else if (!virtualized(i) && __atomic_load_n(&entered[i], __ATOMIC_ACQUIRE))
            hv_refuse(HV_REFUSE_IPI_DESTINATION, "cpu %u: %s to cpu %u (APIC ID 0x%x), parked in the core",
                      v->index, icr_kind(&icr), i, id);
        else if (!virtualized(i) && __atomic_load_n(&launch_done, __ATOMIC_ACQUIRE))
            hv_refuse(HV_REFUSE_IPI_NOT_ENTERED, "cpu %u: %s to cpu %u (APIC ID 0x%x), which never entered "
                      "the core", v->index, icr_kind(&icr), i, id);
        else if (!virtualized(i))
            send_command(icr_low, id);
        else if (icr.delivery == X86_DM_STARTUP)
            post_sipi(i, icr.vector);
        else if (icr.assert_level)
            post_init(i, id);
        /* INIT level de-assert: nothing to do for a virtual INIT. */
    }
    if (!reached && icr.logical && icr.shorthand == APIC_DEST_FIELD)
        hv_refuse(HV_REFUSE_IPI_LOGICAL, "cpu %u: %s to logical destination 0x%x matches no CPU the core runs",
                  v->index, icr_kind(&icr), dest);
    else if (!reached && icr.shorthand == APIC_DEST_FIELD)
        hv_refuse(HV_REFUSE_IPI_DESTINATION, "cpu %u: %s to APIC ID 0x%x, not a CPU the core runs",
                  v->index, icr_kind(&icr), dest);
    return true;
}

unsigned ipi_ap_launch_done(struct vcpu *v)
{
    static unsigned held;
    if (__atomic_exchange_n(&launch_done, true, __ATOMIC_ACQ_REL))
        return held;
    unsigned count = hv_boot->cpu_count < MINIHV_MAX_CPUS ? hv_boot->cpu_count : MINIHV_MAX_CPUS;
    for (unsigned i = 0; i < count; i++) {
        if (__atomic_load_n(&entered[i], __ATOMIC_ACQUIRE))
            continue;
        /* Still the firmware's (its start timed out): whatever it runs,
         * an INIT stops it, and in wait-for-SIPI (SDM Vol. 3A 8.4.3) only
         * a SIPI restarts it; the core refuses those from now on. */
        send_command((X86_DM_INIT << 8) | APIC_ICR_ASSERT | APIC_ICR_LEVEL, hv_boot->cpus[i].apic_id);
        held++;
        hv_log("cpu %u: AP launch over; cpu %u (APIC id %u) never entered the core: INIT sent, held in "
               "wait-for-SIPI, every INIT/SIPI to it refused", v->index, i, hv_boot->cpus[i].apic_id);
    }
    return held;
}

static bool apic_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *value)
{
    (void)ctx;
    return devmodel_read_in_page(gpa, size, value); /* 8 bytes at 0xffc: all-ones (SDM 10.4.1: aligned dwords) */
}

/* The xAPIC registers software writes (SDM Vol. 3A Table 10-1, "Read/
 * Write" or "Write Only"): TPR, EOI, LDR, DFR, SVR, ESR, LVT CMCI, ICR,
 * the LVTs, the timer's initial count and divide configuration, AMD's
 * extended LVTs where the APIC has them. Not the
 * APIC ID (the core routes INIT/SIPI by the IDs it booted with), nor the
 * reserved or read-only offsets, where an APIC may do anything. */
static bool apic_reg_writable(unsigned off)
{
    /* AMD's extended interrupt LVTs (APM Vol. 2 16.4.5, Table 16-2): with
     * the extended register space (APIC version bit 31), the count in the
     * extended APIC feature register (0x400, bits 23:16). Linux programs
     * them for IBS and the MCE threshold/deferred-error interrupts. Not
     * the extended control register (0x410: its 8-bit APIC ID mode would
     * change what the core routes by). */
    if (off >= 0x500 && off < 0x540 && (*apic_reg(0x30) & (1u << 31)))
        return (off - 0x500) / 16 < ((*apic_reg(0x400) >> 16) & 0xff);
    switch (off) {
    case 0x080: case 0x0b0: case 0x0d0: case 0x0e0: case 0x0f0: case 0x280: case 0x2f0:
    case APIC_ICR_LOW: case APIC_ICR_HIGH:
    case 0x320: case 0x330: case 0x340: case 0x350: case 0x360: case 0x370:
    case 0x380: case 0x3e0:
        return true;
    default:
        return false;
    }
}

/* The local vector table (SDM Vol. 3A 10.5.1, Figure 10-8): CMCI, timer,
 * thermal, performance, LINT0, LINT1, error; AMD's extended LVTs (APM
 * Vol. 2 16.4.5; apic_reg_writable admits only those the APIC has). */
static bool apic_lvt(unsigned off)
{
    return off == 0x2f0 || (off >= 0x320 && off <= 0x370) || (off >= 0x500 && off < 0x540);
}

static bool apic_write(void *ctx, uint64_t gpa, unsigned size, uint64_t value)
{
    struct vcpu *v = ctx;
    unsigned off = gpa & 0xfff;
    /* APIC registers sit at 16-byte boundaries and are accessed as aligned
     * dwords (SDM 10.4.1, anything else undefined); an APIC may decode the
     * register from offset bits 11:4 alone (QEMU's does: a dword at 0x308
     * is an ICR low write, an IPI the core never saw). So any write in
     * ICR low's 16 bytes but the dword at 0x300 could send an interrupt
     * command unseen: refused. */
    if (off < APIC_ICR_LOW + 16 && off + size > APIC_ICR_LOW && (off != APIC_ICR_LOW || size != 4)) {
        hv_refuse(HV_REFUSE_APIC_ICR_ACCESS, "cpu %u: %u-byte write at APIC offset 0x%x", v->index, size, off);
        return true;
    }
    /* Every other register too: only an aligned dword at the 16-byte
     * boundary of a register software writes (apic_reg_writable); an
     * 8-byte write at 0xffc would reach 4 bytes past the page, and QEMU
     * takes a dword at offset 0 for an MSI (any delivery mode, to APIC ID
     * 0). Dropped, counted. */
    if (size != 4 || (off & 15) || !apic_reg_writable(off)) {
        hv_refuse(HV_REFUSE_APIC_ACCESS, "cpu %u: %u-byte write at APIC offset 0x%x: dropped", v->index, size, off);
        return true;
    }
    if (apic_lvt(off) && !apic_lvt_ok((uint32_t)value)) {
        hv_refuse(HV_REFUSE_LVT_DELIVERY, "cpu %u: LVT at APIC offset 0x%x value 0x%08x: delivery mode %u: dropped",
                  v->index, off, (uint32_t)value, ((uint32_t)value >> 8) & 7);
        return true;
    }
    if (off == APIC_ICR_LOW && interrupt_command(v, (uint32_t)value, *apic_reg(APIC_ICR_HIGH) >> 24, false))
        return true;
    *(volatile uint32_t *)(uintptr_t)gpa = (uint32_t)value;
    /* What the APIC kept (reserved bits dropped) is what routes. */
    if (off < APIC_LDR + 4 && off + size > APIC_LDR)
        logical[v->index].ldr = *apic_reg(APIC_LDR);
    if (off < APIC_DFR + 4 && off + size > APIC_DFR)
        logical[v->index].dfr = *apic_reg(APIC_DFR);
    return true;
}

/* The register a write at page offset off is counted under (SDM Vol. 3A
 * Table 10-1: the local APIC register address map). */
static enum ipi_apic_reg apic_reg_kind(unsigned off)
{
    switch (off & 0xff0) {
    case 0x080: return IPI_APIC_TPR;
    case 0x0b0: return IPI_APIC_EOI;
    case 0x0d0: return IPI_APIC_LDR;
    case 0x0e0: return IPI_APIC_DFR;
    case 0x0f0: return IPI_APIC_SVR;
    case 0x280: return IPI_APIC_ESR;
    case 0x300: return IPI_APIC_ICR_LOW;
    case 0x310: return IPI_APIC_ICR_HIGH;
    case 0x320: return IPI_APIC_LVT_TIMER;
    case 0x2f0: case 0x330: case 0x340: case 0x350: case 0x360: case 0x370: return IPI_APIC_LVT;
    case 0x380: return IPI_APIC_TMICT;
    case 0x3e0: return IPI_APIC_TDCR;
    default: return IPI_APIC_OTHER;
    }
}

uint64_t ipi_apic_writes(unsigned index, enum ipi_apic_reg reg)
{
    return index < MINIHV_MAX_CPUS && reg < IPI_APIC_REGS ? apic_writes[index][reg] : 0;
}

void ipi_apic_write(struct vcpu *v, uint64_t gpa)
{
    if (v->index < MINIHV_MAX_CPUS)
        apic_writes[v->index][apic_reg_kind(gpa & 0xfff)]++;
    struct decode_mmio_ops ops = { apic_read, apic_write, v };
    struct decoded_insn insn;
    enum decode_status st = vcpu_emulate_mmio(v, gpa, &ops, &insn);
    /* STOSD, REP MOVSD, an SSE store: not emulated, #GP(0) and
     * counted as for any trapped page (vcpu_refuse_insn), never FATAL. */
    if (st != DECODE_OK)
        vcpu_refuse_insn(v, gpa, st, &insn, "the local APIC");
}

bool ipi_x2apic_icr_write(struct vcpu *v, uint64_t value)
{
    if (!x2apic_mode())
        return false;
    if (value & X2APIC_ICR_RESERVED) {
        /* The core's own WRMSR would #GP inside the core. */
        hv_refuse(HV_REFUSE_X2APIC_ICR, "cpu %u: x2APIC ICR 0x%lx", v->index, (unsigned long)value);
        return false;
    }
    if (!interrupt_command(v, (uint32_t)value, (uint32_t)(value >> 32), true))
        wrmsr(MSR_X2APIC_ICR, value);
    return true;
}

uint8_t ipi_wait_for_sipi(struct vcpu *v, void (*reset)(struct vcpu *v), void (*idle)(void))
{
    int *box = &mailbox[v->index];
    bool reset_done = false;
    for (;;) {
        int state = __atomic_load_n(box, __ATOMIC_ACQUIRE);
        if (state == SIPI_INIT_PENDING) {
            reset(v);
            reset_done = true;
            __atomic_compare_exchange_n(box, &state, SIPI_WAITING, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE);
        } else if (state >= 0) {
            if (!reset_done) {
                reset(v);
                reset_done = true;
            }
            if (__atomic_compare_exchange_n(box, &state, SIPI_RUNNING, false, __ATOMIC_ACQ_REL,
                                            __ATOMIC_ACQUIRE))
                return (uint8_t)state;
        } else {
            if (idle)
                idle();
            __asm__ volatile("pause");
        }
    }
}
