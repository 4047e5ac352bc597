#!/usr/bin/env bash
# Blind in-window attacks (RFC 5961: RSTs, SYNs, data with guessed ACKs) injected from a raw
# socket at an idle echo connection and at a chargen download in full flow (blind.py): both
# survive with every byte intact, and challenge ACKs stay within one per 500 ms per connection.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tcp_lib.sh"
tcp_start
rss_before=$(rss_kib "$tcp_pid")
rss_watch "$tcp_pid" "$T_TMP/rss.txt" 60

in_ns "$tcp_ns" timeout 60 python3 "$(dirname "$0")/blind.py" tapsrv0 02:00:0a:00:00:02 2 \
  >"$T_TMP/blind.out" 2>&1 || fail "blind.py: $(cat "$T_TMP/blind.out")"
kill -0 "$tcp_pid" 2>/dev/null || fail "tapsrv died"
rss_stop
rss_peak=$(rss_peak "$T_TMP/rss.txt")
[ $((rss_peak - rss_before)) -le $((16 * 1024)) ] || fail "RSS grew from $rss_before to $rss_peak KiB"
pass "RSS KiB: before $rss_before, peak during the attacks $rss_peak"
while read -r line; do pass "$line"; done < <(grep -E "^(echo|chargen):" "$T_TMP/blind.out")

stop_tapsrv "$tcp_pid"
[ "$T_STATUS" -eq 0 ] || fail "exit status $T_STATUS"
[ "$(counter "$tcp_log" internal_bug)" -eq 0 ] || fail "internal_bug counted"
injected() { awk -v k="$1" '$1 == "injected" && $2 == k { print $3 }' "$T_TMP/blind.out"; }
rst=$(injected rst)
syn=$(injected syn)
data=$(injected data)
c() { counter "$tcp_log" "$1"; }
# Each injected segment met its own RFC 5961 rule, none slipped through to the data.
[ "$(c tcp_rst_challenged)" -eq "$rst" ] || fail "tcp_rst_challenged=$(c tcp_rst_challenged), $rst RSTs"
[ $(($(c tcp_syn_challenged) + $(c tcp_paws_rejected))) -eq "$syn" ] ||
  fail "tcp_syn_challenged=$(c tcp_syn_challenged) + tcp_paws_rejected=$(c tcp_paws_rejected), $syn SYNs"
[ $(($(c tcp_ack_too_new) + $(c tcp_ack_too_old))) -eq "$data" ] ||
  fail "tcp_ack_too_new=$(c tcp_ack_too_new) + tcp_ack_too_old=$(c tcp_ack_too_old), $data data"
# The one RST tapsrv took is the chargen client's own: closing a socket with unread data resets.
[ "$(c tcp_resets_received)" -eq 1 ] || fail "tcp_resets_received=$(c tcp_resets_received)"
total=$((rst + syn + data))
sent=$((total - $(c tcp_challenge_acks_limited)))
[ "$sent" -le 12 ] || fail "$sent challenge ACKs for $total attacks: not rate-limited"
pass "$rst RSTs, $syn SYNs, $data data segments injected: $sent challenge ACKs sent in all," \
  "$(c tcp_challenge_acks_limited) withheld by the limit"
