/* Secure Boot and measured launch, pure parts (boot/sb_policy.c): the keys
 * refused under Secure Boot, the measured policy line (its exact text is
 * what check-secureboot's replay recomputes), and the EFI_SIGNATURE_LIST
 * walk on crafted lists, malformed ones included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "boot/config.h"
#include "boot/sb_policy.h"

static void parse(const char *text, struct minihv_config *cfg)
{
    struct config_error err;
    assert_int_equal(config_parse(text, strlen(text), cfg, &err), 0);
}

static void test_weakening_keys(void **state)
{
    (void)state;
    struct minihv_config cfg;
    char buf[128];
    parse("", &cfg);
    assert_null(sb_weakening_key(&cfg, buf, sizeof(buf)));
    parse("iommu = vtd\nhv_mem_mb = 32\npassthrough = igd\n", &cfg);
    assert_null(sb_weakening_key(&cfg, buf, sizeof(buf)));
    parse("iommu = none\n", &cfg);
    assert_string_equal(sb_weakening_key(&cfg, buf, sizeof(buf)), "iommu = none: device DMA would not be contained");
    parse("igd_force = 1\n", &cfg);
    assert_non_null(strstr(sb_weakening_key(&cfg, buf, sizeof(buf)), "igd_force = 1"));
    parse("hv_mem_mb = 16\n", &cfg);
    assert_string_equal(sb_weakening_key(&cfg, buf, sizeof(buf)), "hv_mem_mb = 16: outside 32-2048");
    parse("hv_mem_mb = 4096\n", &cfg);
    assert_non_null(strstr(sb_weakening_key(&cfg, buf, sizeof(buf)), "hv_mem_mb = 4096"));
    parse("hv_mem_mb = 2048\n", &cfg);
    assert_null(sb_weakening_key(&cfg, buf, sizeof(buf)));
}

static void test_policy_string(void **state)
{
    (void)state;
    struct minihv_config cfg;
    char buf[512];
    parse("", &cfg);
    int len = sb_policy_string(&cfg, buf, sizeof(buf));
    assert_int_equal(len, (int)strlen(buf));
    assert_string_equal(buf, "minihv policy 1: passthrough none; iommu auto; igd_force 0; hv_mem_mb 64; "
                             "guest (firmware's next boot option); boot-abi 4");
    parse("passthrough = 0000:03:00.1\niommu = amdvi\nguest = \\EFI\\g.efi\n", &cfg);
    assert_true(sb_policy_string(&cfg, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, "minihv policy 1: passthrough 0000:03:00.1; iommu amdvi; igd_force 0; hv_mem_mb 64; "
                             "guest \\EFI\\g.efi; boot-abi 4");
    parse("passthrough = igd\n", &cfg);
    assert_true(sb_policy_string(&cfg, buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "passthrough igd;"));
    /* Too small a buffer: -1, never a cut line measured. */
    assert_int_equal(sb_policy_string(&cfg, buf, 20), -1);
}

/* Appends one EFI_SIGNATURE_LIST with `n` entries of `data_len` bytes each. */
static size_t put_list(uint8_t *p, const uint8_t guid[16], uint32_t hdr, const uint8_t *data, uint32_t data_len,
                       unsigned n)
{
    uint32_t sig = 16 + data_len, size = 28 + hdr + n * sig;
    memcpy(p, guid, 16);
    memcpy(p + 16, &size, 4);
    memcpy(p + 20, &hdr, 4);
    memcpy(p + 24, &sig, 4);
    memset(p + 28, 0xee, hdr);
    for (unsigned i = 0; i < n; i++) {
        memset(p + 28 + hdr + i * sig, 0x11, 16); /* SignatureOwner */
        memcpy(p + 28 + hdr + i * sig + 16, data, data_len);
    }
    return size;
}

static const uint8_t sha256_guid[16] = { 0x26, 0x16, 0xc4, 0xc1, 0x4c, 0x50, 0x92, 0x40,
                                         0xac, 0xa9, 0x41, 0xf9, 0x36, 0x93, 0x43, 0x28 };

static void test_siglist(void **state)
{
    (void)state;
    uint8_t buf[1024], cert[40], other[40], hash[32];
    char err[128];
    unsigned count;
    memset(cert, 0x30, sizeof(cert));
    memset(other, 0x31, sizeof(other));
    memset(hash, 0x30, sizeof(hash));
    size_t len = put_list(buf, sha256_guid, 0, hash, 32, 3);      /* hashes: never a certificate */
    len += put_list(buf + len, sb_cert_x509_guid, 0, other, 40, 1);
    assert_int_equal(sb_siglist_has_cert(buf, len, cert, sizeof(cert), &count, err, sizeof(err)), 0);
    assert_int_equal(count, 1);
    len += put_list(buf + len, sb_cert_x509_guid, 4, cert, 40, 1); /* with a SignatureHeader */
    assert_int_equal(sb_siglist_has_cert(buf, len, cert, sizeof(cert), &count, err, sizeof(err)), 1);
    assert_int_equal(count, 2);
    /* A prefix of the certificate is not the certificate. */
    assert_int_equal(sb_siglist_has_cert(buf, len, cert, 39, NULL, err, sizeof(err)), 0);
    /* Empty variable: nothing enrolled. */
    assert_int_equal(sb_siglist_has_cert(buf, 0, cert, sizeof(cert), &count, err, sizeof(err)), 0);
    /* Truncated: the last list's SignatureListSize runs past the end. */
    assert_int_equal(sb_siglist_has_cert(buf, len - 1, cert, sizeof(cert), NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "SignatureListSize"));
    /* A tail shorter than a list header. */
    assert_int_equal(sb_siglist_has_cert(buf, 20, cert, sizeof(cert), NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "header needs 28"));
    /* SignatureSize 0 (would loop forever) and one that does not divide. */
    uint8_t bad[256];
    size_t n = put_list(bad, sb_cert_x509_guid, 0, cert, 40, 2);
    uint32_t v = 0;
    memcpy(bad + 24, &v, 4);
    assert_int_equal(sb_siglist_has_cert(bad, n, cert, sizeof(cert), NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "SignatureSize 0"));
    v = 50;
    memcpy(bad + 24, &v, 4);
    assert_int_equal(sb_siglist_has_cert(bad, n, cert, sizeof(cert), NULL, err, sizeof(err)), -1);
    /* SignatureHeaderSize beyond the list, and a list size under 28. */
    n = put_list(bad, sb_cert_x509_guid, 0, cert, 40, 1);
    v = 0xffffffffu;
    memcpy(bad + 20, &v, 4);
    assert_int_equal(sb_siglist_has_cert(bad, n, cert, sizeof(cert), NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "SignatureHeaderSize"));
    v = 27;
    memcpy(bad + 16, &v, 4);
    assert_int_equal(sb_siglist_has_cert(bad, n, cert, sizeof(cert), NULL, err, sizeof(err)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weakening_keys),
        cmocka_unit_test(test_policy_string),
        cmocka_unit_test(test_siglist),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
