#!/usr/bin/env python3
"""Log rings for check-log's host tests (tests/emu/log.sh), written from
include/minihv/logring.h by a second hand (not log/ring_write.c), and the
lines minihv-log must print for them.

  log-ring.py tree DIR [--phys P] [--data N] [--lines N] [--acpi] [--spoil S]
      DIR/dev/mem (sparse, the area at P), DIR/sys/firmware/memmap/{0,1,2}
      (RAM, Reserved around the area, RAM), with --acpi the table
      DIR/sys/firmware/acpi/tables/MHVL; the expected lines on stdout.
  log-ring.py append DIR [--phys P] --lines N [--from K] [--delay S]
      appends lines "minihv: hv: follow K" .. to the ring in DIR/dev/mem,
      tail before the bytes, head after (the writer's order).

--spoil: a header field (magic, version, header_check, header_size,
data_offset, data_size, area_size, tail, head; resealed where the check
covers it, so that field is the one refused) or a record's (size, text_len,
seq, check, padding, source: in the third record), or acpi-checksum,
acpi-length, acpi-area.
"""
import argparse
import os
import struct
import sys

MAGIC = 0x31676F4C76484D21
HDR = struct.Struct("<QIIIIQQQQIIQQQQQ32x")  # 136 bytes
REC = struct.Struct("<HHHBBQQ")
OFF = {"magic": 0, "version": 8, "header_size": 12, "data_offset": 16, "data_size": 20, "area_size": 24,
       "boot_count": 32, "tsc_hz": 40, "tsc_base": 48, "header_check": 56, "flags": 60, "head": 64,
       "tail": 72, "next_seq": 80, "dropped": 88, "lost": 96}
HZ, BASE = 2_500_000_000, 1_000_000


def fnv1a32(b, h=0x811C9DC5):
    for c in b:
        h = ((h ^ c) * 0x01000193) & 0xFFFFFFFF
    return h


def record(seq, cpu, source, tsc, text):
    t = text.encode()
    size = (24 + len(t) + 7) & ~7
    check = fnv1a32(struct.pack("<QQ", seq, tsc) + t) & 0xFF
    return REC.pack(size, len(t), cpu, source, check, seq, tsc) + t + bytes(size - 24 - len(t))


