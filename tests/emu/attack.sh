#!/usr/bin/env bash
# check-attack (issue 14): the attack guest (tests/guests/attack*.c) as
# minihv's guest tries, from CPL 0, the paths into the core that
# docs/security.md lists, and checks each attempt is refused and the core
# intact afterwards (block digest unchanged, every CPU answers a hypercall,
# edu DMA into the block still blocked where there is an edu). This script
# adds what only the core's log shows: no FATAL, no parked CPU, the
# summary's refused count (msi-delivery), the machine reset (triple-fault).
#
# Boots (each a QEMU q35 TCG -cpu max = SVM + NPT, or Bochs = VMX + EPT):
#   q-vtd-edu    intel-iommu + edu passed through: iommu-regs, iommu-dma and
#                ecam-dma (edu DMA to GCMD, to a guarded config dword), ioapic-dma,
#                msi-dma (edu's MSI writes: NMI, fixed, ExtINT), log-dma,
#                hpet-split (unaligned writes across Tn_CONFIG and
#                Tn_FSB_INT_ROUTE: hpet-fsb, the first line a split's),
#                smm-open (SMIs with a stub at the default SMBASE's entry
#                0x38000: the test OVMF leaves SMM open, the loader took
#                the range); when named: msi-dma-init (QEMU TCG resets a
#                CPU at any physical INIT, even in host mode)
#   q-amdvi-edu  amd-iommu + edu passed through: iommu-regs, iommu-dma, ecam-dma, ioapic-dma,
#                msi-dma, log-dma, smm-open
#   q-nvme       intel-iommu + NVMe passed through: hc-buffer-mmio,
#                msix-left (MSI-X entry 0 unmasked by the shell before
#                minihv: masked at init, PT_MSIX_CHECK finds none unmasked
#                after the guest's MSI-X Enable), msi-delivery, bar-placement, ecam-move, bar-above-top,
#                pmbase-move (ICH9 PMBASE and ACPI_EN by CF8/CFC and ECAM,
#                then S3 at the moved PM1_CNT: pm-relocate), db-intercept
#                (the guest's #DBs each exit to the core: CVE-2015-8104),
#                mmio-fetch, mmio-insn (also the IOMMU's page and the
#                MSI-X table's: a fetch #UD, stores to its last entry #GP);
#                an edu (not passed through) for the final check: its DMA
#                into the block still blocked
#   q-subpage    intel-iommu + QEMU's pci-ohci (a 256-byte BAR) behind a
#                PCIe root port passed through (QEMU's DMAR names the root
#                port in a bridge scope, no INCLUDE_PCI_ALL): subpage-bar,
#                bridge-renumber (the root port); an edu for the final check;
#                sleep-mmio (S3 at SLEEP_CONTROL_REG and X_PM1b_CNT_BLK, which
#                the fadtmem.efi pre-step puts in a Reserved page)
#   q-cpu        -smp 2: msr-sweep, apic-base, init-logical, movss-tf,
#                native-ports (the ports docs/security.md calls native: 0 I/O exits),
#                judged-cross (8 bytes across the HPET page's end: mmio-bounds),
#                xsetbv-17-18, unmapped-gpa, sleep-s3 (S3 through PM1a_CNT:
#                a write that reaches QEMU suspends the VM), apic-insn,
#                apic-8byte, ioapic-rte (I/O APIC entries with INIT/SMI:
#                ioapic-delivery, no physical-init), fch-pm (AMD FCH PM
#                index/data writes to the ACPI block's registers: fch-pm 4),
#                mtrr-block (the block made WC/WT by the MTRRs: #GP),
#                icr-smi, msi-window (an SMI by the ICR and by a CPU write
#                at 0xFEE01000: icr-delivery, msi-window), mmio-fetch (a
#                jump to the hole, the block, 0xFEE01000: #UD there),
#                mmio-insn (string and SSE stores on the I/O APIC and HPET
#                pages: #GP(0)), hpet-hptc (an FSB address into the block on
#                the 3 other pages Intel's HPTC can move the HPET to: hpet-fsb)
#   q-cfgguard   `config_guard = on`, no passthrough device: pmbase-move,
#                ecam-move (the same guards as q-nvme's, by CF8/CFC and
#                ECAM; a boot of its own: config_guard = on changes what
#                every other boot measures)
#   q-piix4-cfgguard  the same on QEMU -machine pc (PIIX4, no MCFG: all of
#                0xcf8-0xcff trapped): pmbase-move, cf8-ext (PMBA by CF8
#                with bits 27:24 set; review R3, finding 1)
#   q-noap       ap-not-entered: a test build (HV_TEST_HOOKS=1, $BUILD-testhooks)
#                whose loader leaves cpu 1 unstarted (test_skip_ap = 1)
#   q-triple     triple-fault (the machine must reset: QEMU -no-reboot exits)
#   q-event      event-delivery (IDT in the core's block, INT3: #GP -> #DF
#                -> shutdown, the machine must reset as in q-triple)
#   b-event      Bochs: event-delivery on VMX (the core's summary ends it)
#   b-vmx        Bochs Skylake-X -smp 2: the CPU attacks on the BSP, on VMX
#                (db-intercept and native-ports too)
#                (x2apic-icr-reserved only here: QEMU TCG has no x2APIC);
#                ioapic-rte (an I/O APIC INIT to cpu1 stays refused: the
#                AP is not woken for it); task-switch (a JMP to a TSS, INT n and #UD through
#                a task gate, IRET with NT in 32-bit legacy mode: #GP(0x20),
#                #GP(0x20), #GP(0x21), #GP(0x28); SVM does not intercept them);
#                mmio-fetch, mmio-insn (the I/O APIC only: Bochs' HPET has
#                no ACPI table, so its page is not trapped);
#                smm-open on the i440FX (SMRAM 0x72 open: the loader takes the
#                default SMRAM; the SMI by PIIX4 APM_CNT, counted by MSR_SMI_COUNT)
#
# ATTACKS_IN_CHECK (below, the one place) lists the attacks `make check`
# runs: those the core already refuses. Environment:
#   ATTACK_ALL=1        every attack, whether in the list or not
#   ATTACK_NAMES="a b"  only these attacks (in the boots made for them)
#   ATTACK_ONLY=REGEX   only the boots whose name matches
#   ATTACK_SPLIT=1      each attack in a boot of its own (a failing attack
#                       that parks a CPU then hides no other)
#   ATTACK_PIIX4=1      also the b-piix4 boot (Bochs, pcivga passed through:
#                       pmbase-move on the PIIX4; ~75 s, not in make check)
#                       and b-piix4-cfgguard (the same, no passthrough
#                       device, config_guard = on: CF8-CFF all trapped)
# Prints per attack "PASS boot: name (detail)" / "FAIL boot: name: why" and
# ends with "attack: N passed, N failed".
set -u
. scripts/lib/result.sh
. tests/emu/lib.sh

