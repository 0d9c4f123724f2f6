/* Review R (issue 17): the guest writes the core's block through the log
 * ring, with the IOMMU on. An EFI application minihv starts as its guest
 * (QEMU q35, intel-iommu, edu passed through, iommu = auto: the block is
 * "out of reach of device DMA").
 *
 * The ring is outside the block and the IOMMU protects only the block
 * (hv/iommu_hw.c: one protected range), so the edu device can DMA into the
 * ring's header. The core's writer (log/ring_write.c log_ring_append)
 * takes data_offset, data_size and area_size from that header on every
 * line, so a header with data_offset = block target - ring makes the core
 * write its next log lines (any hv_log: here MINIHV_HC_DUMP_STATS) into
 * its own block. The block's digest (MINIHV_HC_HV_CHECKSUM) changes; with
 * the writer fixed it must not. The original header is put back afterwards.
 *
 * Prints "ringdma: ..." lines and "ringdma: RESULT block changed" or
 * "ringdma: RESULT block unchanged" on ConOut. Not wired into a suite
 * (reviewer R edits no Makefile): built by tests/iommu/ringdma-build.mk, run by
 * tests/emu/ringdma.sh (both say how).
 * edu registers: see tests/iommu/dmaprobe.c. */
#include <efi.h>
#include <efilib.h>
#include <minihv/format.h>
#include <minihv/hypercall.h>
#include <minihv/libc.h>
#include <minihv/logring.h>
#include <minihv/x86.h>
#include "tests/guests/print.h"

#define EDU_VENDOR_DEVICE 0x11e81234u
#define EDU_DMA_SRC       0x80
#define EDU_DMA_DST       0x88
#define EDU_DMA_COUNT     0x90
#define EDU_DMA_CMD       0x98
#define EDU_CMD_RUN       1u
#define EDU_CMD_TO_RAM    2u
#define EDU_BUFFER        0x40000u
#define TARGET_FROM_END   0x10000ull  /* as dmaprobe: 64 KiB below the block's end */
#define WINDOW            0x100000ull /* digest of the block's last MiB */

static bool intel;

struct hc {
    uint64_t rax, rbx, rcx, rdx;
};

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
    intel = r[1] == 0x756e6547u;
    x86_cpuid(1, 0, r);
    if (!(r[2] & (1u << 31)))
        return false;
    x86_cpuid(MINIHV_CPUID_BASE, 0, r);
    return r[1] == MINIHV_CPUID_SIG_EBX && r[2] == MINIHV_CPUID_SIG_ECX && r[3] == MINIHV_CPUID_SIG_EDX;
}

static bool block_digest(uint64_t off, uint64_t len, uint64_t *digest)
{
    struct hc r = { MINIHV_HC_HV_CHECKSUM, off, len, 0 };
    if (hypercall(&r) != MINIHV_HC_OK)
        return false;
    *digest = r.rbx;
    return true;
}

static volatile uint8_t *edu_bar;

static uint32_t edu_read32(uint32_t off) { return *(volatile uint32_t *)(edu_bar + off); }
static void edu_write32(uint32_t off, uint32_t v) { *(volatile uint32_t *)(edu_bar + off) = v; }
static void edu_write64(uint32_t off, uint64_t v) { *(volatile uint64_t *)(edu_bar + off) = v; }

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

static EFI_STATUS find_edu(void)
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
        st = io->Attributes(io, EfiPciIoAttributeOperationEnable,
                            EFI_PCI_IO_ATTRIBUTE_MEMORY | EFI_PCI_IO_ATTRIBUTE_BUS_MASTER, NULL);
        if (EFI_ERROR(st))
            break;
        io->Pci.Read(io, EfiPciIoWidthUint32, 0x10, 1, &bar0);
        if ((bar0 & 6) == 4)
            io->Pci.Read(io, EfiPciIoWidthUint32, 0x14, 1, &bar1);
        edu_bar = (volatile uint8_t *)(uintptr_t)((uint64_t)bar1 << 32 | (bar0 & ~0xfu));
        st = edu_bar ? EFI_SUCCESS : EFI_DEVICE_ERROR;
    }
    FreePool(handles);
    return st;
}

