/* Device DMA at the interrupt window and at the log ring (issue 14).
 *
 * msi-dma: without interrupt remapping any DMA write of a dword to
 * 0xFEExxxxx is an MSI (Intel SDM Vol. 3A 11.11: address bits 19:12 the
 * destination APIC ID, data bits 10:8 the delivery mode, 7:0 the vector;
 * AMD-Vi passes it unremapped when the DTE's IV is clear). The edu device
 * the guest drives sends INIT to the other CPU and to itself, NMI, ExtINT
 * and a fixed vector to itself. Wanted: a physical INIT never takes a CPU
 * out of the core (SVM absorbs it: physical-init, tests/emu/attack.sh
 * checks the count), the NMI reaches the guest's handler exactly once
 * (the core's NMI exit must not take it for its own kick), the fixed
 * vector reaches the guest's handler once, and every CPU answers after
 * each message. SMI: see smm-open; INIT: msi-dma-init.
 *
 * smm-open: a firmware without SMM (the test OVMF) never relocates
 * SMBASE, so an SMI enters SMM at the default SMBASE 0x30000 and runs the
 * code at 0x38000 (SDM Vol. 3C 32.5.1, 32.11), which is ordinary guest
 * RAM: a CPU running guest code outside the core, with no EPT/NPT, able
 * to write the core's block. The guest plants a stub there (count, write
 * the block's last MiB, RSM), with the CPU and then by the edu's DMA, and
 * triggers SMIs by the edu's SMI message and by APM port 0xB2 (ICH9
 * SMI_EN.APMC_EN at PMBASE+0x30). Passes when no stub ran: the loader
 * takes that range when q35 shows SMM open (boot/launch.c,
 * take_default_smram), the core keeps it from the guest and device DMA.
 *
 * log-dma: the log ring (boot_info.log_phys, found by the OS through the
 * ACPI table MHVL) is read-only for the CPU and left out of the IOMMU's
 * domain like the block (hv/iommu_hw.c, `protect`): an edu DMA over its
 * header and over the ring's last bytes must not land, and the IOMMU must
 * report the faults (MINIHV_HC_IOMMU_FAULTS; VT-d only, see below). */
#include <minihv/format.h>
#include <minihv/io.h>
#include <minihv/libc.h>
#include <minihv/logring.h>
#include <minihv/x86.h>
#include "tests/guests/attack.h"
#include "tests/guests/hvcall.h"
#include "tests/guests/print.h"

#define MSI_ADDR(dest)   ((uint64_t)0xfee00000u | (uint64_t)(dest) << 12)
#define MSI_DM_FIXED     0u
#define MSI_DM_SMI       2u
#define MSI_DM_NMI       4u
#define MSI_DM_INIT      5u
#define MSI_DM_EXTINT    7u
#define MSI_DATA(dm, v)  ((dm) << 8 | (v))
#define FIXED_VECTOR     0xec
#define MSR_APIC_BASE    0x1b

static volatile uint64_t msi_nmi_count __attribute__((used)), msi_fixed_count __attribute__((used));
static volatile uint64_t msi_eoi_addr __attribute__((used));
void atk_msi_nmi_entry(void) __attribute__((visibility("hidden")));
void atk_msi_fixed_entry(void) __attribute__((visibility("hidden")));
__asm__(".text\n"
        ".hidden atk_msi_nmi_entry\n"
        "atk_msi_nmi_entry:\n"
        "    lock incq msi_nmi_count(%rip)\n"
        "    iretq\n"
        ".hidden atk_msi_fixed_entry\n"
        "atk_msi_fixed_entry:\n"
        "    lock incq msi_fixed_count(%rip)\n"
        "    pushq %rax\n"
        "    movq msi_eoi_addr(%rip), %rax\n"
        "    movl $0, (%rax)\n" /* xAPIC EOI (SDM Vol. 3A 11.8.5) */
        "    popq %rax\n"
        "    iretq\n");

static struct x86_idt_gate *gate_of(unsigned vector)
{
    struct idt_ptr idtr;
    __asm__ volatile("sidt %0" : "=m"(idtr));
    return (struct x86_idt_gate *)(uintptr_t)idtr.base + vector;
}

static void set_gate(unsigned vector, void (*fn)(void))
{
    uint16_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    uint64_t h = (uint64_t)(uintptr_t)fn;
    *gate_of(vector) = x86_idt_gate_intr(h, cs, 0);
}

/* A dword below 4 GiB the edu reads the message data from. */
static volatile uint32_t *msg_buf;

