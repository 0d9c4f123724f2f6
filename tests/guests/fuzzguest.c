/* The fuzzing guest (issue 16): an EFI application minihv starts as its
 * guest, which runs, on every CPU at once, a seeded stream of operations
 * that make the core work (fuzzguest_ops.c has the stream and what it
 * leaves out), and after every batch checks from the guest that the core
 * is still whole: the hypervisor CPUID leaf answers on this CPU, PING
 * answers with this CPU's APIC ID, the digest of the core's code and
 * read-only data (HV_CHECKSUM) is the one taken at the start, and the
 * passthrough device's MSI-X table, read from the hardware by the core
 * (PT_MSIX_CHECK), holds no unmasked entry with a message the core
 * refuses. The BSP
 * watches the APs' progress counters (a stall is a failure too). On a
 * failure each CPU's operation log (the last FZ_LOG operations, written
 * before each ran) is printed, so the seed and step reproduce it
 * (scripts/fuzzguest-replay.sh). The harness (tests/emu/fuzzguest.sh)
 * adds what only the core's log shows: no FATAL, the refusal kinds.
 *
 * Load options (guest_args): seed=N (default: from the TSC; printed
 * first), seconds=N (guest time, default 60), until=STEP (each CPU stops
 * before operation STEP and prints its log), cpus=N (at most N CPUs),
 * batch=N (operations between checks, default 128), tf=N (per mille of
 * operations single-stepped, default 100), kinds=HEX (enabled kinds, bit
 * per enum fz_kind), bdf=BB:DD.F (the passthrough device), ro=HEX (bytes of
 * the core image that never change, from its start: text and rodata;
 * default 64 KiB), stall=N (seconds without progress that make a stall,
 * default 20), trace=STEP (the BSP prints each operation from STEP on
 * before it runs: for a replay, when the guest dies with its log),
 * stream=N (the BSP runs CPU N's stream, as that CPU did: with cpus=1, the
 * replay of an AP's failure), alias=0 (no alias window: fuzzguest_alias.c;
 * the main stream is the same either way).
 * Prints "fuzzguest: ..." lines, ends with "fuzzguest: N passed, N
 * failed" and "fuzzguest: done". */
#include <efi.h>
#include <efilib.h>
#include <minihv/boot_info.h>
#include <minihv/format.h>
#include <minihv/hypercall.h>
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "boot/mp_services.h"
#include "tests/guests/args.h"
#include "tests/guests/fuzzguest.h"
#include "tests/guests/guard.h"
#include "tests/guests/print.h"

struct fz_env fz;
uint64_t fz_trace;
static unsigned stream = ~0u; /* stream=N: the BSP runs CPU N's stream */

/* The trace goes to COM1 (0x3f8, a 16550) directly: ConOut draws each
 * line on the GOP console too, about 25 lines a second under QEMU's TCG,
 * too slow for the tens of thousands of operations a replay may need. */
static void com1_putc(char ch)
{
    for (unsigned spins = 0; spins < 100000; spins++) {
        uint8_t lsr;
        __asm__ volatile("inb %1, %0" : "=a"(lsr) : "Nd"((uint16_t)0x3fd));
        if (lsr & 0x20) /* LSR.THRE: the transmitter takes a byte */
            break;
    }
    __asm__ volatile("outb %b0, %1" ::"a"(ch), "Nd"((uint16_t)0x3f8));
}

void fz_trace_print(const char *line)
{
    for (const char *s = "fuzzguest: trace cpu0 "; *s; s++)
        com1_putc(*s);
    for (const char *s = line; *s; s++)
        com1_putc(*s);
    com1_putc('\r');
    com1_putc('\n');
}
static struct fz_cpu *cpu[FZ_MAX_CPUS];
static struct mp_services *mp;
static UINTN self_n;
static unsigned passed, failed;
static uint64_t seconds = 60, until = ~0ull, batch = 128, stall_secs = 20, ro_bytes = 0x10000;
static unsigned max_cpus = FZ_MAX_CPUS;
static bool seed_given;
static uint64_t tsc_hz;
static uint64_t ro_digest, ro_off;
static volatile int go, stop, release;
static uint64_t run_end; /* TSC at which every CPU stops */
static volatile unsigned ready;

static uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

static void result(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void result(bool ok, const char *fmt, ...)
{
    char line[280];
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    guest_print("fuzzguest: %s %s", ok ? "PASS" : "FAIL", line);
    if (ok)
        passed++;
    else
        failed++;
}

/* ---- hypercalls under this CPU's fault recovery ---- */
struct hc_job {
    struct hc_regs r;
};

static void hc_run(void *arg)
{
    struct hc_regs *h = arg;
    if (fz.intel)
        __asm__ volatile("vmcall" : "+a"(h->rax), "+b"(h->rbx), "+c"(h->rcx), "+d"(h->rdx) : : "memory");
    else
        __asm__ volatile("vmmcall" : "+a"(h->rax), "+b"(h->rbx), "+c"(h->rcx), "+d"(h->rdx) : : "memory");
}

static bool hc(struct fz_cpu *c, struct hc_regs *h)
{
    return fz_try(hc_run, h, c, 0) == 0 && (int64_t)h->rax == MINIHV_HC_OK;
}

static bool ro_checksum(struct fz_cpu *c, uint64_t *digest)
{
    struct hc_regs h = { MINIHV_HC_HV_CHECKSUM, ro_off, ro_bytes, 0 };
    if (!hc(c, &h))
        return false;
    *digest = h.rbx;
    return true;
}

/* Total and per-kind exits of every CPU (GET_STATS). */
static bool all_stats(struct fz_cpu *c, struct minihv_stats *st, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        struct hc_regs h = { MINIHV_HC_GET_STATS, i, (uint64_t)(uintptr_t)&st[i], sizeof(st[i]) };
        if (!hc(c, &h))
            return false;
    }
    return true;
}

