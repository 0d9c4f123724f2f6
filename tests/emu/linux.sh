#!/usr/bin/env bash
# check-linux: a real Linux guest (Debian's kernel as an EFI stub, the
# initramfs from scripts/linux-initrd.sh) chain-loaded by minihv in QEMU
# (SVM + NPT) with 2 CPUs and an NVMe disk. The guest's /init checks the
# CPUID signature, that every CPU came online, and disk I/O; the harness
# then reads the disk image itself to see the guest's write landed.
set -u
. scripts/lib/result.sh
. tests/emu/lib.sh

SMP=${LINUX_SMP:-2}

# bench: the Linux boot with and without minihv under QEMU's -icount
# shift=0,sleep=off (docs/bench.md): the virtual clock, and with it the
# guest TSC, advances one nanosecond per guest instruction, and jumps to the
# next timer deadline when every CPU halts. One CPU by default: with -smp 2
# the icount kernel stalls at "Booting SMP configuration", even without
# minihv (QEMU 7.2's round-robin icount scheduler; docs/bench.md). The same kernel arguments for both runs; with
# minihv.bench, hvcheck also prints the kernel's clock at "Run /init", the
# idle time so far and a TSC check over a loop of known length.
# The shell's 5 s startup.nsh countdown would cost ~5e9 instructions
# (minutes of wall time): a key press through the monitor skips it.
BENCH_SMP=${LINUX_BENCH_SMP:-1}
BENCH_ICOUNT=${LINUX_BENCH_ICOUNT:-shift=0,sleep=off}

# bench_key LOG PORT — presses space in the shell's countdown.
bench_key() {
  local i
  for i in $(seq 1 1200); do
    grep -aq 'Press .*ESC' "$1" 2>/dev/null && break
    sleep 0.5
  done
  { exec 3<>"/dev/tcp/127.0.0.1/$2"; } 2>/dev/null || return 0
  sleep 0.2
  printf 'sendkey spc\n' >&3
  sleep 1
  exec 3>&-
}

# bench_boot NAME DONE STARTUP_CMD — one run; $dir/esp is ready but for
# startup.nsh.
bench_boot() {
  local name=$1 done=$2 dir=$EMU_ROOT/$1 port=$((20000 + RANDOM % 20000))
  printf '%s\r\n' "$3" > "$dir/esp/startup.nsh"
  rm -f "$dir/com1.log"
  bench_key "$dir/com1.log" "$port" &
  local key=$!
  nice -n 10 bash scripts/emu.sh --emu qemu --esp "$dir/esp" --out "$dir" --smp "$BENCH_SMP" \
    --timeout "${LINUX_TIMEOUT:-580}" --done "$done" \
    -- -drive "file=$dir/disk.img,if=none,id=nvm,format=raw" -device nvme,serial=minihv0,drive=nvm \
       -monitor "tcp:127.0.0.1:$port,server=on,wait=off" -icount "$BENCH_ICOUNT" >/dev/null
  kill "$key" 2>/dev/null; wait "$key" 2>/dev/null
  echo "bench: $name: $(cat "$dir/result") after $(cut -d. -f1 "$dir/seconds")s wall"
}

# bench_val DIR KEY — a value hvcheck printed ("linux-guest: cpuid KEY V").
bench_val() {
  clean_log "$1/com1.log" | sed -n "s/^linux-guest: cpuid $2 \+//p" | tail -1 | awk '{ print $1 }'
}

