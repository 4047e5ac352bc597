#!/usr/bin/env bash
# The pure layers (core, wire, link, ip, stack) must not make syscalls, read the clock, log, or
# reinterpret bytes: that is what keeps them testable without a TAP. Exit 1 and name each breach.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pure_dirs=()
for layer in core wire link ip tcp service stack; do
  pure_dirs+=("$root/include/tapsrv/$layer" "$root/src/$layer")
done
pattern='#include <(sys/|unistd|fcntl|linux/|netlink/|spdlog|fmt/|thread|iostream)|::now\(\)|reinterpret_cast|std::thread|printf\(|std::cout|std::cerr'
found=$(grep -rnE "$pattern" "${pure_dirs[@]}" --include='*.hpp' --include='*.cpp' |
  grep -v 'src/core/bug.cpp:.*fprintf' || true)
if [ -n "$found" ]; then
  echo "layering breach in the pure layers:"
  echo "$found"
  exit 1
fi
echo "pure layers clean: ${pure_dirs[*]#$root/}"
