# The log across a reboot and FATAL on the screen (issue 17); sourced by
# tests/emu/log.sh, which calls log_reboot_tests (after scripts/lib/result.sh
# and tests/emu/lib.sh: pass/fail, make_esp, clean_log). Runnable alone:
#   BUILD=build bash tests/emu/log_reboot.sh
#
# A core built with the test hooks (HV_TEST_HOOKS=1, its own build folder
# $BUILD-testhooks) runs tests/guests/fatal.c, which asks for a FATAL
# (MINIHV_HC_TEST_FATAL). The harness then, through QEMU's monitor:
#   - takes a screendump once the report is drawn and, after the reset,
#     compares it pixel for pixel with build/tools/fb-render's rendering of
#     the same lines (taken from last.log);
#   - resets the machine (system_reset keeps RAM in QEMU); the next boot
#     saves the previous ring as \EFI\minihv\last.log, read back here from
#     the disk image with mtools, where the FATAL report must be; the
#     FATAL's last lines appear on the firmware console with the pause.
# Also: a normal core answers the hook EINVAL (no FATAL); a ring whose
# header lies (data_size, written through the monitor before the reset) is
# refused with the field named and the boot goes on; serial = off finds
# last.log all the same; keep_logs rotates last.log to last.1.log.

LR_HOOKS_BUILD=${BUILD:-build}-testhooks

# lr_build — the test build: the core with the hooks, fatal.efi, fb-render.
lr_build() {
  make -s BUILD="$LR_HOOKS_BUILD" HV_TEST_HOOKS=1 -j2 "$LR_HOOKS_BUILD/minihv.efi" "$LR_HOOKS_BUILD/fatal.efi" \
    "$LR_HOOKS_BUILD/tools/fb-render" >/dev/null &&
  make -s BUILD="${BUILD:-build}" -j2 "${BUILD:-build}/minihv.efi" "${BUILD:-build}/fatal.efi" >/dev/null
}

# lr_fat DIR — DIR/esp.img, a FAT image of DIR/esp (as scripts/emu.sh).
lr_fat() {
  local dir=$1 img
  img=$(cd "$1" && pwd)/esp.img
  rm -f "$img"
  dd if=/dev/zero of="$img" bs=1k count=40960 status=none
  mkfs.vfat -n MINIHV "$img" >/dev/null
  (cd "$dir/esp" && find . -mindepth 1 -type d | sed 's|^\./||' | while read -r d; do mmd -i "$img" "::$d"; done
   find . -type f | sed 's|^\./||' | while read -r f; do mcopy -i "$img" "$f" "::$f"; done)
}

# lr_start DIR [QEMU ARGS] — QEMU (q35, OVMF, SVM) with the monitor on DIR/mon.sock,
# no -no-reboot: system_reset and the guest's resets restart the machine.
lr_start() {
  local dir=$1; shift
  rm -f "$dir/com1.log" "$dir/com2.log" "$dir/mon.sock"
  : > "$dir/com1.log"; : > "$dir/com2.log"
  [ -f "$dir/vars.fd" ] || cp /usr/share/OVMF/OVMF_VARS_4M.fd "$dir/vars.fd" # kept: the variable
  qemu-system-x86_64 -machine q35 -cpu max -smp 1 -m 512 \
    -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
    -drive if=pflash,format=raw,file="$dir/vars.fd" \
    -drive format=raw,file="$dir/esp.img" \
    -serial "file:$dir/com1.log" -serial "file:$dir/com2.log" -display none -nic none \
    -monitor "unix:$dir/mon.sock,server=on,wait=off" "$@" </dev/null >"$dir/emu.out" 2>&1 &
  LR_PID=$!
  local i
  for i in $(seq 1 50); do [ -S "$dir/mon.sock" ] && return 0; sleep 0.1; done
  return 1
}

# lr_mon DIR CMD — one HMP command; its output on stdout.
lr_mon() {
  python3 - "$1/mon.sock" "$2" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(5)
def until_prompt():
    buf = b''
    while not buf.endswith(b'(qemu) '):
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        if not d:
            break
        buf += d
    return buf
until_prompt()
s.sendall(sys.argv[2].encode() + b'\n')
out = until_prompt() if sys.argv[2] != 'quit' else b''
sys.stdout.write(out.decode(errors='replace'))
PY
}

