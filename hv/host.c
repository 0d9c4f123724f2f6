/* See host.h. */
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "hv/console.h"
#include "hv/extable.h"
#include "hv/heap.h"
#include "hv/host.h"
#include "hv/refuse.h"
#include "hv/vcpu.h"

/* 64-bit TSS (SDM Vol. 3A 8.7, Figure 8-11). */
struct tss64 {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));

#define IST_STACK_PAGES 2
#define IDT_VECTORS 256

static struct x86_idt_gate host_idt[IDT_VECTORS] __attribute__((aligned(4096)));
extern const uint64_t isr_stub_table[IDT_VECTORS]; /* hv/isr.asm */

void host_idt_init(void)
{
    for (unsigned v = 0; v < IDT_VECTORS; v++) {
        /* NMI, #DF and #MC switch to IST1 (SDM 6.14.5): they must not
         * depend on the stack they interrupted. */
        host_idt[v] = x86_idt_gate_intr(isr_stub_table[v], HOST_CS, (v == 2 || v == 8 || v == 18) ? 1 : 0);
    }
}

int host_cpu_tables(uint64_t stack_top, struct host_tables *out, uint64_t *bytes)
{
    uint64_t page = heap_alloc(1), ist = heap_alloc(IST_STACK_PAGES);
    if (!page || !ist)
        return -1;
    *bytes += (1 + IST_STACK_PAGES) * PAGE_SIZE;
    uint64_t *gdt = (uint64_t *)(uintptr_t)page;
    struct tss64 *tss = (struct tss64 *)(uintptr_t)(page + 256);
    tss->rsp[0] = stack_top;
    tss->ist[0] = ist + IST_STACK_PAGES * PAGE_SIZE;
    tss->iomap_base = sizeof(*tss); /* no I/O bitmap */
    uint64_t base = (uint64_t)(uintptr_t)tss, limit = sizeof(*tss) - 1;
    gdt[0] = 0;
    gdt[1] = 0x00209a0000000000ull; /* HOST_CS: 64-bit code, present, DPL 0 */
    gdt[2] = 0x0000920000000000ull; /* HOST_DS: data, writable, present */
    /* HOST_TR: 16-byte 64-bit TSS descriptor (SDM 8.2.3), type 9 (available). */
    gdt[3] = (limit & 0xffff) | (base & 0xffffff) << 16 | 0x89ull << 40 |
             ((limit >> 16) & 0xf) << 48 | ((base >> 24) & 0xff) << 56;
    gdt[4] = base >> 32;
    out->gdt_base = page;
    out->tr_base = base;
    out->idt_base = (uint64_t)(uintptr_t)host_idt;
    return 0;
}

static const char *const exception_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#MF(9)", "#TS", "#NP",
    "#SS", "#GP", "#PF", "(15)", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
    [30] = "#SX",
};

void host_exception(struct host_frame *f)
{
    struct vcpu *v = vcpu_current();
    if (f->vector == 2) {
        /* Not ours: the guest's NMI arrived while this CPU ran the core. */
        if (v)
            v->nmi_pending = true;
        return;
    }
    if (f->vector == 30 && (f->error & 1)) {
        /* #SX, INIT redirected (SVM, VM_CR.R_INIT; APM Vol. 2 15.28): a
         * physical INIT while this CPU ran the core. Dropped: the CPU
         * stays in the core (hv/svm/svm.c). */
        hv_refuse(HV_REFUSE_PHYSICAL_INIT, "cpu %d: a physical INIT in the core (#SX), absorbed",
                  v ? (int)v->index : -1);
        return;
    }
    if (f->vector == 1) {
        /* #DB: the core sets no breakpoint and never TF, so this is the
         * guest's single-step trap leaking past #VMEXIT (Bochs' SVM keeps
         * the trap of an intercepted instruction pending into the host,
         * right after VMRUN). The guest gets its #DB from the core
         * (hv/exit_rules.h); this one is dropped (a trap: RIP is past). */
        static bool told;
        if (!__atomic_exchange_n(&told, true, __ATOMIC_RELAXED))
            hv_log("cpu %d: a #DB in the core at RIP 0x%lx (the guest's single step past #VMEXIT): "
                   "dropped (logged once)", v ? (int)v->index : -1, f->rip);
        return;
    }
    if (extable_fixup(f))
        return; /* a RDMSR/WRMSR for the guest raised #GP: its caller sees -1 */
    uint64_t cr2;
    __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
    const char *name = f->vector < 32 && exception_names[f->vector] ? exception_names[f->vector] : "interrupt";
    hv_log("FATAL: exception %s (vector %lu) in the core on cpu %d: error 0x%lx, RIP 0x%lx, "
           "RSP 0x%lx, RFLAGS 0x%lx, CR2 0x%lx",
           name, f->vector, v ? (int)v->index : -1, f->error, f->rip, f->rsp, f->rflags, cr2);
    hv_log("  rax %016lx rbx %016lx rcx %016lx rdx %016lx", f->rax, f->rbx, f->rcx, f->rdx);
    hv_log("  rsi %016lx rdi %016lx rbp %016lx r8  %016lx", f->rsi, f->rdi, f->rbp, f->r8);
    hv_log("  r9  %016lx r10 %016lx r11 %016lx r12 %016lx", f->r9, f->r10, f->r11, f->r12);
    hv_log("  r13 %016lx r14 %016lx r15 %016lx", f->r13, f->r14, f->r15);
    hv_log("cpu %d parked", v ? (int)v->index : -1);
    cpu_park();
}
