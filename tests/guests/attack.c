/* The attack guest (issue 14): an EFI application minihv starts as its
 * guest, which tries, as a hostile kernel would, each path into the core
 * that docs/security.md lists, and checks that each attempt is refused and
 * that the core is intact afterwards: the block's digest (HV_CHECKSUM) is
 * unchanged, every CPU answers a hypercall with its own APIC ID. The
 * harness (tests/emu/attack.sh) adds what only the core's log shows: no
 * FATAL, no parked CPU, the summary's refused counts.
 *
 * Load options (minihv's guest_args): only=name,name,... (default: every
 * attack but triple-fault), bdf=BB:DD.F (the passthrough device the PCI
 * attacks use), noreturn-ok (nothing). Attacks run in the fixed order of
 * the table below, whatever the order in only=.
 * Prints "attack: PASS name (detail)", "attack: FAIL name: why",
 * "attack: SKIP name: why", then "attack: PASS intact (...)" (or FAIL),
 * "attack: N passed, N failed" and "attack: done", and returns to minihv. */
#include <minihv/boot_info.h>
#include <minihv/format.h>
#include <minihv/io.h>
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "tests/guests/args.h"
#include "tests/guests/attack.h"
#include "tests/guests/guest_acpi.h"
#include "tests/guests/hvcall.h"
#include "tests/guests/print.h"

struct atk_env env;
static unsigned passed, failed;
static struct atk_digests baseline;
static bool have_baseline;

static void vline(const char *kind, const char *name, const char *fmt, va_list ap)
{
    char why[240];
    fmt_vsnprintf(why, sizeof(why), fmt, ap);
    if (!strcmp(kind, "PASS") || !strcmp(kind, "NOTE"))
        guest_print("attack: %s %s%s%s%s", kind, name, why[0] ? " (" : "", why, why[0] ? ")" : "");
    else
        guest_print("attack: %s %s: %s", kind, name, why);
}

void atk_pass(const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline("PASS", name, fmt, ap);
    va_end(ap);
    passed++;
}

void atk_fail(const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline("FAIL", name, fmt, ap);
    va_end(ap);
    failed++;
}

void atk_skip(const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline("SKIP", name, fmt, ap);
    va_end(ap);
}

void atk_note(const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline("NOTE", name, fmt, ap);
    va_end(ap);
}

/* ---- fault sites and the #DB/#UD/#GP/#PF handlers (SDM Vol. 3 6.14:
 * 64-bit frames; #GP and #PF push an error code, 6.15). A fault at a site
 * resumes at the site's resume label with R11 = the report; elsewhere it
 * goes on to the handler that was there. #DB (a single-step trap) records
 * RIP, counts, and clears RFLAGS.TF in the frame. ---- */

__attribute__((visibility("hidden"))) uint64_t atk_orig_db, atk_orig_ud, atk_orig_gp, atk_orig_pf;
volatile uint64_t atk_db_rip, atk_db_count;
volatile uint64_t atk_fetch_armed, atk_fetch_rip;
void atk_db_entry(void) __attribute__((visibility("hidden")));
void atk_ud_entry(void) __attribute__((visibility("hidden")));
void atk_gp_entry(void) __attribute__((visibility("hidden")));
void atk_pf_entry(void) __attribute__((visibility("hidden")));

