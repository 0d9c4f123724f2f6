/* The attack guest's CPU attacks (issue 14): MSRs, the local APIC, INIT,
 * MOV SS + TF, XSETBV, an unbacked guest-physical address, triple fault.
 * Each tries the attack, then checks that it was refused and that the core
 * is intact (atk_core_intact). */
#include <minihv/format.h>
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "tests/guests/attack.h"
#include "tests/guests/print.h"

#define MSR_APIC_BASE        0x1b
#define APIC_BASE_BSP        (1ull << 8)
#define APIC_BASE_EXTD       (1ull << 10)
#define APIC_BASE_EN         (1ull << 11)
#define APIC_ID              0x20
#define APIC_VERSION         0x30
#define APIC_LDR             0xd0
#define APIC_DFR             0xe0
#define APIC_ICR_LOW         0x300
#define APIC_ICR_HIGH        0x310
#define ICR_INIT             0x00000500u /* delivery mode 101b (SDM Vol. 3 10.6.1) */
#define ICR_STARTUP          0x00000600u
#define ICR_LOGICAL          (1u << 11)
#define ICR_ASSERT           (1u << 14)
#define ICR_ALL_BUT_SELF     (3u << 18)
#define MSR_X2APIC_ICR       0x830

static char why[240];

static bool intact(void)
{
    return atk_core_intact(why, sizeof(why));
}

static bool intact_self(void)
{
    return atk_core_intact_self(why, sizeof(why));
}

static uint64_t read_cr0(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}

static void write_cr0(uint64_t v)
{
    __asm__ volatile("mov %0, %%cr0" ::"r"(v) : "memory");
}

static uint64_t read_cr3(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}

static uint64_t read_cr4(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}

static void write_cr4(uint64_t v)
{
    __asm__ volatile("mov %0, %%cr4" ::"r"(v) : "memory");
}

static volatile uint32_t *apic_reg(uint64_t base, unsigned off)
{
    return (volatile uint32_t *)(uintptr_t)(base + off);
}

static uint64_t apic_base_msr(void)
{
    uint64_t v = 0;
    atk_rdmsr(MSR_APIC_BASE, &v);
    return v;
}

/* ---- msr-sweep ---- */

struct msr_try {
    uint32_t msr;
    const char *name;
    int vendor;        /* 1 Intel, 2 AMD, 0 both */
    uint64_t value;    /* what a hostile kernel writes; ~0: computed */
    /* Hardware with the firmware's lock set faults the write (SMM_BASE,
     * SMM_ADDR/MASK and HWCR.SMMLOCK once HWCR.SMMLOCK is set: APM Vol. 2
     * 10.2.5, "Error-on-write" in the PPRs): a write dropped in silence is
     * not enough, it may have reached an emulator that drops it too. */
    bool must_gp;
};

void attack_msr_sweep(void)
{
    const char *name = "msr-sweep";
    uint32_t r[4];
    x86_cpuid(7, 0, r);
    bool pt = r[1] & (1u << 25); /* CPUID.7.EBX[25]: Intel PT */
    uint64_t blk = env.fp.block_base;
    uint64_t blk_mask = (~(env.fp.block_size - 1)) & 0x000ffffffffff000ull;
    const struct msr_try list[] = {
        { 0x560, "IA32_RTIT_OUTPUT_BASE (trace output into the block)", 1, blk, false },
        { 0x570, "IA32_RTIT_CTL (TraceEn|BranchEn)", 1, 0x2001, false },
        { 0xc0010010, "SYSCFG (MtrrFixDramEn|MtrrFixDramModEn)", 2, ~0ull, false },
        { 0xc0010016, "IORR_BASE0 (the block, RdDram|WrDram off)", 2, blk, false },
        { 0xc0010017, "IORR_MASK0 (valid)", 2, blk_mask | 0x800, false },
        { 0xc0010018, "IORR_BASE1", 2, blk | 0x18, false },
        { 0xc0010019, "IORR_MASK1", 2, blk_mask | 0x800, false },
        { 0xc001001a, "TOP_MEM (the block becomes MMIO)", 2, blk & ~0x7fffffull, false },
        { 0xc001001d, "TOM2", 2, 0x100000000ull, false },
        { 0xc0010058, "MMIO_CFG_BASE (ECAM moved)", 2, 0xe0000000ull | (8u << 2) | 1, false },
        { 0xc0010015, "HWCR (SMMLOCK flipped)", 2, ~0ull, true },
        { 0xc0010111, "SMM_BASE (the SMI entry into the block)", 2, blk, true },
        { 0xc0010112, "SMM_ADDR (TSEG base)", 2, blk, true },
        { 0xc0010113, "SMM_MASK", 2, blk_mask | 3, true },
        { 0xc0010114, "VM_CR (LOCK and SVMDIS cleared)", 2, 0, false },
        { 0xc0010117, "VM_HSAVE_PA", 2, blk, false },
    };
    unsigned tried = 0, refused = 0, kept = 0, bad = 0;
    char first_bad[200] = "";
    for (size_t i = 0; i < ARRAY_SIZE(list); i++) {
        const struct msr_try *t = &list[i];
        if ((t->vendor == 1 && !env.intel) || (t->vendor == 2 && env.intel))
            continue;
        if ((t->msr == 0x560 || t->msr == 0x570) && !pt)
            continue;
        uint64_t old = 0, now = 0, value = t->value;
        uint64_t rf = atk_rdmsr(t->msr, &old);
        if (t->msr == 0xc0010010)
            value = old | (3ull << 18);
        if (t->msr == 0xc0010015)
            value = old ^ 1; /* HWCR.SMMLOCK flipped: set, it freezes what the firmware left; clear, it unlocks SMM */
        uint64_t wf = atk_wrmsr(t->msr, value);
        uint64_t nf = atk_rdmsr(t->msr, &now);
        tried++;
        if (wf && GUARD_VECTOR(wf) == VEC_GP) {
            refused++;
            continue;
        }
        if (t->must_gp) {
            bad++;
            if (!first_bad[0])
                fmt_snprintf(first_bad, sizeof(first_bad), "0x%x %s: WRMSR 0x%lx did not #GP (0x%lx -> 0x%lx)",
                             t->msr, t->name, value, old, now);
            if (!rf && !wf)
                atk_wrmsr(t->msr, old);
            continue;
        }
        if (!wf && !rf && !nf && now == old && now != value) {
            kept++;
            continue;
        }
        if (!wf && rf && nf) { /* neither read works: the value cannot be seen; a write without #GP */
            bad++;
            if (!first_bad[0])
                fmt_snprintf(first_bad, sizeof(first_bad), "0x%x %s: WRMSR 0x%lx did not fault (RDMSR faults)", t->msr,
                             t->name, value);
            continue;
        }
        bad++;
        if (!first_bad[0])
            fmt_snprintf(first_bad, sizeof(first_bad), "0x%x %s: WRMSR 0x%lx took (0x%lx -> 0x%lx)", t->msr, t->name,
                         value, old, now);
        if (!rf)
            atk_wrmsr(t->msr, old);
    }
    /* VM_CR (SVM): the core answers SVM disabled and locked (SVMDIS and
     * LOCK, APM Vol. 2 15.30.1) whatever was written above: a guest that
     * reads SVM as usable and unlocked goes on to try it. */
    uint64_t vm_cr = 0;
    if (!env.intel) {
        uint64_t f = atk_rdmsr(0xc0010114, &vm_cr);
        if (f || (vm_cr & 0x18) != 0x18) {
            bad++;
            if (!first_bad[0])
                fmt_snprintf(first_bad, sizeof(first_bad), "VM_CR reads 0x%lx%s: not SVMDIS|LOCK (0x18)", vm_cr,
                             f ? " (faulted)" : "");
        }
    }
    /* IA32_PAT (VMX: the core must load its own on every exit): a PAT of all
     * UC and a weird mix the guest may legally use, then the core intact. */
    if (env.intel) {
        uint64_t old = 0;
        atk_rdmsr(MSR_IA32_PAT, &old);
        uint64_t f1 = atk_wrmsr(MSR_IA32_PAT, 0);                    /* every entry UC */
        bool ok1 = intact_self();
        uint64_t f2 = atk_wrmsr(MSR_IA32_PAT, 0x0101010101010101ull); /* every entry WC */
        bool ok2 = intact_self();
        atk_wrmsr(MSR_IA32_PAT, old);
        tried += 2;
        if (f1 || f2 || !ok1 || !ok2) {
            bad++;
            if (!first_bad[0])
                fmt_snprintf(first_bad, sizeof(first_bad), "IA32_PAT all-UC/all-WC: write %s, core %s", f1 || f2 ? "faulted" : "ok",
                             ok1 && ok2 ? "intact" : why);
        }
    }
    bool ok = intact_self();
    if (!bad && ok)
        atk_pass(name, "%u MSR writes: %u refused with #GP, %u kept their value%s; %s", tried, refused, kept,
                 env.intel ? (pt ? "; IA32_PAT all-UC and all-WC taken, core intact" : "; no Intel PT; IA32_PAT all-UC and all-WC taken, core intact")
                           : vm_cr == 0x18 ? "; VM_CR reads 0x18" : "; VM_CR reads SVMDIS|LOCK",
                 why);
    else
        atk_fail(name, "%s%s%s", first_bad[0] ? first_bad : "", first_bad[0] && !ok ? "; " : "", ok ? "" : why);
}

