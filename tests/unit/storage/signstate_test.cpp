// The sign-state file: what a restarted SignGuard trusts to refuse a second, different vote.
// Everything but a missing file must either decode exactly or be refused with the file's name
// and the operator's fix — never read as "nothing signed yet".
#include "storage/signstate.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "crypto/keccak.h"
#include "storage_test_util.h"
#include "util/files.h"

namespace cc::storage {
namespace {
namespace fs = std::filesystem;
using testing::TempDir;

Hash32 digest_of(std::uint8_t seed) {
  Hash32 h{};
  for (std::size_t i = 0; i < h.size(); ++i) h[i] = static_cast<std::uint8_t>(seed + i);
  return h;
}

SignState sample_state() {
  SignState st;
  for (std::size_t i = 0; i < st.address.size(); ++i) st.address[i] = static_cast<std::uint8_t>(i);
  st.max_height = 0x0102030405060708ULL;
  st.floor = 77;
  st.max_epoch = 9;
  st.records = {
      {100, 0, 1, 9, digest_of(1)},
      {100, 0, 2, 9, digest_of(2)},
      {100, 3, 0, 9, digest_of(3)},
      {0x0102030405060708ULL, 0xfffffffe, 4, 8, digest_of(4)},
  };
  return st;
}

// Recomputes the trailing keccak so a test reaches the check after the checksum.
Bytes with_fixed_checksum(Bytes b) {
  Hash32 sum = crypto::keccak256(ByteView(b.data(), b.size() - 32));
  std::copy(sum.begin(), sum.end(), b.end() - 32);
  return b;
}

TEST(SignStateCodec, RoundTripsEveryField) {
  const SignState st = sample_state();
  auto decoded = decode_sign_state(encode_sign_state(st));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(*decoded, st);
}

TEST(SignStateCodec, LayoutIsTheDocumentedBigEndianOne) {
  SignState st = sample_state();
  const Bytes b = encode_sign_state(st);
  ASSERT_EQ(b.size(), 16u + 48u + 53u * 4u + 32u);
  EXPECT_EQ(std::string(b.begin(), b.begin() + 8), "CCSIGNST");
  EXPECT_EQ(Bytes(b.begin() + 8, b.begin() + 12), (Bytes{0, 0, 0, 1}));  // version 1
  // body length 48 + 4 * 53 = 260
  EXPECT_EQ(Bytes(b.begin() + 12, b.begin() + 16), (Bytes{0, 0, 1, 4}));
  EXPECT_EQ(b[16], 0);  // address starts
  EXPECT_EQ(b[35], 19);
  EXPECT_EQ(Bytes(b.begin() + 36, b.begin() + 44), (Bytes{1, 2, 3, 4, 5, 6, 7, 8}));  // max_height
  EXPECT_EQ(Bytes(b.begin() + 60, b.begin() + 64), (Bytes{0, 0, 0, 4}));              // count
  // first record: height 100, round 0, kind 1, epoch 9
  EXPECT_EQ(Bytes(b.begin() + 64, b.begin() + 72), (Bytes{0, 0, 0, 0, 0, 0, 0, 100}));
  EXPECT_EQ(b[76], 1);
}

TEST(SignStateCodec, EmptyStateRoundTrips) {
  SignState st;
  auto decoded = decode_sign_state(encode_sign_state(st));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(*decoded, st);
}

TEST(SignStateCodec, RefusesEveryTruncation) {
  const Bytes b = encode_sign_state(sample_state());
  for (std::size_t n = 0; n < b.size(); ++n) {
    auto r = decode_sign_state(ByteView(b.data(), n));
    EXPECT_FALSE(r.ok()) << "prefix of " << n << " bytes decoded";
  }
}

TEST(SignStateCodec, RefusesAnySingleFlippedBit) {
  const Bytes b = encode_sign_state(sample_state());
  for (std::size_t i = 0; i < b.size(); ++i) {
    Bytes bad = b;
    bad[i] ^= 0x01;
    EXPECT_FALSE(decode_sign_state(bad).ok()) << "flip at byte " << i << " decoded";
  }
}

TEST(SignStateCodec, RefusesBadMagicUnknownVersionAndTrailingBytes) {
  Bytes b = encode_sign_state(sample_state());
  Bytes magic = b;
  magic[0] = 'X';
  auto r1 = decode_sign_state(with_fixed_checksum(magic));
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.error().code, "signstate.magic");

  Bytes version = b;
  version[11] = 2;
  auto r2 = decode_sign_state(with_fixed_checksum(version));
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().code, "signstate.version");
  EXPECT_NE(r2.error().message.find("version 2"), std::string::npos);

  Bytes trailing = b;
  trailing.push_back(0);
  auto r3 = decode_sign_state(trailing);
  ASSERT_FALSE(r3.ok());
  EXPECT_EQ(r3.error().code, "signstate.trailing");
}

