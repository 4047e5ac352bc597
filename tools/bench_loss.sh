# shellcheck shell=bash disable=SC2154 # variables of tools/bench, which sources this file
# The loss section of tools/bench (`--only loss`); sourced by it, and uses its helpers (new_ns,
# start_kernel_server, stop, die, field) and variables (LG, TAPSRV, work, pids, tapsrv_args).
#
# Both servers sit behind one router that drops packets at random, both ways, in its forward
# hook, so a drop is a real loss on the path (a drop in a sender's own output hook would be a
# local transmit failure the kernel resends at once, not a loss):
#
#   *-lcli  10.79.0.1 c0 ==veth== rc 10.79.0.254  *-lrtr  (forwards; nftables drops here)
#     the kernel client (loadgen)                 |- tapsrv0 10.79.1.1 == TAP == tapsrv 10.79.1.2
#                                                 `- rk 10.79.2.1 ==veth== k0 10.79.2.2  *-lksrv
#                                                                  tapsrv-kernel-server
#
# tapsrv's TAP lives in the router namespace itself: its kernel side is then one of the
# router's interfaces, as rk is for the kernel server, so both servers are one forwarding hop
# from the client through the same hook. A TAP in a namespace of its own would add a second
# forwarding hop and a veth to tapsrv's path only. (tapsrv's process running in the router
# namespace does not matter: its TCP is its own and it only reads and writes the TAP.)
#
# Each run: a fresh ruleset (counters at zero), one bounded transfer, the counters read. tapsrv
# is started afresh for each of its runs, so the counters it prints on exit are that run's; for
# the kernel, nstat before and after, in the namespace that sends.

loss_ip_t=10.79.1.2 loss_ip_k=10.79.2.2
loss_levels=(0 10 50)  # per mille, both directions: 0%, 1%, 5%
loss_modes=(offload no-offload)
loss_dirs=(download upload)
# --loss-grid MODES:PERMILLES:DIRECTIONS narrows the grid (an empty field keeps its default).
loss_select() {
  local m l d
  IFS=: read -r m l d <<<"$1"
  [ -z "$m" ] || IFS=, read -r -a loss_modes <<<"$m"
  [ -z "$l" ] || IFS=, read -r -a loss_levels <<<"$l"
  [ -z "$d" ] || IFS=, read -r -a loss_dirs <<<"$d"
  for m in "${loss_modes[@]}"; do [[ $m =~ ^(offload|no-offload)$ ]] || return 1; done
  for l in "${loss_levels[@]}"; do [[ $l =~ ^[0-9]+$ ]] && [ "$l" -le 1000 ] || return 1; done
  for d in "${loss_dirs[@]}"; do [[ $d =~ ^(download|upload)$ ]] || return 1; done
}
# Named for the figures: the kernel's counters, and the same for tapsrv (what it prints on exit).
loss_nstat=(TcpExtTCPTimeouts TcpRetransSegs TcpExtTCPFastRetrans TcpExtTCPLossProbes)
loss_tapsrv=(tcp_retransmit_timeouts tcp_retransmits tcp_fast_retransmits tcp_loss_probes)
# The kernel's interfaces on both paths; in no-offload mode each gets gso_max_segs 1, so the
# kernel, like tapsrv with --no-offload, hands the wire one MSS at a time.
loss_ifaces=("lcli c0" "lrtr rc" "lrtr rk" "lksrv k0")

loss_setup() {
  ns_lc=$id-lcli ns_lr=$id-lrtr ns_lk=$id-lksrv
  new_ns "$ns_lc" client
  new_ns "$ns_lr"
  new_ns "$ns_lk"
  ip -n "$ns_lr" link add rc type veth peer name c0 netns "$ns_lc"
  ip -n "$ns_lr" link add rk type veth peer name k0 netns "$ns_lk"
  ip -n "$ns_lr" addr add 10.79.0.254/24 dev rc
  ip -n "$ns_lr" addr add 10.79.2.1/24 dev rk
  ip -n "$ns_lc" addr add 10.79.0.1/24 dev c0
  ip -n "$ns_lk" addr add $loss_ip_k/24 dev k0
  # RPS on every veth: a veth hands each packet to the backlog of the CPU it is sent from, so a
  # sender that moves between CPUs reorders its own flow (at 0% loss the kernel then made
  # hundreds of fast retransmits per 16 MiB without offload). RPS queues a flow on one CPU by
  # its hash, in order. tapsrv's TAP needs nothing: tun hands its packets on in tapsrv's thread.
  local x ns dev rps
  rps=$(printf '%x' $(((1 << $(nproc --all)) - 1)))
  for x in "${loss_ifaces[@]}"; do
    read -r ns dev <<<"$x"
    ip -n "$id-$ns" link set "$dev" up
    ip netns exec "$id-$ns" sh -c "for q in /sys/class/net/$dev/queues/rx-*/rps_cpus; do echo $rps >\$q; done"
  done
  ip -n "$ns_lc" route add default via 10.79.0.254
  ip -n "$ns_lk" route add default via 10.79.2.1
  ip netns exec "$ns_lr" sysctl -qw net.ipv4.ip_forward=1
  # Every run starts from scratch: without this the kernel remembers the last connection's
  # ssthresh for the same peer (tcp_metrics) and a lossy run would slow the next one down.
  for x in "$ns_lc" "$ns_lk"; do ip netns exec "$x" sysctl -qw net.ipv4.tcp_no_metrics_save=1; done
  loss_gso_default=$(ip -d -n "$ns_lc" link show c0 | grep -oE 'gso_max_segs [0-9]+' | cut -d' ' -f2)
  loss_default_cc=$(ip netns exec "$ns_lk" sysctl -n net.ipv4.tcp_congestion_control)
  loss_ccs=("$loss_default_cc")
  [ "$loss_default_cc" = reno ] || loss_ccs+=(reno)
  [ $quick = 1 ] && loss_ccs=("$loss_default_cc")  # the smoke test: each path once
  start_kernel_server loss "$ns_lk" --discard 5009 --chargen 5019
  loss_ks_pid=$ks_last
  : >"$work/loss_runs"
}

