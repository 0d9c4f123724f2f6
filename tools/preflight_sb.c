/* minihv-preflight's enrollment check (issue 20): whether minihv's signing
 * certificate is in db (the firmware trusts minihv.efi directly) or in
 * MokList (shim does, `make image SHIM=1`). efivarfs files are 4 bytes of
 * attributes, then the variable (Linux Documentation/filesystems/efivarfs);
 * the lists go through boot/sb_siglist.c, bounds-checked. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "boot/sb_policy.h"
#include "tools/preflight_sb.h"

#define SB_VAR_MAX (1u << 20)

static unsigned char *slurp(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *b = malloc(max + 1);
    size_t n = b ? fread(b, 1, max + 1, f) : 0;
    fclose(f);
    if (!b || n > max) {
        free(b);
        errno = EFBIG;
        return NULL;
    }
    *len = n;
    return b;
}

static int in_var(const char *root, const char *name, const unsigned char *cert, size_t cert_len, unsigned *count,
                  char *why, size_t whyn)
{
    char path[4096];
    size_t n;
    snprintf(path, sizeof(path), "%s/sys/firmware/efi/efivars/%s", root, name);
    unsigned char *b = slurp(path, SB_VAR_MAX, &n);
    if (!b)
        return -1;
    int rc;
    char err[160] = "";
    if (n < 4) {
        snprintf(why, whyn, "efivars/%.60s: %zu bytes, under the 4 of attributes", name, n);
        rc = -1;
    } else {
        rc = sb_siglist_has_cert(b + 4, n - 4, cert, cert_len, count, err, sizeof(err));
        if (rc < 0)
            snprintf(why, whyn, "efivars/%.60s: %.160s", name, err);
    }
    free(b);
    return rc;
}

int preflight_sb_check(const char *root, const char *cert_path, struct preflight_sb *out)
{
    memset(out, 0, sizeof(*out));
    size_t cert_len;
    unsigned char *cert = slurp(cert_path, 64 * 1024, &cert_len);
    if (!cert) {
        snprintf(out->why, sizeof(out->why), "%.180s: %.60s", cert_path, strerror(errno));
        return -1;
    }
    /* DER: a SEQUENCE (0x30) with a long-form length (X.690 8.1.3). */
    if (cert_len < 4 || cert[0] != 0x30 || (cert[1] & 0x80) == 0) {
        snprintf(out->why, sizeof(out->why), "%.120s: not a DER certificate (first bytes %02x %02x; PEM? openssl x509 -outform der)",
                 cert_path, cert_len ? cert[0] : 0, cert_len > 1 ? cert[1] : 0);
        free(cert);
        return -1;
    }
    out->in_db = in_var(root, "db-d719b2cb-3d3a-4596-a3bc-dad00e67656f", cert, cert_len, &out->db_x509, out->why,
                        sizeof(out->why));
    out->in_mok = in_var(root, "MokListRT-605dab50-e046-4300-abb6-3dd810dd8b23", cert, cert_len, &out->mok_x509,
                         out->why, sizeof(out->why));
    free(cert);
    return 0;
}
