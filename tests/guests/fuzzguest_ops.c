/* The fuzzer's operation stream (issue 16): each operation is drawn from
 * the CPU's xorshift stream, written to the CPU's log ring, then run under
 * fz_try (faults come back as reports, the operation is over). Every
 * operation is one the core sees (an exit) or one whose value to the core
 * is that it must not see it (#UD for VMX/SVM instructions, #GP for bad
 * MSR/XCR0/CR values). What the stream leaves out, so the run goes on:
 *  - port writes to ports the core does not intercept (they never reach
 *    it; they can only break the emulated machine): only CF8-CFF, PM1a_EVT,
 *    PM1a_CNT and RST_CNT are written, and never with RST_CPU (0xcf9 bit 2)
 *    or with SLP_EN and the \_S5 SLP_TYP (power-off: the core lets it
 *    through, by design); SLP_EN with any other SLP_TYP is written (the
 *    core refuses it); 0x64/0x92/RESET_REG (when not 0xcf9) never;
 *  - MMIO writes that would change the machine for the guest: the xAPIC
 *    page only gets identity writes (read-modify-write of the same value,
 *    or the value just read), never in ICR low's slot (0x300-0x30f: that
 *    sends an IPI, on QEMU at any offset in the slot; the IPI operation
 *    does that, with safe ICR values); the passthrough
 *    device's ECAM page and CF8/CFC only identity writes, on the BSP only
 *    (another CPU's index/data pair would race); its BARs reads only, its
 *    MSI-X table any value; the IOMMU pages and the core's block any value
 *    (the core drops them);
 *  - INIT/SIPI only where the core must drop them (absent APIC IDs, self,
 *    logical destinations no CPU has), NMI and a fixed vector the fuzzer
 *    handles to any CPU;
 *  - WRMSR of a value other than the one read only where the policy table
 *    (hv/msr_policy.c, linked in) says the core refuses the write, or for
 *    the checks it makes (APIC base moved/disabled, bad MTRR/PAT types);
 *  - HLT and MWAIT (a CPU with IF clear would stop), INT n (the firmware's
 *    handlers), hypercall buffers in guest RAM other than the fuzzer's own.
 */
#include <minihv/format.h>
#include <minihv/hypercall.h>
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "hv/msr_policy.h"
#include "tests/guests/fuzzguest.h"
#include "tests/guests/guard.h"

const char *const fz_kind_names[K_KINDS] = {
    "cpuid", "rdmsr", "wrmsr", "in", "out", "string-io", "pci-cfg", "mmio-read", "mmio-write",
    "ipi", "hypercall", "xsetbv", "cr-dr", "cache", "vmx-svm", "misc",
};

/* xorshift64* (Marsaglia 2003; Vigna 2016). */
uint64_t fz_xorshift(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dull;
}

uint64_t fz_rand(struct fz_cpu *c)
{
    return fz_xorshift(&c->rng);
}

static uint64_t rnd(struct fz_cpu *c, uint64_t n)
{
    return n ? fz_rand(c) % n : 0;
}

static bool chance(struct fz_cpu *c, unsigned permille)
{
    return rnd(c, 1000) < permille;
}

/* ---- the operation ---- */
struct fz_op {
    struct fz_rec *r;
    struct fz_cpu *cpu;
    uint64_t out, out2;
    uint64_t expect_fault; /* 1: a completed run is a finding (r->kind's check) */
};

/* ---- MMIO instruction forms ---- */
enum form_class { FC_READ, FC_RMW_IDENT, FC_VAL, FC_NONIDENT };
struct form {
    const char *name;
    uint8_t width, cls;
};
enum {
    R_MOVB, R_MOVW, R_MOVL, R_MOVQ, R_MOVZB, R_MOVZW, R_MOVSB, R_MOVSW, R_MOVSXD, R_CMPL, R_TESTL,
    R_ADDL, R_ANDQ, R_BTL, R_PUSH, R_LODSB, R_LODSL, R_LODSQ, R_MOVSL, R_REPMOVSL, R_CMPSL, R_SCASL,
    R_MOVDQU, R_MOVAPS, R_VMOVDQU, R_MMX, R_ADDR32, R_SEGCS, R_SEGES, R_SEGSS, R_SEGFS, R_PREFIXES,
    R_LONG, R_REPMOV, R_LOCKMOV, R_REXW, R_SIB, R_DISP, R_XLAT, R_MOVBE,
    W_MOVB, W_MOVW, W_MOVL, W_MOVQ, W_MOVIMM, W_ORB0, W_ORW0, W_ORL0, W_ORQ0, W_ANDL, W_ADDL0,
    W_SUBL0, W_XORL0, W_LOCKOR, W_XCHGL, W_CMPXCHGL, W_XADDL0, W_CMPXCHG8B, W_STOSB, W_STOSL,
    W_STOSQ, W_REPSTOSL, W_MOVSL, W_REPMOVSL, W_MOVNTI, W_MOVDQU, W_INCDEC, W_NOTNOT, W_SETCC,
    W_POPMEM, W_BTS, W_SEGES, W_OPSIZE, W_ADDR32, W_LOCKMOV, W_MMX, W_MOVBE,
    FORMS
};
static const struct form forms[FORMS] = {
    [R_MOVB] = { "movb-load", 1, FC_READ }, [R_MOVW] = { "movw-load", 2, FC_READ },
    [R_MOVL] = { "movl-load", 4, FC_READ }, [R_MOVQ] = { "movq-load", 8, FC_READ },
    [R_MOVZB] = { "movzb", 1, FC_READ }, [R_MOVZW] = { "movzw", 2, FC_READ },
    [R_MOVSB] = { "movsb-sx", 1, FC_READ }, [R_MOVSW] = { "movsw-sx", 2, FC_READ },
    [R_MOVSXD] = { "movsxd", 4, FC_READ }, [R_CMPL] = { "cmpl-mem", 4, FC_READ },
    [R_TESTL] = { "testl-mem", 4, FC_READ }, [R_ADDL] = { "addl-from-mem", 4, FC_READ },
    [R_ANDQ] = { "andq-from-mem", 8, FC_READ }, [R_BTL] = { "btl-mem", 4, FC_READ },
    [R_PUSH] = { "push-mem", 8, FC_READ }, [R_LODSB] = { "lodsb", 1, FC_READ },
    [R_LODSL] = { "lodsl", 4, FC_READ }, [R_LODSQ] = { "lodsq", 8, FC_READ },
    [R_MOVSL] = { "movsl-from", 4, FC_READ }, [R_REPMOVSL] = { "rep-movsl-from", 8, FC_READ },
    [R_CMPSL] = { "cmpsl", 4, FC_READ }, [R_SCASL] = { "scasl", 4, FC_READ },
    [R_MOVDQU] = { "movdqu-load", 16, FC_READ }, [R_MOVAPS] = { "movaps-load", 16, FC_READ },
    [R_VMOVDQU] = { "vmovdqu-load", 32, FC_READ }, [R_MMX] = { "movq-mmx-load", 8, FC_READ },
    [R_ADDR32] = { "addr32-load", 4, FC_READ }, [R_SEGCS] = { "cs-load", 4, FC_READ },
    [R_SEGES] = { "es-load", 4, FC_READ }, [R_SEGSS] = { "ss-load", 4, FC_READ },
    [R_SEGFS] = { "fs-load", 4, FC_READ }, [R_PREFIXES] = { "6-prefixes-load", 4, FC_READ },
    [R_LONG] = { "16-byte-insn", 4, FC_READ }, [R_REPMOV] = { "rep-mov-load", 4, FC_READ },
    [R_LOCKMOV] = { "lock-mov-load", 4, FC_READ }, [R_REXW] = { "rex40-load", 4, FC_READ },
    [R_SIB] = { "sib-load", 4, FC_READ }, [R_DISP] = { "disp8-load", 4, FC_READ },
    [R_XLAT] = { "xlat", 1, FC_READ }, [R_MOVBE] = { "movbe-load", 4, FC_READ },
    [W_MOVB] = { "movb-store", 1, FC_VAL }, [W_MOVW] = { "movw-store", 2, FC_VAL },
    [W_MOVL] = { "movl-store", 4, FC_VAL }, [W_MOVQ] = { "movq-store", 8, FC_VAL },
    [W_MOVIMM] = { "movl-imm", 4, FC_NONIDENT }, [W_ORB0] = { "orb-0", 1, FC_RMW_IDENT },
    [W_ORW0] = { "orw-0", 2, FC_RMW_IDENT }, [W_ORL0] = { "orl-0", 4, FC_RMW_IDENT },
    [W_ORQ0] = { "orq-0", 8, FC_RMW_IDENT }, [W_ANDL] = { "andl-ones", 4, FC_RMW_IDENT },
    [W_ADDL0] = { "addl-0", 4, FC_RMW_IDENT }, [W_SUBL0] = { "subl-0", 4, FC_RMW_IDENT },
    [W_XORL0] = { "xorl-0", 4, FC_RMW_IDENT }, [W_LOCKOR] = { "lock-orl-0", 4, FC_RMW_IDENT },
    [W_XCHGL] = { "xchgl", 4, FC_VAL }, [W_CMPXCHGL] = { "lock-cmpxchgl", 4, FC_VAL },
    [W_XADDL0] = { "lock-xaddl-0", 4, FC_RMW_IDENT }, [W_CMPXCHG8B] = { "cmpxchg8b", 8, FC_VAL },
    [W_STOSB] = { "stosb", 1, FC_VAL }, [W_STOSL] = { "stosl", 4, FC_VAL },
    [W_STOSQ] = { "stosq", 8, FC_VAL }, [W_REPSTOSL] = { "rep-stosl-2", 8, FC_NONIDENT },
    [W_MOVSL] = { "movsl-to", 4, FC_VAL }, [W_REPMOVSL] = { "rep-movsl-to", 8, FC_VAL },
    [W_MOVNTI] = { "movnti", 4, FC_VAL }, [W_MOVDQU] = { "movdqu-store", 16, FC_VAL },
    [W_INCDEC] = { "incl-decl", 4, FC_NONIDENT }, [W_NOTNOT] = { "notl-notl", 4, FC_NONIDENT },
    [W_SETCC] = { "setz", 1, FC_NONIDENT }, [W_POPMEM] = { "pop-mem", 8, FC_VAL },
    [W_BTS] = { "btsl", 4, FC_NONIDENT }, [W_SEGES] = { "es-store", 4, FC_VAL },
    [W_OPSIZE] = { "66-movl-store", 2, FC_VAL }, [W_ADDR32] = { "addr32-store", 4, FC_VAL },
    [W_LOCKMOV] = { "lock-mov-store", 4, FC_NONIDENT }, [W_MMX] = { "movq-mmx-store", 8, FC_VAL },
    [W_MOVBE] = { "movbe-store", 4, FC_VAL },
};
volatile uint64_t fz_form_hits[FORMS];
unsigned fz_forms(void) { return FORMS; }
const char *fz_form_name(unsigned f) { return f < FORMS ? forms[f].name : f == FZ_SUB_EXEC ? "call-code-slot" : "?"; }

