/* The MSR table and its checks (hv/msr_policy.c, issue 14 path 3): the
 * rows are well formed, what must exit exits on both backends, the hot
 * path does not, the VMX bitmap matches the rows bit for bit, and every
 * write check gives the verdict the SDM/APM and the core's promise want. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <minihv/x86.h>
#include "hv/msr_policy.h"

static const unsigned backends[2] = { MSR_ON_VMX, MSR_ON_SVM };

/* The ranges each backend's bitmap covers: a MSR_PASS row outside them
 * would exit anyway (and the handler treat it as MSR_HW). */
static bool in_bitmap(uint32_t msr, unsigned on)
{
    if (msr < 0x2000 || (msr >= 0xc0000000u && msr < 0xc0002000u))
        return true;
    return on == MSR_ON_SVM && msr >= 0xc0010000u && msr < 0xc0012000u;
}

static void test_rows_well_formed(void **state)
{
    (void)state;
    assert_true(msr_rule_count > 40);
    for (unsigned i = 0; i < msr_rule_count; i++) {
        const struct msr_rule *r = &msr_rules[i];
        assert_true(r->first <= r->last);
        assert_true(r->on && !(r->on & ~MSR_ON_BOTH));
        assert_non_null(r->why);
        assert_true(strlen(r->why) > 10);
        assert_true(r->read <= MSR_DENY && r->write <= MSR_DENY);
        /* A check only means something for a hardware write, an emul id
         * only for an emulated direction. */
        if (r->check != MSR_CHECK_NONE)
            assert_int_equal(r->write, MSR_HW);
        assert_int_equal(r->emul != MSR_EMUL_NONE, r->read == MSR_EMUL || r->write == MSR_EMUL);
        for (unsigned b = 0; b < 2; b++) {
            if (!(r->on & backends[b]))
                continue;
            if (r->read == MSR_PASS || r->write == MSR_PASS) {
                assert_true(in_bitmap(r->first, backends[b]));
                assert_true(in_bitmap(r->last, backends[b]));
            }
            /* No overlap within a backend: the first match is the only one. */
            for (unsigned j = i + 1; j < msr_rule_count; j++) {
                const struct msr_rule *o = &msr_rules[j];
                if ((o->on & backends[b]) && o->first <= r->last && r->first <= o->last)
                    fail_msg("rows 0x%x-0x%x and 0x%x-0x%x overlap", r->first, r->last, o->first, o->last);
            }
        }
    }
}

/* Everything that can redirect memory, DMA, interrupts or the core's own
 * state: writes exit on both backends and are never passed through. */