static bool msg_page(void)
{
    EFI_PHYSICAL_ADDRESS pa = 0xffffffff;
    if (!msg_buf && !EFI_ERROR(BS->AllocatePages(AllocateMaxAddress, EfiBootServicesData, 1, &pa)))
        msg_buf = (volatile uint32_t *)(uintptr_t)pa;
    return msg_buf != NULL;
}

/* The edu writes `data` to MSI_ADDR(dest): an MSI the device sends. */
static bool send_msi(uint32_t dest, uint32_t data)
{
    *msg_buf = data;
    return atk_edu_dma_from(MSI_ADDR(dest), (uint64_t)(uintptr_t)msg_buf, 4);
}

static void msi_dma(const char *name, bool with_init)
{
    static char why[240];
    uint64_t base = 0;
    atk_rdmsr(MSR_APIC_BASE, &base);
    if (!env.edu || !msg_page() || (base & (1ull << 10))) {
        atk_skip(name, "%s", !env.edu ? "no edu device" : msg_buf ? "x2APIC mode" : "out of memory");
        return;
    }
    msi_eoi_addr = (base & 0x000ffffffffff000ull) + 0xb0;
    uint32_t self_id = env.apic_id[env.self];
    UINTN other = env.self == 0 ? 1 : 0;
    struct {
        const char *what;
        uint32_t dest, data;
    } cases[] = {
        { "INIT to the other CPU", env.cpus > 1 && env.cpu_ok[other] ? env.apic_id[other] : ~0u, MSI_DATA(MSI_DM_INIT, 0) },
        { "INIT to self", self_id, MSI_DATA(MSI_DM_INIT, 0) },
        { "NMI to self", self_id, MSI_DATA(MSI_DM_NMI, 0) },
        { "fixed vector 0xec to self", self_id, MSI_DATA(MSI_DM_FIXED, FIXED_VECTOR) },
        { "ExtINT to self", self_id, MSI_DATA(MSI_DM_EXTINT, 0) },
    };
    uint64_t f = atk_irq_save();
    struct x86_idt_gate saved_nmi = *gate_of(2), saved_fixed = *gate_of(FIXED_VECTOR);
    set_gate(2, atk_msi_nmi_entry);
    set_gate(FIXED_VECTOR, atk_msi_fixed_entry);
    atk_irq_restore(f);
    char res[480] = "";
    size_t used = 0;
    unsigned inits = 0;
    bool all_ok = true;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        unsigned dm = cases[i].data >> 8 & 7;
        if (cases[i].dest == ~0u || (dm == MSI_DM_INIT) != with_init)
            continue;
        msi_nmi_count = 0;
        msi_fixed_count = 0;
        guest_print("attack: msi-dma: %s: edu writes 0x%x to 0x%lx", cases[i].what, cases[i].data, MSI_ADDR(cases[i].dest));
        f = atk_irq_save();
        bool ran = send_msi(cases[i].dest, cases[i].data);
        BS->Stall(2000);
        uint64_t nmis_masked = msi_nmi_count, fixed_masked = msi_fixed_count;
        atk_irq_restore(f);
        BS->Stall(2000); /* IF open: a fixed (or ExtINT) interrupt is taken now */
        guest_print("attack: msi-dma: %s: DMA %s; checking the CPUs", cases[i].what, ran ? "ran" : "did not finish");
        if (dm == MSI_DM_INIT)
            inits++;
        uint32_t pong = 0;
        bool ok = cases[i].dest != self_id ? atk_core_intact(why, sizeof(why))
                : atk_ping_self(&pong, why, sizeof(why)) && pong == self_id;
        if (ok && cases[i].dest == self_id)
            fmt_snprintf(why, sizeof(why), "this CPU answers PING");
        char d[160];
        bool good = ok && ran;
        fmt_snprintf(d, sizeof(d), "%s: DMA %s, %lu NMI(s) (%lu with IF clear), %lu fixed interrupt(s) (%lu with IF clear)",
                     cases[i].what, ran ? "ran" : "did not finish", (uint64_t)msi_nmi_count, nmis_masked,
                     (uint64_t)msi_fixed_count, fixed_masked);
        if (dm == MSI_DM_NMI)
            good = good && msi_nmi_count == 1 && msi_fixed_count == 0;
        else if (dm == MSI_DM_FIXED)
            good = good && msi_fixed_count == 1 && fixed_masked == 0 && msi_nmi_count == 0;
        else
            good = good && msi_nmi_count == 0 && msi_fixed_count == 0;
        guest_print("attack: msi-dma: %s; %s", d, why);
        if (!good) {
            all_ok = false;
            used += fmt_snprintf(res + used, sizeof(res) - used, "%s%s%s%s", used ? "; " : "", d, ok ? "" : ": ",
                                 ok ? "" : why);
            if (used >= sizeof(res))
                used = sizeof(res) - 1;
        }
        if (!ok)
            break; /* a CPU is gone: the next cases would say nothing new */
    }
    f = atk_irq_save();
    *gate_of(2) = saved_nmi;
    *gate_of(FIXED_VECTOR) = saved_fixed;
    atk_irq_restore(f);
    guest_print("attack: msi-dma: %u INIT message(s) sent", inits);
    if (all_ok && !atk_core_intact(why, sizeof(why))) {
        all_ok = false;
        fmt_snprintf(res, sizeof(res), "after the messages: %s", why);
    }
    if (all_ok && with_init)
        atk_pass(name, "edu's INIT messages to the other CPU and to this one absorbed: every CPU answers; %s", why);
    else if (all_ok)
        atk_pass(name, "edu's MSI writes: NMI once at the guest's handler, vector 0x%x once, ExtINT harmless; %s",
                 FIXED_VECTOR, why);
    else
        atk_fail(name, "%s", res);
}

