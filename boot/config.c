/* minihv.cfg parser. The file comes from a USB stick: every byte is
 * untrusted, so a line that is not exactly understood stops the boot with
 * its number and what is wrong (the caller then virtualizes nothing). */
#include <minihv/format.h>
#include <minihv/libc.h>
#include "boot/config.h"

#define CONFIG_MIN_HV_MEM_MB 16
#define CONFIG_MAX_HV_MEM_MB 4096

void config_defaults(struct minihv_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->passthrough = PASSTHROUGH_NONE;
    cfg->serial_port = 0x3f8;
    cfg->hv_mem_mb = 64;
    cfg->iommu = IOMMU_AUTO;
    cfg->config_guard = CONFIG_GUARD_AUTO;
    cfg->log_kb = CONFIG_DEFAULT_LOG_KB;
    cfg->keep_logs = CONFIG_DEFAULT_KEEP_LOGS;
}

static const char *const iommu_names[] = { "auto", "vtd", "amdvi", "none", "auto-required" };
static const char *const config_guard_names[] = { "auto", "on" };

const char *config_iommu_name(enum iommu_mode m)
{
    return (unsigned)m < ARRAY_SIZE(iommu_names) ? iommu_names[m] : "?";
}

const char *config_guard_name(enum config_guard_mode m)
{
    return (unsigned)m < ARRAY_SIZE(config_guard_names) ? config_guard_names[m] : "?";
}

/* The index of v among the first `count` names; -1: none. */
static int name_index(const char *v, const char *const *names, unsigned count)
{
    for (unsigned i = 0; i < count; i++)
        if (!strcmp(v, names[i]))
            return (int)i;
    return -1;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Parses an unsigned number: decimal, or hex with 0x. Whole string. */
static bool parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    unsigned base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (!*s)
        return false;
    for (; *s; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = (unsigned)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = (unsigned)(*s - 'A' + 10);
        else
            return false;
        if (v > (max - d) / base)
            return false;
        v = v * base + d;
    }
    *out = v;
    return true;
}

/* Hex field of a BDF, up to `digits` digits, ending at `end` char. */
static const char *parse_hex_field(const char *s, unsigned digits, char end, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    unsigned n = 0;
    for (; *s && *s != end; s++, n++) {
        char c = *s;
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            return NULL;
        v = v * 16 + d;
    }
    if (n == 0 || n > digits || v > max || *s != end)
        return NULL;
    *out = v;
    return end ? s + 1 : s;
}

/* [SSSS:]BB:DD.F, as lspci prints it. */
static bool parse_bdf(const char *s, struct minihv_config *cfg)
{
    uint64_t seg = 0, bus, dev, fn;
    const char *p = s;
    unsigned colons = 0;
    for (const char *q = s; *q; q++)
        colons += *q == ':';
    if (colons == 2 && !(p = parse_hex_field(p, 4, ':', 0xffff, &seg)))
        return false;
    if (colons != 1 && colons != 2)
        return false;
    if (!(p = parse_hex_field(p, 2, ':', 0xff, &bus)) ||
        !(p = parse_hex_field(p, 2, '.', 0x1f, &dev)) ||
        !(p = parse_hex_field(p, 1, '\0', 7, &fn)))
        return false;
    cfg->passthrough = PASSTHROUGH_BDF;
    cfg->pt_segment = (uint16_t)seg;
    cfg->pt_bus = (uint8_t)bus;
    cfg->pt_dev = (uint8_t)dev;
    cfg->pt_fn = (uint8_t)fn;
    return true;
}

typedef bool (*config_setter)(const char *value, struct minihv_config *cfg, const char **why);

static bool set_passthrough(const char *v, struct minihv_config *cfg, const char **why)
{
    if (!strcmp(v, "none"))
        cfg->passthrough = PASSTHROUGH_NONE;
    else if (!strcmp(v, "igd"))
        cfg->passthrough = PASSTHROUGH_IGD;
    else if (!parse_bdf(v, cfg)) {
        *why = "expected 'none', 'igd' or a PCI address like 00:02.0";
        return false;
    }
    return true;
}

