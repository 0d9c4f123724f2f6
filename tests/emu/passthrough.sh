#!/usr/bin/env bash
# check-passthrough: one PCI device handed to the guest (issue 8, "Proof").
#  pt-nvme      QEMU -smp 2, Linux guest, the NVMe disk (00:05.0) passed
#               through: every check-linux check, MSI-X queue interrupts
#               rising in /proc/interrupts, and from the core's summary:
#               pt-msix exits > 0, bar-exits=0 (the BAR is mapped), one exit
#               per MSI-X table access (msix-reads + msix-writes = pt-msix)
#  pt-e1000e    QEMU, Linux guest, e1000e (00:06.0) passed through with
#               ipxe's efi-e1000e.rom: the ROM read through sysfs equals it
#  pt-igd-ext   QEMU, tests/guests/ptprobe.c as the guest, std VGA (00:01.0)
#  pt-igd-mbox  with igd_force = 1 and a fixture VBT (> 6 KiB: extended VBT
#               at RVDA; <= 6 KiB: mailbox 4): config, ROM BAR, BAR mapping
#               and move, ASLS/OpRegion/VBT, read-only bridges
#  pt-bochs     Bochs (VMX), ptprobe with pcivga (00:02.0) passed through:
#               config, ROM BAR, BAR mapping and move
# The ptprobe runs start the probe twice: once from the shell on the bare
# firmware (what must hold without minihv, and that the bridge register the
# probe writes really is writable), then as minihv's guest.
#
# usage: passthrough.sh          every run, "passthrough: N passed, N failed"
#        PT_ONLY=REGEX           only the runs whose name matches
set -u
. scripts/lib/result.sh
. tests/emu/lib.sh

PTPROBE=${BUILD:-build}/ptprobe.efi
VBT_DIR=${IGD_VBT_FIXTURES:-tests/fixtures/vbt}  # tests/fixtures/vbt/README.md
E1000E_ROM=${PT_E1000E_ROM:-/usr/lib/ipxe/qemu/efi-e1000e.rom}
QEMU_VGA_ROM=${PT_QEMU_VGA_ROM:-/usr/share/seabios/vgabios-stdvga.bin}
BOCHS_VGA_ROM=/usr/share/vgabios/vgabios.bin # emu.sh's vgaromimage
# OVMF boots the ESP disk first (it has no \EFI\BOOT, so the shell comes
# next): without a bootindex, an option ROM's network boot (e1000e: iPXE,
# then HTTP boot) runs for minutes before the shell.
QEMU_ESP_FIRST=(-global ide-hd.bootindex=0)

want() { [[ $1 =~ ${PT_ONLY:-.} ]]; }

# rom_image_len FILE — bytes of the PCI expansion ROM images chained from
# offset 0 (55AA, PCIR image length in 512-byte units, last-image bit):
# what Linux's sysfs `rom` returns.
rom_image_len() {
  local f=$1 off=0 total=0 p len ind
  while :; do
    [ "$(od -An -tx1 -j "$off" -N2 "$f" | tr -d ' \n')" = 55aa ] || break
    p=$(( off + $(od -An -tu2 -j $((off + 0x18)) -N2 "$f" | tr -d ' ') ))
    [ "$(od -An -c -j "$p" -N4 "$f" | tr -d ' \n')" = PCIR ] || break
    len=$(( $(od -An -tu2 -j $((p + 0x10)) -N2 "$f" | tr -d ' ') * 512 ))
    ind=$(od -An -tu1 -j $((p + 0x15)) -N1 "$f" | tr -d ' ')
    [ "$len" -gt 0 ] || break
    total=$((total + len)); off=$((off + len))
    (( ind & 0x80 )) && break
  done
  echo "$total"
}

