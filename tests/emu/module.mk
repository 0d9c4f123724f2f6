# Emulator suites: each boots minihv for real and reads its serial log.
# Further suites (check-vmx, check-svm, ...) live in tests/emu/*.mk.
CHECK_SUITES += emu

check-emu: $(BUILD)/minihv.efi
	$(Q)BUILD=$(BUILD) bash tests/emu/boot.sh

.PHONY: check-emu
include $(filter-out tests/emu/module.mk,$(wildcard tests/emu/*.mk))