/* ---- apic-base: IA32_APIC_BASE moved off the trapped page ---- */

void attack_apic_base(void)
{
    const char *name = "apic-base";
    uint64_t old = 0;
    if (atk_rdmsr(MSR_APIC_BASE, &old)) {
        atk_fail(name, "RDMSR IA32_APIC_BASE faulted");
        return;
    }
    if (old & APIC_BASE_EXTD) {
        atk_skip(name, "x2APIC mode (IA32_APIC_BASE 0x%lx): no xAPIC page to move", old);
        return;
    }
    EFI_PHYSICAL_ADDRESS page = 0xfffff000;
    if (EFI_ERROR(BS->AllocatePages(AllocateMaxAddress, EfiBootServicesData, 1, &page))) {
        atk_fail(name, "no page below 4 GiB");
        return;
    }
    SetMem((void *)(uintptr_t)page, 4096, 0);
    uint64_t moved = (old & 0xfffull) | page;
    UINTN target = env.self == 0 ? 1 : 0;
    uint64_t flags = atk_irq_save();
    uint64_t wf = atk_wrmsr(MSR_APIC_BASE, moved);
    uint64_t now = apic_base_msr();
    uint32_t id_there = 0, ver_there = 0;
    bool took = !wf && now == moved;
    if (took) {
        id_there = *apic_reg(page, APIC_ID);
        ver_there = *apic_reg(page, APIC_VERSION);
        /* The payload: an INIT to another CPU through the ICR at the new
         * address. It must not reach the hardware. */
        if (env.cpus > 1) {
            *apic_reg(page, APIC_ICR_HIGH) = env.apic_id[target] << 24;
            *apic_reg(page, APIC_ICR_LOW) = ICR_INIT | ICR_ASSERT;
        }
        atk_wrmsr(MSR_APIC_BASE, old);
    }
    /* Once that is refused: onto a page of the core's block (the core's
     * own accesses there would hit APIC registers). */
    uint64_t into_block = (old & 0xfffull) | ((env.fp.block_base + env.fp.block_size / 2) & ~0xfffull);
    uint64_t wf2 = 0, now2 = old;
    if (wf && GUARD_VECTOR(wf) == VEC_GP) {
        wf2 = atk_wrmsr(MSR_APIC_BASE, into_block);
        now2 = apic_base_msr();
        if (!wf2 && now2 != old)
            atk_wrmsr(MSR_APIC_BASE, old);
    }
    uint64_t back = apic_base_msr();
    atk_irq_restore(flags);
    BS->Stall(100000);
    char f[24];
    bool ok = intact();
    if (wf && GUARD_VECTOR(wf) == VEC_GP && !(wf2 && GUARD_VECTOR(wf2) == VEC_GP) && now2 != old)
        atk_fail(name, "IA32_APIC_BASE into the core's block 0x%lx: %s, reads 0x%lx", into_block,
                 wf2 ? guard_describe(wf2, f, sizeof(f)) : "no fault", now2);
    else if (wf && GUARD_VECTOR(wf) == VEC_GP && ok)
        atk_pass(name, "WRMSR IA32_APIC_BASE 0x%lx -> 0x%lx (free page) and -> 0x%lx (the core's block): %s, %s; %s", old,
                 moved, into_block, "#GP", wf2 ? "#GP" : "ignored", why);
    else if (!wf && now == old && ok)
        atk_pass(name, "WRMSR IA32_APIC_BASE 0x%lx ignored (reads 0x%lx); %s", moved, now, why);
    else if (took)
        atk_fail(name, "IA32_APIC_BASE 0x%lx -> 0x%lx took (APIC ID register there 0x%08x, version 0x%08x), INIT to APIC ID %u sent through it; base back 0x%lx; %s",
                 old, moved, id_there, ver_there, env.cpus > 1 ? env.apic_id[target] : 0, back, ok ? "core intact" : why);
    else
        atk_fail(name, "WRMSR 0x%lx: %s, reads 0x%lx; %s", moved, wf ? guard_describe(wf, f, sizeof(f)) : "no fault", now,
                 ok ? "core intact" : why);
}

/* ---- INIT in logical destination mode and with a shorthand: the core
 * must post it (the target waits for SIPI under the core) and a SIPI must
 * restart the target as a guest. The SIPI vector is a real-mode stub that
 * issues PING and stores the answer by APIC ID, then halts; MP services
 * restart the AP with INIT-SIPI-SIPI the next time they need it. ---- */

void atk_tramp_start(void) __attribute__((visibility("hidden")));
void atk_tramp_end(void) __attribute__((visibility("hidden")));
void atk_tramp_hc(void) __attribute__((visibility("hidden")));
void atk_tramp_slots(void) __attribute__((visibility("hidden")));
void atk_tramp_count(void) __attribute__((visibility("hidden")));

