/* See passthrough.h. Everything read here is untrusted: config space and
 * the ROM come from the device, the OpRegion from the firmware, `vbt =`
 * and `rom =` from the stick; each is bounds-checked and a bad one is
 * logged with the field and left out, never half-used. */
#include <efi.h>
#include <efilib.h>
#include <minihv/format.h>
#include <minihv/libc.h>
#include <minihv/pci.h>
#include <minihv/x86.h>
#include <drivers/igd/opregion.h>
#include <drivers/igd/vbt.h>
#include "boot/log.h"
#include "boot/passthrough.h"
#include "boot/pt_snapshot.h"

#define PT_VBT_FILE_MAX  (64u * 1024)        /* vbt_size is a u16 */
#define PT_OPREGION_MAX  (1u << 20)          /* host OpRegion + relative extended VBT */
#define PT_IGD_ASLS      0xFC                /* IGD OpRegion spec 2.1 ch. 4; docs/design.md */
#define PT_SHADOW_LEN    IGD_ROM_SHADOW_REGION

static char msg[160];

static const char *igd_why(const struct field_error *e)
{
    fmt_snprintf(msg, sizeof(msg), "%s at 0x%x: %s", e->field ? e->field : "?", e->offset,
                 e->what ? e->what : "?");
    return msg;
}

/* A file on the ESP (paths as for `guest`: '/' or '\'), at most `max`
 * bytes, into pool memory. NULL with *why set on any failure. */
static uint8_t *read_esp_file(EFI_HANDLE volume, const char *path, size_t max, size_t *len, char *why,
                              size_t whyn)
{
    static CHAR16 wide[CONFIG_MAX_PATH];
    size_t i = 0;
    for (; path[i] && i < ARRAY_SIZE(wide) - 1; i++)
        wide[i] = path[i] == '/' ? L'\\' : (CHAR16)path[i];
    wide[i] = 0;
    EFI_FILE_HANDLE root = LibOpenRoot(volume), f = NULL;
    if (!root) {
        fmt_snprintf(why, whyn, "cannot open the ESP");
        return NULL;
    }
    EFI_STATUS st = root->Open(root, &f, wide, EFI_FILE_MODE_READ, 0);
    root->Close(root);
    if (EFI_ERROR(st)) {
        fmt_snprintf(why, whyn, "cannot open (status 0x%lx)", (unsigned long)st);
        return NULL;
    }
    uint8_t *buf = NULL;
    EFI_FILE_INFO *info = LibFileInfo(f);
    uint64_t size = info ? info->FileSize : 0;
    if (info)
        FreePool(info);
    if (!info)
        fmt_snprintf(why, whyn, "no file info");
    else if (size == 0)
        fmt_snprintf(why, whyn, "empty");
    else if (size > max)
        fmt_snprintf(why, whyn, "%lu bytes: larger than %lu KiB", (unsigned long)size, (unsigned long)(max >> 10));
    else if (!(buf = AllocatePool((UINTN)size)))
        fmt_snprintf(why, whyn, "out of pool memory");
    else {
        UINTN n = (UINTN)size;
        st = f->Read(f, &n, buf);
        if (EFI_ERROR(st) || n != size) {
            fmt_snprintf(why, whyn, "read failed (status 0x%lx, %lu of %lu bytes)", (unsigned long)st,
                         (unsigned long)n, (unsigned long)size);
            FreePool(buf);
            buf = NULL;
        }
    }
    f->Close(f);
    *len = (size_t)size;
    return buf;
}

/* True when [base, base+len) lies in memory-map descriptors that are
 * memory (not MMIO, not unusable): the OpRegion and a 2.0 extended VBT are
 * addresses the firmware wrote into registers, not to be trusted blindly. */
