/* The ACPI I/O block attacks of the attack guest (issue 14, docs/security.md
 * "Sleep states"). The core refuses S3 at the FADT's PM1a_CNT (sleep-s3),
 * but on Intel chipsets the block itself is placed by config registers of
 * the LPC bridge 00:1f.0 (PMBASE 0x40, bits 15:7; ACPI_CNTL 0x44, ACPI_EN
 * bit 7; QEMU q35's ICH9 hw/isa/lpc_ich9.c moves its PM I/O region on a
 * write there). A guest that moves it writes SLP_EN at the moved PM1_CNT,
 * which no intercept covers, and the machine sleeps with every CPU
 * resuming natively. */
#include <minihv/format.h>
#include <minihv/io.h>
#include <minihv/libc.h>
#include "tests/guests/attack.h"
#include "tests/guests/print.h"

/* Where the chipset places its block: Intel ICH/PCH LPC 00:1f.0 PMBASE
 * 0x40 (bits 15:7) and ACPI_CNTL 0x44 (ACPI_EN, bit 7); PIIX4 (Bochs,
 * QEMU pc) 00:01.3 PMBA 0x40 (bits 15:6) and PMREGMISC 0x80 (PMIOSE,
 * bit 0). */
struct pm_chip {
    const char *name;
    unsigned dev, fn;
    uint32_t id, id_mask;
    uint16_t class_code; /* 0: any */
    unsigned base_reg, en_reg;
    uint32_t base_mask, en_bit;
};
static const struct pm_chip pm_chips[] = {
    { "ICH LPC 00:1f.0", 31, 0, 0x8086, 0xffff, 0x0601, 0x40, 0x44, 0xff80, 0x80 },
    { "PIIX4 PM 00:01.3", 1, 3, 0x71138086, 0xffffffff, 0, 0x40, 0x80, 0xffc0, 0x01 },
};
#define PM1_CNT      4       /* PM1a_CNT at PMBASE + 4 on ICH9 (the FADT says 0x604 for 0x600) */
#define PM_TMR       8
#define SLP_EN       (1u << 13)
#define SLP_TYP(t)   ((uint32_t)(t) << 10)
#define QEMU_S3      1       /* SLP_TYP 1 is S3 in QEMU's DSDT (\_S3 {1, 1}) */

static inline uint64_t tsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

/* A wait that needs no timer of the firmware's: OVMF's Stall reads the PM
 * timer at the PMBASE it cached, which floats once the block has moved. */
static void spin_ticks(uint64_t ticks)
{
    uint64_t end = tsc() + ticks;
    while (tsc() < end)
        __asm__ volatile("pause");
}

/* The base and enable registers (dwords), by CF8/CFC or ECAM. */
struct lpc_pm {
    uint32_t pmbase, acpi_cnt;
};

static struct lpc_pm read_cf8(const struct pm_chip *c)
{
    return (struct lpc_pm){ atk_cfg_read32(0, c->dev, c->fn, c->base_reg), atk_cfg_read32(0, c->dev, c->fn, c->en_reg) };
}

static bool read_ecam(const struct pm_chip *c, uint64_t page, struct lpc_pm *p)
{
    return !atk_read32(page + c->base_reg, &p->pmbase) && !atk_read32(page + c->en_reg, &p->acpi_cnt);
}

/* The attacker's sequence (as firmware moves the block): decode off,
 * the base to the new one, decode on. 3 config writes. */
static void move_cf8(const struct pm_chip *c, struct lpc_pm old, uint16_t to)
{
    atk_cfg_write32(0, c->dev, c->fn, c->en_reg, old.acpi_cnt & ~c->en_bit);
    atk_cfg_write32(0, c->dev, c->fn, c->base_reg, (old.pmbase & ~c->base_mask) | to);
    atk_cfg_write32(0, c->dev, c->fn, c->en_reg, old.acpi_cnt | c->en_bit);
}

static void move_ecam(const struct pm_chip *c, uint64_t page, struct lpc_pm old, uint16_t to)
{
    atk_write32(page + c->en_reg, old.acpi_cnt & ~c->en_bit);
    atk_write32(page + c->base_reg, (old.pmbase & ~c->base_mask) | to);
    atk_write32(page + c->en_reg, old.acpi_cnt | c->en_bit);
}

