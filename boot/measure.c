/* Measured launch (issue 20): where the firmware has a TPM 2.0, minihv
 * extends PCR 8 with minihv.cfg's bytes and the parsed policy line, and
 * PCR 9 with the guest image's bytes, each with an EV_IPL event whose data
 * names it (the PCR choice follows GRUB: README "Measured launch"). The
 * firmware itself measured minihv.efi (core included: hv.bin is inside it)
 * into PCR 4 before starting it (TCG PC Client PFP 1.05, 3.3.4.5).
 * EFI_TCG2_PROTOCOL: TCG EFI Protocol Specification 2.0, 6.6. */
#include <efi.h>
#include <efilib.h>
#include <minihv/libc.h>
#include "boot/log.h"
#include "boot/measure.h"
#include "boot/sb_policy.h"

static EFI_GUID tcg2_guid = { 0x607f766c, 0x7455, 0x42be, { 0x93, 0x0b, 0xe4, 0xd7, 0x6d, 0xb2, 0x72, 0x0f } };

#pragma pack(push, 1)
typedef struct {
    UINT32 HeaderSize;
    UINT16 HeaderVersion; /* 1 */
    UINT32 PCRIndex;
    UINT32 EventType;
} TCG2_EVENT_HEADER;
typedef struct {
    UINT32 Size; /* the whole structure, Event[] included */
    TCG2_EVENT_HEADER Header;
    UINT8 Event[];
} TCG2_EVENT;
#pragma pack(pop)

typedef struct TCG2_PROTOCOL TCG2_PROTOCOL;
struct TCG2_PROTOCOL {
    void *GetCapability;
    void *GetEventLog;
    EFI_STATUS(EFIAPI *HashLogExtendEvent)(TCG2_PROTOCOL *This, UINT64 Flags, EFI_PHYSICAL_ADDRESS Data,
                                           UINT64 DataLen, TCG2_EVENT *Event);
    /* SubmitCommand, GetActivePcrBanks, ... not used */
};

static TCG2_PROTOCOL *tcg2;

bool measure_init(void)
{
    if (EFI_ERROR(BS->LocateProtocol(&tcg2_guid, NULL, (void **)&tcg2)))
        tcg2 = NULL;
    if (!tcg2)
        log_line("measure: no TPM 2.0 (EFI_TCG2_PROTOCOL absent): nothing measured, the boot goes on");
    else
        log_line("measure: TPM 2.0 found: config and policy into PCR %u, the guest image into PCR %u", SB_PCR_CONFIG,
                 SB_PCR_FILES);
    return tcg2 != NULL;
}

void measure_event(uint32_t pcr, const void *data, size_t len, const char *desc)
{
    static union {
        TCG2_EVENT ev;
        UINT8 raw[sizeof(TCG2_EVENT) + 256];
    } e;
    if (!tcg2)
        return;
    size_t dlen = strnlen(desc, 256);
    e.ev.Size = (UINT32)(sizeof(TCG2_EVENT) + dlen);
    e.ev.Header.HeaderSize = sizeof(TCG2_EVENT_HEADER);
    e.ev.Header.HeaderVersion = 1;
    e.ev.Header.PCRIndex = pcr;
    e.ev.Header.EventType = SB_EV_IPL;
    memcpy(e.ev.Event, desc, dlen);
    EFI_STATUS st = tcg2->HashLogExtendEvent(tcg2, 0, (EFI_PHYSICAL_ADDRESS)(uintptr_t)data, len, &e.ev);
    if (EFI_ERROR(st))
        log_line("measure: PCR %u '%s' (%lu bytes) failed, status 0x%lx", pcr, desc, (unsigned long)len, st);
    else
        log_line("measure: PCR %u '%s' (%lu bytes)", pcr, desc, (unsigned long)len);
}
