/* See log.h. */
#include <efi.h>
#include <efilib.h>
#include <minihv/format.h>
#include <minihv/hypercall.h>
#include <minihv/io.h>
#include <minihv/libc.h>
#include <minihv/logring.h>
#include <minihv/x86.h>
#include "boot/acpi.h"
#include "boot/log.h"
#include "log/ring_write.h"

static uint16_t log_port, core_port; /* where the loader writes; the configured port */

/* ---- the ring's state ---- */
enum ring_mode {
    RING_EARLY,  /* no ring yet: lines wait in early[] */
    RING_DIRECT, /* the loader alone writes the ring */
    RING_CORE,   /* the core owns it: lines through MINIHV_HC_LOADER_LOG */
    RING_OFF,    /* none (no memory), or closed: serial and console only */
};
static enum ring_mode ring_mode = RING_EARLY;
/* The core runs: its UART is not the loader's to write any more (the core
 * drops a guest's writes there, hv/console.c); lines reach it through
 * MINIHV_HC_LOADER_LOG, which the core prints, until log_ring_close. */
static bool core_owns_port, ring_closed;
static struct minihv_log_header *ring;
static struct log_ring_writer ring_writer;
static uint64_t ring_bytes, tsc_start;

/* Lines before the ring (the banner, config errors): each a
 * struct early_line then its text. Those that do not fit count as lost. */
struct early_line {
    uint64_t tsc;
    uint16_t len;
} __attribute__((packed));
static uint8_t early[4096];
static size_t early_used;
static uint64_t early_lost;

static inline uint64_t read_tsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

void log_start_clock(void)
{
    if (!tsc_start)
        tsc_start = read_tsc();
}

/* True when the firmware's console (the ConOut variable, UEFI 2.7 3.3) has a
 * UART among its devices: it then already mirrors every console line to the
 * serial ports (OVMF does, to all of them), and writing them to the port
 * ourselves would print each line twice. */
static bool firmware_console_has_uart(void)
{
    UINTN size = 0;
    EFI_DEVICE_PATH *dp = LibGetVariableAndSize(L"ConOut", &EfiGlobalVariable, &size);
    bool uart = false;
    if (!dp)
        return false;
    for (uint8_t *p = (uint8_t *)dp, *end = p + size; p + 4 <= end;) {
        uint16_t len = le16(p + 2);
        if (p[0] == MESSAGING_DEVICE_PATH && p[1] == MSG_UART_DP)
            uart = true;
        if (len < 4)
            break;
        p += len;
    }
    FreePool(dp);
    return uart;
}

void log_init(uint16_t serial_port)
{
    log_start_clock();
    log_port = core_port = serial_port;
    if (log_port)
        uart_init(log_port);
    if (firmware_console_has_uart())
        log_port = 0; /* lines reach the serial ports through ConOut */
}

static void console_out(const char *s)
{
    CHAR16 wide[260];
    size_t n = 0;
    for (; *s && n < ARRAY_SIZE(wide) - 2; s++) {
        if (*s == '\n')
            wide[n++] = L'\r';
        wide[n++] = (CHAR16)(unsigned char)*s;
    }
    wide[n] = 0;
    ST->ConOut->OutputString(ST->ConOut, wide);
}

/* One line (no newline) into the ring, wherever the ring is now. */
static void ring_line(const char *text, size_t len)
{
    uint64_t tsc = read_tsc();
    switch (ring_mode) {
    case RING_EARLY:
        if (early_used + sizeof(struct early_line) + len <= sizeof(early)) {
            struct early_line e = { tsc, (uint16_t)len };
            memcpy(early + early_used, &e, sizeof(e));
            memcpy(early + early_used + sizeof(e), text, len);
            early_used += sizeof(e) + len;
        } else {
            early_lost++;
        }
        break;
    case RING_DIRECT:
        if (log_ring_append(&ring_writer, MINIHV_LOG_CPU_LOADER, MINIHV_LOG_SRC_LOADER, tsc, text, len))
            log_ring_count_lost(ring);
        break;
    case RING_CORE: {
        uint64_t rax = MINIHV_HC_LOADER_LOG, rbx = (uintptr_t)text, rcx = MIN(len, (size_t)MINIHV_LOG_TEXT_MAX);
        if (rcx) /* the core stamps it (its TSC) and writes it under its lock */
            __asm__ volatile("vmcall" : "+a"(rax), "+b"(rbx), "+c"(rcx) : : "rdx", "memory");
        break;
    }
    case RING_OFF:
        break;
    }
}