static uint64_t mmio_pre_read(uint64_t a, unsigned w, uint64_t *hi)
{
    uint64_t v = 0;
    *hi = 0;
    switch (w) {
    case 1: __asm__ volatile("movzbl (%1), %k0" : "=r"(v) : "r"(a) : "memory"); break;
    case 2: __asm__ volatile("movzwl (%1), %k0" : "=r"(v) : "r"(a) : "memory"); break;
    case 4: __asm__ volatile("movl (%1), %k0" : "=r"(v) : "r"(a) : "memory"); break;
    case 8: __asm__ volatile("movq (%1), %0" : "=r"(v) : "r"(a) : "memory"); break;
    default: {
        uint64_t t[2];
        __asm__ volatile("movdqu (%1), %%xmm0; movdqu %%xmm0, (%0)" ::"r"(t), "r"(a) : "memory", "xmm0");
        v = t[0];
        *hi = t[1];
    }
    }
    return v;
}

/* r->sub = form, r->a = address, r->b = value (FC_VAL with a random value),
 * r->c = 1: the value is the one read first (identity). */
static void run_mmio(struct fz_op *o)
{
    struct fz_rec *r = o->r;
    uint64_t a = r->a, v = r->b, hi = 0, x = 0;
    if (r->sub == FZ_SUB_EXEC) { /* fuzzguest_alias.c: a load or a store at (%rdi), whichever the slot maps now */
        __asm__ volatile("call *%2" : "+D"(a), "=a"(x) : "r"(v) : "memory", "cc");
        o->out = x;
        return;
    }
    uint8_t *buf = o->cpu->scratch;
    const struct form *f = &forms[r->sub];
    if (f->cls == FC_VAL && r->c)
        v = mmio_pre_read(a, f->width >= 16 ? 16 : f->width, &hi);
    switch (r->sub) {
    case R_MOVB: __asm__ volatile("movb (%1), %b0" : "=q"(x) : "r"(a) : "memory"); break;
    case R_MOVW: __asm__ volatile("movw (%1), %w0" : "=r"(x) : "r"(a) : "memory"); break;
    case R_MOVL: __asm__ volatile("movl (%1), %k0" : "=r"(x) : "r"(a) : "memory"); break;
    case R_MOVQ: __asm__ volatile("movq (%1), %0" : "=r"(x) : "r"(a) : "memory"); break;
    case R_MOVZB: __asm__ volatile("movzbl (%1), %k0" : "=r"(x) : "r"(a) : "memory"); break;
    case R_MOVZW: __asm__ volatile("movzwl (%1), %k0" : "=r"(x) : "r"(a) : "memory"); break;
    case R_MOVSB: __asm__ volatile("movsbq (%1), %0" : "=r"(x) : "r"(a) : "memory"); break;
    case R_MOVSW: __asm__ volatile("movswq (%1), %0" : "=r"(x) : "r"(a) : "memory"); break;
    case R_MOVSXD: __asm__ volatile("movslq (%1), %0" : "=r"(x) : "r"(a) : "memory"); break;
    case R_CMPL: __asm__ volatile("cmpl (%1), %k0" : "+r"(x) : "r"(a) : "memory", "cc"); break;
    case R_TESTL: __asm__ volatile("testl %k0, (%1)" : "+r"(x) : "r"(a) : "memory", "cc"); break;
    case R_ADDL: __asm__ volatile("addl (%1), %k0" : "+r"(x) : "r"(a) : "memory", "cc"); break;
    case R_ANDQ: x = ~0ull; __asm__ volatile("andq (%1), %0" : "+r"(x) : "r"(a) : "memory", "cc"); break;
    case R_BTL: __asm__ volatile("btl $5, (%0)" ::"r"(a) : "memory", "cc"); break;
    case R_PUSH: __asm__ volatile("pushq (%1); popq %0" : "=r"(x) : "r"(a) : "memory"); break;
    case R_LODSB: __asm__ volatile("lodsb" : "=a"(x), "+S"(a) : : "memory"); break;
    case R_LODSL: __asm__ volatile("lodsl" : "=a"(x), "+S"(a) : : "memory"); break;
    case R_LODSQ: __asm__ volatile("lodsq" : "=a"(x), "+S"(a) : : "memory"); break;
    case R_MOVSL: {
        uint64_t d = (uint64_t)(uintptr_t)buf;
        __asm__ volatile("movsl" : "+S"(a), "+D"(d) : : "memory");
        break;
    }
    case R_REPMOVSL: {
        uint64_t d = (uint64_t)(uintptr_t)buf, n = 2;
        __asm__ volatile("rep movsl" : "+S"(a), "+D"(d), "+c"(n) : : "memory");
        break;
    }
    case R_CMPSL: {
        uint64_t d = (uint64_t)(uintptr_t)buf;
        __asm__ volatile("cmpsl" : "+S"(a), "+D"(d) : : "memory", "cc");
        break;
    }
    case R_SCASL: __asm__ volatile("scasl" : "+D"(a) : "a"(0) : "memory", "cc"); break;
    case R_MOVDQU: __asm__ volatile("movdqu (%0), %%xmm0" ::"r"(a) : "memory", "xmm0"); break;
    case R_MOVAPS: __asm__ volatile("movaps (%0), %%xmm1" ::"r"(a) : "memory", "xmm1"); break;
    case R_VMOVDQU: __asm__ volatile(".byte 0xc5, 0xfe, 0x6f, 0x07" /* vmovdqu (%rdi), %ymm0 */ ::"D"(a) : "memory"); break;
    case R_MMX: __asm__ volatile("movq (%0), %%mm0; emms" ::"r"(a) : "memory"); break;
    case R_ADDR32: __asm__ volatile(".byte 0x67; movl (%%rdi), %%eax" : "=a"(x) : "D"(a) : "memory"); break;
    case R_SEGCS: __asm__ volatile(".byte 0x2e; movl (%%rdi), %%eax" : "=a"(x) : "D"(a) : "memory"); break;
    case R_SEGES: __asm__ volatile(".byte 0x26; movl (%%rdi), %%eax" : "=a"(x) : "D"(a) : "memory"); break;
    case R_SEGSS: __asm__ volatile(".byte 0x36; movl (%%rdi), %%eax" : "=a"(x) : "D"(a) : "memory"); break;
    case R_SEGFS: __asm__ volatile(".byte 0x64; movl (%%rdi), %%eax" : "=a"(x) : "D"(a) : "memory"); break;
    case R_PREFIXES:
        __asm__ volatile(".byte 0x3e, 0x2e, 0x26, 0x36, 0x3e, 0x66, 0x66; movl (%%rdi), %%eax" : "=a"(x) : "D"(a) : "memory");
        break;
    case R_LONG: /* 14 prefixes + 2 bytes: over the 15-byte limit, #GP (SDM Vol. 2A 2.3.11) */
        __asm__ volatile(".byte 0x3e,0x3e,0x3e,0x3e,0x3e,0x3e,0x3e,0x3e,0x3e,0x3e,0x3e,0x3e,0x3e,0x3e; movl (%%rdi), %%eax"
                         : "=a"(x) : "D"(a) : "memory");
        break;
    case R_REPMOV: __asm__ volatile(".byte 0xf3; movl (%%rdi), %%eax" : "=a"(x) : "D"(a) : "memory"); break;
    case R_LOCKMOV: __asm__ volatile(".byte 0xf0; movl (%%rdi), %%eax" : "=a"(x) : "D"(a) : "memory"); break;
    case R_REXW: __asm__ volatile(".byte 0x40; movl (%%rdi), %%eax" : "=a"(x) : "D"(a) : "memory"); break;
    case R_SIB: {
        uint64_t idx = 3;
        __asm__ volatile("movl (%1,%2,4), %k0" : "=r"(x) : "r"(a - 12), "r"(idx) : "memory");
        break;
    }
    case R_DISP: __asm__ volatile("movl 0x40(%1), %k0" : "=r"(x) : "r"(a - 0x40) : "memory"); break;
    case R_XLAT: __asm__ volatile("xlatb" : "+a"(x) : "b"(a) : "memory"); break;
    case R_MOVBE: __asm__ volatile(".byte 0x0f, 0x38, 0xf0, 0x07" /* movbe (%rdi), %eax */ : "=a"(x) : "D"(a) : "memory"); break;
    case W_MOVB: __asm__ volatile("movb %b1, (%0)" ::"r"(a), "q"(v) : "memory"); break;
    case W_MOVW: __asm__ volatile("movw %w1, (%0)" ::"r"(a), "r"(v) : "memory"); break;
    case W_MOVL: __asm__ volatile("movl %k1, (%0)" ::"r"(a), "r"(v) : "memory"); break;
    case W_MOVQ: __asm__ volatile("movq %1, (%0)" ::"r"(a), "r"(v) : "memory"); break;
    case W_MOVIMM: __asm__ volatile("movl $0x5a5a0000, (%0)" ::"r"(a) : "memory"); break;
    case W_ORB0: __asm__ volatile("orb $0, (%0)" ::"r"(a) : "memory", "cc"); break;
    case W_ORW0: __asm__ volatile("orw $0, (%0)" ::"r"(a) : "memory", "cc"); break;
    case W_ORL0: __asm__ volatile("orl $0, (%0)" ::"r"(a) : "memory", "cc"); break;
    case W_ORQ0: __asm__ volatile("orq $0, (%0)" ::"r"(a) : "memory", "cc"); break;
    case W_ANDL: __asm__ volatile("andl $-1, (%0)" ::"r"(a) : "memory", "cc"); break;
    case W_ADDL0: __asm__ volatile("addl $0, (%0)" ::"r"(a) : "memory", "cc"); break;
    case W_SUBL0: __asm__ volatile("subl $0, (%0)" ::"r"(a) : "memory", "cc"); break;
    case W_XORL0: __asm__ volatile("xorl $0, (%0)" ::"r"(a) : "memory", "cc"); break;
    case W_LOCKOR: __asm__ volatile("lock orl $0, (%0)" ::"r"(a) : "memory", "cc"); break;
    case W_XCHGL: __asm__ volatile("xchgl %k0, (%1)" : "+r"(v) : "r"(a) : "memory"); break;
    case W_CMPXCHGL: {
        uint64_t cmp = v;
        __asm__ volatile("lock cmpxchgl %k2, (%1)" : "+a"(cmp) : "r"(a), "r"(v) : "memory", "cc");
        break;
    }
    case W_XADDL0: x = 0; __asm__ volatile("lock xaddl %k0, (%1)" : "+r"(x) : "r"(a) : "memory", "cc"); break;
    case W_CMPXCHG8B: {
        uint32_t lo = (uint32_t)v, hi32 = (uint32_t)(v >> 32);
        __asm__ volatile("lock cmpxchg8b (%%rdi)" : "+a"(lo), "+d"(hi32) : "b"((uint32_t)v), "c"((uint32_t)(v >> 32)), "D"(a)
                         : "memory", "cc");
        break;
    }
    case W_STOSB: __asm__ volatile("stosb" : "+D"(a) : "a"(v) : "memory"); break;
    case W_STOSL: __asm__ volatile("stosl" : "+D"(a) : "a"(v) : "memory"); break;
    case W_STOSQ: __asm__ volatile("stosq" : "+D"(a) : "a"(v) : "memory"); break;
    case W_REPSTOSL: {
        uint64_t n = 2;
        __asm__ volatile("rep stosl" : "+D"(a), "+c"(n) : "a"(v) : "memory");
        break;
    }
    case W_MOVSL: {
        uint64_t s = (uint64_t)(uintptr_t)buf;
        memcpy(buf, &v, 8);
        __asm__ volatile("movsl" : "+S"(s), "+D"(a) : : "memory");
        break;
    }
    case W_REPMOVSL: {
        uint64_t s = (uint64_t)(uintptr_t)buf, n = 2;
        memcpy(buf, &v, 8);
        __asm__ volatile("rep movsl" : "+S"(s), "+D"(a), "+c"(n) : : "memory");
        break;
    }
    case W_MOVNTI: __asm__ volatile("movnti %k1, (%0)" ::"r"(a), "r"(v) : "memory"); break;
    case W_MOVDQU: {
        uint64_t t[2] = { v, hi };
        __asm__ volatile("movdqu (%1), %%xmm0; movdqu %%xmm0, (%0)" ::"r"(a), "r"(t) : "memory", "xmm0");
        break;
    }
    case W_INCDEC: __asm__ volatile("incl (%0); decl (%0)" ::"r"(a) : "memory", "cc"); break;
    case W_NOTNOT: __asm__ volatile("notl (%0); notl (%0)" ::"r"(a) : "memory"); break;
    case W_SETCC: __asm__ volatile("cmp %0, %0; setz (%0)" ::"r"(a) : "memory", "cc"); break;
    case W_POPMEM: __asm__ volatile("pushq %1; popq (%0)" ::"r"(a), "r"(v) : "memory"); break;
    case W_BTS: __asm__ volatile("btsl $3, (%0)" ::"r"(a) : "memory", "cc"); break;
    case W_SEGES: __asm__ volatile(".byte 0x26; movl %%eax, (%%rdi)" ::"a"(v), "D"(a) : "memory"); break;
    case W_OPSIZE: __asm__ volatile(".byte 0x66; movl %%eax, (%%rdi)" ::"a"(v), "D"(a) : "memory"); break;
    case W_ADDR32: __asm__ volatile(".byte 0x67; movl %%eax, (%%edi)" ::"a"(v), "D"(a) : "memory"); break;
    case W_LOCKMOV: __asm__ volatile(".byte 0xf0; movl %%eax, (%%rdi)" ::"a"(v), "D"(a) : "memory"); break;
    case W_MMX: __asm__ volatile("movq %1, %%mm0; movq %%mm0, (%0); emms" ::"r"(a), "r"(v) : "memory"); break;
    case W_MOVBE: {
        uint32_t be = __builtin_bswap32((uint32_t)v); /* movbe stores it swapped back: the same bytes */
        __asm__ volatile(".byte 0x0f, 0x38, 0xf1, 0x07" /* movbe %eax, (%rdi) */ ::"a"(be), "D"(a) : "memory");
        break;
    }
    }
    o->out = x;
}

