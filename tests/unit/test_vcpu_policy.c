/* The vCPU's pure decisions (hv/vcpu_policy.c): CPUID as the guest sees
 * it, the MSRs that exit and their answers, XSETBV validation, hypercall
 * buffer checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <minihv/hypercall.h>
#include <minihv/x86.h>
#include "hv/vcpu_policy.h"

static void test_cpuid_leaf1(void **state)
{
    (void)state;
    uint32_t r[4] = { 0x50654, 0x00010800, 0x7ffefbff | CPUID1_ECX_VMX, 0xbfebfbff };
    cpuid_policy(1, 0, r);
    assert_int_equal(r[2] & CPUID1_ECX_VMX, 0);
    assert_int_equal(r[2] & CPUID1_ECX_HYPERVISOR, CPUID1_ECX_HYPERVISOR);
    assert_int_equal(r[0], 0x50654);
    assert_int_equal(r[1], 0x00010800);
    assert_int_equal(r[3], 0xbfebfbff);
}

static void test_cpuid_hypervisor_leaves(void **state)
{
    (void)state;
    uint32_t r[4] = { 1, 2, 3, 4 };
    cpuid_policy(0x40000000, 0, r);
    assert_int_equal(r[0], MINIHV_CPUID_MAX_LEAF);
    assert_memory_equal(&r[1], "MiniHv\0\0\0\0\0\0", 12);
    uint32_t v[4] = { 1, 2, 3, 4 };
    cpuid_policy(0x40000001, 0, v);
    assert_int_equal(v[0], MINIHV_ABI_VERSION);
    assert_int_equal(v[1] | v[2] | v[3], 0);
    uint32_t z[4] = { 1, 2, 3, 4 };
    cpuid_policy(0x400000ff, 0, z);
    assert_int_equal(z[0] | z[1] | z[2] | z[3], 0);
    uint32_t o[4] = { 1, 2, 3, 4 }; /* other leaves untouched */
    cpuid_policy(7, 0, o);
    assert_int_equal(o[0], 1);
    assert_int_equal(o[3], 4);
    cpuid_policy(0x40000100, 0, o);
    assert_int_equal(o[2], 3);
}

static void test_msr_intercepts(void **state)
{
    (void)state;
    assert_true(msr_intercepted(0x3a));
    for (uint32_t m = 0x480; m <= 0x491; m++)
        assert_true(msr_intercepted(m));
    assert_false(msr_intercepted(0x47f));
    assert_false(msr_intercepted(0x492));
    assert_false(msr_intercepted(0xc0000080)); /* EFER: saved/loaded by the VMCS */
    assert_false(msr_intercepted(0x10));
}

static void test_msr_answers(void **state)
{
    (void)state;
    uint64_t v = 0;
    /* FEATURE_CONTROL: locked, VMXON disabled both in and outside SMX,
     * other bits (e.g. LMCE bit 20) kept. */
    assert_int_equal(msr_read_policy(0x3a, 0x100005, &v), MSR_OK);
    assert_int_equal(v, 0x100001);
    assert_int_equal(msr_read_policy(0x3a, 0, &v), MSR_OK);
    assert_int_equal(v, 1);
    assert_int_equal(msr_read_policy(0x480, 0, &v), MSR_GP);
    assert_int_equal(msr_read_policy(0x491, 0, &v), MSR_GP);
    assert_int_equal(msr_read_policy(0x40000000, 0, &v), MSR_GP);
    assert_int_equal(msr_write_policy(0x3a, 5), MSR_GP);
    assert_int_equal(msr_write_policy(0x3a, 1), MSR_GP);
    assert_int_equal(msr_write_policy(0x48b, 0), MSR_GP);
}

static void test_xsetbv(void **state)
{
    (void)state;
    uint64_t all = 0xe7; /* x87 SSE AVX, AVX-512 */
    assert_true(xsetbv_valid(0, 1, all));
    assert_true(xsetbv_valid(0, 3, all));
    assert_true(xsetbv_valid(0, 7, all));
    assert_true(xsetbv_valid(0, 0xe7, all));
    assert_false(xsetbv_valid(1, 7, all));     /* only XCR0 */
    assert_false(xsetbv_valid(0, 0, all));     /* x87 must stay */
    assert_false(xsetbv_valid(0, 6, all));
    assert_false(xsetbv_valid(0, 5, all));     /* AVX without SSE */
    assert_false(xsetbv_valid(0, 0x27, all));  /* part of AVX-512 */
    assert_false(xsetbv_valid(0, 0xe3, all));  /* AVX-512 without AVX */
    assert_false(xsetbv_valid(0, 0x1f, all));  /* MPX not supported */
    assert_true(xsetbv_valid(0, 0x1f, 0x1f));
    assert_false(xsetbv_valid(0, 0x0f, 0x1f)); /* half of MPX */
}

static void test_guest_buffers(void **state)
{
    (void)state;
    const uint64_t top = 4ull << 30, hv = 0x17e00000, hv_size = 64ull << 20;
    assert_true(guest_buffer_ok(0x1000, 4096, top, hv, hv_size));
    assert_true(guest_buffer_ok(hv - 64, 64, top, hv, hv_size));
    assert_true(guest_buffer_ok(hv + hv_size, 64, top, hv, hv_size));
    assert_false(guest_buffer_ok(hv - 63, 64, top, hv, hv_size));   /* last byte inside */
    assert_false(guest_buffer_ok(hv, 1, top, hv, hv_size));
    assert_false(guest_buffer_ok(hv + hv_size - 1, 1, top, hv, hv_size));
    assert_false(guest_buffer_ok(hv - 4096, hv_size + 8192, top, hv, hv_size)); /* spans it */
    assert_false(guest_buffer_ok(~0ull - 10, 64, top, hv, hv_size));    /* wraps */
    assert_false(guest_buffer_ok(top - 8, 16, top, hv, hv_size));       /* past the end */
    assert_false(guest_buffer_ok(0x1000, 0, top, hv, hv_size));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpuid_leaf1),
        cmocka_unit_test(test_cpuid_hypervisor_leaves),
        cmocka_unit_test(test_msr_intercepts),
        cmocka_unit_test(test_msr_answers),
        cmocka_unit_test(test_xsetbv),
        cmocka_unit_test(test_guest_buffers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
