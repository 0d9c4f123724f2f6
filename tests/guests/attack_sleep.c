/* The sleep attack of the attack guest (issue 14, brief S): suspend-to-RAM
 * hands every CPU back natively. S3 resumes at the FACS waking vector with
 * no VMX/SVM under any CPU and the IOMMU reset, while the core's block is
 * still in RAM. So the guest writes SLP_TYP(S3) | SLP_EN (ACPI 6.5
 * 4.8.4.2.1: SLP_TYP bits 12:10, SLP_EN bit 13) to PM1a_CNT at each width
 * and offset that covers bit 13; the core must drop each one (counted
 * `sleep-state`) and the guest go on. On QEMU (hw/acpi/core.c
 * acpi_pm1_cnt_write) SLP_TYP 1 is S3 (its DSDT's \_S3 {1, 1}): a write
 * that reaches the device suspends the VM, and this guest never prints
 * its line (the boot times out); 0 is power-off and 2 (\_S4) too, so
 * only 1 is tried here. */
#include <minihv/io.h>
#include <minihv/libc.h>
#include "tests/guests/attack.h"

#define SLP_EN     (1u << 13)
#define SLP_TYP(t) ((uint32_t)(t) << 10)
#define QEMU_S3    1

/* PM1a_CNT from the FADT (ACPI 6.5 5.2.9): X_PM1a_CNT_BLK at 172 when it
 * is System I/O and nonzero, else PM1a_CNT_BLK at 64; 0: none. */
uint16_t atk_fadt_pm1a_cnt(void)
{
    uint64_t facp = atk_acpi_table("FACP");
    if (!facp)
        return 0;
    const uint8_t *f = (const uint8_t *)(uintptr_t)facp;
    uint32_t len = le32(f + 4), port = len >= 68 ? le32(f + 64) : 0;
    if (len >= 184 && le64(f + 176)) {
        if (f[172] != 1 || le64(f + 176) > 0xfffe)
            return 0;
        port = (uint32_t)le64(f + 176);
    }
    return port <= 0xfffe ? (uint16_t)port : 0;
}

void attack_sleep_s3(void)
{
    const char *name = "sleep-s3";
    static char why[240];
    uint16_t cnt = atk_fadt_pm1a_cnt();
    if (!cnt || cnt < 2) {
        atk_skip(name, "no PM1a_CNT in System I/O in the FADT");
        return;
    }
    uint16_t keep = inw(cnt) & ~(SLP_EN | SLP_TYP(7));
    uint16_t s3 = (uint16_t)(keep | SLP_TYP(QEMU_S3) | SLP_EN);
    uint64_t flags = atk_irq_save();
    /* The word write an OS makes. */
    atk_note(name, "outw 0x%x <- 0x%x (SLP_TYP %u = QEMU's S3, SLP_EN)", cnt, s3, QEMU_S3);
    outw(cnt, s3);
    BS->Stall(200000);
    /* A byte at PM1a_CNT + 1: SLP_TYP and SLP_EN are all in it. */
    atk_note(name, "outb 0x%x <- 0x%x", cnt + 1, s3 >> 8);
    outb((uint16_t)(cnt + 1), (uint8_t)(s3 >> 8));
    BS->Stall(200000);
    /* A dword at PM1a_CNT - 2 (PM1_EN kept as it reads; on QEMU the
     * PM1 event block's enable half sits there). */
    uint32_t low = inl((uint16_t)(cnt - 2)) & 0xffff;
    atk_note(name, "outl 0x%x <- 0x%x", cnt - 2, low | (uint32_t)s3 << 16);
    outl((uint16_t)(cnt - 2), low | (uint32_t)s3 << 16);
    BS->Stall(200000);
    atk_irq_restore(flags);
    uint16_t now = inw(cnt);
    bool ok = atk_core_intact(why, sizeof(why));
    if (ok)
        atk_pass(name, "3 writes of SLP_TYP %u | SLP_EN to PM1a_CNT 0x%x (word, byte at +1, dword at -2) refused: "
                 "the guest goes on, PM1a_CNT reads 0x%x; core intact", QEMU_S3, cnt, now);
    else
        atk_fail(name, "the guest goes on after 3 S3 writes to PM1a_CNT 0x%x, but: %s", cnt, why);
}

/* core-uart (issue 14, docs/security.md "Ports"): the core's own 16550
 * (uart= from the load options, the `serial =` of the run) is where the
 * core's lines go; a guest that could write it could print a line that
 * looks like the core's (a FATAL, a clean summary) on the serial log a
 * user or a harness reads. The guest writes one such line byte by byte,
 * as a driver does (THR at base + 0 once LSR at base + 5 has THRE, 16550
 * datasheet), and changes the line settings (LCR 8N1 -> 7E1): the core
 * must drop the data (`core-uart`) and keep the real UART as it was; the
 * harness checks that the line is not on the port's log and that the
 * core's later lines are still readable there (8N1 intact). */
