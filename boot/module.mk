# The UEFI loader: build/minihv.efi, carrying build/hv.bin inside.
BOOT_SRCS := boot/main.c boot/log.c log/ring_write.c boot/config.c boot/acpi.c boot/pci.c boot/platform.c boot/cpu_plan.c \
             boot/launch.c boot/smm_open.c boot/hv_image.c boot/passthrough.c boot/pt_snapshot.c paging/paging.c \
             boot/iommu.c iommu/iommu.c boot/lastlog.c log/ring_read.c \
             boot/secureboot.c boot/measure.c boot/sb_policy.c boot/sb_siglist.c \
             lib/string.c lib/format.c drivers/igd/vbt.c drivers/igd/opregion.c drivers/igd/rom.c
$(eval $(call efi_app,minihv,$(BOOT_SRCS)))

# The image is embedded with .incbin: rebuild when it changes.
EFI_EXTRA_boot_hv_image := -DHV_BIN_PATH=$(BUILD)/hv.bin
$(BUILD)/efi/boot/hv_image.o: $(BUILD)/hv.bin

# SB_ALLOW_WEAK=1: under Secure Boot, accept the config keys that weaken the
# isolation (README, Secure Boot). A stamp holding the setting rebuilds
# secureboot.o when it changes.
SB_ALLOW_WEAK ?= 0
$(shell mkdir -p $(BUILD) && { [ "$$(cat $(BUILD)/sb_allow_weak 2>/dev/null)" = "$(SB_ALLOW_WEAK)" ] || echo "$(SB_ALLOW_WEAK)" > $(BUILD)/sb_allow_weak; })
EFI_EXTRA_boot_secureboot := $(if $(filter 1,$(SB_ALLOW_WEAK)),-DMINIHV_SB_ALLOW_WEAK)
$(BUILD)/efi/boot/secureboot.o: $(BUILD)/sb_allow_weak

# HV_TEST_HOOKS=1 (hv/module.mk): the loader's test-only key test_skip_ap
# too (boot/config.h); a release build refuses it as an unknown key.
EFI_EXTRA_boot_config := $(if $(filter 1,$(HV_TEST_HOOKS)),-DMINIHV_TEST_HOOKS=1)

$(eval $(call host_test,test_config,tests/unit/test_config.c boot/config.c lib/format.c))
$(eval $(call host_test,test_acpi,tests/unit/test_acpi.c boot/acpi.c))
$(eval $(call host_test,test_cpu_plan,tests/unit/test_cpu_plan.c boot/cpu_plan.c lib/format.c))
$(eval $(call host_test,test_smm_open,tests/unit/test_smm_open.c boot/smm_open.c lib/format.c))
$(eval $(call host_test,test_pci,tests/unit/test_pci.c boot/pci.c lib/format.c))
# drivers/igd/module.mk comes after this file: name the parsers here.
BOOT_IGD_SRCS := drivers/igd/vbt.c drivers/igd/opregion.c drivers/igd/rom.c
$(eval $(call host_test,test_pt_snapshot,tests/unit/test_pt_snapshot.c boot/pt_snapshot.c boot/config.c boot/pci.c lib/format.c $(BOOT_IGD_SRCS)))
$(eval $(call host_test,test_sb_policy,tests/unit/test_sb_policy.c boot/sb_policy.c boot/sb_siglist.c boot/config.c lib/format.c))
