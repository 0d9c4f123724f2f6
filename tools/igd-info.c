/* igd-info: reads IGD firmware pieces from files and prints what the
 * drivers/igd/ parsers make of them.
 *
 *   igd-info vbt FILE [--json]
 *   igd-info opregion FILE [--base 0xADDR] [--json]
 *   igd-info rom FILE [--shadow] [--json]
 *   igd-info ggc --device 0xDDDD --ggc 0xNNNN [--bdsm 0xADDR] [--json]
 *
 * Exit status: 0 ok, 1 usage or I/O error, 2 bad input (the message names
 * the field and the byte offset). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <drivers/igd/opregion.h>
#include <drivers/igd/rom.h>
#include <drivers/igd/stolen.h>
#include <drivers/igd/vbt.h>

#define MAX_FILE (16u << 20)

static const char *prog = "igd-info";

static int usage(void)
{
    fprintf(stderr,
            "usage: %s vbt FILE [--json]\n"
            "       %s opregion FILE [--base 0xADDR] [--json]\n"
            "       %s rom FILE [--shadow] [--json]\n"
            "       %s ggc --device 0xDDDD --ggc 0xNNNN [--bdsm 0xADDR] [--json]\n",
            prog, prog, prog, prog);
    return 1;
}

static int bad_input(const char *what, const struct field_error *e)
{
    fprintf(stderr, "%s: %s: %s at offset 0x%x: %s\n", prog, what,
            e->field ? e->field : "?", e->offset, e->what ? e->what : "invalid");
    return 2;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break;
        if (cap >= MAX_FILE) {
            fprintf(stderr, "%s: %s: larger than %u bytes\n", prog, path, MAX_FILE);
            free(buf);
            buf = NULL;
            break;
        }
        uint8_t *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    if (buf && ferror(f)) {
        fprintf(stderr, "%s: %s: read error\n", prog, path);
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = n;
    return buf;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!s || !*s)
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            printf("\\u%04x", (unsigned char)*s);
        else
            putchar(*s);
    }
    putchar('"');
}

/* ---- vbt ---- */

static void print_vbt_json_fields(const struct igd_vbt_summary *s)
{
    printf("\"signature\":");
    json_string(s->signature);
    printf(",\"vbt_version\":%u,\"vbt_header_size\":%u,\"vbt_size\":%u,\"checksum_ok\":%s,"
           "\"bdb_offset\":%u,\"bdb_version\":%u,\"bdb_header_size\":%u,\"bdb_size\":%u,\"blocks\":[",
           s->vbt_version, s->vbt_header_size, s->vbt_size, s->checksum_ok ? "true" : "false",
           s->bdb_offset, s->bdb_version, s->bdb_header_size, s->bdb_size);
    for (uint32_t i = 0; i < s->nblocks; i++)
        printf("%s%u", i ? "," : "", s->blocks[i].id);
    printf("],\"block_table\":[");
    for (uint32_t i = 0; i < s->nblocks; i++)
        printf("%s{\"id\":%u,\"offset\":%u,\"size\":%u}", i ? "," : "", s->blocks[i].id,
               s->blocks[i].offset, s->blocks[i].size);
    printf("],\"walk_stopped\":");
    if (s->walk_stopped)
        printf("{\"offset\":%u,\"block\":%u,\"size\":%u}", s->stop_offset, s->stop_block_id,
               s->stop_block_size);
    else
        printf("null");
    printf(",\"child_dev_size\":%u,\"children\":[", s->child_dev_size);
    for (uint32_t i = 0; i < s->nchildren; i++) {
        const struct igd_vbt_child *c = &s->children[i];
        printf("%s{\"handle\":\"0x%04x\",\"device_type\":\"0x%04x\",\"dvo_port\":%u,"
               "\"ddc_pin\":\"0x%02x\",\"aux_channel\":\"0x%02x\"}",
               i ? "," : "", c->handle, c->device_type, c->dvo_port, c->ddc_pin, c->aux_channel);
    }
    printf("],\"panel_type\":%d", s->panel_type);
}

static void print_vbt_text(const struct igd_vbt_summary *s)
{
    printf("VBT signature:   \"%s\"\n", s->signature);
    printf("VBT version:     %u, header %u bytes, vbt_size %u, checksum %s\n", s->vbt_version,
           s->vbt_header_size, s->vbt_size, s->checksum_ok ? "ok" : "bad (i915 ignores it)");
    printf("BDB:             offset %u, version %u, header %u bytes, bdb_size %u\n", s->bdb_offset,
           s->bdb_version, s->bdb_header_size, s->bdb_size);
    printf("Blocks (%u):", s->nblocks);
    for (uint32_t i = 0; i < s->nblocks; i++)
        printf(" %u", s->blocks[i].id);
    printf("\n");
    if (s->walk_stopped)
        printf("Walk stopped:    block %u at offset %u declares %u bytes, past the BDB end\n",
               s->stop_block_id, s->stop_offset, s->stop_block_size);
    printf("Child devices:   %u (config size %u)\n", s->nchildren, s->child_dev_size);
    for (uint32_t i = 0; i < s->nchildren; i++) {
        const struct igd_vbt_child *c = &s->children[i];
        printf("  handle 0x%04x type 0x%04x port %u ddc 0x%02x aux 0x%02x\n", c->handle,
               c->device_type, c->dvo_port, c->ddc_pin, c->aux_channel);
    }
    printf("Panel type:      %d\n", s->panel_type);
}

