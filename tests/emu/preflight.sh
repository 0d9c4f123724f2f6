#!/usr/bin/env bash
# check-preflight (issue 18): minihv-preflight on
#  1. the real-table corpus (tests/fixtures/acpi): our parsers against
#     iasl -d, field by field (tests/emu/preflight-iasl.py), one test per table;
#  2. bad input: truncated tables, lying lengths, bad checksums, lying
#     fields, each a line naming the file and the field, never a crash
#     (the ASan/UBSan build);
#  3. --root on saved trees built from the corpus: the loader's lines, the
#     warnings for firmware bugs Linux accepts, the verdict table, --json,
#     --collect replayed;
#  4. inside a Linux guest under minihv (QEMU q35, SVM, an NVMe; the guest
#     of check-linux with tests/emu/preflight-init as /init): preflight's
#     lines equal the loader's for the same boot (MADT, MCFG, every PCI
#     function's BARs, capabilities, MSI/MSI-X), and the tree it collects
#     replays the same with --root. PREFLIGHT_QEMU=0 skips it.
set -u
. scripts/lib/result.sh

PREFLIGHT=${PREFLIGHT:-${BUILD:-build}/tools/minihv-preflight}
SAN=${PREFLIGHT_SAN:-$PREFLIGHT}
FIX=tests/fixtures/acpi
WORK=${BUILD:-build}/preflight
rm -rf "$WORK"
mkdir -p "$WORK"

