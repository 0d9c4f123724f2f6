# check-preflight (issue 18): minihv-preflight's parsers on the real-table
# corpus against iasl -d, its bad-input lines, and --root on saved trees
# (tests/emu/preflight.sh). The bad-input tests run an ASan/UBSan build.
CHECK_SUITES += preflight

# The Linux guest's initramfs carries the tool (scripts/linux-initrd.sh).
$(BUILD)/linux/initrd.img: tools/minihv-preflight.c boot/acpi.c boot/cpu_plan.c boot/pci.c iommu/dmar.c iommu/ivrs.c lib/format.c \
  drivers/igd/opregion.c drivers/igd/vbt.c drivers/igd/stolen.c drivers/igd/devices.c

check-preflight: $(BUILD)/tools/minihv-preflight $(BUILD)/tools/minihv-preflight-san \
                 $(BUILD)/minihv.efi $(BUILD)/linux/initrd.img
	$(Q)BUILD=$(BUILD) PREFLIGHT=$(BUILD)/tools/minihv-preflight \
	  PREFLIGHT_SAN=$(BUILD)/tools/minihv-preflight-san bash tests/emu/preflight.sh

.PHONY: check-preflight
