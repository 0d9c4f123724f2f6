/* See fw_cfg.h. */
#include "hv/fw_cfg.h"
#include <minihv/boot_info.h>
#include <minihv/format.h>
#include <minihv/io.h>
#include "hv/console.h"
#include "hv/devmodel.h"
#include "hv/heap.h"
#include "hv/hv.h"
#include "hv/io.h"
#include "hv/lock.h"
#include "hv/refuse.h"
#include "hv/vcpu.h"

#define FW_CFG_DMA_ADDR_HIGH 0x514
#define FW_CFG_DMA_ADDR_LOW  0x518
#define FW_CFG_DMA_PORTS     8
/* FWCfgDmaAccess.control (docs/specs/fw_cfg.rst "DMA interface"). */
#define FW_CFG_DMA_CTL_ERROR  0x01u
#define FW_CFG_DMA_CTL_READ   0x02u
#define FW_CFG_DMA_CTL_SKIP   0x04u
#define FW_CFG_DMA_CTL_SELECT 0x08u
#define FW_CFG_DMA_CTL_WRITE  0x10u
#define FW_CFG_DMA_DESC_SIZE 16 /* be32 control, be32 length, be64 address */

struct fw_cfg_dma_desc {
    uint32_t control, length; /* big-endian */
    uint64_t address;
};

/* The high dword the guest last wrote (QEMU: a write there sets the
 * address to value << 32), and the core's own copy of the descriptor,
 * which is the one QEMU reads. One fw_cfg, shared by every CPU: one
 * request at a time under the lock (QEMU serializes them as well). */
static uint32_t addr_high;
static volatile struct fw_cfg_dma_desc *copy; /* QEMU writes its control field back */
static struct spinlock lock;
static uint64_t carried, refused;

static void guest_control(uint64_t desc, uint32_t be_control)
{
    *(volatile uint32_t *)(uintptr_t)desc = be_control;
}

/* A request (its descriptor at desc, guest-physical): carried out when
 * the descriptor and the buffer it names are guest RAM off every special
 * page, else refused with the error bit. */
static void fw_cfg_dma_request(struct vcpu *v, uint64_t desc)
{
    if (!vcpu_gpa_ok(desc, FW_CFG_DMA_DESC_SIZE)) {
        __atomic_add_fetch(&refused, 1, __ATOMIC_RELAXED);
        hv_refuse(HV_REFUSE_FW_CFG_DMA, "cpu %u: fw_cfg DMA request, descriptor at 0x%lx not in guest RAM: not "
                  "started, left alone", v->index, desc);
        return;
    }
    spin_lock(&lock);
    /* Read once into the core's copy: what QEMU acts on is what was
     * checked, whatever another CPU writes to the guest's afterwards. */
    const volatile struct fw_cfg_dma_desc *g = (const volatile struct fw_cfg_dma_desc *)(uintptr_t)desc;
    copy->control = g->control;
    copy->length = g->length;
    copy->address = g->address;
    uint32_t control = __builtin_bswap32(copy->control), length = __builtin_bswap32(copy->length);
    uint64_t address = __builtin_bswap64(copy->address);
    /* READ copies the item into the buffer, WRITE from it; SKIP and a
     * bare SELECT touch no memory (QEMU tests READ, then WRITE, then SKIP). */
    bool buffer = (control & (FW_CFG_DMA_CTL_READ | FW_CFG_DMA_CTL_WRITE)) && length;
    if (buffer && !vcpu_gpa_ok(address, length)) {
        guest_control(desc, __builtin_bswap32(FW_CFG_DMA_CTL_ERROR));
        spin_unlock(&lock);
        __atomic_add_fetch(&refused, 1, __ATOMIC_RELAXED);
        hv_refuse(HV_REFUSE_FW_CFG_DMA, "cpu %u: fw_cfg DMA of %u bytes to or from 0x%lx (descriptor 0x%lx): not "
                  "guest RAM: not started, its control set to the error bit", v->index, length, address, desc);
        return;
    }
    uint64_t pa = (uint64_t)(uintptr_t)copy; /* identity map: the copy's physical address */
    outl(FW_CFG_DMA_ADDR_HIGH, __builtin_bswap32((uint32_t)(pa >> 32)));
    outl(FW_CFG_DMA_ADDR_LOW, __builtin_bswap32((uint32_t)pa)); /* QEMU runs it now */
    __asm__ volatile("" ::: "memory");
    guest_control(desc, copy->control);                        /* 0, or the error bit */
    spin_unlock(&lock);
    __atomic_add_fetch(&carried, 1, __ATOMIC_RELAXED);
}

static bool fw_cfg_dma_io(struct vcpu *v, uint16_t port, unsigned size, bool in, uint32_t *value)
{
    if (in) {
        io_hw(port, size, true, value); /* the "QEMU CFG" signature */
        return true;
    }
    /* QEMU acts only on aligned dword writes at the two halves; the rest
     * it ignores, and so does the core. The device's registers are
     * big-endian. */
    if (size != 4)
        return true;
    uint32_t dword = __builtin_bswap32(*value);
    if (port == FW_CFG_DMA_ADDR_HIGH) {
        __atomic_store_n(&addr_high, dword, __ATOMIC_RELAXED);
        return true;
    }
    if (port == FW_CFG_DMA_ADDR_LOW)
        fw_cfg_dma_request(v, (uint64_t)__atomic_load_n(&addr_high, __ATOMIC_RELAXED) << 32 | dword);
    return true;
}

static void fw_cfg_summary(void (*emit)(const char *line))
{
    char line[120];
    fmt_snprintf(line, sizeof(line), "fw_cfg: DMA requests carried out %lu, refused %lu", carried, refused);
    emit(line);
}

static const struct devmodel fw_cfg_devmodel = {
    .name = "fw_cfg",
    .summary = fw_cfg_summary,
};

int fw_cfg_register(const struct minihv_boot_info *bi)
{
    if (!(bi->fw_cfg_flags & MINIHV_FW_CFG_PRESENT))
        return 0;
    copy = (volatile struct fw_cfg_dma_desc *)(uintptr_t)heap_alloc(1);
    if (!copy || io_register(FW_CFG_DMA_ADDR_HIGH, FW_CFG_DMA_PORTS, fw_cfg_dma_io, "the fw_cfg DMA address")) {
        hv_log("io: cannot intercept ports 0x514-0x51b (%s): fw_cfg DMA could write the block; not virtualizing",
               copy ? "table full or taken" : "no page for the descriptor copy");
        return -1;
    }
    devmodel_register(&fw_cfg_devmodel);
    hv_log("fw_cfg: DMA address ports 0x514-0x51b intercepted (DMA interface %s): a request runs from the core's "
           "copy of its descriptor when it and its buffer are guest RAM, else it is refused",
           bi->fw_cfg_flags & MINIHV_FW_CFG_DMA ? "present" : "not advertised");
    return 0;
}