static void test_deny_list(void **state)
{
    (void)state;
    static const uint32_t must_exit_write[] = {
        0x1b,                                   /* IA32_APIC_BASE */
        0x3a,                                   /* IA32_FEATURE_CONTROL */
        0x79,                                   /* microcode update trigger */
        0x9b,                                   /* SMM_MONITOR_CTL */
        0x1a0,                                  /* MISC_ENABLE (XD disable) */
        0x1f2, 0x1f3,                           /* SMRR */
        0x200, 0x201, 0x2ff, 0x250,             /* MTRRs (validated) */
        0x3f1,                                  /* PEBS_ENABLE */
        0x480, 0x491,                           /* VMX capabilities */
        0x560, 0x561, 0x570, 0x571, 0x572, 0x580, 0x58b, /* Intel PT */
        0x600,                                  /* DS_AREA */
        0x6a2, 0x6a4, 0x6a8,                    /* S_CET, PL0_SSP, ISST */
        0x830,                                  /* x2APIC ICR */
        0x82f, 0x832, 0x833, 0x834, 0x835, 0x836, 0x837, /* x2APIC LVTs (delivery mode checked) */
        0xc0010010, 0xc0010015,                 /* SYSCFG, HWCR */
        0xc0010016, 0xc0010017, 0xc0010018, 0xc0010019, /* IORRs */
        0xc001001a, 0xc001001d, 0xc001001f,     /* TOP_MEM, TOM2, NB_CFG */
        0xc0010058,                             /* MMIO_CFG_BASE */
        0xc0010111, 0xc0010112, 0xc0010113,     /* SMM_BASE, SMM_ADDR/MASK */
        0xc0010114, 0xc0010116, 0xc0010117,     /* VM_CR, SMM_CTL, VM_HSAVE_PA */
    };
    for (unsigned i = 0; i < sizeof(must_exit_write) / sizeof(must_exit_write[0]); i++)
        for (unsigned b = 0; b < 2; b++) {
            uint32_t m = must_exit_write[i];
            if (!msr_exits(m, true, backends[b]))
                fail_msg("WRMSR 0x%x does not exit on backend %u", m, backends[b]);
            assert_int_not_equal(msr_rule_find(m, backends[b])->write, MSR_PASS);
        }
    /* Reads too, where a read would tell or do something. */
    static const uint32_t must_exit_read[] = { 0x3a, 0x480, 0x560, 0x570, 0x600, 0x1f2, 0xc0010114,
                                               0xc0010117, 0xc0010010, 0xc0010058 };
    for (unsigned i = 0; i < sizeof(must_exit_read) / sizeof(must_exit_read[0]); i++)
        for (unsigned b = 0; b < 2; b++)
            assert_true(msr_exits(must_exit_read[i], false, backends[b]));
    /* Intel PT, DS, SMRR: #GP outright (counted). */
    for (uint32_t m = 0x570; m <= 0x572; m++) {
        assert_int_equal(msr_rule_find(m, MSR_ON_VMX)->write, MSR_DENY);
        assert_int_equal(msr_rule_find(m, MSR_ON_VMX)->read, MSR_DENY);
    }
    assert_int_equal(msr_rule_find(0x600, MSR_ON_VMX)->write, MSR_DENY);
    assert_int_equal(msr_rule_find(0x1f3, MSR_ON_SVM)->write, MSR_DENY);
    /* AMD memory routing: the hardware value, writes only unchanged. */
    for (uint32_t m = 0xc0010016; m <= 0xc0010019; m++) {
        const struct msr_rule *r = msr_rule_find(m, MSR_ON_SVM);
        assert_int_equal(r->read, MSR_HW);
        assert_int_equal(r->write, MSR_HW);
        assert_int_equal(r->check, MSR_CHECK_UNCHANGED);
    }
    assert_int_equal(msr_rule_find(0x1b, MSR_ON_SVM)->check, MSR_CHECK_APIC_BASE);
    /* The emulated ones, per backend. */
    assert_int_equal(msr_rule_find(0xc0000080, MSR_ON_SVM)->emul, MSR_EMUL_EFER);
    assert_int_equal(msr_rule_find(0x277, MSR_ON_SVM)->emul, MSR_EMUL_PAT);
    assert_int_equal(msr_rule_find(0xc0010114, MSR_ON_SVM)->emul, MSR_EMUL_VM_CR);
    assert_int_equal(msr_rule_find(0xc0010117, MSR_ON_SVM)->emul, MSR_EMUL_VM_HSAVE_PA);
    assert_int_equal(msr_rule_find(0x3a, MSR_ON_VMX)->emul, MSR_EMUL_FEATURE_CONTROL);
    assert_int_equal(msr_rule_find(0x830, MSR_ON_VMX)->emul, MSR_EMUL_X2APIC_ICR);
    assert_int_equal(msr_rule_find(0x830, MSR_ON_SVM)->emul, MSR_EMUL_X2APIC_ICR);
}