# The core's summary: `passthrough BB:DD.F VVVV:DDDD key=N ...` and the
# exit table rows `exits: <kind> <cpu0> <cpu1>...`.
PT_KEYS="cfg-reads cfg-writes msix-reads msix-writes msix-bytes bar-exits rom-writes-dropped bridge-writes-dropped refused"
pt_line() { grep -m1 '^minihv: hv: summary: passthrough ' "$1"; }
# pt_field LOG KEY — the value of KEY in the passthrough line ('' if none).
pt_field() { pt_line "$1" | tr ' ' '\n' | sed -n "s/^$2=\([0-9][0-9]*\)$/\1/p"; }
# exit_sum LOG KIND — the summary's exit count of KIND over all CPUs.
exit_sum() {
  grep -m1 "^minihv: hv: summary: exits: $2 " "$1" | awk '{ s = 0; for (i = 6; i <= NF; i++) s += $i; print s }'
}

# check_pt_line NAME LOG BDF ID — the summary has the passthrough line for
# BDF and VENDOR:DEVICE ID with every counter of PT_KEYS (more keys may
# follow). 0 when it does.
check_pt_line() {
  local name=$1 log=$2 bdf=$3 id=$4 line k missing=
  line=$(pt_line "$log")
  if [ -z "$line" ]; then
    fail "$name: summary passthrough line" "no 'minihv: hv: summary: passthrough' line in $log"
    return 1
  fi
  if ! grep -Eq "^minihv: hv: summary: passthrough $bdf $id( |\$)" <<<"$line"; then
    fail "$name: summary passthrough line" "not for $bdf $id: $line"
    return 1
  fi
  for k in $PT_KEYS; do
    [ -n "$(pt_field "$log" "$k")" ] || missing="$missing $k"
  done
  if [ -n "$missing" ]; then
    fail "$name: summary passthrough line" "no$missing=N in: $line"
    return 1
  fi
  pass "$name: summary: passthrough $bdf $id with every counter"
  echo "  $line"
}

# The first line of minihv's log that says why it did not start the guest.
hv_refusal() {
  grep -Em1 '^minihv: (config: |.*(error|refus|unknown|invalid|cannot|not supported|FATAL))' "$1" \
    || grep -m1 '^minihv: ' "$1" || echo "no minihv line at all"
}

# ---- (a) Linux + NVMe ----
run_nvme() {
  local name=pt-nvme-smp2 hv
  want $name || return 0
  LINUX_CFG_EXTRA='passthrough = 00:05.0' LINUX_ARGS_EXTRA='minihv.irq=nvme' LINUX_NVME_OPTS=',addr=0x5' \
    LINUX_TIMEOUT=${PT_LINUX_TIMEOUT:-150} linux_boot $name 2
  check_linux $name 2
  hv=$EMU_ROOT/$name/minihv.txt
  expect_log "$name: loader names 00:05.0 the passthrough device" "$hv" '^minihv: .*00:05\.0.*passthrough|^minihv: .*passthrough.*00:05\.0'
  expect_log "$name: guest: nvme MSI-X queue interrupts rose" "$EMU_ROOT/$name/guest.txt" '^linux-guest: PASS nvme MSI-X queue interrupts rose'
  grep '^linux-guest: irq-' "$EMU_ROOT/$name/guest.txt" | sed 's/^/  /'
  check_pt_line "$name" "$hv" 00:05.0 1b36:0010
  local msix reads writes bar
  msix=$(exit_sum "$hv" pt-msix)
  reads=$(pt_field "$hv" msix-reads); writes=$(pt_field "$hv" msix-writes); bar=$(pt_field "$hv" bar-exits)
  [ "${msix:-0}" -gt 0 ] && pass "$name: pt-msix exits $msix > 0" \
    || fail "$name: pt-msix exits" "${msix:-no 'summary: exits: pt-msix' row}"
  [ "$bar" = 0 ] && pass "$name: bar-exits=0 (BAR0 outside the MSI-X table page is mapped)" \
    || fail "$name: bar-exits" "${bar:-no bar-exits=N in the summary} (trapped accesses outside the MSI-X table page)"
  [ -n "$msix" ] && [ -n "$reads" ] && [ -n "$writes" ] && [ $((reads + writes)) = "$msix" ] \
    && pass "$name: one exit per MSI-X table access (msix-reads $reads + msix-writes $writes = pt-msix $msix)" \
    || fail "$name: one exit per MSI-X table access" "msix-reads ${reads:-?} + msix-writes ${writes:-?} vs pt-msix ${msix:-?}"
}