void attack_msi_dma(void)
{
    msi_dma("msi-dma", false);
}

/* Under QEMU TCG a physical INIT resets the CPU even in host mode: QEMU
 * holds no INIT while GIF is clear and has no VM_CR.R_INIT (#SX), so the
 * INIT intercept's exit is followed by a reset of the core's CPU (APM Vol.
 * 2 15.17, 15.28 say the INIT stays pending, then becomes #SX). Only when
 * named: it shows what the emulator does, not the core. */
void attack_msi_dma_init(void)
{
    msi_dma("msi-dma-init", true);
}

/* ---- smm-open ---- */

#define SMBASE_DEFAULT   0x30000u
#define SMM_ENTRY        (SMBASE_DEFAULT + 0x8000u) /* SDM Vol. 3C 32.5.1 */
#define SMM_SAVE_AREA    (SMBASE_DEFAULT + 0xfc00u) /* to +0xffff, written by the CPU */
#define ICH9_LPC_PMBASE  0x40
#define ICH9_SMI_EN      0x30
#define SMI_EN_GBL       (1u << 0)
#define SMI_EN_APMC      (1u << 5)
#define APM_CNT          0xb2
#define Q35_LPC_ID       0x29188086u /* 00:1f.0 ICH9 LPC */
#define PIIX4_PM_ID      0x71138086u /* 00:01.3 PIIX4 power management (QEMU pc, Bochs) */
#define PIIX4_DEVACTB    0x58
#define PIIX4_APMC_EN    (1u << 25)  /* DEVACTB: a write to APM_CNT raises an SMI (PIIX4 datasheet 7.2) */
#define MSR_SMI_COUNT    0x34        /* Intel: SMIs since reset (SDM Vol. 4) */

/* One SMI by APM_CNT: ICH9 (q35) through SMI_EN at PMBASE+0x30, PIIX4
 * (i440FX) through DEVACTB.APMC_EN; each enable restored. False: neither
 * chipset. *what: which, for the report. */
static bool apm_smi(const char **what, uint32_t *reg)
{
    if (atk_cfg_read32(0, 0x1f, 0, 0) == Q35_LPC_ID) {
        uint32_t pmbase = atk_cfg_read32(0, 0x1f, 0, ICH9_LPC_PMBASE) & 0xff80;
        uint32_t smi_en = inl(pmbase + ICH9_SMI_EN);
        *what = "ICH9 SMI_EN";
        *reg = pmbase;
        outl(pmbase + ICH9_SMI_EN, smi_en | SMI_EN_GBL | SMI_EN_APMC);
        outb(APM_CNT, 0x5a);
        BS->Stall(2000);
        outl(pmbase + ICH9_SMI_EN, smi_en);
        return true;
    }
    if (atk_cfg_read32(0, 1, 3, 0) == PIIX4_PM_ID) {
        uint32_t devactb = atk_cfg_read32(0, 1, 3, PIIX4_DEVACTB);
        *what = "PIIX4 DEVACTB";
        *reg = devactb;
        atk_cfg_write32(0, 1, 3, PIIX4_DEVACTB, devactb | PIIX4_APMC_EN);
        outb(APM_CNT, 0x5a);
        BS->Stall(2000);
        atk_cfg_write32(0, 1, 3, PIIX4_DEVACTB, devactb);
        return true;
    }
    *what = "no ICH9 or PIIX4";
    *reg = 0;
    return false;
}

