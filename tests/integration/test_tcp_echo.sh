#!/usr/bin/env bash
# nc against echo: what the client types comes back, and the log shows the seed's sequence of
# states for that connection, in order.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tcp_lib.sh"
tcp_start

out=$( (printf 'hello tapsrv\nsecond line\n'; sleep 0.5) | in_ns "$tcp_ns" timeout 10 nc -N 10.0.0.2 3333)
[ "$out" = $'hello tapsrv\nsecond line' ] || fail "echo returned '$out'"
pass "nc: both lines echoed"

# The client closes first: its connection must walk exactly the seed's sequence.
port=$(grep -oE "10\.0\.0\.1:[0-9]+ -> 10\.0\.0\.2:3333  LISTEN -> SYN_RECEIVED" "$tcp_log" |
  head -n1 | cut -d' ' -f1)
[ -n "$port" ] || fail "no LISTEN -> SYN_RECEIVED line"
for _ in $(seq 50); do grep -q "$port .*LAST_ACK -> CLOSED" "$tcp_log" && break; sleep 0.05; done
seq=$( (grep -E "\*:\* -> 10\.0\.0\.2:3333 " "$tcp_log"; grep -F "$port " "$tcp_log") |
  grep -oE "[A-Z_0-9]+ -> [A-Z_0-9]+  \([A-Z,a-z ]+\)" | tr '\n' ';')
want="CLOSED -> LISTEN  (listen);LISTEN -> SYN_RECEIVED  (SYN);SYN_RECEIVED -> ESTABLISHED  (ACK);"
want+="ESTABLISHED -> CLOSE_WAIT  (FIN,ACK);CLOSE_WAIT -> LAST_ACK  (close);LAST_ACK -> CLOSED  (ACK);"
[ "$seq" = "$want" ] || fail "states: $seq"
pass "log: CLOSED -> LISTEN -> SYN_RECEIVED -> ESTABLISHED -> CLOSE_WAIT -> LAST_ACK -> CLOSED"

tcp_client refused 10.0.0.2 4444 || fail "closed port was not refused"
pass "connection refused on a closed port"

# Open connections are reset on exit, not left hanging.
tcp_client hold 10.0.0.2 3333 100 >"$T_TMP/hold.out" &
holder=$!
for _ in $(seq 100); do grep -q ready "$T_TMP/hold.out" && break; sleep 0.05; done
grep -q ready "$T_TMP/hold.out" || fail "the holding client never got ready"
stop_tapsrv "$tcp_pid"
[ "$T_STATUS" -eq 0 ] || fail "exit status $T_STATUS"
wait "$holder" || fail "$(cat "$T_TMP/hold.out")"
pass "SIGTERM: $(tail -n1 "$T_TMP/hold.out")"
grep -q "ESTABLISHED -> CLOSED  (shutdown, reset)" "$tcp_log" || fail "no shutdown transitions logged"
[ "$(counter "$tcp_log" tcp_no_listener)" -ge 1 ] || fail "tcp_no_listener not counted"
