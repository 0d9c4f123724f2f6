#!/usr/bin/env bash
# check-log (issue 17): minihv's log ring read from the running OS.
#  1. host: minihv-log (the ASan/UBSan build) on planted trees
#     (tests/emu/log-ring.py writes the rings by a second hand, from
#     include/minihv/logring.h, and the lines expected): found through ACPI
#     MHVL and through the memmap scan, mmap and pread, a wrapped ring with
#     drops, --save/--file, --follow (new lines; lines overwritten before
#     it read them), and every lying header field, record field and MHVL
#     field: one line naming it, exit 2;
#  2. QEMU (SVM), the Linux guest of check-linux with tests/emu/log-init as
#     /init: minihv-log prints the core's lines of this boot, in order, the
#     same text as the serial port (diffed); the scan finds the same area;
#     --follow prints the "refused log-write" line the guest causes by
#     writing the ring through /dev/mem; each write is dropped (the magic
#     reads back, md5 of the header and the old records before = after)
#     and counted in the core's summary;
#  3. the same with serial = off: no core line on the port, minihv-log
#     still prints them (the guest's console is COM1, the harness reads it);
#  4. Bochs (VMX, no ACPI): tests/guests/logread.c finds the ring by the
#     reserved-memory scan, its core lines equal the serial's, its write to
#     the ring is dropped;
#  5. tests/emu/log_reboot.sh (the log across a reboot, FATAL on the
#     screen) when present: log_reboot_tests.
# LOG_ONLY=REGEX runs the parts whose name (host, qemu, serial-off, bochs,
# reboot) matches.
set -u
. scripts/lib/result.sh
. tests/emu/lib.sh

TOOL=${MINIHV_LOG:-${BUILD:-build}/tools/minihv-log}
SAN=${MINIHV_LOG_SAN:-$TOOL}
WORK=${BUILD:-build}/log
rm -rf "$WORK"
mkdir -p "$WORK"
only() { [[ $1 =~ ${LOG_ONLY:-.} ]]; }

# run_tool NAME WANT_RC ARGS... — the san build; stdout in $WORK/NAME.out,
# stderr in $WORK/NAME.err; a sanitizer report or a signal fails.
run_tool() {
  local name=$1 want=$2 rc; shift 2
  "$SAN" "$@" > "$WORK/$name.out" 2> "$WORK/$name.err"; rc=$?
  if grep -q 'runtime error\|AddressSanitizer\|LeakSanitizer' "$WORK/$name.err"; then
    fail "$name" "sanitizer: $(grep -m1 'runtime error\|ERROR' "$WORK/$name.err")"; return 1
  fi
  if [ "$rc" != "$want" ]; then
    fail "$name" "exit $rc, want $want: $(head -c 300 "$WORK/$name.err")"; return 1
  fi
  return 0
}

ring() { python3 tests/emu/log-ring.py "$@"; }

