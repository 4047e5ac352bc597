#!/usr/bin/env bash
# sudo tools/fuzz_corpus.sh: regenerates tests/fuzz/corpus/ from real traffic. tapsrv runs with
# --pcap in a network namespace of its own while kernel clients (ping, nc, curl, Python sockets,
# some under 10% loss) talk to it; tools/pcap2corpus.py then cuts the capture into seeds.
# Everything happens inside namespaces this script creates and deletes (tests/integration/lib.sh).
# It takes the build lock itself: do not run it under flock.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/tools/setup.sh"
tapsrv_install_deps
flock /tmp/tapsrv-build.lock bash -c 'source "$1" && tapsrv_build' _ "$root/tools/setup.sh"

it=$root/tests/integration
source "$it/lib.sh" "$TAPSRV_BUILD/tapsrv"
ns=$(netns_new corpus)
pcap=$T_TMP/capture.pcap
# The addresses and services fuzz_frame.cpp expects: tapsrv's defaults, MSL as in the fuzzer.
start_tapsrv "$ns" "$T_TMP/tapsrv.log" --pcap "$pcap" --port 3333 --port 9:discard \
  --port 19:chargen --port 8080:http --msl 0.5
pid=$T_LAST_PID
client() { in_ns "$ns" timeout 60 python3 "$it/tcp_client.py" "$@" >/dev/null; }

in_ns "$ns" ping -c 2 -i 0.05 -W 2 10.0.0.2 >/dev/null
in_ns "$ns" ping -c 1 -s 1400 -W 2 10.0.0.2 >/dev/null
printf 'hello tapsrv\n' | in_ns "$ns" timeout 10 nc -N 10.0.0.2 3333 >/dev/null
if command -v curl >/dev/null; then in_ns "$ns" timeout 10 curl -sS -o /dev/null http://10.0.0.2:8080/; fi
client echo 10.0.0.2 3333 1 3000
client half-close 10.0.0.2 3333 2000
client discard 10.0.0.2 9 6000
client chargen 10.0.0.2 19 3000
client abort 10.0.0.2 3333
client refused 10.0.0.2 4444
client reuse 10.0.0.2 8080 45678
# A UDP datagram and another protocol, for the ICMP errors.
in_ns "$ns" python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("10.0.0.2", 7))'
in_ns "$ns" python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, 253).sendto(b"x", ("10.0.0.2", 0))'
# Loss brings retransmissions, duplicate ACKs, out-of-order data and SACK blocks.
in_ns "$ns" nft -f - <<'NFT'
table inet loss {
  chain in { type filter hook input priority 0; iifname "tapsrv0" tcp sport 3333 numgen random mod 100 < 10 drop; }
  chain out { type filter hook output priority 0; oifname "tapsrv0" tcp dport 3333 numgen random mod 100 < 10 drop; }
}
NFT
client echo 10.0.0.2 3333 1 12000
client echo 10.0.0.2 3333 1 12000
sleep 1.2  # TIME_WAIT and the last retransmissions end
stop_tapsrv "$pid"
[ "$T_STATUS" -eq 0 ] || fail "tapsrv exit status $T_STATUS"

python3 "$root/tools/pcap2corpus.py" "$pcap" "$root/tests/fuzz/corpus"
du -sh "$root/tests/fuzz/corpus"
