/* ptprobe: the passthrough probe, an EFI application run as minihv's guest
 * (or from the shell on the bare firmware). It looks at one PCI function
 * (the passthrough device) from the guest's side:
 *   config-id       CF8/CFC reads a device at bdf=
 *   config-ecam     the whole 256-byte header via CF8/CFC equals ECAM's
 *                   (ECAM from the ACPI MCFG; none on Bochs i440fx)
 *   rom-bar-*       the ROM BAR sizes, places (the firmware's address when it
 *                   left a real one, else a free MMIO address) and enables;
 *                   55AA + PCIR with the device's vendor:device; the bytes
 *                   equal the rom= file over the file's length
 *   mem-bar         a pattern written to the memory BAR bar= (default 0)
 *                   reads back (the BAR's last page, restored afterwards)
 * and, only under minihv (CPUID 0x40000000 "MiniHv"):
 *   bar-move        the memory BAR written to a free address: the pattern is
 *                   there, the old address reads all-ones; then moved back
 *   igd-asls, igd-opregion, igd-vbt (when vbt= is given): ASLS (0xFC) set,
 *                   "IntelGraphicsMem" there, its VBT (mailbox 4, or the
 *                   extended VBT at RVDA/RVDS) equals the vbt= file
 *   bridge-ro       (vbt= given) a write to a writable register (interrupt
 *                   line 0x3C) of the host bridge 00:00.0 and the LPC bridge
 *                   00:1f.0 does not stick, via CF8/CFC and via ECAM; on the
 *                   bare firmware the same write must stick (bridge-writable)
 *   dump-stats      MINIHV_HC_DUMP_STATS; the pt-* exits summed over CPUs
 * Arguments come from the load options (minihv's guest_args, or the shell's
 * command line): bdf=BB:DD.F bar=N rom=\path vbt=\path on the image's volume,
 * and noreset (return to the caller instead of powering off).
 * Prints "ptprobe: PASS name (detail)", "ptprobe: FAIL name: why",
 * "ptprobe: SKIP name: why", "ptprobe: N passed, N failed", then
 * "ptprobe: done (minihv|bare)" and powers the machine off. */
#include <efi.h>
#include <efilib.h>
#include <minihv/format.h>
#include <minihv/hypercall.h>
#include <minihv/io.h>
#include <minihv/libc.h>
#include "tests/guests/args.h"
#include "tests/guests/guard.h"
#include "tests/guests/hvcall.h"
#include "tests/guests/print.h"

#define PCI_COMMAND 0x04
#define PCI_COMMAND_MEMORY 0x2
#define PCI_ROM_BAR 0x30
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_ASLS 0xfc
#define ROM_ADDR_MASK 0xfffff800u
#define TEST_WORDS 256 /* one KiB of pattern */
#define PCI_WINDOW_END 0xfec00000ull /* IOAPIC and up: never a BAR */

struct bdf {
    unsigned bus, dev, fn;
};

static unsigned passed, failed;
static bool under_hv;
static uint64_t ecam; /* segment 0 bus 0 base, 0 without MCFG */
static uint64_t ecam_bus_end;

static void pass(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void pass(const char *name, const char *fmt, ...)
{
    char why[200];
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    passed++;
    guest_print("ptprobe: PASS %s%s%s%s", name, why[0] ? " (" : "", why, why[0] ? ")" : "");
}

static void fail(const char *name, const char *fmt, ...)
{
    char why[200];
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    failed++;
    guest_print("ptprobe: FAIL %s: %s", name, why);
}

static void skip(const char *name, const char *why)
{
    guest_print("ptprobe: SKIP %s: %s", name, why);
}

/* ---- config space: CF8/CFC (interrupts off around the pair) and ECAM ---- */

static uint64_t irq_save(void)
{
    uint64_t f;
    __asm__ volatile("pushfq; popq %0; cli" : "=r"(f)::"memory");
    return f;
}

static void irq_restore(uint64_t f)
{
    if (f & (1u << 9))
        __asm__ volatile("sti" ::: "memory");
}

static uint32_t cf8_addr(struct bdf d, unsigned off)
{
    return 0x80000000u | d.bus << 16 | d.dev << 11 | d.fn << 8 | (off & 0xfc);
}

static uint32_t cf8_read32(struct bdf d, unsigned off)
{
    uint64_t f = irq_save();
    outl(0xcf8, cf8_addr(d, off));
    uint32_t v = inl(0xcfc);
    irq_restore(f);
    return v;
}

static void cf8_write32(struct bdf d, unsigned off, uint32_t v)
{
    uint64_t f = irq_save();
    outl(0xcf8, cf8_addr(d, off));
    outl(0xcfc, v);
    irq_restore(f);
}

static uint8_t cf8_read8(struct bdf d, unsigned off)
{
    return (uint8_t)(cf8_read32(d, off) >> (off & 3) * 8);
}

static void cf8_write8(struct bdf d, unsigned off, uint8_t v)
{
    uint64_t f = irq_save();
    outl(0xcf8, cf8_addr(d, off));
    outb((uint16_t)(0xcfc + (off & 3)), v);
    irq_restore(f);
}

static volatile uint8_t *ecam_at(struct bdf d, unsigned off)
{
    return (volatile uint8_t *)(uintptr_t)(ecam + ((uint64_t)d.bus << 20 | d.dev << 15 | d.fn << 12) + off);
}

static uint32_t ecam_read32(struct bdf d, unsigned off) { return *(volatile uint32_t *)ecam_at(d, off & ~3u); }
static uint8_t ecam_read8(struct bdf d, unsigned off) { return *ecam_at(d, off); }
static void ecam_write8(struct bdf d, unsigned off, uint8_t v) { *ecam_at(d, off) = v; }

/* ---- MMIO ---- */

static uint32_t mmio_read32(uint64_t pa) { return *(volatile uint32_t *)(uintptr_t)pa; }
static void mmio_write32(uint64_t pa, uint32_t v) { *(volatile uint32_t *)(uintptr_t)pa = v; }
static void mmio_copy(void *dst, uint64_t pa, size_t n)
{
    uint8_t *o = dst;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32_t v = mmio_read32(pa + i);
        memcpy(o + i, &v, 4);
    }
    for (; i < n; i++)
        o[i] = *(volatile uint8_t *)(uintptr_t)(pa + i);
}

