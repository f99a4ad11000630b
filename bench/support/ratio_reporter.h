// bench/support/ratio_reporter.h — owns how benchmarks report comparisons: every figure is
// printed beside a baseline measured in the same run (DEVELOPERS' rule: benchmarks compare, they
// do not boast). A bench's main() names (measured, baseline) pairs of benchmark names; after the
// run it prints "ratio <measured> / <baseline> = X (target T)" lines from items_per_second.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace cc::bench {

struct RatioSpec {
  std::string measured;  // benchmark name (as printed, e.g. "BM_ImportBlocks/threads:1")
  std::string baseline;
  double target = 0;  // minimum acceptable ratio; 0 = informational
  std::string note;
};

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& run : runs) {
      if (run.run_type != Run::RT_Iteration || run.error_occurred) continue;
      auto it = run.counters.find("items_per_second");
      if (it != run.counters.end()) rates_[run.benchmark_name()] = it->second.value;
    }
  }

  // Prints the ratios; returns false when a target is missed or a benchmark did not run.
  bool print_ratios(const std::vector<RatioSpec>& specs) const {
    bool all_ok = true;
    std::printf("\n%-58s %14s %14s %8s %8s\n", "ratio (items/s)", "measured", "baseline", "ratio",
                "target");
    for (const auto& s : specs) {
      auto m = rates_.find(s.measured);
      auto b = rates_.find(s.baseline);
      if (m == rates_.end() || b == rates_.end() || b->second <= 0) {
        std::printf("%-58s  (not run)\n", (s.measured + " / " + s.baseline).c_str());
        continue;
      }
      double ratio = m->second / b->second;
      bool ok = s.target <= 0 || ratio >= s.target;
      all_ok = all_ok && ok;
      std::printf("%-58s %14.0f %14.0f %8.3f %8s %s\n", (s.measured + " / " + s.baseline).c_str(),
                  m->second, b->second, ratio,
                  s.target > 0 ? std::to_string(s.target).substr(0, 4).c_str() : "-",
                  s.target > 0 ? (ok ? "ok" : "MISSED") : "");
      if (!s.note.empty()) std::printf("    %s\n", s.note.c_str());
    }
    return all_ok;
  }

 private:
  std::map<std::string, double> rates_;
};

// main() body for a bench with ratios: runs all benchmarks (flags as usual), prints ratios.
inline int run_with_ratios(int argc, char** argv, const std::vector<RatioSpec>& specs) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  reporter.print_ratios(specs);
  return 0;
}

}  // namespace cc::bench