/* What an OS does on hot paths runs without exits. */
static void test_hot_path_native(void **state)
{
    (void)state;
    static const uint32_t both[] = {
        0x48, 0x49, 0x174, 0x175, 0x176, 0x6e0, 0x808 /* TPR */, 0x80b /* EOI */,
        0x838 /* timer initial count */, 0x83f /* SELF IPI */, 0xc0000081, 0xc0000082,
        0xc0000083, 0xc0000084, 0xc0000100, 0xc0000101, 0xc0000102, 0xc0000103,
        0xc8f /* PQR_ASSOC: resctrl, every context switch */,
    };
    for (unsigned i = 0; i < sizeof(both) / sizeof(both[0]); i++)
        for (unsigned b = 0; b < 2; b++) {
            if (msr_exits(both[i], false, backends[b]) || msr_exits(both[i], true, backends[b]))
                fail_msg("MSR 0x%x exits on backend %u", both[i], backends[b]);
        }
    /* Linux writes these with plain WRMSR (no #GP handling): XFD on
     * every context switch of an AMX task, PKRS, and at boot the C-state
     * config and the TSX abort control; none may raise #GP. */
    static const uint32_t vmx_native_write[] = { 0x1c4, 0x1c5, 0x6e1 };
    for (unsigned i = 0; i < sizeof(vmx_native_write) / sizeof(vmx_native_write[0]); i++)
        assert_false(msr_exits(vmx_native_write[i], true, MSR_ON_VMX));
    const struct msr_rule *r = msr_rule_find(0xe2, MSR_ON_VMX);
    assert_true(r && r->write == MSR_HW);
    r = msr_rule_find(0x10f, MSR_ON_VMX);
    assert_true(r && r->write == MSR_HW);
    /* VMX: PAT and EFER are switched by the VMCS. */
    assert_false(msr_exits(0x277, true, MSR_ON_VMX));
    assert_false(msr_exits(0xc0000080, true, MSR_ON_VMX));
    assert_true(msr_exits(0x277, true, MSR_ON_SVM));
    /* Reads of the APIC base and the MTRRs: native. */
    assert_false(msr_exits(0x1b, false, MSR_ON_VMX));
    assert_false(msr_exits(0x200, false, MSR_ON_SVM));
    /* The ICR's read is native, its write is not. */
    assert_false(msr_exits(0x830, false, MSR_ON_SVM));
    assert_true(msr_exits(0x830, true, MSR_ON_SVM));
}