/* ---- the invariants, on the CPU that runs them ---- */
static void cpuid_run(void *arg)
{
    uint32_t *r = arg;
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(MINIHV_CPUID_BASE), "c"(0));
}

static uint64_t msix_entries_checked; /* PT_MSIX_CHECK's count, for the summary */
static uint64_t msix_unmasked_max;    /* the most entries it found unmasked (judged) */
/* The device's MSI-X Message Control (ECAM address; 0: none). The run turns
 * MSI-X on (enable set, function mask clear: PCI 3.0 6.8.2.3) so that the
 * stream's table writes reach the physical table through the core and
 * PT_MSIX_CHECK has entries to judge (with MSI-X off they stay in the
 * model's copy: helper C's coverage run); put back at the end. */
static uint64_t msix_ctrl_addr;
static uint16_t msix_ctrl_saved;

static bool invariants(struct fz_cpu *c, bool digest)
{
    uint32_t r[4] = { 0, 0, 0, 0 };
    uint64_t rep = fz_try(cpuid_run, r, c, 0);
    if (rep || r[1] != MINIHV_CPUID_SIG_EBX || r[2] != MINIHV_CPUID_SIG_ECX || r[3] != MINIHV_CPUID_SIG_EDX) {
        fmt_snprintf(c->fail, sizeof(c->fail), "CPUID 0x40000000: 0x%x 0x%x 0x%x 0x%x (fault 0x%lx): the core is gone",
                     r[0], r[1], r[2], r[3], rep);
        return false;
    }
    struct hc_regs h = { MINIHV_HC_PING, 0, 0, 0 };
    if (!hc(c, &h) || h.rbx != MINIHV_HC_PONG || h.rdx != c->apic_id) {
        fmt_snprintf(c->fail, sizeof(c->fail), "PING: RAX 0x%lx RBX 0x%lx RDX 0x%lx (APIC ID %u)", h.rax, h.rbx, h.rdx,
                     c->apic_id);
        return false;
    }
    uint64_t d = 0;
    if (digest && (!ro_checksum(c, &d) || d != ro_digest)) {
        fmt_snprintf(c->fail, sizeof(c->fail), "HV_CHECKSUM of the core's code and rodata: 0x%016lx, was 0x%016lx", d,
                     ro_digest);
        return false;
    }
    /* The passthrough device's MSI-X table as the hardware holds it: no
     * entry unmasked with a message the core refuses (address outside the
     * MSI window, delivery mode other than fixed/lowest). */
    struct hc_regs m = { MINIHV_HC_PT_MSIX_CHECK, 0, 0, 0 };
    if (digest && (!hc(c, &m) || m.rax != MINIHV_HC_OK || m.rcx)) {
        fmt_snprintf(c->fail, sizeof(c->fail), "PT_MSIX_CHECK: RAX 0x%lx, %lu of %lu physical MSI-X entries unmasked "
                     "with a message the core refuses", m.rax, m.rcx, m.rbx);
        return false;
    }
    if (digest) {
        __atomic_store_n(&msix_entries_checked, m.rbx, __ATOMIC_RELAXED);
        uint64_t seen = __atomic_load_n(&msix_unmasked_max, __ATOMIC_RELAXED);
        while (m.rdx > seen && !__atomic_compare_exchange_n(&msix_unmasked_max, &seen, m.rdx, false, __ATOMIC_RELAXED,
                                                            __ATOMIC_RELAXED))
            ;
    }
    return true;
}

/* ---- the loop each CPU runs ---- */
static void cpu_setup(struct fz_cpu *c)
{
    uint32_t r[4];
    x86_cpuid(1, 0, r);
    c->apic_id = r[1] >> 24;
    __asm__ volatile("mov %%cr4, %0" : "=r"(c->cr4));
    /* CR4.OSXSAVE on when the CPU has XSAVE (CPUID.1:ECX bit 26; SDM Vol. 1
     * 13.3): XSETBV then exits instead of #UD. Put back at the end. */
    c->cr4_start = c->cr4;
    if ((r[2] & (1u << 26)) && !(c->cr4 & (1ull << 18))) {
        c->cr4 |= 1ull << 18;
        __asm__ volatile("mov %0, %%cr4" ::"r"(c->cr4) : "memory");
    }
    fz.ldr[c->index] = *(volatile uint32_t *)(uintptr_t)(fz.apic_base + 0xd0);
    fz.apic_id[c->index] = c->apic_id;
    /* FS base 0: the fs-override load form is the plain one (SDM 3.4.4). */
    uint32_t lo = 1, hi = 1;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0xc0000100u));
    c->fs_base_zero = !lo && !hi;
    unsigned sn = c->bsp && stream != ~0u ? stream : c->index;
    c->stream_index = sn;
    c->gen_bsp = c->bsp && (stream == ~0u || stream == self_n);
    uint64_t seed = fz.seed ^ (0x9e3779b97f4a7c15ull * (sn + 1));
    c->rng = seed ? seed : 1;
    for (unsigned i = 0; i < 8; i++)
        fz_rand(c);
}

