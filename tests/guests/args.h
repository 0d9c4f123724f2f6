/* The test guests' load options: `key=value` words, UCS-2, separated by
 * spaces, as the UEFI shell passes them (the program's own name first,
 * a word without '=' that no key matches). */
#ifndef MINIHV_TESTS_GUESTS_ARGS_H
#define MINIHV_TESTS_GUESTS_ARGS_H

#include <efi.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct guest_args {
    const CHAR16 *s;
    size_t n, pos; /* in CHAR16s */
};

/* The image's load options; false (nothing to read) when it has none. */
bool guest_args_open(EFI_HANDLE image, struct guest_args *a);
/* The next word (*w, *len); false at the end. */
bool guest_args_next(struct guest_args *a, const CHAR16 **w, size_t *len);
/* Whether the word starts with key ("bdf=") and has a value after it:
 * the value is (*val, *vlen). */
bool guest_arg_value(const CHAR16 *w, size_t len, const char *key, const CHAR16 **val, size_t *vlen);
/* Whether the word is exactly key ("bare=1"). */
bool guest_arg_is(const CHAR16 *w, size_t len, const char *key);
/* Decimal, or hex after 0x; stops at the first character that is neither. */
uint64_t guest_arg_num(const CHAR16 *s, size_t len);
/* bus:dev.fn in hex (bus <= 255, dev <= 31, fn <= 7, each with a digit). */
bool guest_arg_bdf(const CHAR16 *s, size_t len, unsigned *bus, unsigned *dev, unsigned *fn);
/* The value into dst (cap CHAR16s, cut, always terminated). */
void guest_arg_copy(CHAR16 *dst, size_t cap, const CHAR16 *s, size_t len);

#endif