/* len bytes from RAM at src to RAM at dst, through the device's buffer. */
static bool dma_copy(uint64_t src, uint64_t dst, uint32_t len)
{
    return edu_dma(src, EDU_BUFFER, len, 0) && edu_dma(EDU_BUFFER, dst, len, EDU_CMD_TO_RAM);
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
    InitializeLib(image, systab);
    if (!minihv_present()) {
        guest_print("ringdma: RESULT error: not under minihv");
        return EFI_UNSUPPORTED;
    }
    struct minihv_footprint fp;
    struct hc r = { MINIHV_HC_FOOTPRINT, (uint64_t)(uintptr_t)&fp, sizeof(fp), 0 };
    if (hypercall(&r) != MINIHV_HC_OK) {
        guest_print("ringdma: RESULT error: FOOTPRINT %ld", (int64_t)r.rax);
        return EFI_UNSUPPORTED;
    }
    EFI_GUID guid = MINIHV_LOG_VAR_GUID;
    uint64_t ring = 0;
    UINTN size = sizeof(ring);
    EFI_STATUS st = RT->GetVariable(MINIHV_LOG_VAR_NAME, &guid, NULL, &size, &ring);
    if (EFI_ERROR(st) || !ring) {
        guest_print("ringdma: RESULT error: no MinihvLogArea variable (0x%lx)", st);
        return EFI_NOT_FOUND;
    }
    const volatile struct minihv_log_header *live = (const void *)(uintptr_t)ring;
    uint64_t target = fp.block_base + fp.block_size - TARGET_FROM_END;
    guest_print("ringdma: core block 0x%lx+0x%lx, ring 0x%lx (magic %s, data_offset 0x%x, area 0x%lx), target 0x%lx",
                fp.block_base, fp.block_size, ring, live->magic == MINIHV_LOG_MAGIC ? "ok" : "BAD",
                live->data_offset, live->area_size, target);
    if (target <= ring || target - ring >= (1ull << 32) - 4096) {
        guest_print("ringdma: RESULT error: the block is not within 4 GiB above the ring");
        return EFI_UNSUPPORTED;
    }
    if (EFI_ERROR(find_edu())) {
        guest_print("ringdma: RESULT error: no edu device");
        return EFI_NOT_FOUND;
    }
    EFI_PHYSICAL_ADDRESS page = 0;
    if (EFI_ERROR(BS->AllocatePages(AllocateAnyPages, EfiBootServicesData, 1, &page)))
        return EFI_OUT_OF_RESOURCES;
    struct minihv_log_header *saved = (void *)(uintptr_t)page, *forged = saved + 1;
    CopyMem(saved, (const void *)live, sizeof(*saved));
    CopyMem(forged, saved, sizeof(*forged));
    forged->data_offset = (uint32_t)(target - ring);
    forged->data_size = 4096;
    forged->area_size = ALIGN_UP((uint64_t)forged->data_offset + 4096, 4096);
    forged->head = forged->tail = 0;
    forged->next_seq = 0x4141414141414141ull;

    uint64_t before = 0, after = 0;
    if (!block_digest(fp.block_size - WINDOW, WINDOW, &before)) {
        guest_print("ringdma: RESULT error: HV_CHECKSUM");
        return EFI_UNSUPPORTED;
    }
    /* Control: the same lines with the ring's header as the core made it
     * leave the digested window alone. */
    struct hc c = { MINIHV_HC_DUMP_STATS, 0, 0, 0 };
    hypercall(&c);
    block_digest(fp.block_size - WINDOW, WINDOW, &after);
    guest_print("ringdma: control (DUMP_STATS, header untouched): digest 0x%016lx -> 0x%016lx: %s", before, after,
                before == after ? "unchanged" : "CHANGED (the window is not quiet: no conclusion)");
    before = after;
    bool dma = dma_copy((uint64_t)(uintptr_t)forged, ring, sizeof(*forged));
    guest_print("ringdma: DMA of the forged header into the ring %s; the ring now says data_offset 0x%x area 0x%lx",
                dma ? "done" : "did not finish", live->data_offset, live->area_size);
    struct hc d = { MINIHV_HC_DUMP_STATS, 0, 0, 0 }; /* hv_log lines: each appended by the core */
    hypercall(&d);
    block_digest(fp.block_size - WINDOW, WINDOW, &after);
    /* The header as it was: the ring's bytes were not touched (the lines
     * since went into the block). */
    dma_copy((uint64_t)(uintptr_t)saved, ring, sizeof(*saved));
    guest_print("ringdma: digest of the block's last MiB 0x%016lx -> 0x%016lx", before, after);
    guest_print("ringdma: RESULT block %s", before != after ? "changed" : "unchanged");
    BS->FreePages(page, 1);
    return EFI_SUCCESS;
}
