/* Attack db-intercept (issue 14; CVE-2015-8104, XSA-156): a #DB whose
 * delivery raises #DB again (a data breakpoint on the handler's stack
 * slot or IDT entry) keeps a CPU in its microcode for good, at no
 * instruction boundary, so no NMI, no kick and no exit reaches it: a CPU
 * lost to the core. KVM and Xen intercept #DB (and #AC, CVE-2015-5307)
 * always, so that each delivery is one exit, and re-inject it. The loop
 * itself needs real silicon (QEMU's TCG and Bochs check interrupts between
 * two deliveries); what a boot can show is that every #DB the CPU raises
 * in the guest exits to the core (its exception exits grow with them) and
 * reaches the guest as the hardware gives it: one #DB after a single-
 * stepped NOP, one after each write to a watched word, DR6 saying which.
 * And what each #DB's delivery does to the debug registers (SDM Vol. 3B
 * 18.2.3-18.2.4), which the core now does in its place: DR7.GD cleared
 * (a step with GD set, then the handler's side reads DR6: no second #DB),
 * BS kept (the watched writes follow the step without DR6 cleared: B0
 * and BS). Review R2: both were wrong on VMX before the fix.
 * On the BSP; DR7 and DR0 put back. */
#include <minihv/format.h>
#include <minihv/hypercall.h>
#include <minihv/x86.h>
#include "tests/guests/attack.h"

#define DR6_B0 (1ull << 0)
#define DR6_BS (1ull << 14)
#define DR7_GD (1ull << 13)
#define DR7_L0 (1ull << 0)
#define DR7_RW0_WRITE (1ull << 16)  /* R/W0 = 01: data writes (SDM Vol. 3B 18.2.4) */
#define DR7_LEN0_8 (2ull << 18)     /* LEN0 = 10: 8 bytes */
#define WATCHED_WRITES 4

static volatile uint64_t watched __attribute__((aligned(8)));
void atk_dbg_step_nop(void) __attribute__((visibility("hidden")));
extern const uint8_t atk_dbg_step_nop_after[];

/* TF on, one NOP, TF off again by the #DB handler (atk_db_entry). */
__asm__(".text\n"
        ".globl atk_dbg_step_nop\n.hidden atk_dbg_step_nop\n"
        "atk_dbg_step_nop:\n"
        "    pushfq\n"
        "    orq $0x100, (%rsp)\n"
        "    popfq\n"
        "    nop\n"
        ".globl atk_dbg_step_nop_after\n.hidden atk_dbg_step_nop_after\n"
        "atk_dbg_step_nop_after:\n"
        "    nop\n"
        "    ret\n");

static uint64_t read_dr6(void)
{
    uint64_t v;
    __asm__ volatile("mov %%dr6, %0" : "=r"(v));
    return v;
}

static void write_dr6(uint64_t v) { __asm__ volatile("mov %0, %%dr6" ::"r"(v)); }

static uint64_t read_dr7(void)
{
    uint64_t v;
    __asm__ volatile("mov %%dr7, %0" : "=r"(v));
    return v;
}

static void write_dr7(uint64_t v) { __asm__ volatile("mov %0, %%dr7" ::"r"(v) : "memory"); }

void attack_db_intercept(void)
{
    const char *name = "db-intercept";
    char why[200];
    uint64_t exc0 = atk_exits_self_of(MINIHV_EXIT_EXCEPTION);
    if (exc0 == ~0ull) {
        atk_fail(name, "GET_STATS for this CPU failed");
        return;
    }
    uint64_t f = atk_irq_save();
    /* A single-stepped NOP with DR7.GD set: one trap-like #DB at the next
     * instruction, BS; its delivery clears GD, so reading DR6 after it
     * raises nothing (with GD still set: a #DB for the MOV from DR6). */
    uint64_t dr7_saved = read_dr7();
    write_dr6(0xffff0ff0);
    atk_db_count = 0;
    atk_db_rip = 0;
    write_dr7(dr7_saved | DR7_GD);
    atk_dbg_step_nop();
    uint64_t step_rip = atk_db_rip, step_dr6 = read_dr6(), step_count = atk_db_count, gd_after = read_dr7() & DR7_GD;
    write_dr7(dr7_saved & ~DR7_GD);
    /* A data breakpoint on an 8-byte word, written WATCHED_WRITES times:
     * a trap-like #DB after each write, B0 in DR6. */
    uint64_t dr0, dr7 = dr7_saved & ~DR7_GD;
    __asm__ volatile("mov %%dr0, %0" : "=r"(dr0));
    __asm__ volatile("mov %0, %%dr0" ::"r"((uint64_t)(uintptr_t)&watched));
    atk_db_count = 0; /* DR6 as the step left it: BS must stay */
    write_dr7(0x400 | DR7_L0 | DR7_RW0_WRITE | DR7_LEN0_8);
    for (unsigned i = 0; i < WATCHED_WRITES; i++)
        watched = i;
    write_dr7(dr7);
    uint64_t watch_count = atk_db_count, watch_dr6 = read_dr6();
    __asm__ volatile("mov %0, %%dr0" ::"r"(dr0));
    write_dr6(0xffff0ff0);
    atk_irq_restore(f);
    uint64_t exc1 = atk_exits_self_of(MINIHV_EXIT_EXCEPTION);
    bool ok = atk_core_intact_self(why, sizeof(why));
    /* Data breakpoints are optional in an emulator (Bochs without its x86
     * debugger): then only the step is counted. */
    uint64_t want = 1 + (watch_count ? WATCHED_WRITES : 0), exits = exc1 - exc0;
    bool step_ok = step_count == 1 && step_rip == (uint64_t)(uintptr_t)atk_dbg_step_nop_after && (step_dr6 & DR6_BS) &&
                   !gd_after;
    bool watch_ok = watch_count == 0 || (watch_count == WATCHED_WRITES && (watch_dr6 & DR6_B0) && (watch_dr6 & DR6_BS));
    char seen[200];
    fmt_snprintf(seen, sizeof(seen), "step (GD set): %lu #DB at %s, DR6 0x%lx, GD %s after; watch: %lu #DB for %u writes, "
                 "DR6 0x%lx%s", step_count,
                 step_rip == (uint64_t)(uintptr_t)atk_dbg_step_nop_after ? "the next instruction" : "elsewhere",
                 step_dr6, gd_after ? "still set" : "cleared", watch_count, WATCHED_WRITES, watch_dr6,
                 watch_count ? "" : " (no data breakpoints here)");
    if (!step_ok || !watch_ok)
        atk_fail(name, "the guest's #DBs are not as on hardware: %s; %s", seen, ok ? "core intact" : why);
    else if (exits < want)
        atk_fail(name, "%lu exception exit(s) for the guest's %lu #DB(s): a #DB the CPU raises in the guest does not "
                 "reach the core (a #DB delivery loop would hold the CPU beyond its reach); %s; %s", exits, want, seen,
                 ok ? "core intact" : why);
    else if (!ok)
        atk_fail(name, "%s", why);
    else
        atk_pass(name, "%lu exception exit(s) for the guest's %lu #DB(s), each delivered as on hardware (%s); %s", exits,
                 want, seen, why);
}
