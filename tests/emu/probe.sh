# Shared by the suites that run the probe guest (tests/guests/probe.c) as
# minihv's guest: check-vmx (Bochs) and check-svm (QEMU, Bochs ryzen).
# check_probe NAME SMP reads the logs of run NAME; source after lib.sh.

PROBE=${BUILD:-build}/probe.efi
CFG=$(printf 'serial = 0x2f8\nguest = \\EFI\\minihv\\guest.efi')

# The probe's checks: on every CPU, and on the BSP only.
CPU_CHECKS="fault-guard cpuid-signature cpuid-hv-bit cpuid-vmx-hidden vmcall-ping cr4-vmxe-clear
            vmxon-ud hv-memory-read hv-memory-write hv-memory-stats hc-efault hc-einval
            tf-cpuid movss-cpuid"
BSP_CHECKS="memmap-reserved sti-cpuid"

# check_probe NAME SMP — the logs of run NAME, a machine with SMP CPUs.
check_probe() {
  local name=$1 smp=$2 dir=$EMU_ROOT/$1
  local log=$dir/minihv.txt fw=$dir/firmware.txt
  clean_log "$dir/com2.log" > "$log"
  clean_log "$dir/com1.log" > "$fw"

  # The core: every CPU virtualized, none parked.
  local n missing=
  for ((n = 0; n < smp; n++)); do
    grep -Eq "^minihv: hv: cpu $n \(APIC id [0-9]+\) virtualized" "$log" || missing="$missing $n"
  done
  [ -z "$missing" ] && pass "$name: the core virtualized all $smp CPU(s)" \
    || fail "$name: core virtualized every CPU" "no 'minihv: hv: cpu N (APIC id A) virtualized' line for cpu$missing"
  if grep -Eq '^minihv: hv: (FATAL|.*parked)' "$log"; then
    fail "$name: no fatal exit" "$(grep -Em1 '^minihv: hv: (FATAL|.*parked)' "$log")"
  else
    pass "$name: no fatal exit, no parked CPU"
  fi

  # The probe (its ConOut lines, read from COM1: the core never writes there).
  expect_log "$name: probe started as the guest" "$log" '^minihv: guest: starting \\EFI\\minihv\\guest\.efi'
  expect_log "$name: probe saw $smp CPU(s)" "$fw" "^probe: $smp CPU\(s\) from MP services"
  local checks missing_checks failed_line expected=0
  for ((n = 0; n < smp; n++)); do
    checks=$CPU_CHECKS
    grep -Eq "^probe: cpu$n is APIC ID [0-9]+ \(BSP\)" "$fw" && checks="$checks $BSP_CHECKS"
    missing_checks=
    for c in $checks; do
      expected=$((expected + 1))
      grep -Eq "^probe: PASS cpu$n $c( |$)" "$fw" || missing_checks="$missing_checks $c"
    done
    if [ -z "$missing_checks" ]; then
      pass "$name: cpu$n passed every probe check ($(echo $checks | wc -w))"
    else
      failed_line=$(grep -Em1 "^probe: FAIL cpu$n " "$fw")
      fail "$name: cpu$n probe checks" "no PASS for:$missing_checks${failed_line:+ (first: $failed_line)}"
    fi
  done
  local ids
  ids=$(sed -n 's/^probe: cpu[0-9]* is APIC ID \([0-9]*\).*/\1/p' "$fw" | sort -u | wc -l)
  [ "$ids" = "$smp" ] && pass "$name: $smp distinct APIC IDs, each its own vCPU" \
    || fail "$name: distinct APIC IDs" "$ids distinct APIC IDs among the probe's CPUs, machine has $smp"
  if grep -q '^probe: FAIL' "$fw"; then
    fail "$name: no probe FAIL line" "$(grep -c '^probe: FAIL' "$fw") FAIL line(s), first: $(grep -m1 '^probe: FAIL' "$fw")"
  elif ! grep -Eq '^probe: [0-9]+ passed, [0-9]+ failed' "$fw"; then
    fail "$name: no probe FAIL line" "the probe never finished (no summary line)"
  else
    pass "$name: no probe FAIL line"
  fi
  expect_log "$name: probe summary $expected passed, 0 failed" "$fw" "^probe: $expected passed, 0 failed"
  # COM1 has the firmware's console; COM2 is the core's port, which the
  # firmware no longer reaches once the core runs (hv/console.c).
  expect_log "$name: probe returned success to minihv" "$fw" '^minihv: guest: \\EFI\\minihv\\guest\.efi returned 0x0$'
  # MINIHV_HC_DUMP_STATS from the probe: the core's table once the guest
  # started.
  if sed -n '/^minihv: guest: starting/,$p' "$log" | grep -Eq '^minihv: hv: exits: total( +[0-9]+)+'; then
    pass "$name: the core printed its exit table after the probe started"
  else
    fail "$name: exit table after the probe" "no 'minihv: hv: exits: total' line after 'guest: starting' in $log"
  fi

  # The firmware goes on as the guest: the shell's memmap (the core's block
  # Reserved there too) and pci after the probe.
  local base
  base=$(sed -n 's/^probe: PASS cpu[0-9]* memmap-reserved (0x\([0-9a-f]*\)-.*/\1/p' "$fw" | head -1)
  if [ -n "$base" ] && sed -n '/^probe: [0-9]* passed/,$p' "$fw" | grep -Eiq "^Reserved +0*${base}-"; then
    pass "$name: shell memmap after the probe shows 0x$base Reserved"
  else
    fail "$name: shell memmap after the probe" "no Reserved range starting at '0x$base' after the probe's summary"
  fi
  if sed -n '/^probe: [0-9]* passed/,$p' "$fw" | grep -q '==>'; then
    pass "$name: shell pci ran after the probe"
  else
    fail "$name: shell pci after the probe" "no '==>' device line after the probe's summary"
  fi
}