static bool in_memory_map(uint64_t base, uint64_t len)
{
    UINTN entries, key, desc_size;
    UINT32 desc_version;
    if (!len || base > UINT64_MAX - len)
        return false;
    EFI_MEMORY_DESCRIPTOR *map = LibMemoryMap(&entries, &key, &desc_size, &desc_version);
    if (!map)
        return false;
    uint64_t cur = base, end = base + len;
    for (UINTN pass = 0; pass <= entries && cur < end; pass++) {
        bool moved = false;
        for (UINTN i = 0; i < entries; i++) {
            EFI_MEMORY_DESCRIPTOR *d = (EFI_MEMORY_DESCRIPTOR *)((uint8_t *)map + i * desc_size);
            uint64_t dend = d->PhysicalStart + d->NumberOfPages * PAGE_SIZE;
            if (d->Type == EfiMemoryMappedIO || d->Type == EfiMemoryMappedIOPortSpace ||
                d->Type == EfiUnusableMemory || cur < d->PhysicalStart || cur >= dend)
                continue;
            cur = dend;
            moved = true;
            break;
        }
        if (!moved)
            break;
    }
    FreePool(map);
    return cur >= end;
}

/* The PciIo instance the firmware made for bus:dev.fn (UEFI 2.10 14.4,
 * GetLocation); NULL when there is none. */
static EFI_PCI_IO_PROTOCOL *find_pciio(uint16_t seg, uint8_t bus, uint8_t dev, uint8_t fn)
{
    UINTN n = 0;
    EFI_HANDLE *h = NULL;
    EFI_PCI_IO_PROTOCOL *found = NULL;
    if (EFI_ERROR(LibLocateHandle(ByProtocol, &PciIoProtocol, NULL, &n, &h)) || !h)
        return NULL;
    for (UINTN i = 0; i < n && !found; i++) {
        EFI_PCI_IO_PROTOCOL *io = NULL;
        UINTN s, b, d, f;
        if (EFI_ERROR(BS->HandleProtocol(h[i], &PciIoProtocol, (void **)&io)) || !io ||
            EFI_ERROR(io->GetLocation(io, &s, &b, &d, &f)))
            continue;
        if (s == seg && b == bus && d == dev && f == fn)
            found = io;
    }
    FreePool(h);
    return found;
}

static void read_cfg(const struct platform *p, uint8_t bus, uint8_t dev, uint8_t fn, uint8_t *out, unsigned len)
{
    for (unsigned off = 0; off < len; off += 4) {
        uint32_t v = platform_cfg_read32(p, bus, dev, fn, (uint16_t)off);
        memcpy(out + off, &v, 4);
    }
}

/* ---- ROM ---- */

static void choose_rom(const struct minihv_config *cfg, const struct pci_dev_info *d, EFI_HANDLE volume,
                       struct pt_prep *out)
{
    struct minihv_passthrough *pt = &out->pt;
    bool igd = pt->flags & MINIHV_PT_IGD;
    struct igd_rom_candidate cand[IGD_ROM_SRC_COUNT] = { { NULL, 0 } };
    const char *pciio_note = "no PciIo instance";
    char file_note[96] = "not configured";

    if (igd) /* legacy VGA shadow: always decoded below 1 MiB */
        cand[IGD_ROM_SRC_SHADOW] = (struct igd_rom_candidate){ (const void *)(uintptr_t)IGD_ROM_SHADOW_BASE,
                                                               PT_SHADOW_LEN };
    EFI_PCI_IO_PROTOCOL *io = find_pciio(pt->segment, pt->bus, pt->dev, pt->fn);
    if (io && io->RomImage && io->RomSize) {
        cand[IGD_ROM_SRC_PCIIO] = (struct igd_rom_candidate){ io->RomImage, (size_t)io->RomSize };
        pciio_note = NULL;
    } else if (io) {
        pciio_note = "no RomImage";
    }
    if (cfg->rom[0]) {
        size_t len = 0;
        uint8_t *buf = read_esp_file(volume, cfg->rom, PT_ROM_MAX_REGION, &len, file_note, sizeof(file_note));
        if (buf)
            cand[IGD_ROM_SRC_FILE] = (struct igd_rom_candidate){ buf, len };
        else
            log_line("passthrough: rom file %s: %s", cfg->rom, file_note);
    }

