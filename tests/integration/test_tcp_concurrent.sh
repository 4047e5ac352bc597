#!/usr/bin/env bash
# 64 concurrent kernel clients each send 1 MiB of random bytes to echo and check the SHA-256 of
# what comes back; half-close and abort behave as a real host's would; 4000 connections at once.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tcp_lib.sh"
tcp_start

tcp_client echo 10.0.0.2 3333 64 1048576 >"$T_TMP/echo.out" || fail "$(cat "$T_TMP/echo.out")"
pass "$(cat "$T_TMP/echo.out")"

tcp_client half-close 10.0.0.2 3333 1048576 >"$T_TMP/half.out" || fail "$(cat "$T_TMP/half.out")"
pass "$(cat "$T_TMP/half.out")"

tcp_client abort 10.0.0.2 3333 >"$T_TMP/abort.out" || fail "abort client"
for _ in $(seq 50); do grep -q "ESTABLISHED -> CLOSED  (RST" "$tcp_log" && break; sleep 0.05; done
grep -q "ESTABLISHED -> CLOSED  (RST" "$tcp_log" || fail "the RST did not close the connection"
pass "SO_LINGER 0 abort: the RST frees the connection"

# Thousands at once: every connection is open before the first echo.
ulimit -n 16384
tcp_client many 10.0.0.2 3333 4000 >"$T_TMP/many.out" || fail "$(cat "$T_TMP/many.out")"
pass "$(cat "$T_TMP/many.out")"

stop_tapsrv "$tcp_pid"
[ "$T_STATUS" -eq 0 ] || fail "exit status $T_STATUS"
[ "$(counter "$tcp_log" tcp_connections_established)" -eq 4066 ] ||
  fail "established $(counter "$tcp_log" tcp_connections_established), expected 4066"
[ "$(counter "$tcp_log" tcp_bytes_received)" -eq $((65 * 1048576 + 5 + 4000 * 16)) ] ||
  fail "tcp_bytes_received=$(counter "$tcp_log" tcp_bytes_received)"
pass "4066 connections; every byte counted on tapsrv's side too"
