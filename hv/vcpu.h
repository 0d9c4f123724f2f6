/* The vendor-neutral vCPU: exit handlers in vendor-neutral terms
 * (CPUID, MSR, XSETBV, hypercall, nested page fault), statistics per exit
 * kind, the fatal report. The backend (hv/vmx/, later hv/svm/) turns its
 * raw exit into one of these calls, and gives the handlers a handful of
 * functions through struct vcpu_ops. */
#ifndef MINIHV_HV_VCPU_H
#define MINIHV_HV_VCPU_H

#include <stdbool.h>
#include <stdint.h>
#include <minihv/boot_info.h>
#include <minihv/hypercall.h>
#include "hv/decode.h"
#include "hv/vcpu_policy.h"

struct vcpu;

/* What the neutral code needs of the guest's mode: to walk its page
 * tables, to decode its instructions, to check privilege. */
struct vcpu_guest_mode {
    uint64_t cr0, cr3, cr4, efer;
    uint64_t cs_base;
    bool cs_l, cs_db; /* CS.L (64-bit code), CS.D/B */
    unsigned cpl;
};

struct vcpu_ops {
    const char *name;
    void (*get_mode)(struct vcpu *v, struct vcpu_guest_mode *mode);
    /* A hardware exception delivered at the next entry (fault: RIP is not
     * advanced). */
    void (*inject_exception)(struct vcpu *v, unsigned vector, bool has_error, uint32_t error);
    /* Vendor state in a fatal report (VMCS fields, ...). */
    void (*dump)(struct vcpu *v);
};

/* The exit being handled, filled by the backend. */
struct vcpu_exit {
    uint32_t raw_reason;   /* the backend's own exit code */
    const char *name;      /* its name, for reports */
    uint64_t qualification;
    uint64_t gpa;          /* nested page faults */
    unsigned access;       /* nested page faults: NPF_READ/WRITE/FETCH as the exit says; else 0 */
    unsigned insn_len;     /* 0 when the backend does not know it */
};

struct vcpu {
    /* First: the exit trampolines store and load the GPRs here
     * (regs.gpr[] in encoding order; RSP, RIP, RFLAGS are synced by the
     * backend from and to its control block). */
    struct decode_regs regs;
    const struct vcpu_ops *ops;
    void *arch;            /* the backend's per-CPU state */
    unsigned index;        /* into boot_info.cpus[] */
    uint32_t apic_id;
    bool nmi_pending;      /* an NMI hit the host: give it to the guest */
    struct vcpu_exit exit;
    uint64_t total_exits;
    uint64_t exits[MINIHV_EXIT_KINDS];
    uint64_t hv_reads, hv_writes; /* guest accesses to the core's memory */
    uint64_t ept_gen_seen;        /* ept_generation() at this CPU's last flush */
    /* The reads of the guest's page walks and code (hv/vcpu.c read_gpa):
     * the memory-map range last hit and the pages found good, this CPU's
     * own (guest_memory.hint, guest_page_cache in hv/vcpu_policy.h). */
    unsigned read_hint;
    struct guest_page_cache read_pages;
};

/* Handlers called by the backend. Each either advances RIP past the
 * instruction, injects an exception, or reports and parks the CPU. */
void vcpu_handle_cpuid(struct vcpu *v);
/* CPUID exits so far in a row of cpuid_leaf_row (hv/vcpu_policy.h), at
 * CPL 3 (user) or below, every CPU's: the summary's cpuid-leaves table. */
uint64_t vcpu_cpuid_exits(unsigned row, bool user);
void vcpu_handle_hypercall(struct vcpu *v); /* hv/hypercall.c */
/* RDMSR/WRMSR: msr_handle_exit (hv/msr.h), by the rows of hv/msr_policy.c. */
void vcpu_handle_xsetbv(struct vcpu *v);
/* Once, before any guest runs: the XCR0 bits XSETBV may set. */
void vcpu_read_xsave_caps(void);
/* PAE paging's four PDPTEs at CR3[31:5] (SDM Vol. 3A 4.4.1), from guest
 * RAM only (hv/vcpu.c read_entry's rule); false when one cannot be read. */
