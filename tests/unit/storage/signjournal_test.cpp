// The signature journal: the stable one-JSON-object-per-line format test oracles merge across
// processes to check SIGN-1 (DESIGN.md, "Files that tools and tests read").
#include "storage/signjournal.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "storage_test_util.h"
#include "util/files.h"

namespace cc::storage {
namespace {
namespace fs = std::filesystem;
using testing::TempDir;

JournalEntry sample_entry(std::uint64_t height = 1234, std::string type = "commit") {
  JournalEntry e;
  for (std::size_t i = 0; i < e.address.size(); ++i)
    e.address[i] = static_cast<std::uint8_t>(0xa0 + i);
  e.height = height;
  e.round = 2;
  e.type = std::move(type);
  for (std::size_t i = 0; i < e.digest.size(); ++i) e.digest[i] = static_cast<std::uint8_t>(i);
  e.epoch = 7;
  e.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1714566896789));
  e.pid = 4242;
  return e;
}

std::vector<std::string> lines_of(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(SignJournalFormat, LineIsExactlyTheDocumentedFormat) {
  EXPECT_EQ(format_journal_line(sample_entry()),
            "{\"address\":\"0xa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3\",\"height\":1234,"
            "\"round\":2,\"type\":\"commit\",\"digest\":"
            "\"0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\","
            "\"epoch\":7,\"time\":\"2024-05-01T12:34:56.789Z\",\"pid\":4242}");
}

TEST(SignJournalFormat, TimeIsUtcRfc3339WithMilliseconds) {
  using std::chrono::milliseconds;
  using tp = std::chrono::system_clock::time_point;
  EXPECT_EQ(format_rfc3339_ms(tp(milliseconds(0))), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339_ms(tp(milliseconds(951782400005))), "2000-02-29T00:00:00.005Z");
  EXPECT_EQ(format_rfc3339_ms(tp(milliseconds(-1))), "1969-12-31T23:59:59.999Z");
}

TEST(SignJournalFormat, ParseInvertsFormatForEveryType) {
  for (const char* type : {"preprepare", "prepare", "commit", "roundchange", "seal"}) {
    const JournalEntry e = sample_entry(99, type);
    auto parsed = parse_journal_line(format_journal_line(e) + "\n");
    ASSERT_TRUE(parsed.ok()) << type << ": " << parsed.error().message;
    EXPECT_EQ(*parsed, e);
  }
}

TEST(SignJournalFormat, ParseRefusesBrokenLines) {
  const std::string good = format_journal_line(sample_entry());
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  const std::vector<std::string> bad = {
      "",
      good.substr(0, good.size() / 2),  // torn append
      replaced("\"commit\"", "\"vote\""),
      replaced("\"height\":1234", "\"height\":-1"),
      replaced("\"height\":1234", "\"height\":1.5"),
      replaced("\"round\":2", "\"round\":4294967296"),
      replaced("\"0xa0a1", "\"a0a1"),
      replaced("\"0x0001", "\"0x01"),
      replaced("2024-05-01T12:34:56.789Z", "2024-05-01 12:34:56.789Z"),
      replaced("2024-05-01T12:34:56.789Z", "2024-05-01T12:34:56Z"),
      replaced(",\"pid\":4242", ""),
      "[1,2,3]",
  };
  for (const auto& line : bad) {
    auto r = parse_journal_line(line);
    EXPECT_FALSE(r.ok()) << "accepted: " << line;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, "signjournal.malformed");
    }
  }
}

TEST(SignJournalFormat, MakeEntryStampsThisProcessAndNow) {
  const auto before = std::chrono::system_clock::now() - std::chrono::milliseconds(1);
  const JournalEntry e =
      make_journal_entry(sample_entry().address, 5, 1, "prepare", sample_entry().digest, 3);
  const auto after = std::chrono::system_clock::now();
  EXPECT_EQ(e.pid, ::getpid());
  EXPECT_GE(e.time, before);
  EXPECT_LE(e.time, after);
  // kept to milliseconds, so the file round-trips exactly
  auto parsed = parse_journal_line(format_journal_line(e));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, e);
}