static void fuzz_loop(struct fz_cpu *c)
{
    unsigned batches = (unsigned)c->progress;
    while (!stop) {
        uint64_t flags;
        __asm__ volatile("pushfq; popq %0; cli" : "=r"(flags)::"memory");
        for (uint64_t i = 0; i < batch && c->step < until && !c->fail[0]; i++)
            fz_one(c);
        bool ok = !c->fail[0] && invariants(c, c->bsp || (batches & 3) == 0);
        if (flags & (1u << 9))
            __asm__ volatile("sti" ::: "memory");
        batches++;
        c->progress++;
        if (!ok) {
            c->state = FZ_FAILED;
            stop = 1;
            return;
        }
        if (c->step >= until || rdtsc() >= run_end)
            break;
        if (c->bsp)
            return; /* the BSP comes back to watch the others between its batches */
    }
    c->state = FZ_DONE;
}

static VOID EFIAPI ap_main(VOID *arg)
{
    struct fz_cpu *c = arg;
    if (fz_idt_install((uint8_t *)c - 4096)) {
        fmt_snprintf(c->fail, sizeof(c->fail), "no usable IDT on this AP");
        c->state = FZ_FAILED;
        __atomic_add_fetch(&ready, 1, __ATOMIC_SEQ_CST);
        return;
    }
    cpu_setup(c);
    fz_alias_enter(c, c->stream_index);
    c->state = FZ_RUNNING;
    __atomic_add_fetch(&ready, 1, __ATOMIC_SEQ_CST);
    while (!go)
        __asm__ volatile("pause");
    if (!stop)
        fuzz_loop(c);
    if (c->state == FZ_RUNNING)
        c->state = FZ_DONE;
    while (!release)
        __asm__ volatile("pause");
    /* Take what is pending (a fixed IPI from another CPU) before the
     * firmware's IDT is back. */
    __asm__ volatile("sti; pause; pause; pause; pause; cli" ::: "memory");
    __asm__ volatile("mov %0, %%cr4" ::"r"(c->cr4_start) : "memory");
    fz_alias_leave(c);
    fz_idt_remove(c);
}

/* ---- the environment ---- */
#define FZ_UNMAPPED_GPA 0x7ffffff000ull

static void probe_read(void *arg)
{
    *(uint32_t *)arg = *(volatile uint32_t *)(uintptr_t)FZ_UNMAPPED_GPA;
}

static uint64_t acpi_table(const char *sig)
{
    static EFI_GUID acpi20 = ACPI_20_TABLE_GUID, acpi10 = ACPI_TABLE_GUID;
    void *rsdp = NULL;
    if ((EFI_ERROR(LibGetSystemConfigurationTable(&acpi20, &rsdp)) || !rsdp) &&
        (EFI_ERROR(LibGetSystemConfigurationTable(&acpi10, &rsdp)) || !rsdp))
        return 0;
    const uint8_t *r = rsdp;
    uint64_t sdt = r[15] >= 2 ? le64(r + 24) : 0;
    unsigned entry = 8;
    if (!sdt) {
        sdt = le32(r + 16);
        entry = 4;
    }
    if (!sdt)
        return 0;
    uint32_t len = le32((const void *)(uintptr_t)(sdt + 4));
    for (uint64_t p = sdt + 36; p + entry <= sdt + len; p += entry) {
        uint64_t t = entry == 8 ? le64((const void *)(uintptr_t)p) : le32((const void *)(uintptr_t)p);
        if (t && !memcmp((const void *)(uintptr_t)t, sig, 4))
            return t;
    }
    return 0;
}

/* A GAS in System I/O (ACPI 6.5 5.2.3.2), else 0. */
static uint16_t gas_io(const uint8_t *g)
{
    uint64_t a = le64(g + 4);
    return g[0] == 1 && a && a <= 0xfffe ? (uint16_t)a : 0;
}

/* \_S5's first package element in the DSDT (ACPI 6.5 7.4.2, AML 20.2):
 * Name(_S5, Package(){a, b, ...}); -1 when not found. */
static int s5_slp_typ(uint64_t dsdt)
{
    if (!dsdt)
        return -1;
    const uint8_t *d = (const void *)(uintptr_t)dsdt;
    uint32_t len = le32(d + 4);
    for (uint32_t i = 36; i + 12 < len; i++) {
        if (memcmp(d + i, "_S5_", 4) || d[i + 4] != 0x12)
            continue;
        uint32_t p = i + 5;
        p += 1 + (d[p] >> 6); /* PkgLength */
        p++;                  /* NumElements */
        if (d[p] == 0x0a)
            return d[p + 1];
        if (d[p] == 0x00 || d[p] == 0x01)
            return d[p];
        return -1;
    }
    return -1;
}

