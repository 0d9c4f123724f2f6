#!/usr/bin/env python3
"""Branch-level coverage of the core under the fuzzing guest (issue 16).

The coverage build (`make HV_COVERAGE=1`, hv/coverage.c) calls
__sanitizer_cov_trace_pc at every basic block of the core's C code and marks
the call's return address, one bit per 4-byte granule of the image, in a map
it prints on its serial log:

    minihv: hv: cov: begin WHY; granule 4, text 0xN, sites outside the map N
    minihv: hv: cov: OFFSET HEX        (bit i of byte j: granule OFFSET/4 + 8j + i)
    minihv: hv: cov: end N lines, N granules marked

The denominator is the ELF itself: every `call __sanitizer_cov_trace_pc` that
objdump finds in it is one block; its return address (call + 5) falls in
exactly one granule (a call is 5 bytes, so no two share one). addr2line on
an ELF with debug info (the coverage build's hv-debug.elf: hv.elf's layout,
debug sections kept) names each block's function and file:line.

Usage:
    coverage-report.py --elf build-cov/hv-debug.elf --log RUN/minihv.txt
                       [--firmware RUN/firmware.txt] [--backend svm|vmx]
                       [--name NAME] [--all-files]
    coverage-report.py --self-test      (a tiny instrumented ELF and map)

Prints per source file and per function of the exit path blocks hit /
blocks, the functions never reached and the policy switch cases never
reached (file:line), and one line:
    coverage: N of M blocks (P %) in the exit path; handlers reached K of L
Cross-check: the core's own exit table (its per-kind counters, printed
just before the map) against the map: each kind counted must have its
handler's blocks marked, and (for handlers nothing else calls) a handler
marked must have its kind counted.

Exit status 0; 2 when the log holds no complete map or a marked granule has
no call site (the map and the ELF do not match); 3 when the cross-check
disagrees.
"""
import argparse
import collections
import fnmatch
import os
import re
import subprocess
import sys
import tempfile

GRANULE = 4
HOOK = "__sanitizer_cov_trace_pc"

# The exit path: the code a guest's exit runs (handlers, policy, emulation).
# hv/svm/* is the QEMU (SVM) backend, hv/vmx/* Bochs (VMX): each backend's
# figure leaves the other's files out.
EXIT_PATH = [
    "hv/svm/svm_exit.c", "hv/svm/svm_policy.c", "hv/vmx/vmx_exit.c",
    "hv/vcpu.c", "hv/vcpu_policy.c", "hv/msr.c", "hv/msr_policy.c",
    "hv/io.c", "hv/emulate.c", "hv/decode.c", "hv/ipi.c", "hv/ipi_route.c",
    "hv/passthrough*.c", "hv/hypercall.c", "hv/devmodel.c",
    "hv/exit_rules.c", "hv/event_rules.c", "hv/refuse.c", "hv/summary.c",
    "hv/special_pages.c", "hv/iommu_hw.c", "hv/log_ring.c", "hv/ioapic.c", "hv/a20_gate.c",
    "vfio/*.c",  # the passthrough device's model: config space, MSI, MSI-X
]
PT_FILES = ["hv/passthrough*.c", "vfio/*.c"]
# Files whose switch cases are policy (a row the fuzzer should reach).
POLICY = [
    "hv/msr_policy.c", "hv/svm/svm_policy.c", "hv/vcpu_policy.c", "hv/io.c",
    "hv/exit_rules.c", "hv/event_rules.c", "hv/devmodel.c", "hv/hypercall.c",
    "hv/svm/svm_exit.c", "hv/vmx/vmx_exit.c", "hv/emulate.c", "hv/passthrough*.c", "hv/ioapic.c",
    "hv/a20_gate.c", "vfio/config.c", "vfio/msi.c", "vfio/msix.c",
]


def run(cmd, data=None):
    return subprocess.run(cmd, input=data, capture_output=True, text=True, check=True).stdout


def match(path, globs):
    return any(fnmatch.fnmatch(path, g) for g in globs)


