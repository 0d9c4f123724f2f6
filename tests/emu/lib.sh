# Shared by the emulator suites (tests/emu/*.sh): build an ESP folder with
# minihv, its config and a startup.nsh, boot it, and read the logs.
# Source after scripts/lib/result.sh.

EMU_ROOT=${BUILD:-build}/emu

# make_esp DIR CONFIG_TEXT [GUEST_EFI] — minihv at \EFI\minihv\minihv.efi
# with minihv.cfg beside it; the guest (if any) at \EFI\minihv\guest.efi.
# The shell's startup.nsh runs minihv, then memmap and pci (the firmware
# still working afterwards), prints the done marker and powers off.
make_esp() {
  local dir=$1 cfg=$2 guest=${3:-}
  rm -rf "$dir"
  mkdir -p "$dir/EFI/minihv"
  cp "${BUILD:-build}/minihv.efi" "$dir/EFI/minihv/minihv.efi"
  printf '%s\n' "$cfg" > "$dir/EFI/minihv/minihv.cfg"
  [ -n "$guest" ] && cp "$guest" "$dir/EFI/minihv/guest.efi"
  printf '%s\r\n' 'fs0:\EFI\minihv\minihv.efi' 'memmap' 'pci' 'echo "minihv-test: done"' 'reset -s' \
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
