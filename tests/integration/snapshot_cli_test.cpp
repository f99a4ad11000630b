// `corecell snapshot inspect` as an operator runs it: the manifest as text and JSON, --verify
// over every file, and a damaged archive reported with the file's name and exit code 1.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "snapshot/archive.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"
#include "util/files.h"

namespace cc {
namespace {
namespace fs = std::filesystem;
using cc::testing::bin_path;
using cc::testing::RunResult;

RunResult corecell(std::vector<std::string> args) {
  args.insert(args.begin(), bin_path("corecell"));
  return cc::testing::run(args);
}

class SnapshotCli : public ::testing::Test {
 protected:
  void SetUp() override {
    const fs::path src = tmp_.path() / "chaindata";
    fs::create_directories(src);
    std::ofstream(src / "CURRENT") << "MANIFEST-000001\n";
    std::ofstream(src / "000001.sst") << std::string(200000, 'z');
    snapshot::Manifest h;
    h.chain_id = 1001;
    h.genesis_hash = "0x" + std::string(64, 'c');
    h.head_number = 77;
    h.head_hash = "0x" + std::string(64, 'd');
    h.created = "2026-11-26T16:30:00.000Z";
    h.source_node = "pn-1-1";
    h.mode = "offline";
    file_ = tmp_.path() / "snap.tar.zst";
    auto m = snapshot::write_archive(src, file_, h);
    ASSERT_TRUE(m.ok()) << m.error().message;
  }
  cc::testing::TempDir tmp_;
  fs::path file_;
};

TEST_F(SnapshotCli, InspectPrintsTheManifestAndVerifyChecksEveryFile) {
  auto r = corecell({"snapshot", "inspect", file_.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("chain id:    1001"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("#77"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("pn-1-1 (offline)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("not checked"), std::string::npos) << r.out;

  auto v = corecell({"snapshot", "inspect", file_.string(), "--verify", "--json"});
  ASSERT_EQ(v.exit_code, 0) << v.err;
  const auto j = nlohmann::json::parse(v.out);
  EXPECT_EQ(j["chainId"], 1001);
  EXPECT_EQ(j["verified"], true);
  ASSERT_EQ(j["files"].size(), 2u);
  EXPECT_EQ(j["files"][0]["path"], "000001.sst");
  EXPECT_EQ(j["files"][0]["sha256"].get<std::string>().size(), 64u);
}

TEST_F(SnapshotCli, DamagedSnapshotFailsVerifyNamingTheFile) {
  auto bytes = read_file(file_);
  ASSERT_TRUE(bytes.ok());
  std::string cut = bytes->substr(0, bytes->size() * 2 / 3);
  const fs::path bad = tmp_.path() / "cut.tar.zst";
  ASSERT_TRUE(atomic_write_file(bad, cut).ok());
  auto r = corecell({"snapshot", "inspect", bad.string(), "--verify"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(bad.string()), std::string::npos) << r.err;
  auto missing = corecell({"snapshot", "inspect", (tmp_.path() / "nope").string()});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("cannot open snapshot"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace cc