__asm__(
    ".text\n"
    "atk_find_resume:\n"
    /* A fetch armed by atk_fetch: the fault (at the target, or wherever
     * it came) resumes there, its RIP recorded (mmio-fetch). */
    "    cmpq $0, atk_fetch_armed(%rip)\n"
    "    je 0f\n"
    "    mov %rax, atk_fetch_rip(%rip)\n"
    "    movq $0, atk_fetch_armed(%rip)\n"
    "    lea atk_fetch_resume(%rip), %rax\n"
    "    ret\n"
    "0:  push %rcx\n"
    "    push %rdx\n"
    "    push %rsi\n"
    "    lea atk_sites(%rip), %rsi\n"
    "    mov %rsi, %rcx\n"
    "1:  movslq (%rcx), %rdx\n"
    "    test %rdx, %rdx\n"
    "    jz 3f\n"
    "    add %rsi, %rdx\n"
    "    cmp %rdx, %rax\n"
    "    je 2f\n"
    "    add $8, %rcx\n"
    "    jmp 1b\n"
    "2:  movslq 4(%rcx), %rax\n"
    "    add %rsi, %rax\n"
    "    jmp 4f\n"
    "3:  xor %eax, %eax\n"
    "4:  pop %rsi\n"
    "    pop %rdx\n"
    "    pop %rcx\n"
    "    ret\n"

    ".globl atk_db_entry\n"
    ".hidden atk_db_entry\n"
    "atk_db_entry:\n"
    "    push %rax\n"
    "    mov 8(%rsp), %rax\n"
    "    mov %rax, atk_db_rip(%rip)\n"
    "    lock incq atk_db_count(%rip)\n"
    "    andq $~0x100, 24(%rsp)\n"
    "    pop %rax\n"
    "    iretq\n"

    ".globl atk_ud_entry\n"
    ".hidden atk_ud_entry\n"
    "atk_ud_entry:\n"
    "    push %rax\n"
    "    mov 8(%rsp), %rax\n"
    "    call atk_find_resume\n"
    "    test %rax, %rax\n"
    "    jz 1f\n"
    "    mov %rax, 8(%rsp)\n"
    "    pop %rax\n"
    "    movabs $0x8000000000000006, %r11\n"
    "    iretq\n"
    "1:  pop %rax\n"
    "    jmp *atk_orig_ud(%rip)\n"

    ".macro ATK_ERRCODE_ENTRY name, vector, orig\n"
    ".globl \\name\n"
    ".hidden \\name\n"
    "\\name:\n"
    "    push %rax\n"
    "    mov 16(%rsp), %rax\n"
    "    call atk_find_resume\n"
    "    test %rax, %rax\n"
    "    jz 1f\n"
    "    mov %rax, 16(%rsp)\n"
    "    mov 8(%rsp), %r11d\n"
    "    shl $8, %r11\n"
    "    or $\\vector, %r11\n"
    "    bts $63, %r11\n"
    "    pop %rax\n"
    "    add $8, %rsp\n"
    "    iretq\n"
    "1:  pop %rax\n"
    "    jmp *\\orig(%rip)\n"
    ".endm\n"
    "ATK_ERRCODE_ENTRY atk_gp_entry, 13, atk_orig_gp\n"
    "ATK_ERRCODE_ENTRY atk_pf_entry, 14, atk_orig_pf\n"

    /* rdmsr: ecx = msr (edi), value to (rsi). */
    ".globl atk_rdmsr\n"
    ".hidden atk_rdmsr\n"
    "atk_rdmsr:\n"
    "    mov %edi, %ecx\n"
    "    xor %eax, %eax\n"
    "    xor %edx, %edx\n"
    "    xor %r11d, %r11d\n"
    "atk_rdmsr_site:\n"
    "    rdmsr\n"
    "atk_rdmsr_resume:\n"
    "    shl $32, %rdx\n"
    "    or %rdx, %rax\n"
    "    mov %rax, (%rsi)\n"
    "    mov %r11, %rax\n"
    "    ret\n"

    ".globl atk_wrmsr\n"
    ".hidden atk_wrmsr\n"
    "atk_wrmsr:\n"
    "    mov %edi, %ecx\n"
    "    mov %rsi, %rax\n"
    "    mov %rsi, %rdx\n"
    "    shr $32, %rdx\n"
    "    xor %r11d, %r11d\n"
    "atk_wrmsr_site:\n"
    "    wrmsr\n"
    "atk_wrmsr_resume:\n"
    "    mov %r11, %rax\n"
    "    ret\n"

    ".globl atk_xsetbv\n"
    ".hidden atk_xsetbv\n"
    "atk_xsetbv:\n"
    "    mov %edi, %ecx\n"
    "    mov %rsi, %rax\n"
    "    mov %rsi, %rdx\n"
    "    shr $32, %rdx\n"
    "    xor %r11d, %r11d\n"
    "atk_xsetbv_site:\n"
    "    xsetbv\n"
    "atk_xsetbv_resume:\n"
    "    mov %r11, %rax\n"
    "    ret\n"

    ".globl atk_movcr0\n"
    ".hidden atk_movcr0\n"
    "atk_movcr0:\n"
    "    xor %r11d, %r11d\n"
    "atk_movcr0_site:\n"
    "    mov %rdi, %cr0\n"
    "atk_movcr0_resume:\n"
    "    mov %r11, %rax\n"
    "    ret\n"

    ".globl atk_read32\n"
    ".hidden atk_read32\n"
    "atk_read32:\n"
    "    xor %r11d, %r11d\n"
    "    mov $0xffffffff, %eax\n"
    "atk_read32_site:\n"
    "    mov (%rdi), %eax\n"
    "atk_read32_resume:\n"
    "    mov %eax, (%rsi)\n"
    "    mov %r11, %rax\n"
    "    ret\n"

    ".globl atk_write32\n"
    ".hidden atk_write32\n"
    "atk_write32:\n"
    "    xor %r11d, %r11d\n"
    "atk_write32_site:\n"
    "    mov %esi, (%rdi)\n"
    "atk_write32_resume:\n"
    "    mov %r11, %rax\n"
    "    ret\n"

    ".globl atk_read64\n"
    ".hidden atk_read64\n"
    "atk_read64:\n"
    "    xor %r11d, %r11d\n"
    "    mov $-1, %rax\n"
    "atk_read64_site:\n"
    "    mov (%rdi), %rax\n"
    "atk_read64_resume:\n"
    "    mov %rax, (%rsi)\n"
    "    mov %r11, %rax\n"
    "    ret\n"

    ".globl atk_write64\n"
    ".hidden atk_write64\n"
    "atk_write64:\n"
    "    xor %r11d, %r11d\n"
    "atk_write64_site:\n"
    "    mov %rsi, (%rdi)\n"
    "atk_write64_resume:\n"
    "    mov %r11, %rax\n"
    "    ret\n"

    /* rep stosd, ecx = 2, eax = esi, to (rdi) (apic-insn). */
    ".globl atk_rep_stosd\n"
    ".hidden atk_rep_stosd\n"
    "atk_rep_stosd:\n"
    "    xor %r11d, %r11d\n"
    "    mov %esi, %eax\n"
    "    mov $2, %ecx\n"
    "    cld\n"
    "atk_rep_stosd_site:\n"
    "    rep stosl\n"
    "atk_rep_stosd_resume:\n"
    "    mov %r11, %rax\n"
    "    ret\n"

    /* movnti %esi, (%rdi) (apic-insn). */
    ".globl atk_movnti32\n"
    ".hidden atk_movnti32\n"
    "atk_movnti32:\n"
    "    xor %r11d, %r11d\n"
    "atk_movnti32_site:\n"
    "    movnti %esi, (%rdi)\n"
    "atk_movnti32_resume:\n"
    "    mov %r11, %rax\n"
    "    ret\n"

    /* mmio-insn: movsb, rep movsd (ecx 2) from (rsi) to (rdi); movdqu of
     * 16 bytes from (rsi) to (rdi) (an SSE store). */
    ".globl atk_movsb\n"
    ".hidden atk_movsb\n"
    "atk_movsb:\n"
    "    xor %r11d, %r11d\n"
    "    cld\n"
    "atk_movsb_site:\n"
    "    movsb\n"
    "atk_movsb_resume:\n"
    "    mov %r11, %rax\n"
    "    ret\n"

    ".globl atk_rep_movsd\n"
    ".hidden atk_rep_movsd\n"
    "atk_rep_movsd:\n"
    "    xor %r11d, %r11d\n"
    "    mov $2, %ecx\n"
    "    cld\n"
    "atk_rep_movsd_site:\n"
    "    rep movsl\n"
    "atk_rep_movsd_resume:\n"
    "    mov %r11, %rax\n"
    "    ret\n"

    ".globl atk_movdqu\n"
    ".hidden atk_movdqu\n"
    "atk_movdqu:\n"
    "    xor %r11d, %r11d\n"
    "    movdqu (%rsi), %xmm0\n"
    "atk_movdqu_site:\n"
    "    movdqu %xmm0, (%rdi)\n"
    "atk_movdqu_resume:\n"
    "    mov %r11, %rax\n"
    "    ret\n"

    /* mmio-fetch: a call to rdi with interrupts as the caller left them;
     * any #UD/#GP/#PF while armed resumes at atk_fetch_resume (R11 the
     * report, RSP back from RBX), the faulting RIP to (rsi). */
    ".globl atk_fetch\n"
    ".hidden atk_fetch\n"
    "atk_fetch:\n"
    "    push %rbx\n"
    "    push %rsi\n"
    "    mov %rsp, %rbx\n"
    "    xor %r11d, %r11d\n"
    "    movq $0, atk_fetch_rip(%rip)\n"
    "    movq $1, atk_fetch_armed(%rip)\n"
    "    call *%rdi\n"
    "atk_fetch_resume:\n"
    "    mov %rbx, %rsp\n"
    "    movq $0, atk_fetch_armed(%rip)\n"
    "    pop %rsi\n"
    "    mov atk_fetch_rip(%rip), %rax\n"
    "    mov %rax, (%rsi)\n"
    "    pop %rbx\n"
    "    mov %r11, %rax\n"
    "    ret\n"

    /* SDM Vol. 3 6.8.3: a MOV SS delays the single-step trap past the next
     * instruction; on hardware the #DB comes right after the CPUID. */
    ".globl atk_movss_cpuid\n"
    ".hidden atk_movss_cpuid\n"
    "atk_movss_cpuid:\n"
    "    push %rbx\n"
    "    xor %eax, %eax\n"
    "    xor %ecx, %ecx\n"
    "    mov %ss, %r8\n"
    "    pushfq\n"
    "    orq $0x100, (%rsp)\n"
    "    popfq\n"
    "    mov %r8, %ss\n"
    "    cpuid\n"
    "atk_movss_after:\n"
    "    nop\n"
    "    nop\n"
    "    pushfq\n"
    "    andq $~0x100, (%rsp)\n"
    "    popfq\n"
    "    lea atk_movss_after(%rip), %rax\n"
    "    pop %rbx\n"
    "    ret\n"

    ".balign 8\n"
    "atk_sites:\n"
    "    .long atk_rdmsr_site - atk_sites, atk_rdmsr_resume - atk_sites\n"
    "    .long atk_wrmsr_site - atk_sites, atk_wrmsr_resume - atk_sites\n"
    "    .long atk_xsetbv_site - atk_sites, atk_xsetbv_resume - atk_sites\n"
    "    .long atk_movcr0_site - atk_sites, atk_movcr0_resume - atk_sites\n"
    "    .long atk_read32_site - atk_sites, atk_read32_resume - atk_sites\n"
    "    .long atk_write32_site - atk_sites, atk_write32_resume - atk_sites\n"
    "    .long atk_read64_site - atk_sites, atk_read64_resume - atk_sites\n"
    "    .long atk_write64_site - atk_sites, atk_write64_resume - atk_sites\n"
    "    .long atk_rep_stosd_site - atk_sites, atk_rep_stosd_resume - atk_sites\n"
    "    .long atk_movnti32_site - atk_sites, atk_movnti32_resume - atk_sites\n"
    "    .long atk_movsb_site - atk_sites, atk_movsb_resume - atk_sites\n"
    "    .long atk_rep_movsd_site - atk_sites, atk_rep_movsd_resume - atk_sites\n"
    "    .long atk_movdqu_site - atk_sites, atk_movdqu_resume - atk_sites\n"
    "    .long 0, 0\n");

