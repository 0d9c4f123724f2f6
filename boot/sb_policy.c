/* Secure Boot and measured launch, the pure parts: which config keys weaken
 * the isolation, and the measured policy line. */
#include <minihv/format.h>
#include <minihv/libc.h>
#include "boot/sb_policy.h"

#define MINIHV_BOOT_ABI 4 /* include/minihv/boot_info.h MINIHV_BOOT_VERSION */
#define MINIHV_POLICY_VERSION 1

const char *sb_weakening_key(const struct minihv_config *cfg, char *buf, size_t n)
{
    if (cfg->iommu == IOMMU_NONE) {
        fmt_snprintf(buf, n, "iommu = none: device DMA would not be contained");
        return buf;
    }
    if (cfg->igd_force) {
        fmt_snprintf(buf, n, "igd_force = 1: a test-only IGD personality on a device that is not an IGD");
        return buf;
    }
    if (cfg->hv_mem_mb < SB_MIN_HV_MEM_MB || cfg->hv_mem_mb > SB_MAX_HV_MEM_MB) {
        fmt_snprintf(buf, n, "hv_mem_mb = %u: outside %u-%u", cfg->hv_mem_mb, SB_MIN_HV_MEM_MB, SB_MAX_HV_MEM_MB);
        return buf;
    }
    return NULL;
}

int sb_policy_string(const struct minihv_config *cfg, char *buf, size_t n)
{
    char pt[32];
    if (cfg->passthrough == PASSTHROUGH_IGD)
        fmt_snprintf(pt, sizeof(pt), "igd");
    else if (cfg->passthrough == PASSTHROUGH_BDF)
        fmt_snprintf(pt, sizeof(pt), "%04x:%02x:%02x.%x", cfg->pt_segment, cfg->pt_bus, cfg->pt_dev, cfg->pt_fn);
    else
        fmt_snprintf(pt, sizeof(pt), "none");
    int len = fmt_snprintf(buf, n, "minihv policy %u: passthrough %s; iommu %s; igd_force %u; hv_mem_mb %u; guest %s; boot-abi %u",
                           MINIHV_POLICY_VERSION, pt, config_iommu_name(cfg->iommu), cfg->igd_force ? 1 : 0,
                           cfg->hv_mem_mb, cfg->guest[0] ? cfg->guest : "(firmware's next boot option)",
                           MINIHV_BOOT_ABI);
    return len >= 0 && (size_t)len < n ? len : -1;
}
