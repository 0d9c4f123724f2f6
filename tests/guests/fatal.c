/* fatal: a guest EFI application that asks the core to go FATAL through
 * the test-only hypercall MINIHV_HC_TEST_FATAL (include/minihv/test_hooks.h;
 * only a core built with HV_TEST_HOOKS=1 has it), for check-log's reboot
 * tests (tests/emu/log_reboot.sh: the FATAL screen, system_reset, last.log
 * on the next boot). Prints "fatal-guest: calling" first; a normal core
 * answers EINVAL ("fatal-guest: EINVAL: no test hooks in this core") and
 * the guest returns; a test core never returns to it. */
#include <efi.h>
#include <efilib.h>
#include <minihv/hypercall.h>
#include <minihv/test_hooks.h>
#include "tests/guests/guard.h"
#include "tests/guests/hvcall.h"
#include "tests/guests/print.h"

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
    struct guard g;
    EFI_PHYSICAL_ADDRESS idt_page = 0;
    char f[24];

    InitializeLib(image, systab);
    if (!hv_present()) {
        guest_print("fatal-guest: no hypervisor (CPUID 0x40000000 has no MiniHv signature)");
        return EFI_UNSUPPORTED;
    }
    if (EFI_ERROR(BS->AllocatePages(AllocateAnyPages, EfiBootServicesData, 1, &idt_page)) ||
        guard_install(&g, (void *)(uintptr_t)idt_page, 4096)) {
        guest_print("fatal-guest: cannot install the fault guard");
        return EFI_OUT_OF_RESOURCES;
    }
    guest_print("fatal-guest: calling MINIHV_HC_TEST_FATAL");
    struct hc_regs r = { MINIHV_HC_TEST_FATAL, MINIHV_TEST_FATAL_KEY, 0, 0 };
    uint64_t fault = hv_call(&r);
    guard_remove(&g);
    if (fault)
        guest_print("fatal-guest: the hypercall raised %s", guard_describe(fault, f, sizeof(f)));
    else if ((int64_t)r.rax == MINIHV_HC_EINVAL)
        guest_print("fatal-guest: EINVAL: no test hooks in this core");
    else
        guest_print("fatal-guest: the hypercall returned %ld", (long)(int64_t)r.rax);
    return EFI_SUCCESS;
}
