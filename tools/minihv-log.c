/* minihv-log (issue 17): minihv's log from inside the running OS, like
 * dmesg. Run as root on the guest's Linux; no kernel module:
 *
 *   minihv-log [--root DIR] [--scan] [--follow] [--save FILE] [--where]
 *   minihv-log --file FILE      a saved area (--save) or a last.log
 *
 * --save FILE writes the area as read (to send with a bug report, or to
 * read later with --file); --where prints where the area is.
 *
 * Finds the log area (include/minihv/logring.h) through the ACPI table
 * /sys/firmware/acpi/tables/MHVL the loader installs, or, with no such
 * table (Bochs's OVMF has no ACPI; --scan forces it), by looking for
 * MINIHV_LOG_MAGIC at every 4 KiB boundary of the "Reserved" ranges in
 * /sys/firmware/memmap below 4 GiB (the loader allocates the area there as
 * EfiReservedMemoryType; the APIC/flash window from 0xfec00000 and ranges
 * over 1 GiB are skipped: they are device memory, not a log). It reads the
 * area through /dev/mem (reserved memory is not System RAM, which
 * CONFIG_STRICT_DEVMEM allows) and prints each line as
 *   [    1.234567] cpu2 minihv: hv: ...     (a CPU of the core)
 *   [    0.012345] ldr minihv: ...          (the loader)
 * then the counts of lines dropped (overwritten) and lost when nonzero.
 * --follow then polls and prints new lines as they come, saying when lines
 * were overwritten before it could read them.
 *
 * The ring is written by the core while we read: the copy follows the
 * header's rule (head, then the bytes, then tail again; log/ring_read.c).
 * The area is mapped write-back (MAP_SHARED, no O_SYNC); where x86 PAT
 * refuses that (another mapping of it uncached), or with the environment
 * variable MINIHV_LOG_PREAD set, it is read with pread instead (the kernel
 * copies upwards: the header before the ring's bytes). While --follow holds
 * the map, a tool that maps the page uncached (busybox devmem) is refused
 * by PAT; MINIHV_LOG_PREAD=1 avoids holding one.
 * Nothing in it is trusted: a header or record that lies is one line
 * naming the field, and exit status 2. Exit 1: no log area found or
 * /dev/mem not readable. --root DIR reads DIR/sys/... and DIR/dev/mem (a
 * sparse file with the area at its physical address), for tests. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <minihv/libc.h>
#include <minihv/logring.h>
#include "log/ring_read.h"

#define AREA_MAX ((uint64_t)LOG_DATA_MAX + (1u << 20)) /* a header page (or a few) + the largest ring */
#define SCAN_REGION_MAX (1ull << 30)
#define SCAN_TOP 0xfec00000ull

static const char *root = "";
static FILE *say_to; /* stderr; the fuzz target (tests/fuzz/fuzz_log_ring.c) sets /dev/null */

__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
    FILE *out = say_to ? say_to : stderr;
    va_list ap;
    va_start(ap, fmt);
    fputs("minihv-log: ", out);
    vfprintf(out, fmt, ap);
    fputc('\n', out);
    va_end(ap);
}

static void rooted(char *out, size_t size, const char *rel)
{
    snprintf(out, size, "%s%s", root, rel);
}