/* ---- Bochs' pcivga (1234:1111 on i440fx): its framebuffer BAR decodes
 * only while the VBE DISPI interface is enabled with the linear framebuffer
 * (reads are 0xff otherwise), and OVMF's video driver leaves it off there.
 * QEMU's std VGA (same IDs) has its VRAM mapped either way. ---- */

#define VBE_DISPI_INDEX 0x1ce
#define VBE_DISPI_DATA 0x1cf
#define VBE_INDEX_XRES 1
#define VBE_INDEX_YRES 2
#define VBE_INDEX_BPP 3
#define VBE_INDEX_ENABLE 4
#define VBE_ENABLED 0x01
#define VBE_LFB_ENABLED 0x40
#define VBE_NOCLEARMEM 0x80

static uint16_t vbe_read(uint16_t index)
{
    outw(VBE_DISPI_INDEX, index);
    return inw(VBE_DISPI_DATA);
}
static void vbe_write(uint16_t index, uint16_t v)
{
    outw(VBE_DISPI_INDEX, index);
    outw(VBE_DISPI_DATA, v);
}

/* Turns the linear framebuffer on when it is off; returns the ENABLE value
 * to put back (-1: nothing to undo). */
static int vbe_lfb_on(uint32_t id)
{
    if (id != 0x11111234u)
        return -1;
    uint16_t en = vbe_read(VBE_INDEX_ENABLE);
    if (en == 0xffff || (en & (VBE_ENABLED | VBE_LFB_ENABLED)) == (VBE_ENABLED | VBE_LFB_ENABLED))
        return -1;
    vbe_write(VBE_INDEX_ENABLE, 0);
    vbe_write(VBE_INDEX_XRES, 640);
    vbe_write(VBE_INDEX_YRES, 480);
    vbe_write(VBE_INDEX_BPP, 8); /* Bochs' rfb display has no 32 bpp */
    vbe_write(VBE_INDEX_ENABLE, VBE_ENABLED | VBE_LFB_ENABLED | VBE_NOCLEARMEM);
    guest_print("ptprobe: VBE DISPI linear framebuffer enabled for the test (ENABLE was 0x%x)", en);
    return en;
}

static uint32_t pattern(unsigned i, uint32_t seed) { return (i + 1) * 0x9e3779b9u ^ seed; }

/* ---- arguments and files ---- */

struct args {
    struct bdf bdf;
    bool have_bdf;
    unsigned bar;
    bool noreset;
    CHAR16 rom[128], vbt[128];
};

/* key=value words of the load options (UCS-2); words without '=' (the
 * shell's program name) are ignored. */
