# check-fuzzguest (issue 16): the fuzzing guest (tests/guests/fuzzguest*.c)
# on QEMU (SVM, -smp 2, intel-iommu, an NVMe passed through) and Bochs
# (VMX, 2 CPUs), the fixed seed and a random one (printed) for 30 s each;
# tests/emu/fuzzguest.sh. `make fuzz-guest SECONDS=N EMU=qemu|bochs SEED=S`
# runs one longer; `make fuzz-guest-random SECONDS=N` the pair, longer.
CHECK_SUITES += fuzzguest
check-fuzzguest: $(BUILD)/minihv.efi $(BUILD)/fuzzguest.efi
	$(Q)BUILD=$(BUILD) bash tests/emu/fuzzguest.sh

fuzz-guest: $(BUILD)/minihv.efi $(BUILD)/fuzzguest.efi
	$(Q)BUILD=$(BUILD) FUZZGUEST_SECONDS=$(or $(SECONDS),600) FUZZGUEST_BOCHS_SECONDS=$(or $(SECONDS),600) \
	  FUZZGUEST_EMU=$(or $(EMU),qemu) FUZZGUEST_RANDOM=0 $(if $(SEED),FUZZGUEST_SEED=$(SEED)) FUZZGUEST_NAME=long bash tests/emu/fuzzguest.sh

fuzz-guest-random: $(BUILD)/minihv.efi $(BUILD)/fuzzguest.efi
	$(Q)BUILD=$(BUILD) FUZZGUEST_RANDOM=1 $(if $(SECONDS),FUZZGUEST_SECONDS=$(SECONDS)) bash tests/emu/fuzzguest.sh

.PHONY: check-fuzzguest fuzz-guest fuzz-guest-random
