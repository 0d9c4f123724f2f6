/* See vcpu.h. Vendor-neutral: everything here works on struct vcpu and
 * calls the backend only through v->ops. */
#include <minihv/format.h>
#include <minihv/io.h>
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "hv/console.h"
#include "hv/ept.h"
#include "hv/hv.h"
#include "hv/io.h"
#include "hv/iommu_hw.h"
#include "hv/passthrough_hw.h"
#include "hv/vcpu.h"
#include "hv/vcpu_policy.h"

#define MSR_EFER_LMA (1ull << 10)
#define CR4_PSE (1ull << 4)
#define CR4_OSXSAVE (1ull << 18)

static struct vcpu vcpus[MINIHV_MAX_CPUS];
static const char *const exit_kind_names[MINIHV_EXIT_KINDS] = { MINIHV_EXIT_KIND_NAMES };

struct vcpu *vcpu_get(unsigned index)
{
    return index < MINIHV_MAX_CPUS ? &vcpus[index] : NULL;
}

static uint32_t this_apic_id(void)
{
    uint32_t r[4];
    x86_cpuid(1, 0, r);
    return r[1] >> 24;
}

struct vcpu *vcpu_current(void)
{
    uint32_t id = this_apic_id();
    for (unsigned i = 0; hv_boot && i < hv_boot->cpu_count && i < MINIHV_MAX_CPUS; i++)
        if (vcpus[i].ops && vcpus[i].apic_id == id)
            return &vcpus[i];
    return NULL;
}

__attribute__((noreturn)) void cpu_park(void)
{
    for (;;)
        __asm__ volatile("cli; hlt");
}

/* ---- guest memory ---- */

bool vcpu_gpa_ok(uint64_t gpa, uint64_t size)
{
    return hv_boot && guest_buffer_ok(gpa, size, hv_boot->phys_top, hv_boot->hv_phys_base,
                                      hv_boot->hv_phys_size);
}

/* Guest-physical = host-physical (identity EPT), the core's identity map
 * reaches all of it. */
static bool read_gpa(uint64_t gpa, void *buf, unsigned len)
{
    if (!vcpu_gpa_ok(gpa, len))
        return false;
    memcpy(buf, (const void *)(uintptr_t)gpa, len);
    return true;
}

static bool write_gpa(uint64_t gpa, const void *buf, uint64_t len)
{
    if (!vcpu_gpa_ok(gpa, len))
        return false;
    memcpy((void *)(uintptr_t)gpa, buf, (size_t)len);
    return true;
}

#define ADDR_MASK_52 0x000ffffffffff000ull

/* The guest's paging (SDM Vol. 3A 4.3 32-bit, 4.4 PAE, 4.5 4-level). */
static bool translate(const struct vcpu_guest_mode *m, uint64_t gla, uint64_t *gpa)
{
    if (!(m->cr0 & CR0_PG)) {
        *gpa = gla & 0xffffffffull;
        return true;
    }
    if (!(m->cr4 & CR4_PAE)) {
        uint32_t pde, pte;
        gla &= 0xffffffffull;
        if (!read_gpa((m->cr3 & 0xfffff000ull) + ((gla >> 22) & 0x3ff) * 4, &pde, 4) || !(pde & PTE_P))
            return false;
        if ((pde & PTE_PS) && (m->cr4 & CR4_PSE)) {
            *gpa = (pde & 0xffc00000ull) | (uint64_t)((pde >> 13) & 0xff) << 32 | (gla & 0x3fffff);
            return true;
        }
        if (!read_gpa((pde & 0xfffff000ull) + ((gla >> 12) & 0x3ff) * 4, &pte, 4) || !(pte & PTE_P))
            return false;
        *gpa = (pte & 0xfffff000ull) | (gla & 0xfff);
        return true;
    }
    uint64_t table, e;
    int level;
    if (m->efer & MSR_EFER_LMA) {
        /* CR4.LA57: 5-level paging (SDM 4.5.1); Linux turns it on where
         * CPUID 7.ECX[16] offers it, as QEMU's -cpu max does. */
        table = m->cr3 & ADDR_MASK_52;
        level = (m->cr4 & CR4_LA57) ? 5 : 4;
    } else {
        gla &= 0xffffffffull;
        if (!read_gpa((m->cr3 & 0xffffffe0ull) + ((gla >> 30) & 3) * 8, &e, 8) || !(e & PTE_P))
            return false;
        table = e & ADDR_MASK_52;
        level = 2;
    }
    for (; level >= 1; level--) {
        unsigned shift = 12 + 9 * (unsigned)(level - 1);
        if (!read_gpa(table + ((gla >> shift) & 0x1ff) * 8, &e, 8) || !(e & PTE_P))
            return false;
        if (level == 1 || ((e & PTE_PS) && level <= 3)) {
            uint64_t size = 1ull << shift;
            *gpa = (e & ADDR_MASK_52 & ~(size - 1)) | (gla & (size - 1));
            return true;
        }
        table = e & ADDR_MASK_52;
    }
    return false;
}

