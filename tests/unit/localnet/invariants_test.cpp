// Specification of the SIGN-1 half of the invariant oracle (localnet/invariants.h):
// sign1_violations over journal entries (one digest per (address, height, round, type); one
// permit epoch per (address, height)), and read_journals over a manifest whose nodes' DATA_DIRs
// hold real signjournal files, including a line torn by a crash mid-append. CHAIN-1 and DATA-1
// need live nodes and are exercised by tests/integration/ha_test.cpp; here DATA-1 also meets a
// real HTTP server that throttles (HTTP 429), as a node's RPC does a long run's check.
#include "localnet/invariants.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/address.h"
#include "localnet/manifest.h"
#include "node/datadir.h"
#include "storage/signjournal.h"
#include "support/temp_dir.h"
#include "util/files.h"

namespace cc::localnet {
namespace {

namespace fs = std::filesystem;
using cc::testing::TempDir;
using storage::JournalEntry;

Address invt_address(std::uint8_t seed) {
  Address a{};
  a[0] = 0xa0;
  a[19] = seed;
  return a;
}

Hash32 invt_digest(std::uint8_t seed) {
  Hash32 h{};
  h[0] = 0xd0;
  h[31] = seed;
  return h;
}

// 2024-05-01T12:00:00.000Z plus `ms`.
std::chrono::system_clock::time_point invt_time(int ms) {
  using namespace std::chrono;
  return sys_days{year{2024} / May / 1} + hours{12} + milliseconds{ms};
}

JournalEntry invt_vote(std::uint8_t signer, std::uint64_t height, std::uint32_t round,
                       const std::string& type, std::uint8_t digest, std::uint64_t epoch,
                       std::int64_t pid) {
  JournalEntry e;
  e.address = invt_address(signer);
  e.height = height;
  e.round = round;
  e.type = type;
  e.digest = invt_digest(digest);
  e.epoch = epoch;
  e.time = invt_time(static_cast<int>(height * 1000 + round * 10));
  e.pid = pid;
  return e;
}

std::string invt_joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

bool invt_mentions(const std::string& line, const std::string& word) {
  return line.find(word) != std::string::npos;
}

// --- sign1_violations ---------------------------------------------------------------------

TEST(LocalnetSign1, NoEntriesNoViolation) { EXPECT_TRUE(sign1_violations({}).empty()); }

TEST(LocalnetSign1, IdenticalRepeatsAreNoViolation) {
  // The same vote journaled again (a restart that re-sent what it had signed) is one vote.
  const auto first = invt_vote(1, 7, 0, "prepare", 0x11, 3, 100);
  auto again = first;
  again.pid = 101;
  again.time = invt_time(9000);
  const std::vector<JournalEntry> entries{first, first, again};
  EXPECT_TRUE(sign1_violations(entries).empty()) << invt_joined(sign1_violations(entries));
}

TEST(LocalnetSign1, TwoDigestsForOneVoteAreAViolationNamingBoth) {
  const auto a = invt_vote(1, 7, 2, "commit", 0x11, 3, 100);
  const auto b = invt_vote(1, 7, 2, "commit", 0x22, 3, 200);
  const auto v = sign1_violations({a, b});
  ASSERT_EQ(v.size(), 1u) << invt_joined(v);
  const std::string& line = v[0];
  EXPECT_EQ(line.rfind("SIGN-1: ", 0), 0u) << line;
  EXPECT_FALSE(invt_mentions(line, "takeover")) << line;
  EXPECT_TRUE(invt_mentions(line, crypto::to_checksum_hex(invt_address(1)))) << line;
  EXPECT_TRUE(invt_mentions(line, "two different commit messages")) << line;
  EXPECT_TRUE(invt_mentions(line, "height 7 round 2")) << line;
  EXPECT_TRUE(invt_mentions(line, "pid 100")) << line;
  EXPECT_TRUE(invt_mentions(line, "pid 200")) << line;
  EXPECT_TRUE(invt_mentions(line, to_hex0x(invt_digest(0x11)))) << line;
  EXPECT_TRUE(invt_mentions(line, to_hex0x(invt_digest(0x22)))) << line;
  EXPECT_TRUE(invt_mentions(line, storage::format_rfc3339_ms(a.time))) << line;
}

TEST(LocalnetSign1, EveryMessageTypeIsChecked) {
  for (const char* type : {"preprepare", "prepare", "commit", "roundchange", "seal"}) {
    const auto v = sign1_violations(
        {invt_vote(1, 5, 0, type, 0x01, 0, 10), invt_vote(1, 5, 0, type, 0x02, 0, 10)});
    ASSERT_EQ(v.size(), 1u) << type << "\n" << invt_joined(v);
    EXPECT_TRUE(invt_mentions(v[0], std::string("two different ") + type + " messages")) << v[0];
  }
}

TEST(LocalnetSign1, ATripleVoteIsReportedAgainstTheFirst) {
  const auto v = sign1_violations({invt_vote(1, 7, 0, "prepare", 0x11, 1, 100),
                                   invt_vote(1, 7, 0, "prepare", 0x22, 1, 200),
                                   invt_vote(1, 7, 0, "prepare", 0x33, 1, 300)});
  ASSERT_EQ(v.size(), 2u) << invt_joined(v);
  EXPECT_TRUE(invt_mentions(v[0], "pid 100") && invt_mentions(v[0], "pid 200")) << v[0];
  EXPECT_TRUE(invt_mentions(v[1], "pid 100") && invt_mentions(v[1], "pid 300")) << v[1];
}

TEST(LocalnetSign1, SameHeightInDifferentRoundsOrTypesIsFine) {
  // A round change moves a validator to a new proposal: other digests, same height, one epoch.
  const std::vector<JournalEntry> entries{
      invt_vote(1, 7, 0, "prepare", 0x11, 3, 100),     invt_vote(1, 7, 0, "commit", 0x12, 3, 100),
      invt_vote(1, 7, 0, "roundchange", 0x13, 3, 100), invt_vote(1, 7, 1, "prepare", 0x21, 3, 100),
      invt_vote(1, 7, 1, "commit", 0x22, 3, 100),      invt_vote(1, 7, 1, "seal", 0x23, 3, 100),
      invt_vote(1, 8, 0, "prepare", 0x31, 3, 100)};
  EXPECT_TRUE(sign1_violations(entries).empty()) << invt_joined(sign1_violations(entries));
}

TEST(LocalnetSign1, OneHeightUnderTwoEpochsIsATakeoverViolation) {
  // The old holder signed round 0 at height 7 under epoch 3; after a takeover the new holder
  // (epoch 4) signed round 1 at the same height: no equal vote key, but two permit epochs.
  const auto old_holder = invt_vote(1, 7, 0, "prepare", 0x11, 3, 100);
  const auto new_holder = invt_vote(1, 7, 1, "prepare", 0x22, 4, 200);
  const auto v = sign1_violations({old_holder, new_holder});
  ASSERT_EQ(v.size(), 1u) << invt_joined(v);
  const std::string& line = v[0];
  EXPECT_EQ(line.rfind("SIGN-1 (takeover): ", 0), 0u) << line;
  EXPECT_TRUE(invt_mentions(line, crypto::to_checksum_hex(invt_address(1)))) << line;
  EXPECT_TRUE(invt_mentions(line, "at height 7 under two permit epochs")) << line;
  EXPECT_TRUE(invt_mentions(line, "pid 100 epoch 3")) << line;
  EXPECT_TRUE(invt_mentions(line, "pid 200 epoch 4")) << line;
}

TEST(LocalnetSign1, ATakeoverAtTheNextHeightIsFine) {
  // The new holder starts above the old holder's last height: the permit floor working.
  const std::vector<JournalEntry> entries{
      invt_vote(1, 7, 0, "prepare", 0x11, 3, 100), invt_vote(1, 7, 0, "commit", 0x12, 3, 100),
      invt_vote(1, 8, 0, "prepare", 0x21, 4, 200), invt_vote(1, 8, 0, "commit", 0x22, 4, 200)};
  EXPECT_TRUE(sign1_violations(entries).empty()) << invt_joined(sign1_violations(entries));
}

TEST(LocalnetSign1, SameVoteUnderTwoEpochsWithTwoDigestsIsBothViolations) {
  const auto v = sign1_violations(
      {invt_vote(1, 7, 0, "commit", 0x11, 3, 100), invt_vote(1, 7, 0, "commit", 0x22, 4, 200)});
  ASSERT_EQ(v.size(), 2u) << invt_joined(v);
  EXPECT_EQ(std::count_if(v.begin(), v.end(),
                          [](const std::string& l) { return invt_mentions(l, "takeover"); }),
            1)
      << invt_joined(v);
}

TEST(LocalnetSign1, DifferentAddressesAreIndependent) {
  // Two validators at the same (height, round, type) sign different digests under different
  // epochs: each signed once.
  const std::vector<JournalEntry> entries{invt_vote(1, 7, 0, "prepare", 0x11, 3, 100),
                                          invt_vote(2, 7, 0, "prepare", 0x22, 9, 200),
                                          invt_vote(3, 7, 0, "prepare", 0x33, 0, 300)};
  EXPECT_TRUE(sign1_violations(entries).empty()) << invt_joined(sign1_violations(entries));
}

TEST(LocalnetSign1, OnlyTheEquivocatingAddressIsNamed) {
  const auto v = sign1_violations({invt_vote(1, 7, 0, "prepare", 0x11, 3, 100),
                                   invt_vote(2, 7, 0, "prepare", 0x22, 3, 200),
                                   invt_vote(2, 7, 0, "prepare", 0x23, 3, 201)});
  ASSERT_EQ(v.size(), 1u) << invt_joined(v);
  EXPECT_TRUE(invt_mentions(v[0], crypto::to_checksum_hex(invt_address(2)))) << v[0];
  EXPECT_FALSE(invt_mentions(v[0], crypto::to_checksum_hex(invt_address(1)))) << v[0];
}

TEST(LocalnetSign1, OrderOfTheEntriesDoesNotHideAViolation) {
  // read_journals concatenates files in manifest order; a violation is found either way.
  std::vector<JournalEntry> entries{
      invt_vote(1, 6, 0, "commit", 0x01, 3, 100), invt_vote(1, 7, 0, "commit", 0x11, 3, 100),
      invt_vote(2, 7, 0, "commit", 0x55, 1, 300), invt_vote(1, 7, 0, "commit", 0x22, 3, 200)};
  EXPECT_EQ(sign1_violations(entries).size(), 1u);
  std::reverse(entries.begin(), entries.end());
  EXPECT_EQ(sign1_violations(entries).size(), 1u);
}

// --- read_journals ------------------------------------------------------------------------

// A manifest (written as D/network.json and loaded back, so data dirs resolve against D) with
// two CN hosts of cell 1 and one PN.
class LocalnetJournals : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty()) << "mkdtemp failed";
    Manifest m;
    m.dir = dir_.path();
    m.chain_id = 8888;
    m.network_id = 8888;
    m.genesis = dir_.path() / "genesis.json";
    m.accounts = dir_.path() / "accounts.json";
    m.council = {crypto::to_checksum_hex(invt_address(1))};
    for (const auto& [name, role, standby] :
         {std::tuple{"cn-1", NodeRole::cn, false}, std::tuple{"cn-1-standby", NodeRole::cn, true},
          std::tuple{"pn-1", NodeRole::pn, false}}) {
      NodeEntry n;
      n.name = name;
      n.cell = 1;
      n.role = role;
      n.standby = standby;
      n.ip = "127.0.0.10";
      n.rpc_url = "http://127.0.0.10:8551";
      n.metrics_url = "http://127.0.0.10:61001/metrics";
      n.data_dir = dir_.path() / "nodes" / name;
      n.conf = n.data_dir / "kcnd.conf";
      n.log = n.data_dir / "logs" / "node.log";
      n.address = m.council[0];
      n.node_id = std::string(128, 'a');
      n.kni = "kni://" + n.node_id + "@127.0.0.10:32323?ntype=cn";
      m.nodes.push_back(n);
    }
    auto written = atomic_write_file(manifest_path(dir_.path()), manifest_to_json(m));
    ASSERT_TRUE(written.ok()) << written.error().message;
    auto loaded = load_manifest(dir_.path());
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
    manifest_ = *loaded;
  }

  [[nodiscard]] fs::path journal_of(const std::string& node) const {
    return node::signjournal_path(manifest_.find(node)->data_dir);
  }

  // Appends the entries through storage::SignJournal, as a node does.
  void journal(const std::string& node, const std::vector<JournalEntry>& entries) {
    const fs::path p = journal_of(node);
    ASSERT_TRUE(ensure_dir(p.parent_path()).ok());
    auto j = storage::SignJournal::open(p);
    ASSERT_TRUE(j.ok()) << j.error().message;
    for (const auto& e : entries) {
      auto appended = j->append(e);
      ASSERT_TRUE(appended.ok()) << appended.error().message;
    }
  }

  // What a crash mid-append leaves: the first half of a line, no newline.
  void tear(const std::string& node, const JournalEntry& e) {
    const std::string line = storage::format_journal_line(e);
    std::ofstream out(journal_of(node), std::ios::app | std::ios::binary);
    out << line.substr(0, line.size() / 2);
    ASSERT_TRUE(out.good());
  }

  TempDir dir_;
  Manifest manifest_;
};

