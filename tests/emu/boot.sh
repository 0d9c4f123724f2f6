#!/usr/bin/env bash
# check-emu: boots the loader in QEMU (q35, -smp 1 and 2) and Bochs (i440fx,
# 2 CPUs) and checks its report against what the machine is and against the
# firmware's own reading (the shell's `memmap` and `pci` after minihv ran).
set -u
. scripts/lib/result.sh
. tests/emu/lib.sh

# check_report NAME SMP HOSTBRIDGE ISABRIDGE
check_report() {
  local name=$1 smp=$2 host=$3 isa=$4 dir=$EMU_ROOT/$1
  local log=$dir/minihv.txt fw=$dir/firmware.txt
  clean_log "$dir/com2.log" > "$log"
  clean_log "$dir/com1.log" > "$fw"
  expect_log "$name: one line per stage" "$log" '^minihv: config: .*passthrough none'
  expect_log "$name: firmware named" "$log" '^minihv: firmware: EDK II rev 0x[0-9a-f]+, UEFI 2\.[0-9]+'
  expect_log "$name: memory summary" "$log" '^minihv: memory: [0-9]+ MiB conventional'
  local cpus
  cpus=$(sed -n 's/^minihv: cpus: \([0-9]*\) online.*/\1/p' "$log")
  if [ "$cpus" = "$smp" ]; then pass "$name: $cpus CPUs = -smp $smp"; else fail "$name: CPU count" "reported '$cpus', machine has $smp"; fi
  local ids
  ids=$(sed -n 's/^minihv: cpus: .*APIC IDs \([0-9,]*\),.*/\1/p' "$log" | tr ',' '\n' | sort -u | wc -l)
  [ "$ids" = "$smp" ] && pass "$name: $smp distinct APIC IDs" || fail "$name: APIC IDs" "$ids distinct for $smp CPUs"
  expect_log "$name: host bridge $host listed" "$log" "^minihv: pci: 00:00\.0 $host class 060000 \(host bridge\)"
  expect_log "$name: ISA/LPC bridge $isa listed" "$log" "^minihv: pci: 00:[0-9a-f]{2}\.0 $isa class 060100 \(ISA bridge\)"
  # Device count against the shell's own `pci` listing (one "==>" per function).
  local ours theirs
  ours=$(sed -n 's/^minihv: pci: \([0-9]*\) devices via.*/\1/p' "$log")
  theirs=$(grep -c '==>' "$fw")
  [ -n "$ours" ] && [ "$ours" = "$theirs" ] && pass "$name: $ours PCI functions, as the shell's pci lists" \
    || fail "$name: PCI function count" "minihv saw '$ours', the shell lists '$theirs'"
  expect_log "$name: core banner from its own serial driver" "$log" 'minihv: hv: core running at 0xffffffff80000000 \(phys 0x[0-9a-f]+\)'
  expect_log "$name: core returned" "$log" '^minihv: core: returned 0'
  expect_log "$name: loader sees core block reserved" "$log" '^minihv: memmap: core block 0x[0-9a-f]+-0x[0-9a-f]+ is in a Reserved descriptor'
  # The firmware's own memmap (after minihv returned) lists the block as Reserved.
  local base
  base=$(sed -n 's/^minihv: memmap: core block 0x\([0-9a-f]*\)-.*/\1/p' "$log" | head -1)
  if [ -n "$base" ] && grep -Eiq "^Reserved +0*${base}-" "$fw"; then
    pass "$name: shell memmap shows 0x$base Reserved"
  else
    fail "$name: shell memmap" "no Reserved range starting at 0x$base in the firmware's memmap"
  fi
  expect_log "$name: firmware still works after minihv (pci ran)" "$fw" '==>'
}

CFG='serial = 0x2f8'
for smp in 1 2; do
  make_esp "$EMU_ROOT/qemu-smp$smp/esp" "$CFG"
  # Ends at the core's summary: the shell's `reset -s` is an ACPI S5 write
  # (q35's FADT), which the core reports before it lets it through.
  boot "qemu-smp$smp" qemu "$smp" --timeout 90 --done 'minihv: hv: summary: end'
  check_report "qemu-smp$smp" "$smp" 8086:29c0 8086:2918
  log=$EMU_ROOT/qemu-smp$smp/minihv.txt
  expect_log "qemu-smp$smp: loader found the FADT's PM1a_CNT" "$log" '^minihv: core: FADT ports for the core: PM1a_CNT 0x[0-9a-f]*[1-9a-f][0-9a-f]*,'
  expect_log "qemu-smp$smp: summary at power-off" "$log" 'minihv: hv: summary: cpu [0-9]+: sleep request: PM1a_CNT'
  expect_log "qemu-smp$smp: summary lists $smp CPUs" "$log" "^minihv: hv: summary: cpus $smp \\("
  expect_log "qemu-smp$smp: summary has the exits table" "$log" '^minihv: hv: summary: exits: total( +[0-9]+)+'
done
make_esp "$EMU_ROOT/bochs-smp2/esp" "$CFG"
boot bochs-smp2 bochs 2 --timeout 240
check_report bochs-smp2 2 8086:1237 8086:7000

# A bad config line: reported with its number, and nothing virtualized.
make_esp "$EMU_ROOT/qemu-badcfg/esp" "$(printf 'serial = 0x2f8\nhv_mem_mb = lots')"
boot qemu-badcfg qemu 1 --timeout 90
clean_log "$EMU_ROOT/qemu-badcfg/com2.log" > "$EMU_ROOT/qemu-badcfg/minihv.txt"
expect_log "qemu-badcfg: line number and reason" "$EMU_ROOT/qemu-badcfg/minihv.txt" "^minihv: config: minihv.cfg line 2: bad value for 'hv_mem_mb'"
if grep -q 'core:' "$EMU_ROOT/qemu-badcfg/minihv.txt"; then
  fail "qemu-badcfg: nothing started" "the core was loaded despite the bad config"
else
  pass "qemu-badcfg: nothing started"
fi

summary emu