host_tests() {
  local t=$WORK/acpi
  ring tree "$t" --acpi > "$WORK/acpi.want"
  run_tool host-acpi 0 --root "$t" && expect "host: ACPI MHVL: every line, as written" cmp "$WORK/acpi.want" "$WORK/host-acpi.out"
  t=$WORK/wrapped
  ring tree "$t" --lines 300 > "$WORK/wrapped.want"
  run_tool host-scan 0 --root "$t" && expect "host: memmap scan, a wrapped ring: the kept lines and the dropped count" \
    cmp "$WORK/wrapped.want" "$WORK/host-scan.out"
  grep -q 'lines dropped' "$WORK/wrapped.want" || fail "host: the wrapped ring drops lines" "no dropped line"
  MINIHV_LOG_PREAD=1 run_tool host-pread 0 --root "$t" && expect "host: pread instead of mmap: the same" \
    cmp "$WORK/wrapped.want" "$WORK/host-pread.out"
  run_tool host-where 0 --root "$t" --where &&
    expect_log "host: --where" "$WORK/host-where.out" '^minihv-log: area 0x7e000000 size 0x3000 \(reserved memory scan, memmap 1\)$'
  run_tool host-save 0 --root "$t" --save "$WORK/saved.bin" && run_tool host-file 0 --file "$WORK/saved.bin" &&
    expect "host: --save then --file: the same lines" cmp "$WORK/wrapped.want" "$WORK/host-file.out"
  run_tool host-text 0 --file "$WORK/wrapped.want" && expect "host: --file on a text log (last.log): as it is" \
    cmp "$WORK/wrapped.want" "$WORK/host-text.out"
  head -c 6000 "$WORK/saved.bin" > "$WORK/short.bin"
  run_tool host-file-short 2 --file "$WORK/short.bin" &&
    expect_log "host: --file on a cut area: area_size named" "$WORK/host-file-short.err" 'header: area_size at 0x18: larger than'

  # --follow: lines appended by a writer (the header's order) while it runs.
  t=$WORK/follow
  ring tree "$t" --lines 5 > /dev/null
  "$SAN" --root "$t" --follow --interval 50 > "$WORK/follow.out" 2> "$WORK/follow.err" &
  local fpid=$!
  sleep 0.5
  ring append "$t" --lines 30 --delay 0.02
  sleep 0.5
  kill "$fpid"; wait "$fpid" 2>/dev/null
  local got
  got=$(sed -n 's/.* minihv: hv: follow //p' "$WORK/follow.out" | tr '\n' ' ')
  [ "$got" = "$(seq -s ' ' 0 29) " ] && pass "host: --follow prints the 30 new lines in order" \
    || fail "host: --follow" "got '$got' $(head -c 200 "$WORK/follow.err")"
  "$SAN" --root "$t" --follow --interval 1500 > "$WORK/follow2.out" 2> "$WORK/follow2.err" &
  fpid=$!
  sleep 0.5
  ring append "$t" --lines 600 --from 100
  sleep 2
  kill "$fpid"; wait "$fpid" 2>/dev/null
  expect_log "host: --follow says how many lines were overwritten before it read them" "$WORK/follow2.out" \
    '^minihv-log: [0-9]+ lines overwritten before minihv-log could read them$'
  expect_log "host: --follow then goes on with the kept lines" "$WORK/follow2.out" 'minihv: hv: follow 699$'

  # Lying input: one line naming the field, exit 2 (1: nothing found).
  local s re
  while read -r s re; do
    t=$WORK/spoil-$s
    ring tree "$t" --acpi --spoil "$s" > /dev/null
    run_tool "bad-$s" 2 --root "$t" && expect_log "host: bad $s: named, exit 2" "$WORK/bad-$s.err" "$re"
  done <<'EOF'
magic header: magic at 0x0: not a minihv log ring
version header: version at 0x8:
header_check header: header_check at 0x38:
header_size header: header_size at 0xc:
data_offset header: data_offset at 0x10:
data_size header: data_size at 0x14:
area_size header: area_size at 0x18:
tail header: tail at 0x48: past head
head header: head at 0x40: more than data_size past tail
size record at byte 112 \(data offset 0x70\): size:
text_len record at byte 112 \(data offset 0x70\): text_len:
seq record at byte 112 \(data offset 0x70\): seq:
check record at byte 112 \(data offset 0x70\): check:
source record at byte 112 \(data offset 0x70\): source:
padding record at byte 112 \(data offset 0x70\): padding:
acpi-checksum MHVL: checksum:
acpi-length MHVL: length: 200
acpi-area MHVL: area_phys: 0x7e00000c
EOF
  t=$WORK/scan-bad
  ring tree "$t" --spoil version > /dev/null
  run_tool scan-bad 2 --root "$t" && expect_log "host: the scan names a lying header it found" "$WORK/scan-bad.err" \
    'area at 0x7e000000 \(memmap 1\): header: version at 0x8'
  t=$WORK/none
  ring tree "$t" --spoil magic > /dev/null
  run_tool none 1 --root "$t" && expect_log "host: no ring: said, exit 1" "$WORK/none.err" 'no log area'
  t=$WORK/devmem-short
  ring tree "$t" --acpi > /dev/null
  truncate -s $((0x7e000000 + 4096)) "$t/dev/mem"
  run_tool devmem-short 2 --root "$t" && expect_log "host: an area past the end of dev/mem: named, no fault" \
    "$WORK/devmem-short.err" 'area_size 0x3000 runs past the end of'
}

