/* See lastlog.h.
 *
 * Which memory may hold the previous ring: the whole area must lie in
 * memory-map descriptors of RAM the firmware may have left as it was
 * across a warm reset: EfiConventionalMemory (free now), EfiLoaderCode/Data
 * and EfiBootServicesCode/Data (in use by this boot's loaders and drivers:
 * then most likely overwritten, which the ring's checks tell),
 * EfiPersistentMemory, and EfiReservedMemoryType with the WB attribute:
 * EDK2 (OVMF measured) keeps a bin per memory type where the previous
 * boot's allocations of that type were (the MemoryTypeInformation
 * variable) and reports the bin's free pages as that type, so the previous
 * ring's own pages come back as Reserved. Runtime, ACPI, MMIO, unusable
 * ranges and Reserved ones without WB (MMIO a firmware calls reserved) are
 * never read: a stale or forged variable must not make the loader read
 * device registers or firmware memory. */
#include <efi.h>
#include <efilib.h>
#include <minihv/format.h>
#include <minihv/libc.h>
#include <minihv/logring.h>
#include "boot/lastlog.h"
#include "boot/log.h"
#include "log/ring_read.h"
#include "log/ring_write.h"

#define EFI_PERSISTENT_MEMORY 14 /* EfiPersistentMemory (UEFI 2.10 7.2): not in GNU-EFI's enum */
#define AREA_MAX (LOG_RING_DATA_OFFSET + (uint64_t)LOG_DATA_MAX) /* largest area a reader accepts */
#define SCREEN_LINES 20
#define SCREEN_PAUSE_US 5000000u

static EFI_GUID var_guid = MINIHV_LOG_VAR_GUID;

static bool ram_type(const EFI_MEMORY_DESCRIPTOR *d)
{
    UINT32 t = d->Type;
    if (t == EfiReservedMemoryType)
        return (d->Attribute & EFI_MEMORY_WB) != 0; /* RAM; MMIO called reserved is UC only */
    return t == EfiConventionalMemory || t == EfiLoaderCode || t == EfiLoaderData || t == EfiBootServicesCode ||
           t == EfiBootServicesData || t == EFI_PERSISTENT_MEMORY;
}

/* Bytes of accepted RAM from pa on (contiguous descriptors), up to max; 0
 * when pa itself is not in one. *type: the type of the descriptor holding
 * pa (or ~0 when none). */
static uint64_t ram_from(uint64_t pa, uint64_t max, UINT32 *type)
{
    UINTN entries, key, desc_size;
    UINT32 desc_version;
    EFI_MEMORY_DESCRIPTOR *map = LibMemoryMap(&entries, &key, &desc_size, &desc_version);
    *type = ~0u;
    if (!map)
        return 0;
    uint64_t at = pa;
    for (bool grew = true; grew && at - pa < max;) {
        grew = false;
        for (UINTN i = 0; i < entries; i++) {
            EFI_MEMORY_DESCRIPTOR *d = (EFI_MEMORY_DESCRIPTOR *)((uint8_t *)map + i * desc_size);
            uint64_t end = d->PhysicalStart + d->NumberOfPages * EFI_PAGE_SIZE;
            if (d->PhysicalStart <= at && at < end) {
                if (at == pa)
                    *type = d->Type;
                if (ram_type(d)) {
                    at = end;
                    grew = true;
                }
                break;
            }
        }
    }
    FreePool(map);
    return MIN(at - pa, max);
}

/* Where a new ring should go when there is no surviving previous one: the
 * lowest free RAM at or above LOW_FLOOR (2 MiB aligned, below 4 GiB) that
 * holds `bytes`. Firmware allocates top-down: on OVMF, a ring at the top of
 * low RAM (where AllocateMaxAddress puts it) was overwritten with 0xAF (the
 * DXE core's freed-page fill) before the next boot's loader ran, while RAM
 * low in the map is left alone (docs/design.md, "The log across a reset").
 * The same memory map gives the same address, so the variable is rewritten
 * only when the map changes. 0: none found (the ring goes anywhere). */
#define LOW_FLOOR (64ull << 20)