    static struct pt_rom_pick pick;
    int rc = pt_rom_pick(cand, igd, d->vendor, d->device, pt->rom_bar_size, &pick);
    /* Every candidate that was there but unusable, with the reason. */
    for (int s = 0; s < IGD_ROM_SRC_COUNT; s++)
        if (cand[s].buf && (rc || (int)pick.source - 1 > s) && pick.errs[s].field)
            log_line("passthrough: ROM from %s rejected: %s", pt_rom_source_name((uint32_t)s + 1),
                     igd_why(&pick.errs[s]));
    if (rc) {
        log_line("passthrough: ROM none (%sPciIo: %s, file: %s)", igd ? "shadow: no usable image, " : "",
                 pciio_note ? pciio_note : "rejected", cfg->rom[0] && cand[IGD_ROM_SRC_FILE].buf ? "rejected" : file_note);
        return;
    }
    char kinds[64], region[32];
    pt_rom_kinds(&pick.info, kinds, sizeof(kinds));
    pt_size_str(pick.region_size, region, sizeof(region));
    out->rom = cand[pick.source - 1].buf;
    out->rom_len = pick.len;
    pt->rom_len = pick.len;
    pt->rom_region_size = pick.region_size;
    pt->rom_source = pick.source;
    log_line("passthrough: ROM %u bytes from %s (%s), region %s", pick.len, pt_rom_source_name(pick.source),
             kinds, region);
}

/* ---- IGD OpRegion ---- */

/* The host OpRegion at ASLS, bounded by its own size field and (2.1+) its
 * relative extended VBT. 0 with *buf, *len, *info; -1 when unusable. */
static int host_opregion(uint32_t asls, const uint8_t **buf, size_t *len, struct igd_opregion_info *info)
{
    const uint8_t *h = (const uint8_t *)(uintptr_t)asls;
    struct field_error err = { 0 };
    if (!in_memory_map(asls, IGD_OPREGION_SIZE)) {
        log_line("passthrough: host OpRegion: ASLS 0x%x is not in the memory map", asls);
        return -1;
    }
    uint64_t size = (uint64_t)le32(h + IGD_OPREGION_SIZE_OFF) * 1024, need = size;
    uint16_t version = le16(h + IGD_OPREGION_VERSION_OFF);
    if (version >= 0x0201 && (le32(h + IGD_OPREGION_MBOXES_OFF) & IGD_MBOX_ASLE)) {
        uint64_t rvda = le64(h + IGD_OPREGION_RVDA_OFF), rvds = le32(h + IGD_OPREGION_RVDS_OFF);
        if (rvda && rvds)
            need = rvda <= PT_OPREGION_MAX && rvds <= PT_OPREGION_MAX ? MAX(need, rvda + rvds) : UINT64_MAX;
    }
    if (need > PT_OPREGION_MAX) {
        log_line("passthrough: host OpRegion at 0x%x rejected: size/asle.rvda: more than 1 MiB", asls);
        return -1;
    }
    need = MAX(need, IGD_OPREGION_SIZE);
    if (!in_memory_map(asls, need)) {
        log_line("passthrough: host OpRegion at 0x%x rejected: size: %lu bytes run out of the memory map",
                 asls, (unsigned long)need);
        return -1;
    }
    if (igd_opregion_parse(h, (size_t)need, asls, info, &err)) {
        log_line("passthrough: host OpRegion at 0x%x rejected: %s", asls, igd_why(&err));
        return -1;
    }
    *buf = h;
    *len = (size_t)need;
    return 0;
}

