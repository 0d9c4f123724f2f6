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

# The passthrough snapshot (issue 8), loader side: two QEMU boots.
# fnv1a FILE — the FNV-1a 32-bit the loader logs for its ROM and VBT copies.
fnv1a() {
  python3 -c 'import sys
h = 0x811c9dc5
for b in open(sys.argv[1], "rb").read(): h = ((h ^ b) * 0x01000193) & 0xffffffff
print("0x%08x" % h)' "$1"
}
E1000E_ROM=/usr/lib/ipxe/qemu/efi-e1000e.rom   # Debian ipxe-qemu
STDVGA_ROM=/usr/share/seabios/vgabios-stdvga.bin
VBT=${IGD_VBT_FIXTURES:-tests/fixtures/vbt}/cwwk_adl.vbt  # 9216 bytes: extended VBT

# NVMe at 00:05.0, no ROM BAR: the `rom =` file is the ROM (walked and copied).
truncate -s 1M "$EMU_ROOT/nvme.img"
make_esp "$EMU_ROOT/qemu-pt-nvme/esp" "$(printf '%s\n' "$CFG" 'passthrough = 00:05.0' 'rom = /EFI/minihv/e1000e.rom')"
cp "$E1000E_ROM" "$EMU_ROOT/qemu-pt-nvme/esp/EFI/minihv/e1000e.rom"
boot qemu-pt-nvme qemu 1 --timeout 90 -- -drive "file=$EMU_ROOT/nvme.img,if=none,id=nv0,format=raw" \
  -device nvme,serial=minihv0,drive=nv0,addr=0x5
log=$EMU_ROOT/qemu-pt-nvme/minihv.txt
clean_log "$EMU_ROOT/qemu-pt-nvme/com2.log" > "$log"
expect_log "qemu-pt-nvme: device line (4 KiB config via ECAM, BAR0, MSI-X in BAR0)" "$log" \
  '^minihv: passthrough: 00:05\.0 1b36:0010 NVMe, config 4096 bytes via ECAM, BAR0 0x[0-9a-f]+ 16 KiB 64-bit, MSI-X 65 entries \(table BAR0\+0x2000, PBA BAR0\+0x3000\), ROM BAR none$'
expect_log "qemu-pt-nvme: ECAM window for the core" "$log" '^minihv: passthrough: ECAM for the core.s traps: 0xb0000000, buses 00-ff'
expect_log "qemu-pt-nvme: ROM from the rom file" "$log" \
  "^minihv: passthrough: ROM $(stat -c %s "$E1000E_ROM") bytes from file \(x86\+EFI images\), region 256 KiB$"
expect_log "qemu-pt-nvme: ROM copy in the block = the file" "$log" \
  "^minihv: passthrough: ROM copy at 0x[0-9a-f]+ in the core's block \(256 KiB, read-only to the guest\), fnv1a $(fnv1a "$E1000E_ROM") over"
expect_log "qemu-pt-nvme: core still runs" "$log" '^minihv: core: returned 0'
if grep -q 'OpRegion\|bridges' "$log"; then
  fail "qemu-pt-nvme: no IGD personality" "OpRegion or bridges for an NVMe device"
else
  pass "qemu-pt-nvme: no IGD personality"
fi

# in_nvs HEX MEMMAP — HEX lies in an ACPI_NVS range of the shell's memmap.
in_nvs() {
  local a=$((16#$1)) type range lo hi
  while read -r type range _; do
    [ "$type" = ACPI_NVS ] || continue
    lo=$((16#${range%-*})); hi=$((16#${range#*-}))
    [ "$a" -ge "$lo" ] && [ "$a" -le "$hi" ] && return 0
  done < "$2"
  return 1
}

# igd_force = 1 (test only) on q35's std VGA at 00:01.0, with a fixture VBT.
run_igdforce() {
  make_esp "$EMU_ROOT/qemu-pt-igdforce/esp" \
    "$(printf '%s\n' "$CFG" 'passthrough = 00:01.0' 'igd_force = 1' 'vbt = \EFI\minihv\board.vbt')"
  cp "$VBT" "$EMU_ROOT/qemu-pt-igdforce/esp/EFI/minihv/board.vbt"
  boot qemu-pt-igdforce qemu 1 --timeout 90 -- -vga none -device "VGA,addr=0x1,romfile=$STDVGA_ROM"
  log=$EMU_ROOT/qemu-pt-igdforce/minihv.txt
  clean_log "$EMU_ROOT/qemu-pt-igdforce/com2.log" > "$log"
  expect_log "qemu-pt-igdforce: forced IGD personality" "$log" \
    '^minihv: passthrough: 00:01\.0 1234:1111 VGA, config 4096 bytes via ECAM, .*ROM BAR 64 KiB, IGD personality forced \(igd_force = 1, test only\)$'
  expect_log "qemu-pt-igdforce: no shadow under OVMF" "$log" '^minihv: passthrough: ROM from shadow rejected: rom_header.signature'
  expect_log "qemu-pt-igdforce: ROM from PciIo = QEMU's VGA BIOS" "$log" \
    "^minihv: passthrough: ROM $(stat -c %s "$STDVGA_ROM") bytes from PciIo \(x86 image\), region 64 KiB$"
  expect_log "qemu-pt-igdforce: ROM copy fingerprint" "$log" "fnv1a $(fnv1a "$STDVGA_ROM") over $(stat -c %s "$STDVGA_ROM") bytes"
  expect_log "qemu-pt-igdforce: synthesized host OpRegion" "$log" '^minihv: passthrough: host OpRegion: none .*synthesized 8 KiB, version 2\.0'
  expect_log "qemu-pt-igdforce: guest OpRegion 2.1 with the fixture as extended VBT" "$log" \
    "^minihv: passthrough: IGD OpRegion 2\.1 at 0x[0-9a-f]+ \(8 KiB \+ $(stat -c %s "$VBT")-byte extended VBT from vbt file\), VBT fnv1a $(fnv1a "$VBT")$"
  expect_log "qemu-pt-igdforce: bridges copied" "$log" \
    '^minihv: passthrough: bridges for the guest .*: host 00:00\.0 8086:29c0, LPC 00:1f\.0 8086:2918$'
  opr=$(sed -n 's/^minihv: passthrough: IGD OpRegion .* at 0x\([0-9a-f]*\) .*/\1/p' "$log")
  clean_log "$EMU_ROOT/qemu-pt-igdforce/com1.log" > "$EMU_ROOT/qemu-pt-igdforce/firmware.txt"
  if [ -n "$opr" ] && in_nvs "$opr" "$EMU_ROOT/qemu-pt-igdforce/firmware.txt"; then
    pass "qemu-pt-igdforce: OpRegion 0x$opr is ACPI NVS in the shell's memmap"
  else
    fail "qemu-pt-igdforce: OpRegion memory type" "0x$opr not inside an ACPI_NVS range of the shell's memmap"
  fi
}
if [ -f "$VBT" ]; then
  run_igdforce
else
  fail "qemu-pt-igdforce" "fixture $VBT is missing (the repository's tests/fixtures/vbt, or IGD_VBT_FIXTURES)"
fi

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
