#!/usr/bin/env bash
# Bridge mode: the TAP joins a Linux bridge that also holds one end of a veth pair; the other
# end lives in a second namespace that plays the VM and pings tapsrv across the bridge.
source "$(dirname "$0")/lib.sh"

host=$(netns_new host)
vm=$(netns_new vm)
ip -n "$host" link add br0 type bridge
ip -n "$host" link set br0 up
ip -n "$host" link add veth-br type veth peer name veth-vm
ip -n "$host" link set veth-br master br0 up
ip -n "$host" link set veth-vm netns "$vm"
ip -n "$vm" addr add 10.0.0.3/24 dev veth-vm
ip -n "$vm" link set veth-vm up

log=$T_TMP/tapsrv.log
start_tapsrv "$host" "$log" --bridge br0
pid=$T_LAST_PID
grep -q "in bridge br0" "$log" || fail "start-up line does not mention the bridge"
ip -n "$host" link show tapsrv0 | grep -q "master br0" || fail "TAP not enslaved to br0"
[ -z "$(ip -n "$host" -4 addr show dev tapsrv0)" ] || fail "bridge mode gave the TAP an address"

# The bridge port needs a moment to forward (no STP, but the port starts in 'forwarding' after
# the link comes up): retry the first ping for up to 5 s.
ok=0
for _ in $(seq 10); do
  if in_ns "$vm" ping -c 1 -W 1 10.0.0.2 >/dev/null 2>&1; then ok=1; break; fi
done
[ $ok -eq 1 ] || fail "the VM cannot reach 10.0.0.2 across the bridge"
in_ns "$vm" ping -c 20 -i 0.02 -W 2 -s 1472 -M do 10.0.0.2 >"$T_TMP/ping.out" || fail "ping -s 1472"
grep -q "20 received" "$T_TMP/ping.out" || fail "lost replies across the bridge"
in_ns "$vm" ip neigh show 10.0.0.2 | grep -q "lladdr 02:00:0a:00:00:02" || fail "VM neighbour entry"
pass "the VM pings tapsrv across br0 and sees its MAC"

stop_tapsrv "$pid"
[ "$T_STATUS" -eq 0 ] || fail "exit status $T_STATUS"
ip -n "$host" link show tapsrv0 >/dev/null 2>&1 && fail "TAP left in the bridge"
ip -n "$host" link show br0 >/dev/null || fail "tapsrv removed the user's bridge"
pass "on exit the TAP leaves the bridge; the bridge stays"
