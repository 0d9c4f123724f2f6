/* Open SMM by chipset (boot/smm_open.c), fed recorded register values:
 * each case says where its values come from. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "boot/smm_open.h"

/* 00:00.0's first 256 bytes and the BSP's SMM MSRs, as recorded. */
struct machine {
    uint8_t cfg[256];
    bool msrs_read;   /* false: every RDMSR fails */
    uint64_t hwcr, smm_base, smm_mask;
    unsigned msr_reads;
};

static uint32_t cfg_read32(void *ctx, uint16_t off)
{
    struct machine *m = ctx;
    uint32_t v;
    assert_true(off < 256 && !(off & 3));
    memcpy(&v, m->cfg + off, 4);
    return v;
}

static bool msr_read(void *ctx, uint32_t msr, uint64_t *value)
{
    struct machine *m = ctx;
    m->msr_reads++;
    if (!m->msrs_read)
        return false;
    switch (msr) {
    case 0xc0010015: *value = m->hwcr; return true;
    case 0xc0010111: *value = m->smm_base; return true;
    case 0xc0010113: *value = m->smm_mask; return true;
    }
    fail_msg("MSR 0x%x read: not one of HWCR, SMM_BASE, SMM_MASK", msr);
    return false;
}

static void host_bridge(struct machine *m, uint16_t vendor, uint16_t device)
{
    memset(m, 0, sizeof(*m));
    memcpy(m->cfg, &vendor, 2);
    memcpy(m->cfg + 2, &device, 2);
    m->cfg[0x0a] = 0x00; /* subclass: host */
    m->cfg[0x0b] = 0x06; /* class: bridge */
}

static void amd_msrs(struct machine *m, uint64_t hwcr, uint64_t base, uint64_t mask)
{
    m->msrs_read = true;
    m->hwcr = hwcr;
    m->smm_base = base;
    m->smm_mask = mask;
}

static enum smm_state check(struct machine *m, bool cpu_amd, struct smm_verdict *v)
{
    struct smm_probe p = { cfg_read32, msr_read, m, cpu_amd };
    smm_open_check(&p, v);
    return v->state;
}

/* q35 with the test OVMF (no SMM): the loader's log on every q-* boot,
 * "smm: q35 SMRAMC 0x02: SMM open"; with Debian's OVMF_CODE_4M.secboot.fd
 * on q35,smm=on (the secboot boots' firmware): the loader's log there,
 * "SMRAMC 0x1a (D_LCK 1, G_SMRAME 1, D_OPEN 0), SMM locked". */
static void test_q35(void **state)
{
    (void)state;
    struct machine m;
    struct smm_verdict v;
    host_bridge(&m, 0x8086, 0x29c0);
    m.cfg[0x9d] = 0x02;
    assert_int_equal(check(&m, false, &v), SMM_OPEN);
    assert_string_equal(v.rule, "q35 MCH SMRAMC 0x9d");
    assert_non_null(strstr(v.detail, "SMRAMC 0x02 (D_LCK 0"));
    m.cfg[0x9d] = 0x1a;
    assert_int_equal(check(&m, false, &v), SMM_LOCKED);
}

/* QEMU's -cpu max under TCG is AMD; its HWCR and SMM_* read 0 (QEMU
 * target/i386/tcg/sysemu/misc_helper.c helper_rdmsr: no case for them).
 * On q35 the MCH decides and the MSRs are never read: an AMD rule keyed
 * on the CPU would have called SMBASE moved (0) and left 0x38000 open. */
static void test_q35_amd_cpu_msrs_not_read(void **state)
{
    (void)state;
    struct machine m;
    struct smm_verdict v;
    host_bridge(&m, 0x8086, 0x29c0);
    m.cfg[0x9d] = 0x02;
    amd_msrs(&m, 0, 0, 0);
    assert_int_equal(check(&m, true, &v), SMM_OPEN);
    assert_int_equal(m.msr_reads, 0);
}

/* Intel Core host bridges, SMRAMC at 0x88: the value 0x1a is what
 * chipsec's common.smm module printed on real machines ("PCI0.0.0_SMRAMC
 * = 0x1A ... D_LCK = 1"); 0x02 is the datasheets' default (C_BASE_SEG
 * 010b, nothing else), a firmware that never set SMM up. The device ID
 * (Ivy Bridge 0x0154) only has to be Intel's: the row takes any. */
static void test_intel_core(void **state)
{
    (void)state;
    struct machine m;
    struct smm_verdict v;
    host_bridge(&m, 0x8086, 0x0154);
    m.cfg[0x88] = 0x1a;
    uint32_t tsegmb = 0xcf800001u; /* TSEG at 0xcf800000, locked */
    memcpy(m.cfg + 0xb8, &tsegmb, 4);
    assert_int_equal(check(&m, false, &v), SMM_LOCKED);
    assert_string_equal(v.rule, "Intel host bridge SMRAMC 0x88");
    assert_non_null(strstr(v.detail, "TSEG at 0xcf800000, locked"));
    m.cfg[0x88] = 0x02;
    memset(m.cfg + 0xb8, 0, 4);
    assert_int_equal(check(&m, false, &v), SMM_OPEN);
    /* D_LCK clear with a TSEG: SMBASE cannot be read from outside SMM,
     * so the default range is still taken (it costs 64 KiB). */
    m.cfg[0x88] = 0x0a;
    memcpy(m.cfg + 0xb8, &tsegmb, 4);
    assert_int_equal(check(&m, false, &v), SMM_OPEN);
}