/* Picks a region, an offset and a form (r->kind K_MMIO_R or K_MMIO_W). */
static void gen_mmio(struct fz_cpu *c, struct fz_rec *r, bool write)
{
    if (!fz.regions) {
        r->kind = K_CPUID;
        r->a = 0;
        return;
    }
    const struct fz_region *g = &fz.region[rnd(c, fz.regions)];
    if (write && (g->wpol == W_NONE || (g->bsp_writes && !c->gen_bsp)))
        write = false;
    unsigned f;
    for (unsigned tries = 0;; tries++) {
        f = write ? W_MOVB + (unsigned)rnd(c, FORMS - W_MOVB) : (unsigned)rnd(c, W_MOVB);
        if (tries > 8) {
            f = write ? W_ORL0 : R_MOVL;
            break;
        }
        if (f == R_SEGFS && !c->fs_base_zero)
            continue;
        if (write && g->wpol == W_IDENT && forms[f].cls == FC_NONIDENT)
            continue;
        break;
    }
    /* Bochs asserts on an xAPIC access not at a 16-byte boundary (apic.cc,
     * "(addr & 0xf) == 0", a panic that ends the emulator): reads go to it
     * directly, so on Intel the APIC page gets reads of at most a dword at
     * a register's offset, identity writes there, and only pure stores in
     * the shapes the core drops (not an aligned dword: apic-access). */
    bool strict = fz.apic_strict && g->base == fz.apic_base;
    bool refused_shape = false;
    if (strict) {
        static const uint8_t pure[] = { W_MOVB, W_MOVW, W_MOVQ, W_STOSB, W_STOSQ,
                                        W_MOVDQU, W_SETCC, W_POPMEM, W_OPSIZE, W_MMX };
        if (!write) {
            if (forms[f].width > 4 || f == R_LONG)
                f = R_MOVL;
        } else if (rnd(c, 2)) {
            refused_shape = true;
            f = pure[rnd(c, ARRAY_SIZE(pure))];
        } else if (forms[f].width != 4 || forms[f].cls == FC_NONIDENT) {
            f = W_ORL0;
        }
    }
    unsigned w = forms[f].width;
    uint64_t off, u = rnd(c, 100);
    static const uint16_t apic_offs[] = { 0x20, 0x30, 0x80, 0x90, 0xb0, 0xd0, 0xe0, 0xf0, 0x100, 0x280,
                                         0x310, 0x320, 0x330, 0x340, 0x350, 0x360, 0x370, 0x380, 0x390, 0x3e0 };
    if (u < 50)
        off = rnd(c, g->size) & ~(uint64_t)(w - 1);
    else if (u < 65)
        off = rnd(c, g->size);
    else if (u < 80) /* across the page end */
        off = ((rnd(c, g->size) | 0xfff) + 1 - 1 - rnd(c, w > 1 ? w - 1 : 1));
    else if (g->base == fz.apic_base)
        off = apic_offs[rnd(c, ARRAY_SIZE(apic_offs))] + (u < 90 ? 0 : rnd(c, 4));
    else if (g->wpol == W_RANDOM)
        off = g->wlo + (rnd(c, (g->whi - g->wlo) / 4 + 1) * 4);
    else
        off = rnd(c, 0x40) & ~3ull;
    if (off >= g->size)
        off = g->size - 1;
    if (strict && !refused_shape)
        off &= 0xff0;
    if (write) {
        bool ok = true;
        if (g->avoid_hi && off < g->avoid_hi && off + w > g->avoid_lo)
            ok = false;
        if (g->wpol == W_RANDOM && (off < g->wlo || off + w > g->whi))
            ok = false;
        if (f == W_ADDR32 && g->base + off + w > 0x100000000ull)
            ok = false;
        if (!ok) {
            write = false;
            f = R_MOVL;
            if (strict) /* a read now: at a register's offset */
                off &= 0xff0;
        }
    }
    if (!write && f == R_ADDR32 && g->base + off + 4 > 0x100000000ull)
        f = R_MOVL;
    r->kind = write ? K_MMIO_W : K_MMIO_R;
    r->sub = (uint16_t)f;
    r->a = g->base + off;
    r->c = write && forms[f].cls == FC_VAL && g->wpol == W_IDENT && !refused_shape;
    r->b = g->wpol == W_RANDOM ? (rnd(c, 2) ? fz_rand(c) : (0xfee00000ull | rnd(c, 0x100000)) | (uint64_t)fz_rand(c) << 32)
                               : fz_rand(c);
    fz_form_hits[f]++;
}

