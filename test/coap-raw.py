#!/usr/bin/env python3
r"""coap-raw.py - hand-made CoAP datagrams for the tests of bounds and crashes.

  coap-raw.py HOST PORT block2 PATH NUM SZX
      GET PATH with Block2 NUM/SZX; prints the answer's code ("4.00").
  coap-raw.py HOST PORT proxy-uri VALUE
      GET with only a Proxy-Uri option of VALUE (libcoap 4.3.1 read past
      its buffer splitting a short one, OSV-2022-150); prints the code.
  coap-raw.py HOST PORT get PATH
      GET PATH, whose segments may hold any byte written as \xNN (a NUL,
      a control character, invalid UTF-8); prints the code.
  coap-raw.py HOST PORT block1-restart PATH
      POST PATH Block1 num 0 M=1 (1,024 bytes, no Size1), then Block1 num 0
      M=0 with the same token; prints both codes.
  coap-raw.py HOST PORT upload PATH BYTES [--size1 N] [--stop-after K]
              [--skip K] [--tag T]
      POST BYTES bytes of JSON-ish filler block-wise (1,024-byte blocks);
      prints each block's answer code, one a line, and stops at the first
      answer that is not 2.31 (or after K blocks, leaving it unfinished).
      --size1 sends Size1 = N on every block; --skip jumps over block K.
  coap-raw.py HOST PORT burst PATH COUNT PAYLOAD
      COUNT confirmable POSTs of PAYLOAD sent back to back, then their
      answers gathered (3 s at most); prints "answers=N piggybacked=P
      empty_acks=E separate=S block2=B codes=..." where piggybacked
      counts ACKs with the request's message id and token and an answer.
  coap-raw.py HOST PORT held PATH[?QUERY] COUNT
      COUNT GETs, each with a Request-Tag of its own, each taking block 0
      of its answer and never asking for the next (libcoap holds the rest
      for the client); prints "ok=N busy=M other=K max_age=A", and stops
      at the first ask not answered.
  coap-raw.py HOST PORT observe PATH COUNT [--hold SECS]
      COUNT Observe registrations, each from its own socket (source port);
      prints "ok=N refused=M other=K"; with --hold, keeps the sockets open
      SECS seconds before closing them (a closed socket is a gone observer).

Only what the tests need; every datagram waits for its answer (2 s, three
tries), so nothing here floods by accident.
"""
import os
import socket
import struct
import sys
import time

CON, NON, ACK, RST = 0, 1, 2, 3
GET, POST = 1, 2
OBSERVE, URI_PATH, CONTENT_FORMAT, MAX_AGE, URI_QUERY = 6, 11, 12, 14, 15
BLOCK2, BLOCK1, PROXY_URI, SIZE1, RTAG = 23, 27, 35, 60, 292


def uint_bytes(v):
    out = b""
    while v:
        out = bytes([v & 0xFF]) + out
        v >>= 8
    return out


def opt_ext(v):
    if v < 13:
        return v, b""
    if v < 269:
        return 13, bytes([v - 13])
    return 14, struct.pack("!H", v - 269)


def encode(mtype, code, mid, token, options, payload=b""):
    out = bytes([0x40 | (mtype << 4) | len(token), code]) + struct.pack("!H", mid) + token
    last = 0
    for num, val in sorted(options, key=lambda o: o[0]):
        d, dx = opt_ext(num - last)
        l, lx = opt_ext(len(val))
        out += bytes([(d << 4) | l]) + dx + lx + val
        last = num
    if payload:
        out += b"\xff" + payload
    return out


def decode(data):
    """-> (type, code string, mid, token, {option: [values]}, payload)"""
    tkl = data[0] & 0x0F
    code = data[1]
    mid = struct.unpack("!H", data[2:4])[0]
    token = data[4:4 + tkl]
    i, num, opts = 4 + tkl, 0, {}
    while i < len(data) and data[i] != 0xFF:
        d, l = data[i] >> 4, data[i] & 0x0F
        i += 1
        for which in ("d", "l"):
            v = d if which == "d" else l
            if v == 13:
                v = data[i] + 13
                i += 1
            elif v == 14:
                v = struct.unpack("!H", data[i:i + 2])[0] + 269
                i += 2
            if which == "d":
                d = v
            else:
                l = v
        num += d
        opts.setdefault(num, []).append(data[i:i + l])
        i += l
    payload = data[i + 1:] if i < len(data) else b""
    return (data[0] >> 4) & 3, "%d.%02d" % (code >> 5, code & 31), mid, token, opts, payload


def path_opts(path):
    path, _, query = path.partition("?")
    return [(URI_PATH, p.encode()) for p in path.strip("/").split("/") if p] + \
        [(URI_QUERY, q.encode()) for q in query.split("&") if q]


def block_val(num, more, szx):
    return uint_bytes((num << 4) | (8 if more else 0) | szx)


class Peer:
    def __init__(self, host, port):
        self.addr = (host, int(port))
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.mid = int.from_bytes(os.urandom(2), "big")

    def ask(self, code, options, payload=b"", token=None):
        self.mid = (self.mid + 1) & 0xFFFF
        token = token if token is not None else os.urandom(4)
        dgram = encode(CON, code, self.mid, token, options, payload)
        for _ in range(3):
            self.sock.sendto(dgram, self.addr)
            self.sock.settimeout(2.0)
            try:
                while True:
                    data, _ = self.sock.recvfrom(65536)
                    ans = decode(data)
                    if ans[2] == self.mid or ans[3] == token:
                        return ans
            except socket.timeout:
                continue
        return None


