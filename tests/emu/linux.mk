# check-linux: a real Linux guest under minihv in QEMU (tests/emu/linux.sh).
CHECK_SUITES += linux
$(BUILD)/linux/initrd.img: scripts/linux-initrd.sh tests/guests/linux/init tests/guests/linux/hvcheck.c
	$(Q)BUILD=$(BUILD) bash scripts/linux-initrd.sh

check-linux: $(BUILD)/minihv.efi $(BUILD)/linux/initrd.img
	$(Q)BUILD=$(BUILD) bash tests/emu/linux.sh

.PHONY: check-linux

# make bench also measures the Linux boot (slow: two QEMU runs under -icount).
bench-linux: $(BUILD)/minihv.efi $(BUILD)/linux/initrd.img
	$(Q)BUILD=$(BUILD) bash tests/emu/linux.sh --bench

bench: bench-linux
.PHONY: bench-linux
