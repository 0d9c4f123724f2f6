/* minihv-preflight (issue 18): will minihv work on this machine? Run as
 * root on the target's Linux; reads CPUID, /sys/firmware (EFI, Secure
 * Boot, the ACPI tables) and runs the ACPI tables through the parsers the
 * loader and the core use (boot/acpi.c, boot/cpu_plan.c, iommu/dmar.c,
 * iommu/ivrs.c), printing the loader's lines where they overlap, then a
 * verdict table and a suggested minihv.cfg.
 *
 *   minihv-preflight [--root DIR] [--candidate igd|BB:DD.F] [--json]
 *   minihv-preflight --collect OUT.tar  saves what it reads, for --root
 *   minihv-preflight --table FILE...   one table's fields, for tests that
 *                                      compare them with `iasl -d`
 *
 * Every file read is untrusted: a size or field that does not fit is one
 * line naming the file and the field, never a crash. */
#include <cpuid.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <minihv/libc.h>
#include "boot/acpi.h"
#include "boot/cpu_plan.h"
#include "boot/pci.h"
#include "drivers/igd/opregion.h"
#include "drivers/igd/rom.h"
#include "drivers/igd/stolen.h"
#include "drivers/igd/vbt.h"
#include "iommu/dmar.h"
#include "iommu/ivrs.h"
#include "tools/preflight_iommu.h"
#include "tools/preflight_sb.h"
#include "tools/preflight_vfio.h"

#define MAX_TABLE (16u << 20) /* boot/acpi.c refuses longer tables too */

static const char *root = "";
static bool json;

/* "preflight: FILE: FIELD: what" lines: printed, or with --json kept for
 * its "notes" array. */
static char notes[64][512];
static unsigned nnotes;

__attribute__((format(printf, 1, 2))) static void diag(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (!json)
        printf("preflight: %s\n", buf);
    else if (nnotes < ARRAY_SIZE(notes))
        snprintf(notes[nnotes++], sizeof(notes[0]), "%s", buf);
}

static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            printf("\\u%04x", *s);
        else
            putchar(*s);
    }
    putchar('"');
}

/* ---- files ---- */

/* Reads DIR/rel whole, at most `max` bytes; NULL (and *len 0) when absent
 * or larger, with `why` saying which. */
static uint8_t *read_file(const char *path, size_t max, size_t *len, const char **why)
{
    *len = 0;
    *why = "absent";
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno != ENOENT)
            *why = strerror(errno);
        return NULL;
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (n == cap) {
            if (cap > max) {
                *why = "larger than the tool reads";
                free(buf);
                fclose(f);
                return NULL;
            }
            cap *= 2;
            buf = realloc(buf, cap);
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (!r)
            break;
    }
    fclose(f);
    if (n > max) {
        *why = "larger than the tool reads";
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static void rooted(char *out, size_t size, const char *rel)
{
    snprintf(out, size, "%s%s", root, rel);
}

/* ---- ACPI tables as files ---- */

struct table {
    const char *sig;
    char path[4096];
    uint8_t *data;
    uint32_t len;
    bool ok;
};

static uint8_t checksum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    while (n--)
        s = (uint8_t)(s + *p++);
    return s;
}

/* Loads a table file; checks the header against the file. Prints one line
 * naming the file and field when it is unusable. */
static bool load_table(struct table *t, const char *path, const char *want_sig)
{
    size_t n;
    const char *why;
    snprintf(t->path, sizeof(t->path), "%s", path);
    t->data = read_file(path, MAX_TABLE, &n, &why);
    t->ok = false;
    if (!t->data) {
        if (strcmp(why, "absent"))
            diag("%s: %s", path, why);
        return false;
    }
    if (n < 36) {
        diag("%s: header: %zu bytes, shorter than the 36-byte ACPI header", path, n);
        return false;
    }
    if (want_sig && memcmp(t->data, want_sig, 4)) {
        diag("%s: signature: not \"%s\"", path, want_sig);
        return false;
    }
    uint32_t l = le32(t->data + 4);
    if (l < 36 || l > n) {
        diag("%s: length: %u but the file has %zu bytes", path, l, n);
        return false;
    }
    if (checksum(t->data, l)) {
        diag("%s: checksum: the %u bytes do not sum to 0", path, l);
        return false;
    }
    t->len = l;
    t->ok = true;
    return true;
}

/* A fake physical memory for acpi_parse: an RSDP 2.0 at 0x10, an XSDT
 * after it, then the tables; "physical" addresses are offsets. */
struct fake_mem {
    uint8_t *p;
    size_t len;
};

static const void *fake_map(void *opaque, uint64_t pa, size_t len)
{
    struct fake_mem *m = opaque;
    if (pa > m->len || len > m->len - pa)
        return NULL;
    return m->p + pa;
}

static int run_acpi_parse(struct table *ts, unsigned n, struct acpi_info *out, const char **why)
{
    size_t xsdt_len = 36 + 8u * n, total = 0x10 + 36 + xsdt_len;
    for (unsigned i = 0; i < n; i++)
        total += ts[i].ok ? ts[i].len : 0;
    struct fake_mem m = { calloc(1, total), total };
    uint8_t *rsdp = m.p + 0x10, *x = rsdp + 36;
    memcpy(rsdp, "RSD PTR ", 8);
    memcpy(rsdp + 9, "PREFLT", 6);
    rsdp[15] = 2;
    uint32_t xsdt_pa = 0x10 + 36;
    memcpy(rsdp + 16, &xsdt_pa, 4);
    uint32_t l36 = 36;
    memcpy(rsdp + 20, &l36, 4);
    uint64_t xpa = xsdt_pa;
    memcpy(rsdp + 24, &xpa, 8);
    rsdp[8] = (uint8_t)-checksum(rsdp, 20);
    rsdp[32] = (uint8_t)-checksum(rsdp, 36);
    memcpy(x, "XSDT", 4);
    uint32_t xl = (uint32_t)xsdt_len;
    memcpy(x + 4, &xl, 4);
    x[8] = 1;
    size_t at = xsdt_pa + xsdt_len;
    for (unsigned i = 0; i < n; i++) {
        uint64_t pa = 0;
        if (ts[i].ok) {
            memcpy(m.p + at, ts[i].data, ts[i].len);
            pa = at;
            at += ts[i].len;
        }
        memcpy(x + 36 + 8 * i, &pa, 8);
    }
    x[9] = (uint8_t)-checksum(x, xsdt_len);
    int rc = acpi_parse(0x10, fake_map, &m, out, why);
    free(m.p);
    return rc;
}

/* ---- --table: one table's fields, one per line ---- */

static void print_dmar_fields(const struct dmar_info *d)
{
    printf("DMAR width %u flags 0x%02x\n", d->address_width, d->flags);
    for (unsigned i = 0; i < d->unit_count; i++) {
        const struct dmar_unit *u = &d->units[i];
        printf("DRHD @0x%x seg %u all %u base 0x%llx\n", u->offset, u->segment, u->include_pci_all,
               (unsigned long long)u->reg_base);
        for (unsigned k = u->first_scope; k < u->first_scope + u->scope_count; k++) {
            const struct dmar_scope *s = &d->scopes[k];
            printf("scope @0x%x type %u enum %u bus 0x%02x path", s->offset, s->type, s->enumeration_id,
                   s->start_bus);
            for (unsigned h = 0; h < s->path_len; h++)
                printf(" %02x.%x", s->path[h].dev, s->path[h].fn);
            printf("\n");
        }
    }
    for (unsigned i = 0; i < d->rmrr_count; i++) {
        const struct dmar_rmrr *r = &d->rmrrs[i];
        printf("RMRR @0x%x seg %u base 0x%llx limit 0x%llx\n", r->offset, r->segment,
               (unsigned long long)r->base, (unsigned long long)r->limit);
        for (unsigned k = r->first_scope; k < r->first_scope + r->scope_count; k++) {
            const struct dmar_scope *s = &d->scopes[k];
            printf("scope @0x%x type %u enum %u bus 0x%02x path", s->offset, s->type, s->enumeration_id,
                   s->start_bus);
            for (unsigned h = 0; h < s->path_len; h++)
                printf(" %02x.%x", s->path[h].dev, s->path[h].fn);
            printf("\n");
        }
    }
}

