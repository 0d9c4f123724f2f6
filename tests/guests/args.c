/* See args.h. */
#include <efi.h>
#include <efilib.h>
#include <minihv/libc.h>
#include "tests/guests/args.h"

bool guest_args_open(EFI_HANDLE image, struct guest_args *a)
{
    EFI_LOADED_IMAGE *li = NULL;
    *a = (struct guest_args){ 0 };
    if (EFI_ERROR(BS->HandleProtocol(image, &LoadedImageProtocol, (void **)&li)) || !li || !li->LoadOptions)
        return false;
    a->s = li->LoadOptions;
    a->n = li->LoadOptionsSize / sizeof(CHAR16);
    return true;
}

bool guest_args_next(struct guest_args *a, const CHAR16 **w, size_t *len)
{
    while (a->pos < a->n && a->s[a->pos] == L' ')
        a->pos++;
    if (a->pos >= a->n || !a->s[a->pos])
        return false;
    size_t start = a->pos;
    while (a->pos < a->n && a->s[a->pos] && a->s[a->pos] != L' ')
        a->pos++;
    *w = a->s + start;
    *len = a->pos - start;
    return true;
}

static bool starts_with(const CHAR16 *w, size_t len, const char *key, size_t k)
{
    if (len < k)
        return false;
    for (size_t i = 0; i < k; i++)
        if (w[i] != (CHAR16)(unsigned char)key[i])
            return false;
    return true;
}

bool guest_arg_value(const CHAR16 *w, size_t len, const char *key, const CHAR16 **val, size_t *vlen)
{
    size_t k = strlen(key);
    if (len <= k || !starts_with(w, len, key, k))
        return false;
    *val = w + k;
    *vlen = len - k;
    return true;
}

bool guest_arg_is(const CHAR16 *w, size_t len, const char *key)
{
    size_t k = strlen(key);
    return len == k && starts_with(w, len, key, k);
}

static unsigned hex_digit(CHAR16 c)
{
    return c >= L'0' && c <= L'9' ? (unsigned)(c - L'0') : c >= L'a' && c <= L'f' ? (unsigned)(c - L'a' + 10)
         : c >= L'A' && c <= L'F' ? (unsigned)(c - L'A' + 10) : 99u;
}

uint64_t guest_arg_num(const CHAR16 *s, size_t len)
{
    uint64_t v = 0;
    unsigned base = 10;
    size_t i = 0;
    if (len > 2 && s[0] == L'0' && (s[1] == L'x' || s[1] == L'X')) {
        base = 16;
        i = 2;
    }
    for (; i < len; i++) {
        unsigned x = hex_digit(s[i]);
        if (x >= base)
            break;
        v = v * base + x;
    }
    return v;
}

bool guest_arg_bdf(const CHAR16 *s, size_t len, unsigned *bus, unsigned *dev, unsigned *fn)
{
    unsigned v[3] = { 0, 0, 0 }, k = 0, digits = 0;
    for (size_t i = 0; i < len; i++) {
        if ((s[i] == L':' && k == 0) || (s[i] == L'.' && k == 1)) {
            if (!digits)
                return false;
            k++;
            digits = 0;
            continue;
        }
        unsigned x = hex_digit(s[i]);
        if (x >= 16)
            return false;
        v[k] = v[k] * 16 + x;
        digits++;
    }
    if (k != 2 || !digits || v[0] > 255 || v[1] > 31 || v[2] > 7)
        return false;
    *bus = v[0];
    *dev = v[1];
    *fn = v[2];
    return true;
}

void guest_arg_copy(CHAR16 *dst, size_t cap, const CHAR16 *s, size_t len)
{
    if (!cap)
        return;
    size_t m = len < cap - 1 ? len : cap - 1;
    memcpy(dst, s, m * sizeof(CHAR16));
    dst[m] = 0;
}
