# minihv — top-level build. Every folder adds its own targets in a module.mk
# (see the README, "Adding code"); this file only holds the toolchains, the
# shared rule templates and the check driver.

BUILD     ?= build
V         ?= 0
Q         := $(if $(filter 1,$(V)),,@)

# ---- host side: tools/, tests/ (same C files as the hv's pure-C parts) ----
HOSTCC      ?= gcc
HOST_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -g -O1 -Iinclude -I.
SAN_FLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZCC      ?= clang
FUZZ_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -g -O1 -Iinclude -I. \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
# 6 s per target in `make check` (10 targets: a minute), the corpus seeds
# replayed first; `make check-fuzz FUZZ_SECONDS=600` for a long run.
FUZZ_SECONDS ?= 6

# ---- freestanding hypervisor core (hv.elf, linked by linker.ld) ----
CC          ?= gcc
NASM        ?= nasm
HV_CFLAGS   := -std=gnu11 -Wall -Wextra -Werror -O2 -g -Iinclude -I. \
               -ffreestanding -fno-builtin -nostdlib -fno-stack-protector \
               -fno-pic -fno-pie -mcmodel=kernel -mno-red-zone -mgeneral-regs-only \
               -fno-asynchronous-unwind-tables -fno-omit-frame-pointer \
               -fno-tree-loop-distribute-patterns -DMINIHV_HV=1
HV_LDFLAGS  := -nostdlib -static -z max-page-size=4096 -z noexecstack --no-warn-rwx-segments

# ---- UEFI loader (GNU-EFI, PE32+) ----
EFI_INC     := /usr/include/efi
EFI_LIB     := /usr/lib
EFI_CFLAGS  := -std=gnu11 -Wall -Wextra -Werror -O2 -g -Iinclude -I. \
               -I$(EFI_INC) -I$(EFI_INC)/x86_64 -fpic -ffreestanding \
               -fno-stack-protector -fshort-wchar -mno-red-zone \
               -maccumulate-outgoing-args -fno-tree-loop-distribute-patterns \
               -DGNU_EFI_USE_MS_ABI -DMINIHV_EFI=1
EFI_LDFLAGS := -nostdlib -shared -Bsymbolic -znocombreloc -L$(EFI_LIB) \
               -T$(EFI_LIB)/elf_x86_64_efi.lds $(EFI_LIB)/crt0-efi-x86_64.o
EFI_LIBS    := -lefi -lgnuefi
EFI_SECTIONS := -j .text -j .sdata -j .data -j .dynamic -j .dynsym -j .rel \
               -j .rela -j .rel.* -j .rela.* -j .reloc

HDRS := $(shell find include boot hv iommu paging vfio drivers log fb tools tests -name '*.h' 2>/dev/null)

# Lists the module.mk files fill in.
UNIT_TESTS   :=
FUZZ_TARGETS :=
TOOLS        :=
HV_SRCS      :=
EFI_APPS     :=
CHECK_SUITES := unit fuzz

.SECONDEXPANSION:
all:

# $(call host_test,NAME,SOURCES[,EXTRA_FLAGS]) — a cmocka test binary, built
# with ASan/UBSan, run by `make check-unit`.
define host_test
UNIT_TESTS += $(BUILD)/tests/$(1)
$(BUILD)/tests/$(1): $(2) $(HDRS)
	@mkdir -p $$(@D)
	@echo "  HOSTCC  $$@"
	$(Q)$(HOSTCC) $(HOST_CFLAGS) $(SAN_FLAGS) $(3) -o $$@ $(2) -lcmocka
endef

# $(call fuzz_target,NAME,SOURCES) — a libFuzzer binary, run for
# FUZZ_SECONDS by `make check-fuzz`; seeds in tests/fuzz/corpus/NAME/.
define fuzz_target
FUZZ_TARGETS += $(BUILD)/fuzz/$(1)
$(BUILD)/fuzz/$(1): $(2) $(HDRS)
	@mkdir -p $$(@D)
	@echo "  FUZZCC  $$@"
	$(Q)$(FUZZCC) $(FUZZ_CFLAGS) -o $$@ $(2)
endef

# $(call host_tool,NAME,SOURCES) — a command-line tool in build/tools/.
define host_tool
TOOLS += $(BUILD)/tools/$(1)
$(BUILD)/tools/$(1): $(2) $(HDRS)
	@mkdir -p $$(@D)
	@echo "  HOSTCC  $$@"
	$(Q)$(HOSTCC) $(HOST_CFLAGS) -O2 -o $$@ $(2)
endef

# $(call efi_app,NAME,SOURCES[,EXTRA_OBJS]) — build/NAME.efi, a GNU-EFI
# application (the loader, and the probe guests under tests/guests/).
define efi_app
EFI_APPS += $(BUILD)/$(1).efi
$(1)_EFI_OBJS := $(patsubst %.c,$(BUILD)/efi/%.o,$(2)) $(3)
$(BUILD)/$(1).so: $$($(1)_EFI_OBJS)
	@echo "  EFILD   $$@"
	$(Q)ld $(EFI_LDFLAGS) -o $$@ $$^ $(EFI_LIBS)
$(BUILD)/$(1).efi: $(BUILD)/$(1).so
	@echo "  OBJCOPY $$@"
	$(Q)objcopy $(EFI_SECTIONS) --target efi-app-x86_64 --subsystem=10 $$< $$@
endef

$(BUILD)/efi/%.o: %.c $(HDRS)
	@mkdir -p $(@D)
	@echo "  EFICC   $@"
	$(Q)$(CC) $(EFI_CFLAGS) $(EFI_EXTRA_$(subst /,_,$*)) -c -o $@ $<

$(BUILD)/hv/%.o: %.c $(HDRS)
	@mkdir -p $(@D)
	@echo "  HVCC    $@"
	$(Q)$(CC) $(HV_CFLAGS) -c -o $@ $<

$(BUILD)/hv/%.o: %.asm hv/gprs.inc
	@mkdir -p $(@D)
	@echo "  NASM    $@"
	$(Q)$(NASM) -f elf64 -g -I./ -o $@ $<

# vfio/ first: drivers and tools name $(VFIO_SRCS).
MODULES := $(sort $(wildcard */module.mk */*/module.mk))
include vfio/module.mk $(filter-out vfio/module.mk,$(MODULES))

all: $(BUILD)/minihv.efi $(BUILD)/hv.elf $(TOOLS) $(EFI_APPS)
tools: $(TOOLS)

# ---- checks ----
# Each suite target prints its own "N passed, N failed" line and writes it to
# $(BUILD)/results/SUITE; `make check` runs every suite and prints the total.
deps:
	$(Q)bash scripts/deps.sh

check: deps
	$(Q)bash scripts/check.sh $(CHECK_SUITES)

check-unit: $(UNIT_TESTS)
	$(Q)bash scripts/run-unit.sh unit $(UNIT_TESTS)

check-fuzz: $(FUZZ_TARGETS)
	$(Q)FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/run-fuzz.sh fuzz $(FUZZ_TARGETS)

clean:
	rm -rf $(BUILD)

.PHONY: all tools deps check check-unit check-fuzz clean
.DELETE_ON_ERROR:
