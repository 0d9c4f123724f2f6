/* Platform discovery: firmware, memory map, ACPI, CPUs, PCI. One report
 * line per stage, details indented below it. */
#include <efi.h>
#include <efilib.h>
#include <minihv/format.h>
#include <minihv/io.h>
#include <minihv/libc.h>
#include <minihv/pci.h>
#include <minihv/x86.h>
#include "boot/log.h"
#include "boot/mp_services.h"
#include "boot/platform.h"

void platform_report_firmware(void)
{
    char vendor[64];
    size_t n = 0;
    for (const CHAR16 *w = ST->FirmwareVendor; w && *w && n < sizeof(vendor) - 1; w++)
        vendor[n++] = *w < 0x7f && *w >= 0x20 ? (char)*w : '?';
    vendor[n] = '\0';
    log_line("firmware: %s rev 0x%x, UEFI %u.%u", vendor, ST->FirmwareRevision,
             ST->Hdr.Revision >> 16, ST->Hdr.Revision & 0xffff);
}

/* ---- memory map ---- */

void platform_report_memory(struct platform *p)
{
    UINTN entries, key, desc_size;
    UINT32 desc_version;
    EFI_MEMORY_DESCRIPTOR *map = LibMemoryMap(&entries, &key, &desc_size, &desc_version);
    if (!map) {
        log_line("memory: GetMemoryMap failed");
        return;
    }
    uint64_t conv = 0, boot = 0, runtime = 0, reserved = 0, acpi = 0, mmio = 0, top = 0;
    for (UINTN i = 0; i < entries; i++) {
        EFI_MEMORY_DESCRIPTOR *d = (EFI_MEMORY_DESCRIPTOR *)((uint8_t *)map + i * desc_size);
        uint64_t bytes = d->NumberOfPages * PAGE_SIZE;
        switch (d->Type) {
        case EfiConventionalMemory:
            conv += bytes;
            break;
        case EfiLoaderCode:
        case EfiLoaderData:
        case EfiBootServicesCode:
        case EfiBootServicesData:
            boot += bytes;
            break;
        case EfiRuntimeServicesCode:
        case EfiRuntimeServicesData:
            runtime += bytes;
            break;
        case EfiACPIReclaimMemory:
        case EfiACPIMemoryNVS:
            acpi += bytes;
            break;
        case EfiMemoryMappedIO:
        case EfiMemoryMappedIOPortSpace:
            mmio += bytes;
            break;
        default:
            reserved += bytes;
            break;
        }
        if (d->PhysicalStart + bytes > top)
            top = d->PhysicalStart + bytes;
    }
    FreePool(map);
    p->phys_top = MAX(top, 4ull << 30); /* the 32-bit MMIO hole is always there */
    log_line("memory: %lu MiB conventional, %lu MiB boot services, %lu MiB runtime, "
             "%lu MiB ACPI, %lu MiB reserved, %lu MiB MMIO; %lu descriptors, top 0x%lx",
             conv >> 20, boot >> 20, runtime >> 20, acpi >> 20, reserved >> 20, mmio >> 20,
             entries, top);
}

/* ---- ACPI ---- */

static const void *acpi_map_identity(void *opaque, uint64_t pa, size_t len)
{
    (void)opaque;
    (void)len;
    return pa ? (const void *)(uintptr_t)pa : NULL; /* UEFI runs identity-mapped */
}

