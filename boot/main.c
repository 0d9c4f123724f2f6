/* minihv's UEFI entry: config, platform report, core launch, chain-load.
 * One log line per stage. Any failure before the core runs returns to the
 * firmware with nothing virtualized. */
#include <efi.h>
#include <efilib.h>
#include <minihv/libc.h>
#include "boot/config.h"
#include "boot/lastlog.h"
#include "log/ring_write.h"
#include "boot/launch.h"
#include "boot/log.h"
#include "boot/measure.h"
#include "boot/passthrough.h"
#include "boot/platform.h"
#include "boot/sb_policy.h"
#include "boot/secureboot.h"

#define CONFIG_MAX_FILE (64 * 1024)

static struct platform platform; /* large: keep it off the firmware stack */
static char config_text[CONFIG_MAX_FILE];
static struct pt_prep passthrough; /* ~5 KiB: off the stack too */

/* The folder of the running image, from its device path (a file path node),
 * with `name` appended. */
static CHAR16 *path_beside_image(EFI_LOADED_IMAGE *li, const CHAR16 *name)
{
    CHAR16 *self = DevicePathToStr(li->FilePath);
    if (!self)
        return NULL;
    UINTN len = StrLen(self), cut = 0;
    for (UINTN i = 0; i < len; i++)
        if (self[i] == L'\\' || self[i] == L'/')
            cut = i + 1;
    CHAR16 *out = AllocatePool((cut + StrLen(name) + 1) * sizeof(CHAR16));
    if (out) {
        CopyMem(out, self, cut * sizeof(CHAR16));
        StrCpy(out + cut, name);
    }
    FreePool(self);
    return out;
}

/* Reads the config into config_text. 0 on success, 1 if absent, -1 on error. */
static int read_config(EFI_HANDLE image, EFI_LOADED_IMAGE *li, size_t *len)
{
    (void)image;
    EFI_FILE_HANDLE root = LibOpenRoot(li->DeviceHandle), file;
    CHAR16 *path = path_beside_image(li, L"minihv.cfg");
    if (!root || !path)
        return 1;
    EFI_STATUS st = root->Open(root, &file, path, EFI_FILE_MODE_READ, 0);
    FreePool(path);
    if (EFI_ERROR(st))
        return 1;
    UINTN n = sizeof(config_text);
    st = file->Read(file, &n, config_text);
    UINTN more = 1;
    char extra;
    if (!EFI_ERROR(st) && n == sizeof(config_text) && !EFI_ERROR(file->Read(file, &more, &extra)) && more)
        st = EFI_BUFFER_TOO_SMALL;
    file->Close(file);
    root->Close(root);
    if (EFI_ERROR(st))
        return -1;
    *len = n;
    return 0;
}

/* ASCII (the config only has ASCII outside comments) to UCS-2. */
static void to_wide(CHAR16 *dst, size_t n, const char *src, bool path)
{
    size_t i = 0;
    for (; src[i] && i < n - 1; i++)
        dst[i] = path && src[i] == '/' ? L'\\' : (CHAR16)src[i];
    dst[i] = 0;
}

