/* Video BIOS / option ROM walk on real ROMs from Debian packages (ipxe-qemu's
 * legacy + EFI efi-e1000e.rom, vgabios.bin) and damaged copies of them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <drivers/igd/rom.h>

#define IPXE_ROM "/usr/lib/ipxe/qemu/efi-e1000e.rom"
#define VGABIOS  "/usr/share/vgabios/vgabios.bin"

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("%s missing (Debian ipxe-qemu / vgabios; make deps)", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void put16(uint8_t *p, uint16_t x) { p[0] = (uint8_t)x; p[1] = (uint8_t)(x >> 8); }

static struct igd_rom_info r;

static void test_ipxe_legacy_and_efi(void **state)
{
    (void)state;
    size_t len;
    uint8_t *rom = read_file(IPXE_ROM, &len);
    struct field_error e;
    assert_int_equal(igd_rom_parse(rom, len, &r, &e), 0);
    assert_int_equal(r.nimages, 2);
    assert_int_equal(r.total_len, len);

    const struct igd_rom_image *x86 = &r.images[0], *efi = &r.images[1];
    assert_int_equal(x86->offset, 0);
    assert_int_equal(x86->code_type, IGD_ROM_CODE_X86);
    assert_int_equal(x86->vendor, 0x8086);
    assert_int_equal(x86->device, 0x10D3);
    assert_int_equal(x86->class_code[2], 0x02);   /* network */
    assert_false(x86->last);
    assert_true(x86->length > 0 && x86->length % 512 == 0);
    assert_true(x86->init_size <= x86->length);

    assert_int_equal(efi->offset, x86->length);
    assert_int_equal(efi->code_type, IGD_ROM_CODE_EFI);
    assert_int_equal(efi->vendor, 0x8086);
    assert_int_equal(efi->device, 0x10D3);
    assert_true(efi->last);
    assert_int_equal(efi->efi_subsystem, 11);      /* EFI boot service driver */
    assert_int_equal(efi->efi_machine, 0x8664);    /* x64 */
    assert_int_equal(efi->offset + efi->length, len);

    /* it is a NIC ROM, not the IGD's */
    assert_int_equal(igd_rom_check_device(&r, 0x8086, 0x10D3, &e), -IGD_EINVAL);
    assert_string_equal(e.field, "pcir.class_code");
    assert_int_equal(igd_rom_region_size(IGD_ROM_SRC_PCIIO, len), 256 * 1024);
    free(rom);
}

static void test_vgabios(void **state)
{
    (void)state;
    size_t len;
    uint8_t *rom = read_file(VGABIOS, &len);
    struct field_error e;
    assert_int_equal(igd_rom_parse(rom, len, &r, &e), 0);
    assert_int_equal(r.nimages, 1);
    assert_int_equal(r.images[0].code_type, IGD_ROM_CODE_X86);
    assert_int_equal(r.images[0].vendor, 0x1234);
    assert_int_equal(r.images[0].device, 0x1111);
    assert_int_equal(r.images[0].class_code[2], 0x03);
    assert_int_equal(r.images[0].class_code[1], 0x00);
    assert_true(r.images[0].last);
    assert_int_equal(r.images[0].length, len);
    assert_int_equal(igd_rom_check_device(&r, 0x1234, 0x1111, &e), 0);
    assert_int_equal(igd_rom_check_device(&r, 0x8086, 0x1111, &e), -IGD_EINVAL);
    assert_string_equal(e.field, "pcir.vendor");
    assert_int_equal(igd_rom_check_device(&r, 0x1234, 0x1112, &e), -IGD_EINVAL);
    assert_string_equal(e.field, "pcir.device");

    /* as a shadow at 0xC0000 (a 128 KiB window) */
    uint8_t *win = calloc(1, IGD_ROM_SHADOW_REGION);
    memcpy(win, rom, len);
    assert_int_equal(igd_rom_parse_shadow(win, IGD_ROM_SHADOW_REGION, &r, &e), 0);
    assert_int_equal(r.total_len, win[2] * 512u);
    /* byte 2 claiming more than the window */
    win[2] = 0xFF;
    assert_int_equal(igd_rom_parse_shadow(win, 0x10000, &r, &e), -IGD_ERANGE);
    assert_string_equal(e.field, "rom_header.init_size");
    win[2] = 0;
    assert_int_equal(igd_rom_parse_shadow(win, IGD_ROM_SHADOW_REGION, &r, &e), -IGD_EINVAL);
    /* a missing shadow (UEFI-only machine): no 0x55AA */
    memset(win, 0xFF, IGD_ROM_SHADOW_REGION);
    assert_int_equal(igd_rom_parse_shadow(win, IGD_ROM_SHADOW_REGION, &r, &e), -IGD_EINVAL);
    assert_string_equal(e.field, "rom_header.signature");
    free(win);
    free(rom);
}