static struct idt_ptr atk_saved_idt;
static struct guard bsp_guard;
static uint8_t *atk_idt_page;

int atk_idt_install(void)
{
    struct idt_ptr cur, mine;
    __asm__ volatile("sidt %0" : "=m"(cur));
    size_t bytes = (size_t)cur.limit + 1;
    if (!atk_idt_page || !cur.base || bytes < 15 * sizeof(struct x86_idt_gate) || bytes > 4096)
        return -1;
    memcpy(atk_idt_page, (const void *)(uintptr_t)cur.base, bytes);
    struct x86_idt_gate *g = (struct x86_idt_gate *)atk_idt_page;
    atk_orig_db = x86_idt_gate_offset(&g[1]);
    atk_orig_ud = x86_idt_gate_offset(&g[VEC_UD]);
    atk_orig_gp = x86_idt_gate_offset(&g[VEC_GP]);
    atk_orig_pf = x86_idt_gate_offset(&g[VEC_PF]);
    x86_idt_gate_set_offset(&g[1], (uint64_t)(uintptr_t)atk_db_entry);
    x86_idt_gate_set_offset(&g[VEC_UD], (uint64_t)(uintptr_t)atk_ud_entry);
    x86_idt_gate_set_offset(&g[VEC_GP], (uint64_t)(uintptr_t)atk_gp_entry);
    x86_idt_gate_set_offset(&g[VEC_PF], (uint64_t)(uintptr_t)atk_pf_entry);
    atk_saved_idt = cur;
    mine.limit = cur.limit;
    mine.base = (uint64_t)(uintptr_t)atk_idt_page;
    __asm__ volatile("lidt %0" ::"m"(mine) : "memory");
    return 0;
}

void atk_idt_remove(void)
{
    __asm__ volatile("lidt %0" ::"m"(atk_saved_idt) : "memory");
}

/* ---- CPU, hypercalls, MP services ---- */

