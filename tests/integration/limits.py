"""Connections up to tapsrv's --max-conns, and the memory they may take.

Usage: limits.py HOST PORT CONNS TAPSRV_PID BUFFER_BYTES ALLOCATOR_FACTOR. PORT serves echo;
CONNS is tapsrv's --max-conns; BUFFER_BYTES its per-connection send plus receive buffer. Opens
CONNS connections (each echoes 16 bytes), checks that further connects are refused at once
(ECONNREFUSED, not a timeout), fills every connection's buffers inside tapsrv by sending without
reading, checks tapsrv's RSS against CONNS * BUFFER_BYTES * ALLOCATOR_FACTOR (1 with glibc's
allocator; more under AddressSanitizer, see test_limits.sh), then closes some and checks new
connects work again.
Prints one line per step; exits 1 on any failure.
"""
import socket
import sys
import time

from packets import recv_exactly
from steps import Steps, rss_bytes

host, port, conns, pid, buffer_bytes = sys.argv[1], int(sys.argv[2]), *map(int, sys.argv[3:6])
factor = float(sys.argv[6])
MIB = 1 << 20
# What a connection costs besides its buffers (the TCB, the table entry, the timer index) is a
# few KiB; allow 16 KiB, plus 16 MiB for the allocator's and (under ASan) the shadow's share.
PER_CONN_OVERHEAD = 16 << 10
SLACK = 16 * MIB
steps = Steps()
check = steps.check


def rss() -> int:
    return rss_bytes(pid)


def open_echo(i: int) -> socket.socket:
    s = socket.socket()
    # A small receive buffer on our side: tapsrv's echo cannot drain into our kernel, so what we
    # send piles up in tapsrv's own buffers.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(5)
    s.connect((host, port))
    msg = b"%016d" % i
    s.sendall(msg)
    if recv_exactly(s, len(msg)) != msg:
        raise SystemExit(f"connection {i}: echo mismatch")
    return s


def refused(tries: int):
    """How many of `tries` connects were refused, and the slowest refusal in seconds."""
    n, slowest = 0, 0.0
    for _ in range(tries):
        start = time.monotonic()
        try:
            socket.create_connection((host, port), timeout=3).close()
        except ConnectionRefusedError:
            n += 1
        except OSError:
            pass
        slowest = max(slowest, time.monotonic() - start)
    return n, slowest


def fill(socks, deadline_s=20.0):
    """Sends without reading until every socket would block for a while; returns bytes sent."""
    for s in socks:
        s.setblocking(False)
    block = b"x" * 65536
    total, quiet_since = 0, None
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        sent = 0
        for s in socks:
            try:
                sent += s.send(block)
            except BlockingIOError:
                pass
        total += sent
        if sent:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 1.0:
            break
        time.sleep(0.01)
    return total


base = rss()
socks = [open_echo(i) for i in range(conns)]
with_conns = rss()
check(True, f"{conns} connections open, each echoed; RSS {base / MIB:.1f} -> {with_conns / MIB:.1f} MiB")

n, slowest = refused(100)
after_refusals = rss()
check(n == 100 and slowest < 1.0 and after_refusals - with_conns < MIB,
      f"{n}/100 connects beyond the limit refused (slowest {slowest * 1000:.0f} ms); RSS "
      f"{after_refusals / MIB:.1f} MiB")

sent = fill(socks)
time.sleep(0.5)
full = rss()
bound = int(conns * (buffer_bytes * factor + PER_CONN_OVERHEAD) + SLACK)
grown = full - base
# The fill must really have reached tapsrv's buffers (at least half of them), or the bound
# proves nothing.
check(grown <= bound and grown >= conns * buffer_bytes // 2,
      f"buffers filled ({sent / MIB:.0f} MiB sent unread): RSS grew {grown / MIB:.1f} MiB, bound "
      f"{conns} x ({factor:g} x {buffer_bytes >> 10} + {PER_CONN_OVERHEAD >> 10}) KiB + "
      f"{SLACK // MIB} MiB = {bound / MIB:.1f} MiB; peak {full / MIB:.1f} MiB")

for s in socks[:10]:
    s.close()  # unread data: the kernel resets, which frees tapsrv's side at once
time.sleep(0.3)
socks = socks[10:] + [open_echo(conns + i) for i in range(10)]
n, _ = refused(1)
check(n == 1, "closed 10: 10 new connections echo again, and the next one is refused")
for s in socks:
    s.close()
sys.exit(1 if steps.failed else 0)
