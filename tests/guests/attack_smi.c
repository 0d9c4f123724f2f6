/* Attacks icr-smi and msi-window (issue 14; review R, findings 1 and 4):
 * an SMI the guest sends to a CPU. With the firmware's SMM handler in
 * place an SMI runs that handler (trusted, docs/security.md); the
 * emulators' OVMF has none, so SMBASE keeps its reset value 0x30000 and
 * the CPU runs whatever guest RAM holds at 0x38000, in SMM, outside the
 * core (SDM Vol. 3C 32.4, APM Vol. 2 10.2). That is the canary: eight bytes
 * at 0x38000 that count their runs at 0x37000 and RSM, so a count above
 * zero is an SMI that reached a CPU. The bytes there, and the state-save
 * area the SMI would write (0x3FE00-0x3FFFF), are put back afterwards.
 *
 * icr-smi: an interrupt command with delivery mode SMI to this CPU (xAPIC
 * ICR or x2APIC 0x830); the core drops it (icr-delivery).
 * msi-window: a dword SMI message written by the CPU to 0xFEE00000 |
 * (APIC ID << 12) of another CPU, outside the local APIC page: QEMU's APIC
 * takes it as an MSI of any delivery mode (apic_mem_write); the core keeps
 * the rest of the 1 MiB window not present (msi-window). */
#include <minihv/format.h>
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "tests/guests/attack.h"

#define SMM_CANARY_CODE  0x38000ul /* SMBASE 0x30000 + 0x8000 (reset SMBASE) */
#define SMM_CANARY_COUNT 0x37000ul
#define SMM_SAVE_AREA    0x3fe00ul
#define SMM_SAVE_BYTES   0x200u
#define MSR_APIC_BASE    0x1b
#define APIC_BASE_EXTD   (1ull << 10)
#define ICR_SMI          0x00004200u /* delivery mode 010, assert, physical, no shorthand */

/* cs: inc dword [0x7000] (CS base = SMBASE: 0x37000); rsm. 16-bit code,
 * as SMM starts (SDM Vol. 3C Table 32-4). */
static const uint8_t canary[] = { 0x2e, 0x66, 0xff, 0x06, 0x00, 0x70, 0x0f, 0xaa };

static uint8_t saved_code[sizeof(canary)], saved_save[SMM_SAVE_BYTES];
static uint32_t saved_count;

/* False when the canary did not take: the default SMRAM range is not the
 * guest's (the loader reserves it for the core when SMM is open, and the
 * core keeps it not present: smm-default). Then only the core's refusal
 * count proves the attack refused (tests/emu/attack.sh). */
static bool canary_arm(void)
{
    memcpy(saved_code, (void *)(uintptr_t)SMM_CANARY_CODE, sizeof(canary));
    memcpy(saved_save, (void *)(uintptr_t)SMM_SAVE_AREA, SMM_SAVE_BYTES);
    saved_count = *(volatile uint32_t *)(uintptr_t)SMM_CANARY_COUNT;
    memcpy((void *)(uintptr_t)SMM_CANARY_CODE, canary, sizeof(canary));
    *(volatile uint32_t *)(uintptr_t)SMM_CANARY_COUNT = 0;
    __asm__ volatile("wbinvd" ::: "memory");
    return !memcmp((void *)(uintptr_t)SMM_CANARY_CODE, canary, sizeof(canary)) &&
           *(volatile uint32_t *)(uintptr_t)SMM_CANARY_COUNT == 0;
}

static uint32_t canary_runs(void)
{
    return *(volatile uint32_t *)(uintptr_t)SMM_CANARY_COUNT;
}

static void canary_disarm(void)
{
    memcpy((void *)(uintptr_t)SMM_CANARY_CODE, saved_code, sizeof(canary));
    memcpy((void *)(uintptr_t)SMM_SAVE_AREA, saved_save, SMM_SAVE_BYTES);
    *(volatile uint32_t *)(uintptr_t)SMM_CANARY_COUNT = saved_count;
}

/* Long enough for an SMI to be taken: it is taken at the next instruction
 * boundary (SVM: at the core's STGI after the exit). */
static void settle(void)
{
    for (volatile unsigned i = 0; i < 2000000; i++)
        ;
}

