/* The transparency guest (issue 15): runs the same fixed list of checks
 * bare (from the shell) and as minihv's guest, and prints one line per
 * check with its VALUE ("tp: NAME VALUE"), never a verdict: the harness
 * (tests/emu/transparency.sh) diffs the two runs and masks the documented
 * differences. Checks: CPUID leaves 0..max and 0x80000000..max with
 * subleaves, once with CR4.OSXSAVE set and XCR0 = x87|SSE|AVX (where
 * there), once with CR4.OSXSAVE clear; leaf 1/0xb/0x1f APIC IDs on every
 * CPU (MP services); leaf 7.0 with CR4.PKE set and clear; single-step
 * over CPUID, RDMSR and IN (the #DB count, where, DR6.BS); RDMSR of
 * architectural MSRs (value or #GP); RDTSC monotonic; NMIs (held,
 * nested, remote, across a faulting or STI-shadowed IRET); #DF and #NP
 * during delivery of injected exceptions, #PF then #DF with the IDT on a
 * missing page; the IP wrap in 16-bit code after intercepted
 * instructions; the TSC-deadline timer; the x2APIC LVT MSRs while the
 * APIC is in xAPIC mode. Under minihv
 * only ("tp-hv:" lines, not diffed): the exits the core took over 100000
 * RDTSCs. */
#include <efi.h>
#include <efilib.h>
#include <minihv/format.h>
#include <minihv/hypercall.h>
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "boot/mp_services.h"
#include "tests/guests/guard.h"
#include "tests/guests/hvcall.h"
#include "tests/guests/print.h"

#define CR4_OSXSAVE (1ull << 18)
#define CR4_PKE (1ull << 22)
#define TP_MAX_CPUS 16
#define TP_RDTSC_LOOPS 100000

/* #GP over one RDMSR (0f 32): skip it and note the fault. Only while
 * tp_rdmsr has its own IDT loaded. */
volatile uint8_t tp_gp_hit;
void tp_gp_entry(void) __attribute__((visibility("hidden")));
__asm__(".text\n"
        ".globl tp_gp_entry\n"
        "tp_gp_entry:\n"
        "    addq $8, %rsp\n"     /* the error code */
        "    addq $2, (%rsp)\n"   /* RIP past RDMSR */
        "    movb $1, tp_gp_hit(%rip)\n"
        "    iretq\n");

static uint8_t idt_copy[4096] __attribute__((aligned(16)));

/* A copy of the current IDT with gate 13 on tp_gp_entry: *mine to load
 * around one instruction, *saved to put back. False: no room for it. */
static bool gp_idt(struct idt_ptr *saved, struct idt_ptr *mine)
{
    __asm__ volatile("sidt %0" : "=m"(*saved));
    size_t bytes = (size_t)saved->limit + 1;
    if (bytes > sizeof(idt_copy) || bytes < 14 * sizeof(struct x86_idt_gate))
        return false;
    memcpy(idt_copy, (const void *)(uintptr_t)saved->base, bytes);
    struct x86_idt_gate *g = (struct x86_idt_gate *)idt_copy + 13;
    x86_idt_gate_set_offset(g, (uint64_t)(uintptr_t)tp_gp_entry);
    mine->limit = saved->limit;
    mine->base = (uint64_t)(uintptr_t)idt_copy;
    tp_gp_hit = 0;
    return true;
}

static bool tp_rdmsr(uint32_t msr, uint64_t *value)
{
    struct idt_ptr saved, mine;
    if (!gp_idt(&saved, &mine))
        return false;
    uint32_t lo = 0, hi = 0;
    __asm__ volatile("cli; lidt %2; rdmsr; lidt %3; sti"
                     : "=&a"(lo), "=&d"(hi) : "m"(mine), "m"(saved), "c"(msr) : "memory");
    *value = (uint64_t)hi << 32 | lo;
    return !tp_gp_hit;
}

