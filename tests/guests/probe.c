/* The guest probe: an EFI application minihv chain-loads as its guest. It
 * checks, on the BSP and on every AP (EFI MP services, StartupThisAP), that
 * the CPU it runs on is a vCPU of minihv: CPUID signature and feature bits,
 * VMCALL ping with its own APIC ID, CR4.VMXE clear, VMXON raising #UD, the
 * core's memory reading all-ones and dropping writes (counted by the core),
 * the core's block reserved in the UEFI memory map, hypercall argument
 * checks, and single-step and interrupt shadows over an exiting CPUID (one
 * #DB right after it; MOV SS and STI shadows that end with it). It prints
 * "probe: PASS name" / "probe: FAIL name: why" lines and "probe: N passed,
 * N failed" on ConOut, then returns to minihv.
 *
 * APs never call the firmware: each fills its struct cpu_probe, which the
 * BSP prints once the AP is done. */
#include <efi.h>
#include <efilib.h>
#include <minihv/boot_info.h>
#include <minihv/format.h>
#include <minihv/hypercall.h>
#include <minihv/io.h>
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "boot/mp_services.h"
#include "tests/guests/guard.h"
#include "tests/guests/print.h"

#define PROBE_MAX_CHECKS 20
#define PROBE_AP_TIMEOUT_MS 30000 /* emulated time in Bochs: about 300M instructions */
#define PROBE_UNKNOWN_HC 0x7fffffffu /* a function number the ABI will never use */
#define CPUID_1_ECX_VMX (1u << 5)     /* SDM Vol. 2A, CPUID, Table 3-10 */
#define CPUID_1_ECX_HYPERVISOR (1u << 31)

struct check {
    const char *name;
    bool pass;
    char why[120];
};

/* Shared by all CPUs; written by the BSP before any AP runs. */
struct probe_env {
    bool intel; /* VMCALL, else VMMCALL */
    bool have_footprint;
    char footprint_why[96];
    struct minihv_footprint footprint; /* hypercall buffer */
};

struct cpu_probe {
    /* set by the BSP */
    UINTN number; /* MP services processor number */
    bool bsp;
    bool full_sweep;
    struct probe_env *env;
    uint8_t *pages; /* two pages: IDT copy, VMXON region */
    char ap_error[96]; /* the BSP's note when the AP did not run or finish */
    /* filled by the CPU itself */
    volatile bool entered; /* the AP got to our procedure */
    volatile bool ran;
    uint32_t apic_id;
    bool hv;
    int stats_index; /* this CPU's index in MINIHV_HC_GET_STATS, or -1 */
    unsigned count;
    struct check checks[PROBE_MAX_CHECKS];
    struct minihv_stats stats; /* hypercall buffer */
};

