#!/usr/bin/env bash
# ECN (RFC 3168) end to end. A Linux client that asks for ECN (tcp_ecn=1) downloads chargen from
# tapsrv through a router that marks CE on the way, and the test checks each step: the ECN-setup
# SYN-ACK, tapsrv's data leaving ECT(0), the marks, the client's ECE, tapsrv's CWR and reductions,
# and the data intact.
#
#   tapsrv 10.0.0.2 --TAP-- [rtr: 10.0.0.1, forwards, marks] 10.0.1.1 --veth-- 10.0.1.2 [cli]
#
# This kernel has no ECN-marking qdisc (no fq_codel, codel, red, pie or cake; `tc` offers htb
# and tbf, which only drop), so an nftables rule on the router's egress toward the client stands
# in for the AQM: it sets CE on 10% of the ECT packets it sends on, as a marking queue would when
# it runs long. A kernel-to-kernel run over the same path first proves that the marks happen and
# that Linux answers them, so that a failure later is tapsrv's.
source "$(dirname "$0")/lib.sh"

router_and_client 10.0.1 vr vc
in_ns "$cli" sysctl -qw net.ipv4.tcp_ecn=1  # ask for ECN in every SYN (the default, 2, only accepts)

# Postrouting sees both what the router forwards (tapsrv's segments) and what it sends itself
# (the kernel run below). Only ECT packets are marked: an AQM drops Not-ECT ones instead. With
# offload a packet here is a segment of up to 64 KiB, all of whose pieces arrive CE: 10% of
# those gives a few dozen marks per run.
in_ns "$rtr" nft -f - <<'NFT'
table ip aqm {
  chain egress {
    type filter hook postrouting priority 0;
    oifname "vr" ip protocol tcp ip ecn ect0 numgen random mod 100 < 10 counter ip ecn set ce comment "marked";
  }
}
NFT
marked() { in_ns "$rtr" nft list chain ip aqm egress | grep -oE "packets [0-9]+" | awk '{ print $2 }'; }

# capture_start NS IFACE FILE: tcpdump of TCP headers in the background, until capture_stop.
# Started by `ip netns exec` itself, not a shell function, so that $! is tcpdump (ip execs it)
# and not a subshell, which would ignore the signal that stops it. --immediate-mode: without
# it, packets wait in the kernel's capture ring for a timeout, and a short run records none.
capture_start() {
  ip netns exec "$1" tcpdump -i "$2" -nn -s 128 --immediate-mode -U -w "$3" tcp 2>"$3.err" &
  T_CAPTURE_PID=$!
  T_PIDS+=("$T_CAPTURE_PID")
  for _ in $(seq 100); do grep -q "listening on" "$3.err" && return 0; sleep 0.05; done
  fail "tcpdump did not start: $(cat "$3.err")"
}
capture_stop() {
  sleep 0.2  # the last ACKs
  kill -TERM "$T_CAPTURE_PID"
  for _ in $(seq 50); do kill -0 "$T_CAPTURE_PID" 2>/dev/null || break; sleep 0.1; done
  wait "$T_CAPTURE_PID" 2>/dev/null || true
}
# count FILE FILTER: packets in FILE that match the BPF filter.
count() { tcpdump -nn -r "$1" "$2" 2>/dev/null | wc -l; }
# BPF pieces. tcp[13] is the flags byte: CWR 0x80, ECE 0x40, ACK 0x10, SYN 0x02.
payload='(ip[2:2] - ((ip[0] & 0xf) << 2) - ((tcp[12] & 0xf0) >> 2)) > 0'
not_syn='tcp[13] & 0x02 == 0'