static void parse_args(EFI_HANDLE image, struct args *a)
{
    struct guest_args it;
    const CHAR16 *w, *v;
    size_t len, vl;
    if (!guest_args_open(image, &it))
        return;
    while (guest_args_next(&it, &w, &len)) {
        if (guest_arg_value(w, len, "bdf=", &v, &vl))
            a->have_bdf = guest_arg_bdf(v, vl, &a->bdf.bus, &a->bdf.dev, &a->bdf.fn);
        else if (guest_arg_value(w, len, "bar=", &v, &vl) && v[0] >= L'0' && v[0] <= L'5')
            a->bar = v[0] - L'0';
        else if (guest_arg_is(w, len, "noreset"))
            a->noreset = true;
        else if (guest_arg_value(w, len, "rom=", &v, &vl))
            guest_arg_copy(a->rom, ARRAY_SIZE(a->rom), v, vl);
        else if (guest_arg_value(w, len, "vbt=", &v, &vl))
            guest_arg_copy(a->vbt, ARRAY_SIZE(a->vbt), v, vl);
    }
}

static void narrow(const CHAR16 *w, char *out, size_t size)
{
    size_t i = 0;
    for (; w[i] && i + 1 < size; i++)
        out[i] = (char)w[i];
    out[i] = 0;
}

/* The whole file at path on the image's volume, or NULL (why says). */
static uint8_t *read_file(EFI_LOADED_IMAGE *li, const CHAR16 *path, UINTN *size, char *why, size_t why_size)
{
    EFI_FILE_HANDLE root = LibOpenRoot(li->DeviceHandle), fh;
    if (!root) {
        fmt_snprintf(why, why_size, "cannot open the image's volume");
        return NULL;
    }
    EFI_STATUS st = root->Open(root, &fh, (CHAR16 *)path, EFI_FILE_MODE_READ, 0);
    if (EFI_ERROR(st)) {
        fmt_snprintf(why, why_size, "open failed (status 0x%lx)", (uint64_t)st);
        root->Close(root);
        return NULL;
    }
    EFI_FILE_INFO *info = LibFileInfo(fh);
    uint8_t *buf = NULL;
    if (info) {
        *size = info->FileSize;
        FreePool(info);
        buf = AllocatePool(*size ? *size : 1);
        UINTN got = *size;
        if (!buf || EFI_ERROR(fh->Read(fh, &got, buf)) || got != *size) {
            fmt_snprintf(why, why_size, "read failed");
            if (buf)
                FreePool(buf);
            buf = NULL;
        }
    } else {
        fmt_snprintf(why, why_size, "no file info");
    }
    fh->Close(fh);
    root->Close(root);
    return buf;
}

/* ---- ACPI MCFG ---- */

static bool sdt_sig(uint64_t pa, const char *sig) { return !memcmp((const void *)(uintptr_t)pa, sig, 4); }

static void find_ecam(void)
{
    static EFI_GUID acpi20 = ACPI_20_TABLE_GUID;
    void *rsdp = NULL;
    if (EFI_ERROR(LibGetSystemConfigurationTable(&acpi20, &rsdp)) || !rsdp)
        return;
    const uint8_t *r = rsdp;
    uint64_t sdt;
    unsigned entry;
    if (r[15] >= 2) {
        memcpy(&sdt, r + 24, 8);
        entry = 8;
    } else {
        uint32_t rsdt;
        memcpy(&rsdt, r + 16, 4);
        sdt = rsdt;
        entry = 4;
    }
    if (!sdt)
        return;
    uint32_t len;
    memcpy(&len, (const void *)(uintptr_t)(sdt + 4), 4);
    for (uint64_t p = sdt + 36; p + entry <= sdt + len; p += entry) {
        uint64_t t = 0;
        memcpy(&t, (const void *)(uintptr_t)p, entry);
        if (!t || !sdt_sig(t, "MCFG"))
            continue;
        uint32_t mlen;
        memcpy(&mlen, (const void *)(uintptr_t)(t + 4), 4);
        for (uint64_t e = t + 44; e + 16 <= t + mlen; e += 16) {
            const uint8_t *m = (const void *)(uintptr_t)e;
            uint16_t seg;
            memcpy(&seg, m + 8, 2);
            if (seg == 0 && m[10] == 0) {
                memcpy(&ecam, m, 8);
                ecam_bus_end = m[11];
                return;
            }
        }
    }
}

/* ---- free MMIO: above every memory BAR of bus 0 and every MMIO range of
 * the memory map below 4 GiB that starts in the PCI window ---- */

static uint64_t top_of_bars;

static void scan_bars(void)
{
    for (unsigned dev = 0; dev < 32; dev++)
        for (unsigned fn = 0; fn < 8; fn++) {
            struct bdf d = { 0, dev, fn };
            uint32_t id = cf8_read32(d, 0);
            if ((id & 0xffff) == 0xffff) {
                if (fn == 0)
                    break;
                continue;
            }
            unsigned type = cf8_read8(d, 0x0e) & 0x7f;
            unsigned nbars = type == 0 ? 6 : type == 1 ? 2 : 0;
            for (unsigned b = 0; b < nbars; b++) {
                uint32_t lo = cf8_read32(d, 0x10 + 4 * b);
                if (lo & 1)
                    continue;
                bool is64 = (lo & 6) == 4;
                uint64_t base = lo & ~0xfull;
                if (is64)
                    base |= (uint64_t)cf8_read32(d, 0x14 + 4 * b) << 32;
                /* Without sizing (that would disturb devices in use): the
                 * end is at least the next 16 MiB boundary. */
                if (base && base < PCI_WINDOW_END) {
                    uint64_t end = (base | 0xffffff) + 1;
                    if (end > top_of_bars)
                        top_of_bars = end;
                }
                if (is64)
                    b++;
            }
            if (fn == 0 && !(cf8_read8(d, 0x0e) & 0x80))
                break;
        }
}

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