/* ---- MSRs ---- */
volatile uint32_t fz_msr_row_hits[256];
unsigned fz_msr_rows(void) { return msr_rule_count < 255 ? msr_rule_count : 255; }
static unsigned vendor_on(void);

bool fz_msr_row_applies(unsigned row)
{
    return row < msr_rule_count && (msr_rules[row].on & vendor_on());
}

const char *fz_msr_row_name(unsigned row, uint32_t *first, uint32_t *last)
{
    if (row >= msr_rule_count)
        return "?";
    *first = msr_rules[row].first;
    *last = msr_rules[row].last;
    return msr_rules[row].why;
}

static unsigned vendor_on(void)
{
    return fz.intel ? MSR_ON_VMX : MSR_ON_SVM;
}

static uint32_t pick_msr(struct fz_cpu *c)
{
    static const uint32_t listed[] = {
        0x1b, 0x3a, 0x10, 0x48, 0x49, 0x8b, 0xfe, 0x174, 0x1d9, 0x1a0, 0x277, 0x2ff, 0x200, 0x201, 0x20e, 0x250,
        0x258, 0x259, 0x268, 0x400, 0x401, 0x480, 0x481, 0x482, 0x485, 0x48b, 0x491, 0x4d0, 0x6e0, 0x802, 0x808,
        0x80b, 0x830, 0x838, 0x83f, 0xc0000080, 0xc0000081, 0xc0000082, 0xc0000084, 0xc0000100, 0xc0000101,
        0xc0000102, 0xc0000103, 0xc0010010, 0xc0010015, 0xc0010114, 0xc0010117, 0xc0010131, 0xc0011029,
        0x9b, 0x79, 0x1f2, 0x1f3, 0x3f1, 0x600, 0xda0,
    };
    uint64_t u = rnd(c, 100);
    if (u < 45) {
        unsigned on = vendor_on();
        for (unsigned t = 0; t < 16; t++) {
            const struct msr_rule *m = &msr_rules[rnd(c, msr_rule_count)];
            if (m->on & on)
                return m->first + (uint32_t)rnd(c, (uint64_t)(m->last - m->first) + 1);
        }
    }
    if (u < 60)
        return listed[rnd(c, ARRAY_SIZE(listed))];
    if (u < 75)
        return (uint32_t)rnd(c, 0x2000);
    if (u < 85)
        return (rnd(c, 2) ? 0xc0000000u : 0xc0010000u) + (uint32_t)rnd(c, 0x2000);
    if (u < 90)
        return 0x800 + (uint32_t)rnd(c, 0x100);
    return (uint32_t)fz_rand(c);
}

static void note_msr_row(uint32_t msr)
{
    const struct msr_rule *m = msr_rule_find(msr, vendor_on());
    size_t row = m >= msr_rules && m < msr_rules + msr_rule_count ? (size_t)(m - msr_rules) : msr_rule_count;
    if (row < ARRAY_SIZE(fz_msr_row_hits))
        fz_msr_row_hits[row]++;
}

/* WRMSR modes (r->sub): 0 the value read, 1 r->b (the core must refuse:
 * deny rows and MSRs outside the table), 2 APIC base moved or disabled,
 * 3 a reserved memory type in the low byte (MTRRs: SDM Vol. 3A 11.11.2;
 * PAT 11.12.2; a PHYSMASK's low byte is reserved). */
static void gen_wrmsr(struct fz_cpu *c, struct fz_rec *r)
{
    uint32_t msr = pick_msr(c);
    const struct msr_rule *m = msr_rule_find(msr, vendor_on());
    bool refused = !m || m == &msr_rule_default || m->write == MSR_DENY;
    /* x2APIC registers outside the table pass to the hardware on VMX when
     * x2APIC is off (#GP); never a random value into one that exists. */
    r->a = msr;
    r->b = fz_rand(c);
    r->sub = 0;
    if (refused && !(msr >= 0x800 && msr <= 0x8ff) && chance(c, 700))
        r->sub = 1;
    else if (msr == 0x1b && chance(c, 500))
        r->sub = 2;
    else if (((msr >= 0x200 && msr <= 0x21f) || msr == 0x250 || msr == 0x258 || msr == 0x259 ||
              (msr >= 0x268 && msr <= 0x26f) || msr == 0x277 || msr == 0x2ff) && chance(c, 400))
        r->sub = 3;
    note_msr_row(msr);
}

static void run_wrmsr(struct fz_op *o)
{
    struct fz_rec *r = o->r;
    uint32_t msr = (uint32_t)r->a, lo, hi;
    uint64_t v = r->b;
    if (r->sub != 1) {
        __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
        v = (uint64_t)hi << 32 | lo;
        o->out2 = v;
        if (r->sub == 2) /* base moved by a page, or the global enable cleared (SDM 10.4.4) */
            v = r->b & 1 ? v + 0x1000 : v & ~(1ull << 11);
        else if (r->sub == 3) /* type 2 or 3 in the low field: reserved for MTRRs and PAT (SDM 11.11.2.2, 11.12.2) */
            v = (v & ~0xffull) | (r->b & 1 ? 2 : 3);
    }
    __asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
    if (r->sub >= 1) {
        /* It went through: put the value read back before anything uses it. */
        o->expect_fault = 1;
        if (r->sub != 1)
            __asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)o->out2), "d"((uint32_t)(o->out2 >> 32)) : "memory");
    }
}

/* ---- ports ---- */
static uint16_t intercepted_port(struct fz_cpu *c)
{
    uint16_t list[12];
    unsigned n = 0;
    for (unsigned p = 0xcf8; p <= 0xcff; p++)
        list[n++] = (uint16_t)p;
    if (fz.pm1a_cnt)
        list[n++] = fz.pm1a_cnt, list[n++] = (uint16_t)(fz.pm1a_cnt + 1);
    if (fz.pm1a_evt)
        list[n++] = fz.pm1a_evt;
    if (fz.reset_port)
        list[n++] = fz.reset_port;
    uint16_t p = list[rnd(c, n)];
    if (chance(c, 150)) /* an access that starts below and runs into it */
        p = (uint16_t)(p - 1 - rnd(c, 3));
    return p;
}

static uint16_t read_port(struct fz_cpu *c)
{
    static const uint16_t others[] = { 0x20, 0x21, 0xa0, 0xa1, 0x40, 0x41, 0x42, 0x61, 0x70, 0x71, 0x80,
                                       0x92, 0x60, 0x64, 0x2f8, 0x2f9, 0x2fa, 0x2fb, 0x2fc, 0x2fd, 0x2fe,
                                       0x2ff, 0xcf9, 0xb2, 0xb3, 0x4d0, 0x4d1 };
    uint64_t u = rnd(c, 100);
    if (u < 45)
        return intercepted_port(c);
    if (u < 65)
        return others[rnd(c, ARRAY_SIZE(others))];
    for (;;) {
        uint16_t p = (uint16_t)fz_rand(c);
        /* fw_cfg (QEMU: its selector state is the firmware's), the guest's console */
        if ((p >= 0x50c && p <= 0x51f) || (p >= 0x3f5 && p <= 0x3ff) || (p >= 0x3c0 && p <= 0x3df))
            continue;
        return p;
    }
}

static unsigned rnd_width(struct fz_cpu *c)
{
    static const unsigned w[3] = { 1, 2, 4 };
    return w[rnd(c, 3)];
}

#define SLP_EN     (1u << 13)
#define SLP_TYP(t) ((uint32_t)(t) << 10)

/* OUT (r->sub = width, r->a = port, r->b = value; r->c: 1 = the value is
 * computed from a read in the operation, the identity). BSP only for
 * CF8-CFF. */
