/* The SVM backend's pure decisions (hv/svm/svm_policy.c): MSR permission
 * map bit positions (APM Vol. 2 15.11), EFER.SVME hiding, VM_CR and
 * VM_HSAVE_PA, CPUID, instruction lengths without next-RIP save, APIC
 * interrupt commands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <minihv/x86.h>
#include "hv/msr_policy.h"
#include "hv/svm/svm_policy.h"

static void test_msrpm_positions(void **state)
{
    (void)state;
    unsigned byte, bit;
    /* APM Table 15-10: two bits per MSR, read then write. */
    assert_true(msrpm_locate(0, false, &byte, &bit));
    assert_int_equal(byte, 0);
    assert_int_equal(bit, 0);
    assert_true(msrpm_locate(0, true, &byte, &bit));
    assert_int_equal(bit, 1);
    assert_true(msrpm_locate(0x1fff, true, &byte, &bit));
    assert_int_equal(byte, 0x7ff);
    assert_int_equal(bit, 7);
    /* EFER c000_0080: 0x800 + 0x80 * 2 / 8 = 0x820, bits 0 and 1. */
    assert_true(msrpm_locate(MSR_EFER, false, &byte, &bit));
    assert_int_equal(byte, 0x820);
    assert_int_equal(bit, 0);
    /* VM_CR c001_0114: 0x1000 + 0x114 * 2 / 8 = 0x1045, bits 0/1. */
    assert_true(msrpm_locate(MSR_VM_CR, true, &byte, &bit));
    assert_int_equal(byte, 0x1045);
    assert_int_equal(bit, 1);
    /* VM_HSAVE_PA c001_0117: byte 0x1045, bits 6/7. */
    assert_true(msrpm_locate(MSR_VM_HSAVE_PA, false, &byte, &bit));
    assert_int_equal(byte, 0x1045);
    assert_int_equal(bit, 6);
    /* x2APIC ICR 0x830: byte 0x20c, write bit 1. */
    assert_true(msrpm_locate(MSR_X2APIC_ICR, true, &byte, &bit));
    assert_int_equal(byte, 0x20c);
    assert_int_equal(bit, 1);
    /* Outside the three ranges: no bit (always intercepted). */
    assert_false(msrpm_locate(0x2000, false, &byte, &bit));
    assert_false(msrpm_locate(0x40000000, false, &byte, &bit));
    assert_false(msrpm_locate(0xc0002000, false, &byte, &bit));
    assert_false(msrpm_locate(0xc0012000, true, &byte, &bit));
}

static bool msrpm_bit(const uint8_t *map, uint32_t msr, bool write)
{
    unsigned byte, bit;
    assert_true(msrpm_locate(msr, write, &byte, &bit));
    return map[byte] & (1u << bit);
}

