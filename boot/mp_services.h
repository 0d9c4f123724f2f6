/* EFI_MP_SERVICES_PROTOCOL (PI spec 1.7 vol. 2, 13.4), which GNU-EFI
 * lacks: the loader's CPU report and AP start-up, and the probe guest. */
#ifndef MINIHV_BOOT_MP_SERVICES_H
#define MINIHV_BOOT_MP_SERVICES_H

#include <efi.h>

#define MP_SERVICES_GUID { 0x3fdda605, 0xa76e, 0x4f46, { 0xad, 0x29, 0x12, 0xf4, 0x53, 0x1b, 0x3d, 0x08 } }

struct mp_processor_info {
    UINT64 ProcessorId;
    UINT32 StatusFlag; /* bit 0 BSP, bit 1 enabled, bit 2 healthy */
    UINT32 Package, Core, Thread;
    UINT32 extended[8]; /* PI 1.7 ExtendedInformation: room, never read */
};

typedef VOID(EFIAPI *mp_procedure)(VOID *arg);

struct mp_services {
    EFI_STATUS(EFIAPI *GetNumberOfProcessors)(struct mp_services *, UINTN *total, UINTN *enabled);
    EFI_STATUS(EFIAPI *GetProcessorInfo)(struct mp_services *, UINTN n, struct mp_processor_info *);
    void *StartupAllAPs;
    EFI_STATUS(EFIAPI *StartupThisAP)(struct mp_services *, mp_procedure, UINTN n, EFI_EVENT wait,
                                      UINTN timeout_us, VOID *arg, BOOLEAN *finished);
    void *SwitchBSP, *EnableDisableAP;
    EFI_STATUS(EFIAPI *WhoAmI)(struct mp_services *, UINTN *n);
};

#endif
