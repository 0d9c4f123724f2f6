/* libFuzzer: the ROM walk, the shadow parse and the source choice on
 * arbitrary bytes in an exact-size heap buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <drivers/igd/rom.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct igd_rom_info r;
    static struct igd_rom_choice c;
    struct field_error e, errs[IGD_ROM_SRC_COUNT];
    uint8_t *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    if (igd_rom_parse(buf, size, &r, &e) == 0) {
        if (r.total_len > size || r.nimages == 0 || !r.images[r.nimages - 1].last)
            abort();
        igd_rom_check_device(&r, 0x8086, 0x1912, &e);
    }
    if (igd_rom_parse_shadow(buf, size, &r, &e) == 0 && r.total_len > size)
        abort();
    struct igd_rom_candidate cand[IGD_ROM_SRC_COUNT] = { { buf, size }, { buf, size }, { buf, size } };
    if (igd_rom_choose(cand, 0x8086, 0x1912, &c, errs) == 0 && c.len > size)
        abort();
    free(buf);
    return 0;
}
