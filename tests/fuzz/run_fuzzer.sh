#!/usr/bin/env bash
# run_fuzzer.sh FUZZER CORPUS_DIR SECONDS [ARTIFACT_DIR]
# Runs one libFuzzer binary for SECONDS on a scratch copy of CORPUS_DIR (new inputs land in the
# copy, so the repository's corpus stays as it is) and prints one line:
#   NAME: N executions, N exec/s, no crash      or      NAME: ..., crash: PATH
# followed, on a crash, by the end of the sanitizer report. Exits 1 on a crash or when the
# fuzzer could not run. Crash inputs and the full log stay in ARTIFACT_DIR (default: next to
# the binary, in fuzz-artifacts/).
set -uo pipefail
fuzzer=${1:?usage: $0 FUZZER CORPUS_DIR SECONDS [ARTIFACT_DIR]}
corpus=${2:?corpus directory}
seconds=${3:?seconds}
artifacts=${4:-$(dirname "$fuzzer")/fuzz-artifacts}
name=$(basename "$fuzzer")

[ -d "$corpus" ] || { echo "$name: no corpus directory $corpus"; exit 1; }
mkdir -p "$artifacts"
artifacts=$(cd "$artifacts" && pwd)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/tapsrv-fuzz-$name.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
cp -R "$corpus/." "$scratch/"
log=$artifacts/$name.log

# -timeout: one input running for seconds is a hang, and reported as a crash.
"$fuzzer" "$scratch" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$artifacts/$name-" >"$log" 2>&1
status=$?

stat() { grep -oE "^stat::$1: *[0-9]+" "$log" | grep -oE '[0-9]+$' | tail -n1; }
execs=$(stat number_of_executed_units)
rate=$(stat average_exec_per_sec)
crash=$(grep -oE 'Test unit written to [^ ]+' "$log" | tail -n1 | cut -d' ' -f5)
line="$name: ${execs:-?} executions, ${rate:-?} exec/s"
if [ -n "$crash" ]; then
  echo "$line, crash: $crash"
  grep -E 'ERROR|fuzz invariant|internal bug|SUMMARY|#[0-9]+ 0x' "$log" | head -n 30
  exit 1
fi
if [ "$status" -ne 0 ] || [ -z "$execs" ]; then
  echo "$line, fuzzer failed (exit $status); see $log"
  tail -n 20 "$log"
  exit 1
fi
echo "$line, no crash"