/* A chipsec log whose config reads all came back 0 (TSEGMB, TOLUD, TOM
 * 0; "PCI0.0.0_SMRAMC = 0x00 ... Compatible SMRAM is not enabled"), and
 * a register reading all-ones: no SMRAMC there, nothing decided. Before
 * the i440FX row, Bochs' i440FX met the Intel row and read 0x00 at 0x88
 * (the loader's log on b-vmx: "SMRAMC 0x00: C_BASE_SEG not 010b"). */
static void test_intel_not_smramc(void **state)
{
    (void)state;
    struct machine m;
    struct smm_verdict v;
    host_bridge(&m, 0x8086, 0x0c00);
    assert_int_equal(check(&m, false, &v), SMM_NOT_KNOWN);
    assert_non_null(strstr(v.detail, "not an SMRAMC"));
    m.cfg[0x88] = 0xff;
    assert_int_equal(check(&m, false, &v), SMM_NOT_KNOWN);
}

/* The i440FX (QEMU -machine pc, Bochs): SMRAM at 0x72, 0x02 at reset
 * (QEMU hw/pci-host/i440fx.c), 0x1a once SeaBIOS/OVMF with SMM lock it;
 * 0x88 is not looked at. */
static void test_i440fx(void **state)
{
    (void)state;
    struct machine m;
    struct smm_verdict v;
    host_bridge(&m, 0x8086, 0x1237);
    m.cfg[0x72] = 0x02;
    assert_int_equal(check(&m, false, &v), SMM_OPEN);
    assert_string_equal(v.rule, "i440FX SMRAM 0x72");
    m.cfg[0x72] = 0x1a;
    m.cfg[0x88] = 0x02;
    assert_int_equal(check(&m, false, &v), SMM_LOCKED);
}

/* AMD, VirtualBox's CPU database (src/VBox/VMM/VMMR3/cpus/), values read
 * on the real CPUs: Phenom II X6 1100T (on an AMD/ATI 1002 northbridge)
 * HWCR 0x1000031 (SMMLOCK), SMM_BASE 0xbdef8000, SMM_MASK
 * 0xffff`fff00003 (TSeg and ASeg valid); Athlon 64 X2 4200+ HWCR
 * 0x2000060 (SMMLOCK clear), SMM_BASE 0x98200, SMM_MASK 0x1 (ASeg). */
static void test_amd_recorded(void **state)
{
    (void)state;
    struct machine m;
    struct smm_verdict v;
    host_bridge(&m, 0x1002, 0x5a10);
    amd_msrs(&m, 0x1000031, 0xbdef8000, 0xfffffff00003ull);
    assert_int_equal(check(&m, true, &v), SMM_LOCKED);
    assert_string_equal(v.rule, "AMD (ATI) northbridge, CPU SMM MSRs");
    host_bridge(&m, 0x1002, 0x5950);
    amd_msrs(&m, 0x2000060, 0x98200, 0x1);
    assert_int_equal(check(&m, true, &v), SMM_SET_UP);
    assert_non_null(strstr(v.detail, "SMMLOCK 0"));
}

/* A Zen root complex (1022:1480) on a firmware that never set SMM up:
 * every register at its reset value (APM Vol. 2 A.8: SMM_BASE
 * 0x30000; HWCR.SMMLOCK and SMM_MASK 0). Then the MSRs failing, and an
 * AMD host bridge with a CPU that is not AMD. */
static void test_amd_open(void **state)
{
    (void)state;
    struct machine m;
    struct smm_verdict v;
    host_bridge(&m, 0x1022, 0x1480);
    amd_msrs(&m, 0, 0x30000, 0);
    assert_int_equal(check(&m, true, &v), SMM_OPEN);
    assert_string_equal(v.rule, "AMD host bridge, CPU SMM MSRs");
    amd_msrs(&m, 1, 0x30000, 0); /* locked at the default: the firmware's call */
    assert_int_equal(check(&m, true, &v), SMM_LOCKED);
    m.msrs_read = false;
    assert_int_equal(check(&m, true, &v), SMM_NOT_KNOWN);
    amd_msrs(&m, 0, 0x30000, 0);
    m.msr_reads = 0;
    assert_int_equal(check(&m, false, &v), SMM_NOT_KNOWN);
    assert_int_equal(m.msr_reads, 0);
}

/* No device at 00:00.0, a device that is not a host bridge, a vendor
 * without a rule (VIA's K8T800 1106:0282). */
static void test_no_rule(void **state)
{
    (void)state;
    struct machine m;
    struct smm_verdict v;
    memset(&m, 0xff, sizeof(m.cfg));
    assert_int_equal(check(&m, false, &v), SMM_NOT_KNOWN);
    assert_null(v.rule);
    host_bridge(&m, 0x8086, 0x29c0);
    m.cfg[0x0a] = 0x04; /* a PCI-PCI bridge */
    m.cfg[0x9d] = 0x02;
    assert_int_equal(check(&m, false, &v), SMM_NOT_KNOWN);
    host_bridge(&m, 0x1106, 0x0282);
    assert_int_equal(check(&m, true, &v), SMM_NOT_KNOWN);
    assert_null(v.rule);
    assert_non_null(strstr(v.detail, "no rule"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_q35),
        cmocka_unit_test(test_q35_amd_cpu_msrs_not_read),
        cmocka_unit_test(test_intel_core),
        cmocka_unit_test(test_intel_not_smramc),
        cmocka_unit_test(test_i440fx),
        cmocka_unit_test(test_amd_recorded),
        cmocka_unit_test(test_amd_open),
        cmocka_unit_test(test_no_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