/* pmbase-move: through CF8/CFC, then through ECAM where there is one, the
 * guest moves the block from PMBASE (0x600 under OVMF on q35) to PMBASE ^
 * 0x800 with ACPI_EN (PIIX4: PMIOSE) toggled off and on; both read back
 * unchanged (3 writes refused per path, `pm-relocate`). Then SLP_TYP(S3) | SLP_EN at the new base + 4:
 * had the block moved, QEMU suspends the VM there and this guest never
 * prints its line (the boot times out). Then at the old PM1a_CNT, which
 * the core refuses as before (`sleep-state`). */
/* The PM function of pm_chips this machine has (its ID in *id), or NULL. */
static const struct pm_chip *find_pm_chip(uint32_t *id)
{
    for (unsigned k = 0; k < sizeof(pm_chips) / sizeof(pm_chips[0]); k++) {
        const struct pm_chip *t = &pm_chips[k];
        *id = atk_cfg_read32(0, t->dev, t->fn, 0);
        uint32_t class_rev = atk_cfg_read32(0, t->dev, t->fn, 8);
        if ((*id & t->id_mask) == t->id && (!t->class_code || class_rev >> 16 == t->class_code))
            return t;
    }
    return NULL;
}

void attack_pmbase_move(void)
{
    const char *name = "pmbase-move";
    static char why[240];
    uint32_t id = 0;
    const struct pm_chip *c = find_pm_chip(&id);
    if (!c) {
        atk_skip(name, "neither an Intel LPC bridge at 00:1f.0 nor a PIIX4 PM function at 00:01.3");
        return;
    }
    uint64_t page = env.ecam ? env.ecam + ((uint64_t)c->dev << 15 | (uint64_t)c->fn << 12) : 0;
    struct lpc_pm old = read_cf8(c);
    uint16_t base = (uint16_t)(old.pmbase & c->base_mask), to = base ^ 0x800;
    if (!base || !(old.acpi_cnt & c->en_bit)) {
        atk_skip(name, "%s: base 0x%x, enable 0x%x: no enabled ACPI block to move", c->name, old.pmbase,
                 old.acpi_cnt);
        return;
    }
    atk_note(name, "%s %08x: base register 0x%x (block 0x%x), enable register 0x%x; moving it to 0x%x", c->name, id,
             old.pmbase, base, old.acpi_cnt, to);
    /* No print while the block may be away: the firmware's timer (its
     * Stall, in the console path) reads the PM timer at the base it knows,
     * and OVMF on Bochs waits forever there. A move that took is undone
     * before the notes, then done again for the S3 write. */
    bool ok = true;
    why[0] = 0;
    uint64_t flags = atk_irq_save();
    move_cf8(c, old, to);
    struct lpc_pm by_cf8 = read_cf8(c), by_ecam = old;
    bool ecam_read = true;
    unsigned paths = 1;
    if (page) {
        move_ecam(c, page, old, to);
        paths++;
        ecam_read = read_ecam(c, page, &by_ecam);
    }
    bool moved = by_cf8.pmbase != old.pmbase || by_cf8.acpi_cnt != old.acpi_cnt || by_ecam.pmbase != old.pmbase ||
                 by_ecam.acpi_cnt != old.acpi_cnt;
    if (moved) {
        atk_cfg_write32(0, c->dev, c->fn, c->base_reg, old.pmbase);
        atk_cfg_write32(0, c->dev, c->fn, c->en_reg, old.acpi_cnt);
    }
    atk_note(name, "read back after the CF8/CFC writes: base 0x%x, enable 0x%x", by_cf8.pmbase, by_cf8.acpi_cnt);
    if (page)
        atk_note(name, "read back after the ECAM writes (page 0x%lx): base 0x%x, enable 0x%x%s", page, by_ecam.pmbase,
                 by_ecam.acpi_cnt, ecam_read ? "" : " (the read faulted)");
    if (by_cf8.pmbase != old.pmbase || by_cf8.acpi_cnt != old.acpi_cnt) {
        ok = false;
        fmt_snprintf(why, sizeof(why), "CF8/CFC: base 0x%x -> 0x%x, enable 0x%x -> 0x%x", old.pmbase, by_cf8.pmbase,
                     old.acpi_cnt, by_cf8.acpi_cnt);
    } else if (!ecam_read || by_ecam.pmbase != old.pmbase || by_ecam.acpi_cnt != old.acpi_cnt) {
        ok = false;
        fmt_snprintf(why, sizeof(why), "ECAM: base 0x%x -> 0x%x, enable 0x%x -> 0x%x%s", old.pmbase, by_ecam.pmbase,
                     old.acpi_cnt, by_ecam.acpi_cnt, ecam_read ? "" : " (the read faulted)");
    }
    if (moved) {
        atk_note(name, "the block moved (%s); put back, now moved again for the S3 write at 0x%x", why, to + PM1_CNT);
        move_cf8(c, old, to);
    }
    /* Does the PM timer tick at the new base? (It floats there unless the
     * block moved.) S3 at the moved PM1a_CNT: the write no intercept
     * covers (QEMU suspends, Bochs quits). */
    uint16_t s3 = (uint16_t)(SLP_TYP(QEMU_S3) | SLP_EN);
    uint32_t t0 = inl((uint16_t)(to + PM_TMR));
    spin_ticks(20000000);
    uint32_t t1 = inl((uint16_t)(to + PM_TMR));
    outw((uint16_t)(to + PM1_CNT), s3);
    spin_ticks(500000000);
    if (moved) {
        atk_cfg_write32(0, c->dev, c->fn, c->base_reg, old.pmbase);
        atk_cfg_write32(0, c->dev, c->fn, c->en_reg, old.acpi_cnt);
    }
    atk_note(name, "PM timer at the new base 0x%x read 0x%x, then 0x%x; outw 0x%x (new base + 4) <- 0x%x (SLP_TYP %u "
             "= QEMU's S3, SLP_EN): the guest goes on", to + PM_TMR, t0, t1, to + PM1_CNT, s3, QEMU_S3);
    /* And at the old one: refused (sleep-state) as in sleep-s3, where the
     * FADT puts PM1a_CNT there (the core intercepts only the FADT's;
     * Bochs' firmware has none and Bochs quits on the write). */
    uint16_t fadt_cnt = atk_fadt_pm1a_cnt();
    if (fadt_cnt == base + PM1_CNT) {
        uint16_t keep = inw((uint16_t)(base + PM1_CNT)) & ~(SLP_EN | SLP_TYP(7));
        atk_note(name, "outw 0x%x (old base + 4) <- 0x%x", base + PM1_CNT, keep | s3);
        outw((uint16_t)(base + PM1_CNT), (uint16_t)(keep | s3));
        spin_ticks(500000000);
    } else {
        atk_note(name, "no S3 write at the old base + 4: the FADT's PM1a_CNT is 0x%x", fadt_cnt);
    }
    atk_irq_restore(flags);
    if (!ok) {
        atk_fail(name, "the ACPI block moved: %s (the S3 write at the new base 0x%x did not stop the machine)", why,
                 to + PM1_CNT);
        return;
    }
    if (!atk_core_intact(why, sizeof(why))) {
        atk_fail(name, "base and enable registers unchanged, but: %s", why);
        return;
    }
    atk_pass(name, "%s: base 0x%x and enable 0x%x unchanged after %u writes by %s; S3 at the new base's PM1_CNT "
             "0x%x%s: the guest goes on; core intact", c->name, old.pmbase, old.acpi_cnt, 3 * paths,
             page ? "CF8/CFC and ECAM" : "CF8/CFC (no ECAM)", to + PM1_CNT,
             fadt_cnt == base + PM1_CNT ? " and at the old one (the FADT's PM1a_CNT)" : "");
}

