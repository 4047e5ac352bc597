"""Sends malformed and unwanted frames to tapsrv through the kernel side of its TAP.

Usage: garbage.py IFNAME OUR_MAC COUNT SEED. Every kind of frame below is sent COUNT // kinds
times, in paced bursts so the TAP's queue never overflows. Prints the number sent per kind.
"""
import random
import socket
import struct
import sys
import time

from packets import csum

ifname, mac_text, count, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
us = bytes.fromhex(mac_text.replace(":", ""))
peer = bytes.fromhex("021122334455")
src_ip, dst_ip = socket.inet_aton("10.0.0.1"), socket.inet_aton("10.0.0.2")


def eth(payload: bytes, etype: int = 0x0800, dst: bytes = us) -> bytes:
    return dst + peer + struct.pack("!H", etype) + payload


def ipv4(payload: bytes, proto: int = 1, total=None, ihl=5, ver=4, frag=0, src=src_ip,
         good_csum=True) -> bytes:
    total = 20 + len(payload) if total is None else total
    h = struct.pack("!BBHHHBBH4s4s", (ver << 4) | ihl, 0, total, 1, frag, 64, proto, 0, src,
                    dst_ip)
    c = csum(h) if good_csum else (csum(h) ^ 0x5A5A)
    return h[:10] + struct.pack("!H", c) + h[12:] + payload


def icmp(kind=8, good_csum=True, body=b"ping") -> bytes:
    m = struct.pack("!BBHHH", kind, 0, 0, 7, 1) + body
    c = csum(m) if good_csum else (csum(m) ^ 1)
    return m[:2] + struct.pack("!H", c) + m[4:]


def arp(op=1, target=dst_ip, hlen=6) -> bytes:
    # The sender is a host that does not exist: claiming 10.0.0.1 from a made-up MAC would be
    # an ARP spoof that tapsrv, like Linux, believes.
    sender = socket.inet_aton("10.0.0.50")
    return struct.pack("!HHBBH", 1, 0x0800, hlen, 4, op) + peer + sender + b"\0" * 6 + target


KINDS = {
    "random_bytes": lambda: bytes(rng.getrandbits(8) for _ in range(rng.randint(14, 200))),
    "eth_other_mac": lambda: eth(ipv4(icmp()), dst=bytes.fromhex("02deadbeef01")),
    "eth_multicast": lambda: eth(ipv4(icmp()), dst=bytes.fromhex("01005e000001")),
    "eth_ipv6": lambda: eth(b"\x60" + bytes(60), etype=0x86DD),
    "eth_vlan": lambda: eth(b"\0\x01\x08\x00" + ipv4(icmp()), etype=0x8100),
    "ipv4_truncated": lambda: eth(ipv4(icmp())[: rng.randint(0, 19)]),
    "ipv4_bad_version": lambda: eth(ipv4(icmp(), ver=rng.choice([0, 5, 6, 15]))),
    "ipv4_bad_ihl": lambda: eth(ipv4(icmp(), ihl=rng.randint(0, 4))),
    "ipv4_ihl_past_end": lambda: eth(ipv4(b"", proto=1, ihl=15, total=20)),
    "ipv4_lying_total_len": lambda: eth(ipv4(icmp(), total=rng.randint(200, 65535))),
    "ipv4_total_below_header": lambda: eth(ipv4(icmp(), total=rng.randint(0, 19))),
    "ipv4_bad_checksum": lambda: eth(ipv4(icmp(), good_csum=False)),
    "ipv4_fragment": lambda: eth(ipv4(icmp(), frag=rng.choice([0x2000, 0x0001, 0x2010]))),
    "ipv4_bad_source": lambda: eth(ipv4(icmp(), src=socket.inet_aton(
        rng.choice(["0.0.0.0", "127.0.0.1", "224.0.0.1", "255.255.255.255", "10.0.0.2"])))),
    "icmp_truncated": lambda: eth(ipv4(icmp()[: rng.randint(0, 7)])),
    "icmp_bad_checksum": lambda: eth(ipv4(icmp(good_csum=False))),
    "icmp_unhandled_type": lambda: eth(ipv4(icmp(kind=rng.choice([13, 15, 17, 42])))),
    "arp_truncated": lambda: eth(arp()[: rng.randint(0, 27)], etype=0x0806),
    "arp_bad_hlen": lambda: eth(arp(hlen=8), etype=0x0806),
    "arp_bad_op": lambda: eth(arp(op=rng.choice([0, 3, 9])), etype=0x0806),
    "arp_not_for_us": lambda: eth(arp(target=socket.inet_aton("10.0.0.99")), etype=0x0806,
                                  dst=b"\xff" * 6),
}

s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
per_kind = max(1, count // len(KINDS))
frames = [(k, f()) for k, f in KINDS.items() for _ in range(per_kind)]
rng.shuffle(frames)
sent = {k: 0 for k in KINDS}
for i, (kind, frame) in enumerate(frames):
    s.send(frame)
    sent[kind] += 1
    if i % 64 == 63:
        time.sleep(0.002)  # stay far below the TAP's 500-frame queue
print(" ".join(f"{k}={v}" for k, v in sent.items()))
