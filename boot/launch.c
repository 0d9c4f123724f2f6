/* Loads the core: allocates its block as EfiReservedMemoryType (so the OS
 * never gets it), copies the image, builds the core's page tables with the
 * shared builder (paging/paging.c), fills the boot info and runs the core on
 * the BSP, then on every AP through EFI_MP_SERVICES_PROTOCOL. Nothing is
 * started unless every CPU can be (boot/cpu_plan.h: the plan, then each
 * AP's own check). On each CPU
 * the core "blue-pills" the firmware: the call returns 0 with the CPU now
 * a guest. Once the BSP is a guest the loader never touches the core's
 * block again (the guest cannot see it: reads give all-ones). */
#include <efi.h>
#include <efilib.h>
#include <minihv/boot_info.h>
#include <minihv/hypercall.h>
#include <minihv/io.h>
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "boot/iommu.h"
#include "boot/launch.h"
#include "boot/log.h"
#include "boot/mp_services.h"
#include "boot/pt_snapshot.h"
#include "boot/smm_open.h"
#include "paging/paging.h"

/* The core image, embedded by boot/hv_image.S. */
extern const uint8_t hv_image_blob[], hv_image_blob_end[];

static uint64_t block_base, block_size;

struct block_alloc {
    uint64_t next, end;
};

static uint64_t block_alloc_page(void *opaque)
{
    struct block_alloc *a = opaque;
    if (a->next + PAGE_SIZE > a->end)
        return 0;
    uint64_t pa = a->next;
    a->next += PAGE_SIZE;
    return pa;
}

static void *identity(void *opaque, uint64_t pa)
{
    (void)opaque;
    return (void *)(uintptr_t)pa;
}

static const struct minihv_image_header *check_image(const char **why)
{
    size_t len = (size_t)(hv_image_blob_end - hv_image_blob);
    const struct minihv_image_header *h = (const void *)hv_image_blob;
    if (len < sizeof(*h) || h->magic != MINIHV_IMAGE_MAGIC)
        *why = "bad magic";
    else if (h->version != MINIHV_BOOT_VERSION || h->header_size != sizeof(*h))
        *why = "version mismatch between loader and core";
    else if (h->file_size != len || h->mem_size < h->file_size || h->entry_offset >= h->file_size)
        *why = "sizes inconsistent";
    else
        return h;
    return NULL;
}

/* Allocates hv_mem_mb MiB of reserved memory aligned to 2 MiB, so that the
 * EPT hole it leaves splits as few large pages as possible. */
static int alloc_block(uint64_t bytes)
{
    UINTN pages = (UINTN)((bytes + SIZE_2M) / PAGE_SIZE);
    EFI_PHYSICAL_ADDRESS pa = 0;
    if (EFI_ERROR(BS->AllocatePages(AllocateAnyPages, EfiReservedMemoryType, pages, &pa)))
        return -1;
    uint64_t aligned = ALIGN_UP((uint64_t)pa, SIZE_2M);
    if (aligned > pa)
        BS->FreePages(pa, (UINTN)((aligned - pa) / PAGE_SIZE));
    uint64_t tail = pa + pages * PAGE_SIZE - (aligned + bytes);
    if (tail)
        BS->FreePages(aligned + bytes, (UINTN)(tail / PAGE_SIZE));
    block_base = aligned;
    block_size = bytes;
    return 0;
}

/* The trampoline every CPU goes through (System V ABI):
 *   int minihv_trampoline(struct minihv_boot_info *bi, uint64_t cpu,
 *                         uint64_t core_cr3, uint64_t entry)
 * saves the callee-saved registers and the flags, disables interrupts,
 * records the resume context {RIP = resume_point, RSP, RFLAGS, CR3} on its
 * own stack, switches to the core's page tables and calls
 * hv_entry(bi, cpu, &resume). If the core virtualizes the CPU, the CPU
 * comes back at resume_point as the guest with RAX = 0 and the firmware's
 * CR3 (the core loads them into the VMCS); otherwise hv_entry returns its
 * status normally and the trampoline restores CR3 itself. Both paths end
 * with the same stack: restore the flags and registers and return. */
int minihv_trampoline(struct minihv_boot_info *bi, uint64_t cpu, uint64_t core_cr3, uint64_t entry)
    __attribute__((sysv_abi));