uint32_t atk_apic_id(void)
{
    uint32_t r[4];
    x86_cpuid(0, 0, r);
    if (r[0] >= 0xb) {
        x86_cpuid(0xb, 0, r);
        if (r[1] & 0xffff)
            return r[3];
    }
    x86_cpuid(1, 0, r);
    return r[1] >> 24;
}

bool atk_ping_self(uint32_t *apic_id, char *why, size_t why_size)
{
    struct hc_regs r = { MINIHV_HC_PING, 0, 0, 0 };
    char f[24];
    uint64_t fault = env.intel ? guard_vmcall(&r) : guard_vmmcall(&r);
    if (fault) {
        fmt_snprintf(why, why_size, "%s raised %s", env.intel ? "VMCALL" : "VMMCALL", guard_describe(fault, f, sizeof(f)));
        return false;
    }
    if (r.rax != MINIHV_HC_OK || r.rbx != MINIHV_HC_PONG) {
        fmt_snprintf(why, why_size, "PING returned RAX 0x%lx RBX 0x%lx", r.rax, r.rbx);
        return false;
    }
    *apic_id = (uint32_t)r.rdx;
    return true;
}

/* This CPU's GET_STATS into *st; false when not available. */
static bool stats_self(struct minihv_stats *st)
{
    uint32_t id = atk_apic_id();
    for (uint32_t i = 0; i < MINIHV_MAX_CPUS; i++) {
        struct hc_regs r = { MINIHV_HC_GET_STATS, i, (uint64_t)(uintptr_t)st, sizeof(*st) };
        if (hv_call(&r) || r.rax != MINIHV_HC_OK)
            return false;
        if (st->apic_id == id)
            return true;
    }
    return false;
}

uint64_t atk_exits_self(void)
{
    static struct minihv_stats st;
    return stats_self(&st) ? st.total_exits : ~0ull;
}

uint64_t atk_exits_self_of(unsigned kind)
{
    static struct minihv_stats st;
    return kind < MINIHV_EXIT_KINDS && stats_self(&st) ? st.exits[kind] : ~0ull;
}

bool atk_block_digest(uint64_t off, uint64_t len, uint64_t *digest)
{
    struct hc_regs r = { MINIHV_HC_HV_CHECKSUM, off, len, 0 };
    if (hv_call(&r) || r.rax != MINIHV_HC_OK)
        return false;
    *digest = r.rbx;
    return true;
}

/* boot info, then the image: its first 16 pages are code (.text is
 * ~100 KiB) and never change. */
#define ATK_HEAD_IMAGE_PAGES 16
#define ATK_TAIL_BYTES 0x100000ull

bool atk_digests(struct atk_digests *d)
{
    uint64_t head = ALIGN_UP((uint64_t)sizeof(struct minihv_boot_info), PAGE_SIZE) + ATK_HEAD_IMAGE_PAGES * PAGE_SIZE;
    return atk_block_digest(0, head, &d->head) &&
           atk_block_digest(env.fp.block_size - ATK_TAIL_BYTES, ATK_TAIL_BYTES, &d->tail);
}

struct ping_job {
    struct guard g;
    uint8_t *page;
    bool intel;
    volatile bool done;
    uint64_t fault, rax, rbx, rdx;
    uint32_t own_id;
};

static VOID EFIAPI ping_ap(VOID *arg)
{
    struct ping_job *j = arg;
    j->own_id = atk_apic_id();
    if (guard_install(&j->g, j->page, 4096)) {
        j->fault = 1;
        j->done = true;
        return;
    }
    struct hc_regs r = { MINIHV_HC_PING, 0, 0, 0 };
    j->fault = j->intel ? guard_vmcall(&r) : guard_vmmcall(&r);
    j->rax = r.rax;
    j->rbx = r.rbx;
    j->rdx = r.rdx;
    guard_remove(&j->g);
    j->done = true;
}

EFI_STATUS atk_on_cpu(UINTN n, void (*fn)(void *), void *arg, unsigned timeout_ms)
{
    if (n == env.self) {
        fn(arg);
        return EFI_SUCCESS;
    }
    if (!env.mp)
        return EFI_UNSUPPORTED;
    EFI_EVENT done;
    EFI_STATUS st = BS->CreateEvent(0, 0, NULL, NULL, &done);
    if (EFI_ERROR(st))
        return st;
    st = env.mp->StartupThisAP(env.mp, (mp_procedure)fn, n, done, 0, arg, NULL);
    if (EFI_ERROR(st)) {
        BS->CloseEvent(done);
        return st;
    }
    for (unsigned ms = 0; ms < timeout_ms; ms++) {
        if (BS->CheckEvent(done) == EFI_SUCCESS) {
            BS->CloseEvent(done);
            return EFI_SUCCESS;
        }
        BS->Stall(1000);
    }
    return EFI_TIMEOUT; /* the event stays with MP services */
}

bool atk_all_cpus_answer(char *why, size_t why_size)
{
    static struct ping_job jobs[ATK_MAX_CPUS];
    unsigned ok = 0;
    why[0] = 0;
    for (UINTN n = 0; n < env.cpus; n++) {
        if (!env.cpu_ok[n])
            continue;
        if (n == env.self) {
            uint32_t id = 0;
            char w[80] = "";
            if (!atk_ping_self(&id, w, sizeof(w)) || id != env.apic_id[n]) {
                if (!why[0])
                    fmt_snprintf(why, why_size, "cpu%lu (BSP): %s", n, w[0] ? w : "PING gave another APIC ID");
                continue;
            }
            ok++;
            continue;
        }
        struct ping_job *j = &jobs[n];
        memset(j, 0, sizeof(*j));
        j->page = env.cpu_page[n];
        j->intel = env.intel;
        EFI_STATUS st = atk_on_cpu(n, (void (*)(void *))ping_ap, j, 30000);
        if (EFI_ERROR(st) || !j->done) {
            if (!why[0])
                fmt_snprintf(why, why_size, "cpu%lu (APIC ID %u) did not run the ping (status 0x%lx)%s", n,
                             env.apic_id[n], (uint64_t)st, st == EFI_TIMEOUT ? ": no answer in 30 s" : "");
            env.cpu_ok[n] = st != EFI_TIMEOUT && st != EFI_NOT_READY;
            continue;
        }
        if (j->fault || j->rax != MINIHV_HC_OK || j->rbx != MINIHV_HC_PONG || j->rdx != j->own_id) {
            char f[24];
            if (!why[0])
                fmt_snprintf(why, why_size, "cpu%lu (APIC ID %u): %s RAX 0x%lx RBX 0x%lx RDX %lu", n, j->own_id,
                             j->fault ? guard_describe(j->fault, f, sizeof(f)) : "PING", j->rax, j->rbx, j->rdx);
            continue;
        }
        ok++;
    }
    if (!why[0]) {
        fmt_snprintf(why, why_size, "%u CPU(s) answer PING with their APIC IDs", ok);
        return true;
    }
    return false;
}

