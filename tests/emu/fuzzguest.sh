#!/usr/bin/env bash
# check-fuzzguest (issue 16): the fuzzing guest (tests/guests/fuzzguest*.c)
# runs a seeded stream of exit-causing operations on every CPU at once and
# checks, after every batch, that the core still answers (CPUID leaf, PING
# with the CPU's own APIC ID) and that its code and rodata are unchanged
# (HV_CHECKSUM). This script adds what only the core's log shows: no FATAL
# and no parked CPU, and the coverage: the exit kinds (the guest's
# GET_STATS deltas) and the refusal kinds (the summary's `refused:` line,
# hv/refuse.h) the run reached and those it did not.
#
# Runs (the fixed seed, then a random one, printed; each half the time):
#   q   QEMU q35 TCG -cpu max (SVM + NPT), -smp 2, intel-iommu, an NVMe
#       passed through (its BAR, MSI-X table and ECAM page are targets)
#   b   Bochs Skylake-X (VMX + EPT), 2 CPUs, nothing passed through
# Environment:
#   FUZZGUEST_SECONDS=N   guest seconds per run (default 30 on each
#                    backend: 60 s a backend for the pair; Bochs's guest
#                    clock runs at BOCHS_IPS instructions a second, about
#                    the wall clock here)
#   FUZZGUEST_BOCHS_SECONDS=N  Bochs runs (default: FUZZGUEST_SECONDS or 30)
#   FUZZGUEST_RANDOM=0    the fixed seed only
#   FUZZGUEST_EMU=qemu|bochs  one backend only
#   FUZZGUEST_SEED=S      only this seed (no fixed + random pair)
#   FUZZGUEST_ARGS="..."  more guest options (until=, cpus=, tf=, kinds=, batch=)
#   FUZZGUEST_NAME=NAME   run folder name suffix (build/emu/fuzzguest/NAME-...)
#   FUZZGUEST_QEMU_ARGS="..."  more QEMU arguments (word-split; e.g. QEMU
#                    traces: "-d trace:apic_mem_writel -D FILE")
# Prints "PASS/FAIL name: ..." per check and "fuzzguest: N passed, N failed".
set -u
. scripts/lib/result.sh
. tests/emu/lib.sh

GUEST=${BUILD:-build}/fuzzguest.efi
FIXED_SEED=0x5eed16
# 30 s of guest time a run, the fixed and a random seed on each backend:
# with the boots (a Bochs boot is about 40 s) the four runs take about 4
# minutes on a 2-core machine.
SECONDS_Q=${FUZZGUEST_SECONDS:-30}
SECONDS_B=${FUZZGUEST_BOCHS_SECONDS:-${FUZZGUEST_SECONDS:-30}}

# The core image's bytes that never change (text + rodata, whole pages),
# from the ELF the loader embeds: the guest's HV_CHECKSUM range.
ro_bytes() {
  local elf=${BUILD:-build}/hv.elf start end
  start=$(nm "$elf" 2>/dev/null | awk '$3 == "hv_image_start" { print $1 }')
  end=$(readelf -SW "$elf" 2>/dev/null | sed -n 's/.*\.rodata *PROGBITS *\([0-9a-f]*\) [0-9a-f]* \([0-9a-f]*\) .*/\1 \2/p' | head -1)
  [ -n "$start" ] && [ -n "$end" ] || { echo 0x10000; return; }
  set -- $end
  printf '0x%x\n' $(( (0x$1 + 0x$2 - 0x$start) & ~0xfff ))
}

random_seed() { printf '0x%x\n' $(( (RANDOM << 30) ^ (RANDOM << 15) ^ RANDOM ^ ($(date +%s%N) & 0xffffff) )); }

# run NAME EMU SEED SECONDS [emu.sh args...]
run() {
  local name=$1 emu=$2 seed=$3 secs=$4; shift 4
  local dir=$EMU_ROOT/fuzzguest/$name pt=none bdf= timeout
  if [ "$emu" = qemu ]; then
    pt=00:05.0; bdf=00:05.0
    truncate -s 8M "$dir.nvme.img"
    set -- -- -device intel-iommu,intremap=off,aw-bits=48 \
      -drive "file=$dir.nvme.img,if=none,id=nvm,format=raw" -device nvme,serial=fuzz0,drive=nvm,addr=0x5 ${FUZZGUEST_QEMU_ARGS:-} "$@"
  fi
  local args="seed=$seed seconds=$secs ro=$(ro_bytes)${bdf:+ bdf=$bdf}${FUZZGUEST_ARGS:+ $FUZZGUEST_ARGS}"
  echo "  $name: $emu, seed $seed, $secs s (guest time): guest_args = $args"
  mkdir -p "$dir"
  make_esp "$dir/esp" "$(printf 'serial = 0x2f8\npassthrough = %s\nguest = \\EFI\\minihv\\guest.efi\nguest_args = %s' "$pt" "$args")" "$GUEST"
  # Bochs: the guest's clock is BOCHS_IPS instructions a second, slower
  # than the wall clock on a loaded machine; the time-out is generous.
  timeout=$(( secs * 3 + 240 ))
  [ "$emu" = bochs ] && timeout=$(( secs * 12 + 600 ))
  local done_re='minihv: hv: summary: end|minihv: hv: cpu 0 parked'
  [ "$emu" = bochs ] && done_re="$done_re|minihv-test: done"
  rm -f "$dir/esp.img.lock"
  bash scripts/emu.sh --emu "$emu" --esp "$dir/esp" --out "$dir" --smp 2 --done "$done_re" --timeout "$timeout" "$@" | sed 's/^/  /'
  check_run "$name" "$dir" "$seed"
}