__asm__(".text\n"
        ".globl minihv_trampoline\n"
        ".type minihv_trampoline, @function\n"
        "minihv_trampoline:\n"
        "    push %rbp\n"
        "    push %rbx\n"
        "    push %r12\n"
        "    push %r13\n"
        "    push %r14\n"
        "    push %r15\n"
        "    pushfq\n"
        "    cli\n"
        "    sub $32, %rsp\n"                   /* struct minihv_resume */
        "    lea .Lresume_point(%rip), %rax\n"
        "    mov %rax, 0(%rsp)\n"                /* rip */
        "    mov %rsp, 8(%rsp)\n"                /* rsp: this very frame */
        "    pushfq\n"
        "    pop %rax\n"
        "    mov %rax, 16(%rsp)\n"               /* rflags, IF clear */
        "    mov %cr3, %r12\n"
        "    mov %r12, 24(%rsp)\n"               /* cr3 */
        "    mov %rcx, %r13\n"
        "    mov %rdx, %cr3\n"                   /* the core's page tables */
        "    mov %rsp, %rdx\n"                   /* &resume */
        "    call *%r13\n"
        "    mov %r12, %cr3\n"                   /* not virtualized: back to ours */
        "    jmp .Lreturn\n"
        ".Lresume_point:\n"                      /* the guest starts here */
        "    xor %eax, %eax\n"
        ".Lreturn:\n"
        "    add $32, %rsp\n"
        "    popfq\n"
        "    pop %r15\n"
        "    pop %r14\n"
        "    pop %r13\n"
        "    pop %r12\n"
        "    pop %rbx\n"
        "    pop %rbp\n"
        "    ret\n"
        ".size minihv_trampoline, . - minihv_trampoline\n");

/* The core as the guest sees it: CPUID leaf 0x40000000 says "MiniHv". */
static bool core_present(void)
{
    uint32_t r[4];
    x86_cpuid(1, 0, r);
    if (!(r[2] & (1u << 31)))
        return false;
    x86_cpuid(MINIHV_CPUID_BASE, 0, r);
    return r[1] == MINIHV_CPUID_SIG_EBX && r[2] == MINIHV_CPUID_SIG_ECX && r[3] == MINIHV_CPUID_SIG_EDX;
}


struct ap_start {
    struct minihv_boot_info *bi; /* passed on only: never read by the loader */
    uint64_t cpu, core_cr3, entry;
    int rc;
};

static VOID EFIAPI ap_procedure(VOID *arg)
{
    struct ap_start *a = arg;
    a->rc = minihv_trampoline(a->bi, a->cpu, a->core_cr3, a->entry);
    /* Back here not a guest: the core turned the CPU away before taking
     * it (the boot info did not check out). Returning would hand it to the
     * firmware, for the guest to run natively: it halts here instead. */
    if (a->rc)
        for (;;)
            __asm__ volatile("cli; hlt");
}

#define AP_TIMEOUT_US (60ull * 1000 * 1000)

static struct mp_services *mp_services(UINTN *total)
{
    static EFI_GUID mp_guid = MP_SERVICES_GUID;
    struct mp_services *mp = NULL;
    UINTN enabled = 0;
    *total = 0;
    if (EFI_ERROR(BS->LocateProtocol(&mp_guid, NULL, (void **)&mp)) || !mp ||
        EFI_ERROR(mp->GetNumberOfProcessors(mp, total, &enabled)))
        return NULL;
    return mp;
}

/* The index in the plan (p->cpus) of MP services processor n; -1 for the
 * BSP or a processor the plan does not hold. */
static int ap_index(const struct platform *p, struct mp_services *mp, UINTN n)
{
    struct mp_processor_info info;
    if (EFI_ERROR(mp->GetProcessorInfo(mp, n, &info)) || (info.StatusFlag & MP_CPU_BSP))
        return -1;
    for (unsigned i = 0; i < p->cpu_count; i++)
        if (p->cpus[i].apic_id == (uint32_t)info.ProcessorId)
            return (int)i;
    return -1;
}

static VOID EFIAPI ap_read_caps(VOID *arg)
{
    platform_read_virt_caps(arg);
}

/* Before the core takes any CPU: every AP of the plan runs the check the
 * BSP ran (its own CPUID and MSRs, through MP services) and must offer
 * the backend the core will choose. The loader's AP list and the plan are
 * the same (cpu_plan refused otherwise); an AP MP services cannot run is
 * a refusal too. 0, or -1 with the line logged. */
