#!/usr/bin/env bash
# SIGTERM while 1000 echo connections are busy: tapsrv exits within 2 s, every client sees a
# reset, the pcap is complete (every RST is in it) and readable by tcpdump, and the TAP is gone.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tcp_lib.sh"
ulimit -n 4096
tcp_start --pcap "$T_TMP/load.pcap"
rss_before=$(rss_kib "$tcp_pid")

in_ns "$tcp_ns" timeout 60 python3 "$(dirname "$0")/shutdown_load.py" 10.0.0.2 3333 1000 30 \
  >"$T_TMP/load.out" 2>&1 &
clients=$!
T_PIDS+=("$clients")
for _ in $(seq 300); do
  grep -q ready "$T_TMP/load.out" && break
  kill -0 "$clients" 2>/dev/null || fail "clients: $(cat "$T_TMP/load.out")"
  sleep 0.05
done
grep -q ready "$T_TMP/load.out" || fail "1000 connections not echoing within 15 s"
sleep 1  # a second of traffic on all of them
established=$(grep -c "SYN_RECEIVED -> ESTABLISHED" "$tcp_log")
rss_loaded=$(rss_kib "$tcp_pid")
# Echo keeps little buffered (64 bytes at a time), so a connection costs its TCB and the
# smallest ring storage: 64 KiB each is generous.
[ $((rss_loaded - rss_before)) -le $((1000 * 64)) ] || fail "RSS grew from $rss_before to $rss_loaded KiB"
pass "RSS KiB: before $rss_before, with 1000 busy connections $rss_loaded"

start=$(date +%s%N)
kill -TERM "$tcp_pid"
for _ in $(seq 200); do kill -0 "$tcp_pid" 2>/dev/null || break; sleep 0.01; done
took_ms=$((($(date +%s%N) - start) / 1000000))
kill -0 "$tcp_pid" 2>/dev/null && fail "tapsrv still running 2 s after SIGTERM"
status=0
wait "$tcp_pid" || status=$?
[ "$status" -eq 0 ] || fail "exit status $status"
[ "$took_ms" -le 2000 ] || fail "exit took $took_ms ms"
pass "SIGTERM with $established connections established: exited in $took_ms ms"

wait "$clients" || fail "clients: $(cat "$T_TMP/load.out")"
pass "clients $(grep "^ended:" "$T_TMP/load.out")"

in_ns "$tcp_ns" ip link show tapsrv0 >/dev/null 2>&1 && fail "the TAP outlived tapsrv"
pass "the TAP is gone"

tcpdump -nn -r "$T_TMP/load.pcap" >"$T_TMP/pcap.txt" 2>"$T_TMP/pcap.err" ||
  fail "tcpdump cannot read the pcap: $(cat "$T_TMP/pcap.err")"
# The last thousand frames must be the RSTs: nothing was left in the writer's buffer.
resets=$(tail -n 1000 "$T_TMP/pcap.txt" |
  grep -cE "^[0-9:.]+ IP 10\.0\.0\.2\.3333 > 10\.0\.0\.1\.[0-9]+: Flags \[R" || true)
[ "$resets" -eq 1000 ] || fail "the pcap's last 1000 frames hold $resets of tapsrv's RSTs"
pass "pcap: $(wc -l <"$T_TMP/pcap.txt") frames readable by tcpdump, ending with tapsrv's $resets RSTs"
[ "$(counter "$tcp_log" tcp_resets_sent)" -ge 1000 ] ||
  fail "tcp_resets_sent=$(counter "$tcp_log" tcp_resets_sent)"
