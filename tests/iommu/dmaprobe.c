/* The DMA probe (issue 9): an EFI application minihv starts as its guest.
 * It makes QEMU's `edu` device (1234:11e8, passed through) DMA a pattern
 * into the core's block and asks the core, by hypercall, for a digest of
 * that part of the block before and after and for the IOMMU's fault count.
 *
 *   dmaprobe.efi expect=blocked   an IOMMU is on: the write faults (the core
 *                                 reports it) and the block is unchanged
 *   dmaprobe.efi expect=lands     iommu = none: the write lands (the digest
 *                                 changes): the test can fail
 *   ... faults=unreported         the IOMMU model cannot record the fault
 *                                 (QEMU 7.2 amd-iommu): the count is shown,
 *                                 not checked
 *
 * Before that, a DMA into the probe's own RAM must arrive (the identity
 * domain), and after it again (the device still works). Prints
 * "dmaprobe: PASS name (...)" / "dmaprobe: FAIL name: why" and
 * "dmaprobe: N passed, N failed" on ConOut, then returns to minihv.
 *
 * edu (QEMU docs/specs/edu.txt): BAR0 0x00 identification 0x010000ed,
 * 0x04 liveness (reads back the inverse), 0x80 DMA source, 0x88 DMA
 * destination, 0x90 count, 0x98 command (bit 0 start, bit 1 direction:
 * 1 = from the device's buffer at 0x40000 to RAM); done when bit 0 clears.
 * The device clamps DMA addresses to its dma_mask property: the suite sets
 * it to all ones. */
#include <efi.h>
#include <efilib.h>
#include <minihv/format.h>
#include <minihv/hypercall.h>
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "tests/guests/print.h"

#define EDU_VENDOR_DEVICE 0x11e81234u
#define EDU_ID            0x00
#define EDU_LIVENESS      0x04
#define EDU_DMA_SRC       0x80
#define EDU_DMA_DST       0x88
#define EDU_DMA_COUNT     0x90
#define EDU_DMA_CMD       0x98
#define EDU_CMD_RUN       1u
#define EDU_CMD_TO_RAM    2u     /* device buffer -> RAM */
#define EDU_BUFFER        0x40000u
/* QEMU 7.2's edu_check_range() wants the end strictly inside its 4 KiB
 * buffer (a full 4096-byte transfer is a hw_error that aborts QEMU). */
#define DMA_BYTES         2048u
#define TARGET_FROM_END   0x10000ull  /* the target: 64 KiB below the block's end (unused heap) */
#define WINDOW            0x100000ull /* the digest covers the block's last MiB */

static unsigned passed, failed;
static bool intel;

