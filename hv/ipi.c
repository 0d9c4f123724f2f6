/* See ipi.h. */
#include <minihv/format.h>
#include <minihv/io.h>
#include <minihv/x86.h>
#include "hv/console.h"
#include "hv/ept.h"
#include "hv/hv.h"
#include "hv/ipi.h"
#include "hv/svm/svm_policy.h"
#include "hv/vcpu.h"

#define MSR_APIC_BASE      0x1b
#define APIC_BASE_X2APIC   (1ull << 10)
#define APIC_ICR_LOW       0x300
#define APIC_ICR_HIGH      0x310
#define APIC_ICR_BUSY      (1u << 12)
#define APIC_ICR_ASSERT    (1u << 14)
#define APIC_SPIN_LIMIT    1000000u

static uint64_t apic_page;
static int mailbox[MINIHV_MAX_CPUS];

int ipi_setup(void)
{
    apic_page = rdmsr(MSR_APIC_BASE) & 0x000ffffffffff000ull;
    for (unsigned i = 0; i < MINIHV_MAX_CPUS; i++)
        mailbox[i] = SIPI_RUNNING;
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
        send_command((APIC_DM_NMI << 8) | APIC_ICR_ASSERT, apic_id);
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

/* An interrupt command from vCPU v. True when the core carried it out
 * (INIT/SIPI with a virtualized target), false when the caller must write
 * it to the real APIC unchanged. */
static bool interrupt_command(struct vcpu *v, uint32_t icr_low, uint32_t dest, bool x2apic)
{
    struct apic_icr icr = apic_icr_parse(icr_low);
    if (icr.delivery != APIC_DM_INIT && icr.delivery != APIC_DM_STARTUP)
        return false;
    if (icr.logical && icr.shorthand == APIC_DEST_FIELD) {
        static bool told;
        if (!told)
            hv_log("cpu %u: INIT/SIPI in logical destination mode passed to the hardware", v->index);
        told = true;
        return false;
    }
    unsigned count = hv_boot->cpu_count < MINIHV_MAX_CPUS ? hv_boot->cpu_count : MINIHV_MAX_CPUS;
    bool any_virtualized = false;
    for (unsigned i = 0; i < count; i++)
        if (virtualized(i) && apic_icr_targets(&icr, dest, x2apic, v->apic_id, hv_boot->cpus[i].apic_id))
            any_virtualized = true;
    if (!any_virtualized)
        return false;
    for (unsigned i = 0; i < count; i++) {
        uint32_t id = hv_boot->cpus[i].apic_id;
        if (!apic_icr_targets(&icr, dest, x2apic, v->apic_id, id))
            continue;
        if (!virtualized(i))
            send_command(icr_low, id);
        else if (i == v->index)
            continue; /* an INIT to itself would leave the guest: ignored */
        else if (icr.delivery == APIC_DM_STARTUP)
            post_sipi(i, icr.vector);
        else if (icr.assert_level)
            post_init(i, id);
        /* INIT level de-assert: nothing to do for a virtual INIT. */
    }
    return true;
}

static bool apic_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *value)
{
    (void)ctx;
    volatile void *p = (volatile void *)(uintptr_t)gpa;
    switch (size) {
    case 1: *value = *(volatile uint8_t *)p; return true;
    case 2: *value = *(volatile uint16_t *)p; return true;
    case 4: *value = *(volatile uint32_t *)p; return true;
    default: *value = *(volatile uint64_t *)p; return true;
    }
}

static bool apic_write(void *ctx, uint64_t gpa, unsigned size, uint64_t value)
{
    struct vcpu *v = ctx;
    if ((gpa & 0xfff) == APIC_ICR_LOW && size == 4 &&
        interrupt_command(v, (uint32_t)value, *apic_reg(APIC_ICR_HIGH) >> 24, false))
        return true;
    volatile void *p = (volatile void *)(uintptr_t)gpa;
    switch (size) {
    case 1: *(volatile uint8_t *)p = (uint8_t)value; return true;
    case 2: *(volatile uint16_t *)p = (uint16_t)value; return true;
    case 4: *(volatile uint32_t *)p = (uint32_t)value; return true;
    default: *(volatile uint64_t *)p = value; return true;
    }
}

void ipi_apic_write(struct vcpu *v, uint64_t gpa)
{
    struct decode_mmio_ops ops = { apic_read, apic_write, v };
    struct decoded_insn insn;
    enum decode_status st = vcpu_emulate_mmio(v, gpa, &ops, &insn);
    if (st != DECODE_OK) {
        char why[96];
        int k = fmt_snprintf(why, sizeof(why), "write to the local APIC, instruction not emulated: ");
        decode_format_error(st, &insn, why + k, sizeof(why) - (size_t)k);
        vcpu_fatal(v, why);
    }
}

bool ipi_x2apic_icr_write(struct vcpu *v, uint64_t value)
{
    if (!x2apic_mode())
        return false;
    if (!interrupt_command(v, (uint32_t)value, (uint32_t)(value >> 32), true))
        wrmsr(MSR_X2APIC_ICR, value);
    return true;
}

uint8_t ipi_wait_for_sipi(struct vcpu *v, void (*reset)(struct vcpu *v))
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
            __asm__ volatile("pause");
        }
    }
}
