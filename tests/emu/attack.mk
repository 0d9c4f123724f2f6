# check-attack (issue 14): the attack guest (tests/guests/attack*.c) in
# QEMU (SVM; intel-iommu, amd-iommu) and Bochs (VMX); tests/emu/attack.sh.
# ATTACK_ALL=1 runs every attack, not only ATTACKS_IN_CHECK.
CHECK_SUITES += attack
check-attack: $(BUILD)/minihv.efi $(BUILD)/attack.efi $(BUILD)/fadtmem.efi
	$(Q)BUILD=$(BUILD) bash tests/emu/attack.sh

.PHONY: check-attack
