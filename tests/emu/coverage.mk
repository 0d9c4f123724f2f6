# Coverage of the core under the fuzzing guest (issue 16; docs/fuzzing.md).
# Not in `make check` (budget): `make fuzz-guest-coverage [EMU=qemu|bochs]
# [SECONDS=N] [SEED=S]` builds the core with HV_COVERAGE=1 in COV_BUILD
# (build-cov), runs tests/emu/fuzzguest.sh on it (the fixed seed; both
# backends by default, 60 s each) and writes COV_BUILD/coverage-EMU.txt with
# scripts/coverage-report.py. `make check-coverage-report`: the report
# script's self-test (a tiny instrumented ELF and hand-made maps, ~2 s).
COV_BUILD ?= build-cov

# hv.elf's layout with the debug sections kept (linker.ld discards them),
# for addr2line: the same objects, the same allocated sections.
$(BUILD)/hv-debug.elf: $$(HV_OBJS) linker.ld
	@echo "  HVLD    $@"
	$(Q)sed 's/ \*(\.debug\*)//' linker.ld > $(BUILD)/linker-debug.ld
	$(Q)ld $(HV_LDFLAGS) -T $(BUILD)/linker-debug.ld -o $@ $(HV_OBJS)

fuzz-guest-coverage:
	$(Q)$(MAKE) --no-print-directory BUILD=$(COV_BUILD) HV_COVERAGE=1 \
	  $(COV_BUILD)/minihv.efi $(COV_BUILD)/fuzzguest.efi $(COV_BUILD)/hv.elf $(COV_BUILD)/hv-debug.elf
	$(Q)objcopy -O binary -j .text $(COV_BUILD)/hv.elf $(COV_BUILD)/hv-text.bin
	$(Q)objcopy -O binary -j .text $(COV_BUILD)/hv-debug.elf $(COV_BUILD)/hv-debug-text.bin
	$(Q)cmp -s $(COV_BUILD)/hv-text.bin $(COV_BUILD)/hv-debug-text.bin || \
	  { echo "fuzz-guest-coverage: hv-debug.elf's text differs from hv.elf's"; exit 1; }
	$(Q)rc=0; for emu in $(or $(EMU),qemu bochs); do \
	  e=$$(echo $$emu | cut -c1); dir=$(COV_BUILD)/emu/fuzzguest/$$e-$(if $(SEED),seed,fixed)-cov; \
	  BUILD=$(COV_BUILD) FUZZGUEST_EMU=$$emu FUZZGUEST_SECONDS=$(or $(SECONDS),60) \
	    FUZZGUEST_BOCHS_SECONDS=$(or $(SECONDS),60) FUZZGUEST_RANDOM=0 $(if $(SEED),FUZZGUEST_SEED=$(SEED)) \
	    FUZZGUEST_NAME=cov bash tests/emu/fuzzguest.sh || true; \
	  python3 scripts/coverage-report.py --elf $(COV_BUILD)/hv-debug.elf --log $$dir/minihv.txt \
	    --firmware $$dir/firmware.txt --name "$$emu $$(basename $$dir)" > $(COV_BUILD)/coverage-$$emu.txt || \
	    { echo "fuzz-guest-coverage: $$emu: the report failed (exit 2: no map or not this ELF; 3: the cross-check)"; rc=1; }; \
	  grep '^coverage: ' $(COV_BUILD)/coverage-$$emu.txt | sed "s/^/$$emu: /"; \
	  echo "fuzz-guest-coverage: $(COV_BUILD)/coverage-$$emu.txt"; \
	done; exit $$rc

check-coverage-report:
	$(Q)python3 scripts/coverage-report.py --self-test

.PHONY: fuzz-guest-coverage check-coverage-report