static void find_acpi(void)
{
    fz.s5_typ = -1;
    uint64_t facp = acpi_table("FACP");
    if (facp) {
        const uint8_t *f = (const void *)(uintptr_t)facp;
        uint32_t len = le32(f + 4);
        if (len >= 68) {
            fz.pm1a_evt = (uint16_t)le32(f + 56);
            fz.pm1a_cnt = (uint16_t)le32(f + 64);
        }
        if (len >= 184 && gas_io(f + 172))
            fz.pm1a_cnt = gas_io(f + 172);
        if (len >= 160 && gas_io(f + 148))
            fz.pm1a_evt = gas_io(f + 148);
        if (len >= 129 && (le32(f + 112) & (1u << 10)) && gas_io(f + 116)) {
            fz.reset_port = gas_io(f + 116);
            fz.reset_value = f[128];
        }
        uint64_t dsdt = len >= 148 ? le64(f + 140) : 0;
        if (!dsdt)
            dsdt = le32(f + 40);
        fz.s5_typ = s5_slp_typ(dsdt);
    }
    uint64_t t = acpi_table("MCFG");
    if (t) {
        uint32_t len = le32((const void *)(uintptr_t)(t + 4));
        for (uint64_t e = t + 44; e + 16 <= t + len; e += 16) {
            const uint8_t *m = (const void *)(uintptr_t)e;
            if (m[8] == 0 && m[9] == 0 && m[10] == 0) { /* segment 0 from bus 0 */
                fz.ecam = le64(m);
                break;
            }
        }
    }
}

static void add_region(const char *name, uint64_t base, uint64_t size, uint8_t wpol)
{
    if (fz.regions >= FZ_MAX_REGIONS || !base || !size)
        return;
    struct fz_region *g = &fz.region[fz.regions++];
    memset(g, 0, sizeof(*g));
    g->name = name;
    g->base = base;
    g->size = size;
    g->wpol = wpol;
}

/* The IOMMU register pages: VT-d DRHD (DMAR type 0, register base at 8;
 * VT-d 3.4 8.3) and AMD-Vi IVHD (IVRS types 0x10/0x11/0x40, base at 8;
 * AMD IOMMU 5.2.2.1). */
static void find_iommus(void)
{
    uint64_t t = acpi_table("DMAR");
    if (t) {
        uint32_t len = le32((const void *)(uintptr_t)(t + 4));
        for (uint64_t p = t + 48; p + 16 <= t + len;) {
            const uint8_t *s = (const void *)(uintptr_t)p;
            uint16_t type = (uint16_t)(s[0] | s[1] << 8), l = (uint16_t)(s[2] | s[3] << 8);
            if (l < 4)
                break;
            if (type == 0)
                add_region("iommu-vtd", le64(s + 8), 0x1000, W_DROP);
            p += l;
        }
    }
    t = acpi_table("IVRS");
    if (t) {
        uint32_t len = le32((const void *)(uintptr_t)(t + 4));
        for (uint64_t p = t + 48; p + 24 <= t + len;) {
            const uint8_t *s = (const void *)(uintptr_t)p;
            uint16_t l = (uint16_t)(s[2] | s[3] << 8);
            if (l < 4)
                break;
            if (s[0] == 0x10 || s[0] == 0x11 || s[0] == 0x40)
                add_region("iommu-amdvi", le64(s + 8), 0x4000, W_DROP);
            p += l;
        }
    }
}

/* The passthrough device: its ECAM page (identity writes, BSP only), its
 * memory BARs (reads), its MSI-X table (any write into the table). */
static void find_device(void)
{
    if (!fz.have_bdf || !fz.ecam)
        return;
    uint64_t cfg = fz.ecam + ((uint64_t)fz.bus << 20 | fz.dev << 15 | fz.fn << 12);
    volatile uint32_t *c = (volatile uint32_t *)(uintptr_t)cfg;
    if (c[0] == 0xffffffffu)
        return;
    add_region("ecam-dev", cfg, 0x1000, W_IDENT);
    fz.region[fz.regions - 1].bsp_writes = true;
    uint64_t bar[6] = { 0 };
    for (unsigned i = 0; i < 6; i++) {
        uint32_t lo = c[4 + i];
        if (lo & 1)
            continue;
        uint64_t b = lo & ~0xfull;
        if ((lo & 6) == 4 && i < 5) {
            b |= (uint64_t)c[5 + i] << 32;
            bar[i] = b;
            i++;
            continue;
        }
        bar[i] = b;
    }
    static const char *const names[6] = { "bar0", "bar1", "bar2", "bar3", "bar4", "bar5" };
    for (unsigned i = 0; i < 6; i++)
        if (bar[i])
            add_region(names[i], bar[i], 0x1000, W_NONE);
    /* MSI-X capability (PCI 3.0 6.8.2): table offset/BIR at +4. */
    unsigned p = (c[0xd] & 0xff) & ~3u;
    for (unsigned n = 0; p >= 0x40 && n < 48; n++) {
        uint32_t h = c[p / 4];
        if ((h & 0xff) == 0x11) {
            unsigned entries = ((h >> 16) & 0x7ff) + 1;
            uint32_t tab = c[p / 4 + 1];
            uint64_t base = bar[tab & 7];
            msix_ctrl_addr = cfg + p + 2;
            if (base) {
                uint64_t t = base + (tab & ~7u), page = t & ~0xfffull;
                uint64_t size = ALIGN_UP(t + entries * 16ull, 0x1000) - page;
                add_region("msix-table", page, size, W_RANDOM);
                fz.region[fz.regions - 1].wlo = t - page;
                fz.region[fz.regions - 1].whi = t - page + entries * 16ull;
            }
            break;
        }
        p = (h >> 8) & 0xfc;
    }
}

