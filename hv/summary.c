/* What the core tells about a run: the exit table and footprint (the
 * DUMP_STATS hypercall), and the end-of-run summary printed when the guest
 * powers off or resets (its sleep ports and RESET_REG are intercepted for
 * it; 0xcf9 is not: vcpu_register_power_ports). */
#include <minihv/format.h>
#include <minihv/io.h>
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "hv/console.h"
#include "hv/coverage.h"
#include "hv/devmodel.h"
#include "hv/ept.h"
#include "hv/event_rules.h"
#include "hv/hv.h"
#include "hv/io.h"
#include "hv/ipi.h"
#include "hv/judged_mmio.h"
#include "hv/refuse.h"
#include "hv/vcpu.h"
#include "hv/vcpu_policy.h"

static const char *const exit_kind_names[MINIHV_EXIT_KINDS] = { MINIHV_EXIT_KIND_NAMES };

void vcpu_fill_footprint(struct minihv_footprint *f)
{
    *f = hv_footprint;
    struct pt_stats leaves;
    ept_count_leaves(&leaves);
    f->leaves_4k = leaves.leaves[0];
    f->leaves_2m = leaves.leaves[1];
    f->leaves_1g = leaves.leaves[2];
}

#define STATS_COLUMNS 8

/* A kind some CPU exited for: only those get a row. */
static bool kind_occurred(int k, unsigned count)
{
    for (unsigned c = 0; c < count; c++)
        if (vcpu_get(c)->exits[k])
            return true;
    return false;
}

/* The exit table: the total, then one row per kind that occurred (on any
 * CPU), up to STATS_COLUMNS CPUs across; every line starts with prefix. */
static void dump_exit_table(const char *prefix)
{
    unsigned count = hv_boot ? MIN(hv_boot->cpu_count, MINIHV_MAX_CPUS) : 0;
    char line[200];
    for (unsigned first = 0; first < count; first += STATS_COLUMNS) {
        unsigned last = MIN(count, first + STATS_COLUMNS);
        int n = fmt_snprintf(line, sizeof(line), "%sexits: %-10s", prefix, "reason");
        for (unsigned c = first; c < last; c++)
            n += fmt_snprintf(line + n, sizeof(line) - (size_t)n, " %9s%-3u", "cpu", c);
        hv_log("%s", line);
        for (int k = -1; k < MINIHV_EXIT_KINDS; k++) {
            if (k >= 0 && !kind_occurred(k, count))
                continue;
            n = fmt_snprintf(line, sizeof(line), "%sexits: %-10s", prefix, k < 0 ? "total" : exit_kind_names[k]);
            for (unsigned c = first; c < last; c++)
                n += fmt_snprintf(line + n, sizeof(line) - (size_t)n, " %12lu",
                                  k < 0 ? vcpu_get(c)->total_exits : vcpu_get(c)->exits[k]);
            hv_log("%s", line);
        }
    }
}

static const char *const apic_reg_names[IPI_APIC_REGS] = { IPI_APIC_REG_NAMES };

/* The npf-mmio exits on the xAPIC page by register (hv/ipi.h), the same
 * layout: a row per register some CPU wrote, none when no CPU did (x2APIC). */
static void dump_apic_table(const char *prefix)
{
    unsigned count = hv_boot ? MIN(hv_boot->cpu_count, MINIHV_MAX_CPUS) : 0;
    char line[200];
    for (unsigned first = 0; first < count; first += STATS_COLUMNS) {
        unsigned last = MIN(count, first + STATS_COLUMNS);
        bool header = false;
        for (int r = 0; r < IPI_APIC_REGS; r++) {
            bool any = false;
            for (unsigned c = first; c < last; c++)
                any |= ipi_apic_writes(c, (enum ipi_apic_reg)r) != 0;
            if (!any)
                continue;
            int n;
            if (!header) {
                n = fmt_snprintf(line, sizeof(line), "%sapic-writes: %-10s", prefix, "register");
                for (unsigned c = first; c < last; c++)
                    n += fmt_snprintf(line + n, sizeof(line) - (size_t)n, " %9s%-3u", "cpu", c);
                hv_log("%s", line);
                header = true;
            }
            n = fmt_snprintf(line, sizeof(line), "%sapic-writes: %-10s", prefix, apic_reg_names[r]);
            for (unsigned c = first; c < last; c++)
                n += fmt_snprintf(line + n, sizeof(line) - (size_t)n, " %12lu",
                                  ipi_apic_writes(c, (enum ipi_apic_reg)r));
            hv_log("%s", line);
        }
    }
}

