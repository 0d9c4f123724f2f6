#!/usr/bin/env bash
# check-vmx: boots minihv in Bochs + OVMF (VMX with EPT) with the probe
# (tests/guests/probe.c) as its guest, at 1, 2 and 4 Skylake-X CPUs and at
# 2 Tiger Lake CPUs, and reads both serial logs: the core virtualized every
# CPU, every CPU passed every probe check, nothing failed, the core printed
# its exit table, and the firmware went on as the guest (the shell's memmap
# and pci after minihv returned); then a guest triple fault that resets the
# machine (tests/emu/probe.sh reset_run).
#
# usage: vmx.sh            every run, ends with "vmx: N passed, N failed"
#        VMX_ONLY=REGEX    only the runs whose name matches (development)
#        vmx.sh --bench    `make bench`: one boot (2 Skylake-X CPUs) with
#                          tests/guests/hvstats.c as the guest, prints the
#                          core's exits by reason, footprint and EPT leaves
set -u
. scripts/lib/result.sh
. tests/emu/lib.sh
. tests/emu/probe.sh

TIMEOUT=${VMX_TIMEOUT:-300}

# run NAME CPU_MODEL SMP
run() {
  local name=$1 model=$2 smp=$3
  [[ $name =~ ${VMX_ONLY:-.} ]] || return 0
  make_esp "$EMU_ROOT/$name/esp" "$CFG" "$PROBE"
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
# A guest triple fault resets the machine (triple-fault exit).
[[ vmx-skx-reset =~ ${VMX_ONLY:-.} ]] && reset_run vmx-skx-reset bochs 1 --cpu corei7_skylake_x --timeout "$TIMEOUT"

summary vmx
