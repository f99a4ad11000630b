// Tests of node/sync.h: a Downloader with a real ChainStore in a temporary directory syncing
// from peers served by real ChainStores through node/chain_server.h. The test network queues
// the Downloader's requests and delivers the replies when pumped, so a test can stop mid-sync,
// remove a peer, let a request time out, or alter a reply the way a lying peer would (peers that
// lie cannot be ChainStores: a ChainStore refuses invalid blocks).
#include "node/sync.h"

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "chain/receipt.h"
#include "crypto/address.h"
#include "node/chain_server.h"
#include "storage/chain_store.h"
#include "unit/storage/storage_test_util.h"

namespace cc::node {
namespace {

using storage::testing::make_test_chain;
using storage::testing::now_after;
using storage::testing::TempDir;
using storage::testing::TestChain;
using namespace std::chrono_literals;

// A peer's answer to one request; nullopt = it stays silent.
using Server = std::function<std::optional<Message>(const Message&)>;

// Answers from a chain database, as a node's handler does.
Server store_server(const storage::ChainDb& db) {
  return [&db](const Message& request) -> std::optional<Message> {
    if (const auto* h = std::get_if<GetBlockHeadersMsg>(&request)) {
      auto reply = serve_headers(db, *h);
      EXPECT_TRUE(reply.ok()) << reply.error().message;
      if (!reply.ok()) return std::nullopt;
      return Message{std::move(reply).value()};
    }
    if (const auto* b = std::get_if<GetBlockBodiesMsg>(&request)) {
      auto reply = serve_bodies(db, *b);
      EXPECT_TRUE(reply.ok()) << reply.error().message;
      if (!reply.ok()) return std::nullopt;
      return Message{std::move(reply).value()};
    }
    ADD_FAILURE() << "the Downloader sent a message that is not a request";
    return std::nullopt;
  };
}

// An honest answer, then `alter` applied to it (a lying peer).
Server altered(Server honest, std::function<void(Message&)> alter) {
  return [honest = std::move(honest), alter = std::move(alter)](const Message& request) {
    auto reply = honest(request);
    if (reply) alter(*reply);
    return reply;
  };
}

// Routes the Downloader's requests to the servers of its peers and their replies back.
class TestNetwork : public SyncIo {
 public:
  struct Drop {
    PeerKey peer;
    std::string reason;
  };

  void send(PeerKey peer, const Message& message) override { outbox.emplace_back(peer, message); }
  void drop_peer(PeerKey peer, std::string reason) override {
    drops.push_back(Drop{peer, std::move(reason)});
    servers.erase(peer);  // a dropped connection answers nothing more
  }

  // Delivers up to max_requests queued requests and their replies; returns how many it took.
  std::size_t pump(Downloader& d, const SyncTime& now,
                   std::size_t max_requests = static_cast<std::size_t>(-1)) {
    std::size_t n = 0;
    while (!outbox.empty() && n < max_requests) {
      auto [peer, request] = std::move(outbox.front());
      outbox.pop_front();
      ++n;
      auto it = servers.find(peer);
      if (it == servers.end()) continue;  // the connection is gone
      auto reply = it->second(request);
      if (!reply) continue;
      if (auto* h = std::get_if<BlockHeadersMsg>(&*reply)) {
        d.on_headers(peer, std::move(*h), now);
      } else if (auto* b = std::get_if<BlockBodiesMsg>(&*reply)) {
        d.on_bodies(peer, std::move(*b), now);
      }
    }
    return n;
  }

