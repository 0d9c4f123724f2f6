# check-vmx: minihv's VMX core in Bochs + OVMF, checked from inside by the
# probe guest (tests/guests/probe.c).
CHECK_SUITES += vmx
check-vmx: $(BUILD)/minihv.efi $(BUILD)/probe.efi
	$(Q)BUILD=$(BUILD) bash tests/emu/vmx.sh

.PHONY: check-vmx

# bench: one Bochs boot (2 CPUs), the core's exits by reason, its memory
# footprint and the EPT's 1G/2M/4K leaf counts.
bench: $(BUILD)/minihv.efi $(BUILD)/hvstats.efi
	$(Q)BUILD=$(BUILD) bash tests/emu/vmx.sh --bench

.PHONY: bench
