/* The attack guest (issue 14): shared pieces of attack.c (framework: load
 * options, results, fault sites, MP services, the "core intact" check),
 * attack_cpu.c (CPU attacks) and attack_dev.c (IOMMU, PCI and hypercall
 * buffer attacks). */
#ifndef MINIHV_TESTS_GUESTS_ATTACK_H
#define MINIHV_TESTS_GUESTS_ATTACK_H

#include <efi.h>
#include <efilib.h>
#include <minihv/hypercall.h>
#include <stdbool.h>
#include <stdint.h>
#include "boot/mp_services.h"
#include "tests/guests/guard.h"

#define ATK_MAX_CPUS 16

/* ---- results: "attack: PASS name (detail)", "attack: FAIL name: why" ---- */
void atk_pass(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void atk_fail(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void atk_skip(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void atk_note(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- fault sites (attack.c asm): 0 when the instruction completed, else
 * GUARD_FAULTED | error << 8 | vector, as guard.h. Usable on the BSP after
 * atk_idt_install. ---- */
uint64_t atk_rdmsr(uint32_t msr, uint64_t *value) __attribute__((visibility("hidden")));
uint64_t atk_wrmsr(uint32_t msr, uint64_t value) __attribute__((visibility("hidden")));
uint64_t atk_xsetbv(uint32_t xcr, uint64_t value) __attribute__((visibility("hidden")));
uint64_t atk_movcr0(uint64_t value) __attribute__((visibility("hidden")));
uint64_t atk_read32(uint64_t pa, uint32_t *value) __attribute__((visibility("hidden")));
uint64_t atk_write32(uint64_t pa, uint32_t value) __attribute__((visibility("hidden")));
uint64_t atk_read64(uint64_t pa, uint64_t *value) __attribute__((visibility("hidden")));
uint64_t atk_write64(uint64_t pa, uint64_t value) __attribute__((visibility("hidden")));
/* rep stosd with ecx = 2 (eax = value) at pa; movnti of a dword at pa. */
uint64_t atk_rep_stosd(uint64_t pa, uint32_t value) __attribute__((visibility("hidden")));
uint64_t atk_movnti32(uint64_t pa, uint32_t value) __attribute__((visibility("hidden")));
/* movsb, rep movsd (ecx 2) from src to dst; movdqu of 16 bytes (SSE). */
uint64_t atk_movsb(uint64_t dst, const void *src) __attribute__((visibility("hidden")));
uint64_t atk_rep_movsd(uint64_t dst, const void *src) __attribute__((visibility("hidden")));
uint64_t atk_movdqu(uint64_t dst, const void *src) __attribute__((visibility("hidden")));
/* Calls `target` (interrupts off is the caller's business); a #UD, #GP or
 * #PF raised anywhere meanwhile returns here: the report as above, the
 * faulting RIP in *rip (0 when the call returned). */
uint64_t atk_fetch(uint64_t target, uint64_t *rip) __attribute__((visibility("hidden")));
extern volatile uint64_t atk_fetch_armed, atk_fetch_rip;
/* mov ss with RFLAGS.TF set, then CPUID (CVE-2018-8897 pattern). Returns
 * the address right after the CPUID; the #DB handler records where the
 * single-step trap came (atk_db_rip) and how often (atk_db_count). */
uint64_t atk_movss_cpuid(void) __attribute__((visibility("hidden")));
extern volatile uint64_t atk_db_rip, atk_db_count;
/* A private IDT on this CPU (a copy of the current one, vectors 1, 6, 13
 * and 14 pointed at the attack handlers, which hand faults elsewhere on to
 * what was there). */
int atk_idt_install(void);
void atk_idt_remove(void);

/* ---- environment ---- */
struct atk_env {
    EFI_HANDLE image;
    bool intel;            /* VMCALL, else VMMCALL */
    struct mp_services *mp;
    UINTN cpus, self;
    uint32_t apic_id[ATK_MAX_CPUS];
    bool cpu_ok[ATK_MAX_CPUS];
    uint8_t *cpu_page[ATK_MAX_CPUS]; /* a page per CPU: its guard IDT */
    struct minihv_footprint fp;
    uint64_t ecam;         /* segment 0 bus 0, 0 when no MCFG */
    uint64_t ram_top;      /* end of the highest RAM descriptor below 4 GiB */
    bool have_bdf;
    unsigned bus, dev, fn; /* bdf= from the load options: the passthrough device */
    bool edu;              /* an edu device was found (DMA checks) */
    uint16_t uart;         /* uart= from the load options: the core's serial port */
    bool have_skipped;     /* skipped=N: MP processor N never entered the core (test_skip_ap) */
    UINTN skipped;
};
extern struct atk_env env;

uint32_t atk_apic_id(void);
/* PING on the BSP; 0 on success with the APIC ID the core answered. */
bool atk_ping_self(uint32_t *apic_id, char *why, size_t why_size);
/* Every CPU answers PING with its own APIC ID (APs through MP services,
 * timeout_ms each); false with why. */
bool atk_all_cpus_answer(char *why, size_t why_size);
/* MINIHV_HC_HV_CHECKSUM of the block's [off, off+len). */
bool atk_block_digest(uint64_t off, uint64_t len, uint64_t *digest);
/* The block's digests that must never change: boot info + the first pages
 * of the image (code), and the last MiB (unused heap, the DMA target). */
struct atk_digests {
    uint64_t head, tail;
};
bool atk_digests(struct atk_digests *d);
/* Digests unchanged against the ones taken at start-up and every CPU
 * answers: false with why. */
bool atk_core_intact(char *why, size_t why_size);
/* The same with only this CPU's PING (attacks that aim at no other CPU:
 * APs wake slowly in Bochs). */
bool atk_core_intact_self(char *why, size_t why_size);
/* Core exits on this CPU (GET_STATS total), ~0 when not available. */
uint64_t atk_exits_self(void);
/* The same for one kind (MINIHV_EXIT_*). */
uint64_t atk_exits_self_of(unsigned kind);
/* Runs fn(arg) on processor n (n == self: here) and waits at most
 * timeout_ms. */
EFI_STATUS atk_on_cpu(UINTN n, void (*fn)(void *), void *arg, unsigned timeout_ms);
/* PM1a_CNT from the FADT when in System I/O, 0 when none (attack_sleep.c). */
uint16_t atk_fadt_pm1a_cnt(void);
/* ACPI table by signature from the XSDT (RSDT), 0 when none. */
uint64_t atk_acpi_table(const char *sig);
/* Config space: CF8/CFC. */
uint32_t atk_cfg_read32(unsigned bus, unsigned dev, unsigned fn, unsigned off);
void atk_cfg_write32(unsigned bus, unsigned dev, unsigned fn, unsigned off, uint32_t v);
/* A guest-virtual = guest-physical 1 GiB mapping (UC) of va's GiB in the
 * current page tables when OVMF's identity map does not reach it (4-level
 * paging, 1 GiB pages). false with why; atk_high_unmap undoes it. */
struct atk_high_map {
    uint64_t *pdpte, saved;
    bool added;
};
bool atk_high_map(uint64_t va, struct atk_high_map *m, char *why, size_t why_size);
void atk_high_unmap(uint64_t va, struct atk_high_map *m);
uint64_t atk_irq_save(void);
void atk_irq_restore(uint64_t flags);

/* The first IOMMU's register base (XMAR/DMAR, XVRS/IVRS), 0 when none. */
uint64_t atk_iommu_regs(void);
/* The passthrough device's (bdf=) last MSI-X table entry, 0 when none. */
uint64_t atk_pt_msix_last_entry(void);

/* edu (QEMU docs/specs/edu.txt): a DMA of `bytes` from its buffer to `dst`. */
bool atk_edu_dma_to(uint64_t dst, uint32_t bytes);
/* edu: `bytes` (at most 4096) from guest RAM at src to dst. */
bool atk_edu_dma_from(uint64_t dst, uint64_t src, uint32_t bytes);
/* A DMA into the core's block: true when the digest of the block's last
 * MiB stayed the same (detail in why). */
bool atk_edu_dma_into_block(char *why, size_t why_size);

/* ---- the attacks ---- */
void attack_iommu_regs(void);
void attack_iommu_dma(void);
void attack_ecam_dma(void);
void attack_hpet_fsb(void);
void attack_fwcfg_dma(void);
void attack_hpet_dma(void);
void attack_msi_delivery(void);
void attack_msix_left(void);
void attack_bar_placement(void);
void attack_subpage_bar(void);
void attack_hc_buffer_mmio(void);
void attack_msr_sweep(void);
void attack_apic_base(void);
void attack_init_logical(void);
void attack_icr_alias(void);
void attack_movss_tf(void);
void attack_xsetbv_17_18(void);
void attack_cr0_pg64(void);
void attack_pae_pdpte(void);
void attack_pae_native(void);
void attack_pae_rsvd(void);
void attack_cf8_split(void);
void attack_unmapped_gpa(void);
void attack_x2apic_icr_reserved(void);
void attack_triple_fault(void);
void attack_sleep_s3(void);
void attack_sleep_mmio(void);
void attack_core_uart(void);
void attack_apic_insn(void);
void attack_apic_8byte(void);
void attack_event_delivery(void);
void attack_ioapic_rte(void);
void attack_ap_not_entered(void);
void attack_task_switch(void);
void attack_a20(void);
void attack_ioapic_dma(void);
void attack_lvt_delivery(void);
void attack_lvt_x2apic(void);
void attack_mtrr_block(void);
void attack_icr_smi(void);
void attack_msi_window(void);
void attack_ecam_move(void);
void attack_bar_above_top(void);
void attack_bridge_renumber(void);
void attack_pmbase_move(void);
void attack_cf8_ext(void);
void attack_fch_pm(void);
void attack_msi_dma(void);
void attack_msi_dma_init(void);
void attack_log_dma(void);
void attack_smm_open(void);
void attack_db_intercept(void);
void attack_native_ports(void);
void attack_judged_cross(void);
void attack_mmio_fetch(void);
void attack_mmio_insn(void);
void attack_hpet_split(void);
void attack_hpet_hptc(void);

#endif
