#!/usr/bin/env bash
# check-vmx: boots minihv in Bochs + OVMF (VMX with EPT) with the probe
# (tests/guests/probe.c) as its guest, at 1, 2 and 4 Skylake-X CPUs and at
# 2 Tiger Lake CPUs, and reads both serial logs: the core virtualized every
# CPU, every CPU passed every probe check, nothing failed, the core printed
# its exit table, and the firmware went on as the guest (the shell's memmap
# and pci after minihv returned).
#
# usage: vmx.sh            every run, ends with "vmx: N passed, N failed"
#        VMX_ONLY=REGEX    only the runs whose name matches (development)
#        vmx.sh --bench    `make bench`: one boot (2 Skylake-X CPUs) with
#                          tests/guests/hvstats.c as the guest, prints the
#                          core's exits by reason, footprint and EPT leaves
set -u
. scripts/lib/result.sh
. tests/emu/lib.sh

PROBE=${BUILD:-build}/probe.efi
CFG=$(printf 'serial = 0x2f8\nguest = \\EFI\\minihv\\guest.efi')
TIMEOUT=${VMX_TIMEOUT:-300}

# The probe's checks: on every CPU, and on the BSP only.
CPU_CHECKS="fault-guard cpuid-signature cpuid-hv-bit cpuid-vmx-hidden vmcall-ping cr4-vmxe-clear
            vmxon-ud hv-memory-read hv-memory-write hv-memory-stats hc-efault hc-einval"
BSP_CHECKS="memmap-reserved"

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
  expect_log "$name: probe returned success to minihv" "$log" '^minihv: guest: \\EFI\\minihv\\guest\.efi returned 0x0$'
  # MINIHV_HC_DUMP_STATS from the probe: the core's table after its summary
  # (COM2 carries both: the core's lines and the firmware's console).
  if sed -n '/^probe: [0-9]* passed/,$p' "$log" | grep -Eq '^minihv: hv: exits: total( +[0-9]+)+'; then
    pass "$name: the core printed its exit table after the probe"
  else
    fail "$name: exit table after the probe" "no 'minihv: hv: exits: total' line after the probe's summary in $log"
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

# A Bochs killed at a timeout leaves esp.img.lock behind, and the next
# Bochs on that folder refuses the disk: drop it before booting.
drop_stale_lock() {
  rm -f "$EMU_ROOT/$1/esp.img.lock"
}

# run NAME CPU_MODEL SMP
run() {
  local name=$1 model=$2 smp=$3
  [[ $name =~ ${VMX_ONLY:-.} ]] || return 0
  make_esp "$EMU_ROOT/$name/esp" "$CFG" "$PROBE"
  drop_stale_lock "$name"
  boot "$name" bochs "$smp" --cpu "$model" --timeout "$TIMEOUT"
  check_probe "$name" "$smp"
}

# The core's exit table lines ("minihv: hv: exits: ...") of one dump, rows
# that are all zero left out; then its footprint line.
print_dump() {
  awk '/^minihv: hv: exits: / { sub(/^minihv: hv: exits: /, ""); if ($1 == "reason" || $1 == "total") { print "  " $0; next }
                                 for (i = 2; i <= NF; i++) if ($i != "0") { print "  " $0; next } }'
}

# bench: boot to the guest (hvstats: the boot's exits), then the shell's
# memmap and pci, then hvstats again from the shell (what they added).
bench() {
  local name=vmx-bench model=corei7_skylake_x smp=2 dir=$EMU_ROOT/vmx-bench
  make_esp "$dir/esp" "$CFG" "${BUILD:-build}/hvstats.efi"
  drop_stale_lock "$name"
  printf '%s\r\n' 'fs0:\EFI\minihv\minihv.efi' 'memmap' 'pci' 'fs0:\EFI\minihv\guest.efi' \
    'echo "minihv-test: done"' 'reset -s' > "$dir/esp/startup.nsh"
  boot "$name" bochs "$smp" --cpu "$model" --timeout "$TIMEOUT" >/dev/null
  local log=$dir/minihv.txt
  clean_log "$dir/com2.log" > "$log"
  echo "bench: Bochs $model, $smp CPUs, ips ${BOCHS_IPS:-10000000}: $(cat "$dir/result") after $(cut -d. -f1 "$dir/seconds")s (logs in $dir)"
  # Dumps: the first after the guest started, and the last one (after the shell).
  local first last
  first=$(sed -n '/^minihv: guest: starting/,$p' "$log" | sed -n '1,/^minihv: hv: footprint:/p')
  last=$(tac "$log" | sed -n '1,/^minihv: hv: exits: reason/p' | tac)
  if ! grep -q '^minihv: hv: exits: reason' <<<"$first"; then
    echo "bench: no exit table from the core after the guest started"; return 1
  fi
  echo "bench: exits by reason, from virtualization to the guest (minihv's boot):"
  print_dump <<<"$first"
  echo "bench: exits by reason, after the shell's memmap and pci as well:"
  print_dump <<<"$last"
  # "footprint: image I KiB, host page tables H KiB, EPT E KiB, per-CPU P KiB (N CPUs), EPT leaves 1G a, 2M b, 4K c; block M MiB at 0xB"
  grep -m1 '^minihv: hv: footprint:' <<<"$first" | sed -E \
    -e 's/^minihv: hv: footprint: (.*), EPT leaves (.*); (block .*)$/bench: memory: \1; \3\nbench: EPT leaves: \2/'
  grep -m1 '^hvstats: footprint:' "$log" | sed 's/^hvstats: footprint:/bench: as the guest reads it (FOOTPRINT hypercall):/'
}

if [ "${1:-}" = --bench ]; then
  bench
  exit
fi

run vmx-skx-smp1 corei7_skylake_x 1
run vmx-skx-smp2 corei7_skylake_x 2
run vmx-skx-smp4 corei7_skylake_x 4
run vmx-tgl-smp2 tigerlake 2

summary vmx
