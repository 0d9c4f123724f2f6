#!/usr/bin/env bash
# check-display (issue 19): the guest's own display driver, on a display
# device passed through by minihv, puts pixels on the screen. QEMU q35
# (SVM, TCG) + OVMF, the check-linux guest with the display initramfs
# (build/linux/initrd-display.img: bochs-drm and virtio-gpu with their DRM
# helpers, tests/guests/linux/fbpattern.c and igdprobe.c).
#   vga-igd     -device VGA (00:01.0) passed through, igd_force = 1 and a
#               fixture VBT: bochs-drm binds to it, fbpattern draws the test
#               pattern into /dev/fb0; the screendump equals
#               tests/display/screen.py's pattern pixel for pixel; the
#               device's trapped BAR accesses (bar-exits, pt-bar) are 0, so
#               the framebuffer path took no exit. igdprobe: ASLS, the
#               OpRegion through /dev/mem, the VBT equal to the fixture, the
#               mailbox writes i915 makes stick in the guest's copy, GGC/BDSM.
#               Handover: screendumps of OVMF's shell, of minihv's boot lines
#               once the core runs, of the guest's first frame.
#   vga         the same device without igd_force.
#   virtio-vtd  virtio-gpu-pci (00:02.0, iommu_platform=on) under intel-iommu:
#               virtio_gpu binds, the pattern, no DMA fault, MSI-X vectors
#               and the summary's programmed entries.
#   virtio-amdvi  the same under amd-iommu, with DISPLAY_AMDVI=1.
# The screendumps are PPM files in build/emu/<case>/; see docs/display.md
# for the compared areas.
#
# usage: display.sh            every case, "display: N passed, N failed"
#        DISPLAY_ONLY=REGEX    only the matching cases
#        DISPLAY_ARGS_EXTRA=   more guest kernel arguments (minihv.nodecode=
#                              0000:00:01.0: memory decode off before drawing,
#                              so the framebuffer traps: the exit check fails)
#        display.sh --bench    exits and trapped MMIO bytes per frame
#        display.sh --demo     the vga case in a window (README)
set -u
. scripts/lib/result.sh
. tests/emu/lib.sh

VBT=${DISPLAY_VBT:-tests/fixtures/vbt/lenovo_t400_r500.vbt} # fits mailbox 4
FRAMES=${DISPLAY_FRAMES:-8}
INITRD=${BUILD:-build}/linux/initrd-display.img
SCREEN="python3 tests/display/screen.py"
MON="python3 tests/display/mon.py"
QEMU_ESP_FIRST=(-global ide-hd.bootindex=0)

want() { [[ $1 =~ ${DISPLAY_ONLY:-.} ]]; }

# Reused from check-passthrough's vocabulary: the core's summary lines.
pt_line() { grep -m1 '^minihv: hv: summary: passthrough ' "$1"; }
pt_field() { pt_line "$1" | tr ' ' '\n' | sed -n "s/^$2=\([0-9][0-9]*\)$/\1/p"; }
# exit_sum LOG KIND — the summary's exit count of KIND over all CPUs; the
# table leaves out rows that are 0 on every CPU ('' when there is no table).
exit_sum() {
  grep -q '^minihv: hv: summary: exits: total ' "$1" || return 0
  grep -m1 "^minihv: hv: summary: exits: $2 " "$1" | awk '{ s = 0; for (i = 6; i <= NF; i++) s += $i; print s }
                                                            END { if (NR == 0) print 0 }'
}

# display_esp DIR CFG_EXTRA ARGS_EXTRA — (guest_args: at most 1023
# characters, boot/config.c) the check-linux guest (NVMe disk
# for its own checks) with the display initramfs.
display_esp() {
  local dir=$1 cfg=$2 args=$3
  mkdir -p "$dir"
  head -c 1048576 /dev/urandom > "$dir/first.bin"
  cp "$dir/first.bin" "$dir/disk.img"
  truncate -s 8M "$dir/disk.img"
  local md5
  md5=$(md5sum < "$dir/first.bin" | cut -d' ' -f1)
  make_esp "$dir/esp" "$(printf 'serial = 0x2f8\n%s\nguest = \\EFI\\minihv\\guest.efi\nguest_args = initrd=\\EFI\\minihv\\initrd.img console=ttyS0 quiet minihv.cpus=1 minihv.disk=/dev/nvme0n1 minihv.md5=%s %s' \
      "$cfg" "$md5" "$args")" "${BUILD:-build}/linux/vmlinuz.efi"
  cp "$INITRD" "$dir/esp/EFI/minihv/initrd.img"
  # The shell pauses first (its `pause`: a key continues), so stage1's
  # screendump cannot miss the firmware's screen however slow the host is.
  { printf '%s\r\n' pause; cat "$dir/esp/startup.nsh"; } > "$dir/startup.tmp" && mv "$dir/startup.tmp" "$dir/esp/startup.nsh"
  [ -n "${VBT:-}" ] && cp "$VBT" "$dir/esp/EFI/minihv/vbt.bin"
  return 0
}

