"""A storm of malformed and hostile TCP/IP frames against tapsrv, around one live connection.

Usage: tcp_garbage.py IFNAME OUR_MAC COUNT SEED. Opens a kernel connection to echo (10.0.0.2:3333)
and learns its sequence numbers by sniffing the TAP; sends COUNT frames of the kinds below
through the kernel side of the TAP (AF_PACKET), never more than WINDOW ahead of what tapsrv has
answered (a ping through the kernel after every WINDOW frames, so the TAP's queue cannot
overflow); then echoes SEGMENT bytes more on the connection and checks them. Prints "sent KIND=N"
lines, "expect REASON[+REASON] N" lines (the least those drop counters must add up to) and
"echo ok".
"""
import os
import random
import select
import socket
import struct
import sys
import time

import packets
from packets import csum, recv_exactly, ts_option

ifname, mac_text, count, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
US_MAC = bytes.fromhex(mac_text.replace(":", ""))
US, HOST = socket.inet_aton("10.0.0.2"), socket.inet_aton("10.0.0.1")
LISTEN = 3333
WINDOW = 2000
# Bytes echoed after the storm; the storm pre-sends overlapping pieces of them. Fewer than the
# kernel's initial window (10 segments), so the kernel sends them all in one flight: once the
# pieces bridge its data, tapsrv acknowledges bytes the kernel has not sent yet, which the
# kernel ignores, and it must not need those ACKs to send the rest.
POST = 8000


def rand_bytes(n: int) -> bytes:
    return rng.getrandbits(8 * n).to_bytes(n, "big") if n else b""


def eth(payload: bytes, etype: int = 0x0800) -> bytes:
    return packets.eth(US_MAC, HOST_MAC, payload, etype)


def ipv4(payload: bytes, src=HOST, total=None, good_csum=True) -> bytes:
    return packets.ipv4(payload, src, US, total, good_csum, ident=rng.getrandbits(16))


def tcp(sport, dport, seq, ack, flags, payload=b"", options=b"", window=65535, src=HOST,
        offset=None, good_csum=True) -> bytes:
    return packets.tcp(src, US, sport, dport, seq, ack, flags, payload, options, window, offset,
                       good_csum)


def learn_connection():
    """Connects, echoes a little, and reads the last segment the kernel sent from the TAP."""
    sniff = packets.sniffer(ifname)
    conn = socket.create_connection(("10.0.0.2", LISTEN), timeout=10)
    conn.settimeout(10)
    data = os.urandom(1000)
    conn.sendall(data)
    assert recv_exactly(conn, len(data)) == data, "echo before the storm"
    lport = conn.getsockname()[1]
    time.sleep(0.3)  # let the kernel's delayed ACK of the echo go out
    last = packets.last_sent(sniff, lport, LISTEN)
    sniff.close()
    return conn, last.src_mac, lport, last.seq + last.payload_len, last.ack, last.tsval


conn, HOST_MAC, lport, rcv_nxt, snd_nxt, tsval = learn_connection()
post = os.urandom(POST)
expect = {}


def expecting(reason, n=1):
    expect[reason] = expect.get(reason, 0) + n


def est(seq, ack, flags, payload=b"", ts=True):
    opts = ts_option(tsval, 0) if ts else b""
    return eth(ipv4(tcp(lport, LISTEN, seq, ack, flags, payload, opts)))


def bad_ack():
    # Outside [SND.UNA - MAX.SND.WND, SND.NXT]: RFC 5961 §5 drops the segment, data and all. The
    # kernel's window may reach megabytes once scaled, so "too old" starts at 2^29 behind.
    if rng.random() < 0.5:
        return snd_nxt + rng.randint(1, 1 << 30)
    return snd_nxt - rng.randint(1 << 29, 1 << 30)


def k_random_bytes():
    # Not below 14: AF_PACKET refuses frames shorter than an Ethernet header, so a truncated
    # Ethernet header can never come out of the kernel's side of a TAP.
    return rand_bytes(rng.randint(14, 300))


def k_random_ipv4_payload():
    return eth(rand_bytes(rng.randint(0, 200)))


def k_eth_header_only():
    if rng.random() < 0.5:
        expecting("ipv4_truncated")
        return eth(b"")
    expecting("arp_malformed")
    return eth(b"", 0x0806)


def k_ipv4_truncated():
    expecting("ipv4_truncated")
    return eth(ipv4(tcp(40000, LISTEN, 1, 0, 0x02))[: rng.randint(0, 19)])


