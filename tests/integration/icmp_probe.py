"""Sends datagrams tapsrv has no use for and reports the ICMP error each one earns.

Usage: icmp_probe.py DST. Prints one line per probe: "proto253 type=3 code=2 quoted=ok".
"""
import socket
import struct
import sys
import time

dst = sys.argv[1]
icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
icmp.settimeout(2.0)


def wait_error(marker: bytes) -> str:
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        try:
            data, (src, _) = icmp.recvfrom(2048)
        except socket.timeout:
            break
        ihl = (data[0] & 0xF) * 4
        kind, code = data[ihl], data[ihl + 1]
        quoted = data[ihl + 8:]
        if src == dst and kind == 3 and marker in quoted:
            return f"type={kind} code={code} quoted=ok len={len(data) - ihl}"
    return "none"


raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, 253)
marker = b"tapsrv-probe-253"
raw.sendto(marker, (dst, 0))
print("proto253", wait_error(marker))

udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
marker = b"tapsrv-probe-udp"
udp.sendto(marker, (dst, 9999))
print("udp9999", wait_error(marker))

# A large datagram: the error quotes at most 576 - 20 - 8 bytes of it.
marker = b"tapsrv-big"
raw.sendto(marker + b"x" * 1200, (dst, 0))
print("proto253big", wait_error(marker))