def sites_of(elf):
    """Every call to the hook: list of call addresses (int)."""
    sites = []
    pat = re.compile(r"^\s*([0-9a-f]+):\s+((?:[0-9a-f]{2} )+)\s*call\S*\s+[0-9a-f]+ <" + HOOK + r">")
    other = re.compile(r"^\s*([0-9a-f]+):.*\s(j\w+)\s+[0-9a-f]+ <" + HOOK + r">")
    for line in run(["objdump", "-d", "-w", elf]).splitlines():
        o = other.match(line)
        if o:
            sys.exit(f"coverage-report: {elf}: a {o.group(2)} to the hook at 0x{o.group(1)} (a sibling call: the "
                     "hit would mark the caller's return address); build with -fno-optimize-sibling-calls")
        m = pat.match(line)
        if m:
            raw = m.group(2).split()
            if raw[0] != "e8" or len(raw) != 5:
                sys.exit(f"coverage-report: {elf}: the call at 0x{m.group(1)} is not E8 rel32 ({' '.join(raw)}): "
                         "the granule map assumes 5-byte calls")
            sites.append(int(m.group(1), 16))
    return sites


def symbol(elf, name):
    for line in run(["nm", elf]).splitlines():
        f = line.split()
        if len(f) == 3 and f[2] == name:
            return int(f[0], 16)
    return None


def locate(elf, addrs, root):
    """addr -> (function, file relative to root, line)."""
    out = run(["addr2line", "-f", "-e", elf], "".join(f"0x{a:x}\n" for a in addrs)).splitlines()
    res = {}
    for i, a in enumerate(addrs):
        fn, loc = out[2 * i], out[2 * i + 1]
        path, _, line = loc.rpartition(":")
        line = line.split()[0] if line else "0"
        path = os.path.normpath(path)
        if path.startswith(root + os.sep):
            path = path[len(root) + 1:]
        res[a] = (fn, path, int(line) if line.isdigit() else 0)
    return res


def read_map(log, index=-1):
    """The last complete map in the log: (set of granule indices, begin
    line, end line, exit kinds in the core's exit table printed last before
    that map (None when none))."""
    dumps, cur, head, kinds = [], None, None, None
    pat = re.compile(r"minihv: hv: (?:summary: )?(cov|exits): (.*)$")
    table = None
    with open(log, "rb") as f:
        for raw in f:
            m = pat.search(raw.decode("utf-8", "replace").rstrip("\r\n"))
            if not m:
                continue
            what, body = m.groups()
            if what == "exits":
                f2 = body.split()
                if f2 and f2[0] == "reason":
                    table = set()
                elif table is not None and len(f2) >= 2 and f2[0] != "total" and any(x != "0" for x in f2[1:]):
                    table.add(f2[0])
                continue
            if body.startswith("begin"):
                cur, head, kinds = set(), body, (set(table) if table is not None else None)
                g = re.search(r"granule (\d+)", body)
                if g and int(g.group(1)) != GRANULE:
                    sys.exit(f"coverage-report: {log}: granule {g.group(1)}, this script reads {GRANULE}")
            elif body.startswith("end"):
                if cur is not None:
                    dumps.append((cur, head, body, kinds))
                cur = None
            elif cur is not None:
                f2 = body.split()
                if len(f2) != 2 or not re.fullmatch(r"[0-9a-f]+", f2[0]) or not re.fullmatch(r"(?:[0-9a-f]{2})+", f2[1]):
                    print(f"coverage-report: {log}: malformed map line skipped: {body[:80]}", file=sys.stderr)
                    continue
                base = int(f2[0], 16) // GRANULE
                bits = bytes.fromhex(f2[1])
                for j, b in enumerate(bits):
                    for i in range(8):
                        if b >> i & 1:
                            cur.add(base + 8 * j + i)
    if not dumps or not -len(dumps) <= index < len(dumps):
        return None, None, None, None
    return dumps[index]


# The core's own exit counters (the exit table, printed just before the
# map) against the map: a kind the table counts must have its handler's
# blocks marked; with both=True a handler marked must have its kind counted
# (where nothing else calls it). (kinds, backend or None, functions, both).
KIND_HANDLERS = [
    ({"cpuid"}, None, {"vcpu_handle_cpuid"}, True),
    ({"msr-read", "msr-write"}, "svm", {"handle_msr"}, True),
    ({"msr-read", "msr-write"}, "vmx", {"msr_handle_exit"}, True),
    ({"cr-access"}, "vmx", {"handle_cr_access"}, True),
    ({"xsetbv"}, None, {"vcpu_handle_xsetbv"}, True),
    ({"invd"}, None, {"vcpu_handle_invd"}, True),
    ({"hypercall"}, None, {"vcpu_handle_hypercall"}, True),
    ({"io"}, None, {"vcpu_handle_io"}, False),  # an io exit may be recounted pt-config
    ({"npf-mmio"}, None, {"vcpu_handle_npf"}, False),
    ({"init"}, "vmx", {"handle_init", "handle_virtual_init"}, False),
    ({"sipi"}, "vmx", {"handle_sipi"}, False),
]


