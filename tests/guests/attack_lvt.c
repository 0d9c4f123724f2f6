/* Attack lvt-delivery (issue 14; review R, finding 4): the local APIC's
 * LVTs take a delivery mode (bits 10:8, SDM Vol. 3A 10.5.1): INIT (101) on
 * LINT0/LINT1 or SMI (010) on any LVT would have the local APIC deliver a
 * physical INIT/SMI to its CPU, under the core. The guest writes LINT0
 * (0x350) with INIT and the thermal LVT (0x330) with SMI, both masked
 * (bit 16: nothing fires even where the core lets them through), and reads
 * them back: each must keep the value it had (the core drops the write and
 * counts lvt-delivery; tests/emu/attack.sh checks the core's log). A legal
 * write (performance LVT 0x340, NMI mode, masked) must read back as
 * written: the check refuses only what it should. Every LVT is restored;
 * then the core must answer (PING, HV_CHECKSUM). xAPIC only (x2APIC mode:
 * skipped: lvt-x2apic below). */
#include <minihv/format.h>
#include "tests/guests/attack.h"

#define MSR_APIC_BASE   0x1b
#define APIC_BASE_EXTD  (1ull << 10)
#define LVT_THERMAL     0x330
#define LVT_PERF        0x340
#define LVT_LINT0       0x350
#define LVT_MASKED      (1u << 16)
#define LVT_MODE(m)     ((uint32_t)(m) << 8)

void attack_lvt_delivery(void)
{
    const char *name = "lvt-delivery";
    static char why[240];
    uint64_t base = 0;
    atk_rdmsr(MSR_APIC_BASE, &base);
    if (base & APIC_BASE_EXTD) {
        atk_skip(name, "x2APIC mode (IA32_APIC_BASE 0x%lx): no xAPIC page", base);
        return;
    }
    uint64_t apic = base & 0x000ffffffffff000ull;
    uint32_t lint0 = 0, thermal = 0, perf = 0;
    uint32_t lint0_now = 0, thermal_now = 0, perf_now = 0;
    const uint32_t lint0_init = LVT_MASKED | LVT_MODE(5);  /* INIT, masked */
    const uint32_t thermal_smi = LVT_MASKED | LVT_MODE(2); /* SMI, masked */
    const uint32_t perf_nmi = LVT_MASKED | LVT_MODE(4);    /* NMI, masked: legal */
    uint64_t flags = atk_irq_save();
    atk_read32(apic + LVT_LINT0, &lint0);
    atk_read32(apic + LVT_THERMAL, &thermal);
    atk_read32(apic + LVT_PERF, &perf);
    uint64_t w1 = atk_write32(apic + LVT_LINT0, lint0_init);
    uint64_t w2 = atk_write32(apic + LVT_THERMAL, thermal_smi);
    uint64_t w3 = atk_write32(apic + LVT_PERF, perf_nmi);
    atk_read32(apic + LVT_LINT0, &lint0_now);
    atk_read32(apic + LVT_THERMAL, &thermal_now);
    atk_read32(apic + LVT_PERF, &perf_now);
    atk_write32(apic + LVT_PERF, perf);
    atk_write32(apic + LVT_THERMAL, thermal);
    atk_write32(apic + LVT_LINT0, lint0);
    atk_irq_restore(flags);
    bool ok = atk_core_intact_self(why, sizeof(why));
    char f[40];
    if (w1 || w2 || w3) {
        atk_fail(name, "an LVT write faulted: %s", guard_describe(w1 ? w1 : w2 ? w2 : w3, f, sizeof(f)));
        return;
    }
    bool kept = lint0_now == lint0 && thermal_now == thermal;
    bool legal = perf_now == perf_nmi;
    if (kept && legal && ok)
        atk_pass(name,
                 "LINT0 INIT 0x%08x kept 0x%08x, thermal SMI 0x%08x kept 0x%08x, perf NMI 0x%08x took (0x%08x -> 0x%08x); %s",
                 lint0_init, lint0_now, thermal_smi, thermal_now, perf_nmi, perf, perf_now, why);
    else
        atk_fail(name,
                 "LINT0 0x%08x after writing INIT 0x%08x (want 0x%08x), thermal 0x%08x after SMI 0x%08x (want 0x%08x), "
                 "perf 0x%08x after NMI 0x%08x (want it); %s",
                 lint0_now, lint0_init, lint0, thermal_now, thermal_smi, thermal, perf_now, perf_nmi, why);
}

/* The same through the x2APIC LVT MSRs (SDM Vol. 3A 10.12.1.2: LINT0
 * 0x835, thermal 0x833, perf 0x834), where the core intercepts LVT writes
 * (hv/msr_policy.c, MSR_CHECK_LVT): the refused writes complete without a
 * fault and leave the old value. Runs in x2APIC mode only (after
 * x2apic-icr-reserved, which leaves it on); else skipped. */
void attack_lvt_x2apic(void)
{
    const char *name = "lvt-x2apic";
    static char why[240];
    uint64_t base = 0;
    atk_rdmsr(MSR_APIC_BASE, &base);
    if (!(base & APIC_BASE_EXTD)) {
        atk_skip(name, "xAPIC mode (IA32_APIC_BASE 0x%lx): lvt-delivery covers it", base);
        return;
    }
    uint64_t lint0 = 0, thermal = 0, perf = 0, lint0_now = 0, thermal_now = 0, perf_now = 0;
    const uint64_t lint0_init = LVT_MASKED | LVT_MODE(5), thermal_smi = LVT_MASKED | LVT_MODE(2);
    const uint64_t perf_nmi = LVT_MASKED | LVT_MODE(4);
    uint64_t flags = atk_irq_save();
    uint64_t r = atk_rdmsr(0x835, &lint0) | atk_rdmsr(0x833, &thermal) | atk_rdmsr(0x834, &perf);
    uint64_t w1 = atk_wrmsr(0x835, lint0_init);
    uint64_t w2 = atk_wrmsr(0x833, thermal_smi);
    uint64_t w3 = atk_wrmsr(0x834, perf_nmi);
    r |= atk_rdmsr(0x835, &lint0_now) | atk_rdmsr(0x833, &thermal_now) | atk_rdmsr(0x834, &perf_now);
    atk_wrmsr(0x834, perf);
    atk_wrmsr(0x833, thermal);
    atk_wrmsr(0x835, lint0);
    atk_irq_restore(flags);
    bool ok = atk_core_intact_self(why, sizeof(why));
    char f[40];
    if (r || w1 || w2 || w3) {
        uint64_t bad = r ? r : w1 ? w1 : w2 ? w2 : w3;
        atk_fail(name, "an LVT MSR %s faulted: %s", r ? "read" : "write", guard_describe(bad, f, sizeof(f)));
        return;
    }
    if (lint0_now == lint0 && thermal_now == thermal && perf_now == perf_nmi && ok)
        atk_pass(name, "WRMSR LINT0 INIT 0x%lx kept 0x%lx, thermal SMI 0x%lx kept 0x%lx, perf NMI 0x%lx took (0x%lx -> 0x%lx); %s",
                 lint0_init, lint0_now, thermal_smi, thermal_now, perf_nmi, perf, perf_now, why);
    else
        atk_fail(name, "LINT0 0x%lx after INIT 0x%lx (want 0x%lx), thermal 0x%lx after SMI 0x%lx (want 0x%lx), "
                 "perf 0x%lx after NMI 0x%lx (want it); %s",
                 lint0_now, lint0_init, lint0, thermal_now, thermal_smi, thermal, perf_now, perf_nmi, why);
}