/* fch-pm: the AMD FCH's PM registers behind index 0xcd6 / data 0xcd7
 * place the ACPI block (PMx60-0x6F, AcpiConfig PMx74; hv/io.h). The guest
 * writes AcpiPm1CntBlk and AcpiConfig as a driver would (outb index, outb
 * data), as one word at 0xcd6 (index and data in one access), as a dword
 * at 0xcd4 (BIOS RAM index/data, then the PM pair), and with the index
 * on this CPU and the data on another (the index is one register of the
 * machine). Each data byte is what the register read: harmless where an
 * FCH answers. QEMU has none (the ports float): the harness checks the
 * core's count, fch-pm exactly 4, so the write at PMx00 (DecodeEn, not
 * the block's) is not among them. */
struct fch_data_job {
    uint8_t index, value;
};

static void fch_data_on_ap(void *arg)
{
    const struct fch_data_job *j = arg;
    outb(0xcd7, j->value);
    (void)j->index;
}

static uint8_t fch_read(uint8_t index)
{
    outb(0xcd6, index);
    return inb(0xcd7);
}

void attack_fch_pm(void)
{
    const char *name = "fch-pm";
    static char why[240];
    if (env.intel) {
        atk_skip(name, "an Intel CPU: the core intercepts the FCH ports on AMD CPUs only");
        return;
    }
    uint64_t flags = atk_irq_save();
    uint8_t cnt_lo = fch_read(0x62), conf = fch_read(0x74), cnt_hi = fch_read(0x63), dec = fch_read(0x00);
    /* 1: AcpiPm1CntBlk low byte, byte by byte. */
    outb(0xcd6, 0x62);
    outb(0xcd7, cnt_lo);
    /* 2: AcpiPm1CntBlk high byte, index and data as one word. */
    __asm__ volatile("outw %0, %1" ::"a"((uint16_t)(0x63 | cnt_hi << 8)), "Nd"((uint16_t)0xcd6));
    /* 3: AcpiConfig as a dword at 0xcd4 (0xcd4/0xcd5 get BIOS RAM index 0 and what it reads). */
    outb(0xcd4, 0);
    uint8_t bios0 = inb(0xcd5);
    __asm__ volatile("outl %0, %1" ::"a"((uint32_t)(0 | bios0 << 8 | 0x74u << 16 | (uint32_t)conf << 24)),
                     "Nd"((uint16_t)0xcd4));
    /* PMx00 (DecodeEn): not the ACPI block's, written through. */
    outb(0xcd6, 0x00);
    outb(0xcd7, dec);
    /* 4: the index here, the data on another CPU. */
    outb(0xcd6, 0x62);
    atk_irq_restore(flags);
    struct fch_data_job job = { 0x62, cnt_lo };
    UINTN ap = env.cpus > 1 ? (env.self == 0 ? 1 : 0) : env.self;
    EFI_STATUS st = atk_on_cpu(ap, fch_data_on_ap, &job, 30000);
    atk_note(name, "PMx62 0x%x, PMx63 0x%x, PMx74 0x%x, PMx00 0x%x read; 4 writes to the ACPI block's registers "
             "(byte pair, word at 0xcd6, dword at 0xcd4, data on processor %lu: %s), 1 to PMx00", cnt_lo, cnt_hi,
             conf, dec, (unsigned long)ap, st == EFI_SUCCESS ? "ran" : "did not run");
    if (st != EFI_SUCCESS) {
        atk_fail(name, "the data write on processor %lu did not run (0x%lx)", (unsigned long)ap, (unsigned long)st);
        return;
    }
    if (atk_core_intact(why, sizeof(why)))
        atk_pass(name, "4 data writes to FCH PM registers of the ACPI block and 1 to PMx00; the guest goes on; core "
                 "intact (the harness checks the count: fch-pm 4)");
    else
        atk_fail(name, "after the FCH PM writes: %s", why);
}