# log_linux NAME CFG_LINES DONE — the Linux guest with log-init as /init.
log_linux() {
  local name=$1 cfg=$2 done=$3 dir=$EMU_ROOT/$1
  mkdir -p "$dir" "$WORK/overlay"
  cp tests/emu/log-init "$WORK/overlay/init"
  chmod +x "$WORK/overlay/init"
  make_esp "$dir/esp" "$(printf '%s\nguest = \\EFI\\minihv\\guest.efi\nguest_args = initrd=\\EFI\\minihv\\initrd.img console=ttyS0 quiet' "$cfg")" \
    "${BUILD:-build}/linux/vmlinuz.efi"
  { cat "${BUILD:-build}/linux/initrd.img"; (cd "$WORK/overlay" && echo init | cpio -o -H newc --quiet | gzip -9); } \
    > "$dir/esp/EFI/minihv/initrd.img"
  boot "$name" qemu 2 --timeout "${LINUX_TIMEOUT:-300}" --done "$done"
  clean_log "$dir/com1.log" > "$dir/guest.txt"
  clean_log "$dir/com2.log" > "$dir/minihv.txt"
  sed -n 's/^linux-log-line: //p' "$dir/guest.txt" > "$dir/ring.txt"
  # The core's lines as the guest read them, without "[time] cpuN ".
  sed -n 's/^\[[ 0-9.-]*\] cpu[0-9]* //p' "$dir/ring.txt" > "$dir/ring-core.lines"
}

# check_guest_read NAME — what every Linux boot must show.
check_guest_read() {
  local name=$1 dir=$EMU_ROOT/$1
  expect_log "$name: minihv-log ran in the guest, exit 0" "$dir/guest.txt" '^linux-log: rc 0 lines [1-9][0-9]*$'
  expect_log "$name: the loader installed ACPI MHVL" "$dir/guest.txt" '^linux-log: acpi MHVL present$'
  expect_log "$name: --scan finds the same area, the same lines" "$dir/guest.txt" '^linux-log: scan rc 0 .*' 
  expect_log "$name: --scan lines = the ACPI lines" "$dir/guest.txt" '^linux-log: scan same lines$'
  expect_log "$name: the core's CPUs in the guest's read" "$dir/ring-core.lines" '^minihv: hv: cpu 1 \(APIC id [0-9]+\) virtualized'
  expect_log "$name: the loader's lines in the guest's read (ldr)" "$dir/ring.txt" '^\[ *[0-9]+\.[0-9]{6}\] ldr minihv: '
  expect_log "$name: --follow printed the refused write the guest caused after it started" "$dir/guest.txt" \
    '^linux-log-follow: \[ *[0-9.]+\] cpu[0-9]+ minihv: hv: refused log-write: cpu [0-9]+: [0-9]+-byte write to the log ring at 0x[0-9a-f]+'
  local before after
  before=$(sed -n 's/^linux-log: magic dword before \(0x[0-9A-Fa-f]*\) after .*/\1/p' "$dir/guest.txt")
  after=$(sed -n 's/^linux-log: magic dword before .* after \(0x[0-9A-Fa-f]*\)$/\1/p' "$dir/guest.txt")
  [ -n "$before" ] && [ "$before" = "$after" ] && [ "$((before))" = "$((0x76484d21))" ] \
    && pass "$name: the guest's write over the magic dropped ($after reads back)" \
    || fail "$name: write over the magic" "before '$before' after '$after'"
  expect_log "$name: header md5 before = after the writes" "$dir/guest.txt" '^linux-log: header-md5 before ([0-9a-f]+) after \1$'
  expect_log "$name: old records' md5 before = after the writes" "$dir/guest.txt" '^linux-log: data-md5 [0-9]+ bytes before ([0-9a-f]+) after \1$'
  expect_log "$name: --save'd area read back with --file" "$dir/guest.txt" '^linux-log: file rc 0 lines [1-9]'
  if grep -q '^linux-log-err: ' "$dir/guest.txt"; then
    fail "$name: minihv-log errors" "$(grep -m3 '^linux-log-err: ' "$dir/guest.txt" | tr '\n' ';')"
  fi
}

