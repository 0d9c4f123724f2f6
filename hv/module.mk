# The freestanding core: build/hv.elf, linked by linker.ld, and build/hv.bin,
# the flat image the loader carries inside minihv.efi.
HV_SRCS += hv/header.c hv/main.c hv/console.c lib/string.c lib/format.c \
           hv/heap.c hv/host.c hv/mtrr.c hv/typed_map.c hv/ept.c hv/vcpu.c hv/vcpu_policy.c hv/vmx/vmx.c hv/vmx/vmx_exit.c \
           hv/ipi.c hv/ipi_route.c hv/svm/svm.c hv/svm/svm_exit.c hv/svm/svm_policy.c hv/io.c \
           hv/passthrough.c hv/passthrough_map.c hv/passthrough_hw.c hv/iommu_hw.c hv/refuse.c \
           hv/devmodel.c hv/hypercall.c hv/summary.c hv/special_pages.c \
           hv/msr.c hv/msr_policy.c hv/extable.c hv/log_ring.c hv/ioapic.c hv/a20_gate.c hv/fch_pm.c hv/judged_mmio.c \
           hv/hpet.c hv/hpet_hw.c hv/fw_cfg.c
HV_SRCS += hv/exit_rules.c hv/event_rules.c
# The FATAL screen (issue 17); the test hooks, on only with HV_TEST_HOOKS=1
# (include/minihv/test_hooks.h; use a BUILD of its own, e.g. build-logtest).
HV_SRCS += hv/fatal_screen.c hv/test_hooks.c
HV_CFLAGS += $(if $(filter 1,$(HV_TEST_HOOKS)),-DMINIHV_TEST_HOOKS=1)
# Coverage build (issue 16, docs/fuzzing.md): HV_COVERAGE=1 instruments every
# C object of the core with -fsanitize-coverage=trace-pc (hv/coverage.c's
# hook has no_sanitize_coverage; no sibling calls: a tail-called hook would
# mark its caller's return address); use a BUILD of its own, e.g. build-cov.
ifeq ($(HV_COVERAGE),1)
HV_SRCS += hv/coverage.c
HV_CFLAGS += -DMINIHV_COVERAGE=1
$(BUILD)/hv/%.o: HV_CFLAGS += -fsanitize-coverage=trace-pc -fno-optimize-sibling-calls
endif
HV_ASMS := hv/entry.asm hv/isr.asm hv/msr_safe.asm hv/vmx/vmx_entry.asm hv/svm/svm_entry.asm
-include hv/decode.mk

HV_OBJS = $(patsubst %.c,$(BUILD)/hv/%.o,$(HV_SRCS)) $(patsubst %.asm,$(BUILD)/hv/%.o,$(HV_ASMS))

# A stamp holding the build's flavour (HV_TEST_HOOKS, HV_COVERAGE): the
# core's objects and the loader's config.o are rebuilt when it changes, so
# a release build made after a test build in the same BUILD never keeps the
# test hooks (review R; boot/module.mk's sb_allow_weak does the same).
HV_FLAVOUR := hooks=$(HV_TEST_HOOKS) coverage=$(HV_COVERAGE)
$(shell mkdir -p $(BUILD) && { [ "$$(cat $(BUILD)/hv_flavour 2>/dev/null)" = "$(HV_FLAVOUR)" ] || echo "$(HV_FLAVOUR)" > $(BUILD)/hv_flavour; })
$(patsubst %.c,$(BUILD)/hv/%.o,$(HV_SRCS)) $(BUILD)/efi/boot/config.o: $(BUILD)/hv_flavour

$(BUILD)/hv.elf: $$(HV_OBJS) linker.ld
	@echo "  HVLD    $@"
	$(Q)ld $(HV_LDFLAGS) -T linker.ld -o $@ $(HV_OBJS)

$(BUILD)/hv.bin: $(BUILD)/hv.elf
	$(Q)objcopy -O binary --only-section=.hv_header --only-section=.text \
	    --only-section=.rodata --only-section=.data $< $@

$(eval $(call host_test,test_format,tests/unit/test_format.c lib/format.c))
$(eval $(call host_test,test_mtrr,tests/unit/test_mtrr.c hv/mtrr.c))
$(eval $(call host_test,test_typed_map,tests/unit/test_typed_map.c hv/typed_map.c hv/mtrr.c paging/paging.c))
$(eval $(call host_test,test_vcpu_policy,tests/unit/test_vcpu_policy.c hv/vcpu_policy.c hv/special_pages.c lib/format.c))
$(eval $(call host_test,test_special_pages,tests/unit/test_special_pages.c hv/special_pages.c lib/format.c))
$(eval $(call host_test,test_svm_policy,tests/unit/test_svm_policy.c hv/svm/svm_policy.c hv/msr_policy.c))
$(eval $(call host_test,test_msr_policy,tests/unit/test_msr_policy.c hv/msr_policy.c))
$(eval $(call host_test,test_refuse,tests/unit/test_refuse.c hv/refuse.c lib/format.c))
$(eval $(call host_test,test_ipi_route,tests/unit/test_ipi_route.c hv/ipi_route.c))
$(eval $(call host_test,test_io,tests/unit/test_io.c hv/io.c))
$(eval $(call host_test,test_hpet,tests/unit/test_hpet.c hv/hpet.c $(VFIO_SRCS)))
$(eval $(call host_test,test_exit_rules,tests/unit/test_exit_rules.c hv/exit_rules.c))
$(eval $(call host_test,test_event_rules,tests/unit/test_event_rules.c hv/event_rules.c))
$(eval $(call host_test,test_passthrough,tests/unit/test_passthrough.c hv/passthrough.c hv/passthrough_map.c hv/special_pages.c lib/format.c $(VFIO_SRCS) $(IGD_SRCS) drivers/igd/regions.c,-Itests/unit))
$(eval $(call fuzz_target,fuzz_passthrough,tests/fuzz/fuzz_passthrough.c hv/passthrough.c hv/passthrough_map.c hv/special_pages.c lib/format.c $(VFIO_SRCS) $(IGD_SRCS) drivers/igd/regions.c))
