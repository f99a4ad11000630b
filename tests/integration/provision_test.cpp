// Cloud recovery on a running localnet (issue #7), as an operator does it with the real binary:
// cell 1's CN is lost with no standby; a snapshot of its PN (online: a checkpoint, the PN keeps
// running; offline: the PN stopped and started through the localnet's supervisor, its downtime
// reported), the CN's image and its key backup make a new CN with `corecell provision`, and the
// chain shows its seals again. Bad inputs (wrong passphrase, a key outside the council or of
// another CN, a snapshot of another chain, of a newer format, corrupt or cut short, an image in
// place of a snapshot, a non-empty DATA_DIR, a conf DATA_DIR that is taken) are clear errors that
// leave no DATA_DIR behind; an interrupted provisioning resumes. One network for the suite
// (SetUpTestSuite), its tests in order. Addresses: 127.0.131.x, used by no other test.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include <nlohmann/json.hpp>

#include "node/control.h"
#include "node/datadir.h"
#include "snapshot/archive.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"
#include "util/files.h"
#include "util/process.h"

namespace cc {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

testing::RunResult pv_corecell(std::vector<std::string> args,
                               std::chrono::milliseconds timeout = 180s) {
  return testing::run_corecell(std::move(args), timeout);
}

bool pv_mentions(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

class ProvisionLocalnet : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new testing::TempDir();
    dir_ = tmp_->path() / "net";
    auto init = pv_corecell({"localnet", "init", "--dir", dir_.string(), "--cells", "4", "--pns",
                             "1", "--ens", "0", "--ip-prefix", "127.0.131"});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    auto up = pv_corecell({"localnet", "up", "--dir", dir_.string()});
    ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
    ASSERT_GE(wait_head(cn(2), 3, 60s), 3u);

    pass_ = tmp_->path() / "passphrase";
    ASSERT_TRUE(atomic_write_file(pass_, std::string("correct horse battery staple\n"), 0600).ok());
    auto backup = [](const fs::path& nodekey, const fs::path& out) {
      auto r = pv_corecell({"key", "backup", "--nodekey", nodekey.string(), "--passphrase-file",
                            pass_.string(), "--out", out.string(), "--kdf-cost", "interactive"});
      ASSERT_EQ(r.exit_code, 0) << r.err;
    };
    backup(node::nodekey_path(cn(1)), tmp_->path() / "cn-1.backup");
    backup(node::nodekey_path(cn(2)), tmp_->path() / "cn-2.backup");
    // A key outside the council.
    auto keygen = pv_corecell({"keygen", "--out", (tmp_->path() / "stranger").string()});
    ASSERT_EQ(keygen.exit_code, 0) << keygen.err;
    backup(tmp_->path() / "stranger" / "nodekey", tmp_->path() / "stranger.backup");

    auto image = pv_corecell({"image", "create", "--conf", (cn(1) / "kcnd.conf").string(), "--out",
                              image_file().string()});
    ASSERT_EQ(image.exit_code, 0) << image.err;
    ASSERT_TRUE(pv_mentions(image.out, "static-nodes")) << image.out;
  }

  static void TearDownTestSuite() {
    if (tmp_ == nullptr) return;
    (void)pv_corecell({"localnet", "down", "--dir", dir_.string()}, 60s);
    delete tmp_;
    tmp_ = nullptr;
  }

  static fs::path cn(int cell) { return dir_ / "nodes" / ("cn-" + std::to_string(cell)); }
  static fs::path pn(int cell) { return dir_ / "nodes" / ("pn-" + std::to_string(cell) + "-1"); }
  static fs::path image_file() { return tmp_->path() / "cn-1.image"; }
  static fs::path key_backup(const std::string& who) { return tmp_->path() / (who + ".backup"); }

  static std::uint64_t head_of(const fs::path& data_dir) {
    auto st =
        node::control_request(node::control_socket_path(data_dir), json{{"cmd", "status"}}, 2000ms);
    return st.ok() ? st->value("/head/number"_json_pointer, std::uint64_t{0}) : 0;
  }