# grab DIR FILE — one screendump; 0 when the file is there.
grab() {
  rm -f "$1/$2"
  $MON "$1/mon.sock" "screendump $1/$2" >/dev/null 2>&1
  [ -s "$1/$2" ]
}

# waitlog DIR REGEX SECONDS — until a line of com1/com2 matches.
waitlog() {
  local end=$(( $(date +%s) + $3 ))
  while [ "$(date +%s)" -lt "$end" ]; do
    cat "$1/com1.log" "$1/com2.log" 2>/dev/null | clean_log /dev/stdin | grep -Eq -- "$2" && return 0
    sleep 0.2
  done
  return 1
}

# stages DIR — runs beside emu.sh: skips the shell's countdown, and takes
# the handover screendumps: stage1 the shell at its `pause` (firmware's GOP
# console; a key then lets startup.nsh go on to minihv),
# stage2 once the core runs (minihv's lines on that console), stage3 the
# guest's pattern (after "linux-display: drawn").
stages() {
  local dir=$1
  waitlog "$dir" 'Press .*ESC' 120 || return
  $MON "$dir/mon.sock" 'sendkey spc' >/dev/null 2>&1
  waitlog "$dir" "Enter 'q' to quit" 60 || return
  sleep 0.3
  grab "$dir" stage1-firmware.ppm
  $MON "$dir/mon.sock" 'sendkey spc' >/dev/null 2>&1
  waitlog "$dir" '^minihv: core: [0-9]+ of [0-9]+ CPUs virtualized' 120 || return
  grab "$dir" stage2-minihv.ppm
  waitlog "$dir" '^linux-display: drawn' 240 || return
  local drawn=$EPOCHREALTIME
  sleep 1
  grab "$dir" stage3-guest.ppm
  # How long after the line the picture was taken, against the guest's
  # hold (minihv.hold, 5 s) that keeps the frame: the margin, a figure.
  echo "$drawn $EPOCHREALTIME" | awk '{ printf "%.1f\n", $2 - $1 }' > "$dir/stage3.secs"
  # The IGD case: QEMU's own view while the guest holds (a read path that
  # does not go through the guest or the core): the guest's OpRegion copy at
  # ASLS after igdprobe's writes, and the device's GGC/BDSM through ECAM.
  local asls ecam
  asls=$(clean_log "$dir/com1.log" | sed -n 's/^linux-igd: asls \(0x[0-9a-f]*\)$/\1/p' | head -1)
  ecam=$(clean_log "$dir/com2.log" | sed -n 's/^minihv: passthrough: ECAM for the core.s traps: \(0x[0-9a-f]*\),.*/\1/p' | head -1)
  if [ -n "$asls" ] && [ -n "$ecam" ]; then
    $MON "$dir/mon.sock" "xp /1wx $((asls + 0x100))" "xp /1wx $((asls + 0x104))" "xp /1wx $((asls + 0x300))" \
      "xp /1wx $((asls + 0x308))" "xp /1hx $((ecam + (1 << 15) + 0x50))" "xp /1wx $((ecam + (1 << 15) + 0x5c))" \
      "xp /1wx $((ecam + (1 << 15) + 0xfc))" 2>&1 | tr -d '\r' | grep -a '^[0-9a-f]*: ' > "$dir/xp.txt"
  fi
}

