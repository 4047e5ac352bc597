#!/usr/bin/env bash
# --max-conns 200: connections up to the limit work, the next is refused at once (RST, so
# ECONNREFUSED), refusals cost no memory, 200 connections with full buffers stay within
# 200 x (send + receive buffer), and closing some makes room again (limits.py).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tcp_lib.sh"
tcp_start --max-conns 200

# 256 KiB each way per connection (tcp::Config's default recv_buffer and send_buffer). A ring
# doubles as it fills; glibc gives the smaller predecessors back, but AddressSanitizer's
# allocator keeps them in its free lists and adds an eighth in shadow memory, so under ASan the
# same buffers take 2.25 times as much: the bound there is 2.5 times the buffers.
factor=1
ldd "$TAPSRV" | grep -q libasan && factor=2.5
in_ns "$tcp_ns" timeout 90 python3 "$(dirname "$0")/limits.py" 10.0.0.2 3333 200 "$tcp_pid" \
  $((512 * 1024)) "$factor" >"$T_TMP/limits.out" 2>&1 || fail "$(cat "$T_TMP/limits.out")"
while read -r line; do pass "$line"; done <"$T_TMP/limits.out"

stop_tapsrv "$tcp_pid"
[ "$T_STATUS" -eq 0 ] || fail "exit status $T_STATUS"
[ "$(counter "$tcp_log" tcp_too_many_conns)" -ge 101 ] ||
  fail "tcp_too_many_conns=$(counter "$tcp_log" tcp_too_many_conns)"
[ "$(counter "$tcp_log" tcp_connections_established)" -eq 210 ] ||
  fail "tcp_connections_established=$(counter "$tcp_log" tcp_connections_established)"
pass "tcp_too_many_conns=$(counter "$tcp_log" tcp_too_many_conns)," \
  "tcp_connections_established=$(counter "$tcp_log" tcp_connections_established)"
