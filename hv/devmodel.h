/* Device models on the exit path: a small registry the neutral code walks,
 * so it names no device (as hv/io.h does for ports). A model registers at
 * the core's global init, before any CPU enters the guest; the table is
 * read-only afterwards. A nested page fault no model claims is the core's
 * own business (its memory, or a fatal report); each model's summary
 * lines go into the end-of-run summary in registration order. */
#ifndef MINIHV_HV_DEVMODEL_H
#define MINIHV_HV_DEVMODEL_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;

struct devmodel {
    const char *name;
    /* A nested page fault at gpa (access: NPF_READ/WRITE/FETCH bits):
     * true when the access was this model's (emulated, RIP advanced,
     * counted), false when it is not. NULL: the model traps no memory. */
    bool (*npf)(struct vcpu *v, uint64_t gpa, unsigned access);
    /* Its summary lines, each handed to emit (without the `summary: `
     * prefix). NULL: none. */
    void (*summary)(void (*emit)(const char *line));
};

#define DEVMODEL_MAX 8

/* 0, or -1 when the table is full (logged). */
int devmodel_register(const struct devmodel *m);
/* The first model whose npf hook claims the access; false when none does. */
bool devmodel_npf(struct vcpu *v, uint64_t gpa, unsigned access);
/* Every model's summary lines, in registration order. */
void devmodel_summary(void (*emit)(const char *line));
/* The read half of a read-modify-write on a trapped register page (the
 * xAPIC's, an I/O APIC's): the hardware's value at gpa, or all-ones when
 * the access would reach past the page (the next page untouched). True. */
bool devmodel_read_in_page(uint64_t gpa, unsigned size, uint64_t *value);
/* The same as a decode_mmio_ops read (ctx unused): a page whose reads the
 * hardware answers as they are. */
bool devmodel_native_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *value);
/* One store of size 1, 2, 4 or 8 bytes at gpa, as written, through the
 * core's identity map (the caller has judged it and bounded it). */
void devmodel_write_mmio(uint64_t gpa, unsigned size, uint64_t value);

#endif