static int check_aps(const struct platform *p)
{
    if (*cpu_virt_unusable(&p->bsp_caps))
        return 0; /* the core will not virtualize the BSP: no AP either */
    UINTN total;
    struct mp_services *mp = mp_services(&total);
    if (!mp)
        return 0; /* no MP services: the plan holds the BSP alone */
    unsigned checked = 0;
    for (UINTN n = 0; n < total; n++) {
        int idx = ap_index(p, mp, n);
        if (idx < 0)
            continue;
        struct cpu_virt_caps caps;
        char why[160];
        EFI_STATUS st = mp->StartupThisAP(mp, ap_read_caps, n, NULL, AP_TIMEOUT_US, &caps, NULL);
        if (EFI_ERROR(st)) {
            log_line("core: not started, every CPU stays the firmware's: APIC id %u did not run the "
                     "check (StartupThisAP status 0x%lx)", p->cpus[idx].apic_id, st);
            return -1;
        }
        if (cpu_plan_check_ap(&p->bsp_caps, &caps, p->cpus[idx].apic_id, why, sizeof(why))) {
            log_line("core: not started, every CPU stays the firmware's: %s", why);
            return -1;
        }
        checked++;
    }
    if (checked + 1 != p->cpu_count) {
        log_line("core: not started, every CPU stays the firmware's: %u APs checked, the plan has %u",
                 checked, p->cpu_count - 1);
        return -1;
    }
    log_line("core: %u AP(s) checked: each can run the core as the BSP does", checked);
    return 0;
}

/* Runs the trampoline on one AP and waits for it to come back as a guest,
 * at most AP_TIMEOUT_US. Non-blocking, with no firmware time-out: an AP
 * the core parks never comes back, and a firmware time-out would send it
 * INIT-SIPI (the core refuses those) and wait for it forever. */
static EFI_STATUS run_ap(struct mp_services *mp, UINTN n, struct ap_start *a)
{
    EFI_EVENT done;
    EFI_STATUS st = BS->CreateEvent(0, 0, NULL, NULL, &done);
    if (EFI_ERROR(st))
        return st;
    st = mp->StartupThisAP(mp, ap_procedure, n, done, 0, a, NULL);
    for (uint64_t us = 0; !EFI_ERROR(st); us += 1000) {
        if (BS->CheckEvent(done) == EFI_SUCCESS)
            break;
        if (us >= AP_TIMEOUT_US) {
            st = EFI_TIMEOUT; /* the event stays: the AP may still signal it */
            return st;
        }
        BS->Stall(1000);
    }
    BS->CloseEvent(done);
    return st;
}

/* Runs the trampoline on every AP of the plan, one at a time. An AP the
 * core cannot take after all stays in the core, halted (hv/main.c
 * park_ap): it never comes back, and the loader goes on without it. */
static void start_aps(const struct platform *p, struct minihv_boot_info *bi, uint64_t cr3, uint64_t entry,
                      unsigned skip)
{
    UINTN total;
    struct mp_services *mp = mp_services(&total);
    if (!mp)
        return;
    unsigned virtualized = 1, tried = 0;
    for (UINTN n = 0; n < total; n++) {
        int idx = ap_index(p, mp, n);
        if (idx < 0)
            continue;
        tried++;
        if (skip && (unsigned)idx == skip) { /* test build only: config.h test_skip_ap */
            log_line("core: test build: cpu %d (APIC id %u) not started (test_skip_ap): it stays the firmware's",
                     idx, p->cpus[idx].apic_id);
            continue;
        }
        struct ap_start a = { bi, (uint64_t)idx, cr3, entry, -1 };
        EFI_STATUS st = run_ap(mp, n, &a);
        if (EFI_ERROR(st))
            log_line("core: cpu %d (APIC id %u) did not come back as a guest (status 0x%lx): not "
                     "virtualized; parked in the core (its log says why), or it never entered the core "
                     "(held below)", idx, p->cpus[idx].apic_id, st);
        else
            virtualized++; /* an AP only comes back as a guest (ap_procedure) */
    }
    log_line("core: %u of %u CPUs virtualized%s", virtualized, tried + 1,
             virtualized == tried + 1 ? "" : "; the others are parked in the core or held in wait-for-SIPI");
}

/* The AP launch is over (issue 14): the core forwards no INIT or SIPI to
 * any CPU from now on, and holds in wait-for-SIPI (one INIT) each CPU that
 * never entered it, so no CPU the guest could start runs without the
 * core. Called even when every AP came back: the guest cannot start a
 * CPU behind the core's back after this. */
static void ap_launch_done(void)
{
    uint64_t rax = MINIHV_HC_AP_LAUNCH_DONE, rbx = 0;
    __asm__ volatile("vmcall" : "+a"(rax), "+b"(rbx) : : "rcx", "rdx", "memory");
    if ((int64_t)rax != MINIHV_HC_OK)
        log_line("core: AP launch done: the core answered %ld", (long)(int64_t)rax);
    else if (rbx)
        log_line("core: %lu CPU(s) never entered the core: each held by an INIT in wait-for-SIPI, "
                 "every INIT/SIPI to it refused (none runs natively)", (unsigned long)rbx);
    else
        log_line("core: AP launch done: the core sends no INIT or SIPI to any CPU from now on");
}

