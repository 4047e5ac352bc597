#!/usr/bin/env bash
# Under 5% random loss in each direction (nftables numgen; this kernel has no netem), a 16 MiB
# echo round trip still arrives intact.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tcp_lib.sh"
tcp_start

# Each chain first counts every packet of the connection ("seen"), then drops 5% of them. With
# offload a packet is a segment of up to 64 KiB, so there are fewer packets to lose, each of them
# dearer; the check is on the share, which must be near 5% either way.
in_ns "$tcp_ns" nft -f - <<'NFT'
table inet loss {
  chain in {
    type filter hook input priority 0;
    iifname "tapsrv0" tcp sport 3333 counter comment "seen";
    iifname "tapsrv0" tcp sport 3333 numgen random mod 100 < 5 counter drop;
  }
  chain out {
    type filter hook output priority 0;
    oifname "tapsrv0" tcp dport 3333 counter comment "seen";
    oifname "tapsrv0" tcp dport 3333 numgen random mod 100 < 5 counter drop;
  }
}
NFT
tcp_client echo 10.0.0.2 3333 1 $((16 * 1048576)) >"$T_TMP/echo.out" || fail "$(cat "$T_TMP/echo.out")"
ruleset=$(in_ns "$tcp_ns" nft list ruleset)
sum_packets() { grep -oE "packets [0-9]+" | awk '{ s += $2 } END { print s + 0 }'; }
seen=$(grep 'comment "seen"' <<<"$ruleset" | sum_packets)
dropped=$(grep ' drop' <<<"$ruleset" | sum_packets)
# 5% of at least a few hundred packets: below 2% (or under 10) the loss did not really happen.
[ "$dropped" -ge 10 ] && [ $((dropped * 100)) -ge $((seen * 2)) ] ||
  fail "nftables dropped only $dropped of $seen packets"
pass "5% loss each way ($dropped of $seen packets dropped): $(cat "$T_TMP/echo.out")"

stop_tapsrv "$tcp_pid"
[ "$(counter "$tcp_log" tcp_retransmits)" -gt 0 ] || fail "no retransmissions under loss?"
pass "recovered: $(counter "$tcp_log" tcp_retransmits) retransmits, $(counter "$tcp_log" tcp_fast_retransmits) fast, $(counter "$tcp_log" tcp_retransmit_timeouts) timeouts, $(counter "$tcp_log" tcp_out_of_order) out-of-order segments kept"
