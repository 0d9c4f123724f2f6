#!/usr/bin/env bash
# make run: boots build/minihv.efi as EFI/BOOT/BOOTX64.EFI (the USB-stick
# layout) with the example config, in QEMU (default) or Bochs, headless.
# minihv's log (COM2) goes to the terminal; the firmware console to
# build/run/com1.log. The shell's startup.nsh powers the machine off once
# the firmware's boot order reaches it.
set -eu
EMU=${EMU:-qemu}
BUILD=${BUILD:-build}
ESP=$BUILD/run/esp
rm -rf "$ESP"
mkdir -p "$ESP/EFI/BOOT"
cp "$BUILD/minihv.efi" "$ESP/EFI/BOOT/BOOTX64.EFI"
sed -e 's/^serial = 0x3f8/serial = 0x2f8/' -e 's/^passthrough = igd/passthrough = none/' \
  scripts/minihv.cfg.example > "$ESP/EFI/BOOT/minihv.cfg"
printf '%s\r\n' 'echo "minihv-test: done"' 'reset -s' > "$ESP/startup.nsh"
exec bash scripts/emu.sh --emu "$EMU" --esp "$ESP" --out "$BUILD/run" --smp "${SMP:-2}" \
  --timeout "${TIMEOUT:-120}" --follow