def code_of(ans):
    return ans[1] if ans else "timeout"


def main(argv):
    host, port, cmd = argv[1], argv[2], argv[3]
    rest = argv[4:]
    p = Peer(host, port)
    if cmd == "block2":
        path, num, szx = rest[0], int(rest[1]), int(rest[2])
        print(code_of(p.ask(GET, path_opts(path) + [(BLOCK2, block_val(num, 0, szx))])))
    elif cmd == "get":
        raw = rest[0].encode().decode("unicode_escape").encode("latin-1")
        segs = [(URI_PATH, seg) for seg in raw.strip(b"/").split(b"/") if seg]
        print(code_of(p.ask(GET, segs)))
    elif cmd == "proxy-uri":
        print(code_of(p.ask(GET, [(PROXY_URI, rest[0].encode())])))
    elif cmd == "block1-restart":
        path, token = rest[0], os.urandom(4)
        body = b"x" * 1024
        print(code_of(p.ask(POST, path_opts(path) + [(BLOCK1, block_val(0, 1, 6))], body, token)))
        print(code_of(p.ask(POST, path_opts(path) + [(BLOCK1, block_val(0, 0, 6))], b"{}", token)))
    elif cmd == "upload":
        path, total = rest[0], int(rest[1])
        size1 = stop = skip = None
        tag = None
        i = 2
        while i < len(rest):
            if rest[i] == "--size1":
                size1 = int(rest[i + 1])
            elif rest[i] == "--stop-after":
                stop = int(rest[i + 1])
            elif rest[i] == "--skip":
                skip = int(rest[i + 1])
            elif rest[i] == "--tag":
                tag = rest[i + 1].encode()
            i += 2
        nblocks = (total + 1023) // 1024
        for num in range(nblocks):
            if stop is not None and num >= stop:
                return 0
            if skip is not None and num == skip:
                continue
            chunk = b"x" * min(1024, total - num * 1024)
            opts = path_opts(path) + [(BLOCK1, block_val(num, num + 1 < nblocks, 6)),
                                      (CONTENT_FORMAT, b"\x32")]
            if size1 is not None:
                opts.append((SIZE1, uint_bytes(size1)))
            if tag:
                opts.append((RTAG, tag))
            ans = p.ask(POST, opts, chunk)
            print(code_of(ans))
            if not ans or ans[1] != "2.31":
                if ans and SIZE1 in ans[4]:
                    print("size1=%d" % int.from_bytes(ans[4][SIZE1][0], "big"))
                if ans and MAX_AGE in ans[4]:
                    print("max_age=%d" % int.from_bytes(ans[4][MAX_AGE][0], "big"))
                return 0
    elif cmd == "burst":
        path, count, payload = rest[0], int(rest[1]), rest[2].encode()
        sent = {}
        for _ in range(count):
            p.mid = (p.mid + 1) & 0xFFFF
            token = os.urandom(8)
            sent[p.mid] = token
            p.sock.sendto(encode(CON, POST, p.mid, token,
                                 path_opts(path) + [(CONTENT_FORMAT, b"\x32")], payload), p.addr)
        got = piggy = empty = separate = block2 = 0
        codes = {}
        p.sock.settimeout(0.2)
        end = time.time() + 3
        while time.time() < end and piggy + separate < count:
            try:
                data, _ = p.sock.recvfrom(65536)
            except socket.timeout:
                continue
            mtype, code, mid, token, opts, _ = decode(data)
            got += 1
            if code == "0.00":
                empty += 1
                continue
            codes[code] = codes.get(code, 0) + 1
            block2 += BLOCK2 in opts
            if mtype == ACK and sent.get(mid) == token:
                piggy += 1
            else:
                separate += 1
                if mtype == CON:
                    p.sock.sendto(encode(ACK, 0, mid, b"", []), p.addr)
        print("answers=%d piggybacked=%d empty_acks=%d separate=%d block2=%d codes=%s" %
              (got, piggy, empty, separate, block2,
               ",".join("%s:%d" % kv for kv in sorted(codes.items()))))
    elif cmd == "held":
        path, count = rest[0], int(rest[1])
        ok = busy = other = 0
        max_age = -1
        for i in range(count):
            ans = p.ask(GET, path_opts(path) + [(RTAG, struct.pack("!I", i))])
            if ans and ans[1] == "2.05":
                ok += 1
            elif ans and ans[1] == "5.03":
                busy += 1
                if MAX_AGE in ans[4]:
                    max_age = int.from_bytes(ans[4][MAX_AGE][0], "big")
            else:
                other += 1
                if not ans:
                    break           # the role is gone: no 2-hour wait
        print("ok=%d busy=%d other=%d max_age=%d" % (ok, busy, other, max_age))
    elif cmd == "observe":
        path, count = rest[0], int(rest[1])
        hold = float(rest[3]) if len(rest) > 3 and rest[2] == "--hold" else 0
        ok = refused = other = 0
        peers = []
        for _ in range(count):
            q = Peer(host, port)
            ans = q.ask(GET, path_opts(path) + [(OBSERVE, b"")])
            if ans and ans[1].startswith("2.") and OBSERVE in ans[4]:
                ok += 1
            elif ans and ans[1] == "5.03":
                refused += 1
            else:
                other += 1
            if hold:
                peers.append(q)
            else:
                q.sock.close()
        print("ok=%d refused=%d other=%d" % (ok, refused, other))
        sys.stdout.flush()
        if hold:
            time.sleep(hold)
        for q in peers:
            q.sock.close()
    else:
        print("unknown command " + cmd, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