# ---- (b) Linux + e1000e: its ROM through the ROM BAR ----
run_e1000e() {
  local name=pt-e1000e hv log
  want $name || return 0
  LINUX_CFG_EXTRA='passthrough = 00:06.0' LINUX_ARGS_EXTRA='minihv.rom=0000:00:06.0' \
    LINUX_TIMEOUT=${PT_LINUX_TIMEOUT:-150} linux_boot $name 2 \
    -device "e1000e,addr=0x6,romfile=$E1000E_ROM" "${QEMU_ESP_FIRST[@]}"
  check_linux $name 2
  hv=$EMU_ROOT/$name/minihv.txt log=$EMU_ROOT/$name/guest.txt
  local sha len want_len want_sha
  read -r sha len < <(sed -n 's/^linux-guest: rom-sha256 \([0-9a-f]*\) len \([0-9]*\)$/\1 \2/p' "$log")
  want_len=$(rom_image_len "$E1000E_ROM")
  if [ -z "${sha:-}" ]; then
    fail "$name: guest ROM read" "no 'linux-guest: rom-sha256' line in $log"
  else
    want_sha=$(head -c "$len" "$E1000E_ROM" | sha256sum | cut -d' ' -f1)
    [ "$sha" = "$want_sha" ] && pass "$name: ROM via sysfs equals the first $len bytes of $(basename "$E1000E_ROM")" \
      || fail "$name: ROM content" "guest sha256 $sha, file's first $len bytes $want_sha"
    [ "$len" = "$want_len" ] && pass "$name: ROM length $len = the file's image length" \
      || fail "$name: ROM length" "guest read $len bytes, the ROM's images are $want_len bytes"
  fi
  # The guest's ROM BAR decodes the core's read-only copy, never the device's.
  expect_log "$name: the core presents its ROM copy through the virtual ROM BAR" "$hv" \
    '^minihv: hv: passthrough: ROM0? guest 0x[0-9a-f]+ -> copy 0x[0-9a-f]+'
  check_pt_line "$name" "$hv" 00:06.0 8086:10d3
}

# ---- ptprobe runs: (c) QEMU IGD personality on std VGA, (d) Bochs pcivga ----

# probe_esp DIR CFG ARGS ROM [VBT] — ESP with ptprobe as minihv's guest; the
# shell runs the probe on the bare firmware first (noreset), then minihv,
# which starts it again as its guest (it powers off at its end). If minihv
# returns without a guest, the shell goes on to the done marker.
probe_esp() {
  local dir=$1 cfg=$2 args=$3 rom=$4 vbt=${5:-}
  make_esp "$dir" "$cfg" "$PTPROBE"
  cp "$rom" "$dir/EFI/minihv/rom.bin"
  [ -n "$vbt" ] && cp "$vbt" "$dir/EFI/minihv/vbt.bin"
  printf '%s\r\n' "fs0:\\EFI\\minihv\\guest.efi $args noreset" 'fs0:\EFI\minihv\minihv.efi' \
    'echo "minihv-test: done"' 'reset -s' > "$dir/startup.nsh"
}

