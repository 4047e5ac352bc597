#!/usr/bin/env bash
# --mtu 88, the lowest tapsrv accepts: an MSS of 48, of which timestamps take 12 and, while
# holes are open, a SACK option up to 28 more (three blocks), leaving 8 bytes of data. The
# kernel client reaches tapsrv through the router of test_tcp_loss.sh, with 2% random loss
# each way so that both sides keep holes open: an echo checked by SHA-256 (data both ways at
# once), an upload to discard and a chargen download checked line by line. Before the fix
# (issue #10) the SACK option could eat the whole MSS: SIGFPE at --mtu 72, frames too big to
# send below 90; since then such MTUs are refused and 88 has to work.
#
#   *-cli 10.0.8.2 c0 ==veth== r0 10.0.8.1  *-rtr  10.0.0.1 tapsrv0 (mtu 88) == TAP == tapsrv
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/loss_lib.sh"

router_and_client 10.0.8 r0 c0
log=$T_TMP/tapsrv.log
pcap=$T_TMP/tapsrv.pcap
client() { in_ns "$cli" timeout 120 python3 "$(dirname "$0")/tcp_client.py" "$@"; }

# small_mtu_run [tapsrv options...]: tapsrv afresh with --mtu 88, the three transfers under
# loss, its counters and capture checked.
small_mtu_run() {
  local what=${1:-offload} mode port args out too_big dump with_sack biggest
  rm -f "$pcap"
  start_tapsrv "$rtr" "$log" --ip 10.0.0.2/24 --gateway 10.0.0.1 --mtu 88 --port 3333 \
    --port 9:discard --port 19:chargen --msl 0.5 --pcap "$pcap" "$@"
  tapsrv_pid=$T_LAST_PID
  in_ns "$rtr" ip link show tapsrv0 | grep -q " mtu 88 " || fail "the TAP's MTU is not 88"
  in_ns "$cli" ping -c 1 -W 5 10.0.0.2 >/dev/null || fail "no ping through the router"

  loss 20
  for run in "echo 3333 1 $((256 * 1024))" "discard 9 $((192 * 1024))" \
    "chargen 19 $((192 * 1024))"; do
    read -r mode port args <<<"$run"
    # shellcheck disable=SC2086 # the client's arguments, split on purpose
    out=$(client "$mode" 10.0.0.2 "$port" $args) || fail "$what, $mode at MTU 88: $out"
    pass "MTU 88 ($what), 2% loss each way, $mode: $out"
  done
  # With offload a packet past the router's hook is a GSO burst of up to 64 KiB: too few of
  # them here for loss_check's minimum, so only the run without offload must show its loss.
  if [ "$what" = offload ]; then
    loss_seen="loss not counted (GSO bursts)"
  else
    loss_check 20 "MTU 88 ($what)"
  fi
  loss 0

  stop_tapsrv "$tapsrv_pid"
  [ "$T_STATUS" -eq 0 ] || fail "$what: tapsrv exit status $T_STATUS: $(tail -n 5 "$log")"
  too_big=$(counter "$log" ipv4_too_big)
  [ "$too_big" -eq 0 ] || fail "$what: tapsrv dropped $too_big of its segments as too big"
  [ "$(counter "$log" tcp_retransmits)" -gt 0 ] || fail "$what: tapsrv never retransmitted?"
  [ "$(counter "$log" tcp_out_of_order)" -gt 0 ] || fail "$what: tapsrv never held a hole?"
  pass "MTU 88 ($what): $loss_seen, tapsrv $(counter "$log" tcp_retransmits) retransmits," \
    "$(counter "$log" tcp_out_of_order) out-of-order segments kept, none too big"

  # From tapsrv's capture: the MSS it offered, and data segments of its own carrying
  # timestamps and three SACK blocks (tcpdump prints "sack 3") while holes were open.
  dump=$(tcpdump -r "$pcap" -nn -v 'src host 10.0.0.2 and tcp' 2>/dev/null)
  grep -q "mss 48," <<<"$dump" || fail "$what: tapsrv's SYN,ACK did not offer MSS 48"
  with_sack=$(grep -cE "TS val [0-9]+ ecr [0-9]+,nop,nop,sack 3 .*length [1-9]" <<<"$dump" || true)
  biggest=$(grep -oE "proto TCP \(6\), length [0-9]+" <<<"$dump" | awk '{ print $NF }' | sort -n |
    tail -n1)
  # Without offload every frame is what the wire carries, each of at most 88 bytes of IPv4, and
  # the kernel's segments arrive one by one, so holes open often. With offload both kernels'
  # GSO/GRO move up to 64 KiB per packet past the router's hook: few holes, maybe none.
  if [ "$what" != offload ]; then
    [ "$with_sack" -gt 0 ] || fail "$what: no data segment of tapsrv carried three SACK blocks"
    [ "${biggest:-0}" -le 88 ] || fail "$what: tapsrv sent a $biggest-byte packet at MTU 88"
  fi
  pass "MTU 88 ($what): $with_sack data segments of tapsrv with timestamps and three SACK" \
    "blocks; largest packet ${biggest:-?} bytes"
}

# Timestamps and SACK are the kernel's defaults; make sure this client offers both.
in_ns "$cli" sysctl -qw net.ipv4.tcp_timestamps=1 net.ipv4.tcp_sack=1
small_mtu_run
small_mtu_run --no-offload
