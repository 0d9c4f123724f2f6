/* Config-space virtualization: see config.h. */
#include <minihv/libc.h>

#include "config.h"
#include "msi.h"
#include "pcicfg.h"

/* The guest may flip decode, bus mastering and error reporting; special
 * cycles, MWI, palette snoop and fast back-to-back stay as the firmware
 * left them. INTx disable is the guest's: it owns the interrupt. */
#define COMMAND_WRITABLE (CFG_COMMAND_IO | CFG_COMMAND_MEMORY | CFG_COMMAND_MASTER | \
                          CFG_COMMAND_PARITY | CFG_COMMAND_SERR | CFG_COMMAND_INTX_DISABLE)

static int fail(struct vfio_error *err, const char *what, uint32_t offset, int code)
{
    err->what = what;
    err->offset = offset;
    return code;
}

static bool is_pow2(uint64_t v)
{
    return v && !(v & (v - 1));
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* p_setb/p_setw/p_setd in vfio_pci_config.c: masks are little-endian
 * values spread over len bytes. */
static void set_perm(struct vfio_config *c, uint32_t off, uint32_t len, uint32_t virt,
                     uint32_t write)
{
    for (uint32_t i = 0; i < len && off + i < c->size; i++) {
        c->virt[off + i] = (uint8_t)(virt >> (8 * i));
        c->write[off + i] = (uint8_t)(write >> (8 * i));
    }
}

static int phys_read(struct vfio_config *c, uint32_t off, uint8_t *buf, size_t len)
{
    if (c->ops && c->ops->phys_read)
        return c->ops->phys_read(c->opaque, (uint16_t)off, buf, len) < 0 ? VFIO_EIO : 0;
    memcpy(buf, c->phys + off, len);
    return 0;
}

static int phys_write(struct vfio_config *c, uint32_t off, const uint8_t *buf, size_t len)
{
    if (c->ops && c->ops->phys_write)
        return c->ops->phys_write(c->opaque, (uint16_t)off, buf, len) < 0 ? VFIO_EIO : 0;
    memcpy(c->phys + off, buf, len);
    return 0;
}

/* ---- BARs ---- */

static uint32_t bar_reg(uint32_t bar)
{
    return bar == VFIO_CONFIG_ROM_BAR ? CFG_ROM_ADDRESS : CFG_BASE_ADDRESS_0 + 4 * bar;
}

uint64_t vfio_config_bar_addr(const struct vfio_config *c, uint32_t bar)
{
    if (bar >= VFIO_CONFIG_BARS)
        return 0;
    const struct vfio_bar *b = &c->bars[bar];
    uint32_t lo = le32(c->vconfig + bar_reg(bar));
    switch (b->kind) {
    case VFIO_BAR_IO:
        return lo & ~(uint32_t)CFG_BAR_IO_FLAGS;
    case VFIO_BAR_MEM32:
        return lo & ~(uint32_t)CFG_BAR_MEM_FLAGS;
    case VFIO_BAR_MEM64:
        return (uint64_t)le32(c->vconfig + bar_reg(bar + 1)) << 32 | (lo & ~(uint32_t)CFG_BAR_MEM_FLAGS);
    case VFIO_BAR_ROM:
        return lo & CFG_ROM_ADDR_MASK;
    default:
        return 0;
    }
}

static bool bar_decode(const struct vfio_config *c, uint32_t bar, uint16_t cmd)
{
    switch (c->bars[bar].kind) {
    case VFIO_BAR_IO:
        return cmd & CFG_COMMAND_IO;
    case VFIO_BAR_MEM32:
    case VFIO_BAR_MEM64:
        return cmd & CFG_COMMAND_MEMORY;
    case VFIO_BAR_ROM:
        return (cmd & CFG_COMMAND_MEMORY) && (le32(c->vconfig + CFG_ROM_ADDRESS) & CFG_ROM_ENABLE);
    default:
        return false;
    }
}

/* vfio_bar_fixup: only the address bits above the size are writable, the
 * type bits are the device's. Writing all-ones therefore reads back the
 * size mask, which is how the guest sizes the BAR. */
static void bar_fixup(struct vfio_config *c, uint32_t bar)
{
    const struct vfio_bar *b = &c->bars[bar];
    uint8_t *reg = c->vconfig + bar_reg(bar);
    uint32_t v = le32(reg);
    uint64_t keep = ~(b->size - 1);

    switch (b->kind) {
    case VFIO_BAR_IO:
        put32(reg, (v & (uint32_t)keep & ~(uint32_t)CFG_BAR_IO_FLAGS) | CFG_BAR_SPACE_IO);
        break;
    case VFIO_BAR_MEM32:
        put32(reg, (v & (uint32_t)keep & ~(uint32_t)CFG_BAR_MEM_FLAGS) |
                       (c->phys[bar_reg(bar)] & CFG_BAR_MEM_FLAGS));
        break;
    case VFIO_BAR_MEM64:
        put32(reg, (v & (uint32_t)keep & ~(uint32_t)CFG_BAR_MEM_FLAGS) |
                       (c->phys[bar_reg(bar)] & CFG_BAR_MEM_FLAGS));
        put32(reg + 4, le32(reg + 4) & (uint32_t)(keep >> 32));
        break;
    case VFIO_BAR_MEM64_HI:
        if (c->bars[bar - 1].kind == VFIO_BAR_MEM64)
            bar_fixup(c, bar - 1);
        else
            put32(reg, 0);
        break;
    case VFIO_BAR_ROM:
        put32(reg, (v & (uint32_t)keep & CFG_ROM_ADDR_MASK) | (v & CFG_ROM_ENABLE));
        break;
    case VFIO_BAR_ABSENT:
        /* Unimplemented BARs read as zero and ignore writes. */
        put32(reg, 0);
        break;
    }
}

static void bar_notify(struct vfio_config *c, uint32_t bar, uint16_t cmd)
{
    struct vfio_bar *b = &c->bars[bar];
    if (b->kind == VFIO_BAR_ABSENT || b->kind == VFIO_BAR_MEM64_HI)
        return;
    uint64_t addr = vfio_config_bar_addr(c, bar);
    bool decode = bar_decode(c, bar, cmd);
    if (addr == b->reported_addr && decode == b->reported_decode)
        return;
    b->reported_addr = addr;
    b->reported_decode = decode;
    if (c->ops && c->ops->bar_remap)
        c->ops->bar_remap(c->opaque, bar, addr, b->size, decode);
}

static int init_bars(struct vfio_config *c, const uint64_t bar_sizes[6], uint64_t rom_size,
                     struct vfio_error *err)
{
    for (uint32_t i = 0; i < 6; i++) {
        uint32_t reg = bar_reg(i);
        uint32_t v = le32(c->phys + reg);
        uint64_t size = bar_sizes[i];
        struct vfio_bar *b = &c->bars[i];

        set_perm(c, reg, 4, 0xffffffff, 0xffffffff);
        if (b->kind == VFIO_BAR_MEM64_HI) {
            if (size)
                return fail(err, "BAR size given for the upper half of a 64-bit BAR", reg, VFIO_EINVAL);
            bar_fixup(c, i);
            continue;
        }
        if (v & CFG_BAR_SPACE_IO) {
            if (size && (!is_pow2(size) || size < 4 || size > 0x10000))
                return fail(err, "I/O BAR size not a power of two in 4..64K", reg, VFIO_EINVAL);
            b->kind = size ? VFIO_BAR_IO : VFIO_BAR_ABSENT;
        } else {
            uint32_t type = v & CFG_BAR_MEM_TYPE_MASK;
            if (type == CFG_BAR_MEM_TYPE_MASK)
                return fail(err, "BAR memory type 3 is reserved", reg, VFIO_EINVAL);
            if (type == CFG_BAR_MEM_TYPE_64) {
                if (i == 5)
                    return fail(err, "64-bit BAR5 has no upper half", reg, VFIO_EINVAL);
                c->bars[i + 1].kind = VFIO_BAR_MEM64_HI;
                if (size && (!is_pow2(size) || size < 16 || size > (1ull << 63)))
                    return fail(err, "64-bit BAR size not a power of two >= 16", reg, VFIO_EINVAL);
                b->kind = size ? VFIO_BAR_MEM64 : VFIO_BAR_ABSENT;
            } else {
                if (size && (!is_pow2(size) || size < 16 || size > (1ull << 31)))
                    return fail(err, "32-bit BAR size not a power of two in 16..2G", reg, VFIO_EINVAL);
                b->kind = size ? VFIO_BAR_MEM32 : VFIO_BAR_ABSENT;
            }
            b->prefetch = v & CFG_BAR_MEM_PREFETCH;
        }
        b->size = size;
        /* Address bits below the size are hard-wired to zero in a real
         * device: set ones mean the given size is wrong. */
        if (size && (vfio_config_bar_addr(c, i) & (size - 1)))
            return fail(err, "BAR address not aligned to the given size", reg, VFIO_EINVAL);
        bar_fixup(c, i);
    }

    struct vfio_bar *rom = &c->bars[VFIO_CONFIG_ROM_BAR];
    set_perm(c, CFG_ROM_ADDRESS, 4, 0xffffffff, 0xffffffff);
    if (rom_size) {
        if (!is_pow2(rom_size) || rom_size < 2048 || rom_size > (1ull << 31))
            return fail(err, "ROM size not a power of two in 2K..2G", CFG_ROM_ADDRESS, VFIO_EINVAL);
        rom->kind = VFIO_BAR_ROM;
        rom->size = rom_size;
        if (le32(c->phys + CFG_ROM_ADDRESS) & CFG_ROM_ADDR_MASK & (rom_size - 1))
            return fail(err, "ROM BAR address not aligned to the ROM size", CFG_ROM_ADDRESS, VFIO_EINVAL);
    }
    bar_fixup(c, VFIO_CONFIG_ROM_BAR);

    uint16_t cmd = le16(c->phys + CFG_COMMAND);
    for (uint32_t i = 0; i < VFIO_CONFIG_BARS; i++) {
        c->bars[i].reported_addr = vfio_config_bar_addr(c, i);
        c->bars[i].reported_decode = bar_decode(c, i, cmd);
    }
    c->last_command = cmd & (CFG_COMMAND_IO | CFG_COMMAND_MEMORY);
    return 0;
}

/* ---- capabilities ---- */

/* pci_cap_length[] / vfio_cap_len(): 0 for a malformed length. Unknown
 * capabilities get just their header: the body stays read-only. */
static uint32_t cap_len(const struct vfio_config *c, uint8_t id, uint32_t pos)
{
    switch (id) {
    case CFG_CAP_ID_PM:
        return CFG_PM_SIZEOF;
    case CFG_CAP_ID_MSI:
        return vfio_msi_cap_len(le16(c->phys + pos + CFG_MSI_FLAGS));
    case CFG_CAP_ID_VNDR:
        /* The length byte follows the next pointer and counts the header. */
        return c->phys[pos + CFG_VNDR_LENGTH] >= 3 ? c->phys[pos + CFG_VNDR_LENGTH] : 0;
    case CFG_CAP_ID_EXP:
        return (le16(c->phys + pos + CFG_EXP_FLAGS) & CFG_EXP_FLAGS_VERS) >= 2 ? CFG_EXP_SIZEOF_V2
                                                                               : CFG_EXP_SIZEOF_V1;
    case CFG_CAP_ID_MSIX:
        return CFG_MSIX_SIZEOF;
    default:
        return 2;
    }
}

static void cap_perms(struct vfio_config *c, uint8_t id, uint32_t pos, uint32_t len)
{
    /* The id and next pointer are virtual like PCI_CAPABILITY_LIST, so a
     * capability could be hidden by relinking the chain. */
    set_perm(c, pos, 2, 0xffff, 0);
    switch (id) {
    case CFG_CAP_ID_PM:
        /* init_pci_cap_pm_perm: everything but the power state. */
        set_perm(c, pos + CFG_PM_CTRL, 2, 0, (uint16_t)~CFG_PM_CTRL_STATE_MASK);
        c->pm_pos = (uint8_t)pos;
        break;
    case CFG_CAP_ID_MSI: {
        /* Fully virtual: the hypervisor programs the device from the
         * state handed to msi_update. Pending bits stay the device's. */
        uint16_t flags = le16(c->phys + pos + CFG_MSI_FLAGS);
        bool is64 = flags & CFG_MSI_FLAGS_64BIT;
        for (uint32_t i = pos + 2; i < pos + len; i++) {
            c->virt[i] = 0xff;
            c->write[i] = 0;
        }
        set_perm(c, pos + CFG_MSI_FLAGS, 2, 0xffff, CFG_MSI_FLAGS_ENABLE | CFG_MSI_FLAGS_QSIZE);
        set_perm(c, pos + CFG_MSI_ADDRESS_LO, 4, 0xffffffff, 0xfffffffc);
        if (is64)
            set_perm(c, pos + CFG_MSI_ADDRESS_HI, 4, 0xffffffff, 0xffffffff);
        set_perm(c, pos + (is64 ? CFG_MSI_DATA_64 : CFG_MSI_DATA_32), 2, 0xffff, 0xffff);
        if (flags & CFG_MSI_FLAGS_MASKBIT) {
            uint32_t mask = pos + (is64 ? CFG_MSI_MASK_64 : CFG_MSI_MASK_32);
            set_perm(c, mask, 4, 0xffffffff, 0xffffffff);
            set_perm(c, mask + 4, 4, 0, 0);
        }
        c->msi_pos = (uint8_t)pos;
        c->msi_len = (uint8_t)len;
        break;
    }
    case CFG_CAP_ID_MSIX:
        /* init_pci_cap_msix_perm: enable and function mask are the guest's,
         * table and PBA locations read-only. */
        set_perm(c, pos + CFG_MSIX_FLAGS, 2, 0xffff, CFG_MSIX_FLAGS_ENABLE | CFG_MSIX_FLAGS_MASKALL);
        set_perm(c, pos + CFG_MSIX_TABLE, 4, 0xffffffff, 0);
        set_perm(c, pos + CFG_MSIX_PBA, 4, 0xffffffff, 0);
        c->msix_pos = (uint8_t)pos;
        break;
    case CFG_CAP_ID_EXP: {
        /* init_pci_cap_exp_perm: device and link control are the guest's,
         * but not Initiate FLR: a reset under the hypervisor's feet. */
        set_perm(c, pos + CFG_EXP_DEVCTL, 2, 0, (uint16_t)~CFG_EXP_DEVCTL_BCR_FLR);
        set_perm(c, pos + CFG_EXP_LNKCTL, 2, 0, 0xffff);
        if (len >= CFG_EXP_SIZEOF_V2)
            set_perm(c, pos + CFG_EXP_DEVCTL2, 2, 0, 0xffff);
        c->exp_pos = (uint8_t)pos;
        break;
    }
    default:
        /* Vendor-specific and others: read-only passthrough. Linux passes
         * vendor capabilities raw; we keep the guest from writing them. */
        break;
    }
}

/* vfio_cap_init, stricter: a pointer into the header, a loop, a
 * capability past the end or two capabilities overlapping make the dump
 * malformed instead of being silently cut short. */
static int init_caps(struct vfio_config *c, struct vfio_error *err)
{
    uint8_t seen[CFG_SPACE_SIZE / 4] = {0};
    uint32_t ptr_at = CFG_CAPABILITY_LIST;
    /* Bottom two bits of every pointer are reserved (PCI 3.0 6.7). */
    uint32_t pos = c->phys[CFG_CAPABILITY_LIST] & ~3u;

    if (!(le16(c->phys + CFG_STATUS) & CFG_STATUS_CAP_LIST))
        return 0;
    while (pos) {
        if (pos < CFG_STD_HEADER_SIZE)
            return fail(err, "capability pointer into the standard header", ptr_at, VFIO_EINVAL);
        if (seen[pos / 4])
            return fail(err, "capability chain loops", ptr_at, VFIO_ELOOP);
        seen[pos / 4] = 1;

        uint8_t id = c->phys[pos + CFG_CAP_LIST_ID];
        uint32_t len = cap_len(c, id, pos);
        if (!len)
            return fail(err, "vendor capability length below 3", pos + CFG_VNDR_LENGTH, VFIO_EINVAL);
        if (!range_ok(pos, len, CFG_SPACE_SIZE))
            return fail(err, "capability runs past the end of config space", pos, VFIO_EINVAL);
        for (uint32_t i = pos; i < pos + len; i++)
            if (c->owner[i])
                return fail(err, "capability overlaps another capability", pos, VFIO_EINVAL);
        if ((id == CFG_CAP_ID_MSI && c->msi_pos) || (id == CFG_CAP_ID_MSIX && c->msix_pos) ||
            (id == CFG_CAP_ID_EXP && c->exp_pos) || (id == CFG_CAP_ID_PM && c->pm_pos))
            return fail(err, "capability appears twice", pos, VFIO_EINVAL);
        memset(c->owner + pos, (int)pos, len);
        cap_perms(c, id, pos, len);

        ptr_at = pos + CFG_CAP_LIST_NEXT;
        pos = c->phys[ptr_at] & ~3u;
    }
    return 0;
}

/* The extended chain is passed through read-only; it is walked only to
 * reject dumps whose chain loops or points back into the legacy space. */
static int check_ext_caps(struct vfio_config *c, struct vfio_error *err)
{
    uint8_t seen[CFG_SPACE_EXP_SIZE / 4 / 8] = {0};
    uint32_t pos = CFG_EXT_CAP_START, ptr_at = CFG_EXT_CAP_START;
    uint32_t hdr = le32(c->phys + pos);

    if (hdr == 0 || hdr == 0xffffffff)
        return 0;
    while (pos) {
        if (pos < CFG_EXT_CAP_START)
            return fail(err, "extended capability pointer below 0x100", ptr_at, VFIO_EINVAL);
        if (seen[pos / 32] & (1u << (pos / 4 % 8)))
            return fail(err, "extended capability chain loops", ptr_at, VFIO_ELOOP);
        seen[pos / 32] |= (uint8_t)(1u << (pos / 4 % 8));
        hdr = le32(c->phys + pos);
        if (hdr == 0)
            break;
        ptr_at = pos;
        pos = CFG_EXT_CAP_NEXT(hdr);
    }
    return 0;
}

/* ---- init ---- */

int vfio_config_init(struct vfio_config *c, const uint8_t *config, size_t len,
                     const uint64_t bar_sizes[6], uint64_t rom_size, struct vfio_error *err)
{
    int ret;

    memset(c, 0, sizeof(*c));
    if (!config || !bar_sizes)
        return fail(err, "no config dump", 0, VFIO_EINVAL);
    if (len != CFG_SPACE_SIZE && len != CFG_SPACE_EXP_SIZE)
        return fail(err, "config dump is not 256 or 4096 bytes", (uint32_t)MIN(len, UINT32_MAX),
                    VFIO_EINVAL);
    c->size = (uint32_t)len;
    memcpy(c->phys, config, len);
    memcpy(c->vconfig, config, len);

    if (le16(config + CFG_VENDOR_ID) == 0xffff)
        return fail(err, "vendor ID 0xffff: no device", CFG_VENDOR_ID, VFIO_EINVAL);
    /* vfio_pci_probe accepts only normal (type 0) headers. */
    if ((config[CFG_HEADER_TYPE] & CFG_HEADER_TYPE_MASK) != CFG_HEADER_TYPE_NORMAL)
        return fail(err, "header type is not 0 (bridges cannot be assigned)", CFG_HEADER_TYPE,
                    VFIO_EINVAL);

    /* vfio_config_init / init_pci_cap_basic_perm. */
    set_perm(c, CFG_VENDOR_ID, 2, 0xffff, 0);
    set_perm(c, CFG_DEVICE_ID, 2, 0xffff, 0);
    set_perm(c, CFG_COMMAND, 2, 0, COMMAND_WRITABLE);
    set_perm(c, CFG_STATUS, 2, CFG_STATUS_CAP_LIST, 0);
    set_perm(c, CFG_CACHE_LINE_SIZE, 1, 0, 0xff);
    set_perm(c, CFG_LATENCY_TIMER, 1, 0, 0xff);
    /* BIST stays read-only: starting a self-test resets device state. */
    set_perm(c, CFG_CAPABILITY_LIST, 1, 0xff, 0);
    set_perm(c, CFG_INTERRUPT_LINE, 1, 0xff, 0xff);
    set_perm(c, CFG_INTERRUPT_PIN, 1, 0xff, 0);

    if ((ret = init_bars(c, bar_sizes, rom_size, err)) < 0)
        return ret;
    if ((ret = init_caps(c, err)) < 0)
        return ret;
    if (len == CFG_SPACE_EXP_SIZE && (ret = check_ext_caps(c, err)) < 0)
        return ret;
    return 0;
}

void vfio_config_set_ops(struct vfio_config *c, const struct vfio_config_ops *ops, void *opaque)
{
    c->ops = ops;
    c->opaque = opaque;
}

/* ---- guest access ---- */

/* vfio_pci_config_rw splits accesses into naturally aligned pieces. */
static size_t chunk_len(uint64_t off, size_t len)
{
    if (len >= 4 && !(off & 3))
        return 4;
    if (len >= 2 && !(off & 1))
        return 2;
    return 1;
}

int vfio_config_read(struct vfio_config *c, uint64_t off, void *buf, size_t len)
{
    uint8_t *out = buf;

    if (!range_ok(off, len, c->size))
        return VFIO_ERANGE;
    while (len) {
        uint32_t o = (uint32_t)off;
        size_t n = chunk_len(off, len);
        uint8_t phys[4] = {0};
        bool need_phys = false;
        for (size_t i = 0; i < n; i++)
            need_phys |= c->virt[o + i] != 0xff;
        /* Skip the device when every bit is virtual: config reads can have
         * side effects (read-to-clear registers). */
        if (need_phys && phys_read(c, o, phys, n) < 0)
            return VFIO_EIO;
        for (size_t i = 0; i < n; i++)
            out[i] = (uint8_t)((phys[i] & ~c->virt[o + i]) | (c->vconfig[o + i] & c->virt[o + i]));
        out += n;
        off += n;
        len -= n;
    }
    return 0;
}

static bool overlaps(uint64_t off, size_t len, uint32_t start, uint32_t n)
{
    return off < (uint64_t)start + n && start < off + len;
}

/* The side effects of a write on the registers that have them. */
static void after_write(struct vfio_config *c, uint64_t off, size_t len)
{
    bool bars = false;
    for (uint32_t i = 0; i < VFIO_CONFIG_BARS; i++) {
        if (overlaps(off, len, bar_reg(i), 4)) {
            bar_fixup(c, i);
            bars = true;
        }
    }
    if (bars || overlaps(off, len, CFG_COMMAND, 2)) {
        uint8_t cmd[2];
        if (phys_read(c, CFG_COMMAND, cmd, 2) == 0) {
            c->last_command = le16(cmd) & (CFG_COMMAND_IO | CFG_COMMAND_MEMORY);
            for (uint32_t i = 0; i < VFIO_CONFIG_BARS; i++)
                bar_notify(c, i, c->last_command);
        }
    }
    if (c->msi_pos && overlaps(off, len, c->msi_pos + 2u, c->msi_len - 2u))
        vfio_msi_cap_written(c);
    if (c->msix_pos && c->msix && overlaps(off, len, c->msix_pos + CFG_MSIX_FLAGS, 2)) {
        uint16_t f = le16(c->vconfig + c->msix_pos + CFG_MSIX_FLAGS);
        vfio_msix_set_control(c->msix, f & CFG_MSIX_FLAGS_ENABLE, f & CFG_MSIX_FLAGS_MASKALL);
    }
    for (uint32_t i = 0; i < c->nvregs; i++) {
        const struct vfio_config_vreg *r = &c->vregs[i];
        if (!overlaps(off, len, r->off, r->len) || !r->changed)
            continue;
        uint32_t v = 0;
        for (uint32_t b = 0; b < r->len; b++)
            v |= (uint32_t)c->vconfig[r->off + b] << (8 * b);
        r->changed(r->opaque, r->off, v);
    }
}

int vfio_config_write(struct vfio_config *c, uint64_t off, const void *buf, size_t len)
{
    const uint8_t *in = buf;
    uint64_t start = off;
    size_t total = len;

    if (!range_ok(off, len, c->size))
        return VFIO_ERANGE;
    while (len) {
        uint32_t o = (uint32_t)off;
        size_t n = chunk_len(off, len);
        uint8_t phys_mask[4] = {0};
        bool to_phys = false;
        for (size_t i = 0; i < n; i++) {
            phys_mask[i] = c->write[o + i] & (uint8_t)~c->virt[o + i];
            to_phys |= phys_mask[i] != 0;
        }
        if (to_phys) {
            uint8_t phys[4];
            if (phys_read(c, o, phys, n) < 0)
                return VFIO_EIO;
            for (size_t i = 0; i < n; i++)
                phys[i] = (uint8_t)((phys[i] & ~phys_mask[i]) | (in[i] & phys_mask[i]));
            if (phys_write(c, o, phys, n) < 0)
                return VFIO_EIO;
        }
        for (size_t i = 0; i < n; i++) {
            uint8_t vmask = c->write[o + i] & c->virt[o + i];
            c->vconfig[o + i] = (uint8_t)((c->vconfig[o + i] & ~vmask) | (in[i] & vmask));
        }
        in += n;
        off += n;
        len -= n;
    }
    after_write(c, start, total);
    return 0;
}

int vfio_config_add_vreg(struct vfio_config *c, uint16_t off, uint8_t len, uint32_t init,
                         uint32_t write_mask,
                         void (*changed)(void *opaque, uint16_t off, uint32_t value),
                         void *opaque)
{
    if ((len != 1 && len != 2 && len != 4) || (off & (len - 1)) || !range_ok(off, len, c->size))
        return VFIO_EINVAL;
    /* The header and the MSI/MSI-X capabilities have their own emulation. */
    if (off < CFG_STD_HEADER_SIZE)
        return VFIO_EINVAL;
    for (uint32_t i = off; i < off + len && i < CFG_SPACE_SIZE; i++)
        if (c->owner[i] && (c->owner[i] == c->msi_pos || c->owner[i] == c->msix_pos))
            return VFIO_EINVAL;
    for (uint32_t i = 0; i < c->nvregs; i++)
        if (overlaps(off, len, c->vregs[i].off, c->vregs[i].len))
            return VFIO_EINVAL;
    if (c->nvregs >= VFIO_CONFIG_VREGS)
        return VFIO_ENOSPC;

    uint32_t mask = len == 4 ? 0xffffffffu : (1u << (8 * len)) - 1;
    struct vfio_config_vreg *r = &c->vregs[c->nvregs++];
    r->off = off;
    r->len = len;
    r->write_mask = write_mask & mask;
    r->changed = changed;
    r->opaque = opaque;
    set_perm(c, off, len, mask, r->write_mask);
    for (uint32_t b = 0; b < len; b++)
        c->vconfig[off + b] = (uint8_t)(init >> (8 * b));
    return 0;
}
