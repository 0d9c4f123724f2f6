/* vfio-info: the vfio region model of a PCI device, from a config-space
 * dump (e.g. /sys/bus/pci/devices/D/config), as vfio-pci would report it.
 *
 *   vfio-info CONFIG_FILE [--bar N=SIZE]... [--json |
 *             --raw-region INDEX --argsz BYTES | --raw-device --argsz BYTES]
 *             [--igd --opregion FILE --host-cfg FILE --lpc-cfg FILE]
 *
 * A config dump does not say how large the BARs are (sizing needs the
 * hardware), so BAR N is absent (size 0) unless --bar N=SIZE gives it;
 * N = 6 is the ROM BAR. SIZE: decimal or 0x hex, optional K/M/G suffix.
 * The default output is a table of regions and capabilities; --json the
 * same as JSON; --raw-* writes to stdout the exact bytes
 * VFIO_DEVICE_GET_REGION_INFO / VFIO_DEVICE_GET_INFO would leave in a
 * zeroed buffer of BYTES bytes. Any error: a message on stderr naming the
 * field and offset, exit code 2.
 * --igd adds the IGD's three device-specific regions (drivers/igd/regions.c)
 * from an OpRegion dump and the host and LPC bridges' config dumps. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <minihv/vfio_abi.h>

#include "drivers/igd/opregion.h"
#include "drivers/igd/regions.h"
#include "vfio/vfio.h"

#define EXIT_BAD 2
#define MAX_ARGSZ 65536
#define MAX_OPREGION (1u << 20)

enum mode { MODE_TABLE, MODE_JSON, MODE_RAW_REGION, MODE_RAW_DEVICE };

struct options {
    const char *file;
    uint64_t bar_sizes[6];
    uint64_t rom_size;
    enum mode mode;
    uint32_t raw_index;
    int64_t argsz; /* -1: not given */
    bool igd;
    const char *opregion, *host_cfg, *lpc_cfg;
};

static const char usage[] =
    "usage: vfio-info CONFIG_FILE [--bar N=SIZE]... [--json | --raw-region INDEX --argsz BYTES |\n"
    "                 --raw-device --argsz BYTES]\n"
    "  CONFIG_FILE  PCI config-space dump, 256 or 4096 bytes\n"
    "  --bar N=SIZE size of BAR N (0-5; 6 = ROM); BARs not given are absent\n"
    "  --igd --opregion FILE --host-cfg FILE --lpc-cfg FILE\n"
    "               add the IGD's OpRegion, host bridge and LPC bridge regions\n";

static int bad(FILE *err, const char *fmt, const char *a, const char *b)
{
    fprintf(err, "vfio-info: ");
    fprintf(err, fmt, a, b);
    fputc('\n', err);
    return EXIT_BAD;
}

/* Decimal or 0x hex with an optional K/M/G suffix; no overflow. */
static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    if (!*s || *s == '-')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s)
        return -1;
    unsigned shift = 0;
    if (*end == 'K' || *end == 'k')
        shift = 10;
    else if (*end == 'M' || *end == 'm')
        shift = 20;
    else if (*end == 'G' || *end == 'g')
        shift = 30;
    if (shift)
        end++;
    if (*end || (shift && v > (UINT64_MAX >> shift)))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