# check_probe_run NAME BARE_CHECKS HV_CHECKS BARE_ONLY_CHECKS — the probe's
# two runs in the logs of run NAME. HV_CHECKS are expected only when the
# probe ran under minihv.
check_probe_run() {
  local name=$1 bare_checks=$2 hv_checks=$3 bare_only=$4 dir=$EMU_ROOT/$1
  local fw=$dir/firmware.txt hv=$dir/minihv.txt
  clean_log "$dir/com1.log" > "$fw"
  clean_log "$dir/com2.log" > "$hv"
  sed -n '/^ptprobe: started, on the bare firmware/,/^ptprobe: done (bare)/p' "$fw" > "$dir/probe-bare.txt"
  sed -n '/^ptprobe: started, under minihv/,/^ptprobe: done (minihv)/p' "$fw" > "$dir/probe-hv.txt"
  local c missing run
  for run in bare hv; do
    local log=$dir/probe-$run.txt checks=$bare_checks what
    [ $run = bare ] && checks="$checks $bare_only" what="on the bare firmware" || what="as minihv's guest"
    if [ $run = hv ]; then
      checks="$checks $hv_checks"
      if [ ! -s "$log" ]; then
        fail "$name: ptprobe ran as minihv's guest" "it did not; minihv: $(hv_refusal "$hv")"
        continue
      fi
    fi
    if [ ! -s "$log" ]; then
      fail "$name: ptprobe $what" "no 'ptprobe: started' .. 'ptprobe: done' block in $fw"
      continue
    fi
    missing=
    for c in $checks; do
      grep -Eq "^ptprobe: PASS $c( |$)" "$log" || missing="$missing $c"
    done
    [ -z "$missing" ] && pass "$name: ptprobe $what: $(echo $checks | wc -w) checks passed" \
      || fail "$name: ptprobe $what" "no PASS for:$missing$(grep -m3 '^ptprobe: FAIL' "$log" | sed 's/^/; /' | tr -d '\n')"
    grep '^ptprobe: \(PASS\|FAIL\|SKIP\)' "$log" | sed "s/^/  [$run] /"
    if grep -q '^ptprobe: FAIL' "$log"; then
      fail "$name: no ptprobe FAIL $what" "$(grep -c '^ptprobe: FAIL' "$log") FAIL line(s)"
    fi
    expect_log "$name: ptprobe summary $what" "$log" '^ptprobe: [0-9]+ passed, 0 failed'
  done
  if [ -s "$dir/probe-hv.txt" ]; then
    local cfg_exits
    cfg_exits=$(sed -n 's/^ptprobe: stats [0-9]* cpus pt-config \([0-9]*\) .*/\1/p' "$dir/probe-hv.txt")
    [ "${cfg_exits:-0}" -gt 0 ] && pass "$name: the probe's config accesses exited (pt-config $cfg_exits)" \
      || fail "$name: pt-config exits" "'${cfg_exits:-no ptprobe: stats line}'"
  fi
  if grep -q 'minihv: hv: FATAL' "$hv"; then
    fail "$name: no fatal exit" "$(grep -m1 'minihv: hv: FATAL' "$hv")"
  fi
}

# Names of the probe's checks.
PROBE_BARE="config-id rom-bar-size rom-bar-enable rom-bar-header rom-bar-file mem-bar"
PROBE_BRIDGES_BARE="bridge-writable-host-bridge-cf8 bridge-writable-host-bridge-ecam bridge-writable-lpc-cf8 bridge-writable-lpc-ecam"
PROBE_BRIDGES_HV="bridge-ro-host-bridge-cf8 bridge-ro-host-bridge-ecam bridge-ro-lpc-cf8 bridge-ro-lpc-ecam"

run_igd() {
  local name=$1 vbt=$2 dir=$EMU_ROOT/$1
  want "$name" || return 0
  [ -f "$vbt" ] || { fail "$name" "no fixture $vbt"; return; }
  local args='bdf=00:01.0 vbt=\EFI\minihv\vbt.bin rom=\EFI\minihv\rom.bin'
  probe_esp "$dir/esp" "$(printf 'serial = 0x2f8\npassthrough = 00:01.0\nigd_force = 1\nvbt = \\EFI\\minihv\\vbt.bin\nguest = \\EFI\\minihv\\guest.efi\nguest_args = %s' "$args")" \
    "$args" "$QEMU_VGA_ROM" "$vbt"
  boot "$name" qemu 1 --timeout "${PT_PROBE_TIMEOUT:-90}" --done 'minihv: hv: summary: end|minihv-test: done' \
    -- -vga none -device "VGA,addr=0x1,romfile=$QEMU_VGA_ROM" "${QEMU_ESP_FIRST[@]}"
  check_probe_run "$name" "$PROBE_BARE config-ecam" "bar-move igd-asls igd-opregion igd-vbt $PROBE_BRIDGES_HV dump-stats" \
    "$PROBE_BRIDGES_BARE"
  local hv=$dir/minihv.txt
  if [ -s "$dir/probe-hv.txt" ]; then
    local where
    [ "$(stat -c %s "$vbt")" -gt 6144 ] && where='RVDA/RVDS' || where='mailbox 4'
    expect_log "$name: the VBT ($(stat -c %s "$vbt") bytes) is presented at $where" "$dir/probe-hv.txt" "^ptprobe: PASS igd-vbt \($where:"
  fi
  check_pt_line "$name" "$hv" 00:01.0 1234:1111
  if [ -s "$dir/probe-hv.txt" ]; then
    local dropped
    dropped=$(pt_field "$hv" bridge-writes-dropped)
    [ "${dropped:-0}" -ge 4 ] && pass "$name: the bridge writes were counted as dropped ($dropped)" \
      || fail "$name: bridge-writes-dropped" "${dropped:-no bridge-writes-dropped=N in the summary}, the probe wrote 4 times"
  fi
}

