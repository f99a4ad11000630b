// tests/support/ha_agents.h — what the HA tests ask of running agents: status, role, and which
// host is the single active one.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "ha/agent.h"

namespace cc::testing {

// The status of the agent guarding the node in `data_dir`; {} when no agent answers.
inline nlohmann::json agent_status_at(const std::filesystem::path& data_dir) {
  auto s = ha::query_agent_status(data_dir, std::chrono::milliseconds(2000));
  return s.ok() ? *s : nlohmann::json::object();
}

inline std::string agent_role_at(const std::filesystem::path& data_dir) {
  return agent_status_at(data_dir).value("role", "unreachable");
}

// The one of `hosts` whose agent says "active", or "" (none, or more than one).
template <typename Hosts, typename DataDirOf>
std::string sole_active(const Hosts& hosts, DataDirOf data_dir_of) {
  std::string found;
  int n = 0;
  for (const auto& h : hosts) {
    if (agent_role_at(data_dir_of(h)) == "active") {
      found = h;
      ++n;
    }
  }
  return n == 1 ? found : "";
}

}  // namespace cc::testing
