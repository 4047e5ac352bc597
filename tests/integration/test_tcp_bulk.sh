#!/usr/bin/env bash
# Bulk transfers: 256 MiB to discard (byte count checked on both sides), a chargen download
# checked line by line, and curl against the http service, which closes actively.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tcp_lib.sh"
tcp_start

bytes=$((256 * 1048576))
tcp_client discard 10.0.0.2 9 "$bytes" >"$T_TMP/discard.out" || fail "$(cat "$T_TMP/discard.out")"
pass "$(cat "$T_TMP/discard.out")"

tcp_client chargen 10.0.0.2 19 $((32 * 1048576)) >"$T_TMP/chargen.out" || fail "$(cat "$T_TMP/chargen.out")"
pass "$(cat "$T_TMP/chargen.out")"

page=$(in_ns "$tcp_ns" timeout 10 curl -sS -D "$T_TMP/headers" http://10.0.0.2:8080/) || fail "curl"
grep -q "^HTTP/1.1 200 OK" "$T_TMP/headers" || fail "status: $(head -n1 "$T_TMP/headers")"
grep -q "Hello from tapsrv" <<<"$page" || fail "page: $page"
for _ in $(seq 50); do grep -q ":8080  TIME_WAIT -> CLOSED  (timeout)" "$tcp_log" && break; sleep 0.05; done
grep -q ":8080  ESTABLISHED -> FIN_WAIT_1  (close)" "$tcp_log" || fail "http did not close actively"
grep -q ":8080  TIME_WAIT -> CLOSED  (timeout)" "$tcp_log" || fail "no TIME_WAIT -> CLOSED"
pass "curl: 200 OK; tapsrv closed actively and left TIME_WAIT after 2 MSL"

# The same client port again at once: tapsrv's side is in TIME_WAIT (it closed actively), and
# the new SYN, with a newer timestamp, reopens it (RFC 6191) instead of waiting 2 MSL.
reuse_port=45123
tcp_client reuse 10.0.0.2 8080 "$reuse_port" >"$T_TMP/reuse.out" || fail "$(cat "$T_TMP/reuse.out")"
grep -q "10.0.0.1:$reuse_port -> 10.0.0.2:8080  TIME_WAIT -> CLOSED  (SYN)" "$tcp_log" ||
  fail "the second SYN did not reopen TIME_WAIT: $(grep ":$reuse_port " "$tcp_log")"
pass "$(cat "$T_TMP/reuse.out"); TIME_WAIT reopened by the new SYN"

stop_tapsrv "$tcp_pid"
[ "$T_STATUS" -eq 0 ] || fail "exit status $T_STATUS"
received=$(counter "$tcp_log" tcp_bytes_received)
[ "$received" -ge "$bytes" ] || fail "tapsrv received $received of $bytes bytes"
pass "tapsrv counted $received bytes received (256 MiB discard + requests)"

# Offload is on unless the run asks for --no-offload: then the kernel must have handed us
# uncut 64 KiB segments and taken ours for cutting; without it, neither may happen.
rx_big=$(counter "$tcp_log" rx_offloaded_segments)
tx_tso=$(counter "$tcp_log" tx_tso_segments)
if [[ " ${TAPSRV_UP_ARGS:-} " == *" --no-offload "* ]]; then
  [ "$rx_big" -eq 0 ] && [ "$tx_tso" -eq 0 ] ||
    fail "--no-offload, yet $rx_big segments over the MTU came in and $tx_tso TSO segments left"
  pass "--no-offload: every segment in and out fit the MTU"
else
  [ "$rx_big" -gt 0 ] || fail "offload on, yet the kernel cut every segment it sent us"
  [ "$tx_tso" -gt 0 ] || fail "offload on, yet no TSO segment left for the chargen download"
  pass "offload: $rx_big uncut segments received, $tx_tso TSO segments sent"
fi