static void gen_out(struct fz_cpu *c, struct fz_rec *r)
{
    unsigned w = rnd_width(c);
    uint64_t u = rnd(c, 100);
    r->c = 0;
    r->b = fz_rand(c);
    if (c->gen_bsp && u < 35) {
        r->a = 0xcf8 + rnd(c, 8);
        if (r->a == 0xcf8 && w == 4) { /* CONFIG_ADDRESS: any */
        } else if (r->a <= 0xcfb) {
            /* RST_CNT at 0xcf9 (and the byte of a word at 0xcf8): never RST_CPU nor SYS_RST */
            r->b &= ~(0x06ull << 8) & ~0x06ull;
            if (r->a == 0xcf8 && w == 4)
                w = 2;
            if (r->a > 0xcf8)
                w = 1;
        } else {
            r->c = 1; /* CONFIG_DATA: the value read */
            if (r->a + w > 0xd00)
                w = 1;
        }
    } else if (fz.pm1a_cnt && u < 70) {
        r->a = fz.pm1a_cnt + (w == 1 ? rnd(c, 2) : 0);
        r->c = 2; /* the value read, SLP_EN clear; or SLP_EN with a refused SLP_TYP in r->b */
        if (fz.s5_typ >= 0 && chance(c, 300)) {
            unsigned t = 1 + (unsigned)rnd(c, 7);
            if (t == (unsigned)fz.s5_typ)
                t = (t % 7) + 1;
            r->c = 3;
            r->b = SLP_EN | SLP_TYP(t);
        }
    } else if (fz.pm1a_evt && u < 85) {
        r->a = fz.pm1a_evt + (w == 1 ? rnd(c, 4) : w == 2 ? 2 * rnd(c, 2) : 0);
        r->c = 1;
    } else {
        r->a = 0x80; /* POST code: not intercepted, harmless */
        w = 1;
    }
    r->sub = (uint16_t)w;
}

static uint32_t port_in(uint16_t p, unsigned w)
{
    uint32_t v = 0;
    if (w == 1) {
        uint8_t b;
        __asm__ volatile("inb %1, %0" : "=a"(b) : "Nd"(p));
        v = b;
    } else if (w == 2) {
        uint16_t h;
        __asm__ volatile("inw %1, %0" : "=a"(h) : "Nd"(p));
        v = h;
    } else {
        __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p));
    }
    return v;
}

static void port_out(uint16_t p, unsigned w, uint32_t v)
{
    if (w == 1)
        __asm__ volatile("outb %b0, %1" ::"a"(v), "Nd"(p));
    else if (w == 2)
        __asm__ volatile("outw %w0, %1" ::"a"(v), "Nd"(p));
    else
        __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(p));
}

static void run_out(struct fz_op *o)
{
    struct fz_rec *r = o->r;
    uint16_t p = (uint16_t)r->a;
    unsigned w = r->sub;
    uint32_t v = (uint32_t)r->b;
    if (r->c == 1) {
        v = port_in(p, w);
    } else if (r->c == 2 || r->c == 3) {
        uint32_t cur = port_in(fz.pm1a_cnt, 2) & ~(SLP_EN | SLP_TYP(7));
        if (r->c == 3)
            cur |= (uint32_t)r->b;
        v = p == fz.pm1a_cnt ? cur : cur >> 8;
        if (w == 4)
            v |= port_in((uint16_t)(fz.pm1a_cnt + 2), 2) << 16;
    }
    o->out = v;
    port_out(p, w, v);
}

/* String I/O (r->sub: bit 0 OUTS, bits 1-3 width, bit 4 REP; r->b count). */
static void gen_strio(struct fz_cpu *c, struct fz_rec *r)
{
    bool outs = c->gen_bsp ? rnd(c, 2) : false;
    unsigned w = rnd_width(c);
    r->a = intercepted_port(c);
    /* OUTS only where the value written is the register's own (or 0 into
     * RST_CNT): CONFIG_ADDRESS, RST_CNT, PM1a_CNT, PM1a_EVT. */
    if (outs) {
        if (r->a == 0xcf8)
            w = 4;
        else if (r->a == 0xcf9)
            w = 1;
        else if (fz.pm1a_cnt && r->a == fz.pm1a_cnt)
            w = 2;
        else if (fz.pm1a_cnt && r->a == fz.pm1a_cnt + 1u)
            w = 1;
        else if (!(fz.pm1a_evt && r->a == fz.pm1a_evt))
            outs = false;
    }
    r->b = 1 + rnd(c, 3);
    r->sub = (uint16_t)(outs | w << 1 | (rnd(c, 2) << 4));
}

static void run_strio(struct fz_op *o)
{
    struct fz_rec *r = o->r;
    uint16_t p = (uint16_t)r->a;
    unsigned w = (r->sub >> 1) & 7;
    uint64_t n = r->sub & 16 ? r->b : 1;
    uint8_t *buf = o->cpu->scratch;
    if (r->sub & 1) {
        /* OUTS of the port's own value (PM1a_CNT: SLP_EN clear; RST_CNT 0). */
        uint32_t v = port_in(p, w);
        if (fz.pm1a_cnt && p >= fz.pm1a_cnt - 3 && p <= fz.pm1a_cnt + 1)
            v &= ~(SLP_EN | (SLP_EN >> 8));
        if (p >= 0xcf6 && p <= 0xcf9)
            v = p == 0xcf8 && w == 4 ? v : 0;
        for (unsigned i = 0; i < 4; i++)
            memcpy(buf + i * 4, &v, 4);
        uint64_t s = (uint64_t)(uintptr_t)buf;
        if (w == 1)
            __asm__ volatile("rep outsb" : "+S"(s), "+c"(n) : "d"(p) : "memory");
        else if (w == 2)
            __asm__ volatile("rep outsw" : "+S"(s), "+c"(n) : "d"(p) : "memory");
        else
            __asm__ volatile("rep outsl" : "+S"(s), "+c"(n) : "d"(p) : "memory");
    } else {
        uint64_t d = (uint64_t)(uintptr_t)buf;
        if (w == 1)
            __asm__ volatile("rep insb" : "+D"(d), "+c"(n) : "d"(p) : "memory");
        else if (w == 2)
            __asm__ volatile("rep insw" : "+D"(d), "+c"(n) : "d"(p) : "memory");
        else
            __asm__ volatile("rep insl" : "+D"(d), "+c"(n) : "d"(p) : "memory");
    }
}

/* ---- PCI configuration through CF8/CFC (BSP only) ---- */
/* r->sub: 0 read (r->a = CONFIG_ADDRESS, r->b = width), 1 identity write
 * to the passthrough device, 2 identity write to the host bridge. */
static void gen_cfg(struct fz_cpu *c, struct fz_rec *r)
{
    unsigned w = rnd_width(c), off = (unsigned)rnd(c, 256);
    off &= ~(w - 1);
    unsigned bus = 0, dev = (unsigned)rnd(c, 32), fn = (unsigned)rnd(c, 8);
    r->sub = (uint16_t)rnd(c, 3);
    if (r->sub == 1 && fz.have_bdf)
        bus = fz.bus, dev = fz.dev, fn = fz.fn;
    else if (r->sub >= 1)
        dev = 0, fn = 0, r->sub = 2;
    if (r->sub == 0 && fz.have_bdf && chance(c, 500))
        bus = fz.bus, dev = fz.dev, fn = fz.fn;
    r->a = 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (off & 0xfc);
    r->b = w;
    r->c = off & 3;
}

static void run_cfg(struct fz_op *o)
{
    struct fz_rec *r = o->r;
    unsigned w = (unsigned)r->b, sub = (unsigned)r->c;
    uint16_t data = (uint16_t)(0xcfc + sub);
    port_out(0xcf8, 4, (uint32_t)r->a);
    uint32_t v = port_in(data, w);
    o->out = v;
    if (r->sub)
        port_out(data, w, v);
}

/* ---- IPIs through the xAPIC ICR (SDM Vol. 3A 10.6.1) ---- */
#define ICR_INIT     (5u << 8)
#define ICR_SIPI     (6u << 8)
#define ICR_NMI      (4u << 8)
#define ICR_LOGICAL  (1u << 11)
#define ICR_ASSERT   (1u << 14)
#define ICR_SELF     (1u << 18)
#define ICR_ALL_BUT  (3u << 18)

static bool apic_id_used(uint32_t id)
{
    for (unsigned i = 0; i < fz.cpus; i++)
        if (fz.apic_id[i] == id)
            return true;
    return false;
}

static bool ldr_matches(uint8_t mask)
{
    for (unsigned i = 0; i < fz.cpus; i++)
        if ((fz.ldr[i] >> 24) & mask)
            return true;
    return false;
}

/* r->sub: the case; r->a = ICR low, r->b = ICR high; r->c: 1 a qword
 * write over ICR low+0x304, 2 a byte write. */