/* A whole small file; -1 with errno when it cannot be opened. */
static ssize_t read_file(const char *path, void *buf, size_t size)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    size_t n = 0;
    while (n < size) {
        ssize_t r = read(fd, (char *)buf + n, size - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    return (ssize_t)n;
}

/* Where the area is and how many bytes there may belong to it. */
struct where {
    uint64_t phys;
    uint64_t limit;
    char how[96];
};

/* The ACPI table MHVL (struct minihv_log_acpi). 1 found, 0 no table, -2
 * a table that lies (the field named). */
static int find_acpi(struct where *w)
{
    char path[4096];
    rooted(path, sizeof(path), "/sys/firmware/acpi/tables/" MINIHV_LOG_ACPI_SIG);
    uint8_t buf[4096];
    ssize_t n = read_file(path, buf, sizeof(buf));
    if (n < 0)
        return 0;
    struct minihv_log_acpi t;
    if ((size_t)n < sizeof(t)) {
        say("%s: length: the file has %zd bytes, the table %zu", path, n, sizeof(t));
        return -2;
    }
    memcpy(&t, buf, sizeof(t));
    if (memcmp(t.signature, MINIHV_LOG_ACPI_SIG, 4)) {
        say("%s: signature: not MHVL", path);
        return -2;
    }
    if (t.length < sizeof(t) || t.length > (size_t)n) {
        say("%s: length: %u, the table is %zu bytes and the file %zd", path, t.length, sizeof(t), n);
        return -2;
    }
    uint8_t sum = 0;
    for (uint32_t i = 0; i < t.length; i++)
        sum += buf[i];
    if (sum) {
        say("%s: checksum: the table sums to 0x%02x, not 0", path, sum);
        return -2;
    }
    if (t.revision != 1) {
        say("%s: revision: %u, not 1", path, t.revision);
        return -2;
    }
    if (!t.area_phys || (t.area_phys & 4095)) {
        say("%s: area_phys: 0x%llx is not a 4 KiB aligned address", path, (unsigned long long)t.area_phys);
        return -2;
    }
    if (t.area_size < 2 * 4096 || (t.area_size & 4095) || t.area_size > AREA_MAX ||
        t.area_phys + t.area_size < t.area_phys) {
        say("%s: area_size: 0x%llx is not a multiple of 4 KiB in 8 KiB..64 MiB + 1 MiB", path,
            (unsigned long long)t.area_size);
        return -2;
    }
    w->phys = t.area_phys;
    w->limit = t.area_size;
    snprintf(w->how, sizeof(w->how), "ACPI MHVL");
    return 1;
}

static int open_mem(void)
{
    char path[4096];
    rooted(path, sizeof(path), "/dev/mem");
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        say("%s: %s (run as root)", path, strerror(errno));
    return fd;
}

static bool pread_all(int fd, void *buf, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return true;
}

static bool read_u64(const char *dir, const char *name, uint64_t *v)
{
    char path[4096], buf[64];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    ssize_t n = read_file(path, buf, sizeof(buf) - 1);
    if (n <= 0)
        return false;
    buf[n] = 0;
    char *end;
    errno = 0;
    *v = strtoull(buf, &end, 0);
    return !errno && end != buf;
}

/* The "Reserved" ranges of /sys/firmware/memmap, scanned for the magic.
 * 1 found, 0 none, -2 a magic whose header lies (the first such reported,
 * when no good one is found). */
static int find_scan(int fd, struct where *w)
{
    char dir[4096];
    rooted(dir, sizeof(dir), "/sys/firmware/memmap");
    DIR *d = opendir(dir);
    if (!d) {
        say("%s: %s", dir, strerror(errno));
        return 0;
    }
    int rc = 0;
    char bad[512] = "";
    struct dirent *e;
    while (rc != 1 && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char sub[4096 + 300], type[64] = "";
        snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
        char tpath[sizeof(sub) + 8];
        snprintf(tpath, sizeof(tpath), "%s/type", sub);
        ssize_t tn = read_file(tpath, type, sizeof(type) - 1);
        if (tn <= 0)
            continue;
        type[tn] = 0;
        if (strncmp(type, "Reserved", 8) || (type[8] && type[8] != '\n'))
            continue;
        uint64_t start, end;
        if (!read_u64(sub, "start", &start) || !read_u64(sub, "end", &end) || end < start)
            continue;
        if (start >= SCAN_TOP || end - start + 1 > SCAN_REGION_MAX)
            continue;
        for (uint64_t p = ALIGN_UP(start, 4096); p + sizeof(struct minihv_log_header) - 1 <= end; p += 4096) {
            struct minihv_log_header h;
            uint64_t magic;
            if (!pread_all(fd, &magic, sizeof(magic), p) || magic != MINIHV_LOG_MAGIC)
                continue;
            struct field_error err;
            if (!pread_all(fd, &h, sizeof(h), p))
                continue;
            if (log_ring_check_header(&h, end - p + 1, &err)) {
                if (!bad[0])
                    snprintf(bad, sizeof(bad), "area at 0x%llx (memmap %s): header: %s at 0x%x: %s",
                             (unsigned long long)p, e->d_name, err.field, err.offset, err.what);
                continue;
            }
            w->phys = p;
            w->limit = end - p + 1;
            snprintf(w->how, sizeof(w->how), "reserved memory scan, memmap %.40s", e->d_name);
            rc = 1;
            break;
        }
    }
    closedir(d);
    if (rc != 1 && bad[0]) {
        say("%s", bad);
        return -2;
    }
    return rc;
}

/* The live area through /dev/mem: mapped, or read with pread when the map
 * is refused (the same order: head, the bytes, then tail again). */
struct live {
    int fd;
    uint64_t phys;
    size_t len;   /* area_size */
    const volatile uint8_t *map;
    uint8_t *buf; /* pread copy of the area */
    uint8_t *copy; /* data_size bytes */
    size_t copy_size;
    const char *how;
};

static int live_open(struct live *l, int fd, const struct where *w)
{
    *l = (struct live){ .fd = fd };
    struct minihv_log_header h;
    struct field_error err;
    if (!pread_all(fd, &h, sizeof(h), w->phys)) {
        say("area at 0x%llx (%s): not readable through /dev/mem: %s", (unsigned long long)w->phys, w->how,
            strerror(errno));
        return 1;
    }
    if (log_ring_check_header(&h, w->limit, &err)) {
        say("area at 0x%llx (%s): header: %s at 0x%x: %s", (unsigned long long)w->phys, w->how, err.field,
            err.offset, err.what);
        return 2;
    }
    /* A sparse file (--root) shorter than the area: mapping past its end
     * would fault on access. */
    struct stat st;
    if (!fstat(fd, &st) && S_ISREG(st.st_mode) && (uint64_t)st.st_size < w->phys + h.area_size) {
        say("area at 0x%llx (%s): area_size 0x%llx runs past the end of %s/dev/mem", (unsigned long long)w->phys,
            w->how, (unsigned long long)h.area_size, root);
        return 2;
    }
    *l = (struct live){ .fd = fd, .phys = w->phys, .len = h.area_size, .copy_size = h.data_size, .how = w->how };
    l->copy = malloc(l->copy_size);
    if (!l->copy)
        return 1;
    void *m = getenv("MINIHV_LOG_PREAD") ? MAP_FAILED
                                         : mmap(NULL, l->len, PROT_READ, MAP_SHARED, fd, (off_t)w->phys);
    if (m != MAP_FAILED) {
        l->map = m;
    } else {
        l->buf = malloc(l->len);
        if (!l->buf)
            return 1;
    }
    return 0;
}

/* A consistent view of the ring now. 0, or an exit status. */
static int live_snapshot(struct live *l, struct log_ring_view *v)
{
    struct field_error err;
    int rc;
    if (l->map) {
        rc = log_ring_snapshot(l->map, l->len, l->copy, l->copy_size, v, &err);
    } else {
        rc = -LOG_ERACE;
        for (int attempt = 0; attempt < 8 && rc == -LOG_ERACE; attempt++) {
            /* One pread copies the area upwards: the header (head, tail)
             * before the ring's bytes; tail is then read again. */
            uint64_t tail2;
            if (!pread_all(l->fd, l->buf, l->len, l->phys) ||
                !pread_all(l->fd, &tail2, sizeof(tail2), l->phys + offsetof(struct minihv_log_header, tail))) {
                say("area at 0x%llx (%s): read: %s", (unsigned long long)l->phys, l->how, strerror(errno));
                return 1;
            }
            rc = log_ring_check(l->buf, l->len, &err);
            if (rc)
                continue;
            struct minihv_log_header *h = (struct minihv_log_header *)l->buf;
            if (tail2 < h->tail || tail2 > h->head) {
                rc = -LOG_ERACE;
                err = (struct field_error){ "tail", offsetof(struct minihv_log_header, tail),
                                            "the writer lapped every copy (or the ring was reformatted)" };
                continue;
            }
            h->tail = tail2;
            log_ring_view(l->buf, v);
        }
    }
    if (rc) {
        say("area at 0x%llx (%s): header: %s at 0x%x: %s", (unsigned long long)l->phys, l->how, err.field, err.offset,
            err.what);
        return 2;
    }
    return 0;
}

/* Prints the lines of *v from byte position *pos (the seq expected there:
 * *seq, or UINT64_MAX for any); moves both past the last line printed.
 * 0, or 2 after a bad record (named). */
static int print_lines(const struct log_ring_view *v, uint64_t *pos, uint64_t *seq, const char *where)
{
    struct log_iter it;
    struct log_line line;
    struct field_error err;
    static char buf[LOG_RECORD_MAX + 64];
    log_iter_init(&it, v, *pos, *seq);
    int rc;
    while ((rc = log_iter_next(&it, &line, &err)) == 1) {
        log_line_format(v, &line, buf, sizeof(buf));
        puts(buf);
        *pos = it.pos;
        *seq = line.seq + 1;
    }
    fflush(stdout);
    if (rc < 0) {
        say("%s: record at byte %llu (data offset 0x%x): %s: %s", where, (unsigned long long)it.pos, err.offset,
            err.field, err.what);
        return 2;
    }
    return 0;
}

static void print_counts(const struct log_ring_view *v)
{
    if (v->dropped || v->lost)
        printf("minihv-log: %llu lines dropped (overwritten by newer lines), %llu lost (the ring was busy)\n",
               (unsigned long long)v->dropped, (unsigned long long)v->lost);
}

/* --file: a saved area (--save, or a memory dump) or a text log. */
static int file_mode(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        say("%s: %s", path, strerror(errno));
        return 1;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            if (cap >= AREA_MAX)
                break;
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf)
        return 1;
    uint64_t magic = 0;
    memcpy(&magic, buf, MIN(n, sizeof(magic)));
    if (magic != MINIHV_LOG_MAGIC) {
        /* last.log: text already; printed as it is, control bytes shown. */
        for (size_t i = 0; i < n; i++)
            putchar((buf[i] < 0x20 && buf[i] != '\n' && buf[i] != '\t') || buf[i] == 0x7f ? '?' : buf[i]);
        free(buf);
        return 0;
    }
    struct field_error err;
    int rc = 0;
    if (log_ring_check(buf, n, &err)) {
        say("%s: header: %s at 0x%x: %s", path, err.field, err.offset, err.what);
        rc = 2;
    } else {
        struct log_ring_view v;
        log_ring_view(buf, &v);
        uint64_t pos = v.tail, seq = UINT64_MAX;
        rc = print_lines(&v, &pos, &seq, path);
        print_counts(&v);
    }
    free(buf);
    return rc;
}

