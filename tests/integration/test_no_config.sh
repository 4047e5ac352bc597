#!/usr/bin/env bash
# --attach (formerly --no-config): an unprivileged user attaches to a persistent TAP it owns, configured by root
# beforehand, and tapsrv leaves the TAP exactly as it found it.
source "$(dirname "$0")/lib.sh"

ns=$(netns_new host)
ip -n "$ns" tuntap add dev tap7 mode tap user 65534
ip -n "$ns" link set tap7 mtu 1400 up
ip -n "$ns" addr add 10.9.0.1/24 dev tap7

log=$T_TMP/tapsrv.log
chmod 0777 "$T_TMP"
# Debian's /dev/net/tun is 0666; where it is not, a world-writable node bind-mounted in a
# private mount namespace stands in for it without touching the machine's own.
mknod -m 0666 "$T_TMP/tun" c 10 200
# The user's runtime directory, as a login session would have it: the control socket goes there
# (/run/tapsrv is root's).
xdg=$T_TMP/run-65534
install -d -m 0700 -o 65534 -g 65534 "$xdg"
ip netns exec "$ns" unshare --mount sh -c "mount --bind $T_TMP/tun /dev/net/tun && exec \
  setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all env XDG_RUNTIME_DIR=$xdg \
  $TAPSRV up ${TAPSRV_UP_ARGS:-} --attach --ifname tap7 --ip 10.9.0.2/24" >"$log" 2>&1 &
pid=$!
T_PIDS+=("$pid")
for _ in $(seq 100); do grep -q " up: " "$log" && break; sleep 0.05; done
grep -q " up: " "$log" || fail "tapsrv did not come up: $(cat "$log")"
grep -q "mtu 1400" "$log" || fail "the TAP's own MTU was not used"
[ "$(ps -o uid= -p "$pid" | tr -d ' ')" = 65534 ] || fail "not running as uid 65534"

in_ns "$ns" ping -c 3 -i 0.1 -W 2 -s 1372 -M do 10.9.0.2 >"$T_TMP/ping.out" || fail "ping: $(cat "$T_TMP/ping.out")"
pass "unprivileged tapsrv on a persistent TAP answers ping at its MTU of 1400"

sock=$xdg/tapsrv/tap7.sock
grep -q "control socket $sock" "$log" || fail "no control socket under XDG_RUNTIME_DIR: $(cat "$log")"
in_ns "$ns" setpriv --reuid=65534 --regid=65534 --clear-groups env XDG_RUNTIME_DIR="$xdg" \
  "$TAPSRV" status -i tap7 -j | grep -q '"interface": "tap7"' || fail "status -i tap7 as the user"
pass "control socket in \$XDG_RUNTIME_DIR/tapsrv, answering its user"

stop_tapsrv "$pid" INT
[ -e "$sock" ] && fail "$sock outlived tapsrv"
[ "$T_STATUS" -eq 0 ] || fail "exit status $T_STATUS"
in_ns "$ns" ip -4 addr show dev tap7 | grep -q "10.9.0.1/24" || fail "the persistent TAP lost its address"
pass "SIGINT: exit 0 and the persistent TAP is left as it was"

# A TAP whose own MTU is below --mtu's floor is refused in one line, and left as it was.
ip -n "$ns" link set tap7 mtu 80
status=0
out=$(in_ns "$ns" timeout 10 "$TAPSRV" up --attach --ifname tap7 --ip 10.9.0.2/24 2>&1) || status=$?
[ "$status" -ne 0 ] && [ "$status" -ne 124 ] || fail "--attach to a TAP with MTU 80: exit $status"
[ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || fail "--attach, MTU 80: more than one line: $out"
grep -qF "tap7 has MTU 80, tapsrv needs 88" <<<"$out" || fail "--attach, MTU 80 said: $out"
in_ns "$ns" ip link show tap7 | grep -q "mtu 80 " || fail "the TAP's MTU was changed"
pass "--attach to a TAP with MTU 80 -> exit $status: $out"