/* The CPUID exits by leaf (hv/vcpu_policy.h cpuid_leaf_row), a row per
 * leaf some CPU asked for, supervisor (CPL 0-2) and user (CPL 3) across:
 * which code pays for CPUID's exits (issue 15). */
static void dump_cpuid_table(const char *prefix)
{
    bool header = false;
    for (unsigned r = 0; r < CPUID_ROWS; r++) {
        uint64_t sup = vcpu_cpuid_exits(r, false), user = vcpu_cpuid_exits(r, true);
        if (!sup && !user)
            continue;
        if (!header)
            hv_log("%scpuid-leaves: %-10s %12s %12s", prefix, "leaf", "supervisor", "user");
        header = true;
        char name[16];
        if (r == CPUID_ROW_OTHER_HV)
            fmt_snprintf(name, sizeof(name), "4000xx00"); /* another hypervisor's base */
        else if (r == CPUID_ROW_OTHER)
            fmt_snprintf(name, sizeof(name), "other");
        else
            fmt_snprintf(name, sizeof(name), "%08x", cpuid_row_leaf(r));
        hv_log("%scpuid-leaves: %-10s %12lu %12lu", prefix, name, sup, user);
    }
}

void vcpu_dump_stats(void)
{
    unsigned count = hv_boot ? hv_boot->cpu_count : 0;
    dump_exit_table("");
    dump_apic_table("");
    dump_cpuid_table("");
    char refused[HV_REFUSE_KINDS * 32];
    hv_refuse_summary(refused, sizeof(refused));
    hv_log("%s", refused);
    struct minihv_footprint f;
    vcpu_fill_footprint(&f);
    hv_log("footprint: image %lu KiB, host page tables %lu KiB, EPT %lu KiB, per-CPU %lu KiB "
           "(%u CPUs), EPT leaves 1G %lu, 2M %lu, 4K %lu; block %lu MiB at 0x%lx",
           f.image_bytes >> 10, f.host_pt_bytes >> 10, f.npt_bytes >> 10, f.per_cpu_bytes >> 10,
           count, f.leaves_1g, f.leaves_2m, f.leaves_4k, f.block_size >> 20, f.block_base);
}

/* ---- power-off and reset: the end-of-run summary ---- */

#define RST_CNT_PORT 0xcf9         /* Reset Control Register (PIIX/ICH) */
#define RST_CNT_RST_CPU (1u << 2)  /* 0 -> 1 starts the reset */

static void summary_line(const char *line)
{
    hv_log("summary: %s", line);
}

/* One table on the core's log, `minihv: hv: summary: ...`; printed once,
 * by the first CPU that gets here (the others are not waited for). */
static void print_summary(struct vcpu *v, const char *what, const char *next)
{
    static bool printed;
    if (__atomic_exchange_n(&printed, true, __ATOMIC_ACQ_REL))
        return;
    unsigned count = hv_boot->cpu_count;
    char ids[MINIHV_MAX_CPUS * 4 + 1] = "";
    int n = 0;
    for (unsigned c = 0; c < count && c < MINIHV_MAX_CPUS; c++)
        n += fmt_snprintf(ids + n, sizeof(ids) - (size_t)n, "%s%u", c ? "," : "", vcpu_get(c)->apic_id);
    struct minihv_footprint f;
    vcpu_fill_footprint(&f);
    hv_log("summary: cpu %u: %s", v->index, what);
    hv_log("summary: cpus %u (%s), APIC ids %s", count, v->ops->name, ids);
    hv_log("summary: memory block %lu MiB at 0x%lx; footprint image %lu KiB, host page tables %lu KiB, "
           "%s %lu KiB, per-CPU %lu KiB (all CPUs), leaves 1G %lu, 2M %lu, 4K %lu",
           f.block_size >> 20, f.block_base, f.image_bytes >> 10, f.host_pt_bytes >> 10,
           v->ops->name[0] == 's' ? "NPT" : "EPT", f.npt_bytes >> 10, f.per_cpu_bytes >> 10,
           f.leaves_1g, f.leaves_2m, f.leaves_4k);
    devmodel_summary(summary_line);
    char refused[HV_REFUSE_KINDS * 32];
    hv_refuse_summary(refused, sizeof(refused));
    hv_log("summary: %s", refused);
    dump_exit_table("summary: ");
    dump_apic_table("summary: ");
    dump_cpuid_table("summary: ");
    hv_cov_dump("summary"); /* the coverage build's map; nothing otherwise */
    hv_log("summary: end; %s", next);
}