#define UART_FORGED "minihv: hv: FATAL forged by the guest on the core's UART"
void attack_core_uart(void)
{
    const char *name = "core-uart";
    static char why[240];
    uint16_t base = env.uart;
    if (!base) {
        atk_skip(name, "no uart= in the load options");
        return;
    }
    uint64_t flags = atk_irq_save();
    uint8_t lcr = inb((uint16_t)(base + 3));
    const char *s = "\r\n" UART_FORGED "\r\n";
    unsigned polls = 0;
    for (; *s; s++) {
        for (unsigned spin = 0; spin < 100000 && !(inb((uint16_t)(base + 5)) & 0x20); spin++)
            polls++;
        outb(base, (uint8_t)*s);
    }
    outb((uint16_t)(base + 3), 0x1a); /* 7 bits, even parity */
    uint8_t lcr_now = inb((uint16_t)(base + 3));
    outb((uint16_t)(base + 3), lcr);
    uint8_t lsr = inb((uint16_t)(base + 5));
    atk_irq_restore(flags);
    atk_note(name, "wrote '%s' to THR 0x%x (%u LSR polls), LCR 0x%x -> 0x1a reads 0x%x; LSR 0x%x", UART_FORGED, base,
             polls, lcr, lcr_now, lsr);
    if (atk_core_intact_self(why, sizeof(why)))
        atk_pass(name, "wrote a forged line and 7E1 to the core's UART 0x%x; core intact (the harness reads the port's "
                 "log)", base);
    else
        atk_fail(name, "after the writes to the core's UART: %s", why);
}

/* sleep-mmio (issue 14, docs/security.md "SLEEP_CONTROL_REG or
 * X_PM1x_CNT_BLK in memory space"): a sleep control register the FADT
 * puts in System Memory is a page, not a port. The q-cpu boot's pre-step
 * (tests/guests/fadtmem.c) points SLEEP_CONTROL_REG and X_PM1b_CNT_BLK at
 * a Reserved page (RAM: a write that lands is seen in it, where on a board
 * it would suspend the machine). The guest writes SLP_TYP 1 (QEMU's S3,
 * not \_S5's 0) with SLP_EN to each at three widths; the core must drop
 * all six (`sleep-state`), leave both registers reading 0, and pass a
 * write to the rest of the page and one without SLP_EN. */
static uint64_t fadt_mem_reg(const uint8_t *f, uint32_t len, unsigned off)
{
    return len >= off + 12 && f[off] == 0 ? le64(f + off + 4) : 0; /* GAS space 0: System Memory */
}

void attack_sleep_mmio(void)
{
    const char *name = "sleep-mmio";
    static char why[240];
    uint64_t facp = atk_acpi_table("FACP");
    const uint8_t *f = (const uint8_t *)(uintptr_t)facp;
    uint32_t len = f ? le32(f + 4) : 0;
    uint64_t ctl = f ? fadt_mem_reg(f, len, 244) : 0, pm1b = f ? fadt_mem_reg(f, len, 184) : 0;
    if (!ctl || !pm1b || (ctl >> 12) != (pm1b >> 12) || (ctl & 0xfff) < 8 || (pm1b & 0xfff) < 8) {
        atk_skip(name, "no SLEEP_CONTROL_REG and X_PM1b_CNT_BLK in System Memory in one page (FADT 0x%lx: 0x%lx, "
                 "0x%lx): the fadtmem pre-step did not run", facp, ctl, pm1b);
        return;
    }
    volatile uint8_t *c8 = (volatile uint8_t *)(uintptr_t)ctl;
    volatile uint16_t *b16 = (volatile uint16_t *)(uintptr_t)pm1b;
    const uint8_t ctl_s3 = 1u << 2 | 1u << 5; /* SLP_TYP 4:2 = 1, SLP_EN 5 (ACPI 6.5 4.8.3.7) */
    const uint16_t pm1_s3 = (uint16_t)(SLP_TYP(QEMU_S3) | SLP_EN);
    atk_note(name, "SLEEP_CONTROL_REG 0x%lx <- 0x%x as byte, dword at -2, qword at -4; X_PM1b_CNT 0x%lx <- 0x%x "
             "as word, byte at +1, dword at -2", ctl, ctl_s3, pm1b, pm1_s3);
    *c8 = ctl_s3;
    *(volatile uint32_t *)(uintptr_t)(ctl - 2) = (uint32_t)ctl_s3 << 16;
    *(volatile uint64_t *)(uintptr_t)(ctl - 4) = (uint64_t)ctl_s3 << 32;
    *b16 = pm1_s3;
    *(volatile uint8_t *)(uintptr_t)(pm1b + 1) = (uint8_t)(pm1_s3 >> 8);
    *(volatile uint32_t *)(uintptr_t)(pm1b - 2) = (uint32_t)pm1_s3 << 16;
    uint8_t ctl_now = *c8;
    uint16_t pm1b_now = *b16;
    /* What is not a sleep request reaches the page: SLP_TYP without SLP_EN, another offset. */
    volatile uint32_t *other = (volatile uint32_t *)(uintptr_t)((ctl & ~0xfffull) + 0x100);
    *c8 = 1u << 2;
    *other = 0xa5a5a5a5u;
    uint8_t typ_only = *c8;
    uint32_t other_now = *other;
    *c8 = 0;
    *other = 0;
    if (ctl_now || pm1b_now) {
        atk_fail(name, "an S3 write landed: SLEEP_CONTROL_REG 0x%lx reads 0x%x, X_PM1b_CNT 0x%lx reads 0x%x (want 0, "
                 "0): on a board the machine would sleep without the core", ctl, ctl_now, pm1b, pm1b_now);
        return;
    }
    if (typ_only != 1u << 2 || other_now != 0xa5a5a5a5u) {
        atk_fail(name, "the writes that are not sleep requests did not land: SLEEP_CONTROL_REG 0x%x (want 0x4), "
                 "+0x100 0x%x (want 0xa5a5a5a5)", typ_only, other_now);
        return;
    }
    if (atk_core_intact(why, sizeof(why)))
        atk_pass(name, "6 S3 writes to SLEEP_CONTROL_REG 0x%lx and X_PM1b_CNT 0x%lx (System Memory) dropped: both "
                 "read 0; SLP_TYP without SLP_EN and +0x100 written; the guest goes on; core intact", ctl, pm1b);
    else
        atk_fail(name, "after 6 S3 writes in System Memory: %s", why);
}
