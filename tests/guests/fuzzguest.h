/* The fuzzing guest (issue 16): shared pieces of fuzzguest.c (main: load
 * options, CPUs, batches, invariants, the log, the watchdog, the report),
 * fuzzguest_ops.c (the operation stream) and fuzzguest_asm.c (the fault
 * recovery: a private IDT per CPU and fz_try). */
#ifndef MINIHV_TESTS_GUESTS_FUZZGUEST_H
#define MINIHV_TESTS_GUESTS_FUZZGUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FZ_MAX_CPUS 16
#define FZ_LOG      64 /* ring entries per CPU */
#define FZ_PAGES    8  /* per CPU: the IDT copy, then struct fz_cpu */
#define FZ_IPI_VEC  0xf1

/* Operation kinds: the log's and the report's names (fz_kind_names). */
enum fz_kind {
    K_CPUID, K_RDMSR, K_WRMSR, K_IN, K_OUT, K_STRIO, K_CFG, K_MMIO_R, K_MMIO_W,
    K_IPI, K_HCALL, K_XSETBV, K_CR, K_CACHE, K_VIRT, K_MISC, K_KINDS
};
extern const char *const fz_kind_names[K_KINDS];

/* One log record, written before its operation runs. */
struct fz_rec {
    uint64_t step;
    uint16_t kind, sub; /* enum fz_kind; the form, width or hypercall */
    uint8_t tf, done;   /* single-stepped; 1 once it returned (2: faulted) */
    uint16_t vec;       /* the fault vector when done == 2 */
    uint64_t a, b, c;   /* address/port/MSR/leaf, value, extra */
};

/* Per CPU, at its IDT copy + 4096 (the fault handler finds it with SIDT).
 * The first fields are read by the assembly in fuzzguest_asm.c: keep their
 * offsets (FZ_OFF_* there). */
struct fz_cpu {
    uint64_t jmp_rsp;   /* 0: RSP at fz_try, the resume point's stack */
    uint64_t armed;     /* 8: a fault now resumes at fz_try's return */
    uint64_t report;    /* 16: GUARD_FAULTED | error << 8 | vector */
    uint64_t tf_active; /* 24: single-stepping: #DB counts and returns */
    uint64_t db_count;  /* 32 */
    uint64_t nmi_count; /* 40 */
    uint64_t ipi_count; /* 48 */
    uint64_t orig[32];  /* 56: the handlers that were there (chained to when not armed) */
    /* ---- C only ---- */
    unsigned index;
    uint32_t apic_id;
    bool bsp;
    bool gen_bsp;       /* the stream is the BSP's (stream= replays an AP's on the BSP) */
    uint64_t rng;
    uint64_t step;              /* operations started */
    volatile uint64_t progress; /* batches done: the watchdog reads it */
    volatile int state;         /* FZ_IDLE ... */
    uint64_t ops[K_KINDS], faults[K_KINDS];
    uint64_t db_expected;       /* single-stepped operations */
    uint64_t nmi_sent;          /* NMI IPIs written to the ICR */
    uint64_t exits_start;
    uint64_t log_pos;
    struct fz_rec log[FZ_LOG];
    char fail[240];
    uint64_t notes;     /* operations that completed where the SDM has a fault the emulator lacks */
    char note[200];     /* the first */
    uint16_t idt_limit;
    uint64_t idt_saved_base;
    uint16_t idt_saved_limit;
    uint64_t fs_base_zero;
    uint64_t cr4, cr4_start;
    unsigned stream_index;      /* whose stream this CPU runs (stream=) */
    uint64_t rng2;              /* the alias window's stream (fuzzguest_alias.c) */
    uint64_t cr3_start;
    uint64_t alias_ops, alias_flips;
    uint8_t scratch[512] __attribute__((aligned(64)));
};
enum { FZ_IDLE, FZ_RUNNING, FZ_DONE, FZ_FAILED };

/* ---- fuzzguest_asm.c ---- */
/* Copies this CPU's IDT to `idt` (a page), points vectors 0-31 (not 8 and
 * 18), 2 (NMI) and FZ_IPI_VEC at the fuzzer's handlers and loads it; the
 * struct fz_cpu is at idt + 4096. 0, or -1 when the IDT does not fit. */
int fz_idt_install(void *idt);
void fz_idt_remove(struct fz_cpu *c);
/* Runs fn(arg) with faults recovered: 0 when it returned, else the fault
 * report (tests/guests/guard.h encoding). tf: with RFLAGS.TF set. */
