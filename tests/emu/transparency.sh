#!/usr/bin/env bash
# check-transparency (issue 15): the transparency guest
# (tests/guests/transparency.c) from the shell on the bare firmware, then
# as minihv's guest, in the same boot; every check's value compared bare
# against minihv (tests/emu/transparency-diff.py, which holds the one list
# of documented differences). QEMU q35 TCG -cpu max (SVM) at 2 CPUs and
# Bochs corei7_skylake_x (VMX) at 2 CPUs.
# usage: transparency.sh  (TP_ONLY=REGEX: the runs whose name matches)
set -u
. scripts/lib/result.sh
. tests/emu/lib.sh

GUEST=${BUILD:-build}/transparency.efi
CFG=$(printf 'serial = 0x2f8\nguest = \\EFI\\minihv\\guest.efi')

# run NAME EMU SMP [emu.sh args]
run() {
  local name=$1 emu=$2 smp=$3; shift 3
  [[ $name =~ ${TP_ONLY:-.} ]] || return 0
  local dir=$EMU_ROOT/$name
  make_esp "$dir/esp" "$CFG" "$GUEST"
  printf '%s\r\n' 'fs0:\EFI\minihv\guest.efi' 'fs0:\EFI\minihv\minihv.efi' 'echo "minihv-test: done"' 'reset -s' \
    > "$dir/esp/startup.nsh"
  boot "$name" "$emu" "$smp" "$@"
  local fw=$dir/firmware.txt log=$dir/minihv.txt
  clean_log "$dir/com1.log" > "$fw"
  clean_log "$dir/com2.log" > "$log"
  sed -n '/^tp: start (bare)/,/^tp: done (bare)/p' "$fw" > "$dir/bare.txt"
  sed -n '/^tp: start (minihv)/,/^tp: done (minihv)/p' "$fw" > "$dir/minihv-guest.txt"
  expect_log "$name: the guest ran bare to its end" "$dir/bare.txt" '^tp: done \(bare\)'
  expect_log "$name: the guest ran under minihv to its end" "$dir/minihv-guest.txt" '^tp: done \(minihv\)'
  if grep -Eq '^minihv: hv: (FATAL|.*parked)' "$log"; then
    fail "$name: no fatal exit" "$(grep -Em1 '^minihv: hv: (FATAL|.*parked)' "$log")"
  fi
  local backend=vmx
  [ "$emu" = qemu ] && backend=svm
  python3 tests/emu/transparency-diff.py "$dir/bare.txt" "$dir/minihv-guest.txt" "$backend" > "$dir/diff.txt"
  local same differs
  same=$(grep -c '^same ' "$dir/diff.txt")
  differs=$(grep -vc '^same ' "$dir/diff.txt")
  [ "$same" -gt 0 ] && pass "$name: $same checks the same bare and under minihv" \
    || fail "$name: checks compared" "no check in both runs"
  while IFS= read -r line; do
    fail "$name: ${line#* }" "differs from bare"
  done < <(grep -v '^same ' "$dir/diff.txt")
  grep -q '^tp: cpuid-xon-1.0 ' "$dir/bare.txt" && ! grep -q '^differs cpuid-xon-1.0' "$dir/diff.txt" \
    && pass "$name: CPUID.1 OSXSAVE follows the guest's CR4 (set)"
  # Under minihv only: RDTSC never exits (100000 of them, interrupts off:
  # the count is the two GET_STATS calls'; one exit per RDTSC would be
  # 100000, so 100 is no tolerance for timing).
  local n
  n=$(sed -n 's/^tp-hv: rdtsc-exits \(-\?[0-9]*\)/\1/p' "$dir/minihv-guest.txt")
  if [ -n "$n" ] && [ "$n" -ge 0 ] && [ "$n" -lt 100 ]; then
    pass "$name: 100000 RDTSCs took $n exits"
  else
    fail "$name: RDTSC does not exit" "exits over 100000 RDTSCs: '${n:-none}'"
  fi
}

run tp-qemu-svm qemu 2 --timeout 240
run tp-bochs-vmx bochs 2 --cpu corei7_skylake_x --timeout 300

summary transparency
