// static-nodes.json: both Kaia locations, precedence, skipped entries with warnings, and errors
// that name the file and the fix. Real files in a temporary DATA_DIR.
#include "p2p/static_nodes.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "crypto/secp256k1.h"
#include "util/files.h"

namespace cc::p2p {
namespace {

namespace fs = std::filesystem;

std::string id_hex(std::uint8_t seed) {
  return to_hex(crypto::public_key_of(*crypto::PrivateKey::from_bytes(Bytes(32, seed))));
}
std::string url(std::uint8_t seed, const std::string& host = "10.0.0.1", int port = 32323) {
  return "kni://" + id_hex(seed) + "@" + host + ":" + std::to_string(port);
}
bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

class StaticNodesFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cc-static-nodes-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path write(const std::string& rel, const std::string& content) {
    fs::path p = dir_ / rel;
    fs::create_directories(p.parent_path());
    EXPECT_TRUE(atomic_write_file(p, content).ok());
    return p;
  }
  fs::path dir_;
};

TEST_F(StaticNodesFile, NoFileMeansNoStaticNodesAndNoError) {
  auto r = load_static_nodes(dir_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->nodes.empty());
  EXPECT_TRUE(r->warnings.empty());
  EXPECT_FALSE(r->path.has_value());
}

TEST_F(StaticNodesFile, ReadsDataDirStaticNodesJson) {
  auto p = write("static-nodes.json", "[\"" + url(1) + "\", \"" + url(2, "10.0.0.2") + "\"]");
  auto r = load_static_nodes(dir_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->nodes.size(), 2u);
  EXPECT_EQ(r->nodes[0].to_string(), url(1));
  EXPECT_EQ(r->nodes[1].host, "10.0.0.2");
  EXPECT_EQ(r->path, p);
  EXPECT_TRUE(r->warnings.empty());
}

TEST_F(StaticNodesFile, FallsBackToKlayStaticNodesJson) {
  auto p = write("klay/static-nodes.json", "[\"" + url(3) + "\"]");
  auto r = load_static_nodes(dir_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->nodes.size(), 1u);
  EXPECT_EQ(r->nodes[0].to_string(), url(3));
  EXPECT_EQ(r->path, p);
}

TEST_F(StaticNodesFile, DataDirFileWinsOverKlayFileAndTheLoserIsNamed) {
  auto top = write("static-nodes.json", "[\"" + url(1) + "\"]");
  auto klay = write("klay/static-nodes.json", "[\"" + url(2) + "\", \"" + url(3) + "\"]");
  auto r = load_static_nodes(dir_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->nodes.size(), 1u);
  EXPECT_EQ(r->nodes[0].to_string(), url(1));
  EXPECT_EQ(r->path, top);
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_TRUE(contains(r->warnings[0], klay.string())) << r->warnings[0];
  EXPECT_TRUE(contains(r->warnings[0], "ignored")) << r->warnings[0];
}

TEST_F(StaticNodesFile, InvalidEntriesAreSkippedWithWarningsNamingFileIndexAndReason) {
  auto p = write("static-nodes.json", "[\"" + url(1) + "\", 42, \"kni://nothex@1.2.3.4:1\", \"" +
                                          url(2) + "\", {\"a\": 1}, \"enode://" + id_hex(4) +
                                          "@10.0.0.4:30303\"]");
  auto r = load_static_nodes(dir_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->nodes.size(), 3u);  // entries 0, 3 and 5
  EXPECT_EQ(r->nodes[0].to_string(), url(1));
  EXPECT_EQ(r->nodes[1].to_string(), url(2));
  EXPECT_EQ(r->nodes[2].port, 30303);
  ASSERT_EQ(r->warnings.size(), 3u);
  EXPECT_TRUE(contains(r->warnings[0], p.string() + " entry 1")) << r->warnings[0];
  EXPECT_TRUE(contains(r->warnings[0], "number")) << r->warnings[0];
  EXPECT_TRUE(contains(r->warnings[1], "entry 2")) << r->warnings[1];
  EXPECT_TRUE(contains(r->warnings[1], "128 hex")) << r->warnings[1];
  EXPECT_TRUE(contains(r->warnings[2], "entry 4")) << r->warnings[2];
  EXPECT_TRUE(contains(r->warnings[2], "object")) << r->warnings[2];
}

TEST_F(StaticNodesFile, DuplicateNodeIdsCollapseToTheFirstEntryWithAWarning) {
  write("static-nodes.json",
        "[\"" + url(1, "10.0.0.1") + "\", \"" + url(2) + "\", \"" + url(1, "10.0.0.9") + "\"]");
  auto r = load_static_nodes(dir_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->nodes.size(), 2u);
  EXPECT_EQ(r->nodes[0].host, "10.0.0.1");
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_TRUE(contains(r->warnings[0], "entry 2")) << r->warnings[0];
  EXPECT_TRUE(contains(r->warnings[0], "entry 0")) << r->warnings[0];
}

TEST_F(StaticNodesFile, MalformedJsonIsAnErrorNamingTheFileAndTheExpectedForm) {
  auto p = write("static-nodes.json", "[\"" + url(1) + "\",");
  auto r = load_static_nodes(dir_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "static_nodes.malformed");
  EXPECT_TRUE(contains(r.error().message, p.string())) << r.error().message;
  EXPECT_TRUE(contains(r.error().message, "JSON array of kni URL strings")) << r.error().message;
}

TEST_F(StaticNodesFile, MalformedDataDirFileIsAnErrorEvenWhenTheKlayFileIsFine) {
  write("static-nodes.json", "not json");
  write("klay/static-nodes.json", "[\"" + url(1) + "\"]");
  auto r = load_static_nodes(dir_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "static_nodes.malformed");
}

TEST_F(StaticNodesFile, AnObjectInsteadOfAnArrayIsAnError) {
  auto p = write("klay/static-nodes.json", "{\"nodes\": [\"" + url(1) + "\"]}");
  auto r = load_static_nodes(dir_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "static_nodes.not_array");
  EXPECT_TRUE(contains(r.error().message, p.string())) << r.error().message;
  EXPECT_TRUE(contains(r.error().message, "object")) << r.error().message;
}

TEST_F(StaticNodesFile, EmptyFileIsMalformedNotSilentlyEmpty) {
  write("static-nodes.json", "");
  auto r = load_static_nodes(dir_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "static_nodes.malformed");
}

TEST_F(StaticNodesFile, ADirectoryInPlaceOfTheFileIsAReadError) {
  fs::create_directories(dir_ / "static-nodes.json");
  auto r = load_static_nodes(dir_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "static_nodes.read");
  EXPECT_TRUE(contains(r.error().message, "static-nodes.json")) << r.error().message;
}

TEST(StaticNodesText, EmptyArrayIsValid) {
  auto r = parse_static_nodes("  [ ]\n", "test.json");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->nodes.empty());
  EXPECT_TRUE(r->warnings.empty());
}

TEST(StaticNodesText, WarningQuotesAreBoundedAndPrintable) {
  std::string long_bad = "kni://" + std::string(300, 'z') + "\\u0001";
  auto r = parse_static_nodes("[\"" + long_bad + "\"]", "test.json");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_LT(r->warnings[0].size(), 400u);
  for (char c : r->warnings[0]) EXPECT_GE(static_cast<unsigned char>(c), 0x20);
}

}  // namespace
}  // namespace cc::p2p