__asm__(
    ".text\n"
    ".balign 16\n"
    ".globl atk_tramp_start, atk_tramp_end, atk_tramp_hc, atk_tramp_slots, atk_tramp_count\n"
    ".hidden atk_tramp_start, atk_tramp_end, atk_tramp_hc, atk_tramp_slots, atk_tramp_count\n"
    ".code16\n"
    "atk_tramp_start:\n"
    "    cli\n"
    "    mov %cs, %ax\n"
    "    mov %ax, %ds\n"
    "    mov $1, %eax\n"          /* initial APIC ID: CPUID.1:EBX[31:24] */
    "    xor %ecx, %ecx\n"
    "    cpuid\n"
    "    shr $24, %ebx\n"
    "    and $15, %bx\n"
    "    shl $2, %bx\n"
    "    mov %bx, %di\n"
    "    mov $0x40000000, %eax\n" /* minihv's signature: a guest, else native */
    "    xor %ecx, %ecx\n"
    "    cpuid\n"
    "    cmp $0x696e694d, %ebx\n"
    "    jne 2f\n"
    "    xor %eax, %eax\n" /* MINIHV_HC_PING */
    "    xor %ebx, %ebx\n"
    "    xor %ecx, %ecx\n"
    "    xor %edx, %edx\n"
    "atk_tramp_hc:\n"
    "    .byte 0x0f, 0x01, 0xd9\n" /* VMMCALL; patched to VMCALL (0xc1) on Intel */
    "    jmp 3f\n"
    "2:  mov $0x5654414e, %ebx\n" /* "NATV": the stub ran without minihv */
    "3:  mov %ebx, (atk_tramp_slots - atk_tramp_start)(%di)\n"
    "    lock incl (atk_tramp_count - atk_tramp_start)\n"
    "1:  cli\n"
    "    hlt\n"
    "    jmp 1b\n"
    ".balign 4\n"
    "atk_tramp_count:\n"
    "    .long 0\n"
    "atk_tramp_slots:\n"
    "    .fill 16, 4, 0\n"
    "atk_tramp_end:\n"
    ".code64\n");

static uint8_t *tramp;
#define TRAMP_NATIVE 0x5654414eu /* "NATV" */

static bool tramp_setup(void)
{
    if (tramp)
        return true;
    EFI_PHYSICAL_ADDRESS pa = 0x9f000;
    if (EFI_ERROR(BS->AllocatePages(AllocateMaxAddress, EfiBootServicesCode, 1, &pa)))
        return false;
    tramp = (uint8_t *)(uintptr_t)pa;
    size_t n = (size_t)((uintptr_t)atk_tramp_end - (uintptr_t)atk_tramp_start);
    memcpy(tramp, (const void *)(uintptr_t)atk_tramp_start, n);
    tramp[(uintptr_t)atk_tramp_hc - (uintptr_t)atk_tramp_start + 2] = env.intel ? 0xc1 : 0xd9;
    return true;
}

static volatile uint32_t *tramp_count(void)
{
    return (volatile uint32_t *)(tramp + ((uintptr_t)atk_tramp_count - (uintptr_t)atk_tramp_start));
}

static volatile uint32_t *tramp_slot(uint32_t apic_id)
{
    return (volatile uint32_t *)(tramp + ((uintptr_t)atk_tramp_slots - (uintptr_t)atk_tramp_start)) + (apic_id & 15);
}

static void tramp_clear(void)
{
    *tramp_count() = 0;
    for (unsigned i = 0; i < 16; i++)
        *tramp_slot(i) = 0;
}

struct ldr_job {
    uint32_t ldr;
    volatile bool done;
};

static VOID EFIAPI set_ldr(VOID *arg)
{
    struct ldr_job *j = arg;
    uint64_t base = 0;
    atk_rdmsr(MSR_APIC_BASE, &base); /* no guard on the AP: RDMSR of APIC_BASE never faults */
    base &= 0x000ffffffffff000ull;
    *apic_reg(base, APIC_DFR) = 0xffffffffu; /* flat model */
    *apic_reg(base, APIC_LDR) = j->ldr;
    j->done = true;
}

static void send_icr(uint64_t apic, uint32_t high, uint32_t low)
{
    *apic_reg(apic, APIC_ICR_HIGH) = high;
    *apic_reg(apic, APIC_ICR_LOW) = low;
}

/* Waits up to STUB_WAIT_MS for `want` stub answers; stub_wait_ms: how
 * long the last wait took (the init-logical lines print it: the margin
 * of this bound on a loaded host). */
#define STUB_WAIT_MS 1000
static unsigned stub_wait_ms;

static uint32_t wait_stub(uint32_t want)
{
    unsigned ms = 0;
    for (; ms < STUB_WAIT_MS && *tramp_count() < want; ms++)
        BS->Stall(1000);
    stub_wait_ms = ms;
    return *tramp_count();
}

/* The xAPIC's MMIO base for an attack that sends interrupt commands to
 * another CPU, or 0 after a SKIP line (one CPU, or x2APIC mode). */
static uint64_t xapic_for_ipi(const char *name)
{
    uint64_t base = apic_base_msr();
    if (env.cpus < 2 || !env.mp) {
        atk_skip(name, "one CPU");
        return 0;
    }
    if (base & APIC_BASE_EXTD) {
        atk_skip(name, "x2APIC mode");
        return 0;
    }
    return base & 0x000ffffffffff000ull;
}

void attack_init_logical(void)
{
    const char *name = "init-logical";
    uint64_t apic = xapic_for_ipi(name);
    if (!apic)
        return;
    if (!tramp_setup()) {
        atk_fail(name, "no page below 1 MiB for the SIPI stub");
        return;
    }
    uint8_t vector = (uint8_t)((uintptr_t)tramp >> 12);
    UINTN target = env.self == 0 ? 1 : 0;
    static struct ldr_job job;
    job.ldr = 1u << 24; /* logical ID 1 (flat model: one bit per CPU) */
    job.done = false;
    EFI_STATUS st = atk_on_cpu(target, (void (*)(void *))set_ldr, &job, 30000);
    if (EFI_ERROR(st) || !job.done) {
        atk_fail(name, "cannot set the LDR of cpu%lu (status 0x%lx)", target, (uint64_t)st);
        return;
    }
    /* 1: INIT, then SIPI, to all excluding self (SDM Vol. 3 10.6.1). */
    tramp_clear();
    uint64_t f = atk_irq_save();
    send_icr(apic, 0, ICR_INIT | ICR_ASSERT | ICR_ALL_BUT_SELF);
    atk_irq_restore(f);
    BS->Stall(10000);
    f = atk_irq_save();
    send_icr(apic, 0, ICR_STARTUP | ICR_ASSERT | ICR_ALL_BUT_SELF | vector);
    atk_irq_restore(f);
    uint32_t want = (uint32_t)env.cpus - 1;
    uint32_t got2 = wait_stub(want);
    unsigned pong2 = 0, ms2 = stub_wait_ms;
    for (UINTN n = 0; n < env.cpus; n++)
        if (n != env.self && *tramp_slot(env.apic_id[n]) == MINIHV_HC_PONG)
            pong2++;
    bool ok2 = got2 == want && pong2 == want;
    guest_print("attack: init-logical: all-but-self INIT+SIPI: %u of %u CPU(s) ran the SIPI stub as a guest (PING answered) "
                "within %u ms (of %u)", pong2, want, ms2, STUB_WAIT_MS);
    /* 2: INIT, then SIPI, in logical destination mode to logical ID 1. */
    tramp_clear();
    f = atk_irq_save();
    send_icr(apic, 1u << 24, ICR_INIT | ICR_ASSERT | ICR_LOGICAL);
    atk_irq_restore(f);
    BS->Stall(10000);
    f = atk_irq_save();
    send_icr(apic, 1u << 24, ICR_STARTUP | ICR_ASSERT | ICR_LOGICAL | vector);
    atk_irq_restore(f);
    uint32_t got1 = wait_stub(1);
    uint32_t slot1 = *tramp_slot(env.apic_id[target]);
    bool ok1 = got1 == 1 && slot1 == MINIHV_HC_PONG;
    if (slot1 == TRAMP_NATIVE) {
        bool ok = intact();
        atk_fail(name, "logical INIT+SIPI to cpu%lu (APIC ID %u): the SIPI stub ran without minihv (no CPUID signature): "
                 "the INIT reached the hardware and the CPU left the core; %s", target, env.apic_id[target],
                 ok ? "core intact otherwise" : why);
        return;
    }

    bool ok = intact();
    if (ok1 && ok2 && ok)
        atk_pass(name, "logical INIT+SIPI: cpu%lu came back as a guest (PING from the SIPI stub at 0x%lx) within %u ms; "
                 "all-but-self INIT+SIPI: %u of %u came back within %u ms (each wait: %u ms at most); %s",
                 target, (uint64_t)(uintptr_t)tramp, stub_wait_ms, pong2, want, ms2, STUB_WAIT_MS, why);
    else
        atk_fail(name, "logical INIT+SIPI to cpu%lu: %u stub answer(s) (0x%x)%s; all-but-self: %u of %u answered PING; %s", target,
                 got1, slot1, ok1 ? " (ok)" : " (the target did not come back as a guest)", pong2, want, ok ? "core intact" : why);
}