# check_run NAME DIR SEED
check_run() {
  local name=$1 dir=$2 seed=$3
  local fw=$dir/firmware.txt hv=$dir/minihv.txt result line
  clean_log "$dir/com1.log" > "$fw"
  clean_log "$dir/com2.log" > "$hv"
  result=$(cat "$dir/result" 2>/dev/null || echo none)
  grep -a '^fuzzguest: ' "$fw" | grep -av '^fuzzguest: \(PASS\|FAIL\|  \)' | sed 's/^/  | /'
  grep -a '^fuzzguest: \(FAIL\|  \)' "$fw" | head -80 | sed 's/^/  | /'
  local got
  got=$(grep -aEm1 '^fuzzguest: [0-9]+ passed, [0-9]+ failed' "$fw")
  while IFS= read -r line; do
    case $line in
      "fuzzguest: PASS "*) pass "$name: ${line#fuzzguest: PASS }" ;;
      "fuzzguest: FAIL "*) fail "$name: ${line#fuzzguest: FAIL }" "seed $seed; replay: scripts/fuzzguest-replay.sh $seed STEP (logs in $dir)" ;;
    esac
  done < <(grep -aE '^fuzzguest: (PASS|FAIL) ' "$fw")
  if [ -z "$got" ]; then
    local last
    last=$(grep -a '^fuzzguest: ' "$fw" | tail -1)
    fail "$name: the guest's summary" "none ($result; seed $seed; last guest line: ${last:-none})"
  fi
  local fatal
  fatal=$(grep -Eam1 '^minihv: hv: (FATAL.*|cpu [0-9]+ parked.*)' "$hv")
  if [ -n "$fatal" ]; then
    fail "$name: no FATAL, no parked CPU" "$fatal ($(grep -Eam1 -A1 '^minihv: hv: FATAL' "$hv" | tail -1 | sed 's/^minihv: hv: *//')); seed $seed"
  else
    pass "$name: no FATAL, no parked CPU in the core's log"
  fi
  # Coverage: refusal kinds (hv/refuse.h, in the order of the enum).
  local refused all kinds_hit= kinds_miss= k
  refused=$(grep -am1 '^minihv: hv: summary: refused:' "$hv" | sed 's/^minihv: hv: summary: refused: *//')
  # Bochs (no ACPI power-off, no summary): the core's first-refusal lines.
  [ -n "$refused" ] || refused=$(grep -ao '^minihv: hv: refused [a-z0-9-]*:' "$hv" | sed 's/^minihv: hv: refused \(.*\):/\1 1/' | sort -u | paste -sd, | sed 's/,/, /g')
  all=$(sed -n '/hv_refuse_names\[HV_REFUSE_KINDS\] = {/,/};/p' hv/refuse.c | grep -o '"[a-z0-9-]*"' | tr -d '"')
  if [ -n "$refused" ]; then
    for k in $all; do
      if [[ ", $refused," == *", $k "* ]] || [[ "$refused" == "$k "* ]]; then kinds_hit="$kinds_hit $k"; else kinds_miss="$kinds_miss $k"; fi
    done
    echo "  coverage: refusal kinds reached:${kinds_hit:- none}"
    echo "  coverage: refusal kinds not reached:${kinds_miss:- none}"
  else
    echo "  coverage: no summary 'refused:' line in the core's log ($result)"
  fi
}

# Both backends, or one with FUZZGUEST_EMU. QEMU was out of `make check`
# while the fixed seed found the SVM NMI window's single step leaking TF
# into a guest fault frame (a #DB with DR6.BS in the guest's own code
# after ~20 s); fixed in hv/svm/svm_exit.c (bddc2da).
want() {
  if [ -n "${FUZZGUEST_EMU:-}" ]; then [ "$FUZZGUEST_EMU" = "$1" ]; else true; fi
}

mkdir -p "$EMU_ROOT/fuzzguest"
# The fixed seed is the regression run; the random one (printed with its
# replay line on a failure) looks where the fixed one does not. The first
# random seed ever run (0x14b05b917d15: VMEXIT_INVALID, cpu0 in QEMU's SMM
# entry state) was the fuzzer's own SMI: an identity write at APIC+0x308,
# which QEMU takes as ICR low (tests/guests/fuzzguest.c, the apic region);
# scripts/fuzzguest-replay.sh 0x14b05b917d15 312971.
if [ -n "${FUZZGUEST_SEED:-}" ]; then
  SEEDS=("$FUZZGUEST_SEED")
elif [ "${FUZZGUEST_RANDOM:-1}" = 1 ]; then
  SEEDS=("$FIXED_SEED" "$(random_seed)")
else
  SEEDS=("$FIXED_SEED")
fi
i=0
for seed in "${SEEDS[@]}"; do
  tag=$([ $i = 0 ] && [ -z "${FUZZGUEST_SEED:-}" ] && echo fixed || echo seed)
  [ -n "${FUZZGUEST_SEED:-}" ] && tag=seed
  [ $i = 1 ] && tag=random
  want qemu && run "q-$tag${FUZZGUEST_NAME:+-$FUZZGUEST_NAME}" qemu "$seed" "$SECONDS_Q"
  want bochs && run "b-$tag${FUZZGUEST_NAME:+-$FUZZGUEST_NAME}" bochs "$seed" "$SECONDS_B"
  i=$((i + 1))
done

summary fuzzguest
