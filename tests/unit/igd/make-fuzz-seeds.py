#!/usr/bin/env python3
"""Writes the small synthetic seed inputs for the IGD fuzzers into
tests/fuzz/corpus/fuzz_igd_{vbt,opregion,rom}/. Run from the repo root;
the output is committed, so this only needs re-running to change seeds."""
import os, struct

def vbt(size_pad=0, mipi_v3=True, bdb_version=230):
    blocks = b''
    blocks += bytes([1]) + struct.pack('<H', 8) + bytes(8)
    child = bytearray(38); struct.pack_into('<HH', child, 0, 0x0008, 0x1806)
    child[16] = 10; child[25] = 0x40
    gendefs = bytes([2, 0, 0, 0, 38]) + bytes(child) + bytes(38)
    blocks += bytes([2]) + struct.pack('<H', len(gendefs)) + gendefs
    blocks += bytes([40]) + struct.pack('<H', 4) + bytes([2, 0, 0, 0])
    if mipi_v3:
        body = bytes([3]) + struct.pack('<I', 16) + bytes(11)
        blocks += bytes([53]) + struct.pack('<H', 0) + body
    blocks += bytes([254]) + struct.pack('<H', 4 + size_pad) + bytes(4 + size_pad)
    bdb = b'BIOS_DATA_BLOCK ' + struct.pack('<HHH', bdb_version, 22, 22 + len(blocks)) + blocks
    hdr = bytearray(48)
    hdr[0:20] = b'$VBT FUZZSEED       '
    struct.pack_into('<HHH', hdr, 0x14, 100, 48, 48 + len(bdb))
    struct.pack_into('<I', hdr, 0x1C, 48)
    out = bytearray(hdr + bdb)
    out[0x1A] = (-sum(out)) & 0xFF
    return bytes(out)

def opregion(version, mboxes, rvda=0, rvds=0, mbox4=b''):
    o = bytearray(0x2000)
    o[0:16] = b'IntelGraphicsMem'
    struct.pack_into('<I', o, 0x10, 8)
    struct.pack_into('<H', o, 0x16, version)
    struct.pack_into('<I', o, 0x58, mboxes)
    struct.pack_into('<Q', o, 0x3BA, rvda)
    struct.pack_into('<I', o, 0x3C2, rvds)
    o[0x400:0x400 + len(mbox4)] = mbox4
    return bytes(o)

def rom_image(code_type, vendor, device, cls, sectors, last, efi=False):
    img = bytearray(sectors * 512)
    img[0:2] = b'\x55\xaa'
    if efi:
        struct.pack_into('<HIHH', img, 2, sectors, 0x0EF1, 11, 0x8664)
    else:
        img[2] = sectors
    struct.pack_into('<H', img, 0x18, 0x1C)
    p = 0x1C
    img[p:p + 4] = b'PCIR'
    struct.pack_into('<HHHHB', img, p + 4, vendor, device, 0, 0x18, 0)
    img[p + 0x0D:p + 0x10] = bytes(cls)
    struct.pack_into('<HHBB', img, p + 0x10, sectors, 1, code_type, 0x80 if last else 0)
    return bytes(img)

def write(d, name, data):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)

c = 'tests/fuzz/corpus/'
write(c + 'fuzz_igd_vbt', 'synthetic_mipi_v3', vbt())
write(c + 'fuzz_igd_vbt', 'synthetic_legacy', vbt(mipi_v3=False, bdb_version=146))
v = vbt()
write(c + 'fuzz_igd_opregion', 'v20_mailbox4', opregion(0x0200, 0x7, mbox4=v))
write(c + 'fuzz_igd_opregion', 'v21_relative', opregion(0x0201, 0x5, 0x2000, len(v)) + v)
write(c + 'fuzz_igd_opregion', 'v20_absolute', opregion(0x0200, 0x5, 0x10000000, len(v)) + v)
write(c + 'fuzz_igd_opregion', 'v30_asle_ext', opregion(0x0300, 0x35, mbox4=v))
write(c + 'fuzz_igd_rom', 'x86_efi', rom_image(0, 0x8086, 0x1912, [0, 0, 3], 2, False)
      + rom_image(3, 0x8086, 0x1912, [0, 0, 3], 1, True, efi=True))
write(c + 'fuzz_igd_rom', 'x86_only', rom_image(0, 0x8086, 0x1912, [0, 0, 3], 1, True))
