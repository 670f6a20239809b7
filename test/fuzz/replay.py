#!/usr/bin/env python3
"""replay.py - send a fuzz input of a role target to a running role.

  replay.py [-v] HOST PORT FILE...

A role target's input (test/fuzz/roles.c) is datagrams, each a 2-byte
big-endian length and that many bytes (the last one may be short).  Each
FILE's datagrams are sent in order from one UDP socket, as nano-fuzz does,
waiting up to 0.3 s after each for answers; -v prints each answer's code.
Then GET /health from a fresh socket must be answered (three tries of 1 s):
exit 0 if it is, 1 if the role no longer answers.
"""
import os
import socket
import struct
import sys

MAX_DGRAMS = 8          # as roles.c


def datagrams(data):
    i, out = 0, []
    while len(out) < MAX_DGRAMS and i + 2 <= len(data):
        n = struct.unpack("!H", data[i:i + 2])[0]
        i += 2
        out.append(data[i:i + n])
        i += n
    return out


def code_of(d):
    return "%d.%02d" % (d[1] >> 5, d[1] & 31) if len(d) > 1 else "?"


def health(host, port):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    mid = int.from_bytes(os.urandom(2), "big")
    req = bytes([0x42, 0x01]) + struct.pack("!H", mid) + b"hc" + b"\xb6health"
    s.settimeout(1.0)
    for _ in range(3):
        s.sendto(req, (host, port))
        try:
            while True:
                d, _ = s.recvfrom(65536)
                if len(d) >= 4 and d[2:4] == req[2:4]:
                    return code_of(d)
        except socket.timeout:
            continue
        except OSError:
            return None
    return None


def main(argv):
    verbose = len(argv) > 1 and argv[1] == "-v"
    if verbose:
        argv = argv[:1] + argv[2:]
    host, port = argv[1], int(argv[2])
    for path in argv[3:]:
        with open(path, "rb") as f:
            data = f.read()
        s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
        s.connect((host, port))
        for d in datagrams(data):
            try:
                s.send(d)
            except OSError:
                pass
            s.settimeout(0.3)
            try:
                while True:
                    a = s.recv(65536)
                    if verbose:
                        print("%s: %s" % (os.path.basename(path), code_of(a)))
                    s.settimeout(0.05)
            except (socket.timeout, OSError):
                pass
        s.close()
    code = health(host, port)
    if code is None:
        print("replay: %s:%d no longer answers GET /health" % (host, port), file=sys.stderr)
        return 1
    if verbose:
        print("health: %s" % code)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
