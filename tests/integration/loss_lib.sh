# Random loss in a router namespace's forward hook (nftables numgen; this kernel has no netem),
# shared by the tests that run the kernel client through router_and_client. Sourced after
# lib.sh; uses $rtr.

# loss PERMILLE: a fresh table (counters at zero) in the router's forward hook. Each way first
# counts every TCP packet ("seen"), then drops PERMILLE of 1000. With offload a packet is a
# segment of up to 64 KiB, so there are fewer packets to lose, each of them dearer; the check is
# on the share, which must be near the one set either way.
loss() {
  in_ns "$rtr" nft -f - <<NFT
add table inet loss
delete table inet loss
table inet loss {
  chain lossy {
    type filter hook forward priority 0; policy accept;
    oifname "r0" meta l4proto tcp counter comment "seen";
    oifname "r0" meta l4proto tcp numgen random mod 1000 < $1 counter drop;
    iifname "r0" meta l4proto tcp counter comment "seen";
    iifname "r0" meta l4proto tcp numgen random mod 1000 < $1 counter drop;
  }
}
NFT
}

# loss_check PERMILLE WHAT: the loss really happened: at least 10 packets and at least 40% of
# the share set (5% must show at least 2%, 1% at least 0.4%).
loss_check() {
  local ruleset seen dropped
  ruleset=$(in_ns "$rtr" nft list table inet loss)
  sum_packets() { grep -oE "packets [0-9]+" | awk '{ s += $2 } END { print s + 0 }'; }
  seen=$(grep 'comment "seen"' <<<"$ruleset" | sum_packets)
  dropped=$(grep ' drop' <<<"$ruleset" | sum_packets)
  [ "$dropped" -ge 10 ] && [ $((dropped * 1000 * 10)) -ge $((seen * $1 * 4)) ] ||
    fail "$2: nftables dropped only $dropped of $seen packets"
  loss_seen="$dropped of $seen packets dropped"
}
