/* Attack a20 (issue 14, hv/io.h "the A20 gate"): the guest turns the A20
 * gate off every way a PC has — port 0x92 bit 1, the 8042's "disable A20"
 * command 0xdd, and the 8042 output port (command 0xd1, then the byte with
 * bit 1 clear, also with another command between the two) — and asks the
 * core to answer with the gate (it hopes) off.
 * QEMU masks address bit 20 of every access of CPU 0, in host mode too, so
 * an unprotected core then walks its page tables and reads its data 1 MiB
 * off wherever bit 20 is set; so does Bochs (VMX), though VMXON disables
 * A20M on hardware. Unfixed, both guests' own next accesses were masked
 * (a triple fault, the machine reset). Checks: the core answers (PING on
 * this CPU, every CPU, HV_CHECKSUM) after each way, port 0x92 reads back
 * with A20 on, and the gate is left as it was found. */
#include <minihv/format.h>
#include <minihv/io.h>
#include "tests/guests/attack.h"

static bool kbc_wait_input_empty(void)
{
    for (unsigned spin = 0; spin < 100000; spin++)
        if (!(inb(0x64) & 0x02)) /* status bit 1: input buffer full */
            return true;
    return false;
}

/* A byte to the 8042 (port 0x64 or 0x60) when the steps before went
 * through, then its input buffer drained: false once one never drains. */
static bool kbc_send(bool ok, uint16_t port, uint8_t byte)
{
    if (!ok)
        return false;
    outb(port, byte);
    return kbc_wait_input_empty();
}

void attack_a20(void)
{
    const char *name = "a20";
    static char why[240];
    uint64_t flags = atk_irq_save();
    uint8_t scp = inb(0x92);
    outb(0x92, (uint8_t)(scp & ~0x03)); /* A20 off, INIT_NOW clear */
    uint8_t scp_now = inb(0x92);
    bool intact_92 = atk_core_intact_self(why, sizeof(why));
    outb(0x92, scp);
    bool kbc = kbc_send(kbc_wait_input_empty(), 0x64, 0xdd); /* disable A20 */
    bool intact_dd = intact_92 && atk_core_intact_self(why, sizeof(why));
    kbc = kbc_send(kbc, 0x64, 0xdf); /* enable A20 */
    kbc = kbc_send(kbc, 0x64, 0xd1); /* write the output port: reset line high (bit 0), A20 (bit 1) clear */
    kbc = kbc_send(kbc, 0x60, 0x01);
    /* 0xd1, then a command that takes no byte (0xad: keyboard off), then
     * the output port: QEMU's 8042 still takes it (review R). */
    kbc = kbc_send(kbc, 0x64, 0xd1);
    kbc = kbc_send(kbc, 0x64, 0xad);
    kbc = kbc_send(kbc, 0x60, 0x01);
    kbc = kbc_send(kbc, 0x64, 0xae); /* keyboard on again */
    uint8_t scp_d1 = inb(0x92);
    bool intact_d1 = intact_dd && atk_core_intact_self(why, sizeof(why));
    (void)kbc_send(kbc, 0x64, 0xdf); /* A20 on again */
    outb(0x92, scp);
    uint8_t scp_end = inb(0x92);
    atk_irq_restore(flags);
    atk_note(name, "port 0x92 was 0x%x, 0x%x after writing A20 off, 0x%x after the 8042's, 0x%x at the end; 8042 %s",
             scp, scp_now, scp_d1, scp_end, kbc ? "answered" : "did not drain its input buffer");
    if (!intact_d1)
        atk_fail(name, "with A20 off (%s): %s", !intact_92 ? "port 0x92" : !intact_dd ? "8042 0xdd" : "8042 output port",
                 why);
    else if (!(scp_now & 0x02))
        atk_fail(name, "port 0x92 reads 0x%x after the write: the A20 gate went off (the core intact by chance)", scp_now);
    else if (!atk_core_intact(why, sizeof(why)))
        atk_fail(name, "after the writes: %s", why);
    else
        atk_pass(name, "port 0x92 bit 1 and the 8042's 0xdd and output port: the gate stayed on (0x92 reads 0x%x), "
                 "core intact", scp_now);
}