/* The firmware's memory map, as the core's EPT sees it: RAM, reserved
 * RAM (runtime, ACPI, reserved) and MMIO; adjacent ranges merged. */
static void fill_mem_ranges(struct minihv_boot_info *bi)
{
    UINTN entries, key, desc_size;
    UINT32 desc_version;
    EFI_MEMORY_DESCRIPTOR *map = LibMemoryMap(&entries, &key, &desc_size, &desc_version);
    if (!map)
        return;
    for (UINTN i = 0; i < entries; i++) {
        EFI_MEMORY_DESCRIPTOR *d = (EFI_MEMORY_DESCRIPTOR *)((uint8_t *)map + i * desc_size);
        uint32_t type;
        switch (d->Type) {
        case EfiConventionalMemory: case EfiLoaderCode: case EfiLoaderData:
        case EfiBootServicesCode: case EfiBootServicesData:
            type = MINIHV_MEM_RAM;
            break;
        case EfiMemoryMappedIO: case EfiMemoryMappedIOPortSpace:
            type = MINIHV_MEM_MMIO;
            break;
        default:
            type = MINIHV_MEM_RESERVED;
            break;
        }
        uint64_t base = d->PhysicalStart, size = d->NumberOfPages * PAGE_SIZE;
        struct minihv_mem_range *last = bi->mem_range_count ? &bi->mem[bi->mem_range_count - 1] : NULL;
        if (last && last->type == type && last->base + last->size == base)
            last->size += size;
        else if (bi->mem_range_count < MINIHV_MAX_MEM_RANGES)
            bi->mem[bi->mem_range_count++] = (struct minihv_mem_range){ base, size, type, 0 };
    }
    FreePool(map);
}

/* The default SMRAM (boot_info.h smm_default_phys): taken when the host
 * bridge's rule (boot/smm_open.c smm_chipset_rules: q35's SMRAMC 0x9d,
 * Intel's SMRAMC 0x88, AMD's HWCR.SMMLOCK and SMM_BASE) says SMM is open;
 * locked, moved or not known, the firmware is taken to own SMM. */
#define SMM_RSM 0xaa0fu /* 0F AA */

static uint32_t smm_cfg_read32(void *ctx, uint16_t off)
{
    return platform_cfg_read32(ctx, 0, 0, 0, off);
}

/* Asked only on an AMD CPU, where HWCR and SMM_BASE/MASK exist since K8
 * (APM Vol. 2 A.8): a plain RDMSR. */
static bool smm_msr_read(void *ctx, uint32_t msr, uint64_t *value)
{
    (void)ctx;
    *value = rdmsr(msr);
    return true;
}

static uint64_t take_default_smram(const struct platform *p)
{
    struct smm_probe probe = { smm_cfg_read32, smm_msr_read, (void *)p, p->cpu.amd };
    struct smm_verdict v;
    smm_open_check(&probe, &v);
    if (v.state != SMM_OPEN) {
        log_line("smm: %s: %s, SMM %s: the firmware's, nothing taken", v.rule ? v.rule : "no chipset rule", v.detail,
                 smm_state_name(v.state));
        return 0;
    }
    EFI_PHYSICAL_ADDRESS pa = MINIHV_SMBASE_DEFAULT;
    EFI_STATUS st = BS->AllocatePages(AllocateAddress, EfiReservedMemoryType, MINIHV_SMM_DEFAULT_SIZE / 4096, &pa);
    if (EFI_ERROR(st)) {
        log_line("smm: %s: %s: SMM open (not locked: the firmware has no SMM handler), and "
                 "0x%lx-0x%lx is not free (status 0x%lx): an SMI runs what is there, NOT protected",
                 v.rule, v.detail, MINIHV_SMBASE_DEFAULT, MINIHV_SMBASE_DEFAULT + MINIHV_SMM_DEFAULT_SIZE - 1, st);
        return 0;
    }
    memset((void *)(uintptr_t)pa, 0, MINIHV_SMM_DEFAULT_SIZE);
    *(volatile uint16_t *)(uintptr_t)(pa + 0x8000) = SMM_RSM;
    log_line("smm: %s: %s: SMM open (not locked: the firmware has no SMM handler): 0x%lx-0x%lx taken "
             "(Reserved), RSM at 0x%lx; the core keeps it from the guest and device DMA",
             v.rule, v.detail, pa, pa + MINIHV_SMM_DEFAULT_SIZE - 1, pa + 0x8000);
    return pa;
}

