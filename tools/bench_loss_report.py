#!/usr/bin/env python3
"""The loss section's tables, and its part of tools/bench's JSON.

Usage (tools/bench runs it): bench_loss_report.py RUNS JSON_OR_EMPTY CMDLINE REPS QUICK SIZE
LIMIT_S DEFAULT_CC TAPSRV_ARGS. RUNS has one line of key=value per run (tools/bench_loss.sh
loss_run). Prints every run and the medians as Markdown; with a JSON path, adds "loss" to the
file tools/bench wrote (or starts one).
"""
import json
import os
import platform
import statistics
import sys
import time

# The sender's counters: the kernel's nstat names; tapsrv's are stored under the same keys.
RTO, RETRANS = "TcpExtTCPTimeouts", "TcpRetransSegs"
MODES = ("offload", "no-offload")
DIRS = ("download", "upload")


def parse_runs(path):
    runs = []
    for line in open(path):
        run = {}
        for item in line.split():
            key, _, value = item.partition("=")
            run[key] = value
        for key, value in run.items():
            if key not in ("mode", "dir", "side", "cc", "sender") and value != "":
                run[key] = float(value) if "." in value else int(value)
        run["ok"] = run.get("ok") == 1 and isinstance(run.get("bytes"), int) and run["seconds"]
        if run["ok"]:
            finish(run)
        runs.append(run)
    return runs


def finish(run):
    """Derived figures: goodput, the real loss each way, the sender's counters per MB."""
    run["finished"] = run["finished"] == 1
    run["mbps"] = run["bytes"] * 8 / run["seconds"] / 1e6
    data, ack = ("down", "up") if run["dir"] == "download" else ("up", "down")
    for name, way in (("data", data), ("ack", ack)):
        seen = run.get(f"{way}_seen_p", 0)
        run[f"{name}_loss"] = run.get(f"{way}_dropped_p", 0) / seen if seen else None
    mb = run["bytes"] / 1e6
    run["rto_per_mb"] = run[RTO] / mb if mb else None
    run["retrans_per_mb"] = run[RETRANS] / mb if mb else None


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def pct(v):
    return "-" if v is None else f"{v * 100:.2f}%"


def num(v, d=1):
    return "-" if v is None else f"{v:,.{d}f}"


def cell_runs(runs, want):
    """The runs of one comparison row: the kernel's with that congestion control, tapsrv's
    download (its own sender, whatever the client runs) or its upload under that client."""
    mode, direction, permille, cc = want
    kernel = [r for r in runs if r["side"] == "kernel" and r["cc"] == cc]
    tapsrv = [r for r in runs if r["side"] == "tapsrv" and (direction == "download" or r["cc"] == cc)]
    pick = lambda rs: [r for r in rs if (r["mode"], r["dir"], r["permille"]) == (mode, direction, permille)]
    return pick(tapsrv), pick(kernel)


def summary(rs):
    good = [r for r in rs if r["ok"]]
    return {
        "mbps": median(r["mbps"] for r in good),
        "rto_per_mb": median(r["rto_per_mb"] for r in good),
        "retrans_per_mb": median(r["retrans_per_mb"] for r in good),
        "runs": len(rs),
        "failed": len(rs) - len(good),
        "unfinished": sum(1 for r in good if not r["finished"]),
    }


def goodput(s):
    if s["mbps"] is None:
        return "FAIL"
    return num(s["mbps"]) + ("*" if s["unfinished"] else "")


