#!/usr/bin/env bash
# The kernel pings tapsrv through the TAP at several sizes; fragments are dropped and counted;
# SIGTERM removes the TAP, exits 0 and prints the counters.
source "$(dirname "$0")/lib.sh"

ns=$(netns_new host)
log=$T_TMP/tapsrv.log
start_tapsrv "$ns" "$log" --ip 10.0.0.2/24
pid=$T_LAST_PID

grep -q "try: ping 10.0.0.2  |  nc 10.0.0.2 3333" "$log" || fail "no how-to-connect line"
in_ns "$ns" ip -4 addr show dev tapsrv0 | grep -q "inet 10.0.0.1/24" || fail "host side has no 10.0.0.1/24"

sent=0
for size in 0 1 56 1000 1472; do
  in_ns "$ns" ping -c 3 -i 0.05 -W 2 -M do -s "$size" 10.0.0.2 >"$T_TMP/ping.out" ||
    fail "ping -s $size: $(cat "$T_TMP/ping.out")"
  grep -q "3 received" "$T_TMP/ping.out" || fail "ping -s $size lost replies"
  sent=$((sent + 3))
  pass "ping -s $size"
done

# A quick burst: 300 requests, 5 ms apart, every one answered.
in_ns "$ns" ping -c 300 -i 0.005 -W 2 -q 10.0.0.2 >"$T_TMP/ping.out" || fail "ping burst"
grep -q "300 received" "$T_TMP/ping.out" || fail "ping burst lost replies: $(cat "$T_TMP/ping.out")"
sent=$((sent + 300))
pass "300 pings 5 ms apart"

# Larger than the MTU: the kernel fragments it, tapsrv drops fragments (README: no reassembly).
in_ns "$ns" ping -c 1 -W 1 -s 2000 10.0.0.2 >/dev/null 2>&1 && fail "a fragmented ping was answered"

stop_tapsrv "$pid" TERM
[ "$T_STATUS" -eq 0 ] || fail "tapsrv exited $T_STATUS on SIGTERM"
in_ns "$ns" ip link show tapsrv0 >/dev/null 2>&1 && fail "TAP still present after exit"
[ "$(counter "$log" icmp_echo_replies)" -eq "$sent" ] ||
  fail "icmp_echo_replies=$(counter "$log" icmp_echo_replies), expected $sent"
[ "$(counter "$log" ipv4_fragment)" -ge 2 ] || fail "fragments not counted"
pass "SIGTERM: exit 0, TAP removed, $sent echo replies and the fragments counted"
