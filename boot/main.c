/* minihv's UEFI entry: config, platform report, core launch, chain-load.
 * One log line per stage. Any failure before the core runs returns to the
 * firmware with nothing virtualized. */
#include <efi.h>
#include <efilib.h>
#include <minihv/libc.h>
#include "boot/config.h"
#include "boot/launch.h"
#include "boot/log.h"
#include "boot/platform.h"

#define CONFIG_MAX_FILE (64 * 1024)

static struct platform platform; /* large: keep it off the firmware stack */
static char config_text[CONFIG_MAX_FILE];

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

static EFI_STATUS chain_load(EFI_HANDLE image, EFI_LOADED_IMAGE *li, const char *guest)
{
    CHAR16 wide[CONFIG_MAX_PATH];
    size_t i = 0;
    for (; guest[i] && i < ARRAY_SIZE(wide) - 1; i++)
        wide[i] = guest[i] == '/' ? L'\\' : (CHAR16)guest[i];
    wide[i] = 0;
    EFI_DEVICE_PATH *dp = FileDevicePath(li->DeviceHandle, wide);
    EFI_HANDLE child = NULL;
    EFI_STATUS st = dp ? BS->LoadImage(FALSE, image, dp, NULL, 0, &child) : EFI_OUT_OF_RESOURCES;
    if (EFI_ERROR(st)) {
        log_line("guest: cannot load %s (status 0x%lx)", guest, st);
        return st;
    }
    log_line("guest: starting %s", guest);
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
    config_defaults(&cfg);
    BS->HandleProtocol(image, &LoadedImageProtocol, (void **)&li);
    int found = li ? read_config(image, li, &len) : 1;
    if (found == 0 && config_parse(config_text, len, &cfg, &err)) {
        log_init(cfg.serial_port);
        log_line("config: minihv.cfg line %u: %s", err.line, err.msg);
        log_line("config: nothing virtualized; returning to the firmware");
        return EFI_INVALID_PARAMETER;
    }
    log_init(cfg.serial_port);
    log_line("minihv starting");
    if (found < 0) {
        log_line("config: minihv.cfg unreadable (or over 64 KiB); nothing virtualized");
        return EFI_LOAD_ERROR;
    }
    log_line("config: %s; passthrough %s, guest '%s', serial %s, hv_mem_mb %u, iommu %s",
             found == 0 ? "minihv.cfg" : "no minihv.cfg, defaults",
             cfg.passthrough == PASSTHROUGH_NONE ? "none" : cfg.passthrough == PASSTHROUGH_IGD ? "igd" : "bdf",
             cfg.guest, cfg.serial_port ? "on" : "off", cfg.hv_mem_mb, config_iommu_name(cfg.iommu));

    platform_report_firmware();
    platform_report_memory(&platform);
    platform_report_acpi(&platform);
    platform_report_cpus(&platform);
    platform_report_pci(&platform, &cfg);

    if (launch_core(&cfg, &platform))
        log_line("core: failed; continuing without it");
    launch_report_final_memmap();
    launch_dump_stats();

    if (cfg.guest[0])
        return chain_load(image, li, cfg.guest);
    /* An error status makes the boot manager go on with its next boot
     * option (a success would stop at its menu): that option then runs as
     * the guest. */
    log_line("guest: none configured; the firmware's next boot option runs as the guest");
    return EFI_NOT_FOUND;
}