static void test_truncated(void **state)
{
    (void)state;
    const char *files[] = { IPXE_ROM, VGABIOS };
    for (size_t f = 0; f < 2; f++) {
        size_t len;
        uint8_t *rom = read_file(files[f], &len);
        for (size_t cut = 0; cut < len; cut += 509) {
            uint8_t *copy = malloc(cut ? cut : 1);
            memcpy(copy, rom, cut);
            struct field_error e = { 0 };
            if (igd_rom_parse(copy, cut, &r, &e) == 0)
                fail_msg("%s cut at %zu accepted", files[f], cut);
            free(copy);
        }
        free(rom);
    }
}

static void test_lying_lengths(void **state)
{
    (void)state;
    size_t len;
    uint8_t *rom = read_file(IPXE_ROM, &len);
    struct field_error e;
    assert_int_equal(igd_rom_parse(rom, len, &r, &e), 0);
    uint32_t efi_at = r.images[1].offset;
    uint8_t *pcir0 = rom + r.images[0].pcir_offset;
    uint8_t *pcir1 = rom + efi_at + r.images[1].pcir_offset;
    uint16_t len0 = (uint16_t)(pcir0[0x10] | pcir0[0x11] << 8);
    uint16_t len1 = (uint16_t)(pcir1[0x10] | pcir1[0x11] << 8);

    /* last image says it is one sector longer than the file */
    put16(pcir1 + 0x10, (uint16_t)(len1 + 1));
    assert_int_equal(igd_rom_parse(rom, len, &r, &e), -IGD_ERANGE);
    assert_string_equal(e.field, "pcir.image_length");
    assert_int_equal(e.offset, efi_at + r.images[1].pcir_offset + 0x10);
    put16(pcir1 + 0x10, len1);

    /* first image longer: the next "image" starts inside the EFI one */
    put16(pcir0 + 0x10, (uint16_t)(len0 + 1));
    assert_int_equal(igd_rom_parse(rom, len, &r, &e), -IGD_EINVAL);
    assert_string_equal(e.field, "rom_header.signature");
    /* 0xFFFF sectors: far past the buffer */
    put16(pcir0 + 0x10, 0xFFFF);
    assert_int_equal(igd_rom_parse(rom, len, &r, &e), -IGD_ERANGE);
    /* zero length would loop forever: rejected */
    put16(pcir0 + 0x10, 0);
    assert_int_equal(igd_rom_parse(rom, len, &r, &e), -IGD_EINVAL);
    assert_string_equal(e.field, "pcir.image_length");
    put16(pcir0 + 0x10, len0);

    /* init size (byte 2) larger than the image */
    uint8_t init = rom[2];
    rom[2] = 0xFF;
    assert_int_equal(igd_rom_parse(rom, len, &r, &e), -IGD_ERANGE);
    assert_string_equal(e.field, "rom_header.init_size");
    rom[2] = init;

    /* no image carries the last bit: the walk runs off the end */
    pcir1[0x15] &= 0x7F;
    assert_int_equal(igd_rom_parse(rom, len, &r, &e), -IGD_ERANGE);
    assert_string_equal(e.field, "pcir.indicator");
    pcir1[0x15] |= 0x80;

    /* PCIR pointer outside the ROM, bad PCIR signature, short PCIR */
    uint16_t ptr = (uint16_t)(rom[0x18] | rom[0x19] << 8);
    put16(rom + 0x18, 0xFFF0);
    rom[0x19] = 0xFF;
    uint8_t small[0x200];
    memcpy(small, rom, sizeof(small));
    assert_int_equal(igd_rom_parse(small, sizeof(small), &r, &e), -IGD_ERANGE);
    assert_string_equal(e.field, "rom_header.pcir_offset");
    put16(rom + 0x18, ptr);
    pcir0[0] = 'X';
    assert_int_equal(igd_rom_parse(rom, len, &r, &e), -IGD_EINVAL);
    assert_string_equal(e.field, "pcir.signature");
    pcir0[0] = 'P';
    uint8_t pl = pcir0[0x0A];
    pcir0[0x0A] = 8;
    assert_int_equal(igd_rom_parse(rom, len, &r, &e), -IGD_EINVAL);
    assert_string_equal(e.field, "pcir.length");
    pcir0[0x0A] = pl;

    /* EFI image without its 0x0EF1 signature */
    rom[efi_at + 4] ^= 1;
    assert_int_equal(igd_rom_parse(rom, len, &r, &e), -IGD_EINVAL);
    assert_string_equal(e.field, "efi.signature");
    rom[efi_at + 4] ^= 1;

    assert_int_equal(igd_rom_parse(rom, len, &r, &e), 0);
    free(rom);
}

