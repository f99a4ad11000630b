// Cloud recovery of an HA cell (issue #7): a 4-cell local network whose cell 1 has two CN hosts
// under HA agents (local lease, loopback mover). The cell loses its standby host and then its
// active host (kill -9 of agent and node: no handover, the lease expires); a replacement is
// provisioned from the standby's image, a PN snapshot and the validator key's backup. Its agent
// must take the lease (a newer epoch, a floor above the lost host's watermark) before its node
// signs; the lost host coming back finds the lease taken and stays a standby, and SIGN-1 holds
// over every signature journal. Then the returned host is lost again and rebuilt from its own
// image while the replacement holds the lease: it becomes the standby and says so.
// ProvisionHaLocalnet is one CTest entry (the tests run in order on one network).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/nodekey.h"
#include "localnet/manifest.h"
#include "localnet/supervisor.h"
#include "node/control.h"
#include "node/datadir.h"
#include "support/ha_agents.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"
#include "util/files.h"
#include "util/process.h"

namespace cc {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

bool pvha_wait(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(200ms);
  }
  return pred();
}

bool pvha_mentions(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

class ProvisionHaLocalnet : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new testing::TempDir();
    dir_ = tmp_->path() / "net";
    auto init =
        testing::run_corecell({"localnet", "init", "--dir", dir_.string(), "--cells", "4", "--pns",
                               "1", "--standby", "1", "--ens", "0", "--ip-prefix", "127.0.132"});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    auto up = testing::run_corecell({"localnet", "up", "--dir", dir_.string()}, 120s);
    ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
    auto m = localnet::load_manifest(dir_);
    ASSERT_TRUE(m.ok()) << m.error().message;
    manifest_ = new localnet::Manifest(*m);
  }

  static void TearDownTestSuite() {
    if (tmp_ == nullptr) return;
    (void)testing::run_corecell({"localnet", "down", "--dir", dir_.string()}, 60s);
    delete manifest_;
    manifest_ = nullptr;
    delete tmp_;
    tmp_ = nullptr;
  }

  void SetUp() override {
    if (manifest_ == nullptr) GTEST_SKIP() << "the network did not come up";
  }

  static const localnet::NodeEntry& host(const std::string& name) { return *manifest_->find(name); }
  static fs::path data_dir(const std::string& name) { return host(name).data_dir; }
  static fs::path cell_dir() { return dir_ / "ha" / "cell-1"; }
  static std::string validator() { return host("cn-1").address; }
  static fs::path image_of(const std::string& name) { return tmp_->path() / (name + ".image"); }

  static json status_of(const std::string& name) {
    return cc::testing::agent_status_at(data_dir(name));
  }
  static std::string role_of(const std::string& name) {
    return cc::testing::agent_role_at(data_dir(name));
  }

  static std::uint64_t head_of(const fs::path& dir) {
    auto st =
        node::control_request(node::control_socket_path(dir), json{{"cmd", "status"}}, 2000ms);
    return st.ok() ? st->value("/head/number"_json_pointer, std::uint64_t{0}) : 0;
  }

  // A block above `after` carrying the validator's seal, as cn-2 (another cell) sees the chain.
  static bool validator_sealed_above(std::uint64_t after) {
    auto r = node::control_request(node::control_socket_path(data_dir("cn-2")),
                                   json{{"cmd", "seals"}, {"address", validator()}, {"depth", 64}},
                                   2000ms);
    if (!r.ok()) return false;
    const json sealed = r->value("sealed", json::array());
    return std::any_of(sealed.begin(), sealed.end(),
                       [&](const json& n) { return n.get<std::uint64_t>() > after; });
  }

  // The host is lost: agent and node killed at once (no handover, its lease runs out), and held
  // down so the supervisor does not bring it back.
  static void crash_host(const std::string& name) {
    ASSERT_TRUE(pvha_wait(
        [&] {
          const auto node = util::read_pid_file(node::lock_path(data_dir(name)));
          return localnet::node_pid(*manifest_, host(name)).has_value() && node &&
                 util::process_alive(*node);
        },
        30s));
    auto st = localnet::localnet_kill_node(*manifest_, host(name));
    ASSERT_TRUE(st.ok()) << st.error().message;
    EXPECT_FALSE(localnet::node_pid(*manifest_, host(name)).has_value());
  }

  static testing::RunResult provision_into(const std::string& name) {
    const fs::path snap = tmp_->path() / (name + ".tar.zst");
    fs::remove(snap);
    auto s = testing::run_corecell(
        {"snapshot", "create", "--from", data_dir("pn-1-1").string(), "--out", snap.string()});
    EXPECT_EQ(s.exit_code, 0) << s.err;
    return testing::run_corecell(
        {"provision", "--image", image_of(name).string(), "--snapshot", snap.string(),
         "--nodekey-backup", (cell_dir() / "validator.backup").string(), "--passphrase-file",
         (cell_dir() / "passphrase").string(), "--datadir", data_dir(name).string(), "--service",
         "localnet", "--sync-timeout", "120", "--seal-timeout", "60"},
        240s);
  }

  static testing::TempDir* tmp_;
  static fs::path dir_;
  static localnet::Manifest* manifest_;
};