static void test_default_row(void **state)
{
    (void)state;
    static const uint32_t unknown[] = { 0x0,        0x12345,    0x40000000, 0x1fff,
                                        0xc0001fff, 0xc0011fff, 0xffffffff };
    for (unsigned i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
        for (unsigned b = 0; b < 2; b++) {
            const struct msr_rule *r = msr_rule_find(unknown[i], backends[b]);
            assert_ptr_equal(r, &msr_rule_default);
            assert_int_equal(r->read, MSR_HW);
            assert_int_equal(r->write, MSR_DENY);
            assert_true(msr_exits(unknown[i], false, backends[b]));
        }
    /* A row of the other backend does not apply: FEATURE_CONTROL on SVM
     * is the default (AMD has none: the hardware's #GP). */
    assert_ptr_equal(msr_rule_find(0x3a, MSR_ON_SVM), &msr_rule_default);
    assert_ptr_equal(msr_rule_find(0xc0010114, MSR_ON_VMX), &msr_rule_default);
}

static bool vmx_bit(const uint8_t *bm, uint32_t msr, bool write)
{
    unsigned half = msr >= 0xc0000000u, n = msr - (half ? 0xc0000000u : 0);
    return bm[(write ? 2048 : 0) + half * 1024 + n / 8] & (1u << (n % 8));
}

static void test_vmx_bitmap(void **state)
{
    (void)state;
    static uint8_t bm[MSR_BITMAP_BYTES];
    memset(bm, 0x5a, sizeof(bm));
    msr_bitmap_fill_vmx(bm);
    /* Bit for bit the rows: every MSR of both ranges, both directions. */
    static const uint32_t bases[2] = { 0, 0xc0000000u };
    unsigned clear = 0;
    for (unsigned h = 0; h < 2; h++)
        for (uint32_t m = bases[h]; m < bases[h] + 0x2000u; m++)
            for (int w = 0; w <= 1; w++) {
                assert_int_equal(vmx_bit(bm, m, w), msr_exits(m, w, MSR_ON_VMX));
                clear += !vmx_bit(bm, m, w);
            }
    assert_true(clear > 300);
    /* SDM 25.6.9 positions: APIC_BASE write = byte 2048 + 3, bit 3. */
    assert_int_equal(bm[2048 + 3] & 0x08, 0x08);
    assert_int_equal(bm[3] & 0x08, 0); /* its read passes */
    /* LSTAR c000_0082 read: byte 1024 + 16, bit 2: clear. */
    assert_int_equal(bm[1024 + 16] & 0x04, 0);
    /* ICR 0x830 write: byte 2048 + 262, bit 0: set; read clear. */
    assert_int_equal(bm[2048 + 262] & 1, 1);
    assert_int_equal(bm[262] & 1, 0);
    /* RTIT_CTL 0x570 read and write: set. */
    assert_int_equal(bm[0x570 / 8] & 1, 1);
    assert_int_equal(bm[2048 + 0x570 / 8] & 1, 1);
}

static void test_apic_base_check(void **state)
{
    (void)state;
    const uint64_t xapic = 0xfee00000ull | APIC_BASE_EN | APIC_BASE_BSP;
    const uint64_t x2apic = xapic | APIC_BASE_EXTD;
    /* The same value, and xAPIC -> x2APIC (Linux's x2apic_enable). */
    assert_int_equal(msr_apic_base_check(xapic, xapic, 39), MSR_WRITE_OK);
    assert_int_equal(msr_apic_base_check(xapic, x2apic, 39), MSR_WRITE_OK);
    assert_int_equal(msr_apic_base_check(x2apic, x2apic, 39), MSR_WRITE_OK);
    /* Refused: moves, disabling, the BSP flag. */
    assert_int_equal(msr_apic_base_check(xapic, 0xfed00000ull | APIC_BASE_EN | APIC_BASE_BSP, 39),
                     MSR_WRITE_REFUSE);
    assert_int_equal(msr_apic_base_check(xapic, 0x17e00000ull | APIC_BASE_EN | APIC_BASE_BSP, 39),
                     MSR_WRITE_REFUSE); /* onto the core's block */
    assert_int_equal(msr_apic_base_check(xapic, 0xfee00000ull | APIC_BASE_BSP, 39), MSR_WRITE_REFUSE);
    assert_int_equal(msr_apic_base_check(x2apic, 0xfee00000ull | APIC_BASE_BSP, 39), MSR_WRITE_REFUSE);
    assert_int_equal(msr_apic_base_check(xapic, 0xfee00000ull | APIC_BASE_EN, 39), MSR_WRITE_REFUSE);
    assert_int_equal(msr_apic_base_check(x2apic, x2apic + 0x1000, 39), MSR_WRITE_REFUSE);
    /* What the hardware refuses itself: #GP, not counted. */
    assert_int_equal(msr_apic_base_check(x2apic, xapic, 39), MSR_WRITE_GP); /* x2APIC -> xAPIC */
    assert_int_equal(msr_apic_base_check(xapic, 0xfee00000ull | APIC_BASE_EXTD, 39), MSR_WRITE_GP);
    assert_int_equal(msr_apic_base_check(xapic, xapic | 1, 39), MSR_WRITE_GP);       /* reserved */
    assert_int_equal(msr_apic_base_check(xapic, xapic | (1ull << 9), 39), MSR_WRITE_GP);
    assert_int_equal(msr_apic_base_check(xapic, xapic | (1ull << 39), 39), MSR_WRITE_GP); /* > MAXPHYADDR */
    assert_int_equal(msr_apic_base_check(xapic, xapic | (1ull << 39), 40), MSR_WRITE_REFUSE);
}

static void test_write_checks(void **state)
{
    (void)state;
    const struct msr_env env = { .phys_bits = 39, .mtrr_vcnt = 8 };
    const struct msr_rule *syscfg = msr_rule_find(0xc0010010, MSR_ON_SVM);
    assert_int_equal(msr_write_check(syscfg, 0xc0010010, 0x740000, 0x740000, &env), MSR_WRITE_OK);
    assert_int_equal(msr_write_check(syscfg, 0xc0010010, 0x740000, 0x760000, &env), MSR_WRITE_REFUSE);
    const struct msr_rule *tom2 = msr_rule_find(0xc001001d, MSR_ON_SVM);
    assert_int_equal(msr_write_check(tom2, 0xc001001d, 0x180000000ull, 0x100000000ull, &env),
                     MSR_WRITE_REFUSE);
    const struct msr_rule *mmcfg = msr_rule_find(0xc0010058, MSR_ON_SVM);
    assert_int_equal(msr_write_check(mmcfg, 0xc0010058, 0xe0000021, 0xd0000021, &env), MSR_WRITE_REFUSE);
    const struct msr_rule *apic = msr_rule_find(0x1b, MSR_ON_VMX);
    assert_int_equal(msr_write_check(apic, 0x1b, 0xfee00900, 0xfee00d00, &env), MSR_WRITE_OK);
    assert_int_equal(msr_write_check(apic, 0x1b, 0xfee00900, 0xfec00900, &env), MSR_WRITE_REFUSE);

    /* HWCR: FFDIS (6), CpbDis (25) and IRPERF_EN (30) only. */
    const struct msr_rule *hwcr = msr_rule_find(0xc0010015, MSR_ON_SVM);
    const uint64_t hw = 0x9000011ull; /* SMMLOCK, ... */
    assert_int_equal(msr_write_check(hwcr, 0xc0010015, hw, hw | (1ull << 30), &env), MSR_WRITE_OK);
    assert_int_equal(msr_write_check(hwcr, 0xc0010015, hw, hw | (1ull << 25), &env), MSR_WRITE_OK);
    assert_int_equal(msr_write_check(hwcr, 0xc0010015, 0, 0x40, &env), MSR_WRITE_OK); /* Linux init_amd_k8 */
    assert_int_equal(msr_write_check(hwcr, 0xc0010015, hw, hw & ~1ull, &env), MSR_WRITE_REFUSE);
    assert_int_equal(msr_write_check(hwcr, 0xc0010015, hw, hw | (1ull << 18), &env), MSR_WRITE_REFUSE);

    /* MISC_ENABLE: XD disable may be cleared, not set. */
    const struct msr_rule *misc = msr_rule_find(0x1a0, MSR_ON_VMX);
    assert_int_equal(msr_write_check(misc, 0x1a0, 0x850089, 0x850089 | (1ull << 34), &env), MSR_WRITE_REFUSE);
    assert_int_equal(msr_write_check(misc, 0x1a0, 0x850089 | (1ull << 34), 0x850089, &env), MSR_WRITE_OK);
    /* Fast strings off: fine. */
    assert_int_equal(msr_write_check(misc, 0x1a0, 0x850089, 0x850088, &env), MSR_WRITE_OK);

    /* MCi_STATUS: only cleared; MCi_CTL anything. */
    const struct msr_rule *mc = msr_rule_find(0x401, MSR_ON_VMX);
    assert_int_equal(msr_write_check(mc, 0x401, 0, 0, &env), MSR_WRITE_OK);
    assert_int_equal(msr_write_check(mc, 0x405, 0, 0xb200000000000000ull, &env), MSR_WRITE_REFUSE);
    assert_int_equal(msr_write_check(mc, 0x400, 0, ~0ull, &env), MSR_WRITE_OK);
    assert_int_equal(msr_write_check(mc, 0x402, 0, 0x1234, &env), MSR_WRITE_OK); /* ADDR */
    const struct msr_rule *smca = msr_rule_find(0xc0002011, MSR_ON_SVM); /* bank 1 STATUS */
    assert_int_equal(smca->check, MSR_CHECK_MC_STATUS);
    assert_int_equal(msr_write_check(smca, 0xc0002011, 0, 0, &env), MSR_WRITE_OK);
    assert_int_equal(msr_write_check(smca, 0xc0002011, 0, 1ull << 63, &env), MSR_WRITE_REFUSE);
    assert_int_equal(msr_write_check(smca, 0xc0002018, 0, 1ull << 63, &env), MSR_WRITE_REFUSE); /* DESTAT */
    assert_int_equal(msr_write_check(smca, 0xc0002010, 0, ~0ull, &env), MSR_WRITE_OK);        /* CTL */

    /* MTRRs as the hardware would take them. */
    const struct msr_rule *mtrr = msr_rule_find(0x200, MSR_ON_VMX);
    assert_int_equal(msr_write_check(mtrr, 0x2ff, 0, 0xc06, &env), MSR_WRITE_OK);
    assert_int_equal(msr_write_check(mtrr, 0x2ff, 0, 0xc02, &env), MSR_WRITE_GP);       /* type 2 */
    assert_int_equal(msr_write_check(mtrr, 0x2ff, 0, 0x1c06, &env), MSR_WRITE_GP);      /* reserved */
    assert_int_equal(msr_write_check(mtrr, 0x200, 0, 0x80000006, &env), MSR_WRITE_OK); /* PHYSBASE0 WB */
    assert_int_equal(msr_write_check(mtrr, 0x200, 0, 0x80000007, &env), MSR_WRITE_GP);
    assert_int_equal(msr_write_check(mtrr, 0x201, 0, 0x7f80000800ull, &env), MSR_WRITE_OK);
    assert_int_equal(msr_write_check(mtrr, 0x201, 0, 0xff80000800ull, &env), MSR_WRITE_GP); /* bit 39 */
    assert_int_equal(msr_write_check(mtrr, 0x210, 0, 0x6, &env), MSR_WRITE_GP); /* pair 8: VCNT 8 */
    assert_int_equal(msr_write_check(mtrr, 0x20f, 0, 0x800, &env), MSR_WRITE_OK);
    assert_int_equal(msr_write_check(mtrr, 0x250, 0, 0x0606060606060606ull, &env), MSR_WRITE_OK);
    assert_int_equal(msr_write_check(mtrr, 0x268, 0, 0x0606060606060602ull, &env), MSR_WRITE_GP);

    /* No check: anything goes to the hardware (which may #GP). */
    const struct msr_rule *tsc = msr_rule_find(0x10, MSR_ON_SVM);
    assert_int_equal(msr_write_check(tsc, 0x10, 5, 7, &env), MSR_WRITE_OK);
}

/* LVT delivery modes (SDM Vol. 3A 10.5.1, Figure 10-8): fixed, NMI and
 * ExtINT reach the APIC; SMI, INIT and the reserved encodings are dropped
 * (no #GP: the hardware takes them). Every x2APIC LVT has the check, reads
 * stay native, the timer counts and SELF IPI around them stay native. */
/* IA32_XSS (review R s7 finding 4): only the components CPUID 0xd.1 shows
 * the guest; PT (8) would let XRSTORS start a trace to host-physical
 * memory, CET (11, 12) is hidden as well. */
static void test_xss_check(void **state)
{
    (void)state;
    const struct msr_env env = { .phys_bits = 39, .mtrr_vcnt = 8, .xss_allowed = 1ull << 15 }; /* arch LBR */
    for (unsigned on = MSR_ON_VMX; on <= MSR_ON_SVM; on <<= 1) {
        const struct msr_rule *xss = msr_rule_find(0xda0, on);
        assert_int_equal(xss->write, MSR_HW);
        assert_int_equal(msr_write_check(xss, 0xda0, 0, 0x100, &env), MSR_WRITE_REFUSE);  /* PT */
        assert_int_equal(msr_write_check(xss, 0xda0, 0, 0x1800, &env), MSR_WRITE_REFUSE); /* CET_U, CET_S */
        assert_int_equal(msr_write_check(xss, 0xda0, 0, 0x8100, &env), MSR_WRITE_REFUSE); /* LBR with PT */
        assert_int_equal(msr_write_check(xss, 0xda0, 0, 0x8000, &env), MSR_WRITE_OK);
        assert_int_equal(msr_write_check(xss, 0xda0, 0x8000, 0, &env), MSR_WRITE_OK);
    }
}

static void test_lvt_check(void **state)
{
    (void)state;
    const struct msr_env env = { .phys_bits = 39, .mtrr_vcnt = 8 };
    assert_true(apic_lvt_ok(0x00000030));  /* fixed, vector 0x30 */
    assert_true(apic_lvt_ok(0x00010400));  /* NMI, masked */
    assert_true(apic_lvt_ok(0x00000700));  /* ExtINT (LINT0 in virtual-wire mode) */
    assert_true(apic_lvt_ok(0x000200ef));  /* timer: TSC-deadline mode, vector 0xef */
    assert_false(apic_lvt_ok(0x00010200)); /* SMI, even masked */
    assert_false(apic_lvt_ok(0x00010500)); /* INIT, even masked */
    assert_false(apic_lvt_ok(0x00000100)); /* 001: lowest priority is not an LVT mode */
    assert_false(apic_lvt_ok(0x00000300)); /* reserved */
    assert_false(apic_lvt_ok(0x00000600)); /* reserved (SIPI in an ICR) */
    static const uint32_t lvts[] = { 0x82f, 0x832, 0x833, 0x834, 0x835, 0x836, 0x837 };
    for (unsigned b = 0; b < 2; b++) {
        for (unsigned i = 0; i < sizeof(lvts) / sizeof(lvts[0]); i++) {
            const struct msr_rule *r = msr_rule_find(lvts[i], backends[b]);
            assert_int_equal(r->check, MSR_CHECK_LVT);
            assert_int_equal(r->write, MSR_HW);
            assert_false(msr_exits(lvts[i], false, backends[b]));
            assert_true(msr_exits(lvts[i], true, backends[b]));
            assert_int_equal(msr_write_check(r, lvts[i], 0x10000, 0x10400, &env), MSR_WRITE_OK);
            assert_int_equal(msr_write_check(r, lvts[i], 0x10000, 0x10500, &env), MSR_WRITE_DROP);
            assert_int_equal(msr_write_check(r, lvts[i], 0x10000, 0x10200, &env), MSR_WRITE_DROP);
        }
        assert_false(msr_exits(0x82e, true, backends[b]));
        assert_false(msr_exits(0x838, true, backends[b]));
        assert_false(msr_exits(0x83f, true, backends[b]));
    }
}

static void test_pat(void **state)
{
    (void)state;
    assert_true(msr_pat_valid(0x0007040600070406ull)); /* power-on */
    assert_true(msr_pat_valid(0x0001040600070406ull)); /* Linux: WC in PA5 */
    assert_true(msr_pat_valid(0));
    assert_false(msr_pat_valid(0x0007040600070402ull)); /* type 2 */
    assert_false(msr_pat_valid(0x0307040600070406ull)); /* type 3 in PA7 */
    assert_false(msr_pat_valid(0x0807040600070406ull)); /* type 8 */
    assert_false(msr_pat_valid(0x0007040600070446ull)); /* bit 6 of PA0 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_well_formed), cmocka_unit_test(test_deny_list),
        cmocka_unit_test(test_hot_path_native),  cmocka_unit_test(test_default_row),
        cmocka_unit_test(test_vmx_bitmap),       cmocka_unit_test(test_apic_base_check),
        cmocka_unit_test(test_write_checks),     cmocka_unit_test(test_pat),
        cmocka_unit_test(test_lvt_check),        cmocka_unit_test(test_xss_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