static void build_opregion(const struct minihv_config *cfg, const struct pci_dev_info *d, EFI_HANDLE volume,
                           struct minihv_passthrough *pt)
{
    static uint8_t synth[IGD_OPREGION_SIZE];
    const uint8_t *host = NULL, *abs_vbt = NULL;
    size_t host_len = 0;
    struct igd_opregion_info info;
    struct field_error err = { 0 };
    uint32_t asls = le32(pt->cfg + PT_IGD_ASLS);

    if (pt->flags & MINIHV_PT_IGD_FORCED) {
        /* An emulated device has no OpRegion: make up the smallest valid one. */
        uint32_t mboxes = IGD_MBOX_ACPI | IGD_MBOX_SWSCI | IGD_MBOX_ASLE;
        if (igd_opregion_synthesize(synth, sizeof(synth), 0x0200, mboxes, &err) ||
            igd_opregion_parse(synth, sizeof(synth), 0, &info, &err)) {
            log_line("passthrough: synthesized OpRegion rejected: %s", igd_why(&err));
            return;
        }
        host = synth;
        host_len = sizeof(synth);
        log_line("passthrough: host OpRegion: none (%02x:%02x.%x %04x:%04x is no IGD, igd_force = 1): "
                 "synthesized 8 KiB, version 2.0, mailboxes ACPI SWSCI ASLE, no VBT",
                 pt->bus, pt->dev, pt->fn, d->vendor, d->device);
    } else {
        if (asls == 0 || asls == 0xffffffff) {
            log_line("passthrough: host OpRegion: none (ASLS, config 0x%x, is 0x%x)", PT_IGD_ASLS, asls);
            return;
        }
        if (host_opregion(asls, &host, &host_len, &info))
            return;
        if (info.vbt_where == IGD_VBT_RVDA_ABSOLUTE) {
            if (!in_memory_map(info.rvda, info.rvds) || info.rvds > PT_OPREGION_MAX) {
                log_line("passthrough: host OpRegion at 0x%x rejected: asle.rvda: extended VBT 0x%lx+%u "
                         "is not in the memory map", asls, (unsigned long)info.rvda, info.rvds);
                return;
            }
            abs_vbt = (const uint8_t *)(uintptr_t)info.rvda;
        }
        log_line("passthrough: host OpRegion %u.%u at ASLS 0x%x: %u KiB, mailboxes 0x%x, VBT %u bytes %s",
                 info.version >> 8, info.version & 0xff, asls, info.size >> 10, info.mboxes,
                 info.vbt_where ? info.vbt_len : 0, igd_vbt_where_name(info.vbt_where));
    }

    /* `vbt =`: the only VBT the guest sees. A bad file is left out. */
    uint8_t *vbt = NULL;
    size_t vbt_len = 0;
    if (cfg->vbt[0]) {
        char why[96];
        struct igd_vbt_summary *sum = AllocatePool(sizeof(*sum));
        vbt = read_esp_file(volume, cfg->vbt, PT_VBT_FILE_MAX, &vbt_len, why, sizeof(why));
        if (!vbt) {
            log_line("passthrough: vbt file %s: %s; the host's VBT stays", cfg->vbt, why);
        } else if (!sum || igd_vbt_parse(vbt, vbt_len, sum, &err)) {
            log_line("passthrough: vbt file %s rejected: %s; the host's VBT stays", cfg->vbt,
                     sum ? igd_why(&err) : "out of pool memory");
            FreePool(vbt);
            vbt = NULL;
            vbt_len = 0;
        }
        if (sum)
            FreePool(sum);
    }

