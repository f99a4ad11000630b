// Runs the real `corecell node` daemon: a CN refuses to start without a nodekey (never generates
// one), a PN creates its identity, a second process on the same DATA_DIR is refused, a bad
// config value names key and line, and SIGTERM stops the node cleanly with the lock released.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "crypto/address.h"
#include "crypto/nodekey.h"
#include "support/subprocess.h"
#include "util/files.h"

namespace cc {
namespace {
namespace fs = std::filesystem;
using cc::testing::bin_path;
using cc::testing::Process;
using namespace std::chrono_literals;

class NodeCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cc-node-cli-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto gen = cc::testing::run({bin_path("corecell"), "chain", "generate", "--dir",
                                 (dir_ / "net").string(), "--validators", "4", "--accounts", "4",
                                 "--blocks", "3", "--txs", "2"});
    ASSERT_EQ(gen.exit_code, 0) << gen.err;
    genesis_ = dir_ / "net" / "genesis.json";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Each test process listens on its own loopback port: ctest runs tests in parallel, and the
  // network tests hold 127.0.x.y:32323 (a 0.0.0.0:32323 listener would clash with them).
  std::vector<std::string> node_args(const std::string& role, const fs::path& datadir) {
    const std::string port = std::to_string(40000 + ::getpid() % 20000);
    return {bin_path("corecell"), "node",           "--role",    role,
            "--datadir",          datadir.string(), "--genesis", genesis_.string(),
            "--public-ip",        "127.0.0.1",      "--port",    port};
  }

  // Waits until the process prints "running" or exits.
  static bool wait_running(Process& p) {
    for (int i = 0; i < 400; ++i) {
      if (p.out().find("running") != std::string::npos) return true;
      if (!p.running()) return false;
      std::this_thread::sleep_for(25ms);
    }
    return false;
  }

  fs::path dir_;
  fs::path genesis_;
};

TEST_F(NodeCli, ConsensusNodeWithoutNodekeyRefusesToStartAndCreatesNoKey) {
  auto dd = dir_ / "cn";
  auto r = cc::testing::run(node_args("cn", dd));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("nodekey"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dd / "klay" / "nodekey"));
  EXPECT_FALSE(fs::exists(dd / "nodekey"));
}

TEST_F(NodeCli, ConsensusNodeStartsWithItsKeyAndStopsCleanlyOnSigterm) {
  auto dd = dir_ / "cn";
  fs::create_directories(dd / "klay");
  fs::copy_file(dir_ / "net" / "validators" / "0" / "nodekey", dd / "klay" / "nodekey");
  fs::permissions(dd / "klay" / "nodekey", fs::perms::owner_read | fs::perms::owner_write,
                  fs::perm_options::replace);
  auto id = crypto::load_nodekey_file(dd / "klay" / "nodekey");
  ASSERT_TRUE(id.ok());

  Process node(node_args("cn", dd));
  ASSERT_TRUE(wait_running(node)) << node.err();
  EXPECT_NE(node.out().find(crypto::to_checksum_hex(id->address)), std::string::npos);
  EXPECT_TRUE(fs::is_directory(dd / "klay" / "chaindata"));

  // A second process on the same DATA_DIR is refused while the first runs.
  auto second = cc::testing::run(node_args("cn", dd), 30s);
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("in use by another process"), std::string::npos) << second.err;

  node.signal(SIGTERM);
  int status = node.wait(10s);
  ASSERT_NE(status, -1) << "node did not stop on SIGTERM";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  // Lock released: the node starts again on the same DATA_DIR.
  Process again(node_args("cn", dd));
  EXPECT_TRUE(wait_running(again)) << again.err();
}

TEST_F(NodeCli, ProxyNodeWithoutNodekeyCreatesItsIdentity) {
  auto dd = dir_ / "pn";
  Process node(node_args("pn", dd));
  ASSERT_TRUE(wait_running(node)) << node.err();
  EXPECT_TRUE(fs::exists(dd / "klay" / "nodekey"));
  EXPECT_EQ(*file_mode(dd / "klay" / "nodekey"), 0600u);
}

TEST_F(NodeCli, BadConfigValueNamesFileLineAndKey) {
  auto conf = dir_ / "kcnd.conf";
  ASSERT_TRUE(atomic_write_file(conf, std::string("# test\nPORT=32323\nRPC_PORT=\"abc\"\n")).ok());
  auto args = node_args("cn", dir_ / "cn");
  args.push_back("--conf");
  args.push_back(conf.string());
  auto r = cc::testing::run(args);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("kcnd.conf:3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("RPC_PORT"), std::string::npos) << r.err;
}

TEST_F(NodeCli, MissingGenesisIsAClearError) {
  auto r = cc::testing::run(
      {bin_path("corecell"), "node", "--role", "pn", "--datadir", (dir_ / "pn").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("GENESIS"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace cc
