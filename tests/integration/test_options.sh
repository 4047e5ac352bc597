#!/usr/bin/env bash
# The options that other tests only parse, each run for real with a kernel client and checked by
# what it must change: --sndbuf, --rcvbuf, --backlog, --busy-poll 0, --mtu 1280 and 9000,
# --host-ip and --no-host-ip. (--keepalive and --user-timeout: test_timeouts.sh.)
source "$(dirname "$0")/lib.sh"

ns=$(netns_new host)
client() { in_ns "$ns" timeout 120 python3 "$(dirname "$0")/tcp_client.py" "$@"; }
# up NAME [options...]: tapsrv serving echo, discard and chargen, its log in $T_TMP/NAME.log.
up() {
  local name=$1
  shift
  log=$T_TMP/$name.log
  start_tapsrv "$ns" "$log" --port 3333 --port 9:discard --port 19:chargen "$@"
  pid=$T_LAST_PID
}
down() {
  stop_tapsrv "$pid"
  [ "$T_STATUS" -eq 0 ] || fail "$1: exit status $T_STATUS"
  check_counts "$log"
}
# check_counts LOG: what every run must show, whatever its options.
check_counts() {
  [ "$(counter "$1" internal_bug)" -eq 0 ] || fail "internal_bug in $1"
}

# --sndbuf: a fixed send buffer never autotunes; without it, a bulk download grows it.
up sndbuf --sndbuf 65536
client chargen 10.0.0.2 19 8000000 >"$T_TMP/out" || fail "--sndbuf chargen: $(cat "$T_TMP/out")"
down --sndbuf
[ "$(counter "$log" tcp_send_buffer_grown)" -eq 0 ] || fail "--sndbuf 65536 still grew the buffer"
up sndbuf-default
client chargen 10.0.0.2 19 8000000 >"$T_TMP/out" || fail "chargen: $(cat "$T_TMP/out")"
down default
[ "$(counter "$log" tcp_send_buffer_grown)" -gt 0 ] || fail "without --sndbuf the buffer never grew"
pass "--sndbuf 65536: 8 MB of chargen intact, buffer fixed (grown by $(counter "$log" tcp_send_buffer_grown) B without it)"

# --rcvbuf: every window tapsrv advertises (scaled) stays within the buffer.
up rcvbuf --rcvbuf 16384 --log-level debug
client discard 10.0.0.2 9 2000000 >"$T_TMP/out" || fail "--rcvbuf discard: $(cat "$T_TMP/out")"
down --rcvbuf
python3 - "$log" <<'PY' || fail "--rcvbuf: a window beyond 16384 bytes was advertised"
import re, sys
shift, widest, n = None, 0, 0
for line in open(sys.argv[1]):
    m = re.search(r":9  out \[([A-Z,]+)\] .* win (\d+) ", line)
    if not m:
        continue
    if "SYN" in m.group(1):
        w = re.search(r"wscale (\d+)", line)
        shift = int(w.group(1)) if w else 0
        widest = max(widest, int(m.group(2)))
    else:
        widest = max(widest, int(m.group(2)) << (shift or 0))
    n += 1
print(f"{n} segments out, widest window {widest}")
sys.exit(0 if n > 10 and widest <= 16384 else 1)
PY
pass "--rcvbuf 16384: 2 MB uploaded intact, no advertised window above 16384"

# --backlog: beyond 4 half-open connections a SYN gets a cookie; real clients still connect.
# The SYNs come from an on-link address nobody answers for, so their connections stay half-open.
up backlog --backlog 4
in_ns "$ns" timeout 10 hping3 -S -c 20 -i u2000 -a 10.0.0.77 -p 3333 10.0.0.2 >"$T_TMP/hping.out" 2>&1 || true
client echo 10.0.0.2 3333 4 10000 >"$T_TMP/out" || fail "--backlog echo: $(cat "$T_TMP/out")"
down --backlog
cookies=$(counter "$log" tcp_syn_cookies_sent)
[ "$cookies" -ge 16 ] || fail "--backlog 4: only $cookies SYN cookies for 20 half-open SYNs beyond 4"
pass "--backlog 4: $cookies SYN cookies (16 of the 20 unanswered SYNs, then the clients'); 4 echo clients served"

