# make run / make image (see README).
run: deps $(BUILD)/minihv.efi
	$(Q)BUILD=$(BUILD) EMU=$(or $(EMU),qemu) bash scripts/run.sh

# SIGN_KEY/SIGN_CERT (else keys/, generated once), SHIM=1: scripts/image.sh.
image: deps $(BUILD)/minihv.efi
	$(Q)BUILD=$(BUILD) SIGN_KEY="$(SIGN_KEY)" SIGN_CERT="$(SIGN_CERT)" SHIM="$(SHIM)" bash scripts/image.sh

.PHONY: run image