static void gen_ipi(struct fz_cpu *c, struct fz_rec *r)
{
    uint32_t absent = 0xee;
    while (apic_id_used(absent))
        absent--;
    uint32_t other = c->apic_id;
    unsigned k = (unsigned)(rnd(c, 64) % fz.cpus); /* one draw whatever the count: replays match */
    if (fz.cpus > 1) {
        if (fz.apic_id[k] == c->apic_id)
            k = (k + 1) % fz.cpus;
        other = fz.apic_id[k];
    }
    /* 0xff is a broadcast in every logical model (SDM 10.6.2.2): never */
    uint8_t lmask = (uint8_t)(fz_rand(c) & 0x7f);
    for (unsigned t = 0; t < 8 && lmask && ldr_matches(lmask); t++)
        lmask = (uint8_t)((lmask << 1) & 0x7f);
    r->sub = (uint16_t)rnd(c, 14);
    r->c = 0;
    uint32_t lo = 0, hi = 0;
    switch (r->sub) {
    case 0: lo = ICR_INIT | ICR_ASSERT; hi = absent << 24; break;
    case 1: lo = ICR_SIPI | ICR_ASSERT | 0x10; hi = absent << 24; break;
    case 2: lo = ICR_INIT | ICR_ASSERT | ICR_SELF; break;
    case 3: lo = ICR_INIT | ICR_ASSERT; hi = c->apic_id << 24; break;
    case 4:
        if (!lmask || ldr_matches(lmask)) {
            lo = ICR_INIT | ICR_ASSERT;
            hi = absent << 24;
        } else {
            lo = (rnd(c, 2) ? ICR_INIT : ICR_SIPI | 0x20) | ICR_ASSERT | ICR_LOGICAL;
            hi = (uint32_t)lmask << 24;
        }
        break;
    case 5: lo = ICR_NMI | ICR_ASSERT | ICR_SELF; break;
    case 6: lo = ICR_NMI | ICR_ASSERT; hi = other << 24; break;
    case 7: /* the shorthand only when every CPU runs the fuzzer's IDT */
        lo = ICR_NMI | ICR_ASSERT | (fz.all_cpus ? ICR_ALL_BUT : 0);
        hi = other << 24;
        break;
    case 8: lo = FZ_IPI_VEC | ICR_ASSERT | ICR_SELF; break;
    case 9: lo = FZ_IPI_VEC | ICR_ASSERT; hi = other << 24; break;
    case 10:
        lo = FZ_IPI_VEC | ICR_ASSERT | (fz.all_cpus ? ICR_ALL_BUT : 0);
        hi = other << 24;
        break;
    case 11: lo = ICR_INIT | ICR_ASSERT; hi = absent << 24; r->c = 1; break;
    case 12: lo = ICR_INIT | ICR_ASSERT; hi = absent << 24; r->c = 2; break;
    default: /* reserved delivery modes (3, 7) and SMI (2) to an absent CPU */
        lo = (uint32_t)(rnd(c, 2) ? 3 : rnd(c, 2) ? 7 : 2) << 8 | ICR_ASSERT;
        hi = absent << 24;
        break;
    }
    r->a = lo;
    r->b = hi;
}

static void run_ipi(struct fz_op *o)
{
    struct fz_rec *r = o->r;
    volatile uint32_t *apic = (volatile uint32_t *)(uintptr_t)fz.apic_base;
    apic[0x310 / 4] = (uint32_t)r->b;
    if (r->c == 1)
        *(volatile uint64_t *)(uintptr_t)(fz.apic_base + 0x300) = r->a; /* 0x304 is reserved: 0 */
    else if (r->c == 2)
        *(volatile uint8_t *)(uintptr_t)(fz.apic_base + 0x300) = (uint8_t)r->a;
    else
        apic[0x300 / 4] = (uint32_t)r->a;
}

/* ---- hypercalls ---- */
static uint64_t hc_buffer(struct fz_cpu *c)
{
    uint64_t buf = (uint64_t)(uintptr_t)fz.buf;
    switch (rnd(c, 10)) {
    case 0: case 1: case 2: return buf + rnd(c, 4096);
    case 3: return fz.block_base + rnd(c, fz.block_size);
    case 4: return fz.block_base - 1 - rnd(c, 64); /* runs into the block */
    case 5: return fz.apic_base + rnd(c, 4096);
    case 6: return fz.regions ? fz.region[rnd(c, fz.regions)].base + rnd(c, 64) : 0;
    case 7: return ~0ull - rnd(c, 256);
    case 8: return 1ull << (40 + rnd(c, 24));
    default: return rnd(c, 2) ? 0 : (uint64_t)fz_rand(c) | 1ull << 63;
    }
}

static uint64_t hc_size(struct fz_cpu *c)
{
    switch (rnd(c, 6)) {
    case 0: return sizeof(struct minihv_stats);
    case 1: return sizeof(struct minihv_footprint);
    case 2: return rnd(c, 64);
    case 3: return ~0ull - rnd(c, 16);
    case 4: return 4096;
    default: return rnd(c, 512);
    }
}

/* r->sub = function (low 16 bits; r->a the full RAX), r->b/c = RBX/RCX,
 * RDX from the operation's extra draw (kept in r->c's upper half is not
 * enough): the log keeps RAX, RBX, RCX; RDX is hc_size's draw. */
static void gen_hcall(struct fz_cpu *c, struct fz_rec *r, uint64_t *rdx)
{
    uint64_t fn;
    uint64_t u = rnd(c, 100);
    if (u < 80)
        fn = rnd(c, 10);
    else if (u < 90)
        fn = rnd(c, 0x10000);
    else
        fn = fz_rand(c);
    if (fn == MINIHV_HC_DUMP_STATS && !chance(c, 2)) /* prints a table on the core's log */
        fn = MINIHV_HC_PING;
    uint64_t rbx = 0, rcx = 0;
    *rdx = 0;
    switch (fn) {
    case MINIHV_HC_GET_STATS:
        rbx = rnd(c, 4) ? rnd(c, fz.cpus + 2) : fz_rand(c);
        rcx = hc_buffer(c);
        *rdx = hc_size(c);
        break;
    case MINIHV_HC_FOOTPRINT:
        rbx = hc_buffer(c);
        rcx = hc_size(c);
        break;
    case MINIHV_HC_HV_CHECKSUM:
        /* Whole pages, a few (a digest of the whole block takes long under TCG). */
        switch (rnd(c, 5)) {
        case 0: rbx = rnd(c, fz.block_size >> 12) << 12; rcx = (1 + rnd(c, 4)) << 12; break;
        case 1: rbx = rnd(c, fz.block_size); rcx = rnd(c, 0x3000); break;
        case 2: rbx = fz.block_size - ((1 + rnd(c, 4)) << 12); rcx = rnd(c, 2) ? 0 : 0x5000; break;
        case 3: rbx = fz.block_size + (rnd(c, 16) << 12); rcx = 0x1000; break;
        default: rbx = fz_rand(c) & ~0xfffull; rcx = fz_rand(c) & ~0xfffull; break;
        }
        break;
    default:
        rbx = hc_buffer(c);
        rcx = hc_size(c);
        *rdx = fz_rand(c);
        break;
    }
    r->sub = (uint16_t)fn;
    r->a = fn;
    r->b = rbx;
    r->c = rcx;
}

static void run_hcall(struct fz_op *o)
{
    struct hc_regs h = { o->r->a, o->r->b, o->r->c, o->out2 };
    if (fz.intel)
        __asm__ volatile("vmcall" : "+a"(h.rax), "+b"(h.rbx), "+c"(h.rcx), "+d"(h.rdx) : : "memory");
    else
        __asm__ volatile("vmmcall" : "+a"(h.rax), "+b"(h.rbx), "+c"(h.rcx), "+d"(h.rdx) : : "memory");
    o->out = h.rax;
    o->out2 = h.rbx;
    if (o->r->a == MINIHV_HC_PING && (h.rax != MINIHV_HC_OK || h.rbx != MINIHV_HC_PONG || h.rdx != o->cpu->apic_id))
        o->expect_fault = 2;
}

/* ---- XSETBV, CR/DR, caches, VMX/SVM, misc ---- */
static void run_xsetbv(struct fz_op *o)
{
    struct fz_rec *r = o->r;
    uint32_t lo, hi, ecx = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    uint64_t cur = (uint64_t)hi << 32 | lo, v = cur;
    switch (r->sub) {
    case 0: break;
    case 1: v = cur & ~1ull; break;                  /* x87 clear: #GP (SDM Vol. 1 13.3) */
    case 2: v = (cur | 4) & ~2ull; break;            /* AVX without SSE: #GP */
    case 3: v = cur | 1ull << 17; break;             /* XTILECFG without XTILEDATA: #GP */
    case 4: v = cur | 1ull << 63; break;             /* reserved */
    default: ecx = 1 + (uint32_t)(r->b % 0xffff); break; /* no XCRn but 0 is writable */
    }
    r->c = v;
    __asm__ volatile("xsetbv" ::"a"((uint32_t)v), "d"((uint32_t)(v >> 32)), "c"(ecx) : "memory");
    if (r->sub) {
        o->expect_fault = 1;
        __asm__ volatile("xsetbv" ::"a"((uint32_t)cur), "d"((uint32_t)(cur >> 32)), "c"(0) : "memory");
    }
}

#define CR0_CD (1ull << 30)
#define CR4_PGE (1ull << 7)
#define CR4_VMXE (1ull << 13)

