/* Expansion ROM walk per PCI Firmware Spec 3.0 §5.1 (ROM header, PCI Data
 * Structure) and the UEFI spec's PCI option ROM header (§14.4.2). */
#include <minihv/libc.h>
#include <drivers/igd/rom.h>

/* ROM header: 0x55 0xAA @0, init size @2 (x86: u8; EFI: u16), EFI
 * signature 0x0EF1 u32 @4, EFI subsystem u16 @8, machine u16 @0xA, PCIR
 * pointer u16 @0x18. */
#define ROM_HDR_MIN      0x1Au
#define ROM_PCIR_PTR     0x18u
#define EFI_SIGNATURE    0x0EF1u
/* PCIR: "PCIR" @0, vendor @4, device @6, length u16 @0xA, revision @0xC,
 * class code @0xD..0xF, image length u16 @0x10 (x512), code type @0x14,
 * indicator @0x15 (bit 7: last image). 24 bytes in PCI 2.x, 28 in 3.0. */
#define PCIR_MIN_LEN     0x18u
#define PCIR_LAST        0x80u

static int parse_image(const uint8_t *rom, size_t len, uint32_t off, bool shadow,
                       struct igd_rom_image *img, struct field_error *err)
{
    memset(img, 0, sizeof(*img));
    img->offset = off;
    if (!range_ok(off, ROM_HDR_MIN, len))
        return field_fail(err, IGD_ERANGE, "rom_header", off, "image header past the end of the ROM");
    const uint8_t *h = rom + off;
    if (h[0] != 0x55 || h[1] != 0xAA)
        return field_fail(err, IGD_EINVAL, "rom_header.signature", off, "not 0x55AA");
    uint32_t pcir = le16(h + ROM_PCIR_PTR);
    img->pcir_offset = pcir;
    if (!range_ok((uint64_t)off + pcir, PCIR_MIN_LEN, len))
        return field_fail(err, IGD_ERANGE, "rom_header.pcir_offset", off + ROM_PCIR_PTR, "PCI data structure past the end of the ROM");
    const uint8_t *d = h + pcir;
    if (memcmp(d, "PCIR", 4) != 0)
        return field_fail(err, IGD_EINVAL, "pcir.signature", off + pcir, "not \"PCIR\"");
    img->vendor = le16(d + 4);
    img->device = le16(d + 6);
    uint16_t pcir_len = le16(d + 0x0A);
    img->pcir_revision = d[0x0C];
    memcpy(img->class_code, d + 0x0D, 3);
    img->length = (uint32_t)le16(d + 0x10) * IGD_ROM_UNIT;
    img->code_type = d[0x14];
    img->last = (d[0x15] & PCIR_LAST) != 0;

    if (pcir_len < PCIR_MIN_LEN)
        return field_fail(err, IGD_EINVAL, "pcir.length", off + pcir + 0x0A, "shorter than 24 bytes");
    if (img->length == 0)
        return field_fail(err, IGD_EINVAL, "pcir.image_length", off + pcir + 0x10, "zero");
    /* A shadow copy may be shorter than the image the PCIR describes; its
     * own bound is the init size, checked by the caller. */
    uint64_t bound = shadow ? len - off : img->length;
    if (!shadow && !range_ok(off, img->length, len))
        return field_fail(err, IGD_ERANGE, "pcir.image_length", off + pcir + 0x10, "image runs past the end of the ROM");
    if (!range_ok(pcir, pcir_len, bound))
        return field_fail(err, IGD_ERANGE, "pcir.length", off + pcir + 0x0A, "PCI data structure runs past its image");

    if (img->code_type == IGD_ROM_CODE_EFI) {
        if (le32(h + 4) != EFI_SIGNATURE)
            return field_fail(err, IGD_EINVAL, "efi.signature", off + 4, "EFI image without the 0x0EF1 signature");
        img->init_size = (uint32_t)le16(h + 2) * IGD_ROM_UNIT;
        img->efi_subsystem = le16(h + 8);
        img->efi_machine = le16(h + 0x0A);
    } else {
        img->init_size = (uint32_t)h[2] * IGD_ROM_UNIT;
    }
    if (!shadow && img->init_size > img->length)
        return field_fail(err, IGD_ERANGE, "rom_header.init_size", off + 2, "larger than the image length");
    return IGD_OK;
}