void attack_icr_smi(void)
{
    const char *name = "icr-smi";
    static char why[240];
    uint64_t base = 0;
    atk_rdmsr(MSR_APIC_BASE, &base);
    uint32_t self = atk_apic_id();
    bool x2apic = base & APIC_BASE_EXTD;
    uint64_t flags = atk_irq_save();
    bool planted = canary_arm();
    uint64_t f;
    if (x2apic) {
        f = atk_wrmsr(0x830, (uint64_t)self << 32 | ICR_SMI);
    } else {
        uint64_t apic = base & 0x000ffffffffff000ull;
        f = atk_write32(apic + 0x310, self << 24);
        f |= atk_write32(apic + 0x300, ICR_SMI);
    }
    settle();
    uint32_t runs = canary_runs();
    canary_disarm();
    atk_irq_restore(flags);
    bool ok = atk_core_intact_self(why, sizeof(why));
    char d[40];
    if (f)
        atk_fail(name, "the %s ICR write faulted: %s", x2apic ? "x2APIC" : "xAPIC", guard_describe(f, d, sizeof(d)));
    else if (!planted && ok)
        atk_pass(name, "SMI IPI to itself (APIC ID %u, %s ICR 0x%08x): no canary (0x%lx is not the guest's RAM); %s",
                 self, x2apic ? "x2APIC" : "xAPIC", ICR_SMI, SMM_CANARY_CODE, why);
    else if (runs == 0 && ok)
        atk_pass(name, "SMI IPI to itself (APIC ID %u, %s ICR 0x%08x): the SMM canary at 0x%lx never ran; %s", self,
                 x2apic ? "x2APIC" : "xAPIC", ICR_SMI, SMM_CANARY_CODE, why);
    else
        atk_fail(name, "SMI IPI to itself (APIC ID %u, %s): guest code at 0x%lx ran in SMM %u time(s); %s", self,
                 x2apic ? "x2APIC" : "xAPIC", SMM_CANARY_CODE, runs, ok ? "core intact" : why);
}

void attack_msi_window(void)
{
    const char *name = "msi-window";
    static char why[240];
    uint32_t self = atk_apic_id();
    UINTN other = env.cpus;
    for (UINTN i = 0; i < env.cpus && i < ATK_MAX_CPUS; i++)
        if (i != env.self && env.cpu_ok[i] && env.apic_id[i] != 0 && env.apic_id[i] < 256) {
            other = i;
            break;
        }
    if (other == env.cpus) {
        atk_skip(name, "no other CPU with an APIC ID in 1..255 (this one: %u)", self);
        return;
    }
    uint64_t msg = 0xfee00000ull | (uint64_t)env.apic_id[other] << 12;
    uint64_t flags = atk_irq_save();
    bool planted = canary_arm();
    uint32_t before = 0;
    uint64_t r = atk_read32(msg, &before);
    uint64_t f = atk_write32(msg, 0x00000200u); /* SMI, edge (MSI data, SDM Vol. 3A 11.11.2) */
    settle();
    uint32_t runs = canary_runs();
    canary_disarm();
    atk_irq_restore(flags);
    bool ok = atk_core_intact(why, sizeof(why));
    char d[40];
    if (r || f)
        atk_fail(name, "the %s at 0x%lx faulted: %s", r ? "read" : "write", msg,
                 guard_describe(r ? r : f, d, sizeof(d)));
    else if (!planted && ok)
        atk_pass(name, "dword SMI message 0x200 at 0x%lx (CPU %lu, APIC ID %u): no canary (0x%lx is not the "
                 "guest's RAM), the window reads 0x%08x; %s", msg, (unsigned long)other, env.apic_id[other],
                 SMM_CANARY_CODE, before, why);
    else if (runs == 0 && ok)
        atk_pass(name, "dword SMI message 0x200 at 0x%lx (CPU %lu, APIC ID %u): the SMM canary never ran, "
                 "the window reads 0x%08x; %s", msg, (unsigned long)other, env.apic_id[other], before, why);
    else
        atk_fail(name, "dword SMI message 0x200 at 0x%lx (APIC ID %u): guest code at 0x%lx ran in SMM %u time(s) "
                 "(the window read 0x%08x); %s", msg, env.apic_id[other], SMM_CANARY_CODE, runs, before,
                 ok ? "core intact" : why);
}