static bool core_intact(char *why, size_t why_size, bool all_cpus);

bool atk_core_intact(char *why, size_t why_size)
{
    return core_intact(why, why_size, true);
}

bool atk_core_intact_self(char *why, size_t why_size)
{
    return core_intact(why, why_size, false);
}

static bool core_intact(char *why, size_t why_size, bool all_cpus)
{
    struct atk_digests now;
    if (!have_baseline) {
        fmt_snprintf(why, why_size, "no start-up digest");
        return false;
    }
    if (!atk_digests(&now)) {
        fmt_snprintf(why, why_size, "HV_CHECKSUM failed");
        return false;
    }
    if (now.head != baseline.head || now.tail != baseline.tail) {
        fmt_snprintf(why, why_size, "the block changed: boot info + code 0x%016lx -> 0x%016lx, last MiB 0x%016lx -> 0x%016lx",
                     baseline.head, now.head, baseline.tail, now.tail);
        return false;
    }
    char w[160];
    uint32_t id = 0;
    if (!all_cpus) {
        if (!atk_ping_self(&id, w, sizeof(w))) {
            fmt_snprintf(why, why_size, "BSP: %s", w);
            return false;
        }
        fmt_snprintf(why, why_size, "block digests unchanged, the BSP answers PING (APIC ID %u)", id);
        return true;
    }
    if (!atk_all_cpus_answer(w, sizeof(w))) {
        fmt_snprintf(why, why_size, "%s", w);
        return false;
    }
    fmt_snprintf(why, why_size, "block digests unchanged (0x%016lx, 0x%016lx), %s", now.head, now.tail, w);
    return true;
}

/* ---- ACPI, PCI ---- */

uint64_t atk_acpi_table(const char *sig)
{
    return guest_acpi_table(sig);
}

uint64_t atk_irq_save(void)
{
    uint64_t f;
    __asm__ volatile("pushfq; popq %0; cli" : "=r"(f)::"memory");
    return f;
}

void atk_irq_restore(uint64_t f)
{
    if (f & (1u << 9))
        __asm__ volatile("sti" ::: "memory");
}

static uint32_t cf8(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
    return 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (off & 0xfc);
}

uint32_t atk_cfg_read32(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
    uint64_t f = atk_irq_save();
    outl(0xcf8, cf8(bus, dev, fn, off));
    uint32_t v = inl(0xcfc);
    atk_irq_restore(f);
    return v;
}

void atk_cfg_write32(unsigned bus, unsigned dev, unsigned fn, unsigned off, uint32_t v)
{
    uint64_t f = atk_irq_save();
    outl(0xcf8, cf8(bus, dev, fn, off));
    outl(0xcfc, v);
    atk_irq_restore(f);
}

static void cr0_write(uint64_t v)
{
    __asm__ volatile("mov %0, %%cr0" ::"r"(v) : "memory");
}

static uint64_t *pt_entry(uint64_t table, unsigned index)
{
    return (uint64_t *)(uintptr_t)((table & 0x000ffffffffff000ull) + index * 8);
}

bool atk_high_map(uint64_t va, struct atk_high_map *m, char *why, size_t why_size)
{
    *m = (struct atk_high_map){ NULL, 0, false };
    if (read_cr4() & CR4_LA57) {
        fmt_snprintf(why, why_size, "5-level paging");
        return false;
    }
    uint64_t *pml4e = pt_entry(read_cr3(), (unsigned)((va >> 39) & 511));
    if (!(*pml4e & PTE_P)) {
        fmt_snprintf(why, why_size, "PML4 entry for 0x%lx not present", va);
        return false;
    }
    m->pdpte = pt_entry(*pml4e, (unsigned)((va >> 30) & 511));
    m->saved = *m->pdpte;
    if (m->saved & PTE_P)
        return true;
    uint32_t r[4];
    x86_cpuid(0x80000001u, 0, r);
    if (!(r[3] & (1u << 26))) {
        fmt_snprintf(why, why_size, "0x%lx unmapped in the guest's page tables and no 1 GiB pages", va);
        return false;
    }
    uint64_t cr0 = read_cr0(), f = atk_irq_save();
    cr0_write(cr0 & ~(1ull << 16)); /* CR0.WP: OVMF may map its tables read-only */
    *m->pdpte = (va & ~(SIZE_1G - 1)) | PTE_PS | PTE_RW | PTE_P | PTE_PCD | PTE_PWT;
    cr0_write(cr0);
    __asm__ volatile("invlpg (%0)" ::"r"(va) : "memory");
    atk_irq_restore(f);
    m->added = true;
    return true;
}

void atk_high_unmap(uint64_t va, struct atk_high_map *m)
{
    if (!m->added)
        return;
    uint64_t cr0 = read_cr0(), f = atk_irq_save();
    cr0_write(cr0 & ~(1ull << 16));
    *m->pdpte = m->saved;
    cr0_write(cr0);
    __asm__ volatile("invlpg (%0)" ::"r"(va) : "memory");
    atk_irq_restore(f);
    m->added = false;
}

