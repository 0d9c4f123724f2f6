/* The log ring (issue 17): every line the loader and the core log, kept in
 * memory as well as sent to the serial port and the firmware console, so a
 * laptop with no COM port still has the log.
 *
 * - Live: the area is EfiReservedMemoryType, mapped READ-ONLY into the guest
 *   (the core writes it through its own map); the OS finds it through the
 *   ACPI table "MHVL" (struct minihv_log_acpi) the loader installs, or, with
 *   no ACPI, by scanning reserved memory for MINIHV_LOG_MAGIC at 4 KiB
 *   boundaries. tools/minihv-log reads it through /dev/mem.
 * - Across a warm reset: the loader keeps the area's address in the UEFI
 *   variable MINIHV_LOG_VAR_NAME (vendor MINIHV_LOG_VAR_GUID), finds the
 *   previous ring there on the next boot and saves it as \EFI\minihv\last.log.
 *
 * Layout version 1. All fields little-endian; the area starts 4 KiB aligned.
 * Readers (the loader, minihv-log, tests) trust nothing in it: every field
 * is checked against the area's size before use (log/ring.c). */
#ifndef MINIHV_LOGRING_H
#define MINIHV_LOGRING_H

#include <stdint.h>

#define MINIHV_LOG_MAGIC   0x31676f4c76484d21ull /* "!MHvLog1" */
#define MINIHV_LOG_VERSION 1

#define MINIHV_LOG_FLAG_FATAL  (1u << 0) /* a CPU hit FATAL in this run */
#define MINIHV_LOG_FLAG_CORE   (1u << 1) /* the core ran (lines past the loader's) */
#define MINIHV_LOG_FLAG_SAVED  (1u << 2) /* a later boot saved it to the ESP already */

struct minihv_log_header {
    uint64_t magic;        /* MINIHV_LOG_MAGIC */
    uint32_t version;      /* MINIHV_LOG_VERSION */
    uint32_t header_size;  /* sizeof(struct minihv_log_header) */
    uint32_t data_offset;  /* ring bytes start here, from the header; 8-aligned, >= header_size */
    uint32_t data_size;    /* ring bytes: a power of two, 4 KiB .. 64 MiB */
    uint64_t area_size;    /* whole area (header + ring), multiple of 4 KiB */
    uint64_t boot_count;   /* 1, or 1 + the previous ring's when the loader found one */
    uint64_t tsc_hz;       /* TSC ticks per second (loader's calibration); 0: unknown */
    uint64_t tsc_base;     /* TSC when the loader started: time = (tsc - tsc_base) / tsc_hz */
    /* Fixed once the loader wrote them; fnv1a-32 of the bytes above this
     * field (magic .. tsc_base), so a damaged or foreign header is told
     * apart from ours before any offset in it is used. */
    uint32_t header_check;
    uint32_t flags;        /* MINIHV_LOG_FLAG_* */

    /* Moving; written by the one writer holding the ring (see log/ring.c).
     * head and tail count bytes ever written (never wrap): the record at
     * byte position p lives at data[p % data_size] and may wrap around the
     * end. tail <= head, head - tail <= data_size; tail is always the first
     * byte of a whole record. A writer moves tail past the records it will
     * overwrite BEFORE it writes, and head AFTER; a reader copies [tail,
     * head) and then re-reads tail: records before the new tail are torn. */
    uint64_t head;
    uint64_t tail;
    uint64_t next_seq;     /* sequence number of the next line; the first line is 0 */
    uint64_t dropped;      /* lines overwritten by newer ones */
    uint64_t lost;         /* lines never written: the ring stayed busy too long */
    uint64_t reserved[4];  /* zero */
};

/* One line. size covers header + text, rounded up to 8. */
struct minihv_log_record {
    uint16_t size;      /* bytes of the record, multiple of 8, >= 24 */
    uint16_t text_len;  /* bytes of text: no NUL, no trailing newline; <= size - 24 */
    uint16_t cpu;       /* core: CPU index (boot_info cpus[]); MINIHV_LOG_CPU_LOADER */
    uint8_t source;     /* enum minihv_log_source */
    uint8_t check;      /* low byte of fnv1a-32 over seq, tsc and the text */
    uint64_t seq;       /* header.next_seq when written: consecutive lines +1 */
    uint64_t tsc;       /* TSC when written */
    /* char text[text_len], then zero padding to size */
};
#define MINIHV_LOG_RECORD_HDR 24u
#define MINIHV_LOG_TEXT_MAX   512u /* longer lines are cut here */
#define MINIHV_LOG_CPU_LOADER 0xffffu

enum minihv_log_source {
    MINIHV_LOG_SRC_LOADER = 0,
    MINIHV_LOG_SRC_CORE = 1,
};

/* ACPI table "MHVL" (ACPI 6.5 5.2.6 header + this), installed by the
 * loader through EFI_ACPI_TABLE_PROTOCOL; /sys/firmware/acpi/tables/MHVL. */
#define MINIHV_LOG_ACPI_SIG "MHVL"
struct minihv_log_acpi {
    char signature[4];  /* "MHVL" */
    uint32_t length;    /* sizeof(struct minihv_log_acpi) */
    uint8_t revision;   /* 1 */
    uint8_t checksum;   /* whole table sums to 0 */
    char oem_id[6];     /* "MINIHV" */
    char oem_table_id[8]; /* "LOGRING " */
    uint32_t oem_revision;
    char creator_id[4];   /* "MNHV" */
    uint32_t creator_revision;
    uint64_t area_phys;   /* struct minihv_log_header here */
    uint64_t area_size;
} __attribute__((packed));

/* The UEFI variable (NV+BS, no run-time access) that holds the area's physical address
 * (uint64_t) for the next boot. */
#define MINIHV_LOG_VAR_NAME L"MinihvLogArea"
#define MINIHV_LOG_VAR_GUID \
    { 0x6d696e68, 0x7676, 0x4c6f, { 0x97, 0x52, 0x69, 0x6e, 0x67, 0x31, 0x00, 0x01 } }

#endif
