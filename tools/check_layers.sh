#!/usr/bin/env bash
# The layering of ../shared/STYLE.md §2, enforced: each layer includes only the layers below it,
# and the pure layers (core wire link ip tcp service stack) make no syscalls, read no clock, draw
# no randomness, start no threads and do not log, which keeps them testable without a TAP and
# replayable in virtual time. Exit 1 naming each breach; a layer folder that is missing fails too,
# so a rename cannot turn the check into one that passes on nothing.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

declare -A allowed=(
  [core]="core"
  [wire]="core wire"
  [link]="core wire link"
  [ip]="core wire link ip"
  [tcp]="core wire tcp"
  [service]="core wire tcp service"
  [stack]="core wire link ip tcp service stack"
  [io]="core wire io"
  [app]="core wire link ip tcp service stack io app"
)
pure=(core wire link ip tcp service stack)
breaches=()

# layer_dirs LAYER: its folders (app has no public headers).
layer_dirs() {
  dirs=("src/$1")
  [ "$1" = app ] || dirs+=("include/tapsrv/$1")
}

for layer in "${!allowed[@]}"; do
  layer_dirs "$layer"
  for d in "${dirs[@]}"; do
    [ -d "$d" ] || breaches+=("$d: the layer's folder is missing")
  done
done
[ ${#breaches[@]} -eq 0 ] || { printf '%s\n' "layering check cannot run:" "${breaches[@]}"; exit 1; }

# Includes: "tapsrv/<layer>/..." from a file of layer L must name a layer allowed for L.
for layer in "${!allowed[@]}"; do
  layer_dirs "$layer"
  while IFS=: read -r file line text; do
    used=$(sed -E 's|.*#include "tapsrv/([a-z]+)/.*|\1|' <<<"$text")
    [[ " ${allowed[$layer]} " == *" $used "* ]] ||
      breaches+=("$file:$line: $layer may not include tapsrv/$used/ ($text)")
  done < <(grep -rnE '#include "tapsrv/[a-z]+/' "${dirs[@]}" --include='*.hpp' --include='*.cpp' || true)
done

# What the pure layers must not do. core/bug.cpp reports an internal error on stderr before it
# aborts a test build: that one line is the only output the pure layers make.
forbidden=(
  '#include <(sys/|unistd|fcntl|poll|linux/|netlink/|spdlog|fmt/|thread|mutex|future|iostream|random|sodium/randombytes|sodium\.h)'
  '_clock::now|clock_now\(|clock_gettime|gettimeofday|(^|[^_a-z:.>])time\('
  'random_device|getrandom|randombytes|[^_a-z]rand\(|arc4random'
  'std::thread|std::jthread|std::async|pthread_'
  'spdlog|printf\(|std::cout|std::cerr|std::clog'
  '(^|[^A-Za-z0-9_>])::(read|write|open|close|ioctl|socket|send|recv|poll|epoll_wait|mmap)\('
  'reinterpret_cast'
)
for layer in "${pure[@]}"; do
  for re in "${forbidden[@]}"; do
    while IFS= read -r hit; do
      [[ $hit == src/core/bug.cpp:*fprintf* ]] && continue
      # Only code counts: what a comment says is not a call.
      code=$(cut -d: -f3- <<<"$hit" | sed -E 's|//.*||')
      grep -qE "$re" <<<"$code" || continue
      breaches+=("$hit")
    done < <(grep -rnE "$re" "src/$layer" "include/tapsrv/$layer" --include='*.hpp' --include='*.cpp' || true)
  done
done

if [ ${#breaches[@]} -gt 0 ]; then
  echo "layering breaches (../shared/STYLE.md §2):"
  printf '  %s\n' "${breaches[@]}"
  exit 1
fi
echo "layers clean: includes follow ${#allowed[@]} layers; pure layers ${pure[*]} free of syscalls, clocks, randomness, threads and logging"