run_bochs() {
  local name=pt-bochs-pcivga dir=$EMU_ROOT/pt-bochs-pcivga
  want $name || return 0
  local args='bdf=00:02.0 rom=\EFI\minihv\rom.bin'
  probe_esp "$dir/esp" "$(printf 'serial = 0x2f8\npassthrough = 00:02.0\nguest = \\EFI\\minihv\\guest.efi\nguest_args = %s' "$args")" \
    "$args" "$BOCHS_VGA_ROM"
  # pcivga in PCI slot 1 (00:02.0): BAR0 the 16 MiB VBE framebuffer, a
  # 64 KiB ROM BAR holding the vgaromimage. No MCFG, no MSI-X on Bochs.
  BOCHS_EXTRA=$(printf '%s\n' 'pci: enabled=1, chipset=i440fx, slot1=pcivga' 'vga: extension=vbe') \
    boot "$name" bochs 1 --timeout "${PT_BOCHS_TIMEOUT:-150}" --done 'minihv-test: done|ptprobe: done \(minihv\)'
  check_probe_run "$name" "$PROBE_BARE" "bar-move dump-stats" ""
}

# make bench: the NVMe run's passthrough exits by kind, MMIO bytes moved
# per trapped exit, and the disk I/O the guest did meanwhile (2 MiB of
# reads and writes: 1 MiB read, 1 MiB written, direct) with no exit on its
# doorbells.
bench() {
  PT_ONLY=pt-nvme-smp2 run_nvme >/dev/null
  local hv=$EMU_ROOT/pt-nvme-smp2/minihv.txt k
  echo "bench: passthrough NVMe 00:05.0, Linux guest, QEMU -smp 2"
  for k in pt-config pt-msix pt-bar io npf-mmio; do
    printf 'bench:   exits %-10s %s\n' "$k" "$(exit_sum "$hv" $k)"
  done
  local mb=$(pt_field "$hv" msix-bytes) bb=$(pt_field "$hv" bar-bytes) me=$(exit_sum "$hv" pt-msix) be=$(exit_sum "$hv" pt-bar)
  local n=$((${me:-0} + ${be:-0}))
  echo "bench:   trapped MMIO: $n exits moved $((${mb:-0} + ${bb:-0})) bytes ($( [ $n -gt 0 ] && echo "scale=2; (${mb:-0} + ${bb:-0}) / $n" | bc || echo 0) bytes per exit);" \
       "BAR0 outside the MSI-X table page: ${bb:-?} bytes trapped (doorbells and registers are mapped)"
  pt_line "$hv" | sed 's/^minihv: hv: summary: /bench:   /'
}

if [ "${1:-}" = --bench ]; then
  bench
  exit 0
fi

run_nvme
run_e1000e
run_igd pt-igd-ext "$VBT_DIR/cwwk_adl.vbt"
run_igd pt-igd-mbox "$VBT_DIR/lenovo_t400_r500.vbt"
run_bochs

summary passthrough