bench() {
  local with=$EMU_ROOT/linux-bench-minihv without=$EMU_ROOT/linux-bench-bare
  rm -rf "$with" "$without"
  mkdir -p "$with" "$without"
  head -c 1048576 /dev/urandom > "$with/disk.img"
  local md5
  md5=$(md5sum < "$with/disk.img" | cut -d' ' -f1)
  truncate -s 8M "$with/disk.img"
  cp "$with/disk.img" "$without/disk.img"
  local args="initrd=\\EFI\\minihv\\initrd.img console=ttyS0 quiet minihv.bench minihv.cpus=$BENCH_SMP minihv.disk=/dev/nvme0n1 minihv.md5=$md5"
  make_esp "$with/esp" "$(printf 'serial = 0x2f8\nguest = \\EFI\\minihv\\guest.efi\nguest_args = %s' "$args")" \
    "${BUILD:-build}/linux/vmlinuz.efi"
  cp "${BUILD:-build}/linux/initrd.img" "$with/esp/EFI/minihv/"
  cp -r "$with/esp" "$without/esp"
  echo "bench: Linux guest, QEMU TCG -icount $BENCH_ICOUNT, -smp $BENCH_SMP, NVMe disk"
  echo "bench: kernel arguments (both runs): $args"
  bench_boot linux-bench-minihv 'minihv: hv: summary: end' "$(sed -n '1p' "$with/esp/startup.nsh" | tr -d '\r')"
  # Without minihv: the shell starts the kernel itself, same arguments.
  bench_boot linux-bench-bare 'linux-guest: done' "fs0:\\EFI\\minihv\\guest.efi $args"
  local d k t l i
  for d in "$with" "$without"; do
    k=$(bench_val "$d" kernel_run_init); t=$(bench_val "$d" tsc); l=$(clean_log "$d/com1.log" | sed -n 's/^linux-guest: cpuid tsc_loop //p' | tail -1)
    i=$(clean_log "$d/com1.log" | sed -n 's/^linux-guest: cpuid uptime_idle //p' | tail -1)
    echo "bench: $(basename "$d"): kernel clock at Run /init ${k:-?} s; TSC at hvcheck ${t:-?}; uptime/idle ${i:-?} s; TSC over a loop: ${l:-?}"
  done
  local ka kb ta tb status=0
  ka=$(bench_val "$with" kernel_run_init); kb=$(bench_val "$without" kernel_run_init)
  ta=$(bench_val "$with" tsc); tb=$(bench_val "$without" tsc)
  echo "bench: kernel start to /init, virtual ns (= guest instructions, plus idle skipped while every CPU halts):"
  if [ -n "$ka" ] && [ -n "$kb" ]; then
    awk -v a="$ka" -v b="$kb" 'BEGIN { printf "bench:   with minihv %.0f, without %.0f: overhead %.3fx (%+.1f%%)\n", a * 1e9, b * 1e9, a / b, (a - b) * 100 / b }'
  else
    echo "bench:   with minihv ${ka:-?}, without ${kb:-?}: no figure"
    status=1
  fi
  echo "bench: power-on to hvcheck in /init, TSC (includes firmware and the shell; the key press time varies):"
  if [ -n "$ta" ] && [ -n "$tb" ]; then
    awk -v a="$ta" -v b="$tb" 'BEGIN { printf "bench:   with minihv %.0f, without %.0f: %.3fx (%+.1f%%)\n", a, b, a / b, (a - b) * 100 / b }'
  else
    echo "bench:   with minihv ${ta:-?}, without ${tb:-?}"
  fi
  echo "bench: exits by reason, power-on to the guest's power-off (the core's summary; non-zero rows):"
  bench_exits "$with/com2.log"
  # The 4-CPU boot issue 15 counts (check-linux's guest, no icount: the
  # icount kernel stalls at AP bring-up): exits per kind and CPU, and the
  # xAPIC page's writes by register.
  local smp=${LINUX_BENCH_SMP_EXITS:-4}
  if [ "$smp" != 0 ]; then
    linux_boot "linux-bench-smp$smp" "$smp" >/dev/null
    echo "bench: exits by reason, $smp CPUs, no icount (build/emu/linux-bench-smp$smp; $(cat "$EMU_ROOT/linux-bench-smp$smp/result")):"
    bench_exits "$EMU_ROOT/linux-bench-smp$smp/com2.log"
  fi
  return $status
}

# bench_exits COM2LOG — the summary's exit table (non-zero rows, a total
# over the CPUs added), its xAPIC page writes by register, its CPUID exits
# by leaf (supervisor, user; their sum as "all"), the A20 gate's port
# accesses and the refused counts.
bench_exits() {
  clean_log "$1" | grep '^minihv: hv: summary: \(exits\|apic-writes\|cpuid-leaves\):' \
    | awk '{ sub(/^minihv: hv: summary: /, ""); t = 0; for (i = 3; i <= NF; i++) t += $i
             if ($2 == "reason" || $2 == "register" || $2 == "leaf") { print "  " $0 (NF > 3 ? sprintf(" %10s", "all") : ""); next }
             for (i = 3; i <= NF; i++) if ($i != "0") { printf "  %s%s\n", $0, (NF > 3 ? sprintf(" %12d", t) : ""); next } }'
  # Where the io row's exits went: the A20 gate's ports, the guest's bytes
  # for the core's UART (refused core-uart).
  clean_log "$1" | sed -n 's/^minihv: hv: summary: \(a20 gate: .*\|refused: .*\)/  \1/p'
}

if [ "${1:-}" = --bench ]; then
  bench
  exit
fi

linux_boot "linux-smp$SMP" "$SMP"
check_linux "linux-smp$SMP" "$SMP"
summary linux