# The attacks `make check` runs. Move an attack in here once its fix has
# landed (and its boot shows it passing). Since b54a444 every attack is
# in; an attack that regresses stays here and fails make check.
ATTACKS_IN_CHECK="hc-buffer-mmio iommu-regs msix-left msi-delivery bar-placement ecam-move bar-above-top bridge-renumber subpage-bar msr-sweep apic-base init-logical movss-tf xsetbv-17-18 cr0-pg64 unmapped-gpa x2apic-icr-reserved sleep-s3 sleep-mmio core-uart icr-alias triple-fault apic-insn apic-8byte event-delivery ioapic-rte ap-not-entered task-switch a20 ioapic-dma lvt-delivery lvt-x2apic mtrr-block icr-smi msi-window pmbase-move cf8-ext fch-pm msi-dma log-dma smm-open db-intercept iommu-dma ecam-dma native-ports hpet-fsb fwcfg-dma hpet-dma judged-cross mmio-fetch mmio-insn hpet-split hpet-hptc pae-native pae-pdpte pae-rsvd cf8-split"

GUEST=${BUILD:-build}/attack.efi
EDU='edu,addr=0x5,dma_mask=0xffffffffffffffff'

want_boot() { [[ $1 =~ ${ATTACK_ONLY:-.} ]]; }

# selected "a b c" — the attacks of a boot that run now.
selected() {
  local a out=
  for a in $1; do
    if [ -n "${ATTACK_NAMES:-}" ]; then
      [[ " $ATTACK_NAMES " == *" $a "* ]] && out="$out $a"
    elif [ "${ATTACK_ALL:-0}" = 1 ] || [[ " $ATTACKS_IN_CHECK " == *" $a "* ]]; then
      out="$out $a"
    fi
  done
  echo $out
}