void attack_smm_open(void)
{
    const char *name = "smm-open";
    static char why[240];
    static uint8_t saved_entry[64], saved_area[0x400];
    /* q35 MCH: 0x9d SMRAM, 0x9e ESMRAMC; i440FX: SMRAM 0x72, no ESMRAMC. */
    bool i440fx = atk_cfg_read32(0, 0, 0, 0) == 0x12378086u;
    uint32_t dword = atk_cfg_read32(0, 0, 0, i440fx ? 0x70 : 0x9c);
    uint8_t smram = (uint8_t)(dword >> (i440fx ? 16 : 8)), esmramc = i440fx ? 0 : (uint8_t)(dword >> 16);
    EFI_PHYSICAL_ADDRESS pa = SMBASE_DEFAULT;
    bool owned = !EFI_ERROR(BS->AllocatePages(AllocateAddress, EfiBootServicesData, 16, &pa));
    guest_print("attack: smm-open: %s SMRAM 0x%02x ESMRAMC 0x%02x (D_LCK %u, T_EN %u); 0x30000-0x3ffff %s",
                i440fx ? "i440FX" : "q35", smram, esmramc, smram >> 4 & 1, esmramc & 1,
                owned ? "allocated to the guest" : "not free (saved and restored)");
    volatile uint8_t *entry = (volatile uint8_t *)(uintptr_t)SMM_ENTRY;
    /* The stub's counter: in a page of ours below 4 GiB (the default
     * SMRAM range may be the firmware's: an SMM firmware uses it). */
    if (!msg_page()) {
        atk_skip(name, "out of memory");
        return;
    }
    volatile uint32_t *marker = msg_buf + 64;
    uint32_t marker_pa = (uint32_t)(uintptr_t)marker;
    /* Byte by byte, plain MOVs: the range may be the core's (not present:
     * reads all-ones, writes dropped) or the firmware's. */
    volatile uint8_t *area = (volatile uint8_t *)(uintptr_t)SMM_SAVE_AREA;
    for (size_t i = 0; i < sizeof(saved_entry); i++)
        saved_entry[i] = entry[i];
    for (size_t i = 0; i < sizeof(saved_area); i++)
        saved_area[i] = area[i];
    /* 16-bit SMM code, data segments flat (base 0, 4 GiB): inc dword
     * [marker]; mov dword [the block's last MiB], a marker (only when
     * the block is below 4 GiB); rsm. */
    uint64_t target = env.fp.block_base + env.fp.block_size - 0x20000;
    uint8_t stub[32];
    size_t n = 0;
    stub[n++] = 0x66; stub[n++] = 0x67; stub[n++] = 0xff; stub[n++] = 0x05;
    for (unsigned b = 0; b < 4; b++)
        stub[n++] = (uint8_t)(marker_pa >> 8 * b);
    if (target + 4 <= 0x100000000ull) {
        stub[n++] = 0x66; stub[n++] = 0x67; stub[n++] = 0xc7; stub[n++] = 0x05;
        for (unsigned b = 0; b < 4; b++)
            stub[n++] = (uint8_t)(target >> 8 * b);
        for (unsigned b = 0; b < 4; b++)
            stub[n++] = (uint8_t)(0x534d4d21u >> 8 * b); /* "!SMM" */
    }
    stub[n++] = 0x0f; stub[n++] = 0xaa; /* RSM */
    *marker = 0;
    for (size_t i = 0; i < n; i++)
        entry[i] = stub[i];
    /* The SMIs must happen: on SVM each is an SMI exit (counted other);
     * on VMX no exit, MSR_SMI_COUNT counts them (where it reads). */
    uint64_t other_before = env.fp.block_size ? atk_exits_self_of(MINIHV_EXIT_OTHER) : 0;
    uint64_t smi_count_before = 0;
    bool smi_count = env.intel && !atk_rdmsr(MSR_SMI_COUNT, &smi_count_before);
    /* 1: the edu's SMI message to this CPU. */
    uint32_t self_id = env.apic_id[env.self];
    bool ran = env.edu && send_msi(self_id, MSI_DATA(MSI_DM_SMI, 0));
    BS->Stall(2000);
    uint32_t by_msi = *marker;
    /* 2: APM_CNT (0xb2) with the chipset's APM SMI enabled. */
    const char *apm_what;
    uint32_t apm_reg;
    bool apm = apm_smi(&apm_what, &apm_reg);
    uint32_t by_apm = *marker - by_msi;
    /* 3: the stub written by the edu's DMA instead of the CPU (the range
     * must be out of the IOMMU's domain too), then APM_CNT again. */
    volatile uint8_t *dma_src = (volatile uint8_t *)msg_buf + 1024; /* past the counter */
    for (size_t i = 0; i < n; i++)
        dma_src[i] = stub[i];
    bool dma_ran = env.edu && atk_edu_dma_from(SMM_ENTRY, (uint64_t)(uintptr_t)dma_src, (uint32_t)n);
    if (dma_ran)
        apm_smi(&apm_what, &apm_reg);
    uint32_t by_dma = *marker - by_msi - by_apm;
    for (size_t i = 0; i < sizeof(saved_entry); i++)
        entry[i] = saved_entry[i];
    for (size_t i = 0; i < sizeof(saved_area); i++)
        area[i] = saved_area[i];
    if (owned)
        BS->FreePages(SMBASE_DEFAULT, 16);
    bool ok = true;
    uint64_t smis = 0, smi_count_after = 0;
    if (smi_count && !atk_rdmsr(MSR_SMI_COUNT, &smi_count_after))
        smis = smi_count_after - smi_count_before;
    if (env.fp.block_size) { /* else a bare run (bare=1): no core to ask */
        if (!env.intel)
            smis = atk_exits_self_of(MINIHV_EXIT_OTHER) - other_before;
        ok = atk_core_intact(why, sizeof(why));
    }
    else
        fmt_snprintf(why, sizeof(why), "bare run, no core");
    unsigned sent = (unsigned)ran + (unsigned)apm + (unsigned)(apm && dma_ran);
    const char *counted = env.intel ? "MSR_SMI_COUNT" : "SMI/other exit(s)";
    guest_print("attack: smm-open: the stub at 0x%x ran %u time(s) after the edu's SMI message (DMA %s), %u after "
                "APM_CNT (%s 0x%x), %u after APM_CNT with the stub put there by the edu's DMA (%s); %s",
                SMM_ENTRY, by_msi, ran ? "ran" : "did not run", by_apm, apm_what, apm_reg, by_dma,
                dma_ran ? "ran" : "did not run", why);
    guest_print("attack: smm-open: %s: %lu on this CPU meanwhile (%u SMIs sent)", counted, smis, sent);
    /* Counted: SVM under the core (SMI exits); VMX where MSR_SMI_COUNT has
     * ever moved (Bochs keeps it 0: there the unfixed loader's run, the
     * stub running on the same APM_CNT SMI, is the proof they are sent). */
    bool countable = env.intel ? smi_count && (smi_count_before || smis) : env.fp.block_size != 0;
    if (env.intel && !countable)
        counted = "MSR_SMI_COUNT (never moved here: not counted)";
    if (!by_msi && !by_apm && !by_dma && ok && (!sent || (countable && smis < sent)))
        atk_fail(name, "no stub ran, but %s counted %lu for %u SMI(s) sent: were they sent?", counted, smis, sent);
    else if (!by_msi && !by_apm && !by_dma && ok)
        atk_pass(name, "no SMI ran the guest's code at 0x%x (SMI message DMA %s, APM_CNT by %s, %s; %s %lu); %s",
                 SMM_ENTRY, ran ? "ran" : "did not run", apm_what, dma_ran ? "twice" : "once", counted, smis, why);
    else
        atk_fail(name, "an SMI ran the guest's code at SMBASE+0x8000 = 0x%x in SMM, outside the core: %u time(s) by the "
                 "edu's SMI message, %u by APM_CNT 0xb2, %u with the stub DMA'd there; %s", SMM_ENTRY, by_msi, by_apm, by_dma,
                 ok ? "core intact otherwise" : why);
}

