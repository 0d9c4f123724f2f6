/* libFuzzer: the DMAR parser and the device-to-unit lookup on arbitrary
 * bytes in an exact-size heap buffer; what it returns must stay inside
 * its own arrays. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iommu/dmar.h"

static bool any_bridge(void *opaque, uint16_t seg, uint8_t bus, uint8_t dev, uint8_t fn,
                       uint8_t *sec, uint8_t *sub)
{
    (void)opaque;
    (void)seg;
    *sec = (uint8_t)(bus + dev + 1);
    *sub = (uint8_t)(*sec + fn);
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct dmar_info d;
    struct field_error e;
    uint8_t *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    if (dmar_parse(buf, size, &d, &e) == 0) {
        if (d.unit_count > DMAR_MAX_UNITS || d.rmrr_count > DMAR_MAX_RMRRS || d.scope_count > DMAR_MAX_SCOPES)
            abort();
        for (unsigned i = 0; i < d.unit_count; i++)
            if (d.units[i].first_scope + d.units[i].scope_count > d.scope_count || d.units[i].offset >= size)
                abort();
        for (unsigned i = 0; i < d.rmrr_count; i++)
            if (d.rmrrs[i].limit < d.rmrrs[i].base || d.rmrrs[i].first_scope + d.rmrrs[i].scope_count > d.scope_count)
                abort();
        for (unsigned i = 0; i < d.scope_count; i++)
            if (!d.scopes[i].path_len || d.scopes[i].path_len > DMAR_MAX_PATH || d.scopes[i].offset >= size)
                abort();
        uint32_t probes[] = { IOMMU_SBDF(0, 0, 2, 0), IOMMU_SBDF(0, 3, 0, 0), IOMMU_SBDF(1, 0x80, 31, 7) };
        for (unsigned i = 0; i < 3; i++) {
            int u = dmar_drhd_for_device(&d, probes[i], any_bridge, NULL);
            int v = dmar_drhd_for_device(&d, probes[i], NULL, NULL);
            if (u >= (int)d.unit_count || v >= (int)d.unit_count)
                abort();
            for (unsigned r = 0; r < d.rmrr_count + 1; r++)
                dmar_rmrr_has_device(&d, r, probes[i], any_bridge, NULL);
        }
    } else if (!e.field || !e.what) {
        abort();
    }
    free(buf);
    return 0;
}
