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

# linux_boot NAME SMP [qemu args] — boots the Linux guest under minihv.
linux_boot() {
  local name=$1 smp=$2; shift 2
  local dir=$EMU_ROOT/$name
  mkdir -p "$dir"
  head -c 1048576 /dev/urandom > "$dir/first.bin"
  cp "$dir/first.bin" "$dir/disk.img"
  truncate -s 8M "$dir/disk.img"
  local md5
  md5=$(md5sum < "$dir/first.bin" | cut -d' ' -f1)
  make_esp "$dir/esp" "$(printf 'serial = 0x2f8\nguest = \\EFI\\minihv\\guest.efi\nguest_args = initrd=\\EFI\\minihv\\initrd.img console=ttyS0 quiet minihv.cpus=%s minihv.disk=/dev/nvme0n1 minihv.md5=%s' "$smp" "$md5")" \
    "${BUILD:-build}/linux/vmlinuz.efi"
  cp "${BUILD:-build}/linux/initrd.img" "$dir/esp/EFI/minihv/"
  # Ends at the core's summary: the guest's poweroff is an ACPI S5 write.
  boot "$name" qemu "$smp" --timeout "${LINUX_TIMEOUT:-300}" --done 'minihv: hv: summary: end' \
    -- -drive "file=$dir/disk.img,if=none,id=nvm,format=raw" -device nvme,serial=minihv0,drive=nvm "$@"
}

# check_linux NAME SMP
check_linux() {
  local name=$1 smp=$2 dir=$EMU_ROOT/$1
  local log=$dir/guest.txt hv=$dir/minihv.txt
  clean_log "$dir/com1.log" > "$log"
  clean_log "$dir/com2.log" > "$hv"
  local n
  n=$(grep -c '^minihv: hv: cpu [0-9]* (APIC id [0-9]*) virtualized' "$hv")
  [ "$n" = "$smp" ] && pass "$name: $n CPUs virtualized before Linux" || fail "$name: CPUs virtualized" "$n of $smp"
  for want in 'CPUID 0x40000000 signature MiniHv' 'CPUID.1:ECX.hypervisor set' 'VMX and SVM hidden' \
              "$smp CPUs online" 'read /dev/nvme0n1: first MiB md5' 'write.read back /dev/nvme0n1'; do
    expect_log "$name: guest: $want" "$log" "^linux-guest: PASS $want"
  done
  if grep -q '^linux-guest: FAIL' "$log"; then
    fail "$name: guest FAIL lines" "$(grep '^linux-guest: FAIL' "$log" | tr '\n' ';')"
  fi
  expect_log "$name: guest summary" "$log" '^linux-guest: [0-9]+ passed, 0 failed'
  # The write, read back by the harness from the disk image.
  local wrote ondisk
  wrote=$(sed -n 's/^linux-guest: wrote-md5 //p' "$log")
  ondisk=$(dd if="$dir/disk.img" bs=1M skip=1 count=1 2>/dev/null | md5sum | cut -d' ' -f1)
  [ -n "$wrote" ] && [ "$wrote" = "$ondisk" ] && pass "$name: the guest's write is on the disk image ($ondisk)" \
    || fail "$name: disk image" "guest wrote '$wrote', image has $ondisk"
  expect_log "$name: the core's summary at the guest's power-off" "$hv" '^minihv: hv: summary: exits: total( +[0-9]+)+'
  grep '^minihv: hv: summary: exits: \(reason\|total\|cpuid\|npf-mmio\|io\|init\|sipi\|msr\)' "$hv" | sed 's/^/  /'
  if grep -q 'minihv: hv: FATAL' "$hv"; then
    fail "$name: no fatal exit" "$(grep -m1 'minihv: hv: FATAL' "$hv")"
  fi
}

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