    uint64_t need = igd_opregion_guest_size(&info, vbt_len);
    UINTN pages = (UINTN)(ALIGN_UP(need, PAGE_SIZE) / PAGE_SIZE);
    EFI_PHYSICAL_ADDRESS pa = 0xFFFFFFFF; /* ASLS is 32 bits */
    if (EFI_ERROR(BS->AllocatePages(AllocateMaxAddress, EfiACPIMemoryNVS, pages, &pa))) {
        log_line("passthrough: guest OpRegion: cannot allocate %lu pages of ACPI NVS below 4 GiB",
                 (unsigned long)pages);
        return;
    }
    uint8_t *out = (uint8_t *)(uintptr_t)pa;
    size_t out_len = 0;
    memset(out, 0, pages * PAGE_SIZE);
    if (igd_opregion_build_guest(host, host_len, &info, abs_vbt, abs_vbt ? info.rvds : 0, vbt, vbt_len, out,
                                 pages * PAGE_SIZE, &out_len, &err)) {
        log_line("passthrough: guest OpRegion not built: %s", igd_why(&err));
        BS->FreePages(pa, pages);
        return;
    }

    uint16_t gver = le16(out + IGD_OPREGION_VERSION_OFF);
    const char *from = vbt ? "vbt file" : "the host";
    char what[96];
    if (out_len > info.size)
        fmt_snprintf(what, sizeof(what), " + %lu-byte extended VBT from %s", (unsigned long)(out_len - info.size), from);
    else if (vbt)
        fmt_snprintf(what, sizeof(what), ", %lu-byte VBT in mailbox 4 from vbt file", (unsigned long)vbt_len);
    else if (info.vbt_where == IGD_VBT_MAILBOX4)
        fmt_snprintf(what, sizeof(what), ", VBT in mailbox 4 from the host");
    else
        fmt_snprintf(what, sizeof(what), ", no VBT");
    /* The copy must read back as the guest's i915 will read it. */
    struct igd_opregion_info ginfo;
    char vbt_sum[48] = "";
    if (igd_opregion_parse(out, out_len, pa, &ginfo, &err)) {
        log_line("passthrough: guest OpRegion does not parse back: %s; not presented", igd_why(&err));
        BS->FreePages(pa, pages);
        return;
    }
    if (ginfo.vbt_where != IGD_VBT_NONE)
        fmt_snprintf(vbt_sum, sizeof(vbt_sum), ", VBT fnv1a 0x%08x",
                     pt_fnv1a32(out + ginfo.vbt_offset, vbt ? vbt_len : ginfo.vbt_len));
    pt->opregion_phys = pa;
    pt->opregion_len = (uint32_t)out_len;
    log_line("passthrough: IGD OpRegion %u.%u at 0x%lx (%u KiB%s)%s", gver >> 8, gver & 0xff,
             (unsigned long)pa, info.size >> 10, what, vbt_sum);
    if (vbt)
        FreePool(vbt);
}

/* ---- bridges ---- */

/* want_class 0: any function there (the host bridge is 00:00.0 by
 * definition); else base class << 8 | subclass. */
static void copy_bridge(const struct platform *p, uint8_t dev, uint16_t want_class, struct minihv_pt_bridge *b,
                        char *note, size_t n)
{
    uint32_t id = platform_cfg_read32(p, 0, dev, 0, PCI_VENDOR_ID);
    uint32_t cls = platform_cfg_read32(p, 0, dev, 0, PCI_CLASS_REVISION) >> 8;
    if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0) {
        fmt_snprintf(note, n, "00:%02x.0 absent", dev);
        return;
    }
    if (want_class && (cls >> 8) != want_class) {
        fmt_snprintf(note, n, "00:%02x.0 %04x:%04x class %06x is no %s: left out", dev, id & 0xffff, id >> 16,
                     cls, "LPC/ISA bridge");
        return;
    }
    b->present = 1;
    b->bus = 0;
    b->dev = dev;
    b->fn = 0;
    read_cfg(p, 0, dev, 0, b->cfg, sizeof(b->cfg));
    fmt_snprintf(note, n, "00:%02x.0 %04x:%04x", dev, id & 0xffff, id >> 16);
}

/* config_guard (boot/config.h): the core guards other functions' config
 * registers (PMBASE, PCIEXBAR, the IOMMU's base) only where it traps
 * config space: with a passthrough device, or with config_guard = on,
 * for which the snapshot carries segment 0's ECAM window and no device.
 * One line says which and why. */