  std::map<PeerKey, Server> servers;
  std::deque<std::pair<PeerKey, Message>> outbox;
  std::vector<Drop> drops;
};

storage::ChainStore open_store(const TempDir& dir, const TestChain& tc) {
  storage::ChainStoreOptions options;
  options.sync = false;  // test speed; durability is chain_store_test's business
  auto store = storage::ChainStore::open(dir.path(), tc.net.genesis, options);
  EXPECT_TRUE(store.ok()) << store.error().message;
  return std::move(store).value();
}

// A store holding the first `count` blocks of tc.
storage::ChainStore store_with(const TempDir& dir, const TestChain& tc, std::size_t count) {
  auto store = open_store(dir, tc);
  auto summary = store.import_blocks(std::span(tc.blocks).first(count), now_after(tc));
  EXPECT_TRUE(summary.ok() && !summary->rejection && summary->imported == count);
  return store;
}

StatusMsg status_of(const storage::ChainStore& store) {
  StatusMsg s;
  s.network_id = 1;
  s.genesis_hash = store.genesis_hash();
  s.head_number = store.head().number;
  s.head_hash = store.head_hash();
  return s;
}

SyncTime at(const TestChain& tc, std::chrono::milliseconds since_start = 0ms) {
  return SyncTime{std::chrono::steady_clock::time_point{} + since_start, now_after(tc)};
}

// 400 blocks: three header batches (192 + 192 + 16), each batch two body requests.
const TestChain& chain_400() {
  static const TestChain tc = make_test_chain(400, 1);
  return tc;
}

// Asserts that `store` is at genesis: nothing of the chain was written.
void expect_at_genesis(const storage::ChainStore& store, const TestChain& tc) {
  EXPECT_EQ(store.head().number, 0u);
  EXPECT_EQ(store.head_hash(), store.genesis_hash());
  auto canonical = store.db().canonical_hash(1);
  ASSERT_TRUE(canonical.ok());
  EXPECT_FALSE(canonical->has_value());
  auto header = store.db().header(tc.blocks[0].hash());
  ASSERT_TRUE(header.ok());
  EXPECT_FALSE(header->has_value());
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Downloader, SyncsTwoThousandBlocksFromOnePeer) {
  const TestChain tc = make_test_chain(2000, 1, 11);
  TempDir server_dir, local_dir;
  auto server = store_with(server_dir, tc, tc.blocks.size());
  auto local = open_store(local_dir, tc);
  TestNetwork net;
  net.servers[1] = store_server(server.db());
  Downloader d(local, net);

  d.add_peer(1, status_of(server), at(tc));
  net.pump(d, at(tc));

  EXPECT_TRUE(net.drops.empty()) << net.drops.front().reason;
  EXPECT_EQ(local.head().number, 2000u);
  EXPECT_EQ(local.head_hash(), server.head_hash());
  EXPECT_EQ(local.state().root(), server.state().root());
  EXPECT_EQ(d.stats().blocks_imported, 2000u);
  EXPECT_EQ(d.stats().batches_imported, (2000 + kMaxHeadersPerReply - 1) / kMaxHeadersPerReply);
  EXPECT_EQ(d.status(), (SyncStatus{0, 2000, 2000, false}));
  EXPECT_FALSE(d.busy_with().has_value());
}

TEST(Downloader, ResumesWithAnotherPeerAfterTheServingPeerLeavesMidBatch) {
  const auto& tc = chain_400();
  TempDir server_dir, local_dir;
  auto server = store_with(server_dir, tc, 400);
  auto local = open_store(local_dir, tc);
  TestNetwork net;
  net.servers[1] = store_server(server.db());
  Downloader d(local, net);

  d.add_peer(1, status_of(server), at(tc));
  // Batch 1: headers + two body requests, imported; then batch 2's headers arrive and its first
  // body request is in flight.
  net.pump(d, at(tc), 4);
  ASSERT_EQ(local.head().number, 192u);
  ASSERT_EQ(d.busy_with(), std::optional<PeerKey>(1));
  EXPECT_EQ(d.status(), (SyncStatus{0, 192, 400, true}));

  d.remove_peer(1, at(tc));
  net.servers.erase(1);
  EXPECT_FALSE(d.busy_with().has_value());
  EXPECT_EQ(local.head().number, 192u);                     // batch 2 discarded, not imported
  EXPECT_EQ(d.status(), (SyncStatus{0, 192, 192, false}));  // Kaia: no peers, not syncing

  net.servers[2] = store_server(server.db());
  d.add_peer(2, status_of(server), at(tc));
  net.pump(d, at(tc));
  EXPECT_TRUE(net.drops.empty());
  EXPECT_EQ(local.head().number, 400u);
  EXPECT_EQ(local.head_hash(), server.head_hash());
  EXPECT_EQ(d.status(), (SyncStatus{192, 400, 400, false}));
}

TEST(Downloader, DropsAPeerWhoseHeadersDoNotLinkAndImportsNothing) {
  const auto& tc = chain_400();
  TempDir server_dir;
  auto server = store_with(server_dir, tc, 400);
  const std::vector<std::pair<std::string, std::function<void(std::vector<chain::Header>&)>>> lies =
      {
          {"parent hash changed", [](auto& h) { h[5].parent_hash[0] ^= 1; }},
          {"a header left out", [](auto& h) { h.erase(h.begin() + 3); }},
          {"first header missing", [](auto& h) { h.erase(h.begin()); }},
          {"two headers swapped", [](auto& h) { std::swap(h[7], h[8]); }},
      };
  for (const auto& entry : lies) {
    SCOPED_TRACE(entry.first);
    const auto& lie = entry.second;  // a named reference: clang 14 cannot capture a binding
    TempDir local_dir;
    auto local = open_store(local_dir, tc);
    TestNetwork net;
    net.servers[1] = altered(store_server(server.db()), [&lie](Message& m) {
      if (auto* h = std::get_if<BlockHeadersMsg>(&m)) lie(h->headers);
    });
    Downloader d(local, net);
    d.add_peer(1, status_of(server), at(tc));
    net.pump(d, at(tc));

    ASSERT_EQ(net.drops.size(), 1u);
    EXPECT_EQ(net.drops[0].peer, 1u);
    EXPECT_TRUE(contains(net.drops[0].reason, "does not link")) << net.drops[0].reason;
    EXPECT_FALSE(d.has_peer(1));
    EXPECT_EQ(d.stats().requests_sent, 1u);  // no bodies were asked for
    expect_at_genesis(local, tc);
  }
}

TEST(Downloader, DropsAPeerReturningATamperedBodyAndKeepsItsHead) {
  const auto& tc = chain_400();
  TempDir server_dir;
  auto server = store_with(server_dir, tc, 400);
  // The lie in the first body reply, then in the second: either way nothing of the batch is
  // imported, although the first reply's 128 bodies were honest in the second case.
  for (const int lying_reply : {1, 2}) {
    SCOPED_TRACE("tampered body in reply " + std::to_string(lying_reply));
    TempDir local_dir;
    auto local = open_store(local_dir, tc);
    TestNetwork net;
    int body_replies = 0;
    net.servers[1] = altered(store_server(server.db()), [&](Message& m) {
      if (auto* b = std::get_if<BlockBodiesMsg>(&m); b && ++body_replies == lying_reply) {
        b->bodies[0][0].value = b->bodies[0][0].value + U256(1);
      }
    });
    Downloader d(local, net);
    d.add_peer(1, status_of(server), at(tc));
    net.pump(d, at(tc));

    ASSERT_EQ(net.drops.size(), 1u);
    EXPECT_TRUE(contains(net.drops[0].reason, "transactionsRoot")) << net.drops[0].reason;
    EXPECT_EQ(body_replies, lying_reply);
    expect_at_genesis(local, tc);
    EXPECT_EQ(d.status(), (SyncStatus{0, 0, 0, false}));
  }
}

TEST(Downloader, DropsAPeerServingBlocksSealedByAnotherCouncil) {
  // The same blocks, linked and with their transactions, but sealed by another network's
  // validators: only import (seal verification against our council) can tell.
  const auto& tc = chain_400();
  const auto other = chain::make_test_network(4, 6, 99, storage::testing::kChainId);
  const Address other_proposer = crypto::address_of(other.validator_keys[0]);
  std::vector<chain::Block> forged(tc.blocks.begin(), tc.blocks.begin() + 20);
  Hash32 parent = chain::genesis_hash(tc.net.genesis);
  for (auto& b : forged) {
    b.header.parent_hash = parent;
    storage::testing::reseal(b.header, other_proposer, other);
    parent = b.hash();
  }
  std::map<Hash32, const chain::Block*> by_hash;
  for (const auto& b : forged) by_hash[b.hash()] = &b;
  Server forger = [&](const Message& request) -> std::optional<Message> {
    if (const auto* h = std::get_if<GetBlockHeadersMsg>(&request)) {
      BlockHeadersMsg reply{h->request_id, {}};
      for (std::uint64_t n = h->origin; n < h->origin + h->amount && n <= forged.size(); ++n) {
        reply.headers.push_back(forged[n - 1].header);
      }
      return Message{reply};
    }
    const auto& req = std::get<GetBlockBodiesMsg>(request);
    BlockBodiesMsg reply{req.request_id, {}};
    for (const auto& hash : req.hashes) reply.bodies.push_back(by_hash.at(hash)->transactions);
    return Message{reply};
  };

  TempDir local_dir;
  auto local = open_store(local_dir, tc);
  TestNetwork net;
  net.servers[1] = forger;
  Downloader d(local, net);
  StatusMsg status{kChainProtocolVersion, 1, local.genesis_hash(), 20, forged.back().hash()};
  d.add_peer(1, status, at(tc));
  net.pump(d, at(tc));

  ASSERT_EQ(net.drops.size(), 1u);
  EXPECT_TRUE(contains(net.drops[0].reason, "import rejected (import.header.wrong_proposer)"))
      << net.drops[0].reason;
  EXPECT_EQ(d.stats().blocks_imported, 0u);
  EXPECT_EQ(d.stats().requests_sent, 2u);  // the headers and bodies looked fine
  expect_at_genesis(local, tc);
}

TEST(Downloader, DropsAPeerSendingAnUnsolicitedReplyAndKeepsSyncing) {
  const auto& tc = chain_400();
  TempDir server_dir, local_dir;
  auto server = store_with(server_dir, tc, 400);
  auto local = open_store(local_dir, tc);
  TestNetwork net;
  for (PeerKey p : {1, 2, 3}) net.servers[p] = store_server(server.db());
  Downloader d(local, net);
  for (PeerKey p : {1, 2, 3}) d.add_peer(p, status_of(server), at(tc));
  ASSERT_EQ(d.busy_with(), std::optional<PeerKey>(1));  // ties go to the lowest key
  ASSERT_EQ(net.outbox.size(), 1u);
  const auto& request = std::get<GetBlockHeadersMsg>(net.outbox.front().second);

  // Peer 2 answers the request that went to peer 1, with the right id and honest headers.
  auto stolen = serve_headers(server.db(), request);
  ASSERT_TRUE(stolen.ok());
  d.on_headers(2, *stolen, at(tc));
  // Peer 3 sends bodies nobody asked for.
  d.on_bodies(3, BlockBodiesMsg{12345, {{}}}, at(tc));

  ASSERT_EQ(net.drops.size(), 2u);
  EXPECT_EQ(net.drops[0].peer, 2u);
  EXPECT_TRUE(contains(net.drops[0].reason, "unsolicited BlockHeaders")) << net.drops[0].reason;
  EXPECT_EQ(net.drops[1].peer, 3u);
  EXPECT_TRUE(contains(net.drops[1].reason, "unsolicited BlockBodies")) << net.drops[1].reason;
  EXPECT_EQ(d.peer_count(), 1u);
  EXPECT_EQ(local.head().number, 0u);

  net.pump(d, at(tc));
  EXPECT_EQ(net.drops.size(), 2u);
  EXPECT_EQ(local.head().number, 400u);
}

TEST(Downloader, DropsAPeerReturningMoreItemsThanAsked) {
  const auto& tc = chain_400();
  TempDir server_dir;
  auto server = store_with(server_dir, tc, 400);
  DownloaderOptions options;
  options.headers_per_request = 10;
  options.bodies_per_request = 4;
  struct Case {
    std::string name;
    std::function<void(Message&)> alter;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"headers",
       [&](Message& m) {
         if (auto* h = std::get_if<BlockHeadersMsg>(&m)) {
           *h = *serve_headers(server.db(), GetBlockHeadersMsg{h->request_id, 1, 11});
         }
       },
       "holds 11 headers, 10 asked"},
      {"bodies",
       [](Message& m) {
         if (auto* b = std::get_if<BlockBodiesMsg>(&m)) b->bodies.push_back(b->bodies.back());
       },
       "holds 5 bodies, 4 asked"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    TempDir local_dir;
    auto local = open_store(local_dir, tc);
    TestNetwork net;
    net.servers[1] = altered(store_server(server.db()), c.alter);
    Downloader d(local, net, options);
    d.add_peer(1, status_of(server), at(tc));
    net.pump(d, at(tc));
    ASSERT_EQ(net.drops.size(), 1u);
    EXPECT_TRUE(contains(net.drops[0].reason, c.reason)) << net.drops[0].reason;
    expect_at_genesis(local, tc);
  }
}

TEST(Downloader, DropsAPeerWithAnEmptyReplyForBlocksItAnnounced) {
  const auto& tc = chain_400();
  TempDir server_dir, local_dir;
  auto server = store_with(server_dir, tc, 50);
  auto local = open_store(local_dir, tc);
  TestNetwork net;
  net.servers[1] = store_server(server.db());
  Downloader d(local, net);
  StatusMsg boast = status_of(server);
  boast.head_number = 400;  // it has 50
  d.add_peer(1, boast, at(tc));
  net.pump(d, at(tc));
  // 50 blocks arrive (a short reply is fine), then the next request finds nothing.
  EXPECT_EQ(local.head().number, 50u);
  ASSERT_EQ(net.drops.size(), 1u);
  EXPECT_TRUE(contains(net.drops[0].reason, "is empty")) << net.drops[0].reason;
  EXPECT_FALSE(d.status().syncing);
}

TEST(Downloader, TimesOutASilentPeerAndRetriesWithAnother) {
  const auto& tc = chain_400();
  TempDir server_dir, local_dir;
  auto server = store_with(server_dir, tc, 400);
  auto local = open_store(local_dir, tc);
  TestNetwork net;
  int silent_requests = 0;
  net.servers[1] = [&](const Message&) -> std::optional<Message> {
    ++silent_requests;
    return std::nullopt;
  };
  net.servers[2] = store_server(server.db());
  Downloader d(local, net);
  d.add_peer(1, status_of(server), at(tc));
  d.add_peer(2, status_of(server), at(tc));
  net.pump(d, at(tc));
  ASSERT_EQ(silent_requests, 1);
  ASSERT_EQ(d.busy_with(), std::optional<PeerKey>(1));

  d.tick(at(tc, 4999ms));
  EXPECT_TRUE(net.drops.empty());
  d.tick(at(tc, 5000ms));
  ASSERT_EQ(net.drops.size(), 1u);
  EXPECT_EQ(net.drops[0].peer, 1u);
  EXPECT_TRUE(contains(net.drops[0].reason, "not answered within 5000 ms")) << net.drops[0].reason;
  EXPECT_EQ(d.busy_with(), std::optional<PeerKey>(2));

  net.pump(d, at(tc, 5000ms));
  EXPECT_EQ(net.drops.size(), 1u);
  EXPECT_EQ(local.head().number, 400u);
}

TEST(Downloader, TimesOutABodyRequestAfterItsHeadersWereAnswered) {
  const auto& tc = chain_400();
  TempDir server_dir, local_dir;
  auto server = store_with(server_dir, tc, 400);
  auto local = open_store(local_dir, tc);
  TestNetwork net;
  auto honest = store_server(server.db());
  net.servers[1] = [&](const Message& m) -> std::optional<Message> {
    if (std::holds_alternative<GetBlockBodiesMsg>(m)) return std::nullopt;
    return honest(m);
  };
  Downloader d(local, net);
  d.add_peer(1, status_of(server), at(tc, 1000ms));
  net.pump(d, at(tc, 1000ms));
  d.tick(at(tc, 5999ms));
  EXPECT_TRUE(net.drops.empty());
  d.tick(at(tc, 6000ms));
  ASSERT_EQ(net.drops.size(), 1u);
  EXPECT_TRUE(contains(net.drops[0].reason, "GetBlockBodies")) << net.drops[0].reason;
  EXPECT_FALSE(d.busy_with().has_value());
  expect_at_genesis(local, tc);
}

TEST(Downloader, ReportsKaiaSyncingStatusDuringAndAfterASync) {
  const auto& tc = chain_400();
  TempDir server_dir, local_dir;
  auto server = store_with(server_dir, tc, 400);
  auto local = store_with(local_dir, tc, 100);
  TestNetwork net;
  net.servers[1] = store_server(server.db());
  Downloader d(local, net);
  EXPECT_EQ(d.status(), (SyncStatus{100, 100, 100, false}));

  d.add_peer(1, status_of(server), at(tc));
  EXPECT_EQ(d.status(), (SyncStatus{100, 100, 400, true}));
  net.pump(d, at(tc), 3);  // one batch: headers + 2 body requests
  EXPECT_EQ(d.status(), (SyncStatus{100, 292, 400, true}));
  net.pump(d, at(tc));
  EXPECT_EQ(d.status(), (SyncStatus{100, 400, 400, false}));
  d.remove_peer(1, at(tc));
  EXPECT_EQ(d.status(), (SyncStatus{100, 400, 400, false}));
}

TEST(Downloader, FollowsAnnouncementsBeyondThePeersStatus) {
  const auto& tc = chain_400();
  TempDir server_dir, local_dir;
  auto server = store_with(server_dir, tc, 400);
  auto local = open_store(local_dir, tc);
  TestNetwork net;
  net.servers[1] = store_server(server.db());
  Downloader d(local, net);
  StatusMsg stale = status_of(server);
  stale.head_number = 150;
  d.add_peer(1, stale, at(tc));
  net.pump(d, at(tc));
  EXPECT_EQ(local.head().number, 150u);  // asks for no more than the peer said it has
  EXPECT_FALSE(d.status().syncing);

  d.on_announcement(1, 100, tc.blocks[99].hash(), at(tc));  // older: ignored
  EXPECT_TRUE(net.outbox.empty());
  d.on_announcement(1, 400, server.head_hash(), at(tc));
  EXPECT_EQ(d.status(), (SyncStatus{150, 150, 400, true}));
  net.pump(d, at(tc));
  EXPECT_EQ(local.head().number, 400u);
  EXPECT_TRUE(net.drops.empty());
}

TEST(Downloader, ToleratesBlocksImportedElsewhereDuringABatch) {
  const auto& tc = chain_400();
  TempDir server_dir, local_dir;
  auto server = store_with(server_dir, tc, 400);
  auto local = open_store(local_dir, tc);
  TestNetwork net;
  net.servers[1] = store_server(server.db());
  Downloader d(local, net);
  d.add_peer(1, status_of(server), at(tc));
  net.pump(d, at(tc), 1);  // headers 1..192 in; bodies requested
  ASSERT_EQ(d.busy_with(), std::optional<PeerKey>(1));

  // Five pushed NewBlocks land through the same store.
  for (std::size_t i = 0; i < 5; ++i) {
    auto v = local.import_block(tc.blocks[i], now_after(tc));
    ASSERT_TRUE(v.ok() && v->ok());
  }
  d.on_head_moved(at(tc));
  net.pump(d, at(tc));
  EXPECT_TRUE(net.drops.empty());
  EXPECT_EQ(local.head().number, 400u);
  EXPECT_EQ(d.stats().blocks_imported, 395u);
}

TEST(Downloader, DropsAPeerOfAnotherGenesis) {
  const auto& tc = chain_400();
  TempDir local_dir;
  auto local = open_store(local_dir, tc);
  TestNetwork net;
  Downloader d(local, net);
  StatusMsg foreign = status_of(local);
  foreign.genesis_hash[0] ^= 0xff;
  foreign.head_number = 10;
  d.add_peer(7, foreign, at(tc));
  ASSERT_EQ(net.drops.size(), 1u);
  EXPECT_TRUE(contains(net.drops[0].reason, "genesis")) << net.drops[0].reason;
  EXPECT_EQ(d.peer_count(), 0u);
  EXPECT_TRUE(net.outbox.empty());
}

TEST(Downloader, TickSendsNothingWhenCaughtUpOrWithinTheTimeout) {
  const auto& tc = chain_400();
  TempDir server_dir, local_dir;
  auto server = store_with(server_dir, tc, 30);
  auto local = open_store(local_dir, tc);
  TestNetwork net;
  net.servers[1] = store_server(server.db());
  Downloader d(local, net);
  d.add_peer(1, status_of(server), at(tc));
  ASSERT_EQ(net.outbox.size(), 1u);
  d.tick(at(tc, 4000ms));  // request still within its timeout: no second request
  EXPECT_EQ(net.outbox.size(), 1u);
  EXPECT_EQ(d.stats().requests_sent, 1u);
  net.pump(d, at(tc, 4000ms));
  ASSERT_EQ(local.head().number, 30u);
  const auto sent = d.stats().requests_sent;
  for (auto t : {10s, 20s, 30s}) d.tick(at(tc, t));  // periodic re-sync: nobody is ahead
  EXPECT_TRUE(net.outbox.empty());
  EXPECT_EQ(d.stats().requests_sent, sent);
  EXPECT_TRUE(net.drops.empty());
}

}  // namespace
}  // namespace cc::node
