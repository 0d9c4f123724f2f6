#!/usr/bin/env python3
"""Compares minihv-preflight --table (our parsers: iommu/dmar.c, iommu/ivrs.c,
boot/cpu_plan.c, boot/acpi.c) with `iasl -d` (ACPICA) on real ACPI tables,
field by field, the way check-igd compares VBTs with intel_vbt_decode.

From iasl's disassembly this script derives, independently, the lines
preflight prints for each table (the same rules: which RMRR is skipped,
which CPU counts, which MCFG allocation is usable, which FADT port is
used), then diffs the two as sets. What Debian's 2020 iasl does not decode
(IVRS type 40h blocks, DMAR SATC) is left out of both sides.

usage: preflight-iasl.py PREFLIGHT IASL FILE.aml...
Prints one line per table and "N passed, N failed"; exits 1 on a failure.
"""
import os
import re
import subprocess
import sys
import tempfile

REC = re.compile(r'^\[([0-9A-F]+)h [0-9]+\s+([0-9]+)\]\s+(.*?) : (.*)$')


def records(dsl):
    """(offset, name, value) for every decoded field, in order."""
    out = []
    for line in dsl.splitlines():
        m = REC.match(line)
        if m:
            out.append((int(m.group(1), 16), m.group(3).strip(), m.group(4).strip()))
    return out


def hexv(v):
    return int(v.split()[0], 16)


def field(recs, off, name):
    for o, n, v in recs:
        if o == off and n == name:
            return v
    return None


def subtables(recs, type_name='Subtable Type'):
    """[(offset, type, recs in it)] split at each 'Subtable Type'."""
    subs = []
    for i, (o, n, v) in enumerate(recs):
        if n == type_name:
            subs.append([o, hexv(v), []])
        elif subs:
            subs[-1][2].append((o, n, v))
    return subs


def scopes(recs):
    out, cur = [], None
    for o, n, v in recs:
        if n == 'Device Scope Type':
            cur = {'off': o, 'type': hexv(v), 'path': []}
            out.append(cur)
        elif cur is None:
            continue
        elif n == 'Enumeration ID' and o == cur['off'] + 4:
            cur['enum'] = hexv(v)
        elif n == 'PCI Bus Number' and o == cur['off'] + 5:
            cur['bus'] = hexv(v)
        elif n == 'PCI Path':
            d, f = v.split(',')[:2]
            cur['path'].append((int(d, 16), int(f, 16)))
    return ['scope @0x%x type %u enum %u bus 0x%02x path%s' %
            (s['off'], s['type'], s.get('enum', 0), s.get('bus', 0),
             ''.join(' %02x.%x' % p for p in s['path'])) for s in out]


def expect_dmar(recs):
    lines = ['DMAR width %u flags 0x%02x' % (hexv(field(recs, 0x24, 'Host Address Width')) + 1,
                                            hexv(field(recs, 0x25, 'Flags')))]
    for off, typ, rs in subtables(recs):
        if typ == 0:
            lines.append('DRHD @0x%x seg %u all %u base 0x%x' % (
                off, hexv(field(rs, off + 6, 'PCI Segment Number')),
                hexv(field(rs, off + 4, 'Flags')) & 1,
                hexv(field(rs, off + 8, 'Register Base Address'))))
            lines += scopes(rs)
        elif typ == 1:
            base = hexv(field(rs, off + 8, 'Base Address'))
            limit = hexv(field(rs, off + 16, 'End Address (limit)'))
            if base == 0 and limit == 0:
                continue  # Linux: "Your BIOS is broken; bad RMRR"; skipped
            lines.append('RMRR @0x%x seg %u base 0x%x limit 0x%x' % (
                off, hexv(field(rs, off + 6, 'PCI Segment Number')), base, limit))
            lines += scopes(rs)
    return lines


