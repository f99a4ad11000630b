# corecell — developer entry points. The README's two commands (./quickstart.sh demo|test)
# install dependencies first and then call `make demo` / `make test`.
#   make build      release build (gcc, RelWithDebInfo) in build/
#   make asan       ASan+UBSan build (clang, with libFuzzer coverage) of the unit, sim and fuzz targets in build-asan/
#   make test       the whole suite: unit, sim, integration, layer rules, sanitizers, bounded fuzzing, format, clang-tidy
#   make demo       build and run `corecell demo`
#   make bench      build and run every benchmark below (about 25 min; results: docs/BENCHMARKS.md)
#   make bench-ha   build and run only the HA failover RTO benchmark (bench/ha_rto.cpp, 5–10 min)
#   make bench-snapshot  build and run only the snapshot benchmark (bench/snapshot_bench.cpp: 2 GiB chaindata, ~7 min, ~7 GB of /tmp)
#   make bench-provision build and run only provision -> first seal, stand-alone and HA host (bench/provision_bench.cpp, 4-6 min)
#   make fuzz       longer fuzzing campaign (FUZZ_SECONDS per target, default 300)
#   make format     apply clang-format;  make format-check: fail on unformatted files
#   make tidy       clang-tidy over src/ (unity translation units of a configure-only clang tree); fails on any finding
JOBS ?= $(shell nproc)
BUILD ?= build
ASAN_BUILD ?= build-asan
TIDY_BUILD ?= build-tidy-unity

.PHONY: help build asan test demo bench bench-ha bench-snapshot bench-provision fuzz format format-check tidy clean

help:
	@sed -n '1,13p' Makefile | sed 's/^# \{0,1\}//'

build:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCC_WERROR=ON >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

asan:
	CXX=clang++ cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCC_SANITIZE=ON -DCC_WERROR=ON \
	  -DCC_FUZZ=ON -DCC_BENCH=OFF >/dev/null
	cmake --build $(ASAN_BUILD) -j $(JOBS) --target sanitizer_targets

test:
	bash scripts/test-suite.sh

demo: build
	$(BUILD)/bin/corecell demo

bench: build
	bash scripts/run-benchmarks.sh $(BUILD) all

bench-ha: build
	bash scripts/run-benchmarks.sh $(BUILD) ha

bench-snapshot: build
	bash scripts/run-benchmarks.sh $(BUILD) snapshot

bench-provision: build
	bash scripts/run-benchmarks.sh $(BUILD) provision

fuzz: asan
	bash scripts/run-fuzzers.sh $(ASAN_BUILD) $${FUZZ_SECONDS:-300}

format:
	find src tests bench -name '*.cpp' -o -name '*.h' | xargs clang-format -i

format-check:
	find src tests bench -name '*.cpp' -o -name '*.h' | xargs clang-format --dry-run -Werror

# .clang-tidy sets WarningsAsErrors, so a finding makes clang-tidy exit 1 and xargs exit 123.
# It reads the unity translation units of a configure-only clang tree (nothing is compiled there):
# each layer's sources parsed once with their shared headers, about 1/7 of the CPU time of one run
# per source file; findings still name the real src/ file and line (HeaderFilterRegex). The
# unity files #include .cpp files, hence -bugprone-suspicious-include. For one file, use a tree
# configured with -DCC_UNITY=OFF.
tidy:
	cmake -S . -B $(TIDY_BUILD) -G Ninja -DCMAKE_CXX_COMPILER=clang++ \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCC_UNITY=ON -DCC_TESTS=OFF -DCC_BENCH=OFF >/dev/null
	sed -n 's/^ *"file": "\(.*\)",\{0,1\}$$/\1/p' $(TIDY_BUILD)/compile_commands.json | \
	  xargs -P $(JOBS) -n 1 clang-tidy -p $(TIDY_BUILD) --quiet --checks=-bugprone-suspicious-include

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TIDY_BUILD)
