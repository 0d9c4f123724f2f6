/* logread: a guest EFI application that reads minihv's log ring the way an
 * OS without ACPI does (issue 17; Bochs + OVMF has no ACPI tables, so no
 * MHVL): it scans the EfiReservedMemoryType ranges of the UEFI memory map
 * below 0xfec00000 for MINIHV_LOG_MAGIC at 4 KiB boundaries, checks the
 * header and copies the live ring with log/ring_read.c (the same reader as
 * tools/minihv-log), and prints on ConOut
 *   "logread: area 0x... size 0x... found by the reserved-memory scan"
 *   "logread: line: [    1.234567] cpu0 minihv: hv: ..."  (up to 60 lines)
 *   "logread: N lines, seq A..B, C from the core, D from the loader"
 * then writes a dword over the ring's magic, which the core refuses and
 * drops ("logread: write to the ring: dropped, magic unchanged"), and
 * "logread: done". Any refusal by the reader is "logread: FAIL ..." with the
 * field named. */
#include <efi.h>
#include <efilib.h>
#include <minihv/libc.h>
#include <minihv/logring.h>
#include "log/ring_read.h"
#include "tests/guests/print.h"

#define SCAN_TOP 0xfec00000ull
#define MAX_PRINT 60

/* The first 4 KiB boundary in a reserved range with a header that checks. */
static uint64_t find_area(uint64_t *limit)
{
    UINTN n = 0, key, dsize;
    UINT32 dver;
    EFI_MEMORY_DESCRIPTOR *map = LibMemoryMap(&n, &key, &dsize, &dver), *d = map;
    uint64_t found = 0;
    for (UINTN i = 0; map && i < n && !found; i++, d = NextMemoryDescriptor(d, dsize)) {
        if (d->Type != EfiReservedMemoryType || d->PhysicalStart >= SCAN_TOP)
            continue;
        uint64_t end = d->PhysicalStart + (d->NumberOfPages << 12);
        for (uint64_t p = d->PhysicalStart; p + 4096 <= end && p < SCAN_TOP; p += 4096) {
            if (*(volatile uint64_t *)(uintptr_t)p != MINIHV_LOG_MAGIC)
                continue;
            struct field_error err;
            if (log_ring_check_header((const void *)(uintptr_t)p, end - p, &err)) {
                guest_print("logread: area at 0x%lx: header: %s at 0x%x: %s", p, err.field, err.offset, err.what);
                continue;
            }
            found = p;
            *limit = end - p;
            break;
        }
    }
    if (map)
        FreePool(map);
    return found;
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
    InitializeLib(image, systab);
    uint64_t limit = 0, area = find_area(&limit);
    if (!area) {
        guest_print("logread: FAIL no log ring in the reserved ranges of the memory map");
        guest_print("logread: done");
        return EFI_NOT_FOUND;
    }
    const struct minihv_log_header *h = (const void *)(uintptr_t)area;
    guest_print("logread: area 0x%lx size 0x%lx found by the reserved-memory scan", area, h->area_size);
    void *copy = AllocatePool(h->data_size);
    struct log_ring_view v;
    struct field_error err;
    int rc = copy ? log_ring_snapshot((const volatile void *)(uintptr_t)area, limit, copy, h->data_size, &v, &err)
                  : -LOG_ESMALL;
    if (rc) {
        guest_print("logread: FAIL snapshot: %s at 0x%x: %s", copy ? err.field : "pool",
                    copy ? err.offset : 0, copy ? err.what : "no memory for the copy");
    } else {
        struct log_iter it;
        struct log_line l;
        static char buf[LOG_RECORD_MAX + 64];
        unsigned lines = 0, core = 0, loader = 0;
        uint64_t first = 0, last = 0;
        log_iter_init(&it, &v, v.tail, UINT64_MAX);
        while ((rc = log_iter_next(&it, &l, &err)) == 1) {
            if (!lines)
                first = l.seq;
            last = l.seq;
            lines++;
            if (l.source == MINIHV_LOG_SRC_CORE)
                core++;
            else
                loader++;
            if (lines <= MAX_PRINT) {
                log_line_format(&v, &l, buf, sizeof(buf));
                guest_print("logread: line: %s", buf);
            }
        }
        if (rc < 0)
            guest_print("logread: FAIL record at byte %lu: %s: %s", it.pos, err.field, err.what);
        guest_print("logread: %u lines, seq %lu..%lu, %u from the core, %u from the loader; dropped %lu, lost %lu",
                    lines, first, last, core, loader, v.dropped, v.lost);
    }
    if (copy)
        FreePool(copy);
    /* A write to the ring: read-only to the guest, the core drops it. */
    volatile uint32_t *magic = (volatile uint32_t *)(uintptr_t)area;
    uint32_t before = *magic;
    *magic = 0x12345678u;
    uint32_t after = *magic;
    guest_print("logread: write to the ring: %s (0x%x before, 0x%x after)",
                after == before ? "dropped, magic unchanged" : "FAIL: the ring changed", before, after);
    guest_print("logread: done");
    return EFI_SUCCESS;
}