/* The next free, size-aligned address above the BARs; 0 when none fits. */
static uint64_t take_free(uint64_t size)
{
    uint64_t a = align_up(top_of_bars, size);
    if (a + size > PCI_WINDOW_END)
        return 0;
    top_of_bars = a + size;
    return a;
}

/* ---- the checks ---- */

static void check_config(struct bdf d, uint32_t id)
{
    if ((id & 0xffff) == 0xffff || id == 0) {
        fail("config-id", "%02x:%02x.%x reads 0x%08x via CF8/CFC: no device", d.bus, d.dev, d.fn, id);
        return;
    }
    pass("config-id", "%02x:%02x.%x is %04x:%04x via CF8/CFC", d.bus, d.dev, d.fn, id & 0xffff, id >> 16);
    if (!ecam) {
        skip("config-ecam", "no ACPI MCFG: CF8/CFC only");
        return;
    }
    for (unsigned off = 0; off < 256; off += 4) {
        uint32_t a = cf8_read32(d, off), b = ecam_read32(d, off);
        if (a != b) {
            fail("config-ecam", "offset 0x%02x: CF8/CFC 0x%08x, ECAM 0x%08x (ECAM at 0x%lx)", off, a, b, ecam);
            return;
        }
    }
    pass("config-ecam", "256 bytes via CF8/CFC equal ECAM at 0x%lx", ecam);
}

/* 55AA, PCIR and its vendor:device; image length of the whole chain. */
static bool rom_header_ok(const uint8_t *rom, size_t n, uint32_t id, char *why, size_t wsize)
{
    if (n < 0x1a || rom[0] != 0x55 || rom[1] != 0xaa) {
        fmt_snprintf(why, wsize, "no 55AA at the ROM BAR (reads %02x %02x)", n ? rom[0] : 0, n > 1 ? rom[1] : 0);
        return false;
    }
    unsigned p = le16(rom + 0x18);
    if (p + 0x18 > n || memcmp(rom + p, "PCIR", 4)) {
        fmt_snprintf(why, wsize, "no PCIR at 0x%x", p);
        return false;
    }
    uint32_t pid = le16(rom + p + 4) | (uint32_t)le16(rom + p + 6) << 16;
    if (pid != id) {
        fmt_snprintf(why, wsize, "PCIR names %04x:%04x, the device is %04x:%04x", pid & 0xffff, pid >> 16,
                     id & 0xffff, id >> 16);
        return false;
    }
    fmt_snprintf(why, wsize, "55AA, PCIR %04x:%04x, image %u bytes", pid & 0xffff, pid >> 16, le16(rom + p + 0x10) * 512u);
    return true;
}

