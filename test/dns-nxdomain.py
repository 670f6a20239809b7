#!/usr/bin/python3
# dns-nxdomain.py ADDR: the DNS server of a LAN that knows none of the
# names it is asked: NXDOMAIN for every query, at once, on ADDR port 53.
#
# t0520's nodes have no resolver of their own: without one, Docker's
# embedded DNS forwards a name no task answers to to an upstream that never
# replies, and the lookup in a role waits out musl's 5 s timeout.
import socket
import sys

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((sys.argv[1], 53))
while True:
    query, peer = sock.recvfrom(4096)
    if len(query) < 12:
        continue
    # the question: the name's labels, then type and class
    end = 12
    while end < len(query) and query[end]:
        end += 1 + query[end]
    end += 5
    if end > len(query):
        continue
    flags = bytes([0x80 | (query[2] & 0x79), 0x83])   # QR, opcode+RD kept; RA, NXDOMAIN
    counts = b"\x00\x01\x00\x00\x00\x00\x00\x00"
    sock.sendto(query[:2] + flags + counts + query[12:end], peer)
