# check-secureboot: Secure Boot (snakeoil and Microsoft-keys OVMF, shim) and
# measured launch (swtpm) in QEMU (tests/emu/secureboot.sh).
CHECK_SUITES += secureboot
$(eval $(call efi_app,sbpcr,tests/guests/sbpcr.c tests/guests/print.c lib/string.c lib/format.c))

check-secureboot: $(BUILD)/minihv.efi $(BUILD)/sbpcr.efi $(BUILD)/linux/initrd.img \
                  $(BUILD)/tools/minihv-preflight
	$(Q)BUILD=$(BUILD) bash tests/emu/secureboot.sh

.PHONY: check-secureboot
