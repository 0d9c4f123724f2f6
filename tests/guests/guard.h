/* Guarded instructions for the probe guests: VMXON, VMCALL/VMMCALL and
 * 8-byte memory accesses that may fault (#UD, #GP, #PF) run under a private
 * copy of this CPU's IDT whose gates for those vectors resume right after
 * the instruction and report the fault. A fault anywhere else goes on to
 * the firmware's own handler, as before. Usable on APs (no firmware calls). */
#ifndef MINIHV_TESTS_GUARD_H
#define MINIHV_TESTS_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A fault report: 0 when the instruction completed, else GUARD_FAULTED |
 * error code << 8 | vector. */
#define GUARD_FAULTED (1ull << 63)
#define GUARD_VECTOR(report) ((unsigned)((report) & 0xff))
#define GUARD_ERROR(report) ((uint32_t)((report) >> 8))
#define VEC_UD 6
#define VEC_GP 13
#define VEC_PF 14

struct idt_ptr {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

struct guard {
    struct idt_ptr saved; /* the IDT this CPU had before guard_install */
    bool active;
};

/* Copies this CPU's IDT into buf (a page, 16-byte aligned at least), points
 * vectors 6, 13 and 14 at the guard and loads the copy. 0 on success; -1 when
 * the CPU has no IDT or it does not fit in buf. */
int guard_install(struct guard *g, void *buf, size_t buf_size);
/* Reloads the IDT saved by guard_install. */
void guard_remove(struct guard *g);

/* The registers of the hypercall ABI (include/minihv/hypercall.h). */
struct hc_regs {
    uint64_t rax, rbx, rcx, rdx;
};

/* VMXON [region_pa_ptr]; *rflags gets RFLAGS after it (CF/ZF: VMfail). */
uint64_t guard_vmxon(const uint64_t *region_pa_ptr, uint64_t *rflags) __attribute__((visibility("hidden")));
uint64_t guard_vmxoff(void) __attribute__((visibility("hidden")));
/* VMCALL (Intel) or VMMCALL (AMD) with r in RAX..RDX, results back in r. */
uint64_t guard_vmcall(struct hc_regs *r) __attribute__((visibility("hidden")));
uint64_t guard_vmmcall(struct hc_regs *r) __attribute__((visibility("hidden")));
/* mov (pa), %rax  /  mov value, (pa): the plain MOV forms the core decodes. */
uint64_t guard_read64(uint64_t pa, uint64_t *value) __attribute__((visibility("hidden")));
uint64_t guard_write64(uint64_t pa, uint64_t value) __attribute__((visibility("hidden")));

/* "#UD", "#GP(0x0)", "#PF(0x9)" ... for a fault report. */
const char *guard_describe(uint64_t report, char *buf, size_t size);

#endif