static void find_ecam(void)
{
    uint64_t t = atk_acpi_table("MCFG");
    if (!t)
        return;
    uint32_t len;
    memcpy(&len, (const void *)(uintptr_t)(t + 4), 4);
    for (uint64_t e = t + 44; e + 16 <= t + len; e += 16) {
        const uint8_t *m = (const void *)(uintptr_t)e;
        uint16_t seg;
        memcpy(&seg, m + 8, 2);
        if (seg == 0 && m[10] == 0) {
            memcpy(&env.ecam, m, 8);
            return;
        }
    }
}

static void find_ram_top(void)
{
    UINTN entries, key, desc_size;
    UINT32 ver;
    EFI_MEMORY_DESCRIPTOR *map = LibMemoryMap(&entries, &key, &desc_size, &ver);
    if (!map)
        return;
    for (UINTN i = 0; i < entries; i++) {
        EFI_MEMORY_DESCRIPTOR *d = (EFI_MEMORY_DESCRIPTOR *)((uint8_t *)map + i * desc_size);
        uint64_t end = d->PhysicalStart + d->NumberOfPages * PAGE_SIZE;
        bool ram = d->Type != EfiMemoryMappedIO && d->Type != EfiMemoryMappedIOPortSpace && d->Type != EfiReservedMemoryType;
        if (ram && end <= 0x100000000ull && end > env.ram_top)
            env.ram_top = end;
    }
    FreePool(map);
}

/* ---- edu (QEMU docs/specs/edu.txt; see tests/iommu/dmaprobe.c) ---- */

#define EDU_VENDOR_DEVICE 0x11e81234u
#define EDU_DMA_SRC       0x80
#define EDU_DMA_DST       0x88
#define EDU_DMA_COUNT     0x90
#define EDU_DMA_CMD       0x98
#define EDU_CMD_RUN       1u
#define EDU_CMD_TO_RAM    2u
#define EDU_BUFFER        0x40000u
#define EDU_DMA_BYTES     2048u

static volatile uint8_t *edu_bar;

static void find_edu(void)
{
    UINTN count = 0;
    EFI_HANDLE *handles = NULL;
    if (EFI_ERROR(BS->LocateHandleBuffer(ByProtocol, &PciIoProtocol, NULL, &count, &handles)))
        return;
    for (UINTN i = 0; i < count && !edu_bar; i++) {
        EFI_PCI_IO_PROTOCOL *io = NULL;
        UINT32 id = 0, bar0 = 0, bar1 = 0;
        if (EFI_ERROR(BS->HandleProtocol(handles[i], &PciIoProtocol, (void **)&io)) ||
            EFI_ERROR(io->Pci.Read(io, EfiPciIoWidthUint32, 0, 1, &id)) || id != EDU_VENDOR_DEVICE)
            continue;
        if (EFI_ERROR(io->Attributes(io, EfiPciIoAttributeOperationEnable,
                                     EFI_PCI_IO_ATTRIBUTE_MEMORY | EFI_PCI_IO_ATTRIBUTE_BUS_MASTER, NULL)))
            continue;
        io->Pci.Read(io, EfiPciIoWidthUint32, 0x10, 1, &bar0);
        if ((bar0 & 6) == 4)
            io->Pci.Read(io, EfiPciIoWidthUint32, 0x14, 1, &bar1);
        edu_bar = (volatile uint8_t *)(uintptr_t)((uint64_t)bar1 << 32 | (bar0 & ~0xfu));
    }
    FreePool(handles);
    env.edu = edu_bar != NULL;
}

static bool edu_dma(uint64_t src, uint64_t dst, uint32_t bytes, uint32_t cmd)
{
    *(volatile uint64_t *)(edu_bar + EDU_DMA_SRC) = src;
    *(volatile uint64_t *)(edu_bar + EDU_DMA_DST) = dst;
    *(volatile uint64_t *)(edu_bar + EDU_DMA_COUNT) = bytes;
    *(volatile uint32_t *)(edu_bar + EDU_DMA_CMD) = cmd | EDU_CMD_RUN;
    for (unsigned i = 0; i < 5000; i++) {
        if (!(*(volatile uint32_t *)(edu_bar + EDU_DMA_CMD) & EDU_CMD_RUN))
            return true;
        BS->Stall(1000);
    }
    return false;
}

/* The device's buffer first gets a pattern (a DMA from guest RAM: the
 * block's unused heap is zeros, a DMA of zeros would not show), then it is
 * written to dst. */
bool atk_edu_dma_to(uint64_t dst, uint32_t bytes)
{
    static uint8_t *pattern;
    if (!edu_bar)
        return false;
    if (!pattern) {
        EFI_PHYSICAL_ADDRESS pa = 0xffffffff;
        if (EFI_ERROR(BS->AllocatePages(AllocateMaxAddress, EfiBootServicesData, 1, &pa)))
            return false;
        pattern = (uint8_t *)(uintptr_t)pa;
        for (unsigned i = 0; i < 4096; i++)
            pattern[i] = (uint8_t)(0xa5 ^ i ^ (i >> 8));
    }
    if (!edu_dma((uint64_t)(uintptr_t)pattern, EDU_BUFFER, bytes, 0))
        return false;
    return edu_dma(EDU_BUFFER, dst, bytes, EDU_CMD_TO_RAM);
}

bool atk_edu_dma_from(uint64_t dst, uint64_t src, uint32_t bytes)
{
    return edu_bar && edu_dma(src, EDU_BUFFER, bytes, 0) && edu_dma(EDU_BUFFER, dst, bytes, EDU_CMD_TO_RAM);
}

