# check-display (issue 19): a Linux guest's own display driver on a display
# device minihv passes through, checked on QEMU's screendump
# (tests/emu/display.sh, docs/display.md).
CHECK_SUITES += display
DISPLAY_TOOLS := tests/guests/linux/fbpattern.c tests/guests/linux/igdprobe.c
$(BUILD)/linux/initrd-display.img: scripts/linux-initrd.sh tests/guests/linux/init tests/guests/linux/hvcheck.c \
                                   $(DISPLAY_TOOLS) tools/minihv-preflight.c tools/preflight_vfio.c
	$(Q)BUILD=$(BUILD) PREFLIGHT_SRCS="$(PREFLIGHT_SRCS)" LINUX_INITRD=initrd-display.img \
	  LINUX_EXTRA_MODULES="bochs virtio_gpu" LINUX_EXTRA_TOOLS="$(DISPLAY_TOOLS)" bash scripts/linux-initrd.sh

check-display: $(BUILD)/minihv.efi $(BUILD)/linux/initrd-display.img
	$(Q)BUILD=$(BUILD) bash tests/emu/display.sh

# make bench: exits and MMIO bytes through the traps per frame drawn.
bench-display: $(BUILD)/minihv.efi $(BUILD)/linux/initrd-display.img
	$(Q)BUILD=$(BUILD) bash tests/emu/display.sh --bench

# The vga case in a window: gtk/sdl when DISPLAY is set, VNC (:5) otherwise.
demo-display: $(BUILD)/minihv.efi $(BUILD)/linux/initrd-display.img
	$(Q)BUILD=$(BUILD) bash tests/emu/display.sh --demo

bench: bench-display
.PHONY: check-display bench-display demo-display