  static std::uint64_t wait_head(const fs::path& data_dir, std::uint64_t at_least,
                                 std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::uint64_t h = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      h = head_of(data_dir);
      if (h >= at_least) break;
      std::this_thread::sleep_for(200ms);
    }
    return h;
  }

  // The blocks among the last 64 that carry `address`'s seal, as cn-2 (another cell) sees them.
  static std::vector<std::uint64_t> sealed_by(const std::string& address) {
    auto r =
        node::control_request(node::control_socket_path(cn(2)),
                              json{{"cmd", "seals"}, {"address", address}, {"depth", 64}}, 2000ms);
    std::vector<std::uint64_t> out;
    if (r.ok()) {
      for (const auto& n : r->value("sealed", json::array())) out.push_back(n.get<std::uint64_t>());
    }
    return out;
  }

  static std::string cn1_address() {
    auto text = read_file(dir_ / "network.json");
    auto m = json::parse(*text);
    for (const auto& n : m["nodes"]) {
      if (n["name"] == "cn-1") return n["address"];
    }
    return "";
  }

  // The machine of cell 1's CN is lost: the process is gone and so is its directory.
  static void lose_cn1() {
    auto stop = pv_corecell({"localnet", "stop", "--dir", dir_.string(), "cn-1"});
    ASSERT_EQ(stop.exit_code, 0) << stop.err;
    fs::remove_all(cn(1));
    // The other three keep the chain going (3 of 4 is a quorum).
    const auto h = head_of(cn(2));
    ASSERT_GE(wait_head(cn(2), h + 2, 90s), h + 2);
  }

  static std::vector<std::string> provision_args(const fs::path& snapshot, const fs::path& datadir,
                                                 const std::string& backup = "cn-1") {
    return {"provision",
            "--image",
            image_file().string(),
            "--snapshot",
            snapshot.string(),
            "--nodekey-backup",
            key_backup(backup).string(),
            "--passphrase-file",
            pass_.string(),
            "--datadir",
            datadir.string(),
            "--service",
            "localnet",
            "--ip-mover",
            "loopback"};
  }

  // Provisioning worked and the network shows the new CN's seals after its start: cn-2 (another
  // cell) sees a block above the head at which the new CN was in sync that carries its proposer
  // or commit seal. (Not necessarily the block the new CN names: commit seals are the first
  // quorum each node collected, so two nodes may store different seal sets for one block.)
  static void expect_sealing_again(const testing::RunResult& r) {
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(r.out, m, std::regex("in sync at #([0-9]+)"))) << r.out;
    const std::uint64_t synced = std::stoull(m[1]);
    ASSERT_TRUE(std::regex_search(r.out, m, std::regex("first seal in block #([0-9]+)"))) << r.out;
    EXPECT_GT(std::stoull(m[1]), synced);
    bool seen = false;
    std::vector<std::uint64_t> sealed;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (!seen && std::chrono::steady_clock::now() < deadline) {
      sealed = sealed_by(cn1_address());
      seen = std::any_of(sealed.begin(), sealed.end(), [&](auto n) { return n > synced; });
      if (!seen) std::this_thread::sleep_for(200ms);
    }
    std::string list;
    for (auto n : sealed) list += " #" + std::to_string(n);
    EXPECT_TRUE(seen) << "cn-2 (head #" << head_of(cn(2)) << ") sees no seal of cn-1 above #"
                      << synced << "; it sees it in:" << list << "\n"
                      << r.out;
  }

  static testing::TempDir* tmp_;
  static fs::path dir_;
  static fs::path pass_;
};

testing::TempDir* ProvisionLocalnet::tmp_ = nullptr;
fs::path ProvisionLocalnet::dir_;
fs::path ProvisionLocalnet::pass_;