/* Starts the guest sb_load_guest loaded (and checked) before the core ran. */
static EFI_STATUS chain_load(EFI_HANDLE child, const char *guest, const char *args)
{
    static CHAR16 wide_args[CONFIG_MAX_ARGS];
    EFI_STATUS st;
    /* The guest's command line: LoadOptions of its loaded image, as the
     * shell passes it (UEFI 2.7 9.1; an EFI-stub kernel reads initrd= here). */
    EFI_LOADED_IMAGE *child_li = NULL;
    if (args[0] && !EFI_ERROR(BS->HandleProtocol(child, &LoadedImageProtocol, (void **)&child_li))) {
        to_wide(wide_args, ARRAY_SIZE(wide_args), args, false);
        child_li->LoadOptions = wide_args;
        child_li->LoadOptionsSize = (UINT32)(StrLen(wide_args) + 1) * sizeof(CHAR16);
    }
    log_line("guest: starting %s%s%s", guest, args[0] ? " " : "", args);
    log_ring_close(); /* the guest never writes the ring: later lines serial and console only */
    st = BS->StartImage(child, NULL, NULL);
    log_line("guest: %s returned 0x%lx", guest, st);
    return st;
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
    struct minihv_config cfg;
    struct config_error err;
    EFI_LOADED_IMAGE *li = NULL;
    size_t len = 0;

    InitializeLib(image, systab);
    log_start_clock();
    config_defaults(&cfg);
    BS->HandleProtocol(image, &LoadedImageProtocol, (void **)&li);
    int found = li ? read_config(image, li, &len) : 1;
    /* A bad line leaves cfg at the defaults: the ring still starts (at
     * the default size), so the error is in the log the OS can read. */
    bool bad_config = found == 0 && config_parse(config_text, len, &cfg, &err);
    log_init(cfg.serial_port);
    if (bad_config)
        log_line("config: minihv.cfg line %u: %s", err.line, err.msg);
    else
        log_line("minihv starting");

    /* The log ring (issue 17): the lines so far wait in a buffer and go
     * in first. */
    struct lastlog prev; /* the previous boot's ring: read before the new one may reuse its memory */
    lastlog_find(&prev, log_ring_area_size((uint64_t)cfg.log_kb << 10));
    log_ring_start(cfg.log_kb, prev.preferred_phys, prev.prev_boot_count);
    lastlog_remember(&prev, log_ring_phys());
    lastlog_save(&prev, li ? li->DeviceHandle : NULL, cfg.keep_logs);

    if (bad_config) {
        log_line("config: nothing virtualized; returning to the firmware");
        return EFI_INVALID_PARAMETER;
    }
    if (found < 0) {
        log_line("config: minihv.cfg unreadable (or over 64 KiB); nothing virtualized");
        return EFI_LOAD_ERROR;
    }
    log_line("config: %s; passthrough %s, guest '%s', serial %s, hv_mem_mb %u, iommu %s, log_kb %u, keep_logs %u",
             found == 0 ? "minihv.cfg" : "no minihv.cfg, defaults",
             cfg.passthrough == PASSTHROUGH_NONE ? "none" : cfg.passthrough == PASSTHROUGH_IGD ? "igd" : "bdf",
             cfg.guest, cfg.serial_port ? "on" : "off", cfg.hv_mem_mb, config_iommu_name(cfg.iommu), cfg.log_kb,
             cfg.keep_logs);
    if (cfg.igd_force || cfg.vbt[0] || cfg.rom[0])
        log_line("config: igd_force %u%s, vbt '%s', rom '%s'", cfg.igd_force,
                 cfg.igd_force ? " (TEST ONLY)" : "", cfg.vbt, cfg.rom);

    /* Secure Boot and measured launch (issue 20), all before the core
     * runs: a refusal leaves nothing virtualized. */
    bool secure = sb_enabled();
    bool shim = sb_shim_present();
    log_line("secureboot: %s%s", !secure ? "off" : shim ? "on (shim verified minihv.efi)" : "on (the firmware verified minihv.efi)",
             shim ? ", started by shim (SHIM_LOCK present)" : "");
    if (!sb_config_allowed(&cfg, secure))
        return EFI_SECURITY_VIOLATION;
    /* Under Secure Boot, auto never falls back to no IOMMU: without a
     * provider that contains device DMA the core does not virtualize. */
    if (secure && cfg.iommu == IOMMU_AUTO) {
        cfg.iommu = IOMMU_AUTO_REQUIRED;
        log_line("secureboot: iommu = auto must find VT-d or AMD-Vi: no fallback to none");
    }
    static char policy[512];
    if (sb_policy_string(&cfg, policy, sizeof(policy)) < 0) {
        log_line("config: the policy line does not fit in %u bytes; nothing virtualized", (unsigned)sizeof(policy));
        return EFI_BAD_BUFFER_SIZE;
    }
    log_line("policy: %s", policy);
    if (measure_init()) {
        measure_event(SB_PCR_CONFIG, config_text, found == 0 ? len : 0,
                      found == 0 ? "minihv: minihv.cfg" : "minihv: no minihv.cfg (defaults)");
        measure_event(SB_PCR_CONFIG, policy, strlen(policy), policy);
    }
    struct sb_guest guest = { 0 };
    if (cfg.guest[0]) {
        EFI_STATUS st = li ? sb_load_guest(image, li, cfg.guest, &guest) : EFI_NOT_FOUND;
        if (EFI_ERROR(st)) {
            log_ring_close(); /* the firmware's next boot option runs, not virtualized */
            return st;
        }
        static char desc[CONFIG_MAX_PATH + 16];
        size_t n = strlen(cfg.guest);
        memcpy(desc, "minihv: guest ", 14);
        memcpy(desc + 14, cfg.guest, n + 1);
        measure_event(SB_PCR_FILES, guest.bytes, guest.size, desc);
        FreePool(guest.bytes); /* LoadImage kept its own copy */
        guest.bytes = NULL;
    }

    platform_report_firmware();
    platform_report_memory(&platform);
    platform_report_acpi(&platform);
    platform_report_cpus(&platform);
    platform_report_pci(&platform, &cfg);

    if (li)
        passthrough_prepare(&cfg, &platform, li->DeviceHandle, &passthrough);
    if (launch_core(&cfg, &platform, &passthrough))
        log_line("core: failed; continuing without it");
    launch_report_final_memmap();
    launch_dump_stats();

    if (cfg.guest[0])
        return chain_load(guest.child, cfg.guest, cfg.guest_args);
    /* An error status makes the boot manager go on with its next boot
     * option (a success would stop at its menu): that option then runs as
     * the guest. */
    log_line("guest: none configured; the firmware's next boot option runs as the guest");
    log_ring_close();
    return EFI_NOT_FOUND;
}