/* cf8-ext (review R3, finding 1): the PM base register written through
 * CF8 with bits 27:24 set. Intel chipsets, the PIIX4, QEMU and Bochs
 * ignore those bits (reserved, PCI 3.0 3.2.2.3.2): the cycle is register
 * 0x40. The model took them as AMD's extended register number (0xf40, no
 * guarded register) and its conf1 path wrote register 0x40. Wanted: the
 * write dropped (pm-relocate), the base unchanged, every ext value. */
void attack_cf8_ext(void)
{
    const char *name = "cf8-ext";
    uint32_t id;
    const struct pm_chip *c = find_pm_chip(&id);
    if (!c) {
        atk_skip(name, "neither an Intel LPC bridge at 00:1f.0 nor a PIIX4 PM function at 00:01.3");
        return;
    }
    uint32_t old = atk_cfg_read32(0, c->dev, c->fn, c->base_reg), now = old, addr = 0;
    uint32_t to = (old & ~(uint32_t)c->base_mask) | ((old & c->base_mask) ^ 0x800);
    uint64_t f = atk_irq_save();
    for (uint32_t ext = 1; ext < 16 && now == old; ext++) {
        addr = 0x80000000u | ext << 24 | (uint32_t)c->dev << 11 | (uint32_t)c->fn << 8 | c->base_reg;
        outl(0xcf8, addr);
        outl(0xcfc, to);
        now = atk_cfg_read32(0, c->dev, c->fn, c->base_reg);
    }
    if (now != old) { /* put back the same way: the guarded path refuses it */
        outl(0xcf8, addr);
        outl(0xcfc, old);
    }
    uint32_t back = atk_cfg_read32(0, c->dev, c->fn, c->base_reg);
    atk_irq_restore(f);
    if (now != old)
        atk_fail(name, "%s: CF8 0x%08x, CFC <- 0x%x: base register 0x%x -> 0x%x (put back: 0x%x): the guard saw "
                 "register 0x%x, the chipset wrote 0x%x", c->name, addr, to, old, now, back,
                 (addr >> 16 & 0xf00) | c->base_reg, c->base_reg);
    else
        atk_pass(name, "%s: CF8 bits 27:24 = 1..15 over register 0x%x, CFC <- 0x%x: the base register stays 0x%x "
                 "(the harness checks pm-relocate)", c->name, c->base_reg, to, old);
}

