"""Checks of `tapsrv status` and `tapsrv stats` against a tapsrv serving echo on 3333 and
discard on 9 at 10.0.0.2 (imported helpers and three modes; one checked step per line).

Usage:
  control_check.py live TAPSRV CONTROL        an echo connection: ESTABLISHED with the right
                                              addresses, byte counts that grow, gone after close
  control_check.py load TAPSRV CONTROL N MAX_S  N held connections and a bulk upload to discard:
                                              status answers within MAX_S and lists all N, and
                                              the upload never stalls longer than 0.3 s meanwhile
  control_check.py prometheus                 stdin parses as the Prometheus text format
"""
import json
import re
import selectors
import socket
import subprocess
import sys
import threading
import time

from steps import Steps

steps = Steps()
check = steps.check
HOST, ECHO, DISCARD = "10.0.0.2", 3333, 9


def status(tapsrv, control, *extra):
    out = subprocess.run([tapsrv, "status", "--control", control, *extra], capture_output=True,
                         text=True, timeout=60)
    if out.returncode != 0:
        check(False, f"status exited {out.returncode}: {out.stderr.strip()}")
        sys.exit(1)
    return out.stdout


def status_json(tapsrv, control, *extra):
    return json.loads(status(tapsrv, control, "-j", *extra))


def conn_of(doc, peer):
    found = [c for c in doc["connections"] if c["peer"] == peer]
    return found[0] if found else None