static void config_guard_prepare(const struct minihv_config *cfg, const struct platform *p,
                                 struct minihv_passthrough *pt)
{
    if (pt->present) {
        log_line("config: config_guard %s: the passthrough device traps config space (CONFIG_DATA, the guarded "
                 "functions' ECAM pages): PMBASE, PCIEXBAR and the IOMMU's base guarded where the chipset has them",
                 config_guard_name(cfg->config_guard));
        return;
    }
    if (cfg->config_guard != CONFIG_GUARD_ON) {
        log_line("config: config_guard auto: no passthrough device, config space not trapped: PMBASE, PCIEXBAR and "
                 "the IOMMU's base NOT guarded (config_guard = on: ~25,000 more exits a Linux boot)");
        return;
    }
    pt->flags = MINIHV_PT_CONFIG_GUARD;
    pt->segment = 0;
    if (p->have_acpi)
        pt_find_ecam(pt, p->acpi.mcfg, p->acpi.mcfg_count, 0, 0);
    if (pt->ecam_base)
        log_line("config: config_guard on: no passthrough device, CONFIG_DATA 0xcfc-0xcff and the guarded functions' "
                 "ECAM pages trapped (ECAM 0x%lx, buses %02x-%02x): PMBASE, PCIEXBAR and the IOMMU's base guarded",
                 (unsigned long)pt->ecam_base, pt->ecam_bus_start, pt->ecam_bus_end);
    else
        log_line("config: config_guard on: no passthrough device, 0xcf8-0xcff trapped (no MCFG for segment 0): "
                 "PMBASE and the IOMMU's base guarded");
}

void passthrough_prepare(const struct minihv_config *cfg, const struct platform *p, EFI_HANDLE volume,
                         struct pt_prep *out)
{
    memset(out, 0, sizeof(*out));
    if (p->passthrough_index < 0) {
        config_guard_prepare(cfg, p, &out->pt);
        return;
    }
    const struct pci_dev_info *d = &p->pci[p->passthrough_index];
    struct minihv_passthrough *pt = &out->pt;
    uint32_t flags = pt_flags(d, cfg);
    if (cfg->igd_force && !(flags & MINIHV_PT_IGD_FORCED))
        log_line("passthrough: igd_force = 1 has no effect: %02x:%02x.%x is an IGD", d->bus, d->dev, d->fn);
    pt_fill_device(pt, d, 0, flags);
    /* After pci_scan sized the BARs and put every register back. */
    pt->cfg_len = p->ecam ? MINIHV_PT_CFG_MAX : 256;
    read_cfg(p, d->bus, d->dev, d->fn, pt->cfg, pt->cfg_len);
    if (p->have_acpi)
        pt_find_ecam(pt, p->acpi.mcfg, p->acpi.mcfg_count, 0, d->bus);

    char line[300];
    pt_describe(pt, d, line, sizeof(line));
    log_line("passthrough: %s", line);
    if (pt->ecam_base)
        log_line("passthrough: ECAM for the core's traps: 0x%lx, buses %02x-%02x",
                 (unsigned long)pt->ecam_base, pt->ecam_bus_start, pt->ecam_bus_end);
    config_guard_prepare(cfg, p, pt);

    choose_rom(cfg, d, volume, out);
    if (!(flags & MINIHV_PT_IGD))
        return;
    build_opregion(cfg, d, volume, pt);
    char host[96], lpc[96];
    copy_bridge(p, 0x00, 0, &pt->host_bridge, host, sizeof(host));
    copy_bridge(p, 0x1f, PCI_CLASS_BRIDGE_ISA, &pt->lpc_bridge, lpc, sizeof(lpc));
    log_line("passthrough: bridges for the guest (read-only, 256-byte copies): host %s, LPC %s", host, lpc);
}