bool atk_edu_dma_into_block(char *why, size_t why_size)
{
    uint64_t target = env.fp.block_base + env.fp.block_size - 0x10000;
    uint64_t before = 0, after = 0;
    uint64_t off = env.fp.block_size - ATK_TAIL_BYTES;
    if (!atk_block_digest(off, ATK_TAIL_BYTES, &before)) {
        fmt_snprintf(why, why_size, "HV_CHECKSUM failed");
        return false;
    }
    bool ran = atk_edu_dma_to(target, EDU_DMA_BYTES);
    if (!atk_block_digest(off, ATK_TAIL_BYTES, &after)) {
        fmt_snprintf(why, why_size, "HV_CHECKSUM failed after the DMA");
        return false;
    }
    fmt_snprintf(why, why_size, "edu DMA of %u bytes to 0x%lx %s; digest of the block's last MiB 0x%016lx -> 0x%016lx",
                 EDU_DMA_BYTES, target, ran ? "ran" : "did not finish", before, after);
    return before == after;
}

/* ---- the table, load options, main ---- */

struct attack {
    const char *name;
    void (*run)(void);
    bool by_default;
};

static const struct attack attacks[] = {
    { "hc-buffer-mmio", attack_hc_buffer_mmio, true },
    { "iommu-regs", attack_iommu_regs, true },
    { "iommu-dma", attack_iommu_dma, true },
    { "ecam-dma", attack_ecam_dma, true },
    { "msix-left", attack_msix_left, true }, /* before msi-delivery: no entry written yet */
    { "mmio-fetch", attack_mmio_fetch, true }, /* before apic-insn: Bochs shows only the first mmio-insn line */
    { "mmio-insn", attack_mmio_insn, true },
    { "hpet-split", attack_hpet_split, true }, /* before hpet-fsb: the first hpet-fsb line is a split */
    { "hpet-hptc", attack_hpet_hptc, true },
    { "hpet-fsb", attack_hpet_fsb, true },
    { "fwcfg-dma", attack_fwcfg_dma, true },
    { "hpet-dma", attack_hpet_dma, true },
    { "msi-delivery", attack_msi_delivery, true },
    { "bar-placement", attack_bar_placement, true },
    { "subpage-bar", attack_subpage_bar, true },
    { "ecam-move", attack_ecam_move, true },
    { "bar-above-top", attack_bar_above_top, true },
    { "bridge-renumber", attack_bridge_renumber, true },
    { "msr-sweep", attack_msr_sweep, true },
    { "apic-base", attack_apic_base, true },
    { "init-logical", attack_init_logical, true },
    { "icr-alias", attack_icr_alias, true },
    { "movss-tf", attack_movss_tf, true },
    { "xsetbv-17-18", attack_xsetbv_17_18, true },
    { "cr0-pg64", attack_cr0_pg64, true },
    { "pae-native", attack_pae_native, true },
    { "pae-pdpte", attack_pae_pdpte, true },
    { "pae-rsvd", attack_pae_rsvd, true },
    { "cf8-split", attack_cf8_split, true },
    { "mtrr-block", attack_mtrr_block, true },
    { "icr-smi", attack_icr_smi, true },
    { "msi-window", attack_msi_window, true },
    { "unmapped-gpa", attack_unmapped_gpa, true },
    /* the xAPIC attacks before x2apic-icr-reserved, which leaves x2APIC on */
    { "apic-insn", attack_apic_insn, true },
    { "apic-8byte", attack_apic_8byte, true },
    { "lvt-delivery", attack_lvt_delivery, true }, /* xAPIC page: before x2apic-icr-reserved */
    { "x2apic-icr-reserved", attack_x2apic_icr_reserved, true },
    { "lvt-x2apic", attack_lvt_x2apic, true }, /* x2APIC mode: after x2apic-icr-reserved */
    { "sleep-s3", attack_sleep_s3, true },
    { "sleep-mmio", attack_sleep_mmio, true },
    { "pmbase-move", attack_pmbase_move, true },
    { "cf8-ext", attack_cf8_ext, true },
    { "fch-pm", attack_fch_pm, true },
    { "core-uart", attack_core_uart, true },
    { "a20", attack_a20, true },
    { "ioapic-dma", attack_ioapic_dma, true },
    { "ioapic-rte", attack_ioapic_rte, true },
    { "msi-dma", attack_msi_dma, true },
    { "log-dma", attack_log_dma, true },
    { "msi-dma-init", attack_msi_dma_init, false }, /* only when named: QEMU TCG resets the CPU at any INIT */
    { "smm-open", attack_smm_open, true },
    { "task-switch", attack_task_switch, true },
    { "db-intercept", attack_db_intercept, true },
    { "native-ports", attack_native_ports, true },
    { "judged-cross", attack_judged_cross, true },
    { "ap-not-entered", attack_ap_not_entered, false }, /* only when named: needs test_skip_ap */
    { "triple-fault", attack_triple_fault, false }, /* only when named: it ends the boot */
    { "event-delivery", attack_event_delivery, false }, /* only when named: it ends the boot */
};

static CHAR16 only[512];

/* Whether `name` is in the only= list (comma-separated). */
static bool selected(const char *name, bool by_default)
{
    if (!only[0])
        return by_default;
    size_t n = strlen(name);
    const CHAR16 *s = only;
    while (*s) {
        size_t k = 0;
        while (s[k] && s[k] != L',')
            k++;
        bool same = k == n;
        for (size_t i = 0; same && i < n; i++)
            same = s[i] == (CHAR16)name[i];
        if (same)
            return true;
        s += k;
        if (*s == L',')
            s++;
    }
    return false;
}

/* bare=1: no minihv under the guest (a reference run): only smm-open,
 * which needs no hypercall. */
static bool bare_run;

