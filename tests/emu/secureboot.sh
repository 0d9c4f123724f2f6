#!/usr/bin/env bash
# check-secureboot (issue 20): Secure Boot and measured launch in QEMU with
# Debian's OVMF builds and swtpm.
#  - snakeoil OVMF (Secure Boot enforcing, the snakeoil key in db): a minihv
#    signed with that key boots, virtualizes and chain-loads a guest signed
#    with it; an unsigned minihv and one with a byte changed are refused by
#    the firmware (sbverify, run here, is the reference); an unsigned guest
#    is refused by minihv with its line; a weakening config key is refused.
#  - Microsoft-keys OVMF and `make image SHIM=1`: shim starts, finds minihv's
#    key not enrolled and starts MokManager.
#  - swtpm: the Linux guest reads PCRs 8 and 9 and the firmware's event log;
#    the harness recomputes minihv's events from the bytes it wrote (sha256)
#    and replays the log (tpm2_eventlog's digests) to the PCR values; a
#    second boot with one config line changed gives another PCR 8.
# The guest is a copy of Debian's kernel, signed with the snakeoil key or
# not; the second TPM boot uses a small EFI guest (sbpcr).
set -u
. scripts/lib/result.sh
. tests/emu/lib.sh

B=${BUILD:-build}
mkdir -p "$EMU_ROOT/secureboot"
ROOT=$(cd "$EMU_ROOT/secureboot" && pwd)
OVMF=/usr/share/OVMF
SNAKE_PEM=/usr/share/ovmf/PkKek-1-snakeoil.pem
mkdir -p "$ROOT"
# The snakeoil key is PEM with the passphrase "snakeoil" (Debian's ovmf
# README); sbsign cannot be given a passphrase, so a clear copy.
openssl pkey -in /usr/share/ovmf/PkKek-1-snakeoil.key -passin pass:snakeoil -out "$ROOT/snakeoil.key"
sign() { sbsign --key "$ROOT/snakeoil.key" --cert "$SNAKE_PEM" --output "$2" "$1" >/dev/null 2>&1; }

# fat DIR IMG — a FAT image of folder DIR.
fat() {
  local dir=$1 img=$2 kib
  kib=$(( $(du -sk "$dir" | cut -f1) + 8192 ))
  [ $kib -lt 40960 ] && kib=40960
  rm -f "$img"
  dd if=/dev/zero of="$img" bs=1k count=$kib status=none
  mkfs.vfat -n MINIHV "$img" >/dev/null
  (cd "$dir" && find . -mindepth 1 -type d | sed 's|^\./||' | while read -r d; do mmd -i "$img" "::$d"; done
   find . -type f | sed 's|^\./||' | while read -r f; do mcopy -i "$img" "$f" "::$f"; done)
}

# esp NAME MINIHV_EFI CONFIG [GUEST_EFI] — minihv as \EFI\BOOT\BOOTX64.EFI
# (the removable-media path the firmware boots; no shell, no startup.nsh).
esp() {
  local dir=$ROOT/$1/esp
  rm -rf "$dir"
  mkdir -p "$dir/EFI/BOOT"
  cp "$2" "$dir/EFI/BOOT/BOOTX64.EFI"
  printf '%s\n' "$3" > "$dir/EFI/BOOT/minihv.cfg"
  [ -n "${4:-}" ] && cp "$4" "$dir/EFI/BOOT/guest.efi"
  return 0
}

