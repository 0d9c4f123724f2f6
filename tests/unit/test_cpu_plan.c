/* The CPU plan (boot/cpu_plan.c): every CPU the firmware runs or lists is
 * taken by the core, or none is. MADT entries built here (ACPI 6.5
 * 5.2.12.2, 5.2.12.12). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "boot/cpu_plan.h"

static uint8_t madt[512];
static uint32_t madt_len;

static void madt_start(uint8_t revision)
{
    memset(madt, 0, sizeof(madt));
    memcpy(madt, "APIC", 4);
    madt[8] = revision;
    madt_len = 44;
}

static void lapic(uint8_t id, uint32_t flags)
{
    uint8_t *e = madt + madt_len;
    e[0] = 0;
    e[1] = 8;
    e[2] = id; /* UID */
    e[3] = id;
    memcpy(e + 4, &flags, 4);
    madt_len += 8;
}

static void x2apic(uint32_t id, uint32_t flags)
{
    uint8_t *e = madt + madt_len;
    e[0] = 9;
    e[1] = 16;
    memcpy(e + 4, &id, 4);
    memcpy(e + 8, &flags, 4);
    memcpy(e + 12, &id, 4);
    madt_len += 16;
}

static void ioapic(void)
{
    uint8_t *e = madt + madt_len;
    e[0] = 1;
    e[1] = 12;
    madt_len += 12;
}

static struct madt_cpus parsed;

static void test_madt_parse(void **state)
{
    (void)state;
    const char *why = NULL;
    /* QEMU -smp 2,maxcpus=4 (MADT revision 1): two entries not enabled. */
    madt_start(1);
    lapic(0, 1);
    lapic(1, 1);
    lapic(2, 0);
    lapic(3, 0);
    ioapic();
    assert_int_equal(madt_cpus_parse(madt, madt_len, &parsed, &why), 0);
    assert_int_equal(parsed.count, 2);
    assert_int_equal(parsed.not_present, 2);
    assert_int_equal(parsed.apic_id[1], 1);
    /* Before revision 5 bit 1 is reserved: not online capable. */
    madt_start(4);
    lapic(0, 1);
    lapic(1, 2);
    assert_int_equal(madt_cpus_parse(madt, madt_len, &parsed, &why), 0);
    assert_int_equal(parsed.count, 1);
    /* Revision 5: online capable counts; x2APIC entries; one CPU listed twice. */
    madt_start(5);
    lapic(0, 1);
    lapic(1, 2);
    x2apic(0, 1);
    x2apic(0x1234, 1);
    assert_int_equal(madt_cpus_parse(madt, madt_len, &parsed, &why), 0);
    assert_int_equal(parsed.count, 3);
    assert_int_equal(parsed.flags[1], MADT_LAPIC_ONLINE_CAPABLE);
    assert_int_equal(parsed.apic_id[2], 0x1234);
    /* Malformed: named. */
    madt_start(5);
    lapic(0, 1);
    madt[44 + 1] = 0;
    assert_int_equal(madt_cpus_parse(madt, madt_len, &parsed, &why), -1);
    assert_string_equal(why, "MADT entry length");
    madt_start(5);
    lapic(0, 1);
    madt[44 + 1] = 9; /* runs past the end */
    assert_int_equal(madt_cpus_parse(madt, madt_len, &parsed, &why), -1);
    madt_start(5);
    x2apic(7, 1);
    madt[44 + 1] = 8;
    madt[44 + 8] = 0;
    assert_int_equal(madt_cpus_parse(madt, madt_len, &parsed, &why), -1);
    assert_string_equal(why, "MADT x2APIC entry length");
    assert_int_equal(madt_cpus_parse(madt, 40, &parsed, &why), -1);
}