# run_boot NAME EMU SMP "ATTACKS" PASSTHROUGH BDF [emu.sh args...]
run_boot() {
  local name=$1 emu=$2 smp=$3 attacks=$4 pt=$5 bdf=$6; shift 6
  want_boot "$name" || return 0
  local sel
  sel=$(selected "$attacks")
  [ -n "$sel" ] || { echo "  ($name: no attack of this boot is in ATTACKS_IN_CHECK; ATTACK_ALL=1 runs them)"; return 0; }
  if [ "${ATTACK_SPLIT:-0}" = 1 ] && [ "$(echo $sel | wc -w)" -gt 1 ]; then
    local a
    for a in $sel; do
      ATTACK_SPLIT=0 ATTACK_NAMES="$a" run_boot "$name-$a" "$emu" "$smp" "$a" "$pt" "$bdf" "$@"
    done
    return 0
  fi
  local dir=$EMU_ROOT/attack/$name args nl=$'\n'
  args="only=$(echo $sel | tr ' ' ',')${bdf:+ bdf=$bdf} uart=0x2f8${ATK_ARGS_EXTRA:+ $ATK_ARGS_EXTRA}"
  ESP_PRESTEP=${ATK_PRESTEP:-} BUILD=${ATK_MINIHV_BUILD:-${BUILD:-build}} make_esp "$dir/esp" "$(printf 'serial = 0x2f8\npassthrough = %s\nguest = \\EFI\\minihv\\guest.efi\nguest_args = %s%s' "$pt" "$args" "${ATK_CFG_EXTRA:+$nl$ATK_CFG_EXTRA}")" "$GUEST"
  local done_re='minihv: hv: summary: end|minihv: hv: cpu 0 parked'
  [ "$emu" = bochs ] && done_re="$done_re|minihv-test: done"
  case $sel in triple-fault|event-delivery) done_re='minihv: hv: cpu [0-9]+ parked|attack: FAIL' ;; esac
  # Bochs does not exit on the reset: the core's summary ends the boot.
  case $emu:$sel in bochs:triple-fault|bochs:event-delivery) done_re="$done_re|minihv: hv: summary: end" ;; esac
  rm -f "$dir/esp.img.lock"
  bash scripts/emu.sh --emu "$emu" --esp "$dir/esp" --out "$dir" --smp "$smp" --done "$done_re" "$@" | sed 's/^/  /'
  check_boot "$name" "$dir" "$sel" "$emu"
}