bool vcpu_read_pdptes(struct vcpu *v, uint64_t cr3, uint64_t pdpte[4]);
void vcpu_handle_invd(struct vcpu *v);
/* A guest access to a guest-physical address the EPT/NPT does not map;
 * access is a bit set of NPF_READ/NPF_WRITE/NPF_FETCH. */
#define NPF_READ  1u
#define NPF_WRITE 2u
#define NPF_FETCH 4u
void vcpu_handle_npf(struct vcpu *v, uint64_t gpa, unsigned access);
/* A guest action on a page that is not memory the core refuses without
 * FATAL (issue 14): an instruction fetch there gets #UD (hardware would
 * fetch all-ones: FF /7), an access whose instruction the decoder cannot
 * emulate #GP(0); both counted (hv/refuse.h) and logged, rate-limited.
 * `what` names the page ("the core's memory"). */
void vcpu_refuse_fetch(struct vcpu *v, uint64_t gpa, const char *what);
/* A trapped page a device model answers through ops: the exit counted
 * npf-mmio, a fetch refused, the instruction emulated, one that cannot be
 * refused (what names the page in both lines). */
void vcpu_emulate_page(struct vcpu *v, uint64_t gpa, unsigned access, const struct decode_mmio_ops *ops,
                       const char *what);
void vcpu_refuse_insn(struct vcpu *v, uint64_t gpa, enum decode_status st, const struct decoded_insn *insn,
                      const char *what);
/* MOVS or STOS whose store hit a page where the core drops writes (the log
 * ring, an unmapped address, a device window that does not decode: a
 * memcpy or memset over it): one element dropped, RDI (and RSI) stepped
 * by DF, and with REP, RCX counted down and RIP kept until it reaches 0,
 * so the CPU goes on with the next element as after an interrupt between
 * iterations (SDM Vol. 2B MOVS, STOS, REP). The element's size, or 0 for
 * any other string instruction (INS reads a port: not dropped; the rest
 * only read). */
unsigned vcpu_drop_string_store(struct vcpu *v, const struct decoded_insn *insn);
/* An intercepted IN/OUT (only ports registered in hv/io.h exit), with
 * exit.insn_len set: the range's handler, RAX updated for IN, RIP
 * advanced. String forms (INS/OUTS, REP) are refused: #GP(0), counted. */
void vcpu_handle_io(struct vcpu *v, uint16_t port, unsigned size, bool in, bool string, bool rep);

static inline void vcpu_count(struct vcpu *v, enum minihv_exit_kind kind)
{
    v->total_exits++;
    v->exits[kind]++;
}

/* An exit first counted as `from` turned out to be `to` (a port access
 * that was the passthrough device's config space). */
static inline void vcpu_recount(struct vcpu *v, enum minihv_exit_kind from, enum minihv_exit_kind to)
{
    if (v->exits[from])
        v->exits[from]--;
    v->exits[to]++;
}
static inline void vcpu_skip_insn(struct vcpu *v)
{
    v->regs.rip += v->exit.insn_len;
}

/* The INIT state of what struct vcpu holds (SDM Vol. 3A 9.1.1 Table 9-1,
 * APM Vol. 2 14.1.3): GPRs 0 but EDX = CPUID.1 signature, RIP 0xfff0,
 * RFLAGS 2. The backend sets segments and control registers. */
void vcpu_reset_regs_to_init(struct vcpu *v);

/* Exit reason, qualification, guest RIP and instruction bytes, all guest
 * registers, the backend's state; then parks this CPU (cli; hlt forever). */
__attribute__((noreturn)) void vcpu_fatal(struct vcpu *v, const char *why);
__attribute__((noreturn)) void cpu_park(void);

/* Copies guest-linear memory (the guest's paging, then the identity
 * guest-physical map); false if any byte is unmapped or is the core's. */
bool vcpu_read_guest_linear(struct vcpu *v, uint64_t gla, void *buf, unsigned len);

