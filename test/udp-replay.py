#!/usr/bin/env python3
"""udp-replay.py LISTEN_HOST LISTEN_PORT TO_HOST TO_PORT - a UDP relay that
can replay: datagrams from the one client are passed to the server from
the relay's own socket and the answers back; on SIGUSR1 the last datagram
the client sent that was a DTLS application-data record (content type 23)
is sent to the server once more, as an attacker on the path would."""
import select
import signal
import socket
import sys

lhost, lport, thost, tport = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
front.bind((lhost, lport))
back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
back.connect((thost, tport))
print("listening on %s:%d" % (lhost, lport), flush=True)
client = None
last_app = None
replay = False


def on_usr1(signum, frame):
    global replay
    replay = True


signal.signal(signal.SIGUSR1, on_usr1)
while True:
    try:
        ready, _, _ = select.select([front, back], [], [], 0.1)
    except InterruptedError:
        ready = []
    if replay:
        replay = False
        if last_app:
            back.send(last_app)
            print("replayed 1 record of %d bytes" % len(last_app), flush=True)
    for s in ready:
        data, addr = s.recvfrom(65536)
        if s is front:
            client = addr
            if data and data[0] == 23:
                last_app = data
            back.send(data)
        elif client:
            front.sendto(data, client)
