"""Kernel TCP clients (plain Python sockets) that exercise tapsrv's services.

Usage: tcp_client.py MODE HOST PORT [ARGS]. Prints one result line; exits non-zero on any
mismatch. Every socket has a timeout, so nothing here can hang forever.
  echo CLIENTS BYTES       CLIENTS concurrent connections each send BYTES random bytes and check
                           the SHA-256 of what comes back
  half-close BYTES         send BYTES, shutdown(SHUT_WR), read every echoed byte, then EOF
  discard BYTES            send BYTES, half-close, wait for the server's FIN
  chargen BYTES            read BYTES of RFC 864 lines and check every line
  many CONNS               hold CONNS connections open at once, echo 16 bytes on each, close all
  abort                    connect, send, then close with SO_LINGER 0 (an RST)
  reuse LOCAL_PORT          two HTTP GETs from the same local port, one after the other: the
                           second SYN meets the first connection in TIME_WAIT on the server
  refused                  connect must fail with ECONNREFUSED
  hold CONNS               open CONNS echo connections, print "ready", then expect every one to
                           be reset by the server (tapsrv's shutdown)
  trickle CONNS SPAN_MS    CONNS connections started evenly over SPAN_MS, each connect (3.5 s
                           at most), echo 16 bytes, close; prints how many succeeded (exit 0
                           regardless: the caller judges the ratio)
"""
import hashlib
import os
import socket
import struct
import sys
import threading
import time

from packets import recv_to_eof

TIMEOUT = 120.0
# Long enough for a SYN and its two retransmissions (after 1 s and 3 s), as a patient client.
TRICKLE_CONNECT = 3.5


def connect(host: str, port: int) -> socket.socket:
    s = socket.create_connection((host, port), timeout=10.0)
    s.settimeout(TIMEOUT)
    return s


def echo_one(host, port, nbytes, results, index):
    try:
        data = os.urandom(nbytes)
        s = connect(host, port)
        sender = threading.Thread(target=s.sendall, args=(data,))
        sender.start()
        got = hashlib.sha256()
        received = 0
        while received < nbytes:
            chunk = s.recv(min(1 << 20, nbytes - received))
            if not chunk:
                break
            got.update(chunk)
            received += len(chunk)
        sender.join(TIMEOUT)
        s.close()
        ok = received == nbytes and got.digest() == hashlib.sha256(data).digest()
        results[index] = "ok" if ok else f"mismatch after {received} bytes"
    except Exception as e:  # noqa: BLE001 - reported, not swallowed
        results[index] = f"error {e!r}"


def mode_echo(host, port, clients, nbytes):
    results = [None] * clients
    threads = [threading.Thread(target=echo_one, args=(host, port, nbytes, results, i))
               for i in range(clients)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT + 30)
    bad = [r for r in results if r != "ok"]
    secs = time.monotonic() - start
    print(f"echo: {clients - len(bad)}/{clients} clients x {nbytes} bytes intact in {secs:.1f} s")
    if bad:
        print("failures:", bad[:5])
        sys.exit(1)


def mode_half_close(host, port, nbytes):
    data = os.urandom(nbytes)
    s = connect(host, port)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    got = bytearray()
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        got += chunk
    s.close()
    if bytes(got) != data:
        print(f"half-close: got {len(got)} of {nbytes} bytes, content equal: {bytes(got) == data}")
        sys.exit(1)
    print(f"half-close: all {nbytes} bytes echoed after SHUT_WR, then EOF")


def mode_discard(host, port, nbytes):
    s = connect(host, port)
    block = os.urandom(1 << 20)
    sent = 0
    start = time.monotonic()
    while sent < nbytes:
        n = min(len(block), nbytes - sent)
        s.sendall(block[:n])
        sent += n
    s.shutdown(socket.SHUT_WR)
    if s.recv(1) != b"":
        print("discard: the server sent data")
        sys.exit(1)
    s.close()
    secs = time.monotonic() - start
    print(f"discard: sent {sent} bytes in {secs:.1f} s ({sent * 8 / secs / 1e9:.2f} Gbit/s), got EOF")


def chargen_line(i: int) -> bytes:
    return bytes(32 + (i + j) % 95 for j in range(72)) + b"\r\n"


def mode_chargen(host, port, nbytes):
    period = b"".join(chargen_line(i) for i in range(95))
    s = connect(host, port)
    got = bytearray()
    start = time.monotonic()
    while len(got) < nbytes:
        chunk = s.recv(1 << 20)
        if not chunk:
            print(f"chargen: EOF after {len(got)} bytes")
            sys.exit(1)
        got += chunk
    s.close()
    secs = time.monotonic() - start
    reps = len(got) // len(period) + 1
    if bytes(got[:nbytes]) != (period * reps)[:nbytes]:
        print("chargen: the stream does not follow RFC 864's pattern")
        sys.exit(1)
    print(f"chargen: {nbytes} bytes of RFC 864 lines in {secs:.1f} s")


