"""Chargen connections left unread, against tapsrv's --mem-limit.

Usage: mem_limit.py HOST PORT CONNS TAPSRV_PID LIMIT_BYTES FACTOR MODE. PORT serves chargen.
Opens CONNS connections with a tiny receive buffer on our side and reads nothing, so chargen
piles up in tapsrv's send buffers until tapsrv's RSS stops growing. MODE "bound" wants the
growth within LIMIT_BYTES plus the 8 KiB every connection may always hold (times FACTOR, the
allocator's overhead under ASan); MODE "control" (tapsrv without a tight limit) wants it well
above LIMIT_BYTES, which shows the connections do reach tapsrv's buffers. Then, in both modes,
every connection must stream READ_BYTES of the RFC 864 pattern, intact and in order.
Prints one line per step; exits 1 on any failure.
"""
import socket
import sys
import time

from steps import Steps, rss_bytes

from tcp_client import chargen_line

host, port, conns, pid, limit = sys.argv[1], int(sys.argv[2]), *map(int, sys.argv[3:6])
factor, mode = float(sys.argv[6]), sys.argv[7]
MIB = 1 << 20
READ_BYTES = 256 << 10
GUARANTEED = 2 * 4096  # BufferBudget::kGuaranteed for each of a connection's two rings
PER_CONN_OVERHEAD = 16 << 10
SLACK = 16 * MIB
PERIOD = b"".join(chargen_line(i) for i in range(95))
steps = Steps()
check = steps.check


def rss() -> int:
    return rss_bytes(pid)


def settled_rss(deadline_s=20.0) -> tuple[int, bool]:
    """RSS once it has not grown for 1.5 s (or at the deadline), and whether it settled."""
    last, since = rss(), time.monotonic()
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = rss()
        if now > last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since > 1.5:
            return last, True
    return last, False


def read_stream(s: socket.socket) -> bool:
    s.settimeout(20)
    got = bytearray()
    while len(got) < READ_BYTES:
        chunk = s.recv(1 << 16)
        if not chunk:
            break
        got += chunk
    s.close()
    want = (PERIOD * (len(got) // len(PERIOD) + 1))[:len(got)]
    return len(got) >= READ_BYTES and bytes(got) == want


base = rss()
socks = []
for _ in range(conns):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(5)
    s.connect((host, port))
    socks.append(s)
full, settled = settled_rss()
grown = full - base
check(settled, f"{conns} chargen connections unread; tapsrv's RSS settled at {full / MIB:.1f} MiB")
if mode == "bound":
    bound = int(factor * (limit + conns * GUARANTEED) + conns * PER_CONN_OVERHEAD + SLACK)
    check(grown <= bound, f"RSS grew {grown / MIB:.1f} MiB, bound {bound / MIB:.1f} MiB "
          f"({factor:g} x ({limit // MIB} MiB + {conns} x 8 KiB) + {conns} x 16 KiB + 16 MiB)")
else:
    check(grown > 2 * limit, f"without the limit RSS grew {grown / MIB:.1f} MiB, more than twice "
          f"{limit // MIB} MiB: the connections fill tapsrv's buffers")
bad = [i for i, s in enumerate(socks) if not read_stream(s)]
check(not bad, f"{conns - len(bad)}/{conns} connections then streamed {READ_BYTES >> 10} KiB of "
      "the RFC 864 pattern intact" + (f" (wrong: {bad[:10]})" if bad else ""))
sys.exit(1 if steps.failed else 0)