static int cmd_vbt(const char *path, bool json)
{
    size_t len;
    uint8_t *buf = read_file(path, &len);
    if (!buf)
        return 1;
    static struct igd_vbt_summary s;
    struct field_error e = { 0 };
    int rc = igd_vbt_parse(buf, len, &s, &e);
    free(buf);
    if (rc)
        return bad_input("vbt", &e);
    if (json) {
        putchar('{');
        print_vbt_json_fields(&s);
        printf("}\n");
    } else {
        print_vbt_text(&s);
    }
    return 0;
}

/* ---- opregion ---- */

static const char *where_name(enum igd_vbt_where w)
{
    switch (w) {
    case IGD_VBT_MAILBOX4: return "mailbox4";
    case IGD_VBT_RVDA_RELATIVE: return "rvda-relative";
    case IGD_VBT_RVDA_ABSOLUTE: return "rvda-absolute";
    default: return "none";
    }
}

static int cmd_opregion(const char *path, uint64_t base, bool json)
{
    size_t len;
    uint8_t *buf = read_file(path, &len);
    if (!buf)
        return 1;
    struct igd_opregion_info o;
    struct field_error e = { 0 };
    int rc = igd_opregion_parse(buf, len, base, &o, &e);
    if (rc) {
        free(buf);
        return bad_input("opregion", &e);
    }
    static struct igd_vbt_summary s;
    bool have_vbt = false;
    if (o.vbt_where == IGD_VBT_MAILBOX4 || o.vbt_where == IGD_VBT_RVDA_RELATIVE) {
        rc = igd_vbt_parse(buf + o.vbt_offset, o.vbt_len, &s, &e);
        if (rc) {
            e.offset += (uint32_t)o.vbt_offset;
            free(buf);
            return bad_input("opregion VBT", &e);
        }
        have_vbt = true;
    }
    free(buf);
    if (json) {
        printf("{\"version\":\"%u.%u\",\"size\":%u,\"mboxes\":\"0x%x\",\"rvda\":\"0x%llx\",\"rvds\":%u,"
               "\"vbt_where\":\"%s\",\"vbt_offset\":\"0x%llx\",\"vbt_len\":%u,\"guest_size\":%llu,\"vbt\":",
               o.version >> 8, o.version & 0xFF, o.size, o.mboxes, (unsigned long long)o.rvda, o.rvds,
               where_name(o.vbt_where), (unsigned long long)o.vbt_offset, o.vbt_len,
               (unsigned long long)igd_opregion_guest_size(&o, 0));
        if (have_vbt) {
            putchar('{');
            print_vbt_json_fields(&s);
            putchar('}');
        } else {
            printf("null");
        }
        printf("}\n");
    } else {
        printf("OpRegion version %u.%u, %u bytes, mboxes 0x%x\n", o.version >> 8, o.version & 0xFF,
               o.size, o.mboxes);
        printf("RVDA 0x%llx RVDS %u\n", (unsigned long long)o.rvda, o.rvds);
        printf("VBT: %s at 0x%llx, %u bytes; guest copy %llu bytes\n", where_name(o.vbt_where),
               (unsigned long long)o.vbt_offset, o.vbt_len,
               (unsigned long long)igd_opregion_guest_size(&o, 0));
        if (have_vbt)
            print_vbt_text(&s);
    }
    return 0;
}

/* ---- rom ---- */

static const char *code_type_name(uint8_t t)
{
    switch (t) {
    case IGD_ROM_CODE_X86: return "x86";
    case IGD_ROM_CODE_OPENFW: return "openfirmware";
    case IGD_ROM_CODE_HPPA: return "hppa";
    case IGD_ROM_CODE_EFI: return "efi";
    default: return "other";
    }
}

