# bash completion for tapsrv(8)
_tapsrv() {
  local cur prev
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD - 1]}
  local up_opts="--config --ip --ifname --mac --mtu --host-ip --no-host-ip --bridge --gateway
    --attach --no-config --no-offload --no-ecn --port --msl --busy-poll --sndbuf --rcvbuf
    --mem-limit --cc --max-conns --max-time-wait --backlog --arp-timeout --keepalive
    --user-timeout --user --pcap --log-level --help"
  if [ "$COMP_CWORD" -eq 1 ]; then
    mapfile -t COMPREPLY < <(compgen -W "up --version --help" -- "$cur")
    return
  fi
  [ "${COMP_WORDS[1]}" = up ] || return
  case $prev in
    --config | --pcap) mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return ;;
    --cc) mapfile -t COMPREPLY < <(compgen -W "reno cubic bbr" -- "$cur"); return ;;
    --log-level)
      mapfile -t COMPREPLY < <(compgen -W "trace debug info warn error critical off" -- "$cur")
      return ;;
    --user) mapfile -t COMPREPLY < <(compgen -u -- "$cur"); return ;;
    --bridge | --ifname)
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
      --user-timeout)
      return ;;
  esac
  # shellcheck disable=SC2086 # a word list, split on purpose
  mapfile -t COMPREPLY < <(compgen -W "$up_opts" -- "$cur")
}
complete -F _tapsrv tapsrv