static void parse_args(EFI_HANDLE image)
{
    struct guest_args a;
    const CHAR16 *w, *v;
    size_t len, vl;
    if (!guest_args_open(image, &a))
        return;
    while (guest_args_next(&a, &w, &len)) {
        if (guest_arg_value(w, len, "seed=", &v, &vl)) {
            fz.seed = guest_arg_num(v, vl);
            seed_given = true;
        } else if (guest_arg_value(w, len, "seconds=", &v, &vl)) {
            seconds = guest_arg_num(v, vl);
        } else if (guest_arg_value(w, len, "until=", &v, &vl)) {
            until = guest_arg_num(v, vl);
        } else if (guest_arg_value(w, len, "cpus=", &v, &vl)) {
            max_cpus = (unsigned)guest_arg_num(v, vl);
        } else if (guest_arg_value(w, len, "batch=", &v, &vl)) {
            batch = guest_arg_num(v, vl);
        } else if (guest_arg_value(w, len, "tf=", &v, &vl)) {
            fz.tf_permille = (unsigned)guest_arg_num(v, vl);
        } else if (guest_arg_value(w, len, "kinds=", &v, &vl)) {
            fz.kind_mask = (uint32_t)guest_arg_num(v, vl);
        } else if (guest_arg_value(w, len, "bdf=", &v, &vl)) {
            fz.have_bdf = guest_arg_bdf(v, vl, &fz.bus, &fz.dev, &fz.fn);
        } else if (guest_arg_value(w, len, "ro=", &v, &vl)) {
            ro_bytes = guest_arg_num(v, vl) & ~0xfffull;
        } else if (guest_arg_value(w, len, "trace=", &v, &vl)) {
            fz_trace = guest_arg_num(v, vl);
        } else if (guest_arg_value(w, len, "stream=", &v, &vl)) {
            stream = (unsigned)guest_arg_num(v, vl);
        } else if (guest_arg_value(w, len, "stall=", &v, &vl)) {
            stall_secs = guest_arg_num(v, vl);
        } else if (guest_arg_value(w, len, "alias=", &v, &vl)) {
            fz_alias_on = guest_arg_num(v, vl) != 0;
        }
    }
}

/* ---- the report ---- */
static void dump_log(struct fz_cpu *c)
{
    char d[200];
    guest_print("fuzzguest: cpu%u (APIC ID %u) log, oldest first (seed 0x%lx, step %lu):", c->index, c->apic_id, fz.seed,
                c->step);
    uint64_t n = c->log_pos < FZ_LOG ? c->log_pos : FZ_LOG;
    for (uint64_t i = c->log_pos - n; i < c->log_pos; i++) {
        fz_describe(&c->log[i % FZ_LOG], d, sizeof(d));
        guest_print("fuzzguest:   cpu%u %s", c->index, d);
    }
}

static void report(uint64_t ticks, const struct minihv_stats *st0, const struct minihv_stats *st1, bool have_stats)
{
    uint64_t ms = tsc_hz ? ticks * 1000 / tsc_hz : 0, total = 0;
    uint64_t per_kind[K_KINDS] = { 0 }, faults[K_KINDS] = { 0 }, db = 0, db_exp = 0, nmi = 0, ipi = 0, nmi_sent = 0;
    for (unsigned i = 0; i < fz.cpus; i++) {
        struct fz_cpu *c = cpu[i];
        if (!c)
            continue;
        for (unsigned k = 0; k < K_KINDS; k++) {
            per_kind[k] += c->ops[k];
            faults[k] += c->faults[k];
            total += c->ops[k];
        }
        db += c->db_count;
        db_exp += c->db_expected;
        nmi += c->nmi_count;
        nmi_sent += c->nmi_sent;
        ipi += c->ipi_count;
        guest_print("fuzzguest: cpu%u (APIC ID %u): %lu operations, %lu batches, NMIs %lu, fixed IPIs %lu", i, c->apic_id,
                    c->step, c->progress, c->nmi_count, c->ipi_count);
        if (c->notes)
            guest_print("fuzzguest: cpu%u: %lu note(s), the first: %s", i, c->notes, c->note);
    }
    if (!ms)
        ms = 1;
    guest_print("fuzzguest: %lu operations in %lu.%03lu s (guest time): %lu/s", total, ms / 1000, ms % 1000,
                total * 1000 / ms);
    char line[300];
    int n;
    for (unsigned half = 0; half < 2; half++) {
        n = fmt_snprintf(line, sizeof(line), "fuzzguest: per kind (operations/s, faulted %%):");
        for (unsigned k = half * K_KINDS / 2; k < (half + 1) * K_KINDS / 2; k++)
            n += fmt_snprintf(line + n, sizeof(line) - (size_t)n, " %s %lu/s %lu%%", fz_kind_names[k],
                              per_kind[k] * 1000 / ms, per_kind[k] ? faults[k] * 100 / per_kind[k] : 0);
        guest_print("%s", line);
    }
    fz_alias_report(cpu, fz.cpus);
    guest_print("fuzzguest: single-stepped operations %lu, #DB traps %lu; NMI IPIs sent %lu, NMIs taken %lu; fixed IPIs "
                "taken %lu",
                db_exp, db, nmi_sent, nmi, ipi);
    if (have_stats) {
        static const char *const names[MINIHV_EXIT_KINDS] = { MINIHV_EXIT_KIND_NAMES };
        uint64_t ex = 0, kinds[MINIHV_EXIT_KINDS] = { 0 };
        for (unsigned i = 0; i < fz.cpus; i++) {
            ex += st1[i].total_exits - st0[i].total_exits;
            for (unsigned k = 0; k < MINIHV_EXIT_KINDS; k++)
                kinds[k] += st1[i].exits[k] - st0[i].exits[k];
        }
        guest_print("fuzzguest: exits %lu: %lu/s", ex, ex * 1000 / ms);
        n = fmt_snprintf(line, sizeof(line), "fuzzguest: exit kinds reached:");
        int m = 0;
        char miss[200];
        m = fmt_snprintf(miss, sizeof(miss), "fuzzguest: exit kinds not reached:");
        for (unsigned k = 0; k < MINIHV_EXIT_KINDS; k++) {
            if (kinds[k])
                n += fmt_snprintf(line + n, sizeof(line) - (size_t)n, " %s %lu", names[k], kinds[k]);
            else
                m += fmt_snprintf(miss + m, sizeof(miss) - (size_t)m, " %s", names[k]);
        }
        guest_print("%s", line);
        guest_print("%s", miss);
    }
    unsigned rows = fz_msr_rows(), hit = 0, mine = 0;
    for (unsigned r = 0; r < rows; r++) {
        mine += fz_msr_row_applies(r);
        hit += fz_msr_row_applies(r) && fz_msr_row_hits[r] != 0;
    }
    n = fmt_snprintf(line, sizeof(line),
                     "fuzzguest: MSR policy rows (%s) reached %u of %u (+ accesses outside the table: %u); not reached:",
                     fz.intel ? "VMX" : "SVM", hit, mine, fz_msr_row_hits[rows]);
    for (unsigned r = 0; r < rows; r++) {
        uint32_t a = 0, b = 0;
        if (fz_msr_row_hits[r] || !fz_msr_row_applies(r))
            continue;
        fz_msr_row_name(r, &a, &b);
        if (n < (int)sizeof(line) - 24)
            n += fmt_snprintf(line + n, sizeof(line) - (size_t)n, " 0x%x", a);
    }
    guest_print("%s", line);
    n = fmt_snprintf(line, sizeof(line), "fuzzguest: MMIO forms not run:");
    unsigned ran = 0;
    for (unsigned f = 0; f < fz_forms(); f++) {
        if (fz_form_hits[f]) {
            ran++;
            continue;
        }
        if (n < (int)sizeof(line) - 24)
            n += fmt_snprintf(line + n, sizeof(line) - (size_t)n, " %s", fz_form_name(f));
    }
    guest_print("fuzzguest: MMIO forms run %u of %u", ran, fz_forms());
    if (ran < fz_forms())
        guest_print("%s", line);
}

