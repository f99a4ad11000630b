// `corecell localnet` and `corecell demo` with real processes on loopback: a localnet of 4 cells
// (a CN and a PN each), a standby CN for cell 1 and an EN comes up under its supervisor, makes
// blocks that every node agrees on, reports the documented status fields, includes transfers
// offered over JSON-RPC, and `down` leaves no process, control socket, LOCK or pid file behind.
// A node that cannot start makes `up` fail naming it and quoting its log, with nothing left
// running. Addresses: 127.0.120.x (localnet), 127.0.126.x (the demo) — used by no other test.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "node/datadir.h"
#include "storage/chaindb.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"
#include "util/files.h"
#include "util/process.h"

namespace cc {
namespace {
namespace fs = std::filesystem;
using cc::testing::bin_path;
using json = nlohmann::json;
using namespace std::chrono_literals;

testing::RunResult ln_corecell(std::vector<std::string> args,
                               std::chrono::milliseconds timeout = 120s) {
  args.insert(args.begin(), bin_path("corecell"));
  return testing::run(args, timeout);
}

// Every live process whose command line mentions `needle` (the localnet directory).
std::vector<pid_t> ln_processes_mentioning(const std::string& needle) {
  std::vector<pid_t> out;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = std::stoi(name);
    if (pid != ::getpid() && util::process_matches(pid, needle)) out.push_back(pid);
  }
  return out;
}

// Runs `localnet down` when the test ends, whatever happened, so no process outlives it.
struct LnDownAtExit {
  fs::path dir;
  ~LnDownAtExit() {
    (void)ln_corecell({"localnet", "down", "--dir", dir.string()}, 60s);
    for (pid_t pid : ln_processes_mentioning(dir.string())) ::kill(pid, SIGKILL);
  }
};

json ln_status_json(const fs::path& dir) {
  auto r = ln_corecell({"localnet", "status", "--dir", dir.string(), "--json"}, 30s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out, nullptr, false);
  return j.is_discarded() ? json::object() : j;
}

std::uint64_t ln_min_head(const json& doc) {
  std::uint64_t lo = UINT64_MAX;
  for (const auto& n : doc.value("nodes", json::array())) {
    lo = std::min<std::uint64_t>(lo, n["head"].is_object() ? n["head"].value("number", 0ULL) : 0);
  }
  return lo == UINT64_MAX ? 0 : lo;
}

TEST(Localnet, FourCellsWithStandbyAndEndpointMakeBlocksCarryLoadAndStopWithoutLeftovers) {
  testing::TempDir tmp;
  const fs::path dir = tmp.path() / "net";
  LnDownAtExit guard{dir};
  auto init = ln_corecell({"localnet", "init", "--dir", dir.string(), "--cells", "4", "--pns", "1",
                           "--standby", "1", "--ens", "1", "--ip-prefix", "127.0.120"});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  auto again = ln_corecell({"localnet", "init", "--dir", dir.string()});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("not empty"), std::string::npos) << again.err;

  auto up = ln_corecell({"localnet", "up", "--dir", dir.string(), "--timeout", "60"}, 90s);
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  EXPECT_NE(up.out.find("10 nodes answering"), std::string::npos) << up.out;
  auto up_again = ln_corecell({"localnet", "up", "--dir", dir.string()});
  EXPECT_EQ(up_again.exit_code, 0) << up_again.err;
  EXPECT_NE(up_again.out.find("already running"), std::string::npos) << up_again.out;