static void run_cr(struct fz_op *o)
{
    struct fz_rec *r = o->r;
    uint64_t v;
    switch (r->sub) {
    case 0: /* CR0: the same value */
        __asm__ volatile("mov %%cr0, %0; mov %0, %%cr0" : "=r"(v) : : "memory");
        break;
    case 1: /* CR0.CD on and off again (SDM Vol. 3A 11.5.1) */
        __asm__ volatile("mov %%cr0, %0" : "=r"(v));
        __asm__ volatile("mov %0, %%cr0; mov %1, %%cr0" ::"r"(v | CR0_CD), "r"(v) : "memory");
        break;
    case 2: /* CR0 bit 32 (reserved): #GP (SDM Vol. 3A 2.5; QEMU's TCG does not
             * check it, and clearing PG in 64-bit code, which it lets through
             * too, kills the guest: Intel (Bochs) only, see gen) */
        __asm__ volatile("mov %%cr0, %0" : "=r"(v));
        o->out2 = v;
        o->expect_fault = 3;
        __asm__ volatile("mov %0, %%cr0" ::"r"(v | 1ull << 32) : "memory");
        __asm__ volatile("mov %0, %%cr0" ::"r"(v) : "memory");
        break;
    case 3: /* CR4: the same value */
        __asm__ volatile("mov %%cr4, %0; mov %0, %%cr4" : "=r"(v) : : "memory");
        break;
    case 4: /* CR4.VMXE: VMX is hidden, #GP (SDM 23.7 / reserved on AMD) */
        __asm__ volatile("mov %%cr4, %0" : "=r"(v));
        o->expect_fault = 1;
        __asm__ volatile("mov %0, %%cr4" ::"r"(v | CR4_VMXE) : "memory");
        __asm__ volatile("mov %0, %%cr4" ::"r"(v) : "memory");
        break;
    case 5: /* CR4 reserved bit 63: #GP */
        __asm__ volatile("mov %%cr4, %0" : "=r"(v));
        o->expect_fault = 1;
        __asm__ volatile("mov %0, %%cr4" ::"r"(v | 1ull << 63) : "memory");
        __asm__ volatile("mov %0, %%cr4" ::"r"(v) : "memory");
        break;
    case 6: /* CR4.PGE off and on: a global TLB flush (SDM 4.10.4.1) */
        __asm__ volatile("mov %%cr4, %0" : "=r"(v));
        __asm__ volatile("mov %0, %%cr4; mov %1, %%cr4" ::"r"(v & ~CR4_PGE), "r"(v) : "memory");
        break;
    case 7: __asm__ volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(v) : : "memory"); break;
    case 8: __asm__ volatile("mov %%cr8, %0; mov %0, %%cr8" : "=r"(v) : : "memory"); break;
    case 9: __asm__ volatile("mov %%dr7, %0; mov %0, %%dr7" : "=r"(v) : : "memory"); break;
    case 10: __asm__ volatile("mov %%dr0, %0; mov %0, %%dr0" : "=r"(v) : : "memory"); break;
    case 11: __asm__ volatile("mov %%dr6, %0; mov %0, %%dr6" : "=r"(v) : : "memory"); break;
    case 12: __asm__ volatile("smsw %k0; lmsw %w0" : "=r"(v) : : "memory"); break;
    case 13: __asm__ volatile("clts" ::: "memory"); v = 0; break;
    default: /* MOV to CR with a reserved register number (CR1): #UD */
        o->expect_fault = 1;
        __asm__ volatile(".byte 0x0f, 0x22, 0xc8" /* mov %rax, %cr1 */ ::"a"(0) : "memory");
        v = 0;
        break;
    }
    o->out = v;
}

static void run_cache(struct fz_op *o)
{
    struct fz_rec *r = o->r;
    switch (r->sub) {
    case 0: __asm__ volatile("wbinvd" ::: "memory"); break;
    case 1: __asm__ volatile("invd" ::: "memory"); break;
    case 2: __asm__ volatile("clflush (%0)" ::"r"(r->a) : "memory"); break;
    case 3: __asm__ volatile("invlpg (%0)" ::"r"(r->a) : "memory"); break;
    case 4: {
        uint64_t desc[2] = { r->b & 0xfff, r->a };
        __asm__ volatile("invpcid (%0), %1" ::"r"(desc), "r"(r->b % 4) : "memory");
        break;
    }
    default: __asm__ volatile(".byte 0xf3, 0x0f, 0x09" ::: "memory"); break; /* WBNOINVD */
    }
}

/* Every one must fault (#UD: VMX and SVM are hidden; SDM Vol. 3C 30.3,
 * APM Vol. 2 15.4 with EFER.SVME clear). */
static void run_virt(struct fz_op *o)
{
    struct fz_rec *r = o->r;
    uint64_t pa = (uint64_t)(uintptr_t)o->cpu->scratch, field = r->b & 0xffff, v = 0;
    uint64_t desc[2] = { 0, 0 };
    o->expect_fault = 1;
    switch (r->sub) {
    case 0: __asm__ volatile("vmxon (%0)" ::"r"(&pa) : "memory", "cc"); break;
    case 1: __asm__ volatile("vmxoff" ::: "memory", "cc"); break;
    case 2: __asm__ volatile("vmclear (%0)" ::"r"(&pa) : "memory", "cc"); break;
    case 3: __asm__ volatile("vmptrld (%0)" ::"r"(&pa) : "memory", "cc"); break;
    case 4: __asm__ volatile("vmptrst (%0)" ::"r"(&v) : "memory", "cc"); break;
    case 5: __asm__ volatile("vmread %1, %0" : "=r"(v) : "r"(field) : "memory", "cc"); break;
    case 6: __asm__ volatile("vmwrite %1, %0" ::"r"(field), "r"(r->c) : "memory", "cc"); break;
    case 7: __asm__ volatile("vmlaunch" ::: "memory", "cc"); break;
    case 8: __asm__ volatile("vmresume" ::: "memory", "cc"); break;
    case 9: __asm__ volatile("invept (%0), %1" ::"r"(desc), "r"(r->c % 4) : "memory", "cc"); break;
    case 10: __asm__ volatile("invvpid (%0), %1" ::"r"(desc), "r"(r->c % 4) : "memory", "cc"); break;
    case 11: __asm__ volatile(".byte 0x0f, 0x01, 0xd4" /* vmfunc */ ::"a"(0), "c"(0) : "memory"); break;
    case 12: __asm__ volatile("vmrun" ::"a"(pa) : "memory"); break;
    case 13: __asm__ volatile("vmload" ::"a"(pa) : "memory"); break;
    case 14: __asm__ volatile("vmsave" ::"a"(pa) : "memory"); break;
    case 15: __asm__ volatile("stgi" ::: "memory"); break;
    case 16: __asm__ volatile("clgi" ::: "memory"); break;
    case 17: __asm__ volatile("skinit" ::"a"(pa) : "memory"); break;
    case 18: __asm__ volatile("invlpga" ::"a"(pa), "c"(0) : "memory"); break;
    case 19: __asm__ volatile(".byte 0x0f, 0x37" /* getsec */ ::"a"(0), "b"(0) : "memory"); break;
    default: /* VMMCALL on Intel (on AMD, VMCALL is the core's hypercall too: hv/svm/svm_exit.c) */
        if (fz.intel)
            __asm__ volatile("vmmcall" ::"a"(0) : "memory", "rbx", "rcx", "rdx");
        else
            __asm__ volatile("vmmcall" ::"a"(MINIHV_HC_PING) : "memory", "rbx", "rcx", "rdx");
        if (!fz.intel)
            o->expect_fault = 0;
        break;
    }
    o->out = v;
}

static void run_misc(struct fz_op *o)
{
    struct fz_rec *r = o->r;
    uint32_t lo = 0, hi = 0, aux = 0;
    uint64_t v = 0;
    uint8_t *b = o->cpu->scratch;
    switch (r->sub) {
    case 0: __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); break;
    case 1: __asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux)); break;
    case 2: __asm__ volatile("rdpmc" : "=a"(lo), "=d"(hi) : "c"((uint32_t)r->b)); break;
    case 3: __asm__ volatile("pause"); break;
    case 4: __asm__ volatile("monitor" ::"a"(b), "c"(0), "d"(0) : "memory"); break;
    case 5: __asm__ volatile("int3" ::: "memory"); break;
    case 6: __asm__ volatile("ud2" ::: "memory"); break;
    case 7: __asm__ volatile("sgdt (%0); sidt 16(%0); sldt %%ax; str %%ax" ::"r"(b) : "memory", "rax"); break;
    case 8: __asm__ volatile("sgdt (%0); lgdt (%0)" ::"r"(b) : "memory"); break;
    case 9: __asm__ volatile("sidt (%0); lidt (%0)" ::"r"(b) : "memory"); break;
    case 10: __asm__ volatile("rdrand %0" : "=r"(v) : : "cc"); break;
    case 11: __asm__ volatile("rdseed %0" : "=r"(v) : : "cc"); break;
    case 12: __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"((uint32_t)(r->b & 1))); break;
    case 13: /* MOV SS then an exiting instruction with TF (CVE-2018-8897's pattern) */
        __asm__ volatile("mov %%ss, %%ecx; mov %%ecx, %%ss; cpuid" : "+a"(lo) : : "rbx", "rcx", "rdx", "memory");
        break;
    case 14: __asm__ volatile(".byte 0xf1" ::: "memory"); break; /* INT1 (ICEBP) */
    case 15: __asm__ volatile("rdpid %0" : "=r"(v)); break;
    case 16: __asm__ volatile(".byte 0xf0, 0x90" ::: "memory"); break; /* LOCK NOP: #UD */
    default: /* a call into the core's block: not present, the core injects #UD (mmio-fetch) */
        o->expect_fault = 1;
        __asm__ volatile("call *%0" ::"r"(r->a) : "memory", "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11");
        break;
    }
    o->out = v | lo | (uint64_t)hi << 32;
}

