/* Secure Boot in the loader (issue 20). The firmware verified minihv.efi
 * itself; minihv keeps the chain: the guest is loaded through LoadImage from
 * the bytes minihv read (so they are the bytes measured), which checks them
 * against db/dbx under Secure Boot (UEFI 2.9 32.5), and, when shim started
 * minihv, shim's SHIM_LOCK Verify checks them first against shim's own
 * list and MokList. All of it before the core runs: a refusal leaves
 * nothing virtualized. */
#include <efi.h>
#include <efilib.h>
#include <minihv/libc.h>
#include "boot/log.h"
#include "boot/sb_policy.h"
#include "boot/secureboot.h"

#define GUEST_MAX_FILE (256u << 20) /* a kernel with a built-in initramfs fits */

/* shim's protocol (shim's include/shim.h: SHIM_LOCK_GUID). Verify checks a
 * PE image in memory against shim's vendor cert, db and MokList, dbx and
 * MokListX. Only Verify is used: the other members' layout changed between
 * shim versions. On x86-64 shim declares it SysV, not EFIAPI (shim.h:
 * SHIMAPI is __attribute__((sysv_abi)) there). */
static EFI_GUID shim_lock_guid = { 0x605dab50, 0xe046, 0x4300, { 0xab, 0xb6, 0x3d, 0xd8, 0x10, 0xdd, 0x8b, 0x23 } };
typedef struct {
    EFI_STATUS(__attribute__((sysv_abi)) * Verify)(void *buffer, UINT32 size);
} SHIM_LOCK;

bool sb_enabled(void)
{
    UINT8 v = 0;
    UINTN n = sizeof(v);
    EFI_STATUS st = RT->GetVariable(L"SecureBoot", &gEfiGlobalVariableGuid, NULL, &n, &v);
    return !EFI_ERROR(st) && n == 1 && v == 1;
}

static SHIM_LOCK *shim_lock(void)
{
    SHIM_LOCK *p = NULL;
    return EFI_ERROR(BS->LocateProtocol(&shim_lock_guid, NULL, (void **)&p)) ? NULL : p;
}

bool sb_shim_present(void)
{
    return shim_lock() != NULL;
}

bool sb_config_allowed(const struct minihv_config *cfg, bool secure_boot)
{
    char why[128];
    const char *weak = sb_weakening_key(cfg, why, sizeof(why));
    if (!weak)
        return true;
#ifdef MINIHV_SB_ALLOW_WEAK
    log_line("config: %s (allowed: built with SB_ALLOW_WEAK=1%s)", weak, secure_boot ? ", Secure Boot on" : "");
    return true;
#else
    if (!secure_boot)
        return true;
    log_line("config: Secure Boot is on: minihv.cfg key %s; refused, nothing virtualized (README: Secure Boot)", weak);
    return false;
#endif
}

static EFI_STATUS read_file(EFI_HANDLE dev, const CHAR16 *path, struct sb_guest *out)
{
    EFI_FILE_HANDLE root = LibOpenRoot(dev), file;
    if (!root)
        return EFI_NOT_FOUND;
    EFI_STATUS st = root->Open(root, &file, (CHAR16 *)path, EFI_FILE_MODE_READ, 0);
    root->Close(root);
    if (EFI_ERROR(st))
        return st;
    EFI_FILE_INFO *info = LibFileInfo(file);
    if (!info) {
        file->Close(file);
        return EFI_DEVICE_ERROR;
    }
    UINT64 size = info->FileSize;
    FreePool(info);
    if (size == 0 || size > GUEST_MAX_FILE) {
        file->Close(file);
        return EFI_BAD_BUFFER_SIZE;
    }
    void *buf = AllocatePool(size);
    if (!buf) {
        file->Close(file);
        return EFI_OUT_OF_RESOURCES;
    }
    UINTN n = size;
    st = file->Read(file, &n, buf);
    file->Close(file);
    if (!EFI_ERROR(st) && n != size)
        st = EFI_END_OF_FILE;
    if (EFI_ERROR(st)) {
        FreePool(buf);
        return st;
    }
    out->bytes = buf;
    out->size = n;
    return EFI_SUCCESS;
}

EFI_STATUS sb_load_guest(EFI_HANDLE image, EFI_LOADED_IMAGE *li, const char *guest, struct sb_guest *out)
{
    static CHAR16 wide[CONFIG_MAX_PATH];
    size_t i = 0;
    for (; guest[i] && i < ARRAY_SIZE(wide) - 1; i++)
        wide[i] = guest[i] == '/' ? L'\\' : (CHAR16)guest[i];
    wide[i] = 0;
    out->child = NULL;
    out->bytes = NULL;
    out->size = 0;
    EFI_STATUS st = read_file(li->DeviceHandle, wide, out);
    if (EFI_ERROR(st)) {
        log_line("guest: cannot read %s (status 0x%lx)", guest, st);
        return st;
    }
    SHIM_LOCK *shim = shim_lock();
    if (shim) {
        st = shim->Verify(out->bytes, (UINT32)out->size);
        if (EFI_ERROR(st)) {
            log_line("guest: refused %s: shim's verification (db, MokList) failed, status 0x%lx; nothing virtualized",
                     guest, st);
            goto refused;
        }
        log_line("guest: %s verified by shim (SHIM_LOCK)", guest);
    }
    EFI_DEVICE_PATH *dp = FileDevicePath(li->DeviceHandle, wide);
    st = BS->LoadImage(FALSE, image, dp, out->bytes, out->size, &out->child);
    if (dp)
        FreePool(dp);
    if (st == EFI_SECURITY_VIOLATION || st == EFI_ACCESS_DENIED) {
        /* UEFI 2.9 7.4: on a security violation the image is loaded but
         * must not be started; unload it. */
        log_line("guest: refused %s: the firmware's Secure Boot check (db/dbx) rejected its signature, status 0x%lx; "
                 "nothing virtualized", guest, st);
        if (out->child)
            BS->UnloadImage(out->child);
        goto refused;
    }
    if (EFI_ERROR(st)) {
        log_line("guest: cannot load %s (status 0x%lx)", guest, st);
        FreePool(out->bytes);
        out->bytes = NULL;
        out->child = NULL;
        return st;
    }
    log_line("guest: %s loaded (%lu bytes)%s", guest, (unsigned long)out->size,
             sb_enabled() ? ", signature accepted under Secure Boot" : "");
    return EFI_SUCCESS;
refused:
    FreePool(out->bytes);
    out->bytes = NULL;
    out->child = NULL;
    return EFI_SECURITY_VIOLATION;
}
