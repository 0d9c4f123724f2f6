/* See refuse.h. */
#include <stdarg.h>
#include <stdbool.h>
#include <minihv/format.h>
#include "hv/console.h"
#include "hv/refuse.h"

const char *const hv_refuse_names[HV_REFUSE_KINDS] = {
    [HV_REFUSE_APIC_BASE] = "apic-base",
    [HV_REFUSE_MSR] = "msr",
    [HV_REFUSE_MSI_ADDRESS] = "msi-address",
    [HV_REFUSE_MSI_DELIVERY_MODE] = "msi-delivery-mode",
    [HV_REFUSE_IPI_DESTINATION] = "ipi-destination",
    [HV_REFUSE_IPI_LOGICAL] = "ipi-logical",
    [HV_REFUSE_IPI_SELF] = "ipi-self",
    [HV_REFUSE_BAR_PLACEMENT] = "bar-placement",
    [HV_REFUSE_IOMMU_REGS] = "iommu-regs",
    [HV_REFUSE_UNMAPPED_GPA] = "unmapped-gpa",
    [HV_REFUSE_MMIO_FETCH] = "mmio-fetch",
    [HV_REFUSE_MMIO_INSN] = "mmio-insn",
    [HV_REFUSE_MMIO_BOUNDS] = "mmio-bounds",
    [HV_REFUSE_APIC_ICR_ACCESS] = "apic-icr-access",
    [HV_REFUSE_X2APIC_ICR] = "x2apic-icr-reserved",
    [HV_REFUSE_PHYSICAL_INIT] = "physical-init",
    [HV_REFUSE_MTRR] = "mtrr",
    [HV_REFUSE_ICR_DELIVERY] = "icr-delivery",
    [HV_REFUSE_MSI_WINDOW] = "msi-window",
    [HV_REFUSE_INSN_CHANGED] = "insn-changed",
    [HV_REFUSE_STRING_IO] = "string-io",
    [HV_REFUSE_EVENT_DELIVERY] = "event-delivery",
    [HV_REFUSE_TASK_SWITCH] = "task-switch",
    [HV_REFUSE_APIC_ACCESS] = "apic-access",
    [HV_REFUSE_INSN_LENGTH] = "insn-length",
    [HV_REFUSE_SLEEP_STATE] = "sleep-state",
    [HV_REFUSE_IPI_NOT_ENTERED] = "ipi-not-entered",
    [HV_REFUSE_LOG_WRITE] = "log-write",
    [HV_REFUSE_CORE_UART] = "core-uart",
    [HV_REFUSE_IOAPIC_DELIVERY] = "ioapic-delivery",
    [HV_REFUSE_IOAPIC_ACCESS] = "ioapic-access",
    [HV_REFUSE_A20] = "a20",
    [HV_REFUSE_LVT_DELIVERY] = "lvt-delivery",
    [HV_REFUSE_CONFIG_GUARD] = "config-guard",
    [HV_REFUSE_PM_RELOCATE] = "pm-relocate",
    [HV_REFUSE_FCH_PM] = "fch-pm",
    [HV_REFUSE_HPET_FSB] = "hpet-fsb",
    [HV_REFUSE_FW_CFG_DMA] = "fw-cfg-dma",
};

static uint64_t counts[HV_REFUSE_KINDS];

/* The count after which a line is due: the first, then 1024, 2048, ... */
static int log_due(uint64_t before, uint64_t after)
{
    if (before == 0)
        return 1;
    for (uint64_t mark = 1024; mark && mark <= after; mark <<= 1)
        if (before < mark)
            return 1;
    return 0;
}

static void record(enum hv_refuse_kind kind, uint64_t n, const char *detail)
{
    if ((unsigned)kind >= HV_REFUSE_KINDS || !n)
        return;
    uint64_t before = __atomic_fetch_add(&counts[kind], n, __ATOMIC_RELAXED);
    if (!log_due(before, before + n))
        return;
    if (before == 0)
        hv_log("refused %s: %s (the first; the summary counts them all)", hv_refuse_names[kind],
               detail ? detail : "no detail");
    else
        hv_log("refused %s: %lu so far", hv_refuse_names[kind], (unsigned long)(before + n));
}

void hv_refuse(enum hv_refuse_kind kind, const char *fmt, ...)
{
    char detail[160];
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        fmt_vsnprintf(detail, sizeof(detail), fmt, ap);
        va_end(ap);
    }
    record(kind, 1, fmt ? detail : NULL);
}

void hv_refuse_add(enum hv_refuse_kind kind, uint64_t n, const char *what)
{
    record(kind, n, what);
}

uint64_t hv_refuse_count(enum hv_refuse_kind kind)
{
    return (unsigned)kind < HV_REFUSE_KINDS ? __atomic_load_n(&counts[kind], __ATOMIC_RELAXED) : 0;
}

int hv_refuse_summary(char *buf, unsigned len)
{
    int n = fmt_snprintf(buf, len, "refused:");
    bool any = false;
    for (unsigned k = 0; k < HV_REFUSE_KINDS; k++) {
        uint64_t c = hv_refuse_count((enum hv_refuse_kind)k);
        if (!c)
            continue;
        unsigned used = (unsigned)n < len ? (unsigned)n : len;
        n += fmt_snprintf(buf + used, len - used, "%s %s %lu", any ? "," : "", hv_refuse_names[k],
                          (unsigned long)c);
        any = true;
    }
    if (!any) {
        unsigned used = (unsigned)n < len ? (unsigned)n : len;
        n += fmt_snprintf(buf + used, len - used, " none");
    }
    return (unsigned)n < len ? n : (len ? (int)len - 1 : 0);
}