# loss_mode offload|no-offload: the kernel's GSO on or off (gso_max_segs 1) on every interface.
# GRO needs nothing: veth only coalesces with NAPI on (XDP or ethtool), and a TAP without
# IFF_NAPI never; the over_mtu counter below checks that no packet larger than the MTU passed.
loss_mode() {
  local segs=$loss_gso_default x ns dev
  [ "$1" = offload ] || segs=1
  for x in "${loss_ifaces[@]}"; do
    read -r ns dev <<<"$x"
    ip -n "$id-$ns" link set "$dev" gso_max_segs "$segs"
  done
}

# loss_cc NAME: the kernel's congestion control for new connections, in the client and the
# kernel server's namespace (per namespace since Linux 4.15; an accepted connection takes it
# from the namespace, not from its listener).
loss_cc() {
  local ns
  for ns in "$ns_lc" "$ns_lk"; do ip netns exec "$ns" sysctl -qw net.ipv4.tcp_congestion_control="$1"; done
}

# loss_rules PERMILLE | none: a fresh table, so every counter starts at zero. "down" is toward
# the client, "up" from it; over_mtu counts packets bigger than one MTU (GSO/TSO aggregates).
loss_rules() {
  local n=$1
  {
    echo "add table inet loss; delete table inet loss"  # atomically: drop any old table
    [ "$n" = none ] || cat <<NFT
table inet loss {
  counter down_seen {}
  counter down_dropped {}
  counter up_seen {}
  counter up_dropped {}
  counter over_mtu {}
  chain lossy {
    type filter hook forward priority 0; policy accept;
    meta l4proto tcp meta length > 1500 counter name over_mtu
    oifname "rc" meta l4proto tcp counter name down_seen
    oifname "rc" meta l4proto tcp numgen random mod 1000 < $n counter name down_dropped drop
    iifname "rc" meta l4proto tcp counter name up_seen
    iifname "rc" meta l4proto tcp numgen random mod 1000 < $n counter name up_dropped drop
  }
}
NFT
  } | ip netns exec "$ns_lr" nft -f -
}

# "name_p=PACKETS name_b=BYTES" for each counter of the loss table.
loss_counters() {
  ip netns exec "$ns_lr" nft list counters table inet loss |
    awk '$1 == "counter" { name = $2 } $1 == "packets" { printf "%s_p=%s %s_b=%s ", name, $2, name, $4 }'
}

# loss_nstat NS: the kernel's sender counters there, as "NAME VALUE" lines (absolute values;
# -s leaves nstat's history file alone).
loss_nstat() { ip netns exec "$1" nstat -asz "${loss_nstat[@]}" | awk '$1 !~ /^#/ { print $1, $2 }'; }

# loss_start_tapsrv MODE: tapsrv on its TAP in the router namespace, answering through it.
loss_start_tapsrv() {
  local log=$work/loss-tapsrv.log extra=()
  [ "$1" = offload ] || extra=(--no-offload)
  [[ " $tapsrv_args " == *" --log-level "* ]] || extra+=(--log-level info)
  # shellcheck disable=SC2086 # --tapsrv-args is a list of options, split on purpose
  ip netns exec "$ns_lr" "$TAPSRV" up --ip $loss_ip_t/24 --gateway 10.79.1.1 --port 5001 \
    --port 5009:discard --port 5019:chargen --control "$work/loss-tapsrv.sock" "${extra[@]}" $tapsrv_args \
    >"$log" 2>&1 &
  loss_tapsrv_pid=$!
  pids+=("$loss_tapsrv_pid")
  local deadline=$((SECONDS + 10))
  while [ $SECONDS -lt $deadline ]; do
    kill -0 "$loss_tapsrv_pid" 2>/dev/null || die "tapsrv exited during start-up: $(tail -n 5 "$log")"
    # One echo from the client: the route through the router and tapsrv's gateway both work.
    if ip netns exec "$ns_lc" timeout 2 "$LG" conns $loss_ip_t 5001 1 1 >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  die "tapsrv behind the router did not answer within 10 s: $(tail -n 5 "$log")"
}