static void print_ivrs_fields(const struct ivrs_info *r)
{
    printf("IVRS ivinfo 0x%08x\n", r->ivinfo);
    for (unsigned i = 0; i < r->unit_count; i++) {
        const struct ivrs_unit *u = &r->units[i];
        printf("IVHD @0x%x type 0x%02x flags 0x%02x devid 0x%04x cap 0x%04x base 0x%llx seg %u info 0x%04x "
               "attr 0x%08x efr 0x%llx\n", u->offset, u->type, u->flags, u->devid, u->cap_offset,
               (unsigned long long)u->base, u->segment, u->info, u->attributes, (unsigned long long)u->efr);
        for (unsigned k = u->first_range; k < u->first_range + u->range_count; k++) {
            const struct ivrs_range *g = &r->ranges[k];
            printf("range @0x%x 0x%04x-0x%04x setting 0x%02x", g->offset, g->first, g->last, g->setting);
            if (g->aliased)
                printf(" alias 0x%04x", g->alias);
            printf("\n");
        }
        for (unsigned k = u->first_special; k < u->first_special + u->special_count; k++) {
            const struct ivrs_special *s = &r->special[k];
            printf("special @0x%x handle 0x%02x devid 0x%04x variety %u\n", s->offset, s->handle, s->devid,
                   s->variety);
        }
    }
    for (unsigned i = 0; i < r->memory_count; i++) {
        const struct ivrs_memory *m = &r->memory[i];
        printf("IVMD @0x%x type 0x%02x flags 0x%02x devices 0x%04x-0x%04x start 0x%llx length 0x%llx\n",
               m->offset, m->type, m->flags, m->first, m->last, (unsigned long long)m->start,
               (unsigned long long)m->length);
    }
}

static void print_field_error(const char *path, const char *table, const struct field_error *e)
{
    diag("%s: %s: %s at 0x%x: %s", path, table, e->field ? e->field : "?", e->offset,
           e->what ? e->what : "?");
}

static struct madt_cpus madt;
static struct dmar_info dmar;
static struct ivrs_info ivrs;

/* One table file: 0 parsed, 1 refused (the line says why). */
static int table_mode(const char *path)
{
    struct table t = { 0 };
    if (!load_table(&t, path, NULL)) {
        if (!t.data)
            diag("%s: cannot read", path);
        free(t.data);
        return 1;
    }
    int rc = 0;
    struct field_error err = { 0 };
    if (!memcmp(t.data, "DMAR", 4)) {
        if (dmar_parse(t.data, t.len, &dmar, &err)) {
            print_field_error(path, "DMAR", &err);
            rc = 1;
        } else {
            if (dmar.warnings)
                print_field_error(path, "DMAR warning", &dmar.warning);
            print_dmar_fields(&dmar);
        }
    } else if (!memcmp(t.data, "IVRS", 4)) {
        if (ivrs_parse(t.data, t.len, &ivrs, &err)) {
            print_field_error(path, "IVRS", &err);
            rc = 1;
        } else {
            if (ivrs.warnings)
                print_field_error(path, "IVRS warning", &ivrs.warning);
            print_ivrs_fields(&ivrs);
        }
    } else if (!memcmp(t.data, "APIC", 4)) {
        const char *why = NULL;
        if (madt_cpus_parse(t.data, t.len, &madt, &why)) {
            diag("%s: MADT: %s", path, why);
            rc = 1;
        } else {
            printf("MADT revision %u cpus %u not_present %u\n", madt.revision, madt.count, madt.not_present);
            for (unsigned i = 0; i < madt.count; i++)
                printf("cpu apic %u flags %u\n", madt.apic_id[i], madt.flags[i]);
        }
    } else if (!memcmp(t.data, "MCFG", 4) || !memcmp(t.data, "FACP", 4)) {
        struct acpi_info a;
        const char *why = NULL;
        if (run_acpi_parse(&t, 1, &a, &why) || a.skipped) {
            diag("%s: %s", path, why ? why : "table skipped by acpi_parse");
            rc = 1;
        } else if (!memcmp(t.data, "MCFG", 4)) {
            for (unsigned i = 0; i < a.mcfg_count; i++)
                printf("MCFG seg %u bus 0x%02x-0x%02x base 0x%llx\n", a.mcfg[i].segment, a.mcfg[i].bus_start,
                       a.mcfg[i].bus_end, (unsigned long long)a.mcfg[i].base);
        } else {
            printf("FADT pm1a 0x%x pm1b 0x%x reset 0x%x value 0x%02x\n", a.pm1a_cnt, a.pm1b_cnt, a.reset_port,
                   a.reset_value);
        }
    } else {
        diag("%s: signature: not one of DMAR IVRS APIC MCFG FACP", path);
        rc = 1;
    }
    free(t.data);
    return rc;
}

/* ---- the machine ---- */

enum verdict { V_OK, V_NO, V_UNKNOWN };
struct row {
    enum verdict v;
    char what[64], why[256];
};
static struct row rows[32];
static unsigned nrows;

static void verdict(enum verdict v, const char *what, const char *fmt, ...)
{
    if (nrows == ARRAY_SIZE(rows))
        return;
    struct row *r = &rows[nrows++];
    r->v = v;
    snprintf(r->what, sizeof(r->what), "%s", what);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof(r->why), fmt, ap);
    va_end(ap);
}

/* Lines as the loader prints them ("minihv: " + its text), or kept quiet
 * with --json. */
