# tools/: host tools that are not one module's. minihv-preflight (issue 18)
# links the parsers the loader and the core use: boot/acpi.c,
# boot/cpu_plan.c, boot/pci.c, iommu/dmar.c, iommu/ivrs.c, drivers/igd/,
# and the core's passthrough model (hv/passthrough.c, vfio/) for the candidate.
PREFLIGHT_LIBS := boot/acpi.c boot/cpu_plan.c boot/pci.c iommu/dmar.c iommu/ivrs.c lib/format.c \
                  $(IGD_SRCS) drivers/igd/regions.c boot/pt_snapshot.c tools/preflight_vfio.c \
                  tools/preflight_iommu.c tools/preflight_sb.c boot/sb_siglist.c iommu/vtd.c iommu/amdvi.c iommu/domain.c iommu/iommu.c paging/paging.c \
                  hv/passthrough.c hv/passthrough_map.c hv/special_pages.c $(VFIO_SRCS)
PREFLIGHT_SRCS := tools/minihv-preflight.c $(PREFLIGHT_LIBS)
$(eval $(call host_tool,minihv-preflight,$(PREFLIGHT_SRCS)))

# An ASan/UBSan build for check-preflight's bad-input tests (tests/emu/preflight.mk).
$(BUILD)/tools/minihv-preflight-san: $(PREFLIGHT_SRCS) $(HDRS)
	@mkdir -p $(@D)
	@echo "  HOSTCC  $@"
	$(Q)$(HOSTCC) $(HOST_CFLAGS) $(SAN_FLAGS) -o $@ $(PREFLIGHT_SRCS)

# The --root reader on fuzzed saved trees (tests/fuzz/fuzz_preflight_root.c).
$(eval $(call fuzz_target,fuzz_preflight_root,tests/fuzz/fuzz_preflight_root.c $(PREFLIGHT_LIBS)))

# minihv-log (issue 17): the log ring from the running OS, through /dev/mem
# (log/ring_read.c); the Linux guest's initramfs carries a static build.
MINIHV_LOG_SRCS := tools/minihv-log.c log/ring_read.c lib/format.c
$(eval $(call host_tool,minihv-log,$(MINIHV_LOG_SRCS)))