def expect_ivrs(recs):
    lines = ['IVRS ivinfo 0x%08x' % hexv(field(recs, 0x24, 'Virtualization Info'))]
    for off, typ, rs in subtables(recs):
        if typ in (0x10, 0x11):
            attr = field(rs, off + 20, 'Feature Reporting' if typ == 0x10 else 'Attributes')
            efr = field(rs, off + 24, 'EFR Image') if typ == 0x11 else None
            lines.append('IVHD @0x%x type 0x%02x flags 0x%02x devid 0x%04x cap 0x%04x base 0x%x seg %u '
                         'info 0x%04x attr 0x%08x efr 0x%x' % (
                             off, typ, hexv(field(rs, off + 1, 'Flags')), hexv(field(rs, off + 4, 'DeviceId')),
                             hexv(field(rs, off + 6, 'Capability Offset')), hexv(field(rs, off + 8, 'Base Address')),
                             hexv(field(rs, off + 16, 'PCI Segment Group')),
                             hexv(field(rs, off + 18, 'Virtualization Info')),
                             hexv(attr) if attr else 0, hexv(efr) if efr else 0))
            pending = None
            for eo, n, v in rs:
                if n != 'Entry Type':
                    continue
                et = hexv(v)
                dev = hexv(field(rs, eo + 1, 'Device ID'))
                setting = hexv(field(rs, eo + 3, 'Data Setting'))
                alias = ''
                if et in (0x42, 0x43):
                    alias = ' alias 0x%04x' % hexv(field(rs, eo + 5, 'Source Used Device ID'))
                if et == 1:
                    lines.append('range @0x%x 0x0000-0xffff setting 0x%02x' % (eo, setting))
                elif et in (2, 0x42, 0x46):
                    lines.append('range @0x%x 0x%04x-0x%04x setting 0x%02x%s' % (eo, dev, dev, setting, alias))
                elif et in (3, 0x43, 0x47):
                    pending = (eo, dev, setting, alias)
                elif et == 4 and pending:
                    lines.append('range @0x%x 0x%04x-0x%04x setting 0x%02x%s' %
                                 (pending[0], pending[1], dev, pending[2], pending[3]))
                    pending = None
                elif et == 0x48:
                    lines.append('special @0x%x handle 0x%02x devid 0x%04x variety %u' % (
                        eo, hexv(field(rs, eo + 4, 'Handle')), hexv(field(rs, eo + 5, 'Source Used Device ID')),
                        hexv(field(rs, eo + 7, 'Variety'))))
        elif typ in (0x20, 0x21, 0x22):
            dev = hexv(field(rs, off + 4, 'DeviceId'))
            aux = hexv(field(rs, off + 6, 'Auxiliary Data'))
            first, last = (0, 0xffff) if typ == 0x20 else (dev, dev) if typ == 0x21 else (dev, aux)
            length = hexv(field(rs, off + 24, 'Memory Length'))
            length = (length + 0xfff) & ~0xfff  # Linux's PAGE_ALIGN
            lines.append('IVMD @0x%x type 0x%02x flags 0x%02x devices 0x%04x-0x%04x start 0x%x length 0x%x' % (
                off, typ, hexv(field(rs, off + 1, 'Flags')), first, last,
                hexv(field(rs, off + 16, 'Start Address')), length))
    return lines


def expect_madt(recs):
    rev = hexv(field(recs, 8, 'Revision'))
    usable = 3 if rev >= 5 else 1
    ids, flags, not_present = [], {}, 0
    for off, typ, rs in subtables(recs):
        if typ == 0:
            apic, fl = hexv(field(rs, off + 3, 'Local Apic ID')), hexv(field(rs, off + 4, 'Flags (decoded below)'))
        elif typ == 9:
            apic, fl = hexv(field(rs, off + 4, 'Processor x2Apic ID')), hexv(field(rs, off + 8, 'Flags (decoded below)'))
        else:
            continue
        fl &= usable
        if not fl:
            not_present += 1
        elif apic in flags:
            flags[apic] |= fl
        else:
            ids.append(apic)
            flags[apic] = fl
    return (['MADT revision %u cpus %u not_present %u' % (rev, len(ids), not_present)] +
            ['cpu apic %u flags %u' % (i, flags[i]) for i in ids])