def recv_exactly(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise EOFError("connection closed")
        data += chunk
    return data


def mode_live(tapsrv, control):
    s = socket.create_connection((HOST, ECHO), timeout=10)
    peer = "%s:%d" % s.getsockname()
    s.sendall(b"x" * 1000)
    recv_exactly(s, 1000)
    doc = status_json(tapsrv, control)
    check(set(doc) == {"version", "interface", "listeners", "connections"},
          f"status -j has version, interface, listeners, connections: {sorted(doc)}")
    check({"local": f"{HOST}:{ECHO}", "service": "echo"} in doc["listeners"],
          f"listeners: {doc['listeners']}")
    c = conn_of(doc, peer)
    check(c is not None, f"the connection from {peer} is listed")
    if c is None:
        sys.exit(1)
    keys = ["state", "local", "peer", "recv_q", "send_q", "mss", "wscale", "sack", "timestamps",
            "ecn", "cwnd", "ssthresh", "srtt_us", "rttvar_us", "rto_ms", "retransmits",
            "bytes_sent", "bytes_acked", "bytes_received", "age_ms", "state_ms"]
    check(list(c) == keys, f"fields in order: {list(c)}")
    check(c["state"] == "ESTABLISHED" and c["local"] == f"{HOST}:{ECHO}",
          f"state {c['state']}, local {c['local']}, peer {c['peer']}")
    check(c["bytes_received"] == 1000 and c["bytes_sent"] == 1000,
          f"after 1000 bytes each way: received {c['bytes_received']}, sent {c['bytes_sent']}, "
          f"acked {c['bytes_acked']}")
    check(c["sack"] and c["timestamps"] and isinstance(c["wscale"], list) and c["mss"] == 1448,
          f"Linux's SYN options: sack {c['sack']} ts {c['timestamps']} wscale {c['wscale']} "
          f"mss {c['mss']}")
    check(c["srtt_us"] > 0 and c["rto_ms"] >= 200, f"srtt {c['srtt_us']} us, rto {c['rto_ms']} ms")
    time.sleep(0.2)
    s.sendall(b"y" * 5000)
    recv_exactly(s, 5000)
    time.sleep(0.1)  # our ACK of the echo reaches tapsrv
    c2 = conn_of(status_json(tapsrv, control, "--state", "established"), peer)
    check(c2 is not None and c2["bytes_received"] == 6000 and c2["bytes_sent"] == 6000 and
          c2["bytes_acked"] == 6000 and c2["age_ms"] > c["age_ms"],
          "after 5000 more: " + str(c2 and {k: c2[k] for k in (
              "bytes_received", "bytes_sent", "bytes_acked", "age_ms")}))
    text = status(tapsrv, control)
    check(re.search(r"^ESTABLISHED .* %s:%d +%s " % (HOST, ECHO, re.escape(peer)), text, re.M)
          is not None, "the table has its row")
    last = text.rstrip().splitlines()[-1]
    check(re.match(r"^\d+ connections?: .*ESTABLISHED \d+.*, 2 listeners$", last) is not None,
          f"summary: {last}")
    none = status_json(tapsrv, control, "--state", "TIME_WAIT")
    check(conn_of(none, peer) is None, "--state TIME_WAIT leaves it out")
    s.close()
    gone = False
    for _ in range(40):
        if conn_of(status_json(tapsrv, control), peer) is None:
            gone = True
            break
        time.sleep(0.05)
    check(gone, "gone from status after close")


def bulk(stop, marks):
    s = socket.create_connection((HOST, DISCARD), timeout=30)
    chunk = b"z" * 65536
    while not stop.is_set():
        s.sendall(chunk)
        marks.append(time.monotonic())
    s.close()


def hold(n):
    conns = []
    sel = selectors.DefaultSelector()
    pending = 0
    for i in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex((HOST, ECHO))
        sel.register(s, selectors.EVENT_WRITE)
        conns.append(s)
        pending += 1
        # A few hundred handshakes in flight at a time, within tapsrv's --backlog.
        while pending >= 256 or (i == n - 1 and pending > 0):
            events = sel.select(timeout=10)
            if not events:
                raise TimeoutError("connects stalled")
            for key, _ in events:
                sel.unregister(key.fileobj)
                pending -= 1
                err = key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err != 0:
                    raise OSError(err, "connect failed")
    return conns


def mode_load(tapsrv, control, n, max_s):
    t0 = time.monotonic()
    conns = hold(n)
    check(True, f"{len(conns)} connections held after {time.monotonic() - t0:.1f} s")
    stop, marks = threading.Event(), []
    t = threading.Thread(target=bulk, args=(stop, marks))
    t.start()
    time.sleep(1.0)
    before = len(marks)
    start = time.monotonic()
    text = status(tapsrv, control)
    text_s = time.monotonic() - start
    start_j = time.monotonic()
    doc = status_json(tapsrv, control)
    end = time.monotonic()
    time.sleep(0.5)
    stop.set()
    t.join()
    established = sum(1 for c in doc["connections"] if c["state"] == "ESTABLISHED")
    rows = sum(1 for line in text.splitlines() if line.startswith("ESTABLISHED "))
    check(established >= n + 1 and rows >= n + 1,
          f"status lists {rows} established rows, status -j {established} (held {n} + 1 bulk)")
    check(text_s <= max_s and end - start_j <= max_s,
          f"status took {text_s:.2f} s, status -j {end - start_j:.2f} s (bound {max_s} s)")
    during = [m for m in marks if start <= m <= end]
    gaps = [b - a for a, b in zip([start] + during, during + [end])]
    rate_before = before * 65536 / 1.0 / 1e6
    rate_during = len(during) * 65536 / max(end - start, 1e-6) / 1e6
    check(len(during) > 0 and max(gaps) < 0.3,
          f"bulk upload meanwhile: {rate_during:.0f} MB/s (before {rate_before:.0f} MB/s), "
          f"longest pause {max(gaps) * 1000:.0f} ms")
    for s in conns:
        s.close()


METRIC = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
                    r'(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*)?\})? ([0-9]+)$')


def mode_prometheus():
    """The text exposition format: HELP and TYPE before a family's first sample, one TYPE per
    family, every sample line well-formed, counters named *_total."""
    typed, helped, samples, seen_sample = {}, set(), 0, set()
    ok = True
    for n, line in enumerate(sys.stdin.read().splitlines(), 1):
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            ok &= name not in helped and name not in seen_sample
            helped.add(name)
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            ok &= name not in typed and name not in seen_sample and kind == "counter"
            typed[name] = kind
        else:
            m = METRIC.match(line)
            if not m or m.group(1) not in typed or m.group(1) not in helped or \
                    not m.group(1).endswith("_total"):
                check(False, f"line {n} is not a valid sample: {line!r}")
                sys.exit(1)
            seen_sample.add(m.group(1))
            samples += 1
    check(ok and samples > 0 and "tapsrv_drops_total" in typed and "tapsrv_rx_frames_total" in typed,
          f"exposition format parses: {len(typed)} families, {samples} samples")


def main():
    mode = sys.argv[1]
    if mode == "live":
        mode_live(sys.argv[2], sys.argv[3])
    elif mode == "load":
        mode_load(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))
    elif mode == "prometheus":
        mode_prometheus()
    else:
        sys.exit(f"unknown mode {mode}")
    sys.exit(1 if steps.failed else 0)


if __name__ == "__main__":
    main()