# check_boot NAME DIR "ATTACKS" EMU
check_boot() {
  local name=$1 dir=$2 sel=$3 emu=$4
  local fw=$dir/firmware.txt hv=$dir/minihv.txt result a line
  clean_log "$dir/com1.log" > "$fw"
  clean_log "$dir/com2.log" > "$hv"
  result=$(cat "$dir/result" 2>/dev/null || echo none)
  grep -a '^attack: ' "$fw" | sed 's/^/  | /'
  local fatal
  fatal=$(grep -Eam1 '^minihv: hv: (FATAL.*|cpu [0-9]+ parked)' "$hv")
  local stopped="the guest stopped before it"
  [ -n "$fatal" ] && stopped="$stopped; core: $fatal ($(grep -Eam1 -A1 '^minihv: hv: FATAL' "$hv" | tail -1 | sed 's/^minihv: hv: *//'))"
  if [ "$sel" = triple-fault ] || [ "$sel" = event-delivery ]; then
    # Both end the boot: INT3 with no usable IDT (empty; in the core's
    # block) is #GP -> #DF -> shutdown, and the core resets the machine.
    if ! grep -aq "^attack: $sel: .*INT3 now" "$fw"; then
      fail "$name: $sel" "the guest never got to it ($result); ${fatal:-no FATAL}"
    elif [ -n "$fatal" ]; then
      fail "$name: $sel" "the core did not reset the machine: $fatal ($(grep -Eam1 -A1 '^minihv: hv: FATAL' "$hv" | tail -1 | sed 's/^minihv: hv: *//'))"
    elif [ "$result" = exited ] || grep -Eaq '^minihv: hv: summary: .*(reset|triple|shutdown)' "$hv"; then
      pass "$name: $sel (the machine reset: $( [ "$result" = exited ] && echo "QEMU -no-reboot exited" || echo "summary printed"); $(grep -Eam1 '^minihv: hv: summary: cpu [0-9]+: ' "$hv" | sed 's/^minihv: hv: summary: //'))"
    else
      fail "$name: $sel" "no reset seen ($result after the INT3; no FATAL either)"
    fi
    return
  fi
  for a in $sel; do
    line=$(grep -Eam1 "^attack: (PASS|FAIL|SKIP) $a( |:|\$)" "$fw")
    case $line in
      "attack: PASS $a"*) pass "$name: ${line#attack: PASS }" ;;
      "attack: FAIL $a"*) fail "$name: $a" "${line#attack: FAIL $a: }" ;;
      "attack: SKIP $a"*) fail "$name: $a" "skipped in a boot made for it: ${line#attack: SKIP $a: }" ;;
      *) fail "$name: $a" "no result line: $stopped ($result)" ;;
    esac
  done
  line=$(grep -Eam1 '^attack: (PASS|FAIL) intact' "$fw")
  case $line in
    "attack: PASS intact"*) pass "$name: ${line#attack: PASS }" ;;
    "attack: FAIL intact"*) fail "$name: intact" "${line#attack: FAIL intact: }" ;;
    *) fail "$name: intact" "no intact line: $stopped ($result)" ;;
  esac
  if [ -n "$fatal" ]; then
    fail "$name: no FATAL, no parked CPU" "$fatal"
  else
    pass "$name: no FATAL, no parked CPU in the core's log"
  fi
  # Attacks whose refusal only the core's count shows (the guest cannot
  # see it when the canary page is the core's, or counts no more than
  # "refused"): the summary's refused count, one row each,
  # attack:kind:want (">=N" at least, "=N" exactly). sleep-s3: the word,
  # byte and dword S3 writes; fch-pm: the 4 writes at the ACPI block's
  # indices, PMx00's not; ecam-move: PCIEXBAR's low and high dword through
  # CF8/CFC and ECAM (the put-back writes count too); cf8-ext: its 15 CF8
  # values (with pmbase-move's 6 in the same boot); bridge-renumber: the
  # root port's bus numbers, memory window and Bridge Control, both paths.
  local kind a want n
  for a in icr-smi:icr-delivery:'>=1' msi-window:msi-window:'>=1' hpet-fsb:hpet-fsb:'>=1' \
           fwcfg-dma:fw-cfg-dma:'>=1' cf8-ext:pm-relocate:'>=15' judged-cross:mmio-bounds:'>=1' sleep-s3:sleep-state:'>=3' \
           fch-pm:fch-pm:'=4' ecam-move:config-guard:'>=4' bridge-renumber:config-guard:'>=6'; do
    IFS=: read -r a kind want <<<"$a"
    [[ " $sel " == *" $a "* ]] || continue
    grep -Eaq "^attack: SKIP $a" "$fw" && continue
    n=$(grep -am1 '^minihv: hv: summary: refused:' "$hv" | sed -n "s/.*[ ,]$kind \([0-9][0-9]*\).*/\1/p")
    if { [[ $want == =* ]] && [ "${n:-0}" -eq "${want#=}" ]; } || { [[ $want == '>='* ]] && [ "${n:-0}" -ge "${want#>=}" ]; }; then
      pass "$name: $a refused count (summary: $kind $n, want $want)"
    else
      fail "$name: $a refused count" "summary has $kind ${n:-none}, want $want ($result)"
    fi
  done
  # mmio-fetch, mmio-insn, hpet-split, hpet-hptc: the guest's PASS line begins with
  # what the summary must count ("summary: KIND >= N;", its refusals), and the
  # core's first line of that kind must be the attack's own (each runs
  # before the other attacks of its kind: mmio-fetch's is the hole's, or
  # the block's where the hole is identity below phys_top, as with q-nvme's
  # BAR at 0xe000000000; Bochs ends before the summary,
  # so there the first line alone). hpet-split's kind is hpet-fsb's too:
  # that attack's route and FSB-enable writes add 2.
  local first
  for a in "mmio-fetch|instruction fetch from (an unmapped address at 0x7ffffff000|the core's memory at 0x[0-9a-f]+) " \
           "mmio-insn|access to an I/O APIC page at 0xfec00000 " \
           "hpet-split|write of 0x[0-9a-f]+ at HPET 0x[0-9a-f]+\+0xfe: unaligned across a judged register" \
           "hpet-hptc|write of 0x[0-9a-f]+ at HPET 0xfed0[0-3]000\+0x114: FSB route outside"; do
    IFS='|' read -r a first <<<"$a"
    [[ " $sel " == *" $a "* ]] || continue
    line=$(grep -Eam1 "^attack: PASS $a " "$fw") || continue # no PASS: already a FAIL above
    read -r kind want <<<"$(sed -n 's/^attack: PASS [a-z-]* (summary: \([a-z-]*\) >= \([0-9]*\);.*/\1 \2/p' <<<"$line")"
    [ "$a" = hpet-split ] && [[ " $sel " == *" hpet-fsb "* ]] && ! grep -Eaq '^attack: SKIP hpet-fsb' "$fw" && want=$((want + 2))
    n=$(grep -am1 '^minihv: hv: summary: refused:' "$hv" | sed -n "s/.*[ ,]$kind \([0-9][0-9]*\).*/\1/p")
    if [ -z "$kind" ] || ! grep -Eaq "^minihv: hv: refused $kind: cpu [0-9]+: .*$first" "$hv"; then
      fail "$name: $a refused" "the core's first ${kind:-?} line is not the attack's ('$first'): '$(grep -Eam1 "^minihv: hv: refused ${kind:-$a}: " "$hv" | cut -c1-160)'; summary has ${kind:-?} ${n:-none}, want >= ${want:-?} ($result)"
    elif [ -z "$n" ] && [ "$emu" = bochs ]; then
      pass "$name: $a refused (the core's first $kind line is the attack's; Bochs ends before the summary)"
    elif [ "${n:-0}" -ge "$want" ]; then
      pass "$name: $a refused count (summary: $kind $n, want >= $want; the first line the attack's)"
    else
      fail "$name: $a refused count" "summary has $kind ${n:-none}, want >= $want ($result)"
    fi
  done
  if [[ " $sel " == *" sleep-mmio "* ]] && ! grep -Eaq '^attack: SKIP sleep-mmio' "$fw"; then
    # The pre-step's two registers handed to the core by the loader, and
    # the guest's 6 S3 writes there dropped by the judged page (its
    # summary line) and counted sleep-state (with sleep-s3's 3).
    local n d want=6
    [[ " $sel " == *" sleep-s3 "* ]] && want=9
    n=$(grep -am1 '^minihv: hv: summary: refused:' "$hv" | sed -n 's/.*sleep-state \([0-9][0-9]*\).*/\1/p')
    d=$(grep -am1 '^minihv: hv: summary: judged page sleep-reg ' "$hv" | sed -n 's/.*dropped \([0-9][0-9]*\).*/\1/p')
    if [ "$(grep -Eac '^minihv: core: sleep: FADT (SLEEP_CONTROL_REG|X_PM1b_CNT_BLK) in System Memory .*its page read-only' "$hv")" != 2 ]; then
      fail "$name: sleep-mmio loader lines" "want the loader's line for SLEEP_CONTROL_REG and X_PM1b_CNT_BLK in System Memory: $(grep -Eam2 'sleep: FADT|FADT ports' "$hv" | tr '\n' ';')"
    elif [ "${n:-0}" -ge "$want" ] && [ "${d:-0}" = 6 ]; then
      pass "$name: sleep-mmio refused count (summary: sleep-state $n >= $want, judged page sleep-reg dropped $d)"
    else
      fail "$name: sleep-mmio refused count" "summary has sleep-state ${n:-none} (want >= $want) and sleep-reg dropped ${d:-none} (want 6) ($result)"
    fi
  fi
  if [[ " $sel " == *" pmbase-move "* ]] && ! grep -Eaq '^attack: SKIP pmbase-move' "$fw"; then
    # Its writes to the base/enable registers (3 per path: CF8/CFC, ECAM) dropped.
    local n=$(grep -am1 '^minihv: hv: summary: refused:' "$hv" | sed -n 's/.*pm-relocate \([0-9][0-9]*\).*/\1/p')
    local w=$(sed -n 's/^attack: PASS pmbase-move .* after \([0-9]*\) writes.*/\1/p' "$fw" | head -1)
    if [ -n "$n" ] && [ "$n" -ge "${w:-6}" ]; then
      pass "$name: pmbase-move refused count (pm-relocate $n >= ${w:-6} writes)"
    elif [ -z "$n" ] && [ "$emu" = bochs ] && grep -Eaq '^minihv: hv: refused pm-relocate: ' "$hv"; then
      pass "$name: pmbase-move refused (the core's first pm-relocate line; Bochs ends before the summary)"
    else
      fail "$name: pmbase-move refused count" "summary has pm-relocate ${n:-none} for ${w:-6} writes ($result)"
    fi
  fi
  if [[ " $sel " == *" icr-alias "* ]]; then
    # The INIT at ICR low + 8 refused (apic-icr-access), none reached a CPU
    # physically (physical-init: SVM's count of INITs absorbed in guest mode).
    local refused=$(grep -am1 '^minihv: hv: summary: refused:' "$hv")
    if [[ $refused == *" physical-init "* ]]; then
      fail "$name: icr-alias" "an INIT reached a CPU physically: $refused"
    elif [[ $refused == *" apic-icr-access "* ]] || grep -Eaq '^minihv: hv: refused apic-icr-access: .*at APIC offset 0x308' "$hv"; then
      pass "$name: icr-alias refused (apic-icr-access; no physical-init)"
    else
      fail "$name: icr-alias" "no apic-icr-access refusal for the write at 0x308 (${refused:-no summary}; $result)"
    fi
  fi
  if [[ " $sel " == *" ioapic-rte "* ]] && ! grep -Eaq '^attack: SKIP ioapic-rte' "$fw"; then
    # The INIT and SMI entries (3 with two CPUs) refused by the core's
    # I/O APIC model; no INIT reached a CPU physically (physical-init).
    local refused=$(grep -am1 '^minihv: hv: summary: refused:' "$hv") n
    n=$(sed -n 's/.*ioapic-delivery \([0-9][0-9]*\).*/\1/p' <<<"$refused")
    # Bochs boots end before the summary: the core's first-refusal line.
    [ -n "$n" ] || n=$(grep -Eac '^minihv: hv: refused ioapic-delivery: .*delivery mode (INIT|SMI): dropped' "$hv")
    if [[ $refused == *" physical-init "* ]]; then
      fail "$name: ioapic-rte refused count" "an INIT reached a CPU physically: $refused"
    elif [ "${n:-0}" -ge 1 ]; then
      pass "$name: ioapic-rte refused count (ioapic-delivery $n; no physical-init)"
    else
      fail "$name: ioapic-rte refused count" "no ioapic-delivery refusal in the core's log (${refused:-no summary}; $result)"
    fi
  fi
  if [[ " $sel " == *" lvt-delivery "* ]] && ! grep -Eaq '^attack: SKIP lvt-delivery' "$fw"; then
    # LINT0 with INIT and the thermal LVT with SMI refused by the core
    # (lvt-delivery); no INIT reached a CPU physically (physical-init).
    local refused=$(grep -am1 '^minihv: hv: summary: refused:' "$hv") n
    n=$(sed -n 's/.*lvt-delivery \([0-9][0-9]*\).*/\1/p' <<<"$refused")
    # Bochs boots end before the summary: the core's first-refusal line.
    [ -n "$n" ] || n=$(grep -Eac '^minihv: hv: refused lvt-delivery: .*offset 0x350 .*delivery mode 5: dropped' "$hv")
    if [[ $refused == *" physical-init "* ]]; then
      fail "$name: lvt-delivery refused count" "an INIT reached a CPU physically: $refused"
    elif [ "${n:-0}" -ge 1 ]; then
      pass "$name: lvt-delivery refused count (lvt-delivery $n; no physical-init)"
    else
      fail "$name: lvt-delivery refused count" "no lvt-delivery refusal in the core's log (${refused:-no summary}; $result)"
    fi
  fi
  if [[ " $sel " == *" ap-not-entered "* ]]; then
    # The loader's line for the CPU it left out, and the core's refusal.
    local refused=$(grep -am1 '^minihv: hv: summary: refused:' "$hv") n
    n=$(sed -n 's/.*ipi-not-entered \([0-9][0-9]*\).*/\1/p' <<<"$refused")
    [ -n "$n" ] || n=$(grep -Eac '^minihv: hv: refused ipi-not-entered: ' "$hv")
    if ! grep -Eaq 'minihv: core: 1 CPU\(s\) never entered the core' "$hv"; then
      fail "$name: ap-not-entered loader line" "no 'core: 1 CPU(s) never entered the core' line ($result)"
    elif [ "${n:-0}" -ge 1 ]; then
      pass "$name: ap-not-entered refused count (ipi-not-entered $n; the loader: $(grep -Eam1 'minihv: core: 1 CPU\(s\) never entered' "$hv" | sed 's/^minihv: core: //' | cut -c1-60)...)"
    else
      fail "$name: ap-not-entered refused count" "no ipi-not-entered refusal in the core's log (${refused:-no summary}; $result)"
    fi
  fi
  if [[ " $sel " == *" task-switch "* ]]; then
    # The core's own account of the JMP (its first task-switch line: a
    # task switch to TSS 0x20, #GP; later ones are only counted, and Bochs
    # prints no summary), and the guest's #GP for each (JMP; INT n and #UD
    # through a task gate; IRET with NT): bare, the CPU would switch tasks.
    local n
    n=$(grep -am1 '^minihv: hv: summary: refused:' "$hv" | sed -n 's/.*task-switch \([0-9][0-9]*\).*/\1/p')
    if ! grep -Eaq '^minihv: hv: refused task-switch: .*JMP to TSS 0x20 .*: #GP' "$hv"; then
      fail "$name: task-switch refused" "no 'refused task-switch: ... JMP to TSS 0x20 ...: #GP' line in the core's log ($result)"
    elif [ -n "$n" ] && [ "$n" -lt 4 ]; then
      fail "$name: task-switch refused count" "want task-switch >= 4 in the summary (JMP, INT n and #UD through a task gate, IRET with NT): '$n' ($result)"
    elif ! grep -aq '^attack: task-switch: INT 0x1f: #GP error code 0x20' "$fw" ||
         ! grep -aq '^attack: task-switch: #UD: #GP error code 0x21' "$fw" ||
         ! grep -aq '^attack: task-switch: IRET: #GP error code 0x28' "$fw"; then
      fail "$name: task-switch refused" "no #GP(0x20) for INT 0x1f or #GP(0x21) for #UD through the task gate, or #GP(0x28) for IRET with NT in the guest's log ($result)"
    else
      pass "$name: task-switch refused (JMP, INT n and #UD through a task gate, IRET with NT: #GP 0x20, 0x20, 0x21, 0x28${n:+; summary task-switch $n}; the core: $(grep -Eam1 '^minihv: hv: refused task-switch: ' "$hv" | sed 's/^minihv: hv: refused task-switch: //' | cut -c1-50))"
    fi
  fi
  if [[ " $sel " == *" core-uart "* ]]; then
    # The guest's forged line must not be on the core's serial log, and
    # its bytes are counted (the first-refusal line, or the summary).
    if grep -aq 'FATAL forged by the guest' "$dir/com2.log"; then
      fail "$name: core-uart" "the guest's forged line is on the core's serial log: $(grep -am1 'forged by the guest' "$dir/com2.log" | tr -d '\r')"
    elif grep -Eaq '^minihv: hv: (refused core-uart: |summary: refused: .*core-uart [0-9])' "$hv"; then
      pass "$name: core-uart (the forged line is not on the core's serial log; $(grep -Eam1 '^minihv: hv: refused core-uart: ' "$hv" | sed 's/^minihv: hv: refused core-uart: //' | cut -c1-90))"
    else
      fail "$name: core-uart" "no core-uart refusal in the core's log ($result)"
    fi
  fi
  if [[ " $sel " == *" apic-8byte "* ]]; then
    # The 8-byte write at the xAPIC page's last dword dropped and counted.
    local n
    n=$(grep -am1 '^minihv: hv: summary: refused:' "$hv" | sed -n 's/.*apic-access \([0-9][0-9]*\).*/\1/p')
    # Bochs boots end before the summary: the core's first-refusal line.
    [ -n "$n" ] || n=$(grep -Eac '^minihv: hv: refused apic-access: .*8-byte write at APIC offset 0xffc: dropped' "$hv")
    if grep -Eaq '^attack: SKIP apic-8byte' "$fw"; then
      :
    elif [ "${n:-0}" -ge 1 ]; then
      pass "$name: apic-8byte refused count (apic-access $n >= 1)"
    else
      fail "$name: apic-8byte refused count" "summary has apic-access ${n:-none} for the 8-byte write ($result)"
    fi
  fi
  if [[ " $sel " == *" msix-left "* ]] && ! grep -Eaq '^attack: SKIP msix-left' "$fw"; then
    # The pre-step took: the core found the entry unmasked at init (no
    # such line before the fix; the guest's line then says what fired).
    local n=$(sed -n 's/^minihv: hv: passthrough: MSI-X: \([0-9]*\) of [0-9]* physical entries were unmasked.*/\1/p' "$hv" | head -1)
    if [ "${n:-0}" -ge 1 ]; then
      pass "$name: msix-left masked at init (the core: $n entry unmasked before it)"
    else
      fail "$name: msix-left masked at init" "the core's init line says ${n:-nothing} of the entries were unmasked (want >= 1: did the shell's mm reach the table?) ($result)"
    fi
  fi
  if [[ " $sel " == *" msi-delivery "* ]]; then
    # The passthrough line's MSI-X and MSI refusals (msix-refused=,
    # msi-refused=): `refused=` also counts other kinds (BAR placement).
    local writes refused pt k v
    writes=$(sed -n 's/^attack: msi-delivery: \([0-9]*\) bad delivery-mode writes.*/\1/p' "$fw" | head -1)
    pt=$(grep -am1 '^minihv: hv: summary: passthrough ' "$hv")
    refused=
    for k in msix-refused msi-refused; do
      v=$(tr ' ' '\n' <<<"$pt" | sed -n "s/^$k=\([0-9]*\)\$/\1/p")
      [ -n "$v" ] && refused=$(( ${refused:-0} + v ))
    done
    # Or the summary's count by kind (hv/refuse.h): `refused: ... msi-delivery-mode N`.
    v=$(grep -am1 '^minihv: hv: summary: refused:' "$hv" | sed -n 's/.*msi-delivery-mode \([0-9][0-9]*\).*/\1/p')
    [ -n "$v" ] && [ "$v" -gt "${refused:-0}" ] && refused=$v
    if [ -z "$writes" ] || [ -z "$pt" ]; then
      fail "$name: msi-delivery refused count" "no ${writes:+summary passthrough line}${writes:-guest write count} ($result)"
    elif [ -z "$refused" ]; then
      fail "$name: msi-delivery refused count" "no msix-refused=N/msi-refused=N in: $pt"
    elif [ "$refused" -ge "$writes" ]; then
      pass "$name: msi-delivery refused count (msix-refused + msi-refused = $refused >= $writes bad delivery-mode writes)"
    else
      fail "$name: msi-delivery refused count" "msix-refused + msi-refused = $refused for $writes bad delivery-mode writes: $pt"
    fi
  fi
}

