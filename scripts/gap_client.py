#!/usr/bin/env python3
"""A fixed-rate ICMP echo client for the lab's gap measurements.

    gap_client.py ADDRESS INTERVAL_S COUNT

Sends COUNT echo requests to ADDRESS exactly INTERVAL_S apart (whatever is lost) and prints one line
per reply, `[UNIX_TIME] reply from ADDRESS seq=N`, like `ping -D`. iputils ping cannot be used for
this below a 10 ms interval: after an unanswered echo it waits about 10 ms before the next one, so a
single lost echo reads as an 11 ms gap. Bounded: it stops after COUNT requests plus 0.5 s (or on
SIGINT/SIGTERM). Needs root (a raw ICMP socket); run it inside the lab's client namespace. An IPv6
ADDRESS is sent ICMPv6 echo (the kernel fills in the ICMPv6 checksum and strips the IPv6 header).
"""
import os
import select
import signal
import socket
import struct
import sys
import time


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def main():
    dst, interval, count = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    if not (0.0005 <= interval <= 1.0 and 0 < count <= 100000):
        sys.exit("gap_client.py: interval 0.0005..1 s, count 1..100000")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    v6 = ":" in dst
    if v6:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    request, reply = (128, 129) if v6 else (8, 0)
    sock.setblocking(False)
    ident = os.getpid() & 0xFFFF
    payload = b"failoverctl-gap" + bytes(41)
    start = time.monotonic()
    sent = 0
    out = sys.stdout
    try:
        while True:
            now = time.monotonic()
            due = start + sent * interval
            if sent < count and now >= due:
                head = struct.pack("!BBHHH", request, 0, 0, ident, sent & 0xFFFF)
                summed = 0 if v6 else checksum(head + payload)
                packet = struct.pack("!BBHHH", request, 0, summed, ident, sent & 0xFFFF)
                try:
                    sock.sendto(packet + payload, (dst, 0))
                except OSError:
                    pass  # no neighbour yet (ENOBUFS, EHOSTUNREACH): counts as lost
                sent += 1
                continue
            if sent >= count and now > start + count * interval + 0.5:
                break
            wait = max(0.0, (due if sent < count else now + 0.05) - now)
            ready, _, _ = select.select([sock], [], [], wait)
            while ready:
                try:
                    data, addr = sock.recvfrom(2048)
                    src = addr[0]
                except BlockingIOError:
                    break
                hl = 0 if v6 else (data[0] & 0x0F) * 4
                if len(data) < hl + 8 or src != dst:
                    continue
                typ, _, _, rid, seq = struct.unpack("!BBHHH", data[hl:hl + 8])
                if typ == reply and rid == ident:
                    out.write("[%.6f] reply from %s seq=%d\n" % (time.time(), src, seq))
            out.flush()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
