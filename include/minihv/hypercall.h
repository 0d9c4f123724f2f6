/* The hypercall ABI between a guest and the core: VMCALL (Intel) or
 * VMMCALL (AMD). RAX = function, RBX/RCX/RDX = arguments; the core returns
 * a status in RAX (MINIHV_HC_OK or a negative MINIHV_HC_E*) and results in
 * RBX/RCX/RDX. Guest buffers are guest-physical addresses, checked by the
 * core (never inside its own memory, never crossing the end of RAM). */
#ifndef MINIHV_HYPERCALL_H
#define MINIHV_HYPERCALL_H

#include <stdint.h>

/* CPUID leaf 0x40000000: EAX = max hypervisor leaf, EBX/ECX/EDX = "MiniHv\0\0\0\0\0\0"
 * ("Mini" "Hv\0\0" "\0\0\0\0"). */
#define MINIHV_CPUID_BASE      0x40000000u
#define MINIHV_CPUID_SIG_EBX   0x696e694du /* "Mini" */
#define MINIHV_CPUID_SIG_ECX   0x00007648u /* "Hv" */
#define MINIHV_CPUID_SIG_EDX   0x00000000u
#define MINIHV_CPUID_MAX_LEAF  0x40000001u /* 0x40000001: EAX = ABI version */

#define MINIHV_ABI_VERSION 1

enum minihv_hypercall {
    MINIHV_HC_PING = 0,       /* -> RBX = MINIHV_HC_PONG, RCX = ABI version, RDX = APIC ID of the vCPU */
    MINIHV_HC_VERSION = 1,    /* -> RBX = ABI version, RCX = 0 */
    MINIHV_HC_GET_STATS = 2,  /* RBX = cpu index, RCX = buffer gpa, RDX = buffer size
                               * -> struct minihv_stats written, RBX = bytes written */
    MINIHV_HC_FOOTPRINT = 3,  /* RBX = buffer gpa, RCX = size -> struct minihv_footprint,
                               * RBX = bytes written */
    MINIHV_HC_DUMP_STATS = 4, /* prints the exit table and footprint on the core's serial log */
    /* RBX = offset into the core's block, RCX = length (0: to the end of
     * the block), both whole 4 KiB pages -> RBX = FNV-1a 64 of those bytes,
     * RCX = block base, RDX = block size. For DMA tests (issue 9): the
     * block's contents stay the core's; only a digest of whole pages leaves
     * it. EINVAL: range outside the block or not page-granular. */
    MINIHV_HC_HV_CHECKSUM = 5,
    /* Polls the IOMMU's fault records (each logged by the core) -> RBX =
     * DMA faults reported since the start, RCX = 1 when device DMA is
     * contained (a provider other than none is on), else 0. */
    MINIHV_HC_IOMMU_FAULTS = 6,
    /* The loader, once it has started every AP it will (issue 14): from
     * now on no INIT or SIPI reaches any CPU physically, and each CPU of
     * the boot list that never entered the core (a start that timed out)
     * gets one physical INIT, which holds it in wait-for-SIPI for good ->
     * RBX = how many such CPUs. A second call changes nothing. */
    MINIHV_HC_AP_LAUNCH_DONE = 7,
    /* The loader's lines into the log ring (issue 17) once the core runs
     * (the guest may not write the ring itself): RBX = text gpa, RCX =
     * length (1..512, no newline) -> one loader line. RBX = RCX = 0: the
     * loader starts the guest; every later call is EPERM and counted as
     * refused log-write (hv/log_ring.h). */
    MINIHV_HC_LOADER_LOG = 8,
    /* Reads the passthrough device's MSI-X table from the hardware (issue
     * 16's invariant) -> RBX = entries read (0: no device or no MSI-X),
     * RCX = entries the hardware holds unmasked with a message the core
     * refuses (address outside 0xFEEx_xxxx or a delivery mode other than
     * fixed and lowest priority, vfio/msi.h): 0 unless the core is wrong;
     * RDX = entries unmasked (the ones judged). */
    MINIHV_HC_PT_MSIX_CHECK = 9,
};
#define MINIHV_HC_PONG 0x676e6f50u /* "Pong" */

#define MINIHV_HC_OK        0
#define MINIHV_HC_EINVAL   -22 /* unknown function, bad cpu index, bad size */
#define MINIHV_HC_EFAULT   -14 /* buffer outside guest RAM or inside the core */
#define MINIHV_HC_EPERM     -1 /* called from CPL > 0 */

/* Exit reasons counted per CPU, vendor-neutral (both backends map theirs). */
enum minihv_exit_kind {
    MINIHV_EXIT_CPUID, MINIHV_EXIT_MSR_READ, MINIHV_EXIT_MSR_WRITE, MINIHV_EXIT_CR_ACCESS,
    MINIHV_EXIT_XSETBV, MINIHV_EXIT_INVD, MINIHV_EXIT_HYPERCALL, MINIHV_EXIT_VIRT_INSN,
    MINIHV_EXIT_NPF_MMIO, MINIHV_EXIT_NPF_HV_MEMORY, MINIHV_EXIT_IO, MINIHV_EXIT_INIT,
    MINIHV_EXIT_SIPI, MINIHV_EXIT_EXCEPTION, MINIHV_EXIT_OTHER,
    /* The passthrough device: its config space (CF8/CFC or its ECAM page,
     * and the IGD's bridges), its MSI-X table page, and any other trapped
     * access to its BARs' guest windows (decode off, moved away, ROM). */
    MINIHV_EXIT_PT_CONFIG, MINIHV_EXIT_PT_MSIX, MINIHV_EXIT_PT_BAR,
    MINIHV_EXIT_KINDS
};
/* Short names, in enum order, for logs and tools. */
#define MINIHV_EXIT_KIND_NAMES \
    "cpuid", "msr-read", "msr-write", "cr-access", "xsetbv", "invd", "hypercall", "vmx-insn", \
    "npf-mmio", "npf-hv-mem", "io", "init", "sipi", "exception", "other", \
    "pt-config", "pt-msix", "pt-bar"

struct minihv_stats {
    uint32_t cpu_index, apic_id;
    uint64_t total_exits;
    uint64_t exits[MINIHV_EXIT_KINDS];
};

struct minihv_footprint {
    uint64_t block_base, block_size; /* the reserved block: all of the core's memory */
    uint64_t image_bytes;
    uint64_t host_pt_bytes;
    uint64_t npt_bytes;              /* EPT or NPT tables */
    uint64_t per_cpu_bytes;          /* all CPUs together */
    uint64_t leaves_1g, leaves_2m, leaves_4k; /* in the EPT/NPT */
};

#endif
