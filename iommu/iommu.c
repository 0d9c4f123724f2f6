/* The provider registry, the `none` provider and the ACPI table hiding;
 * see include/minihv/iommu.h. */
#include <minihv/format.h>
#include <minihv/iommu.h>
#include <minihv/libc.h>

int iommu_format_error(char *buf, size_t size, const struct field_error *err)
{
    return fmt_snprintf(buf, size, "%s at 0x%x: %s", err->field ? err->field : "?",
                        err->offset, err->what ? err->what : "?");
}

const char *iommu_mode_name(enum iommu_mode mode)
{
    switch (mode) {
    case IOMMU_MODE_AUTO:  return "auto";
    case IOMMU_MODE_VTD:   return "vtd";
    case IOMMU_MODE_AMDVI: return "amdvi";
    case IOMMU_MODE_NONE:  return "none";
    case IOMMU_MODE_AUTO_REQUIRED: return "auto (required under Secure Boot)";
    }
    return "?";
}

const struct iommu_provider iommu_provider_none = {
    .name = "none",
    .mode = IOMMU_MODE_NONE,
    .contains_dma = false,
};

static void say(const struct iommu_request *req, enum iommu_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(const struct iommu_request *req, enum iommu_log_level level, const char *fmt, ...)
{
    if (!req || !req->log)
        return;
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    req->log(req->log_opaque, level, line);
}

/* Runs one provider through probe, protect, attach and enable; on failure
 * logs which step and why at `level`. */
static bool bring_up(const struct iommu_provider *p, const struct iommu_request *req,
                     enum iommu_log_level level)
{
    struct field_error err = { 0 };
    char why[160];
    int rc = 0;
    const char *step = "probe";

    if (p->probe)
        rc = p->probe(p->ctx, &err);
    for (unsigned i = 0; !rc && req && i < req->protect_count; i++) {
        step = "protect";
        if (p->protect)
            rc = p->protect(p->ctx, req->protect[i].base, req->protect[i].size, &err);
        else if (p->contains_dma)
            rc = field_fail(&err, IOMMU_ENODEV, "protect", 0, "provider cannot protect memory");
        if (rc) { /* name the range that did not fit (review R s7, finding 3) */
            iommu_format_error(why, sizeof(why), &err);
            say(req, level, "iommu: %s: protect failed (%d): %s (range 0x%lx+0x%lx)", p->name, rc, why,
                req->protect[i].base, req->protect[i].size);
            return false;
        }
    }
    for (unsigned i = 0; !rc && req && i < req->device_count; i++) {
        step = "attach";
        if (p->attach)
            rc = p->attach(p->ctx, req->devices[i], &err);
        if (rc) {
            uint32_t d = req->devices[i];
            iommu_format_error(why, sizeof(why), &err);
            say(req, level, "iommu: %s: attach %04x:%02x:%02x.%u failed (%d): %s", p->name,
                IOMMU_SBDF_SEG(d), IOMMU_SBDF_BUS(d), (d >> 3) & 0x1f, d & 7, rc, why);
            return false;
        }
    }
    if (!rc && p->enable) {
        step = "enable";
        rc = p->enable(p->ctx, &err);
    }
    if (rc == -IOMMU_ENOENT) { /* no table at all: no offset into a buffer to name */
        say(req, level, "iommu: %s: %s failed (%d): %s: %s", p->name, step, rc, err.field ? err.field : "?",
            err.what ? err.what : "?");
        return false;
    }
    if (rc) {
        iommu_format_error(why, sizeof(why), &err);
        say(req, level, "iommu: %s: %s failed (%d): %s", p->name, step, rc, why);
        return false;
    }
    return true;
}

static const struct iommu_provider *choose_none(const struct iommu_request *req, const char *because)
{
    say(req, IOMMU_LOG_WARN, "iommu: none (%s): device DMA is NOT contained, "
        "a device can read and write all memory including the hypervisor's", because);
    return &iommu_provider_none;
}

const struct iommu_provider *iommu_select(enum iommu_mode mode,
                                          const struct iommu_provider *providers, unsigned count,
                                          const struct iommu_request *req)
{
    if (mode == IOMMU_MODE_NONE)
        return choose_none(req, "iommu = none");

    if (mode == IOMMU_MODE_AUTO || mode == IOMMU_MODE_AUTO_REQUIRED) {
        bool required = mode == IOMMU_MODE_AUTO_REQUIRED;
        for (unsigned i = 0; i < count; i++) {
            const struct iommu_provider *p = &providers[i];
            if (!p->contains_dma)
                break;
            if (bring_up(p, req, IOMMU_LOG_WARN)) {
                say(req, IOMMU_LOG_INFO, "iommu: %s: enabled (auto), device DMA is contained", p->name);
                return p;
            }
            say(req, IOMMU_LOG_WARN, "iommu: %s: not used, trying the next provider", p->name);
        }
        if (required) {
            say(req, IOMMU_LOG_ERROR, "iommu = auto under Secure Boot: no provider that contains device DMA "
                "came up; not falling back to none");
            return NULL;
        }
        return choose_none(req, "auto: no provider worked");
    }

    for (unsigned i = 0; i < count; i++) {
        const struct iommu_provider *p = &providers[i];
        if (p->mode != mode)
            continue;
        if (bring_up(p, req, IOMMU_LOG_ERROR)) {
            say(req, IOMMU_LOG_INFO, "iommu: %s: enabled (forced), device DMA is contained", p->name);
            return p;
        }
        say(req, IOMMU_LOG_ERROR, "iommu = %s failed: not falling back to none", iommu_mode_name(mode));
        return NULL;
    }
    say(req, IOMMU_LOG_ERROR, "iommu = %s: no such provider in this build", iommu_mode_name(mode));
    return NULL;
}

/* ACPI 6.5 5.2.6: the header is 36 bytes, length at 4, checksum at 9; all
 * `length` bytes sum to 0 (mod 256). */
int acpi_table_hide(void *table, size_t len, const char new_sig[4], struct field_error *err)
{
    uint8_t *t = table;
    if (!t || len < 36)
        return field_fail(err, IOMMU_ERANGE, "buffer", len, "shorter than an ACPI header (36 bytes)");
    uint32_t length = le32(t + 4);
    if (length < 36)
        return field_fail(err, IOMMU_EINVAL, "header.length", 4, "below the 36-byte header");
    if (length > len)
        return field_fail(err, IOMMU_ERANGE, "header.length", 4, "beyond the buffer");
    memcpy(t, new_sig, 4);
    t[9] = 0;
    uint8_t sum = 0;
    for (uint32_t i = 0; i < length; i++)
        sum = (uint8_t)(sum + t[i]);
    t[9] = (uint8_t)(0x100 - sum);
    return IOMMU_OK;
}