Q_IOMMU_VTD='intel-iommu,aw-bits=48'
mkdir -p "$EMU_ROOT/attack" && truncate -s 8M "$EMU_ROOT/attack/nvme.img"
run_boot q-vtd-edu qemu 2 "ecam-dma iommu-dma iommu-regs ioapic-dma msi-dma log-dma msi-dma-init smm-open hpet-fsb fwcfg-dma hpet-dma hpet-split" 00:05.0 "" --timeout 120 -- -device "$Q_IOMMU_VTD" -device "$EDU"
run_boot q-amdvi-edu qemu 1 "ecam-dma iommu-dma iommu-regs ioapic-dma msi-dma log-dma smm-open hpet-dma" 00:05.0 "" --timeout 120 -- -device amd-iommu -device "$EDU"
# The shell unmasks the NVMe's MSI-X entry 0 before minihv starts (a
# firmware's leftover, review R finding 11; tests/emu/msix-unmask.nsh).
ATK_PRESTEP=tests/emu/msix-unmask.nsh \
run_boot q-nvme qemu 2 "hc-buffer-mmio msix-left msi-delivery bar-placement ecam-move bar-above-top pmbase-move db-intercept mmio-fetch mmio-insn" 00:05.0 00:05.0 --timeout 120 -- \
  -device intel-iommu,intremap=off,aw-bits=48 \
  -drive "file=$EMU_ROOT/attack/nvme.img,if=none,id=nvm,format=raw" -device nvme,serial=attack0,drive=nvm,addr=0x5 \
  -device edu,addr=0x6,dma_mask=0xffffffffffffffff
