/* hvstats: a guest EFI application that reads minihv's counters and
 * touches nothing else, for `make bench`. It prints the footprint and each
 * CPU's exits by reason (MINIHV_HC_FOOTPRINT, MINIHV_HC_GET_STATS) as
 * "hvstats: ..." lines on ConOut, then asks the core to print its own exit
 * table (MINIHV_HC_DUMP_STATS) on its serial log. Run as minihv's guest it
 * shows the exits of the boot up to the guest; run again from the shell it
 * shows what the shell's commands added. */
#include <efi.h>
#include <efilib.h>
#include <minihv/boot_info.h>
#include <minihv/format.h>
#include <minihv/hypercall.h>
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "tests/guests/guard.h"
#include "tests/guests/hvcall.h"
#include "tests/guests/print.h"

static const char *const exit_kind_names[MINIHV_EXIT_KINDS] = { MINIHV_EXIT_KIND_NAMES };

/* A hypercall; false (with a line saying why) when it faulted or failed. */
static bool hc(struct hc_regs *r, const char *what)
{
    char f[24];
    uint64_t fault = hv_call(r);
    if (fault)
        guest_print("hvstats: %s raised %s", what, guard_describe(fault, f, sizeof(f)));
    else if (r->rax != MINIHV_HC_OK && (int64_t)r->rax != MINIHV_HC_EINVAL)
        guest_print("hvstats: %s returned %ld", what, (int64_t)r->rax);
    return !fault && r->rax == MINIHV_HC_OK;
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
    static struct minihv_footprint fp;
    static struct minihv_stats stats;
    struct guard g;
    EFI_PHYSICAL_ADDRESS idt_page = 0;

    InitializeLib(image, systab);
    if (!hv_present()) {
        guest_print("hvstats: no hypervisor (CPUID 0x40000000 has no MiniHv signature)");
        return EFI_UNSUPPORTED;
    }
    if (EFI_ERROR(BS->AllocatePages(AllocateAnyPages, EfiBootServicesData, 1, &idt_page)) ||
        guard_install(&g, (void *)(uintptr_t)idt_page, 4096)) {
        guest_print("hvstats: cannot install the fault guard");
        return EFI_OUT_OF_RESOURCES;
    }

    struct hc_regs f = { MINIHV_HC_FOOTPRINT, (uint64_t)(uintptr_t)&fp, sizeof(fp), 0 };
    bool have_fp = hc(&f, "FOOTPRINT");
    unsigned cpus = 0;
    static char lines[MINIHV_MAX_CPUS][320];
    for (; cpus < MINIHV_MAX_CPUS; cpus++) {
        struct hc_regs s = { MINIHV_HC_GET_STATS, cpus, (uint64_t)(uintptr_t)&stats, sizeof(stats) };
        if (!hc(&s, "GET_STATS"))
            break;
        int n = fmt_snprintf(lines[cpus], sizeof(lines[cpus]), "hvstats: cpu %u (APIC id %u): %lu exits:",
                             stats.cpu_index, stats.apic_id, stats.total_exits);
        for (unsigned k = 0; k < MINIHV_EXIT_KINDS && n < (int)sizeof(lines[cpus]); k++)
            if (stats.exits[k])
                n += fmt_snprintf(lines[cpus] + n, sizeof(lines[cpus]) - (size_t)n, " %s %lu",
                                  exit_kind_names[k], stats.exits[k]);
    }
    struct hc_regs d = { MINIHV_HC_DUMP_STATS, 0, 0, 0 };
    hc(&d, "DUMP_STATS");
    guard_remove(&g);
    BS->FreePages(idt_page, 1);

    if (have_fp)
        guest_print("hvstats: footprint: block %lu KiB at 0x%lx; image %lu KiB, host page tables %lu KiB, "
            "EPT/NPT %lu KiB, per-CPU %lu KiB; EPT/NPT leaves 1G %lu, 2M %lu, 4K %lu",
            fp.block_size >> 10, fp.block_base, fp.image_bytes >> 10, fp.host_pt_bytes >> 10,
            fp.npt_bytes >> 10, fp.per_cpu_bytes >> 10, fp.leaves_1g, fp.leaves_2m, fp.leaves_4k);
    for (unsigned c = 0; c < cpus; c++)
        guest_print("%s", lines[c]);
    return EFI_SUCCESS;
}
