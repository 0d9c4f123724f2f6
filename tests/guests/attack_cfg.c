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
 * show the device (without bdf=, no passthrough device under
 * config_guard = on: the host bridge 00:00.0 itself). Whatever happened,
 * PCIEXBAR is put back (through the moved window when the move took). */
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
static uint64_t pick_hole(uint64_t cur, unsigned bus, unsigned dev, unsigned fn)
{
    static const uint64_t candidates[] = { 0xe0000000ull, 0xd0000000ull, 0xc0000000ull, 0xa0000000ull };
    for (unsigned i = 0; i < ARRAY_SIZE(candidates); i++) {
        uint64_t c = candidates[i];
        if (c == cur || (c < env.ram_top))
            continue;
        uint32_t a = read32(c), b = read32(ecam_fn(c, bus, dev, fn));
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
    if (!env.ecam) {
        atk_skip(name, "needs an MCFG");
        return;
    }
    /* The function looked for at the moved window: the device, else 00:00.0. */
    unsigned bus = env.have_bdf ? env.bus : 0, dev = env.have_bdf ? env.dev : 0, fn = env.have_bdf ? env.fn : 0;
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
    uint64_t hole = pick_hole(cur, bus, dev, fn);
    if (!hole) {
        atk_skip(name, "no free 256 MiB hole below 4 GiB to move ECAM to");
        return;
    }
    uint64_t dev_at = ecam_fn(hole, bus, dev, fn);
    uint32_t dev_id = read32(ecam_fn(env.ecam, bus, dev, fn)); /* what the model shows */
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
                         ways[w].how, rb, lo, bus, dev, fn, dev_at, seen);
    }
    char why[240];
    bool ok = atk_core_intact(why, sizeof(why));
    uint32_t now = read32(ecam_fn(env.ecam, bus, dev, fn));
    if (now != dev_id && !bad++)
        fmt_snprintf(first, sizeof(first), "the device's ECAM page at 0x%lx reads 0x%08x after (was 0x%08x)",
                     ecam_fn(env.ecam, bus, dev, fn), now, dev_id);
    if (!bad && ok)
        atk_pass(name, "PCIEXBAR unchanged after writes through CF8/CFC and ECAM; nothing at 0x%lx; %s", hole, why);
    else
        atk_fail(name, "%s%s%s", first, first[0] ? "; " : "", ok ? "core intact otherwise" : why);
}

/* bridge-renumber (review R, finding 3): the bridge right above the device
 * (a root port in QEMU) gets other secondary/subordinate bus numbers, a
 * closed memory window and a secondary bus reset, through CF8/CFC and
 * through its ECAM page. Renumbered, the device would answer at a bus whose
 * ECAM page is identity-mapped: its config past the model. Each register
 * must read back unchanged and the device must not show at the new bus;
 * whatever happened is put back through CF8/CFC (the bridge stays where it
 * is either way). */

#define BRIDGE_BUSES   0x18 /* primary, secondary, subordinate, latency */
#define BRIDGE_MEMORY  0x20 /* memory base, limit */
#define BRIDGE_CONTROL 0x3c /* dword with Bridge Control in bits 31:16 */
#define BRIDGE_SBR     (1u << 22) /* Bridge Control bit 6: secondary bus reset */
#define SPARE_BUS      0x40u

/* The bridge whose secondary bus is the device's, found from bus 0 down. */
static bool bridge_above(unsigned *bb, unsigned *bd, unsigned *bf)
{
    unsigned bus = 0;
    for (unsigned depth = 0; depth < 16; depth++) {
        bool next = false;
        for (unsigned d = 0; d < 32 && !next; d++)
            for (unsigned f = 0; f < 8 && !next; f++) {
                uint32_t id = atk_cfg_read32(bus, d, f, 0);
                if ((id & 0xffff) == 0xffff)
                    break;
                uint32_t hdr = atk_cfg_read32(bus, d, f, 0x0c) >> 16 & 0xff;
                if ((hdr & 0x7f) == 1) {
                    uint32_t nums = atk_cfg_read32(bus, d, f, BRIDGE_BUSES);
                    unsigned sec = nums >> 8 & 0xff, sub = nums >> 16 & 0xff;
                    if (sec == env.bus) {
                        *bb = bus, *bd = d, *bf = f;
                        return true;
                    }
                    if (sec > bus && sec < env.bus && env.bus <= sub)
                        bus = sec, next = true;
                }
                if (!f && !(hdr & 0x80))
                    break;
            }
        if (!next)
            return false;
    }
    return false;
}