# reset_run NAME EMU SMP [emu.sh args] — the probe ends in a triple fault
# (guest_args = triple-fault): the core prints its summary once and resets
# the machine (hv/io.h io_reset_machine), never parks. QEMU: the firmware
# boots again (needs `-action reboot=reset`, emu.sh passes -no-reboot);
# startup.nsh leaves a flag file on the disk the first time and prints the
# done marker only the second time. Bochs resets at the core's 0xcf9 write
# (synchronously: the core's "no reset took" would follow within a few
# thousand instructions), but OVMF does not boot again after any reset
# there, bare or not (it polls port 0x8 forever: an ACPI timer at base 0),
# so the run ends at the core's reset line.
reset_run() {
  local name=$1 emu=$2 smp=$3; shift 3
  local dir=$EMU_ROOT/$name done=()
  make_esp "$dir/esp" "$CFG"$'\n''guest_args = triple-fault' "$PROBE"
  printf '%s\r\n' 'if exist fs0:\rebooted then' '  echo "minihv-test: done"' '  reset -s' 'endif' \
    'echo 1 > fs0:\rebooted' 'fs0:\EFI\minihv\minihv.efi' 'echo "minihv-test: no reset"' 'reset -s' \
    > "$dir/esp/startup.nsh"
  [ "$emu" = bochs ] && done=(--done 'minihv: hv: cpu [0-9]+: guest triple fault \(shutdown\): resetting the machine')
  boot "$name" "$emu" "$smp" "${done[@]}" "$@"
  local log=$dir/minihv.txt fw=$dir/firmware.txt
  clean_log "$dir/com2.log" > "$log"
  clean_log "$dir/com1.log" > "$fw"
  expect_log "$name: the probe triple-faulted" "$fw" '^probe: triple fault now'
  expect_log "$name: summary names the triple fault" "$log" \
    '^minihv: hv: summary: cpu [0-9]+: guest triple fault \(shutdown\)$'
  expect_log "$name: summary ends with the core's reset" "$log" '^minihv: hv: summary: end; the core resets the machine now$'
  expect_log "$name: the core resets the machine" "$log" \
    '^minihv: hv: cpu [0-9]+: guest triple fault \(shutdown\): resetting the machine'
  local n
  n=$(grep -c '^minihv: hv: summary: end' "$log")
  [ "$n" = 1 ] && pass "$name: one summary" || fail "$name: one summary" "$n 'summary: end' lines"
  if grep -Eq '^minihv: hv: (FATAL|.*parked|.*no reset took)' "$log"; then
    fail "$name: reset without FATAL, park or the core's own triple fault" \
      "$(grep -Em1 '^minihv: hv: (FATAL|.*parked|.*no reset took)' "$log")"
  else
    pass "$name: reset without FATAL, park or the core's own triple fault"
  fi
  if grep -q '^minihv-test: no reset' "$fw"; then
    fail "$name: the machine reset" "the shell went on after minihv (no reset)"
  fi
}

