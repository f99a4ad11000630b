# corecell — developer entry points. The README's two commands (./quickstart.sh demo|test)
# install dependencies first and then call `make demo` / `make test`.
#   make build      release build (gcc, RelWithDebInfo) in build/
#   make asan       ASan+UBSan build (clang, with libFuzzer coverage) in build-asan/
#   make test       the whole suite: unit, sim, integration, layer rules, sanitizers, bounded fuzzing, format, clang-tidy
#   make demo       build and run `corecell demo`
#   make bench      build and run the benchmarks (results: docs/BENCHMARKS.md)
#   make fuzz       longer fuzzing campaign (FUZZ_SECONDS per target, default 300)
#   make format     apply clang-format;  make format-check: fail on unformatted files
#   make tidy       clang-tidy over src/ (per-file compile commands from a configure-only build-tidy/); fails on any finding
JOBS ?= $(shell nproc)
BUILD ?= build
ASAN_BUILD ?= build-asan
TIDY_BUILD ?= build-tidy

.PHONY: help build asan test demo bench fuzz format format-check tidy clean

help:
	@sed -n '1,10p' Makefile | sed 's/^# \{0,1\}//'

build:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

asan:
	CXX=clang++ cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCC_SANITIZE=ON \
	  -DCC_FUZZ=ON -DCC_BENCH=OFF >/dev/null
	cmake --build $(ASAN_BUILD) -j $(JOBS)

test:
	bash scripts/test-suite.sh

demo: build
	$(BUILD)/bin/corecell demo

bench: build
	bash scripts/run-benchmarks.sh $(BUILD)

fuzz: asan
	bash scripts/run-fuzzers.sh $(ASAN_BUILD) $${FUZZ_SECONDS:-300}

format:
	find src tests bench -name '*.cpp' -o -name '*.h' | xargs clang-format -i

format-check:
	find src tests bench -name '*.cpp' -o -name '*.h' | xargs clang-format --dry-run -Werror

# .clang-tidy sets WarningsAsErrors, so a finding makes clang-tidy exit 1 and xargs exit 123.
# The compile commands come from a configure-only tree without unity batching (clang-tidy needs
# one command per source file); nothing is compiled there.
tidy:
	cmake -S . -B $(TIDY_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCC_UNITY=OFF \
	  -DCC_TESTS=OFF -DCC_BENCH=OFF >/dev/null
	find src -name '*.cpp' | xargs -P $(JOBS) -n 4 clang-tidy -p $(TIDY_BUILD) --quiet

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TIDY_BUILD)
