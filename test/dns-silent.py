#!/usr/bin/python3
# dns-silent.py ADDR LOG: an upstream DNS server that never answers, as
# the one Docker's embedded DNS forwards to when a Swarm node is down.
# Each query's name goes to LOG, a line each, so a test knows a lookup
# is hanging now.
import socket
import sys

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((sys.argv[1], 53))
while True:
    query, peer = sock.recvfrom(4096)
    labels, at = [], 12
    while at < len(query) and query[at]:
        labels.append(query[at + 1:at + 1 + query[at]].decode("ascii", "replace"))
        at += 1 + query[at]
    with open(sys.argv[2], "a") as log:
        log.write(".".join(labels) + "\n")
