#!/usr/bin/env bash
# Unknown IP protocols get protocol unreachable, UDP gets port unreachable, each quoting the
# datagram within RFC 1812's 576 bytes.
source "$(dirname "$0")/lib.sh"

ns=$(netns_new host)
log=$T_TMP/tapsrv.log
start_tapsrv "$ns" "$log"
pid=$T_LAST_PID

in_ns "$ns" python3 "$(dirname "$0")/icmp_probe.py" 10.0.0.2 >"$T_TMP/probe.out" || fail "probe script"
grep -q "^proto253 type=3 code=2 quoted=ok" "$T_TMP/probe.out" || fail "$(cat "$T_TMP/probe.out")"
grep -q "^udp9999 type=3 code=3 quoted=ok" "$T_TMP/probe.out" || fail "$(cat "$T_TMP/probe.out")"
grep -q "^proto253big type=3 code=2 quoted=ok len=556$" "$T_TMP/probe.out" ||
  fail "large datagram: $(cat "$T_TMP/probe.out")"
pass "$(tr '\n' ';' <"$T_TMP/probe.out")"

stop_tapsrv "$pid"
[ "$(counter "$log" icmp_errors_sent)" -eq 3 ] || fail "icmp_errors_sent=$(counter "$log" icmp_errors_sent)"
[ "$(counter "$log" ipv4_unknown_protocol)" -eq 2 ] || fail "ipv4_unknown_protocol not counted"
[ "$(counter "$log" udp_no_listener)" -eq 1 ] || fail "udp_no_listener not counted"
pass "counted: 3 errors sent, 2 unknown protocol, 1 udp"
