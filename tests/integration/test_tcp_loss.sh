#!/usr/bin/env bash
# Under 5% random loss in each direction (nftables numgen; this kernel has no netem), a 16 MiB
# echo round trip still arrives intact.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tcp_lib.sh"
tcp_start

in_ns "$tcp_ns" nft -f - <<'NFT'
table inet loss {
  chain in { type filter hook input priority 0; iifname "tapsrv0" tcp sport 3333 numgen random mod 100 < 5 counter drop; }
  chain out { type filter hook output priority 0; oifname "tapsrv0" tcp dport 3333 numgen random mod 100 < 5 counter drop; }
}
NFT
tcp_client echo 10.0.0.2 3333 1 $((16 * 1048576)) >"$T_TMP/echo.out" || fail "$(cat "$T_TMP/echo.out")"
dropped=$(in_ns "$tcp_ns" nft list ruleset | grep -oE "packets [0-9]+" | awk '{ s += $2 } END { print s + 0 }')
[ "$dropped" -gt 100 ] || fail "nftables dropped only $dropped packets"
pass "5% loss each way ($dropped packets dropped): $(cat "$T_TMP/echo.out")"

stop_tapsrv "$tcp_pid"
[ "$(counter "$tcp_log" tcp_retransmits)" -gt 0 ] || fail "no retransmissions under loss?"
pass "recovered: $(counter "$tcp_log" tcp_retransmits) retransmits, $(counter "$tcp_log" tcp_fast_retransmits) fast, $(counter "$tcp_log" tcp_retransmit_timeouts) timeouts, $(counter "$tcp_log" tcp_out_of_order) out-of-order segments kept"