# run_case NAME CFG_EXTRA ARGS_EXTRA [QEMU ARGS] — boots with the monitor on
# a socket and the stage screendumps.
run_case() {
  local name=$1 cfg=$2 args=$3; shift 3
  local dir=$EMU_ROOT/$name
  rm -rf "$dir"
  display_esp "$dir" "$cfg" "minihv.display=$FRAMES${DISPLAY_HOLD:+ minihv.hold=$DISPLAY_HOLD} $args${DISPLAY_ARGS_EXTRA:+ $DISPLAY_ARGS_EXTRA}"
  stages "$dir" &
  local st=$!
  boot "$name" qemu 1 --timeout "${DISPLAY_TIMEOUT:-240}" --done 'minihv: hv: summary: end' \
    -- -drive "file=$dir/disk.img,if=none,id=nvm,format=raw" -device nvme,serial=minihv0,drive=nvm,addr=0x5 \
       -monitor "unix:$dir/mon.sock,server=on,wait=off" "${QEMU_ESP_FIRST[@]}" "$@"
  kill "$st" 2>/dev/null; wait "$st" 2>/dev/null
  clean_log "$dir/com1.log" > "$dir/guest.txt"
  clean_log "$dir/com2.log" > "$dir/minihv.txt"
}

# check_guest NAME BDF ID DRIVER FBNAME — the guest bound DRIVER to BDF,
# fb0 is DRIVER's, the pattern drawn and on the screendump.
check_guest() {
  local name=$1 bdf=$2 id=$3 drv=$4 fbname=$5 dir=$EMU_ROOT/$1
  local log=$dir/guest.txt hv=$dir/minihv.txt
  grep '^linux-display: ' "$log" | sed 's/^/  /'
  if grep -q '^linux-guest: FAIL' "$log"; then
    fail "$name: guest FAIL lines" "$(grep '^linux-guest: FAIL' "$log" | tr '\n' ';')"
  fi
  expect_log "$name: guest summary" "$log" '^linux-guest: [0-9]+ passed, 0 failed'
  expect_log "$name: $drv bound to the passed-through $bdf ($id)" "$log" \
    "^linux-display: pci 0000:$bdf 0x${id%%:*}:0x${id##*:} class 0x03[0-9a-f]* driver $drv\$"
  expect_log "$name: /dev/fb0 is $fbname on 0000:$bdf" "$log" "^linux-display: fb0 $fbname device 0000:$bdf\$"
  local w h
  read -r w h < <(sed -n 's/^linux-display: mode \([0-9]*\)x\([0-9]*\) bpp 32 .*/\1 \2/p' "$log")
  if [ -z "${w:-}" ]; then
    fail "$name: fbpattern drew" "no 'linux-display: mode WxH bpp 32' line ($(grep -m2 '^linux-display: fbpattern' "$log" | tr '\n' ' '))"
    return
  fi
  expect_log "$name: fbpattern drew $FRAMES frames" "$log" "^linux-display: frames $FRAMES bytes"
  if [ ! -s "$dir/stage3-guest.ppm" ]; then
    fail "$name: screendump of the guest's frame" "none taken ($dir)"
    return
  fi
  # One expected picture per mode, shared by the cases.
  local exp=$EMU_ROOT/display-pattern-${w}x$h.ppm
  [ -s "$exp" ] || $SCREEN pattern "$w" "$h" "$exp"
  ln -sf "$(cd "$(dirname "$exp")" && pwd)/$(basename "$exp")" "$dir/expected.ppm"
  local out
  # The allowed area: none. fbcon is in KD_GRAPHICS (no cursor, no text).
  if out=$($SCREEN compare "$dir/stage3-guest.ppm" "$dir/expected.ppm" ${DISPLAY_ALLOW:-}); then
    pass "$name: screendump equals the pattern pixel for pixel (${w}x$h: $out; taken $(cat "$dir/stage3.secs" 2>/dev/null || echo ?) s after 'drawn', the guest holds ${DISPLAY_HOLD:-5} s)"
  else
    fail "$name: screendump vs pattern" "$out"
  fi
  # The framebuffer path: the device's BARs are mapped; a trapped access
  # would count in bar-exits (the summary's passthrough line) and pt-bar.
  local bar bb ptbar
  bar=$(pt_field "$hv" bar-exits); bb=$(pt_field "$hv" bar-bytes); ptbar=$(exit_sum "$hv" pt-bar)
  [ "$bar" = 0 ] && [ "${bb:-0}" = 0 ] && [ "$ptbar" = 0 ] \
    && pass "$name: the framebuffer path took 0 exits (bar-exits=0 bar-bytes=${bb:-?} pt-bar=0 over the whole run, $FRAMES frames drawn)" \
    || fail "$name: exits on the framebuffer path" "bar-exits=${bar:-?} bar-bytes=${bb:-?} pt-bar=${ptbar:-?}"
  pt_line "$hv" | sed 's/^/  /'
  grep '^minihv: hv: summary: exits: \(reason\|total\|npf-mmio\|pt-\)' "$hv" | sed 's/^/  /'
  if grep -q 'minihv: hv: FATAL' "$hv"; then
    fail "$name: no fatal exit" "$(grep -m1 'minihv: hv: FATAL' "$hv")"
  fi
}

