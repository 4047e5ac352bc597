#!/usr/bin/env bash
# Bad input gets one line naming the problem, a non-zero exit, and leaves nothing behind.
source "$(dirname "$0")/lib.sh"

ns=$(netns_new host)
ip -n "$ns" link add notabridge type veth peer name notabridge-peer

# expect_error "WHAT THE LINE MUST SAY" [tapsrv up options...]
expect_error() {
  local want=$1 out status=0
  shift
  out=$(in_ns "$ns" timeout 10 "$TAPSRV" up "$@" 2>&1) || status=$?
  [ "$status" -ne 0 ] || fail "'up $*' exited 0"
  [ "$status" -ne 124 ] || fail "'up $*' hung"
  [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || fail "'up $*' printed more than one line: $out"
  grep -qF -- "$want" <<<"$out" || fail "'up $*' said '$out', expected it to mention '$want'"
  in_ns "$ns" ip link show tapsrv0 >/dev/null 2>&1 && fail "'up $*' left tapsrv0 behind"
  pass "up $* -> exit $status: $out"
}

expect_error "--ip '10.0.0.300'" --ip 10.0.0.300
expect_error "--ip '10.0.0.2/33'" --ip 10.0.0.2/33
expect_error "network or broadcast" --ip 10.0.0.255/24
expect_error "--ip '127.0.0.5'" --ip 127.0.0.5
expect_error "--mac 'zz:00:00:00:00:01'" --mac zz:00:00:00:00:01
expect_error "unicast" --mac 01:00:5e:00:00:01
expect_error "--mtu 10" --mtu 10
expect_error "--mtu 87: must be between 88" --mtu 87
expect_error "--mtu 70000" --mtu 70000
expect_error "--ifname" --ifname this-name-is-far-too-long
expect_error "--host-ip '10.0.1.1'" --host-ip 10.0.1.1
expect_error "--gateway '192.168.9.1'" --gateway 192.168.9.1
expect_error "--port 'x'" --port x
expect_error "--port '80:gopher'" --port 80:gopher
expect_error "--log-level 'loud'" --log-level loud
expect_error "--keepalive -1" --keepalive -1
expect_error "--user-timeout 100000" --user-timeout 100000
expect_error "--msl 0:" --msl 0
expect_error "--sndbuf 100:" --sndbuf 100
expect_error "--busy-poll 5000:" --busy-poll 5000
expect_error "--rcvbuf 99999999:" --rcvbuf 99999999
expect_error "--attach uses the TAP as it is" --no-config --bridge br0
expect_error "--attach uses the TAP as it is" --attach --mtu 1400
expect_error "--bridge and --host-ip" --bridge br0 --host-ip 10.0.0.1
expect_error "--frobnicate" --frobnicate
expect_error "bridge nosuchbr does not exist" --bridge nosuchbr
expect_error "notabridge is not a bridge" --bridge notabridge
expect_error "no interface tap9" --attach --ifname tap9

# Without privileges, setpriv drops to nobody with no capabilities: once as /dev/net/tun is
# here, once with a world-writable tun node bind-mounted in a private mount namespace, so that
# both the open() and the TUNSETIFF refusal are covered.
mknod -m 0666 "$T_TMP/tun" c 10 200
for tun in /dev/net/tun "$T_TMP/tun"; do
  out=$(in_ns "$ns" unshare --mount sh -c "mount --bind $tun /dev/net/tun && exec setpriv \
    --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all timeout 10 $TAPSRV up" 2>&1) &&
    fail "unprivileged up exited 0"
  [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || fail "unprivileged: more than one line: $out"
  grep -q "CAP_NET_ADMIN" <<<"$out" || fail "unprivileged error does not name CAP_NET_ADMIN: $out"
  in_ns "$ns" ip link show tapsrv0 >/dev/null 2>&1 && fail "unprivileged run left tapsrv0"
  pass "unprivileged ($tun): $out"
done

# An interface that already exists.
ip -n "$ns" link add tapsrv0 type veth peer name tapsrv0-peer
out=$(in_ns "$ns" timeout 10 "$TAPSRV" up 2>&1) && fail "up over an existing tapsrv0 exited 0"
grep -q "already exists" <<<"$out" || fail "existing ifname: $out"
ip -n "$ns" -d link show tapsrv0 | grep -q "veth" || fail "the existing interface was touched"
pass "existing interface: $out"