  // Blocks: every node (the standby and the EN too) reaches height 3.
  json doc;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    doc = ln_status_json(dir);
    if (ln_min_head(doc) >= 3) break;
    std::this_thread::sleep_for(500ms);
  }
  ASSERT_GE(ln_min_head(doc), 3u) << doc.dump(2);

  // The documented --json fields, per node.
  ASSERT_TRUE(doc["supervisor"]["running"].get<bool>());
  const pid_t supervisor = doc["supervisor"]["pid"].get<pid_t>();
  std::vector<pid_t> pids = {supervisor};
  std::set<std::string> names;
  ASSERT_EQ(doc["nodes"].size(), 10u);
  for (const auto& n : doc["nodes"]) {
    const std::string name = n["name"];
    SCOPED_TRACE(name);
    names.insert(name);
    for (const char* key : {"cell", "role", "standby", "state", "pid", "address", "validator",
                            "p2p", "rpcUrl", "metricsUrl", "head", "peers", "round", "inSync"}) {
      EXPECT_TRUE(n.contains(key)) << key;
    }
    EXPECT_EQ(n["state"], "up");
    EXPECT_TRUE(n["pid"].is_number_integer());
    pids.push_back(n["pid"].get<pid_t>());
    EXPECT_EQ(n["address"].get<std::string>().size(), 42u);
    EXPECT_EQ(n["p2p"].get<std::string>().rfind("127.0.120.", 0), 0u);
    EXPECT_EQ(n["p2p"].get<std::string>().substr(n["p2p"].get<std::string>().find(':')), ":32323");
    EXPECT_GE(n["peers"].get<int>(), 1);
    const bool council = n["role"] == "cn" && !n["standby"].get<bool>();
    EXPECT_EQ(n["validator"].get<bool>(), council);
    EXPECT_EQ(n["round"].is_number(), council);
  }
  EXPECT_EQ(names, (std::set<std::string>{"cn-1", "cn-2", "cn-3", "cn-4", "cn-1-standby", "pn-1-1",
                                          "pn-2-1", "pn-3-1", "pn-4-1", "en-1"}));
  auto table = ln_corecell({"localnet", "status", "--dir", dir.string()});
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_NE(table.out.find("cn-1-standby"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("IN-SYNC"), std::string::npos) << table.out;

  // Load at a low rate through the EN's JSON-RPC: everything offered is included.
  auto load = ln_corecell(
      {"localnet", "load", "--dir", dir.string(), "--tps", "10", "--seconds", "3", "--drain", "30"},
      90s);
  EXPECT_EQ(load.exit_code, 0) << load.out << load.err;
  EXPECT_NE(load.out.find("included  30 of 30"), std::string::npos) << load.out << load.err;

  auto logs = ln_corecell({"localnet", "logs", "--dir", dir.string(), "cn-1", "--lines", "5"});
  EXPECT_EQ(logs.exit_code, 0);
  EXPECT_FALSE(logs.out.empty());
  auto no_such = ln_corecell({"localnet", "logs", "--dir", dir.string(), "cn-9"});
  EXPECT_EQ(no_such.exit_code, 1);
  EXPECT_NE(no_such.err.find("cn-1-standby"), std::string::npos) << no_such.err;

  auto down = ln_corecell({"localnet", "down", "--dir", dir.string()}, 60s);
  ASSERT_EQ(down.exit_code, 0) << down.err;
  EXPECT_NE(down.out.find("stopped: 10 nodes"), std::string::npos) << down.out;
  for (pid_t pid : pids) EXPECT_FALSE(util::process_alive(pid)) << "pid " << pid;
  EXPECT_TRUE(ln_processes_mentioning(dir.string()).empty());
  for (const auto& name : names) {
    const fs::path dd = dir / "nodes" / name;
    EXPECT_FALSE(fs::exists(node::control_socket_path(dd))) << name;
    EXPECT_FALSE(fs::exists(node::lock_path(dd))) << name;
    EXPECT_FALSE(fs::exists(dir / "run" / (name + ".pid"))) << name;
  }
  EXPECT_FALSE(fs::exists(dir / "run" / "supervisor.pid"));
  EXPECT_FALSE(fs::exists(dir / "run" / "supervisor.lock"));
  auto down_again = ln_corecell({"localnet", "down", "--dir", dir.string()});
  EXPECT_EQ(down_again.exit_code, 0);
  EXPECT_NE(down_again.out.find("not running"), std::string::npos) << down_again.out;

  // Agreement (CHAIN-1), read offline: every node holds the same block at every common height.
  std::vector<storage::ChainDb> dbs;
  for (const auto& name : names) {
    auto db = storage::ChainDb::open(node::chaindata_dir(dir / "nodes" / name));
    ASSERT_TRUE(db.ok()) << name << ": " << db.error().message;
    dbs.push_back(std::move(*db));
  }
  for (std::uint64_t h = 1; h <= 3; ++h) {
    std::set<Hash32> hashes;
    for (auto& db : dbs) {
      auto hash = db.canonical_hash(h);
      ASSERT_TRUE(hash.ok() && hash->has_value()) << "a node lacks block " << h;
      hashes.insert(**hash);
    }
    EXPECT_EQ(hashes.size(), 1u) << "nodes disagree at height " << h;
  }
  // The first block needs no round change although the CNs connect to each other only after they
  // start: each replays its height-1 messages to council peers that connect later
  // (Validator::replay_current_height).
  auto first = dbs.front().block_by_number(1);
  ASSERT_TRUE(first.ok() && first->has_value());
  auto extra = (*first)->header.istanbul_extra();
  ASSERT_TRUE(extra.ok()) << extra.error().message;
  EXPECT_EQ(extra->round(), 0) << "block 1 was decided in round " << int{extra->round()};
}