static int parse_args(int argc, char **argv, struct options *o, FILE *err)
{
    memset(o, 0, sizeof(*o));
    o->argsz = -1;
    bool mode_set = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t v;
        if (!strcmp(a, "--bar")) {
            if (!val)
                return bad(err, "--bar needs N=SIZE%s%s", "", "");
            char *eq = strchr(val, '=');
            if (!eq || eq != val + 1 || val[0] < '0' || val[0] > '6' || parse_size(eq + 1, &v))
                return bad(err, "--bar %s: expected N=SIZE with N 0-6%s", val, "");
            if (val[0] == '6')
                o->rom_size = v;
            else
                o->bar_sizes[val[0] - '0'] = v;
            i++;
        } else if (!strcmp(a, "--json") || !strcmp(a, "--raw-region") || !strcmp(a, "--raw-device")) {
            if (mode_set)
                return bad(err, "%s: only one of --json, --raw-region, --raw-device%s", a, "");
            mode_set = true;
            if (!strcmp(a, "--json")) {
                o->mode = MODE_JSON;
            } else if (!strcmp(a, "--raw-device")) {
                o->mode = MODE_RAW_DEVICE;
            } else {
                if (!val || parse_size(val, &v) || v > UINT32_MAX)
                    return bad(err, "--raw-region needs a region INDEX%s%s", "", "");
                o->mode = MODE_RAW_REGION;
                o->raw_index = (uint32_t)v;
                i++;
            }
        } else if (!strcmp(a, "--igd")) {
            o->igd = true;
        } else if (!strcmp(a, "--opregion") || !strcmp(a, "--host-cfg") || !strcmp(a, "--lpc-cfg")) {
            if (!val)
                return bad(err, "%s needs a FILE%s", a, "");
            *(!strcmp(a, "--opregion") ? &o->opregion : !strcmp(a, "--host-cfg") ? &o->host_cfg : &o->lpc_cfg) = val;
            i++;
        } else if (!strcmp(a, "--argsz")) {
            if (!val || parse_size(val, &v) || v > MAX_ARGSZ)
                return bad(err, "--argsz needs BYTES (at most 65536)%s%s", "", "");
            o->argsz = (int64_t)v;
            i++;
        } else if (a[0] == '-' && a[1]) {
            return bad(err, "unknown option %s%s", a, "");
        } else if (o->file) {
            return bad(err, "more than one CONFIG_FILE (%s)%s", a, "");
        } else {
            o->file = a;
        }
    }
    if (!o->file) {
        fputs(usage, err);
        return EXIT_BAD;
    }
    bool raw = o->mode == MODE_RAW_REGION || o->mode == MODE_RAW_DEVICE;
    if (raw && o->argsz < 0)
        return bad(err, "--raw-region/--raw-device need --argsz BYTES%s%s", "", "");
    if (!raw && o->argsz >= 0)
        return bad(err, "--argsz only goes with --raw-region or --raw-device%s%s", "", "");
    if (o->igd && !(o->opregion && o->host_cfg && o->lpc_cfg))
        return bad(err, "--igd needs --opregion, --host-cfg and --lpc-cfg%s%s", "", "");
    if (!o->igd && (o->opregion || o->host_cfg || o->lpc_cfg))
        return bad(err, "--opregion/--host-cfg/--lpc-cfg only go with --igd%s%s", "", "");
    return 0;
}

/* Reads at most `max` bytes; *len = bytes read, max + 1 when the file is longer. */
static int read_file(const char *file, uint8_t *buf, size_t max, size_t *len, FILE *err)
{
    FILE *f = fopen(file, "rb");
    if (!f) {
        fprintf(err, "vfio-info: %s: %s\n", file, strerror(errno));
        return EXIT_BAD;
    }
    *len = fread(buf, 1, max, f);
    if (*len == max && fgetc(f) != EOF)
        *len = max + 1;
    int rerr = ferror(f);
    fclose(f);
    if (rerr) {
        fprintf(err, "vfio-info: %s: read error\n", file);
        return EXIT_BAD;
    }
    return 0;
}

/* A config-space dump: 256 or 4096 bytes. */
static int read_config(const char *file, uint8_t *buf, size_t *len, FILE *err)
{
    int ret = read_file(file, buf, VFIO_CONFIG_MAX, len, err);
    if (ret)
        return ret;
    if (*len != 256 && *len != VFIO_CONFIG_MAX) {
        fprintf(err, "vfio-info: %s: config dump is %s%zu bytes, expected 256 or 4096\n", file,
                *len > VFIO_CONFIG_MAX ? "more than " : "", *len > VFIO_CONFIG_MAX ? (size_t)VFIO_CONFIG_MAX : *len);
        return EXIT_BAD;
    }
    return 0;
}

/* The IGD regions; the buffers must outlive the device (static). */
static int add_igd_regions(struct vfio_device *dev, const struct options *o, FILE *err)
{
    static uint8_t opregion[MAX_OPREGION + 1], host[VFIO_CONFIG_MAX + 1], lpc[VFIO_CONFIG_MAX + 1];
    struct igd_regions r;
    int ret;
    if ((ret = read_file(o->opregion, opregion, MAX_OPREGION, &r.opregion.len, err)) ||
        (ret = read_config(o->host_cfg, host, &r.host_cfg.len, err)) ||
        (ret = read_config(o->lpc_cfg, lpc, &r.lpc_cfg.len, err)))
        return ret;
    if (r.opregion.len > MAX_OPREGION)
        return bad(err, "%s: OpRegion dump larger than 1 MiB%s", o->opregion, "");
    /* The parser's own words on a bad OpRegion: field and offset. */
    struct igd_opregion_info info;
    struct field_error e = { 0 };
    if (igd_opregion_parse(opregion, r.opregion.len, 0, &info, &e) < 0) {
        fprintf(err, "vfio-info: %s: OpRegion %s at offset 0x%x: %s\n", o->opregion,
                e.field ? e.field : "?", e.offset, e.what ? e.what : "invalid");
        return EXIT_BAD;
    }
    r.opregion.data = opregion;
    r.host_cfg.data = host;
    r.lpc_cfg.data = lpc;
    if ((ret = igd_add_vfio_regions(dev, &r)) < 0) {
        fprintf(err, "vfio-info: --igd: regions refused: %s\n", vfio_strerror(ret));
        return EXIT_BAD;
    }
    return 0;
}

