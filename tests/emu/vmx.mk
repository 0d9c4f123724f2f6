# check-vmx: minihv's VMX core in Bochs + OVMF, checked from inside by the
# probe guest (tests/guests/probe.c). The lead adds it to CHECK_SUITES.
check-vmx: $(BUILD)/minihv.efi $(BUILD)/probe.efi
	$(Q)BUILD=$(BUILD) bash tests/emu/vmx.sh

.PHONY: check-vmx