def k_ipv4_lying_length():
    seg = tcp(rng.randint(1024, 65535), LISTEN, rng.getrandbits(32), 0, 0x02)
    lie = rng.randrange(3)
    if lie == 0:  # longer than the frame
        expecting("ipv4_bad_total_len")
        return eth(ipv4(seg, total=rng.randint(20 + len(seg) + 1, 65535)))
    if lie == 1:  # shorter than the IP header itself
        expecting("ipv4_bad_header_len")
        return eth(ipv4(seg, total=rng.randint(0, 19)))
    expecting("tcp_truncated")  # short enough to cut the TCP header
    return eth(ipv4(seg, total=20 + rng.randint(0, 19)))


def k_ipv4_bad_checksum():
    expecting("ipv4_bad_checksum")
    return eth(ipv4(tcp(rng.randint(1024, 65535), LISTEN, 1, 0, 0x02), good_csum=False))


def k_tcp_truncated():
    expecting("tcp_truncated")
    return eth(ipv4(tcp(40000, LISTEN, 1, 0, 0x02)[: rng.randint(0, 19)]))


def k_tcp_bad_offset():
    expecting("tcp_bad_data_offset")
    offset = rng.choice([0, 1, 2, 3, 4, rng.randint(6, 15)])
    return eth(ipv4(tcp(rng.randint(1024, 65535), LISTEN, 1, 0, 0x02, offset=offset)))


def k_tcp_bad_checksum():
    expecting("tcp_bad_checksum")
    flags = rng.getrandbits(8)
    return eth(ipv4(tcp(rng.randint(1024, 65535), rng.choice([LISTEN, rng.randint(1, 65535)]),
                        rng.getrandbits(32), rng.getrandbits(32), flags,
                        rand_bytes(rng.randint(0, 64)), good_csum=False)))


def k_tcp_options_past_header():
    expecting("tcp_bad_option")
    past = rng.choice([
        bytes([2, 40, 5, 180]),  # MSS claiming 40 bytes in a 4-byte area
        bytes([8, 10, 0, 0, 0, 0, 0, 0]) + bytes([3, 9, 7, 0]),  # timestamps, then wscale too long
        bytes([1, 1, 5]),  # SACK kind with its length byte cut off
        bytes([4, 0, 1, 1]),  # length 0: would loop forever if trusted
        bytes([5, 1, 1, 1]),  # length 1: shorter than kind and length
        bytes([rng.randint(9, 253), rng.randint(5, 255)]) + rand_bytes(2),  # unknown, too long
    ])
    return eth(ipv4(tcp(rng.randint(1024, 65535), LISTEN, rng.getrandbits(32), 0, 0x02,
                        options=past[:40])))


def listen_or_closed(kind, f, dport):
    syn, rst, ack, fin = f & 2, f & 4, f & 16, f & 1
    if rst:
        expecting("tcp_rst_no_connection")
    elif dport != LISTEN:
        expecting("tcp_no_listener")
    elif syn and fin and not ack:
        expecting("tcp_bad_syn_flags")
    # Other listener cases depend on the backlog and cookies; the totals still account for them.
    return eth(ipv4(tcp(rng.randint(1024, 65535), dport, rng.getrandbits(32), rng.getrandbits(32),
                        f, rand_bytes(rng.choice([0, 0, 10])))))


def est_flags(f):
    # In the window but never exactly at RCV.NXT, and with an unacceptable ACK when ACK is set.
    seq = rcv_nxt + rng.randint(1, 60000)
    if f & 4:
        expecting("tcp_rst_challenged")
    elif f & 2:
        expecting("tcp_syn_challenged")
    elif not f & 16:
        expecting("tcp_no_ack")
    else:
        expecting("tcp_ack_too_new+tcp_ack_too_old")
    return est(seq, bad_ack() if f & 16 else rng.getrandbits(32), f)


def k_syn_unresolvable():
    # From on-link addresses nobody answers ARP for: the SYN-ACKs wait in the bounded neighbour
    # queue and are dropped when resolution fails; nothing stalls meanwhile.
    src = socket.inet_aton(f"10.0.0.{rng.randint(100, 199)}")
    return eth(ipv4(tcp(rng.randint(1024, 65535), LISTEN, rng.getrandbits(32), 0, 0x02, src=src),
                    src=src))


def k_est_old_overlap():
    # Wholly duplicate data (before RCV.NXT), overlapping itself: trimmed, answered with an ACK.
    expecting("tcp_out_of_window")
    n = rng.randint(1, 900)
    start = rcv_nxt - rng.randint(n, 1000)
    return est(start, snd_nxt, 0x18, rand_bytes(n))