/* ---- icr-alias: an interrupt command at ICR low + 8 ----
 * An APIC may decode its registers from offset bits 11:4 (QEMU's does),
 * so an aligned dword at 0x308 is an ICR low write there: an INIT the
 * core never sees (found by check-fuzzguest, seed 0x14b05b917d15: an
 * identity write at 0x308 re-sent an SMI-mode IPI). The guest sends INIT
 * to another CPU that way; the core must refuse it (apic-icr-access):
 * on SVM a physical INIT would be absorbed at the target (physical-init,
 * which the harness checks is not counted), on VMX it would stop the
 * target until a SIPI. The target must answer afterwards. */
void attack_icr_alias(void)
{
    const char *name = "icr-alias";
    uint64_t apic = xapic_for_ipi(name);
    if (!apic)
        return;
    UINTN target = env.self == 0 ? 1 : 0;
    uint64_t f = atk_irq_save();
    *apic_reg(apic, APIC_ICR_HIGH) = env.apic_id[target] << 24;
    *apic_reg(apic, APIC_ICR_LOW + 8) = ICR_INIT | ICR_ASSERT;
    atk_irq_restore(f);
    BS->Stall(10000);
    atk_note(name, "INIT to cpu%lu (APIC ID %u) written at APIC offset 0x308", target, env.apic_id[target]);
    if (intact())
        atk_pass(name, "INIT at ICR low + 8 to cpu%lu: it still answers; %s", target, why);
    else
        atk_fail(name, "INIT at ICR low + 8 to cpu%lu: %s", target, why);
}

/* ---- movss-tf ---- */

void attack_movss_tf(void)
{
    const char *name = "movss-tf";
    atk_db_count = 0;
    atk_db_rip = 0;
    uint64_t f = atk_irq_save();
    uint64_t expect = atk_movss_cpuid();
    atk_irq_restore(f);
    uint64_t count = atk_db_count, rip = atk_db_rip;
    bool ok = intact_self();
    if (count == 1 && rip == expect && ok)
        atk_pass(name, "one #DB right after the CPUID (RIP 0x%lx) as on hardware; %s", rip, why);
    else
        atk_fail(name, "%lu #DB, at RIP 0x%lx; hardware gives one at 0x%lx (right after the CPUID); %s", count, rip, expect,
                 ok ? "core intact" : why);
}

/* ---- xsetbv-17-18: XCR0 with TILECFG (17) and not TILEDATA (18) ---- */

void attack_xsetbv_17_18(void)
{
    const char *name = "xsetbv-17-18";
    uint32_t r[4];
    x86_cpuid(1, 0, r);
    if (!(r[2] & (1u << 26))) {
        atk_skip(name, "no XSAVE (CPUID.1:ECX[26])");
        return;
    }
    x86_cpuid(0xd, 0, r);
    uint64_t supported = (uint64_t)r[3] << 32 | r[0];
    uint64_t cr4 = read_cr4();
    if (!(cr4 & (1ull << 18)))
        write_cr4(cr4 | (1ull << 18)); /* CR4.OSXSAVE */
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    uint64_t xcr0 = (uint64_t)hi << 32 | lo;
    uint64_t bad = xcr0 | (1ull << 17);
    bad &= ~(1ull << 18);
    uint64_t fault = atk_xsetbv(0, bad);
    if (!fault)
        atk_xsetbv(0, xcr0);
    if (!(cr4 & (1ull << 18)))
        write_cr4(cr4);
    bool ok = intact_self();
    char d[24];
    const char *amx = (supported & (3ull << 17)) == (3ull << 17) ? "AMX supported" : "AMX not supported by this CPU (#GP for that reason too)";
    if (fault && GUARD_VECTOR(fault) == VEC_GP && ok)
        atk_pass(name, "XSETBV XCR0 0x%lx raised #GP; XCR0 supported 0x%lx, %s; %s", bad, supported, amx, why);
    else
        atk_fail(name, "XSETBV XCR0 0x%lx: %s (SDM 13.3: #GP); XCR0 supported 0x%lx, %s; %s", bad,
                 fault ? guard_describe(fault, d, sizeof(d)) : "no fault", supported, amx, ok ? "core intact" : why);
}

/* ---- unmapped-gpa: a load/store where nothing is: above RAM and every
 * BAR. The guest's page tables (OVMF's identity map) are walked and, when
 * they do not reach it, a 1 GiB mapping is added for the test. ---- */

#define UNMAPPED_GPA 0x7ffffff000ull

static uint64_t *pt_entry(uint64_t table, unsigned index)
{
    return (uint64_t *)(uintptr_t)((table & 0x000ffffffffff000ull) + index * 8);
}

void attack_unmapped_gpa(void)
{
    const char *name = "unmapped-gpa";
    uint64_t va = UNMAPPED_GPA;
    if (read_cr4() & CR4_LA57) {
        atk_skip(name, "5-level paging");
        return;
    }
    uint64_t *pml4e = pt_entry(read_cr3(), (unsigned)((va >> 39) & 511));
    if (!(*pml4e & PTE_P)) {
        atk_skip(name, "PML4 entry for 0x%lx not present", va);
        return;
    }
    uint64_t *pdpte = pt_entry(*pml4e, (unsigned)((va >> 30) & 511));
    uint64_t saved = *pdpte;
    bool added = false;
    uint64_t cr0 = read_cr0();
    uint64_t f = atk_irq_save();
    if (!(saved & PTE_P)) {
        uint32_t r[4];
        x86_cpuid(0x80000001u, 0, r);
        if (!(r[3] & (1u << 26))) { /* 1 GiB pages */
            atk_irq_restore(f);
            atk_skip(name, "0x%lx unmapped in the guest's page tables and no 1 GiB pages", va);
            return;
        }
        write_cr0(cr0 & ~(1ull << 16)); /* CR0.WP: OVMF may map its tables read-only */
        *pdpte = (va & ~(SIZE_1G - 1)) | PTE_PS | PTE_RW | PTE_P | PTE_PCD | PTE_PWT;
        write_cr0(cr0);
        __asm__ volatile("invlpg (%0)" ::"r"(va) : "memory");
        added = true;
    }
    uint64_t v1 = 0, v2 = 0, v3 = 0;
    uint64_t r1 = atk_read64(va, &v1);
    uint64_t w = atk_write64(va, 0x5a5a5a5a5a5a5a5aull);
    uint64_t r2 = atk_read64(va, &v2);
    /* A memset there (REP STOSD, 2 dwords): the hardware's master abort
     * drops each store; the core drops them element by element. */
    uint64_t stos = atk_rep_stosd(va + 64, 0x12345678u);
    uint64_t r3 = atk_read64(va + 64, &v3);
    if (added) {
        write_cr0(cr0 & ~(1ull << 16));
        *pdpte = saved;
        write_cr0(cr0);
        __asm__ volatile("invlpg (%0)" ::"r"(va) : "memory");
    }
    atk_irq_restore(f);
    bool ok = intact_self();
    char d[24], d2[24];
    if (!r1 && !w && !r2 && !stos && !r3 && v1 == ~0ull && v2 == ~0ull && v3 == ~0ull && ok)
        atk_pass(name, "0x%lx%s reads all-ones, the write and a rep stosd were dropped; %s", va,
                 added ? " (mapped for the test)" : "", why);
    else
        atk_fail(name, "0x%lx: read %s 0x%lx, write %s, read back 0x%lx, rep stosd %s, read back 0x%lx (want all-ones, "
                 "writes dropped, no fault); %s", va, r1 ? guard_describe(r1, d, sizeof(d)) : "ok", v1,
                 w ? "faulted" : "ok", v2, stos ? guard_describe(stos, d2, sizeof(d2)) : "ok", v3,
                 ok ? "core intact" : why);
}