# run NAME FIRMWARE(snakeoil|ms|plain) DONE TIMEOUT [qemu args] — boots
# $ROOT/NAME/esp (or $ROOT/NAME/disk.img if there is no esp folder) until
# DONE matches COM1 or COM2, QEMU exits, or TIMEOUT.
run() {
  local name=$1 fw=$2 done=$3 timeout=$4; shift 4
  local dir=$ROOT/$name code vars machine=q35 sec=()
  case $fw in
    snakeoil) code=OVMF_CODE_4M.snakeoil.fd vars=OVMF_VARS_4M.snakeoil.fd ;;
    ms) code=OVMF_CODE_4M.ms.fd vars=OVMF_VARS_4M.ms.fd ;;
    plain) code=OVMF_CODE_4M.fd vars=OVMF_VARS_4M.fd ;;
  esac
  # The Secure Boot builds need SMM (the variable store is only writable
  # there) and a secure flash.
  [ "$fw" != plain ] && { machine=q35,smm=on; sec=(-global driver=cfi.pflash01,property=secure,value=on); }
  [ -d "$dir/esp" ] && fat "$dir/esp" "$dir/disk.img"
  cp "${VARS_FROM:-$OVMF/$vars}" "$dir/vars.fd" # VARS_FROM: a previous run's store (MokList enrolled)
  : > "$dir/com1.log"; : > "$dir/com2.log"
  local start=$SECONDS
  qemu-system-x86_64 -machine "$machine" "${sec[@]}" -cpu max -smp 1 -m 512 \
    -drive if=pflash,format=raw,readonly=on,file="$OVMF/$code" -drive if=pflash,format=raw,file="$dir/vars.fd" \
    -drive format=raw,file="$dir/disk.img" -serial "file:$dir/com1.log" -serial "file:$dir/com2.log" \
    -display none -nic none -no-reboot -monitor none "$@" </dev/null >"$dir/qemu.out" 2>&1 &
  local pid=$! result=timeout
  while [ $((SECONDS - start)) -lt "$timeout" ]; do
    kill -0 $pid 2>/dev/null || { result=exited; break; }
    if grep -aEq -- "$done" "$dir/com1.log" "$dir/com2.log"; then result=done; sleep 1; break; fi
    sleep 0.5
  done
  kill $pid 2>/dev/null; wait $pid 2>/dev/null
  clean_log "$dir/com1.log" > "$dir/fw.txt"
  clean_log "$dir/com2.log" > "$dir/minihv.txt"
  echo "  $name: $fw firmware, $result after $((SECONDS - start))s"
  echo "$result" > "$dir/result"
}

# A line in a case's log (minihv.txt: COM2, minihv's own; fw.txt: COM1).
has() { grep -aEq -- "$3" "$ROOT/$1/$2"; }
want() { if has "$2" "$3" "$4"; then pass "$1"; else fail "$1" "no line matching /$4/ in $ROOT/$2/$3"; fi; }
wantnot() { if [ ! -f "$ROOT/$2/$3" ]; then fail "$1" "no $ROOT/$2/$3"; elif has "$2" "$3" "$4"; then fail "$1" "$(grep -aE -m1 -- "$4" "$ROOT/$2/$3")"; else pass "$1"; fi; }

# keys/ (make image's own key pair, generated once): the MOK-signed pieces
# and preflight's certificate come from it.
[ -f keys/minihv-sign.key ] && [ -f keys/minihv-sign.crt ] \
  || BUILD=$B IMG=$ROOT/keys.img bash scripts/image.sh >/dev/null || echo "  no keys/: make image failed"
rm -f "$ROOT/keys.img"
# sbverify's verdict with the snakeoil certificate: the reference.
sbv() { sbverify --cert "$SNAKE_PEM" "$1" >/dev/null 2>&1 && echo accepted || echo refused; }
# SB_ONLY="snakeoil tpm shim preflight" (all by default) picks the parts.
sel() { [ -z "${SB_ONLY:-}" ] || [[ " $SB_ONLY " == *" $1 "* ]]; }

# The guest: a copy of Debian's kernel with its signature removed
# (unsigned), and that copy signed with the snakeoil key (signed).
rm -f "$ROOT/vmlinuz.unsigned.efi" "$ROOT/vmlinuz.signed.efi"
cp "$B/linux/vmlinuz.efi" "$ROOT/vmlinuz.unsigned.efi"
sbattach --remove "$ROOT/vmlinuz.unsigned.efi" >/dev/null 2>&1
sign "$ROOT/vmlinuz.unsigned.efi" "$ROOT/vmlinuz.signed.efi"
echo "  sbverify: vmlinuz.signed.efi $(sbv "$ROOT/vmlinuz.signed.efi"), vmlinuz.unsigned.efi $(sbv "$ROOT/vmlinuz.unsigned.efi")"
[ "$(sbv "$ROOT/vmlinuz.signed.efi")" = accepted ] && [ "$(sbv "$ROOT/vmlinuz.unsigned.efi")" = refused ] \
  && pass "sbverify: accepts the signed kernel copy, refuses the unsigned one" \
  || fail "sbverify: kernel" "signed $(sbv "$ROOT/vmlinuz.signed.efi"), unsigned $(sbv "$ROOT/vmlinuz.unsigned.efi")"