static void line(const char *fmt, ...)
{
    if (json)
        return;
    va_list ap;
    va_start(ap, fmt);
    printf("minihv: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

struct cpu {
    char vendor[13];
    bool known, vmx, svm, npt, nrips;
    unsigned asids, phys_bits;
    bool page_1g;
    bool msrs;               /* the MSRs below were read */
    bool ept, vpid, unrestricted;
    struct cpu_virt_caps caps; /* as boot/platform.c fills them, for cpu_virt_unusable */
};

/* One MSR of CPU 0 through the msr driver (DIR/dev/cpu/0/msr: the file
 * offset is the MSR index), or in a collected tree DIR/dev/cpu/0/msr.txt
 * ("0xINDEX 0xVALUE" lines, what --collect saves). False when absent. */
static bool read_msr(uint32_t index, uint64_t *v)
{
    char path[4096];
    rooted(path, sizeof(path), "/dev/cpu/0/msr.txt");
    FILE *f = *root ? fopen(path, "r") : NULL;
    if (f) {
        unsigned long long i, val;
        bool found = false;
        while (!found && fscanf(f, "%llx %llx", &i, &val) == 2)
            if (i == index) {
                *v = val;
                found = true;
            }
        fclose(f);
        return found;
    }
    rooted(path, sizeof(path), "/dev/cpu/0/msr");
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return false;
    bool ok = pread(fd, v, 8, index) == 8;
    close(fd);
    return ok;
}

/* The loader's platform_read_virt_caps and read_cpu_features (boot/
 * platform.c) over the msr driver: IA32_FEATURE_CONTROL (SDM 23.7), the
 * VMX capability MSRs (SDM A.3.2/A.3.3: allowed-1 settings in the high
 * dword), VM_CR.SVMDIS (APM 15.30.1). */
static void read_cpu_msrs(struct cpu *c)
{
    c->caps.intel = !strcmp(c->vendor, "GenuineIntel");
    c->caps.amd = !strcmp(c->vendor, "AuthenticAMD");
    c->caps.vmx = c->caps.intel && c->vmx;
    c->caps.svm = c->caps.amd && c->svm;
    c->caps.npt = c->npt;
    uint64_t fc, proc, proc2, vm_cr;
    if (c->caps.vmx && read_msr(0x3a, &fc) && read_msr(0x482, &proc)) {
        c->msrs = true;
        c->caps.vmx_locked_off = (fc & 1) && !(fc & 4);
        if ((proc & (1ull << 63)) && read_msr(0x48b, &proc2)) {
            c->ept = proc2 & (1ull << (32 + 1));
            c->vpid = proc2 & (1ull << (32 + 5));
            c->unrestricted = proc2 & (1ull << (32 + 7));
            c->caps.ept_unrestricted = c->ept && c->unrestricted;
        }
    } else if (c->caps.svm && read_msr(0xc0010114, &vm_cr)) {
        c->msrs = true;
        c->caps.svm_disabled = vm_cr & (1u << 4);
    }
}

/* CPUID on this CPU (SDM vol. 2A CPUID; APM vol. 3 E.4); with --root the
 * saved tree's proc/cpuinfo flags stand in (vendor, vmx/svm, npt). */
static void read_cpu(struct cpu *c)
{
    memset(c, 0, sizeof(*c));
    if (!*root) {
        unsigned a, b, cx, d;
        __cpuid(0, a, b, cx, d);
        memcpy(c->vendor, &b, 4);
        memcpy(c->vendor + 4, &d, 4);
        memcpy(c->vendor + 8, &cx, 4);
        __cpuid(1, a, b, cx, d);
        c->vmx = cx & (1u << 5);
        unsigned max_ext = __get_cpuid_max(0x80000000, NULL);
        if (max_ext >= 0x80000001) {
            __cpuid(0x80000001, a, b, cx, d);
            c->svm = cx & (1u << 2);
            c->page_1g = d & (1u << 26);
        }
        if (max_ext >= 0x80000008) {
            __cpuid(0x80000008, a, b, cx, d);
            c->phys_bits = a & 0xff;
        }
        if (c->svm && max_ext >= 0x8000000a) {
            __cpuid(0x8000000a, a, b, cx, d);
            c->asids = b;
            c->npt = d & 1;
            c->nrips = d & (1u << 3);
        }
        c->known = true;
        return;
    }
    char path[4096];
    size_t n;
    const char *why;
    rooted(path, sizeof(path), "/proc/cpuinfo");
    char *s = (char *)read_file(path, 1u << 22, &n, &why);
    if (!s)
        return;
    s = realloc(s, n + 1);
    s[n] = 0;
    char *v = strstr(s, "vendor_id");
    if (v && (v = strchr(v, ':')))
        sscanf(v + 1, " %12s", c->vendor);
    char *f = strstr(s, "\nflags");
    if (f) {
        char *end = strchr(f + 1, '\n');
        if (end)
            *end = 0;
        c->vmx = strstr(f, " vmx") != NULL;
        c->svm = strstr(f, " svm") != NULL;
        c->npt = strstr(f, " npt") != NULL;
        c->nrips = strstr(f, " nrip_save") != NULL;
        c->page_1g = strstr(f, " pdpe1gb") != NULL;
        c->known = true;
    }
    free(s);
}

static bool exists(const char *rel)
{
    char path[4096];
    struct stat st;
    rooted(path, sizeof(path), rel);
    return !stat(path, &st);
}

/* --cert: is minihv's certificate in db or MokList (tools/preflight_sb.c)? */
static const char *sb_cert;
static void secureboot_enrollment(const char *cert)
{
    struct preflight_sb e;
    if (preflight_sb_check(root, cert, &e)) {
        diag("%s", e.why);
        verdict(V_UNKNOWN, "Secure Boot", "on; --cert: %s", e.why);
        return;
    }
    if (e.why[0])
        diag("%s", e.why);
    line("secureboot: db %s (%u X.509), MokListRT %s (%u X.509): minihv's certificate %s", e.in_db < 0 ? "unreadable" : "read",
         e.db_x509, e.in_mok < 0 ? "absent" : "read", e.mok_x509,
         e.in_db == 1 ? "in db" : e.in_mok == 1 ? "in MokList" : "in neither");
    if (e.in_db == 1 || e.in_mok == 1)
        verdict(V_OK, "Secure Boot", "on; minihv's certificate is in %s", e.in_db == 1 ? "db" : "MokList (boot the SHIM=1 stick)");
    else
        verdict(V_NO, "Secure Boot", "on; minihv's certificate is in neither db nor MokList: `make image SHIM=1` and "
                "enroll minihv.cer in MokManager (README: Secure Boot)");
}

/* SecureBoot-8be4df61-...: 4 bytes of attributes, then the value. */
static int secure_boot(void)
{
    char path[4096];
    size_t n;
    const char *why;
    rooted(path, sizeof(path), "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c");
    uint8_t *b = read_file(path, 64, &n, &why);
    if (!b)
        return -1;
    int on = n == 5 ? b[4] == 1 : -1;
    if (n != 5)
        diag("%s: value: %zu bytes, not 4 of attributes and 1 of value", path, n);
    free(b);
    return on;
}


/* ---- PCI from sysfs ----
 * boot/pci.c's pci_scan runs over a config space made of the saved files:
 * devices/SSSS:BB:DD.F/config (256 or 4096 bytes; 64 without root) and
 * `resource` (start end flags per line: BAR0-5, ROM). A BAR sizing write
 * of all-ones reads back the mask the resource's size gives (PCI 3.0
 * 6.2.5.1), so the loader's own walk and sizing print the same lines. */
#define SYS_PCI_MAX 256
struct sys_pci {
    uint8_t bus, dev, fn;
    uint8_t cfg[4096];
    size_t cfg_len;
    uint64_t res_size[7];
    bool probing[0x40 / 4]; /* a dword written with the sizing pattern */
};
static struct sys_pci sys_pci[SYS_PCI_MAX];
static unsigned sys_pci_count;

static struct sys_pci *sys_pci_find(uint8_t bus, uint8_t dev, uint8_t fn)
{
    for (unsigned i = 0; i < sys_pci_count; i++)
        if (sys_pci[i].bus == bus && sys_pci[i].dev == dev && sys_pci[i].fn == fn)
            return &sys_pci[i];
    return NULL;
}

/* The sizing read of the dword at `off` (a BAR or the ROM BAR). */
static uint32_t sys_pci_mask(const struct sys_pci *d, uint16_t off)
{
    uint8_t type = d->cfg[0x0e] & 0x7f;
    uint16_t rom = type == 0 ? 0x30 : 0x38;
    if (off == rom)
        return d->res_size[6] ? (uint32_t)~(d->res_size[6] - 1) & 0xfffff800u : 0;
    unsigned want = (off - 0x10) / 4, nbars = type == 0 ? 6 : 2;
    /* Walk the BARs in order: a 64-bit memory BAR's upper dword reads the
     * upper half of its mask. */
    for (unsigned i = 0; i < nbars && i <= want; i++) {
        uint32_t lo = le32(d->cfg + 0x10 + 4 * i);
        bool is64 = !(lo & 1) && (lo & 6) == 4 && i + 1 < nbars;
        if (is64 && want == i + 1)
            return d->res_size[i] ? (uint32_t)(~(d->res_size[i] - 1) >> 32) : 0;
        if (is64)
            i++;
    }
    if (want >= nbars)
        return le32(d->cfg + off);
    unsigned i = want;
    uint32_t lo = le32(d->cfg + off);
    uint64_t size = d->res_size[i];
    if (!size)
        return 0;
    if (lo & 1)
        return ((uint32_t)~(size - 1) & ~3u) | (lo & 3);
    return ((uint32_t)~(size - 1) & ~0xfu) | (lo & 0xf);
}

static uint32_t sys_pci_read32(void *opaque, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
    (void)opaque;
    struct sys_pci *d = sys_pci_find(bus, dev, fn);
    if (!d || off + 4u > d->cfg_len)
        return 0xffffffff;
    if (off < 0x40 && d->probing[off / 4])
        return sys_pci_mask(d, off);
    return le32(d->cfg + off);
}

static void sys_pci_write32(void *opaque, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, uint32_t v)
{
    (void)opaque;
    struct sys_pci *d = sys_pci_find(bus, dev, fn);
    if (!d || off >= 0x40 || off < 0x10)
        return; /* the command register: decode stays as saved */
    d->probing[off / 4] = v == 0xffffffff || v == 0xfffff800;
}

/* Loads segment 0's functions; other segments are counted and left out
 * (the loader scans segment 0 too). */
static void sys_pci_load(void)
{
    char dir[4096];
    rooted(dir, sizeof(dir), "/sys/bus/pci/devices");
    DIR *dp = opendir(dir);
    if (!dp)
        return;
    struct dirent *e;
    unsigned other_seg = 0;
    while ((e = readdir(dp))) {
        unsigned seg, bus, dev, fn;
        char tail;
        if (sscanf(e->d_name, "%4x:%2x:%2x.%1x%c", &seg, &bus, &dev, &fn, &tail) != 4 || dev > 31 || fn > 7)
            continue;
        if (seg) {
            other_seg++;
            continue;
        }
        if (sys_pci_count == SYS_PCI_MAX) {
            diag("%s: more than %u functions: the rest left out", dir, SYS_PCI_MAX);
            break;
        }
        char path[4096 + 300];
        size_t n;
        const char *why;
        snprintf(path, sizeof(path), "%s/%s/config", dir, e->d_name);
        uint8_t *cfg = read_file(path, 4096, &n, &why);
        if (!cfg || n < 64) {
            diag("%s: %s", path, cfg ? "size: below the 64-byte header" : why);
            free(cfg);
            continue;
        }
        struct sys_pci *d = &sys_pci[sys_pci_count++];
        memset(d, 0, sizeof(*d));
        d->bus = (uint8_t)bus;
        d->dev = (uint8_t)dev;
        d->fn = (uint8_t)fn;
        d->cfg_len = MIN(n, sizeof(d->cfg));
        memcpy(d->cfg, cfg, d->cfg_len);
        free(cfg);
        if (n < 256)
            diag("%s: size: %zu bytes, capabilities not readable (run as root)", path, n);
        snprintf(path, sizeof(path), "%s/%s/resource", dir, e->d_name);
        char *res = (char *)read_file(path, 1u << 16, &n, &why);
        if (!res) {
            diag("%s: %s", path, why);
            continue;
        }
        res = realloc(res, n + 1);
        res[n] = 0;
        char *ln = res;
        for (unsigned i = 0; i < 7 && ln && *ln; i++) {
            unsigned long long start, end, flags;
            if (sscanf(ln, "%llx %llx %llx", &start, &end, &flags) != 3) {
                diag("%s: line %u: not \"start end flags\"", path, i + 1);
                break;
            }
            d->res_size[i] = end > start ? end - start + 1 : 0;
            ln = strchr(ln, '\n');
            if (ln)
                ln++;
        }
        free(res);
    }
    closedir(dp);
    if (other_seg)
        diag("%s: %u functions in segments other than 0: not listed (the loader scans segment 0)", dir, other_seg);
}

static struct pci_dev_info pci_devs[PCI_MAX_DEVICES];
static unsigned pci_count;

/* `candidate`: "igd", "BB:DD.F" or NULL. Index of the candidate, or -1. */
static int report_pci(bool ecam, const char *candidate)
{
    sys_pci_load();
    struct pci_access pa = { sys_pci_read32, sys_pci_write32, NULL };
    unsigned n = pci_count = pci_scan(&pa, pci_devs, PCI_MAX_DEVICES);
    unsigned cb = 0, cd = 0, cf = 0;
    bool want_igd = candidate && !strcmp(candidate, "igd");
    bool want_bdf = candidate && !want_igd && sscanf(candidate, "%2x:%2x.%1x", &cb, &cd, &cf) == 3;
    if (candidate && !want_igd && !want_bdf)
        diag("--candidate %s: not igd or BB:DD.F", candidate);
    int found = -1;
    line("pci: %u devices via %s", n, ecam ? "ECAM (MCFG)" : "CF8/CFC");
    for (unsigned i = 0; i < n; i++) {
        const struct pci_dev_info *d = &pci_devs[i];
        bool pt = found < 0 &&
                  ((want_igd && !d->bus && d->dev == 2 && !d->fn && d->vendor == 0x8086 && d->class_code >> 8 == 0x0300) ||
                   (want_bdf && d->bus == cb && d->dev == cd && d->fn == cf));
        if (pt)
            found = (int)i;
        pci_report_device(d, pt, line);
    }
    if (n < sys_pci_count)
        diag("pci: %u of %u functions are on no bus reachable from bus 0 through bridges", sys_pci_count - n,
             sys_pci_count);
    return found;
}

/* ---- IGD: the device table, stolen memory, the OpRegion and its VBT
 * through drivers/igd (the loader's parsers). The OpRegion comes from
 * i915's debugfs i915_opregion when there, else from /dev/mem at ASLS (a
 * sparse file in a saved tree); the VBT from the OpRegion, else i915_vbt. */
#define OPREGION_MAX (1u << 20) /* boot/passthrough.c's PT_OPREGION_MAX */

static uint8_t *read_devmem(uint64_t pa, size_t len)
{
    char path[4096];
    rooted(path, sizeof(path), "/dev/mem");
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    uint8_t *b = malloc(len);
    if (pread(fd, b, len, (off_t)pa) != (ssize_t)len) {
        free(b);
        b = NULL;
        /* Linux's read() of /dev/mem stops at the end of RAM (x86
         * valid_phys_addr_range): registers above it (an IOMMU's) only
         * through mmap, read 4 bytes at a time as MMIO wants. */
        uint64_t page = pa & ~0xfffull;
        size_t span = (size_t)(pa - page) + len;
        void *m = !*root && !(pa & 3) && !(len & 3) ? mmap(NULL, span, PROT_READ, MAP_SHARED, fd, (off_t)page)
                                                    : MAP_FAILED;
        if (m != MAP_FAILED) {
            b = malloc(len);
            const volatile uint32_t *src = (const volatile uint32_t *)((uint8_t *)m + (pa - page));
            for (size_t i = 0; i < len / 4; i++) {
                uint32_t v = src[i];
                memcpy(b + 4 * i, &v, 4);
            }
            munmap(m, span);
        }
    }
    close(fd);
    return b;
}

static struct igd_vbt_summary vbt_sum;

static void report_igd(const struct pci_dev_info *d)
{
    const struct sys_pci *sp = sys_pci_find(d->bus, d->dev, d->fn);
    const struct igd_device *dev = igd_device_lookup(d->device);
    struct field_error err = { 0 };
    if (!dev) {
        verdict(V_NO, "IGD", "%04x:%04x is not in minihv's device table (drivers/igd/devices.c)", d->vendor, d->device);
        return;
    }
    if (!sp || sp->cfg_len < 256) {
        verdict(V_UNKNOWN, "IGD", "%s (gen %u): its config space past 64 bytes needs root", dev->platform, dev->gen);
        return;
    }
    struct igd_stolen st;
    if (igd_stolen_from_config(sp->cfg, sp->cfg_len, &st, &err))
        diag("00:02.0 config: %s at 0x%x: %s", err.field, err.offset, err.what);
    else
        line("igd: %s (gen %u), stolen memory %llu MiB at 0x%llx", dev->platform, dev->gen,
             (unsigned long long)(st.size >> 20), (unsigned long long)st.base);

    uint32_t asls = le32(sp->cfg + IGD_PCI_ASLS);
    char path[4096];
    size_t len = 0;
    const char *why;
    rooted(path, sizeof(path), "/sys/kernel/debug/dri/0/i915_opregion");
    uint8_t *op = read_file(path, OPREGION_MAX, &len, &why);
    const char *src = "debugfs i915_opregion";
    if (!op && asls && asls != 0xffffffff && (op = read_devmem(asls, IGD_OPREGION_SIZE))) {
        /* Bounded as boot/passthrough.c's host_opregion: its size, and
         * (2.1+) a relative extended VBT; at most 1 MiB. */
        uint64_t need = (uint64_t)le32(op + IGD_OPREGION_SIZE_OFF) * 1024;
        uint16_t version = le16(op + IGD_OPREGION_VERSION_OFF);
        if (version >= 0x0201 && (le32(op + IGD_OPREGION_MBOXES_OFF) & IGD_MBOX_ASLE)) {
            uint64_t rvda = le64(op + IGD_OPREGION_RVDA_OFF), rvds = le32(op + IGD_OPREGION_RVDS_OFF);
            if (rvda && rvds)
                need = rvda <= OPREGION_MAX && rvds <= OPREGION_MAX ? MAX(need, rvda + rvds) : UINT64_MAX;
        }
        len = IGD_OPREGION_SIZE;
        src = "/dev/mem";
        if (need > OPREGION_MAX) {
            diag("OpRegion at ASLS 0x%x: size/asle.rvda: more than 1 MiB", asls);
            free(op);
            op = NULL;
        } else if (need > IGD_OPREGION_SIZE) {
            free(op);
            op = read_devmem(asls, need);
            len = need;
        }
    }
    if (!op) {
        verdict(V_UNKNOWN, "IGD OpRegion", "ASLS 0x%x: neither debugfs i915_opregion nor /dev/mem readable (root, "
                "iomem=relaxed or debugfs mounted)", asls);
        return;
    }
    struct igd_opregion_info info;
    if (igd_opregion_parse(op, len, asls, &info, &err)) {
        diag("OpRegion (%s): %s at 0x%x: %s", src, err.field, err.offset, err.what);
        verdict(V_NO, "IGD OpRegion", "rejected: %s: %s; the guest's i915 would get none", err.field, err.what);
        free(op);
        return;
    }
    line("passthrough: host OpRegion %u.%u at ASLS 0x%x: %u KiB, mailboxes 0x%x, VBT %u bytes %s", info.version >> 8,
         info.version & 0xff, asls, info.size >> 10, info.mboxes, info.vbt_where ? info.vbt_len : 0,
         igd_vbt_where_name(info.vbt_where));
    int vrc = -1;
    if (info.vbt_where == IGD_VBT_MAILBOX4 || info.vbt_where == IGD_VBT_RVDA_RELATIVE)
        vrc = igd_vbt_parse(op + info.vbt_offset, info.vbt_len, &vbt_sum, &err);
    free(op);
    if (vrc < 0 && info.vbt_where) {
        size_t vlen;
        rooted(path, sizeof(path), "/sys/kernel/debug/dri/0/i915_vbt");
        uint8_t *v = read_file(path, OPREGION_MAX, &vlen, &why);
        if (v)
            vrc = igd_vbt_parse(v, vlen, &vbt_sum, &err);
        free(v);
    }
    if (vrc == 0)
        line("igd: VBT version %u, BDB version %u, %u child devices, panel type %d", vbt_sum.vbt_version,
             vbt_sum.bdb_version, vbt_sum.nchildren, vbt_sum.panel_type);
    else if (info.vbt_where)
        diag("VBT: %s at 0x%x: %s", err.field ? err.field : "?", err.offset, err.what ? err.what : "unreadable");
    verdict(info.vbt_where && vrc ? V_NO : V_OK, "IGD OpRegion", "OpRegion %u.%u, %s VBT %u bytes%s",
            info.version >> 8, info.version & 0xff,
            info.vbt_where == IGD_VBT_MAILBOX4 ? "mailbox 4" : info.vbt_where ? "extended" : "no",
            info.vbt_where ? info.vbt_len : 0,
            !info.vbt_where ? ": set `vbt =` in minihv.cfg for the guest's display" :
            vrc ? ": it does not parse; set `vbt =` in minihv.cfg" :
            info.vbt_where == IGD_VBT_RVDA_ABSOLUTE ? ": copied after the OpRegion, the guest's says 2.1" :
            ": passed to the guest as is");
    verdict(V_OK, "IGD", "%s (gen %u) %04x:%04x", dev->platform, dev->gen, d->vendor, d->device);
}

/* The end of memory the core's identity map (and so the IOMMU domain)
 * will cover: the highest end in the firmware memory map Linux keeps
 * (/sys/firmware/memmap/N/end, inclusive) and of any PCI BAR. 0: unknown. */
static uint64_t memory_top(void)
{
    char dir[4096];
    rooted(dir, sizeof(dir), "/sys/firmware/memmap");
    DIR *dp = opendir(dir);
    uint64_t top = 0;
    for (struct dirent *e; dp && (e = readdir(dp));) {
        if (e->d_name[0] == '.' || strlen(e->d_name) > 16)
            continue;
        char path[4096 + 64];
        snprintf(path, sizeof(path), "%s/%.16s/end", dir, e->d_name);
        size_t n;
        const char *why;
        char *b = (char *)read_file(path, 64, &n, &why);
        if (!b)
            continue;
        b = realloc(b, n + 1);
        b[n] = 0;
        unsigned long long end;
        if (sscanf(b, "%llx", &end) == 1 && end + 1 > top)
            top = end + 1;
        free(b);
    }
    if (dp)
        closedir(dp);
    for (unsigned i = 0; top && i < pci_count; i++)
        for (unsigned b = 0; b < 6; b++) {
            const struct pci_bar_info *bar = &pci_devs[i].bars[b];
            if (!bar->io && bar->size && bar->addr + bar->size > top)
                top = bar->addr + bar->size;
        }
    return top;
}

static uint8_t *devmem_chunk(uint64_t pa, size_t len)
{
    return read_devmem(pa, len);
}

/* The provider's probe on this machine's registers; a verdict either way. */
static void probe_iommu(bool amd, const struct table *t)
{
    const char *what = amd ? "IOMMU provider (AMD-Vi)" : "IOMMU provider (VT-d)";
    uint64_t top = memory_top();
    if (!top) {
        verdict(V_UNKNOWN, what, "no /sys/firmware/memmap: the top of memory is unknown, the probe not run");
        return;
    }
    struct preflight_iommu_io io = { devmem_chunk, line };
    struct field_error err = { 0 };
    int rc = preflight_iommu_probe(amd, t->data, t->len, top, &io, &err);
    if (!rc) {
        verdict(V_OK, what, "the core's %s provider accepts the units", amd ? "amdvi" : "vtd");
        return;
    }
    char msg[256];
    iommu_format_error(msg, sizeof(msg), &err);
    diag("iommu: %s: probe failed: %s", amd ? "amdvi" : "vtd", msg);
    if (err.field && !strcmp(err.field, amd ? "IVHD.base_address" : "DRHD.register_base"))
        verdict(V_UNKNOWN, what, "the registers are not readable through /dev/mem (root; iomem=relaxed; under "
                "minihv the core hides them from the guest)");
    else if (err.field && (!strcmp(err.field, "CAP") || !strcmp(err.field, "EFR")))
        verdict(V_UNKNOWN, what, "%s (under minihv the core hides the registers from the guest)", msg);
    else
        verdict(V_NO, what, "%s: minihv would fall back to `iommu = none` (device DMA not contained)", msg);
}

/* The ROM BAR's image through sysfs `rom` (Linux: write 1 to enable the
 * read, 0 after; a saved tree holds the image itself). NULL: none. */
static uint8_t *read_sysfs_rom(const struct pci_dev_info *d, size_t *len)
{
    char path[4096];
    char rel[96];
    snprintf(rel, sizeof(rel), "/sys/bus/pci/devices/0000:%02x:%02x.%x/rom", d->bus, d->dev, d->fn);
    rooted(path, sizeof(path), rel);
    bool live = !*root;
    if (live) {
        FILE *f = fopen(path, "w");
        if (!f || fputs("1", f) < 0 || fclose(f))
            return NULL;
    }
    const char *why;
    uint8_t *b = read_file(path, 16u << 20, len, &why);
    if (live) {
        FILE *f = fopen(path, "w");
        if (f) {
            fputs("0", f);
            fclose(f);
        }
    }
    return b;
}

static void report_rom(const struct pci_dev_info *d, bool igd)
{
    size_t rom_len = 0;
    uint8_t *shadow = igd ? read_devmem(IGD_ROM_SHADOW_BASE, IGD_ROM_SHADOW_REGION) : NULL;
    uint8_t *rom = read_sysfs_rom(d, &rom_len);
    preflight_rom_report(d, igd, shadow, IGD_ROM_SHADOW_REGION, rom, rom_len, line, diag);
    free(shadow);
    free(rom);
}

static const char *candidate;

static int machine_mode(void)
{
    nrows = nnotes = sys_pci_count = 0;
    static const char *sigs[] = { "APIC", "MCFG", "FACP", "DMAR", "IVRS" };
    struct table ts[ARRAY_SIZE(sigs)];
    memset(ts, 0, sizeof(ts));
    for (unsigned i = 0; i < ARRAY_SIZE(sigs); i++) {
        char rel[64], path[4096];
        snprintf(rel, sizeof(rel), "/sys/firmware/acpi/tables/%s", sigs[i]);
        rooted(path, sizeof(path), rel);
        ts[i].sig = sigs[i];
        load_table(&ts[i], path, sigs[i]);
    }
    /* Under minihv the OS finds DMAR/IVRS renamed XMAR/XVRS (boot/iommu.c,
     * as Xen hides DMAR from dom0): read the firmware's table there, with
     * its own signature back (and the checksum byte moved to match). */
    static const char *hidden[2][2] = { { "DMAR", "XMAR" }, { "IVRS", "XVRS" } };
    for (unsigned h = 0; h < 2; h++) {
        struct table *t = &ts[3 + h];
        char rel[64], path[4096];
        snprintf(rel, sizeof(rel), "/sys/firmware/acpi/tables/%s", hidden[h][1]);
        rooted(path, sizeof(path), rel);
        if (t->ok)
            continue;
        free(t->data); /* what the failed load of the real name read, if anything */
        t->data = NULL;
        if (!load_table(t, path, hidden[h][1]))
            continue;
        t->data[9] = (uint8_t)(t->data[9] - (hidden[h][0][0] - hidden[h][1][0]));
        t->data[0] = (uint8_t)hidden[h][0][0];
        diag("%s: read as %s: minihv (running now) hid it from this OS", path, hidden[h][0]);
    }

    bool uefi = exists("/sys/firmware/efi");
    int sb = uefi ? secure_boot() : -1;
    line("firmware: %s boot%s", uefi ? "UEFI" : "legacy (BIOS)",
         !uefi ? "" : sb == 1 ? ", Secure Boot on" : sb == 0 ? ", Secure Boot off" : ", Secure Boot unknown");
    if (!uefi)
        verdict(V_NO, "UEFI boot", "the Linux here booted through legacy BIOS: minihv is a UEFI application; "
                "switch the firmware to UEFI boot");
    else
        verdict(V_OK, "UEFI boot", "booted through UEFI");
    if (sb == 1 && !sb_cert)
        verdict(V_NO, "Secure Boot", "Secure Boot on: minihv is unsigned as built: `make image` signs it, then enroll "
                "minihv.cer (README: Secure Boot) and check with --cert minihv.cer; or turn Secure Boot off");
    else if (sb == 1)
        secureboot_enrollment(sb_cert);
    else if (sb == 0)
        verdict(V_OK, "Secure Boot", "off");
    else if (uefi)
        verdict(V_UNKNOWN, "Secure Boot", "no SecureBoot variable in efivars (mount efivarfs, run as root)");

    struct acpi_info a;
    const char *why = NULL;
    int acpi_rc = run_acpi_parse(ts, ARRAY_SIZE(ts), &a, &why);
    if (acpi_rc) {
        diag("ACPI tables: %s", why);
        verdict(V_NO, "ACPI", "%s", why);
    } else {
        line("acpi: MADT %s (%u CPUs), MCFG %u segment(s), DMAR %s, IVRS %s", a.has_madt ? "present" : "absent",
             a.madt_cpus, a.mcfg_count, a.has_dmar ? "present" : "absent", a.has_ivrs ? "present" : "absent");
        for (unsigned i = 0; i < a.mcfg_count; i++)
            line("acpi:   MCFG segment %u buses %02x-%02x ECAM at 0x%lx", a.mcfg[i].segment, a.mcfg[i].bus_start,
                 a.mcfg[i].bus_end, (unsigned long)a.mcfg[i].base);
        verdict(a.has_madt ? V_OK : V_NO, "ACPI MADT", a.has_madt ? "%u CPUs listed" : "no MADT: the loader "
                "cannot check the CPUs the firmware runs", a.madt_cpus);
        verdict(a.mcfg_count ? V_OK : V_UNKNOWN, "PCI ECAM (MCFG)", a.mcfg_count ? "%u segment(s)" :
                "no usable MCFG: the loader falls back to CF8/CFC (no extended config space)", a.mcfg_count);
    }

    if (ts[0].ok) {
        if (madt_cpus_parse(ts[0].data, ts[0].len, &madt, &why)) {
            line("cpus: MADT at 0x0 unusable: %s", why);
            verdict(V_NO, "CPUs", "MADT unusable: %s", why);
        } else {
            line("cpus: MADT revision %u lists %u present or online-capable, %u not present", madt.revision,
                 madt.count, madt.not_present);
            if (madt.count > MINIHV_MAX_CPUS)
                verdict(V_NO, "CPUs", "the MADT lists %u CPUs, the core takes at most %u: the loader refuses "
                        "(fail closed); disable CPUs in the firmware setup or rebuild with a larger "
                        "MINIHV_MAX_CPUS", madt.count, MINIHV_MAX_CPUS);
            else
                verdict(V_OK, "CPUs", "%u listed, the core takes up to %u", madt.count, MINIHV_MAX_CPUS);
        }
    } else {
        line("cpus: no MADT to check the MP services list against");
    }

    struct cpu c;
    read_cpu(&c);
    read_cpu_msrs(&c);
    const char *unusable = c.msrs ? cpu_virt_unusable(&c.caps) : NULL;
    if (!c.known) {
        verdict(V_UNKNOWN, "CPU virtualization", "no CPUID (and no proc/cpuinfo in the tree)");
    } else if (c.vmx) {
        if (c.msrs)
            line("cpus: %s with VMX: EPT %s, unrestricted guest %s, VPID %s", c.vendor, c.ept ? "yes" : "no",
                 c.unrestricted ? "yes" : "no", c.vpid ? "yes" : "no");
        else
            line("cpus: %s with VMX", c.vendor);
        if (!c.msrs)
            verdict(V_UNKNOWN, "CPU virtualization", "VT-x listed by CPUID; EPT, unrestricted guest and the "
                    "firmware's lock need /dev/cpu/0/msr: run as root after `modprobe msr`");
        else if (*unusable)
            verdict(V_NO, "CPU virtualization", "%s%s", unusable, c.caps.vmx_locked_off ?
                    ": enable VT-x (Intel Virtualization Technology) in the firmware setup" : "");
        else
            verdict(V_OK, "CPU virtualization", "VT-x with EPT and unrestricted guest%s", c.vpid ? ", VPID" : "");
    } else if (c.svm) {
        if (!*root)
            line("cpus: %s with SVM: NPT %s, %u ASIDs, next-RIP save %s", c.vendor, c.npt ? "yes" : "no", c.asids,
                 c.nrips ? "yes" : "no");
        else
            line("cpus: %s with SVM: NPT %s, next-RIP save %s", c.vendor, c.npt ? "yes" : "no",
                 c.nrips ? "yes" : "no");
        if (unusable && *unusable)
            verdict(V_NO, "CPU virtualization", "%s%s", unusable, c.caps.svm_disabled ?
                    ": enable SVM Mode (AMD-V) in the firmware setup" : "");
        else if (!c.npt)
            verdict(V_NO, "CPU virtualization", "AMD-V without nested paging: the core needs NPT");
        else
            verdict(c.msrs ? V_OK : V_UNKNOWN, "CPU virtualization", c.msrs ? "AMD-V with NPT" :
                    "AMD-V with NPT; VM_CR.SVMDIS needs /dev/cpu/0/msr: run as root after `modprobe msr`");
    } else {
        line("cpus: %s without VMX or SVM", c.vendor[0] ? c.vendor : "(unknown)");
        verdict(V_NO, "CPU virtualization", "CPUID lists neither VMX nor SVM: enable VT-x / AMD-V (SVM) in the "
                "firmware setup (under Linux in a VM: the host must offer nested virtualization)");
    }

    bool ecam = false;
    for (unsigned i = 0; !acpi_rc && i < a.mcfg_count; i++)
        ecam |= a.mcfg[i].segment == 0 && a.mcfg[i].bus_start == 0;
    int pt = report_pci(ecam, candidate);
    for (unsigned i = 0; i < pci_count; i++)
        if (!pci_devs[i].bus && pci_devs[i].dev == 2 && !pci_devs[i].fn && pci_devs[i].vendor == 0x8086 &&
            pci_devs[i].class_code >> 8 == 0x0300)
            report_igd(&pci_devs[i]);
    if (candidate && pt < 0)
        verdict(V_NO, "passthrough", "%s: no such PCI function here", candidate);
    else if (candidate) {
        const struct pci_dev_info *d = &pci_devs[pt];
        const struct sys_pci *sp = sys_pci_find(d->bus, d->dev, d->fn);
        bool igd = !strcmp(candidate, "igd");
        int model = sp ? preflight_vfio_report(d, sp->cfg, sp->cfg_len, igd ? MINIHV_PT_IGD : 0,
                                               acpi_rc ? NULL : a.mcfg, acpi_rc ? 0 : a.mcfg_count, line, diag)
                       : -1;
        if (model == 0)
            report_rom(d, igd);
        if (model < 0)
            verdict(V_NO, "passthrough", "%02x:%02x.%x %04x:%04x: the core's vfio model refuses it (see above)",
                    d->bus, d->dev, d->fn, d->vendor, d->device);
        else
            verdict(V_OK, "passthrough", "%02x:%02x.%x %04x:%04x (%s)%s, %u vfio regions", d->bus, d->dev, d->fn,
                    d->vendor, d->device, pci_class_name(d->class_code),
                    d->msix_cap ? ", MSI-X" : d->msi_cap ? ", MSI" : "", preflight_vfio_regions());
    }

    /* IOMMU: the provider's parser on the firmware's table. */
    struct field_error err = { 0 };
    bool iommu_ok = false;
    if (ts[3].ok) {
        if (dmar_parse(ts[3].data, ts[3].len, &dmar, &err)) {
            print_field_error(ts[3].path, "DMAR", &err);
            verdict(V_NO, "IOMMU (VT-d)", "DMAR refused: %s: %s", err.field, err.what);
        } else {
            if (dmar.warnings)
                print_field_error(ts[3].path, "DMAR warning", &dmar.warning);
            line("iommu: DMAR: %u-bit, %u remapping unit(s), %u RMRR(s), %u device scope(s)",
                 dmar.address_width, dmar.unit_count, dmar.rmrr_count, dmar.scope_count);
            for (unsigned i = 0; i < dmar.unit_count; i++)
                line("iommu:   DRHD %u segment %u registers at 0x%llx%s", i, dmar.units[i].segment,
                     (unsigned long long)dmar.units[i].reg_base, dmar.units[i].include_pci_all ?
                     " (INCLUDE_PCI_ALL)" : "");
            verdict(dmar.unit_count ? V_OK : V_NO, "IOMMU (VT-d)", "%u unit(s), %u RMRR(s)%s", dmar.unit_count,
                    dmar.rmrr_count, dmar.warnings ? " (firmware bugs skipped, see above)" : "");
            iommu_ok = dmar.unit_count > 0;
            if (iommu_ok)
                probe_iommu(false, &ts[3]);
        }
    }
    if (ts[4].ok) {
        if (ivrs_parse(ts[4].data, ts[4].len, &ivrs, &err)) {
            print_field_error(ts[4].path, "IVRS", &err);
            verdict(V_NO, "IOMMU (AMD-Vi)", "IVRS refused: %s: %s", err.field, err.what);
        } else {
            if (ivrs.warnings)
                print_field_error(ts[4].path, "IVRS warning", &ivrs.warning);
            line("iommu: IVRS: %u IVHD(s), %u device range(s), %u IVMD(s)", ivrs.unit_count, ivrs.range_count,
                 ivrs.memory_count);
            for (unsigned i = 0; i < ivrs.unit_count; i++)
                line("iommu:   IVHD %u type %02xh device %04x segment %u registers at 0x%llx%s", i,
                     ivrs.units[i].type, ivrs.units[i].devid, ivrs.units[i].segment,
                     (unsigned long long)ivrs.units[i].base, ivrs.units[i].superseded ? " (superseded)" : "");
            verdict(ivrs.unit_count ? V_OK : V_NO, "IOMMU (AMD-Vi)", "%u IVHD(s), %u IVMD(s)%s", ivrs.unit_count,
                    ivrs.memory_count, ivrs.warnings ? " (firmware bugs fixed up, see above)" : "");
            iommu_ok = iommu_ok || ivrs.unit_count > 0;
            if (ivrs.unit_count)
                probe_iommu(true, &ts[4]);
        }
    }
    /* Whether Linux drives the IOMMU now (intel_iommu=on, amd_iommu): one
     * sysfs entry per unit. Not a condition: minihv runs before the OS. */
    char iommu_dir[4096];
    rooted(iommu_dir, sizeof(iommu_dir), "/sys/class/iommu");
    DIR *idp = opendir(iommu_dir);
    unsigned kernel_units = 0;
    for (struct dirent *e; idp && (e = readdir(idp));)
        kernel_units += e->d_name[0] != '.';
    if (idp)
        closedir(idp);
    if (ts[3].ok || ts[4].ok)
        diag("%s: the running kernel drives %u IOMMU unit(s)%s", iommu_dir, kernel_units,
             kernel_units ? "" : " (off in Linux, or not enabled on its command line)");
    if (!ts[3].ok && !ts[4].ok)
        verdict(V_NO, "IOMMU", "no DMAR or IVRS: enable VT-d / AMD IOMMU in the firmware setup; without it "
                "`iommu = none` and device DMA is NOT contained");

    /* The verdict table and the config. */
    bool fail = false;
    if (json) {
        printf("{\"verdicts\":[");
        for (unsigned i = 0; i < nrows; i++) {
            printf("%s{\"what\":", i ? "," : "");
            json_string(rows[i].what);
            printf(",\"result\":\"%s\",\"why\":", rows[i].v == V_OK ? "ok" : rows[i].v == V_NO ? "no" : "unknown");
            json_string(rows[i].why);
            printf("}");
        }
        printf("],\"notes\":[");
        for (unsigned i = 0; i < nnotes; i++) {
            printf("%s", i ? "," : "");
            json_string(notes[i]);
        }
        printf("],\"iommu\":\"%s\"}\n", iommu_ok ? "auto" : "none");
    } else {
        printf("\npreflight: verdict\n");
        for (unsigned i = 0; i < nrows; i++)
            printf("  %s  %-20s %s\n", rows[i].v == V_OK ? "✓" : rows[i].v == V_NO ? "✗" : "?", rows[i].what,
                   rows[i].why);
        printf("\npreflight: suggested minihv.cfg\n");
        printf("  passthrough = %s\n", candidate ? candidate : "none    # or igd, or a PCI address BB:DD.F");
        printf("  iommu = %s\n", iommu_ok ? "auto" : "none");
        printf("  serial = 0x3f8\n");
    }
    for (unsigned i = 0; i < nrows; i++)
        fail |= rows[i].v == V_NO;
    for (unsigned i = 0; i < ARRAY_SIZE(ts); i++)
        free(ts[i].data);
    return fail ? 1 : 0;
}


/* ---- --collect OUT.tar: the files preflight reads, as a ustar archive
 * (POSIX.1-1988) that --root replays after `tar xf`. ---- */
static bool tar_header(FILE *out, const char *name, size_t size, char type)
{
    uint8_t h[512] = { 0 };
    size_t nl = strlen(name);
    if (nl > 100) {
        const char *cut = strchr(name + nl - 100, '/');
        if (!cut || cut - name > 155)
            return false;
        memcpy(h + 345, name, (size_t)(cut - name)); /* prefix */
        name = cut + 1;
    }
    memcpy(h, name, strlen(name));
    snprintf((char *)h + 100, 8, "%07o", type == '5' ? 0755 : 0644);
    snprintf((char *)h + 108, 8, "%07o", 0);
    snprintf((char *)h + 116, 8, "%07o", 0);
    snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)size);
    snprintf((char *)h + 136, 12, "%011o", 0);
    memset(h + 148, ' ', 8);
    h[156] = (uint8_t)type;
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    unsigned sum = 0;
    for (unsigned i = 0; i < 512; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    return fwrite(h, 1, 512, out) == 512;
}

static unsigned collected;

static void tar_file(FILE *out, const char *rel, size_t max)
{
    char path[4096];
    size_t n;
    const char *why;
    rooted(path, sizeof(path), rel);
    uint8_t *b = read_file(path, max, &n, &why);
    if (!b) {
        if (strcmp(why, "absent"))
            diag("%s: %s: not collected", path, why);
        return;
    }
    static const uint8_t zero[512];
    if (tar_header(out, rel + 1, n, '0') && fwrite(b, 1, n, out) == n &&
        fwrite(zero, 1, (512 - n % 512) % 512, out) == (512 - n % 512) % 512)
        collected++;
    free(b);
}

static int collect(const char *out_path)
{
    FILE *out = fopen(out_path, "wb");
    if (!out) {
        fprintf(stderr, "preflight: %s: %s\n", out_path, strerror(errno));
        return 2;
    }
    static const char *files[] = {
        "/proc/cpuinfo", "/sys/firmware/acpi/tables/APIC", "/sys/firmware/acpi/tables/MCFG",
        "/sys/firmware/acpi/tables/FACP", "/sys/firmware/acpi/tables/DMAR", "/sys/firmware/acpi/tables/IVRS",
        "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c",
        "/sys/firmware/efi/efivars/db-d719b2cb-3d3a-4596-a3bc-dad00e67656f",
        "/sys/firmware/efi/efivars/MokListRT-605dab50-e046-4300-abb6-3dd810dd8b23",
    };
    if (exists("/sys/firmware/efi"))
        tar_header(out, "sys/firmware/efi/", 0, '5');
    /* The MSRs preflight reads, as text (the msr driver's file is sparse). */
    static const uint32_t msr_list[] = { 0x3a, 0x482, 0x48b, 0xc0010114 };
    char msr_txt[256];
    size_t msr_len = 0;
    for (unsigned i = 0; i < ARRAY_SIZE(msr_list); i++) {
        uint64_t v;
        if (read_msr(msr_list[i], &v))
            msr_len += (size_t)snprintf(msr_txt + msr_len, sizeof(msr_txt) - msr_len, "0x%x 0x%llx\n",
                                        msr_list[i], (unsigned long long)v);
    }
    if (msr_len) {
        static const uint8_t zero[512];
        tar_header(out, "dev/cpu/0/msr.txt", msr_len, '0');
        fwrite(msr_txt, 1, msr_len, out);
        fwrite(zero, 1, (512 - msr_len % 512) % 512, out);
        collected++;
    }
    for (unsigned i = 0; i < ARRAY_SIZE(files); i++)
        tar_file(out, files[i], MAX_TABLE);
    char dir[4096];
    rooted(dir, sizeof(dir), "/sys/bus/pci/devices");
    DIR *dp = opendir(dir);
    struct dirent *e;
    while (dp && (e = readdir(dp))) {
        if (e->d_name[0] == '.' || strlen(e->d_name) > 64)
            continue;
        char rel[200];
        snprintf(rel, sizeof(rel), "/sys/bus/pci/devices/%.64s/config", e->d_name);
        tar_file(out, rel, 4096);
        snprintf(rel, sizeof(rel), "/sys/bus/pci/devices/%.64s/resource", e->d_name);
        tar_file(out, rel, 1u << 16);
    }
    if (dp)
        closedir(dp);
    static const uint8_t end[1024];
    bool ok = fwrite(end, 1, sizeof(end), out) == sizeof(end);
    ok &= !fclose(out);
    printf("preflight: %s: %u files%s; replay with: mkdir t && tar xf %s -C t && minihv-preflight --root t\n",
           out_path, collected, ok ? "" : " (write failed)", out_path);
    return ok ? 0 : 2;
}

#ifndef PREFLIGHT_NO_MAIN
static void usage(void)
{
    fprintf(stderr, "usage: minihv-preflight [--root DIR] [--candidate igd|BB:DD.F] [--cert minihv.cer] [--json]\n"
                    "       minihv-preflight [--root DIR] --collect OUT.tar\n"
                    "       minihv-preflight --table FILE...\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *collect_out = NULL;
    int i = 1;
    if (argc > 1 && !strcmp(argv[1], "--table")) {
        if (argc < 3)
            usage();
        int bad = 0;
        for (i = 2; i < argc; i++)
            bad |= table_mode(argv[i]);
        return bad;
    }
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = true;
        else if (!strcmp(argv[i], "--root") && i + 1 < argc)
            root = argv[++i];
        else if (!strcmp(argv[i], "--collect") && i + 1 < argc)
            collect_out = argv[++i];
        else if (!strcmp(argv[i], "--candidate") && i + 1 < argc)
            candidate = argv[++i];
        else if (!strcmp(argv[i], "--cert") && i + 1 < argc)
            sb_cert = argv[++i];
        else
            usage();
    }
    if (collect_out)
        return collect(collect_out);
    return machine_mode();
}
#endif