static uint64_t pick_low(uint64_t bytes)
{
    UINTN entries, key, desc_size;
    UINT32 desc_version;
    EFI_MEMORY_DESCRIPTOR *map = LibMemoryMap(&entries, &key, &desc_size, &desc_version);
    uint64_t best = 0;
    if (!map)
        return 0;
    for (UINTN i = 0; i < entries; i++) {
        EFI_MEMORY_DESCRIPTOR *d = (EFI_MEMORY_DESCRIPTOR *)((uint8_t *)map + i * desc_size);
        uint64_t end = d->PhysicalStart + d->NumberOfPages * EFI_PAGE_SIZE;
        uint64_t at = ALIGN_UP(MAX(d->PhysicalStart, LOW_FLOOR), 2ull << 20);
        if (d->Type == EfiConventionalMemory && at + bytes <= end && end <= (1ull << 32) && (!best || at < best))
            best = at;
    }
    FreePool(map);
    return best;
}

/* The formatted lines of [tail, head) into buf (NULL: only counts); the
 * bytes they take. Stops at the first bad record (*err filled, *bad set). */
/* The lines as text into buf (NULL: only count), at most cap bytes: the
 * second pass reads the old ring again, which need not hold what the
 * first pass sized (review R). */
static uint64_t format_lines(const struct log_ring_view *v, char *buf, uint64_t cap, unsigned *lines, bool *bad,
                             struct field_error *err, uint64_t *bad_pos)
{
    static struct log_iter it; /* 560 bytes: off the firmware stack */
    struct log_line line;
    char one[MINIHV_LOG_TEXT_MAX + 64];
    uint64_t len = 0;
    int rc;
    *lines = 0;
    *bad = false;
    log_iter_init(&it, v, v->tail, UINT64_MAX);
    while ((rc = log_iter_next(&it, &line, err)) == 1) {
        size_t n = log_line_format(v, &line, one, sizeof(one));
        if (buf && len + n + 1 > cap)
            break;
        if (buf) {
            memcpy(buf + len, one, n);
            buf[len + n] = '\n';
        }
        len += n + 1;
        (*lines)++;
    }
    if (rc < 0) {
        *bad = true;
        *bad_pos = it.pos;
    }
    return len;
}

static void find(struct lastlog *ll);

void lastlog_find(struct lastlog *ll, uint64_t area_bytes)
{
    find(ll);
    /* No ring survived at the variable's address: a place that may. */
    if (!ll->prev_boot_count) {
        uint64_t low = pick_low(area_bytes);
        if (low)
            ll->preferred_phys = low;
    }
}

static void find(struct lastlog *ll)
{
    memset(ll, 0, sizeof(*ll));
    uint64_t pa = 0;
    UINTN size = sizeof(pa);
    UINT32 attr = 0;
    EFI_STATUS st = RT->GetVariable(MINIHV_LOG_VAR_NAME, &var_guid, &attr, &size, &pa);
    if (st == EFI_NOT_FOUND) {
        log_line("log: no previous log");
        return;
    }
    if (EFI_ERROR(st) || size != sizeof(pa)) {
        log_line("log: previous log: variable MinihvLogArea unreadable (status 0x%lx) or not 8 bytes (%lu): ignored",
                 st, (unsigned long)size);
        return;
    }
    /* Boot-services only (lastlog_remember): one the OS could have set at
     * run time (an older minihv's, or planted: it would point this boot at
     * a forged "previous log") is dropped, and written again as ours. */
    if (attr & EFI_VARIABLE_RUNTIME_ACCESS) {
        RT->SetVariable(MINIHV_LOG_VAR_NAME, &var_guid, attr, 0, NULL);
        log_line("log: previous log: variable MinihvLogArea has run-time access (the OS could set it): "
                 "ignored and deleted");
        return;
    }
    ll->var_phys = pa;
    UINT32 type;
    uint64_t ram = (pa & (EFI_PAGE_SIZE - 1)) ? 0 : ram_from(pa, AREA_MAX, &type);
    if (!pa || (pa & (EFI_PAGE_SIZE - 1))) {
        log_line("log: previous log: MinihvLogArea 0x%lx is not a 4 KiB aligned address: ignored", pa);
        return;
    }
    if (ram < EFI_PAGE_SIZE) {
        log_line("log: previous log: MinihvLogArea 0x%lx is not in RAM the memory map gives (type %d): ignored",
                 pa, type == ~0u ? -1 : (int)type);
        return;
    }
    /* In RAM: the new ring may stay there, whatever it holds now. */
    ll->preferred_phys = pa;
    const struct minihv_log_header *h = (const void *)(uintptr_t)pa;
    struct field_error err;
    if (log_ring_check(h, (size_t)ram, &err)) {
        log_line("log: previous log at 0x%lx ignored: %s at 0x%x: %s", pa, err.field, err.offset, err.what);
        return;
    }
    struct log_ring_view v;
    log_ring_view(h, &v);
    ll->prev_boot_count = v.boot_count;
    ll->flags = v.flags;
    if (v.flags & MINIHV_LOG_FLAG_SAVED) {
        log_line("log: previous log (boot %lu) at 0x%lx was saved already", v.boot_count, pa);
        return;
    }
    bool bad;
    uint64_t bad_pos = 0;
    unsigned lines;
    uint64_t len = format_lines(&v, NULL, UINT64_MAX, &lines, &bad, &err, &bad_pos);
    char note[200] = "";
    if (bad)
        fmt_snprintf(note, sizeof(note), "minihv: the rest of the log refused: record %s at byte %lu: %s\n",
                     err.field, bad_pos, err.what);
    size_t note_len = strlen(note);
    ll->text = AllocatePool(len + note_len + 1);
    if (!ll->text) {
        log_line("log: previous log (boot %lu): no memory for a copy of %lu bytes", v.boot_count, len);
        return;
    }
    ll->text_len = format_lines(&v, ll->text, len, &ll->lines, &bad, &err, &bad_pos);
    memcpy(ll->text + ll->text_len, note, note_len + 1);
    ll->text_len += note_len;
    /* Copied: mark it before the new ring reuses the memory, so a boot
     * that finds it again (no new ring there) does not save it twice. */
    log_ring_set_flags((struct minihv_log_header *)(uintptr_t)pa, MINIHV_LOG_FLAG_SAVED);
    log_line("log: previous log (boot %lu) at 0x%lx: %u lines, %lu dropped, %s%s%s", v.boot_count, pa,
             ll->lines, v.dropped, v.flags & MINIHV_LOG_FLAG_FATAL ? "ended in FATAL" : "no FATAL",
             bad ? "; stopped at a bad record: " : "", bad ? err.field : "");
}

