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