static void check_rom(struct bdf d, uint32_t id, const uint8_t *file, UINTN file_size)
{
    uint32_t orig = cf8_read32(d, PCI_ROM_BAR);
    uint16_t cmd = (uint16_t)cf8_read32(d, PCI_COMMAND);
    cf8_write32(d, PCI_ROM_BAR, ROM_ADDR_MASK);
    uint32_t mask = cf8_read32(d, PCI_ROM_BAR) & ROM_ADDR_MASK;
    cf8_write32(d, PCI_ROM_BAR, orig);
    if (!mask) {
        fail("rom-bar-size", "the ROM BAR (0x30) is not implemented (sizes to 0; was 0x%08x)", orig);
        return;
    }
    uint32_t size = ~mask + 1;
    uint32_t addr = orig & ROM_ADDR_MASK;
    bool fw_addr = addr && addr != mask; /* all-ones left by sizing is no address */
    if (!fw_addr)
        addr = (uint32_t)take_free(size);
    if (!addr) {
        fail("rom-bar-size", "no free MMIO for a %u-byte ROM BAR", size);
        return;
    }
    pass("rom-bar-size", "%u KiB, was 0x%08x, placed at 0x%08x (%s)", size >> 10, orig, addr,
         fw_addr ? "the firmware's address" : "free MMIO");

    size_t n = file && file_size ? (file_size < size ? file_size : size) : (size < 0x10000 ? size : 0x10000);
    uint8_t *rom = AllocatePool(n);
    if (!rom) {
        fail("rom-bar-read", "out of memory");
        return;
    }
    cf8_write32(d, PCI_COMMAND, cmd | PCI_COMMAND_MEMORY);
    cf8_write32(d, PCI_ROM_BAR, addr | 1);
    uint32_t readback = cf8_read32(d, PCI_ROM_BAR);
    mmio_copy(rom, addr, n);
    cf8_write32(d, PCI_ROM_BAR, orig);
    cf8_write32(d, PCI_COMMAND, cmd);
    if (readback != (addr | 1))
        fail("rom-bar-enable", "wrote 0x%08x, reads 0x%08x", addr | 1, readback);
    else
        pass("rom-bar-enable", "0x%08x", readback);

    char why[120];
    if (rom_header_ok(rom, n, id, why, sizeof(why)))
        pass("rom-bar-header", "%s", why);
    else
        fail("rom-bar-header", "%s", why);
    if (file) {
        size_t i = 0;
        while (i < n && rom[i] == file[i])
            i++;
        if (file_size > size)
            fail("rom-bar-file", "the file (%lu bytes) is larger than the ROM BAR (%u)", (uint64_t)file_size, size);
        else if (i == n)
            pass("rom-bar-file", "%lu bytes equal the rom file", (uint64_t)n);
        else
            fail("rom-bar-file", "first difference at 0x%lx: ROM BAR 0x%02x, file 0x%02x", (uint64_t)i, rom[i], file[i]);
    }
    FreePool(rom);
}

struct membar {
    unsigned off;     /* config offset of the BAR */
    bool is64;
    uint64_t base, size;
    uint32_t lo_orig, hi_orig;
    uint64_t test;    /* the tested area: the BAR's last page */
    uint32_t saved[TEST_WORDS];
};

/* Sizes the memory BAR (decode off meanwhile); false with a FAIL line. */
static bool size_bar(struct bdf d, unsigned bar, struct membar *m)
{
    m->off = 0x10 + 4 * bar;
    m->lo_orig = cf8_read32(d, m->off);
    if (m->lo_orig & 1) {
        fail("mem-bar", "BAR%u is an I/O BAR (0x%08x)", bar, m->lo_orig);
        return false;
    }
    m->is64 = (m->lo_orig & 6) == 4;
    m->hi_orig = m->is64 ? cf8_read32(d, m->off + 4) : 0;
    uint16_t cmd = (uint16_t)cf8_read32(d, PCI_COMMAND);
    uint64_t f = irq_save();
    cf8_write32(d, PCI_COMMAND, cmd & ~PCI_COMMAND_MEMORY);
    cf8_write32(d, m->off, 0xffffffffu);
    uint64_t mask = cf8_read32(d, m->off) & ~0xfull;
    if (m->is64) {
        cf8_write32(d, m->off + 4, 0xffffffffu);
        mask |= (uint64_t)cf8_read32(d, m->off + 4) << 32;
        cf8_write32(d, m->off + 4, m->hi_orig);
    } else {
        mask |= 0xffffffff00000000ull;
    }
    cf8_write32(d, m->off, m->lo_orig);
    cf8_write32(d, PCI_COMMAND, cmd);
    irq_restore(f);
    m->base = (m->lo_orig & ~0xfull) | (uint64_t)m->hi_orig << 32;
    m->size = ~mask + 1;
    if (!mask || !m->base || (m->size & (m->size - 1)) || m->size < sizeof(m->saved)) {
        fail("mem-bar", "BAR%u 0x%08x sizes to mask 0x%lx: not a placed memory BAR", bar, m->lo_orig, mask);
        return false;
    }
    if (!(cmd & PCI_COMMAND_MEMORY)) {
        fail("mem-bar", "memory decode is off (command 0x%04x)", cmd);
        return false;
    }
    m->test = m->size >= 4096 ? m->size - 4096 : 0;
    return true;
}

/* Writes the pattern at base + test (saving what was there); returns the
 * index of the first word that did not read back, or TEST_WORDS. */
static unsigned write_pattern(struct membar *m, uint64_t base, uint32_t seed)
{
    for (unsigned i = 0; i < TEST_WORDS; i++)
        mmio_write32(base + m->test + 4 * i, pattern(i, seed));
    unsigned i = 0;
    while (i < TEST_WORDS && mmio_read32(base + m->test + 4 * i) == pattern(i, seed))
        i++;
    return i;
}

static unsigned pattern_at(struct membar *m, uint64_t base, uint32_t seed)
{
    unsigned i = 0;
    while (i < TEST_WORDS && mmio_read32(base + m->test + 4 * i) == pattern(i, seed))
        i++;
    return i;
}

