/* The IOMMU provider API: one interface, several backends (VT-d, AMD-Vi,
 * none), chosen by a registry that tries them in order and goes on to the
 * next when one fails — the way Linux made vfio type1 a single API over
 * several IOMMU drivers. A provider owns one DMA domain that every device
 * behind its remapping units is in: identity over [0, top) minus the
 * protected ranges (the core's block), plus whatever map/unmap change.
 *
 * Pure C: providers reach registers only through struct iommu_mmio_ops and
 * memory only through struct iommu_mem, so the core, host tests and fuzzers
 * build the same files. Everything read from firmware tables or registers
 * is untrusted; errors name the field and the offset (struct field_error,
 * the style of drivers/igd/igd.h). See docs/iommu.md. */
#ifndef MINIHV_IOMMU_H
#define MINIHV_IOMMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <minihv/field_error.h>

/* Return codes: negated, with the values of the Linux errno for the case. */
#define IOMMU_OK        0
#define IOMMU_ENOENT    2   /* the firmware gave no table (DMAR, IVRS) at all */
#define IOMMU_ENOMEM    12  /* the page allocator ran out */
#define IOMMU_ENODEV    19  /* no such hardware, or it lacks a needed feature */
#define IOMMU_EINVAL    22  /* a field holds a value the format forbids */
#define IOMMU_ENOSPC    28  /* more entries than minihv's fixed arrays hold */
#define IOMMU_ERANGE    34  /* a length or offset points outside its structure */
#define IOMMU_ETIMEDOUT 110 /* hardware did not acknowledge a command */

/* Errors are struct field_error / field_fail (minihv/field_error.h): the
 * field ("DRHD.length", "GSTS.TES", ...), the byte offset in the table or
 * the register offset, and what was wrong. */

/* "DRHD.length at 0x30: shorter than its fixed part" into buf. */
int iommu_format_error(char *buf, size_t size, const struct field_error *err);

/* A PCI function: segment, bus, device, function. The low 16 bits are the
 * requester ID both IOMMUs index their tables with (VT-d source-id, AMD
 * DeviceID). */
#define IOMMU_SBDF(seg, bus, dev, fn) \
    ((uint32_t)(seg) << 16 | (uint32_t)(bus) << 8 | (uint32_t)(dev) << 3 | (uint32_t)(fn))
#define IOMMU_SBDF_SEG(x) ((uint16_t)((x) >> 16))
#define IOMMU_SBDF_BUS(x) ((uint8_t)((x) >> 8))
#define IOMMU_SBDF_DEVFN(x) ((uint8_t)(x))
#define IOMMU_SBDF_RID(x) ((uint16_t)(x))

/* DMA permissions of a mapping. */
#define IOMMU_READ  1u
#define IOMMU_WRITE 2u

/* Register access to one remapping unit; `unit` is what
 * iommu_platform.map_unit returned for it. Offsets are the spec's. */
struct iommu_mmio_ops {
    uint32_t (*read32)(void *unit, uint32_t offset);
    void (*write32)(void *unit, uint32_t offset, uint32_t value);
    uint64_t (*read64)(void *unit, uint32_t offset);
    void (*write64)(void *unit, uint32_t offset, uint64_t value);
};

/* Memory the translation structures live in: physically contiguous,
 * 4 KiB-aligned, zeroed pages (0 = none left), reached through
 * phys_to_virt. `flush` (may be NULL) writes CPU caches back for hardware
 * whose table walks do not snoop (VT-d ECAP.C = 0). */
struct iommu_mem {
    uint64_t (*alloc_pages)(void *opaque, size_t count);
    void *(*phys_to_virt)(void *opaque, uint64_t pa);
    void (*flush)(void *opaque, uint64_t pa, size_t len);
    void *opaque;
};

/* What a provider is handed: the firmware table (DMAR or IVRS, already
 * checksummed by the loader), how to reach registers, memory, and the top
 * of the identity map (the end of RAM and MMIO, as for EPT/NPT). */
struct iommu_platform {
    const void *table;
    size_t table_len;
    const struct iommu_mmio_ops *mmio;
    /* The `unit` handle for the registers at [base, base + size); NULL when
     * they cannot be mapped. */
    void *(*map_unit)(void *opaque, uint64_t base, uint64_t size);
    void *opaque;
    struct iommu_mem mem;
    uint64_t top;
    unsigned max_polls; /* register polls before ETIMEDOUT; 0: 1000000 */
};

/* One DMA fault, decoded from VT-d fault recording registers or an AMD-Vi
 * IO_PAGE_FAULT event. */
