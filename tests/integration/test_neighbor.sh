#!/usr/bin/env bash
# ARP against the kernel: its neighbour entry shows our MAC, requests for other addresses are
# ignored, and with a short cache lifetime tapsrv resolves the kernel's MAC again on demand.
source "$(dirname "$0")/lib.sh"

ns=$(netns_new host)
log=$T_TMP/tapsrv.log
start_tapsrv "$ns" "$log" --arp-timeout 1
pid=$T_LAST_PID

in_ns "$ns" ping -c 1 -W 2 10.0.0.2 >/dev/null || fail "first ping"
in_ns "$ns" ip neigh show 10.0.0.2 dev tapsrv0 | grep -q "lladdr 02:00:0a:00:00:02" ||
  fail "kernel neighbour entry: $(in_ns "$ns" ip neigh show dev tapsrv0)"
pass "kernel's neighbour entry for 10.0.0.2 is 02:00:0a:00:00:02"
grep -q "arp: 10.0.0.1 is at" "$log" || fail "no 'arp: ... is at' log line"

# The kernel asks for an address nobody has: tapsrv must stay silent.
in_ns "$ns" ping -c 2 -i 0.2 -W 1 10.0.0.77 >/dev/null 2>&1 && fail "10.0.0.77 answered"

# Each ping comes after tapsrv's cache entry (1 s) has expired: the reply waits for ARP.
in_ns "$ns" ping -c 3 -i 1.6 -W 2 10.0.0.2 >"$T_TMP/ping.out" || fail "pings after expiry"
grep -q "3 received" "$T_TMP/ping.out" || fail "replies lost while resolving"

stop_tapsrv "$pid"
[ "$T_STATUS" -eq 0 ] || fail "exit status $T_STATUS"
[ "$(counter "$log" arp_not_for_us)" -ge 1 ] || fail "requests for 10.0.0.77 not counted"
[ "$(counter "$log" arp_requests_answered)" -ge 1 ] || fail "no ARP request answered"
[ "$(counter "$log" arp_requests_sent)" -ge 1 ] || fail "tapsrv never resolved on demand"
[ "$(counter "$log" arp_unresolved)" -eq 0 ] || fail "packets dropped unresolved"
pass "requests for others ignored ($(counter "$log" arp_not_for_us)); resolved on demand $(counter "$log" arp_requests_sent) time(s)"

# A MAC given on the command line is the one the kernel learns.
log2=$T_TMP/tapsrv2.log
start_tapsrv "$ns" "$log2" --mac 02:11:22:33:44:55
in_ns "$ns" ping -c 1 -W 2 10.0.0.2 >/dev/null || fail "ping with --mac"
in_ns "$ns" ip neigh show 10.0.0.2 dev tapsrv0 | grep -q "lladdr 02:11:22:33:44:55" ||
  fail "kernel did not learn --mac"
pass "--mac 02:11:22:33:44:55 is what the kernel learns"