/* ---- x2apic-icr-reserved ---- */

void attack_x2apic_icr_reserved(void)
{
    const char *name = "x2apic-icr-reserved";
    uint32_t r[4];
    x86_cpuid(1, 0, r);
    if (!(r[2] & (1u << 21))) {
        atk_skip(name, "no x2APIC (CPUID.1:ECX[21])");
        return;
    }
    uint64_t base = apic_base_msr();
    char d[24];
    if (!(base & APIC_BASE_EXTD)) {
        uint64_t fault = atk_wrmsr(MSR_APIC_BASE, base | APIC_BASE_EN | APIC_BASE_EXTD);
        if (fault) {
            atk_skip(name, "entering x2APIC mode raised %s", guard_describe(fault, d, sizeof(d)));
            return;
        }
        guest_print("attack: x2apic-icr-reserved: x2APIC mode on (IA32_APIC_BASE 0x%lx); it stays on", apic_base_msr());
    }
    /* SDM Vol. 3 10.12.9: the x2APIC ICR's reserved bits (13, 16-17, 20-31
     * of the low half) must be 0, else WRMSR raises #GP. A fixed IPI,
     * vector 0xff, to an APIC ID no CPU has. */
    uint64_t value = 0x0000fffe00000000ull | 0x801000ffull;
    uint64_t fault = atk_wrmsr(MSR_X2APIC_ICR, value);
    bool ok = intact_self();
    if (fault && GUARD_VECTOR(fault) == VEC_GP && ok)
        atk_pass(name, "WRMSR 0x830 <- 0x%lx raised #GP as on hardware; %s", value, why);
    else
        atk_fail(name, "WRMSR 0x830 <- 0x%lx (reserved bits 20, 31): %s, want #GP; %s", value,
                 fault ? guard_describe(fault, d, sizeof(d)) : "no fault", ok ? "core intact" : why);
}

/* ---- triple-fault: an empty IDT, then INT3 (#BP -> #GP -> #DF -> shutdown,
 * SDM Vol. 3 6.15 interrupt 8). The machine must reset; the harness sees
 * it. Nothing after the INT3 may run. ---- */

void attack_triple_fault(void)
{
    struct idt_ptr empty = { 0, 0 };
    guest_print("attack: triple-fault: empty IDT and INT3 now; the machine must reset");
    BS->Stall(200000); /* the line out on the serial port first */
    __asm__ volatile("cli; lidt %0; int3" ::"m"(empty) : "memory");
    atk_fail("triple-fault", "execution went on after INT3 with an empty IDT");
}

/* ---- apic-insn: instructions the core's xAPIC decoder cannot emulate ---- */

#define APIC_TPR 0x80

/* The xAPIC page from IA32_APIC_BASE, 0 (with a SKIP line) in x2APIC mode. */
static uint64_t xapic_page(const char *name)
{
    uint64_t msr = apic_base_msr();
    if (msr & APIC_BASE_EXTD) {
        atk_skip(name, "x2APIC mode (IA32_APIC_BASE 0x%lx): no xAPIC page", msr);
        return 0;
    }
    return msr & ~0xfffull & 0x000ffffffffff000ull;
}

void attack_apic_insn(void)
{
    const char *name = "apic-insn";
    uint64_t apic = xapic_page(name);
    if (!apic)
        return;
    char f1[40], f2[40];
    uint32_t tpr = 0, seen = 0;
    atk_read32(apic + APIC_TPR, &tpr);
    uint64_t flags = atk_irq_save();
    /* STOSD (REP, ecx 2: TPR and APR) is not emulated: #GP(0). */
    uint64_t stos = atk_rep_stosd(apic + APIC_TPR, tpr);
    /* MOVNTI: the decoder takes a dword MOVNTI as a MOV (hv/decode.c
     * 0F C3); a non-temporal hint on UC memory is a plain store. Either a
     * #GP or the store done as a MOV (the TPR reads back the new value). */
    uint64_t nti = atk_movnti32(apic + APIC_TPR, 0x10);
    atk_read32(apic + APIC_TPR, &seen);
    atk_write32(apic + APIC_TPR, tpr);
    atk_irq_restore(flags);
    guard_describe(stos, f1, sizeof(f1));
    guard_describe(nti, f2, sizeof(f2));
    bool stos_gp = stos && GUARD_VECTOR(stos) == VEC_GP;
    bool nti_ok = nti ? GUARD_VECTOR(nti) == VEC_GP : (seen & 0xff) == 0x10;
    char nti_what[80];
    if (nti)
        fmt_snprintf(nti_what, sizeof(nti_what), "movnti %s", f2);
    else
        fmt_snprintf(nti_what, sizeof(nti_what), "movnti emulated as a MOV (TPR 0x10 -> reads 0x%x)", seen);
    bool ok = intact_self();
    if (stos_gp && nti_ok && ok)
        atk_pass(name, "TPR at 0x%lx: rep stosd (ecx 2) %s, %s; %s", apic + APIC_TPR, f1, nti_what, why);
    else
        atk_fail(name, "TPR at 0x%lx: rep stosd (ecx 2) %s (want #GP), %s (want #GP or the store); %s",
                 apic + APIC_TPR, stos ? f1 : "completed", nti_what, why);
}

/* ---- apic-8byte: an 8-byte write at the xAPIC page's last dword ---- */

void attack_apic_8byte(void)
{
    const char *name = "apic-8byte";
    uint64_t apic = xapic_page(name);
    if (!apic)
        return;
    char f[40];
    uint64_t flags = atk_irq_save();
    uint64_t w = atk_write64(apic + 0xffc, 0);
    atk_irq_restore(flags);
    bool ok = intact_self();
    if (ok)
        atk_pass(name, "mov [0x%lx], rax (8 bytes, past the page): %s (dropped; the summary counts apic-access); %s",
                 apic + 0xffc, w ? guard_describe(w, f, sizeof(f)) : "no fault", why);
    else
        atk_fail(name, "mov [0x%lx], rax (8 bytes, past the page): %s; %s", apic + 0xffc,
                 w ? guard_describe(w, f, sizeof(f)) : "no fault", why);
}

/* ---- event-delivery: the IDT in the core's block, then INT3 ---- */

void attack_event_delivery(void)
{
    struct idt_ptr idt = { 0xfff, env.fp.block_base };
    guest_print("attack: event-delivery: IDT at the core's block 0x%lx and INT3 now; the machine must reset",
                env.fp.block_base);
    BS->Stall(200000); /* the line out on the serial port first */
    __asm__ volatile("cli; lidt %0; int3" ::"m"(idt) : "memory");
    atk_fail("event-delivery", "execution went on after INT3 with the IDT in the core's block");
}

