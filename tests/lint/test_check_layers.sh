#!/usr/bin/env bash
# tools/check_layers.sh catches what it promises: each breach below, planted in a copy of the
# tree, must fail it, and a clean copy (or a breach written only in a comment) must pass.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TMP=$(mktemp -d /tmp/tapsrv-layers.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

fresh() {
  rm -rf "$TMP/t" && mkdir -p "$TMP/t/tools"
  cp -r "$ROOT/src" "$ROOT/include" "$TMP/t/"
  cp "$ROOT/tools/check_layers.sh" "$TMP/t/tools/"
}
fresh
bash "$TMP/t/tools/check_layers.sh" >/dev/null || fail "the real tree does not pass"

# plant FILE LINE WHAT: appends LINE to FILE in a fresh copy; the check must fail naming FILE.
plant() {
  fresh
  printf '%s\n' "$2" >>"$TMP/t/$1"
  local out
  if out=$(bash "$TMP/t/tools/check_layers.sh" 2>&1); then fail "not caught: $3 ($1: $2)"; fi
  grep -qF "$1" <<<"$out" || fail "caught, but the breach in $1 is not named: $out"
  echo "ok: caught $3"
}
plant src/tcp/engine.cpp '#include "tapsrv/io/clock.hpp"' "tcp including io"
plant src/wire/tcp.cpp '#include "tapsrv/tcp/engine.hpp"' "wire including tcp (upward)"
plant include/tapsrv/link/link_layer.hpp '#include "tapsrv/app/config.hpp"' "link including app"
plant src/tcp/timers.cpp 'auto t = std::chrono::steady_clock::now();' "a clock read in tcp"
plant src/stack/stack.cpp 'static int x = time(nullptr);' "time() in stack"
plant src/wire/checksum.cpp 'int r = getrandom(buf, 4, 0);' "getrandom in wire"
plant src/tcp/isn.cpp 'std::random_device rd;' "random_device in tcp"
plant src/service/echo.cpp 'std::thread t;' "a thread in service"
plant src/ip/icmp.cpp '#include <spdlog/spdlog.h>' "spdlog in ip"
plant src/link/link_layer.cpp 'auto n = ::write(fd, p, 1);' "a syscall in link"
plant src/core/stats.cpp '#include <sys/socket.h>' "a system header in core"

fresh
printf '%s\n' '// a comment may say steady_clock::now() or spdlog' >>"$TMP/t/src/tcp/timers.cpp"
bash "$TMP/t/tools/check_layers.sh" >/dev/null || fail "a comment was taken for code"
echo "ok: a comment naming a forbidden call passes"

fresh
rm -rf "$TMP/t/src/service"
bash "$TMP/t/tools/check_layers.sh" >/dev/null 2>&1 && fail "a missing layer folder passed"
echo "ok: a missing layer folder fails"
