#!/usr/bin/env bash
# Runs the benchmarks and keeps the output in BUILD/bench-results/.
#   scripts/run-benchmarks.sh [BUILD] [all|gbench|ha]      (default: build all)
#   gbench  every Google Benchmark binary (BUILD/bin/*_bench); each prints its figures and, where
#           it has one, the ratio to a same-run baseline (a few minutes)
#   ha      BUILD/bin/ha_rto: the HA agent's recovery time on a real localnet (node crash and host
#           loss, HA_RTO_RUNS each, default 20; the manual procedure HA_RTO_MANUAL_RUNS times,
#           default 3); 5-10 minutes; it uses 127.0.180.x and exits non-zero on any SIGN-1
#           violation. Report: BUILD/bench-results/ha_rto.txt
#   all     gbench, then ha
# Record the figures in docs/BENCHMARKS.md together with this command.
set -euo pipefail
build=${1:-build}
what=${2:-all}
out="$build/bench-results"
mkdir -p "$out"
shopt -s nullglob
case "$what" in
  all | gbench | ha) ;;
  *)
    echo "usage: $0 [BUILD] [all|gbench|ha]" >&2
    exit 2
    ;;
esac
if [[ $what == all || $what == gbench ]]; then
  for bin in "$build"/bin/*_bench; do
    name=$(basename "$bin")
    echo "=== $name"
    "$bin" --benchmark_min_time=0.5 2>&1 | tee "$out/$name.txt"
  done
fi
if [[ $what == all || $what == ha ]]; then
  echo "=== ha_rto"
  # The whole log goes to ha_rto.log; the final report (also printed) to ha_rto.txt.
  "$build"/bin/ha_rto --runs "${HA_RTO_RUNS:-20}" --manual-runs "${HA_RTO_MANUAL_RUNS:-3}" \
    --report "$out/ha_rto.txt" 2>&1 | tee "$out/ha_rto.log"
fi
echo "results in $out/"