def k_est_future_pieces():
    # Overlapping pieces of the bytes the client will send after the storm, with the right ACK:
    # reassembly keeps them, and the real bytes later agree. The first byte stays missing, so
    # nothing is delivered (or acknowledged to the kernel) before the client sends.
    off = rng.randint(1, POST - 1)
    n = rng.randint(1, min(1400, POST - off))
    return est(rcv_nxt + off, snd_nxt, 0x10, post[off:off + n])


def k_est_future_bad_ack():
    expecting("tcp_ack_too_new+tcp_ack_too_old")
    return est(rcv_nxt + rng.randint(1, 60000), bad_ack(), 0x18, rand_bytes(rng.randint(1, 500)),
               ts=rng.random() < 0.5)


def k_est_far_out_of_window():
    expecting("tcp_out_of_window")
    payload = rand_bytes(rng.choice([0, rng.randint(1, 500)]))
    return est(rcv_nxt + (1 << 31) + rng.randint(-(1 << 29), 1 << 29), snd_nxt,
               0x10 | rng.choice([0, 0x08, 0x01]), payload)


KINDS = [  # (name, weight, maker); flag kinds send every flags byte weight/256 times
    ("random_bytes", 10000, k_random_bytes),
    ("random_ipv4_payload", 8000, k_random_ipv4_payload),
    ("eth_header_only", 3000, k_eth_header_only),
    ("ipv4_truncated", 3000, k_ipv4_truncated),
    ("ipv4_lying_length", 4000, k_ipv4_lying_length),
    ("ipv4_bad_checksum", 4000, k_ipv4_bad_checksum),
    ("tcp_truncated", 4000, k_tcp_truncated),
    ("tcp_bad_offset", 4000, k_tcp_bad_offset),
    ("tcp_bad_checksum", 8400, k_tcp_bad_checksum),
    ("tcp_options_past_header", 6000, k_tcp_options_past_header),
    ("flags_to_listener", 10240, None),
    ("flags_to_closed_ports", 10240, None),
    ("syn_unresolvable", 2000, k_syn_unresolvable),
    ("est_old_overlap", 5000, k_est_old_overlap),
    ("est_future_pieces", 1000, k_est_future_pieces),
    ("est_future_bad_ack", 6000, k_est_future_bad_ack),
    ("est_far_out_of_window", 6000, k_est_far_out_of_window),
    ("est_every_flag", 5120, None),
]
scale = count / sum(w for _, w, _ in KINDS)
plan = []
for name, weight, maker in KINDS:
    n = round(weight * scale)
    if maker is None:
        plan += [(name, f) for f in range(256) for _ in range(max(1, n // 256))]
    else:
        plan += [(name, None)] * n
plan += [("random_bytes", None)] * max(0, count - len(plan))
rng.shuffle(plan)

frames = []
for name, f in plan:
    if name == "flags_to_listener":
        frames.append((name, listen_or_closed(name, f, LISTEN)))
    elif name == "flags_to_closed_ports":
        frames.append((name, listen_or_closed(name, f, rng.choice([1, 22, 80, 443, 3334, 65535]))))
    elif name == "est_every_flag":
        frames.append((name, est_flags(f)))
    else:
        frames.append((name, dict((k, m) for k, _, m in KINDS)[name]()))

out = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
out.bind((ifname, 0))
ping = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)


def sync(n):
    """A ping through the kernel, queued behind our frames: its reply means tapsrv read them."""
    msg = struct.pack("!BBHHH", 8, 0, 0, 0x7A7A, n) + b"sync"
    msg = msg[:2] + struct.pack("!H", csum(msg)) + msg[4:]
    ping.sendto(msg, ("10.0.0.2", 0))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not select.select([ping], [], [], deadline - time.monotonic())[0]:
            break
        reply = ping.recv(2048)
        icmp = reply[(reply[0] & 15) * 4:]
        if icmp[0] == 0 and struct.unpack("!HH", icmp[4:8]) == (0x7A7A, n):
            return
    sys.exit(f"tapsrv did not answer the sync ping after {n} windows")


start = time.monotonic()
sent = {}
for i, (name, frame) in enumerate(frames):
    out.send(frame)
    sent[name] = sent.get(name, 0) + 1
    if i % WINDOW == WINDOW - 1:
        sync(i // WINDOW)
sync(0xFFFF)
secs = time.monotonic() - start

conn.sendall(post)
got = recv_exactly(conn, len(post))
conn.close()
for name, n in sent.items():
    print(f"sent {name}={n}")
for reason, n in sorted(expect.items()):
    print(f"expect {reason} {n}")
print(f"storm: {len(frames)} frames in {secs:.1f} s")
if got != post:
    print(f"echo after the storm: got {len(got)} of {len(post)} bytes, equal: {got == post}")
    sys.exit(1)
print(f"echo ok: {len(post)} bytes on the connection the storm aimed at")