def expect_mcfg(recs):
    lines = []
    off = 44
    while True:
        base = field(recs, off, 'Base Address')
        if base is None or len(lines) == 8:
            break
        base = hexv(base)
        start, end = hexv(field(recs, off + 10, 'Start Bus Number')), hexv(field(recs, off + 11, 'End Bus Number'))
        if end >= start and not base & 0xfffff:
            lines.append('MCFG seg %u bus 0x%02x-0x%02x base 0x%x' % (
                hexv(field(recs, off + 8, 'Segment Group Number')), start, end, base))
        off += 16
    return lines


def expect_fadt(recs):
    length = hexv(field(recs, 4, 'Table Length'))

    def f(off, name, default=0):
        v = field(recs, off, name)
        return hexv(v) if v is not None else default

    def blk(a):
        return a if a and a + 2 <= 0x10000 else 0

    def gas(off, nbytes):
        a = f(off + 4, 'Address')
        return a if f(off, 'Space ID') == 1 and a and a <= 0x10000 - nbytes else 0
    flags = f(0x70, 'Flags (decoded below)') if length >= 116 else 0
    pm1a = pm1b = reset = value = 0
    if length >= 90 and not flags & (1 << 20) and f(0x59, 'PM1 Control Block Length') >= 2:
        pm1a, pm1b = blk(f(0x40, 'PM1A Control Block Address')), blk(f(0x44, 'PM1B Control Block Address'))
        if length >= 184 and f(0xB0, 'Address'):
            pm1a = gas(0xAC, 2)
        if length >= 196 and f(0xBC, 'Address'):
            pm1b = gas(0xB8, 2)
    if length >= 129 and flags & (1 << 10) and f(0x75, 'Bit Width') == 8 and f(0x76, 'Bit Offset') == 0:
        reset = gas(0x74, 1)
        value = f(0x80, 'Value to cause reset') if reset else 0
    return ['FADT pm1a 0x%x pm1b 0x%x reset 0x%x value 0x%02x' % (pm1a, pm1b, reset, value)]


def ours_filtered(lines):
    """Drops what Debian's 2020 iasl does not decode: IVHD type 40h and its entries."""
    out, skip = [], False
    for ln in lines:
        if ln.startswith('IVHD ') or ln.startswith('IVMD '):
            skip = ln.startswith('IVHD ') and ' type 0x40 ' in ln
        if not skip:
            out.append(ln)
    return out


def main():
    preflight, iasl, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for path in files:
            name = os.path.basename(path)
            kind = os.path.basename(os.path.dirname(path))
            res = subprocess.run([preflight, '--table', path], capture_output=True, text=True)
            ours = [l for l in res.stdout.splitlines() if not l.startswith('preflight: ')]
            refusals = [l for l in res.stdout.splitlines() if l.startswith('preflight: ') and 'warning' not in l]
            aml = os.path.join(tmp, name)
            with open(path, 'rb') as src, open(aml, 'wb') as dst:
                dst.write(src.read())
            subprocess.run([iasl, '-d', aml], capture_output=True, cwd=tmp)
            dsl = aml[:-4] + '.dsl'
            if not os.path.exists(dsl):
                print('SKIP %s/%s: iasl did not decode it' % (kind, name))
                continue
            recs = records(open(dsl, errors='replace').read())
            os.unlink(dsl)
            sig = field(recs, 0, 'Signature').strip('"')[:4]
            try:
                exp = {'DMAR': expect_dmar, 'IVRS': expect_ivrs, 'APIC': expect_madt,
                       'MCFG': expect_mcfg, 'FACP': expect_fadt}[sig](recs)
            except (TypeError, ValueError, KeyError) as e:
                print('FAIL %s/%s: iasl output not understood (%r)' % (kind, name, e))
                failed += 1
                continue
            if refusals:
                print('FAIL %s/%s: our parser refused what iasl reads: %s' % (kind, name, refusals[0]))
                failed += 1
                continue
            a, b = sorted(ours_filtered(ours)), sorted(exp)
            if a != b:
                print('FAIL %s/%s' % (kind, name))
                for ln in sorted(set(a) - set(b)):
                    print('    ours only: ' + ln)
                for ln in sorted(set(b) - set(a)):
                    print('    iasl only: ' + ln)
                failed += 1
            else:
                print('PASS %s/%s (%u fields lines)' % (kind, name, len(a)))
                passed += 1
    print('%u passed, %u failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
