// tests/support/ha_agents.h — what the HA tests ask of running agents: status, role, which
// host is the single active one, and that no signature journal shows a SIGN-1 violation.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "ha/agent.h"
#include "localnet/invariants.h"
#include "localnet/manifest.h"

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

// SIGN-1 over every signature journal of the network (and at least one entry: something
// signed); each violation is a test failure naming `when`.
inline void expect_no_sign1_violation(const localnet::Manifest& manifest, const std::string& when) {
  auto journals = localnet::read_journals(manifest);
  ASSERT_TRUE(journals.ok()) << journals.error().message;
  EXPECT_GT(journals->entries.size(), 0u);
  for (const auto& v : localnet::sign1_violations(journals->entries)) {
    ADD_FAILURE() << when << ": " << v;
  }
}

}  // namespace cc::testing