static void record(struct cpu_probe *c, const char *name, bool pass, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void record(struct cpu_probe *c, const char *name, bool pass, const char *fmt, ...)
{
    if (c->count >= PROBE_MAX_CHECKS)
        return;
    struct check *k = &c->checks[c->count++];
    va_list ap;
    k->name = name;
    k->pass = pass;
    va_start(ap, fmt);
    fmt_vsnprintf(k->why, sizeof(k->why), fmt, ap);
    va_end(ap);
}

/* The checks that judge the hypervisor fail without one, whatever the CPU
 * shows by itself: `why` then says what it showed. */
#define record_hv(c, name, ok, ...)                                                  \
    do {                                                                             \
        if (!(c)->hv) {                                                              \
            char seen_[96];                                                          \
            fmt_snprintf(seen_, sizeof(seen_), __VA_ARGS__);                         \
            record(c, name, false, "no hypervisor (%s)", seen_);                     \
        } else {                                                                     \
            record(c, name, ok, __VA_ARGS__);                                        \
        }                                                                            \
    } while (0)

/* ---- hypercalls ---- */

static uint64_t hypercall(const struct cpu_probe *c, struct hc_regs *r)
{
    return c->env->intel ? guard_vmcall(r) : guard_vmmcall(r);
}

static bool hc_status_is(uint64_t rax, int64_t status)
{
    return (int64_t)rax == status;
}

/* GET_STATS for core CPU index `index` into c->stats: the RAX status, or
 * 1 when the instruction faulted. */
static int64_t get_stats(struct cpu_probe *c, uint32_t index)
{
    struct hc_regs r = { MINIHV_HC_GET_STATS, index, (uint64_t)(uintptr_t)&c->stats, sizeof(c->stats) };
    if (hypercall(c, &r))
        return 1;
    return (int64_t)r.rax;
}

/* The core numbers CPUs its own way: find ours by APIC ID. */
static int find_stats_index(struct cpu_probe *c)
{
    for (uint32_t i = 0; i < MINIHV_MAX_CPUS; i++) {
        int64_t st = get_stats(c, i);
        if (st != MINIHV_HC_OK)
            break;
        if (c->stats.apic_id == c->apic_id)
            return (int)i;
    }
    return -1;
}

/* ---- the checks ---- */

static uint32_t read_apic_id(void)
{
    uint32_t r[4];
    x86_cpuid(0, 0, r);
    if (r[0] >= 0xb) {
        x86_cpuid(0xb, 0, r); /* x2APIC topology leaf: EDX = x2APIC ID (SDM Vol. 3 10.12.8.1) */
        if (r[1] & 0xffff)
            return r[3];
    }
    x86_cpuid(1, 0, r);
    return r[1] >> 24; /* initial APIC ID, CPUID.1:EBX[31:24] */
}

static void check_cpuid(struct cpu_probe *c)
{
    uint32_t r[4];
    char sig[13];
    x86_cpuid(MINIHV_CPUID_BASE, 0, r);
    memcpy(sig, &r[1], 4);
    memcpy(sig + 4, &r[2], 4);
    memcpy(sig + 8, &r[3], 4);
    for (int i = 0; i < 12; i++)
        if (sig[i] < 0x20 || sig[i] > 0x7e)
            sig[i] = '.';
    sig[12] = '\0';
    bool sig_ok = r[1] == MINIHV_CPUID_SIG_EBX && r[2] == MINIHV_CPUID_SIG_ECX && r[3] == MINIHV_CPUID_SIG_EDX;
    c->hv = sig_ok && r[0] >= MINIHV_CPUID_MAX_LEAF;
    if (c->hv)
        record(c, "cpuid-signature", true, "'%s', max leaf 0x%x", sig, r[0]);
    else
        record(c, "cpuid-signature", false, "no hypervisor (leaf 0x40000000: max leaf 0x%x, signature '%s')",
               r[0], sig);

    x86_cpuid(1, 0, r);
    bool hv_bit = r[2] & CPUID_1_ECX_HYPERVISOR, vmx = r[2] & CPUID_1_ECX_VMX;
    record_hv(c, "cpuid-hv-bit", hv_bit, "CPUID.1:ECX[31] %s", hv_bit ? "set" : "clear");
    record_hv(c, "cpuid-vmx-hidden", !vmx, "CPUID.1:ECX.VMX[5] %s", vmx ? "set" : "clear");
}

static void check_ping(struct cpu_probe *c)
{
    char f[24];
    if (!c->hv) {
        record(c, "vmcall-ping", false, "no hypervisor (%s not issued)", c->env->intel ? "VMCALL" : "VMMCALL");
        return;
    }
    struct hc_regs r = { MINIHV_HC_PING, 0, 0, 0 };
    uint64_t fault = hypercall(c, &r);
    if (fault)
        record(c, "vmcall-ping", false, "%s raised %s", c->env->intel ? "VMCALL" : "VMMCALL",
               guard_describe(fault, f, sizeof(f)));
    else
        record(c, "vmcall-ping", r.rax == MINIHV_HC_OK && r.rbx == MINIHV_HC_PONG &&
               r.rcx == MINIHV_ABI_VERSION && r.rdx == c->apic_id,
               "RAX 0x%lx RBX 0x%lx RCX %lu RDX (APIC ID) %lu, this CPU's APIC ID %u",
               r.rax, r.rbx, r.rcx, r.rdx, c->apic_id);
}

static void check_vmx_hidden(struct cpu_probe *c)
{
    char f[24];
    uint64_t cr4 = read_cr4();
    record_hv(c, "cr4-vmxe-clear", !(cr4 & CR4_VMXE), "CR4 0x%lx, VMXE %s", cr4,
              cr4 & CR4_VMXE ? "set" : "clear");

    /* SDM Vol. 3 25.1.2: VMXON in VMX non-root operation always exits; the
     * core must answer with #UD, as a CPU without VMX would. (Without a
     * hypervisor and with CR4.VMXE clear the CPU raises #UD by itself.) */
    uint64_t *region = (uint64_t *)(c->pages + 4096);
    uint64_t region_pa = (uint64_t)(uintptr_t)region, rflags = 0;
    memset(region, 0, 4096);
    uint64_t fault = guard_vmxon(&region_pa, &rflags);
    if (fault) {
        record_hv(c, "vmxon-ud", GUARD_VECTOR(fault) == VEC_UD, "VMXON raised %s",
                  guard_describe(fault, f, sizeof(f)));
        return;
    }
    bool entered = !(rflags & 0x41); /* CF = VMfailInvalid, ZF = VMfailValid (SDM 30.2) */
    if (entered)
        guard_vmxoff();
    record_hv(c, "vmxon-ud", false, "VMXON did not fault: %s (RFLAGS 0x%lx)",
              entered ? "VMX operation entered, left again with VMXOFF" : "VMfail", rflags);
}

/* Reads and writes the first 8 bytes of the chosen pages of the core's
 * block: every read must give all-ones, never the core's own bytes, and
 * writes must not stick. The core's counter of such accesses must grow by
 * at least the number made. */
static void check_core_memory(struct cpu_probe *c)
{
    const struct minihv_footprint *fp = &c->env->footprint;
    char f[24];
    if (!c->hv) {
        record(c, "hv-memory-read", false, "no hypervisor");
        record(c, "hv-memory-write", false, "no hypervisor");
        record(c, "hv-memory-stats", false, "no hypervisor");
        return;
    }
    if (!c->env->have_footprint) {
        record(c, "hv-memory-read", false, "no footprint: %s", c->env->footprint_why);
        record(c, "hv-memory-write", false, "no footprint: %s", c->env->footprint_why);
        record(c, "hv-memory-stats", false, "no footprint: %s", c->env->footprint_why);
        return;
    }
    uint64_t pages = fp->block_size / PAGE_SIZE;
    uint64_t some[3] = { 0, pages / 2, pages - 1 };
    uint64_t npages = c->full_sweep ? pages : 3, accesses = 0;
    uint64_t before = 0;
    int64_t st = c->stats_index >= 0 ? get_stats(c, (uint32_t)c->stats_index) : -1;
    if (st == MINIHV_HC_OK)
        before = c->stats.exits[MINIHV_EXIT_NPF_HV_MEMORY];

    /* Reads. */
    uint64_t bad_pa = 0, bad_value = 0, bad_fault = 0, bad_count = 0, magic_seen = 0;
    for (uint64_t i = 0; i < npages; i++) {
        uint64_t pa = fp->block_base + (c->full_sweep ? i : some[i]) * PAGE_SIZE, v = 0;
        uint64_t fault = guard_read64(pa, &v);
        accesses++;
        if (!fault && (v == MINIHV_IMAGE_MAGIC || v == MINIHV_BOOT_MAGIC))
            magic_seen++;
        if ((fault || v != ~0ull) && !bad_count++) {
            bad_pa = pa;
            bad_value = v;
            bad_fault = fault;
        }
    }
    if (!bad_count)
        record(c, "hv-memory-read", true, "%lu pages from 0x%lx read all-ones", npages, fp->block_base);
    else if (bad_fault)
        record(c, "hv-memory-read", false, "%lu of %lu pages not all-ones; read at 0x%lx raised %s",
               bad_count, npages, bad_pa, guard_describe(bad_fault, f, sizeof(f)));
    else
        record(c, "hv-memory-read", false, "%lu of %lu pages not all-ones (%lu show the core's magic); 0x%lx read 0x%lx",
               bad_count, npages, magic_seen, bad_pa, bad_value);

    /* Writes, each read back. */
    bad_count = 0;
    for (uint64_t i = 0; i < npages; i++) {
        uint64_t pa = fp->block_base + (c->full_sweep ? i : some[i]) * PAGE_SIZE, v = 0;
        uint64_t pattern = 0x5a5a000000000000ull ^ pa;
        uint64_t wfault = guard_write64(pa, pattern);
        uint64_t rfault = guard_read64(pa, &v);
        accesses += 2;
        if ((wfault || rfault || v != ~0ull) && !bad_count++) {
            bad_pa = pa;
            bad_value = v;
            bad_fault = wfault ? wfault : rfault;
        }
    }
    if (!bad_count)
        record(c, "hv-memory-write", true, "%lu pages written, still all-ones", npages);
    else if (bad_fault)
        record(c, "hv-memory-write", false, "%lu of %lu pages: access at 0x%lx raised %s", bad_count, npages,
               bad_pa, guard_describe(bad_fault, f, sizeof(f)));
    else
        record(c, "hv-memory-write", false, "%lu of %lu pages: 0x%lx reads 0x%lx after the write%s", bad_count,
               npages, bad_pa, bad_value,
               bad_value == (0x5a5a000000000000ull ^ bad_pa) ? " (the write stuck)" : "");

    /* The core's count. */
    if (c->stats_index < 0)
        record(c, "hv-memory-stats", false, "no GET_STATS entry with APIC ID %u", c->apic_id);
    else if (st != MINIHV_HC_OK || (st = get_stats(c, (uint32_t)c->stats_index)) != MINIHV_HC_OK)
        record(c, "hv-memory-stats", false, "GET_STATS(%d) failed: %ld", c->stats_index, st);
    else
        record(c, "hv-memory-stats", c->stats.exits[MINIHV_EXIT_NPF_HV_MEMORY] - before >= accesses,
               "NPF_HV_MEMORY grew by %lu for %lu accesses (core CPU %d)",
               c->stats.exits[MINIHV_EXIT_NPF_HV_MEMORY] - before, accesses, c->stats_index);
}

static void check_hypercall_args(struct cpu_probe *c)
{
    char f[24];
    if (!c->hv) {
        record(c, "hc-efault", false, "no hypervisor");
        record(c, "hc-einval", false, "no hypervisor");
        return;
    }
    if (!c->env->have_footprint || c->stats_index < 0) {
        record(c, "hc-efault", false, "%s", !c->env->have_footprint ? "no footprint" : "no GET_STATS index");
    } else {
        /* A buffer in the middle of the core's block: refused, nothing written. */
        const struct minihv_footprint *fp = &c->env->footprint;
        uint64_t gpa = fp->block_base + ALIGN_DOWN(fp->block_size / 2, PAGE_SIZE);
        struct hc_regs r = { MINIHV_HC_GET_STATS, (uint64_t)c->stats_index, gpa, sizeof(struct minihv_stats) };
        uint64_t fault = hypercall(c, &r);
        if (fault)
            record(c, "hc-efault", false, "GET_STATS raised %s", guard_describe(fault, f, sizeof(f)));
        else
            record(c, "hc-efault", hc_status_is(r.rax, MINIHV_HC_EFAULT),
                   "GET_STATS into the core's block (0x%lx) returned %ld", gpa, (int64_t)r.rax);
    }
    struct hc_regs r = { PROBE_UNKNOWN_HC, 0, 0, 0 };
    uint64_t fault = hypercall(c, &r);
    if (fault)
        record(c, "hc-einval", false, "function 0x%x raised %s", PROBE_UNKNOWN_HC, guard_describe(fault, f, sizeof(f)));
    else
        record(c, "hc-einval", hc_status_is(r.rax, MINIHV_HC_EINVAL), "function 0x%x returned %ld",
               PROBE_UNKNOWN_HC, (int64_t)r.rax);
}

/* ---- single-step and interrupt shadows over an exiting instruction ----
 * SDM Vol. 3B 18.3.1.4: an instruction that starts with TF set traps after
 * it (a #DB with DR6.BS); after the POPF that sets TF the first trap comes
 * after the instruction that follows it. SDM Vol. 3A 6.8.3: MOV SS holds
 * that trap (and interrupts) until after the next instruction; STI holds
 * interrupts for one instruction. When that next instruction is one the
 * core carries out (CPUID exits on both backends), the core must end the
 * shadow and raise the #DB itself, once, at the instruction after CPUID
 * (the CVE-2018-8897 pattern puts SYSCALL there). The handlers record the
 * first event's RIP (and DR6), count them, clear TF in the frame and
 * return; the sequences run with interrupts off (but the STI one). */
#define PROBE_IPI_VECTOR 0xee /* above the firmware's timer vectors */
#define DR6_BS (1ull << 14)
#define RFLAGS_TF 0x100ull

struct probe_event {
    uint64_t count, rip, dr6;
};
__attribute__((visibility("hidden"))) struct probe_event probe_db, probe_irq;
__attribute__((visibility("hidden"))) uint64_t probe_eoi_addr; /* xAPIC EOI register, or 0: x2APIC */

void probe_db_entry(void) __attribute__((visibility("hidden")));
void probe_ipi_entry(void) __attribute__((visibility("hidden")));
void probe_tf_cpuid(void) __attribute__((visibility("hidden")));
void probe_movss_cpuid(void) __attribute__((visibility("hidden")));
void probe_sti_cpuid(void) __attribute__((visibility("hidden")));
extern const uint8_t probe_tf_after[], probe_movss_after[], probe_sti_after[];

__asm__(
    ".text\n"
    /* #DB (no error code): RIP at 16(%rsp) after the two pushes. */
    ".globl probe_db_entry\n"
    ".hidden probe_db_entry\n"
    "probe_db_entry:\n"
    "    push %rax\n"
    "    push %rdx\n"
    "    lea probe_db(%rip), %rdx\n"
    "    incq 0(%rdx)\n"
    "    cmpq $1, 0(%rdx)\n"
    "    jne 1f\n"
    "    mov 16(%rsp), %rax\n"
    "    mov %rax, 8(%rdx)\n"
    "    mov %dr6, %rax\n"
    "    mov %rax, 16(%rdx)\n"
    "1:  mov $0xffff0ff0, %eax\n" /* DR6 as after reset: the next #DB starts clean */
    "    mov %rax, %dr6\n"
    "    andq $-257, 32(%rsp)\n"   /* TF off in the interrupted RFLAGS */
    "    pop %rdx\n"
    "    pop %rax\n"
    "    iretq\n"

    /* The self-IPI: first RIP, then EOI (xAPIC: the trapped page; x2APIC: MSR 0x80b). */
    ".globl probe_ipi_entry\n"
    ".hidden probe_ipi_entry\n"
    "probe_ipi_entry:\n"
    "    push %rax\n"
    "    push %rcx\n"
    "    push %rdx\n"
    "    lea probe_irq(%rip), %rdx\n"
    "    incq 0(%rdx)\n"
    "    cmpq $1, 0(%rdx)\n"
    "    jne 1f\n"
    "    mov 24(%rsp), %rax\n"
    "    mov %rax, 8(%rdx)\n"
    "1:  mov probe_eoi_addr(%rip), %rcx\n"
    "    test %rcx, %rcx\n"
    "    jz 2f\n"
    "    movl $0, (%rcx)\n"
    "    jmp 3f\n"
    "2:  mov $0x80b, %ecx\n"
    "    xor %eax, %eax\n"
    "    xor %edx, %edx\n"
    "    wrmsr\n"
    "3:  pop %rdx\n"
    "    pop %rcx\n"
    "    pop %rax\n"
    "    iretq\n"

    /* POPF sets TF; CPUID follows: one #DB, at probe_tf_after. */
    ".globl probe_tf_cpuid\n"
    ".hidden probe_tf_cpuid\n"
    "probe_tf_cpuid:\n"
    "    push %rbx\n"
    "    pushfq\n"
    "    cli\n"
    "    xor %eax, %eax\n"
    "    xor %ecx, %ecx\n"
    "    pushfq\n"
    "    orq $0x100, (%rsp)\n"
    "    popfq\n"
    "    cpuid\n"
    ".globl probe_tf_after\n"
    ".hidden probe_tf_after\n"
    "probe_tf_after:\n"
    "    nop\n"
    "    nop\n"
    "    popfq\n"
    "    pop %rbx\n"
    "    ret\n"

    /* POPF sets TF; MOV SS traps but holds the #DB over CPUID: one #DB, at
     * probe_movss_after (not after the NOP, where SYSCALL would be). */
    ".globl probe_movss_cpuid\n"
    ".hidden probe_movss_cpuid\n"
    "probe_movss_cpuid:\n"
    "    push %rbx\n"
    "    pushfq\n"
    "    cli\n"
    "    xor %eax, %eax\n"
    "    xor %ecx, %ecx\n"
    "    mov %ss, %edx\n"
    "    pushfq\n"
    "    orq $0x100, (%rsp)\n"
    "    popfq\n"
    "    mov %edx, %ss\n"
    "    cpuid\n"
    ".globl probe_movss_after\n"
    ".hidden probe_movss_after\n"
    "probe_movss_after:\n"
    "    nop\n"
    "    nop\n"
    "    popfq\n"
    "    pop %rbx\n"
    "    ret\n"

    /* The self-IPI is pending (IF was 0); STI holds it over CPUID: it is
     * taken at probe_sti_after. */
    ".globl probe_sti_cpuid\n"
    ".hidden probe_sti_cpuid\n"
    "probe_sti_cpuid:\n"
    "    push %rbx\n"
    "    pushfq\n"
    "    xor %eax, %eax\n"
    "    xor %ecx, %ecx\n"
    "    sti\n"
    "    cpuid\n"
    ".globl probe_sti_after\n"
    ".hidden probe_sti_after\n"
    "probe_sti_after:\n"
    "    nop\n"
    "    nop\n"
    "    popfq\n"
    "    pop %rbx\n"
    "    ret\n");

/* A 64-bit IDT gate's handler address (SDM Vol. 3A 6.14.1, Figure 6-8):
 * bytes 0-1, 6-7 and 8-11 of the 16-byte gate. */
static void gate_point(uint8_t *idt, unsigned vector, void (*fn)(void))
{
    uint64_t off = (uint64_t)(uintptr_t)fn;
    uint8_t *g = idt + 16 * vector;
    g[0] = (uint8_t)off;
    g[1] = (uint8_t)(off >> 8);
    g[6] = (uint8_t)(off >> 16);
    g[7] = (uint8_t)(off >> 24);
    for (int i = 0; i < 4; i++)
        g[8 + i] = (uint8_t)(off >> (32 + 8 * i));
}

/* The first #DB of one sequence: exactly one, at `want`, with DR6.BS. */
static void judge_db(struct cpu_probe *c, const char *name, const uint8_t *want, const uint8_t *start)
{
    const struct probe_event *e = &probe_db;
    uint64_t at = (uint64_t)(uintptr_t)want;
    bool ok = e->count == 1 && e->rip == at && (e->dr6 & DR6_BS);
    if (!e->count)
        record(c, name, false, "no #DB at all (expected one at +0x%lx)", at - (uint64_t)(uintptr_t)start);
    else
        record(c, name, ok, "%lu #DB, the first at +0x%lx (expected +0x%lx), DR6 0x%lx (BS %s)", e->count,
               e->rip - (uint64_t)(uintptr_t)start, at - (uint64_t)(uintptr_t)start, e->dr6,
               (e->dr6 & DR6_BS) ? "set" : "clear");
}

static void check_single_step(struct cpu_probe *c)
{
    uint8_t *idt = c->pages; /* the guard's IDT copy: 256 gates */
    gate_point(idt, 1, probe_db_entry);
    memset(&probe_db, 0, sizeof(probe_db));
    probe_tf_cpuid();
    judge_db(c, "tf-cpuid", probe_tf_after, (const uint8_t *)(uintptr_t)probe_tf_cpuid);
    memset(&probe_db, 0, sizeof(probe_db));
    probe_movss_cpuid();
    judge_db(c, "movss-cpuid", probe_movss_after, (const uint8_t *)(uintptr_t)probe_movss_cpuid);
    if (!c->bsp)
        return;

    /* STI over CPUID, on the BSP (its local APIC takes a self-IPI): sent
     * with interrupts off, so it waits in the IRR for the STI. */
    uint64_t apic_base = rdmsr(0x1b);
    bool x2apic = apic_base & (1ull << 10);
    uint64_t flags;
    gate_point(idt, PROBE_IPI_VECTOR, probe_ipi_entry);
    memset(&probe_irq, 0, sizeof(probe_irq));
    probe_eoi_addr = x2apic ? 0 : (apic_base & 0xffffff000ull) + 0xb0;
    __asm__ volatile("pushfq; pop %0; cli" : "=r"(flags)::"memory");
    if (x2apic)
        wrmsr(0x83f, PROBE_IPI_VECTOR); /* SELF IPI (SDM Vol. 3A 11.12.11) */
    else /* ICR: fixed, edge, shorthand self (11.6.1) */
        *(volatile uint32_t *)(uintptr_t)((apic_base & 0xffffff000ull) + 0x300) = (1u << 18) | PROBE_IPI_VECTOR;
    probe_sti_cpuid();
    __asm__ volatile("push %0; popfq" ::"r"(flags) : "memory", "cc");
    uint64_t at = (uint64_t)(uintptr_t)probe_sti_after, start = (uint64_t)(uintptr_t)probe_sti_cpuid;
    if (!probe_irq.count)
        record(c, "sti-cpuid", false, "the self-IPI (vector 0x%x, %s) never came", PROBE_IPI_VECTOR,
               x2apic ? "x2APIC" : "xAPIC");
    else
        record(c, "sti-cpuid", probe_irq.count == 1 && probe_irq.rip == at,
               "%lu interrupt(s), the first at +0x%lx (expected +0x%lx, right after CPUID; %s)", probe_irq.count,
               probe_irq.rip - start, at - start, x2apic ? "x2APIC" : "xAPIC");
}

/* The probe's own machinery: a non-canonical read must come back as a
 * recovered #GP(0) (SDM Vol. 3 6.15, interrupt 13), or none of the fault
 * results below would mean anything. */
static void check_guard(struct cpu_probe *c)
{
    char f[24];
    uint64_t v = 0, fault = guard_read64(0x8000000000000000ull, &v);
    record(c, "fault-guard", (fault & GUARD_FAULTED) && GUARD_VECTOR(fault) == VEC_GP,
           "non-canonical read: %s", guard_describe(fault, f, sizeof(f)));
}

/* Everything one CPU checks about itself. Runs on the BSP and on APs: no
 * firmware calls in here. */
static void run_cpu_checks(struct cpu_probe *c)
{
    struct guard g;
    c->apic_id = read_apic_id();
    c->stats_index = -1;
    check_cpuid(c);
    if (guard_install(&g, c->pages, 4096)) {
        record(c, "fault-guard", false, "cannot install the #UD/#GP/#PF guard: no usable IDT (limit 0x%x)",
               g.saved.limit);
        return;
    }
    check_guard(c);
    if (c->hv && c->bsp) {
        struct probe_env *env = c->env;
        struct hc_regs r = { MINIHV_HC_FOOTPRINT, (uint64_t)(uintptr_t)&env->footprint,
                             sizeof(env->footprint), 0 };
        uint64_t fault = hypercall(c, &r);
        char f[24];
        if (fault)
            fmt_snprintf(env->footprint_why, sizeof(env->footprint_why), "FOOTPRINT raised %s",
                         guard_describe(fault, f, sizeof(f)));
        else if (r.rax != MINIHV_HC_OK)
            fmt_snprintf(env->footprint_why, sizeof(env->footprint_why), "FOOTPRINT returned %ld",
                         (int64_t)r.rax);
        else if (!env->footprint.block_size || env->footprint.block_size % PAGE_SIZE ||
                 env->footprint.block_base % PAGE_SIZE)
            fmt_snprintf(env->footprint_why, sizeof(env->footprint_why), "FOOTPRINT block 0x%lx+0x%lx unusable",
                         env->footprint.block_base, env->footprint.block_size);
        else
            env->have_footprint = true;
    }
    if (c->hv)
        c->stats_index = find_stats_index(c);
    check_ping(c);
    check_vmx_hidden(c);
    check_core_memory(c);
    check_hypercall_args(c);
    check_single_step(c);
    guard_remove(&g);
    c->ran = true;
}

static VOID EFIAPI ap_entry(VOID *arg)
{
    ((struct cpu_probe *)arg)->entered = true;
    run_cpu_checks(arg);
}

/* ---- BSP only ---- */

/* Runs the checks on AP n and waits for them at most PROBE_AP_TIMEOUT_MS.
 * Non-blocking StartupThisAP with no timeout of its own: on a timeout
 * MpInitLib would reset the AP with INIT-SIPI-SIPI and wait, without a
 * limit, for it to come back (ResetProcessorToIdleState) — forever when the
 * vCPU is broken. Here the probe gives up on that AP and goes on. */
static EFI_STATUS run_on_ap(struct mp_services *mp, UINTN n, struct cpu_probe *c)
{
    EFI_EVENT done;
    EFI_STATUS st = BS->CreateEvent(0, 0, NULL, NULL, &done);
    if (EFI_ERROR(st))
        return st;
    st = mp->StartupThisAP(mp, ap_entry, n, done, 0, c, NULL);
    if (EFI_ERROR(st)) {
        BS->CloseEvent(done);
        return st;
    }
    for (unsigned ms = 0; ms < PROBE_AP_TIMEOUT_MS; ms++) {
        if (BS->CheckEvent(done) == EFI_SUCCESS) {
            BS->CloseEvent(done);
            return EFI_SUCCESS;
        }
        BS->Stall(1000);
    }
    return EFI_TIMEOUT; /* the event stays with MP services */
}

/* The whole block lies in EfiReservedMemoryType descriptors (UEFI 2.7 7.2,
 * GetMemoryMap), so no OS will ever be given it. */
static void check_memory_map(struct cpu_probe *c)
{
    const struct minihv_footprint *fp = &c->env->footprint;
    if (!c->hv || !c->env->have_footprint) {
        record(c, "memmap-reserved", false, "%s", c->hv ? "no footprint" : "no hypervisor");
        return;
    }
    UINTN entries, key, desc_size;
    UINT32 desc_version;
    EFI_MEMORY_DESCRIPTOR *map = LibMemoryMap(&entries, &key, &desc_size, &desc_version);
    if (!map) {
        record(c, "memmap-reserved", false, "GetMemoryMap failed");
        return;
    }
    uint64_t at = fp->block_base, end = fp->block_base + fp->block_size;
    unsigned used = 0;
    int bad_type = -1;
    while (at < end) {
        EFI_MEMORY_DESCRIPTOR *hit = NULL;
        for (UINTN i = 0; i < entries && !hit; i++) {
            EFI_MEMORY_DESCRIPTOR *d = (EFI_MEMORY_DESCRIPTOR *)((uint8_t *)map + i * desc_size);
            if (d->PhysicalStart <= at && at < d->PhysicalStart + d->NumberOfPages * PAGE_SIZE)
                hit = d;
        }
        if (!hit || hit->Type != EfiReservedMemoryType) {
            bad_type = hit ? (int)hit->Type : -2;
            break;
        }
        used++;
        at = hit->PhysicalStart + hit->NumberOfPages * PAGE_SIZE;
    }
    FreePool(map);
    if (bad_type == -1)
        record(c, "memmap-reserved", true, "0x%lx-0x%lx in %u Reserved descriptor(s)", fp->block_base, end - 1,
               used);
    else if (bad_type == -2)
        record(c, "memmap-reserved", false, "0x%lx is in no descriptor", at);
    else
        record(c, "memmap-reserved", false, "0x%lx is in a descriptor of type %d, not Reserved (0)", at,
               bad_type);
}

/* The load options (minihv.cfg guest_args) name `word`. */
static bool option_given(EFI_HANDLE image, const CHAR16 *word)
{
    EFI_LOADED_IMAGE *li = NULL;
    if (EFI_ERROR(BS->HandleProtocol(image, &LoadedImageProtocol, (void **)&li)) || !li || !li->LoadOptions)
        return false;
    const CHAR16 *s = li->LoadOptions;
    size_t n = li->LoadOptionsSize / sizeof(CHAR16), wlen = StrLen(word);
    for (size_t i = 0; i + wlen <= n; i++)
        if (!memcmp(s + i, word, wlen * sizeof(CHAR16)) && (i + wlen == n || s[i + wlen] == L' ' || !s[i + wlen]))
            return true;
    return false;
}

/* `triple-fault`: after everything, the guest shuts down the way a broken
 * kernel does (an empty IDT, then int3: #GP, #DF, shutdown; SDM Vol. 3A
 * 6.15 interrupt 8). On bare metal the board resets; under minihv the
 * core must reset the machine too, after its summary, never park. */
static void triple_fault(void)
{
    static const struct idt_ptr none = { 0, 0 };
    guest_print("probe: triple fault now");
    for (;;)
        __asm__ volatile("cli; lidt %0; int3" ::"m"(none) : "memory");
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
    static EFI_GUID mp_guid = MP_SERVICES_GUID;
    static struct probe_env env;
    struct mp_services *mp = NULL;
    UINTN total = 1, enabled = 1, self = 0;
    uint32_t r[4];

    InitializeLib(image, systab);
    x86_cpuid(0, 0, r);
    env.intel = r[1] == 0x756e6547u; /* "Genu" */
    if (EFI_ERROR(BS->LocateProtocol(&mp_guid, NULL, (void **)&mp)) || !mp ||
        EFI_ERROR(mp->GetNumberOfProcessors(mp, &total, &enabled)) || EFI_ERROR(mp->WhoAmI(mp, &self))) {
        mp = NULL;
        total = 1;
        self = 0;
    }
    if (total > MINIHV_MAX_CPUS)
        total = MINIHV_MAX_CPUS;
    guest_print("probe: %lu CPU(s)%s, BSP is processor %lu; hypercalls by %s", total,
        mp ? " from MP services" : " (no MP services: BSP only)", self, env.intel ? "VMCALL" : "VMMCALL");

    struct cpu_probe *cpus = AllocateZeroPool(total * sizeof(*cpus));
    bool *enabled_cpu = AllocateZeroPool(total * sizeof(bool));
    if (!cpus || !enabled_cpu) {
        guest_print("probe: FAIL setup: out of memory");
        guest_print("probe: 0 passed, 1 failed");
        return EFI_OUT_OF_RESOURCES;
    }
    for (UINTN n = 0; n < total; n++) {
        struct mp_processor_info info = { .StatusFlag = 2 };
        EFI_PHYSICAL_ADDRESS pages = 0;
        if (mp && EFI_ERROR(mp->GetProcessorInfo(mp, n, &info)))
            info.StatusFlag = 0;
        enabled_cpu[n] = (info.StatusFlag & 2) && (n == self || mp);
        cpus[n].number = n;
        cpus[n].bsp = n == self;
        cpus[n].full_sweep = n == self;
        cpus[n].env = &env;
        if (EFI_ERROR(BS->AllocatePages(AllocateAnyPages, EfiBootServicesData, 2, &pages)))
            enabled_cpu[n] = false;
        cpus[n].pages = (uint8_t *)(uintptr_t)pages;
    }

    /* The BSP first: it fetches the footprint the APs then use. */
    run_cpu_checks(&cpus[self]);
    check_memory_map(&cpus[self]);
    for (UINTN n = 0; n < total; n++) {
        if (n == self || !enabled_cpu[n])
            continue;
        EFI_STATUS st = run_on_ap(mp, n, &cpus[n]);
        if (st == EFI_TIMEOUT)
            fmt_snprintf(cpus[n].ap_error, sizeof(cpus[n].ap_error), "no answer within %u ms; the AP %s",
                         PROBE_AP_TIMEOUT_MS,
                         cpus[n].entered ? "entered the probe but did not finish" : "never entered the probe");
        else if (EFI_ERROR(st))
            fmt_snprintf(cpus[n].ap_error, sizeof(cpus[n].ap_error), "StartupThisAP returned 0x%lx", st);
    }

    unsigned passed = 0, failed = 0;
    for (UINTN n = 0; n < total; n++) {
        struct cpu_probe *c = &cpus[n];
        if (!enabled_cpu[n]) {
            guest_print("probe: FAIL cpu%lu setup: processor disabled or no memory for it", n);
            failed++;
            continue;
        }
        if (c->ap_error[0]) {
            guest_print("probe: FAIL cpu%lu ap-run: %s", n, c->ap_error);
            failed++;
        }
        if (!c->ran && !c->count)
            continue;
        guest_print("probe: cpu%lu is APIC ID %u%s", n, c->apic_id, c->bsp ? " (BSP)" : "");
        for (unsigned i = 0; i < c->count && i < PROBE_MAX_CHECKS; i++) {
            const struct check *k = &c->checks[i];
            if (k->pass) {
                guest_print("probe: PASS cpu%lu %s (%s)", n, k->name, k->why);
                passed++;
            } else {
                guest_print("probe: FAIL cpu%lu %s: %s", n, k->name, k->why);
                failed++;
            }
        }
    }
    if (env.have_footprint) {
        const struct minihv_footprint *fp = &env.footprint;
        guest_print("probe: footprint: block 0x%lx+0x%lx, image %lu KiB, host page tables %lu KiB, EPT/NPT %lu KiB, "
            "per-CPU %lu KiB; leaves 1G %lu, 2M %lu, 4K %lu",
            fp->block_base, fp->block_size, fp->image_bytes >> 10, fp->host_pt_bytes >> 10, fp->npt_bytes >> 10,
            fp->per_cpu_bytes >> 10, fp->leaves_1g, fp->leaves_2m, fp->leaves_4k);
    }
    guest_print("probe: %u passed, %u failed", passed, failed);
    if (cpus[self].hv) {
        /* The core's own exit table, on its serial log, after the probe's. */
        struct guard g;
        struct hc_regs r = { MINIHV_HC_DUMP_STATS, 0, 0, 0 };
        if (!guard_install(&g, cpus[self].pages, 4096)) {
            uint64_t fault = hypercall(&cpus[self], &r);
            guard_remove(&g);
            char f[24];
            if (fault)
                guest_print("probe: DUMP_STATS raised %s", guard_describe(fault, f, sizeof(f)));
            else if (r.rax != MINIHV_HC_OK)
                guest_print("probe: DUMP_STATS returned %ld", (int64_t)r.rax);
        }
    }
    if (option_given(image, L"triple-fault"))
        triple_fault();
    return failed ? EFI_ABORTED : EFI_SUCCESS;
}