def main():
    runs_path, json_path, cmdline = sys.argv[1:4]
    reps, quick, size, limit = map(int, sys.argv[4:8])
    default_cc, tapsrv_args = sys.argv[8], sys.argv[9]
    runs = parse_runs(runs_path)
    levels = sorted({r["permille"] for r in runs})
    ccs = list(dict.fromkeys(r["cc"] for r in runs if r["side"] == "kernel"))
    rows, medians = [], []
    for mode in MODES:
        for direction in DIRS:
            for permille in levels:
                for cc in ccs:
                    t_runs, k_runs = cell_runs(runs, (mode, direction, permille, cc))
                    if not t_runs and not k_runs:
                        continue
                    t, k = summary(t_runs), summary(k_runs)
                    both = [r for r in t_runs + k_runs if r["ok"]]
                    ratio = t["mbps"] / k["mbps"] if t["mbps"] is not None and k["mbps"] else None
                    m = {"mode": mode, "dir": direction, "loss_set": permille / 1000, "kernel_cc": cc,
                         "data_loss_seen": median(r["data_loss"] for r in both),
                         "ack_loss_seen": median(r["ack_loss"] for r in both),
                         "tapsrv": t, "kernel": k, "ratio": ratio}
                    medians.append(m)
                    rows.append(
                        f"| {mode} | {direction} | {permille / 10:.1f}% | {pct(m['data_loss_seen'])} / "
                        f"{pct(m['ack_loss_seen'])} | {cc} | {goodput(t)} | {goodput(k)} | "
                        f"{num(ratio, 3)} | {num(t['rto_per_mb'], 3)} / {num(k['rto_per_mb'], 3)} | "
                        f"{num(t['retrans_per_mb'], 2)} / {num(k['retrans_per_mb'], 2)} |")

    uname = platform.uname()
    print(f"tapsrv bench, loss section {time.strftime('%Y-%m-%d %H:%M %Z')} | `{cmdline}` | "
          f"nproc {len(os.sched_getaffinity(0))}, Linux {uname.release} | {size >> 20} MiB per run, "
          f"at most {limit} s | kernel cc default {default_cc} | tapsrv args '{tapsrv_args}' | "
          f"median of {reps} run{'s' if reps > 1 else ''}"
          + (" | QUICK: smoke test, not a measurement" if quick else ""))
    print()
    print("| tapsrv mode | direction | loss set, each way | loss seen, data / ACK way | kernel cc "
          "| tapsrv Mbit/s | kernel Mbit/s | tapsrv/kernel | sender RTOs/MB, tapsrv / kernel run "
          "| sender retransmits/MB, tapsrv / kernel run |")
    print("|---|---|---:|---:|---|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    print()
    print("Every run: Mbit/s (data-way loss seen; sender RTOs / retransmits); * = not finished "
          "within the limit (the goodput of the bytes moved until then).")
    print()
    print("| tapsrv mode | direction | loss set | server | cc | " +
          " | ".join(f"run {i}" for i in range(1, reps + 1)) + " |")
    print("|---|---|---:|---|---|" + "---:|" * reps)
    for mode in MODES:
        for direction in DIRS:
            for permille in levels:
                for side in ("tapsrv", "kernel"):
                    for cc in ccs if side == "kernel" or direction == "upload" else ccs[:1]:
                        rs = [r for r in runs if (r["mode"], r["dir"], r["permille"], r["side"]) ==
                              (mode, direction, permille, side) and r["cc"] == cc]
                        if not rs:
                            continue
                        cells = [("FAIL" if not r["ok"] else
                                  f"{num(r['mbps'])}{'' if r['finished'] else '*'} ({pct(r['data_loss'])}; "
                                  f"{r[RTO]} / {r[RETRANS]})") for r in sorted(rs, key=lambda r: r["rep"])]
                        label = cc if side == "kernel" or direction == "upload" else "own"
                        print(f"| {mode} | {direction} | {permille / 10:.1f}% | {side} | {label} | "
                              + " | ".join(cells) + " |")
    print()
    print("Loss is set in the router's forward hook (nftables numgen), both ways; 'seen' is what it")
    print("really dropped, in packets. The sender is the server for downloads (tapsrv's own counters")
    print("tcp_retransmit_timeouts and tcp_retransmits; the kernel's nstat TcpExtTCPTimeouts and")
    print("TcpRetransSegs in its namespace) and the kernel client for uploads, in both columns: there")
    print("they show how each receiver's ACKs serve the same kernel sender. With offload, a tapsrv")
    print("retransmit is one segment of up to 64 KiB while TcpRetransSegs counts MSS-sized pieces;")
    print("without offload both count MSS-sized segments. tapsrv's download has no cc column of its")
    print("own: the client only acknowledges, so one tapsrv run is set against each kernel variant.")
    over = sum(r.get("over_mtu_p", 0) for r in runs if r["mode"] == "no-offload")
    print(f"Packets over the MTU seen by the router in no-offload runs: {over} (must be 0).")

    if json_path:
        out = {}
        if os.path.exists(json_path):
            with open(json_path) as f:
                out = json.load(f)
        out.setdefault("date", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        out.setdefault("command", cmdline)
        out["loss"] = {"bytes_per_run": size, "time_limit_s": limit, "reps": reps, "quick": bool(quick),
                       "kernel_default_cc": default_cc, "tapsrv_args": tapsrv_args,
                       "medians": medians, "runs": runs}
        with open(json_path, "w") as f:
            json.dump(out, f, indent=2)
            f.write("\n")
    # The smoke test's promise: no-offload means MTU-sized packets on both sides.
    sys.exit(1 if over else 0)


if __name__ == "__main__":
    main()
