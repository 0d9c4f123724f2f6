/* See fw_cfg.h. */
#include "hv/fw_cfg.h"
#include <minihv/boot_info.h>
#include "hv/console.h"
#include "hv/hv.h"
#include "hv/io.h"
#include "hv/refuse.h"
#include "hv/vcpu.h"

#define FW_CFG_DMA_ADDR_HIGH 0x514
#define FW_CFG_DMA_ADDR_LOW  0x518
#define FW_CFG_DMA_PORTS     8
#define FW_CFG_DMA_CTL_ERROR 0x01u /* FWCfgDmaAccess.control bit 0 */
#define FW_CFG_DMA_DESC_SIZE 16    /* be32 control, be32 length, be64 address */

/* The high dword the guest last wrote (QEMU: a write there sets the
 * address to value << 32). One fw_cfg, shared by every CPU. */
static uint32_t addr_high;

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
    if (port != FW_CFG_DMA_ADDR_LOW)
        return true;
    uint64_t desc = (uint64_t)__atomic_load_n(&addr_high, __ATOMIC_RELAXED) << 32 | dword;
    bool in_ram = vcpu_gpa_ok(desc, FW_CFG_DMA_DESC_SIZE);
    if (in_ram)
        *(volatile uint32_t *)(uintptr_t)desc = __builtin_bswap32(FW_CFG_DMA_CTL_ERROR);
    hv_refuse(HV_REFUSE_FW_CFG_DMA, "cpu %u: fw_cfg DMA request, descriptor at 0x%lx: not started, %s", v->index, desc,
              in_ram ? "its control set to the error bit" : "descriptor not in guest RAM, left alone");
    return true;
}

int fw_cfg_register(const struct minihv_boot_info *bi)
{
    if (!(bi->fw_cfg_flags & MINIHV_FW_CFG_PRESENT))
        return 0;
    if (io_register(FW_CFG_DMA_ADDR_HIGH, FW_CFG_DMA_PORTS, fw_cfg_dma_io, "the fw_cfg DMA address")) {
        hv_log("io: cannot intercept ports 0x514-0x51b (table full or taken): fw_cfg DMA could write the block; "
               "not virtualizing");
        return -1;
    }
    hv_log("fw_cfg: DMA address ports 0x514-0x51b intercepted (DMA interface %s): every request refused",
           bi->fw_cfg_flags & MINIHV_FW_CFG_DMA ? "present" : "not advertised");
    return 0;
}