# check_stages NAME — the handover screendumps (docs/display.md):
#  stage1 (the shell's countdown, before minihv): OVMF's console, its light
#    grey (0x989898) text and the shell's yellow (0xffff00) highlights, no
#    two rows alike at the start;
#  stage2 (the loader has started the core and the guest): the same console
#    still shown, now with at least 10 rows beginning with the same 8
#    character cells ("minihv: "), the loader's lines; not blank.
#  The guest's first frame (stage3) is check_guest's pattern comparison.
check_stages() {
  local name=$1 dir=$EMU_ROOT/$1 out same
  if [ ! -s "$dir/stage1-firmware.ppm" ]; then
    fail "$name: stage1 (firmware) screendump" "none taken"
  elif out=$($SCREEN text "$dir/stage1-firmware.ppm") && grep -q 'fg=.*989898:' <<<"$out" && grep -q 'fg=.*ffff00:' <<<"$out" \
       && same=$(sed -n 's/.*same_prefix=\([0-9]*\).*/\1/p' <<<"$out") && [ "$same" -le 2 ]; then
    pass "$name: stage1, OVMF's shell on the GOP console ($out)"
  else
    fail "$name: stage1 (firmware) screen" "blank or not the shell's colours: $out"
  fi
  if [ ! -s "$dir/stage2-minihv.ppm" ]; then
    fail "$name: stage2 (minihv running) screendump" "none taken"
  elif out=$($SCREEN text "$dir/stage2-minihv.ppm") && grep -q 'fg=989898:' <<<"$out" \
       && same=$(sed -n 's/.*same_prefix=\([0-9]*\).*/\1/p' <<<"$out") && [ "$same" -ge 10 ]; then
    pass "$name: stage2, the core runs and the console shows $same rows of minihv's lines, not blank ($out)"
  else
    fail "$name: stage2 (minihv running) screen" "blank or fewer than 10 'minihv: ' rows: $out"
  fi
}