void log_line(const char *fmt, ...)
{
    char line[320]; /* the passthrough device line lists every BAR */
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vsnprintf(line + 8, sizeof(line) - 9, fmt, ap);
    va_end(ap);
    memcpy(line, "minihv: ", 8);
    size_t len = 8 + (n < (int)sizeof(line) - 9 ? (size_t)n : sizeof(line) - 10);
    line[len] = '\n';
    line[len + 1] = '\0';
    if (log_port && !core_owns_port)
        uart_puts(log_port, line);
    console_out(line);
    ring_line(line, len); /* the same text, without the newline */
}

/* ---- the ring ---- */

/* TSC ticks per second, and how they were found. CPUID leaf 15H gives the
 * TSC/crystal ratio and the crystal's frequency where the CPU has it (SDM
 * Vol. 2A, CPUID, leaf 15H: TSC Hz = ECX * EBX / EAX): exact, nothing
 * to wait for. Else (AMD, most emulators, ECX 0) the TSC counted across
 * a 10 ms Stall (UEFI 2.10 7.5; OVMF times it with the ACPI PM timer):
 * within a fraction of a percent, 10 ms of boot time. Leaf 16H's base
 * frequency is not taken: it is the nominal MHz, not the TSC's. */
static uint64_t tsc_calibrate(const char **how)
{
    uint32_t r[4];
    x86_cpuid(0, 0, r);
    if (r[0] >= 0x15) {
        x86_cpuid(0x15, 0, r);
        if (r[0] && r[1] && r[2]) {
            *how = "CPUID 15H";
            return (uint64_t)r[2] * r[1] / r[0];
        }
    }
    uint64_t t0 = read_tsc();
    BS->Stall(10000);
    uint64_t t1 = read_tsc();
    *how = "a 10 ms Stall";
    return (t1 - t0) * 100;
}

#define ACPI_TABLE_PROTOCOL_GUID { 0xffe06bdd, 0x6107, 0x46a6, { 0x7b, 0xb2, 0x5a, 0x9c, 0x7e, 0xc5, 0x27, 0x5c } }

/* EFI_ACPI_TABLE_PROTOCOL (UEFI 2.10 20.2), which GNU-EFI lacks. */
struct acpi_table_protocol {
    EFI_STATUS(EFIAPI *InstallAcpiTable)(struct acpi_table_protocol *, VOID *table, UINTN size, UINTN *key);
    EFI_STATUS(EFIAPI *UninstallAcpiTable)(struct acpi_table_protocol *, UINTN key);
};

/* An RSDP in the system table (ACPI 2.0+ or 1.0 GUID): the firmware gives
 * the OS ACPI tables, so one more is found where the OS looks. Without
 * (Bochs + OVMF), installing MHVL would make an RSDT of that one table. */
static bool firmware_has_acpi(void)
{
    EFI_GUID acpi20 = ACPI_20_TABLE_GUID, acpi10 = ACPI_TABLE_GUID;
    for (UINTN i = 0; i < ST->NumberOfTableEntries; i++)
        if (!CompareGuid(&ST->ConfigurationTable[i].VendorGuid, &acpi20) ||
            !CompareGuid(&ST->ConfigurationTable[i].VendorGuid, &acpi10))
            return true;
    return false;
}