/* WRMSR under the same #GP handler (0f 30: two bytes as RDMSR). */
static bool tp_wrmsr(uint32_t msr, uint64_t value)
{
    struct idt_ptr saved, mine;
    if (!gp_idt(&saved, &mine))
        return false;
    __asm__ volatile("cli; lidt %0; wrmsr; lidt %1; sti" ::"m"(mine), "m"(saved), "c"(msr), "a"((uint32_t)value),
                     "d"((uint32_t)(value >> 32))
                     : "memory");
    return !tp_gp_hit;
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

static void xsetbv0(uint64_t v)
{
    __asm__ volatile("xsetbv" ::"c"(0), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static uint64_t xgetbv0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t)hi << 32 | lo;
}

/* Subleaves worth sweeping (SDM Vol. 2A CPUID; APM Vol. 3 E.4). */
static unsigned subleaves(uint32_t leaf)
{
    switch (leaf) {
    case 0xd: return 64;
    case 4: case 7: case 0xb: case 0xf: case 0x10: case 0x12: case 0x14: case 0x17: case 0x18:
    case 0x1d: case 0x1e: case 0x1f: case 0x20: case 0x23: case 0x24: case 0x8000001d: case 0x80000020:
        return 8;
    default: return 1;
    }
}

static void sweep(const char *state)
{
    uint32_t r[4], max;
    for (uint32_t base = 0; ; base = 0x80000000u) {
        x86_cpuid(base, 0, r);
        max = r[0];
        if (max - base > 0x40)
            max = base + 0x40;
        for (uint32_t leaf = base; leaf <= max; leaf++)
            for (uint32_t sub = 0; sub < subleaves(leaf); sub++) {
                x86_cpuid(leaf, sub, r);
                if (sub && !(r[0] | r[1] | r[2] | r[3]))
                    continue;
                guest_print("tp: cpuid-%s-%x.%x %08x %08x %08x %08x", state, leaf, sub, r[0], r[1], r[2], r[3]);
            }
        if (base)
            break;
    }
}

static void check_cpuid(void)
{
    uint32_t r[4];
    x86_cpuid(1, 0, r);
    bool xsave = r[2] & (1u << 26), avx = r[2] & (1u << 28);
    uint64_t cr4 = read_cr4(), xcr0 = 0;
    guest_print("tp: cr4-osxsave-at-start %u", (unsigned)!!(cr4 & CR4_OSXSAVE));
    if (!xsave) {
        sweep("noxsave");
        return;
    }
    if (cr4 & CR4_OSXSAVE)
        xcr0 = xgetbv0();
    write_cr4(cr4 | CR4_OSXSAVE);
    xsetbv0(avx ? 7 : 3);
    sweep("xon");
    write_cr4(cr4 & ~CR4_OSXSAVE);
    sweep("xoff");
    write_cr4(cr4 | CR4_OSXSAVE);
    if (cr4 & CR4_OSXSAVE)
        xsetbv0(xcr0);
    write_cr4(cr4);
}

/* Leaf 7.0 ECX[4] OSPKE mirrors CR4.PKE (SDM Vol. 2A CPUID, Table 3-8):
 * set it (PKRU as the firmware left it: all access), read, clear. */
static void check_ospke(void)
{
    uint32_t r[4];
    x86_cpuid(0, 0, r);
    if (r[0] < 7)
        return;
    x86_cpuid(7, 0, r);
    if (!(r[2] & (1u << 3))) { /* PKU */
        guest_print("tp: ospke no-pku");
        return;
    }
    uint64_t cr4 = read_cr4();
    write_cr4(cr4 | CR4_PKE);
    x86_cpuid(7, 0, r);
    write_cr4(cr4 & ~CR4_PKE);
    guest_print("tp: cpuid-pke-on-7.0 %08x %08x %08x %08x", r[0], r[1], r[2], r[3]);
    x86_cpuid(7, 0, r);
    write_cr4(cr4);
    guest_print("tp: cpuid-pke-off-7.0 %08x %08x %08x %08x", r[0], r[1], r[2], r[3]);
}

/* ---- single-step over instructions the core emulates ---- */

/* #DB count, RIP and DR6 of the first one; each sequence sets TF with
 * POPF, then one instruction that exits under minihv: exactly one #DB,
 * right after it, DR6.BS set (SDM Vol. 3B 18.3.1.4). */
struct tp_db {
    uint64_t count, rip, dr6;
};
struct tp_db tp_db;
void tp_db_entry(void) __attribute__((visibility("hidden")));
void tp_step_cpuid(void) __attribute__((visibility("hidden")));
void tp_step_rdmsr(void) __attribute__((visibility("hidden")));
void tp_step_in(void) __attribute__((visibility("hidden")));
void tp_step_nop(void) __attribute__((visibility("hidden")));
void tp_watch_writes(volatile uint64_t *word) __attribute__((visibility("hidden")));
extern const uint8_t tp_step_cpuid_after[], tp_step_rdmsr_after[], tp_step_in_after[], tp_step_nop_after[],
    tp_watch_first_after[];

#define TP_STEP(name, setup, insn)                                                                          \
    ".globl " #name "\n.hidden " #name "\n" #name ":\n"                                                    \
    "    push %rbx\n    pushfq\n    cli\n" setup "    pushfq\n    orq $0x100, (%rsp)\n    popfq\n" insn "\n" \
    ".globl " #name "_after\n.hidden " #name "_after\n" #name "_after:\n"                                  \
    "    nop\n    nop\n    popfq\n    pop %rbx\n    ret\n"

__asm__(".text\n"
        ".globl tp_db_entry\n"
        "tp_db_entry:\n"
        "    push %rax\n"
        "    push %rdx\n"
        "    lea tp_db(%rip), %rdx\n"
        "    incq 0(%rdx)\n"
        "    cmpq $1, 0(%rdx)\n"
        "    jne 1f\n"
        "    mov 16(%rsp), %rax\n"
        "    mov %rax, 8(%rdx)\n"
        "    mov %dr6, %rax\n"
        "    mov %rax, 16(%rdx)\n"
        "1:  mov $0xffff0ff0, %eax\n"
        "    mov %rax, %dr6\n"
        "    andq $-257, 32(%rsp)\n" /* TF off in the interrupted RFLAGS */
        "    pop %rdx\n"
        "    pop %rax\n"
        "    iretq\n"
        TP_STEP(tp_step_cpuid, "    xor %eax, %eax\n    xor %ecx, %ecx\n", "    cpuid")
        TP_STEP(tp_step_rdmsr, "    mov $0x3a, %ecx\n", "    rdmsr") /* FEATURE_CONTROL: emulated */
        TP_STEP(tp_step_in, "    mov $0x92, %edx\n", "    inb %dx, %al") /* the A20 gate (hv/a20_gate.c) */
        /* No exit: the CPU's own #DB, which the core intercepts (hv/svm/svm_cpu.h) */
        TP_STEP(tp_step_nop, "", "    nop")
        /* Three writes to a watched word (DR0), a trap-like #DB after each */
        ".globl tp_watch_writes\n.hidden tp_watch_writes\n"
        "tp_watch_writes:\n"
        "    movq $1, (%rdi)\n"
        ".globl tp_watch_first_after\n.hidden tp_watch_first_after\n"
        "tp_watch_first_after:\n"
        "    movq $2, (%rdi)\n"
        "    movq $3, (%rdi)\n"
        "    ret\n");

static void step(const char *name, void (*fn)(void), const uint8_t *after)
{
    struct idt_ptr saved, mine;
    __asm__ volatile("sidt %0" : "=m"(saved));
    size_t bytes = (size_t)saved.limit + 1;
    if (bytes > sizeof(idt_copy) || bytes < 2 * sizeof(struct x86_idt_gate)) {
        guest_print("tp: step-%s no-idt", name);
        return;
    }
    memcpy(idt_copy, (const void *)(uintptr_t)saved.base, bytes);
    struct x86_idt_gate *g = (struct x86_idt_gate *)idt_copy + 1;
    x86_idt_gate_set_offset(g, (uint64_t)(uintptr_t)tp_db_entry);
    mine.limit = saved.limit;
    mine.base = (uint64_t)(uintptr_t)idt_copy;
    memset(&tp_db, 0, sizeof(tp_db));
    __asm__ volatile("lidt %0" ::"m"(mine) : "memory");
    fn();
    __asm__ volatile("lidt %0" ::"m"(saved) : "memory");
    guest_print("tp: step-%s db %lu at-end %s bs %u", name, tp_db.count,
                tp_db.count && tp_db.rip == (uint64_t)(uintptr_t)after ? "yes" : "no",
                (unsigned)((tp_db.dr6 >> 14) & 1));
}

static void check_single_step(void)
{
    step("cpuid", tp_step_cpuid, tp_step_cpuid_after);
    step("rdmsr", tp_step_rdmsr, tp_step_rdmsr_after);
    step("in", tp_step_in, tp_step_in_after);
    step("nop", tp_step_nop, tp_step_nop_after);
}

/* A data breakpoint (DR0, writes, 8 bytes: SDM Vol. 3B 18.2.4): how many
 * #DBs, the first one's RIP and its DR6 (B0-B3, BS). An emulator without
 * data breakpoints shows none, bare and under minihv alike. */
static void check_watch(void)
{
    static volatile uint64_t word __attribute__((aligned(8)));
    struct idt_ptr saved, mine;
    __asm__ volatile("sidt %0" : "=m"(saved));
    size_t bytes = (size_t)saved.limit + 1;
    if (bytes > sizeof(idt_copy) || bytes < 2 * sizeof(struct x86_idt_gate)) {
        guest_print("tp: watch no-idt");
        return;
    }
    memcpy(idt_copy, (const void *)(uintptr_t)saved.base, bytes);
    x86_idt_gate_set_offset((struct x86_idt_gate *)idt_copy + 1, (uint64_t)(uintptr_t)tp_db_entry);
    mine.limit = saved.limit;
    mine.base = (uint64_t)(uintptr_t)idt_copy;
    memset(&tp_db, 0, sizeof(tp_db));
    uint64_t dr0, dr7, flags;
    __asm__ volatile("mov %%dr0, %0; mov %%dr7, %1" : "=r"(dr0), "=r"(dr7));
    __asm__ volatile("pushfq; pop %0; cli" : "=r"(flags)::"memory");
    __asm__ volatile("lidt %0" ::"m"(mine) : "memory");
    __asm__ volatile("mov %0, %%dr6; mov %1, %%dr0; mov %2, %%dr7" ::"r"(0xffff0ff0ull),
                     "r"((uint64_t)(uintptr_t)&word), "r"(0x400ull | 1 | 1ull << 16 | 2ull << 18) : "memory");
    tp_watch_writes(&word);
    __asm__ volatile("mov %0, %%dr7; mov %1, %%dr0" ::"r"(dr7), "r"(dr0) : "memory");
    __asm__ volatile("lidt %0" ::"m"(saved) : "memory");
    __asm__ volatile("push %0; popfq" ::"r"(flags) : "memory", "cc");
    if (!tp_db.count)
        guest_print("tp: watch db 0");
    else
        guest_print("tp: watch db %lu first-after-write %s dr6-b0 %u bs %u", tp_db.count,
                    tp_db.rip == (uint64_t)(uintptr_t)tp_watch_first_after ? "yes" : "no", (unsigned)(tp_db.dr6 & 1),
                    (unsigned)((tp_db.dr6 >> 14) & 1));
}

/* ---- APIC IDs per CPU ---- */

struct cpu_ids {
    volatile bool ran;
    uint32_t l1_ebx_id, lb_edx, l1f_edx;
};

static VOID EFIAPI ids_here(VOID *arg)
{
    struct cpu_ids *c = arg;
    uint32_t r[4];
    x86_cpuid(0, 0, r);
    uint32_t max = r[0];
    x86_cpuid(1, 0, r);
    c->l1_ebx_id = r[1] >> 24;
    if (max >= 0xb) {
        x86_cpuid(0xb, 0, r);
        c->lb_edx = r[3];
    }
    if (max >= 0x1f) {
        x86_cpuid(0x1f, 0, r);
        c->l1f_edx = r[3];
    }
    c->ran = true;
}

static void nmi_remote_on(struct mp_services *mp, UINTN n, struct cpu_ids *ids);
static bool nmi_remote_ran;
static char nmi_remote_line[96];

static void check_apic_ids(void)
{
    static EFI_GUID mp_guid = MP_SERVICES_GUID;
    static struct cpu_ids ids[TP_MAX_CPUS];
    struct mp_services *mp = NULL;
    UINTN total = 1, enabled = 1, self = 0;
    if (EFI_ERROR(BS->LocateProtocol(&mp_guid, NULL, (void **)&mp)) || !mp ||
        EFI_ERROR(mp->GetNumberOfProcessors(mp, &total, &enabled)) || EFI_ERROR(mp->WhoAmI(mp, &self))) {
        mp = NULL;
        total = 1;
        self = 0;
    }
    if (total > TP_MAX_CPUS)
        total = TP_MAX_CPUS;
    guest_print("tp: cpus %lu", total);
    for (UINTN n = 0; n < total; n++) {
        memset(&ids[n], 0, sizeof(ids[n]));
        if (n == self)
            ids_here(&ids[n]);
        else if (mp && !nmi_remote_ran)
            nmi_remote_on(mp, n, &ids[n]); /* and (d), check_nmi */
        else if (mp)
            mp->StartupThisAP(mp, ids_here, n, NULL, 5000000, &ids[n], NULL);
        if (ids[n].ran)
            guest_print("tp: apic-ids-cpu%lu leaf1 %u leafb %u leaf1f %u", n, ids[n].l1_ebx_id, ids[n].lb_edx,
                        ids[n].l1f_edx);
        else
            guest_print("tp: apic-ids-cpu%lu did-not-run", n);
    }
}

/* ---- MSRs ---- */

static const struct {
    uint32_t msr;
    const char *name;
} msrs[] = {
    { 0x10, "TSC-nonzero" }, { 0x17, "PLATFORM_ID" }, { 0x1b, "APIC_BASE" }, { 0x3a, "FEATURE_CONTROL" },
    { 0xfe, "MTRRCAP" }, { 0x174, "SYSENTER_CS" }, { 0x179, "MCG_CAP" }, { 0x17a, "MCG_STATUS" },
    { 0x1a0, "MISC_ENABLE" }, { 0x1d9, "DEBUGCTL" }, { 0x200, "MTRR_PHYSBASE0" }, { 0x201, "MTRR_PHYSMASK0" },
    { 0x250, "MTRR_FIX64K" }, { 0x277, "PAT" }, { 0x2ff, "MTRR_DEF_TYPE" }, { 0x6e0, "TSC_DEADLINE" },
    { 0xda0, "XSS" }, { 0xc0000080, "EFER" }, { 0xc0000081, "STAR" }, { 0xc0000082, "LSTAR" },
    { 0xc0000084, "FMASK" }, { 0xc0000100, "FS_BASE" }, { 0xc0000102, "KERNEL_GS_BASE" },
    { 0xc0000103, "TSC_AUX" }, { 0xc0010114, "VM_CR" }, { 0xc0010117, "VM_HSAVE_PA" },
};

static void check_msrs(void)
{
    for (unsigned i = 0; i < sizeof(msrs) / sizeof(msrs[0]); i++) {
        uint64_t v = 0;
        bool ok = tp_rdmsr(msrs[i].msr, &v);
        if (!ok)
            guest_print("tp: msr-%s #GP", msrs[i].name);
        else if (msrs[i].msr == 0x10)
            guest_print("tp: msr-%s %s", msrs[i].name, v ? "yes" : "no");
        else
            guest_print("tp: msr-%s 0x%lx", msrs[i].name, v);
    }
}

/* ---- TSC ---- */

static uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

static bool exits_now(uint32_t apic_id, uint64_t *total)
{
    static struct minihv_stats st;
    static uint8_t page[4096] __attribute__((aligned(4096)));
    struct guard g;
    bool found = false;
    if (guard_install(&g, page, sizeof(page)))
        return false;
    for (uint32_t i = 0; i < TP_MAX_CPUS && !found; i++) {
        struct hc_regs r = { MINIHV_HC_GET_STATS, i, (uint64_t)(uintptr_t)&st, sizeof(st) };
        if (hv_call(&r) || (int64_t)r.rax != MINIHV_HC_OK)
            break;
        if (st.apic_id == apic_id) {
            *total = st.total_exits;
            found = true;
        }
    }
    guard_remove(&g);
    return found;
}

static void check_tsc(bool hv)
{
    uint32_t r[4];
    x86_cpuid(1, 0, r);
    uint32_t apic_id = r[1] >> 24;
    uint64_t before = 0, after = 0, flags;
    /* Interrupts off from the first count to the last: with them on, each
     * firmware timer tick in the window cost exits of its own (its EOI on
     * the APIC page, the 8042 poll at 0x64), ~550 a second on QEMU TCG,
     * and a slow enough loop would pass the harness's bound of 100. */
    __asm__ volatile("pushfq; pop %0; cli" : "=r"(flags)::"memory");
    bool counted = hv && exits_now(apic_id, &before);
    uint64_t last = rdtsc(), backwards = 0;
    for (unsigned i = 0; i < TP_RDTSC_LOOPS; i++) {
        uint64_t t = rdtsc();
        backwards += t < last;
        last = t;
    }
    counted = counted && exits_now(apic_id, &after);
    __asm__ volatile("push %0; popfq" ::"r"(flags) : "memory", "cc");
    guest_print("tp: rdtsc-monotonic %s", backwards ? "no" : "yes");
    if (hv)
        guest_print("tp-hv: rdtsc-exits %ld", counted ? (long)(after - before) : -1L);
}

/* ---- NMIs: blocking until IRET, one held, no lateness, to a halted CPU ---- */

/* SDM Vol. 3A 6.7.1: while the handler of an NMI runs, NMIs are blocked
 * until the next IRET; one more NMI is held meanwhile (a third collapses
 * into it) and is taken right after the IRET, at the instruction the
 * IRET returned to, before that instruction runs. The handler below
 * sends `resend` NMIs to its own CPU (xAPIC ICR, NMI delivery, the own
 * APIC ID as destination), spins, and IRETs at tp_nmi_iret; the main
 * code sends the first NMI and then runs a busy loop of ALU instructions
 * (no exit under minihv), counting RCX down. Recorded: NMIs taken,
 * NMIs taken inside the handler (nested), the RIP and RCX of the first
 * two frames: the second NMI must arrive at the first one's return RIP
 * with the same RCX (no loop instruction in between), not at the end of
 * the loop. Offsets: struct tp_nmi. */
struct tp_nmi {
    uint64_t count, depth, nested;
    uint64_t first_rip, first_rcx, second_rip, second_rcx;
    uint64_t resend, icr, icr_value;
};
volatile struct tp_nmi tp_nmi;
void tp_nmi_entry(void) __attribute__((visibility("hidden")));
void tp_nmi_loop(uint64_t loops) __attribute__((visibility("hidden")));
void tp_nmi_halt_off(void) __attribute__((visibility("hidden")));
extern const uint8_t tp_nmi_iret[], tp_nmi_hlt_after[];
#define TP_NMI_SPIN "200000"

__asm__(".text\n"
        ".globl tp_nmi_entry\n.hidden tp_nmi_entry\n"
        "tp_nmi_entry:\n"
        "    push %rax\n"
        "    push %rdx\n"
        "    push %r8\n"
        "    lea tp_nmi(%rip), %rdx\n"
        "    incq 0(%rdx)\n"               /* count */
        "    cmpq $0, 8(%rdx)\n"           /* depth: inside the handler already */
        "    je 1f\n"
        "    incq 16(%rdx)\n"              /* nested */
        "1:  incq 8(%rdx)\n"
        "    mov 0(%rdx), %rax\n"
        "    cmp $1, %rax\n"
        "    jne 2f\n"
        "    mov 24(%rsp), %rax\n"         /* the frame's RIP (3 pushes) */
        "    mov %rax, 24(%rdx)\n"
        "    mov %rcx, 32(%rdx)\n"
        "    push %rcx\n"
        "    mov 56(%rdx), %rcx\n"         /* resend */
        "3:  test %rcx, %rcx\n"
        "    jz 5f\n"
        "    mov 64(%rdx), %rax\n"         /* ICR low */
        "4:  testl $0x1000, (%rax)\n"      /* delivery status: idle first */
        "    pause\n"
        "    jnz 4b\n"
        "    mov 72(%rdx), %r8\n"
        "    movl %r8d, (%rax)\n"
        "    dec %rcx\n"
        "    jmp 3b\n"
        "5:  mov $" TP_NMI_SPIN ", %ecx\n"  /* time for a nested NMI to come */
        "6:  pause\n"
        "    dec %ecx\n"
        "    jnz 6b\n"
        "    pop %rcx\n"
        "    jmp 9f\n"
        "2:  cmp $2, %rax\n"
        "    jne 9f\n"
        "    mov 24(%rsp), %rax\n"
        "    mov %rax, 40(%rdx)\n"
        "    mov %rcx, 48(%rdx)\n"
        "9:  decq 8(%rdx)\n"
        "    pop %r8\n"
        "    pop %rdx\n"
        "    pop %rax\n"
        ".globl tp_nmi_iret\n.hidden tp_nmi_iret\n"
        "tp_nmi_iret:\n"
        "    iretq\n"
        /* tp_nmi_loop(loops): the first NMI, then the busy loop. */
        ".globl tp_nmi_loop\n.hidden tp_nmi_loop\n"
        "tp_nmi_loop:\n"
        "    mov %rdi, %rcx\n"
        "    lea tp_nmi(%rip), %rdx\n"
        "    mov 64(%rdx), %rax\n"
        "    mov 72(%rdx), %r8\n"
        "    movl %r8d, (%rax)\n"
        "1:  add $3, %r8\n"
        "    xor %rcx, %r8\n"
        "    dec %rcx\n"
        "    jnz 1b\n"
        "    ret\n"
        /* tp_nmi_halt_off: one HLT (interrupts off: only an NMI, INIT or
         * SMI ends it). */
        ".globl tp_nmi_halt_off\n.hidden tp_nmi_halt_off\n"
        "tp_nmi_halt_off:\n"
        "    hlt\n"
        ".globl tp_nmi_hlt_after\n.hidden tp_nmi_hlt_after\n"
        "tp_nmi_hlt_after:\n"
        "    ret\n");

static uint8_t nmi_idt[4096] __attribute__((aligned(16)));
static uint64_t nmi_apic; /* the xAPIC page */

#define APIC_ICR_LOW 0x300
#define APIC_ICR_HIGH 0x310
#define ICR_NMI_ASSERT 0x4400u /* delivery NMI (100b << 8), level assert, physical, no shorthand */

static volatile uint32_t *apic_reg(unsigned off)
{
    return (volatile uint32_t *)(uintptr_t)(nmi_apic + off);
}

/* This CPU's IDT copied into nmi_idt with vector 2 at tp_nmi_entry
 * (interrupt gate, no IST: a nested NMI must not overwrite the first
 * frame); loaded, the old one in *saved. False when there is none. */
static bool nmi_idt_load(struct idt_ptr *saved)
{
    struct idt_ptr mine;
    __asm__ volatile("sidt %0" : "=m"(*saved));
    size_t bytes = (size_t)saved->limit + 1;
    if (bytes > sizeof(nmi_idt) || bytes < 3 * sizeof(struct x86_idt_gate))
        return false;
    memcpy(nmi_idt, (const void *)(uintptr_t)saved->base, bytes);
    struct x86_idt_gate *g = (struct x86_idt_gate *)nmi_idt + 2;
    uint16_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    *g = x86_idt_gate_intr((uint64_t)(uintptr_t)tp_nmi_entry, cs, 0);
    mine.limit = saved->limit;
    mine.base = (uint64_t)(uintptr_t)nmi_idt;
    __asm__ volatile("lidt %0" ::"m"(mine) : "memory");
    return true;
}

static uint32_t own_apic_id(void)
{
    uint32_t r[4];
    x86_cpuid(1, 0, r);
    return r[1] >> 24;
}

/* (a) one NMI sent from the handler, (b) the busy loop after it, (c) two
 * sent from the handler: one held. */
static void nmi_self(const char *name, unsigned resend, uint64_t loops)
{
    struct idt_ptr saved;
    uint64_t flags;
    __asm__ volatile("pushfq; pop %0; cli" : "=r"(flags)::"memory");
    if (!nmi_idt_load(&saved)) {
        __asm__ volatile("push %0; popfq" ::"r"(flags) : "memory", "cc");
        guest_print("tp: nmi-%s no-idt", name);
        return;
    }
    memset((void *)&tp_nmi, 0, sizeof(tp_nmi));
    tp_nmi.resend = resend;
    tp_nmi.icr = nmi_apic + APIC_ICR_LOW;
    tp_nmi.icr_value = ICR_NMI_ASSERT;
    *apic_reg(APIC_ICR_HIGH) = own_apic_id() << 24;
    tp_nmi_loop(loops);
    /* Whatever is still on its way (late NMIs): a while longer. */
    for (unsigned i = 0; i < 2000000 && tp_nmi.count < 1 + resend; i++)
        __asm__ volatile("pause");
    for (unsigned i = 0; i < 200000; i++)
        __asm__ volatile("pause");
    __asm__ volatile("lidt %0" ::"m"(saved) : "memory");
    __asm__ volatile("push %0; popfq" ::"r"(flags) : "memory", "cc");
    bool second = tp_nmi.count >= 2;
    guest_print("tp: nmi-%s count %lu nested %lu second-at-iret-return %s loop-delta %ld", name, tp_nmi.count,
                tp_nmi.nested, second && tp_nmi.second_rip == tp_nmi.first_rip ? "yes" : "no",
                second ? (long)(tp_nmi.first_rcx - tp_nmi.second_rcx) : -1L);
}

/* (d) an NMI from another CPU to one sitting in HLT: it wakes the HLT
 * (SDM Vol. 3A 6.7) and arrives with the RIP after it. Run on the first
 * AP within check_apic_ids's call (one wake of the AP; before ff7e101 a
 * second StartupThisAP of the same AP never returned under minihv on
 * Bochs, the kick's NMI blocked): the AP reads its IDs, loads the NMI gate, says so,
 * and halts with interrupts off until an NMI came; the BSP, inside the
 * blocking StartupThisAP, sends the NMI from a timer callback once the
 * AP is ready. A lost NMI ends in the MP timeout: "count 0". One that
 * beats the AP to its HLT is sent again (TP_NMI_REMOTE_TRIES in all). */
struct nmi_remote {
    struct cpu_ids *ids;
    volatile uint32_t ready, sent, target, early;
};
#define TP_NMI_REMOTE_TRIES 8
static struct nmi_remote nmi_r;

static VOID EFIAPI nmi_remote_ap(VOID *arg)
{
    struct nmi_remote *r = arg;
    struct idt_ptr saved;
    uint64_t flags;
    ids_here(r->ids);
    r->target = r->ids->l1_ebx_id;
    __asm__ volatile("pushfq; pop %0; cli" : "=r"(flags)::"memory");
    if (nmi_idt_load(&saved)) {
        for (unsigned tries = 1;; tries++) {
            r->ready = 1;
            while (!tp_nmi.count)
                tp_nmi_halt_off();
            if (tp_nmi.first_rip == (uint64_t)(uintptr_t)tp_nmi_hlt_after || tries == TP_NMI_REMOTE_TRIES)
                break;
            /* The NMI came before this CPU got into its HLT: the BSP sends
             * a fixed spin after `ready`, and a loaded host that holds this
             * vCPU's thread off longer lets the NMI in first (seen as
             * "at-hlt no" in one run of the two). Not what (d) tests: again,
             * once the BSP has marked this one sent. A CPU that never takes
             * the NMI at the HLT still says "no" after the last try. */
            r->ready = 0;
            while (!r->sent)
                __asm__ volatile("pause");
            memset((void *)&tp_nmi, 0, sizeof(tp_nmi));
            __asm__ volatile("" ::: "memory");
            r->early++;
            r->sent = 0;
        }
        __asm__ volatile("lidt %0" ::"m"(saved) : "memory");
    }
    __asm__ volatile("push %0; popfq" ::"r"(flags) : "memory", "cc");
}

/* On the BSP (TPL_CALLBACK, every 10 ms): the NMI, once the AP halts. */
static VOID EFIAPI nmi_remote_tick(EFI_EVENT ev, VOID *arg)
{
    (void)ev;
    struct nmi_remote *r = arg;
    if (!r->ready || r->sent)
        return;
    for (unsigned i = 0; i < 100000; i++) /* the AP gets into its HLT */
        __asm__ volatile("pause");
    while (*apic_reg(APIC_ICR_LOW) & 0x1000)
        __asm__ volatile("pause");
    *apic_reg(APIC_ICR_HIGH) = r->target << 24;
    *apic_reg(APIC_ICR_LOW) = ICR_NMI_ASSERT;
    r->sent = 1;
}

/* Runs check_apic_ids's procedure on AP n with (d) after it; the
 * nmi-remote line is printed by check_nmi. */

static void nmi_remote_on(struct mp_services *mp, UINTN n, struct cpu_ids *ids)
{
    EFI_EVENT tick = NULL;
    uint64_t base = 0;
    nmi_remote_ran = true;
    if (!tp_rdmsr(0x1b, &base) || (base & (1ull << 10)) || !(base & (1ull << 11)) ||
        EFI_ERROR(BS->CreateEvent(EVT_TIMER | EVT_NOTIFY_SIGNAL, TPL_CALLBACK, nmi_remote_tick, (void *)&nmi_r,
                                  &tick)) ||
        EFI_ERROR(BS->SetTimer(tick, TimerPeriodic, 100000))) {
        fmt_snprintf(nmi_remote_line, sizeof(nmi_remote_line), "not-run");
        mp->StartupThisAP(mp, ids_here, n, NULL, 5000000, ids, NULL);
        return;
    }
    nmi_apic = base & 0x000ffffffffff000ull;
    memset((void *)&nmi_r, 0, sizeof(nmi_r));
    nmi_r.ids = ids;
    memset((void *)&tp_nmi, 0, sizeof(tp_nmi));
    EFI_STATUS st = mp->StartupThisAP(mp, nmi_remote_ap, n, NULL, 5000000, (void *)&nmi_r, NULL);
    BS->SetTimer(tick, TimerCancel, 0);
    BS->CloseEvent(tick);
    fmt_snprintf(nmi_remote_line, sizeof(nmi_remote_line), "%s sent %s count %lu at-hlt %s",
                 EFI_ERROR(st) ? "ap-timeout" : "ap-done", nmi_r.sent ? "yes" : "no", tp_nmi.count,
                 tp_nmi.count && tp_nmi.first_rip == (uint64_t)(uintptr_t)tp_nmi_hlt_after ? "yes" : "no");
}

static void nmi_window(const char *name, bool sti);

static void check_nmi(void)
{
    uint64_t base = 0;
    if (!tp_rdmsr(0x1b, &base) || (base & (1ull << 10)) || !(base & (1ull << 11))) {
        guest_print("tp: nmi not-xapic");
        return;
    }
    nmi_apic = base & 0x000ffffffffff000ull;
    nmi_self("self-1", 1, 5000000);
    nmi_self("self-2", 2, 5000000);
    nmi_window("iret-fault", false);
    nmi_window("iret-sti", true);
    guest_print("tp: nmi-remote %s", nmi_remote_ran ? nmi_remote_line : "one-cpu");
    if (nmi_r.early) /* not diffed: how often the NMI beat the AP to its HLT */
        guest_print("tp-note: nmi-remote sent again %u time(s): the NMI came before the HLT", nmi_r.early);
}

/* ---- IDT copies with gates of the test's own ---- */

/* This CPU's IDT copied into buf (at least `vectors` gates), loaded; the
 * old one in *saved. False when it does not fit. */
static bool idt_clone(uint8_t *buf, size_t cap, unsigned vectors, struct idt_ptr *saved)
{
    __asm__ volatile("sidt %0" : "=m"(*saved));
    size_t bytes = (size_t)saved->limit + 1;
    if (bytes > cap || bytes < vectors * sizeof(struct x86_idt_gate))
        return false;
    memcpy(buf, (const void *)(uintptr_t)saved->base, bytes);
    return true;
}

static void idt_load(uint8_t *buf, const struct idt_ptr *saved)
{
    struct idt_ptr mine = { saved->limit, (uint64_t)(uintptr_t)buf };
    __asm__ volatile("lidt %0" ::"m"(mine) : "memory");
}

/* A 64-bit interrupt gate to fn in this CS (SDM Vol. 3A 6.14.1), or a
 * gate marked not present (fn NULL). */
static void set_gate(uint8_t *idt, unsigned vector, void (*fn)(void))
{
    struct x86_idt_gate *g = (struct x86_idt_gate *)idt + vector;
    uint16_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    if (!fn) {
        g->type_attr &= (uint8_t)~X86_GATE_P; /* delivery through it raises #NP */
        return;
    }
    *g = x86_idt_gate_intr((uint64_t)(uintptr_t)fn, cs, 0);
}

/* ---- the NMI window across a faulting IRET of the NMI handler ----
 * Regression for bddc2da (found by the fuzzing guest): on SVM without
 * vNMI, with an NMI held while the guest's NMIs are blocked, the core
 * single-steps the guest's IRET (TF) to open the window (svm_exit.c,
 * "NMIs"). Before bddc2da an IRET that faulted pushed the step's TF in
 * the fault's frame, and after the handler's IRET the guest took a #DB
 * (DR6.BS) in its own code. Here the handler of a self-NMI sends itself
 * a second NMI (held: SDM Vol. 3A 6.7.1), then IRETs with a null CS in
 * its frame: #GP(0) (SDM Vol. 2A IRET, 64-bit mode). The #GP handler
 * records its frame (RFLAGS.TF must be 0 as bare), does what the IRET
 * would have (the frame's RIP/RSP/SS, the CS put back, its own RFLAGS
 * kept: a leaked TF stays) and returns to the loop. Recorded: NMIs
 * taken (2: the held one exactly once), #GPs, the #GP's error code and
 * RIP, TF in its frame, #DBs (none), where the second NMI came. An IRET
 * unblocks NMIs even if it faults (SDM 6.7.1): the second NMI may come
 * at the #GP handler's first instruction (Bochs, hardware), after the
 * #GP handler's IRET (QEMU TCG keeps NMIs blocked over a faulting
 * IRET), or, on SVM without vNMI, at the next exit (the documented
 * inexactness): the run ends with a CPUID, which exits under minihv,
 * and the place is its own check line. The STI variant: the handler
 * also sends itself a fixed interrupt (pending, IF clear), then IRETs
 * with a good frame right after STI (the IRET in the STI shadow, SDM
 * 6.8.3; it pops IF clear): the interrupt comes after the run, under
 * the test's IDT; recorded: NMIs, #DBs, interrupts (1). QEMU TCG drops
 * the VMCB's interrupt shadow at VMRUN, so under minihv there the
 * interrupt comes before the stepped IRET: until 81e0978 its frame held
 * the step's TF (db 1, DR6.BS); the core now intercepts INTR during the
 * step. Offsets: struct tp_nf. */
struct tp_nf {
    uint64_t count, icr, icr_value, cs, gp, gp_err, gp_rflags, gp_rip, second_rip, ipi, first_rip, rsp, irq;
};
volatile struct tp_nf tp_nf;
void tp_nf_nmi(void) __attribute__((visibility("hidden")));
void tp_nf_gp(void) __attribute__((visibility("hidden")));
void tp_nf_irq(void) __attribute__((visibility("hidden")));
void tp_nf_run(void) __attribute__((visibility("hidden")));
extern const uint8_t tp_nf_iret[], tp_nf_iret_sti[], tp_nf_loop[], tp_nf_loop_end[], tp_nf_out[];

__asm__(".text\n"
        ".globl tp_nf_nmi\n.hidden tp_nf_nmi\n"
        "tp_nf_nmi:\n"
        "    push %rax\n"
        "    push %rcx\n"
        "    push %rdx\n"                  /* frame: RIP 24, CS 32, RFLAGS 40, RSP 48, SS 56 */
        "    lea tp_nf(%rip), %rdx\n"
        "    incq 0(%rdx)\n"
        "    cmpq $1, 0(%rdx)\n"
        "    jne 5f\n"
        "    mov 24(%rsp), %rax\n"
        "    mov %rax, 80(%rdx)\n"         /* first_rip */
        "    mov 8(%rdx), %rax\n"          /* ICR low */
        "1:  testl $0x1000, (%rax)\n"
        "    pause\n"
        "    jnz 1b\n"
        "    mov 72(%rdx), %ecx\n"         /* ipi: a fixed interrupt to this CPU, or none */
        "    test %ecx, %ecx\n"
        "    jz 7f\n"
        "    movl %ecx, (%rax)\n"          /* pending: IF is clear */
        "8:  testl $0x1000, (%rax)\n"
        "    pause\n"
        "    jnz 8b\n"
        "7:  mov 16(%rdx), %ecx\n"
        "    movl %ecx, (%rax)\n"          /* the second NMI: held */
        "    mov $20000, %ecx\n"
        "2:  pause\n"
        "    dec %ecx\n"
        "    jnz 2b\n"
        "    cmpq $0, 72(%rdx)\n"
        "    jne 3f\n"
        "    mov 32(%rsp), %rax\n"
        "    mov %rax, 24(%rdx)\n"         /* the CS the #GP handler puts back */
        "    movq $0, 32(%rsp)\n"          /* null CS: the IRET raises #GP(0) */
        "    pop %rdx\n    pop %rcx\n    pop %rax\n"
        ".globl tp_nf_iret\n.hidden tp_nf_iret\n"
        "tp_nf_iret:\n"
        "    iretq\n"
        "3:  pop %rdx\n    pop %rcx\n    pop %rax\n"
        "    sti\n"
        ".globl tp_nf_iret_sti\n.hidden tp_nf_iret_sti\n"
        "tp_nf_iret_sti:\n"
        "    iretq\n"                      /* in the STI shadow (SDM 6.8.3) */
        "5:  cmpq $2, 0(%rdx)\n"
        "    jne 6f\n"
        "    mov 24(%rsp), %rax\n"
        "    mov %rax, 64(%rdx)\n"         /* second_rip */
        "6:  pop %rdx\n    pop %rcx\n    pop %rax\n"
        "    iretq\n"
        ".globl tp_nf_irq\n.hidden tp_nf_irq\n"
        "tp_nf_irq:\n"
        "    push %rax\n"
        "    lea tp_nf(%rip), %rax\n"
        "    incq 96(%rax)\n"
        "    mov 8(%rax), %rax\n"
        "    movl $0, -0x250(%rax)\n"      /* EOI (ICR low 0x300, EOI 0xb0) */
        "    pop %rax\n"
        "    iretq\n"
        ".globl tp_nf_gp\n.hidden tp_nf_gp\n"
        "tp_nf_gp:\n"
        "    push %rax\n"
        "    push %rcx\n"
        "    push %rdx\n"                  /* error 24, RIP 32, CS 40, RFLAGS 48, RSP 56, SS 64 */
        "    lea tp_nf(%rip), %rdx\n"
        "    incq 32(%rdx)\n"
        "    cmpq $1, 32(%rdx)\n"
        "    jne 9f\n"
        "    mov 24(%rsp), %rax\n    mov %rax, 40(%rdx)\n"
        "    mov 48(%rsp), %rax\n    mov %rax, 48(%rdx)\n"
        "    mov 32(%rsp), %rax\n    mov %rax, 56(%rdx)\n"
        "    mov 56(%rsp), %rcx\n"         /* the refused frame: RIP 0, CS 8, RFLAGS 16, RSP 24, SS 32 */
        "    mov 0(%rcx), %rax\n    mov %rax, 32(%rsp)\n"
        "    mov 24(%rdx), %rax\n    mov %rax, 40(%rsp)\n"
        "    mov 32(%rcx), %rax\n    mov %rax, 64(%rsp)\n"
        "    mov 24(%rcx), %rax\n    mov %rax, 56(%rsp)\n"
        "    pop %rdx\n    pop %rcx\n    pop %rax\n"
        "    add $8, %rsp\n"
        "    iretq\n"
        "9:  mov 88(%rdx), %rsp\n"         /* a #GP not expected: out */
        "    jmp tp_nf_out\n"
        ".globl tp_nf_run\n.hidden tp_nf_run\n"
        "tp_nf_run:\n"
        "    push %rbx\n"
        "    lea tp_nf(%rip), %rdx\n"
        "    mov %rsp, 88(%rdx)\n"
        "    mov 8(%rdx), %rax\n"
        "    mov 16(%rdx), %ecx\n"
        "    movl %ecx, (%rax)\n"          /* the first NMI */
        "    mov $100000, %ecx\n"
        ".globl tp_nf_loop\n.hidden tp_nf_loop\n"
        "tp_nf_loop:\n"
        "    add $3, %r8\n"
        "    dec %ecx\n"
        "    jnz tp_nf_loop\n"
        ".globl tp_nf_loop_end\n.hidden tp_nf_loop_end\n"
        "tp_nf_loop_end:\n"
        "    xor %eax, %eax\n"
        "    xor %ecx, %ecx\n"
        "    cpuid\n"                      /* exits under minihv */
        "    mov $20000, %ecx\n"
        "2:  pause\n"
        "    dec %ecx\n"
        "    jnz 2b\n"
        ".globl tp_nf_out\n.hidden tp_nf_out\n"
        "tp_nf_out:\n"
        "    pop %rbx\n"
        "    ret\n");

static uint8_t nf_idt[4096] __attribute__((aligned(16)));
#define TP_NF_VECTOR 0xf0 /* the fixed interrupt of the STI variant */

static const char *nf_where(uint64_t rip)
{
    if (!rip)
        return "none";
    if (rip == (uint64_t)(uintptr_t)tp_nf_gp)
        return "gp-entry";
    if (rip == tp_nf.first_rip)
        return "iret-return";
    if (rip == (uint64_t)(uintptr_t)tp_nf_iret_sti)
        return "nmi-handler-iret";
    if (rip >= (uint64_t)(uintptr_t)tp_nf_loop && rip <= (uint64_t)(uintptr_t)tp_nf_loop_end)
        return "loop";
    if (rip > (uint64_t)(uintptr_t)tp_nf_loop_end && rip <= (uint64_t)(uintptr_t)tp_nf_out)
        return "after-loop";
    return "other";
}

static void nmi_window(const char *name, bool sti)
{
    struct idt_ptr saved;
    uint64_t flags;
    __asm__ volatile("pushfq; pop %0; cli" : "=r"(flags)::"memory");
    if (!idt_clone(nf_idt, sizeof(nf_idt), TP_NF_VECTOR + 1, &saved)) {
        __asm__ volatile("push %0; popfq" ::"r"(flags) : "memory", "cc");
        guest_print("tp: nmi-%s no-idt", name);
        return;
    }
    set_gate(nf_idt, 1, tp_db_entry);
    set_gate(nf_idt, 2, tp_nf_nmi);
    set_gate(nf_idt, 13, tp_nf_gp);
    set_gate(nf_idt, TP_NF_VECTOR, tp_nf_irq);
    memset((void *)&tp_nf, 0, sizeof(tp_nf));
    tp_nf.ipi = sti ? 0x4000u | TP_NF_VECTOR : 0; /* fixed, assert */
    memset(&tp_db, 0, sizeof(tp_db));
    tp_nf.icr = nmi_apic + APIC_ICR_LOW;
    tp_nf.icr_value = ICR_NMI_ASSERT;
    *apic_reg(APIC_ICR_HIGH) = own_apic_id() << 24;
    idt_load(nf_idt, &saved);
    tp_nf_run();
    __asm__ volatile("sti; nop; nop; cli" ::: "memory"); /* the fixed interrupt, if still pending */
    __asm__ volatile("lidt %0" ::"m"(saved) : "memory");
    __asm__ volatile("push %0; popfq" ::"r"(flags) : "memory", "cc");
    if (!sti)
        guest_print("tp: nmi-%s nmis %lu gp %lu gp-err 0x%lx gp-at-iret %s gp-tf %u db %lu db-bs %u", name,
                    tp_nf.count, tp_nf.gp, tp_nf.gp_err, tp_nf.gp_rip == (uint64_t)(uintptr_t)tp_nf_iret ? "yes" : "no",
                    (unsigned)((tp_nf.gp_rflags >> 8) & 1), tp_db.count, (unsigned)((tp_db.dr6 >> 14) & 1));
    else
        guest_print("tp: nmi-%s nmis %lu gp %lu db %lu db-bs %u irq %lu", name, tp_nf.count, tp_nf.gp, tp_db.count,
                    (unsigned)((tp_db.dr6 >> 14) & 1), tp_nf.irq);
    guest_print("tp: nmi-%s-second-at %s", name, nf_where(tp_nf.second_rip));
}

/* ---- #DF: an exception during delivery of another (issue 15) ----
 * SDM Vol. 3A 6.15, Table 6-5: a contributory exception (#DE #TS #NP
 * #SS #GP) raised while a contributory one is delivered becomes #DF with
 * error code 0; after a benign one (#UD) the second is handled serially.
 * An IDT gate not present raises #NP(vector*8+2+EXT) (6.13: EXT set, the
 * event being delivered is not the program's), a gate whose selector is
 * null #GP(EXT). The exceptions the core injects: #GP for XSETBV of
 * XCR0 = 0 (x87 clear: SDM Vol. 2C XSETBV, #GP; XSETBV always exits,
 * the core checks the value, hv/vcpu.c), #UD
 * for VMXON (VMX) or VMRUN (SVM), whose exits the core answers as a CPU
 * without VMX/SVM; UD2 as the reference the core never sees. Each goes
 * through an IDT whose gate for it is not present, or has a null
 * selector; #DF, #NP and #GP (when not the broken one) recorded: the
 * vector taken, its error code, whether its RIP is the instruction.
 * Offsets: struct tp_df. */
struct tp_df {
    uint64_t vector, err, rip, rsp, count, cr2, rflags;
};
volatile struct tp_df tp_df;
void tp_df_8(void) __attribute__((visibility("hidden")));
void tp_df_11(void) __attribute__((visibility("hidden")));
void tp_df_13(void) __attribute__((visibility("hidden")));
void tp_df_6(void) __attribute__((visibility("hidden")));
void tp_df_run(unsigned kind, void *page) __attribute__((visibility("hidden")));
extern const uint8_t tp_df_xsetbv[], tp_df_vmxon[], tp_df_vmrun[], tp_df_ud2[], tp_df_noncanon[], tp_df_rdmsr[];

__asm__(".text\n"
        ".globl tp_df_8\n.hidden tp_df_8\n"
        "tp_df_8:\n"
        "    pushq $8\n"
        "    jmp 1f\n"
        ".globl tp_df_11\n.hidden tp_df_11\n"
        "tp_df_11:\n"
        "    pushq $11\n"
        "    jmp 1f\n"
        ".globl tp_df_6\n.hidden tp_df_6\n"
        "tp_df_6:\n"
        "    pushq $0\n"                 /* #UD pushes no error code */
        "    pushq $6\n"
        "    jmp 1f\n"
        ".globl tp_df_13\n.hidden tp_df_13\n"
        "tp_df_13:\n"
        "    pushq $13\n"
        "1:  lea tp_df(%rip), %rdx\n"     /* vector 0, error 8, RIP 16, CS 24, RFLAGS 32 */
        "    incq 32(%rdx)\n"
        "    cmpq $1, 32(%rdx)\n"
        "    jne 2f\n"
        "    mov 0(%rsp), %rax\n    mov %rax, 0(%rdx)\n"
        "    mov 8(%rsp), %rax\n    mov %rax, 8(%rdx)\n"
        "    mov 16(%rsp), %rax\n    mov %rax, 16(%rdx)\n"
        "    mov %cr2, %rax\n    mov %rax, 40(%rdx)\n"
        "    mov 32(%rsp), %rax\n    mov %rax, 48(%rdx)\n"
        "2:  mov 24(%rdx), %rsp\n"
        "    jmp 9f\n"
        /* tp_df_run(kind, page): 0 XSETBV XCR0 = 0, 1 VMXON, 2 VMRUN, 3 UD2,
         * 4 a load from `page` (non-canonical: #GP(0), the reference), 5 RDMSR
         * of the MSR numbered `page` (under minihv only: one the core denies,
         * its #GP injected on both backends). */
        ".globl tp_df_run\n.hidden tp_df_run\n"
        "tp_df_run:\n"
        "    push %rbx\n"
        "    lea tp_df(%rip), %rdx\n"
        "    mov %rsp, 24(%rdx)\n"
        "    mov %rsi, %rax\n"
        "    cmp $1, %edi\n    je 4f\n"
        "    cmp $2, %edi\n    je 5f\n"
        "    cmp $3, %edi\n    je 6f\n"
        "    cmp $4, %edi\n    je 7f\n"
        "    cmp $5, %edi\n    je 8f\n"
        "    xor %ecx, %ecx\n"
        "    xor %eax, %eax\n"
        "    xor %edx, %edx\n"
        ".globl tp_df_xsetbv\n.hidden tp_df_xsetbv\n"
        "tp_df_xsetbv:\n"
        "    xsetbv\n"
        "    jmp 9f\n"
        "4:\n"
        ".globl tp_df_vmxon\n.hidden tp_df_vmxon\n"
        "tp_df_vmxon:\n"
        "    vmxon (%rsi)\n"
        "    jmp 9f\n"
        "5:\n"
        ".globl tp_df_vmrun\n.hidden tp_df_vmrun\n"
        "tp_df_vmrun:\n"
        "    vmrun\n"
        "    jmp 9f\n"
        "6:\n"
        ".globl tp_df_ud2\n.hidden tp_df_ud2\n"
        "tp_df_ud2:\n"
        "    ud2\n"
        "    jmp 9f\n"
        "7:\n"
        ".globl tp_df_noncanon\n.hidden tp_df_noncanon\n"
        "tp_df_noncanon:\n"
        "    mov (%rsi), %rax\n"
        "    jmp 9f\n"
        "8:  mov %esi, %ecx\n"
        ".globl tp_df_rdmsr\n.hidden tp_df_rdmsr\n"
        "tp_df_rdmsr:\n"
        "    rdmsr\n"
        "9:  pop %rbx\n"
        "    ret\n");

static uint8_t df_idt[4096] __attribute__((aligned(16)));
/* "tp" (diffed), or "tp-hv" for the cases run under minihv only. */
static const char *df_prefix = "tp";

/* The instructions tp_df_run runs, by kind. */
static const uint8_t *const df_insn[] = { tp_df_xsetbv, tp_df_vmxon, tp_df_vmrun, tp_df_ud2, tp_df_noncanon, tp_df_rdmsr };

/* Interrupts off and a clone of the IDT in df_idt for the caller's gates;
 * false (and everything put back) if the IDT does not fit. */
static bool case_begin(struct idt_ptr *saved, uint64_t *flags)
{
    __asm__ volatile("pushfq; pop %0; cli" : "=r"(*flags)::"memory");
    if (idt_clone(df_idt, sizeof(df_idt), 14, saved))
        return true;
    __asm__ volatile("push %0; popfq" ::"r"(*flags) : "memory", "cc");
    return false;
}

/* kind's instruction under df_idt, then the IDT and flags put back. */
static void case_run(unsigned kind, void *page, const struct idt_ptr *saved, uint64_t flags)
{
    memset((void *)&tp_df, 0, sizeof(tp_df));
    idt_load(df_idt, saved);
    tp_df_run(kind, page);
    __asm__ volatile("lidt %0" ::"m"(*saved) : "memory");
    __asm__ volatile("push %0; popfq" ::"r"(flags) : "memory", "cc");
}

/* One case: kind's instruction with vector's gate broken (not present,
 * or a null selector). */
static void df_case(const char *name, unsigned kind, unsigned vector, bool null_sel, void *page)
{
    struct idt_ptr saved;
    uint64_t flags;
    if (!case_begin(&saved, &flags)) {
        guest_print("%s: df-%s no-idt", df_prefix, name);
        return;
    }
    set_gate(df_idt, 8, tp_df_8);
    set_gate(df_idt, 11, tp_df_11);
    set_gate(df_idt, 13, tp_df_13);
    set_gate(df_idt, vector, NULL);
    if (null_sel) {
        set_gate(df_idt, vector, tp_df_13); /* present, but CS null: #GP(EXT) */
        ((struct x86_idt_gate *)df_idt + vector)->selector = 0;
    }
    case_run(kind, page, &saved, flags);
    if (!tp_df.count)
        guest_print("%s: df-%s none", df_prefix, name);
    else
        guest_print("%s: df-%s vector %lu err 0x%lx at-insn %s count %lu", df_prefix, name, tp_df.vector, tp_df.err,
                    tp_df.rip == (uint64_t)(uintptr_t)df_insn[kind] ? "yes" : "no", tp_df.count);
}

/* ---- the RF a fault pushes ----
 * SDM Vol. 3B 17.3.1.1: for every fault-class exception but an
 * instruction breakpoint's #DB the RFLAGS image pushed has RF set. The
 * faults the core injects (hv/exit_rules.h exception_sets_rf) against the
 * CPU's own: #UD for VMXON/VMRUN (the core's answer as a CPU without
 * VMX/SVM) against UD2 (the CPU's on VMX; on SVM every #UD is
 * intercepted and re-injected), #GP for XSETBV of XCR0 = 0 (the core's on
 * VMX) against a non-canonical load (the CPU's). Gates 6 and 13 present. */
static void rf_case(const char *name, unsigned kind, void *page)
{
    struct idt_ptr saved;
    uint64_t flags;
    if (!case_begin(&saved, &flags)) {
        guest_print("%s: fault-rf-%s no-idt", df_prefix, name);
        return;
    }
    set_gate(df_idt, 6, tp_df_6);
    set_gate(df_idt, 13, tp_df_13);
    case_run(kind, page, &saved, flags);
    if (!tp_df.count)
        guest_print("%s: fault-rf-%s none", df_prefix, name);
    else
        guest_print("%s: fault-rf-%s vector %lu err 0x%lx rf %lu at-insn %s", df_prefix, name, tp_df.vector, tp_df.err,
                    (tp_df.rflags >> 16) & 1, tp_df.rip == (uint64_t)(uintptr_t)df_insn[kind] ? "yes" : "no");
}

static void check_fault_rf(bool hv)
{
    static uint8_t page[4096] __attribute__((aligned(4096)));
    uint32_t r[4];
    x86_cpuid(0, 0, r);
    bool amd = r[1] == 0x68747541; /* "Auth" */
    rf_case("ud2-ud", 3, page);
    rf_case("virt-ud", amd ? 2 : 1, page);
    rf_case("noncanon-gp", 4, (void *)0x8000000000000000ull);
    x86_cpuid(1, 0, r);
    if (r[2] & (1u << 26)) {
        uint64_t cr4 = read_cr4();
        write_cr4(cr4 | CR4_OSXSAVE);
        rf_case("xsetbv-gp", 0, page);
        write_cr4(cr4);
    }
    if (hv) { /* the core's #GP for a denied RDMSR, on both backends */
        df_prefix = "tp-hv";
        rf_case("deny-gp", 5, (void *)0x79);
        df_prefix = "tp";
    }
}

/* ---- a #PF during delivery (SDM Vol. 3A 6.15, Table 6-5) ----
 * A page fault while a contributory exception is delivered is handled
 * serially (the #PF is taken); a page fault while a #PF is delivered is
 * a #DF(0). The IDT is moved to a linear page of the test's own (a PML4
 * slot the firmware left empty, in a copy of its PML4: page tables 4 KiB
 * each, identity addresses) so that gate 13 starts the next page, which
 * is not present: delivering #GP reads gate 13: #PF, taken; its delivery
 * reads gate 14, on the same missing page: #PF during #PF, #DF through
 * gate 8 on the present page, CR2 = gate 14 (the second fault's
 * address). The #GP injected by the core (XSETBV of XCR0 = 0) against
 * the CPU's own (a non-canonical load). Recorded as the df-* cases, plus
 * which gate CR2 names. The #PF handled on its own (gate 14 present,
 * the event's gate missing) cannot be built this way: 14 is above every
 * contributory vector, and the gates span at most two pages. */
static uint64_t pf_pml4[512] __attribute__((aligned(4096)));
static uint64_t pf_pdpt[512] __attribute__((aligned(4096)));
static uint64_t pf_pd[512] __attribute__((aligned(4096)));
static uint64_t pf_pt[512] __attribute__((aligned(4096)));
static uint8_t pf_idt[4096] __attribute__((aligned(4096)));
#define CR4_LA57 (1ull << 12)
#define PF_VECTOR 13 /* the gate on the missing page */

static void df_pf_case(const char *name, unsigned kind, void *arg)
{
    uint64_t cr3, flags;
    struct idt_ptr saved;
    __asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
    const uint64_t *fw = (const uint64_t *)(uintptr_t)(cr3 & 0x000ffffffffff000ull);
    unsigned slot = 0;
    for (unsigned i = 1; i < 256 && !slot; i++)
        if (!(fw[i] & 1))
            slot = i;
    __asm__ volatile("sidt %0" : "=m"(saved));
    if ((read_cr4() & CR4_LA57) || !slot || ((uintptr_t)pf_pml4 | (uintptr_t)pf_pdpt | (uintptr_t)pf_pd |
                                             (uintptr_t)pf_pt | (uintptr_t)pf_idt) & 0xfff ||
        (size_t)saved.limit + 1 < PF_VECTOR * sizeof(struct x86_idt_gate)) {
        guest_print("%s: df-%s no-mapping", df_prefix, name);
        return;
    }
    memcpy(pf_pml4, fw, sizeof(pf_pml4));
    memset(pf_pdpt, 0, sizeof(pf_pdpt));
    memset(pf_pd, 0, sizeof(pf_pd));
    memset(pf_pt, 0, sizeof(pf_pt));
    pf_pml4[slot] = (uint64_t)(uintptr_t)pf_pdpt | 3; /* present, writable */
    pf_pdpt[0] = (uint64_t)(uintptr_t)pf_pd | 3;
    pf_pd[0] = (uint64_t)(uintptr_t)pf_pt | 3;
    pf_pt[0] = (uint64_t)(uintptr_t)pf_idt | 3; /* pf_pt[1]: not present */
    uint64_t page = (uint64_t)slot << 39, gates = 4096 - PF_VECTOR * sizeof(struct x86_idt_gate);
    memset(pf_idt, 0, sizeof(pf_idt));
    memcpy(pf_idt + gates, (const void *)(uintptr_t)saved.base, PF_VECTOR * sizeof(struct x86_idt_gate));
    set_gate(pf_idt + gates, 8, tp_df_8);
    set_gate(pf_idt + gates, 11, tp_df_11);
    struct idt_ptr mine = { 0xfff, page + gates };
    uint64_t mine_cr3 = (uint64_t)(uintptr_t)pf_pml4 | (cr3 & 0xfff);
    memset((void *)&tp_df, 0, sizeof(tp_df));
    __asm__ volatile("pushfq; pop %0; cli" : "=r"(flags)::"memory");
    /* CR2 cleared: a #DF no #PF led to shows 0, not an earlier run's. */
    __asm__ volatile("mov %0, %%cr2; mov %1, %%cr3; lidt %2" ::"r"(0ull), "r"(mine_cr3), "m"(mine) : "memory");
    tp_df_run(kind, arg);
    __asm__ volatile("lidt %0; mov %1, %%cr3" ::"m"(saved), "r"(cr3) : "memory");
    __asm__ volatile("push %0; popfq" ::"r"(flags) : "memory", "cc");
    if (!tp_df.count)
        guest_print("%s: df-%s none", df_prefix, name);
    else if (tp_df.cr2 - (page + 4096) < 4096) /* on the missing page: which gate */
        guest_print("%s: df-%s vector %lu err 0x%lx at-insn %s count %lu cr2 gate-%lu", df_prefix, name, tp_df.vector,
                    tp_df.err,
                    tp_df.rip == (uint64_t)(uintptr_t)df_insn[kind] ? "yes" : "no", tp_df.count,
                    PF_VECTOR + (tp_df.cr2 - (page + 4096)) / sizeof(struct x86_idt_gate));
    else
        guest_print("%s: df-%s vector %lu err 0x%lx at-insn %s count %lu cr2 0x%lx", df_prefix, name, tp_df.vector,
                    tp_df.err,
                    tp_df.rip == (uint64_t)(uintptr_t)df_insn[kind] ? "yes" : "no", tp_df.count, tp_df.cr2);
}

static void check_double_fault(bool hv)
{
    static uint8_t page[4096] __attribute__((aligned(4096)));
    uint32_t r[4];
    x86_cpuid(0, 0, r);
    bool amd = r[1] == 0x68747541; /* "Auth" */
    unsigned virt = amd ? 2 : 1;
    x86_cpuid(1, 0, r);
    if (r[2] & (1u << 26)) { /* XSAVE: XSETBV runs with CR4.OSXSAVE set */
        uint64_t cr4 = read_cr4();
        write_cr4(cr4 | CR4_OSXSAVE);
        df_case("xsetbv-gp-np", 0, 13, false, page);
        df_case("xsetbv-gp-nullsel", 0, 13, true, page);
        df_pf_case("xsetbv-gp-pf", 0, page);
        write_cr4(cr4);
    } else {
        guest_print("tp: df-xsetbv no-xsave");
    }
    df_case("virt-ud-np", virt, 6, false, page);
    df_case("virt-ud-nullsel", virt, 6, true, page);
    df_case("ud2-ud-np", 3, 6, false, page);
    df_pf_case("noncanon-gp-pf", 4, (void *)0x8000000000000000ull);
    /* Under minihv only: a #GP the core injects on both backends (RDMSR of
     * IA32_BIOS_UPDT_TRIG, 0x79, denied; bare, the emulators read 0): QEMU
     * does not take SVM's XSETBV intercept, so the xsetbv cases compare
     * its own #GP there. What the SDM wants: as the xsetbv cases bare. */
    if (hv) {
        df_prefix = "tp-hv";
        df_case("deny-gp-np", 5, 13, false, (void *)0x79);
        df_case("deny-gp-nullsel", 5, 13, true, (void *)0x79);
        df_pf_case("deny-gp-pf", 5, (void *)0x79);
        df_prefix = "tp";
    }
}

/* ---- the next IP wraps at 0x10000 in 16-bit code ----
 * docs/security.md "SVM: the length of an intercepted instruction". In
 * long mode a code segment with L=0 D=0 runs 16-bit code (compatibility
 * mode, SDM Vol. 3A 5.2.1; IP is 16 bits: the IP after the last byte
 * wraps to 0, SDM Vol. 1 3.6). An intercepted instruction ends at offset
 * 0xffff: CPUID at 0xfffe, IN AL,DX at 0xffff (port 0x92, the A20 gate,
 * which the core intercepts). At offset 0 the code sets SI = 0x5a, at
 * 0x10000 (past the limit) SI = 0x99, then an o32 far return to 64-bit
 * code. Recorded: where it went on (wrapped, no-wrap, or a fault with its
 * vector and RIP) and the registers. QEMU wraps; Bochs does not (bare,
 * #GP at IP 0x10000): the check is the core against each emulator. The
 * segment's base is a buffer below 4 GB (the far return pops a 32-bit
 * EIP); SS a flat 32-bit data segment while it runs.
 * Offsets: struct tp_wrap. */
struct tp_wrap {
    uint64_t rsp, stack, sel16, seldata, ip, rax, rbx, rcx, rdx, out_rax, out_rbx, out_rcx, out_rdx, ss, cs,
        fault, fault_rip, fault_cs, out_rsi;
};
volatile struct tp_wrap tp_wrap;
void tp_wrap_run(void) __attribute__((visibility("hidden")));
void tp_wrap_gp(void) __attribute__((visibility("hidden")));
void tp_wrap_ud(void) __attribute__((visibility("hidden")));
extern const uint8_t tp_wrap_back[];

__asm__(".text\n"
        ".globl tp_wrap_gp\n.hidden tp_wrap_gp\n"
        "tp_wrap_gp:\n"
        "    movq $13, tp_wrap+120(%rip)\n"
        "    add $8, %rsp\n"               /* the error code */
        "    jmp 1f\n"
        ".globl tp_wrap_ud\n.hidden tp_wrap_ud\n"
        "tp_wrap_ud:\n"
        "    movq $6, tp_wrap+120(%rip)\n"
        "1:  mov 0(%rsp), %rax\n    mov %rax, tp_wrap+128(%rip)\n"
        "    mov 8(%rsp), %rax\n    mov %rax, tp_wrap+136(%rip)\n"
        "    jmp 3f\n"
        ".globl tp_wrap_run\n.hidden tp_wrap_run\n"
        "tp_wrap_run:\n"
        "    push %rbx\n"
        "    push %rbp\n"
        "    lea tp_wrap(%rip), %rbp\n"
        "    mov %rsp, 0(%rbp)\n"
        "    xor %eax, %eax\n"
        "    mov %ss, %ax\n    mov %rax, 104(%rbp)\n"
        "    mov %cs, %ax\n    mov %rax, 112(%rbp)\n"
        "    mov 24(%rbp), %rax\n    mov %ax, %ss\n"
        "    mov 8(%rbp), %rsp\n"
        "    lea tp_wrap_back(%rip), %rax\n"  /* below 4 GB (checked) */
        "    mov 112(%rbp), %rcx\n"
        "    shl $32, %rcx\n"
        "    or %rcx, %rax\n"
        "    push %rax\n"                  /* EIP, CS for the o32 far return */
        "    pushq 16(%rbp)\n"
        "    pushq 32(%rbp)\n"             /* CS:IP of the 16-bit code, for LRETQ */
        "    mov 40(%rbp), %rax\n"
        "    mov 48(%rbp), %rbx\n"
        "    mov 56(%rbp), %rcx\n"
        "    mov 64(%rbp), %rdx\n"
        "    xor %esi, %esi\n"
        "    lretq\n"
        ".globl tp_wrap_back\n.hidden tp_wrap_back\n"
        "tp_wrap_back:\n"
        "    mov %rax, tp_wrap+72(%rip)\n"
        "    mov %rbx, tp_wrap+80(%rip)\n"
        "    mov %rcx, tp_wrap+88(%rip)\n"
        "    mov %rdx, tp_wrap+96(%rip)\n"
        "    mov %rsi, tp_wrap+144(%rip)\n"
        "3:  mov tp_wrap+104(%rip), %rax\n"
        "    mov %ax, %ss\n"
        "    mov tp_wrap(%rip), %rsp\n"
        "    pop %rbp\n"
        "    pop %rbx\n"
        "    ret\n");

static uint8_t wrap_gdt[4096] __attribute__((aligned(16)));
static uint8_t wrap_idt[4096] __attribute__((aligned(16)));
#define WRAP_PAGES 18 /* 64 KiB of segment, the byte past it, a stack page */

static void wrap_case(const char *name, uint64_t base, const uint8_t *bytes, unsigned n, uint16_t ip,
                      uint32_t eax, uint32_t edx)
{
    struct idt_ptr saved;
    uint64_t flags;
    memcpy((void *)(uintptr_t)(base + ip), bytes, n);
    __asm__ volatile("pushfq; pop %0; cli" : "=r"(flags)::"memory");
    if (!idt_clone(wrap_idt, sizeof(wrap_idt), 14, &saved)) {
        __asm__ volatile("push %0; popfq" ::"r"(flags) : "memory", "cc");
        guest_print("tp: ipwrap-%s no-idt", name);
        return;
    }
    set_gate(wrap_idt, 6, tp_wrap_ud);
    set_gate(wrap_idt, 13, tp_wrap_gp);
    set_gate(wrap_idt, 12, tp_wrap_gp);
    set_gate(wrap_idt, 11, tp_wrap_gp);
    tp_wrap.ip = ip;
    tp_wrap.rax = eax;
    tp_wrap.rcx = 0;
    tp_wrap.rdx = edx;
    tp_wrap.rbx = 0;
    tp_wrap.fault = 0;
    tp_wrap.out_rsi = 0;
    tp_wrap.stack = base + WRAP_PAGES * 4096ull - 64;
    idt_load(wrap_idt, &saved);
    tp_wrap_run();
    __asm__ volatile("lidt %0" ::"m"(saved) : "memory");
    __asm__ volatile("push %0; popfq" ::"r"(flags) : "memory", "cc");
    if (tp_wrap.fault) {
        guest_print("tp: ipwrap-%s fault %lu rip 0x%lx", name, tp_wrap.fault, tp_wrap.fault_rip);
        return;
    }
    uint16_t si = (uint16_t)tp_wrap.out_rsi;
    guest_print("tp: ipwrap-%s %s regs %08x %08x %08x %08x", name,
                si == 0x5a ? "wrapped" : si == 0x99 ? "no-wrap" : "lost", (uint32_t)tp_wrap.out_rax,
                (uint32_t)tp_wrap.out_rbx, (uint32_t)tp_wrap.out_rcx, (uint32_t)tp_wrap.out_rdx);
}

static void check_ip_wrap(void)
{
    EFI_PHYSICAL_ADDRESS base = 0xffffffffull;
    if ((uint64_t)(uintptr_t)tp_wrap_back >> 32 ||
        EFI_ERROR(BS->AllocatePages(AllocateMaxAddress, EfiLoaderCode, WRAP_PAGES, &base))) {
        guest_print("tp: ipwrap no-low-memory");
        return;
    }
    struct idt_ptr gdt;
    __asm__ volatile("sgdt %0" : "=m"(gdt));
    unsigned idx = ((unsigned)gdt.limit + 1 + 7) / 8;
    if ((idx + 2) * 8 > sizeof(wrap_gdt)) {
        guest_print("tp: ipwrap gdt-too-big");
        BS->FreePages(base, WRAP_PAGES);
        return;
    }
    memset(wrap_gdt, 0, sizeof(wrap_gdt));
    memcpy(wrap_gdt, (const void *)(uintptr_t)gdt.base, (size_t)gdt.limit + 1);
    /* SDM Vol. 3A 3.4.5: code, 16-bit (L=0, D=0), base = the buffer,
     * limit 0xffff, byte granular; data, flat 4 GB, B=1. */
    uint64_t b = base;
    uint64_t code16 = 0xffffull | (b & 0xffffff) << 16 | 0x9bull << 40 | ((b >> 24) & 0xff) << 56;
    uint64_t data32 = 0x00cf93000000ffffull;
    memcpy(wrap_gdt + idx * 8, &code16, 8);
    memcpy(wrap_gdt + (idx + 1) * 8, &data32, 8);
    struct idt_ptr mine = { (uint16_t)((idx + 2) * 8 - 1), (uint64_t)(uintptr_t)wrap_gdt };
    tp_wrap.sel16 = idx * 8;
    tp_wrap.seldata = (idx + 1) * 8;
    uint8_t *seg = (uint8_t *)(uintptr_t)base;
    static const uint8_t at0[] = { 0xbe, 0x5a, 0x00, 0x66, 0xcb };      /* mov si, 0x5a; o32 retf */
    static const uint8_t at64k[] = { 0xbe, 0x99, 0x00, 0x66, 0xcb };    /* mov si, 0x99; o32 retf */
    static const uint8_t cpuid[] = { 0x0f, 0xa2 }, in[] = { 0xec };
    memset(seg, 0xcc, WRAP_PAGES * 4096ull);
    memcpy(seg, at0, sizeof(at0));
    memcpy(seg + 0x10000, at64k, sizeof(at64k));
    __asm__ volatile("lgdt %0" ::"m"(mine) : "memory");
    wrap_case("cpuid", base, cpuid, sizeof(cpuid), 0xfffe, 0, 0);
    wrap_case("in", base, in, sizeof(in), 0xffff, 0x12345678, 0x92);
    __asm__ volatile("lgdt %0" ::"m"(gdt) : "memory");
    BS->FreePages(base, WRAP_PAGES);
}

/* ---- the TSC-deadline timer (issue 15: "TSC deadline timer works") ----
 * SDM Vol. 3A 11.5.4.1: LVT timer mode 10b arms the timer by a write of
 * IA32_TSC_DEADLINE (0x6e0, passed through by the core); the interrupt
 * comes once the TSC reaches it (the SDM has the MSR read 0 then; Bochs
 * keeps the deadline). Recorded: whether it fired (once), not before the
 * deadline, and the MSR after. QEMU TCG has no TSC-deadline mode.
 * The firmware's LVT timer, divide and initial count are put back. */
volatile uint64_t tp_tdl_count, tp_tdl_tsc, tp_tdl_eoi;
void tp_tdl_entry(void) __attribute__((visibility("hidden")));
__asm__(".text\n"
        ".globl tp_tdl_entry\n.hidden tp_tdl_entry\n"
        "tp_tdl_entry:\n"
        "    push %rax\n"
        "    push %rdx\n"
        "    cmpq $0, tp_tdl_count(%rip)\n"
        "    jne 1f\n"
        "    rdtsc\n"
        "    shl $32, %rdx\n"
        "    or %rdx, %rax\n"
        "    mov %rax, tp_tdl_tsc(%rip)\n"
        "1:  incq tp_tdl_count(%rip)\n"
        "    mov tp_tdl_eoi(%rip), %rax\n"
        "    movl $0, (%rax)\n"            /* EOI */
        "    pop %rdx\n"
        "    pop %rax\n"
        "    iretq\n");

#define TP_TDL_VECTOR 0xf1
#define TP_TDL_DELTA 2000000ull

static void wrmsr64(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static void check_tsc_deadline(void)
{
    static uint8_t idt[4096] __attribute__((aligned(16)));
    uint32_t r[4];
    uint64_t base = 0, flags, after = 1;
    struct idt_ptr saved;
    x86_cpuid(1, 0, r);
    if (!(r[2] & (1u << 24))) {
        guest_print("tp: tsc-deadline not-supported");
        return;
    }
    if (!tp_rdmsr(0x1b, &base) || (base & (1ull << 10)) || !(base & (1ull << 11))) {
        guest_print("tp: tsc-deadline not-xapic");
        return;
    }
    nmi_apic = base & 0x000ffffffffff000ull;
    __asm__ volatile("pushfq; pop %0; cli" : "=r"(flags)::"memory");
    if (!idt_clone(idt, sizeof(idt), TP_TDL_VECTOR + 1, &saved)) {
        __asm__ volatile("push %0; popfq" ::"r"(flags) : "memory", "cc");
        guest_print("tp: tsc-deadline no-idt");
        return;
    }
    set_gate(idt, TP_TDL_VECTOR, tp_tdl_entry);
    idt_load(idt, &saved);
    uint32_t lvt = *apic_reg(0x320), divide = *apic_reg(0x3e0), initial = *apic_reg(0x380);
    tp_tdl_eoi = nmi_apic + 0xb0;
    tp_tdl_count = 0;
    tp_tdl_tsc = 0;
    *apic_reg(0x320) = (2u << 17) | TP_TDL_VECTOR; /* TSC-deadline mode, not masked */
    __asm__ volatile("mfence" ::: "memory");       /* the LVT write before the MSR's (11.5.4.1) */
    uint64_t deadline = rdtsc() + TP_TDL_DELTA;
    wrmsr64(0x6e0, deadline);
    __asm__ volatile("sti" ::: "memory");
    while (!tp_tdl_count && rdtsc() < deadline + 50 * TP_TDL_DELTA)
        __asm__ volatile("pause");
    for (unsigned i = 0; i < 1000; i++) /* a second interrupt would come now */
        __asm__ volatile("pause");
    __asm__ volatile("cli" ::: "memory");
    tp_rdmsr(0x6e0, &after);
    wrmsr64(0x6e0, 0);
    *apic_reg(0x320) = lvt | (1u << 16); /* masked while the rest goes back */
    *apic_reg(0x3e0) = divide;
    *apic_reg(0x320) = lvt;
    *apic_reg(0x380) = initial;
    __asm__ volatile("lidt %0" ::"m"(saved) : "memory");
    __asm__ volatile("push %0; popfq" ::"r"(flags) : "memory", "cc");
    guest_print("tp: tsc-deadline fired %lu not-early %s msr-after %s", tp_tdl_count,
                tp_tdl_count && tp_tdl_tsc >= deadline ? "yes" : "no", after ? "nonzero" : "zero");
}

/* ---- x2APIC LVT MSRs while the APIC is in xAPIC mode ----
 * SDM Vol. 3A 10.12.1.2: with IA32_APIC_BASE.EXTD clear, RDMSR and WRMSR
 * of the x2APIC MSRs raise #GP. The LVTs (CMCI 0x82f, timer to error
 * 0x832-0x837; the core intercepts their writes, MSR_CHECK_LVT): read;
 * write a masked SMI delivery mode (the core drops that in x2APIC mode);
 * write the register's xAPIC value back (nothing changes if it lands). */
static void check_x2apic_lvt_off(void)
{
    static const uint32_t lvts[] = { 0x82f, 0x832, 0x833, 0x834, 0x835, 0x836, 0x837 };
    uint64_t base = 0;
    if (!tp_rdmsr(0x1b, &base) || (base & (1ull << 10)) || !(base & (1ull << 11))) {
        guest_print("tp: x2apic-off not-xapic");
        return;
    }
    nmi_apic = base & 0x000ffffffffff000ull;
    for (unsigned i = 0; i < sizeof(lvts) / sizeof(lvts[0]); i++) {
        uint64_t v = 0;
        bool rd = tp_rdmsr(lvts[i], &v);
        bool smi = tp_wrmsr(lvts[i], 0x10200); /* masked, SMI (010) */
        bool same = tp_wrmsr(lvts[i], *apic_reg((lvts[i] - 0x800) << 4));
        guest_print("tp: x2apic-off-%x rd %s wr-smi %s wr-same %s", lvts[i], rd ? "ok" : "#GP", smi ? "ok" : "#GP",
                    same ? "ok" : "#GP");
    }
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
    InitializeLib(image, systab);
    bool hv = hv_present();
    guest_print("tp: start (%s)", hv ? "minihv" : "bare");
    check_cpuid();
    check_ospke();
    check_single_step();
    check_watch();
    check_fault_rf(hv);
    check_apic_ids();
    check_msrs();
    check_tsc(hv);
    check_nmi();
    check_double_fault(hv);
    check_ip_wrap();
    check_tsc_deadline();
    check_x2apic_lvt_off();
    guest_print("tp: done (%s)", hv ? "minihv" : "bare");
    return EFI_SUCCESS;
}