/* ---- ap-not-entered: INIT/SIPI to a CPU that never entered the core ----
 * A test build's loader left one AP unstarted (test_skip_ap, boot/config.h;
 * load option skipped=N): it stays the firmware's, and after the AP launch
 * the core holds it with one physical INIT in wait-for-SIPI. The guest's
 * INIT then SIPI (xAPIC ICR, physical destination) must be refused
 * (ipi-not-entered): a SIPI that reached it would start it natively, the
 * stub says "NATV" (no minihv CPUID signature). */
void attack_ap_not_entered(void)
{
    const char *name = "ap-not-entered";
    if (!env.have_skipped || env.skipped >= env.cpus || env.skipped == env.self) {
        atk_skip(name, "no skipped=N load option (a test build's test_skip_ap)");
        return;
    }
    uint64_t apic = xapic_for_ipi(name);
    if (!apic)
        return;
    if (!tramp_setup()) {
        atk_fail(name, "no page below 1 MiB for the SIPI stub");
        return;
    }
    uint8_t vector = (uint8_t)((uintptr_t)tramp >> 12);
    uint32_t id = env.apic_id[env.skipped];
    tramp_clear();
    uint64_t f = atk_irq_save();
    send_icr(apic, id << 24, ICR_INIT | ICR_ASSERT);
    atk_irq_restore(f);
    BS->Stall(10000);
    for (int k = 0; k < 2; k++) { /* INIT-SIPI-SIPI, as SDM Vol. 3A 8.4.4.1 */
        f = atk_irq_save();
        send_icr(apic, id << 24, ICR_STARTUP | ICR_ASSERT | vector);
        atk_irq_restore(f);
        BS->Stall(1000);
    }
    uint32_t got = wait_stub(1), slot = *tramp_slot(id);
    bool ok = intact();
    if (!got && ok)
        atk_pass(name, "INIT, SIPI, SIPI (vector 0x%x) to cpu%lu (APIC ID %u, never entered the core): the stub never ran; %s",
                 vector, env.skipped, id, why);
    else
        atk_fail(name, "INIT-SIPI-SIPI to cpu%lu (APIC ID %u, never entered the core): %u stub run(s)%s; %s", env.skipped, id,
                 got, slot == TRAMP_NATIVE ? ", natively (no minihv signature): the CPU runs outside the core" : "",
                 ok ? "core intact otherwise" : why);
}

/* ---- task-switch (VMX): JMP to a TSS, INT n through a task gate, IRET
 * with NT, in 32-bit legacy mode ----
 * A task switch exits unconditionally (SDM Vol. 3C 25.1.2); the core does
 * not emulate it and gives #GP(selector) (counted task-switch); through a
 * task gate the #GP combines with the event (INT n: benign, the #GP).
 * Only in legacy protected mode: in IA-32e mode the CPU itself raises
 * #GP. The guest leaves long mode (compatibility mode, CR0.PG off: SDM
 * Vol. 3A 9.8.5.4), loads a 32-bit IDT whose #GP gate records the error
 * code and whose gates 0x1f and 6 (#UD) are task gates to TSS 0x20, does
 * one of: JMP 0x20:0 (kind 0), INT 0x1f (kind 1), UD2 (kind 3), or LTR
 * 0x30 (a TSS whose previous-task link is 0x28, a busy TSS) then IRET
 * with EFLAGS.NT (kind 2: a return to the linked task, SDM Vol. 3A 7.3),
 * and comes back (CR0.PG on,
 * EFER.LME still set). SVM does not intercept task switches: the CPU
 * would carry them out, so this runs on VMX only. Layout of the page
 * below 4 GiB (all set up in C): +0 GDT (0x08 code32, 0x10 data32, 0x18
 * code64, 0x20 TSS, 0x28 busy TSS, 0x30 TSS for LTR), +0x100 the TSS,
 * +0x180 the LTR one, +0x200 IDT32, +0x300 far pointers and results,
 * +0x1000 stack. TR stays 0x30 afterwards (a busy TSS, type 11: what
 * VM entry wants in IA-32e mode; the page is never freed). */
#define TS_GDT    0x000
#define TS_TSS    0x100
#define TS_TSS2   0x180 /* TR's TSS for the IRET: link 0x28 */
#define TS_IDT    0x200
#define TS_FAR64  0x300 /* m16:32 to the 64-bit return, selector 0x18 */
#define TS_RESULT 0x308 /* the #GP error code | 0x80000000, or 0xffffffff */
#define TS_GP32   0x310 /* the 32-bit #GP handler's address */
#define TS_TSSPTR 0x318 /* m16:32 JMP target: offset 0, selector 0x20 */
#define TS_SAVE   0x320 /* GDTR, IDTR (10 bytes each), RSP, CS, SS */

