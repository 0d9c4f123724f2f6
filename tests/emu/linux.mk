# check-linux: a real Linux guest under minihv in QEMU (tests/emu/linux.sh).
CHECK_SUITES += linux
$(BUILD)/linux/initrd.img: scripts/linux-initrd.sh tests/guests/linux/init tests/guests/linux/hvcheck.c \
                           tools/minihv-preflight.c tools/preflight_vfio.c
	$(Q)BUILD=$(BUILD) PREFLIGHT_SRCS="$(PREFLIGHT_SRCS)" bash scripts/linux-initrd.sh

check-linux: $(BUILD)/minihv.efi $(BUILD)/linux/initrd.img
	$(Q)BUILD=$(BUILD) bash tests/emu/linux.sh

.PHONY: check-linux

# make bench also measures the Linux boot: two QEMU runs under -icount
# shift=0,sleep=off with one CPU, with and without minihv (~2 min each on
# an idle host; docs/bench.md). LINUX_BENCH_SMP / LINUX_BENCH_ICOUNT
# override the CPU count / the -icount options.
bench-linux: $(BUILD)/minihv.efi $(BUILD)/linux/initrd.img
	$(Q)BUILD=$(BUILD) bash tests/emu/linux.sh --bench

bench: bench-linux
.PHONY: bench-linux
