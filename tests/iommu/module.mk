# Issue 9 (IOMMU) in the emulator: build/dmaprobe.efi, the guest that makes
# QEMU's edu device DMA into the core's block (tests/emu/iommu.sh).
$(eval $(call efi_app,dmaprobe,tests/iommu/dmaprobe.c tests/guests/print.c lib/string.c lib/format.c))

# Review R (issue 17): ringdma.efi makes edu DMA a forged header into the
# log ring, then has the core log a line (tests/emu/iommu.sh ringdma-vtd).
$(eval $(call efi_app,ringdma,tests/iommu/ringdma.c tests/guests/print.c lib/string.c lib/format.c))