static bool set_string(char *dst, size_t size, const char *v, const char **why)
{
    size_t n = strlen(v);
    if (n >= size) {
        _Static_assert(CONFIG_MAX_PATH == 200 && CONFIG_MAX_ARGS == 1024 && CONFIG_MAX_LINE == 1056,
                       "the messages here and in parse_config");
        *why = size == CONFIG_MAX_ARGS ? "longer than 1023 characters" : "longer than 199 characters";
        return false;
    }
    memcpy(dst, v, n + 1);
    return true;
}

static bool set_guest(const char *v, struct minihv_config *cfg, const char **why)
{
    return set_string(cfg->guest, sizeof(cfg->guest), v, why);
}

static bool set_guest_args(const char *v, struct minihv_config *cfg, const char **why)
{
    return set_string(cfg->guest_args, sizeof(cfg->guest_args), v, why);
}

static bool set_serial(const char *v, struct minihv_config *cfg, const char **why)
{
    uint64_t port;
    if (!strcmp(v, "off")) {
        cfg->serial_port = 0;
        return true;
    }
    if (!parse_uint(v, 0xfff8, &port) || port == 0) {
        *why = "expected 'off' or an I/O port such as 0x3f8";
        return false;
    }
    cfg->serial_port = (uint16_t)port;
    return true;
}

static bool set_hv_mem_mb(const char *v, struct minihv_config *cfg, const char **why)
{
    uint64_t mb;
    if (!parse_uint(v, CONFIG_MAX_HV_MEM_MB, &mb) || mb < CONFIG_MIN_HV_MEM_MB) {
        *why = "expected a number of MiB from 16 to 4096";
        return false;
    }
    cfg->hv_mem_mb = (uint32_t)mb;
    return true;
}

static bool set_iommu(const char *v, struct minihv_config *cfg, const char **why)
{
    int m = name_index(v, iommu_names, IOMMU_NONE + 1); /* auto-required is no config value */
    if (m < 0) {
        *why = "expected auto, vtd, amdvi or none";
        return false;
    }
    cfg->iommu = (enum iommu_mode)m;
    return true;
}

static bool set_config_guard(const char *v, struct minihv_config *cfg, const char **why)
{
    int m = name_index(v, config_guard_names, ARRAY_SIZE(config_guard_names));
    if (m < 0) {
        *why = "expected auto or on";
        return false;
    }
    cfg->config_guard = (enum config_guard_mode)m;
    return true;
}

/* Test only: an emulated device (no IGD) gets the IGD personality. */
static bool set_igd_force(const char *v, struct minihv_config *cfg, const char **why)
{
    if (strcmp(v, "0") && strcmp(v, "1")) {
        *why = "expected 0 or 1";
        return false;
    }
    cfg->igd_force = v[0] == '1';
    return true;
}

static bool set_vbt(const char *v, struct minihv_config *cfg, const char **why)
{
    return set_string(cfg->vbt, sizeof(cfg->vbt), v, why);
}

static bool set_rom(const char *v, struct minihv_config *cfg, const char **why)
{
    return set_string(cfg->rom, sizeof(cfg->rom), v, why);
}

static bool set_log_kb(const char *v, struct minihv_config *cfg, const char **why)
{
    uint64_t kb;
    if (!parse_uint(v, CONFIG_MAX_LOG_KB, &kb) || kb < CONFIG_MIN_LOG_KB || (kb & (kb - 1))) {
        *why = "expected a power of two of KiB from 16 to 65536";
        return false;
    }
    cfg->log_kb = (uint32_t)kb;
    return true;
}

static bool set_keep_logs(const char *v, struct minihv_config *cfg, const char **why)
{
    uint64_t n;
    if (!parse_uint(v, CONFIG_MAX_KEEP_LOGS, &n)) {
        *why = "expected a number of saved logs from 0 to 99";
        return false;
    }
    cfg->keep_logs = (uint32_t)n;
    return true;
}

