#!/usr/bin/env bash
# 100 000 malformed and hostile TCP/IP frames (tcp_garbage.py: random bytes, truncated and lying
# headers, bad checksums, every TCP flags byte to open and closed ports, overlapping and
# out-of-window segments on a live connection, options past the header, SYNs from neighbours
# that never answer ARP): tapsrv survives, the live connection's echo stays intact, ping and new
# connections work, every frame is accounted for, and memory stays flat.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tcp_lib.sh"
tcp_start
in_ns "$tcp_ns" ping -c 1 -W 2 10.0.0.2 >/dev/null || fail "ping before the storm"
rss_before=$(rss_kib "$tcp_pid")
read -r _ _ _ dropped_before _ < <(ip -n "$tcp_ns" -s link show tapsrv0 | grep -A1 TX: | tail -n1)

in_ns "$tcp_ns" timeout 100 python3 "$(dirname "$0")/tcp_garbage.py" tapsrv0 02:00:0a:00:00:02 \
  100000 9293 >"$T_TMP/storm.out" 2>&1 || fail "storm: $(cat "$T_TMP/storm.out")"
kill -0 "$tcp_pid" 2>/dev/null || fail "tapsrv died in the storm"
pass "$(grep "^storm:" "$T_TMP/storm.out"); $(grep "^echo ok" "$T_TMP/storm.out")"
read -r _ _ _ dropped_after _ < <(ip -n "$tcp_ns" -s link show tapsrv0 | grep -A1 TX: | tail -n1)
[ "$dropped_after" -eq "$dropped_before" ] ||
  fail "the TAP's queue dropped $((dropped_after - dropped_before)) frames: not all reached tapsrv"

in_ns "$tcp_ns" ping -c 3 -i 0.1 -W 2 10.0.0.2 >/dev/null || fail "ping after the storm"
tcp_client echo 10.0.0.2 3333 4 65536 >"$T_TMP/echo.out" || fail "$(cat "$T_TMP/echo.out")"
rss_after=$(rss_kib "$tcp_pid")
pass "after the storm: ping, and $(cat "$T_TMP/echo.out")"

stop_tapsrv "$tcp_pid"
[ "$T_STATUS" -eq 0 ] || fail "exit status $T_STATUS"
[ "$(counter "$tcp_log" internal_bug)" -eq 0 ] || fail "internal_bug counted"

# Each kind raised its own reason, at least once per frame of that kind.
while read -r _ reasons want; do
  got=0
  for r in ${reasons//+/ }; do got=$((got + $(counter "$tcp_log" "$r"))); done
  [ "$got" -ge "$want" ] || fail "$reasons = $got, but the storm sent $want frames for it"
done < <(grep "^expect " "$T_TMP/storm.out")
pass "every kind counted under its reason: $(grep "^expect " "$T_TMP/storm.out" | cut -d' ' -f2- |
  paste -sd, | sed 's/,/, /g')"

# Every frame that arrived is exactly one of: a drop by reason, or delivered (a segment the engine
# took, an ARP or ping answered). Output-side drops, frames we meant to send, are apart.
rx=$(counter "$tcp_log" rx_frames)
[ "$rx" -ge 100000 ] || fail "rx_frames=$rx: the storm did not arrive"
accounted=$(frames_add_up "$tcp_log")
pass "all frames accounted for: $accounted"
pass "drops:$(grep " drops:" "$tcp_log" | sed 's/.* drops://')"
pass "tx_drops:$(grep " tx_drops:" "$tcp_log" | sed 's/.* tx_drops://')"
pass "counters:$(grep "counters:" "$tcp_log" | sed 's/.*counters://')"

# 16 MiB: the storm may fill the SYN backlog (1024 half-open connections, about 1 MiB) and the
# neighbour queue (64 x 16 frames); anything beyond that would be a leak or an unbounded queue.
echo "RSS KiB: before $rss_before, after $rss_after"
[ $((rss_after - rss_before)) -le $((16 * 1024)) ] || fail "RSS grew from $rss_before to $rss_after KiB"
pass "RSS stayed within 16 MiB of its start"
