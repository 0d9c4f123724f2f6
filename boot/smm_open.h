/* Is SMM left open by the firmware? (docs/security.md, "SMM left open by
 * the firmware"). A firmware without an SMM handler never relocates
 * SMBASE: an SMI then runs guest RAM at 0x38000 (SDM Vol. 3C 32.5.1, APM
 * Vol. 2 10.2.3). The loader asks the host bridge at 00:00.0 and, on AMD,
 * the BSP's SMM MSRs; a verdict of SMM_OPEN makes it take 0x30000-0x3ffff
 * with an RSM at 0x38000 (boot_info.h smm_default_phys).
 *
 * Pure: config space and MSRs come in through callbacks, so recorded
 * register values drive tests/unit/test_smm_open.c. One table of chipset
 * rules (smm_open.c smm_chipset_rules), the first whose IDs match decides. */
#ifndef MINIHV_BOOT_SMM_OPEN_H
#define MINIHV_BOOT_SMM_OPEN_H

#include <stdbool.h>
#include <stdint.h>

/* A config dword of 00:00.0 at a dword-aligned offset below 256. */
typedef uint32_t (*smm_cfg_read32_fn)(void *ctx, uint16_t off);
/* An MSR of the calling CPU; false if it cannot be read. */
typedef bool (*smm_msr_read_fn)(void *ctx, uint32_t msr, uint64_t *value);

struct smm_probe {
    smm_cfg_read32_fn cfg_read32;
    smm_msr_read_fn msr_read; /* asked only when cpu_amd */
    void *ctx;
    bool cpu_amd; /* CPUID vendor AuthenticAMD: the SMM MSRs exist */
};

enum smm_state {
    SMM_NOT_KNOWN, /* no rule for this host bridge, or its registers do not read as the rule expects */
    SMM_LOCKED,    /* the firmware owns SMM and locked it */
    SMM_SET_UP,    /* not locked, but the firmware moved SMBASE out of the default range */
    SMM_OPEN,      /* not locked, SMBASE at its reset value: an SMI runs 0x38000 */
};

struct smm_verdict {
    enum smm_state state;
    const char *rule; /* the table row that decided; NULL: none matched */
    char detail[200]; /* the registers read, for the log */
};

#define SMM_DEFAULT_SMBASE 0x30000u

/* Fills *out from the host bridge and the MSRs the matching rule names. */
void smm_open_check(const struct smm_probe *probe, struct smm_verdict *out);
const char *smm_state_name(enum smm_state s);

#endif
