/* Runs inside the Linux guest (static, display initramfs; issue 19): the
 * IGD OpRegion accesses i915 makes at probe, in its order, on the device
 * minihv passes through with its IGD personality (igd_force = 1 on QEMU's
 * VGA in check-display). Prints "PASS/FAIL name detail" and "key value"
 * lines (init prefixes "linux-igd: ").
 *
 * usage: igdprobe 0000:BB:DD.F
 *
 * Order, after drivers/gpu/drm/i915/display/intel_opregion.c (Linux 6.1):
 * intel_opregion_setup(): pci_read_config_dword(ASLS 0xfc); memremap 8 KiB
 * WB at ASLS; the "IntelGraphicsMem" signature; header.over (version) and
 * header.mboxes (0x58); MBOX_ACPI: acpi->chpd = 1; MBOX_ASLE: asle->ardy =
 * 0 (not ready); the VBT: asle->rvda/rvds (2.0+, both set), else mailbox 4
 * at 0x400. intel_opregion_resume(): acpi->didl[] and cadl[] (the display
 * lists: intel_didl_outputs, intel_setup_cadls), acpi->csts = 0,
 * acpi->drdy = 1 (driver ready), asle->tche = BLC_EN, asle->ardy = 1.
 * SWSCI (config 0xe8) is only read: a write raises an SMI on hardware.
 * Then the stolen-memory registers, GGC (0x50, u16) and BDSM (0x5c),
 * read through sysfs config (the kernel's ECAM) and CF8/CFC (iopl), which
 * must agree; and every written field read back through a second mapping
 * and pread(2) of /dev/mem. The VBT is written to /tmp/vbt.bin for the
 * harness to hash. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mman.h>
#include <unistd.h>

#define ASLS 0xfc
#define SWSCI 0xe8
#define GGC 0x50
#define BDSM 0x5c
#define OPREGION_SIZE 0x2000
#define OFF_MBOXES 0x58
#define OFF_ACPI 0x100
#define OFF_ASLE 0x300
#define OFF_VBT 0x400
#define OFF_ASLE_EXT 0x1c00
#define MBOX_ACPI (1u << 0)
#define MBOX_SWSCI (1u << 1)
#define MBOX_ASLE (1u << 2)
#define MBOX_ASLE_EXT (1u << 4)
/* struct opregion_acpi / opregion_asle field offsets in their mailbox. */
#define ACPI_DRDY 0x00
#define ACPI_CSTS 0x04
#define ACPI_DIDL 0x20
#define ACPI_CADL 0x60
#define ACPI_CHPD 0xa8
#define ASLE_ARDY 0x00
#define ASLE_TCHE 0x08
#define ASLE_RVDA 0xba
#define ASLE_RVDS 0xc2
#define ASLE_TCHE_BLC_EN (1u << 1)

static int passed, failed;
#define PASS(n, ...) (passed++, printf("PASS %s ", n), printf(__VA_ARGS__), putchar('\n'))
#define FAIL(n, ...) (failed++, printf("FAIL %s ", n), printf(__VA_ARGS__), putchar('\n'))

static uint32_t rd32(const volatile uint8_t *p) { return *(const volatile uint32_t *)p; }
static void wr32(volatile uint8_t *p, uint32_t v) { *(volatile uint32_t *)p = v; }

static int cfg_read(const char *bdf, unsigned off, void *buf, size_t len)
{
    char path[128];
    snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/config", bdf);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = pread(fd, buf, len, off);
    close(fd);
    return n == (ssize_t)len ? 0 : -1;
}

/* CF8/CFC (PCI Local Bus 3.0 3.2.2.3.2): the other config path. */
static int cf8_read32(unsigned bus, unsigned dev, unsigned fn, unsigned off, uint32_t *v)
{
    if (iopl(3))
        return -1;
    outl(0x80000000u | bus << 16 | dev << 11 | fn << 8 | (off & 0xfc), 0xcf8);
    *v = inl(0xcfc);
    return 0;
}