#ifdef MINIHV_TEST_HOOKS
/* Test build only (config.h): a release build refuses the key as unknown. */
static bool set_test_skip_ap(const char *v, struct minihv_config *cfg, const char **why)
{
    uint64_t n;
    if (!parse_uint(v, 255, &n) || !n) {
        *why = "expected an AP's index in the CPU plan, 1 to 255";
        return false;
    }
    cfg->test_skip_ap = (uint32_t)n;
    return true;
}
#endif

static const struct {
    const char *key;
    config_setter set;
} config_keys[] = {
    { "passthrough", set_passthrough },
    { "guest", set_guest },
    { "guest_args", set_guest_args },
    { "serial", set_serial },
    { "hv_mem_mb", set_hv_mem_mb },
    { "iommu", set_iommu },
    { "config_guard", set_config_guard },
    { "igd_force", set_igd_force },
    { "vbt", set_vbt },
    { "rom", set_rom },
    { "log_kb", set_log_kb },
    { "keep_logs", set_keep_logs },
#ifdef MINIHV_TEST_HOOKS
    { "test_skip_ap", set_test_skip_ap },
#endif
};

static int line_error(struct config_error *err, unsigned line, const char *fmt, const char *arg)
{
    err->line = line;
    fmt_snprintf(err->msg, sizeof(err->msg), fmt, arg);
    return -1;
}

/* One line, already cut and NUL-terminated in `buf`. */
static int parse_line(char *buf, unsigned line, struct minihv_config *cfg, unsigned *seen,
                      struct config_error *err)
{
    char *hash = buf;
    while (*hash && *hash != '#')
        hash++;
    *hash = '\0';

    char *key = buf;
    while (is_space(*key))
        key++;
    if (!*key)
        return 0; /* blank or comment */
    char *eq = key;
    while (*eq && *eq != '=')
        eq++;
    if (!*eq)
        return line_error(err, line, "expected 'key = value'%s", "");
    char *kend = eq;
    while (kend > key && is_space(kend[-1]))
        kend--;
    *kend = '\0';
    char *val = eq + 1;
    while (is_space(*val))
        val++;
    char *vend = val + strlen(val);
    while (vend > val && is_space(vend[-1]))
        vend--;
    *vend = '\0';

    for (unsigned i = 0; i < ARRAY_SIZE(config_keys); i++) {
        if (strcmp(key, config_keys[i].key))
            continue;
        if (*seen & (1u << i))
            return line_error(err, line, "'%s' is set twice", key);
        *seen |= 1u << i;
        const char *why = "bad value";
        if (!config_keys[i].set(val, cfg, &why)) {
            char what[CONFIG_MAX_LINE + 64];
            fmt_snprintf(what, sizeof(what), "bad value for '%s': %s", key, why);
            return line_error(err, line, "%s", what);
        }
        return 0;
    }
    return line_error(err, line, "unknown key '%s'", key);
}

int config_parse(const char *text, size_t len, struct minihv_config *out, struct config_error *err)
{
    struct minihv_config cfg;
    char buf[CONFIG_MAX_LINE + 1];
    unsigned line = 1, seen = 0;
    size_t pos = 0;

    config_defaults(&cfg);
    config_defaults(out);
    err->line = 0;
    err->msg[0] = '\0';
    while (pos < len) {
        size_t n = 0;
        bool in_comment = false;
        for (; pos < len && text[pos] != '\n'; pos++) {
            unsigned char c = (unsigned char)text[pos];
            if (c == '\r' && (pos + 1 == len || text[pos + 1] == '\n'))
                continue;
            in_comment |= c == '#';
            /* Control bytes never; UTF-8 text only inside a comment. */
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return line_error(err, line, "binary (control) byte in line%s", "");
            if (c >= 0x80 && !in_comment)
                return line_error(err, line, "non-ASCII byte outside a comment%s", "");
            if (n == CONFIG_MAX_LINE)
                return line_error(err, line, "line longer than 1056 characters%s", "");
            buf[n++] = (char)c;
        }
        buf[n] = '\0';
        if (parse_line(buf, line, &cfg, &seen, err))
            return -1;
        pos++; /* the '\n' */
        line++;
    }
    *out = cfg;
    return 0;
}