/* Copies up to len bytes at gla, page by page; the count copied (it stops
 * at the first page that is not mapped or not the guest's). */
static unsigned read_linear(const struct vcpu_guest_mode *m, uint64_t gla, uint8_t *out, unsigned len)
{
    unsigned done = 0;
    while (done < len) {
        uint64_t gpa;
        unsigned chunk = (unsigned)MIN((uint64_t)(len - done), PAGE_SIZE - (gla & (PAGE_SIZE - 1)));
        if (!translate(m, gla, &gpa) || !read_gpa(gpa, out + done, chunk))
            break;
        done += chunk;
        gla += chunk;
    }
    return done;
}

bool vcpu_read_guest_linear(struct vcpu *v, uint64_t gla, void *buf, unsigned len)
{
    struct vcpu_guest_mode m;
    v->ops->get_mode(v, &m);
    return read_linear(&m, gla, buf, len) == len;
}

static uint64_t guest_rip_linear(struct vcpu *v, const struct vcpu_guest_mode *m)
{
    bool long64 = (m->efer & MSR_EFER_LMA) && m->cs_l;
    return long64 ? v->regs.rip : (m->cs_base + v->regs.rip) & 0xffffffffull;
}

static enum decode_mode guest_decode_mode(const struct vcpu_guest_mode *m)
{
    if ((m->efer & MSR_EFER_LMA) && m->cs_l)
        return DECODE_MODE_64;
    return m->cs_db ? DECODE_MODE_32 : DECODE_MODE_16;
}

/* Up to 15 bytes at the guest's RIP; the count read (a fetch can end at an
 * unmapped page). */
static unsigned fetch_insn(struct vcpu *v, uint8_t *bytes)
{
    struct vcpu_guest_mode m;
    v->ops->get_mode(v, &m);
    return read_linear(&m, guest_rip_linear(v, &m), bytes, DECODE_MAX_INSN_LEN);
}

void vcpu_reset_regs_to_init(struct vcpu *v)
{
    uint32_t r[4];
    x86_cpuid(1, 0, r);
    memset(v->regs.gpr, 0, sizeof(v->regs.gpr));
    v->regs.gpr[DECODE_RDX] = r[0]; /* family/model/stepping */
    v->regs.rip = 0xfff0;
    v->regs.rflags = 2;
}

/* ---- fatal report ---- */

__attribute__((noreturn)) void vcpu_fatal(struct vcpu *v, const char *why)
{
    static const char *const gpr_names[16] = {
        "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
        "r8 ", "r9 ", "r10", "r11", "r12", "r13", "r14", "r15",
    };
    struct vcpu_guest_mode m;
    uint8_t bytes[DECODE_MAX_INSN_LEN];
    char hex[DECODE_MAX_INSN_LEN * 3 + 1] = "";
    v->ops->get_mode(v, &m);
    unsigned n = fetch_insn(v, bytes);
    for (unsigned i = 0; i < n; i++)
        fmt_snprintf(hex + 3 * i, sizeof(hex) - 3 * i, "%02x ", bytes[i]);

    hv_log("FATAL cpu %u (APIC id %u): %s", v->index, v->apic_id, why);
    hv_log("  exit %s (reason %u), qualification 0x%lx, guest-physical 0x%lx",
           v->exit.name ? v->exit.name : "?", v->exit.raw_reason, v->exit.qualification, v->exit.gpa);
    hv_log("  guest RIP 0x%lx (linear 0x%lx, %d-bit code, CPL %u), bytes: %s", v->regs.rip,
           guest_rip_linear(v, &m), (int)guest_decode_mode(&m), m.cpl, n ? hex : "(unreadable)");
    for (unsigned i = 0; i < 16; i += 4)
        hv_log("  %s %016lx %s %016lx %s %016lx %s %016lx", gpr_names[i], v->regs.gpr[i],
               gpr_names[i + 1], v->regs.gpr[i + 1], gpr_names[i + 2], v->regs.gpr[i + 2],
               gpr_names[i + 3], v->regs.gpr[i + 3]);
    hv_log("  rip %016lx rflags %016lx cr0 %016lx cr3 %016lx cr4 %016lx efer %016lx",
           v->regs.rip, v->regs.rflags, m.cr0, m.cr3, m.cr4, m.efer);
    v->ops->dump(v);
    hv_log("cpu %u parked", v->index);
    cpu_park();
}