def fmt(seq, cpu, source, tsc, text):
    d = tsc - BASE
    label = "ldr" if source == 0 else "cpu%d" % cpu
    return "[%5d.%06d] %s %s" % (d // HZ, (d % HZ) * 1000000 // HZ, label, text)


class Ring:
    def __init__(self, data_size, area_size):
        self.area = bytearray(area_size)
        self.ds = data_size
        HDR.pack_into(self.area, 0, MAGIC, 1, HDR.size, 4096, data_size, area_size, 1, HZ, BASE, 0, 0, 0, 0, 0, 0, 0)
        self.reseal()
        self.head = self.tail = self.seq = self.dropped = 0

    def reseal(self):
        struct.pack_into("<I", self.area, 56, fnv1a32(self.area[:56]))

    def put(self, pos, b):
        for i, c in enumerate(b):
            self.area[4096 + (pos + i) % self.ds] = c

    def append(self, cpu, source, tsc, text):
        r = record(self.seq, cpu, source, tsc, text)
        while self.head + len(r) - self.tail > self.ds:
            self.tail += struct.unpack_from("<H", self.area, 4096 + self.tail % self.ds)[0]
            self.dropped += 1
        self.put(self.head, r)
        self.head += len(r)
        self.seq += 1
        struct.pack_into("<QQQQ", self.area, 64, self.head, self.tail, self.seq, self.dropped)
        return r


def lines(n):
    out = [(0xFFFF, 0, BASE + 1000, "minihv: minihv 0.1, the test ring"), (0xFFFF, 0, BASE + 2000, "minihv: loader line")]
    for i in range(n):
        out.append((i % 3, 1, BASE + 3000 + i * 1_234_567, "minihv: hv: line %d of the test ring%s" % (i, "." * (i % 40))))
    return out


def spoil(ring, what, recs):
    a = ring.area
    hdr = {"magic": ("<Q", 1, False), "version": ("<I", 2, True), "header_size": ("<I", 128, True),
           "data_offset": ("<I", 12, True), "data_size": ("<I", 3 * 4096, True),
           "area_size": ("<Q", len(a) + 8, True), "tail": ("<Q", ring.head + 8, False),
           "head": ("<Q", ring.tail + ring.ds + 8, False)}
    if what in hdr:
        f, v, reseal = hdr[what]
        struct.pack_into(f, a, OFF[what], v)
        if reseal:
            ring.reseal()
        return
    if what == "header_check":
        struct.pack_into("<Q", a, OFF["boot_count"], 77)
        return
    pos = recs[2]  # the third record's byte position
    at = lambda i: 4096 + (pos + i) % ring.ds
    if what == "size":
        a[at(0)] = 0xF8
        a[at(1)] = 0x0F
    elif what == "text_len":
        a[at(2)] = 0x01
        a[at(3)] = 0x10
    elif what == "seq":
        a[at(8)] ^= 0x40
    elif what == "check":
        a[at(7)] ^= 1
    elif what == "source":
        a[at(6)] = 7
    elif what == "padding":
        size, tl = struct.unpack_from("<HH", a, at(0))
        if size == 24 + tl:
            raise SystemExit("log-ring.py: the third record has no padding")
        a[at(24 + tl)] = 0x41
    elif not what.startswith("acpi-"):
        raise SystemExit("log-ring.py: unknown --spoil " + what)


def acpi_table(phys, size, what):
    body = struct.pack("<QQ", phys if what != "acpi-area" else phys + 12, size)
    t = bytearray(b"MHVL" + struct.pack("<IBB", 36 + len(body), 1, 0) + b"MINIHV" + b"LOGRING " +
                  struct.pack("<I", 1) + b"MNHV" + struct.pack("<I", 1) + body)
    if what == "acpi-length":
        struct.pack_into("<I", t, 4, 200)
    t[9] = (-sum(t)) & 0xFF
    if what == "acpi-checksum":
        t[9] ^= 0x55
    return bytes(t)


def write(path, data, mode="wb"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as f:
        f.write(data)


def tree(args):
    area_size = 4096 + args.data
    ring = Ring(args.data, area_size)
    pos = []
    for cpu, src, tsc, text in lines(args.lines):
        pos.append(ring.head)
        ring.append(cpu, src, tsc, text)
    if args.spoil:
        spoil(ring, args.spoil, pos)
    d = args.dir
    mem = os.path.join(d, "dev/mem")
    write(mem, b"")
    with open(mem, "r+b") as f:
        f.seek(args.phys)
        f.write(ring.area)
        f.truncate(args.phys + area_size + 0x10000)
    regions = [(0, 0x9FFFF, "System RAM"), (args.phys - 0x10000, args.phys + area_size + 0xFFFF, "Reserved"),
               (args.phys + area_size + 0x10000, args.phys + area_size + 0x10FFFF, "System RAM")]
    for i, (s, e, t) in enumerate(regions):
        for name, val in (("start", "0x%x" % s), ("end", "0x%x" % e), ("type", t)):
            write(os.path.join(d, "sys/firmware/memmap/%d/%s" % (i, name)), (val + "\n").encode())
    os.makedirs(os.path.join(d, "sys/firmware/acpi/tables"), exist_ok=True)
    if args.acpi:
        write(os.path.join(d, "sys/firmware/acpi/tables/MHVL"), acpi_table(args.phys, area_size, args.spoil or ""))
    # The lines kept (after drops), as minihv-log prints them.
    for seq, (cpu, src, tsc, text) in enumerate(lines(args.lines)):
        if pos[seq] >= ring.tail:
            print(fmt(seq, cpu, src, tsc, text))
    if ring.dropped:
        print("minihv-log: %d lines dropped (overwritten by newer lines), 0 lost (the ring was busy)" % ring.dropped)


def append(args):
    import time
    mem = os.path.join(args.dir, "dev/mem")
    with open(mem, "r+b") as f:
        f.seek(args.phys)
        hdr = bytearray(f.read(4096))
        ds = struct.unpack_from("<I", hdr, 20)[0]
        f.seek(args.phys + 4096)
        data = bytearray(f.read(ds))
        ring = Ring(ds, 4096 + ds)
        ring.area[:4096] = hdr
        ring.area[4096:] = data
        ring.head, ring.tail, ring.seq, ring.dropped = struct.unpack_from("<QQQQ", hdr, 64)
        for i in range(args.lines):
            r = record(ring.seq, 1, 1, BASE + 10**9 + i, "minihv: hv: follow %d" % (args.start + i))
            while ring.head + len(r) - ring.tail > ds:  # tail first
                ring.tail += struct.unpack_from("<H", ring.area, 4096 + ring.tail % ds)[0]
                ring.dropped += 1
            f.seek(args.phys + 72)
            f.write(struct.pack("<Q", ring.tail))
            f.flush()
            ring.put(ring.head, r)
            at = ring.head % ds  # the bytes, in at most two pieces
            f.seek(args.phys + 4096 + at)
            f.write(r[:ds - at])
            if len(r) > ds - at:
                f.seek(args.phys + 4096)
                f.write(r[ds - at:])
            ring.head += len(r)
            ring.seq += 1
            f.seek(args.phys + 80)
            f.write(struct.pack("<QQ", ring.seq, ring.dropped))
            f.seek(args.phys + 64)  # head last
            f.write(struct.pack("<Q", ring.head))
            f.flush()
            time.sleep(args.delay)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["tree", "append"])
    p.add_argument("dir")
    p.add_argument("--phys", type=lambda s: int(s, 0), default=0x7E000000)
    p.add_argument("--data", type=lambda s: int(s, 0), default=8192)
    p.add_argument("--lines", type=int, default=20)
    p.add_argument("--from", dest="start", type=int, default=0)
    p.add_argument("--delay", type=float, default=0.0)
    p.add_argument("--acpi", action="store_true")
    p.add_argument("--spoil", default="")
    a = p.parse_args()
    tree(a) if a.cmd == "tree" else append(a)


if __name__ == "__main__":
    main()