/* ---- main ---- */
EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
    static EFI_GUID mp_guid = MP_SERVICES_GUID;
    static struct minihv_stats st0[FZ_MAX_CPUS], st1[FZ_MAX_CPUS];
    InitializeLib(image, systab);
    fz.tf_permille = 100;
    fz.kind_mask = (1u << K_KINDS) - 1;
    parse_args(image);
    if (!seed_given)
        fz.seed = rdtsc() * 0x9e3779b97f4a7c15ull >> 16;
    guest_print("fuzzguest: seed 0x%lx (%s); seconds %lu, batch %lu, tf %u/1000, kinds 0x%x%s", fz.seed,
                seed_given ? "given" : "random", seconds, batch, fz.tf_permille, fz.kind_mask,
                until != ~0ull ? " (replay: stops before each CPU's step `until`)" : "");
    uint32_t r[4];
    x86_cpuid(0, 0, r);
    fz.intel = r[1] == 0x756e6547u;
    x86_cpuid(MINIHV_CPUID_BASE, 0, r);
    if (r[1] != MINIHV_CPUID_SIG_EBX || r[2] != MINIHV_CPUID_SIG_ECX) {
        result(false, "minihv: no MiniHv CPUID signature: not running under minihv");
        goto out;
    }
    /* CPUs */
    UINTN total = 1, enabled = 1;
    if (EFI_ERROR(BS->LocateProtocol(&mp_guid, NULL, (void **)&mp)) || !mp ||
        EFI_ERROR(mp->GetNumberOfProcessors(mp, &total, &enabled)) || EFI_ERROR(mp->WhoAmI(mp, &self_n))) {
        mp = NULL;
        total = 1;
        self_n = 0;
    }
    fz.cpus = (unsigned)(total > FZ_MAX_CPUS ? FZ_MAX_CPUS : total);
    if (fz.cpus > max_cpus)
        fz.cpus = max_cpus ? max_cpus : 1;
    fz.all_cpus = fz.cpus == total;
    if (self_n >= fz.cpus) {
        result(false, "setup: the BSP is processor %lu, beyond cpus=%u", self_n, fz.cpus);
        goto out;
    }
    for (unsigned i = 0; i < fz.cpus; i++) {
        EFI_PHYSICAL_ADDRESS pa = 0xffffffff;
        if (EFI_ERROR(BS->AllocatePages(AllocateMaxAddress, EfiBootServicesData, FZ_PAGES, &pa))) {
            result(false, "setup: out of memory");
            goto out;
        }
        memset((void *)(uintptr_t)pa, 0, FZ_PAGES * 4096);
        cpu[i] = (struct fz_cpu *)(uintptr_t)(pa + 4096);
        cpu[i]->index = i;
        cpu[i]->bsp = i == self_n;
    }
    EFI_PHYSICAL_ADDRESS bpa = 0xffffffff;
    if (EFI_ERROR(BS->AllocatePages(AllocateMaxAddress, EfiBootServicesData, 2, &bpa))) {
        result(false, "setup: out of memory");
        goto out;
    }
    fz.buf = (uint8_t *)(uintptr_t)bpa;
    struct fz_cpu *b = cpu[self_n];
    /* TSC rate from the firmware's Stall (guest time). */
    uint64_t t0 = rdtsc();
    BS->Stall(50000);
    tsc_hz = (rdtsc() - t0) * 20;
    if (!tsc_hz)
        tsc_hz = 1000000000ull;
    if (fz_idt_install((uint8_t *)b - 4096)) {
        result(false, "setup: no usable IDT on the BSP");
        goto out;
    }
    uint32_t alo, ahi;
    __asm__ volatile("rdmsr" : "=a"(alo), "=d"(ahi) : "c"(0x1bu)); /* IA32_APIC_BASE (SDM 10.4.4) */
    fz.apic_base = ((uint64_t)ahi << 32 | alo) & ~0xfffull & ((1ull << 52) - 1);
    cpu_setup(b);
    struct minihv_footprint fp;
    struct hc_regs h = { MINIHV_HC_FOOTPRINT, (uint64_t)(uintptr_t)&fp, sizeof(fp), 0 };
    if (!hc(b, &h)) {
        result(false, "setup: FOOTPRINT returned 0x%lx", h.rax);
        goto restore;
    }
    fz.block_base = fp.block_base;
    fz.block_size = fp.block_size;
    ro_off = ALIGN_UP((uint64_t)sizeof(struct minihv_boot_info), PAGE_SIZE);
    if (!ro_bytes || ro_off + ro_bytes > fz.block_size)
        ro_bytes = 0x10000;
    find_acpi();
    add_region("apic", fz.apic_base, 0x1000, W_IDENT);
    /* ICR low (0x300) is the IPI operation's. The rest of its 16-byte slot
     * is reserved (SDM Vol. 3A 10.4.1, Table 10-1), but QEMU decodes the
     * register from offset bits 11:4 only (hw/intc/apic.c apic_mem_write),
     * so a dword at 0x304-0x30c was an ICR low write the core never saw:
     * seed 0x14b05b917d15, cpu0 step 312970 (ANDL $-1 at 0x308) re-sent
     * an SMI-mode IPI to cpu0 itself and VMRUN failed on QEMU's SMM entry
     * state. The core now refuses every write in the slot but the dword
     * at 0x300 (hv/ipi.c, apic-icr-access): the stream writes there again,
     * that step is its regression check. */
    fz.region[fz.regions - 1].avoid_lo = 0x300;
    fz.region[fz.regions - 1].avoid_hi = 0x304;
    add_region("core-block", fz.block_base, fz.block_size, W_DROP);
    fz.apic_strict = fz.intel;
    if (!fz.intel) /* no exit either way; Bochs' I/O APIC is as strict as its xAPIC */
        add_region("ioapic", 0xfec00000ull, 0x1000, W_NONE);
    find_iommus();
    find_device();
    /* A page where nothing is (above RAM and every BAR; the attack guest's
     * unmapped-gpa): a target only when the firmware's page tables map it. */
    uint32_t probe = 0;
    if (!fz_try(probe_read, &probe, b, 0) && probe == 0xffffffffu)
        add_region("unmapped", FZ_UNMAPPED_GPA, 0x1000, W_DROP);
    if (fz_alias_setup())
        fz_alias_enter(b, b->stream_index);
    if (msix_ctrl_addr) {
        volatile uint16_t *ctl = (volatile uint16_t *)(uintptr_t)msix_ctrl_addr;
        msix_ctrl_saved = *ctl;
        *ctl = (uint16_t)((msix_ctrl_saved | 0x8000) & ~0x4000);
        guest_print("fuzzguest: MSI-X on for the run: Message Control 0x%x -> 0x%x", msix_ctrl_saved, *ctl);
    }
    if (!ro_checksum(b, &ro_digest)) {
        result(false, "setup: HV_CHECKSUM of [0x%lx, +0x%lx) failed", ro_off, ro_bytes);
        goto restore;
    }
    guest_print("fuzzguest: %u CPU(s), BSP processor %lu, %s; core block 0x%lx+0x%lx; code+rodata digest 0x%016lx "
                "over [0x%lx, +0x%lx); TSC %lu MHz",
                fz.cpus, self_n, fz.intel ? "Intel (VMCALL)" : "AMD (VMMCALL)", fz.block_base, fz.block_size, ro_digest,
                ro_off, ro_bytes, tsc_hz / 1000000);
    guest_print("fuzzguest: ports PM1a_EVT 0x%x PM1a_CNT 0x%x RESET_REG 0x%x (value 0x%x), \\_S5 SLP_TYP %d; ECAM 0x%lx%s",
                fz.pm1a_evt, fz.pm1a_cnt, fz.reset_port, fz.reset_value, fz.s5_typ, fz.ecam,
                fz.have_bdf ? "" : "; no passthrough device (bdf=)");
    for (unsigned i = 0; i < fz.regions; i++) {
        const struct fz_region *g = &fz.region[i];
        static const char *const pol[] = { "reads only", "any write (dropped)", "identity writes", "any write" };
        guest_print("fuzzguest: region %s 0x%lx+0x%lx: %s%s", g->name, g->base, g->size, pol[g->wpol],
                    g->bsp_writes ? " (BSP only)" : "");
    }
    bool have_stats = all_stats(b, st0, fz.cpus);
    /* APs: each runs ap_main until the BSP releases it. */
    unsigned aps = 0;
    for (unsigned i = 0; i < fz.cpus; i++) {
        if (i == self_n || !mp)
            continue;
        EFI_EVENT ev;
        if (EFI_ERROR(BS->CreateEvent(0, 0, NULL, NULL, &ev)) ||
            EFI_ERROR(mp->StartupThisAP(mp, ap_main, i, ev, 0, cpu[i], NULL))) {
            result(false, "setup: cpu%u did not start", i);
            continue;
        }
        aps++;
    }
    for (uint64_t end = rdtsc() + 30 * tsc_hz; ready < aps && rdtsc() < end;)
        __asm__ volatile("pause");
    if (ready < aps)
        result(false, "setup: only %u of %u APs came up in 30 s", ready, aps);
    uint64_t start = rdtsc();
    run_end = start + seconds * tsc_hz;
    b->state = FZ_RUNNING;
    go = 1;
    uint64_t last[FZ_MAX_CPUS] = { 0 }, seen[FZ_MAX_CPUS];
    for (unsigned i = 0; i < fz.cpus; i++)
        seen[i] = start;
    uint64_t end = start + seconds * tsc_hz, next_note = start + 10 * tsc_hz;
    bool stalled = false;
    while (b->state == FZ_RUNNING && !stop) {
        fuzz_loop(b);
        uint64_t now = rdtsc();
        for (unsigned i = 0; i < fz.cpus; i++) {
            struct fz_cpu *c = cpu[i];
            if (i == self_n || c->state != FZ_RUNNING)
                continue;
            if (c->progress != last[i]) {
                last[i] = c->progress;
                seen[i] = now;
            } else if (now - seen[i] > stall_secs * tsc_hz) {
                /* Still exiting (a livelock in the core) or not (stuck)? */
                struct minihv_stats s0, s1;
                struct hc_regs h0 = { MINIHV_HC_GET_STATS, i, (uint64_t)(uintptr_t)&s0, sizeof(s0) };
                struct hc_regs h1 = { MINIHV_HC_GET_STATS, i, (uint64_t)(uintptr_t)&s1, sizeof(s1) };
                bool st_ok = hc(b, &h0);
                BS->Stall(100000);
                st_ok = st_ok && hc(b, &h1);
                fmt_snprintf(c->fail, sizeof(c->fail),
                             "no progress for %lu s (stall): its last operation did not return; its exits in 100 ms: %ld (total %lu)",
                             stall_secs, st_ok ? (int64_t)(s1.total_exits - s0.total_exits) : -1, s1.total_exits);
                c->state = FZ_FAILED;
                stalled = true;
                stop = 1;
            }
        }
        if (now >= next_note) {
            uint64_t ops = 0;
            for (unsigned i = 0; i < fz.cpus; i++)
                ops += cpu[i]->step;
            guest_print("fuzzguest: ... %lu s, %lu operations", (now - start) / tsc_hz, ops);
            next_note = now + 10 * tsc_hz;
        }
        if (now >= end + 30 * tsc_hz)
            break;
    }
    stop = 1;
    uint64_t ticks = rdtsc() - start;
    /* Wait for the APs to finish their batch (a stalled one never does). */
    for (uint64_t w = rdtsc() + 30 * tsc_hz; rdtsc() < w;) {
        bool all = true;
        for (unsigned i = 0; i < fz.cpus; i++)
            if (cpu[i]->state == FZ_RUNNING && i != self_n)
                all = false;
        if (all)
            break;
        __asm__ volatile("pause");
    }
    /* Pending NMIs and IPIs land while every CPU still has its IDT. */
    BS->Stall(20000);
    bool final_ok = invariants(b, true);
    if (msix_ctrl_addr)
        *(volatile uint16_t *)(uintptr_t)msix_ctrl_addr = msix_ctrl_saved;
    if (!final_ok && b->state != FZ_FAILED)
        b->state = FZ_FAILED;
    have_stats = have_stats && all_stats(b, st1, fz.cpus);
    release = 1;
    BS->Stall(20000);
    report(ticks, st0, st1, have_stats);
    for (unsigned i = 0; i < fz.cpus; i++) {
        struct fz_cpu *c = cpu[i];
        bool bad = c->state == FZ_FAILED || c->fail[0] || (c->state == FZ_RUNNING && i != self_n);
        if (bad) {
            result(false, "cpu%u (APIC ID %u): %s (seed 0x%lx, step %lu)", i, c->apic_id,
                   c->fail[0] ? c->fail : "did not finish", fz.seed, c->step);
            dump_log(c);
        } else {
            result(true, "cpu%u (APIC ID %u): %lu operations, the invariants held after each of %lu batches", i,
                       c->apic_id, c->step, c->progress);
        }
    }
    if (until != ~0ull && !failed)
        for (unsigned i = 0; i < fz.cpus; i++)
            dump_log(cpu[i]);
    if (final_ok)
        result(true, "the core answers at the end: CPUID leaf, PING, code+rodata digest 0x%016lx unchanged, "
               "%lu physical MSI-X entries hold no refused message (up to %lu unmasked, judged)", ro_digest,
               msix_entries_checked, msix_unmasked_max);
    (void)stalled;
restore:
    fz_alias_leave(b);
    __asm__ volatile("mov %0, %%cr4" ::"r"(b->cr4_start) : "memory");
    fz_idt_remove(b);
out:
    guest_print("fuzzguest: %u passed, %u failed", passed, failed);
    guest_print("fuzzguest: done");
    return failed ? EFI_DEVICE_ERROR : EFI_SUCCESS;
}
