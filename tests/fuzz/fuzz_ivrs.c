/* libFuzzer: the IVRS parser and its lookups on arbitrary bytes in an
 * exact-size heap buffer; what it returns must stay inside its arrays. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iommu/ivrs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ivrs_info r;
    struct field_error e;
    uint8_t *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    if (ivrs_parse(buf, size, &r, &e) == 0) {
        if (r.unit_count > IVRS_MAX_UNITS || r.range_count > IVRS_MAX_RANGES ||
            r.special_count > IVRS_MAX_SPECIAL || r.memory_count > IVRS_MAX_MEMORY)
            abort();
        for (unsigned i = 0; i < r.unit_count; i++) {
            const struct ivrs_unit *u = &r.units[i];
            if (u->first_range + u->range_count > r.range_count ||
                u->first_special + u->special_count > r.special_count || u->offset >= size)
                abort();
            ivrs_unit_max_devid(&r, i);
        }
        for (unsigned i = 0; i < r.range_count; i++)
            if (r.ranges[i].last < r.ranges[i].first)
                abort();
        for (unsigned i = 0; i < r.memory_count; i++)
            if (!r.memory[i].length || r.memory[i].last < r.memory[i].first)
                abort();
        int u = ivrs_unit_for_device(&r, IOMMU_SBDF(0, 0, 2, 0));
        if (u >= (int)r.unit_count || (u >= 0 && r.units[u].superseded))
            abort();
    } else if (!e.field || !e.what) {
        abort();
    }
    free(buf);
    return 0;
}
