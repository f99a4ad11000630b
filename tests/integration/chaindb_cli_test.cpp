// `corecell chain import|head|verify` with the real binary: import and resume, the head
// printout, verify on a good and a mismatched genesis, the DATA_DIR lock against a second
// process, and files with a corrupted or undecodable block (rejected, head unchanged).
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "chain/block.h"
#include "chain/genesis.h"
#include "support/subprocess.h"
#include "unit/storage/storage_test_util.h"
#include "util/files.h"

namespace cc::storage {
namespace {

namespace fs = std::filesystem;
using cc::testing::bin_path;
using cc::testing::Process;
using cc::testing::run;
using cc::testing::RunResult;
using testing::TempDir;

Bytes concat(const std::vector<chain::Block>& blocks, std::size_t from, std::size_t to) {
  Bytes all;
  for (std::size_t i = from; i < to; ++i) {
    Bytes enc = blocks[i].encode();
    all.insert(all.end(), enc.begin(), enc.end());
  }
  return all;
}

class ChainDbCli : public ::testing::Test {
 protected:
  void SetUp() override {
    tc_ = testing::make_test_chain(12, 3);
    ASSERT_EQ(tc_.blocks.size(), 12u);
    data_ = tmp_.path() / "data";
    genesis_ = tmp_.path() / "genesis.json";
    const std::string json = chain::genesis_to_json(tc_.net.genesis);
    ASSERT_TRUE(atomic_write_file(genesis_, view(json)).ok());
  }

  RunResult import(const fs::path& file, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {bin_path("corecell"), "chain",        "import",
                                     "--datadir",          data_.string(), "--genesis",
                                     genesis_.string(),    "--file",       file.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run(argv);
  }
  RunResult head() {
    return run({bin_path("corecell"), "chain", "head", "--datadir", data_.string()});
  }
  RunResult verify(const fs::path& genesis) {
    return run({bin_path("corecell"), "chain", "verify", "--datadir", data_.string(), "--genesis",
                genesis.string()});
  }
  fs::path blocks_file(const std::string& name, std::size_t from, std::size_t to) {
    fs::path p = tmp_.path() / name;
    EXPECT_TRUE(atomic_write_file(p, concat(tc_.blocks, from, to)).ok());
    return p;
  }

  TempDir tmp_;
  testing::TestChain tc_;
  fs::path data_, genesis_;
};

TEST_F(ChainDbCli, ImportPrintsASummaryAndHeadShowsTheLastBlock) {
  auto r = import(blocks_file("all.rlp", 0, 12));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("blocks 12 imported, 0 already present; txs 36"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("tx/s"), std::string::npos);
  EXPECT_TRUE(fs::exists(data_ / "klay" / "chaindata" / "CURRENT"));

  auto h = head();
  ASSERT_EQ(h.exit_code, 0) << h.err;
  const auto& last = tc_.blocks.back().header;
  EXPECT_NE(h.out.find("number     12\n"), std::string::npos) << h.out;
  EXPECT_NE(h.out.find(to_hex0x(last.hash())), std::string::npos);
  EXPECT_NE(h.out.find(to_hex0x(last.state_root)), std::string::npos);
  EXPECT_NE(h.out.find(std::to_string(last.time)), std::string::npos);
}

TEST_F(ChainDbCli, ReimportSkipsBlocksAlreadyPresent) {
  ASSERT_EQ(import(blocks_file("first.rlp", 0, 5), {"--no-sync"}).exit_code, 0);
  auto r = import(blocks_file("all.rlp", 0, 12));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("blocks 7 imported, 5 already present"), std::string::npos) << r.out;
}

TEST_F(ChainDbCli, VerifyPassesOnAnImportedChainAndFailsOnAnotherGenesis) {
  ASSERT_EQ(import(blocks_file("all.rlp", 0, 12)).exit_code, 0);
  auto ok = verify(genesis_);
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("verify: ok: blocks 0..12 consistent and re-executed; txs 36"),
            std::string::npos)
      << ok.out;

