// A CN rebuilt without an HA agent from a PN snapshot older than the heights it signed at, its
// sign state and journal gone (what `corecell provision` leaves: only klay/chaindata), must sign
// nothing it signed before (issue #16, path 1; DESIGN.md: without a sign state a validator signs
// nothing until it is in sync with the network, and then only above the network's head and its
// journal). Real processes on a 4-cell localnet without HA on 127.0.135.x, used by no other test.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "localnet/invariants.h"
#include "localnet/load.h"
#include "localnet/manifest.h"
#include "node/control.h"
#include "node/datadir.h"
#include "snapshot/archive.h"
#include "storage/signjournal.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"
#include "util/files.h"

namespace cc {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

std::uint64_t ssl_head_of(const fs::path& data_dir) {
  auto st =
      node::control_request(node::control_socket_path(data_dir), json{{"cmd", "status"}}, 2000ms);
  return st.ok() ? st->value("/head/number"_json_pointer, std::uint64_t{0}) : 0;
}

bool ssl_wait_head(const fs::path& data_dir, std::uint64_t at_least, std::chrono::seconds within) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < deadline) {
    if (ssl_head_of(data_dir) >= at_least) return true;
    std::this_thread::sleep_for(200ms);
  }
  return false;
}

// `localnet down` however the test ends.
struct SslNetwork {
  fs::path dir;
  ~SslNetwork() {
    if (!dir.empty()) (void)testing::run_corecell({"localnet", "down", "--dir", dir.string()}, 60s);
  }
};

TEST(SignStateLoss, CnRestoredFromAnOlderSnapshotWithoutItsSignStateNeverSignsTwice) {
  testing::TempDir tmp;
  SslNetwork net{tmp.path() / "net"};
  auto init = testing::run_corecell({"localnet", "init", "--dir", net.dir.string(), "--cells", "4",
                                     "--pns", "1", "--ens", "0", "--ip-prefix", "127.0.135"});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  auto up = testing::run_corecell({"localnet", "up", "--dir", net.dir.string()}, 120s);
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  auto m = localnet::load_manifest(net.dir);
  ASSERT_TRUE(m.ok()) << m.error().message;
  const auto& pn = *m->find("pn-1-1");
  ASSERT_TRUE(ssl_wait_head(pn.data_dir, 3, 60s)) << "the chain does not advance";

  // A snapshot of the PN at S, then the chain moves on well past S.
  const fs::path snap = tmp.path() / "pn.tar.zst";
  auto created = testing::run_corecell(
      {"snapshot", "create", "--from", pn.data_dir.string(), "--out", snap.string()}, 60s);
  ASSERT_EQ(created.exit_code, 0) << created.err;
  auto header = snapshot::read_archive(snap, false);
  ASSERT_TRUE(header.ok()) << header.error().message;
  const std::uint64_t s = header->head_number;
  ASSERT_TRUE(ssl_wait_head(pn.data_dir, s + 4, 60s));

  // The CN that proposed S+1 (it signed a pre-prepare there, and is the round-0 proposer of S+1
  // for a node that comes back with head S).
  localnet::RpcClient rpc(pn.rpc_url, 3000ms);
  auto info =
      rpc.call("kaia_getBlockWithConsensusInfoByNumber", json::array({to_hex_quantity(s + 1)}));
  ASSERT_TRUE(info.ok()) << info.error().message;
  const std::string proposer = info->value("proposer", "");
  const localnet::NodeEntry* cn = nullptr;
  for (const auto& n : m->nodes) {
    if (n.address == proposer) cn = &n;
  }
  ASSERT_NE(cn, nullptr) << "no node of the manifest has address " << proposer;

  // Lost and rebuilt as `provision` does: chaindata from the snapshot, no signstate, no journal.
  auto stopped =
      testing::run_corecell({"localnet", "stop", "--dir", net.dir.string(), cn->name}, 60s);
  ASSERT_EQ(stopped.exit_code, 0) << stopped.out << stopped.err;
  const fs::path saved_journal = tmp.path() / "lost.signjournal";
  fs::copy_file(node::signjournal_path(cn->data_dir), saved_journal);
  auto lost = storage::read_journal(saved_journal);
  ASSERT_TRUE(lost.ok()) << lost.error().message;
  bool signed_above_s = false;
  for (const auto& e : lost->entries) signed_above_s = signed_above_s || e.height > s;
  ASSERT_TRUE(signed_above_s) << "the lost CN never signed above the snapshot's head #" << s;
  fs::remove_all(cn->data_dir / "klay" / "chaindata");
  fs::remove(node::signstate_path(cn->data_dir));
  fs::remove(node::signjournal_path(cn->data_dir));
  auto restored = snapshot::restore_archive(snap, cn->data_dir / "klay" / "chaindata");
  ASSERT_TRUE(restored.ok()) << restored.error().message;
  const std::uint64_t network_head = ssl_head_of(pn.data_dir);
  auto started =
      testing::run_corecell({"localnet", "start", "--dir", net.dir.string(), cn->name}, 90s);
  ASSERT_EQ(started.exit_code, 0) << started.out << started.err;

  // It catches up and the council goes on (with it or, while it waits, without it).
  EXPECT_TRUE(ssl_wait_head(cn->data_dir, network_head + 5, 60s))
      << cn->name << " at #" << ssl_head_of(cn->data_dir);

  // SIGN-1 over every journal, the one removed with the lost sign state included.
  auto journals = localnet::read_journals(*m);
  ASSERT_TRUE(journals.ok()) << journals.error().message;
  auto entries = journals->entries;
  entries.insert(entries.end(), lost->entries.begin(), lost->entries.end());
  const auto violations = localnet::sign1_violations(entries);
  EXPECT_TRUE(violations.empty()) << violations.size() << " SIGN-1 violations, the first: "
                                  << (violations.empty() ? "" : violations.front());
  // Whatever the rebuilt CN signed is above the network's head when it came back.
  auto fresh = storage::read_journal(node::signjournal_path(cn->data_dir));
  if (fresh.ok()) {
    for (const auto& e : fresh->entries) {
      EXPECT_GT(e.height, network_head)
          << cn->name << " signed at #" << e.height << " after its restart (network head #"
          << network_head << ")";
    }
  }
}

}  // namespace
}  // namespace cc
