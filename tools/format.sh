#!/usr/bin/env bash
# tools/format.sh        reformat every C++ file in place
# tools/format.sh check  exit 1 and list the files clang-format would change
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
mapfile -t files < <(find include src tests tools -name '*.hpp' -o -name '*.cpp' | sort)
if [ "${1:-}" = check ]; then
  bad=()
  for f in "${files[@]}"; do clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f"); done
  if [ ${#bad[@]} -ne 0 ]; then
    echo "not formatted (run tools/format.sh): ${bad[*]}"
    exit 1
  fi
  echo "${#files[@]} files formatted"
else
  clang-format -i "${files[@]}"
fi