if sel snakeoil; then
# ---- the signed pieces, and sbverify's verdicts (the reference) ----
sign "$B/minihv.efi" "$ROOT/minihv.signed.efi"
cp "$ROOT/minihv.signed.efi" "$ROOT/minihv.changed.efi"
# One byte in the middle of the image (code, not the signature at the end).
off=$(( $(stat -c %s "$B/minihv.efi") / 2 ))
orig=$(od -An -tu1 -j $off -N1 "$ROOT/minihv.changed.efi" | tr -d ' ')
printf "$(printf '\\%03o' $(( (orig + 1) % 256 )))" | dd of="$ROOT/minihv.changed.efi" bs=1 seek=$off conv=notrunc status=none
for f in minihv.signed minihv.changed; do echo "  sbverify: $f.efi $(sbv "$ROOT/$f.efi")"; done
echo "  sbverify: minihv.efi (unsigned) $(sbv "$B/minihv.efi")"
[ "$(sbv "$ROOT/minihv.signed.efi")" = accepted ] && [ "$(sbv "$ROOT/minihv.changed.efi")" = refused ] \
  && [ "$(sbv "$B/minihv.efi")" = refused ] && pass "sbverify: accepts the signed minihv, refuses the changed and unsigned ones" \
  || fail "sbverify" "signed $(sbv "$ROOT/minihv.signed.efi"), changed $(sbv "$ROOT/minihv.changed.efi"), unsigned $(sbv "$B/minihv.efi")"

CFG_GUEST=$(printf 'serial = 0x2f8\nguest = \\EFI\\BOOT\\guest.efi')
FW_END='No bootable option|Security Violation|Access Denied'

# ---- snakeoil: the signed minihv boots and chain-loads the signed guest ----
CFG_LINUX="$CFG_GUEST
guest_args = initrd=\\EFI\\BOOT\\initrd.img console=ttyS0 quiet minihv.cpus=1"
esp sb-signed "$ROOT/minihv.signed.efi" "$CFG_LINUX" "$ROOT/vmlinuz.signed.efi"
cp "$B/linux/initrd.img" "$ROOT/sb-signed/esp/EFI/BOOT/initrd.img"
# An IOMMU: under Secure Boot iommu = auto does not fall back to none.
run sb-signed snakeoil 'linux-guest: done|hv: FATAL|guest: .* returned' 120 -device intel-iommu,intremap=off,aw-bits=48
want "sb-signed: minihv sees Secure Boot on" sb-signed minihv.txt '^minihv: secureboot: on'
want "sb-signed: no TPM: one line, the boot goes on" sb-signed minihv.txt '^minihv: measure: no TPM 2.0'
want "sb-signed: the signed kernel passes the firmware's check" sb-signed minihv.txt \
  '^minihv: guest: \\EFI\\BOOT\\guest\.efi loaded \([0-9]+ bytes\), signature accepted under Secure Boot'
want "sb-signed: virtualized after the guest's check" sb-signed minihv.txt '^minihv: core: 1 of 1 CPUs virtualized'
want "sb-signed: the guest started" sb-signed minihv.txt '^minihv: guest: starting \\EFI\\BOOT\\guest\.efi'
# The firmware's SMIs (its SMM variable driver) once the core runs: the
# core intercepts SMI and takes it in host mode (docs/secureboot.md); before
# that the first one ended in a FATAL (VMEXIT_INVALID on the SMM state).
wantnot "sb-signed: no FATAL (the firmware's SMIs under the core)" sb-signed minihv.txt 'hv: FATAL'
want "sb-signed: the signed kernel ran under minihv" sb-signed fw.txt '^linux-guest: PASS CPUID 0x40000000 signature MiniHv'

# ---- no IOMMU under Secure Boot: iommu = auto does not fall back to none ----
# (review R: it did, and the core ran with device DMA uncontained)
esp sb-noiommu "$ROOT/minihv.signed.efi" "$CFG_GUEST" "$ROOT/vmlinuz.signed.efi"
run sb-noiommu snakeoil 'guest: starting|hv: FATAL|guest: refused' 90
want "sb-noiommu: the loader asks for an IOMMU" sb-noiommu minihv.txt '^minihv: secureboot: iommu = auto must find VT-d or AMD-Vi'
want "sb-noiommu: no IOMMU, the core does not virtualize" sb-noiommu minihv.txt \
  'iommu: error: iommu = auto \(required under Secure Boot\) could not be brought up: not virtualizing'
wantnot "sb-noiommu: no CPU virtualized, no fallback to none" sb-noiommu minihv.txt 'CPUs virtualized|iommu: none'

