/* libFuzzer: igd_opregion_parse, then igd_opregion_build_guest. The input
 * is the OpRegion (and what follows it); the first 8 bytes past 8 KiB, if
 * any, also serve as the absolute-RVDA VBT and the override source, so the
 * 2.0, 2.1+ and override paths all run. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <drivers/igd/opregion.h>
#include <drivers/igd/vbt.h>

static uint8_t guest[256 * 1024];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct igd_opregion_info o;
    struct field_error e;
    uint8_t *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    uint64_t base = size >= 8 ? (uint64_t)data[0] << 24 : 0x7F000000;
    if (igd_opregion_parse(buf, size, base, &o, &e) == 0) {
        size_t n;
        static struct igd_vbt_summary s;
        if (o.vbt_where == IGD_VBT_MAILBOX4 || o.vbt_where == IGD_VBT_RVDA_RELATIVE) {
            if (o.vbt_offset + o.vbt_len > size)
                abort();
            igd_vbt_parse(buf + o.vbt_offset, o.vbt_len, &s, &e);
        }
        /* the tail of the input doubles as an external / override VBT */
        const uint8_t *tail = size > IGD_OPREGION_SIZE ? buf + IGD_OPREGION_SIZE : NULL;
        size_t tail_len = tail ? size - IGD_OPREGION_SIZE : 0;
        if (igd_opregion_build_guest(buf, size, &o, tail, tail_len, NULL, 0, guest, sizeof(guest), &n, &e) == 0) {
            if (n > sizeof(guest) || n != igd_opregion_guest_size(&o, 0))
                abort();
            struct igd_opregion_info g;
            /* a guest copy parses back (for 2.0 absolute, when the bytes handed
             * in for the VBT do start with "$VBT") */
            bool vbt_known = o.vbt_where != IGD_VBT_RVDA_ABSOLUTE || igd_vbt_present(tail, tail_len);
            if (vbt_known && igd_opregion_parse(guest, n, 0, &g, &e) != 0)
                abort();
        }
        if (tail)
            igd_opregion_build_guest(buf, size, &o, NULL, 0, tail, tail_len, guest, sizeof(guest), &n, &e);
    }
    free(buf);
    return 0;
}
