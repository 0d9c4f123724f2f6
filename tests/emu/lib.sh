# Shared by the emulator suites (tests/emu/*.sh): build an ESP folder with
# minihv, its config and a startup.nsh, boot it, and read the logs.
# Source after scripts/lib/result.sh.

EMU_ROOT=${BUILD:-build}/emu

# make_esp DIR CONFIG_TEXT [GUEST_EFI] — minihv at \EFI\minihv\minihv.efi
# with minihv.cfg beside it; the guest (if any) at \EFI\minihv\guest.efi.
# The shell's startup.nsh runs minihv, then memmap and pci (the firmware
# still working afterwards), prints the done marker and powers off.
# ESP_PRESTEP=FILE.efi or FILE.nsh: an EFI application or a shell script
# startup.nsh runs first, before minihv's loader (\EFI\minihv\prestep.efi,
# .nsh; e.g. build/fadtmem.efi, tests/emu/msix-unmask.nsh).
make_esp() {
  local dir=$1 cfg=$2 guest=${3:-} pre=
  rm -rf "$dir"
  mkdir -p "$dir/EFI/minihv"
  cp "${BUILD:-build}/minihv.efi" "$dir/EFI/minihv/minihv.efi"
  printf '%s\n' "$cfg" > "$dir/EFI/minihv/minihv.cfg"
  [ -n "$guest" ] && cp "$guest" "$dir/EFI/minihv/guest.efi"
  if [ -n "${ESP_PRESTEP:-}" ]; then
    local ext=${ESP_PRESTEP##*.}
    cp "$ESP_PRESTEP" "$dir/EFI/minihv/prestep.$ext"
    pre="fs0:\\EFI\\minihv\\prestep.$ext"
  fi
  printf '%s\r\n' ${pre:+"$pre"} 'fs0:\EFI\minihv\minihv.efi' 'memmap' 'pci' 'echo "minihv-test: done"' 'reset -s' \
    > "$dir/startup.nsh"
}

# boot NAME EMU SMP [emu.sh args...] — boots $EMU_ROOT/NAME/esp; logs in
# $EMU_ROOT/NAME/{com1,com2}.log. Records a failure when it times out.
boot() {
  local name=$1 emu=$2 smp=$3; shift 3
  local out=$EMU_ROOT/$name
  # A Bochs killed at a time-out leaves esp.img.lock behind, and the next
  # Bochs on that folder refuses the disk.
  rm -f "$out/esp.img.lock"
  if bash scripts/emu.sh --emu "$emu" --esp "$out/esp" --out "$out" --smp "$smp" "$@"; then
    pass "$name: booted to the done marker in $(cut -d. -f1 "$out/seconds")s"
  else
    fail "$name" "no done marker ($(cat "$out/result"); logs in $out)"
  fi
}

# Strips terminal escapes and CRs from a serial log, for grep.
clean_log() {
  sed -e 's/\x1b\[[0-9;=?]*[a-zA-Z]//g' -e 's/\r//g' "$1"
}

# linux_boot NAME SMP [qemu args] — boots the Linux guest (build/linux:
# Debian's kernel + scripts/linux-initrd.sh) under minihv in QEMU with an
# NVMe disk; check_linux NAME SMP checks it (tests/emu/linux.sh, and
# tests/emu/passthrough.sh with the device passed through). Optional:
# LINUX_CFG_EXTRA (minihv.cfg lines), LINUX_ARGS_EXTRA (kernel arguments),
# LINUX_NVME_OPTS (",addr=0x5": more options of the nvme device).
linux_boot() {
  local name=$1 smp=$2; shift 2
  local dir=$EMU_ROOT/$name
  mkdir -p "$dir"
  head -c 1048576 /dev/urandom > "$dir/first.bin"
  cp "$dir/first.bin" "$dir/disk.img"
  truncate -s 8M "$dir/disk.img"
  local md5 nl=$'\n'
  md5=$(md5sum < "$dir/first.bin" | cut -d' ' -f1)
  make_esp "$dir/esp" "$(printf 'serial = 0x2f8\n%sguest = \\EFI\\minihv\\guest.efi\nguest_args = initrd=\\EFI\\minihv\\initrd.img console=ttyS0 quiet minihv.cpus=%s minihv.disk=/dev/nvme0n1 minihv.md5=%s%s' \
      "${LINUX_CFG_EXTRA:+$LINUX_CFG_EXTRA$nl}" "$smp" "$md5" "${LINUX_ARGS_EXTRA:+ $LINUX_ARGS_EXTRA}")" \
    "${BUILD:-build}/linux/vmlinuz.efi"
  cp "${BUILD:-build}/linux/initrd.img" "$dir/esp/EFI/minihv/"
  # Ends at the core's summary: the guest's poweroff is an ACPI S5 write.
  boot "$name" qemu "$smp" --timeout "${LINUX_TIMEOUT:-300}" --done 'minihv: hv: summary: end' \
    -- -drive "file=$dir/disk.img,if=none,id=nvm,format=raw" -device "nvme,serial=minihv0,drive=nvm${LINUX_NVME_OPTS:-}" "$@"
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
  # OVMF's console mirrors to every UART, the core's too: the loader
  # disconnects the firmware's driver from the core's port before the core
  # starts (boot/log.c), so the firmware neither writes nor polls it as a
  # guest (issue 15: ~2,000 exits a boot, every written byte dropped).
  expect_log "$name: the firmware's driver released the core's UART" "$hv" \
    "^minihv: log: the firmware's driver for the core's UART .* disconnected"
  if grep -q '^minihv: hv: summary: refused:.*core-uart' "$hv"; then
    fail "$name: no guest byte for the core's UART" "$(grep -m1 '^minihv: hv: summary: refused:' "$hv")"
  else
    pass "$name: no guest byte for the core's UART"
  fi
  grep '^minihv: hv: summary: exits: \(reason\|total\|cpuid\|npf-mmio\|io\|init\|sipi\|msr\)' "$hv" | sed 's/^/  /'
  if grep -q 'minihv: hv: FATAL' "$hv"; then
    fail "$name: no fatal exit" "$(grep -m1 'minihv: hv: FATAL' "$hv")"
  fi
}
