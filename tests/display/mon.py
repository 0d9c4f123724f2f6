#!/usr/bin/env python3
"""mon.py SOCKET CMD... — QEMU HMP commands over a unix-socket monitor
(check-display, issue 19); each command's output on stdout. Exit 1 when the
socket cannot be reached."""
import socket
import sys
import time


def until_prompt(s):
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


def main(argv):
    s = socket.socket(socket.AF_UNIX)
    for _ in range(50):
        try:
            s.connect(argv[1])
            break
        except OSError:
            time.sleep(0.1)
    else:
        print(f'mon.py: cannot connect to {argv[1]}', file=sys.stderr)
        return 1
    s.settimeout(10)
    until_prompt(s)
    for cmd in argv[2:]:
        s.sendall(cmd.encode() + b'\n')
        sys.stdout.write(until_prompt(s).decode(errors='replace'))
    s.close()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