TEST_F(LocalnetJournals, NoJournalsAnywhereIsAnEmptySet) {
  auto set = read_journals(manifest_);
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->files, 0u);
  EXPECT_TRUE(set->entries.empty());
  EXPECT_EQ(set->skipped_lines, 0u);
}

TEST_F(LocalnetJournals, ReadsEveryNodesJournalAndCountsATornLine) {
  const auto a1 = invt_vote(1, 7, 0, "prepare", 0x11, 3, 100);
  const auto a2 = invt_vote(1, 7, 0, "commit", 0x12, 3, 100);
  const auto b1 = invt_vote(1, 8, 0, "prepare", 0x21, 4, 200);
  const auto b2 = invt_vote(1, 8, 0, "commit", 0x22, 4, 200);
  journal("cn-1", {a1, a2});
  // The standby's node crashed mid-append, was restarted and signed again: the torn half-line
  // stays in the file; the next append starts on a line of its own.
  journal("cn-1-standby", {b1});
  tear("cn-1-standby", invt_vote(1, 8, 0, "commit", 0x99, 4, 200));
  journal("cn-1-standby", {b2});
  // pn-1 never signs and has no journal.

  auto set = read_journals(manifest_);
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->files, 2u);
  EXPECT_EQ(set->skipped_lines, 1u);
  ASSERT_EQ(set->entries.size(), 4u);
  for (const auto& e : {a1, a2, b1, b2}) {
    EXPECT_EQ(std::count(set->entries.begin(), set->entries.end(), e), 1)
        << storage::format_journal_line(e);
  }
  // Nothing of the torn line was taken for a vote.
  EXPECT_EQ(std::count_if(set->entries.begin(), set->entries.end(),
                          [](const JournalEntry& e) { return e.digest == invt_digest(0x99); }),
            0);
  // A clean takeover at the next height: SIGN-1 holds over the merged journals.
  EXPECT_TRUE(sign1_violations(set->entries).empty())
      << invt_joined(sign1_violations(set->entries));
}

