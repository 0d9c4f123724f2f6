/* See smm_open.h. */
#include <minihv/format.h>
#include "boot/smm_open.h"

/* SMRAMC, one byte (the same layout on the q35 MCH at 0x9d, the i440FX
 * at 0x72 and the Intel Core host bridges at 0x88): C_BASE_SEG 2:0 read-only 010b (the
 * compatible SMRAM at 0xA0000), G_SMRAME 3, D_LCK 4, D_CLS 5, D_OPEN 6.
 * Intel 2nd-13th gen Core datasheets vol. 2, "SMRAMC"; coreboot
 * src/northbridge/intel/sandybridge/sandybridge.h, src/soc/intel/
 * {skylake,icelake,tigerlake}/include/soc/systemagent.h; QEMU
 * hw/pci-host/q35.c (MCH_HOST_BRIDGE_SMRAM 0x9d). */
#define SMRAMC_C_BASE_SEG_MASK 0x07u
#define SMRAMC_C_BASE_SEG_A    0x02u
#define SMRAMC_G_SMRAME        0x08u
#define SMRAMC_D_LCK           0x10u
#define SMRAMC_D_OPEN          0x40u
/* TSEGMB (Intel Core host bridges, 0xB8): TSEG base 31:20, LOCK 0. */
#define TSEGMB_BASE_MASK 0xfff00000u
#define TSEGMB_LOCK      0x1u

/* AMD SMM MSRs (APM Vol. 2 10.2.5, A.8; BKDG fam. 10h/15h, PPR fam. 17h). */
#define MSR_AMD_HWCR      0xc0010015u
#define HWCR_SMMLOCK      0x1ull /* SMM_BASE, SMM_ADDR/MASK, SMM_CTL read-only from now on */
#define MSR_AMD_SMM_BASE  0xc0010111u
#define MSR_AMD_SMM_MASK  0xc0010113u
#define SMM_MASK_AVALID   0x1ull /* ASeg (0xA0000-0xBFFFF) is SMRAM */
#define SMM_MASK_TVALID   0x2ull /* TSeg (SMM_ADDR/SMM_MASK) is SMRAM */

#define PCI_ANY_DEVICE   0xffffu
#define PCI_CLASS_HOST   0x0600u /* class 06 (bridge), subclass 00 (host) */

enum smm_rule_kind { SMM_BY_SMRAMC, SMM_BY_AMD_MSRS };

/* The chipset rules: the first row whose vendor/device match 00:00.0
 * (a host bridge by class) decides. The q35 and i440FX rows come before
 * the Intel one: their SMRAMC is elsewhere. The AMD rows read the CPU's MSRs: QEMU
 * TCG returns 0 for them (target/i386/tcg/sysemu/misc_helper.c
 * helper_rdmsr, default case), which is why no AMD rule keys on the CPU
 * alone: an AMD CPU model on q35 stays with the q35 row. */
static const struct smm_chipset_rule {
    const char *name;
    uint16_t vendor, device;
    uint8_t kind;
    uint8_t smramc_off;  /* SMM_BY_SMRAMC */
    uint8_t tsegmb_off;  /* SMM_BY_SMRAMC: 0, none */
} smm_chipset_rules[] = {
    { "q35 MCH SMRAMC 0x9d", 0x8086, 0x29c0, SMM_BY_SMRAMC, 0x9d, 0 },
    /* 82441FX (QEMU -machine pc, Bochs): SMRAM at 0x72, the same layout
     * (QEMU hw/pci-host/i440fx.c I440FX_SMRAM; SeaBIOS fw/smm.c). */
    { "i440FX SMRAM 0x72", 0x8086, 0x1237, SMM_BY_SMRAMC, 0x72, 0 },
    { "Intel host bridge SMRAMC 0x88", 0x8086, PCI_ANY_DEVICE, SMM_BY_SMRAMC, 0x88, 0xb8 },
    { "AMD host bridge, CPU SMM MSRs", 0x1022, PCI_ANY_DEVICE, SMM_BY_AMD_MSRS, 0, 0 },
    { "AMD (ATI) northbridge, CPU SMM MSRs", 0x1002, PCI_ANY_DEVICE, SMM_BY_AMD_MSRS, 0, 0 },
};

const char *smm_state_name(enum smm_state s)
{
    switch (s) {
    case SMM_NOT_KNOWN: return "not known";
    case SMM_LOCKED:    return "locked";
    case SMM_SET_UP:    return "set up, not locked";
    case SMM_OPEN:      return "open";
    }
    return "?";
}

static uint8_t cfg_read8(const struct smm_probe *p, uint8_t off)
{
    return (uint8_t)(p->cfg_read32(p->ctx, off & ~3u) >> ((off & 3u) * 8));
}