static void print_region_table(FILE *out, uint32_t index, const uint8_t *buf, size_t len)
{
    struct minihv_vfio_region_info info;
    memcpy(&info, buf, sizeof(info));
    char flags[40];
    snprintf(flags, sizeof(flags), "%s%s%s%s",
             info.flags & MINIHV_VFIO_REGION_INFO_FLAG_READ ? " R" : "",
             info.flags & MINIHV_VFIO_REGION_INFO_FLAG_WRITE ? " W" : "",
             info.flags & MINIHV_VFIO_REGION_INFO_FLAG_MMAP ? " MMAP" : "",
             info.flags & MINIHV_VFIO_REGION_INFO_FLAG_CAPS ? " CAPS" : "");
    fprintf(out, "%-5u  %-6s  0x%-2x%-17s  0x%016" PRIx64 "  0x%016" PRIx64 "\n", index,
            vfio_region_name(index), info.flags, flags, info.size, info.offset);

    uint32_t at = info.flags & MINIHV_VFIO_REGION_INFO_FLAG_CAPS ? info.cap_offset : 0;
    int steps = 0;
    struct vfio_cap_view c;
    while (vfio_info_next_cap(buf, len, &at, &steps, &c)) {
        if (c.id == MINIHV_VFIO_REGION_INFO_CAP_SPARSE_MMAP && c.body_len >= 8) {
            uint32_t n;
            memcpy(&n, c.body, 4);
            fprintf(out, "       cap sparse-mmap v%u: %u area%s", c.version, n, n == 1 ? "" : "s");
            for (uint32_t i = 0; i < n && 8 + (i + 1) * 16 <= c.body_len; i++) {
                struct minihv_vfio_region_sparse_mmap_area a;
                memcpy(&a, c.body + 8 + i * 16, sizeof(a));
                fprintf(out, " [0x%" PRIx64 ", 0x%" PRIx64 ")", a.offset, a.offset + a.size);
            }
            fputc('\n', out);
        } else if (c.id == MINIHV_VFIO_REGION_INFO_CAP_TYPE && c.body_len >= 8) {
            uint32_t t[2];
            memcpy(t, c.body, 8);
            fprintf(out, "       cap type v%u: type 0x%08x subtype %u\n", c.version, t[0], t[1]);
        } else {
            fprintf(out, "       cap id %u v%u\n", c.id, c.version);
        }
    }
}

static void print_region_json(FILE *out, uint32_t index, const uint8_t *buf, size_t len)
{
    struct minihv_vfio_region_info info;
    memcpy(&info, buf, sizeof(info));
    fprintf(out, "{\"index\":%u,\"flags\":%u,\"size\":%" PRIu64 ",\"offset\":%" PRIu64 ",\"caps\":[",
            index, info.flags, info.size, info.offset);
    uint32_t at = info.flags & MINIHV_VFIO_REGION_INFO_FLAG_CAPS ? info.cap_offset : 0;
    int steps = 0;
    struct vfio_cap_view c;
    for (bool first = true; vfio_info_next_cap(buf, len, &at, &steps, &c); first = false) {
        fprintf(out, "%s{\"id\":%u,\"version\":%u", first ? "" : ",", c.id, c.version);
        if (c.id == MINIHV_VFIO_REGION_INFO_CAP_SPARSE_MMAP && c.body_len >= 8) {
            uint32_t n;
            memcpy(&n, c.body, 4);
            fputs(",\"areas\":[", out);
            for (uint32_t i = 0; i < n && 8 + (i + 1) * 16 <= c.body_len; i++) {
                struct minihv_vfio_region_sparse_mmap_area a;
                memcpy(&a, c.body + 8 + i * 16, sizeof(a));
                fprintf(out, "%s{\"offset\":%" PRIu64 ",\"size\":%" PRIu64 "}", i ? "," : "",
                        a.offset, a.size);
            }
            fputc(']', out);
        } else if (c.id == MINIHV_VFIO_REGION_INFO_CAP_TYPE && c.body_len >= 8) {
            uint32_t t[2];
            memcpy(t, c.body, 8);
            fprintf(out, ",\"type\":%u,\"subtype\":%u", t[0], t[1]);
        }
        fputc('}', out);
    }
    fputs("]}", out);
}

