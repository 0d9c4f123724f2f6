/* The core's C entry, on its own stack and page tables, once per CPU. The
 * first CPU (the BSP) sets up what all share: console, heap, IDT, the
 * backend's global state and EPT, every CPU's stack. */
#include <minihv/boot_info.h>
#include <minihv/io.h>
#include <minihv/x86.h>
#include "hv/a20_gate.h"
#include "hv/fch_pm.h"
#include "hv/fw_cfg.h"
#include "hv/hpet_hw.h"
#include "hv/console.h"
#include "hv/ept.h"
#include "hv/ipi.h"
#include "hv/heap.h"
#include "hv/host.h"
#include "hv/iommu_hw.h"
#include "hv/passthrough_hw.h"
#include "hv/hv.h"
#include "hv/svm/svm.h"
#include "hv/vcpu.h"
#include "hv/vmx/vmx.h"

#define HV_STACK_PAGES 4

extern char hv_image_start[];
extern uint64_t hv_stack_top[MINIHV_MAX_CPUS]; /* hv/entry.asm */

const struct minihv_boot_info *hv_boot;
struct minihv_footprint hv_footprint;

enum backend { BACKEND_NONE, BACKEND_VMX, BACKEND_SVM };
static enum backend backend;
static int global_status;

/* The guest-physical map, one for all CPUs: identity with the MTRRs'
 * types minus the core's block, then the local APIC page read-only (the
 * INIT/SIPI intercept, hv/ipi.h). The core's own identity map gets the
 * same types (UC over MMIO through the PAT, not the MTRRs). */
static int guest_map_build(const struct minihv_boot_info *bi, const struct guest_map_spec *map)
{
    struct mtrr_state mtrr;
    mtrr_read_cpu(&mtrr);
    if (ept_build(bi, map->fmt, map->allow_1g, &mtrr)) {
        hv_log("out of memory building the %s", map->name);
        return -1;
    }
    if (ipi_setup()) {
        hv_log("out of memory mapping the local APIC page read-only in the %s", map->name);
        return -1;
    }
    hv_footprint.npt_bytes = ept_table_bytes();
    uint32_t r[4];
    x86_cpuid(0x80000001u, 0, r);
    int tables = host_map_retype(bi, &mtrr, r[3] & (1u << 26)); /* CPUID 0x80000001 EDX[26]: 1 GiB pages */
    if (tables < 0) {
        hv_log("out of memory typing the core's own map");
        return -1;
    }
    hv_footprint.host_pt_bytes += (uint64_t)tables * PAGE_SIZE;
    hv_log("host map: MMIO and holes UC through the PAT, memory by the MTRRs (%d table pages added)", tables);
    return 0;
}

static int global_init(const struct minihv_boot_info *bi)
{
    heap_init(bi->heap_phys, bi->heap_size);
    host_idt_init();
    hv_footprint.block_base = bi->hv_phys_base;
    hv_footprint.block_size = bi->hv_phys_size;
    hv_footprint.image_bytes = bi->image_mem_size;
    hv_footprint.host_pt_bytes = bi->pt_pages * PAGE_SIZE;
    /* The port-I/O intercepts: before the backend turns them into its
     * I/O bitmap. */
    if (passthrough_register_ports(bi) || a20_gate_register() || fch_pm_register())
        return -1;
    if (hpet_register(bi) || fw_cfg_register(bi))
        return -1;
    vcpu_register_power_ports(bi);
    console_register_port();
    vcpu_read_xsave_caps();

    /* The backend, from CPUID: Intel VMX, else AMD SVM. */
    const char *vmx_why = NULL, *svm_why = NULL;
    enum backend chosen = BACKEND_NONE;
    if (vmx_supported(&vmx_why))
        chosen = BACKEND_VMX;
    else if (svm_supported(&svm_why))
        chosen = BACKEND_SVM;
    else {
        hv_log("no usable VMX (%s) or SVM (%s): not virtualizing", vmx_why, svm_why);
        return 0;
    }
    struct guest_map_spec map = { 0 };
    if (chosen == BACKEND_VMX ? vmx_global_init(&map) : svm_global_init(&map))
        return -1;
    if (guest_map_build(bi, &map))
        return -1;
    if (passthrough_init(bi))
        return -1;
    /* Device DMA out of the block before any CPU runs the guest. */
    if (iommu_hw_init(bi))
        return -1;
    for (unsigned i = 0; i < bi->cpu_count && i < MINIHV_MAX_CPUS; i++) {
        uint64_t stack = heap_alloc(HV_STACK_PAGES);
        if (!stack) {
            hv_log("out of memory for the per-CPU stacks");
            return -1;
        }
        hv_stack_top[i] = stack + HV_STACK_PAGES * PAGE_SIZE;
        hv_footprint.per_cpu_bytes += HV_STACK_PAGES * PAGE_SIZE;
    }
    backend = chosen;
    return 0;
}