struct iommu_fault {
    uint32_t sbdf;       /* requester */
    uint64_t address;    /* the DMA address (page-granular on VT-d) */
    uint16_t reason;     /* VT-d fault reason, or AMD-Vi event flags */
    bool write;          /* false: read */
    unsigned unit;       /* which remapping unit reported it */
    const char *reason_text;
};
typedef void (*iommu_fault_fn)(void *opaque, const struct iommu_fault *fault);

/* `iommu =` in minihv.cfg. */
/* AUTO_REQUIRED: auto, but without a provider that contains DMA nothing
 * is virtualized (the loader asks for it under Secure Boot, issue 20). */
enum iommu_mode { IOMMU_MODE_AUTO, IOMMU_MODE_VTD, IOMMU_MODE_AMDVI, IOMMU_MODE_NONE, IOMMU_MODE_AUTO_REQUIRED };
const char *iommu_mode_name(enum iommu_mode mode);

/* A backend and its state. The registry calls probe, then protect for each
 * protected range, attach for each device, then enable; map and unmap work
 * before and after enable (after it they invalidate the IOTLB).
 * Operations a provider lacks may be NULL (none has no callbacks at all). */
struct iommu_provider {
    const char *name;        /* "vtd", "amdvi", "none" */
    enum iommu_mode mode;    /* the `iommu =` value that forces it */
    bool contains_dma;       /* false only for none */
    void *ctx;
    /* Finds and checks the hardware, builds the domain; touches no enable bit. */
    int (*probe)(void *ctx, struct field_error *err);
    /* Puts a device into the domain; fails when no unit covers it. */
    int (*attach)(void *ctx, uint32_t sbdf, struct field_error *err);
    int (*map)(void *ctx, uint64_t iova, uint64_t phys, uint64_t size, uint32_t perm,
               struct field_error *err);
    int (*unmap)(void *ctx, uint64_t iova, uint64_t size, struct field_error *err);
    /* [base, base + size) never reachable by DMA from now on. */
    int (*protect)(void *ctx, uint64_t base, uint64_t size, struct field_error *err);
    /* Turns translation on; on failure leaves it off. */
    int (*enable)(void *ctx, struct field_error *err);
    /* Reports and clears recorded faults; returns how many. */
    unsigned (*read_faults)(void *ctx, iommu_fault_fn fn, void *opaque);
};

/* The provider that contains nothing: every call succeeds. */
extern const struct iommu_provider iommu_provider_none;

enum iommu_log_level { IOMMU_LOG_INFO, IOMMU_LOG_WARN, IOMMU_LOG_ERROR };
/* One line without the "minihv: " prefix, e.g. "iommu: vtd: probe failed: ...". */
typedef void (*iommu_log_fn)(void *opaque, enum iommu_log_level level, const char *line);

struct iommu_range {
    uint64_t base, size;
};

struct iommu_request {
    const struct iommu_range *protect; /* the core's block, ... */
    unsigned protect_count;
    const uint32_t *devices;           /* SBDFs to attach (the passthrough device) */
    unsigned device_count;
    iommu_log_fn log;                  /* may be NULL */
    void *log_opaque;
};

/* Chooses and brings up a provider.
 *   auto:  tries `providers` in order; one that fails to probe, protect,
 *          attach or enable is logged (WARN, with the reason) and the next is
 *          tried; when all fail, iommu_provider_none is chosen with a WARN
 *          that DMA is not contained.
 *   vtd, amdvi: only the provider of that mode; when it fails (or is not in
 *          the list) the reason is logged as ERROR and NULL is returned: a
 *          forced IOMMU never silently degrades to none — the caller stops,
 *          as for a bad config line.
 *   none:  iommu_provider_none, with a WARN that DMA is not contained.
 * Returns the chosen provider (a pointer into `providers` or
 * &iommu_provider_none), or NULL. */
const struct iommu_provider *iommu_select(enum iommu_mode mode,
                                          const struct iommu_provider *providers, unsigned count,
                                          const struct iommu_request *req);

/* Hides a firmware table from the guest: writes new_sig over the
 * signature and recomputes the checksum (byte 9) so the header's `length`
 * bytes sum to 0 again. Xen does this to DMAR for dom0
 * (xen/drivers/passthrough/vtd/dmar.c, acpi_dmar_zap: "DMAR" -> "XMAR");
 * minihv uses "XMAR" and, by the same rule, "XVRS" for IVRS. Refuses a
 * buffer under 36 bytes or a header length under 36 or beyond len. */
int acpi_table_hide(void *table, size_t len, const char new_sig[4], struct field_error *err);

#endif
