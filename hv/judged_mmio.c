/* See judged_mmio.h. */
#include "hv/judged_mmio.h"
#include <minihv/format.h>
#include <minihv/x86.h>
#include "hv/console.h"
#include "hv/decode.h"
#include "hv/devmodel.h"
#include "hv/ept.h"
#include "hv/hv.h"
#include "hv/refuse.h"
#include "hv/vcpu.h"

struct judged_page {
    enum special_kind kind;
    uint64_t base;
    const char *what;
    judged_write_fn judge;
    uint64_t writes, dropped;
};
static struct judged_page pages[JUDGED_MMIO_MAX];
static unsigned page_count;

static struct judged_page *find(uint64_t gpa)
{
    uint64_t base = gpa & ~(uint64_t)(PAGE_SIZE - 1);
    for (unsigned i = 0; i < page_count; i++)
        if (pages[i].base == base)
            return &pages[i];
    return NULL;
}

struct write_ctx {
    struct vcpu *v;
    struct judged_page *p;
};

static bool judged_write(void *ctx, uint64_t gpa, unsigned size, uint64_t value)
{
    struct write_ctx *c = ctx;
    __atomic_add_fetch(&c->p->writes, 1, __ATOMIC_RELAXED);
    /* Past the page end the core would write the next page through its own
     * map, whatever the guest map says of it (a special page, the block):
     * only into a row of the same judge (a FADT register across a page
     * end), else dropped as the sub-page BAR path does (review R2). */
    if ((gpa & (PAGE_SIZE - 1)) + size > PAGE_SIZE) {
        const struct judged_page *next = find(gpa + size - 1);
        if (!next || next->judge != c->p->judge) {
            __atomic_add_fetch(&c->p->dropped, 1, __ATOMIC_RELAXED);
            hv_refuse(HV_REFUSE_MMIO_BOUNDS, "cpu %u: %u-byte write at 0x%lx crosses the end of %s: dropped",
                      c->v->index, size, gpa, c->p->what);
            return true;
        }
    }
    if (!c->p->judge(c->v, gpa, size, value)) {
        __atomic_add_fetch(&c->p->dropped, 1, __ATOMIC_RELAXED);
        return true;
    }
    devmodel_write_mmio(gpa, size, value);
    return true;
}

static bool judged_npf(struct vcpu *v, uint64_t gpa, unsigned access)
{
    struct judged_page *p = find(gpa);
    if (!p)
        return false;
    struct write_ctx c = { v, p };
    struct decode_mmio_ops ops = { devmodel_native_read, judged_write, &c };
    vcpu_emulate_page(v, gpa, access, &ops, p->what);
    return true;
}

static void judged_summary(void (*emit)(const char *line))
{
    char line[160];
    for (unsigned i = 0; i < page_count; i++) {
        fmt_snprintf(line, sizeof(line), "judged page %s 0x%lx (%s): writes (exits) %lu, dropped %lu",
                     special_kind_name(pages[i].kind), pages[i].base, pages[i].what, pages[i].writes,
                     pages[i].dropped);
        emit(line);
    }
}

static const struct devmodel judged_model = {
    .name = "judged mmio",
    .npf = judged_npf,
    .summary = judged_summary,
};

int judged_mmio_add(enum special_kind kind, uint64_t addr, const char *what, judged_write_fn judge)
{
    uint64_t base = addr & ~(uint64_t)(PAGE_SIZE - 1);
    struct judged_page *p = find(base);
    if (p && p->judge == judge && p->kind == kind)
        return 0;
    const struct special_page *e = special_find(&hv_special, base, PAGE_SIZE);
    const char *why = p ? p->what
                    : e ? special_kind_name(e->kind)
                    : page_count >= JUDGED_MMIO_MAX ? "table full"
                    : NULL;
    if (why) {
        hv_log("judged mmio: %s at 0x%lx NOT trapped: its page is taken (%s)", what, addr, why);
        return -1;
    }
    /* The model before the page: a trapped page nobody claims is fatal. */
    if (!page_count && devmodel_register(&judged_model))
        return -1;
    /* Before the guest map is built: ept_build applies the entry. */
    if (ept_reserve(kind, base, PAGE_SIZE, SPECIAL_MAP_READ_ONLY))
        return -1;
    pages[page_count++] = (struct judged_page){ kind, base, what, judge, 0, 0 };
    return 0;
}
