/* log/ring_read.c on fuzzed log areas (what minihv-log reads through
 * /dev/mem or --file, and the loader from the previous boot): the header
 * check, the in-place view and the lockless snapshot, the record walk and
 * the line format. Byte 0 picks how the rest becomes an area:
 *   0: the area as is (any length);
 *   1: a header from the input with header_check resealed (so the checks
 *      after it are reached), the rest as the data, in an 8 KiB area;
 *   2: a valid 4 KiB ring whose head (u64) and head - tail (u16) come from
 *      the input, the rest copied in from tail on (wrapping): the record
 *      walk on every shape of record;
 *   3: tools/minihv-log's ACPI MHVL table reader on the rest as the file
 *      sys/firmware/acpi/tables/MHVL of a scratch --root tree;
 *   4: minihv-log --file on the rest (a saved area or a text log);
 *   5: minihv-log on a scratch --root tree: the rest at 0x10000 in a sparse
 *      dev/mem, a Reserved memmap range around it (the scan, the header
 *      against the range and the file's end, the live copy through mmap or,
 *      with bit 7 of byte 0, pread; the lines printed).
 * No crash, no sanitizer report, no leak, and a walk never yields more
 * bytes than head - tail. Seeds: tests/fuzz/corpus/fuzz_log_ring/. */
#define MINIHV_LOG_NO_MAIN 1
#pragma clang diagnostic ignored "-Wunused-function" /* usage() */
#include "tools/minihv-log.c"
#include "log/fnv1a.h"

#define AREA 8192u
static _Alignas(4096) uint8_t area[1u << 16]; /* the tool has no global of that name */
static uint8_t copy[LOG_DATA_MAX >> 10]; /* 64 KiB: rings the buffer holds */

static void walk(const struct log_ring_view *v)
{
    struct log_iter it;
    struct log_line l;
    struct field_error err;
    char buf[700];
    uint64_t bytes = 0;
    log_iter_init(&it, v, v->tail, UINT64_MAX);
    int rc;
    while ((rc = log_iter_next(&it, &l, &err)) == 1) {
        bytes += (MINIHV_LOG_RECORD_HDR + l.text_len + 7u) & ~7u;
        log_line_format(v, &l, buf, sizeof(buf));
        if (bytes > v->head - v->tail)
            abort();
    }
    if (rc < 0 && (!err.field || !err.what))
        abort();
}

static void run(size_t len)
{
    struct field_error err = { 0 };
    if (log_ring_check(area, len, &err) == 0) {
        struct log_ring_view v;
        log_ring_view(area, &v);
        walk(&v);
    } else if (!err.field || !err.what) {
        abort();
    }
    struct log_ring_view s;
    if (log_ring_snapshot(area, len, copy, sizeof(copy), &s, &err) == 0)
        walk(&s);
}

/* The scratch --root tree and --file path; gone when the fuzzer exits. */
static char tree[64], acpi_file[128], area_file[128], mem_file[128], map_dir[128];
static const char *const map_files[] = { "start", "end", "type" };

static void remove_tree(void)
{
    char path[160];
    unlink(acpi_file);
    unlink(area_file);
    unlink(mem_file);
    for (unsigned i = 0; i < ARRAY_SIZE(map_files); i++) {
        snprintf(path, sizeof(path), "%s/%s", map_dir, map_files[i]);
        unlink(path);
    }
    static const char *const dirs[] = { "/sys/firmware/acpi/tables", "/sys/firmware/acpi", "/sys/firmware/memmap/0",
                                        "/sys/firmware/memmap", "/sys/firmware", "/sys", "/dev" };
    for (unsigned i = 0; i < ARRAY_SIZE(dirs); i++) {
        snprintf(path, sizeof(path), "%s%s", tree, dirs[i]);
        rmdir(path);
    }
    rmdir(tree);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(tree, sizeof(tree), "/tmp/fuzz_log_ring.XXXXXX");
    if (!mkdtemp(tree))
        abort();
    static const char *const dirs[] = { "/sys", "/sys/firmware", "/sys/firmware/acpi", "/sys/firmware/acpi/tables",
                                        "/sys/firmware/memmap", "/sys/firmware/memmap/0", "/dev" };
    char path[160];
    for (unsigned i = 0; i < ARRAY_SIZE(dirs); i++) {
        snprintf(path, sizeof(path), "%s%s", tree, dirs[i]);
        mkdir(path, 0700);
    }
    snprintf(acpi_file, sizeof(acpi_file), "%s/sys/firmware/acpi/tables/MHVL", tree);
    snprintf(area_file, sizeof(area_file), "%s/area", tree);
    snprintf(mem_file, sizeof(mem_file), "%s/dev/mem", tree);
    snprintf(map_dir, sizeof(map_dir), "%s/sys/firmware/memmap/0", tree);
    atexit(remove_tree);
    root = tree;
    say_to = fopen("/dev/null", "w");
    if (!say_to || !freopen("/dev/null", "w", stdout))
        abort();
    return 0;
}

