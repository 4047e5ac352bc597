#!/usr/bin/env bash
# After creating and configuring the TAP, tapsrv drops root: it runs as nobody with no
# capabilities, still serves, and still removes its TAP on exit.
source "$(dirname "$0")/lib.sh"

ns=$(netns_new host)
log=$T_TMP/tapsrv.log
start_tapsrv "$ns" "$log"
pid=$T_LAST_PID
status=/proc/$pid/status
read -r _ ruid euid suid fsuid < <(grep '^Uid:' "$status")
[ "$ruid $euid $suid $fsuid" = "65534 65534 65534 65534" ] || fail "uids: $ruid $euid $suid $fsuid"
for set in CapInh CapPrm CapEff CapBnd CapAmb; do
  value=$(awk -v k="$set:" '$1 == k { print $2 }' "$status")
  [ "$set" = CapBnd ] && continue  # the bounding set only limits; it grants nothing
  [ "$value" = 0000000000000000 ] || fail "$set = $value"
done
grep -q "^NoNewPrivs:[[:space:]]*1" "$status" || fail "NoNewPrivs not set"
pass "running as uid 65534 with empty capability sets and no_new_privs"

in_ns "$ns" ping -c 2 -i 0.1 -W 2 10.0.0.2 >/dev/null || fail "ping after the drop"
out=$( (printf 'still here\n'; sleep 0.3) | in_ns "$ns" timeout 5 nc -N 10.0.0.2 3333)
[ "$out" = "still here" ] || fail "echo after the drop: '$out'"
stop_tapsrv "$pid"
[ "$T_STATUS" -eq 0 ] || fail "exit status $T_STATUS"
in_ns "$ns" ip link show tapsrv0 >/dev/null 2>&1 && fail "the TAP outlived the unprivileged process"
pass "ping and echo work unprivileged; SIGTERM still removes the TAP"

start_tapsrv "$ns" "$T_TMP/root.log" --user root
[ "$(awk '/^Uid:/ { print $3 }' "/proc/$T_LAST_PID/status")" = 0 ] || fail "--user root dropped"
stop_tapsrv "$T_LAST_PID"
pass "--user root keeps root"

# Its own control socket: the default /run/tapsrv is shared with every other namespace.
out=$(in_ns "$ns" timeout 10 "$TAPSRV" up --user no-such-user-here --control "$T_TMP/u.sock" 2>&1) && fail "unknown user accepted"
[ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || fail "more than one line: $out"
grep -q "no user no-such-user-here" <<<"$out" || fail "unknown user: $out"
in_ns "$ns" ip link show tapsrv0 >/dev/null 2>&1 && fail "a failed drop left the TAP behind"
pass "unknown --user: $out"
