#!/usr/bin/env bash
# Review R (issue 17): tests/iommu/ringdma.c in QEMU q35 with intel-iommu
# and edu passed through (the vtd-edu case of tests/emu/iommu.sh): a DMA
# into the log ring's header makes the core write its own block. Not part
# of a suite (no .mk is changed); run by hand:
#   make BUILD=build-R build-R/minihv.efi
#   make -f tests/iommu/ringdma-build.mk BUILD=build-R build-R/ringdma.efi
#   BUILD=build-R bash tests/emu/ringdma.sh
# Passes when the block is unchanged (the ring's header not trusted, or the
# ring out of reach of DMA); fails today.
set -u
. scripts/lib/result.sh
. tests/emu/lib.sh
EDU='edu,addr=0x5,dma_mask=0xffffffffffffffff'
name=ringdma-vtd
cfg=$(printf 'serial = 0x2f8\niommu = auto\npassthrough = 00:05.0\nguest = \\EFI\\minihv\\guest.efi\nguest_args = x\n')
make_esp "$EMU_ROOT/$name/esp" "$cfg" "${BUILD:-build}/ringdma.efi"
boot "$name" qemu 1 --timeout 180 --done 'minihv: hv: summary: end' -- -device intel-iommu,aw-bits=48 -device "$EDU"
dir=$EMU_ROOT/$name
clean_log "$dir/com2.log" > "$dir/minihv.txt"
clean_log "$dir/com1.log" > "$dir/fw.txt"
grep '^ringdma: ' "$dir/fw.txt" | sed 's/^/  /'
grep -m1 'iommu: vtd: block' "$dir/minihv.txt" | sed 's/^/  /'
expect_log "$name: the block is unchanged after a DMA into the ring's header" "$dir/fw.txt" '^ringdma: RESULT block unchanged'
summary ringdma