static void put_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    fwrite(data, 1, size, f);
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = (data[0] & 0x7f) % 6;
    bool use_pread = data[0] & 0x80;
    data++;
    size--;
    if (mode == 3) {
        struct where w;
        put_file(acpi_file, data, size);
        if (find_acpi(&w) == 1 && ((w.phys & 4095) || w.limit < 8192 || (w.limit & 4095)))
            abort();
        return 0;
    }
    if (mode == 5) {
        /* The area at 0x10000; the Reserved range a few pages past its end
         * (so a header may claim more than the file holds). */
        FILE *f = fopen(mem_file, "wb");
        if (!f || fseek(f, 0x10000, SEEK_SET) || fwrite(data, 1, size, f) != size)
            abort();
        fclose(f);
        char path[160], val[32];
        const char *vals[] = { "0x10000\n", val, "Reserved\n" };
        snprintf(val, sizeof(val), "0x%zx\n", 0x10000 + ALIGN_UP(size, 4096) + 0x3000 - 1);
        for (unsigned i = 0; i < ARRAY_SIZE(map_files); i++) {
            snprintf(path, sizeof(path), "%s/%s", map_dir, map_files[i]);
            put_file(path, (const uint8_t *)vals[i], strlen(vals[i]));
        }
        if (use_pread)
            setenv("MINIHV_LOG_PREAD", "1", 1);
        else
            unsetenv("MINIHV_LOG_PREAD");
        int fd = open_mem();
        struct where w;
        if (fd < 0)
            abort();
        if (find_scan(fd, &w) == 1) {
            struct live l;
            int rc = live_open(&l, fd, &w);
            if (!rc)
                rc = live_mode(&l, &w, NULL, false, false, 0);
            free(l.copy);
            free(l.buf);
            if (l.map)
                munmap((void *)l.map, l.len);
            if (rc < 0 || rc > 2)
                abort();
        }
        close(fd);
        return 0;
    }
    if (mode == 4) {
        put_file(area_file, data, size);
        int rc = file_mode(area_file);
        if (rc < 0 || rc > 2)
            abort();
        return 0;
    }
    struct minihv_log_header *h = (struct minihv_log_header *)area;
    if (mode == 0) {
        if (size > sizeof(area))
            size = sizeof(area);
        memcpy(area, data, size);
        run(size);
        return 0;
    }
    memset(area, 0, AREA);
    if (mode == 1) {
        memcpy(area, data, size < AREA ? size : AREA);
        h->magic = MINIHV_LOG_MAGIC;
        h->version = MINIHV_LOG_VERSION;
        h->header_check = log_fnv1a32(h, offsetof(struct minihv_log_header, header_check));
        run(AREA);
        return 0;
    }
    if (size < 10)
        return 0;
    h->magic = MINIHV_LOG_MAGIC;
    h->version = MINIHV_LOG_VERSION;
    h->header_size = sizeof(*h);
    h->data_offset = 4096;
    h->data_size = 4096;
    h->area_size = AREA;
    memcpy(&h->head, data, 8);
    uint16_t used;
    memcpy(&used, data + 8, 2);
    used %= 4097;
    h->tail = h->head >= used ? h->head - used : 0;
    h->tsc_hz = h->head & 0xffffffff;
    h->tsc_base = h->head >> 32;
    h->header_check = log_fnv1a32(h, offsetof(struct minihv_log_header, header_check));
    data += 10;
    size -= 10;
    for (size_t i = 0; i < size && i < 4096; i++)
        area[4096 + ((h->tail + i) & 4095)] = data[i];
    run(AREA);
    return 0;
}