__attribute__((noreturn)) void vcpu_reset_machine(struct vcpu *v, const char *why)
{
    print_summary(v, why, "the core resets the machine now");
    hv_log("cpu %u: %s: resetting the machine (RST_CNT 0xcf9, RESET_REG 0x%x, 8042)", v->index, why,
           hv_boot->acpi_reset_port);
    io_reset_machine(hv_boot->acpi_reset_port, hv_boot->acpi_reset_value);
    /* Nothing took: shut this CPU down with a triple fault of its own (an
     * empty IDT), which the chipset turns into a reset on most boards. */
    hv_log("cpu %u: no reset took; triple-faulting the core", v->index);
    static const struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) no_idt = { 0, 0 };
    for (;;)
        __asm__ volatile("lidt %0; int3" ::"m"(no_idt) : "memory");
}

/* PM1a/PM1b_CNT and SLEEP_CONTROL_REG: only power-off reaches the
 * hardware (issue 14). A sleep that keeps RAM (S1-S3) would resume every
 * CPU natively at the guest's FACS waking vector, with no VMX/SVM and the
 * IOMMU reset, the block still in RAM. So a write setting SLP_EN, at any
 * width or offset that covers the sleep byte (io_sleep_decide), goes on
 * only with the DSDT's \_S5 SLP_TYP for that register (summary first);
 * any other is dropped and counted `sleep-state`, and the guest goes on
 * as after a failed suspend (Linux reports the error and resumes). */
bool vcpu_sleep_write(struct vcpu *v, const char *name, uint64_t reg, unsigned slp_byte, uint8_t s5_typ,
                      uint64_t at, unsigned size, uint64_t value)
{
    uint8_t typ;
    bool s5_found = hv_boot->acpi_s5_flags & MINIHV_S5_FOUND;
    enum io_sleep d = io_sleep_decide(reg, slp_byte, at, size, value, s5_found, s5_typ, &typ);
    if (d == IO_SLEEP_REFUSE) {
        hv_refuse(HV_REFUSE_SLEEP_STATE, "cpu %u: %s 0x%lx <- 0x%lx (%u bytes at 0x%lx): SLP_EN with SLP_TYP %u, %s",
                  v->index, name, reg, value, size, at, typ, s5_found ? "not the DSDT's \\_S5" : "no \\_S5 known");
        return false;
    }
    if (d == IO_SLEEP_S5) {
        char what[120];
        fmt_snprintf(what, sizeof(what), "sleep request: %s 0x%lx <- 0x%lx (SLP_EN, SLP_TYP %u)", name, reg, value,
                     typ); /* \_S5 (power-off) */
        print_summary(v, what, "the write goes to the hardware now");
    }
    return true;
}

static bool sleep_io(struct vcpu *v, uint16_t port, unsigned size, bool in, uint32_t *value, uint16_t reg,
                     unsigned slp_byte, uint8_t s5_typ, const char *name)
{
    if (in || vcpu_sleep_write(v, name, reg, slp_byte, s5_typ, port, size, *value))
        io_hw(port, size, in, value);
    return true;
}

static bool pm1a_cnt_io(struct vcpu *v, uint16_t port, unsigned size, bool in, uint32_t *value)
{
    return sleep_io(v, port, size, in, value, hv_boot->acpi_pm1a_cnt, 1, hv_boot->acpi_s5_slp_typ_a, "PM1a_CNT");
}

static bool pm1b_cnt_io(struct vcpu *v, uint16_t port, unsigned size, bool in, uint32_t *value)
{
    return sleep_io(v, port, size, in, value, hv_boot->acpi_pm1b_cnt, 1, hv_boot->acpi_s5_slp_typ_b, "PM1b_CNT");
}

