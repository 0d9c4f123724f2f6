#!/usr/bin/env bash
# check-iommu (issue 9): minihv's IOMMU providers in QEMU q35 TCG.
#   vtd-edu     -device intel-iommu, iommu = auto, QEMU's edu device passed
#               through: dmaprobe.efi makes it DMA into the core's block; the
#               IOMMU blocks it, minihv reports the fault, the block's digest
#               is unchanged; the firmware goes on (shell: memmap, pci).
#   none-edu    no IOMMU, iommu = none: the same DMA lands (the digest
#               changes): the test can fail.
#   vtd-forced-absent  iommu = vtd on a machine without one: the core
#               refuses to run (no silent downgrade), the firmware goes on.
#   vtd-nvme    -device intel-iommu, NVMe passed through: the shell still
#               reads the FAT disk, and OVMF's NVMe driver runs through the
#               identity domain.
#   amdvi-edu   -device amd-iommu: see the notes in docs/iommu.md.
# IOMMU_ONLY=REGEX runs only the matching cases.
set -u
. scripts/lib/result.sh
. tests/emu/lib.sh

EDU='edu,addr=0x5,dma_mask=0xffffffffffffffff'
PROBE=${BUILD:-build}/dmaprobe.efi

want() { [[ $1 =~ ${IOMMU_ONLY:-.} ]]; }

# cfg IOMMU_MODE PASSTHROUGH [GUEST_ARGS]
cfg() {
  printf 'serial = 0x2f8\niommu = %s\npassthrough = %s\n' "$1" "$2"
  [ -n "${3:-}" ] && printf 'guest = \\EFI\\minihv\\guest.efi\nguest_args = %s\n' "$3"
}

# logs NAME: cleaned minihv.txt (COM2) and fw.txt (COM1)
logs() {
  local dir=$EMU_ROOT/$1
  clean_log "$dir/com2.log" > "$dir/minihv.txt"
  clean_log "$dir/com1.log" > "$dir/fw.txt"
}

# check_probe NAME — the probe's own verdict, its lines shown.
check_probe() {
  local name=$1 fw=$EMU_ROOT/$1/fw.txt
  grep '^dmaprobe: ' "$fw" | sed 's/^/  /'
  expect_log "$name: dmaprobe ran with no failure" "$fw" '^dmaprobe: [1-9][0-9]* passed, 0 failed'
}

# check_fw NAME — the firmware kept working after minihv and the probe.
check_fw() {
  local name=$1 fw=$EMU_ROOT/$1/fw.txt log=$EMU_ROOT/$1/minihv.txt
  expect_log "$name: shell ran memmap afterwards" "$fw" 'Reserved +[0-9A-F]+-[0-9A-F]+'
  expect_log "$name: shell ran pci afterwards" "$fw" 'Vendor 8086 Device 29C0'
  expect_log "$name: shell reached the done marker" "$fw" '^minihv-test: done'
  if grep -q 'minihv: hv: FATAL' "$log"; then
    fail "$name: no fatal exit" "$(grep -m1 'minihv: hv: FATAL' "$log")"
  fi
}

if want vtd-edu; then
  name=vtd-edu
  make_esp "$EMU_ROOT/$name/esp" "$(cfg auto 00:05.0 expect=blocked)" "$PROBE"
  boot "$name" qemu 1 --timeout 120 --done 'minihv: hv: summary: end' -- -device intel-iommu,intremap=off -device "$EDU"
  logs "$name"; log=$EMU_ROOT/$name/minihv.txt
  expect_log "$name: loader copied DMAR" "$log" '^minihv: iommu: DMAR \([0-9]+ bytes at 0x[0-9a-f]+\) copied for the core'
  expect_log "$name: loader hid DMAR" "$log" '^minihv: iommu: DMAR at 0x[0-9a-f]+ hidden from the guest \(renamed XMAR'
  expect_log "$name: VT-d chosen" "$log" '^minihv: hv: iommu: vtd: enabled \(auto\), device DMA is contained'
  expect_log "$name: block protected, device attached" "$log" '^minihv: hv: iommu: vtd: block 0x[0-9a-f]+\+[0-9]+ MiB out of reach of device DMA, passthrough device attached'
  expect_log "$name: DMA fault reported" "$log" '^minihv: hv: iommu: DMA fault: 00:05.0 write at 0x[0-9a-f]+'
  expect_log "$name: summary iommu line" "$log" '^minihv: hv: summary: iommu vtd \(auto\), DMA contained, faults [1-9]'
  check_probe "$name"
  check_fw "$name"
fi

if want none-edu; then
  name=none-edu
  make_esp "$EMU_ROOT/$name/esp" "$(cfg none 00:05.0 expect=lands)" "$PROBE"
  boot "$name" qemu 1 --timeout 120 --done 'minihv: hv: summary: end' -- -device "$EDU"
  logs "$name"; log=$EMU_ROOT/$name/minihv.txt
  expect_log "$name: none says DMA is not contained" "$log" '^minihv: hv: iommu: none \(iommu = none\): device DMA is NOT contained'
  expect_log "$name: summary iommu line" "$log" '^minihv: hv: summary: iommu none \(none\), DMA NOT contained, faults 0'
  check_probe "$name"
  check_fw "$name"
fi

summary iommu