void lastlog_remember(const struct lastlog *ll, uint64_t area_phys)
{
    if (!area_phys || area_phys == ll->var_phys)
        return;
    /* No EFI_VARIABLE_RUNTIME_ACCESS: the OS cannot rewrite it (UEFI 2.10
     * 8.2: a variable without it is gone after ExitBootServices). */
    EFI_STATUS st = RT->SetVariable(MINIHV_LOG_VAR_NAME, &var_guid,
                                    EFI_VARIABLE_NON_VOLATILE | EFI_VARIABLE_BOOTSERVICE_ACCESS,
                                    sizeof(area_phys), &area_phys);
    if (EFI_ERROR(st))
        log_line("log: cannot keep the ring's address 0x%lx in variable MinihvLogArea (status 0x%lx): "
                 "the next boot will not find this log", area_phys, st);
}

/* ---- the ESP ---- */

static EFI_FILE_HANDLE open_dir(EFI_FILE_HANDLE parent, CHAR16 *name)
{
    EFI_FILE_HANDLE dir = NULL;
    if (EFI_ERROR(parent->Open(parent, &dir, name, EFI_FILE_MODE_READ | EFI_FILE_MODE_WRITE | EFI_FILE_MODE_CREATE,
                               EFI_FILE_DIRECTORY)))
        return NULL;
    return dir;
}

static void log_name(CHAR16 *out, unsigned index)
{
    if (index == 0)
        SPrint(out, 32 * sizeof(CHAR16), L"last.log");
    else
        SPrint(out, 32 * sizeof(CHAR16), L"last.%u.log", index);
}

static EFI_FILE_HANDLE open_existing(EFI_FILE_HANDLE dir, unsigned index)
{
    CHAR16 name[32];
    EFI_FILE_HANDLE f = NULL;
    log_name(name, index);
    if (EFI_ERROR(dir->Open(dir, &f, name, EFI_FILE_MODE_READ | EFI_FILE_MODE_WRITE, 0)))
        return NULL;
    return f;
}

/* Renames file `from` to `to` in the same folder (UEFI 2.10 13.5.16
 * SetInfo: a new FileName renames). */
static EFI_STATUS rename_log(EFI_FILE_HANDLE dir, unsigned from, unsigned to)
{
    EFI_FILE_HANDLE f = open_existing(dir, from);
    if (!f)
        return EFI_NOT_FOUND;
    EFI_FILE_INFO *info = LibFileInfo(f), *renamed = NULL;
    EFI_STATUS st = EFI_OUT_OF_RESOURCES;
    CHAR16 name[32];
    log_name(name, to);
    UINTN size = SIZE_OF_EFI_FILE_INFO + (StrLen(name) + 1) * sizeof(CHAR16);
    if (info && (renamed = AllocatePool(size))) {
        CopyMem(renamed, info, SIZE_OF_EFI_FILE_INFO);
        StrCpy(renamed->FileName, name);
        renamed->Size = size;
        st = f->SetInfo(f, &GenericFileInfo, size, renamed);
    }
    if (info)
        FreePool(info);
    if (renamed)
        FreePool(renamed);
    f->Close(f);
    return st;
}

