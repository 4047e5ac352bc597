"""Blind in-window attacks (RFC 5961) on live connections to tapsrv, injected from a raw socket.

Usage: blind.py IFNAME OUR_MAC SECONDS. Two victims, each attacked for SECONDS:
  echo     an idle echo connection (port 3333), which echoes 64 KiB before and after;
  chargen  a chargen download (port 19) that keeps streaming during the attack.
The attacker knows the 4-tuple and, from sniffing the TAP, where the receive window lies: it
sends RSTs and SYNs at sequence numbers inside the window but never exactly RCV.NXT (RFC 5961
§3, §4), and data at in-window sequence numbers (RCV.NXT included) with guessed ACK values
(§5). Those guesses avoid [SND.UNA - MAX.SND.WND, SND.NXT], where a real blind guess lands
with probability MAX.SND.WND / 2^32 and would be accepted, as the RFC allows. Half the RSTs
and SYNs carry a guessed timestamp. Prints one line per victim with the challenge ACKs seen on
the TAP, and "injected KIND N" lines; exits 1 if a connection died, data was corrupted, or
challenge ACKs exceeded one per 500 ms.
"""
import hashlib
import os
import random
import socket
import sys
import threading
import time

import packets
from packets import recv_exactly, ts_option
from tcp_client import chargen_line

ifname, mac_text, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
rng = random.Random(5961)
US_MAC = bytes.fromhex(mac_text.replace(":", ""))
US, HOST = socket.inet_aton("10.0.0.2"), socket.inet_aton("10.0.0.1")
RST, SYN, PSH, ACK = 0x04, 0x02, 0x08, 0x10
IN_WINDOW = 200_000  # tapsrv's receive window is 256 KiB
ACK_MARGIN = 1 << 28  # far beyond any window the kernel offers
CHALLENGE_INTERVAL = 0.5  # tapsrv's (and Linux's) per-connection challenge-ACK interval
injected = {}


def inject(out, victim, flags, seq, ack, payload=b"", ts=None):
    opts = ts_option(ts, 0) if ts is not None else b""
    seg = packets.tcp(HOST, US, victim.lport, victim.port, seq, ack, flags, payload, opts)
    out.send(packets.eth(US_MAC, victim.host_mac, packets.ipv4(seg, HOST, US)))


class Victim:
    def __init__(self, port, sniff):
        self.port = port
        self.conn = socket.create_connection(("10.0.0.2", port), timeout=10)
        self.conn.settimeout(10)
        self.lport = self.conn.getsockname()[1]
        self.sniff = sniff

    def learn(self):
        """RCV.NXT and SND.NXT of tapsrv's side, from the kernel's last segment."""
        time.sleep(0.3)  # the kernel's delayed ACK
        last = packets.last_sent(self.sniff, self.lport, self.port)
        self.host_mac = last.src_mac
        self.rcv_nxt = last.seq + last.payload_len
        self.snd_nxt = last.ack


def attack(out, victim, secs):
    """Rounds every 50 ms for `secs`; returns when the last round was sent."""
    rounds = max(1, int(secs / 0.05))
    for _ in range(rounds):
        start = time.monotonic()
        for _ in range(30):
            seq = victim.rcv_nxt + rng.randint(1, IN_WINDOW)
            ts = rng.getrandbits(32) if rng.random() < 0.5 else None
            inject(out, victim, rng.choice([RST, RST | ACK]), seq, rng.getrandbits(32), ts=ts)
            injected["rst"] = injected.get("rst", 0) + 1
        for _ in range(10):
            seq = victim.rcv_nxt + rng.randint(1, IN_WINDOW)
            ts = rng.getrandbits(32) if rng.random() < 0.5 else None
            inject(out, victim, SYN, seq, 0, ts=ts)
            injected["syn"] = injected.get("syn", 0) + 1
        for _ in range(30):
            seq = victim.rcv_nxt + rng.choice([0, rng.randint(1, IN_WINDOW)])
            ack = victim.snd_nxt + rng.randint(ACK_MARGIN, (1 << 32) - ACK_MARGIN)
            inject(out, victim, ACK | PSH, seq, ack, os.urandom(rng.randint(1, 1000)))
            injected["data"] = injected.get("data", 0) + 1
        time.sleep(max(0.0, 0.05 - (time.monotonic() - start)))


