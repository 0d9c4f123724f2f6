/* minihv-preflight's --root reader (issue 18) on a fuzzed saved tree: the
 * input is records [u8 file][u16 length][bytes] naming the files preflight
 * reads (ACPI tables, cpuinfo, SecureBoot, two PCI functions' config and
 * resource, msr.txt, i915's OpRegion and VBT), written into a scratch tree that machine_mode reads
 * as a user's collected tarball. Every file is untrusted: no crash, no
 * sanitizer report, no leak. Seeds: tests/fuzz/corpus/fuzz_preflight_root/. */
#define PREFLIGHT_NO_MAIN 1
#include "tools/minihv-preflight.c"

static const char *const files[] = {
    "/sys/firmware/acpi/tables/APIC", "/sys/firmware/acpi/tables/MCFG", "/sys/firmware/acpi/tables/FACP",
    "/sys/firmware/acpi/tables/DMAR", "/sys/firmware/acpi/tables/IVRS", "/proc/cpuinfo",
    "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c",
    "/sys/bus/pci/devices/0000:00:00.0/config", "/sys/bus/pci/devices/0000:00:00.0/resource",
    "/sys/bus/pci/devices/0000:00:02.0/config", "/sys/bus/pci/devices/0000:00:02.0/resource",
    "/dev/cpu/0/msr.txt", "/sys/kernel/debug/dri/0/i915_opregion", "/sys/kernel/debug/dri/0/i915_vbt",
};
static char tree[64];
static const char *const dirs[] = {
    "/sys", "/sys/firmware", "/sys/firmware/acpi", "/sys/firmware/acpi/tables", "/sys/firmware/efi",
    "/sys/firmware/efi/efivars", "/proc", "/sys/bus", "/sys/bus/pci", "/sys/bus/pci/devices",
    "/sys/bus/pci/devices/0000:00:00.0", "/sys/bus/pci/devices/0000:00:02.0", "/dev", "/dev/cpu",
    "/dev/cpu/0", "/sys/kernel", "/sys/kernel/debug", "/sys/kernel/debug/dri", "/sys/kernel/debug/dri/0",
};

/* The scratch tree goes when the fuzzer exits. */
static void remove_tree(void)
{
    char path[256];
    for (unsigned i = 0; i < ARRAY_SIZE(files); i++) {
        snprintf(path, sizeof(path), "%s%s", tree, files[i]);
        unlink(path);
    }
    for (unsigned i = ARRAY_SIZE(dirs); i-- > 0;) {
        snprintf(path, sizeof(path), "%s%s", tree, dirs[i]);
        rmdir(path);
    }
    rmdir(tree);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!freopen("/dev/null", "w", stdout))
        abort();
    snprintf(tree, sizeof(tree), "/tmp/fuzz-preflight-XXXXXX");
    if (!mkdtemp(tree))
        abort();
    atexit(remove_tree);
    char path[256];
    for (unsigned i = 0; i < ARRAY_SIZE(dirs); i++) {
        snprintf(path, sizeof(path), "%s%s", tree, dirs[i]);
        mkdir(path, 0755);
    }
    root = tree;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[256];
    for (unsigned i = 0; i < ARRAY_SIZE(files); i++) {
        snprintf(path, sizeof(path), "%s%s", tree, files[i]);
        unlink(path);
    }
    json = size && (data[0] & 0x80);
    for (size_t off = 0; off + 3 <= size;) {
        unsigned id = data[off] % ARRAY_SIZE(files);
        size_t len = MIN((size_t)(data[off + 1] | data[off + 2] << 8), size - off - 3);
        snprintf(path, sizeof(path), "%s%s", tree, files[id]);
        FILE *f = fopen(path, "ab");
        if (f) {
            fwrite(data + off + 3, 1, len, f);
            fclose(f);
        }
        off += 3 + len;
    }
    candidate = size > 1 && (data[1] & 1) ? "00:02.0" : NULL;
    machine_mode();
    /* The same files through --table and --collect. */
    snprintf(path, sizeof(path), "%s%s", tree, files[data && size ? data[0] % 5 : 0]);
    table_mode(path);
    snprintf(path, sizeof(path), "%s/out.tar", tree);
    collected = 0;
    collect(path);
    unlink(path);
    fflush(stdout);
    return 0;
}