# --- 1. Kernel to kernel: the router itself serves 8 MiB; proves the marker and Linux's echo.
kbytes=$((8 * 1048576))
in_ns "$rtr" timeout 60 python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.0.1.1", 5019)); s.listen(1); s.settimeout(30)
c, _ = s.accept(); c.sendall(b"x" * int(sys.argv[1])); c.close()
' "$kbytes" &
T_PIDS+=("$!")
for _ in $(seq 100); do in_ns "$rtr" ss -Hltn 'sport = :5019' | grep -q . && break; sleep 0.05; done
capture_start "$cli" vc "$T_TMP/kernel.pcap"
got=$(in_ns "$cli" timeout 60 python3 -c '
import socket
s = socket.create_connection(("10.0.1.1", 5019), timeout=10); n = 0
while True:
    b = s.recv(1 << 20)
    if not b: break
    n += len(b)
print(n)
') || fail "kernel download"
capture_stop
[ "$got" -eq "$kbytes" ] || fail "kernel download: $got of $kbytes bytes"
k_marked=$(marked)
k_ce=$(count "$T_TMP/kernel.pcap" "src host 10.0.1.1 and ip[1] & 3 == 3")
k_ece=$(count "$T_TMP/kernel.pcap" "src host 10.0.1.2 and $not_syn and tcp[13] & 0x40 != 0")
k_cwr=$(count "$T_TMP/kernel.pcap" "src host 10.0.1.1 and $not_syn and tcp[13] & 0x80 != 0")
[ "$k_marked" -gt 0 ] && [ "$k_ce" -gt 0 ] ||
  fail "the router marked $k_marked packets; the client saw $k_ce CE packets of $(count "$T_TMP/kernel.pcap" "src host 10.0.1.1")"
[ "$k_ece" -gt 0 ] && [ "$k_cwr" -gt 0 ] ||
  fail "Linux to Linux: $k_ece ACKs with ECE, $k_cwr segments with CWR"
pass "kernel to kernel: $k_marked packets marked CE, $k_ece ACKs echoed ECE, $k_cwr CWR"

# --- 2. tapsrv behind the router, the same path and the same marker.
log=$T_TMP/tapsrv.log
start_tapsrv "$rtr" "$log" --port 19:chargen --gateway 10.0.0.1 --msl 0.5 \
  --pcap "$T_TMP/tapsrv.pcap"
pid=$T_LAST_PID
before=$(marked)
capture_start "$cli" vc "$T_TMP/client.pcap"
bytes=$((16 * 1048576))
in_ns "$cli" timeout 120 python3 "$(dirname "$0")/tcp_client.py" chargen 10.0.0.2 19 "$bytes" \
  >"$T_TMP/chargen.out" || fail "$(cat "$T_TMP/chargen.out")"
capture_stop
stop_tapsrv "$pid"
[ "$T_STATUS" -eq 0 ] || fail "exit status $T_STATUS"
pass "$(cat "$T_TMP/chargen.out") (every line checked)"

cap=$T_TMP/client.pcap
ours=$T_TMP/tapsrv.pcap  # every frame as tapsrv sent it, before the router touched it
[ "$(count "$cap" "src host 10.0.1.2 and tcp[13] & 0xd2 == 0xc2")" -gt 0 ] ||
  fail "the client's SYN did not ask for ECN (ECE and CWR)"
synack=$(count "$cap" "src host 10.0.0.2 and tcp[13] & 0xd2 == 0x52 and ip[1] & 3 == 0")
[ "$synack" -gt 0 ] || fail "no Not-ECT SYN-ACK with ECE and without CWR: $(tcpdump -nn -v -r \
  "$cap" 'src host 10.0.0.2 and tcp[13] & 0x02 != 0' 2>/dev/null | head -n 4)"
pass "handshake: the client's SYN asked with ECE,CWR; tapsrv's SYN-ACK answered with ECE alone"

ect0=$(count "$ours" "src host 10.0.0.2 and $payload and ip[1] & 3 == 2")
other=$(count "$ours" "src host 10.0.0.2 and $payload and ip[1] & 3 != 2 and ip[1] & 3 != 0")
acks_ect=$(count "$ours" "src host 10.0.0.2 and not $payload and ip[1] & 3 != 0")
[ "$ect0" -gt 0 ] || fail "tapsrv sent no data ECT(0)"
[ "$other" -eq 0 ] && [ "$acks_ect" -eq 0 ] ||
  fail "tapsrv sent $other data packets ECT(1) or CE and $acks_ect ECT packets without data"
pass "tapsrv's data left ECT(0) ($ect0 frames), its packets without data Not-ECT"

marks=$(($(marked) - before))
ce=$(count "$cap" "src host 10.0.0.2 and ip[1] & 3 == 3")
ece=$(count "$cap" "src host 10.0.1.2 and $not_syn and tcp[13] & 0x40 != 0")
cwr=$(count "$ours" "src host 10.0.0.2 and $not_syn and tcp[13] & 0x80 != 0")
[ "$marks" -gt 0 ] && [ "$ce" -gt 0 ] || fail "the router marked $marks packets, $ce arrived CE"
[ "$ece" -gt 0 ] || fail "the client echoed no ECE for $ce CE packets"
[ "$cwr" -gt 0 ] || fail "tapsrv never answered the client's $ece ECE ACKs with CWR"
pass "$marks packets marked CE on the way; the client echoed ECE on $ece ACKs; tapsrv sent CWR $cwr times"

negotiated=$(counter "$log" tcp_ecn_negotiated)
ece_in=$(counter "$log" tcp_ece_received)
reductions=$(counter "$log" tcp_ecn_reductions)
[ "$negotiated" -ge 1 ] || fail "tcp_ecn_negotiated is $negotiated"
[ "$ece_in" -gt 0 ] && [ "$reductions" -gt 0 ] ||
  fail "tapsrv counted $ece_in ECE ACKs and $reductions reductions"
# Once per window: the client echoes every CE until our CWR arrives, so there are fewer
# reductions than ECE ACKs, and at most one per CWR sent.
# (One more reduction than CWR is possible when the last ECE comes after the last data.)
[ "$reductions" -le "$ece_in" ] && [ "$reductions" -le $((cwr + 1)) ] ||
  fail "$reductions reductions for $ece_in ECE ACKs and $cwr CWR segments"
[ "$(counter "$log" tcp_ce_received)" -eq 0 ] || fail "CE counted, yet the client sent no data"
pass "tapsrv: $negotiated negotiated, $ece_in ECE ACKs, $reductions window reductions"

# --- 3. --no-ecn: the same client's request is declined, and nothing is marked ECT.
start_tapsrv "$rtr" "$log.no-ecn" --port 19:chargen --gateway 10.0.0.1 --msl 0.5 --no-ecn
pid=$T_LAST_PID
capture_start "$cli" vc "$T_TMP/no-ecn.pcap"
in_ns "$cli" timeout 60 python3 "$(dirname "$0")/tcp_client.py" chargen 10.0.0.2 19 1048576 \
  >"$T_TMP/chargen.out" || fail "$(cat "$T_TMP/chargen.out")"
capture_stop
stop_tapsrv "$pid"
cap=$T_TMP/no-ecn.pcap
[ "$(count "$cap" "src host 10.0.1.2 and tcp[13] & 0xd2 == 0xc2")" -gt 0 ] ||
  fail "--no-ecn: the client's SYN did not ask for ECN"
[ "$(count "$cap" "src host 10.0.0.2 and tcp[13] & 0x12 == 0x12 and tcp[13] & 0xc0 == 0")" -gt 0 ] ||
  fail "--no-ecn: no SYN-ACK without ECE and CWR"
[ "$(count "$cap" "src host 10.0.0.2 and ip[1] & 3 != 0")" -eq 0 ] ||
  fail "--no-ecn: tapsrv sent ECT packets"
[ "$(counter "$log.no-ecn" tcp_ecn_negotiated)" -eq 0 ] || fail "--no-ecn: ECN negotiated"
pass "--no-ecn: the SYN-ACK declined (no ECE), every packet Not-ECT; $(cat "$T_TMP/chargen.out")"