  chain::Genesis other = tc_.net.genesis;
  other.timestamp += 1;
  const fs::path other_file = tmp_.path() / "other.json";
  const std::string json = chain::genesis_to_json(other);
  ASSERT_TRUE(atomic_write_file(other_file, view(json)).ok());
  auto bad = verify(other_file);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("corecell: error: chaindata"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find(to_hex0x(chain::genesis_hash(other))), std::string::npos) << bad.err;
}

TEST_F(ChainDbCli, ImportWithAnotherGenesisNamesBothHashes) {
  ASSERT_EQ(import(blocks_file("first.rlp", 0, 2)).exit_code, 0);
  chain::Genesis other = tc_.net.genesis;
  other.timestamp += 1;
  const std::string json = chain::genesis_to_json(other);
  ASSERT_TRUE(atomic_write_file(genesis_, view(json)).ok());
  auto r = import(blocks_file("rest.rlp", 2, 4));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(to_hex0x(chain::genesis_hash(tc_.net.genesis))), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(to_hex0x(chain::genesis_hash(other))), std::string::npos) << r.err;
}

TEST_F(ChainDbCli, SecondImportOnTheSameDataDirGetsALockErrorNamingTheHolder) {
  // A longer chain so the first import is still running when the second starts.
  auto long_chain = testing::make_test_chain(1500, 2, 5);
  const fs::path file = tmp_.path() / "long.rlp";
  ASSERT_TRUE(atomic_write_file(file, concat(long_chain.blocks, 0, long_chain.blocks.size())).ok());
  const std::string json = chain::genesis_to_json(long_chain.net.genesis);
  ASSERT_TRUE(atomic_write_file(genesis_, view(json)).ok());

  Process first({bin_path("corecell"), "chain", "import", "--datadir", data_.string(), "--genesis",
                 genesis_.string(), "--file", file.string()});
  ASSERT_TRUE(first.started());
  // Wait until it reports that it holds the DATA_DIR (its first line comes after the lock).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (first.out().find("import: ") == std::string::npos && first.running() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(first.running()) << "first import ended before the second started: " << first.err();

  auto second = import(file);
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("corecell: error:"), std::string::npos) << second.err;
  EXPECT_NE(second.err.find("in use by another process"), std::string::npos) << second.err;
  EXPECT_NE(second.err.find("pid " + std::to_string(first.pid())), std::string::npos) << second.err;
  first.signal(SIGKILL);
}

TEST_F(ChainDbCli, CorruptedBlockIsRejectedAndTheHeadStaysWhereItWas) {
  ASSERT_EQ(import(blocks_file("first.rlp", 0, 6)).exit_code, 0);
  auto before = head();
  ASSERT_EQ(before.exit_code, 0);

  // Block #7 with a changed stateRoot: it still decodes, but its seals no longer match.
  std::vector<chain::Block> tampered(tc_.blocks.begin(), tc_.blocks.begin() + 8);
  tampered[6].header.state_root[5] ^= 0x01;
  const fs::path file = tmp_.path() / "tampered.rlp";
  ASSERT_TRUE(atomic_write_file(file, concat(tampered, 0, tampered.size())).ok());
  auto r = import(file);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("block #7"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("rejected"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("the head stays at #6"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("blocks 0 imported, 6 already present"), std::string::npos) << r.out;

  auto after = head();
  ASSERT_EQ(after.exit_code, 0);
  EXPECT_EQ(after.out, before.out);
}

TEST_F(ChainDbCli, UndecodableFileImportsNothingAndNamesTheFile) {
  ASSERT_EQ(import(blocks_file("first.rlp", 0, 3)).exit_code, 0);
  auto before = head();
  Bytes data = concat(tc_.blocks, 0, 6);
  data.resize(data.size() - 7);  // the last block is cut short
  const fs::path file = tmp_.path() / "cut.rlp";
  ASSERT_TRUE(atomic_write_file(file, data).ok());
  auto r = import(file);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(file.string()), std::string::npos) << r.err;
  EXPECT_EQ(head().out, before.out);
}

TEST_F(ChainDbCli, HeadOfAMissingDataDirIsAClearError) {
  auto r = head();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no chaindata at " + (data_ / "klay" / "chaindata").string()),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace cc::storage
