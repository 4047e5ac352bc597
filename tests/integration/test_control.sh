#!/usr/bin/env bash
# The control socket and `tapsrv status` / `tapsrv stats`: a live echo connection in status -j,
# 10 000 connections listed while a bulk upload keeps flowing, stats in JSON and the Prometheus
# format, who may connect (file mode and SO_PEERCRED), stale and live sockets, socket
# discovery by -i, bad usage.
source "$(dirname "$0")/lib.sh"
ulimit -n "$(ulimit -Hn)"  # 10 000 client sockets in one process
check_py() { in_ns "$ns" timeout 300 python3 "$(dirname "$0")/control_check.py" "$@"; }
ns=$(netns_new host)
ctl=$T_TMP/ctl0.sock
start_tapsrv "$ns" "$T_TMP/tapsrv.log" --ifname ctl0 --control "$ctl" --port 3333 --port 9:discard \
  --max-conns 12000 --backlog 2048 --msl 0.5
pid=$T_LAST_PID
grep -q "control socket $ctl" "$T_TMP/tapsrv.log" || fail "no 'control socket' line"
[ "$(stat -c '%a %U %G %F' "$ctl")" = "660 root root socket" ] ||
  fail "socket file: $(stat -c '%a %U %G %F' "$ctl")"
pass "socket $ctl: mode 0660, root:root"

check_py live "$TAPSRV" "$ctl" || fail "status during an echo connection"
pass "status -j: the echo connection, its byte counts growing, gone after close"

out=$(in_ns "$ns" "$TAPSRV" stats --control "$ctl") || fail "stats exited $?"
grep -qE "^  rx_frames +[1-9]" <<<"$out" || fail "stats: no rx_frames: $out"
grep -qE "^  tcp_syn_cookie_failed +0$" <<<"$out" || fail "stats: zero values left out: $out"
in_ns "$ns" "$TAPSRV" stats --control "$ctl" -j | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert set(d) == {"counters", "drops", "tx_drops"}, d.keys()
assert "arp_unresolved" in d["tx_drops"], d["tx_drops"]
assert d["counters"]["rx_frames"] > 0 and d["counters"]["tcp_connections_established"] >= 1, d
assert "eth_not_for_us" in d["drops"] and all(isinstance(v, int) for v in d["drops"].values())
print("stats -j: %d counters, %d drop reasons" % (len(d["counters"]), len(d["drops"])))' ||
  fail "stats -j"
in_ns "$ns" "$TAPSRV" stats --control "$ctl" --prometheus >"$T_TMP/prom.txt" || fail "--prometheus"
check_py prometheus <"$T_TMP/prom.txt" || fail "stats --prometheus does not parse"
grep -qE '^tapsrv_drops_total\{reason="eth_not_for_us"\} [0-9]+$' "$T_TMP/prom.txt" ||
  fail "no tapsrv_drops_total{reason=\"eth_not_for_us\"}"
if command -v promtool >/dev/null; then
  promtool check metrics <"$T_TMP/prom.txt" || fail "promtool check metrics"
  pass "promtool check metrics"
fi
pass "stats: text, JSON and Prometheus"

# 10 000 held connections and a bulk upload: status streams out a bounded amount per wake-up.
bound=5
ldd "$TAPSRV" | grep -q libasan && bound=20
check_py load "$TAPSRV" "$ctl" 10000 "$bound" || fail "status under 10 000 connections"
pass "status with 10 000 connections within ${bound} s, bulk upload not stalled"

