# vfio/: the region model, config-space, MSI and MSI-X virtualization (pure C,
# built into the hypervisor, the vfio-info tool and the tests).
VFIO_SRCS := vfio/device.c vfio/info.c vfio/config.c vfio/msi.c vfio/msix.c

HV_SRCS += $(VFIO_SRCS)

# vfio-info --igd registers the IGD regions: drivers/igd/regions.c.
VFIO_INFO_SRCS := tools/vfio-info.c drivers/igd/regions.c drivers/igd/opregion.c drivers/igd/vbt.c $(VFIO_SRCS)
$(eval $(call host_tool,vfio-info,$(VFIO_INFO_SRCS)))

$(eval $(call host_test,test_vfio_abi,tests/unit/test_vfio_abi.c $(VFIO_SRCS)))
$(eval $(call host_test,test_vfio_region,tests/unit/test_vfio_region.c $(VFIO_SRCS)))
$(eval $(call host_test,test_vfio_config,tests/unit/test_vfio_config.c $(VFIO_SRCS)))
$(eval $(call host_test,test_vfio_msix,tests/unit/test_vfio_msix.c $(VFIO_SRCS)))
$(eval $(call host_test,test_vfio_tool,tests/unit/test_vfio_tool.c $(VFIO_INFO_SRCS),-DVFIO_INFO_NO_MAIN))

$(eval $(call fuzz_target,fuzz_vfio,tests/fuzz/fuzz_vfio.c $(VFIO_SRCS)))