TEST(SignJournalFile, AppendedLinesAreJsonObjectsWithExactlyTheDocumentedFields) {
  TempDir dir;
  const fs::path p = dir.path() / "signjournal";
  auto journal = SignJournal::open(p);
  ASSERT_TRUE(journal.ok()) << journal.error().message;
  const std::vector<JournalEntry> written = {sample_entry(1, "preprepare"),
                                             sample_entry(1, "prepare"), sample_entry(2, "seal")};
  for (const auto& e : written) ASSERT_TRUE(journal->append(e).ok());

  const auto lines = lines_of(p);
  ASSERT_EQ(lines.size(), 3u);
  const std::set<std::string> fields = {"address", "height", "round", "type",
                                        "digest",  "epoch",  "time",  "pid"};
  for (const auto& line : lines) {
    auto j = nlohmann::json::parse(line);
    ASSERT_TRUE(j.is_object());
    std::set<std::string> keys;
    for (const auto& [k, v] : j.items()) keys.insert(k);
    EXPECT_EQ(keys, fields);
    EXPECT_TRUE(j["address"].is_string());
    EXPECT_TRUE(j["height"].is_number_unsigned());
    EXPECT_TRUE(j["round"].is_number_unsigned());
    EXPECT_TRUE(j["type"].is_string());
    EXPECT_TRUE(j["digest"].is_string());
    EXPECT_TRUE(j["epoch"].is_number_unsigned());
    EXPECT_TRUE(j["time"].is_string());
    EXPECT_TRUE(j["pid"].is_number_integer());
  }
  auto read = read_journal(p);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->entries, written);
  EXPECT_EQ(read->skipped_lines, 0u);
}

TEST(SignJournalFile, ReopeningAppendsAfterExistingLines) {
  TempDir dir;
  const fs::path p = dir.path() / "signjournal";
  {
    auto j = SignJournal::open(p);
    ASSERT_TRUE(j.ok());
    ASSERT_TRUE(j->append(sample_entry(1)).ok());
  }
  auto j = SignJournal::open(p);
  ASSERT_TRUE(j.ok());
  ASSERT_TRUE(j->append(sample_entry(2)).ok());
  auto read = read_journal(p);
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->entries.size(), 2u);
  EXPECT_EQ(read->entries[0].height, 1u);
  EXPECT_EQ(read->entries[1].height, 2u);
}

// A crash mid-append leaves a partial last line; the next append must not merge into it.
TEST(SignJournalFile, LineAfterATornAppendStartsOnItsOwnLine) {
  TempDir dir;
  const fs::path p = dir.path() / "signjournal";
  const std::string good = format_journal_line(sample_entry(1));
  {
    std::ofstream out(p);
    out << good << "\n" << good.substr(0, 40);  // torn second line, no newline
  }
  auto j = SignJournal::open(p);
  ASSERT_TRUE(j.ok());
  ASSERT_TRUE(j->append(sample_entry(3)).ok());
  auto read = read_journal(p);
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->entries.size(), 2u);
  EXPECT_EQ(read->entries[1].height, 3u);
  EXPECT_EQ(read->skipped_lines, 1u);
  EXPECT_EQ(lines_of(p).size(), 3u);
}

TEST(SignJournalFile, RefusesUnknownTypeWithoutWriting) {
  TempDir dir;
  const fs::path p = dir.path() / "signjournal";
  auto j = SignJournal::open(p);
  ASSERT_TRUE(j.ok());
  auto st = j->append(sample_entry(1, "vote"));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "signjournal.type");
  EXPECT_EQ(fs::file_size(p), 0u);
}

TEST(SignJournalFile, OpenFailureNamesThePath) {
  TempDir dir;
  const fs::path p = dir.path() / "missing-dir" / "signjournal";
  auto j = SignJournal::open(p);
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.error().code, "signjournal.open");
  EXPECT_NE(j.error().message.find(p.string()), std::string::npos);
}

TEST(SignJournalFile, RefusesAPathThatIsNotARegularFile) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  auto j = SignJournal::open("/dev/full");
  ASSERT_FALSE(j.ok());
  EXPECT_NE(j.error().message.find("not a regular file"), std::string::npos);
}

}  // namespace
}  // namespace cc::storage
