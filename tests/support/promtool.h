// tests/support/promtool.h — runs the real `promtool check metrics` (Debian package prometheus)
// on an exposition, and knows the only complaints it may make about corecell's /metrics: its lint
// of Kaia's own metric names (camelCase, a "_gauge" suffix), which predate Prometheus' naming
// rules and are kept because Kaia dashboards and alerts query them (docs/METRICS.md).
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>

#include <fmt/format.h>

namespace cc::testing {

struct PromtoolRun {
  int exit_code = -1;  // -1: promtool did not run to an exit
  std::string output;  // what it printed (stdout and stderr)
};

// /usr/bin/promtool, else the first promtool on PATH.
inline std::optional<std::string> find_promtool() {
  if (std::filesystem::exists("/usr/bin/promtool")) return std::string("/usr/bin/promtool");
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const auto candidate = std::filesystem::path(dir) / "promtool";
    if (!dir.empty() && std::filesystem::exists(candidate)) return candidate.string();
  }
  return std::nullopt;
}

inline constexpr const char* kInstallPromtool =
    "promtool is missing: install the Debian package 'prometheus' "
    "(scripts/install-deps.sh does; apt-get install -y --no-install-recommends prometheus)";

// Pipes `text` into `promtool check metrics` and collects what it says.
inline PromtoolRun run_promtool(const std::string& promtool, const std::string& text) {
  static int counter = 0;
  const auto out_path =
      std::filesystem::temp_directory_path() /
      fmt::format("cc-promtool-{}-{}.out", static_cast<long>(::getpid()), counter++);
  PromtoolRun run;
  FILE* pipe = ::popen(
      fmt::format("'{}' check metrics >'{}' 2>&1", promtool, out_path.string()).c_str(), "w");
  if (pipe == nullptr) {
    run.output = "popen failed";
    return run;
  }
  std::fwrite(text.data(), 1, text.size(), pipe);
  const int status = ::pclose(pipe);
  if (status != -1 && WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  std::ifstream out(out_path);
  std::stringstream ss;
  ss << out.rdbuf();
  run.output = ss.str();
  std::filesystem::remove(out_path);
  return run;
}

// promtool's lint lines about Kaia's own names: the only complaints /metrics may draw.
inline const std::set<std::string>& kaia_metric_name_lint() {
  static const std::set<std::string> known = {
      "klaytn_consensus_istanbul_core_councilSize metric names should be written in 'snake_case' "
      "not 'camelCase'",
      "klaytn_consensus_istanbul_core_committeeSize metric names should be written in "
      "'snake_case' not 'camelCase'",
      "klaytn_p2p_CNPeerCountGauge metric names should be written in 'snake_case' not 'camelCase'",
      "klaytn_p2p_PNPeerCountGauge metric names should be written in 'snake_case' not 'camelCase'",
      "klaytn_p2p_ENPeerCountGauge metric names should be written in 'snake_case' not 'camelCase'",
      "klaytn_p2p_PeerCountGauge metric names should be written in 'snake_case' not 'camelCase'",
      "klaytn_tx_pool_pending_gauge metric name should not include type 'gauge'",
      "klaytn_tx_pool_queue_gauge metric name should not include type 'gauge'",
  };
  return known;
}

}  // namespace cc::testing