TEST(Localnet, UpFailsNamingANodeThatCannotStartAndLeavesNothingRunning) {
  testing::TempDir tmp;
  const fs::path dir = tmp.path() / "net";
  LnDownAtExit guard{dir};
  auto init = ln_corecell({"localnet", "init", "--dir", dir.string(), "--cells", "1", "--ens", "0",
                           "--ip-prefix", "127.0.120", "--first-host", "100"});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  {  // A value the node refuses at startup.
    std::ofstream conf(dir / "nodes" / "pn-1-1" / "kpnd.conf", std::ios::app);
    conf << "TXPOOL_LIFE_TIME=\"forever\"\n";
  }
  auto up = ln_corecell({"localnet", "up", "--dir", dir.string(), "--timeout", "30"}, 60s);
  EXPECT_EQ(up.exit_code, 1);
  EXPECT_NE(up.err.find("node pn-1-1 exited with code 1"), std::string::npos) << up.err;
  EXPECT_NE(up.err.find("TXPOOL_LIFE_TIME"), std::string::npos) << "the log tail: " << up.err;
  EXPECT_TRUE(ln_processes_mentioning(dir.string()).empty());
  EXPECT_FALSE(fs::exists(node::lock_path(dir / "nodes" / "cn-1")));
  EXPECT_FALSE(fs::exists(dir / "run" / "supervisor.pid"));
}

TEST(Localnet, SupervisorRestartsOnlyNodesWhoseConfSaysAutoRestart) {
  testing::TempDir tmp;
  const fs::path dir = tmp.path() / "net";
  LnDownAtExit guard{dir};
  auto init = ln_corecell({"localnet", "init", "--dir", dir.string(), "--cells", "1", "--ens", "1",
                           "--ip-prefix", "127.0.120", "--first-host", "150"});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  const fs::path pn_conf = dir / "nodes" / "pn-1-1" / "kpnd.conf";
  auto text = read_file(pn_conf);
  ASSERT_TRUE(text.ok());
  const auto at = text->find("AUTO_RESTART=0");
  ASSERT_NE(at, std::string::npos);
  text->replace(at, 14, "AUTO_RESTART=1");
  ASSERT_TRUE(atomic_write_file(pn_conf, *text).ok());
  auto up = ln_corecell({"localnet", "up", "--dir", dir.string(), "--timeout", "30"}, 60s);
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;

  auto pid_of = [&](const std::string& name) {
    return util::read_pid_file(dir / "run" / (name + ".pid"));
  };
  const auto pn = pid_of("pn-1-1");
  const auto en = pid_of("en-1");
  ASSERT_TRUE(pn && en);
  ::kill(*pn, SIGKILL);
  ::kill(*en, SIGKILL);
  json doc;
  bool restarted = false;
  for (int i = 0; i < 60 && !restarted; ++i) {
    std::this_thread::sleep_for(250ms);
    doc = ln_status_json(dir);
    for (const auto& n : doc["nodes"]) {
      if (n["name"] == "pn-1-1" && n["state"] == "up" && n["pid"] != *pn) restarted = true;
    }
  }
  EXPECT_TRUE(restarted) << doc.dump(2);
  for (const auto& n : doc["nodes"]) {
    if (n["name"] != "en-1") continue;
    EXPECT_EQ(n["state"], "down");
    EXPECT_TRUE(n["pid"].is_null());
    EXPECT_EQ(n["lastExit"], "killed by signal 9 (SIGKILL)");
  }
  auto down = ln_corecell({"localnet", "down", "--dir", dir.string()}, 60s);
  EXPECT_EQ(down.exit_code, 0) << down.err;
  EXPECT_TRUE(ln_processes_mentioning(dir.string()).empty());
}

TEST(Localnet, DemoRunsForFifteenSecondsAndLeavesNoProcessBehind) {
  testing::TempDir tmp;
  const fs::path dir = tmp.path() / "demo";
  LnDownAtExit guard{dir};
  auto demo = ln_corecell(
      {"demo", "--seconds", "15", "--dir", dir.string(), "--ip-prefix", "127.0.126"}, 120s);
  EXPECT_EQ(demo.exit_code, 0) << demo.out << demo.err;
  EXPECT_NE(demo.out.find("chain advanced from #"), std::string::npos) << demo.out;
  EXPECT_NE(demo.out.find("HA agent"), std::string::npos) << "the demo says what is not built";
  EXPECT_NE(demo.out.find("stopped 10 nodes"), std::string::npos) << demo.out;
  EXPECT_NE(demo.out.find(dir.string()), std::string::npos) << "says where the files are";
  EXPECT_TRUE(ln_processes_mentioning(dir.string()).empty());
  EXPECT_TRUE(fs::exists(dir / "network.json"));
  EXPECT_FALSE(fs::exists(node::lock_path(dir / "nodes" / "cn-1")));
}

}  // namespace
}  // namespace cc