void attack_bridge_renumber(void)
{
    const char *name = "bridge-renumber";
    if (!env.have_bdf || !env.ecam || !env.bus) {
        atk_skip(name, "needs a passthrough device behind a bridge (bdf= on a bus other than 0) and an MCFG");
        return;
    }
    unsigned bb, bd, bf;
    if (!bridge_above(&bb, &bd, &bf)) {
        atk_skip(name, "no bridge with secondary bus %02x found from bus 0", env.bus);
        return;
    }
    uint64_t bridge_page = ecam_fn(env.ecam, bb, bd, bf);
    uint64_t spare_page = ecam_fn(env.ecam, SPARE_BUS, env.dev, env.fn);
    uint32_t nums = atk_cfg_read32(bb, bd, bf, BRIDGE_BUSES), mem = atk_cfg_read32(bb, bd, bf, BRIDGE_MEMORY);
    uint32_t ctl = atk_cfg_read32(bb, bd, bf, BRIDGE_CONTROL);
    if ((nums >> 16 & 0xff) >= SPARE_BUS || read32(spare_page) != ~0u) {
        atk_skip(name, "bus 0x%x is in use (bridge buses 0x%08x)", SPARE_BUS, nums);
        return;
    }
    struct {
        unsigned off;
        uint32_t orig, bad;
        const char *what;
    } regs[] = {
        { BRIDGE_BUSES, nums, (nums & 0xff0000ffu) | SPARE_BUS << 8 | SPARE_BUS << 16, "bus numbers" },
        { BRIDGE_MEMORY, mem, 0x0000fff0u, "memory window (closed)" },
        { BRIDGE_CONTROL, ctl, ctl | BRIDGE_SBR, "Bridge Control (secondary bus reset)" },
    };
    unsigned bad = 0, tries = 0;
    char first[240] = "";
    for (unsigned way = 0; way < 2; way++)
        for (unsigned r = 0; r < ARRAY_SIZE(regs); r++) {
            uint64_t f = atk_irq_save();
            if (way)
                atk_write32(bridge_page + regs[r].off, regs[r].bad);
            else
                atk_cfg_write32(bb, bd, bf, regs[r].off, regs[r].bad);
            uint32_t rb = atk_cfg_read32(bb, bd, bf, regs[r].off);
            uint32_t seen = regs[r].off == BRIDGE_BUSES ? read32(spare_page) : ~0u;
            atk_cfg_write32(bb, bd, bf, regs[r].off, regs[r].orig);
            atk_irq_restore(f);
            tries++;
            const char *how = way ? "its ECAM page" : "CF8/CFC";
            guest_print("attack: bridge-renumber: %02x:%02x.%x %s 0x%08x -> 0x%08x through %s: reads back 0x%08x%s",
                        bb, bd, bf, regs[r].what, regs[r].orig, regs[r].bad, how, rb,
                        regs[r].off == BRIDGE_BUSES ? "; the device at the spare bus reads" : "");
            if (regs[r].off == BRIDGE_BUSES)
                guest_print("attack: bridge-renumber:   0x%08x at 0x%lx", seen, spare_page);
            bool reached = seen != ~0u && seen != 0;
            if ((rb != regs[r].orig || reached) && !bad++)
                fmt_snprintf(first, sizeof(first), "bridge %02x:%02x.%x %s written 0x%08x through %s reads back "
                             "0x%08x (want 0x%08x unchanged)%s", bb, bd, bf, regs[r].what, regs[r].bad, how, rb,
                             regs[r].orig, reached ? "; the device answers at the spare bus" : "");
        }
    char why[240];
    bool ok = atk_core_intact(why, sizeof(why));
    if (!bad && ok)
        atk_pass(name, "bridge %02x:%02x.%x: %u writes (bus numbers, memory window, secondary bus reset) through "
                 "CF8/CFC and ECAM, each unchanged; %s", bb, bd, bf, tries, why);
    else
        atk_fail(name, "%s%s%s", first, first[0] ? "; " : "", ok ? "core intact otherwise" : why);
}
