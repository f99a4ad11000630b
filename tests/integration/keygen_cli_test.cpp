// Runs the real bin/corecell: keygen output, encrypted backup/restore round trips and every way a
// restore must refuse (wrong passphrase, tampering, wrong address, existing file) without writing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "crypto/address.h"
#include "crypto/keystore.h"
#include "crypto/nodekey.h"
#include "p2p/kni.h"
#include "support/subprocess.h"
#include "util/files.h"

namespace cc {
namespace {
namespace fs = std::filesystem;
using cc::testing::bin_path;
using cc::testing::RunResult;

class KeygenCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cc-keygen-cli-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    pass_ = dir_ / "pass";
    ASSERT_TRUE(atomic_write_file(pass_, std::string("correct horse battery\n"), 0600).ok());
  }
  void TearDown() override { fs::remove_all(dir_); }

  static RunResult corecell(std::vector<std::string> args) {
    args.insert(args.begin(), bin_path("corecell"));
    return cc::testing::run(args);
  }

  // keygen into dir_/name; returns the nodekey path.
  fs::path keygen(const std::string& name) {
    auto r = corecell({"keygen", "--out", (dir_ / name).string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return dir_ / name / "nodekey";
  }

  // A cheap (interactive-cost) backup of a nodekey.
  fs::path backup(const fs::path& nodekey, const std::string& name = "backup.json") {
    auto out = dir_ / name;
    auto r = corecell({"key", "backup", "--nodekey", nodekey.string(), "--passphrase-file",
                       pass_.string(), "--out", out.string(), "--kdf-cost", "interactive"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return out;
  }

  RunResult restore(const fs::path& in, const fs::path& out, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"key",       "restore",           "--in",
                                  in.string(), "--passphrase-file", pass_.string(),
                                  "--out",     out.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return corecell(args);
  }

  fs::path dir_;
  fs::path pass_;
};

TEST_F(KeygenCli, KeygenWritesKaiaNodekeyAndNodeInfoBothMode0600) {
  auto r = corecell({"keygen", "--out", (dir_ / "keys").string(), "--ip", "10.11.2.101", "--port",
                     "32323", "--ntype", "cn"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  fs::path key_path = dir_ / "keys" / "nodekey";
  fs::path info_path = dir_ / "keys" / "node_info.json";
  auto key_text = *read_file(key_path);
  EXPECT_EQ(key_text.size(), 64u);
  EXPECT_EQ(key_text.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(*file_mode(key_path), 0600u);
  EXPECT_EQ(*file_mode(info_path), 0600u);

  auto id = crypto::load_nodekey_file(key_path);
  ASSERT_TRUE(id.ok()) << id.error().message;
  auto info = nlohmann::json::parse(*read_file(info_path));
  EXPECT_EQ(info["NodeKey"], key_text);
  EXPECT_EQ(info["NodeAddress"], crypto::to_checksum_hex(id->address));
  auto url = p2p::KniUrl::parse(info["NodeURI"].get<std::string>());
  ASSERT_TRUE(url.ok()) << url.error().message;
  EXPECT_EQ(url->node_id, id->node_id);
  EXPECT_EQ(url->host, "10.11.2.101");
  EXPECT_EQ(url->port, 32323);
  EXPECT_EQ(url->discport, 0);
  EXPECT_EQ(url->ntype, "cn");
  // The secret is in the files, not on the terminal.
  EXPECT_EQ(r.out.find(key_text), std::string::npos);
  EXPECT_NE(r.out.find(crypto::to_checksum_hex(id->address)), std::string::npos);
}

TEST_F(KeygenCli, KeygenRefusesToReplaceANodekeyWithoutForce) {
  auto key_path = keygen("keys");
  auto before = *read_file(key_path);
  auto again = corecell({"keygen", "--out", (dir_ / "keys").string()});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("--force"), std::string::npos);
  EXPECT_EQ(*read_file(key_path), before);
  auto forced = corecell({"keygen", "--out", (dir_ / "keys").string(), "--force"});
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_NE(*read_file(key_path), before);
}

TEST_F(KeygenCli, KeygenRejectsAnInvalidIp) {
  auto r = corecell({"keygen", "--out", (dir_ / "keys").string(), "--ip", "300.1.1.1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("300.1.1.1"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "keys" / "nodekey"));
}

TEST_F(KeygenCli, BackupThenRestoreGivesAnIdenticalNodekey) {
  auto key_path = keygen("keys");
  auto address = crypto::to_checksum_hex(crypto::load_nodekey_file(key_path)->address);
  // Default cost (moderate), as an operator would run it.
  auto b = corecell({"key", "backup", "--nodekey", key_path.string(), "--passphrase-file",
                     pass_.string(), "--out", (dir_ / "b.json").string()});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(*file_mode(dir_ / "b.json"), 0600u);
  EXPECT_EQ(read_file(dir_ / "b.json")->find(*read_file(key_path)), std::string::npos);

  auto inspect = corecell({"key", "inspect", "--in", (dir_ / "b.json").string()});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_NE(inspect.out.find(address), std::string::npos);
  EXPECT_NE(inspect.out.find("version: 1"), std::string::npos);
  EXPECT_NE(inspect.out.find("memlimit=268435456"), std::string::npos);

  fs::path restored = dir_ / "data" / "klay" / "nodekey";
  auto r = restore(dir_ / "b.json", restored, {"--expect-address", address});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(*read_file(restored), *read_file(key_path));
  EXPECT_EQ(*file_mode(restored), 0600u);
  auto shown = corecell({"key", "show", "--datadir", (dir_ / "data").string()});
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find(address), std::string::npos);
}

TEST_F(KeygenCli, WrongPassphraseWritesNothing) {
  auto b = backup(keygen("keys"));
  ASSERT_TRUE(atomic_write_file(pass_, std::string("wrong horse\n"), 0600).ok());
  auto r = restore(b, dir_ / "out" / "nodekey");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("passphrase is wrong"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "out" / "nodekey"));
}

TEST_F(KeygenCli, TamperedBackupIsRejectedAndWritesNothing) {
  auto b = backup(keygen("keys"));
  auto j = nlohmann::json::parse(*read_file(b));
  std::string ct = j["cipher"]["ciphertext"];
  ct[10] = ct[10] == '0' ? '1' : '0';
  j["cipher"]["ciphertext"] = ct;
  ASSERT_TRUE(atomic_write_file(b, j.dump(2), 0600).ok());
  auto r = restore(b, dir_ / "out");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("modified"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

TEST_F(KeygenCli, ExpectAddressMismatchWritesNothing) {
  auto b = backup(keygen("keys"));
  auto other = crypto::to_checksum_hex(crypto::address_of(crypto::PrivateKey::generate()));
  auto r = restore(b, dir_ / "out", {"--expect-address", other});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(other), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing was written"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

TEST_F(KeygenCli, RestoreRefusesAnExistingNodekeyWithoutForce) {
  auto b = backup(keygen("keys"));
  auto current = keygen("current");
  auto before = *read_file(current);
  auto r = restore(b, current);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--force"), std::string::npos);
  EXPECT_EQ(*read_file(current), before);
  auto forced = restore(b, current, {"--force"});
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_EQ(*read_file(current), *read_file(dir_ / "keys" / "nodekey"));
}

TEST_F(KeygenCli, PassphraseFileReadableByOthersIsRefused) {
  auto key_path = keygen("keys");
  ASSERT_TRUE(atomic_write_file(pass_, std::string("pw\n"), 0644).ok());
  auto r = corecell({"key", "backup", "--nodekey", key_path.string(), "--passphrase-file",
                     pass_.string(), "--out", (dir_ / "b.json").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("chmod 600"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "b.json"));
}

TEST_F(KeygenCli, ShowPrintsIdentityButNeverTheSecret) {
  auto key_path = keygen("keys");
  auto id = *crypto::load_nodekey_file(key_path);
  auto r = corecell({"key", "show", "--nodekey", key_path.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(to_hex(id.node_id)), std::string::npos);
  EXPECT_NE(r.out.find(crypto::to_checksum_hex(id.address)), std::string::npos);
  EXPECT_EQ(r.out.find(*read_file(key_path)), std::string::npos);
  EXPECT_EQ(r.err.find(*read_file(key_path)), std::string::npos);
}

TEST_F(KeygenCli, ShowOfAGroupReadableNodekeyFailsWithTheFix) {
  auto key_path = keygen("keys");
  fs::permissions(key_path, fs::perms::group_read, fs::perm_options::add);
  auto r = corecell({"key", "show", "--nodekey", key_path.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("chmod 600 " + key_path.string()), std::string::npos) << r.err;
}

TEST_F(KeygenCli, EveryHelpSaysWhatTheCommandDoes) {
  for (std::vector<std::string> cmd : {std::vector<std::string>{"keygen"},
                                       {"key"},
                                       {"key", "backup"},
                                       {"key", "restore"},
                                       {"key", "inspect"},
                                       {"key", "show"}}) {
    cmd.push_back("--help");
    auto r = corecell(cmd);
    EXPECT_EQ(r.exit_code, 0) << cmd[0];
    // The first line is the description (CLI11 prints it before Usage:).
    EXPECT_GT(r.out.find("Usage:"), 20u) << r.out;
  }
}

}  // namespace
}  // namespace cc
