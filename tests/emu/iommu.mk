# check-iommu (issue 9): the IOMMU providers in QEMU with the DMA probe
# (tests/emu/iommu.sh).
CHECK_SUITES += iommu
check-iommu: $(BUILD)/minihv.efi $(BUILD)/dmaprobe.efi $(BUILD)/ringdma.efi $(BUILD)/linux/initrd.img
	$(Q)BUILD=$(BUILD) bash tests/emu/iommu.sh

.PHONY: check-iommu
