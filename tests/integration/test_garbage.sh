#!/usr/bin/env bash
# A storm of malformed frames through the TAP: tapsrv survives, counts each kind under its own
# reason, and still answers ping afterwards.
source "$(dirname "$0")/lib.sh"

ns=$(netns_new host)
log=$T_TMP/tapsrv.log
start_tapsrv "$ns" "$log"
pid=$T_LAST_PID
in_ns "$ns" ping -c 1 -W 2 10.0.0.2 >/dev/null || fail "ping before"

in_ns "$ns" timeout 120 python3 "$(dirname "$0")/garbage.py" tapsrv0 02:00:0a:00:00:02 21000 7 \
  >"$T_TMP/sent.txt" || fail "garbage.py failed"
kill -0 "$pid" 2>/dev/null || fail "tapsrv died under garbage"
in_ns "$ns" ping -c 3 -i 0.1 -W 2 10.0.0.2 >/dev/null || fail "ping after the storm"
pass "survived: $(cat "$T_TMP/sent.txt")"

stop_tapsrv "$pid"
[ "$T_STATUS" -eq 0 ] || fail "exit status $T_STATUS"
for reason in eth_not_for_us eth_unsupported_type ipv4_truncated ipv4_bad_version \
  ipv4_bad_header_len ipv4_bad_total_len ipv4_bad_checksum ipv4_fragment ipv4_bad_source \
  icmp_truncated icmp_bad_checksum icmp_unhandled_type arp_malformed arp_unsupported_op \
  arp_not_for_us; do
  [ "$(counter "$log" "$reason")" -ge 1000 ] || fail "$reason=$(counter "$log" "$reason")"
done
[ "$(counter "$log" icmp_echo_replies)" -eq 4 ] || fail "garbage drew echo replies"
# Every frame that arrived is exactly one of: delivered (answered, a reply we asked for) or a
# drop by reason. Output-side drops, of frames we meant to send, are on their own line.
accounted=$(frames_add_up "$log")
pass "all frames accounted for: $accounted:$(grep " drops:" "$log" | sed 's/.* drops://')"
used=$(($(counter "$log" arp_requests_answered) + $(counter "$log" arp_replies_received) +
  $(counter "$log" icmp_echo_replies)))
[ "$(counter "$log" rx_delivered)" -eq "$used" ] ||
  fail "rx_delivered=$(counter "$log" rx_delivered) but $used ARP and ping answered"
