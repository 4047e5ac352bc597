#!/usr/bin/env bash
# nmap's TCP scans against tapsrv, each checked port by port against what RFC 9293 makes a host
# answer; OS detection completes; echo still works afterwards.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tcp_lib.sh"
command -v nmap >/dev/null || fail "nmap is missing (tools/setup.sh installs it)"
tcp_start
ports=1-1024,3333
rss_before=$(rss_kib "$tcp_pid")
rss_watch "$tcp_pid" "$T_TMP/rss.txt" 90

# One probe per millisecond: tapsrv limits RSTs for segments that match no connection to
# 1000/s (burst 200), so a faster scan sees some closed ports stay silent and reports them
# open|filtered or filtered. That is the limiter working, not a wrong answer.
scan() {
  local type=$1
  in_ns "$tcp_ns" timeout 60 nmap -n -Pn "$type" -p "$ports" --scan-delay 1ms --max-retries 2 \
    -oG "$T_TMP/scan$type.txt" 10.0.0.2 >"$T_TMP/scan$type.out" 2>&1 ||
    fail "nmap $type: $(cat "$T_TMP/scan$type.out")"
}
# expect TYPE OPEN_STATE OTHER_STATE: the listening ports (echo 3333, discard 9, chargen 19) must
# show OPEN_STATE, every other port OTHER_STATE.
expect() {
  local type=$1 got
  scan "$type"
  got=$(python3 "$(dirname "$0")/nmap_states.py" "$T_TMP/scan$type.txt" "$ports" 3333,9,19 "$2" "$3") ||
    fail "nmap $type: $got"
  pass "nmap $type: $got"
}

# SYN (-sS) and connect() (-sT): LISTEN answers a SYN with SYN,ACK; CLOSED answers with RST
# (RFC 9293 §3.10.7.1-2).
expect -sS open closed
expect -sT open closed
# FIN, Xmas (FIN,PSH,URG) and NULL: without SYN, ACK or RST a segment to LISTEN is dropped
# (§3.10.7.2 "fourth, other control or text"), so the open port stays silent: open|filtered.
# CLOSED resets anything that is not an RST.
expect -sF "open|filtered" closed
expect -sX "open|filtered" closed
expect -sN "open|filtered" closed
# ACK: LISTEN and CLOSED both reset a segment with ACK (<SEQ=SEG.ACK><CTL=RST>): unfiltered.
expect -sA unfiltered unfiltered
# Window: nmap calls a port open when the RST's window is non-zero. tapsrv's RSTs, like Linux's,
# carry window 0, so every port reads closed, the listening one included.
expect -sW closed closed
# Maimon (FIN,ACK): RFC 9293 resets it in LISTEN, because of the ACK, as in CLOSED; only BSD
# stacks drop it for open ports. So every port reads closed.
expect -sM closed closed

in_ns "$tcp_ns" timeout 60 nmap -n -Pn -O --max-os-tries 1 -p 1,3333 10.0.0.2 \
  >"$T_TMP/os.out" 2>&1 || fail "nmap -O: $(cat "$T_TMP/os.out")"
grep -q "OS detection performed" "$T_TMP/os.out" || fail "nmap -O: $(cat "$T_TMP/os.out")"
pass "nmap -O completed: $(grep -E "^(OS details|No exact OS|Aggressive OS)" "$T_TMP/os.out" | head -n1)"

kill -0 "$tcp_pid" 2>/dev/null || fail "tapsrv died during the scans"
rss_stop
rss_peak=$(rss_peak "$T_TMP/rss.txt")
[ $((rss_peak - rss_before)) -le $((16 * 1024)) ] || fail "RSS grew from $rss_before to $rss_peak KiB"
pass "RSS KiB: before $rss_before, peak during the scans $rss_peak"
out=$( (printf 'after the scans\n'; sleep 0.3) | in_ns "$tcp_ns" timeout 5 nc -N 10.0.0.2 3333)
[ "$out" = "after the scans" ] || fail "echo after the scans: '$out'"
pass "echo works after the scans"

stop_tapsrv "$tcp_pid"
[ "$T_STATUS" -eq 0 ] || fail "exit status $T_STATUS"
[ "$(counter "$tcp_log" internal_bug)" -eq 0 ] || fail "internal_bug counted"
pass "counters:$(grep "counters:" "$tcp_log" | sed 's/.*counters://')"
pass "drops:$(grep " drops:" "$tcp_log" | sed "s/.* drops://")"