def mode_many(host, port, conns):
    start = time.monotonic()
    socks = [connect(host, port) for _ in range(conns)]
    for i, s in enumerate(socks):
        s.sendall(b"%016d" % i)
    bad = sum(1 for i, s in enumerate(socks) if s.recv(16) != b"%016d" % i)
    for s in socks:
        s.close()
    secs = time.monotonic() - start
    print(f"many: {conns - bad}/{conns} connections open at once echoed in {secs:.1f} s")
    if bad:
        sys.exit(1)


def mode_abort(host, port):
    s = connect(host, port)
    s.sendall(b"hello")
    if s.recv(5) != b"hello":
        sys.exit(1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    print("abort: closed with SO_LINGER 0")


def mode_hold(host, port, conns):
    socks = [connect(host, port) for _ in range(conns)]
    for s in socks:
        s.sendall(b"x")
        if s.recv(1) != b"x":
            sys.exit(1)
    print("ready", flush=True)
    resets = 0
    for s in socks:
        s.settimeout(20.0)
        try:
            s.recv(1)
        except ConnectionResetError:
            resets += 1
    print(f"hold: {resets}/{conns} connections reset by the server")
    if resets != conns:
        sys.exit(1)


def mode_reuse(host, port, local_port):
    for attempt in (1, 2):
        # Our side closed last (LAST_ACK until tapsrv's final ACK lands): the 4-tuple may be
        # busy for a moment, so retry the bind-and-connect briefly.
        for _ in range(200):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("0.0.0.0", local_port))
            s.settimeout(10.0)
            try:
                s.connect((host, port))
                break
            except OSError as e:
                s.close()
                if e.errno != 99:
                    raise
                time.sleep(0.01)
        s.sendall(b"GET / HTTP/1.1\r\nHost: tapsrv\r\n\r\n")
        reply = recv_to_eof(s)
        s.close()
        if not reply.startswith(b"HTTP/1.1 200 OK"):
            print(f"reuse: request {attempt} got {reply[:40]!r}")
            sys.exit(1)
    print(f"reuse: two requests from local port {local_port} both answered")


def mode_refused(host, port):
    try:
        socket.create_connection((host, port), timeout=5.0)
    except ConnectionRefusedError:
        print("refused: ECONNREFUSED")
        return
    print("refused: the connection was accepted or timed out")
    sys.exit(1)


def trickle_one(host, port, index, results):
    start = time.monotonic()
    try:
        with socket.create_connection((host, port), timeout=TRICKLE_CONNECT) as s:
            s.settimeout(3.0)
            msg = b"%016d" % index
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                chunk = s.recv(len(msg) - len(got))
                if not chunk:
                    break
                got += chunk
            results[index] = ("ok" if got == msg else "short echo", time.monotonic() - start)
    except OSError as e:
        results[index] = (type(e).__name__, time.monotonic() - start)


def mode_trickle(host, port, conns, span_ms):
    # Each connection starts on schedule in its own thread, so a slow one (a SYN lost and
    # retransmitted after 1 s) delays no other.
    results = [("not run", 0.0)] * conns
    threads = []
    begin = time.monotonic()
    for i in range(conns):
        time.sleep(max(0.0, begin + i * span_ms / 1000 / conns - time.monotonic()))
        threads.append(threading.Thread(target=trickle_one, args=(host, port, i, results)))
        threads[-1].start()
    started = time.monotonic() - begin
    for t in threads:
        t.join(TRICKLE_CONNECT + 10)
    ok = sum(1 for r, _ in results if r == "ok")
    errors = {}
    for r, _ in results:
        if r != "ok":
            errors[r] = errors.get(r, 0) + 1
    slow = sum(1 for _, secs in results if secs > 0.9)
    print(f"trickle: {ok}/{conns} connections echoed; all started within {started:.1f} s; "
          f"{slow} took over 0.9 s (a retransmitted SYN), the slowest "
          f"{max(secs for _, secs in results) * 1000:.0f} ms"
          + (f"; failures {errors}" if errors else ""))


def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    args = [int(a) for a in sys.argv[4:]]
    {
        "echo": lambda: mode_echo(host, port, *args),
        "half-close": lambda: mode_half_close(host, port, *args),
        "discard": lambda: mode_discard(host, port, *args),
        "chargen": lambda: mode_chargen(host, port, *args),
        "many": lambda: mode_many(host, port, *args),
        "abort": lambda: mode_abort(host, port),
        "refused": lambda: mode_refused(host, port),
        "reuse": lambda: mode_reuse(host, port, *args),
        "hold": lambda: mode_hold(host, port, *args),
        "trickle": lambda: mode_trickle(host, port, *args),
    }[mode]()


if __name__ == "__main__":
    main()