# --busy-poll 0: served, and asleep when idle (no spinning after traffic).
up busy --busy-poll 0
client echo 10.0.0.2 3333 2 100000 >"$T_TMP/out" || fail "--busy-poll 0 echo: $(cat "$T_TMP/out")"
cpu() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
before=$(cpu)
sleep 2
idle=$(($(cpu) - before))
down --busy-poll
[ "$idle" -le 5 ] || fail "--busy-poll 0: $idle ticks of CPU in 2 idle seconds"
pass "--busy-poll 0: echo served; $idle clock ticks of CPU in 2 idle seconds"

# --mtu: full-size ping with DF answered, one byte more refused by the host's own stack; TCP
# negotiates MSS = MTU - 40 and moves data both ways.
for mtu in 1280 9000; do
  up mtu$mtu --mtu "$mtu" --log-level debug
  in_ns "$ns" ping -c 2 -i 0.2 -W 2 -M do -s $((mtu - 28)) 10.0.0.2 >"$T_TMP/ping" ||
    fail "--mtu $mtu: full-size ping: $(cat "$T_TMP/ping")"
  in_ns "$ns" ping -c 1 -W 1 -M do -s $((mtu - 27)) 10.0.0.2 >/dev/null 2>&1 &&
    fail "--mtu $mtu: a ping one byte too large went through"
  client discard 10.0.0.2 9 2000000 >"$T_TMP/out" || fail "--mtu $mtu discard: $(cat "$T_TMP/out")"
  client chargen 10.0.0.2 19 2000000 >"$T_TMP/out" || fail "--mtu $mtu chargen: $(cat "$T_TMP/out")"
  down "--mtu $mtu"
  grep -qE ":9  out \[SYN,ACK\] .*<mss $((mtu - 40))," "$log" || fail "--mtu $mtu: SYN-ACK MSS is not $((mtu - 40))"
  pass "--mtu $mtu: ping of $((mtu - 28)) B with DF answered, MSS $((mtu - 40)), 2 MB each way"
done

# --host-ip: the host side gets that address and tapsrv learns it.
up hostip --host-ip 10.0.0.77
in_ns "$ns" ip -4 addr show dev tapsrv0 | grep -q "inet 10.0.0.77/24" || fail "--host-ip: not on tapsrv0"
in_ns "$ns" ping -c 2 -i 0.2 -W 2 10.0.0.2 >/dev/null || fail "--host-ip: ping"
client echo 10.0.0.2 3333 1 1000 >"$T_TMP/out" || fail "--host-ip echo: $(cat "$T_TMP/out")"
down --host-ip
grep -q "arp: 10.0.0.77 is at" "$log" || fail "--host-ip: tapsrv did not learn 10.0.0.77"
pass "--host-ip 10.0.0.77: the host side has it, ping and echo from it"

# --no-host-ip: the host side stays unaddressed until someone else configures it.
up nohost --no-host-ip
in_ns "$ns" ip -4 addr show dev tapsrv0 | grep -q inet && fail "--no-host-ip: the host side has an address"
in_ns "$ns" ping -c 1 -W 1 10.0.0.2 >/dev/null 2>&1 && fail "--no-host-ip: reachable without an address"
in_ns "$ns" ip addr add 10.0.0.50/24 dev tapsrv0
in_ns "$ns" ping -c 2 -i 0.2 -W 2 10.0.0.2 >/dev/null || fail "--no-host-ip: ping after adding 10.0.0.50"
down --no-host-ip
pass "--no-host-ip: no address on the host side; reachable once one is added by hand"