testing::TempDir* ProvisionHaLocalnet::tmp_ = nullptr;
fs::path ProvisionHaLocalnet::dir_;
localnet::Manifest* ProvisionHaLocalnet::manifest_ = nullptr;

TEST_F(ProvisionHaLocalnet, ImagesOfHaHostsCarryTheAgentConfButNoKey) {
  ASSERT_TRUE(pvha_wait([] { return role_of("cn-1") == "active"; }, 60s))
      << status_of("cn-1").dump();
  for (const std::string name : {"cn-1", "cn-1-standby"}) {
    auto r = testing::run_corecell({"image", "create", "--ha-conf", host(name).ha_conf.string(),
                                    "--out", image_of(name).string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(pvha_mentions(r.out, "HA agent    " + name)) << r.out;
    EXPECT_TRUE(pvha_mentions(r.out, "ha-conf")) << r.out;
    // The image names the validator (HA_VALIDATOR_ADDRESS), whatever key the host runs now.
    EXPECT_TRUE(pvha_mentions(r.out, "CN address  " + validator())) << r.out;
    const std::string files = r.out.substr(r.out.find("  files:"));
    EXPECT_FALSE(pvha_mentions(files, "nodekey")) << r.out;
    EXPECT_FALSE(pvha_mentions(files, "validator.backup")) << r.out;
    EXPECT_FALSE(pvha_mentions(files, "passphrase")) << r.out;
  }
  struct Case {
    std::vector<std::string> args;
    const char* message;
  };
  const fs::path out = tmp_->path() / "refused.image";
  const std::vector<Case> cases = {
      {{"--ha-conf", host("cn-1").ha_conf.string(), "--include",
        (cell_dir() / "validator.backup").string()},
       "never carries keys"},
      {{"--ha-conf", host("cn-1").ha_conf.string(), "--include",
        (data_dir("cn-1") / "ha" / "events.jsonl").string()},
       "HA_STATE_DIR"},
      {{"--ha-conf", host("cn-1").ha_conf.string(), "--conf", host("cn-2").conf.string()},
       "HA_NODE_CONF"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"image", "create", "--out", out.string()};
    args.insert(args.end(), c.args.begin(), c.args.end());
    auto r = testing::run_corecell(args);
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_TRUE(pvha_mentions(r.err, c.message)) << r.err;
    EXPECT_FALSE(fs::exists(out));
  }
}

TEST_F(ProvisionHaLocalnet, ReplacementTakesTheLeaseFirstAndTheLostHostReturnsAsStandby) {
  ASSERT_TRUE(fs::exists(image_of("cn-1-standby")));
  // The standby host is gone first (decommissioned), then the active host crashes: nobody signs
  // for cell 1, and nothing takes over by itself.
  auto stop = testing::run_corecell({"localnet", "stop", "--dir", dir_.string(), "cn-1-standby"});
  ASSERT_EQ(stop.exit_code, 0) << stop.err;
  fs::remove_all(data_dir("cn-1-standby"));
  ASSERT_TRUE(pvha_wait([] { return role_of("cn-1") == "active"; }, 30s));
  const std::uint64_t epoch_before = status_of("cn-1").value("epoch", std::uint64_t{0});
  ASSERT_GE(epoch_before, 1u);
  ASSERT_NO_FATAL_FAILURE(crash_host("cn-1"));
  const std::uint64_t h = head_of(data_dir("cn-2"));
  ASSERT_TRUE(pvha_wait([&] { return head_of(data_dir("cn-2")) >= h + 2; }, 60s))
      << "the other three cells keep the chain going";

  auto r = provision_into("cn-1-standby");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(pvha_mentions(r.out, "step ip ok")) << r.out;
  EXPECT_TRUE(pvha_mentions(r.out, "left to the agent")) << r.out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex("took the lease: epoch ([0-9]+)"))) << r.out;
  EXPECT_GT(std::stoull(m[1]), epoch_before);
  EXPECT_TRUE(pvha_mentions(r.out, "signing from #")) << r.out;
  EXPECT_TRUE(pvha_mentions(r.out, "HA agent: active")) << r.out;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex("in sync at #([0-9]+)"))) << r.out;
  const std::uint64_t synced = std::stoull(m[1]);
  EXPECT_TRUE(pvha_wait([&] { return validator_sealed_above(synced); }, 30s))
      << "cn-2 sees no seal of " << validator() << " above #" << synced;
  // The agent wrote the validator's nodekey; provisioning made the standby key.
  auto key = crypto::load_nodekey_file(node::nodekey_path(data_dir("cn-1-standby")));
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(crypto::to_checksum_hex(key->address), validator());
  EXPECT_TRUE(fs::exists(data_dir("cn-1-standby") / "ha" / "standby.nodekey"));
  EXPECT_FALSE(fs::exists(data_dir("cn-1-standby").string() + ".provision"));

  // The lost host comes back with its old disk (its nodekey is still the validator's): its agent
  // finds the lease taken and runs its node as a standby, for longer than twice the TTL.
  auto start = testing::run_corecell({"localnet", "start", "--dir", dir_.string(), "cn-1"}, 90s);
  ASSERT_EQ(start.exit_code, 0) << start.err;
  ASSERT_TRUE(pvha_wait([] { return role_of("cn-1") == "standby"; }, 30s))
      << status_of("cn-1").dump();
  const auto until = Clock::now() + 8s;
  while (Clock::now() < until) {
    EXPECT_NE(role_of("cn-1"), "active");
    EXPECT_EQ(role_of("cn-1-standby"), "active");
    std::this_thread::sleep_for(500ms);
  }
  EXPECT_EQ(status_of("cn-1")["node"].value("identity", ""), "standby") << status_of("cn-1").dump();
  const std::uint64_t back = head_of(data_dir("cn-2"));
  EXPECT_TRUE(pvha_wait([&] { return validator_sealed_above(back); }, 30s));
  cc::testing::expect_no_sign1_violation(*manifest_, "after the lost host returned");
}

TEST_F(ProvisionHaLocalnet, HostRebuiltWhileAnotherHoldsTheLeaseBecomesItsStandby) {
  ASSERT_EQ(role_of("cn-1-standby"), "active");
  const std::uint64_t epoch = status_of("cn-1-standby").value("epoch", std::uint64_t{0});
  ASSERT_NO_FATAL_FAILURE(crash_host("cn-1"));
  fs::remove_all(data_dir("cn-1"));

  auto r = provision_into("cn-1");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(pvha_mentions(r.out, "held by the live agent cn-1-standby (epoch " +
                                       std::to_string(epoch) + "): this host is its standby"))
      << r.out;
  EXPECT_TRUE(pvha_mentions(r.out, "HA agent: standby")) << r.out;
  EXPECT_EQ(role_of("cn-1"), "standby");
  EXPECT_EQ(role_of("cn-1-standby"), "active");
  EXPECT_EQ(status_of("cn-1-standby").value("epoch", std::uint64_t{0}), epoch);
  cc::testing::expect_no_sign1_violation(*manifest_, "after the standby was rebuilt");
}

}  // namespace
}  // namespace cc
