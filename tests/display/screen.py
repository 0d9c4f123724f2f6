#!/usr/bin/env python3
"""check-display's pictures (issue 19), independent of the guest's tool.

  screen.py pattern W H OUT.ppm
      the expected test pattern (what tests/guests/linux/fbpattern.c should
      draw, written down again here from its definition):
        red = x & 0xff, green = y & 0xff,
        blue = (((x >> 8) & 0xf) << 4 | ((y >> 8) & 0xf)) ^ 0x5a
  screen.py compare SHOT.ppm EXPECTED.ppm [--allow X,Y,W,H ...]
      pixel for pixel; pixels inside an --allow rectangle (a documented
      cursor/console area) are not compared. Prints "compared N differing
      D" and the first differences; exit 1 when D > 0 or the sizes differ.
  screen.py text SHOT.ppm [CELL_W CELL_H PREFIX_CELLS]
      a text screen (firmware console): background colour, "lit" pixels
      (not the background), the bands of lit pixel rows (text lines), the
      colours of the lit pixels, and same_prefix: on the character grid
      (cells CELL_W x CELL_H, 8x19 for OVMF's console, from the first lit
      column and the first band's top) the most rows whose first
      PREFIX_CELLS (8) cells are pixel-identical (e.g. lines that all begin
      "minihv: "). Prints one key=value line; exit 1 when the picture is
      blank (one colour).
PPM: binary P6, maxval 255, as QEMU's screendump writes it.
"""
import sys
from collections import Counter


def read_ppm(path):
    data = open(path, 'rb').read()
    # Header: P6 <ws> W <ws> H <ws> MAXVAL <one ws> data; '#' comments.
    fields, i = [], 0
    while len(fields) < 4:
        while data[i:i + 1].isspace():
            i += 1
        if data[i:i + 1] == b'#':
            while data[i:i + 1] not in (b'\n', b''):
                i += 1
            continue
        j = i
        while not data[j:j + 1].isspace():
            j += 1
        fields.append(data[i:j])
        i = j
    i += 1
    if fields[0] != b'P6':
        raise SystemExit(f'{path}: magic {fields[0]!r}, want P6')
    w, h, maxval = int(fields[1]), int(fields[2]), int(fields[3])
    if maxval != 255:
        raise SystemExit(f'{path}: maxval {maxval}, want 255')
    px = data[i:i + w * h * 3]
    if len(px) != w * h * 3:
        raise SystemExit(f'{path}: {len(px)} pixel bytes, want {w * h * 3} for {w}x{h}')
    return w, h, px


def write_ppm(path, w, h, px):
    with open(path, 'wb') as f:
        f.write(b'P6\n%d %d\n255\n' % (w, h))
        f.write(px)


def pattern(w, h):
    out = bytearray(w * h * 3)
    k = 0
    for y in range(h):
        g = y & 0xff
        yb = (y >> 8) & 0xf
        for x in range(w):
            out[k] = x & 0xff
            out[k + 1] = g
            out[k + 2] = ((((x >> 8) & 0xf) << 4) | yb) ^ 0x5a
            k += 3
    return bytes(out)


def compare(shot, expected, allow):
    sw, sh, sp = read_ppm(shot)
    ew, eh, ep = read_ppm(expected)
    if (sw, sh) != (ew, eh):
        print(f'compared 0 differing {ew * eh} (screendump {sw}x{sh}, expected {ew}x{eh})')
        return 1
    allowed = bytearray(sw * sh)
    for x0, y0, w, h in allow:
        for y in range(max(0, y0), min(sh, y0 + h)):
            for x in range(max(0, x0), min(sw, x0 + w)):
                allowed[y * sw + x] = 1
    compared = differing = 0
    first = []
    if sp == ep:
        compared = sw * sh - sum(allowed)
    else:
        for y in range(sh):
            row = y * sw * 3
            if sp[row:row + sw * 3] == ep[row:row + sw * 3]:
                compared += sw - sum(allowed[y * sw:(y + 1) * sw])
                continue
            for x in range(sw):
                if allowed[y * sw + x]:
                    continue
                compared += 1
                k = row + x * 3
                if sp[k:k + 3] != ep[k:k + 3]:
                    differing += 1
                    if len(first) < 5:
                        first.append(f'({x},{y}) got {sp[k:k + 3].hex()} want {ep[k:k + 3].hex()}')
    print(f'compared {compared} differing {differing} allowed {sum(allowed)} size {sw}x{sh}'
          + (' first: ' + '; '.join(first) if first else ''))
    return 1 if differing else 0


def same_prefix(w, h, p, bg, first_row, cw, ch, ncells):
    lit_x = [x for x in range(w) if any(p[(y * w + x) * 3:(y * w + x) * 3 + 3] != bg
                                          for y in range(first_row, min(h, first_row + 40 * ch), 2))]
    if not lit_x:
        return 0
    x0 = lit_x[0]
    blocks = Counter()
    y = first_row
    while y + ch <= h:
        blk = b''.join(p[((y + r) * w + x0) * 3:((y + r) * w + x0 + cw * ncells) * 3] for r in range(ch - 2))
        if blk != bg * (len(blk) // 3):
            blocks[blk] += 1
        y += ch
    return blocks.most_common(1)[0][1] if blocks else 0


def text(shot, cw=8, ch=19, ncells=8):
    w, h, p = read_ppm(shot)
    colours = Counter(p[k:k + 3] for k in range(0, len(p), 3))
    bg, nbg = colours.most_common(1)[0]
    lit_rows = []
    for y in range(h):
        row = p[y * w * 3:(y + 1) * w * 3]
        if row != bg * w:
            lit_rows.append(y)
    # Bands of consecutive lit pixel rows (text lines, allowing a blank
    # pixel row inside a glyph band).
    bands = []
    for y in lit_rows:
        if bands and y - bands[-1][1] <= 2:
            bands[-1][1] = y
        else:
            bands.append([y, y])
    fg = ','.join(f'{c.hex()}:{n}' for c, n in colours.most_common(4)[1:])
    last = bands[-1][1] if bands else -1
    same = same_prefix(w, h, p, bg, bands[0][0], cw, ch, ncells) if bands else 0
    print(f'size={w}x{h} background={bg.hex()} lit={w * h - nbg} colours={len(colours)} '
          f'text_bands={len(bands)} last_lit_row={last} same_prefix={same} fg={fg or "-"}')
    return 1 if len(colours) < 2 else 0


def main(argv):
    if len(argv) >= 5 and argv[1] == 'pattern':
        w, h = int(argv[2]), int(argv[3])
        if not (0 < w <= 8192 and 0 < h <= 8192):
            raise SystemExit(f'pattern: size {w}x{h} out of range')
        write_ppm(argv[4], w, h, pattern(w, h))
        return 0
    if len(argv) >= 4 and argv[1] == 'compare':
        allow, rest = [], argv[4:]
        while rest:
            if rest[0] != '--allow' or len(rest) < 2:
                raise SystemExit(f'compare: unknown argument {rest[0]}')
            allow.append(tuple(int(v) for v in rest[1].split(',')))
            rest = rest[2:]
        return compare(argv[2], argv[3], allow)
    if len(argv) in (3, 6) and argv[1] == 'text':
        return text(argv[2], *(int(v) for v in argv[3:]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
