#!/usr/bin/env bash
# The whole test suite (`make test`, the README's test command via ./quickstart.sh test):
#   1. release build; every CTest test (unit, sim, integration with real processes, layer rules)
#   2. ASan+UBSan build (clang); unit and simulator tests under the sanitizers
#   3. every libFuzzer target for a bounded time (FUZZ_SECONDS, default 15) without findings
#   4. clang-format check
#   5. clang-tidy over src/ (.clang-tidy, every finding an error); about 15 CPU-minutes, run on
#      JOBS cores
# Ends with one line "N passed, N failed" counting CTest tests and the fuzz/format/tidy checks.
set -uo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
FUZZ_SECONDS=${FUZZ_SECONDS:-15}
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

# Prints clang-tidy's findings without its per-file "N warnings generated." noise (those count
# suppressed diagnostics in system headers); fails when `make tidy` does.
run_tidy() {
  local log rc t0=$SECONDS
  log=$(mktemp)
  make --no-print-directory tidy JOBS="$JOBS" >"$log" 2>&1
  rc=$?
  grep -vE '^[0-9]+ warnings? generated\.$' "$log"
  rm -f "$log"
  echo "clang-tidy: exit $rc after $((SECONDS - t0)) s"
  return "$rc"
}
check "clang-tidy" run_tidy

echo
echo "test-suite: finished in $((SECONDS - start)) s"
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