TEST_F(LocalnetJournals, AnEquivocationAcrossTwoNodesJournalsIsFound) {
  // Both hosts of cell 1 signed at height 7 (a split brain): each journal alone is clean.
  journal("cn-1", {invt_vote(1, 7, 0, "commit", 0x11, 3, 100)});
  journal("cn-1-standby", {invt_vote(1, 7, 0, "commit", 0x22, 3, 200)});
  auto set = read_journals(manifest_);
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->files, 2u);
  const auto v = sign1_violations(set->entries);
  ASSERT_EQ(v.size(), 1u) << invt_joined(v);
  EXPECT_TRUE(invt_mentions(v[0], "pid 100") && invt_mentions(v[0], "pid 200")) << v[0];
}

TEST_F(LocalnetJournals, HandWrittenLinesInTheDocumentedFormatAreRead) {
  // The format is stable for tools (signjournal.h): a line written by hand reads back.
  const fs::path p = journal_of("pn-1");
  ASSERT_TRUE(ensure_dir(p.parent_path()).ok());
  const std::string text =
      "{\"address\":\"0xa000000000000000000000000000000000000001\",\"height\":7,\"round\":0,"
      "\"type\":\"prepare\",\"digest\":\"0xd000000000000000000000000000000000000000000000000000"
      "000000000011\",\"epoch\":3,\"time\":\"2024-05-01T12:00:07.000Z\",\"pid\":100}\n"
      "not json at all\n";
  ASSERT_TRUE(atomic_write_file(p, text).ok());
  auto set = read_journals(manifest_);
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->files, 1u);
  EXPECT_EQ(set->skipped_lines, 1u);
  ASSERT_EQ(set->entries.size(), 1u);
  EXPECT_EQ(set->entries[0], invt_vote(1, 7, 0, "prepare", 0x11, 3, 100));
}

