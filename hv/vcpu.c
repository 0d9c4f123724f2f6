/* See vcpu.h. Vendor-neutral: everything here works on struct vcpu and
 * calls the backend only through v->ops. */
#include <minihv/format.h>
#include <minihv/io.h>
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "hv/console.h"
#include "hv/devmodel.h"
#include "hv/exit_rules.h"
#include "hv/extable.h"
#include "hv/fatal_screen.h"
#include "hv/hv.h"
#include "hv/io.h"
#include "hv/refuse.h"
#include "hv/vcpu.h"
#include "hv/vcpu_policy.h"

#define MSR_EFER_LMA (1ull << 10)
#define CR4_PSE (1ull << 4)
#define CR4_OSXSAVE (1ull << 18)

static struct vcpu vcpus[MINIHV_MAX_CPUS];

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

/* Guest memory by the firmware's memory map, minus the block and the
 * special pages (hv/special_pages.h): RAM, and with reserved_ok the
 * firmware's Reserved ranges (runtime code, ACPI) too. Never MMIO. */
static struct guest_memory guest_memory(bool reserved_ok, unsigned *hint)
{
    return (struct guest_memory){
        hv_boot->mem, MIN(hv_boot->mem_range_count, (uint32_t)MINIHV_MAX_MEM_RANGES), reserved_ok,
        hv_boot->hv_phys_base, hv_boot->hv_phys_size, &hv_special, hint,
    };
}

bool vcpu_gpa_ok(uint64_t gpa, uint64_t size)
{
    if (!hv_boot)
        return false;
    struct guest_memory g = guest_memory(false, NULL);
    return guest_buffer_ok(gpa, size, &g);
}

/* Guest-physical = host-physical (identity EPT), the core's identity map
 * reaches all of it. The guest's page tables and code: RAM or Reserved,
 * never a device's registers (a read can have side effects). Checked
 * through this CPU's cache of pages found good (the same answer). */
static bool gpa_readable(struct vcpu *v, uint64_t gpa, unsigned len)
{
    unsigned specials = __atomic_load_n(&hv_special.count, __ATOMIC_ACQUIRE);
    if (guest_page_cache_hit(&v->read_pages, gpa, len, true, specials))
        return true; /* the common case: no map to build, no call */
    if (!hv_boot)
        return false;
    struct guest_memory g = guest_memory(true, &v->read_hint);
    return guest_buffer_ok_cached(gpa, len, &g, &v->read_pages);
}

static bool read_gpa(struct vcpu *v, uint64_t gpa, void *buf, unsigned len)
{
    if (!gpa_readable(v, gpa, len))
        return false;
    /* Eight bytes a move, then the rest (the core's memcpy copies bytes). */
    const uint8_t *from = (const uint8_t *)(uintptr_t)gpa;
    uint8_t *to = buf;
    for (; len >= 8; len -= 8, from += 8, to += 8)
        __builtin_memcpy(to, from, 8);
    while (len--)
        *to++ = *from++;
    return true;
}

/* A paging-structure entry (4 or 8 bytes, naturally aligned): one load,
 * so an entry the guest rewrites meanwhile is read whole, old or new
 * (SDM Vol. 3A 9.1.1: aligned quadword accesses are atomic), never torn
 * as a byte copy could. */
static bool read_entry(struct vcpu *v, uint64_t gpa, unsigned size, uint64_t *e)
{
    if ((gpa & (size - 1)) || !gpa_readable(v, gpa, size))
        return false;
    *e = size == 8 ? __atomic_load_n((const uint64_t *)(uintptr_t)gpa, __ATOMIC_RELAXED)
                   : __atomic_load_n((const uint32_t *)(uintptr_t)gpa, __ATOMIC_RELAXED);
    return true;
}

bool vcpu_read_pdptes(struct vcpu *v, uint64_t cr3, uint64_t pdpte[4])
{
    for (unsigned i = 0; i < 4; i++)
        if (!read_entry(v, (cr3 & 0xffffffe0ull) + 8 * i, 8, &pdpte[i]))
            return false;
    return true;
}

