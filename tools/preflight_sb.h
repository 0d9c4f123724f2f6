/* minihv-preflight: is minihv's certificate enrolled (issue 20)? */
#ifndef MINIHV_TOOLS_PREFLIGHT_SB_H
#define MINIHV_TOOLS_PREFLIGHT_SB_H

#include <stdbool.h>

struct preflight_sb {
    int in_db, in_mok;          /* 1 yes, 0 no, -1 variable absent or unreadable */
    unsigned db_x509, mok_x509; /* X.509 entries seen */
    char why[256];              /* a malformed variable or certificate, named; empty if none */
};

/* Reads the certificate (DER, as `make image` puts minihv.cer on the
 * stick) and efivarfs's db and MokListRT (shim's run-time copy of
 * MokList) under root. 0 on success, -1 if the certificate cannot be
 * read (why says so). */
int preflight_sb_check(const char *root, const char *cert_path, struct preflight_sb *out);

#endif