def challenge_acks(victim):
    """Pure ACKs tapsrv sent the victim since the sniffer was last drained (by learn()): seen on
    the wire, so counted independently of tapsrv's own counters. On the chargen connection a
    challenge ACK may ride on data instead, so there this is a lower bound."""
    n = 0
    for seg in packets.drain(victim.sniff):
        if (not seg.outgoing and (seg.sport, seg.dport) == (victim.port, victim.lport) and
                seg.flags == ACK and seg.payload_len == 0):
            n += 1
    return n


def verdict(name, secs, acks, ok, detail):
    # At most one per interval, plus one at the very start of the attack.
    limit = int(secs / CHALLENGE_INTERVAL) + 1
    print(f"{name}: {detail}; {acks} challenge ACKs in {secs:.1f} s (at most {limit} allowed)")
    if acks > limit:
        ok = False
    return ok


def attack_echo(out, sniff):
    v = Victim(3333, sniff)
    before = os.urandom(65536)
    v.conn.sendall(before)
    ok = recv_exactly(v.conn, len(before)) == before
    v.learn()
    start = time.monotonic()
    attack(out, v, seconds)
    time.sleep(0.2)  # replies still on their way
    secs = time.monotonic() - start
    acks = challenge_acks(v)
    after = os.urandom(65536)
    v.conn.sendall(after)
    ok = ok and recv_exactly(v.conn, len(after)) == after
    v.conn.close()
    # The RFC's MUST: an in-window RST or SYN gets a challenge ACK, so at least the first one.
    ok = verdict("echo", secs, acks, ok and acks >= 1,
                 "64 KiB echoed intact before and after" if ok else "echo CORRUPTED or lost")
    return ok


def attack_chargen(out, sniff):
    v = Victim(19, sniff)
    period = b"".join(chargen_line(i) for i in range(95))
    state = {"bytes": 0, "ok": True, "error": ""}
    stop = threading.Event()

    def read():
        # Reads at a bounded pace, checking every byte against RFC 864's pattern.
        try:
            while not stop.is_set():
                chunk = v.conn.recv(65536)
                if not chunk:
                    state["error"] = "EOF"
                    break
                off = state["bytes"] % len(period)
                want = (period * (len(chunk) // len(period) + 2))[off:off + len(chunk)]
                if chunk != want:
                    state["ok"] = False
                    break
                state["bytes"] += len(chunk)
                time.sleep(0.002)
        except OSError as e:
            state["error"] = repr(e)

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(0.2)
    v.learn()
    start = time.monotonic()
    at_start = state["bytes"]
    attack(out, v, seconds)
    at_end = state["bytes"]
    time.sleep(0.2)
    secs = time.monotonic() - start
    during, after = at_end - at_start, state["bytes"] - at_end
    stop.set()
    reader.join(10)
    acks = challenge_acks(v)
    v.conn.close()
    # Still streaming after the last injected segment: the attack did not tear it down.
    ok = state["ok"] and not state["error"] and during > 0 and after > 0
    detail = (f"{state['bytes']} bytes of RFC 864 lines intact, {during} during the attack and "
              f"{after} after it" if ok else f"stream broken: {state}, {during} {after}")
    return verdict("chargen", secs, acks, ok, detail)


sniff = packets.sniffer(ifname)
out = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
out.bind((ifname, 0))
ok = attack_echo(out, sniff)
ok = attack_chargen(out, sniff) and ok
for kind, n in injected.items():
    print(f"injected {kind} {n}")
sys.exit(0 if ok else 1)
