#!/usr/bin/env bash
# Runs every benchmark binary (BUILD/bin/*_bench) and keeps the output in BUILD/bench-results/.
# Each bench prints its figures and, where it has one, the ratio to a same-run baseline.
# Record the figures in docs/BENCHMARKS.md together with this command.
set -euo pipefail
build=${1:-build}
out="$build/bench-results"
mkdir -p "$out"
shopt -s nullglob
for bin in "$build"/bin/*_bench; do
  name=$(basename "$bin")
  echo "=== $name"
  "$bin" --benchmark_min_time=0.5 2>&1 | tee "$out/$name.txt"
done
echo "results in $out/"