/* The FADT's sleep control registers in System Memory (issue 14): a
 * sleep that keeps RAM written there resumes every CPU without the core.
 * Each usable one goes to the core, which traps its page; one line each
 * either way. One inside the block (memory the loader took from RAM,
 * never a register) is not handed on. */
_Static_assert(ACPI_SLEEP_PM1A_CNT == MINIHV_SLEEP_PM1A && ACPI_SLEEP_PM1B_CNT == MINIHV_SLEEP_PM1B &&
               ACPI_SLEEP_CONTROL == MINIHV_SLEEP_CONTROL && ACPI_SLEEP_MMIO_MAX == MINIHV_MAX_SLEEP_MMIO,
               "boot_info.sleep_mmio reg values");
static void fill_sleep_mmio(struct minihv_boot_info *bi, const struct acpi_info *acpi, uint64_t block_base,
                            uint64_t block_size)
{
    for (unsigned i = 0; i < acpi->sleep_mmio_count; i++) {
        const struct acpi_sleep_mmio *m = &acpi->sleep_mmio[i];
        const char *why = m->why;
        if (!why && m->address < block_base + block_size && block_base < m->address + m->bytes)
            why = "inside the core's block";
        if (!why) {
            bi->sleep_mmio[bi->sleep_mmio_count++] = (struct minihv_sleep_mmio){
                .address = m->address, .reg = m->reg, .bytes = m->bytes, .slp_byte = m->slp_byte,
            };
        }
        log_line("core: sleep: FADT %s in System Memory at 0x%lx (%u bytes): %s%s", acpi_sleep_reg_name(m->reg),
                 m->address, m->bytes, why ? "NOT trapped: " : "its page read-only, each write judged by the core",
                 why ? why : "");
    }
}

/* The MCFG windows (boot_info.h ecam): each to the core, which keeps
 * device DMA out of them; one that wraps or reaches past 2^52 is not a
 * window any address decodes, said and not handed on. */
_Static_assert(ACPI_MAX_MCFG == MINIHV_MAX_ECAM, "boot_info.ecam holds every MCFG allocation");
static void fill_ecam(struct minihv_boot_info *bi, const struct acpi_info *acpi)
{
    for (unsigned i = 0; i < acpi->mcfg_count && i < ACPI_MAX_MCFG; i++) {
        const struct acpi_mcfg_segment *m = &acpi->mcfg[i];
        uint64_t base = m->base + ((uint64_t)m->bus_start << 20);
        uint64_t size = (uint64_t)(m->bus_end - m->bus_start + 1) << 20;
        if (base < m->base || base + size < base || base + size > (1ull << 52)) {
            log_line("core: MCFG[%u] segment %u ECAM 0x%lx buses %02x-%02x: wraps or beyond 2^52, NOT kept from "
                     "device DMA", i, m->segment, m->base, m->bus_start, m->bus_end);
            continue;
        }
        bi->ecam[bi->ecam_count++] = (struct minihv_ecam_window){ base, size };
    }
    if (acpi->mcfg_dropped)
        log_line("core: %u MCFG allocation(s) past the first %u NOT kept from device DMA (and not guarded)",
                 acpi->mcfg_dropped, ACPI_MAX_MCFG);
}

/* The HPET blocks (review R s7 finding 5): a timer's FSB route writes any
 * dword anywhere, so the core traps each block's page. One inside the
 * core's block (memory the loader took from RAM) is not handed on. */
_Static_assert(ACPI_HPET_MAX == MINIHV_MAX_HPETS, "boot_info.hpet_base size");
static void fill_hpet(struct minihv_boot_info *bi, const struct acpi_info *acpi, uint64_t block_base,
                      uint64_t block_size)
{
    for (unsigned i = 0; i < acpi->hpet_count; i++) {
        uint64_t base = acpi->hpet_base[i];
        bool inside = base < block_base + block_size && block_base < base + 0x400;
        if (!inside)
            bi->hpet_base[bi->hpet_count++] = base;
        log_line("core: HPET timer block at 0x%lx: %s", base,
                 inside ? "NOT trapped: inside the core's block" : "its page read-only, FSB routes judged by the core");
    }
    if (acpi->hpet_bad)
        log_line("core: %u HPET table(s) NOT used: %s", acpi->hpet_bad, acpi->hpet_why);
}

/* QEMU's fw_cfg (docs/specs/fw_cfg.rst; review R s7 finding 7): probed
 * only where the DSDT names its device (QEMU0002), so no stray port write
 * on hardware. Selector 0 (0x510, 16 bits) reads "QEMU" at 0x511;
 * selector 1 (FW_CFG_ID) bit 1 says the DMA interface is there. */