uint64_t atk_ts_run(uint64_t page, uint64_t kind) __attribute__((visibility("hidden")));
void atk_ts_gp32(void) __attribute__((visibility("hidden")));
void atk_ts_back64(void) __attribute__((visibility("hidden")));
__asm__(
    ".text\n"
    ".globl atk_ts_run, atk_ts_gp32, atk_ts_back64\n"
    ".hidden atk_ts_run, atk_ts_gp32, atk_ts_back64\n"
    "atk_ts_run:\n"
    "    push %rbx\n"
    "    push %rbp\n"
    "    push %r12\n"
    "    mov %rdi, %rbx\n"
    "    sgdt 0x320(%rbx)\n"
    "    sidt 0x330(%rbx)\n"
    "    mov %rsp, 0x340(%rbx)\n"
    "    mov %cs, %ax\n"
    "    mov %ax, 0x348(%rbx)\n"
    "    mov %ss, %ax\n"
    "    mov %ax, 0x34a(%rbx)\n"
    "    mov %ds, %ax\n"
    "    mov %ax, 0x34c(%rbx)\n"
    "    mov %es, %ax\n"
    "    mov %ax, 0x34e(%rbx)\n"
    "    movw $0x37, 0x350(%rbx)\n"   /* the new GDTR: limit, base */
    "    mov %rbx, 0x352(%rbx)\n"
    "    lgdt 0x350(%rbx)\n"
    "    pushq $0x08\n"
    "    lea 1f(%rip), %rax\n"
    "    push %rax\n"
    "    lretq\n"
    ".code32\n"
    "1:  mov $0x10, %eax\n"
    "    mov %eax, %ds\n"
    "    mov %eax, %es\n"
    "    mov %eax, %ss\n"
    "    lea 0x1000(%ebx), %esp\n"
    "    mov %cr0, %eax\n"
    "    and $0x7fffffff, %eax\n"
    "    mov %eax, %cr0\n"          /* long mode off: 32-bit protected mode */
    "    movw $0xff, 0x358(%ebx)\n"  /* IDTR: 32 gates of 8 bytes */
    "    lea 0x200(%ebx), %eax\n"
    "    mov %eax, 0x35a(%ebx)\n"
    "    lidt 0x358(%ebx)\n"
    "    movl $0xffffffff, 0x308(%ebx)\n"
    "    cmp $1, %esi\n    je 5f\n"
    "    cmp $2, %esi\n    je 6f\n"
    "    cmp $3, %esi\n    je 8f\n"
    "    cmp $5, %esi\n    je 11f\n"
    "    ljmp *0x318(%ebx)\n"       /* the task switch */
    "    jmp 2f\n"
    "5:  int $0x1f\n"              /* through the task gate to 0x20 */
    "    jmp 2f\n"
    "8:  ud2\n"                    /* #UD through the task gate at 6 */
    "    jmp 2f\n"
    "11: mov $0xc0000080, %ecx\n"
    "    rdmsr\n"
    "    and $0xfffffeff, %eax\n"    /* EFER.LME off: PAE paging next, not IA-32e */
    "    wrmsr\n"
    "    mov 0x368(%ebx), %eax\n"
    "    mov %eax, %cr3\n"           /* the PDPT */
    "    mov %cr0, %eax\n"
    "    or $0x80000000, %eax\n"
    "    xorl 0x36c(%ebx), %eax\n"   /* NE flipped (0x20): the write exits */
    "    mov %eax, %cr0\n"           /* PAE paging on: the PDPTEs load here */
    "    movl $0x12345678, 0x30c(%ebx)\n"
    "    mov %cr0, %eax\n"
    "    and $0x7fffffff, %eax\n"
    "    xorl 0x36c(%ebx), %eax\n"
    "    mov %eax, %cr0\n"           /* paging off again */
    "    mov 0x360(%ebx), %eax\n"
    "    mov %eax, %cr3\n"
    "    mov $0xc0000080, %ecx\n"
    "    rdmsr\n"
    "    or $0x100, %eax\n"
    "    wrmsr\n"
    "    jmp 2f\n"
    "6:  mov $0x30, %eax\n"
    "    ltr %ax\n"
    "    pushl $0x2\n"              /* a frame back to 2f, if NT were ignored */
    "    pushl $0x08\n"
    "    call 7f\n"
    "7:  addl $(2f - 7b), (%esp)\n"
    "    pushfl\n"
    "    orl $0x4000, (%esp)\n"     /* NT */
    "    popfl\n"
    "    iret\n"                   /* the task switch back to TR's link, 0x28 */
    "    jmp 2f\n"
    "atk_ts_gp32:\n"
    "    pop %eax\n"                /* error code */
    "    or $0x80000000, %eax\n"
    "    mov %eax, 0x308(%ebx)\n"
    "2:  lea 0x1000(%ebx), %esp\n"
    "    mov 0x360(%ebx), %eax\n"    /* pae-*: the long-mode CR3 and LME back */
    "    test %eax, %eax\n"
    "    jz 12f\n"
    "    mov %eax, %cr3\n"
    "    mov $0xc0000080, %ecx\n"
    "    rdmsr\n"
    "    or $0x100, %eax\n"
    "    wrmsr\n"
    "12: mov %cr0, %eax\n"
    "    or $0x80000000, %eax\n"
    "    mov %eax, %cr0\n"          /* long mode again (EFER.LME, CR4.PAE, CR3 kept) */
    "    ljmp *0x300(%ebx)\n"
    ".code64\n"
    "atk_ts_back64:\n"
    "    lgdt 0x320(%rbx)\n"
    "    lidt 0x330(%rbx)\n"
    "    mov 0x340(%rbx), %rsp\n"
    "    movzwl 0x34a(%rbx), %eax\n"
    "    mov %eax, %ss\n"
    "    movzwl 0x34c(%rbx), %eax\n"
    "    mov %eax, %ds\n"
    "    movzwl 0x34e(%rbx), %eax\n"
    "    mov %eax, %es\n"
    "    movzwl 0x348(%rbx), %eax\n"
    "    push %rax\n"
    "    lea 3f(%rip), %rax\n"
    "    push %rax\n"
    "    lretq\n"
    "3:  mov 0x308(%rbx), %eax\n"
    "    pop %r12\n"
    "    pop %rbp\n"
    "    pop %rbx\n"
    "    ret\n");

static const char *ts_result(uint32_t r)
{
    return r == 0xffffffffu ? "no fault" : (r & 0x80000000u) ? "#GP" : "?";
}

/* The page atk_ts_run runs on (below 4 GiB): zeroed, a GDT with 32-bit
 * code 0x08, data 0x10 and 64-bit code 0x18, the far pointer back to
 * 64-bit mode, and an IDT whose #GP gate (a 32-bit interrupt gate) is
 * atk_ts_gp32, which records the error code. */
static uint8_t *ts_scaffold(EFI_PHYSICAL_ADDRESS pa)
{
    uint64_t gp = (uint64_t)(uintptr_t)atk_ts_gp32, back = (uint64_t)(uintptr_t)atk_ts_back64;
    uint8_t *p = (uint8_t *)(uintptr_t)pa;
    SetMem(p, 4096, 0);
    uint64_t *gdt = (uint64_t *)(p + TS_GDT);
    gdt[1] = 0x00cf9a000000ffffull; /* 0x08: code, 32-bit, base 0, 4 GiB */
    gdt[2] = 0x00cf92000000ffffull; /* 0x10: data */
    gdt[3] = 0x00af9a000000ffffull; /* 0x18: code, 64-bit */
    uint32_t *far64 = (uint32_t *)(p + TS_FAR64);
    far64[0] = (uint32_t)back;
    far64[1] = 0x18;
    uint64_t *idt = (uint64_t *)(p + TS_IDT); /* vector 13: 32-bit interrupt gate, selector 0x08 */
    idt[13] = (gp & 0xffff) | 0x08ull << 16 | 0x8eull << 40 | ((gp >> 16) & 0xffff) << 48;
    return p;
}

void attack_task_switch(void)
{
    const char *name = "task-switch";
    if (!env.intel) {
        atk_skip(name, "SVM does not intercept task switches (the CPU carries them out): VMX only");
        return;
    }
    uint64_t code = (uint64_t)(uintptr_t)atk_ts_run, back = (uint64_t)(uintptr_t)atk_ts_back64;
    EFI_PHYSICAL_ADDRESS pa = 0xfffff000;
    if (code >= 0xfffff000ull || back >= 0xfffff000ull ||
        EFI_ERROR(BS->AllocatePages(AllocateMaxAddress, EfiBootServicesData, 1, &pa))) {
        atk_skip(name, "the attack's code or a page not below 4 GiB");
        return;
    }
    uint8_t *p = ts_scaffold(pa);
    uint64_t *gdt = (uint64_t *)(p + TS_GDT);
    /* 32-bit TSS descriptors, limit 0x67 (SDM Vol. 3A 7.2.2): 0x20
     * available (type 9), 0x28 busy (type 11), 0x30 available, for LTR. */
    uint64_t tss = pa + TS_TSS, tss2 = pa + TS_TSS2;
    gdt[4] = 0x67 | (tss & 0xffffff) << 16 | 0x89ull << 40 | ((tss >> 24) & 0xff) << 56;
    gdt[5] = 0x67 | (tss & 0xffffff) << 16 | 0x8bull << 40 | ((tss >> 24) & 0xff) << 56;
    gdt[6] = 0x67 | (tss2 & 0xffffff) << 16 | 0x89ull << 40 | ((tss2 >> 24) & 0xff) << 56;
    *(uint16_t *)(p + TS_TSS2) = 0x28; /* previous task link (7.2.1) */
    uint32_t *tssptr = (uint32_t *)(p + TS_TSSPTR);
    tssptr[0] = 0;
    tssptr[1] = 0x20;
    uint64_t *idt = (uint64_t *)(p + TS_IDT);
    idt[0x1f] = 0x20ull << 16 | 0x85ull << 40; /* task gate (type 5, 6.11) to TSS 0x20 */
    idt[6] = idt[0x1f];                        /* #UD too */
    /* JMP, INT 0x1f, #UD (a hardware exception: EXT in the error code,
     * 6.13), then IRET with NT (last: it leaves TR loaded). */
    static const unsigned kinds[4] = { 0, 1, 3, 2 };
    static const char *const what[4] = { "JMP", "INT 0x1f", "#UD", "IRET" };
    static const uint32_t want[4] = { 0x20, 0x20, 0x21, 0x28 };
    uint32_t r[4];
    for (unsigned i = 0; i < 4; i++) {
        unsigned kind = kinds[i];
        uint64_t f = atk_irq_save();
        r[i] = (uint32_t)atk_ts_run(pa, kind);
        atk_irq_restore(f);
        if (r[i] & 0x80000000u)
            guest_print("attack: task-switch: %s: #GP error code 0x%x", what[i], r[i] & 0xffff);
    }
    bool ok = intact_self();
    bool all = true;
    for (unsigned i = 0; i < 4; i++)
        all = all && (r[i] & 0x80000000u) && (r[i] & 0xffff) == want[i];
    if (all && ok)
        atk_pass(name, "legacy mode: JMP to TSS 0x20, INT 0x1f, #UD via task gates to it, IRET with NT (link 0x28): "
                 "#GP 0x20, 0x20, 0x21, 0x28; %s", why);
    else
        atk_fail(name, "in legacy protected mode: JMP 0x20:0 %s 0x%x, INT 0x1f (task gate) %s 0x%x, #UD (task gate) %s 0x%x, "
                 "IRET with NT %s 0x%x (want #GP 0x20, 0x20, 0x21, 0x28); %s", ts_result(r[0]), r[0] & 0xffff,
                 ts_result(r[1]), r[1] & 0xffff, ts_result(r[2]), r[2] & 0xffff, ts_result(r[3]), r[3] & 0xffff,
                 ok ? "core intact" : why);
}