/* --save: the header as read and the ring bytes of the snapshot. */
static int save_area(const char *path, const struct live *l, const struct log_ring_view *v)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        say("%s: %s", path, strerror(errno));
        return 1;
    }
    struct minihv_log_header h;
    memcpy(&h, l->map ? (const void *)l->map : l->buf, sizeof(h));
    h.tail = v->tail;
    h.head = v->head;
    uint8_t *page = calloc(1, h.data_offset);
    if (!page) {
        fclose(f);
        return 1;
    }
    memcpy(page, &h, sizeof(h));
    bool ok = fwrite(page, 1, h.data_offset, f) == h.data_offset && fwrite(v->data, 1, v->data_size, f) == v->data_size;
    /* Whatever the area holds past the ring: zeros, to area_size. */
    for (uint64_t i = (uint64_t)h.data_offset + v->data_size; ok && i < h.area_size; i++)
        ok = fputc(0, f) != EOF;
    free(page);
    if (fclose(f) || !ok) {
        say("%s: write failed", path);
        return 1;
    }
    return 0;
}

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int follow(struct live *l, struct log_ring_view *v, uint64_t pos, uint64_t seq, unsigned interval_ms)
{
    uint64_t boot = v->boot_count;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    while (!stop) {
        struct timespec ts = { interval_ms / 1000, (long)(interval_ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
        int rc = live_snapshot(l, v);
        if (rc)
            return rc;
        if (v->boot_count != boot || v->head < pos) {
            printf("minihv-log: the ring was started again (boot %llu): from its first line\n",
                   (unsigned long long)v->boot_count);
            boot = v->boot_count;
            pos = v->tail;
            seq = UINT64_MAX;
        } else if (v->tail > pos) {
            /* Overwritten while we slept: say how many, from the seq. */
            uint64_t want = seq;
            pos = v->tail;
            seq = UINT64_MAX;
            struct log_iter it;
            struct log_line line;
            struct field_error err;
            log_iter_init(&it, v, pos, UINT64_MAX);
            if (log_iter_next(&it, &line, &err) == 1 && want != UINT64_MAX && line.seq > want)
                printf("minihv-log: %llu lines overwritten before minihv-log could read them\n",
                       (unsigned long long)(line.seq - want));
        }
        rc = print_lines(v, &pos, &seq, "ring");
        if (rc)
            return rc;
    }
    return 0;
}

/* What to do with the live area once open. An exit status. */
static int live_mode(struct live *l, const struct where *w, const char *save, bool where_only, bool do_follow,
                     unsigned interval)
{
    if (where_only) {
        printf("minihv-log: area 0x%llx size 0x%llx (%s)\n", (unsigned long long)w->phys, (unsigned long long)l->len,
               w->how);
        return 0;
    }
    struct log_ring_view v;
    int rc = live_snapshot(l, &v);
    if (rc)
        return rc;
    if (save)
        return save_area(save, l, &v);
    uint64_t pos = v.tail, seq = UINT64_MAX;
    char where[200];
    snprintf(where, sizeof(where), "area at 0x%llx (%s)", (unsigned long long)w->phys, w->how);
    if ((rc = print_lines(&v, &pos, &seq, where)))
        return rc;
    if (!do_follow) {
        print_counts(&v);
        return 0;
    }
    return follow(l, &v, pos, seq, interval);
}

static void usage(void)
{
    fprintf(stderr, "usage: minihv-log [--root DIR] [--scan] [--follow [--interval MS]] [--save FILE] [--where]\n"
                    "       minihv-log --file FILE   (an area saved with --save, or a last.log)\n");
    exit(1);
}

#ifndef MINIHV_LOG_NO_MAIN
int main(int argc, char **argv)
{
    const char *file = NULL, *save = NULL;
    bool scan_only = false, do_follow = false, where_only = false;
    unsigned interval = 250;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--root") && i + 1 < argc)
            root = argv[++i];
        else if (!strcmp(argv[i], "--file") && i + 1 < argc)
            file = argv[++i];
        else if (!strcmp(argv[i], "--save") && i + 1 < argc)
            save = argv[++i];
        else if (!strcmp(argv[i], "--interval") && i + 1 < argc)
            interval = (unsigned)strtoul(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--where"))
            where_only = true;
        else if (!strcmp(argv[i], "--scan"))
            scan_only = true;
        else if (!strcmp(argv[i], "--follow") || !strcmp(argv[i], "-w"))
            do_follow = true;
        else
            usage();
    }
    if (file)
        return file_mode(file);

    struct where w = { 0 };
    int found = scan_only ? 0 : find_acpi(&w);
    if (found < 0)
        return 2;
    int fd = open_mem();
    if (fd < 0)
        return 1;
    if (!found)
        found = find_scan(fd, &w);
    if (found <= 0)
        close(fd);
    if (found < 0)
        return 2;
    if (!found) {
        say("no log area: no ACPI table MHVL and no minihv log in the reserved ranges of /sys/firmware/memmap "
            "(is minihv running? log_kb = 0?)");
        return 1;
    }
    struct live l;
    int rc = live_open(&l, fd, &w);
    if (!rc)
        rc = live_mode(&l, &w, save, where_only, do_follow, interval ? interval : 250);
    free(l.copy);
    free(l.buf);
    if (l.map)
        munmap((void *)l.map, l.len);
    close(fd);
    return rc;
}
#endif