# refused UID EXPECTED: `status` as UID (no groups) exits 1 with one line containing EXPECTED.
refused() {
  out=$(in_ns "$ns" setpriv --reuid "$1" --regid "$1" --clear-groups "$TAPSRV" status \
    --control "$ctl" 2>&1) && fail "uid $1 was served: $out"
  local status=$?
  [ "$status" -eq 1 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && grep -q "$2" <<<"$out" ||
    fail "uid $1: exit $status, '$out'"
}
# Who may connect: the file keeps out those outside root's group; SO_PEERCRED the rest.
chmod 0711 "$T_TMP"
refused 65534 "access refused"
pass "nobody refused by the file's mode: $out"
# Through a socket opened to everyone, SO_PEERCRED still refuses: uid 4242 is neither root, nor
# tapsrv's own user (nobody, after dropping privileges), nor in group root.
chmod 0666 "$ctl"
refused 4242 "access refused: uid 4242"
pass "uid 4242 refused by SO_PEERCRED: $out"
chmod 0660 "$ctl"
grp=$(getent group users | cut -d: -f3)
if [ -n "$grp" ]; then
  # --control-group: a member of that group (and not root) is served.
  start_tapsrv "$ns" "$T_TMP/group.log" --ifname ctl1 --control "$T_TMP/ctl1.sock" \
    --control-group users
  [ "$(stat -c '%a %G' "$T_TMP/ctl1.sock")" = "660 users" ] ||
    fail "--control-group users: $(stat -c '%a %G' "$T_TMP/ctl1.sock")"
  in_ns "$ns" setpriv --reuid 65534 --regid 65534 --groups "$grp" "$TAPSRV" stats -j \
    --control "$T_TMP/ctl1.sock" >/dev/null || fail "a member of users was refused"
  pass "--control-group users: the socket is root:users 0660 and a member is served"
  stop_tapsrv "$T_LAST_PID"
fi

# A live socket is an error at start (exit 1, one line); the TAP it made is gone again.
out=$(in_ns "$ns" timeout 10 "$TAPSRV" up --ifname ctl2 --control "$ctl" 2>&1) &&
  fail "a second tapsrv on a live socket started"
status=$?
[ "$status" -eq 1 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && grep -q "in use by a running tapsrv" <<<"$out" ||
  fail "live socket: exit $status, '$out'"
in_ns "$ns" ip link show ctl2 >/dev/null 2>&1 && fail "ctl2 was left behind"
pass "live socket refused at start: $out"

# Discovery: -i finds IFNAME.sock under $XDG_RUNTIME_DIR/tapsrv when /run/tapsrv lacks it.
mkdir -p "$T_TMP/xdg/tapsrv"
start_tapsrv "$ns" "$T_TMP/xdg.log" --ifname ctlx9 --control "$T_TMP/xdg/tapsrv/ctlx9.sock"
xpid=$T_LAST_PID
in_ns "$ns" env XDG_RUNTIME_DIR="$T_TMP/xdg" "$TAPSRV" status -i ctlx9 -j |
  grep -q '"interface": "ctlx9"' || fail "status -i ctlx9 via XDG_RUNTIME_DIR"
out=$(in_ns "$ns" env XDG_RUNTIME_DIR="$T_TMP/xdg" "$TAPSRV" status -i nosuch0 2>&1) &&
  fail "status -i nosuch0 exited 0"
grep -q "no control socket for nosuch0" <<<"$out" || fail "status -i nosuch0: $out"
if ! ls /run/tapsrv/*.sock >/dev/null 2>&1; then
  in_ns "$ns" env XDG_RUNTIME_DIR="$T_TMP/xdg" "$TAPSRV" stats -j >/dev/null ||
    fail "without -i the only socket was not used"
  cp -a "$T_TMP/xdg/tapsrv/ctlx9.sock" "$T_TMP/xdg/tapsrv/dead.sock" 2>/dev/null ||
    python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" \
      "$T_TMP/xdg/tapsrv/dead.sock"
  in_ns "$ns" env XDG_RUNTIME_DIR="$T_TMP/xdg" "$TAPSRV" stats -j >/dev/null ||
    fail "a dead socket file beside the live one confused discovery"
  ln -s "$ctl" "$T_TMP/xdg/tapsrv/ctl0.sock"
  out=$(in_ns "$ns" env XDG_RUNTIME_DIR="$T_TMP/xdg" "$TAPSRV" stats 2>&1) &&
    fail "two live sockets: stats exited 0"
  grep -q "several tapsrv control sockets (ctl0, ctlx9)" <<<"$out" || fail "several: '$out'"
  rm -f "$T_TMP/xdg/tapsrv/ctl0.sock"
  pass "without -i: the only live socket is used; several are named"
else
  echo "note: /run/tapsrv holds sockets of this machine's tapsrv: discovery without -i not checked"
fi
pass "-i finds the socket under \$XDG_RUNTIME_DIR/tapsrv"

# The socket file goes with its tapsrv: removed by a child that kept root's uid (tapsrv itself
# is nobody by then), also after SIGKILL; with --user root by tapsrv itself.
gone_soon() {
  for _ in $(seq 40); do [ -e "$1" ] || return 0; sleep 0.05; done
  fail "$1 outlived its tapsrv"
}
kill -KILL "$xpid"
wait "$xpid" 2>/dev/null || true
gone_soon "$T_TMP/xdg/tapsrv/ctlx9.sock"
start_tapsrv "$ns" "$T_TMP/user.log" --ifname ctlu --control "$T_TMP/user.sock"
[ "$(awk '/^Uid:/ { print $3 }' "/proc/$T_LAST_PID/status")" = 65534 ] || fail "not nobody"
stop_tapsrv "$T_LAST_PID"
gone_soon "$T_TMP/user.sock"
start_tapsrv "$ns" "$T_TMP/rootuser.log" --ifname ctlr --user root --control "$T_TMP/root.sock"
stop_tapsrv "$T_LAST_PID"
[ -e "$T_TMP/root.sock" ] && fail "the socket file outlived its tapsrv (--user root)"
pass "socket file removed on exit: as nobody, after SIGKILL, and as root"

# A stale socket file (nobody listens: bound by a process that is gone) answers nothing and is
# replaced at the next start.
stale=$T_TMP/xdg/tapsrv/stale.sock
python3 -c "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])" "$stale"
out=$(in_ns "$ns" "$TAPSRV" status --control "$stale" 2>&1) && fail "a stale socket answered"
status=$?
[ "$status" -eq 1 ] && grep -q "no tapsrv answers" <<<"$out" || fail "stale: exit $status, '$out'"
start_tapsrv "$ns" "$T_TMP/stale.log" --ifname ctls --control "$stale"
in_ns "$ns" "$TAPSRV" status --control "$stale" >/dev/null ||
  fail "the new tapsrv does not answer on the replaced socket"
stop_tapsrv "$T_LAST_PID"
pass "stale socket: 'no tapsrv answers', then replaced at start"

# --no-control: no socket; bad usage exits 2 with one line.
start_tapsrv "$ns" "$T_TMP/nocontrol.log" --ifname ctln --no-control
grep -q "control socket" "$T_TMP/nocontrol.log" && fail "--no-control still made a socket"
stop_tapsrv "$T_LAST_PID"
for args in "status --state BOGUS" "status --bogus" "stats -j --prometheus" \
  "status -i ctl0 --control $ctl" "up --no-control --control $ctl" "status extra"; do
  # shellcheck disable=SC2086 # the cases are word lists
  out=$(in_ns "$ns" timeout 10 "$TAPSRV" $args 2>&1) && fail "'$args' exited 0"
  status=$?
  [ "$status" -eq 2 ] && [ "$(wc -l <<<"$out")" -eq 1 ] || fail "'$args': exit $status, '$out'"
done
pass "bad usage: exit 2, one line"

stop_tapsrv "$pid"
[ "$T_STATUS" -eq 0 ] || fail "tapsrv exited $T_STATUS"