void platform_report_acpi(struct platform *p)
{
    static EFI_GUID acpi20 = ACPI_20_TABLE_GUID, acpi10 = ACPI_TABLE_GUID;
    uint64_t rsdp = 0;
    for (UINTN i = 0; i < ST->NumberOfTableEntries && !rsdp; i++)
        if (!CompareGuid(&ST->ConfigurationTable[i].VendorGuid, &acpi20))
            rsdp = (uintptr_t)ST->ConfigurationTable[i].VendorTable;
    for (UINTN i = 0; i < ST->NumberOfTableEntries && !rsdp; i++)
        if (!CompareGuid(&ST->ConfigurationTable[i].VendorGuid, &acpi10))
            rsdp = (uintptr_t)ST->ConfigurationTable[i].VendorTable;
    if (!rsdp) {
        log_line("acpi: no RSDP in the UEFI configuration table");
        return;
    }
    const char *why = NULL;
    if (acpi_parse(rsdp, acpi_map_identity, NULL, &p->acpi, &why)) {
        log_line("acpi: RSDP at 0x%lx unusable: %s", rsdp, why);
        return;
    }
    p->have_acpi = true;
    char sigs[ACPI_MAX_TABLES * 5 + 1];
    size_t n = 0;
    for (unsigned i = 0; i < p->acpi.table_count; i++) {
        memcpy(sigs + n, p->acpi.tables[i].sig, 4);
        sigs[n + 4] = ' ';
        n += 5;
    }
    sigs[n ? n - 1 : 0] = '\0';
    log_line("acpi: RSDP rev %u at 0x%lx, OEM '%s', %s with %u tables: %s%s",
             p->acpi.revision, rsdp, p->acpi.oem_id,
             p->acpi.xsdt ? "XSDT" : "RSDT", p->acpi.table_count, sigs,
             p->acpi.skipped ? " (some skipped: bad header or checksum)" : "");
    log_line("acpi: MADT %s (%u CPUs), MCFG %u segment(s), DMAR %s, IVRS %s",
             p->acpi.has_madt ? "present" : "absent", p->acpi.madt_cpus, p->acpi.mcfg_count,
             p->acpi.has_dmar ? "present" : "absent", p->acpi.has_ivrs ? "present" : "absent");
    for (unsigned i = 0; i < p->acpi.mcfg_count; i++)
        log_line("acpi:   MCFG segment %u buses %02x-%02x ECAM at 0x%lx", p->acpi.mcfg[i].segment,
                 p->acpi.mcfg[i].bus_start, p->acpi.mcfg[i].bus_end,
                 p->acpi.mcfg[i].base);
}

/* ---- CPUs ---- */


static void read_cpu_features(struct cpu_features *f)
{
    uint32_t r[4];
    x86_cpuid(0, 0, r);
    memcpy(f->vendor, &r[1], 4);
    memcpy(f->vendor + 4, &r[3], 4);
    memcpy(f->vendor + 8, &r[2], 4);
    f->vendor[12] = '\0';
    f->intel = !strcmp(f->vendor, "GenuineIntel");
    f->amd = !strcmp(f->vendor, "AuthenticAMD");
    x86_cpuid(1, 0, r);
    f->vmx = r[2] & (1u << 5);
    x86_cpuid(0x80000000, 0, r);
    uint32_t max_ext = r[0];
    if (max_ext >= 0x80000001) {
        x86_cpuid(0x80000001, 0, r);
        f->svm = r[2] & (1u << 2);
        f->page_1g = r[3] & (1u << 26);
    }
    f->phys_bits = 36;
    if (max_ext >= 0x80000008) {
        x86_cpuid(0x80000008, 0, r);
        f->phys_bits = r[0] & 0xff;
    }
    if (f->vmx) {
        /* SDM A.3.2/A.3.3: allowed-1 settings in the high dword. */
        uint64_t proc = rdmsr(0x482);
        if (proc & (1ull << 63)) {
            uint64_t proc2 = rdmsr(0x48b);
            f->ept = proc2 & (1ull << (32 + 1));
            f->vpid = proc2 & (1ull << (32 + 5));
            f->unrestricted = proc2 & (1ull << (32 + 7));
        }
    }
    if (f->svm && max_ext >= 0x8000000a) {
        x86_cpuid(0x8000000a, 0, r); /* APM E.4.9 */
        f->asids = r[1];
        f->npt = r[3] & 1;
        f->nrips = r[3] & (1u << 3);
    }
}

void platform_read_virt_caps(struct cpu_virt_caps *c)
{
    uint32_t r[4];
    memset(c, 0, sizeof(*c));
    x86_cpuid(0, 0, r);
    c->intel = r[1] == 0x756e6547 && r[3] == 0x49656e69 && r[2] == 0x6c65746e; /* GenuineIntel */
    c->amd = r[1] == 0x68747541 && r[3] == 0x69746e65 && r[2] == 0x444d4163;   /* AuthenticAMD */
    x86_cpuid(1, 0, r);
    c->vmx = c->intel && (r[2] & (1u << 5));
    if (c->vmx) {
        uint64_t fc = rdmsr(0x3a); /* IA32_FEATURE_CONTROL: lock, VMXON outside SMX */
        c->vmx_locked_off = (fc & 1) && !(fc & 4);
        /* SDM A.3.2/A.3.3: secondary controls, then EPT and unrestricted guest. */
        if (rdmsr(0x482) & (1ull << 63)) {
            uint64_t proc2 = rdmsr(0x48b);
            c->ept_unrestricted = (proc2 & (1ull << 33)) && (proc2 & (1ull << 39));
        }
    }
    x86_cpuid(0x80000000, 0, r);
    uint32_t max_ext = r[0];
    if (c->amd && max_ext >= 0x8000000a) {
        x86_cpuid(0x80000001, 0, r);
        c->svm = r[2] & (1u << 2);
        if (c->svm) {
            c->svm_disabled = rdmsr(0xc0010114) & (1u << 4); /* VM_CR.SVMDIS (APM 15.30.1) */
            x86_cpuid(0x8000000a, 0, r);
            c->npt = r[3] & 1;
        }
    }
}