static void test_msrpm_fill(void **state)
{
    (void)state;
    static uint8_t map[MSRPM_BYTES];
    memset(map, 0x5a, sizeof(map));
    msrpm_fill(map);
    /* Bit for bit the MSR table (hv/msr_policy.c), all three ranges. */
    static const uint32_t firsts[] = { 0x00000000u, 0xc0000000u, 0xc0010000u };
    unsigned clear = 0;
    for (unsigned r = 0; r < 3; r++)
        for (uint32_t m = firsts[r]; m < firsts[r] + 0x2000u; m++)
            for (int w = 0; w <= 1; w++) {
                assert_int_equal(msrpm_bit(map, m, w), msr_exits(m, w, MSR_ON_SVM));
                clear += !msrpm_bit(map, m, w);
            }
    assert_true(clear > 300);
    /* The reserved last 2 KiB: all set. */
    for (unsigned i = 0x1800; i < MSRPM_BYTES; i++)
        assert_int_equal(map[i], 0xff);
    assert_int_equal(map[0x820], 0x03);          /* EFER c000_0080 r/w exit (SVME); STAR/LSTAR/CSTAR pass */
    assert_int_equal(map[0x1045] & 0xc3, 0xc3);  /* VM_CR r/w (bits 0,1), VM_HSAVE_PA r/w (6,7) */
    assert_int_equal(map[0x20c] & 0x03, 0x02);   /* x2APIC ICR: write only */
    /* The MSRs (issue 14, path 3): writes exit. */
    assert_true(msrpm_bit(map, 0x1b, true));        /* IA32_APIC_BASE */
    assert_false(msrpm_bit(map, 0x1b, false));
    assert_true(msrpm_bit(map, MSR_IA32_PAT, true)); /* PAT: the VMCB's g_pat */
    assert_true(msrpm_bit(map, MSR_IA32_PAT, false));
    assert_true(msrpm_bit(map, 0xc0010010, true));  /* SYSCFG */
    assert_true(msrpm_bit(map, 0xc001001a, true));  /* TOP_MEM */
    assert_true(msrpm_bit(map, 0xc001001d, true));  /* TOM2 */
    assert_true(msrpm_bit(map, 0xc0010016, true));  /* IORRBase0 */
    assert_true(msrpm_bit(map, 0xc0010058, true));  /* MMIO_CFG_BASE */
    assert_true(msrpm_bit(map, 0xc0010112, true));  /* SMM_ADDR */
    assert_true(msrpm_bit(map, 0xc0010113, true));  /* SMM_MASK */
    /* The hot path runs without exits. */
    assert_false(msrpm_bit(map, 0xc0000082, true)); /* LSTAR */
    assert_false(msrpm_bit(map, 0xc0000102, true)); /* KERNEL_GS_BASE */
    assert_false(msrpm_bit(map, 0x48, true));       /* SPEC_CTRL */
    assert_false(msrpm_bit(map, 0x80b, true));      /* x2APIC EOI */
    assert_false(msrpm_bit(map, 0xc0010201, true)); /* PerfCtr0 */
}

static void test_efer(void **state)
{
    (void)state;
    uint64_t allowed = EFER_SCE | EFER_LME | EFER_NXE_BIT;
    uint64_t cur = EFER_SVME | EFER_LME | EFER_LMA | EFER_NXE_BIT | EFER_SCE;
    assert_int_equal(svm_efer_read(cur), EFER_LME | EFER_LMA | EFER_NXE_BIT | EFER_SCE);
    uint64_t out = 0;
    /* Clearing SCE with paging on: fine, SVME kept, LMA kept. */
    assert_int_equal(svm_efer_write(cur, EFER_LME | EFER_NXE_BIT, allowed, true, &out), MSR_OK);
    assert_int_equal(out, EFER_SVME | EFER_LME | EFER_LMA | EFER_NXE_BIT);
    /* Writing LMA does not change it (the CPU's). */
    assert_int_equal(svm_efer_write(cur, EFER_LME | EFER_SCE, allowed, true, &out), MSR_OK);
    assert_int_equal(out & EFER_LMA, EFER_LMA);
    /* Setting SVME: #GP (CPUID says no SVM). */
    assert_int_equal(svm_efer_write(cur, cur, allowed, true, &out), MSR_GP);
    /* Unsupported bits: #GP. */
    assert_int_equal(svm_efer_write(cur, EFER_LME | EFER_FFXSR, allowed, true, &out), MSR_GP);
    assert_int_equal(svm_efer_write(cur, EFER_LME | (1ull << 20), allowed, true, &out), MSR_GP);
    /* LME change with paging on: #GP; with paging off: fine. */
    assert_int_equal(svm_efer_write(cur, EFER_SCE, allowed, true, &out), MSR_GP);
    assert_int_equal(svm_efer_write(EFER_SVME, EFER_LME, allowed, false, &out), MSR_OK);
    assert_int_equal(out, EFER_SVME | EFER_LME);
}

static void test_vm_cr_hsave(void **state)
{
    (void)state;
    uint64_t v = 1;
    assert_int_equal(svm_msr_read_policy(MSR_VM_CR, &v), MSR_OK);
    assert_int_equal(v, VM_CR_LOCK | VM_CR_SVMDIS);
    assert_int_equal(v & (1u << 4), 1u << 4); /* SVMDIS is bit 4 */
    assert_int_equal(v & (1u << 3), 1u << 3); /* LOCK is bit 3 */
    assert_int_equal(svm_msr_write_policy(MSR_VM_CR, 0), MSR_OK); /* ignored */
    v = 1;
    assert_int_equal(svm_msr_read_policy(MSR_VM_HSAVE_PA, &v), MSR_OK);
    assert_int_equal(v, 0);
    assert_int_equal(svm_msr_write_policy(MSR_VM_HSAVE_PA, 0x1000), MSR_GP);
    assert_int_equal(svm_msr_read_policy(0xc0010118, &v), MSR_GP);
}

