/* See devmodel.h. */
#include "hv/console.h"
#include "hv/devmodel.h"

static const struct devmodel *models[DEVMODEL_MAX];
static unsigned model_count;

int devmodel_register(const struct devmodel *m)
{
    if (model_count >= DEVMODEL_MAX) {
        hv_log("devmodel: cannot register %s: table full (%u models)", m->name, DEVMODEL_MAX);
        return -1;
    }
    models[model_count++] = m;
    return 0;
}

bool devmodel_npf(struct vcpu *v, uint64_t gpa, unsigned access)
{
    for (unsigned i = 0; i < model_count; i++)
        if (models[i]->npf && models[i]->npf(v, gpa, access))
            return true;
    return false;
}

void devmodel_summary(void (*emit)(const char *line))
{
    for (unsigned i = 0; i < model_count; i++)
        if (models[i]->summary)
            models[i]->summary(emit);
}

bool devmodel_read_in_page(uint64_t gpa, unsigned size, uint64_t *value)
{
    volatile void *p = (volatile void *)(uintptr_t)gpa;
    if ((gpa & 0xfff) + size > 0x1000) {
        *value = size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
        return true;
    }
    switch (size) {
    case 1: *value = *(volatile uint8_t *)p; return true;
    case 2: *value = *(volatile uint16_t *)p; return true;
    case 4: *value = *(volatile uint32_t *)p; return true;
    default: *value = *(volatile uint64_t *)p; return true;
    }
}

bool devmodel_native_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *value)
{
    (void)ctx;
    return devmodel_read_in_page(gpa, size, value);
}

void devmodel_write_mmio(uint64_t gpa, unsigned size, uint64_t value)
{
    volatile void *p = (volatile void *)(uintptr_t)gpa;
    switch (size) {
    case 1: *(volatile uint8_t *)p = (uint8_t)value; break;
    case 2: *(volatile uint16_t *)p = (uint16_t)value; break;
    case 4: *(volatile uint32_t *)p = (uint32_t)value; break;
    default: *(volatile uint64_t *)p = value; break;
    }
}