/* Up to 15 bytes at the guest's RIP (the count read: a fetch can end at
 * an unmapped page) and the mode to decode them in. */
unsigned vcpu_fetch_insn(struct vcpu *v, uint8_t *bytes, enum decode_mode *mode);
/* Decodes the instruction at the guest's RIP and carries it out as an
 * access to gpa through ops (RIP advanced); the decoder's status. For
 * trapped pages a backend handles itself (the SVM backend's APIC page).
 * An instruction that does not match the exit's access (exit.access; it
 * was rewritten after the exit, hv/exit_rules.h) is not carried out:
 * DECODE_OK with RIP unchanged, the guest runs it again (counted as
 * refused insn-changed). */
enum decode_status vcpu_emulate_mmio(struct vcpu *v, uint64_t gpa, const struct decode_mmio_ops *ops,
                                     struct decoded_insn *insn);

/* ---- the per-CPU table ---- */
struct vcpu *vcpu_get(unsigned index);
struct vcpu *vcpu_current(void); /* by APIC ID; NULL before the CPU's start */

/* ---- the exit table and the summary (hv/summary.c) ---- */
/* The exit table (a row per kind that occurred) and the footprint. */
void vcpu_dump_stats(void);
/* Registers the FADT's PM1a/PM1b_CNT and RESET_REG unless it is in
 * 0xcf8-0xcff (hv/io.h; 0xcf9 is not intercepted, issue 15):
 * the first sleep (SLP_EN) or reset write prints the end-of-run summary
 * (`minihv: hv: summary: ...`, with every device model's lines,
 * hv/devmodel.h), then goes to the hardware. Before the
 * backend's global init, which builds its I/O bitmap from the table. */
void vcpu_register_power_ports(const struct minihv_boot_info *bi);
/* One write that may touch a sleep control register (`name` at `reg`, its
 * SLP_TYP/SLP_EN in byte slp_byte, \_S5's value s5_typ for it): the
 * decision every path shares (hv/io.h io_sleep_decide; ports, the FADT's
 * registers in System Memory, the FCH's PM1_CNT alias). Another sleep:
 * counted `sleep-state`, false (drop the write); \_S5: the summary, then
 * true; a write that sets no SLP_EN there: true. */
bool vcpu_sleep_write(struct vcpu *v, const char *name, uint64_t reg, unsigned slp_byte, uint8_t s5_typ,
                      uint64_t at, unsigned size, uint64_t value);
/* RESET_REG, and RST_CNT (0xcf9) when the PCI intercept hands it over (a
 * passthrough device without ECAM): summary on a reset write, then the
 * hardware. An io_handler_fn (hv/io.h). */
bool vcpu_reset_port_io(struct vcpu *v, uint16_t port, unsigned size, bool in, uint32_t *value);
/* Whether an OUT of size bytes at port is a reset request (RST_CNT with
 * RST_CPU, or RESET_REG's byte with RESET_VALUE): vcpu_reset_port_io's
 * test, for a handler that shares the port (hv/a20_gate.c). */
bool vcpu_reset_write(uint16_t port, unsigned size, uint32_t value);
/* The guest reset (a triple fault, a reset write the hardware did not
 * act on): the summary (once), then the machine's reset (hv/io.h
 * io_reset_machine), then a triple fault of the core. Never returns and
 * never parks. */
__attribute__((noreturn)) void vcpu_reset_machine(struct vcpu *v, const char *why);
void vcpu_fill_footprint(struct minihv_footprint *f);

/* A hypercall buffer the core may write: wholly in RAM of the firmware's
 * memory map, outside the core's block and every special page, no wrap
 * (guest_buffer_ok, hv/vcpu_policy.h). */
bool vcpu_gpa_ok(uint64_t gpa, uint64_t size);

/* Starts virtualization on this CPU: returns only on failure or when the
 * CPU has no usable VMX (then 0, nothing virtualized). */
int vcpu_start(const struct minihv_boot_info *bi, unsigned index, const struct minihv_resume *resume);

#endif
