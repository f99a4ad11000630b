// The snapshot archive against real files: a round trip through libarchive + zstd, and every
// damaged or foreign archive refused with nothing left behind.
#include "snapshot/archive.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>

#include "support/temp_dir.h"
#include "util/files.h"

namespace cc::snapshot {
namespace {
namespace fs = std::filesystem;
using cc::testing::TempDir;

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(gen() & 0xff);
  return s;
}

void put(const fs::path& p, const std::string& data) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << data;
}

std::string slurp(const fs::path& p) {
  auto r = read_file(p, std::size_t{1} << 30);
  return r.ok() ? *r : std::string("<unreadable>");
}

Manifest header() {
  Manifest m;
  m.chain_id = 1001;
  m.genesis_hash = "0x" + std::string(64, 'a');
  m.head_number = 4242;
  m.head_hash = "0x" + std::string(64, 'b');
  m.created = "2026-11-26T16:00:00.000Z";
  m.source_node = "pn-1-1";
  m.mode = "offline";
  return m;
}

class SnapshotArchive : public ::testing::Test {
 protected:
  SnapshotArchive() {
    src_ = dir_.path() / "chaindata";
    put(src_ / "000012.sst", random_bytes(3 << 20, 1));  // spans several 1 MiB chunks
    put(src_ / "CURRENT", "MANIFEST-000010\n");
    put(src_ / "MANIFEST-000010", random_bytes(4096, 2));
    put(src_ / "sub" / "nested.log", random_bytes(70000, 3));
    put(src_ / "empty", "");
    archive_ = dir_.path() / "snap.tar.zst";
  }

  Manifest make() {
    auto m = write_archive(src_, archive_, header());
    EXPECT_TRUE(m.ok()) << m.error().message;
    return m.ok() ? *m : Manifest{};
  }

  // A copy of the archive with `edit` applied to its bytes.
  fs::path damaged(const std::function<void(std::string&)>& edit) {
    std::string bytes = slurp(archive_);
    edit(bytes);
    const fs::path p = dir_.path() / "damaged.tar.zst";
    fs::remove(p);
    put(p, bytes);
    return p;
  }

  // Restoring `archive` fails with one of `codes` and leaves neither DEST nor DEST.partial.
  void expect_restore_refused(const fs::path& archive, const std::set<std::string>& codes) {
    const fs::path dest = dir_.path() / "restored";
    auto r = restore_archive(archive, dest);
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(codes.contains(r.error().code)) << r.error().code << ": " << r.error().message;
    EXPECT_NE(r.error().message.find(archive.string()), std::string::npos) << r.error().message;
    EXPECT_FALSE(fs::exists(dest));
    EXPECT_FALSE(fs::exists(dest.string() + ".partial"));
  }

  TempDir dir_;
  fs::path src_;
  fs::path archive_;
};

TEST_F(SnapshotArchive, RoundTripRestoresEveryFileAndTheManifest) {
  const Manifest written = make();
  ASSERT_EQ(written.files.size(), 5u);
  EXPECT_EQ(written.files[0].path, "000012.sst");  // sorted, '/'-separated
  EXPECT_EQ(written.files[4].path, "sub/nested.log");
  for (const auto& f : written.files) EXPECT_EQ(f.sha256.size(), 64u) << f.path;
  EXPECT_FALSE(fs::exists(archive_.string() + ".partial"));

  auto quick = read_archive(archive_, /*verify=*/false);
  ASSERT_TRUE(quick.ok()) << quick.error().message;
  EXPECT_EQ(quick->chain_id, 1001u);
  EXPECT_EQ(quick->head_number, 4242u);
  EXPECT_EQ(quick->source_node, "pn-1-1");
  EXPECT_EQ(quick->total_bytes(), written.total_bytes());
  EXPECT_TRUE(quick->files[0].sha256.empty());  // the checksums come last

  auto verified = read_archive(archive_, /*verify=*/true);
  ASSERT_TRUE(verified.ok()) << verified.error().message;
  EXPECT_EQ(verified->files, written.files);

  std::uint64_t last_done = 0;
  const fs::path dest = dir_.path() / "restored";
  auto restored = restore_archive(archive_, dest, [&](std::uint64_t done, std::uint64_t total) {
    EXPECT_GE(done, last_done);
    EXPECT_LE(done, total);
    last_done = done;
  });
  ASSERT_TRUE(restored.ok()) << restored.error().message;
  EXPECT_EQ(last_done, written.total_bytes());
  for (const auto& f : written.files) {
    EXPECT_EQ(slurp(dest / f.path), slurp(src_ / f.path)) << f.path;
  }
  EXPECT_FALSE(fs::exists(dest.string() + ".partial"));
}