/* ---- handlers ---- */

void vcpu_handle_cpuid(struct vcpu *v)
{
    uint32_t leaf = (uint32_t)v->regs.gpr[DECODE_RAX], sub = (uint32_t)v->regs.gpr[DECODE_RCX];
    uint32_t r[4];
    x86_cpuid(leaf, sub, r);
    cpuid_policy(leaf, sub, r);
    v->regs.gpr[DECODE_RAX] = r[0];
    v->regs.gpr[DECODE_RBX] = r[1];
    v->regs.gpr[DECODE_RCX] = r[2];
    v->regs.gpr[DECODE_RDX] = r[3];
    vcpu_skip_insn(v);
}

static void inject_gp(struct vcpu *v)
{
    v->ops->inject_exception(v, 13, true, 0);
}

void vcpu_handle_msr_read(struct vcpu *v)
{
    uint32_t msr = (uint32_t)v->regs.gpr[DECODE_RCX];
    uint64_t value = 0;
    /* Only IA32_FEATURE_CONTROL is read from the hardware: it exists on
     * every CPU that got this far. */
    uint64_t hw = msr == MSR_IA32_FEATURE_CONTROL ? rdmsr(msr) : 0;
    if (msr_read_policy(msr, hw, &value) != MSR_OK) {
        inject_gp(v);
        return;
    }
    v->regs.gpr[DECODE_RAX] = (uint32_t)value;
    v->regs.gpr[DECODE_RDX] = value >> 32;
    vcpu_skip_insn(v);
}

void vcpu_handle_msr_write(struct vcpu *v)
{
    uint32_t msr = (uint32_t)v->regs.gpr[DECODE_RCX];
    uint64_t value = (uint32_t)v->regs.gpr[DECODE_RAX] | v->regs.gpr[DECODE_RDX] << 32;
    if (msr_write_policy(msr, value) != MSR_OK) {
        inject_gp(v);
        return;
    }
    vcpu_skip_insn(v);
}

void vcpu_handle_xsetbv(struct vcpu *v)
{
    struct vcpu_guest_mode m;
    uint32_t r[4];
    v->ops->get_mode(v, &m);
    if (!(m.cr4 & CR4_OSXSAVE)) {
        v->ops->inject_exception(v, 6, false, 0); /* #UD (SDM Vol. 2 XSETBV) */
        return;
    }
    x86_cpuid(0xd, 0, r);
    uint32_t xcr = (uint32_t)v->regs.gpr[DECODE_RCX];
    uint64_t value = (uint32_t)v->regs.gpr[DECODE_RAX] | v->regs.gpr[DECODE_RDX] << 32;
    if (m.cpl != 0 || !xsetbv_valid(xcr, value, (uint64_t)r[3] << 32 | r[0])) {
        inject_gp(v);
        return;
    }
    __asm__ volatile("xsetbv" ::"c"(xcr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32)));
    vcpu_skip_insn(v);
}

void vcpu_handle_invd(struct vcpu *v)
{
    /* INVD would drop dirty lines of the core too: write them back instead. */
    __asm__ volatile("wbinvd" ::: "memory");
    vcpu_skip_insn(v);
}

/* ---- hypercalls ---- */

static void fill_stats(const struct vcpu *c, struct minihv_stats *s)
{
    memset(s, 0, sizeof(*s));
    s->cpu_index = c->index;
    s->apic_id = c->apic_id;
    s->total_exits = c->total_exits;
    memcpy(s->exits, c->exits, sizeof(s->exits));
}

