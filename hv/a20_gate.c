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
    uint32_t out = in ? 0 : *value, filtered = 0, result = 0;
    bool pass[4] = { true, true, true, true }, all_pass = true;
    int refused_port = -1; /* logged after the lock: the first refused byte */
    uint32_t refused_byte = 0;
    spin_lock(&gate_lock);
    for (unsigned i = 0; i < size; i++) {
        uint16_t p = (uint16_t)(port + i);
        uint8_t b = (uint8_t)(out >> (8 * i));
        for (unsigned k = 0; k < 3; k++) {
            if (p != gate_ports[k])
                continue;
            __atomic_add_fetch(&accesses[k], 1, __ATOMIC_RELAXED);
            bool refused;
            if (!in && !(pass[i] = a20_gate_write(p, &b, &kbc_outport_next, &refused)))
                all_pass = false;
            if (!in && refused && refused_port < 0) {
                refused_port = p;
                refused_byte = (uint8_t)(out >> (8 * i));
            }
        }
        filtered |= (uint32_t)b << (8 * i);
    }
    /* The FADT's RESET_REG on one of these ports (0x64 with 0xfe, 0x92):
     * registered here, not by hv/summary.c, and judged on the filtered
     * value: the summary, the write, the machine's reset. */
    bool reset = !in && all_pass && vcpu_reset_write(port, size, filtered);
    for (unsigned i = 0; !reset && i < size; i++) {
        uint32_t byte = (filtered >> (8 * i)) & 0xff;
        if (!pass[i])
            continue;
        io_hw((uint16_t)(port + i), 1, in, &byte);
        result |= (byte & 0xff) << (8 * i);
    }
    spin_unlock(&gate_lock);
    if (refused_port >= 0)
        hv_refuse(HV_REFUSE_A20, "cpu %u: write of 0x%x to port 0x%x would turn the A20 gate off (address bit 20 "
                  "masked, the core's memory too): %s", v->index, (unsigned)refused_byte, (unsigned)refused_port,
                  all_pass ? "written with A20 on" : "dropped");
    if (reset)
        return vcpu_reset_port_io(v, port, size, false, &filtered);
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

int a20_gate_register(void)
{
    for (unsigned i = 0; i < 3; i++)
        if (io_register(gate_ports[i], 1, a20_gate_io, "the A20 gate")) {
            hv_log("io: cannot intercept port 0x%x (table full or taken): the guest could turn the A20 gate off; "
                   "not virtualizing", gate_ports[i]);
            return -1;
        }
    devmodel_register(&a20_gate_devmodel);
    return 0;
}
