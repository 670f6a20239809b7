#!/usr/bin/python3
"""coap-sink.py HOST PORT FILE [CODE] - a minimal CoAP server for the tests
of roles that report to a peer (bs -> MCS): every request is answered with
CODE (default 2.04) and appended to FILE as one line "METHOD /path BODY".
A retransmission (same source and message id) is answered again but
recorded once.  Only what a small report needs: no block-wise, no observe.
"""
import socket
import sys

METHODS = {1: 'GET', 2: 'POST', 3: 'PUT', 4: 'DELETE'}


def parse(data):
    """(type, code, mid, token, path, payload) or None if malformed."""
    if len(data) < 4 or data[0] >> 6 != 1:
        return None
    mtype, tkl = (data[0] >> 4) & 3, data[0] & 15
    code, mid = data[1], int.from_bytes(data[2:4], 'big')
    if tkl > 8 or len(data) < 4 + tkl:
        return None
    token, i, number, path = data[4:4 + tkl], 4 + tkl, 0, []
    while i < len(data) and data[i] != 0xFF:
        delta, length = data[i] >> 4, data[i] & 15
        i += 1
        ext = {13: (1, 13), 14: (2, 269)}
        if delta in ext:
            n, base = ext[delta]
            delta = int.from_bytes(data[i:i + n], 'big') + base
            i += n
        if length in ext:
            n, base = ext[length]
            length = int.from_bytes(data[i:i + n], 'big') + base
            i += n
        if delta == 15 or length == 15:
            return None
        number += delta
        if number == 11:
            path.append(data[i:i + length].decode('utf-8', 'replace'))
        i += length
    payload = data[i + 1:] if i < len(data) else b''
    return mtype, code, mid, token, '/' + '/'.join(path), payload


def main():
    host, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    major, minor = (sys.argv[4] if len(sys.argv) > 4 else '2.04').split('.')
    answer = int(major) << 5 | int(minor)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, port))
    seen, next_mid = set(), 1
    while True:
        data, peer = sock.recvfrom(2048)
        msg = parse(data)
        if not msg or msg[1] == 0:
            continue
        mtype, code, mid, token, path, payload = msg
        if (peer, mid) not in seen:
            seen.add((peer, mid))
            with open(out, 'a') as f:
                f.write('%s %s %s\n' % (METHODS.get(code, code), path,
                                        payload.decode('utf-8', 'replace')))
        if mtype == 0:      # CON: piggybacked ACK
            reply = bytes([0x60 | len(token), answer]) + mid.to_bytes(2, 'big') + token
        else:               # NON: a NON answer
            next_mid = (next_mid + 1) & 0xFFFF
            reply = bytes([0x50 | len(token), answer]) + next_mid.to_bytes(2, 'big') + token
        sock.sendto(reply, peer)


if __name__ == '__main__':
    main()