static int64_t hypercall(struct vcpu *v, uint64_t fn, uint64_t *rbx, uint64_t *rcx, uint64_t *rdx)
{
    switch (fn) {
    case MINIHV_HC_PING:
        *rbx = MINIHV_HC_PONG;
        *rcx = MINIHV_ABI_VERSION;
        *rdx = v->apic_id;
        return MINIHV_HC_OK;
    case MINIHV_HC_VERSION:
        *rbx = MINIHV_ABI_VERSION;
        *rcx = 0;
        return MINIHV_HC_OK;
    case MINIHV_HC_GET_STATS: {
        struct minihv_stats s;
        if (*rbx >= hv_boot->cpu_count || !vcpus[*rbx].ops || *rdx < sizeof(s))
            return MINIHV_HC_EINVAL;
        fill_stats(&vcpus[*rbx], &s);
        if (!write_gpa(*rcx, &s, sizeof(s)))
            return MINIHV_HC_EFAULT;
        *rbx = sizeof(s);
        return MINIHV_HC_OK;
    }
    case MINIHV_HC_FOOTPRINT: {
        struct minihv_footprint f;
        if (*rcx < sizeof(f))
            return MINIHV_HC_EINVAL;
        vcpu_fill_footprint(&f);
        if (!write_gpa(*rbx, &f, sizeof(f)))
            return MINIHV_HC_EFAULT;
        *rbx = sizeof(f);
        return MINIHV_HC_OK;
    }
    case MINIHV_HC_DUMP_STATS: {
        char line[160];
        vcpu_dump_stats();
        iommu_hw_summary(line, sizeof(line)); /* polls the fault records too */
        hv_log("%s", line);
        return MINIHV_HC_OK;
    }
    case MINIHV_HC_HV_CHECKSUM: {
        uint64_t size = hv_boot->hv_phys_size, off = *rbx, len = *rcx ? *rcx : size - MIN(off, size);
        /* Whole pages only: a digest of a byte would read the block. */
        if (off >= size || len > size - off || (off | len) & (PAGE_SIZE - 1))
            return MINIHV_HC_EINVAL;
        /* FNV-1a 64 (offset basis 0xcbf29ce484222325, prime 0x100000001b3). */
        const volatile uint8_t *p = (const volatile uint8_t *)(uintptr_t)(hv_boot->hv_phys_base + off);
        uint64_t h = 0xcbf29ce484222325ull;
        for (uint64_t i = 0; i < len; i++)
            h = (h ^ p[i]) * 0x100000001b3ull;
        *rbx = h;
        *rcx = hv_boot->hv_phys_base;
        *rdx = size;
        return MINIHV_HC_OK;
    }
    case MINIHV_HC_IOMMU_FAULTS:
        *rbx = iommu_hw_poll_faults();
        *rcx = iommu_hw_contains_dma();
        return MINIHV_HC_OK;
    default:
        return MINIHV_HC_EINVAL;
    }
}

void vcpu_handle_hypercall(struct vcpu *v)
{
    struct vcpu_guest_mode m;
    v->ops->get_mode(v, &m);
    int64_t rc = MINIHV_HC_EPERM;
    if (m.cpl == 0)
        rc = hypercall(v, v->regs.gpr[DECODE_RAX], &v->regs.gpr[DECODE_RBX],
                       &v->regs.gpr[DECODE_RCX], &v->regs.gpr[DECODE_RDX]);
    v->regs.gpr[DECODE_RAX] = (uint64_t)rc;
    vcpu_skip_insn(v);
}

/* ---- nested page faults ---- */

/* The core's memory as the guest sees it: reads all-ones, writes dropped. */
static bool hv_memory_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *value)
{
    (void)gpa;
    ((struct vcpu *)ctx)->hv_reads++;
    *value = size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
    return true;
}

static bool hv_memory_write(void *ctx, uint64_t gpa, unsigned size, uint64_t value)
{
    (void)gpa;
    (void)size;
    (void)value;
    ((struct vcpu *)ctx)->hv_writes++;
    return true;
}

static bool in_hv_block(uint64_t gpa)
{
    return gpa >= hv_boot->hv_phys_base && gpa - hv_boot->hv_phys_base < hv_boot->hv_phys_size;
}