uint64_t fz_try(void (*fn)(void *), void *arg, struct fz_cpu *c, uint64_t tf) __attribute__((visibility("hidden")));

/* ---- the environment the operations aim at (fuzzguest.c) ---- */
enum fz_wpol { W_NONE, W_DROP, W_IDENT, W_RANDOM };
struct fz_region {
    const char *name;
    uint64_t base, size;
    uint8_t wpol;       /* enum fz_wpol */
    bool bsp_writes;    /* writes on the BSP only (index/data races) */
    uint64_t wlo, whi;  /* W_RANDOM: the byte range writes may touch */
    uint64_t avoid_lo, avoid_hi; /* no write may touch [lo, hi) */
};
#define FZ_MAX_REGIONS 16
struct fz_env {
    bool intel;
    uint64_t seed;
    unsigned cpus;
    bool apic_strict;   /* Intel (Bochs): xAPIC accesses at 16-byte boundaries (fuzzguest_ops.c) */
    bool all_cpus;      /* every CPU the firmware has runs the fuzzer (NMI shorthands) */
    uint32_t apic_id[FZ_MAX_CPUS];
    uint32_t ldr[FZ_MAX_CPUS];
    uint64_t apic_base, block_base, block_size;
    uint64_t ecam;
    bool have_bdf;
    unsigned bus, dev, fn;
    uint16_t pm1a_evt, pm1a_cnt, reset_port;
    uint8_t reset_value;
    int s5_typ;         /* \_S5 SLP_TYP for PM1a, -1 when unknown */
    struct fz_region region[FZ_MAX_REGIONS];
    unsigned regions;
    uint8_t *buf;       /* a hypercall target: 2 pages of guest RAM */
    uint64_t ram_top;
    unsigned tf_permille;
    uint32_t kind_mask; /* 1 << kind: enabled kinds */
};
extern struct fz_env fz;

/* trace=STEP: the BSP prints each operation from STEP on before it runs
 * (fuzzguest.c); 0: never. */
extern uint64_t fz_trace;
void fz_trace_print(const char *line);

/* ---- fuzzguest_ops.c ---- */
uint64_t fz_xorshift(uint64_t *state); /* the next value of a stream */
uint64_t fz_rand(struct fz_cpu *c);   /* of c's main stream */
/* One operation: chosen from c's stream, logged, run under fz_try. */
void fz_one(struct fz_cpu *c);
/* The operation a record describes, for the dump. */
void fz_describe(const struct fz_rec *r, char *buf, size_t size);
/* MSR policy rows (hv/msr_policy.c) the stream touched, per row. */
extern volatile uint32_t fz_msr_row_hits[];
unsigned fz_msr_rows(void);
const char *fz_msr_row_name(unsigned row, uint32_t *first, uint32_t *last);
bool fz_msr_row_applies(unsigned row); /* a row of this CPU's backend (VMX on Intel, SVM on AMD) */
/* The form names of the MMIO operations, and how often each ran. */
extern volatile uint64_t fz_form_hits[];
unsigned fz_forms(void);
const char *fz_form_name(unsigned f);

/* ---- fuzzguest_alias.c: operands in pages whose PTEs other CPUs change ---- */
#define FZ_ALIAS_VA    0xffffff8000000000ull /* PML4 entry 511: beyond the firmware's identity map */
#define FZ_ALIAS_SLOTS 8  /* data slots; the code slot follows them */
#define FZ_SUB_EXEC    0xffff /* an MMIO record's form: a call into the code slot, RDI = a */
extern bool fz_alias_on; /* alias=0: off (the main stream is the same either way) */
/* The BSP, once the regions are known: builds the window; false when off. */
bool fz_alias_setup(void);
/* Each CPU: its second stream, and CR3 to the copy with the window. */
void fz_alias_enter(struct fz_cpu *c, unsigned stream_index);
void fz_alias_leave(struct fz_cpu *c);
/* fz_one, after the operation is drawn: may change a slot's PTE, and may
 * send r (an MMIO read, or an identity read-modify-write) through a slot
 * (r->a the slot's address, r->c the slot's PTE then); true if it did. */
bool fz_alias_op(struct fz_cpu *c, struct fz_rec *r, bool identity_rmw);
void fz_alias_describe(uint64_t pte, char *buf, size_t size);
void fz_alias_report(struct fz_cpu *const *cpus, unsigned n);

#endif