static void install_acpi_table(uint64_t phys, uint64_t size)
{
    if (!firmware_has_acpi()) {
        log_line("log: no ACPI tables from the firmware, no MHVL table: the OS finds the ring by scanning "
                 "Reserved memory for its magic at 4 KiB boundaries");
        return;
    }
    static EFI_GUID guid = ACPI_TABLE_PROTOCOL_GUID;
    struct acpi_table_protocol *acpi = NULL;
    EFI_STATUS st = BS->LocateProtocol(&guid, NULL, (void **)&acpi);
    if (EFI_ERROR(st) || !acpi) {
        log_line("log: no EFI_ACPI_TABLE_PROTOCOL (status 0x%lx), no MHVL table: the OS finds the ring by "
                 "scanning Reserved memory for its magic at 4 KiB boundaries", st);
        return;
    }
    /* ACPI 6.5 5.2.6: the common header, then the area; checksum over all. */
    struct minihv_log_acpi t;
    memset(&t, 0, sizeof(t));
    memcpy(t.signature, MINIHV_LOG_ACPI_SIG, 4);
    t.length = sizeof(t);
    t.revision = 1;
    memcpy(t.oem_id, "MINIHV", 6);
    memcpy(t.oem_table_id, "LOGRING ", 8);
    t.oem_revision = 1;
    memcpy(t.creator_id, "MNHV", 4);
    t.creator_revision = 1;
    t.area_phys = phys;
    t.area_size = size;
    uint8_t sum = 0;
    for (size_t i = 0; i < sizeof(t); i++)
        sum = (uint8_t)(sum + ((const uint8_t *)&t)[i]);
    t.checksum = (uint8_t)-sum;
    UINTN key = 0;
    st = acpi->InstallAcpiTable(acpi, &t, sizeof(t), &key);
    if (EFI_ERROR(st))
        log_line("log: installing the MHVL ACPI table failed (status 0x%lx): the OS finds the ring by scanning "
                 "Reserved memory", st);
    else
        log_line("log: ACPI table MHVL installed (/sys/firmware/acpi/tables/MHVL): area 0x%lx, %lu KiB",
                 phys, size >> 10);
}

void log_ring_start(uint32_t log_kb, uint64_t preferred_phys, uint64_t prev_boot_count)
{
    if (ring_mode != RING_EARLY)
        return;
    uint64_t bytes = log_ring_area_size((uint64_t)log_kb << 10);
    UINTN pages = (UINTN)(bytes >> 12);
    EFI_PHYSICAL_ADDRESS pa = preferred_phys;
    EFI_STATUS st = EFI_NOT_FOUND;
    bool at_preferred = false;
    if (preferred_phys && !(preferred_phys & 4095) && preferred_phys + bytes <= (1ull << 32)) {
        st = BS->AllocatePages(AllocateAddress, EfiReservedMemoryType, pages, &pa);
        at_preferred = !EFI_ERROR(st);
    }
    if (!at_preferred) {
        pa = 0xffffffffull; /* below 4 GiB: any loader, any OS maps it */
        st = BS->AllocatePages(AllocateMaxAddress, EfiReservedMemoryType, pages, &pa);
    }
    const char *how = "";
    uint64_t hz = tsc_calibrate(&how);
    if (EFI_ERROR(st) || log_ring_format((void *)(uintptr_t)pa, bytes, hz, tsc_start, prev_boot_count + 1)) {
        ring_mode = RING_OFF;
        log_line("log: cannot reserve %lu KiB below 4 GiB for the log ring (status 0x%lx): serial and console only",
                 bytes >> 10, st);
        return;
    }
    ring = (struct minihv_log_header *)(uintptr_t)pa;
    ring_bytes = bytes;
    log_ring_writer_open(&ring_writer, ring, bytes); /* just formatted: cannot fail */
    ring_mode = RING_DIRECT;
    /* The lines from before, in order, with their own time. */
    for (size_t at = 0; at + sizeof(struct early_line) <= early_used;) {
        struct early_line e;
        memcpy(&e, early + at, sizeof(e));
        at += sizeof(e);
        if (log_ring_append(&ring_writer, MINIHV_LOG_CPU_LOADER, MINIHV_LOG_SRC_LOADER, e.tsc, (const char *)early + at,
                            e.len))
            log_ring_count_lost(ring);
        at += e.len;
    }
    ring->lost += early_lost;
    log_line("log: ring of %u KiB at 0x%lx (%s, boot %lu), TSC %lu kHz by %s", log_kb, (unsigned long)pa,
             at_preferred ? "the previous boot's address" : preferred_phys ? "not at the previous address" : "new",
             (unsigned long)ring->boot_count, (unsigned long)(hz / 1000), how);
    install_acpi_table(pa, bytes);
}