void vcpu_handle_npf(struct vcpu *v, uint64_t gpa, unsigned access)
{
    v->exit.gpa = gpa;
    if (passthrough_npf(v, gpa, access))
        return;
    if (!in_hv_block(gpa)) {
        vcpu_count(v, MINIHV_EXIT_NPF_MMIO);
        vcpu_fatal(v, "guest access to an unmapped guest-physical address (no trapped device there)");
    }
    vcpu_count(v, MINIHV_EXIT_NPF_HV_MEMORY);
    if (access & NPF_FETCH)
        vcpu_fatal(v, "guest executes from the core's memory");

    struct vcpu_guest_mode m;
    struct decoded_insn insn;
    uint8_t bytes[DECODE_MAX_INSN_LEN];
    char why[200];
    v->ops->get_mode(v, &m);
    unsigned n = fetch_insn(v, bytes);
    enum decode_status st = decode_insn(bytes, n, guest_decode_mode(&m), &insn);
    if (st == DECODE_OK) {
        struct decode_mmio_ops ops = { hv_memory_read, hv_memory_write, v };
        st = decode_emulate(&insn, &v->regs, gpa, &ops);
    }
    if (st == DECODE_ERR_STRING) {
        /* REP MOVS/STOS and the other string forms would need the whole
         * iteration emulated (count, direction, both operands); not done:
         * say so plainly, with what the guest asked for. */
        bool rep = false;
        for (unsigned i = 0; i < n && i < insn.length; i++)
            rep |= bytes[i] == 0xf3 || bytes[i] == 0xf2;
        fmt_snprintf(why, sizeof(why),
                     "guest %sstring instruction (opcode 0x%02x, MOVS/STOS/LODS/CMPS/SCAS) %s the core's "
                     "memory at 0x%lx: not emulated, only MOV/MOVZX/MOVSX/ALU forms are (count: RCX)",
                     rep ? "REP " : "", insn.opcode_len ? insn.opcode[0] : 0,
                     (access & NPF_WRITE) ? "writes" : "reads", gpa);
        vcpu_fatal(v, why);
    }
    if (st != DECODE_OK) {
        int k = fmt_snprintf(why, sizeof(why), "access to the core's memory at 0x%lx, instruction not emulated: ",
                             gpa);
        decode_format_error(st, &insn, why + k, sizeof(why) - (size_t)k);
        vcpu_fatal(v, why);
    }
    uint64_t count = v->hv_reads + v->hv_writes;
    if (count <= 4 || (count & (count - 1)) == 0)
        hv_log("cpu %u: guest %s of the core's memory at 0x%lx (RIP 0x%lx): %s "
               "(%lu reads, %lu writes so far)",
               v->index, (access & NPF_WRITE) ? "write" : "read", gpa, v->regs.rip - insn.length,
               (access & NPF_WRITE) ? "dropped" : "all-ones", v->hv_reads, v->hv_writes);
}

/* ---- statistics ---- */

void vcpu_fill_footprint(struct minihv_footprint *f)
{
    *f = hv_footprint;
    struct pt_stats leaves;
    ept_count_leaves(&leaves);
    f->leaves_4k = leaves.leaves[0];
    f->leaves_2m = leaves.leaves[1];
    f->leaves_1g = leaves.leaves[2];
}

#define STATS_COLUMNS 8

/* The exit table, one row per kind, up to STATS_COLUMNS CPUs across;
 * every line starts with prefix. */
static void dump_exit_table(const char *prefix)
{
    unsigned count = hv_boot ? hv_boot->cpu_count : 0;
    char line[200];
    for (unsigned first = 0; first < count; first += STATS_COLUMNS) {
        unsigned last = MIN(count, first + STATS_COLUMNS);
        int n = fmt_snprintf(line, sizeof(line), "%sexits: %-10s", prefix, "reason");
        for (unsigned c = first; c < last; c++)
            n += fmt_snprintf(line + n, sizeof(line) - (size_t)n, " %9s%-3u", "cpu", c);
        hv_log("%s", line);
        for (int k = -1; k < MINIHV_EXIT_KINDS; k++) {
            n = fmt_snprintf(line, sizeof(line), "%sexits: %-10s", prefix, k < 0 ? "total" : exit_kind_names[k]);
            for (unsigned c = first; c < last; c++)
                n += fmt_snprintf(line + n, sizeof(line) - (size_t)n, " %12lu",
                                  k < 0 ? vcpus[c].total_exits : vcpus[c].exits[k]);
            hv_log("%s", line);
        }
    }
}