int main(int argc, char **argv)
{
    unsigned dom, bus, dev, fn;
    if (argc != 2 || sscanf(argv[1], "%x:%x:%x.%x", &dom, &bus, &dev, &fn) != 4) {
        fprintf(stderr, "usage: igdprobe 0000:BB:DD.F\n");
        return 2;
    }
    const char *bdf = argv[1];
    uint32_t asls = 0;
    if (cfg_read(bdf, ASLS, &asls, 4) || asls == 0 || asls == 0xffffffffu) {
        FAIL("asls", "ASLS (0xfc) reads 0x%08x", asls);
        goto end;
    }
    PASS("asls", "0x%08x", asls);
    printf("asls 0x%08x\n", asls);
    int mem = open("/dev/mem", O_RDWR | O_SYNC);
    if (mem < 0) {
        FAIL("opregion", "cannot open /dev/mem");
        goto end;
    }
    volatile uint8_t *op = mmap(NULL, OPREGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, mem, asls);
    if (op == MAP_FAILED) {
        FAIL("opregion", "mmap /dev/mem at 0x%08x failed", asls);
        goto end;
    }
    if (memcmp((const void *)op, "IntelGraphicsMem", 16)) {
        FAIL("opregion", "no \"IntelGraphicsMem\" signature at ASLS");
        goto end;
    }
    uint32_t over = rd32(op + 0x14), mboxes = rd32(op + OFF_MBOXES), size_kb = rd32(op + 0x10);
    unsigned major = over >> 24 & 0xff, minor = over >> 16 & 0xff;
    PASS("opregion", "IntelGraphicsMem version %u.%u size %u KiB mboxes 0x%x", major, minor, size_kb, mboxes);
    if (mboxes & MBOX_ACPI)
        wr32(op + OFF_ACPI + ACPI_CHPD, 1);
    if (mboxes & MBOX_ASLE)
        wr32(op + OFF_ASLE + ASLE_ARDY, 0);
    /* The VBT. */
    const volatile uint8_t *vbt = NULL;
    size_t vbt_area = 0;
    uint64_t rvda = 0;
    uint32_t rvds = 0;
    void *ext = NULL;
    if (mboxes & MBOX_ASLE) {
        memcpy(&rvda, (const void *)(op + OFF_ASLE + ASLE_RVDA), 8);
        rvds = rd32(op + OFF_ASLE + ASLE_RVDS);
    }
    if (major >= 2 && rvda && rvds) {
        /* 2.1+: relative to the OpRegion; 2.0: physical (intel_opregion.c). */
        uint64_t at = (major > 2 || minor >= 1) ? asls + rvda : rvda;
        ext = mmap(NULL, rvds, PROT_READ, MAP_SHARED, mem, (off_t)at);
        if (ext == MAP_FAILED) {
            FAIL("vbt", "mmap of RVDA 0x%lx (%u bytes) failed", (unsigned long)at, rvds);
            goto end;
        }
        vbt = ext, vbt_area = rvds;
        printf("vbt_where rvda 0x%lx rvds %u\n", (unsigned long)rvda, rvds);
    } else {
        vbt = op + OFF_VBT;
        vbt_area = ((mboxes & MBOX_ASLE_EXT) ? OFF_ASLE_EXT : OPREGION_SIZE) - OFF_VBT;
        printf("vbt_where mailbox4\n");
    }
    if (memcmp((const void *)vbt, "$VBT", 4)) {
        FAIL("vbt", "no $VBT signature");
    } else {
        uint16_t vsize = (uint16_t)(vbt[0x18] | vbt[0x19] << 8);
        if (vsize == 0 || vsize > vbt_area) {
            FAIL("vbt", "vbt_size %u outside the %zu-byte area", vsize, vbt_area);
        } else {
            FILE *f = fopen("/tmp/vbt.bin", "wb");
            uint8_t *copy = malloc(vsize);
            for (unsigned i = 0; i < vsize; i++)
                copy[i] = vbt[i];
            if (f) {
                fwrite(copy, 1, vsize, f);
                fclose(f);
            }
            free(copy);
            PASS("vbt", "$VBT %u bytes (area %zu)", vsize, vbt_area);
            printf("vbt_len %u\n", vsize);
        }
    }
    /* intel_opregion_resume(): the display lists, then driver ready. */
    uint32_t didl0 = 0x80000100u, cadl0 = 0x80000100u; /* ACPI _DOD id: output 0, "ACPI_DISPLAY_TYPE_OTHER" */
    if (mboxes & MBOX_ACPI) {
        wr32(op + OFF_ACPI + ACPI_DIDL, didl0);
        wr32(op + OFF_ACPI + ACPI_CADL, cadl0);
        wr32(op + OFF_ACPI + ACPI_CSTS, 0);
        wr32(op + OFF_ACPI + ACPI_DRDY, 1);
    }
    if (mboxes & MBOX_ASLE) {
        wr32(op + OFF_ASLE + ASLE_TCHE, ASLE_TCHE_BLC_EN);
        wr32(op + OFF_ASLE + ASLE_ARDY, 1);
    }
    /* Read back through a second mapping and through pread. */
    munmap((void *)op, OPREGION_SIZE);
    volatile uint8_t *op2 = mmap(NULL, OPREGION_SIZE, PROT_READ, MAP_SHARED, mem, asls);
    uint8_t buf[OPREGION_SIZE];
    if (op2 == MAP_FAILED || pread(mem, buf, sizeof buf, asls) != (ssize_t)sizeof buf) {
        FAIL("mailbox", "second read of the OpRegion failed");
        goto end;
    }
    struct { const char *name; unsigned off; uint32_t want; uint32_t mbox; } f[] = {
        { "acpi.drdy", OFF_ACPI + ACPI_DRDY, 1, MBOX_ACPI },
        { "acpi.csts", OFF_ACPI + ACPI_CSTS, 0, MBOX_ACPI },
        { "acpi.didl0", OFF_ACPI + ACPI_DIDL, didl0, MBOX_ACPI },
        { "acpi.cadl0", OFF_ACPI + ACPI_CADL, cadl0, MBOX_ACPI },
        { "acpi.chpd", OFF_ACPI + ACPI_CHPD, 1, MBOX_ACPI },
        { "asle.tche", OFF_ASLE + ASLE_TCHE, ASLE_TCHE_BLC_EN, MBOX_ASLE },
        { "asle.ardy", OFF_ASLE + ASLE_ARDY, 1, MBOX_ASLE },
    };
    unsigned stuck = 0, n = 0;
    for (unsigned i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (!(mboxes & f[i].mbox))
            continue;
        n++;
        uint32_t a = rd32(op2 + f[i].off), b;
        memcpy(&b, buf + f[i].off, 4);
        if (a == f[i].want && b == f[i].want)
            stuck++;
        else
            FAIL("mailbox", "%s at 0x%x: mapping 0x%x, pread 0x%x, wrote 0x%x", f[i].name, f[i].off, a, b, f[i].want);
    }
    if (n && stuck == n)
        PASS("mailbox", "%u fields written in i915's order read back through a second mapping and pread", n);
    else if (!n)
        FAIL("mailbox", "no ACPI/ASLE mailbox (mboxes 0x%x)", mboxes);
    /* SWSCI: read only. */
    uint16_t swsci = 0;
    cfg_read(bdf, SWSCI, &swsci, 2);
    printf("swsci 0x%04x\n", swsci);
    /* Stolen memory registers through both config paths. */
    uint16_t ggc = 0;
    uint32_t bdsm = 0, cf_ggc = 0, cf_bdsm = 0;
    if (cfg_read(bdf, GGC, &ggc, 2) || cfg_read(bdf, BDSM, &bdsm, 4) || cf8_read32(bus, dev, fn, GGC, &cf_ggc) ||
        cf8_read32(bus, dev, fn, BDSM, &cf_bdsm)) {
        FAIL("stolen", "cannot read GGC/BDSM");
    } else if ((cf_ggc & 0xffff) != ggc || cf_bdsm != bdsm) {
        FAIL("stolen", "sysfs GGC 0x%04x BDSM 0x%08x, CF8/CFC GGC 0x%04x BDSM 0x%08x", ggc, bdsm, cf_ggc & 0xffff,
             cf_bdsm);
    } else {
        PASS("stolen", "GGC 0x%04x BDSM 0x%08x, equal through ECAM and CF8/CFC", ggc, bdsm);
    }
    printf("ggc 0x%04x\nbdsm 0x%08x\n", ggc, bdsm);
    uint32_t asls2 = 0;
    cfg_read(bdf, ASLS, &asls2, 4);
    if (asls2 == asls)
        PASS("asls-after", "ASLS still 0x%08x", asls2);
    else
        FAIL("asls-after", "ASLS 0x%08x, was 0x%08x", asls2, asls);
end:
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
