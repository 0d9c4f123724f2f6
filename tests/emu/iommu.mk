# check-iommu (issue 9): the IOMMU providers in QEMU with the DMA probe
# (tests/emu/iommu.sh).
CHECK_SUITES += iommu
check-iommu: $(BUILD)/minihv.efi $(BUILD)/dmaprobe.efi
	$(Q)BUILD=$(BUILD) nice -n 5 bash tests/emu/iommu.sh

.PHONY: check-iommu