TEST(SignStateCodec, RefusesACountThatDisagreesWithTheLength) {
  Bytes b = encode_sign_state(sample_state());
  b[63] = 3;  // count 4 -> 3, length field unchanged
  auto r = decode_sign_state(with_fixed_checksum(b));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "signstate.length");
}

TEST(SignStateCodec, RefusesUnsortedDuplicateAndTooHighRecords) {
  SignState unsorted = sample_state();
  std::swap(unsorted.records[0], unsorted.records[1]);
  auto r1 = decode_sign_state(encode_sign_state(unsorted));
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.error().code, "signstate.order");

  SignState dup = sample_state();
  dup.records[1] = dup.records[0];
  dup.records[1].digest = digest_of(50);  // same (height, round, kind), other digest
  auto r2 = decode_sign_state(encode_sign_state(dup));
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().code, "signstate.order");

  SignState high = sample_state();
  high.max_height = 99;
  auto r3 = decode_sign_state(encode_sign_state(high));
  ASSERT_FALSE(r3.ok());
  EXPECT_EQ(r3.error().code, "signstate.record_height");
}

TEST(SignStateFile, MissingFileIsAFreshValidator) {
  TempDir dir;
  auto r = load_sign_state(dir.path() / "signstate");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->has_value());
}

TEST(SignStateFile, SavedStateLoadsBackFromAPrivateFile) {
  TempDir dir;
  const fs::path p = dir.path() / "signstate";
  ASSERT_TRUE(save_sign_state(p, sample_state()).ok());
  auto r = load_sign_state(p);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ(**r, sample_state());
  EXPECT_EQ(*file_mode(p), 0600u);
}

TEST(SignStateFile, SaveReplacesTheWholeFileAndLeavesNoTempFiles) {
  TempDir dir;
  const fs::path p = dir.path() / "signstate";
  ASSERT_TRUE(save_sign_state(p, sample_state()).ok());
  SignState smaller;
  smaller.floor = 5;
  ASSERT_TRUE(save_sign_state(p, smaller).ok());
  auto r = load_sign_state(p);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ(**r, smaller);
  int files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1);
}

TEST(SignStateFile, SaveFailureIsReportedWithThePath) {
  TempDir dir;
  const fs::path p = dir.path() / "no-such-dir" / "signstate";
  auto st = save_sign_state(p, sample_state());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "signstate.write");
  EXPECT_NE(st.error().message.find(p.string()), std::string::npos);
}

// The dangerous case: a file that exists but is damaged must stop the node, with the fix.
TEST(SignStateFile, CorruptFileIsRefusedNamingTheFileAndTheFix) {
  TempDir dir;
  const fs::path p = dir.path() / "signstate";
  Bytes b = encode_sign_state(sample_state());
  b[70] ^= 0xff;
  ASSERT_TRUE(atomic_write_file(p, b, 0600).ok());
  auto r = load_sign_state(p);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "signstate.checksum");
  EXPECT_NE(r.error().message.find(p.string()), std::string::npos);
  EXPECT_NE(r.error().message.find("Restore"), std::string::npos);
  EXPECT_NE(r.error().message.find("remove it"), std::string::npos);
}

TEST(SignStateFile, EmptyOrPartlyWrittenFileIsRefusedNotFresh) {
  TempDir dir;
  const fs::path p = dir.path() / "signstate";
  ASSERT_TRUE(atomic_write_file(p, std::string(), 0600).ok());
  auto empty = load_sign_state(p);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, "signstate.truncated");
  EXPECT_NE(empty.error().message.find(p.string()), std::string::npos);

  const Bytes b = encode_sign_state(sample_state());
  ASSERT_TRUE(atomic_write_file(p, ByteView(b.data(), b.size() / 2), 0600).ok());
  auto half = load_sign_state(p);
  ASSERT_FALSE(half.ok());
  EXPECT_EQ(half.error().code, "signstate.truncated");
}

TEST(SignStateFile, UnreadablePathIsRefusedNotFresh) {
  TempDir dir;
  const fs::path p = dir.path() / "signstate";
  fs::create_directories(p);  // a directory where the file should be
  auto r = load_sign_state(p);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "signstate.unreadable");
  EXPECT_NE(r.error().message.find(p.string()), std::string::npos);
}

// Keeps the fuzz seeds (tests/fuzz/corpus/signstate) decodable, so the fuzzer starts from
// inputs that reach past the checksum.
TEST(SignStateFile, FuzzSeedsDecode) {
  const fs::path corpus = fs::path(CC_SOURCE_DIR) / "tests/fuzz/corpus/signstate";
  ASSERT_TRUE(fs::is_directory(corpus));
  int decoded = 0;
  for (const auto& e : fs::directory_iterator(corpus)) {
    auto text = read_file(e.path());
    ASSERT_TRUE(text.ok());
    auto st = decode_sign_state(view(*text));
    EXPECT_TRUE(st.ok()) << e.path() << ": " << (st.ok() ? "" : st.error().message);
    if (st.ok()) ++decoded;
  }
  EXPECT_GE(decoded, 2);
}

}  // namespace
}  // namespace cc::storage
