#!/usr/bin/env bash
# --keepalive and --user-timeout against a real kernel client that vanishes: the client connects
# from its own namespace, then nftables in that namespace drops all its TCP both ways (input
# and output hooks), as a peer that lost power would look. tapsrv must reset the connection
# by itself, on time, and say why in its log and counters:
#   keepalive: idle, probes answered while the client lives, reset after the unanswered ones
#   user timeout with data in flight (chargen, the client reading), on the retransmission path
#   user timeout behind a zero window (chargen, the client reading nothing), on the probe path
#
#   *-cli 10.0.13.2 c0 ==veth== r0 10.0.13.1  *-rtr  10.0.0.1 tapsrv0 == TAP == tapsrv 10.0.0.2
source "$(dirname "$0")/lib.sh"

router_and_client 10.0.13 r0 c0
log=$T_TMP/tapsrv.log

# vanish: the client's namespace drops every TCP packet in and out (until appear).
vanish() {
  in_ns "$cli" nft -f - <<'NFT'
table inet vanish {
  chain in { type filter hook input priority 0; policy accept; meta l4proto tcp counter drop; }
  chain out { type filter hook output priority 0; policy accept; meta l4proto tcp counter drop; }
}
NFT
}
appear() { in_ns "$cli" nft delete table inet vanish; }
dropped() { in_ns "$cli" nft list table inet vanish | grep -oE "packets [0-9]+" |
  awk '{ s += $2 } END { print s + 0 }'; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# run_case NAME MODE PORT TAPSRV_OPTIONS...: a fresh tapsrv, one quiet client in MODE on PORT;
# once it is ready, the client vanishes at $t_vanish (ms).
run_case() {
  local name=$1 mode=$2 port=$3
  shift 3
  start_tapsrv "$rtr" "$log" --ip 10.0.0.2/24 --gateway 10.0.0.1 --port 3333 --port 19:chargen \
    --msl 0.5 "$@"
  tapsrv_pid=$T_LAST_PID
  # A few tries: the TAP of the tapsrv just stopped may still be on its way out.
  in_ns "$cli" ping -c 5 -i 0.2 -W 2 10.0.0.2 >/dev/null ||
    fail "$name: no ping through the router"
  in_ns "$cli" timeout 60 python3 "$(dirname "$0")/quiet_client.py" "$mode" 10.0.0.2 "$port" 30 \
    >"$T_TMP/$name.out" 2>&1 &
  client_pid=$!
  T_PIDS+=("$client_pid")
  for _ in $(seq 100); do grep -q ready "$T_TMP/$name.out" && break; sleep 0.05; done
  grep -q ready "$T_TMP/$name.out" || fail "$name: client not ready: $(cat "$T_TMP/$name.out")"
}

# reset_after NAME CAUSE MIN_MS MAX_MS: waits (MAX_MS + 2 s at most) for the log line of the
# reset with CAUSE, and checks it came MIN_MS..MAX_MS after the client vanished.
reset_after() {
  local name=$1 cause=$2 min=$3 max=$4 t=0
  for _ in $(seq $(((max + 2000) / 50))); do
    if grep -q "ESTABLISHED -> CLOSED  ($cause)" "$log"; then t=$(now_ms); break; fi
    sleep 0.05
  done
  [ "$t" -gt 0 ] || fail "$name: no 'ESTABLISHED -> CLOSED  ($cause)' within $((max + 2000)) ms"
  elapsed=$((t - t_vanish))
  [ "$elapsed" -ge "$min" ] && [ "$elapsed" -le "$max" ] ||
    fail "$name: reset $elapsed ms after the client vanished, expected $min..$max ms"
  [ "$(dropped)" -gt 0 ] || fail "$name: nftables dropped nothing: the client did not vanish"
}

# finish NAME: stops tapsrv (its counters then are in the log), ends the client, reappears.
finish() {
  stop_tapsrv "$tapsrv_pid"
  [ "$T_STATUS" -eq 0 ] || fail "$1: tapsrv exit status $T_STATUS"
  kill "$client_pid" 2>/dev/null || true
  wait "$client_pid" 2>/dev/null || true
  appear
  [ "$(counter "$log" tcp_aborts_on_timeout)" -eq 1 ] ||
    fail "$1: tcp_aborts_on_timeout=$(counter "$log" tcp_aborts_on_timeout), want 1"
}

# Keepalive: idle 1 s, probes 0.5 s apart, 3 of them. While the client lives its kernel answers
# every probe, so 3 s of idleness leave the connection up; after it vanishes, the reset comes
# 1 + 3 x 0.5 = 2.5 s after the last thing heard (up to 1 s before the vanishing).
run_case keepalive idle 3333 --keepalive 1 --keepalive-interval 0.5 --keepalive-probes 3
sleep 3
grep -q "ESTABLISHED -> CLOSED" "$log" && fail "keepalive: a live, idle client was reset"
t_vanish=$(now_ms)
vanish
reset_after keepalive "keepalive, reset" 1300 4000
pass "keepalive: a live idle client kept; vanished, reset after $elapsed ms (1 s idle + 3 x 0.5 s after the last answer)"
finish keepalive
probes=$(counter "$log" tcp_keepalive_probes)
[ "$probes" -ge 5 ] || fail "keepalive: only $probes probes (2 or more answered, then 3 unanswered)"
pass "keepalive: $probes probes, tcp_aborts_on_timeout=1, tcp_resets_sent=$(counter "$log" tcp_resets_sent)"

# User timeout 2 s with data in flight: chargen keeps sending to a reading client until it
# vanishes; the retransmission timer (200 ms, doubling) is clamped to the user timeout (Linux
# tcp_clamp_rto_to_user_timeout), long before the retransmission limit (10 tries, minutes).
run_case user-timeout-rto drain 19 --user-timeout 2
sleep 0.3
t_vanish=$(now_ms)
vanish
reset_after user-timeout-rto "user timeout, reset" 1700 3500
pass "user timeout, data in flight: reset after $elapsed ms (user timeout 2 s)"
finish user-timeout-rto
[ "$(counter "$log" tcp_retransmit_timeouts)" -ge 1 ] || fail "user-timeout-rto: no RTO?"

# User timeout 2 s behind a zero window: the client reads nothing, its 4 KiB buffer fills, and
# tapsrv probes the closed window; the client then vanishes. The user timeout runs from the
# first probe (Linux tcp_probe_timer), which came before the vanishing, so the reset comes
# within 2 s of it; without the fix probing went on forever.
run_case user-timeout-zero-window stall 19 --user-timeout 2
t_vanish=$(now_ms)
vanish
reset_after user-timeout-zero-window "user timeout, reset" 0 3000
pass "user timeout, zero window: reset $elapsed ms after the client vanished (user timeout 2 s)"
finish user-timeout-zero-window
probes=$(counter "$log" tcp_window_probes)
[ "$probes" -ge 1 ] || fail "user-timeout-zero-window: no window probe was sent"
pass "user timeout, zero window: $probes window probes, tcp_aborts_on_timeout=1"