/* An AP the core could not take (issue 14, path 2). The BSP is a guest
 * already: back in the firmware this CPU would run whatever the guest
 * hands it, natively. It stays halted in the core instead, on the core's
 * own GDT, TSS and IDT in the block (an NMI returns to the halt,
 * hv/host.c); the core sends it no INIT or SIPI (hv/ipi.c), and under SVM
 * GIF stays clear, holding INIT and NMI (APM Vol. 2 15.17). */
static __attribute__((noreturn)) void park_ap(struct vcpu *v, uint64_t stack_top, int rc)
{
    hv_log("cpu %u (APIC id %u): not virtualized (%d): parked in the core, the guest runs without it",
           v->index, v->apic_id, rc);
    struct host_tables t;
    uint64_t bytes = 0;
    if (host_cpu_tables(stack_top, &t, &bytes) == 0) {
        struct {
            uint16_t limit;
            uint64_t base;
        } __attribute__((packed)) gdtr = { 5 * 8 - 1, t.gdt_base }, idtr = { 256 * 16 - 1, t.idt_base };
        __asm__ volatile("lgdt %0\n\t"
                         "pushq %q1\n\t"
                         "leaq 1f(%%rip), %%rax\n\t"
                         "pushq %%rax\n\t"
                         "lretq\n"
                         "1:\n\t"
                         "mov %w2, %%ss\n\t"
                         "mov %w2, %%ds\n\t"
                         "mov %w2, %%es\n\t"
                         "ltr %w3\n\t"
                         "lidt %4"
                         :: "m"(gdtr), "r"((uint64_t)HOST_CS), "r"(HOST_DS), "r"((uint16_t)HOST_TR), "m"(idtr)
                         : "rax", "memory");
    }
    if (backend == BACKEND_SVM) {
        wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
        __asm__ volatile("clgi" ::: "memory");
    }
    cpu_park();
}

int hv_main(struct minihv_boot_info *bi, uint64_t cpu, const struct minihv_resume *resume)
{
    if (bi->magic != MINIHV_BOOT_MAGIC || bi->version != MINIHV_BOOT_VERSION ||
        bi->size != sizeof(*bi) || cpu >= bi->cpu_count)
        return -1;
    if (!hv_boot) {
        hv_boot = bi;
        console_init(bi->serial_port);
        hv_log("core running at %p (phys 0x%lx), %lu KiB image, block 0x%lx+%lu MiB",
               (void *)hv_image_start, bi->image_phys,
               bi->image_mem_size / 1024, bi->hv_phys_base,
               bi->hv_phys_size >> 20);
        global_status = global_init(bi);
    }
    if (global_status || backend == BACKEND_NONE)
        return global_status;

    struct vcpu *v = vcpu_get((unsigned)cpu);
    uint32_t r[4];
    x86_cpuid(1, 0, r);
    v->index = (unsigned)cpu;
    v->apic_id = r[1] >> 24;
    if (v->apic_id != bi->cpus[cpu].apic_id)
        hv_log("cpu %lu: APIC id %u, the loader expected %u", cpu, v->apic_id, bi->cpus[cpu].apic_id);
    ipi_cpu_init(v->index);
    /* hv_entry put us on hv_stack_top[cpu] (or the boot stack). VMX: the
     * exit slot is the top 16 bytes of the CPU's own stack. SVM: the run
     * loop moves to the CPU's own stack itself. */
    int rc = backend == BACKEND_SVM ? svm_cpu_start(v, bi, resume, hv_stack_top[cpu])
                                    : vmx_cpu_start(v, bi, resume, hv_stack_top[cpu] - 16);
    if (!(bi->cpus[cpu].flags & MINIHV_CPU_BSP))
        park_ap(v, hv_stack_top[cpu], rc);
    return rc; /* the BSP: no CPU is a guest yet, the loader goes on without the core */
}
