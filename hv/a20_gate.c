/* See a20_gate.h; the decision is a20_gate_write (hv/io.c). */
#include "hv/a20_gate.h"
#include "hv/console.h"
#include "hv/io.h"
#include "hv/refuse.h"
#include "hv/vcpu.h"

/* The 8042 is one device: one state for every CPU (a guest that
 * interleaves two CPUs' 0xd1/0x60 pairs gets what the 8042 would give it,
 * the gate stays on either way). */
static bool kbc_outport_next;

static bool a20_gate_io(struct vcpu *v, uint16_t port, unsigned size, bool in, uint32_t *value)
{
    uint32_t result = 0, out = in ? 0 : *value;
    for (unsigned i = 0; i < size; i++) {
        uint16_t p = (uint16_t)(port + i);
        uint32_t byte = (out >> (8 * i)) & 0xff;
        bool mine = p == A20_PORT_SCP_A || p == A20_PORT_KBC || p == A20_PORT_KBD;
        if (!in && mine) {
            uint8_t b = (uint8_t)byte;
            bool refused, pass = a20_gate_write(p, &b, &kbc_outport_next, &refused);
            if (refused)
                hv_refuse(HV_REFUSE_A20, "cpu %u: write of 0x%x to port 0x%x would turn the A20 gate off "
                          "(address bit 20 masked, the core's memory too): %s", v->index, (unsigned)byte, p,
                          pass ? "written with A20 on" : "dropped");
            byte = b;
            if (!pass)
                continue;
        }
        io_hw(p, 1, in, &byte);
        result |= (byte & 0xff) << (8 * i);
    }
    if (in)
        *value = result;
    return true;
}

void a20_gate_register(void)
{
    static const uint16_t ports[] = { A20_PORT_KBD, A20_PORT_KBC, A20_PORT_SCP_A };
    for (unsigned i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
        if (io_register(ports[i], 1, a20_gate_io, "the A20 gate"))
            hv_log("io: cannot intercept port 0x%x (table full): the guest can turn the A20 gate off", ports[i]);
}