#define ADDR_MASK_52 0x000ffffffffff000ull

/* The guest's paging (SDM Vol. 3A 4.3 32-bit, 4.4 PAE, 4.5 4-level). */
static bool translate(struct vcpu *v, const struct vcpu_guest_mode *m, uint64_t gla, uint64_t *gpa)
{
    if (!(m->cr0 & CR0_PG)) {
        *gpa = gla & 0xffffffffull;
        return true;
    }
    if (!(m->cr4 & CR4_PAE)) {
        uint64_t pde, pte;
        gla &= 0xffffffffull;
        if (!read_entry(v, (m->cr3 & 0xfffff000ull) + ((gla >> 22) & 0x3ff) * 4, 4, &pde) || !(pde & PTE_P))
            return false;
        if ((pde & PTE_PS) && (m->cr4 & CR4_PSE)) {
            *gpa = (pde & 0xffc00000ull) | (uint64_t)((pde >> 13) & 0xff) << 32 | (gla & 0x3fffff);
            return true;
        }
        if (!read_entry(v, (pde & 0xfffff000ull) + ((gla >> 12) & 0x3ff) * 4, 4, &pte) || !(pte & PTE_P))
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
        if (!read_entry(v, (m->cr3 & 0xffffffe0ull) + ((gla >> 30) & 3) * 8, 8, &e) || !(e & PTE_P))
            return false;
        table = e & ADDR_MASK_52;
        level = 2;
    }
    for (; level >= 1; level--) {
        unsigned shift = 12 + 9 * (unsigned)(level - 1);
        if (!read_entry(v, table + ((gla >> shift) & 0x1ff) * 8, 8, &e) || !(e & PTE_P))
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
static unsigned read_linear(struct vcpu *v, const struct vcpu_guest_mode *m, uint64_t gla, uint8_t *out,
                            unsigned len)
{
    unsigned done = 0;
    while (done < len) {
        uint64_t gpa;
        unsigned chunk = (unsigned)MIN((uint64_t)(len - done), PAGE_SIZE - (gla & (PAGE_SIZE - 1)));
        if (!translate(v, m, gla, &gpa) || !read_gpa(v, gpa, out + done, chunk))
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
    return read_linear(v, &m, gla, buf, len) == len;
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
static unsigned fetch_insn(struct vcpu *v, const struct vcpu_guest_mode *m, uint8_t *bytes)
{
    return read_linear(v, m, guest_rip_linear(v, m), bytes, DECODE_MAX_INSN_LEN);
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
    hv_log_flag(MINIHV_LOG_FLAG_FATAL); /* the ring says so before the report (issue 17) */
    v->ops->get_mode(v, &m);
    unsigned n = fetch_insn(v, &m, bytes);
    for (unsigned i = 0; i < n; i++)
        fmt_snprintf(hex + 3 * i, sizeof(hex) - 3 * i, "%02x ", bytes[i]);

    /* The first three lines also go on the screen (hv/fatal_screen.c). */
    char head[3][192];
    const char *const head_ptr[3] = { head[0], head[1], head[2] };
    fmt_snprintf(head[0], sizeof(head[0]), "FATAL cpu %u (APIC id %u): %s", v->index, v->apic_id, why);
    fmt_snprintf(head[1], sizeof(head[1]), "  exit %s (reason %u), qualification 0x%lx, guest-physical 0x%lx",
                 v->exit.name ? v->exit.name : "?", v->exit.raw_reason, v->exit.qualification, v->exit.gpa);
    fmt_snprintf(head[2], sizeof(head[2]), "  guest RIP 0x%lx (linear 0x%lx, %d-bit code, CPL %u), bytes: %s",
                 v->regs.rip, guest_rip_linear(v, &m), (int)guest_decode_mode(&m), m.cpl,
                 n ? hex : "(unreadable)");
    for (unsigned i = 0; i < 3; i++)
        hv_log("%s", head[i]);
    for (unsigned i = 0; i < 16; i += 4)
        hv_log("  %s %016lx %s %016lx %s %016lx %s %016lx", gpr_names[i], v->regs.gpr[i],
               gpr_names[i + 1], v->regs.gpr[i + 1], gpr_names[i + 2], v->regs.gpr[i + 2],
               gpr_names[i + 3], v->regs.gpr[i + 3]);
    hv_log("  rip %016lx rflags %016lx cr0 %016lx cr3 %016lx cr4 %016lx efer %016lx",
           v->regs.rip, v->regs.rflags, m.cr0, m.cr3, m.cr4, m.efer);
    v->ops->dump(v);
    fatal_screen(head_ptr, 3);
    hv_log("cpu %u parked", v->index);
    cpu_park();
}

/* ---- handlers ---- */

/* CPUID exits by leaf row (cpuid_leaf_row) and the guest's privilege:
 * [row][0] at CPL 0-2, [row][1] at CPL 3; every CPU's together. */
static uint64_t cpuid_exits[CPUID_ROWS][2];

uint64_t vcpu_cpuid_exits(unsigned row, bool user)
{
    return row < CPUID_ROWS ? __atomic_load_n(&cpuid_exits[row][user], __ATOMIC_RELAXED) : 0;
}

void vcpu_handle_cpuid(struct vcpu *v)
{
    uint32_t leaf = (uint32_t)v->regs.gpr[DECODE_RAX], sub = (uint32_t)v->regs.gpr[DECODE_RCX];
    uint32_t r[4];
    struct vcpu_guest_mode m;
    v->ops->get_mode(v, &m);
    __atomic_add_fetch(&cpuid_exits[cpuid_leaf_row(leaf)][m.cpl == 3], 1, __ATOMIC_RELAXED);
    x86_cpuid(leaf, sub, r);
    cpuid_policy(leaf, sub, r);
    cpuid_mirror_guest(leaf, sub, m.cr4, r); /* OSXSAVE, OSPKE: the guest's CR4 */
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

/* CPUID.(0xd,0) EDX:EAX, the XCR0 bits the CPU supports, read before any
 * guest runs (0: no XSAVE). Not read at the exit: IA32_MISC_ENABLE bit 22
 * (Limit CPUID Maxval) is the guest's to set and limits CPUID in host mode
 * too, where a leaf above 2 then returns leaf 2's data (SDM Vol. 2 CPUID):
 * its cache descriptors taken for XCR0 bits let a reserved bit through to
 * the core's XSETBV, a #GP in the core (review R3, finding 2). */
static uint64_t xcr0_supported;

#define MSR_IA32_MISC_ENABLE    0x1a0
#define MISC_ENABLE_LIMIT_CPUID (1ull << 22) /* SDM Vol. 4 Table 2-2: Limit CPUID Maxval */

void vcpu_read_xsave_caps(void)
{
    /* The firmware may have left the limit on; the OS clears it (Linux's
     * early_init_intel) and then uses XSAVE: read past it (review R4). */
    uint64_t misc = 0;
    bool limited = !msr_safe_read(MSR_IA32_MISC_ENABLE, &misc) && (misc & MISC_ENABLE_LIMIT_CPUID) &&
                   !msr_safe_write(MSR_IA32_MISC_ENABLE, misc & ~MISC_ENABLE_LIMIT_CPUID);
    uint32_t r[4];
    x86_cpuid(0, 0, r);
    if (r[0] >= 0xd) {
        x86_cpuid(0xd, 0, r);
        xcr0_supported = (uint64_t)r[3] << 32 | r[0];
    }
    if (limited)
        msr_safe_write(MSR_IA32_MISC_ENABLE, misc);
}

void vcpu_handle_xsetbv(struct vcpu *v)
{
    struct vcpu_guest_mode m;
    v->ops->get_mode(v, &m);
    if (!(m.cr4 & CR4_OSXSAVE)) {
        v->ops->inject_exception(v, 6, false, 0); /* #UD (SDM Vol. 2 XSETBV) */
        return;
    }
    uint32_t xcr = (uint32_t)v->regs.gpr[DECODE_RCX];
    uint64_t value = (uint32_t)v->regs.gpr[DECODE_RAX] | v->regs.gpr[DECODE_RDX] << 32;
    if (m.cpl != 0 || !xsetbv_valid(xcr, value, xcr0_supported)) {
        inject_gp(v);
        return;
    }
    /* XSETBV raises #UD unless CR4.OSXSAVE is set where it runs: the core's
     * CR4 is the firmware's at launch, often without it (issue 15). Set it
     * around the instruction only; XCR0 itself is shared with the guest. */
    uint64_t cr4;
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    if (!(cr4 & CR4_OSXSAVE))
        __asm__ volatile("mov %0, %%cr4" ::"r"(cr4 | CR4_OSXSAVE) : "memory");
    __asm__ volatile("xsetbv" ::"c"(xcr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32)));
    if (!(cr4 & CR4_OSXSAVE))
        __asm__ volatile("mov %0, %%cr4" ::"r"(cr4) : "memory");
    vcpu_skip_insn(v);
}

void vcpu_handle_invd(struct vcpu *v)
{
    /* INVD would drop dirty lines of the core too: write them back instead. */
    __asm__ volatile("wbinvd" ::: "memory");
    vcpu_skip_insn(v);
}

/* ---- nested page faults ---- */

/* A page that is not memory for the guest and that no device model
 * claims (the core's block, an IOMMU register set, a hole, above the top
 * of RAM) answers as a master abort does on hardware (PCI 3.0 6.2.2):
 * reads all-ones, writes dropped. The block's accesses are counted on the
 * vCPU (hv_reads/hv_writes, exit kind npf-hv-mem). */
static bool abort_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *value)
{
    (void)gpa;
    if (ctx)
        ((struct vcpu *)ctx)->hv_reads++;
    *value = size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
    return true;
}

static bool abort_write(void *ctx, uint64_t gpa, unsigned size, uint64_t value)
{
    (void)gpa;
    (void)size;
    (void)value;
    if (ctx)
        ((struct vcpu *)ctx)->hv_writes++;
    return true;
}

static bool in_hv_block(uint64_t gpa)
{
    return gpa >= hv_boot->hv_phys_base && gpa - hv_boot->hv_phys_base < hv_boot->hv_phys_size;
}

void vcpu_refuse_fetch(struct vcpu *v, uint64_t gpa, const char *what)
{
    /* Hardware would fetch all-ones there: 0xFF 0xFF is FF /7, undefined
     * in opcode group 5 (SDM Vol. 2D A.4): #UD, RIP not advanced. */
    hv_refuse(HV_REFUSE_MMIO_FETCH, "cpu %u: instruction fetch from %s at 0x%lx (RIP 0x%lx): #UD", v->index, what,
              gpa, v->regs.rip);
    v->ops->inject_exception(v, 6, false, 0);
}

void vcpu_refuse_insn(struct vcpu *v, uint64_t gpa, enum decode_status st, const struct decoded_insn *insn,
                      const char *what)
{
    /* Hardware would complete the access; the core does not emulate this
     * form (string instructions among them): #GP(0), RIP not advanced,
     * so the guest sees a fault it can report rather than a wrong result. */
    char why[120];
    decode_format_error(st, insn, why, sizeof(why));
    hv_refuse(HV_REFUSE_MMIO_INSN, "cpu %u: access to %s at 0x%lx (RIP 0x%lx, opcode 0x%02x) not emulated: %s: #GP",
              v->index, what, gpa, v->regs.rip, insn->opcode_len ? insn->opcode[0] : 0, why);
    v->ops->inject_exception(v, 13, true, 0);
}

/* r += d at address size asz (2, 4, 8 bytes): a 32-bit register write
 * zero-extends, a 16-bit one keeps bits 63:16 (SDM Vol. 1 3.4.1.1). */
static void reg_add(uint64_t *r, unsigned asz, int64_t d)
{
    uint64_t v = *r + (uint64_t)d;
    *r = asz == 8 ? v : asz == 4 ? (uint32_t)v : (*r & ~0xffffull) | (v & 0xffff);
}

static uint64_t reg_get(uint64_t r, unsigned asz)
{
    return asz == 8 ? r : asz == 4 ? (uint32_t)r : (uint16_t)r;
}

/* See vcpu.h. */
unsigned vcpu_drop_string_store(struct vcpu *v, const struct decoded_insn *insn)
{
    uint8_t op = insn->opcode[0];
    if (insn->opcode_len != 1 || (op != 0xa4 && op != 0xa5 && op != 0xaa && op != 0xab))
        return 0;
    unsigned osz = insn->mode == DECODE_MODE_16 ? 2 : 4, asz;
    if (insn->opsize_prefix)
        osz = osz == 2 ? 4 : 2;
    if (insn->rex & 8) /* REX.W */
        osz = 8;
    if (!(op & 1))
        osz = 1;
    if (insn->mode == DECODE_MODE_64)
        asz = insn->addrsize_prefix ? 4 : 8;
    else if (insn->mode == DECODE_MODE_32)
        asz = insn->addrsize_prefix ? 2 : 4;
    else
        asz = insn->addrsize_prefix ? 4 : 2;
    bool rep = insn->rep || insn->repne;
    uint64_t *rcx = &v->regs.gpr[DECODE_RCX];
    if (!rep || reg_get(*rcx, asz)) {
        int64_t step = (v->regs.rflags & (1ull << 10)) ? -(int64_t)osz : (int64_t)osz; /* DF */
        reg_add(&v->regs.gpr[DECODE_RDI], asz, step);
        if (op == 0xa4 || op == 0xa5)
            reg_add(&v->regs.gpr[DECODE_RSI], asz, step);
        if (rep) {
            reg_add(rcx, asz, -1);
            if (reg_get(*rcx, asz))
                return osz; /* the next element: same instruction again */
        }
    }
    v->regs.rip += insn->length;
    return osz;
}

void vcpu_emulate_page(struct vcpu *v, uint64_t gpa, unsigned access, const struct decode_mmio_ops *ops,
                       const char *what)
{
    vcpu_count(v, MINIHV_EXIT_NPF_MMIO);
    if (access & NPF_FETCH) {
        vcpu_refuse_fetch(v, gpa, what);
        return;
    }
    struct decoded_insn insn;
    enum decode_status st = vcpu_emulate_mmio(v, gpa, ops, &insn);
    if (st != DECODE_OK)
        vcpu_refuse_insn(v, gpa, st, &insn, what);
}

void vcpu_handle_npf(struct vcpu *v, uint64_t gpa, unsigned access)
{
    v->exit.gpa = gpa;
    if (devmodel_npf(v, gpa, access))
        return;
    bool block = in_hv_block(gpa);
    const struct special_page *sp = block ? NULL : special_find(&hv_special, gpa, 1);
    bool iommu = sp && sp->kind == SPECIAL_IOMMU_REGS;
    bool msi = sp && sp->kind == SPECIAL_MSI_WINDOW;
    const char *what = block ? "the core's memory" : iommu ? "an IOMMU register page"
                       : msi ? "the interrupt message window" : "an unmapped address";
    vcpu_count(v, block ? MINIHV_EXIT_NPF_HV_MEMORY : MINIHV_EXIT_NPF_MMIO);
    if (access & NPF_FETCH) {
        vcpu_refuse_fetch(v, gpa, what);
        return;
    }
    struct decoded_insn insn;
    struct decode_mmio_ops ops = { abort_read, abort_write, block ? v : NULL };
    uint64_t rip = v->regs.rip;
    enum decode_status st = vcpu_emulate_mmio(v, gpa, &ops, &insn);
    /* A MOVS/STOS store (memcpy, memset) where writes go nowhere: dropped
     * element by element, as the hardware's master abort drops them. */
    if (st == DECODE_ERR_STRING && (access & NPF_WRITE)) {
        unsigned element = vcpu_drop_string_store(v, &insn);
        if (element && abort_write(ops.ctx, gpa, element, 0))
            st = DECODE_OK;
    }
    if (st != DECODE_OK) {
        vcpu_refuse_insn(v, gpa, st, &insn, what);
        return;
    }
    const char *done = (access & NPF_WRITE) ? "dropped" : "all-ones";
    if (!block) {
        /* Counted and logged by kind, rate-limited (hv/refuse.h). */
        hv_refuse(iommu ? HV_REFUSE_IOMMU_REGS : msi ? HV_REFUSE_MSI_WINDOW : HV_REFUSE_UNMAPPED_GPA, "cpu %u: %s of %s at 0x%lx (RIP 0x%lx): %s",
                  v->index, (access & NPF_WRITE) ? "write" : "read", what, gpa, rip, done);
        return;
    }
    uint64_t count = v->hv_reads + v->hv_writes;
    if (count <= 4 || (count & (count - 1)) == 0)
        hv_log("cpu %u: guest %s of the core's memory at 0x%lx (RIP 0x%lx): %s "
               "(%lu reads, %lu writes so far)",
               v->index, (access & NPF_WRITE) ? "write" : "read", gpa, rip, done, v->hv_reads, v->hv_writes);
}

/* ---- port I/O (hv/io.h) ---- */

void vcpu_handle_io(struct vcpu *v, uint16_t port, unsigned size, bool in, bool string, bool rep)
{
    const char *name = "none";
    io_handler_fn fn = io_lookup(port, size, &name);
    if (string) {
        /* The exit gives direction, size and port (SDM Vol. 3C Table 28-5,
         * APM Vol. 2 15.10.2), not a checked memory operand: INS/OUTS on
         * the few ports that exit (sleep, reset, config space) are not
         * emulated. Refused like an MMIO instruction the decoder cannot
         * carry out: #GP(0), counted, never fatal. */
        hv_refuse(HV_REFUSE_STRING_IO, "cpu %u: %s%s (%u-byte) on port 0x%x (%s) at RIP 0x%lx: #GP", v->index,
                  rep ? "REP " : "", in ? "INS" : "OUTS", size, port, name, v->regs.rip);
        v->ops->inject_exception(v, 13, true, 0);
        return;
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

/* ---- for the backends: instruction bytes and emulated accesses ---- */

unsigned vcpu_fetch_insn(struct vcpu *v, uint8_t *bytes, enum decode_mode *mode)
{
    struct vcpu_guest_mode m;
    v->ops->get_mode(v, &m);
    *mode = guest_decode_mode(&m);
    return fetch_insn(v, &m, bytes);
}

enum decode_status vcpu_emulate_mmio(struct vcpu *v, uint64_t gpa, const struct decode_mmio_ops *ops,
                                     struct decoded_insn *insn)
{
    uint8_t bytes[DECODE_MAX_INSN_LEN];
    enum decode_mode mode;
    unsigned n = vcpu_fetch_insn(v, bytes, &mode);
    enum decode_status st = decode_insn(bytes, n, mode, insn);
    if (st != DECODE_OK)
        return st;
    /* The bytes were read after the exit: another CPU may have replaced
     * the instruction (a load where a store faulted). Not emulated; the
     * guest executes what is there now and exits again if it must. */
    if (v->exit.access && !insn_matches_exit(insn, v->exit.access & NPF_WRITE, v->exit.access & NPF_FETCH)) {
        bool w = v->exit.access & NPF_WRITE, x = v->exit.access & NPF_FETCH;
        hv_refuse(HV_REFUSE_INSN_CHANGED, "cpu %u: the exit says %s at 0x%lx, the instruction now at RIP 0x%lx "
                  "(opcode 0x%02x) %s: run again", v->index, x ? "fetch" : w ? "write" : "read", gpa, v->regs.rip,
                  insn->opcode[0], x ? "is a data access" : w ? "only reads" : "only writes");
        return DECODE_OK;
    }
    return decode_emulate(insn, &v->regs, gpa, ops);
}