void vcpu_dump_stats(void)
{
    unsigned count = hv_boot ? hv_boot->cpu_count : 0;
    dump_exit_table("");
    struct minihv_footprint f;
    vcpu_fill_footprint(&f);
    hv_log("footprint: image %lu KiB, host page tables %lu KiB, EPT %lu KiB, per-CPU %lu KiB "
           "(%u CPUs), EPT leaves 1G %lu, 2M %lu, 4K %lu; block %lu MiB at 0x%lx",
           f.image_bytes >> 10, f.host_pt_bytes >> 10, f.npt_bytes >> 10, f.per_cpu_bytes >> 10,
           count, f.leaves_1g, f.leaves_2m, f.leaves_4k, f.block_size >> 20, f.block_base);
}

/* ---- port I/O (hv/io.h) ---- */

void vcpu_handle_io(struct vcpu *v, uint16_t port, unsigned size, bool in, bool string, bool rep)
{
    const char *name = "none";
    io_handler_fn fn = io_lookup(port, size, &name);
    if (string) {
        char why[160];
        fmt_snprintf(why, sizeof(why),
                     "guest %s%s (string I/O, %u-byte) on port 0x%x, intercepted for %s: not emulated",
                     rep ? "REP " : "", in ? "INS" : "OUTS", size, port, name);
        vcpu_fatal(v, why);
    }
    uint64_t *rax = &v->regs.gpr[DECODE_RAX];
    uint32_t value = size == 4 ? (uint32_t)*rax : (uint32_t)(*rax & ((1u << (8 * size)) - 1));
    if (!fn) /* an access no range claims (VMX: one that wraps past 0xffff) */
        io_hw(port, size, in, &value);
    else if (!fn(v, port, size, in, &value)) {
        char why[120];
        fmt_snprintf(why, sizeof(why), "%u-byte %s port 0x%x (%s): the handler refused it", size,
                     in ? "IN from" : "OUT to", port, name);
        vcpu_fatal(v, why);
    }
    if (in) {
        /* IN AL/AX keep the rest of RAX; IN EAX zero-extends (SDM Vol. 1 3.4.1.1). */
        if (size == 4)
            *rax = value;
        else {
            uint64_t mask = (1ull << (8 * size)) - 1;
            *rax = (*rax & ~mask) | (value & mask);
        }
    }
    vcpu_skip_insn(v);
}

/* ---- power-off and reset: the end-of-run summary ---- */

#define PM1_SLP_EN (1u << 13)      /* PM1x_CNT (ACPI 6.5 4.8.4.2.1) */
#define PM1_SLP_TYP(v) (((v) >> 10) & 7)
#define RST_CNT_PORT 0xcf9         /* Reset Control Register (PIIX/ICH) */
#define RST_CNT_RST_CPU (1u << 2)  /* 0 -> 1 starts the reset */

/* One table on the core's log, `minihv: hv: summary: ...`; printed once,
 * by the first CPU that gets here (the others are not waited for). */
static void print_summary(struct vcpu *v, const char *what)
{
    static bool printed;
    if (__atomic_exchange_n(&printed, true, __ATOMIC_ACQ_REL))
        return;
    unsigned count = hv_boot->cpu_count;
    char ids[MINIHV_MAX_CPUS * 4 + 1] = "";
    int n = 0;
    for (unsigned c = 0; c < count && c < MINIHV_MAX_CPUS; c++)
        n += fmt_snprintf(ids + n, sizeof(ids) - (size_t)n, "%s%u", c ? "," : "", vcpus[c].apic_id);
    struct minihv_footprint f;
    vcpu_fill_footprint(&f);
    hv_log("summary: cpu %u: %s", v->index, what);
    hv_log("summary: cpus %u (%s), APIC ids %s", count, v->ops->name, ids);
    hv_log("summary: memory block %lu MiB at 0x%lx; footprint image %lu KiB, host page tables %lu KiB, "
           "%s %lu KiB, per-CPU %lu KiB (all CPUs), leaves 1G %lu, 2M %lu, 4K %lu",
           f.block_size >> 20, f.block_base, f.image_bytes >> 10, f.host_pt_bytes >> 10,
           v->ops->name[0] == 's' ? "NPT" : "EPT", f.npt_bytes >> 10, f.per_cpu_bytes >> 10,
           f.leaves_1g, f.leaves_2m, f.leaves_4k);
    char pt_line[400];
    passthrough_summary(pt_line, sizeof(pt_line));
    hv_log("summary: %s", pt_line);
    if (passthrough_summary_regions(pt_line, sizeof(pt_line)) > 0)
        hv_log("summary: passthrough regions: %s", pt_line);
    iommu_hw_summary(pt_line, sizeof(pt_line));
    hv_log("summary: %s", pt_line);
    dump_exit_table("summary: ");
    hv_log("summary: end; the write goes to the hardware now");
}

