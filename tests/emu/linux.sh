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

# bench: the same boot with and without minihv under -icount
# shift=0,sleep=off (deterministic: the virtual clock, and so the TSC,
# advances one nanosecond per guest instruction, and jumps to the next
# timer deadline when every CPU idles). hvcheck's TSC at /init is that
# count from power-on to userspace; the ratio is minihv's boot overhead.
# Both runs include the shell's one startup.nsh countdown.
bench() {
  LINUX_TIMEOUT=${LINUX_TIMEOUT:-1500}
  local with=$EMU_ROOT/linux-bench-minihv without=$EMU_ROOT/linux-bench-bare
  linux_boot linux-bench-minihv "$SMP" -icount shift=0,sleep=off >/dev/null
  # Without minihv: the shell starts the kernel itself, same arguments.
  local args
  args=$(sed -n 's/^guest_args = //p' "$EMU_ROOT/linux-bench-minihv/esp/EFI/minihv/minihv.cfg")
  rm -rf "$without"
  mkdir -p "$without"
  cp -r "$with/esp" "$without/esp"
  cp "$with/disk.img" "$without/disk.img"
  printf '%s\r\n' "fs0:\\EFI\\minihv\\guest.efi $args" > "$without/esp/startup.nsh"
  boot linux-bench-bare qemu "$SMP" --timeout "${LINUX_TIMEOUT:-300}" --done 'linux-guest: done' \
    -- -drive "file=$without/disk.img,if=none,id=nvm,format=raw" -device nvme,serial=minihv0,drive=nvm \
       -icount shift=0,sleep=off >/dev/null
  local a b
  a=$(clean_log "$with/com1.log" | sed -n 's/^linux-guest: cpuid tsc //p' | tail -1)
  b=$(clean_log "$without/com1.log" | sed -n 's/^linux-guest: cpuid tsc //p' | tail -1)
  echo "bench: Linux guest, QEMU TCG -icount shift=0,sleep=off, $SMP CPUs, NVMe disk"
  echo "bench: virtual ns (instructions + idle jumps) from power-on to /init: with minihv ${a:-?}, without ${b:-?}"
  if [ -n "$a" ] && [ -n "$b" ]; then
    awk -v a="$a" -v b="$b" 'BEGIN { printf "bench: boot overhead of minihv: %.3fx (%+.1f%%)\n", a / b, (a - b) * 100 / b }'
  fi
  echo "bench: exits by reason during the Linux boot (the core's last table):"
  clean_log "$with/com2.log" | tac | sed -n '1,/^minihv: hv: exits: reason/p' | tac | grep '^minihv: hv: exits:' \
    | awk '{ sub(/^minihv: hv: exits: /, ""); if ($1 == "reason" || $1 == "total") { print "  " $0; next }
             for (i = 2; i <= NF; i++) if ($i != "0") { print "  " $0; next } }'
}

if [ "${1:-}" = --bench ]; then
  bench
  exit
fi

linux_boot "linux-smp$SMP" "$SMP"
check_linux "linux-smp$SMP" "$SMP"
summary linux
