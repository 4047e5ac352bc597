# TCP tests share this: a namespace with tapsrv serving echo on 3333, discard on 9, chargen on
# 19 and http on 8080. Sourced after lib.sh.
tcp_ns=$(netns_new host)
tcp_log=$T_TMP/tapsrv.log
tcp_client() { in_ns "$tcp_ns" timeout 300 python3 "$(dirname "$0")/tcp_client.py" "$@"; }

tcp_start() {
  start_tapsrv "$tcp_ns" "$tcp_log" --port 3333 --port 9:discard --port 19:chargen \
    --port 8080:http --msl 0.5 "$@"
  tcp_pid=$T_LAST_PID
}