static void delete_log(EFI_FILE_HANDLE dir, unsigned index)
{
    EFI_FILE_HANDLE f = open_existing(dir, index);
    if (f)
        f->Delete(f); /* closes it */
}

/* last.log -> last.1.log -> ... ; keep files in all, the oldest deleted. */
static void rotate(EFI_FILE_HANDLE dir, unsigned keep)
{
    for (unsigned i = keep - 1; i <= 99; i++) /* past keep: older settings' files */
        delete_log(dir, i);
    for (unsigned i = keep - 1; i > 0; i--)
        rename_log(dir, i - 1, i);
}

static EFI_STATUS write_file(EFI_FILE_HANDLE dir, const char *text, uint64_t len)
{
    EFI_FILE_HANDLE f = NULL;
    /* A last.log the rotation could not rename (keep_logs 1, or SetInfo
     * refused) goes first: CREATE on an existing file keeps its old tail. */
    delete_log(dir, 0);
    EFI_STATUS st = dir->Open(dir, &f, L"last.log", EFI_FILE_MODE_READ | EFI_FILE_MODE_WRITE | EFI_FILE_MODE_CREATE, 0);
    if (EFI_ERROR(st))
        return st;
    UINTN n = (UINTN)len;
    st = f->Write(f, &n, (void *)text);
    if (!EFI_ERROR(st) && n != len)
        st = EFI_VOLUME_FULL;
    EFI_STATUS fl = f->Flush(f);
    f->Close(f);
    return EFI_ERROR(st) ? st : fl;
}

static EFI_STATUS save_to_esp(EFI_HANDLE device, const struct lastlog *ll, unsigned keep)
{
    EFI_FILE_HANDLE root = LibOpenRoot(device), efi = NULL, dir = NULL;
    EFI_STATUS st = EFI_NOT_FOUND;
    if (root && (efi = open_dir(root, L"EFI")) && (dir = open_dir(efi, L"minihv"))) {
        rotate(dir, keep);
        st = write_file(dir, ll->text, ll->text_len);
        dir->Flush(dir);
    }
    if (dir)
        dir->Close(dir);
    if (efi)
        efi->Close(efi);
    if (root)
        root->Close(root);
    return st;
}

/* The last SCREEN_LINES lines on the firmware console, then a pause. */
static void show_fatal(const struct lastlog *ll)
{
    uint64_t start = 0;
    unsigned lines = 0;
    for (uint64_t i = ll->text_len; i-- > 0;)
        if (ll->text[i] == '\n' && i + 1 < ll->text_len && ++lines == SCREEN_LINES) {
            start = i + 1; /* each newline but the last starts a line */
            break;
        }
    Print(L"\r\nminihv: the previous run ended in FATAL; its last lines:\r\n");
    for (uint64_t i = start; i < ll->text_len;) {
        uint64_t end = i;
        while (end < ll->text_len && ll->text[end] != '\n')
            end++;
        char line[MINIHV_LOG_TEXT_MAX + 96];
        uint64_t n = MIN(end - i, sizeof(line) - 1);
        memcpy(line, ll->text + i, n);
        line[n] = 0;
        Print(L"  %a\r\n", line);
        i = end + 1;
    }
    log_line("log: the previous run ended in FATAL: its last lines are on the screen; going on in 5 s");
    BS->Stall(SCREEN_PAUSE_US);
}

void lastlog_save(struct lastlog *ll, EFI_HANDLE device, unsigned keep_logs)
{
    if (!ll->text)
        return;
    if (!keep_logs) {
        log_line("log: keep_logs = 0: the previous log is not written to the ESP");
    } else {
        EFI_STATUS st = device ? save_to_esp(device, ll, keep_logs) : EFI_NOT_FOUND;
        if (EFI_ERROR(st))
            log_line("log: cannot write \\EFI\\minihv\\last.log (status 0x%lx): the previous log is lost", st);
        else
            log_line("log: previous log saved as \\EFI\\minihv\\last.log (%lu bytes, %u lines; keep_logs %u)",
                     ll->text_len, ll->lines, keep_logs);
    }
    if (ll->flags & MINIHV_LOG_FLAG_FATAL)
        show_fatal(ll);
    FreePool(ll->text);
    ll->text = NULL;
}