static void check_mem_bar(struct bdf d, struct membar *m, unsigned bar)
{
    for (unsigned i = 0; i < TEST_WORDS; i++)
        m->saved[i] = mmio_read32(m->base + m->test + 4 * i);
    unsigned good = write_pattern(m, m->base, 0x5a5a0000u);
    if (good == TEST_WORDS)
        pass("mem-bar", "BAR%u at 0x%lx size 0x%lx%s: %u bytes of pattern at +0x%lx read back", bar, m->base, m->size,
             m->is64 ? " 64-bit" : "", TEST_WORDS * 4, m->test);
    else
        fail("mem-bar", "BAR%u at 0x%lx: word %u at +0x%lx reads 0x%08x, wrote 0x%08x", bar, m->base, good,
             m->test + 4 * good, mmio_read32(m->base + m->test + 4 * good), pattern(good, 0x5a5a0000u));
    (void)d;
}

static void restore_mem_bar(struct membar *m)
{
    for (unsigned i = 0; i < TEST_WORDS; i++)
        mmio_write32(m->base + m->test + 4 * i, m->saved[i]);
}

static void write_bar(struct bdf d, struct membar *m, uint64_t base)
{
    cf8_write32(d, m->off, (uint32_t)base | (m->lo_orig & 0xf));
    if (m->is64)
        cf8_write32(d, m->off + 4, (uint32_t)(base >> 32));
}

/* Under minihv: the guest moves the BAR; the mapping follows. Nothing is
 * printed while it is away (the firmware's console may draw into it). */
static void check_bar_move(struct bdf d, struct membar *m)
{
    uint64_t to = take_free(m->size);
    if (!to) {
        fail("bar-move", "no free MMIO for 0x%lx bytes below 0x%llx", m->size, PCI_WINDOW_END);
        return;
    }
    const uint32_t seed = 0xa5a50000u;
    unsigned good_old = write_pattern(m, m->base, seed);
    uint64_t f = irq_save();
    write_bar(d, m, to);
    uint32_t lo = cf8_read32(d, m->off);
    unsigned good_new = pattern_at(m, to, seed);
    uint32_t old_word = mmio_read32(m->base + m->test), old_last = mmio_read32(m->base + m->test + 4 * (TEST_WORDS - 1));
    write_bar(d, m, m->base);
    unsigned good_back = pattern_at(m, m->base, seed);
    irq_restore(f);
    uint32_t lo_back = cf8_read32(d, m->off);
    if (good_old != TEST_WORDS)
        fail("bar-move", "the pattern did not read back before the move (word %u)", good_old);
    else if ((lo & ~0xfu) != (uint32_t)to)
        fail("bar-move", "BAR written 0x%lx reads back 0x%08x", to, lo);
    else if (good_new != TEST_WORDS)
        fail("bar-move", "moved 0x%lx -> 0x%lx: word %u of the pattern is not at the new address", m->base, to, good_new);
    else if (old_word != 0xffffffffu || old_last != 0xffffffffu)
        fail("bar-move", "moved 0x%lx -> 0x%lx: the old address reads 0x%08x..0x%08x, not all-ones", m->base, to,
             old_word, old_last);
    else if (lo_back != m->lo_orig || good_back != TEST_WORDS)
        fail("bar-move", "moving back to 0x%lx: BAR reads 0x%08x, pattern word %u", m->base, lo_back, good_back);
    else
        pass("bar-move", "0x%lx -> 0x%lx: pattern followed, old address all-ones; moved back", m->base, to);
}

static const uint8_t *vbt_in(const uint8_t *p, size_t n)
{
    return n >= 4 && !memcmp(p, "$VBT", 4) ? p : NULL;
}