/* The MADT's processors, when the firmware has a MADT. One it has but
 * that does not parse takes every CPU away (p->cpu_refusal): without it
 * the core would trap only the default I/O APIC page and check no CPU
 * against the list (review R). */
static const struct madt_cpus *read_madt(struct platform *p)
{
    static struct madt_cpus madt;
    if (!p->have_acpi || !p->acpi.has_madt)
        return NULL;
    for (unsigned i = 0; i < p->acpi.table_count; i++) {
        const struct acpi_table_ref *t = &p->acpi.tables[i];
        if (memcmp(t->sig, "APIC", 4))
            continue;
        const char *why = NULL;
        if (madt_cpus_parse((const uint8_t *)(uintptr_t)t->address, t->length, &madt, &why)) {
            log_line("cpus: MADT at 0x%lx unusable: %s", t->address, why);
            if (!p->cpu_refusal[0])
                fmt_snprintf(p->cpu_refusal, sizeof(p->cpu_refusal), "the MADT does not parse (%s)", why);
            return NULL;
        }
        return &madt;
    }
    return NULL;
}

void platform_report_cpus(struct platform *p)
{
    static EFI_GUID mp_guid = MP_SERVICES_GUID;
    static struct mp_cpu mp_list[CPU_PLAN_MAX_MADT];
    struct mp_services *mp = NULL;
    struct cpu_features *f = &p->cpu;
    unsigned mp_count = 0;

    read_cpu_features(f);
    platform_read_virt_caps(&p->bsp_caps);
    const struct madt_cpus *madt = read_madt(p);
    if (!EFI_ERROR(BS->LocateProtocol(&mp_guid, NULL, (void **)&mp)) && mp) {
        UINTN total = 0, enabled = 0;
        mp->GetNumberOfProcessors(mp, &total, &enabled);
        for (UINTN i = 0; i < total && mp_count < CPU_PLAN_MAX_MADT; i++) {
            struct mp_processor_info info;
            if (EFI_ERROR(mp->GetProcessorInfo(mp, i, &info)))
                continue; /* not counted: cpu_plan sees fewer than the MADT lists */
            mp_list[mp_count++] = (struct mp_cpu){ (uint32_t)info.ProcessorId, info.StatusFlag };
        }
        if (total > CPU_PLAN_MAX_MADT)
            fmt_snprintf(p->cpu_refusal, sizeof(p->cpu_refusal), "MP services list %lu processors, the loader "
                         "checks at most %u", (unsigned long)total, CPU_PLAN_MAX_MADT);
    } else {
        uint32_t r[4];
        x86_cpuid(1, 0, r);
        mp_list[mp_count++] = (struct mp_cpu){ r[1] >> 24, MP_CPU_BSP | MP_CPU_ENABLED };
    }
    p->ioapic_count = 0;
    if (madt) {
        char bases[MINIHV_MAX_IOAPICS * 20 + 1] = "";
        size_t k = 0;
        for (unsigned i = 0; i < madt->ioapic_count; i++) {
            p->ioapic_base[p->ioapic_count++] = madt->ioapic_base[i];
            k += (size_t)fmt_snprintf(bases + k, sizeof(bases) - k, "%s0x%lx", i ? ", " : "", madt->ioapic_base[i]);
        }
        log_line("ioapic: MADT lists %u I/O APIC(s)%s%s%s%s", madt->ioapic_count, k ? " at " : "", bases,
                 madt->ioapic_refusal ? "; " : "", madt->ioapic_refusal ? madt->ioapic_refusal : "");
    }
    if (madt && madt->ioapic_refusal && !p->cpu_refusal[0])
        fmt_snprintf(p->cpu_refusal, sizeof(p->cpu_refusal), "%s", madt->ioapic_refusal);
    if (!p->cpu_refusal[0])
        cpu_plan(madt, mp_list, mp_count, MINIHV_MAX_CPUS, p->cpus, &p->cpu_count, p->cpu_refusal,
                 sizeof(p->cpu_refusal));
    char ids[MINIHV_MAX_CPUS * 5 + 1] = "";
    size_t n = 0;
    for (unsigned i = 0; i < p->cpu_count; i++)
        n += (size_t)fmt_snprintf(ids + n, sizeof(ids) - n, "%s%u", i ? "," : "", p->cpus[i].apic_id);
    log_line("cpus: %u online (%s), APIC IDs %s, %u-bit physical addresses%s", mp_count,
             mp ? "MP services" : "no MP services: BSP only", p->cpu_count ? ids : "(not listed)",
             f->phys_bits, f->page_1g ? ", 1 GiB pages" : "");
    if (madt)
        log_line("cpus: MADT revision %u lists %u present or online-capable, %u not present", madt->revision,
                 madt->count, madt->not_present);
    else
        log_line("cpus: no MADT to check the MP services list against");
    if (p->cpu_refusal[0])
        log_line("cpus: the core may take no CPU: %s", p->cpu_refusal);
    if (f->vmx)
        log_line("cpus: %s with VMX: EPT %s, unrestricted guest %s, VPID %s", f->vendor,
                 f->ept ? "yes" : "no", f->unrestricted ? "yes" : "no", f->vpid ? "yes" : "no");
    else if (f->svm)
        log_line("cpus: %s with SVM: NPT %s, %u ASIDs, next-RIP save %s", f->vendor,
                 f->npt ? "yes" : "no", f->asids, f->nrips ? "yes" : "no");
    else
        log_line("cpus: %s without VMX or SVM", f->vendor);
}

