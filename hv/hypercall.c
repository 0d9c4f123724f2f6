/* The hypercalls (include/minihv/hypercall.h): VMCALL/VMMCALL with RAX =
 * function, from CPL 0 only; arguments and results in RBX, RCX, RDX,
 * status in RAX. Buffers the guest names are checked against the core's
 * block (vcpu_gpa_ok). */
#include <minihv/hypercall.h>
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "hv/console.h"
#include "hv/coverage.h"
#include "hv/hv.h"
#include "hv/ipi.h"
#include "hv/iommu_hw.h"
#include "hv/log_ring.h"
#include "hv/passthrough_hw.h"
#include "hv/test_hooks.h"
#include "hv/vcpu.h"

/* Guest-physical = host-physical (identity EPT), the core's identity map
 * reaches all of it. */
static bool write_gpa(uint64_t gpa, const void *buf, uint64_t len)
{
    if (!vcpu_gpa_ok(gpa, len))
        return false;
    memcpy((void *)(uintptr_t)gpa, buf, (size_t)len);
    return true;
}

static void fill_stats(const struct vcpu *c, struct minihv_stats *s)
{
    memset(s, 0, sizeof(*s));
    s->cpu_index = c->index;
    s->apic_id = c->apic_id;
    s->total_exits = c->total_exits;
    memcpy(s->exits, c->exits, sizeof(s->exits));
}

/* FNV-1a 64 (offset basis 0xcbf29ce484222325, prime 0x100000001b3). Not
 * instrumented in the coverage build (hv/coverage.h): a hook call per byte
 * of a 228 KiB digest after every batch took most of that build's time. */
__attribute__((no_sanitize_coverage)) static uint64_t fnv1a64(const volatile uint8_t *p, uint64_t len)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint64_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static int64_t hypercall(struct vcpu *v, uint64_t fn, uint64_t *rbx, uint64_t *rcx, uint64_t *rdx)
{
    switch (fn) {
    case MINIHV_HC_PING:
        *rbx = MINIHV_HC_PONG;
        *rcx = MINIHV_ABI_VERSION;
        *rdx = v->apic_id;
        return MINIHV_HC_OK;
    case MINIHV_HC_VERSION:
        *rbx = MINIHV_ABI_VERSION;
        *rcx = 0;
        return MINIHV_HC_OK;
    case MINIHV_HC_GET_STATS: {
        struct minihv_stats s;
        const struct vcpu *c = *rbx < hv_boot->cpu_count ? vcpu_get((unsigned)*rbx) : NULL;
        if (!c || !c->ops || *rdx < sizeof(s))
            return MINIHV_HC_EINVAL;
        fill_stats(c, &s);
        if (!write_gpa(*rcx, &s, sizeof(s)))
            return MINIHV_HC_EFAULT;
        *rbx = sizeof(s);
        return MINIHV_HC_OK;
    }
    case MINIHV_HC_FOOTPRINT: {
        struct minihv_footprint f;
        if (*rcx < sizeof(f))
            return MINIHV_HC_EINVAL;
        vcpu_fill_footprint(&f);
        if (!write_gpa(*rbx, &f, sizeof(f)))
            return MINIHV_HC_EFAULT;
        *rbx = sizeof(f);
        return MINIHV_HC_OK;
    }
    case MINIHV_HC_DUMP_STATS: {
        char line[160];
        vcpu_dump_stats();
        iommu_hw_summary(line, sizeof(line)); /* polls the fault records too */
        hv_log("%s", line);
        if (*rbx == MINIHV_COV_DUMP_MAGIC)
            hv_cov_dump("dump-stats (asked)"); /* coverage build: the map when asked */
        return MINIHV_HC_OK;
    }
    case MINIHV_HC_HV_CHECKSUM: {
        uint64_t size = hv_boot->hv_phys_size, off = *rbx, len = *rcx ? *rcx : size - MIN(off, size);
        /* Whole pages only: a digest of a byte would read the block. */
        if (off >= size || len > size - off || (off | len) & (PAGE_SIZE - 1))
            return MINIHV_HC_EINVAL;
        uint64_t h = fnv1a64((const volatile uint8_t *)(uintptr_t)(hv_boot->hv_phys_base + off), len);
        if (hv_cov_checksum_due()) { /* coverage build: the map now and then, the exit table first */
            vcpu_dump_stats();
            hv_cov_dump("hv-checksum (periodic)");
        }
        *rbx = h;
        *rcx = hv_boot->hv_phys_base;
        *rdx = size;
        return MINIHV_HC_OK;
    }
    case MINIHV_HC_AP_LAUNCH_DONE:
        *rbx = ipi_ap_launch_done(v);
        return MINIHV_HC_OK;
    case MINIHV_HC_IOMMU_FAULTS:
        *rbx = iommu_hw_poll_faults();
        *rcx = iommu_hw_contains_dma();
        return MINIHV_HC_OK;
    case MINIHV_HC_LOADER_LOG:
        return log_ring_loader_hypercall(v, *rbx, *rcx);
    case MINIHV_HC_PT_MSIX_CHECK: {
        unsigned bad, unmasked;
        *rbx = passthrough_msix_check(&bad, &unmasked);
        *rcx = bad;
        *rdx = unmasked;
        return MINIHV_HC_OK;
    }
    default:
        return test_hook_hypercall(v, fn, rbx, rcx, rdx); /* EINVAL but in a test build */
    }
}

void vcpu_handle_hypercall(struct vcpu *v)
{
    struct vcpu_guest_mode m;
    v->ops->get_mode(v, &m);
    int64_t rc = MINIHV_HC_EPERM;
    if (m.cpl == 0)
        rc = hypercall(v, v->regs.gpr[DECODE_RAX], &v->regs.gpr[DECODE_RBX],
                       &v->regs.gpr[DECODE_RCX], &v->regs.gpr[DECODE_RDX]);
    v->regs.gpr[DECODE_RAX] = (uint64_t)rc;
    vcpu_skip_insn(v);
}
