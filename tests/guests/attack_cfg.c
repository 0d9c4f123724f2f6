/* Attacks on the config-space path around the passthrough device (issue 14;
 * review R, finding 2).
 *
 * ecam-move: PCIEXBAR (host bridge 00:00.0 config 0x60-0x67 on Intel client
 * chipsets and on QEMU q35, whose mch_write_config moves the MMCONFIG window
 * at once) says where ECAM decodes. The guest moves it to another 256 MiB
 * hole below 4 GiB (identity-mapped in the EPT/NPT): the device's physical
 * config space would then answer there without an exit (BARs, MSI address
 * and data, MSI-X enable past the model), and the core's own ECAM accesses
 * go nowhere. Tried through CF8/CFC and through the host bridge's ECAM
 * page; PCIEXBAR must read back unchanged and the would-be window must not
 * show the device. Whatever happened, PCIEXBAR is put back (through the
 * moved window when the move took). */
#include <minihv/format.h>
#include <minihv/io.h>
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "tests/guests/attack.h"
#include "tests/guests/print.h"

#define PCIEXBAR    0x60 /* q35 MCH_HOST_BRIDGE_PCIEXBAR, 64-bit */
#define PCIEXBAR_EN 1u

static uint64_t ecam_fn(uint64_t base, unsigned bus, unsigned dev, unsigned fn)
{
    return base + ((uint64_t)bus << 20 | dev << 15 | fn << 12);
}

static uint32_t read32(uint64_t pa)
{
    uint32_t v = ~0u;
    if (atk_read32(pa, &v))
        v = ~0u; /* a fault counts as nothing there */
    return v;
}

/* The first 256 MiB-aligned candidate below 4 GiB, not the current window,
 * where neither bus 0's host bridge nor the device answers now. */
static uint64_t pick_hole(uint64_t cur)
{
    static const uint64_t candidates[] = { 0xe0000000ull, 0xd0000000ull, 0xc0000000ull, 0xa0000000ull };
    for (unsigned i = 0; i < ARRAY_SIZE(candidates); i++) {
        uint64_t c = candidates[i];
        if (c == cur || (c < env.ram_top))
            continue;
        uint32_t a = read32(c), b = read32(ecam_fn(c, env.bus, env.dev, env.fn));
        if ((a == ~0u || a == 0) && (b == ~0u || b == 0))
            return c;
    }
    return 0;
}

/* Puts PCIEXBAR back to lo/hi: through the window at `moved` when the host
 * bridge answers there (the move took), and through CF8/CFC. */
static void put_back(uint64_t moved, uint32_t lo, uint32_t hi)
{
    if (moved && (read32(moved) & 0xffff) == 0x8086) {
        atk_write32(moved + PCIEXBAR + 4, hi);
        atk_write32(moved + PCIEXBAR, lo);
    }
    atk_cfg_write32(0, 0, 0, PCIEXBAR + 4, hi);
    atk_cfg_write32(0, 0, 0, PCIEXBAR, lo);
}

void attack_ecam_move(void)
{
    const char *name = "ecam-move";
    if (!env.have_bdf || !env.ecam) {
        atk_skip(name, "needs a passthrough device (bdf=) and an MCFG");
        return;
    }
    uint32_t id = atk_cfg_read32(0, 0, 0, 0);
    if ((id & 0xffff) != 0x8086) {
        atk_skip(name, "host bridge 00:00.0 is 0x%08x, not Intel (no PCIEXBAR)", id);
        return;
    }
    uint32_t lo = atk_cfg_read32(0, 0, 0, PCIEXBAR), hi = atk_cfg_read32(0, 0, 0, PCIEXBAR + 4);
    uint64_t cur = ((uint64_t)hi << 32 | lo) & 0x0000fffff0000000ull;
    if (!(lo & PCIEXBAR_EN) || cur != env.ecam) {
        atk_skip(name, "PCIEXBAR 0x%08x%08x is not the MCFG's window 0x%lx", hi, lo, env.ecam);
        return;
    }
    uint64_t hole = pick_hole(cur);
    if (!hole) {
        atk_skip(name, "no free 256 MiB hole below 4 GiB to move ECAM to");
        return;
    }
    uint64_t dev_at = ecam_fn(hole, env.bus, env.dev, env.fn);
    uint32_t dev_id = read32(ecam_fn(env.ecam, env.bus, env.dev, env.fn)); /* what the model shows */
    uint32_t want = (uint32_t)hole | (lo & 0xfffffffu);
    unsigned bad = 0;
    char first[240] = "";
    struct {
        const char *how;
        bool ecam;
    } ways[] = { { "CF8/CFC", false }, { "the host bridge's ECAM page", true } };
    for (unsigned w = 0; w < ARRAY_SIZE(ways); w++) {
        uint64_t f = atk_irq_save();
        if (ways[w].ecam) {
            atk_write32(env.ecam + PCIEXBAR + 4, 0);
            atk_write32(env.ecam + PCIEXBAR, want);
        } else {
            atk_cfg_write32(0, 0, 0, PCIEXBAR + 4, 0);
            atk_cfg_write32(0, 0, 0, PCIEXBAR, want);
        }
        uint32_t rb = atk_cfg_read32(0, 0, 0, PCIEXBAR), rb_hi = atk_cfg_read32(0, 0, 0, PCIEXBAR + 4);
        uint32_t seen = read32(dev_at), bridge = read32(hole);
        put_back(hole, lo, hi);
        uint32_t after = atk_cfg_read32(0, 0, 0, PCIEXBAR);
        atk_irq_restore(f);
        bool reached = (seen & 0xffff) != 0xffff && seen != 0;
        guest_print("attack: ecam-move: PCIEXBAR 0x%08x -> 0x%08x through %s: reads back 0x%08x%08x; at 0x%lx the "
                    "device reads 0x%08x (the model: 0x%08x), the host bridge 0x%08x; put back: 0x%08x",
                    lo, want, ways[w].how, rb_hi, rb, dev_at, seen, dev_id, bridge, after);
        if ((rb != lo || rb_hi != hi || reached) && !bad++)
            fmt_snprintf(first, sizeof(first), "PCIEXBAR written 0x%08x through %s reads back 0x%08x (want 0x%08x "
                         "unchanged); the device %02x:%02x.%x at the moved window 0x%lx reads 0x%08x", want,
                         ways[w].how, rb, lo, env.bus, env.dev, env.fn, dev_at, seen);
    }
    char why[240];
    bool ok = atk_core_intact(why, sizeof(why));
    uint32_t now = read32(ecam_fn(env.ecam, env.bus, env.dev, env.fn));
    if (now != dev_id && !bad++)
        fmt_snprintf(first, sizeof(first), "the device's ECAM page at 0x%lx reads 0x%08x after (was 0x%08x)",
                     ecam_fn(env.ecam, env.bus, env.dev, env.fn), now, dev_id);
    if (!bad && ok)
        atk_pass(name, "PCIEXBAR unchanged after writes through CF8/CFC and ECAM; nothing at 0x%lx; %s", hole, why);
    else
        atk_fail(name, "%s%s%s", first, first[0] ? "; " : "", ok ? "core intact otherwise" : why);
}