static void test_plan(void **state)
{
    (void)state;
    struct minihv_cpu_info out[MINIHV_MAX_CPUS];
    unsigned n = 0;
    char why[160];
    const char *w = NULL;
    struct mp_cpu two[] = { { 0, MP_CPU_BSP | MP_CPU_ENABLED | 4 }, { 1, MP_CPU_ENABLED | 4 } };

    madt_start(1);
    lapic(0, 1);
    lapic(1, 1);
    lapic(2, 0);
    lapic(3, 0);
    assert_int_equal(madt_cpus_parse(madt, madt_len, &parsed, &w), 0);
    assert_int_equal(cpu_plan(&parsed, two, 2, MINIHV_MAX_CPUS, out, &n, why, sizeof(why)), 0);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].flags, MINIHV_CPU_BSP);
    assert_int_equal(out[1].apic_id, 1);
    assert_int_equal(out[1].flags, 0);
    /* No MADT (Bochs + OVMF): MP services alone. */
    assert_int_equal(cpu_plan(NULL, two, 2, MINIHV_MAX_CPUS, out, &n, why, sizeof(why)), 0);

    /* A CPU the MADT says is there, the firmware did not start. */
    madt_start(1);
    lapic(0, 1);
    lapic(1, 1);
    lapic(2, 1);
    assert_int_equal(madt_cpus_parse(madt, madt_len, &parsed, &w), 0);
    assert_int_equal(cpu_plan(&parsed, two, 2, MINIHV_MAX_CPUS, out, &n, why, sizeof(why)), -1);
    assert_int_equal(n, 0);
    assert_non_null(strstr(why, "APIC id 2 (enabled)"));
    /* Online capable (revision 5): the same. */
    madt_start(5);
    lapic(0, 1);
    lapic(1, 1);
    x2apic(300, 2);
    assert_int_equal(madt_cpus_parse(madt, madt_len, &parsed, &w), 0);
    assert_int_equal(cpu_plan(&parsed, two, 2, MINIHV_MAX_CPUS, out, &n, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "APIC id 300 (online capable)"));

    /* More CPUs than the core runs. */
    struct mp_cpu many[MINIHV_MAX_CPUS + 1];
    for (unsigned i = 0; i <= MINIHV_MAX_CPUS; i++)
        many[i] = (struct mp_cpu){ i, MP_CPU_ENABLED | (i ? 0 : MP_CPU_BSP) };
    assert_int_equal(cpu_plan(NULL, many, MINIHV_MAX_CPUS + 1, MINIHV_MAX_CPUS, out, &n, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "the core runs at most"));
    assert_int_equal(cpu_plan(NULL, many, MINIHV_MAX_CPUS, MINIHV_MAX_CPUS, out, &n, why, sizeof(why)), 0);
    assert_int_equal(n, MINIHV_MAX_CPUS);

    /* A disabled AP, a duplicate ID, no or two BSPs, no CPU. */
    struct mp_cpu bad[2] = { { 0, MP_CPU_BSP | MP_CPU_ENABLED }, { 1, 0 } };
    assert_int_equal(cpu_plan(NULL, bad, 2, 8, out, &n, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "disabled"));
    bad[1] = (struct mp_cpu){ 0, MP_CPU_ENABLED };
    assert_int_equal(cpu_plan(NULL, bad, 2, 8, out, &n, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "twice"));
    bad[1] = (struct mp_cpu){ 1, MP_CPU_ENABLED | MP_CPU_BSP };
    assert_int_equal(cpu_plan(NULL, bad, 2, 8, out, &n, why, sizeof(why)), -1);
    bad[0].status = bad[1].status = MP_CPU_ENABLED;
    assert_int_equal(cpu_plan(NULL, bad, 2, 8, out, &n, why, sizeof(why)), -1);
    assert_int_equal(cpu_plan(NULL, bad, 0, 8, out, &n, why, sizeof(why)), -1);
}

static void test_caps(void **state)
{
    (void)state;
    char why[160];
    struct cpu_virt_caps vmx = { .intel = true, .vmx = true, .ept_unrestricted = true };
    struct cpu_virt_caps svm = { .amd = true, .svm = true, .npt = true };
    assert_string_equal(cpu_virt_unusable(&vmx), "");
    assert_string_equal(cpu_virt_unusable(&svm), "");
    assert_int_equal(cpu_plan_check_ap(&vmx, &vmx, 1, why, sizeof(why)), 0);
    assert_int_equal(cpu_plan_check_ap(&svm, &svm, 1, why, sizeof(why)), 0);
    struct cpu_virt_caps locked = vmx;
    locked.vmx_locked_off = true;
    assert_int_equal(cpu_plan_check_ap(&vmx, &locked, 3, why, sizeof(why)), -1);
    assert_string_equal(why, "APIC id 3: VMX disabled and locked by the firmware (IA32_FEATURE_CONTROL)");
    struct cpu_virt_caps off = svm;
    off.svm_disabled = true;
    assert_int_equal(cpu_plan_check_ap(&svm, &off, 2, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "SVMDIS"));
    off = svm;
    off.npt = false;
    assert_int_equal(cpu_plan_check_ap(&svm, &off, 2, why, sizeof(why)), -1);
    assert_int_equal(cpu_plan_check_ap(&vmx, &svm, 2, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "the BSP VMX"));
    struct cpu_virt_caps none = { 0 };
    assert_string_equal(cpu_virt_unusable(&none), "neither an Intel nor an AMD CPU");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_madt_parse),
        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_caps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
