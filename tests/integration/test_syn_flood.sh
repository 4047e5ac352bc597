#!/usr/bin/env bash
# A SYN flood from random sources (hping3, 10 s) while a kernel client makes 200 connections,
# one after another: SYN cookies keep at least 99% of them working, and tapsrv's memory does
# not grow with the flood, since half-open connections beyond the backlog cost nothing.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tcp_lib.sh"
command -v hping3 >/dev/null || fail "hping3 is missing (tools/setup.sh installs it)"

# The random sources lie outside our subnet. As on a real network, a gateway that exists takes
# the SYN-ACKs (the host side of the TAP, whose kernel, not forwarding, drops them): so every
# reply is encoded, resolved and written, as it would be in service. Without one, each reply
# would stop early at ipv4_no_route.
tcp_start --gateway 10.0.0.1
in_ns "$tcp_ns" ping -c 1 -W 2 10.0.0.2 >/dev/null || fail "ping before the flood"
rss_before=$(rss_kib "$tcp_pid")
rss_watch "$tcp_pid" "$T_TMP/rss.txt" 15

# Under AddressSanitizer tapsrv handles about a third of what hping3 --flood sends here, and the
# TAP's queue drops the rest, client SYNs included: that measures the sanitizer, not tapsrv. The
# sanitizer build gets a paced flood it can absorb (hping3 -i u25: some 16 000 SYNs/s here),
# which checks the code, not the speed.
rate=(--flood)
ldd "$TAPSRV" | grep -q libasan && rate=(-i u25)
ip netns exec "$tcp_ns" timeout 10 hping3 -S "${rate[@]}" --rand-source -p 3333 10.0.0.2 \
  >"$T_TMP/hping3.out" 2>&1 &
flood=$!
T_PIDS+=("$flood")
sleep 0.5  # the flood fills the backlog within milliseconds; clients arrive after it
tcp_client trickle 10.0.0.2 3333 200 6000 >"$T_TMP/trickle.out" || fail "client: $(cat "$T_TMP/trickle.out")"
# Every connection started while the flood ran (0.5 s in, a 10 s flood, starts spread over 6 s).
started=$(grep -oE "started within [0-9.]+" "$T_TMP/trickle.out" | cut -d' ' -f3)
awk -v s="$started" 'BEGIN { exit !(s < 9.0) }' || fail "clients started too late: $(cat "$T_TMP/trickle.out")"
flood_rc=0
wait "$flood" || flood_rc=$?
[ "$flood_rc" -eq 124 ] || fail "hping3 did not run its 10 s (status $flood_rc): $(cat "$T_TMP/hping3.out")"
# Frames the TAP's queue dropped because tapsrv was behind: these cost clients a retransmitted
# SYN, and explain a failure below if the flood outran tapsrv.
read -r _ tap_frames _ tap_dropped _ < <(ip -n "$tcp_ns" -s link show tapsrv0 | grep -A1 TX: | tail -n1)
rss_during=$(rss_peak "$T_TMP/rss.txt")
rss_stop
ok=$(grep -oE "^trickle: [0-9]+" "$T_TMP/trickle.out" | cut -d' ' -f2)
queue="the TAP queue passed $tap_frames frames to tapsrv and dropped $tap_dropped"
[ "${ok:-0}" -ge 198 ] || fail "under the flood: $(cat "$T_TMP/trickle.out"); $queue"
pass "during the flood: $(cat "$T_TMP/trickle.out")"
pass "flood: $(grep -oE "^[0-9]+ packets transmitted" "$T_TMP/hping3.out") in 10 s; $queue"

tcp_client trickle 10.0.0.2 3333 20 0 >"$T_TMP/after.out" || fail "client after the flood"
grep -q "^trickle: 20/20 connections echoed;" "$T_TMP/after.out" || fail "after the flood: $(cat "$T_TMP/after.out")"
rss_after=$(rss_kib "$tcp_pid")
pass "after the flood: $(cat "$T_TMP/after.out")"

stop_tapsrv "$tcp_pid"
[ "$T_STATUS" -eq 0 ] || fail "exit status $T_STATUS"
sent=$(counter "$tcp_log" tcp_syn_cookies_sent)
validated=$(counter "$tcp_log" tcp_syn_cookies_validated)
[ "$sent" -ge 10000 ] || fail "only $sent cookies sent: was there a flood?"
[ "$validated" -ge "$ok" ] || fail "$validated cookies validated for $ok connections"
[ "$(counter "$tcp_log" tcp_connections_accepted)" -le $((1024 + validated + 20)) ] ||
  fail "more half-open connections than the backlog: $(grep counters: "$tcp_log")"
pass "cookies: $sent sent, $validated validated, $(counter "$tcp_log" tcp_syn_cookie_failed) failed; $(counter "$tcp_log" tcp_segments_in) segments in"

# 16 MiB: the backlog's 1024 half-open connections take about 1 MiB; a flood that cost memory
# per SYN would pass it within a second.
limit=$((16 * 1024))
echo "RSS KiB: before $rss_before, peak during $rss_during, after $rss_after"
[ $((rss_during - rss_before)) -le $limit ] || fail "RSS grew from $rss_before to $rss_during KiB"
[ $((rss_after - rss_before)) -le $limit ] || fail "RSS grew from $rss_before to $rss_after KiB"
pass "RSS stayed within 16 MiB of its start"