static void run_cpuid(struct fz_op *o)
{
    uint32_t a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"((uint32_t)o->r->a), "c"((uint32_t)o->r->b));
    o->out = (uint64_t)b << 32 | a;
    o->out2 = (uint64_t)d << 32 | c;
    if ((uint32_t)o->r->a == MINIHV_CPUID_BASE &&
        (b != MINIHV_CPUID_SIG_EBX || c != MINIHV_CPUID_SIG_ECX || d != MINIHV_CPUID_SIG_EDX))
        o->expect_fault = 2;
}

static void run_rdmsr(struct fz_op *o)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"((uint32_t)o->r->a));
    o->out = (uint64_t)hi << 32 | lo;
}

static void run_in(struct fz_op *o)
{
    o->out = port_in((uint16_t)o->r->a, o->r->sub);
}

static void run_op(void *arg)
{
    struct fz_op *o = arg;
    switch (o->r->kind) {
    case K_CPUID: run_cpuid(o); break;
    case K_RDMSR: run_rdmsr(o); break;
    case K_WRMSR: run_wrmsr(o); break;
    case K_IN: run_in(o); break;
    case K_OUT: run_out(o); break;
    case K_STRIO: run_strio(o); break;
    case K_CFG: run_cfg(o); break;
    case K_MMIO_R: case K_MMIO_W: run_mmio(o); break;
    case K_IPI: run_ipi(o); break;
    case K_HCALL: run_hcall(o); break;
    case K_XSETBV: run_xsetbv(o); break;
    case K_CR: run_cr(o); break;
    case K_CACHE: run_cache(o); break;
    case K_VIRT: run_virt(o); break;
    default: run_misc(o); break;
    }
}

/* Kind weights (per mille of the stream). */
static const uint16_t weights[K_KINDS] = {
    [K_CPUID] = 90, [K_RDMSR] = 70, [K_WRMSR] = 70, [K_IN] = 80, [K_OUT] = 50, [K_STRIO] = 20,
    [K_CFG] = 40, [K_MMIO_R] = 130, [K_MMIO_W] = 170, [K_IPI] = 40, [K_HCALL] = 90, [K_XSETBV] = 20,
    [K_CR] = 40, [K_CACHE] = 20, [K_VIRT] = 30, [K_MISC] = 40,
};

static enum fz_kind pick_kind(struct fz_cpu *c)
{
    for (;;) {
        uint64_t u = rnd(c, 1000), acc = 0;
        unsigned k;
        for (k = 0; k < K_KINDS - 1; k++) {
            acc += weights[k];
            if (u < acc)
                break;
        }
        if (!(fz.kind_mask & 1u << k))
            continue;
        if (k == K_CFG && !c->gen_bsp)
            continue;
        return (enum fz_kind)k;
    }
}

static uint32_t pick_leaf(struct fz_cpu *c)
{
    switch (rnd(c, 6)) {
    case 0: case 1: return (uint32_t)rnd(c, 0x24);
    case 2: return 0x40000000u + (uint32_t)rnd(c, 0x110);
    case 3: return 0x80000000u + (uint32_t)rnd(c, 0x28);
    case 4: return (uint32_t)(0x8fffff00u + rnd(c, 0x200)) ^ (rnd(c, 2) ? 0 : 0x70000000u);
    default: return (uint32_t)fz_rand(c);
    }
}

void fz_one(struct fz_cpu *c)
{
    struct fz_rec *r = &c->log[c->log_pos++ % FZ_LOG];
    uint64_t rdx = 0;
    memset(r, 0, sizeof(*r));
    r->step = c->step;
    r->kind = (uint16_t)pick_kind(c);
    switch (r->kind) {
    case K_CPUID: r->a = pick_leaf(c); r->b = rnd(c, 3) ? rnd(c, 4) : fz_rand(c); break;
    case K_RDMSR: r->a = pick_msr(c); note_msr_row((uint32_t)r->a); break;
    case K_WRMSR: gen_wrmsr(c, r); break;
    case K_IN:
        r->a = read_port(c);
        r->sub = (uint16_t)rnd_width(c);
        /* QEMU's UARTs assert on a wider access (hw/char/serial.c serial_ioport_read): bytes only */
        if ((r->a >= 0x2e5 && r->a <= 0x2ff) || (r->a >= 0x3e5 && r->a <= 0x3ff))
            r->sub = 1;
        break;
    case K_OUT: gen_out(c, r); break;
    case K_STRIO: gen_strio(c, r); break;
    case K_CFG: gen_cfg(c, r); break;
    case K_MMIO_R: gen_mmio(c, r, false); break;
    case K_MMIO_W: gen_mmio(c, r, true); break;
    case K_IPI: gen_ipi(c, r); break;
    case K_HCALL: gen_hcall(c, r, &rdx); break;
    case K_XSETBV:
        r->sub = (uint16_t)rnd(c, 6);
        r->b = fz_rand(c);
        if (!(c->cr4 & (1ull << 18))) /* no OSXSAVE: every XSETBV is #UD */
            r->sub = 0;
        break;
    case K_CR:
        r->sub = (uint16_t)rnd(c, 15);
        r->b = fz_rand(c);
        /* On AMD the core does not intercept CR0/CR4 writes: CR0 bit 32,
         * CR4.VMXE and CR4 bit 63 test only the emulator (QEMU's TCG takes
         * all three, and the next VMRUN fails its consistency checks, a
         * FATAL: see docs/design.md) */
        if (!fz.intel && (r->sub == 2 || r->sub == 4 || r->sub == 5))
            r->sub = 3;
        break;
    case K_CACHE:
        r->sub = (uint16_t)rnd(c, 6);
        r->a = rnd(c, 2) ? (uint64_t)(uintptr_t)c->scratch : fz.apic_base + (rnd(c, 64) << 6);
        r->b = fz_rand(c);
        break;
    case K_VIRT: r->sub = (uint16_t)rnd(c, 21); r->b = fz_rand(c); r->c = fz_rand(c); break;
    default:
        r->sub = (uint16_t)rnd(c, 18);
        r->b = fz_rand(c);
        r->a = fz.block_base + (rnd(c, fz.block_size) & ~0xfull);
        break;
    }
    if (r->kind == K_MMIO_R || r->kind == K_MMIO_W) {
        if (fz_alias_op(c, r, r->kind == K_MMIO_W && forms[r->sub].cls == FC_RMW_IDENT)) {
            if (r->sub == FZ_SUB_EXEC)
                ;
            else if (fz.apic_strict) /* the window may hold the xAPIC page: a dword at a register (gen_mmio) */
                r->sub = r->kind == K_MMIO_W ? W_ORL0 : R_MOVL;
            else if (r->sub == R_ADDR32) /* a 32-bit address would not reach the window */
                r->sub = R_MOVL;
        }
    } else {
        fz_alias_op(c, r, false); /* PTE changes only */
    }
    r->tf = chance(c, fz.tf_permille);
    struct fz_op o = { .r = r, .cpu = c, .out2 = rdx };
    if (fz_trace && c->bsp && c->step >= fz_trace) {
        char d[200];
        r->done = 3; /* about to run: no status in the line */
        fz_describe(r, d, sizeof(d));
        r->done = 0;
        fz_trace_print(d);
    }
    __asm__ volatile("" ::: "memory"); /* the record is in memory before the operation */
    uint64_t rep = fz_try(run_op, &o, c, r->tf);
    r->done = rep ? 2 : 1;
    r->vec = (uint16_t)GUARD_VECTOR(rep);
    c->ops[r->kind]++;
    if (r->kind == K_IPI && !rep && ((r->a >> 8) & 7) == 4) /* an NMI, written: to self, another CPU or all but self */
        c->nmi_sent++;
    if (r->tf)
        c->db_expected++;
    if (rep)
        c->faults[r->kind]++;
    c->step++;
    if (!rep && o.expect_fault == 3) {
        if (!c->notes++) {
            char d[160];
            fz_describe(r, d, sizeof(d));
            fmt_snprintf(c->note, sizeof(c->note), "%s: completed where the SDM says #GP", d);
        }
    } else if (!rep && o.expect_fault && !c->fail[0]) {
        char d[160];
        fz_describe(r, d, sizeof(d));
        if (o.expect_fault == 2)
            fmt_snprintf(c->fail, sizeof(c->fail), "%s: wrong answer (0x%lx 0x%lx)", d, o.out, o.out2);
        else if (r->kind == K_WRMSR || r->kind == K_XSETBV || r->kind == K_CR || r->kind == K_VIRT)
            fmt_snprintf(c->fail, sizeof(c->fail), "%s: completed, a fault expected", d);
    }
}

void fz_describe(const struct fz_rec *r, char *buf, size_t size)
{
    const char *k = r->kind < K_KINDS ? fz_kind_names[r->kind] : "?";
    const char *what = "";
    char sub[24];
    fmt_snprintf(sub, sizeof(sub), "%u", r->sub);
    if (r->kind == K_MMIO_R || r->kind == K_MMIO_W)
        what = fz_form_name(r->sub);
    char alias[40] = "";
    if (what[0] && r->a >= FZ_ALIAS_VA)
        fz_alias_describe(r->c, alias, sizeof(alias));
    fmt_snprintf(buf, size, "step %lu %s %s%s a=0x%lx b=0x%lx c=0x%lx%s%s%s", r->step, k, what[0] ? what : "sub ",
                 what[0] ? "" : sub, r->a, r->b, r->c, alias, r->tf ? " tf" : "",
                 r->done == 0 ? " (not returned)" : r->done == 2 ? " (faulted)" : "");
    /* done 3: the trace's line, printed before the operation runs */
}