lr_stop() {
  lr_mon "$1" quit >/dev/null 2>&1
  sleep 0.5
  kill "$LR_PID" 2>/dev/null; wait "$LR_PID" 2>/dev/null
}

# lr_wait DIR REGEX SECONDS [COUNT] — until COUNT (1) lines of com1/com2 match.
lr_wait() {
  local dir=$1 re=$2 end=$(( $(date +%s) + $3 )) count=${4:-1}
  while [ "$(date +%s)" -lt "$end" ]; do
    [ "$(cat "$dir/com1.log" "$dir/com2.log" | clean_log /dev/stdin | grep -Ec -- "$re")" -ge "$count" ] && return 0
    kill -0 "$LR_PID" 2>/dev/null || return 1
    sleep 0.5
  done
  return 1
}

# lr_count DIR REGEX — lines of com1/com2 that match now.
lr_count() { cat "$1/com1.log" "$1/com2.log" | clean_log /dev/stdin | grep -Ec -- "$2"; }

# lr_fb_drawn DIR SECONDS — screendumps until row 0 is the FATAL title
# (fb-render compare, one row); leaves DIR/fatal.ppm.
lr_fb_drawn() {
  local dir=$1 end=$(( $(date +%s) + $2 ))
  : > "$dir/empty.txt"
  while [ "$(date +%s)" -lt "$end" ]; do
    rm -f "$dir/fatal.ppm"
    lr_mon "$dir" "screendump $dir/fatal.ppm" >/dev/null
    [ -s "$dir/fatal.ppm" ] && "$LR_HOOKS_BUILD/tools/fb-render" compare "$dir/fatal.ppm" "$dir/empty.txt" \
      "$dir/empty.txt" 1 >/dev/null 2>&1 && return 0
    sleep 1
  done
  return 1
}

# lr_lines DIR — both serial logs, cleaned.
lr_lines() { cat "$1/com1.log" "$1/com2.log" | clean_log /dev/stdin; }

# lr_reboot NAME CFG — the FATAL, the screendump, the reset, last.log.
# Leaves $EMU_ROOT/NAME/{last.log,fatal.ppm,...}; 0 when it got that far.
lr_reboot() {
  local name=$1 cfg=$2 dir=$EMU_ROOT/$1
  rm -rf "$dir"; mkdir -p "$dir"
  BUILD=$LR_HOOKS_BUILD make_esp "$dir/esp" "$cfg" "$LR_HOOKS_BUILD/fatal.efi"
  lr_fat "$dir"
  [ -n "${LR_SETUP:-}" ] && "$LR_SETUP" "$dir"
  lr_start "$dir" || { fail "$name: QEMU monitor" "no socket $dir/mon.sock"; return 1; }
  if ! lr_wait "$dir" '^fatal-guest: calling' 120; then
    fail "$name: the fatal guest ran" "no 'fatal-guest: calling' (logs in $dir)"; lr_stop "$dir"; return 1
  fi
  if lr_fb_drawn "$dir" 30; then
    pass "$name: the FATAL screen's title is on the screendump"
  else
    fail "$name: FATAL screen" "no title row in the screendump after 30 s ($dir/fatal.ppm)"
  fi
  local rings calls
  rings=$(lr_count "$dir" '^minihv: log: ring of')
  calls=$(lr_count "$dir" '^fatal-guest: calling')
  lr_mon "$dir" system_reset >/dev/null
  if ! lr_wait "$dir" '^minihv: log: ring of' 120 $((rings + 1)); then
    fail "$name: the boot after the reset" "no second 'log: ring of' line (logs in $dir)"; lr_stop "$dir"; return 1
  fi
  # The saved file, the console lines and the pause: until the guest runs again.
  lr_wait "$dir" '^fatal-guest: calling' 90 $((calls + 1)) || true
  sleep 1
  lr_stop "$dir"
  rm -f "$dir/last.log"
  mtype -i "$dir/esp.img" ::/EFI/minihv/last.log > "$dir/last.log" 2>/dev/null || rm -f "$dir/last.log"
  lr_lines "$dir" > "$dir/all.txt"
  return 0
}