# reboot_chain_run NAME SMP [emu.sh args] — issue 15's reset contract: a
# guest reboot reboots the machine, whichever way it asks. QEMU only (the
# firmware boots again after a reset; Bochs' OVMF does not, see reset_run).
# Three boots in one run, each starting minihv with no guest (the shell
# goes on as its guest) and leaving a flag file for the next: EFI
# ResetSystem (`reset`: OVMF writes RST_CNT 0xcf9; `reset -w` only writes
# another value there), the 8042's reset pulse (0xfe to port 0x64, written
# by the shell's `mm`: through the core's A20 gate intercept,
# hv/a20_gate.c), then S5 power-off (`reset -s`, caught by the core: its
# summary, then the hardware). Each step comes after the core runs; the
# next boot must come. The triple fault is reset_run's.
reboot_chain_run() {
  local name=$1 smp=$2; shift 2
  local dir=$EMU_ROOT/$name
  make_esp "$dir/esp" 'serial = 0x2f8'
  printf '%s\r\n' \
    'if exist fs0:\r2 then' '  fs0:\EFI\minihv\minihv.efi' '  echo "minihv-test: done"' '  reset -s' 'endif' \
    'if exist fs0:\r1 then' '  echo 1 > fs0:\r2' '  fs0:\EFI\minihv\minihv.efi' '  echo "minihv-test: reset kbc"' \
    '  mm 64 fe -io -w 1 -n' '  stall 2000000' '  echo "minihv-test: no reset"' '  reset -s' 'endif' \
    'echo 1 > fs0:\r1' 'fs0:\EFI\minihv\minihv.efi' 'echo "minihv-test: reset cold"' 'reset' \
    'echo "minihv-test: no reset"' 'reset -s' > "$dir/esp/startup.nsh"
  boot "$name" qemu "$smp" --done 'minihv: hv: summary: end' "$@"
  local log=$dir/minihv.txt fw=$dir/firmware.txt
  clean_log "$dir/com2.log" > "$log"
  clean_log "$dir/com1.log" > "$fw"
  local got want='reset cold,reset kbc,done'
  got=$(sed -n 's/^minihv-test: \(reset cold\|reset kbc\|done\|no reset\)$/\1/p' "$fw" | paste -sd, -)
  if [ "$got" = "$want" ]; then
    pass "$name: ResetSystem and the 8042 pulse each rebooted the machine, then S5 powered it off"
  else
    fail "$name: the reboot chain" "steps '$got', want '$want' (logs in $dir)"
  fi
  expect_log "$name: the last boot's S5 went through the core's summary" "$log" \
    'minihv: hv: summary: cpu [0-9]+: sleep request: PM1a_CNT 0x[0-9a-f]+ <- 0x[0-9a-f]+ \(SLP_EN, SLP_TYP [0-7]\)$'
  local launches
  launches=$(grep -c '^minihv: hv: core running at' "$log")
  [ "$launches" = 3 ] && pass "$name: the core ran in each of the three boots" \
    || fail "$name: the core in each boot" "$launches 'core running' lines, want 3"
  if grep -Eq '^minihv: hv: (FATAL|.*parked)' "$log"; then
    fail "$name: no FATAL, no parked CPU" "$(grep -Em1 '^minihv: hv: (FATAL|.*parked)' "$log")"
  else
    pass "$name: no FATAL, no parked CPU over the three boots"
  fi
}