# ---- the firmware refuses the unsigned and the changed minihv ----
for c in unsigned:"$B/minihv.efi" changed:"$ROOT/minihv.changed.efi"; do
  name=sb-minihv-${c%%:*}
  esp "$name" "${c#*:}" "$CFG_GUEST" "$ROOT/vmlinuz.signed.efi"
  run "$name" snakeoil "$FW_END" 60
  want "$name: the firmware refuses it (sbverify: $(sbv "${c#*:}"))" "$name" fw.txt \
    'BdsDxe: (failed to load|failed to start) Boot[0-9A-F]+ .*(Security Violation|Access Denied)'
  wantnot "$name: minihv never ran" "$name" minihv.txt 'minihv starting'
done

# ---- make image's own stick, signed with SIGN_KEY/SIGN_CERT (.sbat added) ----
mkdir -p "$ROOT/image"; rm -rf "$ROOT/image/esp"
printf 'serial = 0x2f8\nhv_mem_mb = 16\n' > "$ROOT/image/minihv.cfg"
BUILD=$B IMG=$ROOT/image/disk.img CFG=$ROOT/image/minihv.cfg SIGN_KEY=$ROOT/snakeoil.key SIGN_CERT=$SNAKE_PEM \
  bash scripts/image.sh | sed 's/^/  /'
run image snakeoil "refused|$FW_END|hv: FATAL" 60
want "image: make image's stick (SIGN_KEY/SIGN_CERT) boots under Secure Boot" image minihv.txt '^minihv: secureboot: on \(the firmware verified'
want "image: hv_mem_mb = 16 refused under Secure Boot" image minihv.txt \
  '^minihv: config: Secure Boot is on: minihv.cfg key hv_mem_mb = 16: outside 32-2048; refused, nothing virtualized'

# ---- minihv refuses the unsigned guest, before virtualizing ----
esp sb-guest-unsigned "$ROOT/minihv.signed.efi" "$CFG_GUEST" "$ROOT/vmlinuz.unsigned.efi"
run sb-guest-unsigned snakeoil "guest: refused|$FW_END|hv: FATAL" 60
want "sb-guest-unsigned: one line names the file and the reason" sb-guest-unsigned minihv.txt \
  "^minihv: guest: refused \\\\EFI\\\\BOOT\\\\guest\\.efi: the firmware's Secure Boot check \\(db/dbx\\) rejected its signature"
wantnot "sb-guest-unsigned: nothing virtualized" sb-guest-unsigned minihv.txt 'CPUs virtualized|^minihv: hv:|core: returned'

# ---- a weakening config key is refused under Secure Boot ----
esp sb-weak "$ROOT/minihv.signed.efi" "$(printf '%s\niommu = none' "$CFG_GUEST")" "$ROOT/vmlinuz.signed.efi"
run sb-weak snakeoil "refused|$FW_END|hv: FATAL" 60
want "sb-weak: iommu = none refused under Secure Boot" sb-weak minihv.txt \
  '^minihv: config: Secure Boot is on: minihv.cfg key iommu = none: .*refused, nothing virtualized'
wantnot "sb-weak: nothing virtualized" sb-weak minihv.txt 'CPUs virtualized|^minihv: hv:|core: returned'

fi

if sel tpm; then
# ---- measured launch: swtpm, plain OVMF (no Secure Boot needed) ----
# tpm_run NAME DONE TIMEOUT — run with a fresh swtpm as QEMU's TPM 2.0.
tpm_run() {
  local name=$1 dir=$ROOT/$1
  rm -rf "$dir/tpm"; mkdir -p "$dir/tpm"
  swtpm socket --tpm2 --tpmstate dir="$dir/tpm" --ctrl type=unixio,path="$dir/tpm/sock" \
    --log file="$dir/tpm/log" --terminate >/dev/null 2>&1 &
  local tpid=$! i
  for i in $(seq 1 50); do [ -S "$dir/tpm/sock" ] && break; sleep 0.1; done
  run "$name" plain "$2" "$3" -chardev socket,id=chrtpm,path="$dir/tpm/sock" \
    -tpmdev emulator,id=tpm0,chardev=chrtpm -device tpm-tis,tpmdev=tpm0
  kill $tpid 2>/dev/null; wait $tpid 2>/dev/null
}

# The event log's events (TCG PC Client PFP 1.05, 10.2: a SHA-1 format
# header event, then crypto-agile TCG_PCR_EVENT2s) as "PCR TYPE SHA256 DATA"
# lines, and the SHA-256 replay of PCRs 8 and 9 as "replay N HEX".
eventlog_py='
import hashlib, struct, sys
b = open(sys.argv[1], "rb").read()
o = 32
hsize = struct.unpack_from("<I", b, 28)[0]
spec = b[o:o + hsize]; o += hsize
n = struct.unpack_from("<I", spec, 24)[0]
sizes = {}
for i in range(n):
    alg, sz = struct.unpack_from("<HH", spec, 28 + 4 * i); sizes[alg] = sz
pcrs = {8: bytes(32), 9: bytes(32)}
while o + 12 <= len(b):
    pcr, typ, cnt = struct.unpack_from("<III", b, o); o += 12
    d256 = None
    for i in range(cnt):
        alg = struct.unpack_from("<H", b, o)[0]; o += 2
        if alg == 0x0b: d256 = b[o:o + 32]
        o += sizes[alg]
    esz = struct.unpack_from("<I", b, o)[0]; o += 4
    data = b[o:o + esz]; o += esz
    if pcr in pcrs and d256 is not None:
        pcrs[pcr] = hashlib.sha256(pcrs[pcr] + d256).digest()
    print(pcr, hex(typ), d256.hex() if d256 else "-", data.decode("ascii", "replace").replace("\n", " ") if typ == 0xd else "")
for p in (8, 9): print("replay", p, pcrs[p].hex())
'
# extend HASH... — the SHA-256 PCR after extending zeros with each digest.
extend() { python3 -c 'import hashlib,sys
v = bytes(32)
for h in sys.argv[1:]: v = hashlib.sha256(v + bytes.fromhex(h)).digest()
print(v.hex())' "$@"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
pcr_of() { sed -n "s/^$2: pcr $3 \([0-9a-fA-F]*\)\$/\1/p" "$ROOT/$1/fw.txt" | tail -1 | tr 'A-F' 'a-f'; }

# The policy line minihv measures, written out here from the config (its
# format: boot/sb_policy.c, tests/unit/test_sb_policy.c).
POLICY='minihv policy 1: passthrough none; iommu auto; igd_force 0; hv_mem_mb 64; guest \EFI\BOOT\guest.efi; boot-abi 4'
LINUX_ARGS='initrd=\EFI\BOOT\initrd.img console=ttyS0 quiet'
tpm_cfg() { printf 'serial = 0x2f8\nlog_kb = %s\nguest = \\EFI\\BOOT\\guest.efi\nguest_args = %s' "$1" "$LINUX_ARGS"; }

# The Linux guest: the test initramfs with tests/emu/secureboot-init as /init.
over=$ROOT/overlay
rm -rf "$over"; mkdir -p "$over"
cp tests/emu/secureboot-init "$over/init"; chmod +x "$over/init"
esp tpm-linux "$B/minihv.efi" "$(tpm_cfg 256)" "$B/linux/vmlinuz.efi"
{ cat "$B/linux/initrd.img"; (cd "$over" && echo init | cpio -o -H newc --quiet | gzip -9); } > "$ROOT/tpm-linux/esp/EFI/BOOT/initrd.img"
tpm_run tpm-linux 'sbguest: done|hv: FATAL' "${SB_LINUX_TIMEOUT:-240}"
d=$ROOT/tpm-linux
want "tpm-linux: minihv found the TPM" tpm-linux minihv.txt '^minihv: measure: TPM 2.0 found'
want "tpm-linux: Linux ran under minihv" tpm-linux fw.txt '^sbguest: cpuid signature MiniHv'
sed -n 's/^sbguest: b64 //p' "$d/fw.txt" | base64 -d > "$d/eventlog.bin" 2>/dev/null
python3 -c "$eventlog_py" "$d/eventlog.bin" > "$d/events.txt" 2>"$d/events.err"
tpm2_eventlog "$d/eventlog.bin" > "$d/tpm2_eventlog.yaml" 2>&1
cfg_sha=$(sha "$d/esp/EFI/BOOT/minihv.cfg")
pol_sha=$(printf '%s' "$POLICY" | sha256sum | cut -d' ' -f1)
guest_sha=$(sha "$B/linux/vmlinuz.efi")
want "tpm-linux: event 'minihv: minihv.cfg' in PCR 8 = sha256 of the file written" tpm-linux events.txt "^8 0xd $cfg_sha minihv: minihv.cfg\$"
want "tpm-linux: event with the policy line in PCR 8 = sha256 of the line" tpm-linux events.txt "^8 0xd $pol_sha minihv policy 1: "
want "tpm-linux: event 'minihv: guest' in PCR 9 = sha256 of vmlinuz.efi" tpm-linux events.txt "^9 0xd $guest_sha minihv: guest \\\\EFI\\\\BOOT\\\\guest\\.efi\$"
want "tpm-linux: tpm2_eventlog reads the log and names minihv's events" tpm-linux tpm2_eventlog.yaml 'minihv: guest'
p8=$(pcr_of tpm-linux sbguest 8) p9=$(pcr_of tpm-linux sbguest 9)
exp8=$(extend "$cfg_sha" "$pol_sha")
r8=$(sed -n 's/^replay 8 //p' "$d/events.txt") r9=$(sed -n 's/^replay 9 //p' "$d/events.txt")
t8=$(grep -A40 '^pcrs:' "$d/tpm2_eventlog.yaml" | sed -n '/sha256:/,/sha384\|sha1:/p' | sed -n 's/^ *8 *: *0x\([0-9A-Fa-f]*\)/\1/p' | tr 'A-F' 'a-f')
echo "  tpm-linux: PCR 8 read $p8, replay $r8, tpm2_eventlog $t8, expected $exp8"
echo "  tpm-linux: PCR 9 read $p9, replay $r9"
[ -n "$p8" ] && [ "$p8" = "$exp8" ] && pass "tpm-linux: PCR 8 read by Linux = sha256 extends of the config and the policy line" \
  || fail "tpm-linux: PCR 8" "read '$p8', expected '$exp8'"
[ -n "$p8" ] && [ "$p8" = "$r8" ] && [ "$p8" = "$t8" ] && pass "tpm-linux: replaying the event log gives PCR 8 (python and tpm2_eventlog)" \
  || fail "tpm-linux: PCR 8 replay" "read '$p8', replay '$r8', tpm2_eventlog '$t8'"
[ -n "$p9" ] && [ "$p9" = "$r9" ] && pass "tpm-linux: replaying the event log gives PCR 9" \
  || fail "tpm-linux: PCR 9 replay" "read '$p9', replay '$r9'"

# One config line changed (log_kb 256 -> 512): the small guest reads PCR 8.
esp tpm-changed "$B/minihv.efi" "$(tpm_cfg 512)" "$B/sbpcr.efi"
tpm_run tpm-changed 'sbpcr: done|sbpcr: no|hv: FATAL' 90
c8=$(pcr_of tpm-changed sbpcr 8)
cexp=$(extend "$(sha "$ROOT/tpm-changed/esp/EFI/BOOT/minihv.cfg")" "$pol_sha")
echo "  tpm-changed: PCR 8 read $c8, expected $cexp (first boot: $p8)"
[ -n "$c8" ] && [ "$c8" = "$cexp" ] && [ "$c8" != "$p8" ] \
  && pass "tpm-changed: one config line changed: PCR 8 = its recomputed value, not the first boot's" \
  || fail "tpm-changed: PCR 8" "read '$c8', expected '$cexp', first boot '$p8'"
fi

if sel shim; then
# ---- Microsoft keys + the SHIM=1 stick: shim, MokManager, enrollment ----
# 1. shim (Microsoft-signed, in db) refuses grubx64.efi (minihv, signed with
#    keys/, whose certificate is in neither db nor MokList) and starts
#    MokManager; the harness enrolls minihv.cer from the stick through its
#    menus (key presses on QEMU's monitor) and picks Reboot.
# 2. The same stick and variable store: shim starts minihv, which has shim
#    verify the guest (a kernel copy signed with keys/: MokList only) and
#    loads it. 3. The guest unsigned: shim's refusal, nothing virtualized.
S=$ROOT/shim; mkdir -p "$S"; rm -rf "$S/esp"
printf 'serial = 0x2f8\nguest = \\EFI\\BOOT\\guest.efi\n' > "$S/minihv.cfg"
BUILD=$B IMG=$S/disk.img CFG=$S/minihv.cfg SHIM=1 bash scripts/image.sh | sed 's/^/  /'
sbsign --key keys/minihv-sign.key --cert keys/minihv-sign.crt --output "$S/guest.mok.efi" "$ROOT/vmlinuz.unsigned.efi" >/dev/null 2>&1
mcopy -i "$S/disk.img@@1M" "$S/guest.mok.efi" ::EFI/BOOT/guest.efi
mcopy -i "$S/disk.img@@1M" ::EFI/BOOT/grubx64.efi "$S/grubx64.efi" 2>/dev/null
mokv() { sbverify --cert keys/minihv-sign.crt "$1" >/dev/null 2>&1 && echo accepted || echo refused; }
[ -f "$S/grubx64.efi" ] && [ "$(sbv "$S/grubx64.efi")" = refused ] && [ "$(mokv "$S/grubx64.efi")" = accepted ] \
  && pass "shim: the stick's grubx64.efi is minihv signed with keys/ (sbverify), not with a db key" \
  || fail "shim: grubx64.efi" "not found on the stick, or not signed with keys/minihv-sign.crt only"
[ "$(mokv "$S/guest.mok.efi")" = accepted ] && [ "$(mokv "$ROOT/vmlinuz.unsigned.efi")" = refused ] \
  && pass "shim: sbverify: the MOK-signed kernel copy accepted with keys/, the unsigned one refused" \
  || fail "shim: sbverify guest" "MOK-signed $(mokv "$S/guest.mok.efi"), unsigned $(mokv "$ROOT/vmlinuz.unsigned.efi")"
# mok_enroll — drives shim's error box and MokManager's menus, waiting for
# each screen's text on the serial console; notes each step reached.
mok_enroll() {
  python3 - "$ROOT/shim-enroll/mon.sock" "$ROOT/shim-enroll" <<'PY'
import re, socket, sys, time
sock, d = sys.argv[1], sys.argv[2]
out = open(d + "/steps.txt", "w")
def text():
    try: b = open(d + "/com1.log", "rb").read().decode("latin1")
    except OSError: return ""
    return re.sub(r"\s+", " ", re.sub(r"\x1b\[[0-9;=?]*[a-zA-Z]", " ", b))
def wait(pat, pos, t=60):
    end = time.time() + t
    while time.time() < end:
        m = re.search(pat, text()[pos:])
        if m: return pos + m.end()
        time.sleep(0.3)
    out.write("timeout waiting for %s\n" % pat); out.flush(); sys.exit(1)
for i in range(100):
    try:
        s = socket.socket(socket.AF_UNIX); s.connect(sock); break
    except OSError: time.sleep(0.2)
def keys(*ks):
    for k in ks: s.send(("sendkey %s\n" % k).encode()); time.sleep(0.4)
steps = [("Verification failed", ("ret",)),
         ("Press any key to perform MOK management", ("screendump", "spc")),
         ("Enroll key from disk", ("down", "ret")),
         ("MINIHV", ("ret",)),
         ("minihv\\.cer", ("down", "ret")),
         ("View key 0 .*Continue", ("down", "ret")),
         ("Enroll the key\\(s\\)\\? .*Yes", ("down", "ret")),
         ("Reboot", ("ret",))]
pos = 0
for pat, ks in steps:
    pos = wait(pat, pos)
    time.sleep(1)
    out.write("screen: %s\n" % pat.replace("\\", "")); out.flush()
    for k in ks:
        if k == "screendump":
            s.send(("screendump %s/mokmanager.ppm\n" % d).encode()); time.sleep(1)
        else: keys(k)
PY
}
E=$ROOT/shim-enroll
mkdir -p "$E"; rm -f "$E/mon.sock" "$E/steps.txt" "$E/mokmanager.ppm"; cp "$S/disk.img" "$E/disk.img"
mok_enroll &
drv=$!
run shim-enroll ms 'hv: FATAL' 150 -monitor "unix:$E/mon.sock,server=on,wait=off"
kill $drv 2>/dev/null; wait $drv 2>/dev/null
tr -d '\000' < "$E/fw.txt" | sed 's/   */ /g' > "$E/fw1.txt"
want "shim: shim refused the unenrolled minihv" shim-enroll fw1.txt 'Verification failed: \(0x1A\) Security Violation'
want "shim: MokManager started (serial)" shim-enroll fw1.txt 'Shim UEFI key management'
[ -s "$E/mokmanager.ppm" ] && pass "shim: MokManager screendump $E/mokmanager.ppm" || fail "shim: screendump" "none taken"
want "shim: minihv.cer enrolled through MokManager's menus, Reboot chosen" shim-enroll steps.txt '^screen: Reboot$'
wantnot "shim: minihv never ran unenrolled" shim-enroll minihv.txt 'minihv starting'

# 2. Enrolled: shim starts minihv, minihv has shim verify the guest.
mkdir -p "$ROOT/shim-mok"; cp "$S/disk.img" "$ROOT/shim-mok/disk.img"
VARS_FROM=$E/vars.fd run shim-mok ms 'guest: starting|guest: refused|hv: FATAL' 90
want "shim-mok: minihv started by shim after the enrollment" shim-mok minihv.txt \
  '^minihv: secureboot: on \(shim verified minihv.efi\), started by shim \(SHIM_LOCK present\)'
want "shim-mok: the MOK-signed guest verified by shim (SHIM_LOCK)" shim-mok minihv.txt \
  '^minihv: guest: \\EFI\\BOOT\\guest\.efi verified by shim \(SHIM_LOCK\)'
want "shim-mok: and loaded (shim's LoadImage)" shim-mok minihv.txt '^minihv: guest: \\EFI\\BOOT\\guest\.efi loaded \([0-9]+ bytes\)'
want "shim-mok: the guest started" shim-mok minihv.txt '^minihv: guest: starting'

# 3. Enrolled, the guest unsigned: shim's refusal, before the core.
mkdir -p "$ROOT/shim-unsigned"; cp "$S/disk.img" "$ROOT/shim-unsigned/disk.img"
mcopy -o -i "$ROOT/shim-unsigned/disk.img@@1M" "$ROOT/vmlinuz.unsigned.efi" ::EFI/BOOT/guest.efi
VARS_FROM=$E/vars.fd run shim-unsigned ms 'guest: starting|guest: refused|hv: FATAL' 90
want "shim-unsigned: one line names the file and shim's refusal" shim-unsigned minihv.txt \
  "^minihv: guest: refused \\\\EFI\\\\BOOT\\\\guest\\.efi: shim's verification \\(db, MokList\\) failed"
wantnot "shim-unsigned: nothing virtualized" shim-unsigned minihv.txt 'CPUs virtualized|^minihv: hv:|core: returned'

fi

if sel preflight; then
# ---- preflight: Secure Boot state and enrollment from efivarfs ----
# Trees with efitools' cert-to-efi-sig-list lists as db and MokListRT (the
# lists come from another implementation than the parser's).
pf=$ROOT/preflight; rm -rf "$pf"; mkdir -p "$pf"
openssl x509 -in keys/minihv-sign.crt -outform der -out "$pf/minihv.cer"
openssl x509 -in "$SNAKE_PEM" -outform der -out "$pf/snakeoil.cer"
cert-to-efi-sig-list keys/minihv-sign.crt "$pf/minihv.esl" >/dev/null
cert-to-efi-sig-list "$SNAKE_PEM" "$pf/snakeoil.esl" >/dev/null
# pftree NAME DB_ESL [MOK_ESL] — a saved tree: Secure Boot on, db, MokListRT.
pftree() {
  local t=$pf/$1/sys/firmware/efi/efivars
  mkdir -p "$t"
  printf '\006\000\000\000\001' > "$t/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
  { printf '\047\000\000\000'; cat "$2"; } > "$t/db-d719b2cb-3d3a-4596-a3bc-dad00e67656f"
  [ -n "${3:-}" ] && { printf '\006\000\000\000'; cat "$3"; } > "$t/MokListRT-605dab50-e046-4300-abb6-3dd810dd8b23"
  return 0
}
PF=$B/tools/minihv-preflight
pftree mok "$pf/snakeoil.esl" "$pf/minihv.esl"
"$PF" --root "$pf/mok" --cert "$pf/minihv.cer" > "$pf/mok.out" 2>&1
"$PF" --root "$pf/mok" --cert "$pf/snakeoil.cer" > "$pf/db.out" 2>&1
"$PF" --root "$pf/mok" > "$pf/nocert.out" 2>&1
pftree none "$pf/snakeoil.esl"
"$PF" --root "$pf/none" --cert "$pf/minihv.cer" > "$pf/none.out" 2>&1
pftree bad "$pf/snakeoil.esl"
truncate -s -3 "$pf/bad/sys/firmware/efi/efivars/db-d719b2cb-3d3a-4596-a3bc-dad00e67656f"
"$PF" --root "$pf/bad" --cert "$pf/snakeoil.cer" > "$pf/bad.out" 2>&1
expect_log "preflight: minihv's certificate found in MokListRT" "$pf/mok.out" \
  "secureboot: db read \(1 X.509\), MokListRT read \(1 X.509\): minihv's certificate in MokList"
expect_log "preflight: ✓ verdict for an enrolled MOK" "$pf/mok.out" "✓  Secure Boot +on; minihv's certificate is in MokList"
expect_log "preflight: a certificate in db found there" "$pf/db.out" "minihv's certificate in db"
expect_log "preflight: in neither: ✗ and what to do" "$pf/none.out" "✗  Secure Boot +on; minihv's certificate is in neither db nor MokList"
expect_log "preflight: without --cert: ✗ says how to sign and check" "$pf/nocert.out" "✗  Secure Boot +Secure Boot on: minihv is unsigned as built"
expect_log "preflight: a truncated db is named, field and all" "$pf/bad.out" "efivars/db-d719b2cb-3d3a-4596-a3bc-dad00e67656f: signature list at 0: SignatureListSize"
# --collect keeps db and MokListRT: the replayed tree gives the same answer.
"$PF" --root "$pf/mok" --collect "$pf/mok.tar" > /dev/null 2>&1
mkdir -p "$pf/replay" && tar xf "$pf/mok.tar" -C "$pf/replay" 2>/dev/null
"$PF" --root "$pf/replay" --cert "$pf/minihv.cer" > "$pf/replay.out" 2>&1
expect_log "preflight: --collect keeps db and MokListRT (replayed tree: in MokList)" "$pf/replay.out" "minihv's certificate in MokList"
fi

summary secureboot