TEST_F(ProvisionLocalnet, BadInputsAreClearErrorsThatWriteNothing) {
  auto snap = pv_corecell({"snapshot", "create", "--from", pn(1).string(), "--out",
                           (tmp_->path() / "good.tar.zst").string()});
  ASSERT_EQ(snap.exit_code, 0) << snap.err;
  const fs::path good = tmp_->path() / "good.tar.zst";
  const fs::path fresh = tmp_->path() / "fresh-cn";

  // Snapshots of another chain and of a newer format (any files: `check` reads the manifest).
  const fs::path some = tmp_->path() / "some-files";
  fs::create_directories(some);
  std::ofstream(some / "CURRENT") << "MANIFEST-000001\n";
  snapshot::Manifest h;
  h.chain_id = 4242;
  h.genesis_hash = "0x" + std::string(64, 'a');
  h.head_hash = "0x" + std::string(64, 'b');
  h.head_number = 9;
  h.created = "2026-11-26T00:00:00.000Z";
  h.source_node = "elsewhere";
  h.mode = "offline";
  ASSERT_TRUE(snapshot::write_archive(some, tmp_->path() / "other-chain.tar.zst", h).ok());
  h.format_version = 2;
  ASSERT_TRUE(snapshot::write_archive(some, tmp_->path() / "v2.tar.zst", h).ok());

  const fs::path wrong_pass = tmp_->path() / "wrong-pass";
  ASSERT_TRUE(atomic_write_file(wrong_pass, std::string("not the passphrase\n"), 0600).ok());
  auto with_pass = provision_args(good, fresh);
  for (std::size_t i = 0; i + 1 < with_pass.size(); ++i) {
    if (with_pass[i] == "--passphrase-file") with_pass[i + 1] = wrong_pass.string();
  }
  auto onto_running = provision_args(good, cn(1));
  onto_running.push_back("--force");
  const fs::path busy = tmp_->path() / "busy";
  fs::create_directories(busy);
  std::ofstream(busy / "precious") << "keep me\n";

  struct Case {
    const char* what;
    std::vector<std::string> args;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"wrong passphrase", with_pass, "the passphrase is wrong"},
      {"key outside the council", provision_args(good, fresh, "stranger"), "not in the council"},
      {"key of another CN", provision_args(good, fresh, "cn-2"), "image was made from CN"},
      {"snapshot of another chain", provision_args(tmp_->path() / "other-chain.tar.zst", fresh),
       "same network"},
      {"newer snapshot format", provision_args(tmp_->path() / "v2.tar.zst", fresh),
       "format version 2"},
      {"image given as the snapshot", provision_args(image_file(), fresh),
       "not a corecell snapshot"},
      {"non-empty DATA_DIR", provision_args(good, busy), "refusing to overwrite"},
      // cn-1 still runs in the conf's DATA_DIR: --datadir elsewhere would be renamed onto it.
      {"conf DATA_DIR taken", provision_args(good, fresh), "already holds files"},
      // --force never moves a running node's DATA_DIR aside.
      {"DATA_DIR of a running node", onto_running, "in use by a running node"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    auto r = pv_corecell(c.args);
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_TRUE(pv_mentions(r.err, c.message)) << r.err;
    EXPECT_FALSE(fs::exists(fresh));
    EXPECT_FALSE(fs::exists(fresh.string() + ".provision"));
  }
  EXPECT_TRUE(fs::exists(busy / "precious"));
  EXPECT_FALSE(fs::exists(cn(1).string() + ".provision"));
  EXPECT_GE(head_of(cn(1)), 1u) << "cn-1 was left running";
}