static void fill_fw_cfg(struct minihv_boot_info *bi, const struct acpi_info *acpi)
{
    if (!acpi->dsdt_fw_cfg)
        return;
    char sig[4];
    outw(0x510, 0x0000);
    for (unsigned i = 0; i < 4; i++)
        sig[i] = (char)inb(0x511);
    outw(0x510, 0x0001);
    uint32_t id = 0;
    for (unsigned i = 0; i < 4; i++)
        id |= (uint32_t)inb(0x511) << (8 * i);
    if (memcmp(sig, "QEMU", 4)) {
        log_line("core: the DSDT names QEMU0002 but fw_cfg selector 0 does not read \"QEMU\": no fw_cfg");
        return;
    }
    bi->fw_cfg_flags = MINIHV_FW_CFG_PRESENT | (id & 2 ? MINIHV_FW_CFG_DMA : 0);
    log_line("core: QEMU fw_cfg at 0x510 (id 0x%x, DMA %s): the core checks its DMA requests (0x514-0x51b)", id,
             id & 2 ? "yes" : "no");
}

/* The GOP mode at start (UEFI 2.10 12.9), for the core's FATAL screen
 * (issue 17). Only a linear 32-bit RGB/BGR framebuffer that ends below
 * phys_top (the core's identity map) is passed on; fb_format 0 otherwise. */
static void fill_fb(struct minihv_boot_info *bi)
{
    EFI_GRAPHICS_OUTPUT_PROTOCOL *gop = NULL;
    if (EFI_ERROR(LibLocateProtocol(&GraphicsOutputProtocol, (void **)&gop)) || !gop || !gop->Mode ||
        !gop->Mode->Info) {
        log_line("core: no GOP: the FATAL screen is off (serial and the log ring only)");
        return;
    }
    EFI_GRAPHICS_OUTPUT_MODE_INFORMATION *info = gop->Mode->Info;
    uint64_t base = gop->Mode->FrameBufferBase, size = gop->Mode->FrameBufferSize;
    uint32_t format = info->PixelFormat == PixelRedGreenBlueReserved8BitPerColor   ? 1
                      : info->PixelFormat == PixelBlueGreenRedReserved8BitPerColor ? 2
                                                                                   : 0;
    if (!format || !base || base >= bi->phys_top || size > bi->phys_top - base) {
        log_line("core: GOP mode %ux%u format %u at 0x%lx: %s; the FATAL screen is off",
                 info->HorizontalResolution, info->VerticalResolution, info->PixelFormat, base,
                 !format || !base ? "no linear 32-bit framebuffer" : "above the core's map (phys_top)");
        return;
    }
    bi->fb_phys = base;
    bi->fb_size = size;
    bi->fb_width = info->HorizontalResolution;
    bi->fb_height = info->VerticalResolution;
    bi->fb_stride = info->PixelsPerScanLine;
    bi->fb_format = format;
    log_line("core: GOP framebuffer %ux%u %s at 0x%lx (%lu KiB, stride %u): the FATAL screen",
             bi->fb_width, bi->fb_height, format == 1 ? "RGB" : "BGR", base, (unsigned long)(size >> 10),
             bi->fb_stride);
}

void launch_dump_stats(void)
{
    if (!block_size || !core_present())
        return;
    uint64_t rax = MINIHV_HC_DUMP_STATS;
    __asm__ volatile("vmcall" : "+a"(rax) : : "rbx", "rcx", "rdx", "memory");
}

/* The ROM the guest reads through the device's ROM BAR: a copy in the
 * block (the guest cannot reach it but through the core's read-only
 * mapping), zero-padded to the region size. Taken from the bump allocator
 * before heap_phys, so the heap starts past it. */
static void place_rom(struct minihv_passthrough *pt, const struct pt_prep *prep, struct block_alloc *a)
{
    if (!prep->rom || !pt->rom_region_size)
        return;
    uint64_t bytes = ALIGN_UP(pt->rom_region_size, PAGE_SIZE);
    if (a->next + bytes > a->end || bytes < prep->rom_len) {
        log_line("passthrough: ROM region (%lu KiB) does not fit in the core's block: no ROM presented",
                 (unsigned long)(bytes >> 10));
        pt->rom_len = 0;
        pt->rom_region_size = 0;
        pt->rom_source = MINIHV_PT_ROM_NONE;
        return;
    }
    uint64_t pa = a->next;
    a->next += bytes;
    memcpy((void *)(uintptr_t)pa, prep->rom, prep->rom_len);
    memset((void *)(uintptr_t)(pa + prep->rom_len), 0, (size_t)(bytes - prep->rom_len));
    pt->rom_phys = pa;
    log_line("passthrough: ROM copy at 0x%lx in the core's block (%lu KiB, read-only to the guest), "
             "fnv1a 0x%08x over %u bytes", (unsigned long)pa, (unsigned long)(bytes >> 10),
             pt_fnv1a32((const void *)(uintptr_t)pa, prep->rom_len), prep->rom_len);
}