static void test_choose_fallback(void **state)
{
    (void)state;
    size_t vlen, ilen;
    uint8_t *vga = read_file(VGABIOS, &vlen);
    uint8_t *nic = read_file(IPXE_ROM, &ilen);
    uint8_t *shadow = calloc(1, IGD_ROM_SHADOW_REGION);
    struct igd_rom_choice c;
    struct field_error errs[IGD_ROM_SRC_COUNT];

    /* shadow present and right: it wins, 0x20000 region */
    memcpy(shadow, vga, vlen);
    struct igd_rom_candidate cand[IGD_ROM_SRC_COUNT] = {
        { shadow, IGD_ROM_SHADOW_REGION }, { vga, vlen }, { NULL, 0 },
    };
    assert_int_equal(igd_rom_choose(cand, 0x1234, 0x1111, &c, errs), 0);
    assert_int_equal(c.source, IGD_ROM_SRC_SHADOW);
    assert_int_equal(c.region_size, 0x20000);

    /* no shadow (UEFI-only): PciIo RomImage, region = next power of two */
    memset(shadow, 0, IGD_ROM_SHADOW_REGION);
    assert_int_equal(igd_rom_choose(cand, 0x1234, 0x1111, &c, errs), 0);
    assert_int_equal(c.source, IGD_ROM_SRC_PCIIO);
    assert_int_equal(c.len, vlen);
    assert_int_equal(c.region_size, 65536);
    assert_string_equal(errs[IGD_ROM_SRC_SHADOW].field, "rom_header.signature");

    /* PciIo has another device's ROM: the file */
    cand[1] = (struct igd_rom_candidate){ nic, ilen };
    cand[2] = (struct igd_rom_candidate){ vga, vlen };
    assert_int_equal(igd_rom_choose(cand, 0x1234, 0x1111, &c, errs), 0);
    assert_int_equal(c.source, IGD_ROM_SRC_FILE);
    assert_string_equal(errs[IGD_ROM_SRC_PCIIO].field, "pcir.vendor");

    /* nothing fits */
    cand[2] = (struct igd_rom_candidate){ NULL, 0 };
    assert_int_equal(igd_rom_choose(cand, 0x1234, 0x1111, &c, errs), -IGD_ENOENT);
    assert_int_equal(c.len, 0);

    assert_int_equal(igd_rom_region_size(IGD_ROM_SRC_FILE, 0), 2048);
    assert_int_equal(igd_rom_region_size(IGD_ROM_SRC_FILE, 2049), 4096);
    assert_int_equal(igd_rom_region_size(IGD_ROM_SRC_FILE, 65536), 65536);
    free(shadow);
    free(vga);
    free(nic);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipxe_legacy_and_efi),
        cmocka_unit_test(test_vgabios),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_lying_lengths),
        cmocka_unit_test(test_choose_fallback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