static void result(const char *name, bool ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void result(const char *name, bool ok, const char *fmt, ...)
{
    char why[160];
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    if (ok) {
        passed++;
        guest_print("dmaprobe: PASS %s (%s)", name, why);
    } else {
        failed++;
        guest_print("dmaprobe: FAIL %s: %s", name, why);
    }
}

struct hc {
    uint64_t rax, rbx, rcx, rdx;
};

/* VMCALL or VMMCALL (include/minihv/hypercall.h): only after the CPUID
 * signature said MiniHv, so neither raises #UD. */
static int64_t hypercall(struct hc *r)
{
    if (intel)
        __asm__ volatile("vmcall" : "+a"(r->rax), "+b"(r->rbx), "+c"(r->rcx), "+d"(r->rdx) : : "memory");
    else
        __asm__ volatile("vmmcall" : "+a"(r->rax), "+b"(r->rbx), "+c"(r->rcx), "+d"(r->rdx) : : "memory");
    return (int64_t)r->rax;
}

static bool minihv_present(void)
{
    uint32_t r[4];
    x86_cpuid(0, 0, r);
    intel = r[1] == 0x756e6547u; /* "Genu" */
    x86_cpuid(1, 0, r);
    if (!(r[2] & (1u << 31)))
        return false;
    x86_cpuid(MINIHV_CPUID_BASE, 0, r);
    return r[1] == MINIHV_CPUID_SIG_EBX && r[2] == MINIHV_CPUID_SIG_ECX && r[3] == MINIHV_CPUID_SIG_EDX;
}

/* FNV-1a 64 of the block's [off, off + len), by the core. */
static bool block_digest(uint64_t off, uint64_t len, uint64_t *digest)
{
    struct hc r = { MINIHV_HC_HV_CHECKSUM, off, len, 0 };
    if (hypercall(&r) != MINIHV_HC_OK)
        return false;
    *digest = r.rbx;
    return true;
}

static bool iommu_faults(uint64_t *count, bool *contained)
{
    struct hc r = { MINIHV_HC_IOMMU_FAULTS, 0, 0, 0 };
    if (hypercall(&r) != MINIHV_HC_OK)
        return false;
    *count = r.rbx;
    *contained = r.rcx != 0;
    return true;
}

/* ---- edu ---- */

static volatile uint8_t *edu_bar;

static uint32_t edu_read32(uint32_t off) { return *(volatile uint32_t *)(edu_bar + off); }
static void edu_write32(uint32_t off, uint32_t v) { *(volatile uint32_t *)(edu_bar + off) = v; }
static void edu_write64(uint32_t off, uint64_t v) { *(volatile uint64_t *)(edu_bar + off) = v; }

/* One DMA of `count` bytes; false when the engine did not finish in 5 s
 * (the device runs it from a 100 ms timer). */
static bool edu_dma(uint64_t src, uint64_t dst, uint32_t count, uint32_t cmd)
{
    edu_write64(EDU_DMA_SRC, src);
    edu_write64(EDU_DMA_DST, dst);
    edu_write64(EDU_DMA_COUNT, count);
    edu_write32(EDU_DMA_CMD, cmd | EDU_CMD_RUN);
    for (unsigned i = 0; i < 5000; i++) {
        if (!(edu_read32(EDU_DMA_CMD) & EDU_CMD_RUN))
            return true;
        BS->Stall(1000);
    }
    return false;
}

/* The edu function among the PciIo handles: memory decode and bus
 * mastering on, BAR0's address. */
static EFI_STATUS find_edu(char *where, size_t where_len)
{
    UINTN count = 0;
    EFI_HANDLE *handles = NULL;
    EFI_STATUS st = BS->LocateHandleBuffer(ByProtocol, &PciIoProtocol, NULL, &count, &handles);
    if (EFI_ERROR(st))
        return st;
    st = EFI_NOT_FOUND;
    for (UINTN i = 0; i < count && st == EFI_NOT_FOUND; i++) {
        EFI_PCI_IO_PROTOCOL *io = NULL;
        UINT32 id = 0, bar0 = 0, bar1 = 0;
        if (EFI_ERROR(BS->HandleProtocol(handles[i], &PciIoProtocol, (void **)&io)) ||
            EFI_ERROR(io->Pci.Read(io, EfiPciIoWidthUint32, 0, 1, &id)) || id != EDU_VENDOR_DEVICE)
            continue;
        UINTN seg, bus, dev, fn;
        io->GetLocation(io, &seg, &bus, &dev, &fn);
        fmt_snprintf(where, where_len, "%02lx:%02lx.%lx", bus, dev, fn);
        st = io->Attributes(io, EfiPciIoAttributeOperationEnable,
                            EFI_PCI_IO_ATTRIBUTE_MEMORY | EFI_PCI_IO_ATTRIBUTE_BUS_MASTER, NULL);
        if (EFI_ERROR(st))
            break;
        io->Pci.Read(io, EfiPciIoWidthUint32, 0x10, 1, &bar0);
        if ((bar0 & 6) == 4) /* 64-bit memory BAR */
            io->Pci.Read(io, EfiPciIoWidthUint32, 0x14, 1, &bar1);
        edu_bar = (volatile uint8_t *)(uintptr_t)((uint64_t)bar1 << 32 | (bar0 & ~0xfu));
        st = edu_bar ? EFI_SUCCESS : EFI_DEVICE_ERROR;
    }
    FreePool(handles);
    return st;
}

/* Whether the load options (UCS-2) hold `word`: "expect=lands" (default
 * expect=blocked), "faults=unreported". */
static bool has_option(EFI_HANDLE image, const CHAR16 *word)
{
    EFI_LOADED_IMAGE *li = NULL;
    if (EFI_ERROR(BS->HandleProtocol(image, &LoadedImageProtocol, (void **)&li)) || !li->LoadOptions)
        return false;
    const CHAR16 *o = li->LoadOptions;
    UINTN n = li->LoadOptionsSize / sizeof(CHAR16), w = StrLen(word);
    for (UINTN i = 0; i + w <= n; i++)
        if (!CompareMem(o + i, word, w * sizeof(CHAR16)))
            return true;
    return false;
}

/* A DMA into the probe's own RAM must land there, byte for byte. */
static void dma_to_ram(const char *name, uint8_t *pattern, uint8_t *dst)
{
    SetMem(dst, DMA_BYTES, 0);
    bool done = edu_dma(EDU_BUFFER, (uint64_t)(uintptr_t)dst, DMA_BYTES, EDU_CMD_TO_RAM);
    result(name, done && !CompareMem(dst, pattern, DMA_BYTES), "%s into guest RAM at 0x%lx: %s",
           done ? "DMA done" : "DMA did not finish", (uint64_t)(uintptr_t)dst,
           done && !CompareMem(dst, pattern, DMA_BYTES) ? "pattern arrived" : "pattern missing");
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
    InitializeLib(image, systab);
    bool lands = has_option(image, L"expect=lands");
    bool unreported = has_option(image, L"faults=unreported");
    guest_print("dmaprobe: expecting the write into the core's block to %s%s",
                lands ? "land (iommu = none)" : "be blocked by the IOMMU",
                unreported ? " (this IOMMU model records no fault: not checked)" : "");
    if (!minihv_present()) {
        result("minihv", false, "no MiniHv CPUID signature: not running under minihv");
        goto out;
    }
    struct minihv_footprint fp;
    struct hc r = { MINIHV_HC_FOOTPRINT, (uint64_t)(uintptr_t)&fp, sizeof(fp), 0 };
    if (hypercall(&r) != MINIHV_HC_OK || fp.block_size < 2 * WINDOW) {
        result("footprint", false, "MINIHV_HC_FOOTPRINT returned %ld", (int64_t)r.rax);
        goto out;
    }
    uint64_t target = fp.block_base + fp.block_size - TARGET_FROM_END;
    uint64_t window_off = fp.block_size - WINDOW;
    guest_print("dmaprobe: core block 0x%lx+0x%lx; target 0x%lx", fp.block_base, fp.block_size, target);

    char where[16] = "?";
    EFI_STATUS st = find_edu(where, sizeof(where));
    if (EFI_ERROR(st)) {
        result("edu", false, "no edu device 1234:11e8 usable (status 0x%lx)", st);
        goto out;
    }
    edu_write32(EDU_LIVENESS, 0x5a5aa5a5u);
    uint32_t id = edu_read32(EDU_ID), live = edu_read32(EDU_LIVENESS);
    result("edu", (id & 0xff) == 0xed && live == ~0x5a5aa5a5u, "%s, BAR0 0x%lx, id 0x%08x, liveness 0x%08x",
           where, (uint64_t)(uintptr_t)edu_bar, id, live);

    EFI_PHYSICAL_ADDRESS pages = 0;
    if (EFI_ERROR(BS->AllocatePages(AllocateAnyPages, EfiBootServicesData, 2, &pages))) {
        result("memory", false, "AllocatePages failed");
        goto out;
    }
    uint8_t *pattern = (uint8_t *)(uintptr_t)pages, *dst = pattern + DMA_BYTES;
    for (unsigned i = 0; i < DMA_BYTES; i++)
        pattern[i] = (uint8_t)(0xa5 ^ i ^ (i >> 8));
    /* RAM -> the device's buffer (a DMA read through the IOMMU too). */
    bool loaded = edu_dma((uint64_t)(uintptr_t)pattern, EDU_BUFFER, DMA_BYTES, 0);
    result("dma-from-ram", loaded, "pattern read by the device from 0x%lx%s", (uint64_t)(uintptr_t)pattern,
           loaded ? "" : ": DMA did not finish");
    dma_to_ram("dma-to-ram", pattern, dst);

    uint64_t before = 0, after = 0, faults0 = 0, faults1 = 0;
    bool contained = false, contained_after = false;
    bool ok = block_digest(window_off, WINDOW, &before) && iommu_faults(&faults0, &contained);
    result("hypercalls", ok, "HV_CHECKSUM of the block's last MiB 0x%016lx, IOMMU faults %lu, DMA %s",
           before, faults0, contained ? "contained" : "not contained");
    if (!ok)
        goto out;
    result("iommu-mode", contained != lands, "the core says device DMA is %s",
           contained ? "contained" : "NOT contained");

    bool done = edu_dma(EDU_BUFFER, target, DMA_BYTES, EDU_CMD_TO_RAM);
    ok = block_digest(window_off, WINDOW, &after) && iommu_faults(&faults1, &contained_after);
    guest_print("dmaprobe: DMA of %u bytes to 0x%lx %s; digest before 0x%016lx after 0x%016lx; "
                "faults %lu -> %lu", DMA_BYTES, target, done ? "done" : "did not finish", before, after,
                faults0, faults1);
    result("dma-engine-ran", done, "the edu command register cleared its run bit");
    if (lands) {
        result("write-landed", ok && before != after, "digest 0x%016lx -> 0x%016lx: the core's block %s",
               before, after, before != after ? "changed (DMA is not contained)" : "unchanged");
        result("no-dma-fault", ok && faults1 == faults0, "faults %lu -> %lu", faults0, faults1);
    } else {
        result("block-unchanged", ok && before == after, "digest 0x%016lx -> 0x%016lx", before, after);
        if (unreported)
            guest_print("dmaprobe: note: faults %lu -> %lu (faults=unreported: not a check)", faults0, faults1);
        else
            result("dma-fault-reported", ok && faults1 > faults0, "faults %lu -> %lu", faults0, faults1);
    }
    dma_to_ram("dma-after", pattern, dst);
    BS->FreePages(pages, 2);
out:
    guest_print("dmaprobe: %u passed, %u failed", passed, failed);
    return failed ? EFI_DEVICE_ERROR : EFI_SUCCESS;
}