/* cf8-split (review R4, F4): a dword at 0xcfa covers CONFIG_DATA bytes
 * 0-1. With all of 0xcf8-0xcff trapped (no ECAM) the model keeps
 * CONFIG_ADDRESS, and the access went to the hardware whole, its data
 * half through whatever address the hardware latch held, past the
 * guards. Wanted: the data half through the model (the latched register,
 * judged), the other half to the hardware. */
void attack_cf8_split(void)
{
    const char *name = "cf8-split";
    uint32_t id;
    const struct pm_chip *c = find_pm_chip(&id);
    if (!c) {
        atk_skip(name, "neither an Intel LPC bridge at 00:1f.0 nor a PIIX4 PM function at 00:01.3");
        return;
    }
    uint64_t f = atk_irq_save();
    uint32_t pm = 0x80000000u | (uint32_t)c->dev << 11 | (uint32_t)c->fn << 8 | c->base_reg;
    uint32_t old = atk_cfg_read32(0, c->dev, c->fn, c->base_reg);
    /* 1: the model's latch on the PM base, a dword read at 0xcfa. */
    outl(0xcf8, pm);
    uint32_t rd = inl(0xcfa);
    /* 2: the model's latch on 00:00.0 register 0 (vendor/device: read-only), then the read. */
    outl(0xcf8, 0x80000000u);
    uint32_t rd0 = inl(0xcfa);
    /* 3: the PM base again, a dword write at 0xcfa with bit 11 of the base flipped. */
    uint32_t to = (old & ~(uint32_t)c->base_mask) | ((old & c->base_mask) ^ 0x800);
    outl(0xcf8, pm);
    outl(0xcfa, (to & 0xffff) << 16);
    uint32_t now = atk_cfg_read32(0, c->dev, c->fn, c->base_reg);
    if (now != old) {
        outl(0xcf8, pm);
        outl(0xcfa, (old & 0xffff) << 16);
    }
    atk_irq_restore(f);
    guest_print("attack: cf8-split: %s base 0x%x; latch PM base: IN dword 0xcfa = 0x%08x (hardware: 0x%04x in the upper half); "
                "latch 00:00.0+0: 0x%08x; OUT dword 0xcfa base -> 0x%x: now 0x%x", c->name, old, rd, old & 0xffff, rd0,
                to, now);
    if (now != old)
        atk_fail(name, "the guarded base register moved 0x%x -> 0x%x by a dword at 0xcfa", old, now);
    else if ((rd >> 16) != (old & 0xffff))
        atk_fail(name, "IN dword 0xcfa with the latch on the PM base: 0x%08x, the upper half not the base 0x%04x (the "
                 "hardware latch is not the guest's)", rd, old & 0xffff);
    else
        atk_pass(name, "dword at 0xcfa reads the latched register and cannot write the guarded one");
}
