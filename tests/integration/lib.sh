# Shared by the integration tests; sourced. Usage of a test: test_X.sh PATH_TO_TAPSRV.
# Every test runs in network namespaces it creates and deletes (trap EXIT), and sends traffic
# only inside them. Every wait is bounded.
set -euo pipefail

TAPSRV=${1:?usage: $0 PATH_TO_TAPSRV}
if [ "$(id -u)" -ne 0 ]; then
  echo "skip: needs root (CAP_NET_ADMIN) to create network namespaces"
  exit 77
fi

T_ID="tsi$$"
T_TMP=$(mktemp -d "/tmp/tapsrv-it.XXXXXX")
T_NETNS=()
T_PIDS=()
declare -A T_LOG_OF=()  # tapsrv pid -> its log, for stop_tapsrv's frame accounting

t_cleanup() {
  local pid ns
  for pid in "${T_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${T_PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  # By prefix, not only by the list: netns_new usually runs in $(...), a subshell whose
  # additions to T_NETNS never reach this shell.
  for ns in "${T_NETNS[@]}" $(ip netns list | awk '{ print $1 }' | grep "^$T_ID-" || true); do
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -rf "$T_TMP"
}
trap t_cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  local f
  for f in "$T_TMP"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 30 "$f" >&2; }; done
  exit 1
}
pass() { echo "ok: $*"; }

# netns_new SHORTNAME: creates namespace "$T_ID-SHORTNAME" with lo up; prints its name.
# Cleanup finds it by the $T_ID prefix, so calling it in $(...) is fine.
netns_new() {
  local ns="$T_ID-$1"
  ip netns add "$ns"
  T_NETNS+=("$ns")
  ip -n "$ns" link set lo up
  echo "$ns"
}

# router_and_client PREFIX RTR_IF CLI_IF: a router namespace ($rtr, forwarding, PREFIX.1) and a
# client namespace ($cli, PREFIX.2, default route via the router) joined by a veth pair.
router_and_client() {
  rtr=$(netns_new rtr)
  cli=$(netns_new cli)
  ip -n "$rtr" link add "$2" type veth peer name "$3" netns "$cli"
  ip -n "$rtr" addr add "$1.1/24" dev "$2"
  ip -n "$rtr" link set "$2" up
  ip -n "$cli" addr add "$1.2/24" dev "$3"
  ip -n "$cli" link set "$3" up
  ip -n "$cli" route add default via "$1.1"
  in_ns "$rtr" sysctl -qw net.ipv4.ip_forward=1
}

in_ns() {
  local ns=$1
  shift
  ip netns exec "$ns" "$@"
}

# start_tapsrv NS LOG [tapsrv up options...]: starts tapsrv in NS, waits (5 s at most) for its
# "up:" line, and sets T_LAST_PID. Fails the test if tapsrv exits or never comes up.
# Unless the options name one, each tapsrv gets its own control socket in $T_TMP (LOG's name
# with .sock), so that tests in other namespaces, which share /run/tapsrv, never collide.
start_tapsrv() {
  local ns=$1 log=$2 control=()
  shift 2
  case " $* " in
    *" --control "* | *" --no-control "*) ;;
    *) control=(--control "${log%.log}.sock") ;;
  esac
  # shellcheck disable=SC2086 # TAPSRV_UP_ARGS is a list of options, split on purpose
  ip netns exec "$ns" "$TAPSRV" up ${TAPSRV_UP_ARGS:-} "${control[@]}" "$@" >"$log" 2>&1 &
  T_LAST_PID=$!
  T_PIDS+=("$T_LAST_PID")
  T_LOG_OF[$T_LAST_PID]=$log
  for _ in $(seq 100); do
    grep -q " up: " "$log" && return 0
    kill -0 "$T_LAST_PID" 2>/dev/null || fail "tapsrv exited during start-up: $(cat "$log")"
    sleep 0.05
  done
  fail "tapsrv did not come up within 5 s"
}

# stop_tapsrv PID [SIGNAL]: signals tapsrv, waits (5 s at most) and sets T_STATUS to its exit
# status. Not in $(...): only this shell can wait for its child. When tapsrv printed its counters
# on the way out, checks that its frames add up (frames_add_up), so every test that stops
# tapsrv checks the identity.
stop_tapsrv() {
  local pid=$1 sig=${2:-TERM}
  kill -"$sig" "$pid"
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -0 "$pid" 2>/dev/null && fail "tapsrv (pid $pid) still running 5 s after SIG$sig"
  T_STATUS=0
  wait "$pid" || T_STATUS=$?
  local log=${T_LOG_OF[$pid]:-}
  if [ -n "$log" ] && grep -q " counters:" "$log"; then frames_add_up "$log" >/dev/null; fi
}

# drops_sum LOG [LINE]: the sum of every value on the "drops:" line (input drops) of LOG, or on
# the "tx_drops:" line when LINE is tx_drops.
drops_sum() {
  local line=${2:-drops}
  grep -E "(^| )$line:" "$1" | head -n1 | sed "s/.* $line://" | grep -oE "=[0-9]+" | tr -d = |
    awk '{ s += $1 } END { print s + 0 }'
}

# frames_add_up LOG: every frame tapsrv read was refused for one reason or delivered:
# rx_frames = sum(drops) + rx_delivered. Fails the test when not, or when the report is missing;
# prints the three figures.
frames_add_up() {
  local log=$1 rx delivered dropped
  grep -qE "(^| )drops:" "$log" && grep -q " tx_drops:" "$log" || fail "no drops report in $log"
  rx=$(counter "$log" rx_frames)
  delivered=$(counter "$log" rx_delivered)
  dropped=$(drops_sum "$log")
  [ "$rx" -eq $((dropped + delivered)) ] ||
    fail "frames do not add up in $log: rx_frames=$rx, drops=$dropped, rx_delivered=$delivered"
  echo "rx_frames=$rx = $dropped dropped + $delivered delivered"
}

# counter LOG NAME: the value of NAME in the "counters:" or "drops:" line tapsrv prints on exit.
counter() {
  local v
  v=$(grep -E "(counters|drops):" "$1" | grep -oE "(^| )$2=[0-9]+" | head -n1 | cut -d= -f2)
  echo "${v:-0}"
}

# rss_kib PID: the process's resident set (VmRSS) in KiB.
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# rss_watch PID FILE SECONDS: samples the RSS of PID into FILE every 0.1 s for at most SECONDS,
# in the background (stop it early with rss_stop); rss_peak FILE prints the largest sample.
rss_watch() {
  local pid=$1 file=$2 secs=$3
  (for _ in $(seq $((secs * 10))); do
    rss_kib "$pid" 2>/dev/null || break
    sleep 0.1
  done) >"$file" &
  T_RSS_PID=$!
  T_PIDS+=("$T_RSS_PID")
}
rss_stop() { kill "$T_RSS_PID" 2>/dev/null || true; wait "$T_RSS_PID" 2>/dev/null || true; }
rss_peak() { sort -n "$1" | tail -n1; }