static void parse_args(void)
{
    struct guest_args a;
    const CHAR16 *w, *v;
    size_t len, vl;
    if (!guest_args_open(env.image, &a))
        return;
    while (guest_args_next(&a, &w, &len)) {
        if (guest_arg_value(w, len, "only=", &v, &vl))
            guest_arg_copy(only, ARRAY_SIZE(only), v, vl);
        else if (guest_arg_value(w, len, "bdf=", &v, &vl))
            env.have_bdf = guest_arg_bdf(v, vl, &env.bus, &env.dev, &env.fn);
        else if (guest_arg_value(w, len, "uart=", &v, &vl))
            env.uart = (uint16_t)guest_arg_num(v, vl);
        else if (guest_arg_is(w, len, "bare=1"))
            bare_run = true;
        else if (guest_arg_value(w, len, "skipped=", &v, &vl) && v[0] >= L'0' && v[0] <= L'9') {
            env.have_skipped = true;
            env.skipped = (UINTN)guest_arg_num(v, vl);
        }
    }
}

static void setup_cpus(void)
{
    static EFI_GUID mp_guid = MP_SERVICES_GUID;
    UINTN total = 1, enabled = 1;
    env.cpus = 1;
    env.self = 0;
    if (EFI_ERROR(BS->LocateProtocol(&mp_guid, NULL, (void **)&env.mp)) || !env.mp ||
        EFI_ERROR(env.mp->GetNumberOfProcessors(env.mp, &total, &enabled)) ||
        EFI_ERROR(env.mp->WhoAmI(env.mp, &env.self))) {
        env.mp = NULL;
        total = 1;
        env.self = 0;
    }
    env.cpus = total > ATK_MAX_CPUS ? ATK_MAX_CPUS : total;
    for (UINTN n = 0; n < env.cpus; n++) {
        struct mp_processor_info info = { .StatusFlag = 2 };
        EFI_PHYSICAL_ADDRESS pa = 0;
        if (env.mp && EFI_ERROR(env.mp->GetProcessorInfo(env.mp, n, &info)))
            info.StatusFlag = 0;
        env.apic_id[n] = (uint32_t)info.ProcessorId;
        env.cpu_ok[n] = (info.StatusFlag & 2) && !EFI_ERROR(BS->AllocatePages(AllocateAnyPages, EfiBootServicesData, 1, &pa));
        env.cpu_page[n] = (uint8_t *)(uintptr_t)pa;
    }
    if (!env.mp)
        env.apic_id[0] = atk_apic_id();
    /* A CPU the loader did not start (test build): held in wait-for-SIPI
     * by the core, it runs nothing, the PING checks leave it out. */
    if (env.have_skipped && env.skipped < env.cpus)
        env.cpu_ok[env.skipped] = false;
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
    InitializeLib(image, systab);
    env.image = image;
    env.intel = hv_intel();
    parse_args();
    setup_cpus();
    find_ecam();
    find_ram_top();
    find_edu();
    EFI_PHYSICAL_ADDRESS pages = 0;
    if (EFI_ERROR(BS->AllocatePages(AllocateAnyPages, EfiBootServicesData, 2, &pages))) {
        atk_fail("setup", "out of memory");
        goto out;
    }
    guest_print("attack: started: %lu CPU(s), BSP processor %lu, %s; only=%s; ECAM 0x%lx; RAM below 4 GiB ends 0x%lx%s",
                env.cpus, env.self, env.intel ? "Intel (VMCALL)" : "AMD (VMMCALL)", only[0] ? "(given)" : "(default)",
                env.ecam, env.ram_top, env.edu ? "; edu present" : "");
    if (!hv_present() && bare_run) {
        attack_smm_open();
        goto out;
    }
    if (!hv_present()) {
        atk_fail("minihv", "no MiniHv CPUID signature: not running under minihv");
        goto out;
    }
    if (guard_install(&bsp_guard, (void *)(uintptr_t)pages, 4096)) {
        atk_fail("setup", "no usable IDT for the fault guard");
        goto out;
    }
    atk_idt_page = (uint8_t *)(uintptr_t)(pages + 4096);
    if (atk_idt_install()) {
        atk_fail("setup", "cannot install the attack IDT");
        goto out;
    }
    struct hc_regs r = { MINIHV_HC_FOOTPRINT, (uint64_t)(uintptr_t)&env.fp, sizeof(env.fp), 0 };
    if (hv_call(&r) || r.rax != MINIHV_HC_OK || env.fp.block_size < 2 * ATK_TAIL_BYTES) {
        atk_fail("setup", "MINIHV_HC_FOOTPRINT returned %ld", (int64_t)r.rax);
        goto out;
    }
    have_baseline = atk_digests(&baseline);
    guest_print("attack: core block 0x%lx+0x%lx; digests: boot info + code 0x%016lx, last MiB 0x%016lx",
                env.fp.block_base, env.fp.block_size, baseline.head, baseline.tail);
    char why[400];
    /* The BSP only: an AP is woken (INIT-SIPI-SIPI by MP services) as few
     * times as possible, Bochs takes long over each. */
    uint32_t bsp_id = 0;
    if (!atk_ping_self(&bsp_id, why, sizeof(why))) {
        atk_fail("setup", "before any attack: %s", why);
        goto out;
    }
    for (size_t i = 0; i < ARRAY_SIZE(attacks); i++) {
        if (!selected(attacks[i].name, attacks[i].by_default))
            continue;
        guest_print("attack: -- %s", attacks[i].name);
        attacks[i].run();
    }
    bool whole = atk_core_intact(why, sizeof(why));
    if (whole && env.edu) { /* and the IOMMU still keeps device DMA out */
        char dma[200];
        size_t k = strlen(why);
        whole = atk_edu_dma_into_block(dma, sizeof(dma));
        fmt_snprintf(why + k, sizeof(why) - k, "; %s%s", dma, whole ? ": blocked" : ": the DMA landed in the block");
    }
    if (whole)
        atk_pass("intact", "%s", why);
    else
        atk_fail("intact", "%s", why);
    atk_idt_remove();
    guard_remove(&bsp_guard);
out:
    guest_print("attack: %u passed, %u failed", passed, failed);
    guest_print("attack: done");
    return failed ? EFI_DEVICE_ERROR : EFI_SUCCESS;
}