TEST_F(ProvisionLocalnet, OnlineSnapshotRebuildsTheLostCnWhichSealsAgain) {
  ASSERT_NO_FATAL_FAILURE(lose_cn1());
  const fs::path snap = tmp_->path() / "online.tar.zst";
  const auto pn_head_before = head_of(pn(1));
  auto s = pv_corecell({"snapshot", "create", "--from", pn(1).string(), "--out", snap.string()});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_TRUE(pv_mentions(s.out, "no downtime")) << s.out;
  EXPECT_GE(head_of(pn(1)), pn_head_before) << "the PN kept running";

  // A copy cut short: an error naming it, and no DATA_DIR. A small archive is cut inside its
  // first zstd block (`check` finds it); one with a few MiB of data is cut after its manifest
  // (the restore finds it).
  auto bytes = read_file(snap);
  ASSERT_TRUE(bytes.ok());
  const fs::path cut = tmp_->path() / "cut.tar.zst";
  ASSERT_TRUE(atomic_write_file(cut, bytes->substr(0, bytes->size() * 2 / 3)).ok());
  auto r = pv_corecell(provision_args(cut, cn(1)));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(pv_mentions(r.err, "cut short")) << r.err;
  EXPECT_FALSE(fs::exists(cn(1)));
  EXPECT_FALSE(fs::exists(cn(1).string() + ".provision"));

  const fs::path bigger_dir = tmp_->path() / "bigger";
  auto restored = snapshot::restore_archive(snap, bigger_dir);
  ASSERT_TRUE(restored.ok()) << restored.error().message;
  {
    std::ofstream noise(bigger_dir / "999999.sst", std::ios::binary);
    std::uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < (4 << 20) / 8; ++i) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      noise.write(reinterpret_cast<const char*>(&x), sizeof x);
    }
  }
  const fs::path bigger = tmp_->path() / "bigger.tar.zst";
  ASSERT_TRUE(snapshot::write_archive(bigger_dir, bigger, *restored).ok());
  auto big_bytes = read_file(bigger);
  ASSERT_TRUE(big_bytes.ok());
  ASSERT_TRUE(atomic_write_file(cut, big_bytes->substr(0, big_bytes->size() * 2 / 3)).ok());
  r = pv_corecell(provision_args(cut, cn(1)));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(pv_mentions(r.err, "step snapshot")) << r.err;
  EXPECT_TRUE(pv_mentions(r.err, "cut short")) << r.err;
  EXPECT_FALSE(fs::exists(cn(1)));

  // The same archive with bytes damaged in the middle of its data (--force: the cut run above
  // left its work directory).
  std::string damaged = *big_bytes;
  for (std::size_t i = damaged.size() / 2; i < damaged.size() / 2 + 64; ++i) damaged[i] ^= 0x5a;
  const fs::path bad = tmp_->path() / "damaged.tar.zst";
  ASSERT_TRUE(atomic_write_file(bad, damaged).ok());
  auto bad_args = provision_args(bad, cn(1));
  bad_args.push_back("--force");
  r = pv_corecell(bad_args);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(pv_mentions(r.err, "step snapshot")) << r.err;
  EXPECT_TRUE(pv_mentions(r.err, "damaged") || pv_mentions(r.err, "checksum")) << r.err;
  EXPECT_FALSE(fs::exists(cn(1)));

  // Another run with other inputs refuses the unfinished one unless --force.
  auto other = pv_corecell(provision_args(snap, cn(1)));
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_TRUE(pv_mentions(other.err, "unfinished provisioning")) << other.err;

  // Something still answers at the cell's address (the old CN's listener, say): the `ip` step
  // fails after the files are in place ...
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(32323);
  ::inet_pton(AF_INET, "127.0.131.10", &a.sin_addr);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  auto args = provision_args(snap, cn(1));
  args.push_back("--force");
  auto blocked = pv_corecell(args);
  ::close(fd);
  EXPECT_EQ(blocked.exit_code, 1) << blocked.out;
  EXPECT_TRUE(pv_mentions(blocked.err, "step ip")) << blocked.err;
  EXPECT_TRUE(fs::exists(node::nodekey_path(cn(1))));

  // ... and the same command, once the address is free, resumes there.
  args.pop_back();
  auto resumed = pv_corecell(args);
  EXPECT_TRUE(pv_mentions(resumed.out, "step nodekey: done by an earlier run (resumed)"))
      << resumed.out;
  ASSERT_NO_FATAL_FAILURE(expect_sealing_again(resumed));
  EXPECT_FALSE(fs::exists(cn(1).string() + ".provision"));
}

TEST_F(ProvisionLocalnet, OfflineSnapshotReportsThePnDowntimeAndRebuildsItAgain) {
  ASSERT_NO_FATAL_FAILURE(lose_cn1());
  const fs::path snap = tmp_->path() / "offline.tar.zst";
  auto s = pv_corecell({"snapshot", "create", "--from", pn(1).string(), "--out", snap.string(),
                        "--offline", "--service", "localnet"});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(s.out, m, std::regex("the node was down ([0-9.]+) s"))) << s.out;
  EXPECT_GT(std::stod(m[1]), 0.0);
  EXPECT_GE(head_of(pn(1)), 1u) << "the PN answers again";

  // --datadir differs from the conf's DATA_DIR: built there, then renamed, saying so.
  const fs::path elsewhere = dir_ / "nodes" / "cn-1-rebuilt";
  auto r = pv_corecell(provision_args(snap, elsewhere));
  EXPECT_TRUE(pv_mentions(r.out, "renamed " + elsewhere.string())) << r.out;
  ASSERT_NO_FATAL_FAILURE(expect_sealing_again(r));
  EXPECT_FALSE(fs::exists(elsewhere));
  EXPECT_TRUE(fs::exists(node::chaindata_dir(cn(1))));
}

}  // namespace
}  // namespace cc
