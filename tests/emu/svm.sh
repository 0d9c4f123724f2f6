#!/usr/bin/env bash
# check-svm: minihv's SVM + NPT core with the probe as its guest, in QEMU
# q35 TCG (-cpu max: SVM with NPT, no next-RIP save) at 1, 2 and 4 CPUs,
# and in Bochs with `cpu: model=ryzen` (SVM with next-RIP save), a second
# implementation of SVM. The same checks as check-vmx (tests/emu/probe.sh),
# plus the core's SVM line, the restart of every AP by INIT-SIPI-SIPI
# through the core, the end-of-run summary at power-off (QEMU's FADT), and
# a guest triple fault that resets the machine (tests/emu/probe.sh).
set -u
. scripts/lib/result.sh
. tests/emu/lib.sh
. tests/emu/probe.sh

# run NAME EMU SMP [emu.sh args]
run() {
  local name=$1 emu=$2 smp=$3; shift 3
  [[ $name =~ ${SVM_ONLY:-.} ]] || return 0
  make_esp "$EMU_ROOT/$name/esp" "$CFG" "$PROBE"
  boot "$name" "$emu" "$smp" "$@"
  check_probe "$name" "$smp"
  local log=$EMU_ROOT/$name/minihv.txt
  expect_log "$name: SVM backend chosen" "$log" '^minihv: hv: svm: revision [0-9]+, [0-9]+ ASIDs, next-RIP save (yes|no)'
  local n restarted=0
  for ((n = 1; n < smp; n++)); do
    grep -Eq "^minihv: hv: cpu $n: INIT, then SIPI vector 0x[0-9a-f]+" "$log" && restarted=$((restarted + 1))
  done
  [ $restarted = $((smp - 1)) ] && pass "$name: every AP restarted by INIT-SIPI-SIPI came back as a guest ($restarted)" \
    || fail "$name: AP restarts" "$restarted of $((smp - 1)) APs logged INIT then SIPI"
}

# check_summary NAME SMP — QEMU has a FADT: the guest's ACPI power-off shows
# the core's summary table, then the machine really powers off.
check_summary() {
  local name=$1 smp=$2 log=$EMU_ROOT/$1/minihv.txt
  [[ $name =~ ${SVM_ONLY:-.} ]] || return 0
  expect_log "$name: power-off caught" "$log" 'minihv: hv: summary: cpu [0-9]+: sleep request: PM1a_CNT 0x[0-9a-f]+ <- 0x[0-9a-f]+ \(SLP_EN, SLP_TYP [0-7]\)$'
  expect_log "$name: summary names $smp CPUs" "$log" "^minihv: hv: summary: cpus $smp \(svm\)"
  expect_log "$name: summary exits table" "$log" '^minihv: hv: summary: exits: total( +[0-9]+)+'
  expect_log "$name: summary ends before the real power-off" "$log" '^minihv: hv: summary: end; the write goes to the hardware now'
}

for smp in 1 2 4; do
  run "svm-qemu-smp$smp" qemu "$smp" --timeout 180 --done 'minihv: hv: summary: end'
  check_summary "svm-qemu-smp$smp" "$smp"
done
run svm-bochs-ryzen-smp2 bochs 2 --cpu ryzen --timeout 300
# A guest triple fault resets the machine (SVM shutdown intercept).
[[ svm-qemu-reset =~ ${SVM_ONLY:-.} ]] && reset_run svm-qemu-reset qemu 2 --timeout 180 -- -action reboot=reset
# ResetSystem and the 8042's pulse: each reboots; then S5.
[[ svm-qemu-reboots =~ ${SVM_ONLY:-.} ]] && reboot_chain_run svm-qemu-reboots 2 --timeout 240 -- -action reboot=reset

summary svm