# lr_check_fatal NAME — last.log holds the FATAL report; the console showed
# it; the screendump equals the rendering of the same lines.
lr_check_fatal() {
  local name=$1 dir=$EMU_ROOT/$1
  if [ ! -s "$dir/last.log" ]; then
    fail "$name: last.log" "no \\EFI\\minihv\\last.log on the disk image ($(grep -m1 '^minihv: log:' "$dir/all.txt"))"
    return
  fi
  pass "$name: \\EFI\\minihv\\last.log read back from the disk image ($(wc -l < "$dir/last.log") lines)"
  expect_log "$name: last.log has the FATAL line" "$dir/last.log" \
    '^\[[ 0-9.t=]+\] cpu0 minihv: hv: FATAL cpu 0 \(APIC id 0\): test hook: FATAL requested by the guest'
  expect_log "$name: last.log has the exit line" "$dir/last.log" '^\[[^]]*\] cpu0 minihv: hv:   exit [A-Za-z]+ \(reason [0-9]+\)'
  expect_log "$name: last.log has RIP and the instruction bytes" "$dir/last.log" \
    '^\[[^]]*\] cpu0 minihv: hv:   guest RIP 0x[0-9a-f]+ .*bytes: 0f 01 d[89]'
  expect_log "$name: last.log has the core's parked line" "$dir/last.log" '^\[[^]]*\] cpu0 minihv: hv: cpu 0 parked'
  expect_log "$name: last.log has the loader's lines" "$dir/last.log" '^\[[^]]*\] ldr minihv: minihv starting'
  expect_log "$name: the next boot names the previous log and its FATAL" "$dir/all.txt" \
    '^minihv: log: previous log \(boot 1\) at 0x[0-9a-f]+: [0-9]+ lines, [0-9]+ dropped, ended in FATAL'
  expect_log "$name: the FATAL's last lines on the firmware console" "$dir/all.txt" \
    'minihv: the previous run ended in FATAL; its last lines:'
  expect_log "$name: the pause is announced" "$dir/all.txt" 'going on in 5 s'
  # The screen: head = the report's three lines as the core logged them,
  # tail = the lines before it, as minihv-log prints them.
  local fl
  fl=$(grep -n -m1 '^\[[^]]*\] cpu0 minihv: hv: FATAL cpu 0 ' "$dir/last.log" | cut -d: -f1)
  if [ -n "$fl" ] && [ -s "$dir/fatal.ppm" ]; then
    head -n $((fl - 1)) "$dir/last.log" > "$dir/screen-tail.txt"
    sed -n "${fl},$((fl + 2))p" "$dir/last.log" | sed -E 's/^\[[^]]*\] cpu[0-9]+ minihv: hv: //' > "$dir/screen-head.txt"
    local out
    if out=$("$LR_HOOKS_BUILD/tools/fb-render" compare "$dir/fatal.ppm" "$dir/screen-head.txt" "$dir/screen-tail.txt" 2>&1); then
      pass "$name: the screendump equals fb-render's rendering pixel for pixel (${out#fb-render: })"
    else
      fail "$name: screendump vs rendering" "$(echo "$out" | tail -1); first: $(echo "$out" | head -1)"
    fi
  else
    fail "$name: screen comparison" "no FATAL line in last.log or no screendump"
  fi
}

# lr_forge IN OUT FIELD — a copy of a saved header (pmemsave) that lies in
# FIELD: data_size 0x3000 (not a power of two) with header_check
# recomputed, so the check that must name it is data_size's; or tail past
# head (moving fields: no checksum covers them).
lr_forge() {
  python3 - "$1" "$2" "$3" <<'PY'
import struct, sys
h = bytearray(open(sys.argv[1], 'rb').read())
def fnv(b):
    x = 0x811c9dc5
    for c in b:
        x = ((x ^ c) * 0x01000193) & 0xffffffff
    return x
if sys.argv[3] == 'data_size':
    struct.pack_into('<I', h, 0x14, 0x3000)
    struct.pack_into('<I', h, 0x38, fnv(h[:0x38]))
else:
    head, = struct.unpack_from('<Q', h, 0x40)
    struct.pack_into('<Q', h, 0x48, head + 8)
open(sys.argv[2], 'wb').write(h)
PY
}