// A node's RPC as the oracle meets it at the end of a long demo: it answers, but tells a client
// that asks too fast to slow down (every other request is HTTP 429). A throttled call is no
// evidence of a missing receipt or block.
TEST(LocalnetData1, ThrottledRpcIsAskedAgainNotReadAsAMissingReceipt) {
  httplib::Server server;
  std::mutex mu;
  int requests = 0;
  int throttled = 0;
  const std::string block_hash = "0x" + std::string(64, 'b');
  server.Post("/", [&](const httplib::Request& req, httplib::Response& res) {
    {
      std::lock_guard lock(mu);
      if (++requests % 2 == 1) {
        ++throttled;
        res.status = 429;
        res.set_content("too many requests from 127.0.0.1", "text/plain");
        return;
      }
    }
    const auto call = nlohmann::json::parse(req.body);
    nlohmann::json result;
    const std::string method = call.value("method", "");
    if (method == "eth_blockNumber") {
      result = "0x10";
    } else if (method == "eth_getTransactionReceipt") {
      result = {{"blockNumber", "0x5"}, {"blockHash", block_hash}};
    } else if (method == "eth_getBlockByNumber") {
      result = {{"number", "0x5"}, {"hash", block_hash}};
    }
    res.set_content(
        nlohmann::json{{"jsonrpc", "2.0"}, {"id", call["id"]}, {"result", result}}.dump(),
        "application/json");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread serving([&] { server.listen_after_bind(); });
  for (int i = 0; i < 500 && !server.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }

  Manifest m;
  NodeEntry n;
  n.name = "en-1";
  n.rpc_url = "http://127.0.0.1:" + std::to_string(port);
  m.nodes.push_back(n);
  std::vector<std::string> hashes;
  for (int i = 0; i < 20; ++i)
    hashes.push_back("0x" + std::string(63, 'a') + std::to_string(i % 10));
  const auto violations = data1_violations(m, hashes);
  server.stop();
  serving.join();
  EXPECT_TRUE(violations.empty()) << violations.size() << " violations, the first: "
                                  << (violations.empty() ? "" : violations.front());
  EXPECT_GE(throttled, 20) << "the server never throttled: the test exercised nothing";
}

}  // namespace
}  // namespace cc::localnet
