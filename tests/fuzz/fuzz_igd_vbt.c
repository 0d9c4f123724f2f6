/* libFuzzer: igd_vbt_parse on arbitrary bytes, copied into an exact-size
 * heap buffer so ASan catches any read past the length. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <drivers/igd/vbt.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct igd_vbt_summary s;
    struct field_error e;
    uint8_t *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    if (igd_vbt_parse(buf, size, &s, &e) == 0) {
        for (uint32_t i = 0; i < s.nblocks; i++)
            if ((uint64_t)s.blocks[i].offset + s.blocks[i].size > size)
                abort();
        if (s.vbt_size > size || s.nchildren > IGD_VBT_MAX_CHILDREN)
            abort();
    } else if (!e.field || !e.what) {
        abort();
    }
    free(buf);
    return 0;
}
