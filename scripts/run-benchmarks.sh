#!/usr/bin/env bash
# Runs the benchmarks and keeps the output in BUILD/bench-results/.
#   scripts/run-benchmarks.sh [BUILD] [all|gbench|ha|snapshot|provision]      (default: build all)
#   gbench  every Google Benchmark binary (BUILD/bin/*_bench but snapshot_bench); each prints its
#           figures and, where it has one, the ratio to a same-run baseline (a few minutes)
#   ha      BUILD/bin/ha_rto: the HA agent's recovery time on a real localnet (node crash and host
#           loss, HA_RTO_RUNS each, default 20; the manual procedure HA_RTO_MANUAL_RUNS times,
#           default 3); 5-10 minutes; it uses 127.0.180.x and exits non-zero on any SIGN-1
#           violation. Report: BUILD/bench-results/ha_rto.txt
#   snapshot  BUILD/bin/snapshot_bench: snapshot create/restore vs `tar -I zstd` and the online
#           checkpoint time vs chaindata size, on a chaindata of SNAPSHOT_BENCH_MIB (default 2048)
#           built in a new directory under SNAPSHOT_BENCH_DIR (default /tmp; needs about 3.5x the
#           size free), SNAPSHOT_BENCH_RUNS runs each (default 3); ~7 minutes.
#           Report: BUILD/bench-results/snapshot_bench.txt
#   provision  BUILD/bin/provision_bench: time from `corecell provision` start to the new CN's
#           first seal beside a restart of the intact CN, on a localnet (127.0.133.x),
#           PROVISION_BENCH_RUNS runs (default 5), then the same for the host of an HA cell
#           (--ha: crashed host, agent taking the lease first); 4-6 minutes.
#           Report: BUILD/bench-results/provision_bench.txt
#   all     gbench, then ha, then snapshot, then provision
# Record the figures in docs/BENCHMARKS.md together with this command.
set -euo pipefail
build=${1:-build}
what=${2:-all}
out="$build/bench-results"
mkdir -p "$out"
shopt -s nullglob
case "$what" in
  all | gbench | ha | snapshot | provision) ;;
  *)
    echo "usage: $0 [BUILD] [all|gbench|ha|snapshot|provision]" >&2
    exit 2
    ;;
esac
if [[ $what == all || $what == gbench ]]; then
  for bin in "$build"/bin/*_bench; do
    name=$(basename "$bin")
    # plain programs: their own modes below
    if [[ $name == snapshot_bench || $name == provision_bench ]]; then continue; fi
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
if [[ $what == all || $what == snapshot ]]; then
  echo "=== snapshot_bench"
  "$build"/bin/snapshot_bench --size-mib "${SNAPSHOT_BENCH_MIB:-2048}" \
    --runs "${SNAPSHOT_BENCH_RUNS:-3}" --dir "${SNAPSHOT_BENCH_DIR:-/tmp}" \
    --report "$out/snapshot_bench.txt" 2>&1 | tee "$out/snapshot_bench.log"
fi
if [[ $what == all || $what == provision ]]; then
  echo "=== provision_bench"
  {
    "$build"/bin/provision_bench --runs "${PROVISION_BENCH_RUNS:-5}"
    "$build"/bin/provision_bench --runs "${PROVISION_BENCH_RUNS:-5}" --ha
  } 2>&1 | tee "$out/provision_bench.txt"
fi
echo "results in $out/"
