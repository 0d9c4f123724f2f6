/* The transparency guest (issue 15): runs the same fixed list of checks
 * bare (from the shell) and as minihv's guest, and prints one line per
 * check with its VALUE ("tp: NAME VALUE"), never a verdict: the harness
 * (tests/emu/transparency.sh) diffs the two runs and masks the documented
 * differences. Checks: CPUID leaves 0..max and 0x80000000..max with
 * subleaves, once with CR4.OSXSAVE set and XCR0 = x87|SSE|AVX (where
 * there), once with CR4.OSXSAVE clear; leaf 1/0xb/0x1f APIC IDs on every
 * CPU (MP services); leaf 7.0 with CR4.PKE set and clear; single-step
 * over CPUID, RDMSR and IN (the #DB count, where, DR6.BS); RDMSR of
 * architectural MSRs (value or #GP); RDTSC monotonic. Under minihv only ("tp-hv:" lines, not diffed): the exits
 * the core took over 100000 RDTSCs. */
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

struct gate {
    uint16_t off_lo, sel;
    uint8_t ist, type;
    uint16_t off_mid;
    uint32_t off_hi, zero;
} __attribute__((packed));

static uint8_t idt_copy[4096] __attribute__((aligned(16)));

static bool tp_rdmsr(uint32_t msr, uint64_t *value)
{
    struct idt_ptr saved, mine;
    __asm__ volatile("sidt %0" : "=m"(saved));
    size_t bytes = (size_t)saved.limit + 1;
    if (bytes > sizeof(idt_copy) || bytes < 14 * sizeof(struct gate))
        return false;
    memcpy(idt_copy, (const void *)(uintptr_t)saved.base, bytes);
    struct gate *g = (struct gate *)idt_copy + 13;
    uint64_t off = (uint64_t)(uintptr_t)tp_gp_entry;
    g->off_lo = (uint16_t)off;
    g->off_mid = (uint16_t)(off >> 16);
    g->off_hi = (uint32_t)(off >> 32);
    mine.limit = saved.limit;
    mine.base = (uint64_t)(uintptr_t)idt_copy;
    uint32_t lo = 0, hi = 0;
    tp_gp_hit = 0;
    __asm__ volatile("cli; lidt %2; rdmsr; lidt %3; sti"
                     : "=&a"(lo), "=&d"(hi) : "m"(mine), "m"(saved), "c"(msr) : "memory");
    *value = (uint64_t)hi << 32 | lo;
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
extern const uint8_t tp_step_cpuid_after[], tp_step_rdmsr_after[], tp_step_in_after[];

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
        TP_STEP(tp_step_in, "    mov $0xcf9, %edx\n", "    inb %dx, %al")); /* a port the core registers */

static void step(const char *name, void (*fn)(void), const uint8_t *after)
{
    struct idt_ptr saved, mine;
    __asm__ volatile("sidt %0" : "=m"(saved));
    size_t bytes = (size_t)saved.limit + 1;
    if (bytes > sizeof(idt_copy) || bytes < 2 * sizeof(struct gate)) {
        guest_print("tp: step-%s no-idt", name);
        return;
    }
    memcpy(idt_copy, (const void *)(uintptr_t)saved.base, bytes);
    struct gate *g = (struct gate *)idt_copy + 1;
    uint64_t off = (uint64_t)(uintptr_t)tp_db_entry;
    g->off_lo = (uint16_t)off;
    g->off_mid = (uint16_t)(off >> 16);
    g->off_hi = (uint32_t)(off >> 32);
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
    uint64_t before = 0, after = 0;
    bool counted = hv && exits_now(apic_id, &before);
    uint64_t last = rdtsc(), backwards = 0;
    for (unsigned i = 0; i < TP_RDTSC_LOOPS; i++) {
        uint64_t t = rdtsc();
        backwards += t < last;
        last = t;
    }
    counted = counted && exits_now(apic_id, &after);
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
    if (bytes > sizeof(nmi_idt) || bytes < 3 * sizeof(struct gate))
        return false;
    memcpy(nmi_idt, (const void *)(uintptr_t)saved->base, bytes);
    struct gate *g = (struct gate *)nmi_idt + 2;
    uint64_t off = (uint64_t)(uintptr_t)tp_nmi_entry;
    uint16_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    g->off_lo = (uint16_t)off;
    g->off_mid = (uint16_t)(off >> 16);
    g->off_hi = (uint32_t)(off >> 32);
    g->sel = cs;
    g->ist = 0;
    g->type = 0x8e;
    g->zero = 0;
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
 * AP is ready. A lost NMI ends in the MP timeout: "count 0". */
struct nmi_remote {
    struct cpu_ids *ids;
    volatile uint32_t ready, sent, target;
};
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
        r->ready = 1;
        while (!tp_nmi.count)
            tp_nmi_halt_off();
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
    guest_print("tp: nmi-remote %s", nmi_remote_ran ? nmi_remote_line : "one-cpu");
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
    InitializeLib(image, systab);
    bool hv = hv_present();
    guest_print("tp: start (%s)", hv ? "minihv" : "bare");
    check_cpuid();
    check_ospke();
    check_single_step();
    check_apic_ids();
    check_msrs();
    check_tsc(hv);
    check_nmi();
    guest_print("tp: done (%s)", hv ? "minihv" : "bare");
    return EFI_SUCCESS;
}
