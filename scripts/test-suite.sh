#!/usr/bin/env bash
# The whole test suite (`make test`, the README's test command via ./quickstart.sh test):
#   1. release build; every CTest test (unit, sim, integration with real processes, layer rules)
#   2. ASan+UBSan build (clang) of the unit, sim and fuzz targets; the unit and simulator tests
#      under the sanitizers, one process per test binary
#   3. every libFuzzer target for a bounded time (FUZZ_SECONDS, default 10) without findings
#   4. clang-format check
#   5. clang-tidy over src/ (.clang-tidy, every finding an error; `make tidy`), at
#      nice 19, started with the release tests and collected at the end (it takes the CPU the
#      release tests leave idle)
# Ends with one line "N passed, N failed" counting CTest tests and the fuzz/format/tidy checks.
set -uo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
FUZZ_SECONDS=${FUZZ_SECONDS:-10}
passed=0
failed=0
failures=()

# Runs ctest and adds its counts; arguments are passed to ctest.
run_ctest() {
  local label=$1; shift
  local log
  log=$(mktemp)
  ctest "$@" --output-on-failure --timeout 900 -j "$JOBS" 2>&1 | tee "$log"
  local summary
  summary=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -n 1)
  if [ -z "$summary" ]; then
    if grep -q "No tests were found" "$log"; then
      echo "test-suite: $label: no tests"
    else
      failed=$((failed + 1)); failures+=("$label: ctest produced no summary")
    fi
  else
    local nfail ntotal
    nfail=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$summary")
    ntotal=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2/' <<<"$summary")
    passed=$((passed + ntotal - nfail))
    failed=$((failed + nfail))
    [ "$nfail" -eq 0 ] || failures+=("$label: $nfail of $ntotal failed")
  fi
  rm -f "$log"
}

check() {  # check NAME COMMAND...: one pass/fail entry
  local name=$1; shift
  stage "$name"
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$name"); fi
}

start=$SECONDS
stage() { echo "=== $1 (at $((SECONDS - start)) s)"; }
stage "release build"
if ! make build JOBS="$JOBS"; then echo "test-suite: release build failed"; echo "0 passed, 1 failed"; exit 1; fi
# clang-tidy needs no build output (its compile commands come from a configure-only tree), so
# it starts now at the lowest CPU priority: it takes the cycles the release tests leave idle
# while they wait on real processes and 1-second blocks, and is collected at the end.
tidy_log=$(mktemp)
tidy_t0=$SECONDS
(nice -n 19 make --no-print-directory tidy JOBS="$JOBS" >"$tidy_log" 2>&1; echo $? >"$tidy_log.rc") &
tidy_pid=$!

stage "release tests (unit, sim, integration, layers)"
run_ctest release --test-dir build

stage "sanitizer build (ASan+UBSan, clang)"
if make asan JOBS="$JOBS"; then
  stage "sanitizer tests (unit, sim)"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_ctest sanitizers --test-dir build-asan -L 'unit|sim'
  check "fuzzers (${FUZZ_SECONDS}s each)" bash scripts/run-fuzzers.sh build-asan "$FUZZ_SECONDS"
else
  failed=$((failed + 1)); failures+=("sanitizer build")
fi

check "clang-format" make --no-print-directory format-check

# Waits for the clang-tidy run started after the release build; prints its findings without
# the per-file "N warnings generated." noise (suppressed diagnostics in system headers).
collect_tidy() {
  wait "$tidy_pid"
  local rc
  rc=$(cat "$tidy_log.rc" 2>/dev/null || echo 1)
  grep -vE '^[0-9]+ warnings? generated\.$' "$tidy_log"
  rm -f "$tidy_log" "$tidy_log.rc"
  echo "clang-tidy: exit $rc, finished $((SECONDS - tidy_t0)) s after it started"
  [ "$rc" -eq 0 ]
}
check "clang-tidy" collect_tidy

echo
echo "test-suite: finished in $((SECONDS - start)) s"
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
