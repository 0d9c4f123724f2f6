/* QEMU's fw_cfg DMA interface (QEMU docs/specs/fw_cfg.rst; review R s7
 * finding 7): the guest writes a descriptor's address, big-endian, high
 * dword to 0x514 and low dword to 0x518; the write to 0x518 makes QEMU
 * read the descriptor and copy a fw_cfg item to the address in it, in
 * system memory: past EPT/NPT and the IOMMU, into the core's block as
 * well. Where the loader saw a fw_cfg (boot_info.fw_cfg_flags) the core
 * intercepts 0x514-0x51b: a request runs from the core's own copy of its
 * descriptor, read once, when the descriptor and the buffer it names are
 * guest RAM off every special page (QEMU writes the control field back
 * into the copy; the core passes it on); any other request is not
 * started, its descriptor (in guest RAM) gets the error bit as QEMU
 * writes on a failed transfer (a driver polling it, Linux
 * fw_cfg_wait_for_control, stops), counted fw-cfg-dma. The selector and
 * data ports (0x510, 0x511) stay native. */
#ifndef MINIHV_HV_FW_CFG_H
#define MINIHV_HV_FW_CFG_H

struct minihv_boot_info;

/* At global init, before the backend builds its I/O bitmap: 0, or -1
 * when the ports cannot be intercepted (logged). */
int fw_cfg_register(const struct minihv_boot_info *bi);

#endif
