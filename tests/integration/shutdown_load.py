"""Many echo connections kept busy until the server goes away; reports how each one ended.

Usage: shutdown_load.py HOST PORT CONNS SECONDS. Opens CONNS connections; every 50 ms each sends
64 bytes and reads its echo back (checked). Prints "ready" once every connection has had an
echo, keeps the traffic going, and waits (SECONDS at most) until every connection has ended.
Prints "ended: N reset, N eof, N other, N still open" and exits 0 only if all were reset.
"""
import selectors
import socket
import sys
import time

host, port, conns, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
PATTERN = bytes(range(64))

socks = []
for _ in range(conns):
    s = socket.create_connection((host, port), timeout=10)
    s.setblocking(False)
    socks.append(s)
sel = selectors.DefaultSelector()
state = {}
for s in socks:
    sel.register(s, selectors.EVENT_READ)
    state[s] = {"echoed": 0, "sent": 0, "ended": None}

ready = False
deadline = time.monotonic() + seconds
next_send = 0.0
while time.monotonic() < deadline:
    live = [s for s in socks if state[s]["ended"] is None]
    if not live:
        break
    now = time.monotonic()
    if now >= next_send:
        next_send = now + 0.05
        for s in live:
            try:
                state[s]["sent"] += s.send(PATTERN)
            except (BlockingIOError, InterruptedError):
                pass
            except ConnectionResetError:
                state[s]["ended"] = "reset"
            except OSError as e:
                state[s]["ended"] = f"send {e.errno}"
    for key, _ in sel.select(timeout=0.05):
        s = key.fileobj
        if state[s]["ended"] is not None:
            continue
        try:
            data = s.recv(65536)
        except (BlockingIOError, InterruptedError):
            continue
        except ConnectionResetError:
            state[s]["ended"] = "reset"
            continue
        except OSError as e:
            state[s]["ended"] = f"recv {e.errno}"
            continue
        if not data:
            state[s]["ended"] = "eof"
            continue
        off = state[s]["echoed"] % len(PATTERN)
        if data != (PATTERN * (len(data) // len(PATTERN) + 2))[off:off + len(data)]:
            state[s]["ended"] = "corrupt"
        state[s]["echoed"] += len(data)
    if not ready and all(state[s]["echoed"] > 0 for s in socks):
        ready = True
        print("ready", flush=True)

ends = [state[s]["ended"] for s in socks]
other = [e for e in ends if e not in ("reset", "eof", None)]
print(f"ended: {ends.count('reset')} reset, {ends.count('eof')} eof, {len(other)} other"
      f"{' ' + str(sorted(set(other))) if other else ''}, {ends.count(None)} still open; "
      f"{sum(st['echoed'] for st in state.values())} bytes echoed in all", flush=True)
sys.exit(0 if ready and ends.count("reset") == conns else 1)
