/* See log_ring.h. */
#include <minihv/format.h>
#include <minihv/hypercall.h>
#include <minihv/libc.h>
#include <minihv/logring.h>
#include "hv/console.h"
#include "hv/devmodel.h"
#include "hv/ept.h"
#include "hv/log_ring.h"
#include "hv/refuse.h"
#include "hv/special_pages.h"
#include "hv/vcpu.h"
#include "log/ring_write.h"

static struct minihv_log_header *ring;
static uint64_t ring_phys, ring_size;
static volatile int loader_done;

/* NULL when the area the loader handed over is one the core can use:
 * inside its identity map, outside its block, Reserved in the memory map,
 * and a header as log_ring_format writes it. Else the field at fault. */
static const char *area_refusal(const struct minihv_boot_info *bi)
{
    uint64_t phys = bi->log_phys, size = bi->log_size;
    if (phys & 4095)
        return "log_phys: not 4 KiB aligned";
    if (size < log_ring_area_size(LOG_RING_DATA_MIN) || (size & 4095) ||
        size > log_ring_area_size(LOG_RING_DATA_MAX))
        return "log_size: not 8 KiB .. 64 MiB + 4 KiB in whole pages";
    if (phys + size < phys || phys + size > bi->phys_top)
        return "log_phys + log_size: past the core's identity map (phys_top)";
    if (phys < bi->hv_phys_base + bi->hv_phys_size && bi->hv_phys_base < phys + size)
        return "log_phys: overlaps the core's block";
    bool reserved = false;
    for (unsigned i = 0; i < bi->mem_range_count && i < MINIHV_MAX_MEM_RANGES; i++) {
        const struct minihv_mem_range *r = &bi->mem[i];
        if (r->type == MINIHV_MEM_RESERVED && r->base <= phys && phys + size <= r->base + r->size)
            reserved = true;
    }
    if (!reserved)
        return "log_phys: not inside a Reserved range of the memory map";
    const struct minihv_log_header *h = (const void *)(uintptr_t)phys;
    if (h->magic != MINIHV_LOG_MAGIC)
        return "header.magic";
    if (h->version != MINIHV_LOG_VERSION || h->header_size != sizeof(*h))
        return "header.version or header_size";
    if (h->header_check != log_ring_header_check(h))
        return "header.header_check";
    if (h->area_size != size)
        return "header.area_size: not log_size";
    if (h->data_offset < sizeof(*h) || (h->data_offset & 7) || !range_ok(h->data_offset, h->data_size, size) ||
        h->data_size < LOG_RING_DATA_MIN || (h->data_size & (h->data_size - 1)))
        return "header.data_offset or data_size";
    return NULL;
}

/* The guest's reads of the ring never exit (read-only mapping); an
 * instruction that writes exits and is emulated here: its read part sees
 * the ring, its write is dropped. */
static bool ring_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *value)
{
    (void)ctx;
    *value = size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
    if (range_ok(gpa - ring_phys, size, ring_size) && gpa >= ring_phys) {
        *value = 0;
        memcpy(value, (const void *)(uintptr_t)gpa, size);
    }
    return true;
}

static bool ring_write(void *ctx, uint64_t gpa, unsigned size, uint64_t value)
{
    struct vcpu *v = ctx;
    (void)value;
    hv_refuse(HV_REFUSE_LOG_WRITE, "cpu %u: %u-byte write to the log ring at 0x%lx (RIP 0x%lx): dropped",
              v->index, size, gpa, v->regs.rip);
    return true;
}

