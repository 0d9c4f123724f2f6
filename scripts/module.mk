# make run / make image (see README).
run: deps $(BUILD)/minihv.efi
	$(Q)BUILD=$(BUILD) EMU=$(or $(EMU),qemu) bash scripts/run.sh

image: deps $(BUILD)/minihv.efi
	$(Q)BUILD=$(BUILD) bash scripts/image.sh

.PHONY: run image