uint64_t log_ring_phys(void)
{
    return ring ? (uint64_t)(uintptr_t)ring : 0;
}

uint64_t log_ring_size(void)
{
    return ring ? ring_bytes : 0;
}

/* UEFI PI Vol. 5, 12.3 EFI_SIO_PROTOCOL (a Super I/O device: OVMF's
 * SioBusDxe makes one per ISA UART, PciSioSerialDxe binds to it). */
#define EFI_SIO_PROTOCOL_GUID { 0x215fdd18, 0xbd50, 0x4feb, { 0x89, 0x0b, 0x58, 0xca, 0x0b, 0x47, 0x39, 0xe9 } }
struct efi_sio_protocol {
    void *register_access;
    EFI_STATUS(EFIAPI *get_resources)(struct efi_sio_protocol *self, const uint8_t **resources);
    void *set_resources, *possible_resources, *modify;
};
/* The Super I/O UART log_release_firmware_uart disconnected (to reconnect
 * if the core does not start). */
static EFI_HANDLE released_uart;
/* An ACPI resource template is a few items; GetResources does not say its
 * length: parse no further than this. */
#define SIO_RESOURCES_MAX 256

void log_release_firmware_uart(void)
{
    static EFI_GUID sio_guid = EFI_SIO_PROTOCOL_GUID;
    UINTN n = 0;
    EFI_HANDLE *h = NULL;
    if (!core_port || EFI_ERROR(LibLocateHandle(ByProtocol, &sio_guid, NULL, &n, &h)) || !h)
        return;
    for (UINTN i = 0; i < n; i++) {
        struct efi_sio_protocol *sio = NULL;
        const uint8_t *res = NULL;
        uint16_t base, count;
        const char *why;
        if (EFI_ERROR(BS->HandleProtocol(h[i], &sio_guid, (void **)&sio)) || !sio ||
            EFI_ERROR(sio->get_resources(sio, &res)) || !res ||
            acpi_resource_io(res, SIO_RESOURCES_MAX, &base, &count, &why) || base != core_port)
            continue;
        /* The firmware's console (OVMF: every UART) would go on writing and
         * polling it as the guest: each access an exit the core drops
         * (hv/console.c), ~2,000 in a Linux boot (docs/bench.md). */
        EFI_STATUS st = BS->DisconnectController(h[i], NULL, NULL);
        log_port = core_port; /* ConOut no longer reaches it: the loader writes its lines */
        log_line("log: the firmware's driver for the core's UART (Super I/O at 0x%x, %u ports) %s", base, count,
                 EFI_ERROR(st) ? "stays: DisconnectController failed" : "disconnected: the core's from here on");
        if (!EFI_ERROR(st))
            released_uart = h[i];
        break;
    }
    FreePool(h);
}

void log_restore_firmware_uart(void)
{
    if (!released_uart)
        return;
    BS->ConnectController(released_uart, NULL, NULL, TRUE);
    released_uart = NULL;
    if (firmware_console_has_uart())
        log_port = 0; /* ConOut reaches it again (log_init) */
}

void log_ring_core_took(void)
{
    core_owns_port = true;
    /* Without a ring of its own (no memory for it) too: the core prints. */
    if (ring_mode == RING_DIRECT || ring_mode == RING_EARLY || (ring_mode == RING_OFF && !ring_closed))
        ring_mode = RING_CORE;
}

void log_ring_close(void)
{
    ring_closed = true;
    if (ring_mode == RING_CORE) {
        uint64_t rax = MINIHV_HC_LOADER_LOG, rbx = 0, rcx = 0;
        __asm__ volatile("vmcall" : "+a"(rax), "+b"(rbx), "+c"(rcx) : : "rdx", "memory");
        ring_mode = RING_OFF;
    }
}
