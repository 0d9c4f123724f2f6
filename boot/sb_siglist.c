/* The EFI_SIGNATURE_LIST walk (UEFI 2.9 32.4.1) for db and MokList: the
 * variable bytes come from the firmware or from efivarfs (tools/
 * minihv-preflight): untrusted, every size is checked against what is left.
 * No config dependency, so preflight links it alone. */
#include <minihv/format.h>
#include <minihv/libc.h>
#include "boot/sb_policy.h"

const uint8_t sb_cert_x509_guid[16] = { 0xa1, 0x59, 0xc0, 0xa5, 0xe4, 0x94, 0xa7, 0x4a,
                                        0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72 };

int sb_siglist_has_cert(const uint8_t *buf, size_t len, const uint8_t *cert, size_t cert_len, unsigned *count,
                        char *err, size_t errn)
{
    size_t off = 0;
    unsigned x509 = 0;
    int found = 0;
    if (count)
        *count = 0;
    while (off < len) {
        size_t left = len - off;
        if (left < 28) {
            fmt_snprintf(err, errn, "signature list at %zu: %zu bytes, header needs 28", off, left);
            return -1;
        }
        const uint8_t *l = buf + off;
        uint32_t list_size = le32(l + 16), hdr_size = le32(l + 20), sig_size = le32(l + 24);
        if (list_size < 28 || list_size > left) {
            fmt_snprintf(err, errn, "signature list at %zu: SignatureListSize %u (%zu bytes left)", off, list_size, left);
            return -1;
        }
        if (hdr_size > list_size - 28) {
            fmt_snprintf(err, errn, "signature list at %zu: SignatureHeaderSize %u over the list", off, hdr_size);
            return -1;
        }
        size_t body = list_size - 28 - hdr_size;
        if (sig_size < 16 || body % sig_size) {
            fmt_snprintf(err, errn, "signature list at %zu: SignatureSize %u does not divide the %zu-byte body", off,
                         sig_size, body);
            return -1;
        }
        bool is_x509 = memcmp(l, sb_cert_x509_guid, 16) == 0;
        for (size_t s = 28 + hdr_size; s < list_size; s += sig_size) {
            if (!is_x509)
                continue;
            x509++;
            /* EFI_SIGNATURE_DATA: SignatureOwner GUID, then the DER. */
            if (sig_size - 16 == cert_len && memcmp(l + s + 16, cert, cert_len) == 0)
                found = 1;
        }
        off += list_size;
    }
    if (count)
        *count = x509;
    return found;
}