# loss_run MODE DIR PERMILLE SIDE CC: one bounded transfer; appends one line of key=value to
# $work/loss_runs and prints a summary.
loss_run() {
  local mode=$1 dir=$2 n=$3 side=$4 cc=$5 ip=$loss_ip_k port=5019 out ok=1 net before after
  local sender=kernel sender_ns=$ns_lk i name value counts=""
  [ "$dir" = upload ] && port=5009 sender_ns=$ns_lc
  if [ "$side" = tapsrv ]; then
    ip=$loss_ip_t
    loss_start_tapsrv "$mode"
    [ "$dir" = download ] && sender=tapsrv
  fi
  loss_rules "$n"
  before=$(loss_nstat "$sender_ns")
  # loadgen stops itself at the limit; timeout is only the backstop against a hang.
  out=$(ip netns exec "$ns_lc" timeout $((loss_time + 30)) "$LG" "$dir" "$ip" $port "$loss_size" \
    --time-limit "$loss_time" 2>"$work/err") || ok=0
  net=$(loss_counters)
  after=$(loss_nstat "$sender_ns")
  loss_rules none
  if [ "$side" = tapsrv ]; then
    stop "$loss_tapsrv_pid" || ok=0
    grep -q "counters:" "$work/loss-tapsrv.log" || ok=0
    grep -E "(counters|drops):" "$work/loss-tapsrv.log" |
      sed "s/^/$mode $dir $n ${cc}: /" >>"$work/loss_tapsrv_counters" || true
  fi
  for i in "${!loss_nstat[@]}"; do
    if [ "$sender" = tapsrv ]; then
      value=$(grep -E "counters:" "$work/loss-tapsrv.log" | grep -oE " ${loss_tapsrv[$i]}=[0-9]+" |
        cut -d= -f2 || true)  # a counter still at zero is not printed
    else
      name=${loss_nstat[$i]}
      value=$(($(awk -v k="$name" '$1 == k { print $2 }' <<<"$after") -
        $(awk -v k="$name" '$1 == k { print $2 }' <<<"$before")))
    fi
    counts+="${loss_nstat[$i]}=${value:-0} "
  done
  echo "rep=$rep mode=$mode dir=$dir permille=$n side=$side cc=$cc sender=$sender ok=$ok" \
    "bytes=$(field "$out" bytes) seconds=$(field "$out" seconds) finished=$(field "$out" finished)" \
    "$counts$net" >>"$work/loss_runs"
  if [ $ok = 0 ]; then
    echo "tools/bench: loss $mode $dir $((n / 10)).$((n % 10))% $side ($cc) failed:" >&2
    sed 's/^/  /' "$work/err" >&2
    [ "$side" = tapsrv ] && tail -n 5 "$work/loss-tapsrv.log" | sed 's/^/  /' >&2
    failures=$((failures + 1))
  else
    printf '  loss %-10s %-8s %4s%% %-6s %-5s %s\n' "$mode" "$dir" "$((n / 10)).$((n % 10))" \
      "$side" "$cc" "$(grep '^result' <<<"$out" | cut -d' ' -f3-)" >&2
  fi
  kill -0 "$loss_ks_pid" 2>/dev/null || die "tapsrv-kernel-server (loss) died: $(cat "$work/loss.log")"
}

# One repetition of the whole grid. tapsrv's download does not depend on the client's
# congestion control (the client only acknowledges), so it runs once per cell and is set
# against each kernel variant; its upload is the kernel client sending, so it runs per variant.
t_loss() {
  local mode n dir cc
  for mode in "${loss_modes[@]}"; do
    loss_mode "$mode"
    for n in "${loss_levels[@]}"; do
      for dir in "${loss_dirs[@]}"; do
        for cc in "${loss_ccs[@]}"; do
          loss_cc "$cc"
          if [ "$dir" = upload ] || [ "$cc" = "${loss_ccs[0]}" ]; then
            loss_run "$mode" "$dir" "$n" tapsrv "$cc"
          fi
          loss_run "$mode" "$dir" "$n" kernel "$cc"
        done
      done
    done
  done
}