/* ---- cr0-pg64 (review R3, finding 3): MOV to CR0 clearing PG in 64-bit
 * mode is #GP on hardware (SDM Vol. 2B MOV CR, 64-bit mode exceptions).
 * Under VMX it exits whenever an owned bit (NE, IA32_VMX_CR0_FIXED0)
 * differs from the shadow; write_cr0 (hv/vmx/vmx_exit.c) left IA-32e mode
 * in the VMCS, and with CR4.PCIDE set the next VM entry failed (SDM Vol.
 * 3C 26.3.1.1): FATAL. Wanted: #GP, the CPU still in 64-bit mode. SVM
 * does not intercept the write: the CPU raises the #GP itself. ---- */
void attack_cr0_pg64(void)
{
    const char *name = "cr0-pg64";
    uint32_t r[4];
    x86_cpuid(1, 0, r);
    uint64_t cr4 = read_cr4(), cr0 = read_cr0(), cr3;
    bool pcid = r[2] & (1u << 17);
    __asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
    if (pcid && !(cr4 & (1ull << 17)) && !(cr3 & 0xfff))
        write_cr4(cr4 | (1ull << 17)); /* CR4.PCIDE: the entry check that fails */
    uint64_t value = (cr0 & ~(1ull << 31)) ^ (1ull << 5); /* PG clear, NE flipped: an owned bit, so it exits */
    atk_note(name, "CR0 0x%lx, CR4 0x%lx -> 0x%lx (PCID %s); now MOV CR0 <- 0x%lx in 64-bit mode", cr0, cr4,
             read_cr4(), pcid ? "yes" : "no", value);
    uint64_t flags = atk_irq_save();
    uint64_t fault = atk_movcr0(value);
    uint64_t after = read_cr0();
    atk_irq_restore(flags);
    write_cr4(cr4);
    char d[24];
    bool ok = intact_self();
    if (fault && GUARD_VECTOR(fault) == VEC_GP && after == cr0 && ok)
        atk_pass(name, "MOV CR0 clearing PG in 64-bit mode: #GP, as on hardware; CR0 still 0x%lx; %s", after, why);
    else
        atk_fail(name, "MOV CR0 clearing PG in 64-bit mode: %s, CR0 0x%lx (hardware: #GP, unchanged); %s",
                 fault ? guard_describe(fault, d, sizeof(d)) : "no fault", after, ok ? "core intact" : why);
}

/* pae-native, pae-pdpte, pae-rsvd (review R4, F1): PAE paging turned on
 * in 32-bit protected mode by a MOV to CR0, natively (NE kept) and by one
 * that exits (NE flipped); with EPT the next VM entry takes the PDPTEs
 * from the VMCS, so the core must load them from CR3 (SDM Vol. 3A 4.4.1),
 * and refuse a present one with a reserved bit with #GP(0) at the MOV, as
 * the instruction does (loaded as is, the entry fails: FATAL). Unfixed:
 * the exiting MOV left stale PDPTEs, the guest triple-faulted. */
static void pae_pdpte(const char *name, uint32_t flip, uint64_t rsvd)
{
    if (!env.intel) {
        atk_skip(name, "VMX only");
        return;
    }
    uint64_t code = (uint64_t)(uintptr_t)atk_ts_run, back = (uint64_t)(uintptr_t)atk_ts_back64, cr3 = 0;
    __asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
    EFI_PHYSICAL_ADDRESS pa = 0xfffff000, pd = 0xfffff000;
    if (code >= 0xfffff000ull || back >= 0xfffff000ull || cr3 >> 32 ||
        EFI_ERROR(BS->AllocatePages(AllocateMaxAddress, EfiBootServicesData, 1, &pa)) ||
        EFI_ERROR(BS->AllocatePages(AllocateMaxAddress, EfiBootServicesData, 4, &pd))) {
        atk_skip(name, "no pages below 4 GiB");
        return;
    }
    uint8_t *p = ts_scaffold(pa);
    uint64_t *pds = (uint64_t *)(uintptr_t)pd;
    for (uint64_t i = 0; i < 2048; i++)
        pds[i] = i << 21 | 0x83; /* 2 MiB, present, writable, identity */
    uint64_t *pdpt = (uint64_t *)(p + 0x380);
    for (unsigned i = 0; i < 4; i++)
        pdpt[i] = (pd + i * 4096) | 1 | (i == 3 ? rsvd : 0);
    *(uint32_t *)(p + 0x360) = (uint32_t)cr3;
    *(uint32_t *)(p + 0x368) = (uint32_t)(pa + 0x380);
    *(uint32_t *)(p + 0x36c) = flip;
    uint64_t f = atk_irq_save();
    uint32_t r = (uint32_t)atk_ts_run(pa, 5);
    atk_irq_restore(f);
    uint32_t marker = *(uint32_t *)(p + 0x30c);
    BS->FreePages(pd, 4);
    BS->FreePages(pa, 1);
    bool ok = intact_self();
    if (rsvd) {
        if ((r & 0x80000000u) && r != 0xffffffffu && marker != 0x12345678u && ok)
            atk_pass(name, "a PDPTE with reserved bit 1: #GP 0x%x at the MOV CR0; %s", r & 0xffff, why);
        else
            atk_fail(name, "a PDPTE with reserved bit 1: result 0x%x, marker 0x%x (want #GP(0)); %s", r, marker,
                     ok ? "core intact" : why);
        return;
    }
    if (r == 0xffffffffu && marker == 0x12345678u && ok)
        atk_pass(name, "PAE paging on by %s MOV CR0: the store through it landed; %s",
                 flip ? "an exiting (NE flipped)" : "a native", why);
    else
        atk_fail(name, "result 0x%x, marker 0x%x; %s", r, marker, ok ? "core intact" : why);
}

void attack_pae_pdpte(void) { pae_pdpte("pae-pdpte", 0x20, 0); }
void attack_pae_native(void) { pae_pdpte("pae-native", 0, 0); }
void attack_pae_rsvd(void) { pae_pdpte("pae-rsvd", 0x20, 2); }