static bool ring_npf(struct vcpu *v, uint64_t gpa, unsigned access)
{
    if (!ring || gpa < ring_phys || gpa - ring_phys >= ring_size)
        return false;
    vcpu_count(v, MINIHV_EXIT_NPF_MMIO);
    if (access & NPF_FETCH) { /* mapped R+X: cannot happen, refused like any fetch */
        vcpu_refuse_fetch(v, gpa, "the log ring");
        return true;
    }
    struct decode_mmio_ops ops = { ring_read, ring_write, v };
    struct decoded_insn insn;
    enum decode_status st = vcpu_emulate_mmio(v, gpa, &ops, &insn);
    unsigned element = st == DECODE_ERR_STRING && (access & NPF_WRITE) ? vcpu_drop_string_store(v, &insn) : 0;
    if (element)
        ring_write(v, gpa, element, 0); /* refused log-write, counted, dropped */
    else if (st != DECODE_OK)
        vcpu_refuse_insn(v, gpa, st, &insn, "the log ring");
    return true;
}

static void ring_summary(void (*emit)(const char *line))
{
    char line[200];
    if (!ring) {
        emit("log ring: none (serial only)");
        return;
    }
    fmt_snprintf(line, sizeof(line), "log ring 0x%lx+%lu KiB: %lu lines, %lu dropped (overwritten), %lu lost "
                 "(ring busy), guest writes refused %lu", ring_phys, ring_size >> 10,
                 (unsigned long)ring->next_seq, (unsigned long)ring->dropped, (unsigned long)ring->lost,
                 (unsigned long)hv_refuse_count(HV_REFUSE_LOG_WRITE));
    emit(line);
}

static const struct devmodel log_ring_model = {
    .name = "log-ring",
    .npf = ring_npf,
    .summary = ring_summary,
};

void log_ring_core_init(const struct minihv_boot_info *bi)
{
    if (!bi || !bi->log_phys) {
        hv_log("log ring: none from the loader: serial only");
        return;
    }
    const char *why = area_refusal(bi);
    if (why) {
        hv_log("log ring at 0x%lx+0x%lx refused: %s; serial only", bi->log_phys, bi->log_size, why);
        return;
    }
    /* Read-only for the guest before the core writes a line to it: the
     * map is built later (ept_build applies what is registered). */
    if (ept_reserve(SPECIAL_LOG_RING, bi->log_phys, bi->log_size, SPECIAL_MAP_READ_ONLY_WB))
        return; /* logged; a ring the guest could write is not used */
    devmodel_register(&log_ring_model);
    ring_phys = bi->log_phys;
    ring_size = bi->log_size;
    ring = (struct minihv_log_header *)(uintptr_t)ring_phys;
    if (console_set_ring(ring, ring_size)) {
        hv_log("log ring at 0x%lx: its header changed since the check: serial only", ring_phys);
        ring = NULL;
        return;
    }
    log_ring_set_flags(ring, MINIHV_LOG_FLAG_CORE);
    hv_log("log ring 0x%lx+%lu KiB (boot %lu): the core's lines go there too; read-only for the guest",
           ring_phys, ring_size >> 10, (unsigned long)ring->boot_count);
}

bool log_ring_range(uint64_t *phys, uint64_t *size)
{
    *phys = ring_phys;
    *size = ring_size;
    return ring != NULL;
}

int64_t log_ring_loader_hypercall(struct vcpu *v, uint64_t gpa, uint64_t len)
{
    if (__atomic_load_n(&loader_done, __ATOMIC_ACQUIRE)) {
        hv_refuse(HV_REFUSE_LOG_WRITE, "cpu %u: loader-log hypercall after the loader started the guest "
                  "(RIP 0x%lx): EPERM", v->index, v->regs.rip);
        return MINIHV_HC_EPERM;
    }
    if (!gpa && !len) {
        __atomic_store_n(&loader_done, 1, __ATOMIC_RELEASE);
        return MINIHV_HC_OK;
    }
    char text[MINIHV_LOG_TEXT_MAX];
    if (!len || len > sizeof(text))
        return MINIHV_HC_EINVAL;
    if (!vcpu_gpa_ok(gpa, len))
        return MINIHV_HC_EFAULT;
    memcpy(text, (const void *)(uintptr_t)gpa, (size_t)len);
    console_ring_line(MINIHV_LOG_CPU_LOADER, MINIHV_LOG_SRC_LOADER, text, (size_t)len);
    return MINIHV_HC_OK;
}
