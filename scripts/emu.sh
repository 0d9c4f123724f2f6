#!/usr/bin/env bash
# Boots an ESP folder in QEMU (q35 + OVMF) or Bochs (+ OVMF) headless and
# collects two serial logs: COM1 (the firmware's console: shell, memmap) and
# COM2 (minihv's own log, `serial = 0x2f8` in the test configs). Stops when
# a line matches --done in either log, when the machine powers off, or at
# --timeout. Prints the wall time.
#
# usage: emu.sh --emu qemu|bochs --esp DIR --out DIR [--smp N] [--cpu MODEL]
#               [--mem MB] [--timeout S] [--done REGEX] [--follow] [-- extra qemu args]
# --follow prints minihv's log (COM2) on the terminal as it comes.
# BOCHS_EXTRA (environment): extra bochsrc lines for a Bochs run.
# MACHINE (environment): the QEMU machine type, q35 unless set (pc: the
# i440FX with a PIIX4, no MCFG, for the config-space paths without ECAM).
set -u
EMU=qemu ESP= OUT= SMP=1 CPU= MEM=512 TIMEOUT=120 DONE='minihv-test: done' FOLLOW=0
while [ $# -gt 0 ]; do
  case $1 in
    --emu) EMU=$2; shift 2 ;;
    --esp) ESP=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --smp) SMP=$2; shift 2 ;;
    --cpu) CPU=$2; shift 2 ;;
    --mem) MEM=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --done) DONE=$2; shift 2 ;;
    --follow) FOLLOW=1; shift ;;
    --) shift; break ;;
    *) echo "emu.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$ESP" ] && [ -n "$OUT" ] || { echo "emu.sh: --esp and --out are required" >&2; exit 2; }
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
COM1_LOG=$OUT/com1.log
COM2_LOG=$OUT/com2.log
rm -f "$COM1_LOG" "$COM2_LOG" "$OUT/esp.img"
: > "$COM1_LOG"
: > "$COM2_LOG"

# FAT image from the ESP folder (both emulators boot the same bytes).
make_fat() {
  local img=$1 kib
  kib=$(( $(du -sk "$ESP" | cut -f1) + 8192 ))
  [ $kib -lt 40960 ] && kib=40960
  dd if=/dev/zero of="$img" bs=1k count=$kib status=none
  mkfs.vfat -n MINIHV "$img" >/dev/null
  (cd "$ESP" && find . -mindepth 1 -type d | sed 's|^\./||' | while read -r d; do mmd -i "$img" "::$d"; done
   find . -type f | sed 's|^\./||' | while read -r f; do mcopy -i "$img" "$f" "::$f"; done)
}
make_fat "$OUT/esp.img"

start=$(date +%s.%N)
case $EMU in
  qemu)
    cp /usr/share/OVMF/OVMF_VARS_4M.fd "$OUT/vars.fd"
    qemu-system-x86_64 -machine "${MACHINE:-q35}" -cpu "${CPU:-max}" -smp "$SMP" -m "$MEM" \
      -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
      -drive if=pflash,format=raw,file="$OUT/vars.fd" \
      -drive format=raw,file="$OUT/esp.img" \
      -serial "file:$COM1_LOG" -serial "file:$COM2_LOG" -display none -nic none -no-reboot \
      -monitor none "$@" </dev/null >"$OUT/emu.out" 2>&1 &
    ;;
  bochs)
    cat /usr/share/OVMF/OVMF_VARS.fd /usr/share/OVMF/OVMF_CODE.fd > "$OUT/ovmf.rom"
    cat > "$OUT/bochsrc" <<BOCHSRC
megs: $MEM
romimage: file=$OUT/ovmf.rom, address=0xffe00000
vgaromimage: file=/usr/share/vgabios/vgabios.bin
cpu: model=${CPU:-corei7_skylake_x}, count=$SMP, ips=${BOCHS_IPS:-10000000}
pci: enabled=1, chipset=i440fx
display_library: rfb, options="timeout=0"
ata0-master: type=disk, path=$OUT/esp.img, mode=flat
boot: disk
com1: enabled=1, mode=file, dev=$COM1_LOG
com2: enabled=1, mode=file, dev=$COM2_LOG
log: $OUT/bochs.log
info: action=ignore
debug: action=ignore
error: action=report
panic: action=fatal
BOCHSRC
    # Optional extra bochsrc lines (a device, a pci slot): appended, so a
    # later `pci:` line overrides what the one above set.
    [ -n "${BOCHS_EXTRA:-}" ] && printf '%s\n' "$BOCHS_EXTRA" >> "$OUT/bochsrc"
    echo c > "$OUT/bochs.cmds"
    bochs -q -f "$OUT/bochsrc" -rc "$OUT/bochs.cmds" </dev/null >"$OUT/emu.out" 2>&1 &
    ;;
  *) echo "emu.sh: --emu must be qemu or bochs" >&2; exit 2 ;;
esac
pid=$!
tail_pid=
[ $FOLLOW = 1 ] && { tail -n +1 -f "$COM2_LOG" & tail_pid=$!; }

result=timeout
deadline=$(( $(date +%s) + TIMEOUT ))
while [ "$(date +%s)" -lt "$deadline" ]; do
  if ! kill -0 $pid 2>/dev/null; then result=exited; break; fi
  if grep -aEq -- "$DONE" "$COM1_LOG" "$COM2_LOG" 2>/dev/null; then
    result=done; sleep 1; break
  fi
  sleep 0.5
done
[ -n "$tail_pid" ] && kill $tail_pid 2>/dev/null
kill $pid 2>/dev/null; sleep 0.5; kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
# Powered off by itself: a run only counts when it got to the marker.
if [ $result = exited ]; then
  grep -aEq -- "$DONE" "$COM1_LOG" "$COM2_LOG" && result=done
fi
secs=$(echo "$(date +%s.%N) - $start" | bc 2>/dev/null || echo "?")
echo "$result" > "$OUT/result"
printf '%s\n' "$secs" > "$OUT/seconds"
echo "emu: $EMU smp=$SMP ${CPU:+cpu=$CPU }$result after ${secs%.*}s (logs in $OUT)"
[ "$result" = done ]