# fadtmem.efi first: the FADT's SLEEP_CONTROL_REG and X_PM1b_CNT_BLK in
# System Memory (sleep-mmio).
ATK_PRESTEP=${BUILD:-build}/fadtmem.efi \
run_boot q-subpage qemu 1 "subpage-bar bridge-renumber sleep-mmio" 01:00.0 01:00.0 --timeout 120 -- \
  -device intel-iommu,intremap=off,aw-bits=48 -device "$EDU" \
  -device pcie-root-port,id=rp1,chassis=1,addr=0x6 -device pci-ohci,bus=rp1,addr=0x0
# QEMU 7.2 TCG has no x2APIC: x2apic-icr-reserved runs in Bochs only.
run_boot q-cpu qemu 2 "msr-sweep apic-base init-logical icr-alias movss-tf native-ports judged-cross xsetbv-17-18 mtrr-block icr-smi msi-window unmapped-gpa sleep-s3 core-uart apic-insn apic-8byte lvt-delivery ioapic-rte a20 fch-pm mmio-fetch mmio-insn hpet-hptc" none "" \
  --timeout 150
# config_guard = on: config space trapped without a passthrough device.
ATK_CFG_EXTRA='config_guard = on' run_boot q-cfgguard qemu 1 "pmbase-move ecam-move" none "" --timeout 90
# The same on QEMU's i440FX (-machine pc): a PIIX4, no MCFG, so every port
# of 0xcf8-0xcff exits and the model keeps CONFIG_ADDRESS; cf8-ext writes
# PMBA with CF8 bits 27:24 set, which the PIIX4 ignores (review R3).
MACHINE=pc ATK_CFG_EXTRA='config_guard = on' run_boot q-piix4-cfgguard qemu 1 "cf8-split pmbase-move cf8-ext" none "" --timeout 90
# A test build (HV_TEST_HOOKS=1, the folder check-log's log_reboot.sh
# builds too) whose loader leaves cpu 1 unstarted (test_skip_ap = 1): the
# core holds it; the guest's INIT-SIPI-SIPI to it must be refused.
if want_boot q-noap && [ -n "$(selected ap-not-entered)" ]; then
  if make -s BUILD="${BUILD:-build}-testhooks" HV_TEST_HOOKS=1 -j2 "${BUILD:-build}-testhooks/minihv.efi" >/dev/null; then
    ATK_MINIHV_BUILD="${BUILD:-build}-testhooks" ATK_CFG_EXTRA='test_skip_ap = 1' ATK_ARGS_EXTRA='skipped=1' \
      run_boot q-noap qemu 2 "ap-not-entered" none "" --timeout 90
  else
    fail "q-noap: build" "make BUILD=${BUILD:-build}-testhooks HV_TEST_HOOKS=1 failed"
  fi
