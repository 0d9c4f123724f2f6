/* The CPU plan (boot/cpu_plan.c): every CPU the firmware runs or lists is
 * taken by the core, or none is. MADT entries built here (ACPI 6.5
 * 5.2.12.2, 5.2.12.12). */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
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

/* The real MADTs in tests/fixtures/acpi/apic (MADT_FIXTURES to move it):
 * every I/O APIC address the parser hands to boot_info is the one iasl's
 * disassembly (`iasl -d`, an independent parser) shows for that table, in
 * the same order. */
static unsigned iasl_ioapics(const char *aml, uint64_t *bases, unsigned max)
{
    char cmd[1024], dsl[600];
    snprintf(cmd, sizeof(cmd), "d=$(mktemp -d) && cp '%s' \"$d/t.aml\" && (cd \"$d\" && iasl -d t.aml >/dev/null 2>&1) && "
             "cat \"$d/t.dsl\"; rm -rf \"$d\"", aml);
    FILE *f = popen(cmd, "r");
    if (!f)
        fail_msg("popen for iasl");
    unsigned n = 0;
    bool in_ioapic = false, any = false;
    while (fgets(dsl, sizeof(dsl), f)) {
        any = true;
        if (strstr(dsl, "Subtable Type :"))
            in_ioapic = strstr(dsl, "[I/O APIC]") != NULL;
        const char *a = strstr(dsl, " Address : ");
        if (in_ioapic && a && n < max)
            bases[n++] = strtoull(a + 11, NULL, 16);
    }
    pclose(f);
    if (!any)
        fail_msg("iasl -d %s gave nothing (acpica-tools: scripts/deps.sh)", aml);
    return n;
}

static void test_madt_fixtures(void **state)
{
    (void)state;
    const char *dir = getenv("MADT_FIXTURES");
    if (!dir)
        dir = "tests/fixtures/acpi/apic";
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("cannot open %s (run from the repository root, or set MADT_FIXTURES)", dir);
    struct dirent *e;
    unsigned files = 0, total = 0;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".aml"))
            continue;
        char path[600];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        static uint8_t buf[1 << 16];
        size_t len = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        uint8_t *t = malloc(len); /* exact size: ASan sees a read past it */
        memcpy(t, buf, len);
        const char *why = NULL;
        if (madt_cpus_parse(t, (uint32_t)len, &parsed, &why))
            fail_msg("%s: %s", e->d_name, why);
        uint64_t want[MINIHV_MAX_IOAPICS + 4];
        unsigned n = iasl_ioapics(path, want, MINIHV_MAX_IOAPICS + 4);
        if (n != parsed.ioapic_count || parsed.ioapic_refusal)
            fail_msg("%s: iasl lists %u I/O APIC(s), the parser %u (%s)", e->d_name, n, parsed.ioapic_count,
                     parsed.ioapic_refusal ? parsed.ioapic_refusal : "no refusal");
        for (unsigned i = 0; i < n; i++)
            if (want[i] != parsed.ioapic_base[i])
                fail_msg("%s: I/O APIC %u: iasl 0x%llx, the parser 0x%llx", e->d_name, i, (unsigned long long)want[i],
                         (unsigned long long)parsed.ioapic_base[i]);
        free(t);
        files++;
        total += n;
    }
    closedir(d);
    assert_true(files >= 10);
    assert_true(total >= files); /* every PC MADT has one */
    printf("madt fixtures: %u tables, %u I/O APIC address(es) as iasl -d shows them\n", files, total);
}

/* More I/O APICs than the core traps, or registers across a page end: the
 * parse keeps the CPUs and says why no CPU may be taken. */
static void ioapic_at(uint32_t base)
{
    uint8_t *e = madt + madt_len;
    ioapic();
    memcpy(e + 4, &base, 4);
}

static void test_madt_ioapic_limits(void **state)
{
    (void)state;
    const char *why = NULL;
    madt_start(3);
    lapic(0, 1);
    ioapic_at(0xfec00000);
    ioapic_at(0xfec01000);
    assert_int_equal(madt_cpus_parse(madt, madt_len, &parsed, &why), 0);
    assert_int_equal(parsed.ioapic_count, 2);
    assert_null(parsed.ioapic_refusal);
    assert_true(parsed.ioapic_base[1] == 0xfec01000);
    madt_start(3);
    lapic(0, 1);
    ioapic_at(0xfec00fc0); /* 0x44 bytes from 0xfc0 cross the page end */
    assert_int_equal(madt_cpus_parse(madt, madt_len, &parsed, &why), 0);
    assert_non_null(parsed.ioapic_refusal);
    assert_int_equal(parsed.count, 1);
    madt_start(3);
    lapic(0, 1);
    for (unsigned i = 0; i <= MINIHV_MAX_IOAPICS; i++)
        ioapic_at(0xfec00000 + i * 0x1000);
    assert_int_equal(madt_cpus_parse(madt, madt_len, &parsed, &why), 0);
    assert_int_equal(parsed.ioapic_count, MINIHV_MAX_IOAPICS);
    assert_non_null(parsed.ioapic_refusal);
    assert_non_null(strstr(parsed.ioapic_refusal, "more I/O APICs"));
    madt_start(3); /* the same unit twice (review R): once, no refusal */
    lapic(0, 1);
    ioapic_at(0xfec00000);
    ioapic_at(0xfec00000);
    assert_int_equal(madt_cpus_parse(madt, madt_len, &parsed, &why), 0);
    assert_int_equal(parsed.ioapic_count, 1);
    assert_null(parsed.ioapic_refusal);
    madt_start(3); /* two units in one page: refused */
    lapic(0, 1);
    ioapic_at(0xfec00000);
    ioapic_at(0xfec00100);
    assert_int_equal(madt_cpus_parse(madt, madt_len, &parsed, &why), 0);
    assert_non_null(parsed.ioapic_refusal);
    assert_non_null(strstr(parsed.ioapic_refusal, "one page"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_madt_parse),
        cmocka_unit_test(test_madt_fixtures),
        cmocka_unit_test(test_madt_ioapic_limits),
        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_caps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