# lr_einval_and_lies NAME — the normal core answers the hook EINVAL (no
# FATAL); a system_reset saves the log without the FATAL pause; then, with the same variable store, the header left at the
# ring's address is replaced (QEMU's generic loader device writes it at
# the machine's start) by one that lies: the loader refuses it naming the
# field, and the boot goes on to the guest.
lr_einval_and_lies() {
  local name=$1 dir=$EMU_ROOT/$1 area field
  rm -rf "$dir"; mkdir -p "$dir"
  make_esp "$dir/esp" "$(printf 'serial = 0x2f8\nguest = \\EFI\\minihv\\guest.efi')" "${BUILD:-build}/fatal.efi"
  # No power-off at the end: the monitor reads the ring after the guest.
  printf '%s\r\n' 'fs0:\EFI\minihv\minihv.efi' 'echo "minihv-test: done"' > "$dir/esp/startup.nsh"
  lr_fat "$dir"
  lr_start "$dir" || { fail "$name: QEMU monitor" "no socket"; return; }
  if lr_wait "$dir" '^fatal-guest: (EINVAL|the hypercall)' 120; then
    expect_log "$name: the normal core answers MINIHV_HC_TEST_FATAL with EINVAL" <(lr_lines "$dir") \
      '^fatal-guest: EINVAL: no test hooks in this core'
  else
    fail "$name: the fatal guest's answer" "none (logs in $dir)"
  fi
  if lr_lines "$dir" | grep -q 'minihv: hv: FATAL'; then
    fail "$name: no FATAL in a normal core" "$(lr_lines "$dir" | grep -m1 'minihv: hv: FATAL')"
  fi
  # A reset without a FATAL: the log is saved, no pause.
  local answers
  answers=$(lr_count "$dir" '^fatal-guest: (EINVAL|the hypercall)')
  lr_mon "$dir" system_reset >/dev/null
  lr_wait "$dir" '^fatal-guest: (EINVAL|the hypercall)' 120 $((answers + 1))
  lr_lines "$dir" > "$dir/reset.txt"
  expect_log "$name: after a reset without FATAL the previous log is saved" "$dir/reset.txt" \
    '^minihv: log: previous log \(boot 1\) at 0x[0-9a-f]+: [0-9]+ lines, [0-9]+ dropped, no FATAL$'
  expect_log "$name: ... as last.log" "$dir/reset.txt" '^minihv: log: previous log saved as \\EFI\\minihv\\last.log'
  if grep -q 'previous run ended in FATAL' "$dir/reset.txt"; then
    fail "$name: no FATAL lines and no pause after a reset without FATAL" "$(grep -m1 'previous run ended' "$dir/reset.txt")"
  else
    pass "$name: no FATAL lines and no pause after a reset without FATAL"
  fi
  area=$(lr_lines "$dir" | sed -n 's/^minihv: log: ring of [0-9]* KiB at \(0x[0-9a-f]*\) .*/\1/p' | head -1)
  # A relative path: HMP would read "128 /path" as a division.
  [ -n "$area" ] && lr_mon "$dir" "pmemsave $area 128 $dir/header.bin" >/dev/null
  lr_stop "$dir"
  if [ -z "$area" ] || [ ! -s "$dir/header.bin" ]; then
    fail "$name: the ring's address and header" "not found in the log (logs in $dir)"; return
  fi
  for field in data_size tail; do
    lr_forge "$dir/header.bin" "$dir/lie-$field.bin" "$field"
    cp "$dir/com2.log" "$dir/com2-$field-before.log"
    lr_start "$dir" -device "loader,file=$dir/lie-$field.bin,addr=$area,force-raw=on" ||
      { fail "$name: QEMU monitor" "no socket"; return; }
    lr_wait "$dir" '^fatal-guest: (EINVAL|the hypercall)' 120
    lr_stop "$dir"
    lr_lines "$dir" > "$dir/lie-$field.txt"
    expect_log "$name: a ring whose $field lies is refused, the field named" "$dir/lie-$field.txt" \
      "^minihv: log: previous log at $area ignored: $field at 0x[0-9a-f]+: "
    expect_log "$name: after the refused ring ($field) the boot goes on to the guest" "$dir/lie-$field.txt" \
      '^fatal-guest: EINVAL'
  done
}

