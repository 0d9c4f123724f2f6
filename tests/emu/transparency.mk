# check-transparency (issue 15): the transparency guest bare vs under
# minihv, check by check, on QEMU (SVM) and Bochs (VMX).
CHECK_SUITES += transparency
check-transparency: $(BUILD)/minihv.efi $(BUILD)/transparency.efi
	$(Q)BUILD=$(BUILD) bash tests/emu/transparency.sh

.PHONY: check-transparency