TEST_F(SnapshotArchive, TruncatedArchiveIsRefusedAndNothingIsWritten) {
  make();
  for (double keep : {0.1, 0.5, 0.98}) {
    const fs::path cut = damaged([&](std::string& b) {
      b.resize(static_cast<std::size_t>(static_cast<double>(b.size()) * keep));
    });
    expect_restore_refused(cut, {"snapshot.truncated", "snapshot.corrupt"});
    auto v = read_archive(cut, /*verify=*/true);
    EXPECT_FALSE(v.ok()) << "kept " << keep;
  }
}

TEST_F(SnapshotArchive, FlippedByteIsRefusedAndNothingIsWritten) {
  make();
  const fs::path bad = damaged([](std::string& b) { b[b.size() / 2] ^= 0x5a; });
  expect_restore_refused(bad, {"snapshot.corrupt", "snapshot.truncated"});
}

TEST_F(SnapshotArchive, ANewerFormatVersionIsRefusedNamingTheVersion) {
  Manifest h = header();
  h.format_version = kFormatVersion + 1;
  ASSERT_TRUE(write_archive(src_, archive_, h).ok());
  auto r = read_archive(archive_, /*verify=*/false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "snapshot.version");
  EXPECT_NE(r.error().message.find(std::to_string(kFormatVersion + 1)), std::string::npos);
  expect_restore_refused(archive_, {"snapshot.version"});
}

TEST_F(SnapshotArchive, AnotherFileIsNotASnapshot) {
  const fs::path text = dir_.path() / "notes.txt";
  put(text, "just some text\n");
  auto r = read_archive(text, /*verify=*/false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "snapshot.not_a_snapshot");
  expect_restore_refused(text, {"snapshot.not_a_snapshot"});
  auto missing = read_archive(dir_.path() / "nope.tar.zst", false);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "snapshot.open");
}

TEST_F(SnapshotArchive, ExistingOutputOrDestinationIsNeverOverwritten) {
  make();
  const std::string before = slurp(archive_);
  auto again = write_archive(src_, archive_, header());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "snapshot.exists");
  EXPECT_EQ(slurp(archive_), before);
  const fs::path dest = dir_.path() / "taken";
  put(dest / "keep.me", "x");
  auto r = restore_archive(archive_, dest);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "snapshot.exists");
  EXPECT_EQ(slurp(dest / "keep.me"), "x");
}

TEST_F(SnapshotArchive, SourceWithASymlinkIsRefused) {
  fs::create_symlink("/etc/hostname", src_ / "link");
  auto r = write_archive(src_, archive_, header());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "snapshot.source");
  EXPECT_NE(r.error().message.find("link"), std::string::npos);
  EXPECT_FALSE(fs::exists(archive_));
  EXPECT_FALSE(fs::exists(archive_.string() + ".partial"));
}

TEST(SnapshotManifest, PathsThatCouldEscapeTheDataDirectoryAreRefused) {
  for (const char* bad : {"../x", "/etc/passwd", "a/../../b", "a//b", "./a", ""}) {
    nlohmann::json j = header().to_json();
    j["files"] = nlohmann::json::array({{{"path", bad}, {"size", 1}}});
    auto m = Manifest::from_json(j);
    ASSERT_FALSE(m.ok()) << bad;
    EXPECT_EQ(m.error().code, "snapshot.manifest") << bad;
  }
}

TEST(SnapshotManifest, MissingOrMistypedFieldsAreNamed) {
  for (const char* field : {"chainId", "genesisHash", "headNumber", "headHash", "created"}) {
    nlohmann::json j = header().to_json();
    j.erase(field);
    auto m = Manifest::from_json(j);
    ASSERT_FALSE(m.ok()) << field;
    EXPECT_EQ(m.error().code, "snapshot.manifest");
    EXPECT_NE(m.error().message.find(field), std::string::npos) << m.error().message;
  }
  nlohmann::json j = header().to_json();
  j["chainId"] = "1001";
  EXPECT_FALSE(Manifest::from_json(j).ok());
  EXPECT_TRUE(Manifest::from_json(header().to_json()).ok());
}

}  // namespace
}  // namespace cc::snapshot