# check_igd NAME — igdprobe's lines: i915's OpRegion accesses on the
# guest's copy, the VBT equal to the fixture, GGC/BDSM.
check_igd() {
  local name=$1 dir=$EMU_ROOT/$1
  local log=$dir/guest.txt hv=$dir/minihv.txt c
  grep '^linux-igd: ' "$log" | sed 's/^/  /'
  for c in asls opregion vbt mailbox stolen asls-after; do
    expect_log "$name: igdprobe $c" "$log" "^linux-igd: PASS $c "
  done
  expect_log "$name: igdprobe summary" "$log" '^linux-igd: [0-9]+ passed, 0 failed'
  # ASLS is the copy the loader built (its log), not a host OpRegion: with
  # igd_force the device has none, so the loader synthesized the header.
  local asls copy
  asls=$(sed -n 's/^linux-igd: asls 0x0*\([0-9a-f]*\)$/\1/p' "$log")
  copy=$(sed -n 's/^minihv: passthrough: IGD OpRegion [0-9.]* at 0x0*\([0-9a-f]*\) .*/\1/p' "$hv" | head -1)
  [ -n "$asls" ] && [ "$asls" = "$copy" ] \
    && pass "$name: the guest's ASLS 0x$asls is the loader's guest copy (its log line)" \
    || fail "$name: ASLS vs the loader's copy" "guest ASLS 0x${asls:-?}, loader's copy 0x${copy:-? (no 'IGD OpRegion ... at' line)}"
  expect_log "$name: the host side has no OpRegion the guest could reach (synthesized for igd_force)" "$hv" \
    '^minihv: passthrough: host OpRegion: none \(.*igd_force = 1\): synthesized'
  # QEMU's reads (stages): the mailbox writes are in the guest's copy in
  # guest RAM; GGC/BDSM as the guest read them are the device's own; the
  # device's real ASLS register is not the copy's address (the guest's
  # value is virtual).
  local xp=$dir/xp.txt
  xpv() { sed -n "$1p" "$xp" | awk '{ print $2 }'; }
  if [ -s "$xp" ] && [ "$(wc -l < "$xp")" = 7 ]; then
    sed 's/^/  qemu xp: /' "$xp"
    [ "$(( $(xpv 1) ))" = 1 ] && [ "$(( $(xpv 2) ))" = 0 ] && [ "$(( $(xpv 3) ))" = 1 ] && [ "$(( $(xpv 4) ))" = 2 ] \
      && pass "$name: QEMU reads drdy=1 csts=0 ardy=1 tche=2 in the guest's copy at ASLS (the writes stuck there)" \
      || fail "$name: QEMU's read of the guest's copy" "drdy $(xpv 1) csts $(xpv 2) ardy $(xpv 3) tche $(xpv 4)"
    local gg gb
    gg=$(sed -n 's/^linux-igd: ggc //p' "$log"); gb=$(sed -n 's/^linux-igd: bdsm //p' "$log")
    [ -n "$gg" ] && [ "$(( $(xpv 5) ))" = "$(( gg ))" ] && [ "$(( $(xpv 6) ))" = "$(( gb ))" ] \
      && pass "$name: GGC $gg and BDSM $gb read by the guest are the device's (QEMU's ECAM read)" \
      || fail "$name: GGC/BDSM vs the device" "guest GGC ${gg:-?} BDSM ${gb:-?}, device $(xpv 5) $(xpv 6)"
    [ "$(( $(xpv 7) ))" != "$(( 0x$asls ))" ] \
      && pass "$name: the device's own ASLS register is $(xpv 7), not the guest's 0x$asls (virtual)" \
      || fail "$name: device ASLS" "the device's register holds the guest's value 0x$asls"
  else
    fail "$name: QEMU's xp reads" "$(wc -l < "$xp" 2>/dev/null || echo no) lines in $xp"
  fi

  # The VBT: the fixture's first vbt_size bytes (its $VBT header, offset 0x18).
  local sha len want_len want_sha
  read -r sha len < <(sed -n 's/^linux-igd: vbt-sha256 \([0-9a-f]*\) len \([0-9]*\)$/\1 \2/p' "$log")
  want_len=$(od -An -tu2 -j 24 -N2 "$VBT" | tr -d ' ')
  want_sha=$(head -c "$want_len" "$VBT" | sha256sum | cut -d' ' -f1)
  [ "${sha:-}" = "$want_sha" ] && [ "${len:-}" = "$want_len" ] \
    && pass "$name: the guest's VBT equals $(basename "$VBT") ($len bytes, sha256 ${sha:0:16}...)" \
    || fail "$name: guest VBT vs fixture" "guest ${len:-?} bytes sha256 ${sha:-?}; $(basename "$VBT") $want_len bytes $want_sha"
}