/* Hardware-reduced ACPI: SLP_TYP from \_S5's first value (4.8.3.7). */
static bool sleep_ctl_io(struct vcpu *v, uint16_t port, unsigned size, bool in, uint32_t *value)
{
    return sleep_io(v, port, size, in, value, hv_boot->acpi_sleep_ctl_port, 0, hv_boot->acpi_s5_slp_typ_a,
                    "SLEEP_CONTROL_REG");
}

/* 0xcf9 (RST_CNT: a write with RST_CPU) and the FADT's RESET_REG (a
 * write of RESET_VALUE, ACPI 6.5 4.8.4.6). Any write that covers the
 * register's byte is a reset request with that byte's value: a word at
 * 0xcf8 reaches RST_CNT on the chipset as a byte at 0xcf9 does
 * (hv/event_rules.h port_write_covers); only a dword at 0xcf8 is
 * CONFIG_ADDRESS (PCI Local Bus 3.0 3.2.2.3.2), passed on as it is. A
 * reset is the machine's: the guest's own write first, then the core's (a
 * soft reset, RST_CPU without SYS_RST, would only INIT the CPUs, and an
 * INIT never restarts a virtualized CPU at the reset vector). */
bool vcpu_reset_write(uint16_t port, unsigned size, uint32_t value)
{
    uint8_t rst = 0, reg = 0;
    bool conf_addr = port == RST_CNT_PORT - 1 && size == 4;
    return !conf_addr && ((port_write_covers(port, size, value, RST_CNT_PORT, &rst) && (rst & RST_CNT_RST_CPU)) ||
                          (hv_boot->acpi_reset_port &&
                           port_write_covers(port, size, value, hv_boot->acpi_reset_port, &reg) &&
                           reg == hv_boot->acpi_reset_value));
}

bool vcpu_reset_port_io(struct vcpu *v, uint16_t port, unsigned size, bool in, uint32_t *value)
{
    bool reset = !in && vcpu_reset_write(port, size, *value);
    if (!reset) {
        io_hw(port, size, in, value);
        return true;
    }
    char what[80];
    fmt_snprintf(what, sizeof(what), "reset request: port 0x%x <- 0x%x (%u bytes)", port, *value, size);
    print_summary(v, what, "the write goes to the hardware now");
    io_hw(port, size, in, value);
    vcpu_reset_machine(v, what);
}

/* The FADT's sleep control registers in System Memory (boot_info
 * sleep_mmio): a judged page each (hv/judged_mmio.h). A write anywhere in
 * the page is judged against every such register it covers, as the
 * port's; the rest of the page is written as is. */
static const char *const sleep_reg_names[] = { "X_PM1a_CNT", "X_PM1b_CNT", "SLEEP_CONTROL_REG" };

static bool sleep_mmio_write(struct vcpu *v, uint64_t gpa, unsigned size, uint64_t value)
{
    for (unsigned i = 0; i < hv_boot->sleep_mmio_count && i < MINIHV_MAX_SLEEP_MMIO; i++) {
        const struct minihv_sleep_mmio *r = &hv_boot->sleep_mmio[i];
        uint8_t s5_typ = r->reg == MINIHV_SLEEP_PM1B ? hv_boot->acpi_s5_slp_typ_b : hv_boot->acpi_s5_slp_typ_a;
        if (!vcpu_sleep_write(v, sleep_reg_names[r->reg % 3], r->address, r->slp_byte, s5_typ, gpa, size, value))
            return false;
    }
    return true;
}

static void register_sleep_mmio(const struct minihv_boot_info *bi)
{
    for (unsigned i = 0; i < bi->sleep_mmio_count && i < MINIHV_MAX_SLEEP_MMIO; i++) {
        const struct minihv_sleep_mmio *r = &bi->sleep_mmio[i];
        /* A register across a page end: both pages (the loader checked its width). */
        uint64_t last = r->address + (r->bytes ? r->bytes : 1) - 1;
        int rc = judged_mmio_add(SPECIAL_SLEEP_REG, r->address, "a FADT sleep control register", sleep_mmio_write);
        if (!rc && (last ^ r->address) >= PAGE_SIZE)
            rc = judged_mmio_add(SPECIAL_SLEEP_REG, last, "a FADT sleep control register", sleep_mmio_write);
        hv_log("io: sleep: FADT %s in System Memory at 0x%lx (%u bytes, SLP_EN in byte %u): %s",
               sleep_reg_names[r->reg % 3], r->address, r->bytes, r->slp_byte,
               rc ? "NOT trapped (see above)" : "page read-only, each write judged as the port's");
    }
}

