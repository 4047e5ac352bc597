#!/usr/bin/env bash
# --mem-limit: 400 chargen connections left unread keep tapsrv's memory within the limit (the
# control run without it grows far past it), each still streams intact afterwards, and the
# report shows the budget reached (mem_limit.py).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tcp_lib.sh"
conns=400 limit_mib=16
factor=1
ldd "$TAPSRV" | grep -q libasan && factor=2.5  # see test_limits.sh

run() {
  local mode=$1
  shift
  tcp_start --max-conns 1000 "$@"
  in_ns "$tcp_ns" timeout 150 python3 "$(dirname "$0")/mem_limit.py" 10.0.0.2 19 "$conns" \
    "$tcp_pid" $((limit_mib << 20)) "$factor" "$mode" >"$T_TMP/$mode.out" 2>&1 ||
    fail "$mode: $(cat "$T_TMP/$mode.out")"
  while read -r line; do pass "$mode: $line"; done <"$T_TMP/$mode.out"
  stop_tapsrv "$tcp_pid"
  [ "$T_STATUS" -eq 0 ] || fail "$mode: exit status $T_STATUS"
}

run control
run bound --mem-limit ${limit_mib}M
grep -q "buffer memory: at most $limit_mib MiB" "$tcp_log" || fail "no start-up line for the limit"
line=$(grep "buffer memory: used=" "$tcp_log") || fail "no buffer memory report"
peak=$(grep -oE "peak=[0-9]+" <<<"$line" | cut -d= -f2)
entries=$(grep -oE "pressure_entries=[0-9]+" <<<"$line" | cut -d= -f2)
# The limit was reached (the connections wanted 400 x 256 KiB), and passed only by the 4 KiB a
# ring may always hold.
bound=$(((limit_mib << 20) + conns * 8192))
[ "$peak" -ge $((limit_mib << 20)) ] && [ "$peak" -le "$bound" ] ||
  fail "peak $peak not between the limit and $bound: $line"
[ "$entries" -gt 0 ] || fail "pressure never entered: $line"
pass "report: ${line#*info  }"
