# drivers/igd/: OpRegion, VBT, video BIOS and stolen memory for IGD passthrough.
IGD_SRCS := drivers/igd/vbt.c drivers/igd/opregion.c drivers/igd/rom.c drivers/igd/stolen.c drivers/igd/devices.c
HV_SRCS += $(IGD_SRCS) drivers/igd/regions.c

$(eval $(call host_tool,igd-info,tools/igd-info.c $(IGD_SRCS)))

# check-igd: igd-info against intel_vbt_decode on tests/fixtures/vbt,
# and on real ROMs (tests/unit/igd/check-igd.sh).
CHECK_SUITES += igd
check-igd: $(BUILD)/tools/igd-info $(BUILD)/tools/vfio-info
	$(Q)BUILD=$(BUILD) IGD_INFO=$(BUILD)/tools/igd-info VFIO_INFO=$(BUILD)/tools/vfio-info bash tests/unit/igd/check-igd.sh
.PHONY: check-igd

$(eval $(call host_test,test_igd_opregion,tests/unit/test_igd_opregion.c $(IGD_SRCS)))
$(eval $(call host_test,test_igd_opregion_synth,tests/unit/test_igd_opregion_synth.c $(IGD_SRCS)))
$(eval $(call host_test,test_igd_vbt,tests/unit/test_igd_vbt.c $(IGD_SRCS)))
$(eval $(call host_test,test_igd_rom,tests/unit/test_igd_rom.c $(IGD_SRCS)))
$(eval $(call host_test,test_igd_stolen,tests/unit/test_igd_stolen.c $(IGD_SRCS)))

$(eval $(call fuzz_target,fuzz_igd_vbt,tests/fuzz/fuzz_igd_vbt.c $(IGD_SRCS)))
$(eval $(call fuzz_target,fuzz_igd_opregion,tests/fuzz/fuzz_igd_opregion.c $(IGD_SRCS)))
$(eval $(call fuzz_target,fuzz_igd_rom,tests/fuzz/fuzz_igd_rom.c $(IGD_SRCS)))

$(eval $(call host_test,test_igd_regions,tests/unit/test_igd_regions.c $(IGD_SRCS) drivers/igd/regions.c $(VFIO_SRCS)))