# lr_rotation NAME — serial = off, keep_logs = 2, older saved logs on the
# ESP: last.log becomes last.1.log, the older last.1.log and a stray
# last.5.log are deleted; last.log is found all the same.
lr_rotation_setup() {
  local dir=$1
  printf 'older\n' > "$dir/older.txt"; printf 'old\n' > "$dir/old.txt"
  mcopy -i "$dir/esp.img" "$dir/old.txt" ::/EFI/minihv/last.log
  mcopy -i "$dir/esp.img" "$dir/older.txt" ::/EFI/minihv/last.1.log
  mcopy -i "$dir/esp.img" "$dir/older.txt" ::/EFI/minihv/last.5.log
}

log_reboot_tests() {
  if ! command -v mtype >/dev/null || ! command -v qemu-system-x86_64 >/dev/null; then
    fail "log-reboot" "mtools or QEMU missing (make deps)"; return
  fi
  if ! lr_build; then
    fail "log-reboot: build" "make BUILD=$LR_HOOKS_BUILD HV_TEST_HOOKS=1 failed"; return
  fi
  # 1. FATAL, screendump, reset, last.log (serial on, COM2).
  if lr_reboot log-reboot "$(printf 'serial = 0x2f8\nguest = \\EFI\\minihv\\guest.efi')"; then
    lr_check_fatal log-reboot
    expect_log "log-reboot: the first boot had no previous log" "$EMU_ROOT/log-reboot/all.txt" \
      '^minihv: log: no previous log$'
    # OVMF, measured: the ring survives system_reset where it was.
    expect_log "log-reboot: the next ring is at the previous boot's address (boot 2)" "$EMU_ROOT/log-reboot/all.txt" \
      "^minihv: log: ring of [0-9]+ KiB at 0x[0-9a-f]+ \\(the previous boot's address, boot 2\\)"
  fi
  # 2. A normal core: the hook is EINVAL; lying headers refused by field.
  lr_einval_and_lies log-lies
  # 3. serial = off, keep_logs = 2 with older logs on the ESP.
  local d=$EMU_ROOT/log-reboot-noserial
  if LR_SETUP=lr_rotation_setup lr_reboot log-reboot-noserial \
      "$(printf 'serial = off\nkeep_logs = 2\nguest = \\EFI\\minihv\\guest.efi')"; then
    lr_check_fatal log-reboot-noserial
    # OVMF mirrors its console to COM2 as well: the core's own lines are
    # the ones that must be missing there.
    if clean_log "$d/com2.log" | grep -q '^minihv: hv:'; then
      fail "log-reboot-noserial: no core line on COM2 with serial = off" "$(clean_log "$d/com2.log" | grep -m1 '^minihv: hv:')"
    else
      pass "log-reboot-noserial: no core line on COM2 with serial = off (last.log has them)"
    fi
    [ "$(mtype -i "$d/esp.img" ::/EFI/minihv/last.1.log 2>/dev/null)" = old ] &&
      pass "log-reboot-noserial: keep_logs 2: the old last.log is last.1.log now" ||
      fail "log-reboot-noserial: rotation" "last.1.log is not the old last.log: $(mdir -b -i "$d/esp.img" ::/EFI/minihv 2>&1 | tr '\n' ' ')"
    if mtype -i "$d/esp.img" ::/EFI/minihv/last.5.log >/dev/null 2>&1 || mtype -i "$d/esp.img" ::/EFI/minihv/last.2.log >/dev/null 2>&1; then
      fail "log-reboot-noserial: rotation" "a log past keep_logs is left: $(mdir -b -i "$d/esp.img" ::/EFI/minihv 2>&1 | tr '\n' ' ')"
    else
      pass "log-reboot-noserial: keep_logs 2: nothing older than last.1.log is left"
    fi
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -u
  cd "$(dirname "$0")/../.."
  . scripts/lib/result.sh
  . tests/emu/lib.sh
  log_reboot_tests
  summary log-reboot
fi
