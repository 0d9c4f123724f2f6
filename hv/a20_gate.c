/* See a20_gate.h; the decision is a20_gate_write (hv/io.c). */
#include "hv/a20_gate.h"
#include <minihv/format.h>
#include "hv/console.h"
#include "hv/devmodel.h"
#include "hv/io.h"
#include "hv/lock.h"
#include "hv/refuse.h"
#include "hv/vcpu.h"

/* The 8042 is one device: one state for every CPU, and the decision and
 * the write to the hardware under one lock, so the 8042 sees the writes in
 * the order the state saw them (two CPUs racing 0xd1 and another command
 * could leave it expecting the output port while the state did not:
 * review R). */
static bool kbc_outport_next;
static struct spinlock gate_lock;
/* Accesses per port (each one an exit: the cost, in the summary). */
static uint64_t accesses[3];
static const uint16_t gate_ports[3] = { A20_PORT_KBD, A20_PORT_KBC, A20_PORT_SCP_A };

static bool a20_gate_io(struct vcpu *v, uint16_t port, unsigned size, bool in, uint32_t *value)
{
    uint32_t result = 0, out = in ? 0 : *value;
    int refused_port = -1; /* logged after the lock: the first refused byte */
    uint32_t refused_byte = 0;
    bool refused_dropped = false;
    spin_lock(&gate_lock);
    for (unsigned i = 0; i < size; i++) {
        uint16_t p = (uint16_t)(port + i);
        uint32_t byte = (out >> (8 * i)) & 0xff;
        bool mine = false;
        for (unsigned k = 0; k < 3; k++)
            if (p == gate_ports[k]) {
                __atomic_add_fetch(&accesses[k], 1, __ATOMIC_RELAXED);
                mine = true;
            }
        if (!in && mine) {
            uint8_t b = (uint8_t)byte;
            bool refused, pass = a20_gate_write(p, &b, &kbc_outport_next, &refused);
            if (refused && refused_port < 0) {
                refused_port = p;
                refused_byte = byte;
                refused_dropped = !pass;
            }
            byte = b;
            if (!pass)
                continue;
        }
        io_hw(p, 1, in, &byte);
        result |= (byte & 0xff) << (8 * i);
    }
    spin_unlock(&gate_lock);
    if (refused_port >= 0)
        hv_refuse(HV_REFUSE_A20, "cpu %u: write of 0x%x to port 0x%x would turn the A20 gate off (address bit 20 "
                  "masked, the core's memory too): %s", v->index, (unsigned)refused_byte, (unsigned)refused_port,
                  refused_dropped ? "dropped" : "written with A20 on");
    if (in)
        *value = result;
    return true;
}

static void a20_gate_summary(void (*emit)(const char *line))
{
    char line[120];
    fmt_snprintf(line, sizeof(line), "a20 gate: port accesses (exits) 0x60 %lu, 0x64 %lu, 0x92 %lu",
                 accesses[0], accesses[1], accesses[2]);
    emit(line);
}

static const struct devmodel a20_gate_devmodel = {
    .name = "a20 gate",
    .summary = a20_gate_summary,
};

void a20_gate_register(void)
{
    for (unsigned i = 0; i < 3; i++)
        if (io_register(gate_ports[i], 1, a20_gate_io, "the A20 gate"))
            hv_log("io: cannot intercept port 0x%x (table full): the guest can turn the A20 gate off", gate_ports[i]);
    devmodel_register(&a20_gate_devmodel);
}