# make bench: two boots of a case, drawing 1 and 1 + BENCH_FRAMES frames;
# the differences of the core's counters over BENCH_FRAMES are per frame:
# every exit (the timer's xAPIC writes while the CPU is busy drawing
# included), the device's trapped exits (pt-bar, pt-msix, pt-config) and
# the MMIO bytes through the traps (bar-bytes + msix-bytes).
BENCH_FRAMES=${DISPLAY_BENCH_FRAMES:-120}
bench_case() {
  local name=$1 cfg=$2; shift 2
  local a b k
  FRAMES=1 run_case "$name-f1" "$cfg" '' "$@" >/dev/null
  FRAMES=$((BENCH_FRAMES + 1)) run_case "$name-f$((BENCH_FRAMES + 1))" "$cfg" '' "$@" >/dev/null
  a=$EMU_ROOT/$name-f1/minihv.txt b=$EMU_ROOT/$name-f$((BENCH_FRAMES + 1))/minihv.txt
  local ms
  ms=$(sed -n 's/^linux-display: frames [0-9]* bytes [0-9]* ms //p' "$EMU_ROOT/$name-f$((BENCH_FRAMES + 1))/guest.txt")
  echo "bench: display $name: $BENCH_FRAMES more frames (1280x800x4 bytes each) in ${ms:-?} ms of the $((BENCH_FRAMES + 1))-frame run"
  if ! grep -q '^minihv: hv: summary: exits: total' "$a" || ! grep -q '^minihv: hv: summary: exits: total' "$b"; then
    echo "bench:   no summary (logs in $EMU_ROOT/$name-f*)"
    return 1
  fi
  for k in total npf-mmio pt-bar pt-msix pt-config; do
    awk -v k="$k" -v x="$(exit_sum "$a" "$k")" -v y="$(exit_sum "$b" "$k")" -v n="$BENCH_FRAMES" \
      'BEGIN { printf "bench:   exits %-9s %7d -> %7d: %8.2f per frame\n", k, x, y, (y - x) / n }'
  done
  local ta tb
  ta=$(( $(pt_field "$a" bar-bytes) + $(pt_field "$a" msix-bytes) ))
  tb=$(( $(pt_field "$b" bar-bytes) + $(pt_field "$b" msix-bytes) ))
  awk -v x="$ta" -v y="$tb" -v n="$BENCH_FRAMES" \
    'BEGIN { printf "bench:   MMIO bytes through the traps (bar-bytes + msix-bytes) %d -> %d: %.2f per frame (framebuffer bytes per frame: 4096000)\n", x, y, (y - x) / n }'
}

bench() {
  echo "bench: check-display's guest, QEMU TCG -smp 1 (tests/emu/display.sh --bench)"
  bench_case bench-vga 'passthrough = 00:01.0' -vga none -device VGA,addr=0x1
  bench_case bench-virtio-vtd $'passthrough = 00:02.0\niommu = auto' \
    -vga none -device virtio-gpu-pci,addr=0x2,iommu_platform=on -device intel-iommu,intremap=off,aw-bits=48
}

# make demo-display: the vga case with a window, the pattern held 60 s.
demo() {
  local ui
  if [ -n "${DISPLAY:-}" ]; then
    ui=(-display "${DEMO_UI:-gtk}")
  else
    ui=(-vnc "${DEMO_VNC:-127.0.0.1:5}")
    echo "demo-display: no DISPLAY: VNC on ${DEMO_VNC:-127.0.0.1:5} (vncviewer ${DEMO_VNC:-127.0.0.1:5})"
  fi
  echo "demo-display: minihv passes QEMU's VGA (00:01.0) to Linux; bochs-drm draws the test pattern, held ${DEMO_HOLD:-60} s"
  DISPLAY_HOLD=${DEMO_HOLD:-60} DISPLAY_TIMEOUT=$((${DEMO_HOLD:-60} + 240)) run_case demo-vga 'passthrough = 00:01.0' '' \
    -vga none -device VGA,addr=0x1 "${ui[@]}"
  grep '^linux-display: ' "$EMU_ROOT/demo-vga/guest.txt"
}

if [ "${1:-}" = --bench ]; then
  bench
  exit
fi
if [ "${1:-}" = --demo ]; then
  demo
  exit
fi

# check_iommu NAME PROVIDER — the provider attached the device and saw no
# DMA fault; the guest's MSI-X vectors for it.
check_iommu() {
  local name=$1 provider=$2 dir=$EMU_ROOT/$1
  local log=$dir/guest.txt hv=$dir/minihv.txt
  expect_log "$name: $provider chosen" "$hv" "^minihv: hv: iommu: $provider: enabled \\(auto\\), device DMA is contained"
  expect_log "$name: device attached" "$hv" "^minihv: hv: iommu: $provider: block .* passthrough device attached"
  expect_log "$name: no DMA fault" "$hv" "^minihv: hv: summary: iommu $provider \\(auto\\), DMA contained, faults 0\$"
  if grep -q '^minihv: hv: iommu: DMA fault' "$hv"; then
    fail "$name: no IOMMU fault lines" "$(grep -m1 '^minihv: hv: iommu: DMA fault' "$hv")"
  else
    pass "$name: no IOMMU fault lines in the log"
  fi
}