# ---- 1. corpus against iasl ----
if command -v iasl >/dev/null; then
  python3 tests/emu/preflight-iasl.py "$PREFLIGHT" "$(command -v iasl)" "$FIX"/*/*.aml > "$WORK/iasl.log"
  while read -r verdict what rest; do
    case $verdict in
      PASS) pass "iasl $what" ;;
      FAIL) fail "iasl $what" "$rest (see $WORK/iasl.log)" ;;
    esac
  done < "$WORK/iasl.log"
  grep -A3 '^FAIL' "$WORK/iasl.log" | head -40
else
  fail "iasl" "iasl not installed (acpica-tools, scripts/deps.sh)"
fi

# patch FILE OUT OFFSET HEXBYTES [keep] — copies FILE with bytes replaced at
# OFFSET, the ACPI checksum fixed (unless "keep").
patch() {
  python3 - "$@" <<'EOF'
import sys
src, out, off, hexb = sys.argv[1], sys.argv[2], int(sys.argv[3], 0), bytes.fromhex(sys.argv[4])
b = bytearray(open(src, 'rb').read())
b[off:off + len(hexb)] = hexb
if len(sys.argv) < 6:
    b[9] = 0
    b[9] = (-sum(b[:int.from_bytes(b[4:8], 'little')])) & 0xff
open(out, 'wb').write(b)
EOF
}

# expect_line NAME CMD REGEX — CMD exits 0 or 1 (never a signal or a
# sanitizer's error) and prints a line matching REGEX.
expect_line() {
  local name=$1 cmd=$2 re=$3 out rc
  out=$(eval "$cmd" 2>&1); rc=$?
  if [ $rc -gt 1 ]; then
    fail "$name" "exit $rc: $(echo "$out" | grep -m3 -E 'ERROR|runtime error|SUMMARY')"
  elif ! grep -Eq -- "$re" <<<"$out"; then
    fail "$name" "no line matching /$re/ in: $(echo "$out" | head -3)"
  else
    pass "$name"
  fi
}

# ---- 2. bad input ----
DMAR=$FIX/dmar/015e7044f49a3f64.aml   # Dell Inspiron 3558: 3 DRHD... see SOURCES.tsv
IVRS=$FIX/ivrs/005f1a61406ed348.aml
MADT=$FIX/apic/005c739940387149.aml
head -c 30 "$DMAR" > "$WORK/short.aml"
expect_line "bad: 30-byte file" "$SAN --table $WORK/short.aml" "short.aml: header: 30 bytes"
head -c 100 "$DMAR" > "$WORK/trunc.aml"
expect_line "bad: truncated table" "$SAN --table $WORK/trunc.aml" "trunc.aml: length: 176 but the file has 100 bytes"
patch "$DMAR" "$WORK/sum.aml" 9 00 keep
expect_line "bad: checksum" "$SAN --table $WORK/sum.aml" "sum.aml: checksum"
patch "$DMAR" "$WORK/scope.aml" 0x41 40          # first scope's length 0x40: past its DRHD
expect_line "bad: scope length" "$SAN --table $WORK/scope.aml" "scope.aml: DMAR: scope.length at 0x41: past the end"
patch "$DMAR" "$WORK/drhd0.aml" 0x38 0000000000000000   # DRHD at address 0: refused, as in Linux
expect_line "bad: DRHD at 0" "$SAN --table $WORK/drhd0.aml" "drhd0.aml: DMAR: DRHD.register_base at 0x38: zero"
patch "$DMAR" "$WORK/rmrr0.aml" 0x70 00000000000000000000000000000000
expect_line "lenient: RMRR 0-0 skipped" "$SAN --table $WORK/rmrr0.aml" \
  "rmrr0.aml: DMAR warning: RMRR.limit at 0x78: base 0 and limit 0: RMRR skipped"
expect_line "lenient: RMRR 0-0, rest kept" "$SAN --table $WORK/rmrr0.aml" "^DRHD @0x48 seg 0 all 1 base 0xfed91000"
patch "$IVRS" "$WORK/ivrs-len.aml" 0x32 ff7f       # IVHD length past the table
expect_line "bad: IVHD length" "$SAN --table $WORK/ivrs-len.aml" "ivrs-len.aml: IVRS: block.length at 0x32: past the end"
patch "$MADT" "$WORK/madt-entry.aml" 0x2d 00       # first entry length 0
expect_line "bad: MADT entry length" "$SAN --table $WORK/madt-entry.aml" "madt-entry.aml: MADT: MADT entry length"
printf 'XXXX' > "$WORK/tiny.aml"
expect_line "bad: 4-byte file" "$SAN --table $WORK/tiny.aml" "tiny.aml: header: 4 bytes"

# ---- 3. --root trees ----
# tree NAME — a saved tree: ACPI tables, EFI with Secure Boot off, a cpuinfo.
tree() {
  local t=$WORK/$1
  mkdir -p "$t/sys/firmware/acpi/tables" "$t/sys/firmware/efi/efivars" "$t/proc"
  printf '\x06\x00\x00\x00\x00' > "$t/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
  printf 'vendor_id\t: GenuineIntel\nflags\t\t: fpu vme pse msr pae vmx ept pdpe1gb\n' > "$t/proc/cpuinfo"
  cp "$MADT" "$t/sys/firmware/acpi/tables/APIC"
  cp "$FIX/mcfg/00a39de4420d1123.aml" "$t/sys/firmware/acpi/tables/MCFG"
  cp "$FIX/facp/0018430ebabd46a5.aml" "$t/sys/firmware/acpi/tables/FACP"
  echo "$t"
}

# msrs DIR INDEX=VALUE... — a sparse dev/cpu/0/msr (the msr driver's file:
# the offset is the MSR index).
msrs() {
  local d=$1; shift
  mkdir -p "$d/dev/cpu/0"
  python3 -c '
import struct, sys
with open(sys.argv[1], "wb") as f:
    for kv in sys.argv[2:]:
        k, v = (int(x, 0) for x in kv.split("="))
        f.seek(k); f.write(struct.pack("<Q", v))
' "$d/dev/cpu/0/msr" "$@"
}
T=$(tree intel)
# IA32_FEATURE_CONTROL locked with VMXON outside SMX; secondary controls
# with EPT (bit 33), VPID (37), unrestricted guest (39) allowed.
msrs "$T" 0x3a=5 0x482=0x8000000000000000 0x48b=0x000000a200000000
cp "$WORK/rmrr0.aml" "$T/sys/firmware/acpi/tables/DMAR"
"$SAN" --root "$T" > "$WORK/intel.out" 2>&1; rc=$?
[ $rc -le 1 ] && pass "root intel: runs (exit $rc)" || fail "root intel: runs" "exit $rc"
expect_log "root intel: firmware line" "$WORK/intel.out" "^minihv: firmware: UEFI boot, Secure Boot off$"
expect_log "root intel: acpi line" "$WORK/intel.out" \
  "^minihv: acpi: MADT present \([0-9]+ CPUs\), MCFG 1 segment\(s\), DMAR present, IVRS absent$"
expect_log "root intel: MCFG line" "$WORK/intel.out" "^minihv: acpi:   MCFG segment 0 buses 00-[0-9a-f]{2} ECAM at 0x[0-9a-f]+$"
expect_log "root intel: cpus line" "$WORK/intel.out" "^minihv: cpus: MADT revision [0-9]+ lists [0-9]+ present or online-capable, [0-9]+ not present$"
expect_log "root intel: RMRR warning" "$WORK/intel.out" "DMAR warning: RMRR.limit at 0x78: base 0 and limit 0: RMRR skipped"
expect_log "root intel: IOMMU verdict" "$WORK/intel.out" "✓  IOMMU \(VT-d\) +2 unit\(s\), 1 RMRR\(s\) \(firmware bugs skipped"
expect_log "root intel: VT-x verdict" "$WORK/intel.out" "✓  CPU virtualization +VT-x with EPT and unrestricted guest, VPID"
expect_log "root intel: the loader's VMX line" "$WORK/intel.out" \
  "^minihv: cpus: GenuineIntel with VMX: EPT yes, unrestricted guest yes, VPID yes$"
expect_log "root intel: cfg" "$WORK/intel.out" "^  iommu = auto$"
"$SAN" --root "$T" --json > "$WORK/intel.json"
expect "root intel: --json parses" python3 -c "import json,sys; d=json.load(open('$WORK/intel.json')); assert d['iommu']=='auto' and 'RMRR skipped' in d['notes'][0]"

# The VT-d provider's own probe on the units' registers (a sparse dev/mem
# with CAP/ECAP at each DRHD base, as /dev/mem gives them on a real
# machine): a Skylake-like CAP is accepted; without 2 MiB pages (SLLPS bit
# 0) or with a 36-bit MGAW under 128 GiB of memory, refused by field.
devmem_vtd() { # TREE DMAR CAP ECAP
  python3 -c '
import struct, sys
t, cap, ecap = open(sys.argv[2], "rb").read(), int(sys.argv[3], 0), int(sys.argv[4], 0)
o, end = 48, 0
with open(sys.argv[1], "wb") as f:
    while o + 4 <= len(t):
        typ, ln = struct.unpack_from("<HH", t, o)
        if ln < 4: break
        if typ == 0:
            base = struct.unpack_from("<Q", t, o + 8)[0]
            f.seek(base + 8); f.write(struct.pack("<QQ", cap, ecap))
            end = max(end, base + 4096)
        o += ln
    f.truncate(end)
' "$1/dev/mem" "$2" "$3" "$4"
}
mkdir -p "$T/sys/firmware/memmap/0" "$T/dev"
printf '0x0\n' > "$T/sys/firmware/memmap/0/start"
printf '0x27fffffff\n' > "$T/sys/firmware/memmap/0/end"
printf 'System RAM\n' > "$T/sys/firmware/memmap/0/type"
devmem_vtd "$T" "$WORK/rmrr0.aml" 0x00d2008c40660462 0xf050da
"$SAN" --root "$T" > "$WORK/vtd-probe.out" 2>&1
expect_log "root intel: the VT-d provider's probe accepts the units" "$WORK/vtd-probe.out" \
  "✓  IOMMU provider \(VT-d\) +the core's vtd provider accepts the units"
expect_log "root intel: each unit's CAP/ECAP line" "$WORK/vtd-probe.out" \
  "^minihv: iommu:   DRHD registers at 0x[0-9a-f]+: CAP 0xd2008c40660462 ECAP 0xf050da$"
devmem_vtd "$T" "$WORK/rmrr0.aml" 0x00d2008040660462 0xf050da
"$SAN" --root "$T" > "$WORK/vtd-nolp.out" 2>&1
expect_log "root intel: no 2 MiB pages: refused by field" "$WORK/vtd-nolp.out" \
  "✗  IOMMU provider \(VT-d\) +CAP.SLLPS at 0x8: no 2 MiB pages"
printf '0x1fffffffff\n' > "$T/sys/firmware/memmap/0/end"
devmem_vtd "$T" "$WORK/rmrr0.aml" 0x00d2008c40630462 0xf050da
"$SAN" --root "$T" > "$WORK/vtd-mgaw.out" 2>&1
expect_log "root intel: 36-bit MGAW under 128 GiB: refused by field" "$WORK/vtd-mgaw.out" \
  "✗  IOMMU provider \(VT-d\) +CAP.MGAW at 0x8: the units cannot address all of memory"
rm -f "$T/dev/mem"
"$SAN" --root "$T" > "$WORK/vtd-nomem.out" 2>&1
expect_log "root intel: registers unreadable: unknown, says why" "$WORK/vtd-nomem.out" \
  "\?  IOMMU provider \(VT-d\) +the registers are not readable through /dev/mem"
rm -rf "$T/sys/firmware/memmap" "$T/dev"

# --collect on a tree, replayed: the same output.
mkdir -p "$T/sys/bus/pci/devices/0000:00:1f.0"
python3 -c "
import struct
c = bytearray(256); c[0:4] = struct.pack('<HH', 0x8086, 0x51c8); c[0x0b] = 4; c[0x0a] = 3
c[0x06] = 0x10; c[0x34] = 0x50; c[0x50] = 0x11; c[0x52] = 0x07       # MSI-X, 8 entries
c[0x54:0x58] = struct.pack('<I', 0x2000 | 4); c[0x58:0x5c] = struct.pack('<I', 0x3000 | 4)
c[0x10:0x14] = struct.pack('<I', 0x00100004); c[0x14:0x18] = struct.pack('<I', 0x60)
c[0x20:0x24] = struct.pack('<I', 0x1100000c)
open('$T/sys/bus/pci/devices/0000:00:1f.0/config', 'wb').write(bytes(c))
"
printf '0x0000006000100000 0x0000006000103fff 0x0000000000140204\n0x0 0x0 0x0\n0x0 0x0 0x0\n0x0 0x0 0x0\n0x0000000011000000 0x00000000110fffff 0x000000000014220c\n0x0 0x0 0x0\n0x0 0x0 0x0\n' \
  > "$T/sys/bus/pci/devices/0000:00:1f.0/resource"
"$SAN" --root "$T" --candidate 00:1f.0 > "$WORK/pci.out" 2>&1
expect_log "root pci: device line" "$WORK/pci.out" "^minihv: pci: 00:1f.0 8086:51c8 class 040300 \(.*\)  <== passthrough$"
expect_log "root pci: 64-bit BAR sized" "$WORK/pci.out" "^minihv: pci:     BAR0 mem at 0x6000100000 size 0x4000 64-bit$"
expect_log "root pci: prefetchable BAR" "$WORK/pci.out" "^minihv: pci:     BAR4 mem at 0x11000000 size 0x100000 64-bit prefetchable$"
expect_log "root pci: MSI-X line" "$WORK/pci.out" "^minihv: pci:     MSI-X at 0x50: 8 entries, table BAR4\+0x2000, PBA BAR4\+0x3000$"
expect_log "root pci: cfg" "$WORK/pci.out" "^  passthrough = 00:1f.0$"
"$SAN" --root "$T" --collect "$WORK/intel.tar" > /dev/null 2>&1
mkdir -p "$WORK/replay" && tar xf "$WORK/intel.tar" -C "$WORK/replay"
"$SAN" --root "$WORK/replay" --candidate 00:1f.0 2>&1 | sed "s|$WORK/replay|$T|" > "$WORK/replay.out"
expect "root: --collect replays the same" cmp "$WORK/pci.out" "$WORK/replay.out"
# The candidate through the core's model: BAR4 holds the MSI-X table and
# PBA; its region is sparse around the table's page only (vfio-pci maps the PBA).
expect_log "root pci: the core's region line for the MSI-X BAR" "$WORK/pci.out" \
  "^minihv: passthrough: region 4: BAR4 1 MiB RW mmap sparse \[0x0,0x2000\) \[0x3000,0x100000\)$"
expect_log "root pci: the core's ready line" "$WORK/pci.out" \
  "^minihv: passthrough: 00:1f.0 8086:51c8 ready: config via CF8/CFC and ECAM, 9 vfio regions$"
expect_log "root pci: no ROM" "$WORK/pci.out" "^minihv: passthrough: ROM none \(sysfs rom: none or unreadable\)$"
# The ROM BAR's image (sysfs rom): a real one is picked as the loader
# would; one with a lying image length is refused by field.
cp "${PT_E1000E_ROM:-/usr/lib/ipxe/qemu/efi-e1000e.rom}" "$T/sys/bus/pci/devices/0000:00:1f.0/rom"
"$SAN" --root "$T" --candidate 00:1f.0 > "$WORK/rom.out" 2>&1
expect_log "root pci: ROM picked as the loader does" "$WORK/rom.out" \
  "^minihv: passthrough: ROM [0-9]+ bytes from sysfs rom \(PciIo at boot\) \(.*\), region [0-9]+ KiB$"
python3 -c "
b = bytearray(open('$T/sys/bus/pci/devices/0000:00:1f.0/rom', 'rb').read()); b[2] = 0xff
open('$T/sys/bus/pci/devices/0000:00:1f.0/rom', 'wb').write(bytes(b))"
"$SAN" --root "$T" --candidate 00:1f.0 > "$WORK/rom-bad.out" 2>&1
expect_log "root pci: a lying ROM refused by field" "$WORK/rom-bad.out" "ROM from sysfs rom rejected: [a-z_.]+ at 0x[0-9a-f]+: "
rm -f "$T/sys/bus/pci/devices/0000:00:1f.0/rom"

# An IGD: 8086:9a49 (Tiger Lake) with GGC/BDSM/ASLS, its OpRegion 2.0 in
# i915's debugfs, a real VBT (tests/fixtures/vbt) in mailbox 4.
T=$(tree igd)
mkdir -p "$T/sys/bus/pci/devices/0000:00:02.0" "$T/sys/kernel/debug/dri/0"
python3 -c "
import struct
c = bytearray(256); c[0:4] = struct.pack('<HH', 0x8086, 0x9a49); c[0x0a] = 0; c[0x0b] = 3
c[0x10:0x14] = struct.pack('<I', 0x00000004); c[0x14:0x18] = struct.pack('<I', 0x60)
c[0x50:0x52] = struct.pack('<H', 0x01c0)                     # GGC: GMS 1 (32 MiB), GGMS 8 MiB
c[0xc0:0xc4] = struct.pack('<I', 0x7c000001)                 # BDSM (gen 11+ at 0xC0), locked
c[0x5c:0x60] = struct.pack('<I', 0x7c000001)
c[0xfc:0x100] = struct.pack('<I', 0x7b0fe018)                # ASLS
open('$T/sys/bus/pci/devices/0000:00:02.0/config', 'wb').write(bytes(c))
o = bytearray(0x2000); o[0:16] = b'IntelGraphicsMem'; o[0x10:0x14] = struct.pack('<I', 8)
o[0x16] = 0; o[0x17] = 2; o[0x58:0x5c] = struct.pack('<I', 7)
v = open('tests/fixtures/vbt/lenovo_t400_r500.vbt', 'rb').read(); o[0x400:0x400 + len(v)] = v
open('$T/sys/kernel/debug/dri/0/i915_opregion', 'wb').write(bytes(o))
"
printf '0x0000006000000000 0x0000006000ffffff 0x140204\n' > "$T/sys/bus/pci/devices/0000:00:02.0/resource"
"$SAN" --root "$T" --candidate igd > "$WORK/igd.out" 2>&1
expect_log "root igd: passthrough marker" "$WORK/igd.out" "^minihv: pci: 00:02.0 8086:9a49 class 030000 \(VGA\)  <== passthrough$"
expect_log "root igd: stolen memory" "$WORK/igd.out" "^minihv: igd: TGL \(gen 12\), stolen memory [0-9]+ MiB at 0x7c000000$"
expect_log "root igd: the loader's OpRegion line" "$WORK/igd.out" \
  "^minihv: passthrough: host OpRegion 2.0 at ASLS 0x7b0fe018: 8 KiB, mailboxes 0x7, VBT [0-9]+ bytes in mailbox 4$"
expect_log "root igd: VBT parsed" "$WORK/igd.out" "^minihv: igd: VBT version [0-9]+, BDB version [0-9]+, [0-9]+ child devices"
expect_log "root igd: OpRegion verdict" "$WORK/igd.out" "✓  IGD OpRegion +OpRegion 2.0, mailbox 4 VBT [0-9]+ bytes: passed to the guest as is"
# Gen 12: BAR0's page with the MCHBAR mirror's GFXVTBAR/VTDPVC0BAR
# (+0x145400) is not an mmap area (the core maps it read-only, judges writes).
expect_log "root igd: BAR0 leaves out the MCHBAR mirror's VT-d page" "$WORK/igd.out" \
  "^minihv: passthrough: region 0: BAR0 16 MiB RW mmap sparse \[0x0,0x145000\) \[0x146000,0x1000000\)$"
expect_log "root igd: the mirror's registers judged" "$WORK/igd.out" \
  "passthrough: IGD BAR0 \[0x145400,0x145418\) MCHBAR mirror: GFXVTBAR, VTDPVC0BAR: its page read-only, writes there dropped$"
python3 -c "
o = bytearray(open('$T/sys/kernel/debug/dri/0/i915_opregion', 'rb').read()); o[0x10] = 0xff; o[0x11] = 0xff
open('$T/sys/kernel/debug/dri/0/i915_opregion', 'wb').write(bytes(o))"
"$SAN" --root "$T" --candidate igd > "$WORK/igd-bad.out" 2>&1
expect_log "root igd: lying OpRegion size named" "$WORK/igd-bad.out" "OpRegion \(debugfs i915_opregion\): size at 0x10"

T=$(tree vmx-off)
msrs "$T" 0x3a=1 0x482=0x8000000000000000 0x48b=0x000000a200000000   # locked, VMX off
"$SAN" --root "$T" > "$WORK/vmx-off.out" 2>&1
expect_log "root vmx-off: verdict names the fix" "$WORK/vmx-off.out" \
  "✗  CPU virtualization +VMX disabled and locked by the firmware \(IA32_FEATURE_CONTROL\): enable VT-x"
T=$(tree no-msr)
"$SAN" --root "$T" > "$WORK/no-msr.out" 2>&1
expect_log "root no-msr: VT-x unknown without the msr driver" "$WORK/no-msr.out" "\?  CPU virtualization +VT-x listed by CPUID.*modprobe msr"

T=$(tree amd)
printf '\x06\x00\x00\x00\x01' > "$T/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
printf 'vendor_id\t: AuthenticAMD\nflags\t\t: fpu svm npt nrip_save\n' > "$T/proc/cpuinfo"
# The first IVMD's length 0x26000 -> 1: Linux page-aligns it.
IVMD=$FIX/ivrs/81dacd4974479220.aml
off=$(python3 -c "
b=open('$IVMD','rb').read(); o=48
while o < len(b) and b[o] not in (0x20,0x21,0x22): o += int.from_bytes(b[o+2:o+4],'little')
print(o)")
patch "$IVMD" "$T/sys/firmware/acpi/tables/IVRS" $((off + 24)) 0100000000000000
"$SAN" --root "$T" > "$WORK/amd.out" 2>&1; rc=$?
[ $rc -le 1 ] && pass "root amd: runs (exit $rc)" || fail "root amd: runs" "exit $rc"
expect_log "root amd: Secure Boot verdict" "$WORK/amd.out" "✗  Secure Boot +Secure Boot on: minihv is unsigned"
expect_log "root amd: SVM line" "$WORK/amd.out" "^minihv: cpus: AuthenticAMD with SVM: NPT yes, next-RIP save yes$"
expect_log "root amd: IVMD warning" "$WORK/amd.out" \
  "IVRS warning: IVMD.memory_block_length at 0x$(printf %x $((off + 24))): not a multiple of 4 KiB: rounded up"
expect_log "root amd: provider probe needs the top of memory" "$WORK/amd.out" \
  "\?  IOMMU provider \(AMD-Vi\) +no /sys/firmware/memmap: the top of memory is unknown"
expect_log "root amd: IVHD line" "$WORK/amd.out" "^minihv: iommu:   IVHD 0 type [0-9a-f]{2}h device [0-9a-f]{4} segment 0 registers at 0x"

T=$(tree broken)
head -c 50 "$MADT" > "$T/sys/firmware/acpi/tables/APIC"
printf 'XX' > "$T/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
rm "$T/proc/cpuinfo"
"$SAN" --root "$T" > "$WORK/broken.out" 2>&1; rc=$?
[ $rc -le 1 ] && pass "root broken: runs (exit $rc)" || fail "root broken: runs" "exit $rc"
expect_log "root broken: MADT named" "$WORK/broken.out" "tables/APIC: length: [0-9]+ but the file has 50 bytes"
expect_log "root broken: SecureBoot named" "$WORK/broken.out" "SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c: value: 2 bytes"
expect_log "root broken: CPU unknown" "$WORK/broken.out" "\?  CPU virtualization"
expect_log "root broken: no DMAR or IVRS" "$WORK/broken.out" "✗  IOMMU +no DMAR or IVRS"

# ---- 4. in a Linux guest under minihv ----
if [ "${PREFLIGHT_QEMU:-1}" = 1 ]; then
  . tests/emu/lib.sh
  name=preflight-linux
  dir=$EMU_ROOT/$name
  mkdir -p "$dir" "$WORK/overlay"
  cp tests/emu/preflight-init "$WORK/overlay/init"
  chmod +x "$WORK/overlay/init"
  truncate -s 8M "$dir/disk.img"
  # The NVMe is passed through: preflight's --candidate model (the core's
  # hv/passthrough.c on the config the guest reads) must print the core's
  # own start-up lines for it.
  make_esp "$dir/esp" "$(printf 'serial = 0x2f8\npassthrough = 00:05.0\nguest = \\EFI\\minihv\\guest.efi\nguest_args = initrd=\\EFI\\minihv\\initrd.img console=ttyS0 quiet preflight.candidate=00:05.0')" \
    "${BUILD:-build}/linux/vmlinuz.efi"
  # A second cpio archive: its /init replaces the first's.
  { cat "${BUILD:-build}/linux/initrd.img"; (cd "$WORK/overlay" && echo init | cpio -o -H newc --quiet | gzip -9); } \
    > "$dir/esp/EFI/minihv/initrd.img"
  boot "$name" qemu 2 --timeout "${LINUX_TIMEOUT:-300}" --done 'minihv: hv: summary: end' \
    -- -drive "file=$dir/disk.img,if=none,id=nvm,format=raw" -device "nvme,serial=minihv0,drive=nvm,addr=0x5"
  clean_log "$dir/com1.log" > "$dir/guest.txt"
  clean_log "$dir/com2.log" > "$dir/minihv.txt"
  # The lines both print: ACPI (MADT, MCFG), the MADT's CPUs, every PCI
  # function but ROM lines (Linux places ROM BARs the firmware left off).
  pick() { grep -E '^minihv: (acpi: MADT|acpi:   MCFG|cpus: MADT revision|pci: )' | grep -v 'pci:     ROM '; }
  sed -n 's/^linux-preflight: //p' "$dir/guest.txt" | pick > "$dir/preflight.lines"
  pick < "$dir/minihv.txt" > "$dir/loader.lines"
  n=$(wc -l < "$dir/loader.lines")
  if [ "$n" -gt 5 ] && diff -u "$dir/loader.lines" "$dir/preflight.lines" > "$dir/lines.diff"; then
    pass "$name: preflight's $n lines equal the loader's (ACPI, CPUs, PCI BARs, caps, MSI-X)"
  else
    fail "$name: preflight's lines vs the loader's" "$n loader lines; diff in $dir/lines.diff"
    head -20 "$dir/lines.diff"
  fi
  # The candidate through the core's model in the guest vs the core's own
  # lines at start (BAR windows, vfio regions with sparse areas, MSI-X).
  ptpick() { grep -E '^minihv: (hv: )?passthrough: (BAR[0-9]|region |MSI-X |[0-9a-f]{2}:[0-9a-f]{2}\.[0-7] [0-9a-f]{4}:[0-9a-f]{4} ready)' | sed 's/^minihv: hv: /minihv: /'; }
  sed -n 's/^linux-preflight: //p' "$dir/guest.txt" | ptpick > "$dir/preflight-pt.lines"
  ptpick < "$dir/minihv.txt" > "$dir/core-pt.lines"
  n=$(grep -c 'region ' "$dir/core-pt.lines")
  if [ "$n" -ge 2 ] && diff -u "$dir/core-pt.lines" "$dir/preflight-pt.lines" > "$dir/pt.diff"; then
    pass "$name: preflight's candidate model equals the core's passthrough lines ($n vfio regions)"
  else
    fail "$name: preflight's candidate model vs the core's lines" "$n core region lines; diff in $dir/pt.diff"
    head -20 "$dir/pt.diff"
  fi
  expect_log "$name: guest verdict: the candidate through the model" "$dir/guest.txt" \
    '^linux-preflight:   ✓  passthrough +00:05\.0 [0-9a-f]{4}:[0-9a-f]{4} \(.*\), MSI-X, [0-9]+ vfio regions'
  expect_log "$name: the NVMe's MSI-X line in the guest" "$dir/preflight.lines" \
    '^minihv: pci:     MSI-X at 0x[0-9a-f]+: [0-9]+ entries, table BAR0\+0x[0-9a-f]+, PBA BAR0\+0x[0-9a-f]+$'
  expect_log "$name: guest verdict: UEFI" "$dir/guest.txt" '^linux-preflight:   ✓  UEFI boot'
  expect_log "$name: guest verdict: no VMX/SVM under minihv (CPUID hides them)" "$dir/guest.txt" \
    '^linux-preflight:   ✗  CPU virtualization'
  # The tree the guest collected, replayed here.
  sed -n 's/^linux-preflight-b64: //p' "$dir/guest.txt" | base64 -d > "$dir/tree.tar" 2>/dev/null
  rm -rf "$dir/tree" && mkdir -p "$dir/tree"
  if tar xf "$dir/tree.tar" -C "$dir/tree" 2>/dev/null; then
    "$SAN" --root "$dir/tree" --candidate 00:05.0 > "$dir/replay.out" 2>&1
    pick < "$dir/replay.out" > "$dir/replay.lines"
    expect "$name: the collected tree replays the loader's lines (--root)" cmp "$dir/loader.lines" "$dir/replay.lines"
  else
    fail "$name: collected tree" "no tarball between the markers in $dir/guest.txt"
  fi
fi

summary preflight