int launch_core(const struct minihv_config *cfg, const struct platform *p, const struct pt_prep *prep)
{
    if (p->cpu_refusal[0]) {
        log_line("core: not started, every CPU stays the firmware's: %s", p->cpu_refusal);
        return -1;
    }
    if (check_aps(p))
        return -1;
    const char *why = NULL;
    const struct minihv_image_header *h = check_image(&why);
    if (!h) {
        log_line("core: embedded image rejected: %s", why);
        return -1;
    }
    if (alloc_block((uint64_t)cfg->hv_mem_mb << 20)) {
        log_line("core: cannot reserve %u MiB for the core", cfg->hv_mem_mb);
        return -1;
    }
    /* Layout: [boot info][image][page tables][heap ...] */
    uint64_t bi_pa = block_base;
    uint64_t image_pa = block_base + ALIGN_UP(sizeof(struct minihv_boot_info), PAGE_SIZE);
    uint64_t image_pages = ALIGN_UP(h->mem_size, PAGE_SIZE);
    struct block_alloc alloc = { image_pa + image_pages, block_base + block_size };
    if (alloc.next >= alloc.end) {
        log_line("core: image (%lu KiB) does not fit in hv_mem_mb", h->mem_size >> 10);
        return -1;
    }
    memset((void *)(uintptr_t)block_base, 0, (size_t)(alloc.next - block_base));
    memcpy((void *)(uintptr_t)image_pa, hv_image_blob, (size_t)h->file_size);

    struct pt_ctx pt = {
        .fmt = &pt_format_host,
        .allow_1g = p->cpu.page_1g,
        .alloc_page = block_alloc_page,
        .phys_to_virt = identity,
        .opaque = &alloc,
    };
    uint64_t phys_top = ALIGN_UP(p->phys_top, SIZE_1G);
    if (pt_init(&pt) || pt_map(&pt, 0, 0, phys_top, PT_ATTRS(PT_RWX, MEMTYPE_WB)) ||
        pt_map(&pt, h->link_base, image_pa, image_pages, PT_ATTRS(PT_RWX, MEMTYPE_WB))) {
        log_line("core: out of memory building page tables");
        return -1;
    }

    struct minihv_boot_info *bi = (void *)(uintptr_t)bi_pa;
    if (prep->pt.present || (prep->pt.flags & MINIHV_PT_CONFIG_GUARD)) {
        bi->pt = prep->pt; /* without a device: config_guard = on's segment and ECAM window */
        place_rom(&bi->pt, prep, &alloc);
    }
    /* The core's copies of DMAR/IVRS, before heap_phys (docs/iommu.md). */
    _Static_assert(IOMMU_AUTO == 0 && IOMMU_VTD == 1 && IOMMU_AMDVI == 2 && IOMMU_NONE == 3 &&
                   IOMMU_AUTO_REQUIRED == 4, "boot_info.iommu_mode values");
    boot_iommu_place(bi, (uint32_t)cfg->iommu, p->have_acpi ? &p->acpi : NULL, &alloc.next, alloc.end);
    bi->magic = MINIHV_BOOT_MAGIC;
    bi->version = MINIHV_BOOT_VERSION;
    bi->size = sizeof(*bi);
    bi->hv_phys_base = block_base;
    bi->hv_phys_size = block_size;
    bi->image_phys = image_pa;
    bi->image_mem_size = h->mem_size;
    bi->image_virt = h->link_base;
    bi->host_cr3 = pt.root_pa;
    bi->phys_top = phys_top;
    bi->pt_pages = pt.stats.tables;
    bi->heap_phys = alloc.next;
    bi->heap_size = alloc.end - alloc.next;
    bi->serial_port = cfg->serial_port;
    bi->log_phys = log_ring_phys(); /* the log ring (issue 17): the core appends to it */
    bi->log_size = log_ring_size();
    bi->smm_default_phys = take_default_smram(p);
    bi->cpu_count = p->cpu_count;
    memcpy(bi->cpus, p->cpus, sizeof(bi->cpus));
    bi->ioapic_count = p->ioapic_count;
    memcpy(bi->ioapic_base, p->ioapic_base, sizeof(bi->ioapic_base));
    fill_mem_ranges(bi);
    fill_fb(bi);
    if (p->have_acpi) {
        fill_ecam(bi, &p->acpi);
        fill_hpet(bi, &p->acpi, block_base, block_size);
        fill_fw_cfg(bi, &p->acpi);
    }
    if (p->have_acpi && p->acpi.has_fadt) {
        bi->acpi_pm1a_cnt = p->acpi.pm1a_cnt;
        bi->acpi_pm1b_cnt = p->acpi.pm1b_cnt;
        bi->acpi_reset_port = p->acpi.reset_port;
        bi->acpi_reset_value = p->acpi.reset_value;
        bi->acpi_sleep_ctl_port = p->acpi.sleep_ctl_port;
        log_line("core: FADT ports for the core: PM1a_CNT 0x%x, PM1b_CNT 0x%x, reset register 0x%x "
                 "(value 0x%x), SLEEP_CONTROL_REG 0x%x%s; 0 = none", bi->acpi_pm1a_cnt, bi->acpi_pm1b_cnt,
                 bi->acpi_reset_port, bi->acpi_reset_value, bi->acpi_sleep_ctl_port,
                 p->acpi.sleep_ctl_mmio ? " (SLEEP_CONTROL_REG not in System I/O)" : "");
        fill_sleep_mmio(bi, &p->acpi, block_base, block_size);
        /* Only power-off may reach the hardware (issue 14): its SLP_TYP. */
        if (p->acpi.s5_found) {
            bi->acpi_s5_flags = MINIHV_S5_FOUND;
            bi->acpi_s5_slp_typ_a = p->acpi.s5_slp_typ_a;
            bi->acpi_s5_slp_typ_b = p->acpi.s5_slp_typ_b;
            log_line("core: sleep: \\_S5 SLP_TYPa %u, SLP_TYPb %u: the only sleep the core lets through",
                     bi->acpi_s5_slp_typ_a, bi->acpi_s5_slp_typ_b);
        } else {
            log_line("core: sleep: %s: the core refuses every sleep request, power-off included",
                     p->acpi.s5_why ? p->acpi.s5_why : "\\_S5 not found");
        }
    } else {
        log_line("core: no FADT: no ACPI power-off port for the core (reset at 0xcf9 only)");
    }

    log_line("core: %lu KiB image at 0x%lx (linked at 0x%lx), block 0x%lx-0x%lx reserved, "
             "page tables %lu pages for [0, %lu GiB)",
             h->mem_size >> 10, image_pa,
             h->link_base, block_base,
             (block_base + block_size - 1), pt.stats.tables,
             (phys_top >> 30));
    uint64_t entry = h->link_base + h->entry_offset;
    unsigned bsp = 0;
    for (unsigned i = 0; i < p->cpu_count; i++)
        if (p->cpus[i].flags & MINIHV_CPU_BSP)
            bsp = i;
    log_release_firmware_uart();
    int rc = minihv_trampoline(bi, bsp, pt.root_pa, entry);
    /* From here on bi is the core's: the loader keeps its hands off. So
     * is the log ring (read-only for the guest): lines through the core. */
    if (rc == 0 && core_present())
        log_ring_core_took();
    log_line("core: returned %d", rc);
    if (!(rc == 0 && core_present()))
        log_restore_firmware_uart();
    if (rc == 0 && core_present()) {
        log_line("core: cpu %u (APIC id %u) is a guest now; starting the APs", bsp, p->cpus[bsp].apic_id);
        boot_iommu_hide(); /* the core owns the remapping hardware now */
        start_aps(p, bi, pt.root_pa, entry, cfg->test_skip_ap);
        ap_launch_done();
    }
    return rc;
}

void launch_report_final_memmap(void)
{
    UINTN entries, key, desc_size;
    UINT32 desc_version;
    EFI_MEMORY_DESCRIPTOR *map = LibMemoryMap(&entries, &key, &desc_size, &desc_version);
    if (!map || !block_size)
        return;
    for (UINTN i = 0; i < entries; i++) {
        EFI_MEMORY_DESCRIPTOR *d = (EFI_MEMORY_DESCRIPTOR *)((uint8_t *)map + i * desc_size);
        uint64_t end = d->PhysicalStart + d->NumberOfPages * PAGE_SIZE;
        if (d->PhysicalStart <= block_base && block_base + block_size <= end)
            log_line("memmap: core block 0x%lx-0x%lx is in a %s descriptor 0x%lx-0x%lx",
                     block_base, (block_base + block_size - 1),
                     d->Type == EfiReservedMemoryType ? "Reserved" : "NOT reserved",
                     d->PhysicalStart, (end - 1));
    }
    FreePool(map);
}
