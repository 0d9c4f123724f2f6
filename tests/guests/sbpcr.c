/* check-secureboot's small guest: reads SHA-256 PCRs 8 and 9 through the
 * firmware's EFI_TCG2_PROTOCOL SubmitCommand (TPM2_PCR_Read, TPM 2.0 Part 3
 * 22.4) and prints "sbpcr: pcr N HEX" lines on ConOut, then returns. It
 * stands in for the Linux guest where only the PCR values matter (the
 * boot with one config line changed). */
#include <efi.h>
#include <efilib.h>
#include <minihv/libc.h>
#include "tests/guests/print.h"

static EFI_GUID tcg2_guid = { 0x607f766c, 0x7455, 0x42be, { 0x93, 0x0b, 0xe4, 0xd7, 0x6d, 0xb2, 0x72, 0x0f } };
typedef struct TCG2 TCG2;
struct TCG2 {
    void *GetCapability, *GetEventLog, *HashLogExtendEvent;
    EFI_STATUS(EFIAPI *SubmitCommand)(TCG2 *This, UINT32 InSize, UINT8 *In, UINT32 OutSize, UINT8 *Out);
};

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
    InitializeLib(image, systab);
    TCG2 *t = NULL;
    if (EFI_ERROR(BS->LocateProtocol(&tcg2_guid, NULL, (void **)&t)) || !t) {
        guest_print("sbpcr: no EFI_TCG2_PROTOCOL");
        return EFI_NOT_FOUND;
    }
    for (unsigned pcr = 8; pcr <= 9; pcr++) {
        /* TPM_ST_NO_SESSIONS, size, TPM_CC_PCR_Read; one selection:
         * TPM_ALG_SHA256, 3 select bytes. */
        uint8_t cmd[20] = { 0x80, 0x01, 0, 0, 0, 20, 0, 0, 0x01, 0x7e, 0, 0, 0, 1, 0x00, 0x0b, 3, 0, 0, 0 };
        cmd[17 + pcr / 8] = (uint8_t)(1u << (pcr % 8));
        static uint8_t rsp[512];
        EFI_STATUS st = t->SubmitCommand(t, sizeof(cmd), cmd, sizeof(rsp), rsp);
        /* tag, size, rc, pcrUpdateCounter, TPML_PCR_SELECTION (4 + 6),
         * TPML_DIGEST count, TPM2B_DIGEST size, digest */
        uint32_t size = be32(rsp + 2), rc = be32(rsp + 6);
        if (EFI_ERROR(st) || rc || size < 58 || be32(rsp + 24) != 1 || rsp[28] != 0 || rsp[29] != 32) {
            guest_print("sbpcr: pcr %u read failed (status 0x%lx, rc 0x%x, size %u)", pcr, (unsigned long)st, rc, size);
            continue;
        }
        char hex[65];
        for (unsigned i = 0; i < 32; i++) {
            hex[2 * i] = "0123456789abcdef"[rsp[30 + i] >> 4];
            hex[2 * i + 1] = "0123456789abcdef"[rsp[30 + i] & 15];
        }
        hex[64] = 0;
        guest_print("sbpcr: pcr %u %s", pcr, hex);
    }
    guest_print("sbpcr: done");
    return EFI_SUCCESS;
}