int igd_rom_parse(const void *buf, size_t len, struct igd_rom_info *out, struct field_error *err)
{
    const uint8_t *rom = buf;
    uint64_t off = 0;

    memset(out, 0, sizeof(*out));
    if (!buf || len > UINT32_MAX)
        return field_fail(err, IGD_ERANGE, "rom", 0, "no buffer, or larger than 4 GiB");
    for (;;) {
        if (out->nimages >= IGD_ROM_MAX_IMAGES)
            return field_fail(err, IGD_ENOSPC, "pcir.indicator", off, "more images than the walk allows, no last-image bit");
        if (off >= len)
            return field_fail(err, IGD_ERANGE, "pcir.indicator", off, "ROM ends before an image with the last-image bit");
        struct igd_rom_image *img = &out->images[out->nimages];
        int rc = parse_image(rom, len, (uint32_t)off, false, img, err);
        if (rc)
            return rc;
        out->nimages++;
        off += img->length;
        if (img->last)
            break;
    }
    out->total_len = (uint32_t)off;
    return IGD_OK;
}

int igd_rom_parse_shadow(const void *buf, size_t len, struct igd_rom_info *out, struct field_error *err)
{
    const uint8_t *rom = buf;

    memset(out, 0, sizeof(*out));
    if (!buf || len > UINT32_MAX)
        return field_fail(err, IGD_ERANGE, "rom", 0, "no buffer, or larger than 4 GiB");
    if (len < ROM_HDR_MIN)
        return field_fail(err, IGD_ERANGE, "rom_header", 0, "shadow shorter than a ROM header");
    if (rom[0] != 0x55 || rom[1] != 0xAA)   /* no shadow on UEFI-only machines */
        return field_fail(err, IGD_EINVAL, "rom_header.signature", 0, "not 0x55AA");
    uint32_t size = (uint32_t)rom[2] * IGD_ROM_UNIT;
    if (size == 0)
        return field_fail(err, IGD_EINVAL, "rom_header.init_size", 2, "zero");
    if (size > len)
        return field_fail(err, IGD_ERANGE, "rom_header.init_size", 2, "runs past the shadow window");
    int rc = parse_image(rom, size, 0, true, &out->images[0], err);
    if (rc)
        return rc;
    if (out->images[0].code_type != IGD_ROM_CODE_X86)
        return field_fail(err, IGD_EINVAL, "pcir.code_type", out->images[0].pcir_offset + 0x14, "shadow ROM is not an x86 image");
    out->nimages = 1;
    out->total_len = size;
    return IGD_OK;
}

int igd_rom_check_device(const struct igd_rom_info *rom, uint16_t vendor, uint16_t device,
                         struct field_error *err)
{
    for (uint32_t i = 0; i < rom->nimages; i++) {
        const struct igd_rom_image *img = &rom->images[i];
        if (img->code_type != IGD_ROM_CODE_X86)
            continue;
        uint32_t at = img->offset + img->pcir_offset;
        if (img->vendor != vendor)
            return field_fail(err, IGD_EINVAL, "pcir.vendor", at + 4, "does not match the IGD");
        if (img->device != device)
            return field_fail(err, IGD_EINVAL, "pcir.device", at + 6, "does not match the IGD");
        if (img->class_code[2] != 0x03)
            return field_fail(err, IGD_EINVAL, "pcir.class_code", at + 0x0F, "base class is not display (0x03)");
        return IGD_OK;
    }
    return field_fail(err, IGD_ENOENT, "pcir.code_type", 0, "no x86 (legacy) image");
}

uint64_t igd_rom_region_size(enum igd_rom_source src, uint64_t rom_len)
{
    if (src == IGD_ROM_SRC_SHADOW)
        return IGD_ROM_SHADOW_REGION;
    uint64_t size = 2048;
    while (size < rom_len && size < (1ull << 32))
        size <<= 1;
    return size;
}

int igd_rom_choose(const struct igd_rom_candidate cand[IGD_ROM_SRC_COUNT],
                   uint16_t vendor, uint16_t device, struct igd_rom_choice *out,
                   struct field_error errs[IGD_ROM_SRC_COUNT])
{
    memset(out, 0, sizeof(*out));
    for (int s = 0; s < IGD_ROM_SRC_COUNT; s++) {
        struct field_error *e = errs ? &errs[s] : NULL;
        if (!cand[s].buf || cand[s].len == 0) {
            field_fail(e, IGD_ENOENT, "rom", 0, "source has no ROM");
            continue;
        }
        int rc = s == IGD_ROM_SRC_SHADOW
                     ? igd_rom_parse_shadow(cand[s].buf, cand[s].len, &out->info, e)
                     : igd_rom_parse(cand[s].buf, cand[s].len, &out->info, e);
        if (rc == 0)
            rc = igd_rom_check_device(&out->info, vendor, device, e);
        if (rc)
            continue;
        out->source = (enum igd_rom_source)s;
        out->len = out->info.total_len;
        out->region_size = igd_rom_region_size(out->source, out->len);
        return IGD_OK;
    }
    memset(out, 0, sizeof(*out));
    return -IGD_ENOENT;
}