static int cmd_rom(const char *path, bool shadow, bool json)
{
    size_t len;
    uint8_t *buf = read_file(path, &len);
    if (!buf)
        return 1;
    struct igd_rom_info r;
    struct field_error e = { 0 };
    int rc = shadow ? igd_rom_parse_shadow(buf, len, &r, &e) : igd_rom_parse(buf, len, &r, &e);
    free(buf);
    if (rc)
        return bad_input("rom", &e);
    uint64_t region = igd_rom_region_size(shadow ? IGD_ROM_SRC_SHADOW : IGD_ROM_SRC_FILE, r.total_len);
    if (json)
        printf("{\"file_size\":%zu,\"rom_size\":%u,\"region_size\":%llu,\"images\":[", len, r.total_len,
               (unsigned long long)region);
    else
        printf("ROM: %zu bytes in file, %u in images, ROM region %llu bytes\n", len, r.total_len,
               (unsigned long long)region);
    for (uint32_t i = 0; i < r.nimages; i++) {
        const struct igd_rom_image *m = &r.images[i];
        if (json)
            printf("%s{\"offset\":%u,\"length\":%u,\"code_type\":%u,\"code_type_name\":\"%s\","
                   "\"vendor_device\":\"%04x:%04x\",\"class\":\"%02x%02x%02x\",\"init_size\":%u,\"last\":%s}",
                   i ? "," : "", m->offset, m->length, m->code_type, code_type_name(m->code_type),
                   m->vendor, m->device, m->class_code[2], m->class_code[1], m->class_code[0],
                   m->init_size, m->last ? "true" : "false");
        else
            printf("  image %u: offset 0x%x length %u code type %u (%s) %04x:%04x class %02x%02x%02x%s\n",
                   i, m->offset, m->length, m->code_type, code_type_name(m->code_type), m->vendor,
                   m->device, m->class_code[2], m->class_code[1], m->class_code[0],
                   m->last ? " last" : "");
    }
    if (json)
        printf("]}\n");
    return 0;
}

/* ---- ggc ---- */

static int cmd_ggc(uint64_t device, uint64_t ggc, uint64_t bdsm, bool json)
{
    if (device > 0xFFFF || ggc > 0xFFFF) {
        fprintf(stderr, "%s: ggc: --device and --ggc are 16-bit values\n", prog);
        return 2;
    }
    struct igd_stolen s;
    struct field_error e = { 0 };
    if (igd_stolen_decode((uint16_t)device, (uint16_t)ggc, bdsm, &s, &e))
        return bad_input("ggc", &e);
    const struct igd_device *d = igd_device_lookup((uint16_t)device);
    if (json)
        printf("{\"device\":\"0x%04x\",\"platform\":\"%s\",\"gen\":%u,\"ggc\":\"0x%04x\",\"gms\":\"0x%02x\","
               "\"stolen_size\":%llu,\"gtt_size\":%u,\"ggc_locked\":%s,\"vga_disabled\":%s,"
               "\"bdsm\":\"0x%llx\",\"base\":\"0x%llx\",\"bdsm_locked\":%s}\n",
               (unsigned)device, d->platform, s.gen, s.ggc, s.gms, (unsigned long long)s.size,
               s.gtt_size, s.ggc_locked ? "true" : "false", s.vga_disabled ? "true" : "false",
               (unsigned long long)s.bdsm, (unsigned long long)s.base, s.bdsm_locked ? "true" : "false");
    else
        printf("%04x %s gen%u: GGC 0x%04x GMS 0x%02x -> stolen %llu MiB (%llu bytes), GTT %u KiB; "
               "BDSM 0x%llx -> base 0x%llx%s\n",
               (unsigned)device, d->platform, s.gen, s.ggc, s.gms, (unsigned long long)(s.size >> 20),
               (unsigned long long)s.size, s.gtt_size >> 10, (unsigned long long)s.bdsm,
               (unsigned long long)s.base, s.bdsm_locked ? " (locked)" : "");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    const char *cmd = argv[1];
    const char *file = NULL;
    bool json = false, shadow = false, have_dev = false, have_ggc = false;
    uint64_t base = 0, device = 0, ggc = 0, bdsm = 0;

    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--shadow")) {
            shadow = true;
        } else if (!strcmp(a, "--base") || !strcmp(a, "--device") || !strcmp(a, "--ggc") ||
                   !strcmp(a, "--bdsm")) {
            uint64_t *dst = !strcmp(a, "--base") ? &base : !strcmp(a, "--device") ? &device
                          : !strcmp(a, "--ggc") ? &ggc : &bdsm;
            if (!parse_u64(val, dst)) {
                fprintf(stderr, "%s: %s needs a number (0x… or decimal)\n", prog, a);
                return 2;
            }
            have_dev |= !strcmp(a, "--device");
            have_ggc |= !strcmp(a, "--ggc");
            i++;
        } else if (a[0] == '-' || file) {
            return usage();
        } else {
            file = a;
        }
    }
    if (!strcmp(cmd, "vbt") && file)
        return cmd_vbt(file, json);
    if (!strcmp(cmd, "opregion") && file)
        return cmd_opregion(file, base, json);
    if (!strcmp(cmd, "rom") && file)
        return cmd_rom(file, shadow, json);
    if (!strcmp(cmd, "ggc") && !file && have_dev && have_ggc)
        return cmd_ggc(device, ggc, bdsm, json);
    return usage();
}
