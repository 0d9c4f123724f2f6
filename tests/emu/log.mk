# check-log (issue 17): minihv-log on planted rings (bad input under
# ASan/UBSan), then in a Linux guest under minihv in QEMU (SVM) with the
# serial port on and off, the logread guest in Bochs (VMX), and helper
# LC's reboot tests (tests/emu/log_reboot.sh) when present. tests/emu/log.sh.
CHECK_SUITES += log

# The Linux guest's initramfs carries a static minihv-log built from
# tools/module.mk's list (scripts/linux-initrd.sh reads it from here).
export MINIHV_LOG_SRCS
$(BUILD)/linux/initrd.img: $$(MINIHV_LOG_SRCS)

# build/logread.efi: the ring read by the reserved-memory scan from a guest
# EFI application (Bochs + OVMF has no ACPI, so no MHVL table).
$(eval $(call efi_app,logread,tests/guests/logread.c tests/guests/print.c log/ring_read.c lib/string.c lib/format.c))

# An ASan/UBSan build for the bad-input tests.
$(BUILD)/tools/minihv-log-san: $$(MINIHV_LOG_SRCS) $(HDRS)
	@mkdir -p $(@D)
	@echo "  HOSTCC  $@"
	$(Q)$(HOSTCC) $(HOST_CFLAGS) $(SAN_FLAGS) -o $@ $(MINIHV_LOG_SRCS)

check-log: $(BUILD)/tools/minihv-log $(BUILD)/tools/minihv-log-san $(BUILD)/minihv.efi \
           $(BUILD)/linux/initrd.img $(BUILD)/logread.efi
	$(Q)BUILD=$(BUILD) MINIHV_LOG=$(BUILD)/tools/minihv-log MINIHV_LOG_SAN=$(BUILD)/tools/minihv-log-san \
	  bash tests/emu/log.sh

.PHONY: check-log

# fuzz_log_ring includes tools/minihv-log.c (the MHVL reader, --file, --root).
$(BUILD)/fuzz/fuzz_log_ring: tools/minihv-log.c
