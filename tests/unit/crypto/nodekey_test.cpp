#include "crypto/nodekey.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "crypto/address.h"
#include "util/files.h"

namespace cc::crypto {
namespace {
namespace fs = std::filesystem;

const std::string kKey46Hex("4646464646464646464646464646464646464646464646464646464646464646");

class NodekeyFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cc-nodekey-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes raw content with an explicit mode (as an operator's editor or cp might).
  fs::path write(const std::string& name, const std::string& content, mode_t mode = 0600) {
    fs::path p = dir_ / name;
    fs::create_directories(p.parent_path());
    EXPECT_TRUE(atomic_write_file(p, content, mode).ok());
    return p;
  }

  static bool mentions(const Error& e, const std::string& what) {
    return e.message.find(what) != std::string::npos;
  }

  fs::path dir_;
};

TEST_F(NodekeyFile, SaveWritesSixtyFourHexWithoutNewlineMode0600) {
  auto key = *PrivateKey::from_bytes(Bytes(32, 0x46));
  fs::path p = dir_ / "nodekey";
  ASSERT_TRUE(save_nodekey_file(p, key).ok());
  EXPECT_EQ(*read_file(p), kKey46Hex);
  EXPECT_EQ(*file_mode(p), 0600u);
  auto id = load_nodekey_file(p);
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(id->key.bytes(), key.bytes());
  EXPECT_EQ(to_checksum_hex(id->address), "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F");
  EXPECT_EQ(id->node_id, public_key_of(key));
}

TEST_F(NodekeyFile, ToleratesOneTrailingNewline) {
  EXPECT_TRUE(load_nodekey_file(write("lf", kKey46Hex + "\n")).ok());
  EXPECT_TRUE(load_nodekey_file(write("crlf", kKey46Hex + "\r\n")).ok());
  auto two = load_nodekey_file(write("two", kKey46Hex + "\n\n"));
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(two.error().code, "nodekey.length");
  EXPECT_FALSE(load_nodekey_file(write("space", kKey46Hex + " ")).ok());
  EXPECT_FALSE(load_nodekey_file(write("lead", " " + kKey46Hex)).ok());
}

TEST_F(NodekeyFile, RejectsHexPrefixNamingPathAndFix) {
  auto p = write("nodekey", "0x" + kKey46Hex);
  auto r = load_nodekey_file(p);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "nodekey.prefix");
  EXPECT_TRUE(mentions(r.error(), p.string()));
  EXPECT_TRUE(mentions(r.error(), "remove the 0x prefix"));
}

TEST_F(NodekeyFile, RejectsWrongLengthNonHexAndInvalidSecret) {
  auto short_key = load_nodekey_file(write("short", kKey46Hex.substr(1)));
  ASSERT_FALSE(short_key.ok());
  EXPECT_EQ(short_key.error().code, "nodekey.length");
  EXPECT_TRUE(mentions(short_key.error(), "corecell key restore"));

  std::string bad_char = kKey46Hex;
  bad_char[10] = 'g';
  auto non_hex = load_nodekey_file(write("nonhex", bad_char));
  ASSERT_FALSE(non_hex.ok());
  EXPECT_EQ(non_hex.error().code, "nodekey.not_hex");

  auto zero = load_nodekey_file(write("zero", std::string(64, '0')));
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().code, "nodekey.invalid");
  auto order = load_nodekey_file(
      write("order", "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"));
  ASSERT_FALSE(order.ok());
  EXPECT_EQ(order.error().code, "nodekey.invalid");
  EXPECT_TRUE(mentions(order.error(), (dir_ / "order").string()));
}

TEST_F(NodekeyFile, RejectsGroupOrWorldAccessibleFileWithChmodFix) {
  for (mode_t mode : {0644, 0640, 0604, 0620}) {
    auto p = write("nodekey", kKey46Hex, mode);
    auto r = load_nodekey_file(p);
    ASSERT_FALSE(r.ok()) << std::oct << mode;
    EXPECT_EQ(r.error().code, "nodekey.mode");
    EXPECT_TRUE(mentions(r.error(), "chmod 600 " + p.string()));
  }
  EXPECT_TRUE(load_nodekey_file(write("nodekey", kKey46Hex, 0400)).ok());
}

TEST_F(NodekeyFile, MissingFileNamesPathAndHowToCreateOne) {
  auto r = load_nodekey_file(dir_ / "nope");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "nodekey.missing");
  EXPECT_TRUE(mentions(r.error(), (dir_ / "nope").string()));
  EXPECT_TRUE(mentions(r.error(), "corecell keygen"));
  EXPECT_FALSE(fs::exists(dir_ / "nope"));
}

TEST_F(NodekeyFile, LegacyDataDirNodekeyWinsOverKlayNodekey) {
  auto other = PrivateKey::generate();
  fs::create_directories(dir_ / "klay");
  ASSERT_TRUE(save_nodekey_file(dir_ / "klay" / "nodekey", other).ok());
  EXPECT_EQ(nodekey_path_in(dir_), dir_ / "klay" / "nodekey");
  auto from_klay = load_datadir_nodekey(dir_);
  ASSERT_TRUE(from_klay.ok());
  EXPECT_EQ(from_klay->key.bytes(), other.bytes());

  write("nodekey", kKey46Hex);
  EXPECT_EQ(nodekey_path_in(dir_), dir_ / "nodekey");
  auto from_legacy = load_datadir_nodekey(dir_);
  ASSERT_TRUE(from_legacy.ok());
  EXPECT_EQ(to_hex(from_legacy->key.bytes()), kKey46Hex);
}

TEST_F(NodekeyFile, BrokenLegacyNodekeyIsAnErrorNotAFallback) {
  fs::create_directories(dir_ / "klay");
  ASSERT_TRUE(save_nodekey_file(dir_ / "klay" / "nodekey", PrivateKey::generate()).ok());
  write("nodekey", "garbage");
  auto r = load_datadir_nodekey(dir_);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(mentions(r.error(), (dir_ / "nodekey").string()));
}

TEST_F(NodekeyFile, EmptyDataDirIsAnErrorAndNoKeyIsGenerated) {
  auto r = load_datadir_nodekey(dir_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "nodekey.missing");
  EXPECT_TRUE(mentions(r.error(), (dir_ / "klay" / "nodekey").string()));
  EXPECT_TRUE(mentions(r.error(), (dir_ / "nodekey").string()));
  EXPECT_TRUE(mentions(r.error(), "corecell key restore"));
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST(ParseNodekey, NamesTheSourceInErrors) {
  auto r = parse_nodekey("xyz", "/etc/somewhere/nodekey");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("/etc/somewhere/nodekey"), std::string::npos);
}

}  // namespace
}  // namespace cc::crypto
