#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD_DIR/bin/fuzz_* for SECONDS each, starting from the seed
# corpus in tests/fuzz/corpus/<name>/ (copied, so the repository is not modified). Any crash,
# leak, sanitizer report or timeout fails the run and leaves the reproducer in the work dir.
# FUZZ_JOBS targets run at once (default: the number of cores).
set -uo pipefail
build=${1:?usage: run-fuzzers.sh BUILD_DIR SECONDS}
seconds=${2:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/cc-fuzz.XXXXXX)
jobs=${FUZZ_JOBS:-$(nproc)}
status=0
shopt -s nullglob
targets=("$build"/bin/fuzz_*)
if [ ${#targets[@]} -eq 0 ]; then echo "run-fuzzers: no fuzz targets in $build/bin"; exit 1; fi
# run_one BIN: fuzzes one target; prints one line (and the log tail on failure); exit 1 on a finding.
run_one() {
  local bin=$1 name runs
  name=$(basename "$bin"); name=${name#fuzz_}
  mkdir -p "$work/$name/corpus" "$work/$name/artifacts"
  if [ -d "$root/tests/fuzz/corpus/$name" ]; then cp -r "$root/tests/fuzz/corpus/$name/." "$work/$name/corpus/"; fi
  if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
       -artifact_prefix="$work/$name/artifacts/" "$work/$name/corpus" >"$work/$name/log" 2>&1; then
    runs=$(grep -oE '#[0-9]+' "$work/$name/log" | tail -n 1)
    echo "run-fuzzers: $name ok (${runs:-?} execs in ${seconds}s)"
  else
    echo "run-fuzzers: $name FAILED — log and reproducer in $work/$name"; tail -n 40 "$work/$name/log"
    return 1
  fi
}
running=0
for bin in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || status=1
    running=$((running - 1))
  fi
  run_one "$bin" &
  running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
  wait -n || status=1
  running=$((running - 1))
done
[ $status -eq 0 ] && rm -rf "$work"
exit $status