static void check_igd(struct bdf d, const uint8_t *vbt, UINTN vbt_size)
{
    uint32_t asls = cf8_read32(d, PCI_ASLS);
    if (ecam && ecam_read32(d, PCI_ASLS) != asls) {
        fail("igd-asls", "CF8/CFC reads 0x%08x, ECAM 0x%08x", asls, ecam_read32(d, PCI_ASLS));
        return;
    }
    if (!asls || asls == 0xffffffffu) {
        fail("igd-asls", "ASLS (0xFC) reads 0x%08x", asls);
        return;
    }
    pass("igd-asls", "0x%08x", asls);
    const uint8_t *op = (const uint8_t *)(uintptr_t)asls;
    if (memcmp(op, "IntelGraphicsMem", 16)) {
        fail("igd-opregion", "no \"IntelGraphicsMem\" at ASLS 0x%08x (%02x %02x %02x %02x)", asls, op[0], op[1], op[2], op[3]);
        return;
    }
    unsigned major = op[0x17], minor = op[0x16];
    pass("igd-opregion", "\"IntelGraphicsMem\", %u KiB, version %u.%u", le32(op + 0x10), major, minor);
    if (!vbt)
        return;
    const uint8_t *got;
    size_t got_size;
    const char *where;
    if (vbt_in(op + 0x400, 6144)) {
        got = op + 0x400;
        got_size = 6144;
        where = "mailbox 4";
    } else {
        uint64_t rvda = le64(op + 0x3ba);
        uint32_t rvds = le32(op + 0x3c2);
        if (!rvda || !rvds) {
            fail("igd-vbt", "no $VBT in mailbox 4 and RVDA 0x%lx RVDS 0x%x", rvda, rvds);
            return;
        }
        /* 2.1 and later: RVDA is an offset from the OpRegion. */
        uint64_t at = major > 2 || (major == 2 && minor >= 1) ? asls + rvda : rvda;
        got = (const uint8_t *)(uintptr_t)at;
        got_size = rvds;
        where = "RVDA/RVDS";
        if (!vbt_in(got, got_size)) {
            fail("igd-vbt", "no $VBT at %s 0x%lx (RVDA 0x%lx, RVDS 0x%x)", where, at, rvda, rvds);
            return;
        }
    }
    if (vbt_size > got_size) {
        fail("igd-vbt", "the vbt file (%lu bytes) does not fit the %s area (%lu)", (uint64_t)vbt_size, where,
             (uint64_t)got_size);
        return;
    }
    size_t i = 0;
    while (i < vbt_size && got[i] == vbt[i])
        i++;
    if (i == vbt_size)
        pass("igd-vbt", "%s: %lu bytes equal the vbt file (area %lu bytes)", where, (uint64_t)vbt_size, (uint64_t)got_size);
    else
        fail("igd-vbt", "%s: first difference at 0x%lx: 0x%02x, file 0x%02x", where, (uint64_t)i, got[i], vbt[i]);
}

/* Interrupt line (0x3C): a scratch register every QEMU PCI function has
 * writable. Bare firmware: the write sticks (the check is meaningful);
 * minihv with the IGD personality: the bridges are read-only. */
static void check_bridges(void)
{
    static const struct {
        struct bdf d;
        const char *name;
    } bridges[] = { { { 0, 0, 0 }, "host-bridge" }, { { 0, 0x1f, 0 }, "lpc" } };
    for (unsigned b = 0; b < ARRAY_SIZE(bridges); b++) {
        struct bdf d = bridges[b].d;
        if ((cf8_read32(d, 0) & 0xffff) == 0xffff) {
            skip(bridges[b].name, "no device");
            continue;
        }
        for (unsigned via = 0; via < (ecam ? 2u : 1u); via++) {
            const char *how = via ? "ECAM" : "CF8/CFC";
            uint8_t old = via ? ecam_read8(d, PCI_INTERRUPT_LINE) : cf8_read8(d, PCI_INTERRUPT_LINE);
            uint8_t want = old ^ 0xa5;
            if (via)
                ecam_write8(d, PCI_INTERRUPT_LINE, want);
            else
                cf8_write8(d, PCI_INTERRUPT_LINE, want);
            uint8_t now = via ? ecam_read8(d, PCI_INTERRUPT_LINE) : cf8_read8(d, PCI_INTERRUPT_LINE);
            if (now != old) { /* put it back, whatever happens next */
                if (via)
                    ecam_write8(d, PCI_INTERRUPT_LINE, old);
                else
                    cf8_write8(d, PCI_INTERRUPT_LINE, old);
            }
            char name[48];
            fmt_snprintf(name, sizeof(name), "%s-%s-%s", under_hv ? "bridge-ro" : "bridge-writable", bridges[b].name,
                         via ? "ecam" : "cf8");
            if (under_hv) {
                if (now == old)
                    pass(name, "%02x:%02x.%x 0x3C stays 0x%02x after writing 0x%02x via %s", d.bus, d.dev, d.fn, old,
                         want, how);
                else
                    fail(name, "%02x:%02x.%x 0x3C: wrote 0x%02x via %s and it stuck (was 0x%02x)", d.bus, d.dev, d.fn,
                         want, how, old);
            } else {
                if (now == want)
                    pass(name, "%02x:%02x.%x 0x3C 0x%02x -> 0x%02x via %s on the bare firmware, restored", d.bus,
                         d.dev, d.fn, old, want, how);
                else
                    fail(name, "%02x:%02x.%x 0x3C: wrote 0x%02x via %s, reads 0x%02x (was 0x%02x)", d.bus, d.dev, d.fn,
                         want, how, now, old);
            }
        }
    }
}