def guest_rate(fw):
    """The fuzzing guest's own progress line: (operations, guest seconds)."""
    if not fw or not os.path.exists(fw):
        return None
    last = None
    with open(fw, "rb") as f:
        for raw in f:
            line = raw.decode("utf-8", "replace")
            m = re.search(r"fuzzguest: (\d+) operations in ([0-9.]+) s \(guest time\): (\d+)/s", line)
            if m:
                return (int(m.group(1)), float(m.group(2)), int(m.group(3)))
            m = re.search(r"fuzzguest: \.\.\. (\d+) s, (\d+) operations", line)
            if m:  # a run cut short: its last progress line
                last = (int(m.group(2)), float(m.group(1)), int(m.group(2)) // max(int(m.group(1)), 1))
    return last


def collapse(lines):
    """[3,4,5,9] -> '3-5, 9'."""
    out, lines = [], sorted(set(lines))
    i = 0
    while i < len(lines):
        j = i
        while j + 1 < len(lines) and lines[j + 1] == lines[j] + 1:
            j += 1
        out.append(str(lines[i]) if i == j else f"{lines[i]}-{lines[j]}")
        i = j + 1
    return ", ".join(out)


def report(args):
    root = os.path.abspath(args.root)
    sites = sites_of(args.elf)
    if not sites:
        sys.exit(f"coverage-report: {args.elf}: no call to {HOOK}: not a coverage build (HV_COVERAGE=1)")
    start = symbol(args.elf, args.start)
    if start is None:
        sys.exit(f"coverage-report: {args.elf}: no symbol {args.start}")
    marks, head, tail, kinds = read_map(args.log, args.map)
    if marks is None:
        print(f"coverage-report: {args.log}: no complete `cov: begin` ... `cov: end` map", file=sys.stderr)
        return 2
    by_granule = {(a + 5 - start) // GRANULE: a for a in sites}
    if len(by_granule) != len(sites):
        sys.exit("coverage-report: two call sites share a granule: the map cannot tell them apart")
    stray = sorted(g for g in marks if g not in by_granule)
    hit = {by_granule[g] for g in marks if g in by_granule}
    loc = locate(args.elf, sites, root)

    backend = args.backend
    if not backend:
        svm = sum(1 for a in hit if loc[a][1].startswith("hv/svm/"))
        vmx = sum(1 for a in hit if loc[a][1].startswith("hv/vmx/"))
        backend = "svm" if svm >= vmx else "vmx"
    other = "hv/vmx/" if backend == "svm" else "hv/svm/"

    # A line can have several blocks (an unrolled loop, a peeled copy): it
    # counts as reached when any of them is.
    line_hit = collections.defaultdict(bool)
    for a in sites:
        line_hit[loc[a][1:]] |= a in hit
    files = collections.defaultdict(lambda: [0, 0])
    funcs = collections.defaultdict(lambda: {"n": 0, "hit": 0, "first": 1 << 30, "miss": []})
    for a in sites:
        fn, path, line = loc[a]
        h = a in hit
        files[path][0] += h
        files[path][1] += 1
        f = funcs[(path, fn)]
        f["n"] += 1
        f["hit"] += h
        f["first"] = min(f["first"], line or f["first"])
        if not line_hit[(path, line)]:
            f["miss"].append(line)

    # No device passed through (Bochs here): ptdev_init never ran, and no
    # passthrough block can run; those files leave the exit-path figure.
    no_pt = not any(loc[a][0] == "ptdev_init" for a in hit)

    def in_path(p):
        return match(p, EXIT_PATH) and not p.startswith(other) and not (no_pt and match(p, PT_FILES))

    name = args.name or os.path.basename(os.path.dirname(os.path.abspath(args.log)))
    print(f"coverage report: {name}, backend {backend}; map: {head}; {tail}")
    print(f"  ELF {args.elf}: {len(sites)} instrumented blocks; {len(hit)} hit; "
          f"{len(stray)} marked granule(s) with no call site")
    rate = guest_rate(args.firmware)
    if rate:
        print(f"  fuzzing guest: {rate[0]} operations in {rate[1]} s of guest time: {rate[2]}/s (all CPUs)")

    if no_pt:
        n_pt = sum(1 for a in sites if match(loc[a][1], PT_FILES))
        print(f"  no device passed through (ptdev_init never ran): hv/passthrough*.c, vfio/ ({n_pt} blocks) left out "
              "of the exit path")
    print("\nper file (exit path; blocks hit / blocks):")
    for p in sorted(files):
        if in_path(p):
            h, n = files[p]
            print(f"  {p:32} {h:5} / {n:5}  {100.0 * h / n:5.1f} %")
    if args.all_files:
        print("\nper file (the rest of the core):")
        for p in sorted(files):
            if not in_path(p):
                h, n = files[p]
                print(f"  {p:32} {h:5} / {n:5}  {100.0 * h / n:5.1f} %")

    print("\nper function (exit path; blocks hit / blocks; lines none of whose blocks was reached):")
    for (p, fn), f in sorted(funcs.items(), key=lambda kv: (kv[0][0], kv[1]["first"])):
        if in_path(p):
            miss = f"  not reached: {collapse(f['miss'])}" if f["miss"] and f["hit"] else ""
            print(f"  {p}:{f['first']} {fn}: {f['hit']} / {f['n']}{miss}")

    handlers = [(k, f) for k, f in funcs.items() if in_path(k[0])]
    top = sorted(handlers, key=lambda kf: (-(kf[1]["n"] - kf[1]["hit"]), kf[0]))[:args.top]
    print(f"\nexit-path functions with the most blocks not reached (top {len(top)}):")
    for (p, fn), f in top:
        if f["n"] > f["hit"]:
            print(f"  {f['n'] - f['hit']:4} of {f['n']:4} not reached  {p}:{f['first']} {fn}"
                  f"{'' if f['hit'] else ' (never entered)'}")
    never = sorted((k for k, f in handlers if not f["hit"]), key=lambda k: (k[0], funcs[k]["first"]))
    print(f"\nexit-path functions never reached ({len(never)}):")
    for p, fn in never:
        print(f"  {p}:{funcs[(p, fn)]['first']} {fn} ({funcs[(p, fn)]['n']} blocks)")

    # Policy switch cases never reached: a block not hit whose source line
    # is (or follows) a `case`/`default` label, in a policy file.
    src_cache = {}

    def src(p, n):
        if p not in src_cache:
            try:
                with open(os.path.join(root, p), errors="replace") as fh:
                    src_cache[p] = fh.read().splitlines()
            except OSError:
                src_cache[p] = []
        lines = src_cache[p]
        return lines[n - 1].strip() if 0 < n <= len(lines) else ""

    cases = []
    for a in sites:
        fn, p, n = loc[a]
        if line_hit[(p, n)] or not in_path(p) or not match(p, POLICY):
            continue
        for k in (n, n - 1):
            t = src(p, k)
            if re.match(r"(case\b.*|default\s*):", t):
                cases.append((p, k, fn, t))
                break
    cases = sorted(set(cases))
    print(f"\npolicy switch cases never reached ({len(cases)}):")
    for p, n, fn, t in cases:
        print(f"  {p}:{n} {fn}: {t[:100]}")

    bad = 0
    if kinds is None:
        print("\ncross-check: no exit table before the map in the log: not checked")
    else:
        hit_fns = {loc[a][0] for a in hit}
        known = {loc[a][0] for a in sites}
        agree = []
        for ks, be, fns, both in KIND_HANDLERS:
            if be and be != backend or not fns & known:
                continue
            counted, marked = bool(ks & kinds), bool(fns & hit_fns)
            name = "/".join(sorted(ks))
            if counted and not marked:
                print(f"coverage-report: cross-check: the exit table counts {name} but no block of "
                      f"{'/'.join(sorted(fns))} is marked", file=sys.stderr)
                bad += 1
            elif both and marked and not counted:
                print(f"coverage-report: cross-check: {'/'.join(sorted(fns))} is marked but the exit table has no "
                      f"{name} exit", file=sys.stderr)
                bad += 1
            else:
                agree.append(f"{name} {'yes' if counted else 'no'}")
        print(f"\ncross-check with the core's exit table (kind counted = its handler marked): {len(agree)} agree "
              f"({', '.join(agree)}), {bad} disagree")

    hn = sum(files[p][0] for p in files if in_path(p))
    tn = sum(files[p][1] for p in files if in_path(p))
    reached = sum(1 for k, f in handlers if f["hit"])
    allh = sum(files[p][0] for p in files)
    print(f"\ncoverage: the whole core {allh} of {len(sites)} blocks ({100.0 * allh / len(sites):.1f} %)")
    print(f"coverage: {hn} of {tn} blocks ({100.0 * hn / max(tn, 1):.1f} %) in the exit path; "
          f"handlers reached {reached} of {len(handlers)}")
    if stray:
        print(f"coverage-report: {len(stray)} marked granule(s) match no call site (first at image offset "
              f"0x{stray[0] * GRANULE:x}): the log is not from this ELF", file=sys.stderr)
        return 2
    if bad:
        return 3
    return 0


SELF_TEST_C = r"""
void __sanitizer_cov_trace_pc(void);
volatile int sink;
int vcpu_handle_cpuid(int x) { if (x > 3) { sink = 1; return 1; } return 0; }
int vcpu_handle_xsetbv(int x)
{
    switch (x) {
    case 1:
        sink = 2;
        return 2;
    case 2:
        sink = 3;
        return 3;
    default:
        return 0;
    }
}
"""
SELF_TEST_HOOK = r"""
void __sanitizer_cov_trace_pc(void) {}
int vcpu_handle_cpuid(int), vcpu_handle_xsetbv(int);
void _start(void) { vcpu_handle_cpuid(0); vcpu_handle_xsetbv(0); for (;;) ; }
"""


def self_test():
    """A tiny instrumented ELF; a map made here by hand marks vcpu_handle_cpuid's entry
    block only: the report must say vcpu_handle_cpuid reached, vcpu_handle_xsetbv not, its cases
    listed; then a map with a granule off any site must fail."""
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "hv"))
        with open(os.path.join(d, "hv", "exit_rules.c"), "w") as f:
            f.write(SELF_TEST_C)
        with open(os.path.join(d, "hook.c"), "w") as f:
            f.write(SELF_TEST_HOOK)
        elf = os.path.join(d, "t.elf")
        subprocess.run(["gcc", "-O1", "-g", "-fno-pie", "-fsanitize-coverage=trace-pc", "-c", "-o",
                        os.path.join(d, "a.o"), "hv/exit_rules.c"], cwd=d, check=True)
        subprocess.run(["gcc", "-O1", "-g", "-fno-pie", "-c", "-o", os.path.join(d, "h.o"), "hook.c"],
                       cwd=d, check=True)
        subprocess.run(["ld", "-static", "-Ttext=0x400000", "-o", elf, os.path.join(d, "a.o"),
                        os.path.join(d, "h.o")], check=True)
        sites = sites_of(elf)
        loc = locate(elf, sites, d)
        a_sites = sorted(a for a in sites if loc[a][0] == "vcpu_handle_cpuid")
        b_sites = [a for a in sites if loc[a][0] == "vcpu_handle_xsetbv"]
        assert a_sites and b_sites, (loc, sites)

        def write_log(granules, table=("cpuid",)):
            lines = ["minihv: hv: summary: exits: reason           cpu0"]
            lines += [f"minihv: hv: summary: exits: {k:10} {7:12}" for k in table]
            lines.append("minihv: hv: cov: begin self-test; granule 4, text 0x1000, sites outside the map 0")
            by_line = collections.defaultdict(lambda: bytearray(64))
            for g in granules:
                by_line[g // 512][(g % 512) // 8] |= 1 << (g % 8)
            for k, bits in sorted(by_line.items()):
                lines.append(f"minihv: hv: cov: {k * 512 * GRANULE:x} {bits.hex()}")
            lines.append(f"minihv: hv: cov: end {len(by_line)} lines, {len(granules)} granules marked")
            with open(os.path.join(d, "log.txt"), "w") as f:
                f.write("\n".join(lines) + "\n")

        def go():
            out = subprocess.run([sys.executable, __file__, "--elf", elf, "--log", os.path.join(d, "log.txt"), "--root", d,
                                  "--start", "vcpu_handle_cpuid", "--backend", "svm"], capture_output=True, text=True)
            return out

        # The map is relative to the --start symbol: vcpu_handle_cpuid here.
        start = symbol(elf, "vcpu_handle_cpuid")
        write_log([(a_sites[0] + 5 - start) // GRANULE])
        out = go()
        ok = True

        def check(cond, what):
            nonlocal ok
            print(f"{'PASS' if cond else 'FAIL'} coverage-report self-test: {what}")
            ok = ok and cond

        check(out.returncode == 0, f"a map of vcpu_handle_cpuid's entry block reads (exit {out.returncode}; {out.stderr.strip()[:200]})")
        check(re.search(r"hv/exit_rules.c:\d+ vcpu_handle_cpuid: 1 / %d" % len(a_sites), out.stdout) is not None,
              f"vcpu_handle_cpuid: 1 of its {len(a_sites)} blocks hit")
        check(re.search(r"never reached \(1\):\n  hv/exit_rules.c:\d+ vcpu_handle_xsetbv", out.stdout) is not None,
              "vcpu_handle_xsetbv listed as never reached")
        check(re.search(r"hv/exit_rules.c:\d+ vcpu_handle_xsetbv: case 1:", out.stdout) is not None and
              re.search(r"hv/exit_rules.c:\d+ vcpu_handle_xsetbv: case 2:", out.stdout) is not None,
              "vcpu_handle_xsetbv's case 1 and case 2 listed as policy cases never reached")
        tot = len(a_sites) + len(b_sites)
        check(f"coverage: 1 of {tot} blocks" in out.stdout and "handlers reached 1 of 2" in out.stdout,
              f"summary line: 1 of {tot} blocks, handlers 1 of 2")
        check("2 agree (cpuid yes, xsetbv no), 0 disagree" in out.stdout,
              "cross-check: the exit table's cpuid and no xsetbv agree with the map")
        # The exit table counts xsetbv, the map has none of its blocks.
        write_log([(a_sites[0] + 5 - start) // GRANULE], ("cpuid", "xsetbv"))
        out = go()
        check(out.returncode == 3 and "counts xsetbv but no block of vcpu_handle_xsetbv" in out.stderr,
              "cross-check: xsetbv counted, its handler unmarked: fails (exit 3)")
        # Every block marked: all reached; the table without xsetbv disagrees.
        write_log([(a + 5 - start) // GRANULE for a in sites])
        out = go()
        check(f"coverage: {tot} of {tot} blocks (100.0 %)" in out.stdout and "never reached (0)" in out.stdout,
              "every block marked: 100 %, nothing never reached")
        check(out.returncode == 3 and "vcpu_handle_xsetbv is marked but the exit table has no xsetbv" in out.stderr,
              "cross-check: xsetbv's handler marked, no xsetbv counted: fails (exit 3)")
        # A granule with no call site: the map is not from this ELF.
        write_log([(a_sites[0] + 5 - start) // GRANULE + 1, (a_sites[0] + 5 - start) // GRANULE + 2])
        out = go()
        check(out.returncode == 2 and "match no call site" in out.stderr, "a stray granule fails (exit 2)")
        # No map at all.
        with open(os.path.join(d, "log.txt"), "w") as f:
            f.write("minihv: hv: cov: begin x; granule 4\nminihv: hv: cov: 0 01\n")
        out = go()
        check(out.returncode == 2 and "no complete" in out.stderr, "a map with no end line fails (exit 2)")
        print(f"coverage-report self-test: {'passed' if ok else 'FAILED'}")
        return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--elf")
    ap.add_argument("--log")
    ap.add_argument("--firmware")
    ap.add_argument("--backend", choices=["svm", "vmx"])
    ap.add_argument("--name")
    ap.add_argument("--all-files", action="store_true")
    ap.add_argument("--top", type=int, default=20, help="how many functions in the most-blocks-not-reached list")
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--start", default="hv_image_start", help="the symbol the map's offsets count from")
    ap.add_argument("--map", type=int, default=-1,
                    help="which complete map of the log (0: the first; default -1, the last and widest)")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    if args.self_test:
        return self_test()
    if not args.elf or not args.log:
        ap.error("--elf and --log (or --self-test)")
    return report(args)


if __name__ == "__main__":
    sys.exit(main())