static void test_cpuid(void **state)
{
    (void)state;
    uint32_t r[4] = { 1, 2, 0xffffffff, 4 };
    svm_cpuid_policy(0x80000001, 0, r);
    assert_int_equal(r[2], 0xffffffffu & ~CPUID_80000001_ECX_SVM);
    assert_int_equal(r[0], 1);
    assert_int_equal(r[3], 4);
    uint32_t a[4] = { 1, 0x10, 0, 0x1bfff };
    svm_cpuid_policy(0x8000000a, 0, a);
    assert_int_equal(a[0] | a[1] | a[2] | a[3], 0);
    uint32_t o[4] = { 1, 2, 3, 4 };
    svm_cpuid_policy(1, 0, o);
    assert_int_equal(o[2], 3);
}

static void test_insn_length(void **state)
{
    (void)state;
    const uint8_t cpuid[] = { 0x0f, 0xa2, 0x90 };
    assert_int_equal(svm_insn_length(cpuid, 3, DECODE_MODE_64, SVM_INSN_CPUID), 2);
    assert_int_equal(svm_insn_length(cpuid, 1, DECODE_MODE_64, SVM_INSN_CPUID), 0);
    assert_int_equal(svm_insn_length(cpuid, 3, DECODE_MODE_64, SVM_INSN_RDMSR), 0);
    const uint8_t vmmcall[] = { 0x0f, 0x01, 0xd9 };
    assert_int_equal(svm_insn_length(vmmcall, 3, DECODE_MODE_32, SVM_INSN_VMMCALL), 3);
    assert_int_equal(svm_insn_length(vmmcall, 3, DECODE_MODE_32, SVM_INSN_VMCALL), 0);
    const uint8_t vmcall[] = { 0x0f, 0x01, 0xc1 };
    assert_int_equal(svm_insn_length(vmcall, 3, DECODE_MODE_64, SVM_INSN_VMCALL), 3);
    const uint8_t xsetbv[] = { 0x0f, 0x01, 0xd1 };
    assert_int_equal(svm_insn_length(xsetbv, 3, DECODE_MODE_64, SVM_INSN_XSETBV), 3);
    /* Prefixes count: 66 2e 48 0f 32 (REX.W RDMSR) in 64-bit mode. */
    const uint8_t prefixed[] = { 0x66, 0x2e, 0x48, 0x0f, 0x32 };
    assert_int_equal(svm_insn_length(prefixed, 5, DECODE_MODE_64, SVM_INSN_RDMSR), 5);
    /* 0x48 is DEC EAX outside 64-bit mode: not a prefix. */
    assert_int_equal(svm_insn_length(prefixed, 5, DECODE_MODE_32, SVM_INSN_RDMSR), 0);
    const uint8_t wrmsr[] = { 0xf3, 0x0f, 0x30 };
    assert_int_equal(svm_insn_length(wrmsr, 3, DECODE_MODE_16, SVM_INSN_WRMSR), 3);
    const uint8_t invd[] = { 0x0f, 0x08 };
    assert_int_equal(svm_insn_length(invd, 2, DECODE_MODE_64, SVM_INSN_INVD), 2);
    /* 14 prefixes + 2 opcode bytes > 15: not an instruction. */
    uint8_t longer[16];
    memset(longer, 0x66, sizeof(longer));
    longer[14] = 0x0f;
    longer[15] = 0xa2;
    assert_int_equal(svm_insn_length(longer, 16, DECODE_MODE_64, SVM_INSN_CPUID), 0);
    longer[13] = 0x0f;
    longer[14] = 0xa2;
    assert_int_equal(svm_insn_length(longer, 15, DECODE_MODE_64, SVM_INSN_CPUID), 15);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_msrpm_positions), cmocka_unit_test(test_msrpm_fill),
        cmocka_unit_test(test_efer),            cmocka_unit_test(test_vm_cr_hsave),
        cmocka_unit_test(test_cpuid),           cmocka_unit_test(test_insn_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