static void check_dump_stats(void)
{
    struct guard g;
    EFI_PHYSICAL_ADDRESS page = 0;
    if (EFI_ERROR(BS->AllocatePages(AllocateAnyPages, EfiBootServicesData, 1, &page)) ||
        guard_install(&g, (void *)(uintptr_t)page, 4096)) {
        fail("dump-stats", "cannot install the fault guard");
        return;
    }
    static struct minihv_stats st;
    uint64_t sum[MINIHV_EXIT_KINDS] = { 0 };
    unsigned cpus = 0;
    for (; cpus < 64; cpus++) {
        struct hc_regs s = { MINIHV_HC_GET_STATS, cpus, (uint64_t)(uintptr_t)&st, sizeof(st) };
        if (hv_call(&s) || s.rax != MINIHV_HC_OK)
            break;
        for (unsigned k = 0; k < MINIHV_EXIT_KINDS; k++)
            sum[k] += st.exits[k];
    }
    struct hc_regs r = { MINIHV_HC_DUMP_STATS, 0, 0, 0 };
    char f[24];
    uint64_t fault = hv_call(&r);
    guard_remove(&g);
    BS->FreePages(page, 1);
    if (fault)
        fail("dump-stats", "%s raised %s", hv_intel() ? "VMCALL" : "VMMCALL", guard_describe(fault, f, sizeof(f)));
    else if (r.rax != MINIHV_HC_OK)
        fail("dump-stats", "returned %ld", (int64_t)r.rax);
    else
        pass("dump-stats", "the core printed its table");
    guest_print("ptprobe: stats %u cpus pt-config %lu pt-msix %lu pt-bar %lu", cpus, sum[MINIHV_EXIT_PT_CONFIG],
                sum[MINIHV_EXIT_PT_MSIX], sum[MINIHV_EXIT_PT_BAR]);
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
    static struct args a;
    static struct membar m;
    EFI_LOADED_IMAGE *li = NULL;
    char why[96], path[128];

    InitializeLib(image, systab);
    under_hv = hv_present();
    guest_print("ptprobe: started, %s", under_hv ? "under minihv (CPUID 0x40000000 MiniHv)" : "on the bare firmware");
    if (EFI_ERROR(BS->HandleProtocol(image, &LoadedImageProtocol, (void **)&li)) || !li) {
        fail("args", "no loaded image protocol");
        goto out;
    }
    parse_args(image, &a);
    if (!a.have_bdf) {
        fail("args", "no valid bdf=BB:DD.F in the load options");
        goto out;
    }
    find_ecam();
    if (ecam)
        guest_print("ptprobe: ECAM at 0x%lx (MCFG, buses 0-%lu)", ecam, ecam_bus_end);
    else
        guest_print("ptprobe: no MCFG: CF8/CFC only");
    scan_bars();

    uint8_t *rom = NULL, *vbt = NULL;
    UINTN rom_size = 0, vbt_size = 0;
    if (a.rom[0]) {
        narrow(a.rom, path, sizeof(path));
        rom = read_file(li, a.rom, &rom_size, why, sizeof(why));
        if (!rom)
            fail("rom-file", "%s: %s", path, why);
        else
            guest_print("ptprobe: rom file %s, %lu bytes", path, (uint64_t)rom_size);
    }
    if (a.vbt[0]) {
        narrow(a.vbt, path, sizeof(path));
        vbt = read_file(li, a.vbt, &vbt_size, why, sizeof(why));
        if (!vbt)
            fail("vbt-file", "%s: %s", path, why);
        else
            guest_print("ptprobe: vbt file %s, %lu bytes", path, (uint64_t)vbt_size);
    }

    struct bdf d = a.bdf;
    uint32_t id = cf8_read32(d, 0);
    check_config(d, id);
    if ((id & 0xffff) != 0xffff) {
        check_rom(d, id, rom, rom_size);
        if (size_bar(d, a.bar, &m)) {
            int vbe = vbe_lfb_on(id);
            check_mem_bar(d, &m, a.bar);
            if (under_hv)
                check_bar_move(d, &m);
            else
                skip("bar-move", "not under minihv");
            restore_mem_bar(&m);
            if (vbe >= 0)
                vbe_write(VBE_INDEX_ENABLE, (uint16_t)vbe | VBE_NOCLEARMEM);
        }
        if (a.vbt[0]) {
            if (under_hv)
                check_igd(d, vbt, vbt_size);
            else
                skip("igd", "not under minihv");
            check_bridges();
        }
    }
    if (under_hv)
        check_dump_stats();
out:
    guest_print("ptprobe: %u passed, %u failed", passed, failed);
    guest_print("ptprobe: done (%s)", under_hv ? "minihv" : "bare");
    if (!a.noreset)
        RT->ResetSystem(EfiResetShutdown, EFI_SUCCESS, 0, NULL);
    return failed ? EFI_DEVICE_ERROR : EFI_SUCCESS;
}