static void by_smramc(const struct smm_probe *p, const struct smm_chipset_rule *r, struct smm_verdict *out)
{
    uint8_t smramc = cfg_read8(p, r->smramc_off);
    char tseg[64] = "";
    if (r->tsegmb_off) {
        uint32_t t = p->cfg_read32(p->ctx, r->tsegmb_off);
        fmt_snprintf(tseg, sizeof(tseg), ", TSEGMB 0x%08x (TSEG at 0x%x%s)", t, t & TSEGMB_BASE_MASK,
                     t & TSEGMB_LOCK ? ", locked" : "");
    }
    /* C_BASE_SEG is read-only 010b on every part of this layout: another
     * value (all-ones of an absent register, the zeros of a config read
     * that was not answered) says the byte is not an SMRAMC. */
    if ((smramc & SMRAMC_C_BASE_SEG_MASK) != SMRAMC_C_BASE_SEG_A) {
        out->state = SMM_NOT_KNOWN;
        fmt_snprintf(out->detail, sizeof(out->detail), "SMRAMC 0x%02x: C_BASE_SEG not 010b, not an SMRAMC%s",
                     smramc, tseg);
        return;
    }
    /* D_LCK: set by a firmware that has SMM (OVMF's SmmAccess, coreboot's
     * smm_lock); clear, the firmware never installed a handler, and SMBASE
     * cannot be read from outside SMM: taken as never relocated. */
    out->state = smramc & SMRAMC_D_LCK ? SMM_LOCKED : SMM_OPEN;
    fmt_snprintf(out->detail, sizeof(out->detail), "SMRAMC 0x%02x (D_LCK %u, G_SMRAME %u, D_OPEN %u)%s", smramc,
                 !!(smramc & SMRAMC_D_LCK), !!(smramc & SMRAMC_G_SMRAME), !!(smramc & SMRAMC_D_OPEN), tseg);
}

static void by_amd_msrs(const struct smm_probe *p, struct smm_verdict *out)
{
    uint64_t hwcr, base, mask;
    if (!p->cpu_amd || !p->msr_read) {
        out->state = SMM_NOT_KNOWN;
        fmt_snprintf(out->detail, sizeof(out->detail), "the CPU is not AMD: no SMM MSRs to read");
        return;
    }
    if (!p->msr_read(p->ctx, MSR_AMD_HWCR, &hwcr) || !p->msr_read(p->ctx, MSR_AMD_SMM_BASE, &base) ||
        !p->msr_read(p->ctx, MSR_AMD_SMM_MASK, &mask)) {
        out->state = SMM_NOT_KNOWN;
        fmt_snprintf(out->detail, sizeof(out->detail), "HWCR, SMM_BASE or SMM_MASK did not read");
        return;
    }
    fmt_snprintf(out->detail, sizeof(out->detail), "HWCR 0x%lx (SMMLOCK %u), SMM_BASE 0x%lx, SMM_MASK 0x%lx "
                 "(AValid %u, TValid %u)", (unsigned long)hwcr, (unsigned)(hwcr & HWCR_SMMLOCK),
                 (unsigned long)base, (unsigned long)mask, !!(mask & SMM_MASK_AVALID), !!(mask & SMM_MASK_TVALID));
    /* SMMLOCK: the firmware's SMM setup is final (APM Vol. 2 10.2.5). Not
     * locked, what runs on an SMI is SMM_BASE + 0x8000 whatever the ASeg/
     * TSeg valid bits say: SMM_BASE at its reset value 0x30000 (APM A.8)
     * is open SMM; moved, the firmware set SMM up (an Athlon 64 with
     * SMMLOCK clear and SMBASE 0x98200 in ASeg: VirtualBox's CPU profile). */
    if (hwcr & HWCR_SMMLOCK)
        out->state = SMM_LOCKED;
    else if (base == SMM_DEFAULT_SMBASE)
        out->state = SMM_OPEN;
    else
        out->state = SMM_SET_UP;
}

void smm_open_check(const struct smm_probe *probe, struct smm_verdict *out)
{
    out->state = SMM_NOT_KNOWN;
    out->rule = NULL;
    out->detail[0] = 0;
    uint32_t id = probe->cfg_read32(probe->ctx, 0);
    uint32_t class_rev = probe->cfg_read32(probe->ctx, 8);
    uint16_t vendor = (uint16_t)id, device = (uint16_t)(id >> 16);
    if (vendor == 0xffff || (class_rev >> 16) != PCI_CLASS_HOST) {
        fmt_snprintf(out->detail, sizeof(out->detail), "00:00.0 %04x:%04x class 0x%06x: not a host bridge", vendor,
                     device, class_rev >> 8);
        return;
    }
    for (unsigned i = 0; i < sizeof(smm_chipset_rules) / sizeof(smm_chipset_rules[0]); i++) {
        const struct smm_chipset_rule *r = &smm_chipset_rules[i];
        if (r->vendor != vendor || (r->device != PCI_ANY_DEVICE && r->device != device))
            continue;
        out->rule = r->name;
        if (r->kind == SMM_BY_SMRAMC)
            by_smramc(probe, r, out);
        else
            by_amd_msrs(probe, out);
        return;
    }
    fmt_snprintf(out->detail, sizeof(out->detail), "host bridge %04x:%04x: no rule", vendor, device);
}