/* Full region info (argsz large enough for any chain) into buf. */
static int region_info(const struct vfio_device *dev, uint32_t index, uint8_t *buf, size_t len)
{
    memset(buf, 0, len);
    uint32_t argsz = (uint32_t)len;
    memcpy(buf, &argsz, 4);
    return vfio_device_get_region_info(dev, index, buf, len);
}

static int report(const struct vfio_device *dev, enum mode mode, FILE *out)
{
    struct minihv_vfio_device_info dinfo = { .argsz = sizeof(dinfo) };
    uint8_t buf[sizeof(struct minihv_vfio_region_info) + VFIO_REGION_CAPS_MAX];

    vfio_device_get_info(dev, &dinfo, sizeof(dinfo));
    if (mode == MODE_JSON)
        fprintf(out, "{\"device\":{\"flags\":%u,\"num_regions\":%u,\"num_irqs\":%u},\"regions\":[",
                dinfo.flags, dinfo.num_regions, dinfo.num_irqs);
    else
        fprintf(out, "device: flags 0x%x%s%s  num_regions %u  num_irqs %u\n"
                     "index  name    flags                 size                offset\n",
                dinfo.flags, dinfo.flags & MINIHV_VFIO_DEVICE_FLAGS_PCI ? " PCI" : "",
                dinfo.flags & MINIHV_VFIO_DEVICE_FLAGS_RESET ? " RESET" : "", dinfo.num_regions,
                dinfo.num_irqs);
    bool first = true;
    for (uint32_t i = 0; i < dinfo.num_regions; i++) {
        /* The VGA index of a non-VGA device answers EINVAL, as in vfio-pci. */
        if (region_info(dev, i, buf, sizeof(buf)) < 0)
            continue;
        if (mode == MODE_JSON) {
            if (!first)
                fputc(',', out);
            print_region_json(out, i, buf, sizeof(buf));
        } else {
            print_region_table(out, i, buf, sizeof(buf));
        }
        first = false;
    }
    if (mode == MODE_JSON)
        fputs("]}\n", out);
    return 0;
}

static int raw(const struct vfio_device *dev, const struct options *o, FILE *out, FILE *err)
{
    size_t n = (size_t)o->argsz;
    /* The kernel reads the fixed structure whatever argsz says, so a
     * small argsz is its EINVAL, not a fault: give the call that much. */
    size_t bufsz = n < sizeof(struct minihv_vfio_region_info) ? sizeof(struct minihv_vfio_region_info) : n;
    uint8_t *buf = calloc(1, bufsz);
    if (!buf)
        return bad(err, "out of memory%s%s", "", "");
    uint32_t argsz = (uint32_t)n;
    memcpy(buf, &argsz, n < 4 ? n : 4);
    if (o->mode == MODE_RAW_REGION && n >= 12)
        memcpy(buf + 8, &o->raw_index, 4);
    int ret = o->mode == MODE_RAW_REGION ? vfio_device_get_region_info(dev, o->raw_index, buf, bufsz)
                                         : vfio_device_get_info(dev, buf, bufsz);
    if (ret < 0) {
        fprintf(err, "vfio-info: %s with argsz %zu: %s\n",
                o->mode == MODE_RAW_REGION ? "VFIO_DEVICE_GET_REGION_INFO" : "VFIO_DEVICE_GET_INFO", n,
                vfio_strerror(ret));
        free(buf);
        return EXIT_BAD;
    }
    fwrite(buf, 1, n, out);
    free(buf);
    return 0;
}

int vfio_info_main(int argc, char **argv, FILE *out, FILE *err);

int vfio_info_main(int argc, char **argv, FILE *out, FILE *err)
{
    struct options o;
    static uint8_t config[VFIO_CONFIG_MAX + 1];
    static struct vfio_device dev;
    size_t len;
    int ret;

    if ((ret = parse_args(argc, argv, &o, err)))
        return ret;
    if ((ret = read_config(o.file, config, &len, err)))
        return ret;
    if ((ret = vfio_device_init_pci(&dev, config, len, o.bar_sizes, o.rom_size)) < 0) {
        fprintf(err, "vfio-info: %s: %s at config offset 0x%x (%s)\n", o.file,
                dev.error.what ? dev.error.what : "invalid device", dev.error.offset,
                vfio_strerror(ret));
        return EXIT_BAD;
    }
    if (o.igd && (ret = add_igd_regions(&dev, &o, err)))
        return ret;
    if (o.mode == MODE_RAW_REGION || o.mode == MODE_RAW_DEVICE)
        return raw(&dev, &o, out, err);
    return report(&dev, o.mode, out);
}

#ifndef VFIO_INFO_NO_MAIN
int main(int argc, char **argv)
{
    return vfio_info_main(argc, argv, stdout, stderr);
}
#endif
