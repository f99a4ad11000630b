// `corecell genesis hash` and `corecell chain generate`, run as the real binary: exit codes,
// output, the files written (modes included), and that the written chain verifies end to end.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <unistd.h>
#include <filesystem>

#include "chain/executor.h"
#include "chain/generator.h"
#include "chain/genesis.h"
#include "chain/verify.h"
#include "crypto/address.h"
#include "crypto/nodekey.h"
#include "support/subprocess.h"
#include "util/files.h"

namespace cc {
namespace {

namespace fs = std::filesystem;
using testing::bin_path;
using testing::run;

class ChainCli : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("cc-chain-cli-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  testing::RunResult corecell(std::vector<std::string> args) {
    args.insert(args.begin(), bin_path("corecell"));
    return run(args);
  }
  testing::RunResult generate(const fs::path& dir, const std::string& seed = "3") {
    return corecell({"chain", "generate", "--dir", dir.string(), "--validators", "4", "--accounts",
                     "5", "--blocks", "6", "--txs", "20", "--seed", seed, "--chain-id", "1234"});
  }

  fs::path root_;
};

TEST_F(ChainCli, GenesisHashPrintsTheHashOfTheFile) {
  auto net = chain::make_test_network(3, 2, 9, 1000);
  fs::path file = root_ / "genesis.json";
  ASSERT_TRUE(atomic_write_file(file, chain::genesis_to_json(net.genesis)).ok());
  auto r = corecell({"genesis", "hash", "--genesis", file.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, to_hex0x(chain::genesis_hash(net.genesis)) + "\n");
}

TEST_F(ChainCli, GenesisHashNamesTheBrokenField) {
  fs::path file = root_ / "genesis.json";
  ASSERT_TRUE(atomic_write_file(file, std::string(R"({"config": {"chainId": 1},
      "council": ["0x1111111111111111111111111111111111111111"],
      "alloc": {"0xzz": {"balance": "1"}}})"))
                  .ok());
  auto r = corecell({"genesis", "hash", "--genesis", file.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("corecell: error: " + file.string() +
                       ": alloc[\"0xzz\"]: not a 20-byte hex address"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST_F(ChainCli, GenesisHashOfMissingFileFailsNamingIt) {
  auto r = corecell({"genesis", "hash", "--genesis", (root_ / "none.json").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("none.json"), std::string::npos) << r.err;
}

TEST_F(ChainCli, UsageErrorsExitWithTwo) {
  EXPECT_EQ(corecell({"chain"}).exit_code, 2);
  EXPECT_EQ(corecell({"genesis", "hash"}).exit_code, 2);
  EXPECT_EQ(corecell({"chain", "generate", "--blocks", "1"}).exit_code, 2);  // no --dir
  EXPECT_EQ(corecell({"chain", "generate", "--dir", (root_ / "x").string(), "--validators", "0"})
                .exit_code,
            2);
}

TEST_F(ChainCli, GenerateWritesANetworkWhoseChainVerifies) {
  const fs::path dir = root_ / "net";
  auto r = generate(dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;

  auto genesis = chain::load_genesis_file(dir / "genesis.json");
  ASSERT_TRUE(genesis.ok()) << genesis.error().message;
  EXPECT_EQ(genesis->config.chain_id, 1234u);
  ASSERT_EQ(genesis->council.size(), 4u);
  EXPECT_EQ(genesis->alloc.size(), 5u);
  EXPECT_NE(r.out.find(to_hex0x(chain::genesis_hash(*genesis))), std::string::npos) << r.out;

  // Validators' nodekeys: Kaia's format, mode 0600, in council order.
  std::vector<crypto::PrivateKey> validator_keys;
  for (std::size_t i = 0; i < 4; ++i) {
    fs::path key = dir / "validators" / std::to_string(i) / "nodekey";
    struct stat st {};
    ASSERT_EQ(::stat(key.c_str(), &st), 0) << key;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << key;
    auto id = crypto::load_nodekey_file(key);
    ASSERT_TRUE(id.ok()) << id.error().message;
    EXPECT_EQ(id->address, genesis->council[i]);
    validator_keys.push_back(id->key);
  }

  // accounts.json: funded addresses with their keys.
  auto accounts_text = read_file(dir / "accounts.json");
  ASSERT_TRUE(accounts_text.ok());
  auto accounts = nlohmann::json::parse(*accounts_text);
  ASSERT_EQ(accounts.size(), 5u);
  for (const auto& acc : accounts) {
    auto addr = crypto::parse_address(acc.at("address").get<std::string>());
    ASSERT_TRUE(addr.ok());
    auto secret = fixed_from_hex<32>(acc.at("privateKey").get<std::string>());
    ASSERT_TRUE(secret.ok());
    EXPECT_EQ(crypto::address_of(*crypto::PrivateKey::from_bytes(*secret)), *addr);
    EXPECT_EQ(genesis->alloc.count(*addr), 1u);
  }

  // blocks.rlp: 6 sealed blocks that verify and re-execute on top of the genesis.
  auto raw = read_file(dir / "blocks.rlp");
  ASSERT_TRUE(raw.ok());
  auto blocks = chain::decode_block_stream(view(*raw));
  ASSERT_TRUE(blocks.ok()) << blocks.error().message;
  ASSERT_EQ(blocks->size(), 6u);
  auto council = genesis->make_council();
  ASSERT_TRUE(council.ok());
  auto v = chain::verify_chain(chain::genesis_block(*genesis).header, *blocks, *council,
                               chain::VerifyParams{1, blocks->back().header.time});
  ASSERT_TRUE(v.ok()) << v.rejection().detail;
  chain::State state;
  for (const auto& [a, balance] : genesis->alloc) state.set(a, chain::Account{0, balance});
  for (const auto& b : *blocks) {
    EXPECT_EQ(b.transactions.size(), 20u);
    auto exec = chain::execute_block(state, b.transactions, b.header.rewardbase, 1234, nullptr);
    ASSERT_TRUE(exec.ok()) << exec.error().message;
    EXPECT_EQ(exec->state_root, b.header.state_root);
  }

  // The genesis hash command agrees with the library.
  auto h = corecell({"genesis", "hash", "--genesis", (dir / "genesis.json").string()});
  EXPECT_EQ(h.out, to_hex0x(chain::genesis_hash(*genesis)) + "\n");
}

TEST_F(ChainCli, GenerateIsDeterministicForASeed) {
  ASSERT_EQ(generate(root_ / "a", "5").exit_code, 0);
  ASSERT_EQ(generate(root_ / "b", "5").exit_code, 0);
  ASSERT_EQ(generate(root_ / "c", "6").exit_code, 0);
  for (const char* f : {"genesis.json", "accounts.json", "blocks.rlp", "validators/0/nodekey"}) {
    EXPECT_EQ(*read_file(root_ / "a" / f), *read_file(root_ / "b" / f)) << f;
  }
  EXPECT_NE(*read_file(root_ / "a" / "blocks.rlp"), *read_file(root_ / "c" / "blocks.rlp"));
}

TEST_F(ChainCli, GenerateRefusesANonEmptyDirectory) {
  const fs::path dir = root_ / "used";
  fs::create_directories(dir);
  ASSERT_TRUE(atomic_write_file(dir / "keep.txt", std::string("x")).ok());
  auto r = generate(dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is not empty"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "genesis.json"));
}

TEST_F(ChainCli, GenerateWithTransfersNeedsAccounts) {
  auto r = corecell({"chain", "generate", "--dir", (root_ / "n").string(), "--accounts", "0",
                     "--blocks", "1", "--txs", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--accounts"), std::string::npos) << r.err;
}

TEST_F(ChainCli, GenerateEmptyBlocksWithoutAccounts) {
  auto r = corecell({"chain", "generate", "--dir", (root_ / "e").string(), "--validators", "1",
                     "--accounts", "0", "--blocks", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto raw = read_file(root_ / "e" / "blocks.rlp");
  ASSERT_TRUE(raw.ok());
  auto blocks = chain::decode_block_stream(view(*raw));
  ASSERT_TRUE(blocks.ok());
  EXPECT_EQ(blocks->size(), 3u);
}

}  // namespace
}  // namespace cc