static void register_port(uint16_t port, uint32_t count, io_handler_fn fn, const char *name)
{
    if (io_register(port, count, fn, name))
        hv_log("io: cannot intercept %s at 0x%x (table full or overlap)", name, port);
}

void vcpu_register_power_ports(const struct minihv_boot_info *bi)
{
    if (bi->acpi_pm1a_cnt)
        register_port(bi->acpi_pm1a_cnt, 2, pm1a_cnt_io, "PM1a_CNT");
    if (bi->acpi_pm1b_cnt)
        register_port(bi->acpi_pm1b_cnt, 2, pm1b_cnt_io, "PM1b_CNT");
    if (bi->acpi_sleep_ctl_port)
        register_port(bi->acpi_sleep_ctl_port, 1, sleep_ctl_io, "SLEEP_CONTROL_REG");
    register_sleep_mmio(bi);
    if (bi->acpi_s5_flags & MINIHV_S5_FOUND)
        hv_log("io: sleep: only power-off reaches the hardware: SLP_TYP %u (PM1a, SLEEP_CONTROL_REG), %u (PM1b) "
               "from \\_S5; any other SLP_EN write is refused", bi->acpi_s5_slp_typ_a, bi->acpi_s5_slp_typ_b);
    else
        hv_log("io: sleep: no \\_S5 from the loader: every SLP_EN write is refused, power-off included");
    /* RST_CNT (0xcf9) is not intercepted (issue 15): the I/O bitmaps have
     * a bit per port and a multi-byte access exits when any of its ports'
     * bits is set (SDM Vol. 3C 26.1.3, APM Vol. 2 15.10.2), so 0xcf9's bit
     * made every CONFIG_ADDRESS write (a dword at 0xcf8) exit: 16,700 exits
     * of a 22,000-exit Linux boot. A reset there goes to the hardware
     * without the summary (hard and full resets reset the machine; a soft
     * reset is an INIT, which the backends handle as any physical INIT);
     * the summary remains at power-off, on a triple fault, at a RESET_REG
     * outside 0xcf8-0xcff and on demand (MINIHV_HC_DUMP_STATS). With a
     * passthrough device but no ECAM, 0xcf8-0xcff are the PCI intercept's,
     * which hands 0xcf9 back here (hv/passthrough_hw.c). */
    bool conf1 = bi->acpi_reset_port >= RST_CNT_PORT - 1 && bi->acpi_reset_port < RST_CNT_PORT + 7;
    /* RESET_REG at 0x60, 0x64 (0xfe: the 8042's pulse) or 0x92: the A20
     * gate's intercept has the port and judges the reset (hv/a20_gate.c). */
    bool a20_port = bi->acpi_reset_port == A20_PORT_KBD || bi->acpi_reset_port == A20_PORT_KBC ||
                    bi->acpi_reset_port == A20_PORT_SCP_A;
    if (bi->acpi_reset_port && !conf1 && !a20_port)
        register_port(bi->acpi_reset_port, 1, vcpu_reset_port_io, "RESET_REG");
    hv_log("io: %u port range(s) intercepted: PM1a_CNT 0x%x, PM1b_CNT 0x%x, RESET_REG 0x%x (value 0x%x)%s; "
           "0 = none; 0xcf8-0xcff: %s", io_range_count(), bi->acpi_pm1a_cnt, bi->acpi_pm1b_cnt,
           bi->acpi_reset_port, bi->acpi_reset_value, conf1 ? " not intercepted" : a20_port ? " (the A20 gate's)" : "",
           io_lookup(RST_CNT_PORT, 1, NULL) ? "intercepted (passthrough, no ECAM)"
           : io_lookup(0xcfc, 1, NULL) ? "0xcfc-0xcff only (passthrough)" : "none");
}