/* ---- PCI ---- */

static uint32_t cf8_read32(void *opaque, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
    (void)opaque;
    outl(0xcf8, 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (off & 0xfc));
    return inl(0xcfc);
}

static void cf8_write32(void *opaque, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, uint32_t v)
{
    (void)opaque;
    outl(0xcf8, 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (off & 0xfc));
    outl(0xcfc, v);
}

static volatile uint32_t *ecam_reg(void *opaque, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
    uint64_t base = *(uint64_t *)opaque; /* PCIe 4.0 7.2.2: bus<<20 | dev<<15 | fn<<12 */
    return (volatile uint32_t *)(uintptr_t)(base + ((uint64_t)bus << 20 | dev << 15 | fn << 12 | (off & 0xffc)));
}

static uint32_t ecam_read32(void *opaque, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
    return *ecam_reg(opaque, bus, dev, fn, off);
}

static void ecam_write32(void *opaque, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, uint32_t v)
{
    *ecam_reg(opaque, bus, dev, fn, off) = v;
}

uint32_t platform_cfg_read32(const struct platform *p, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
    if (off >= 4096 || (!p->ecam && off >= 256))
        return 0xffffffff;
    if (p->ecam)
        return ecam_read32((void *)&p->ecam_base, bus, dev, fn, off);
    return cf8_read32(NULL, bus, dev, fn, off);
}

static bool is_passthrough(const struct pci_dev_info *d, const struct minihv_config *cfg)
{
    if (cfg->passthrough == PASSTHROUGH_IGD)
        return d->bus == 0 && d->dev == 2 && d->fn == 0 && d->vendor == PCI_VENDOR_INTEL &&
               (d->class_code >> 8) == PCI_CLASS_DISPLAY_VGA;
    return cfg->passthrough == PASSTHROUGH_BDF && cfg->pt_segment == 0 && d->bus == cfg->pt_bus &&
           d->dev == cfg->pt_dev && d->fn == cfg->pt_fn;
}

void platform_report_pci(struct platform *p, const struct minihv_config *cfg)
{
    struct pci_access pa = { cf8_read32, cf8_write32, NULL };
    for (unsigned i = 0; i < p->acpi.mcfg_count; i++) {
        if (p->acpi.mcfg[i].segment == 0 && p->acpi.mcfg[i].bus_start == 0) {
            p->ecam = true;
            p->ecam_base = p->acpi.mcfg[i].base;
            pa = (struct pci_access){ ecam_read32, ecam_write32, &p->ecam_base };
        }
    }
    p->pci_count = pci_scan(&pa, p->pci, PCI_MAX_DEVICES);
    p->passthrough_index = -1;
    log_line("pci: %u devices via %s", p->pci_count, p->ecam ? "ECAM (MCFG)" : "CF8/CFC");
    for (unsigned i = 0; i < p->pci_count; i++) {
        bool pt = p->passthrough_index < 0 && is_passthrough(&p->pci[i], cfg);
        if (pt)
            p->passthrough_index = (int)i;
        pci_report_device(&p->pci[i], pt, log_line);
        for (unsigned b = 0; b < 6; b++)
            if (!p->pci[i].bars[b].io && p->pci[i].bars[b].size)
                p->phys_top = MAX(p->phys_top, p->pci[i].bars[b].addr + p->pci[i].bars[b].size);
    }
    if (cfg->passthrough != PASSTHROUGH_NONE && p->passthrough_index < 0)
        log_line("pci: the configured passthrough device is not present");
}