fi
run_boot q-triple qemu 1 "triple-fault" none "" --timeout 60
run_boot q-event qemu 1 "event-delivery" none "" --timeout 60
# Bochs: the attacks on the BSP alone; the APs are woken once, by the
# final intact check (apic-base and init-logical, which wake an AP more
# than once, run in QEMU).
run_boot b-vmx bochs 2 "pae-native pae-pdpte pae-rsvd cr0-pg64 msr-sweep movss-tf db-intercept native-ports xsetbv-17-18 mtrr-block unmapped-gpa core-uart apic-insn apic-8byte lvt-delivery x2apic-icr-reserved lvt-x2apic ioapic-rte task-switch a20 smm-open mmio-fetch mmio-insn" none "" \
  --timeout 400
run_boot b-event bochs 1 "event-delivery" none "" --timeout 200
# Opt-in (Bochs is slow: not in make check): pmbase-move on the PIIX4 (PMBA,
# PMREGMISC) with Bochs' pcivga passed through (CF8-CFF trapped, no ECAM).
[ "${ATTACK_PIIX4:-0}" = 1 ] && BOCHS_EXTRA=$(printf '%s\n' 'pci: enabled=1, chipset=i440fx, slot1=pcivga' 'vga: extension=vbe') \
  run_boot b-piix4 bochs 1 "pmbase-move" 00:02.0 00:02.0 --timeout 300
# The same without a passthrough device under config_guard = on: no ECAM,
# so every port of 0xcf8-0xcff exits (the model keeps CONFIG_ADDRESS).
[ "${ATTACK_PIIX4:-0}" = 1 ] && BOCHS_EXTRA=$(printf '%s\n' 'pci: enabled=1, chipset=i440fx') ATK_CFG_EXTRA='config_guard = on' \
  run_boot b-piix4-cfgguard bochs 1 "pmbase-move" none "" --timeout 300

summary attack