/* ---- log-dma ---- */

static uint8_t pattern_byte(unsigned i)
{
    return (uint8_t)(0xa5 ^ i ^ (i >> 8)); /* atk_edu_dma_to's pattern */
}

static bool iommu_faults(uint64_t *faults, bool *contained)
{
    struct hc_regs r = { MINIHV_HC_IOMMU_FAULTS, 0, 0, 0 };
    if (hv_call(&r) || r.rax != MINIHV_HC_OK)
        return false;
    *faults = r.rbx;
    *contained = r.rcx;
    return true;
}

/* How many bytes of [pa, pa+len) hold the pattern's byte for their offset. */
static unsigned pattern_bytes_at(uint64_t pa, unsigned len)
{
    const volatile uint8_t *p = (const volatile uint8_t *)(uintptr_t)pa;
    unsigned same = 0;
    for (unsigned i = 0; i < len; i++)
        same += p[i] == pattern_byte(i);
    return same;
}

void attack_log_dma(void)
{
    const char *name = "log-dma";
    static char why[240];
    uint64_t t = atk_acpi_table(MINIHV_LOG_ACPI_SIG);
    if (!env.edu || !t) {
        atk_skip(name, "%s", !env.edu ? "no edu device" : "no MHVL table");
        return;
    }
    struct minihv_log_acpi tab;
    memcpy(&tab, (const void *)(uintptr_t)t, sizeof(tab));
    struct minihv_log_header h;
    memcpy(&h, (const void *)(uintptr_t)tab.area_phys, sizeof(h));
    if (h.magic != MINIHV_LOG_MAGIC || h.data_offset + (uint64_t)h.data_size > tab.area_size || h.data_size < 4096) {
        atk_fail(name, "MHVL area 0x%lx+0x%lx: header does not check (magic 0x%lx)", tab.area_phys, tab.area_size, h.magic);
        return;
    }
    uint64_t header_pa = tab.area_phys, ring_end_pa = tab.area_phys + h.data_offset + h.data_size - 256;
    uint8_t header_before[64];
    memcpy(header_before, (const void *)(uintptr_t)header_pa, sizeof(header_before));
    unsigned ring_before = pattern_bytes_at(ring_end_pa, 256);
    /* Polled after each DMA: QEMU's VT-d keeps one fault record, a second
     * fault before the core reads the first is not recorded. */
    uint64_t faults_before = 0, faults_mid = 0, faults_after = 0;
    bool contained = false;
    iommu_faults(&faults_before, &contained);
    bool ran1 = atk_edu_dma_to(header_pa, 64);
    bool polled = iommu_faults(&faults_mid, &contained);
    bool ran2 = atk_edu_dma_to(ring_end_pa, 256);
    polled = iommu_faults(&faults_after, &contained) && polled;
    bool header_same = !memcmp(header_before, (const void *)(uintptr_t)header_pa, 56); /* magic .. tsc_base */
    unsigned ring_after = pattern_bytes_at(ring_end_pa, 256);
    bool ok = atk_core_intact(why, sizeof(why));
    /* The fault count is checked under VT-d (the DMAR, XMAR once the
     * loader hid it): QEMU 7.2's amd-iommu records no I/O page fault for a
     * non-present PTE (tests/emu/iommu.sh, amdvi-edu). */
    bool vtd = atk_acpi_table("XMAR") || atk_acpi_table("DMAR");
    guest_print("attack: log-dma: ring 0x%lx+0x%lx; edu DMA of 64 bytes over the header %s, of 256 over the ring's end "
                "0x%lx %s; header %s; ring end: %u/256 bytes match the pattern before, %u after; IOMMU faults %lu -> %lu "
                "(DMA %scontained)", tab.area_phys, tab.area_size, ran1 ? "ran" : "did not finish", ring_end_pa,
                ran2 ? "ran" : "did not finish", header_same ? "unchanged" : "CHANGED", ring_before, ring_after,
                faults_before, faults_after, contained ? "" : "NOT ");
    if (!header_same || ring_after == 256)
        atk_fail(name, "the device's DMA reached the log ring: header %s, %u/256 pattern bytes at the ring's end 0x%lx",
                 header_same ? "unchanged" : "overwritten", ring_after, ring_end_pa);
    else if (vtd && (!polled || faults_mid == faults_before || faults_after == faults_mid))
        atk_fail(name, "the DMA did not land but the IOMMU reported %lu fault(s) for the header's DMA, %lu for the ring "
                 "end's (%s)", faults_mid - faults_before, faults_after - faults_mid,
                 polled ? "MINIHV_HC_IOMMU_FAULTS" : "the hypercall failed");
    else if (!ok)
        atk_fail(name, "after the DMA: %s", why);
    else
        atk_pass(name, "edu DMA over the ring's header and end did not land; %lu IOMMU fault(s) reported%s; %s",
                 faults_after - faults_before, vtd ? "" : " (AMD-Vi: QEMU records none)", why);
}
