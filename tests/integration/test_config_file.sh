#!/usr/bin/env bash
# `up --config FILE` (TOML, keys are the long options; the command line wins), its errors,
# sd_notify to a service manager (READY=1, STATUS=, STOPPING=1), --attach and --version.
source "$(dirname "$0")/lib.sh"

ns=$(netns_new host)
conf=$T_TMP/tapsrv0.conf
cat >"$conf" <<'TOML'
# a comment, as in /etc/tapsrv/IFNAME.conf
ifname = "tcfg0"
ip = "10.31.0.2/24"
mtu = 1400
port = ["3333", "7:echo"]
no-ecn = true
no-offload = false
log-level = "info"
TOML

chmod 0755 "$T_TMP"
# A datagram socket standing in for systemd's notify socket records what tapsrv tells it.
notify_sock=$T_TMP/notify.sock
python3 - "$notify_sock" "$T_TMP/notify.txt" <<'PY' &
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)  # tapsrv notifies after it became nobody, as systemd's socket allows
s.settimeout(0.5)
deadline = time.monotonic() + 30
with open(sys.argv[2], "w") as out:
    while time.monotonic() < deadline:
        try:
            msg = s.recv(4096).decode()
        except socket.timeout:
            continue
        out.write(msg.replace("\n", "|") + "\n")
        out.flush()
        if "STOPPING=1" in msg:
            break
PY
T_PIDS+=($!)
for _ in $(seq 50); do [ -S "$notify_sock" ] && break; sleep 0.05; done

log=$T_TMP/tapsrv.log
NOTIFY_SOCKET=$notify_sock start_tapsrv "$ns" "$log" --config "$conf" --port 4444:echo
pid=$T_LAST_PID
grep -q "tcfg0 up: 10.31.0.2/24" "$log" || fail "file's ifname/ip not used: $(grep ' up: ' "$log")"
grep -q "mtu 1400" "$log" || fail "file's mtu not used"
out=$(in_ns "$ns" timeout 5 python3 -c '
import socket; s = socket.create_connection(("10.31.0.2", 4444), 2); s.sendall(b"cfg\n")
print(s.recv(16).decode().strip())') || fail "echo on the command line's port 4444"
[ "$out" = cfg ] || fail "echo on 4444 said '$out'"
in_ns "$ns" timeout 5 python3 -c '
import socket
try:
    socket.create_connection(("10.31.0.2", 3333), 2)
except ConnectionRefusedError:
    raise SystemExit(0)
raise SystemExit("3333 accepted")' || fail "the file's --port list was used although the command line gave --port"
pass "--config: ifname, ip and mtu from the file; --port on the command line replaced the file's"

for _ in $(seq 50); do grep -q READY=1 "$T_TMP/notify.txt" 2>/dev/null && break; sleep 0.1; done
grep -q "^READY=1|STATUS=tcfg0 up: 10.31.0.2/24" "$T_TMP/notify.txt" ||
  fail "no READY=1 with a STATUS line: $(cat "$T_TMP/notify.txt" 2>/dev/null)"
stop_tapsrv "$pid"
[ "$T_STATUS" -eq 0 ] || fail "exit status $T_STATUS"
for _ in $(seq 50); do grep -q STOPPING=1 "$T_TMP/notify.txt" && break; sleep 0.1; done
grep -q "^STOPPING=1" "$T_TMP/notify.txt" || fail "no STOPPING=1: $(cat "$T_TMP/notify.txt")"
pass "sd_notify: READY=1 with STATUS once listening, STOPPING=1 on SIGTERM"

# expect_config_error "WHAT THE LINE MUST SAY" FILE_CONTENT
expect_config_error() {
  local want=$1 out status=0
  printf '%s\n' "$2" >"$T_TMP/bad.conf"
  out=$(in_ns "$ns" timeout 10 "$TAPSRV" up --config "$T_TMP/bad.conf" 2>&1) || status=$?
  [ "$status" -eq 2 ] || fail "config '$2' exited $status, not 2: $out"
  [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || fail "config '$2' printed more than one line: $out"
  grep -qF -- "$want" <<<"$out" || fail "config '$2' said '$out', expected '$want'"
  in_ns "$ns" ip link show tapsrv0 >/dev/null 2>&1 && fail "config '$2' left tapsrv0 behind"
  pass "config '$2' -> exit 2: $out"
}
expect_config_error "'colour' is not an option of tapsrv up" 'colour = "blue"'
expect_config_error "sections are not used" $'[up]\nip = "10.31.0.2/24"'
expect_config_error "'no-ecn' wants true or false" 'no-ecn = "yes"'
expect_config_error "a file cannot name another" 'config = "/etc/other.conf"'
expect_config_error "--mtu 10" 'mtu = 10'
out=$(in_ns "$ns" "$TAPSRV" up --config "$T_TMP/missing.conf" 2>&1) && fail "a missing file was accepted"
grep -q "cannot be read" <<<"$out" || fail "missing file: $out"
pass "a missing config file: $out"

"$TAPSRV" up --help | grep -q -- "--attach,--no-config" || fail "--attach is not in up --help"
version=$("$TAPSRV" --version)
[[ $version =~ ^tapsrv\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "--version said '$version'"
pass "--version: $version; --attach (alias --no-config) is listed"