# check_msix NAME PREFIX — the guest's MSI-X vectors of PREFIX (virtio0-
# config, -control, -cursor): every one MSI-X (sysfs msi_irqs), the control
# queue's count rose while drawing (the fbdev damage flushes: virtqueue
# commands the device reads by DMA, completions by MSI-X), and the core's
# summary lists as many unmasked entries the guest programmed.
check_msix() {
  local name=$1 prefix=$2 dir=$EMU_ROOT/$1
  local log=$dir/guest.txt hv=$dir/minihv.txt
  local vecs modes before after line live
  vecs=$(grep -c "^linux-display: irq-after .* $prefix-" "$log")
  modes=$(sed -n 's/^linux-display: irq-mode [0-9]* //p' "$log" | sort | uniq -c | tr -s ' ' | tr '\n' ';')
  [ "$vecs" -gt 0 ] && [ "$(grep -c '^linux-display: irq-mode [0-9]* msix$' "$log")" = "$vecs" ] \
    && pass "$name: the guest's $vecs $prefix vectors are MSI-X" || fail "$name: MSI-X vectors" "$vecs vectors, modes:$modes"
  before=$(grep "^linux-display: irq .* $prefix-control" "$log" | awk '{ print $4 }')
  after=$(grep "^linux-display: irq-after .* $prefix-control" "$log" | awk '{ print $4 }')
  [ -n "$before" ] && [ -n "$after" ] && [ "$after" -gt "$before" ] \
    && pass "$name: $prefix-control MSI-X interrupts rose while drawing ($before -> $after)" \
    || fail "$name: $prefix-control interrupts while drawing" "${before:-?} -> ${after:-?}"
  line=$(grep -m1 '^minihv: hv: summary: passthrough msix: ' "$hv")
  echo "  $line"
  live=$(echo "$line" | grep -o ' [0-9]*:0x[0-9a-f]*/0x[0-9a-f]*,live' | wc -l)
  echo "$line" | grep -q 'enabled=1 function-masked=0 ' && [ "$live" = "$vecs" ] \
    && pass "$name: the summary lists the $live MSI-X entries the guest programmed, live" \
    || fail "$name: summary MSI-X entries" "$live live entries for $vecs guest vectors: ${line:-no 'passthrough msix:' line}"
}

if want vga-igd; then
  run_case vga-igd "$(printf 'passthrough = 00:01.0\nigd_force = 1\nvbt = \\EFI\\minihv\\vbt.bin')" \
    'minihv.igd=0000:00:01.0 iomem=relaxed' -vga none -device VGA,addr=0x1
  check_guest vga-igd 00:01.0 1234:1111 bochs-drm bochs-drmdrmfb
  check_stages vga-igd
  check_igd vga-igd
fi
if want vga; then
  run_case vga 'passthrough = 00:01.0' '' -vga none -device VGA,addr=0x1
  check_guest vga 00:01.0 1234:1111 bochs-drm bochs-drmdrmfb
  check_stages vga
fi

VIRTIO_GPU=virtio-gpu-pci,addr=0x2,iommu_platform=on
if want virtio-vtd; then
  run_case virtio-vtd $'passthrough = 00:02.0\niommu = auto' '' \
    -vga none -device "$VIRTIO_GPU" -device intel-iommu,intremap=off,aw-bits=48
  check_guest virtio-vtd 00:02.0 1af4:1050 virtio-pci virtio_gpudrmfb
  check_stages virtio-vtd
  check_iommu virtio-vtd vtd
  check_msix virtio-vtd virtio0
fi
# amd-iommu: only with DISPLAY_AMDVI=1 (make check's time; QEMU 7.2's
# amd-iommu records no fault, so the case adds less than virtio-vtd).
if [ "${DISPLAY_AMDVI:-0}" = 1 ] && want virtio-amdvi; then
  run_case virtio-amdvi $'passthrough = 00:02.0\niommu = auto' '' \
    -vga none -device "$VIRTIO_GPU" -device amd-iommu
  check_guest virtio-amdvi 00:02.0 1af4:1050 virtio-pci virtio_gpudrmfb
  check_stages virtio-amdvi
  check_iommu virtio-amdvi amdvi
  check_msix virtio-amdvi virtio0
fi

summary display
