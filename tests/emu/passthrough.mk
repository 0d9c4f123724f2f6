# check-passthrough: one PCI device passed through to the guest (issue 8):
# Linux with NVMe (MSI-X) and e1000e (ROM BAR) in QEMU, the probe guest
# (tests/guests/ptprobe.c) with the IGD personality on QEMU's std VGA and
# with Bochs' pcivga (tests/emu/passthrough.sh).
CHECK_SUITES += passthrough
check-passthrough: $(BUILD)/minihv.efi $(BUILD)/ptprobe.efi $(BUILD)/linux/initrd.img
	$(Q)BUILD=$(BUILD) bash tests/emu/passthrough.sh

.PHONY: check-passthrough

# make bench: the NVMe run's passthrough exits and MMIO bytes per exit.
bench-passthrough: $(BUILD)/minihv.efi $(BUILD)/linux/initrd.img
	$(Q)BUILD=$(BUILD) bash tests/emu/passthrough.sh --bench

bench: bench-passthrough
.PHONY: bench-passthrough
