#!/usr/bin/env bash
# --pcap writes every frame in and out, and tcpdump reads the file.
source "$(dirname "$0")/lib.sh"

ns=$(netns_new host)
log=$T_TMP/tapsrv.log
pcap=$T_TMP/capture.pcap
start_tapsrv "$ns" "$log" --pcap "$pcap"
pid=$T_LAST_PID
in_ns "$ns" ping -c 5 -i 0.05 -W 2 10.0.0.2 >/dev/null || fail "ping"
stop_tapsrv "$pid"
[ "$T_STATUS" -eq 0 ] || fail "exit status $T_STATUS"

tcpdump -nn -r "$pcap" >"$T_TMP/dump.txt" 2>"$T_TMP/dump.err" || fail "tcpdump: $(cat "$T_TMP/dump.err")"
grep -q "link-type EN10MB (Ethernet)" "$T_TMP/dump.err" || fail "not an Ethernet capture"
head -n1 "$T_TMP/dump.txt" | grep -q "ARP, Request who-has 10.0.0.2 tell 10.0.0.2" ||
  fail "first frame is not our gratuitous ARP: $(head -n1 "$T_TMP/dump.txt")"
[ "$(grep -c "10.0.0.1 > 10.0.0.2: ICMP echo request" "$T_TMP/dump.txt")" -eq 5 ] || fail "requests"
[ "$(grep -c "10.0.0.2 > 10.0.0.1: ICMP echo reply" "$T_TMP/dump.txt")" -eq 5 ] || fail "replies"
frames=$(wc -l <"$T_TMP/dump.txt")
expected=$(($(counter "$log" rx_frames) + $(counter "$log" tx_frames)))
[ "$frames" -eq "$expected" ] || fail "pcap has $frames frames, counters say $expected"
pass "tcpdump reads $frames frames: gratuitous ARP, 5 echo requests and replies"