qemu_tests() {
  local name=log-qemu dir=$EMU_ROOT/log-qemu
  log_linux "$name" 'serial = 0x2f8' 'minihv: hv: summary: end'
  check_guest_read "$name"
  # The core's lines on the serial port, up to where the guest read.
  local n
  n=$(grep -c '' "$dir/ring-core.lines")
  grep '^minihv: hv: ' "$dir/minihv.txt" | head -n "$n" > "$dir/serial-core.lines"
  if [ "$n" -ge 5 ] && diff -u "$dir/serial-core.lines" "$dir/ring-core.lines" > "$dir/core.diff"; then
    pass "$name: the guest's $n core lines = the serial port's first $n, in order"
  else
    fail "$name: the guest's core lines vs the serial port's" "$n lines; diff in $dir/core.diff"
    [ -f "$dir/core.diff" ] && head -20 "$dir/core.diff"
  fi
  # The loader's lines, each on the serial logs as well.
  local missing=0 total=0 line
  while IFS= read -r line; do
    total=$((total + 1))
    grep -qxF -- "$line" "$dir/minihv.txt" "$dir/guest.txt" || { missing=$((missing + 1)); echo "  not on serial: $line"; }
  done < <(sed -n 's/^\[[ 0-9.-]*\] ldr //p' "$dir/ring.txt")
  [ "$total" -gt 0 ] && [ "$missing" = 0 ] && pass "$name: the guest's $total loader lines are the serial's" \
    || fail "$name: loader lines" "$missing of $total not on the serial logs"
  expect_log "$name: the core's summary counts the 3 refused writes" "$dir/minihv.txt" \
    '^minihv: hv: summary: log ring 0x[0-9a-f]+\+[0-9]+ KiB: .* guest writes refused ([3-9]|[1-9][0-9]+)$'
  if grep -q 'minihv: hv: FATAL' "$dir/minihv.txt"; then
    fail "$name: no FATAL" "$(grep -m1 'minihv: hv: FATAL' "$dir/minihv.txt")"
  fi
}

serial_off_tests() {
  local name=log-serial-off dir=$EMU_ROOT/log-serial-off
  log_linux "$name" 'serial = off' '^linux-guest: done'
  check_guest_read "$name"
  local n
  n=$(grep -c '^minihv: hv: ' "$dir/minihv.txt" "$dir/guest.txt" | awk -F: '{ s += $NF } END { print s }')
  [ "$n" = 0 ] && pass "$name: no core line on either serial port" || fail "$name: serial off" "$n core lines on the ports"
  expect_log "$name: minihv-log still prints the core's lines (its CPUs)" "$dir/ring-core.lines" \
    '^minihv: hv: cpu 0 \(APIC id [0-9]+\) virtualized'
}

bochs_tests() {
  local name=log-bochs dir=$EMU_ROOT/log-bochs
  make_esp "$dir/esp" "$(printf 'serial = 0x2f8\nguest = \\EFI\\minihv\\guest.efi')" "${BUILD:-build}/logread.efi"
  boot "$name" bochs 1 --timeout "${VMX_TIMEOUT:-300}"
  clean_log "$dir/com1.log" > "$dir/guest.txt"
  clean_log "$dir/com2.log" > "$dir/minihv.txt"
  expect_log "$name: logread found the ring by the reserved-memory scan" "$dir/guest.txt" \
    '^logread: area 0x[0-9a-f]+ size 0x[0-9a-f]+ found by the reserved-memory scan$'
  expect_log "$name: logread's count line" "$dir/guest.txt" '^logread: [1-9][0-9]* lines, seq 0\.\.'
  sed -n 's/^logread: line: \[[ 0-9.-]*\] cpu[0-9]* //p' "$dir/guest.txt" > "$dir/ring-core.lines"
  local n
  n=$(grep -c '' "$dir/ring-core.lines")
  grep '^minihv: hv: ' "$dir/minihv.txt" | head -n "$n" > "$dir/serial-core.lines"
  if [ "$n" -ge 3 ] && diff -u "$dir/serial-core.lines" "$dir/ring-core.lines" > "$dir/core.diff"; then
    pass "$name: logread's $n core lines = the serial port's first $n"
  else
    fail "$name: logread's core lines vs the serial port's" "$n lines; diff in $dir/core.diff"
    [ -f "$dir/core.diff" ] && head -20 "$dir/core.diff"
  fi
  expect_log "$name: the guest's write to the ring dropped" "$dir/guest.txt" \
    '^logread: write to the ring: dropped, magic unchanged \(0x76484d21 before, 0x76484d21 after\)$'
  expect_log "$name: the core refused it (log-write)" "$dir/minihv.txt" '^minihv: hv: refused log-write: cpu 0: 4-byte write'
  if grep -q '^logread: FAIL' "$dir/guest.txt"; then
    fail "$name: logread FAIL lines" "$(grep -m3 '^logread: FAIL' "$dir/guest.txt" | tr '\n' ';')"
  fi
}

only host && host_tests
only qemu && qemu_tests
only serial-off && serial_off_tests
only bochs && bochs_tests
if only reboot && [ -f tests/emu/log_reboot.sh ]; then
  . tests/emu/log_reboot.sh
  log_reboot_tests
fi
summary log
