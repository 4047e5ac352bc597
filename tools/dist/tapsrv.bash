# bash completion for tapsrv(8)
_tapsrv() {
  local cur prev
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD - 1]}
  local up_opts="--config --ip --ifname --mac --mtu --host-ip --no-host-ip --bridge --gateway
    --attach --no-config --no-offload --no-ecn --port --msl --busy-poll --sndbuf --rcvbuf
    --mem-limit --cc --max-conns --max-time-wait --backlog --arp-timeout --keepalive
    --keepalive-interval --keepalive-probes --user-timeout --user --pcap --log-level --control
    --no-control --control-group --help"
  local status_opts="-i --ifname --control -j --json --state --help"
  local stats_opts="-i --ifname --control -j --json --prometheus --help"
  local states="LISTEN SYN_SENT SYN_RECEIVED ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 CLOSE_WAIT CLOSING
    LAST_ACK TIME_WAIT CLOSED"
  if [ "$COMP_CWORD" -eq 1 ]; then
    mapfile -t COMPREPLY < <(compgen -W "up status stats --version --help" -- "$cur")
    return
  fi
  local sub=${COMP_WORDS[1]} opts
  case $sub in
    up) opts=$up_opts ;;
    status) opts=$status_opts ;;
    stats) opts=$stats_opts ;;
    *) return ;;
  esac
  case $prev in
    --config | --pcap | --control) mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return ;;
    --cc) mapfile -t COMPREPLY < <(compgen -W "reno cubic bbr" -- "$cur"); return ;;
    --log-level)
      mapfile -t COMPREPLY < <(compgen -W "trace debug info warn error critical off" -- "$cur")
      return ;;
    --user) mapfile -t COMPREPLY < <(compgen -u -- "$cur"); return ;;
    --control-group) mapfile -t COMPREPLY < <(compgen -g -- "$cur"); return ;;
    --state)
      # shellcheck disable=SC2086 # a word list, split on purpose
      mapfile -t COMPREPLY < <(compgen -W "$states" -- "${cur^^}")
      return ;;
    -i | --ifname)
      if [ "$sub" = up ]; then
        mapfile -t COMPREPLY < <(compgen -W "$(ls /sys/class/net 2>/dev/null)" -- "$cur")
      else  # the interfaces of running tapsrvs: their control sockets
        local names
        names=$(ls /run/tapsrv "${XDG_RUNTIME_DIR:-/nonexistent}/tapsrv" 2>/dev/null |
          sed -n 's/\.sock$//p')
        mapfile -t COMPREPLY < <(compgen -W "$names" -- "$cur")
      fi
      return ;;
    --bridge)
      mapfile -t COMPREPLY < <(compgen -W "$(ls /sys/class/net 2>/dev/null)" -- "$cur")
      return ;;
    --port)
      if [[ $cur == *:* ]]; then
        local p=${cur%%:*}
        mapfile -t COMPREPLY < <(compgen -P "$p:" -W "echo discard chargen http" -- "${cur#*:}")
      fi
      return ;;
    --ip | --mac | --mtu | --host-ip | --gateway | --msl | --busy-poll | --sndbuf | --rcvbuf | \
      --mem-limit | --max-conns | --max-time-wait | --backlog | --arp-timeout | --keepalive | \
      --keepalive-interval | --keepalive-probes | --user-timeout)
      return ;;
  esac
  # shellcheck disable=SC2086 # a word list, split on purpose
  mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
}
complete -F _tapsrv tapsrv