/* PM1a/PM1b_CNT: a 2-byte write with SLP_EN asks for a sleep state (S5,
 * power-off, on QEMU and PIIX4 is SLP_TYP 0). Summary, then the write. */
static bool pm1_cnt_io(struct vcpu *v, uint16_t port, unsigned size, bool in, uint32_t *value)
{
    if (!in && size == 2 && (*value & PM1_SLP_EN)) {
        char what[120];
        fmt_snprintf(what, sizeof(what), "sleep request: PM1%c_CNT 0x%x <- 0x%x (SLP_EN, SLP_TYP %u)",
                     port == hv_boot->acpi_pm1b_cnt ? 'b' : 'a', port, *value, PM1_SLP_TYP(*value));
        print_summary(v, what);
    }
    io_hw(port, size, in, value);
    return true;
}

/* 0xcf9 (RST_CNT: a byte write with RST_CPU) and the FADT's RESET_REG (a
 * byte write of RESET_VALUE, ACPI 6.5 4.8.4.6). A dword at 0xcf8 touches
 * 0xcf9 too: CONFIG_ADDRESS, passed on as it is. */
bool vcpu_reset_port_io(struct vcpu *v, uint16_t port, unsigned size, bool in, uint32_t *value)
{
    bool reset = !in && size == 1 &&
                 ((port == RST_CNT_PORT && (*value & RST_CNT_RST_CPU)) ||
                  (port == hv_boot->acpi_reset_port && (uint8_t)*value == hv_boot->acpi_reset_value));
    if (reset) {
        char what[80];
        fmt_snprintf(what, sizeof(what), "reset request: port 0x%x <- 0x%x", port, *value & 0xff);
        print_summary(v, what);
    }
    io_hw(port, size, in, value);
    return true;
}

static void register_port(uint16_t port, uint32_t count, io_handler_fn fn, const char *name)
{
    if (io_register(port, count, fn, name))
        hv_log("io: cannot intercept %s at 0x%x (table full or overlap)", name, port);
}

void vcpu_register_power_ports(const struct minihv_boot_info *bi)
{
    if (bi->acpi_pm1a_cnt)
        register_port(bi->acpi_pm1a_cnt, 2, pm1_cnt_io, "PM1a_CNT");
    if (bi->acpi_pm1b_cnt)
        register_port(bi->acpi_pm1b_cnt, 2, pm1_cnt_io, "PM1b_CNT");
    /* With a passthrough device, CF8-CFF are the PCI intercept's, which
     * hands 0xcf9 back here. */
    if (!io_lookup(RST_CNT_PORT, 1, NULL))
        register_port(RST_CNT_PORT, 1, vcpu_reset_port_io, "RST_CNT");
    if (bi->acpi_reset_port && bi->acpi_reset_port != RST_CNT_PORT)
        register_port(bi->acpi_reset_port, 1, vcpu_reset_port_io, "RESET_REG");
    hv_log("io: %u port range(s) intercepted: PM1a_CNT 0x%x, PM1b_CNT 0x%x, RST_CNT 0x%x, RESET_REG 0x%x "
           "(value 0x%x); 0 = none", io_range_count(), bi->acpi_pm1a_cnt, bi->acpi_pm1b_cnt, RST_CNT_PORT,
           bi->acpi_reset_port, bi->acpi_reset_value);
}

/* ---- for the backends: instruction bytes and emulated accesses ---- */

unsigned vcpu_fetch_insn(struct vcpu *v, uint8_t *bytes, enum decode_mode *mode)
{
    struct vcpu_guest_mode m;
    v->ops->get_mode(v, &m);
    *mode = guest_decode_mode(&m);
    return fetch_insn(v, bytes);
}

enum decode_status vcpu_emulate_mmio(struct vcpu *v, uint64_t gpa, const struct decode_mmio_ops *ops,
                                     struct decoded_insn *insn)
{
    uint8_t bytes[DECODE_MAX_INSN_LEN];
    enum decode_mode mode;
    unsigned n = vcpu_fetch_insn(v, bytes, &mode);
    enum decode_status st = decode_insn(bytes, n, mode, insn);
    return st == DECODE_OK ? decode_emulate(insn, &v->regs, gpa, ops) : st;
}
