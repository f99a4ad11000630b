// PeerManager on real loopback Transports: admission of CNs by council and source IP, own PNs,
// one connection per node ID, max_peers, static-node redial with backoff, and owner callbacks.
// Each node binds its own 127.0.0.x so the CN allow-list sees distinct source addresses.
#include "p2p/peer_manager.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "crypto/address.h"
#include "support/p2p_peer.h"

namespace cc::p2p {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::fresh_identity;
using testing::RecordingNode;
using testing::test_config;
using testing::text;

KniUrl url_of(const crypto::NodeIdentity& id, const std::string& ip, std::uint16_t port) {
  KniUrl u;
  u.node_id = id.node_id;
  u.host = ip;
  u.port = port;
  u.discport = port;
  return u;
}
KniUrl url_of(RecordingNode& n, const std::string& ip) {
  return url_of(n.identity(), ip, n.port());
}

// A PeerManager with its owner callbacks recorded. wait_* tick the manager while they wait, as a
// node's main loop would.
class ManagedNode {
 public:
  ManagedNode(const std::string& ip, AdmissionPolicy policy, std::vector<KniUrl> statics = {},
              std::size_t max_peers = 50, crypto::NodeIdentity id = fresh_identity(),
              RedialPolicy redial = fast_redial())
      : identity_(id) {
    PeerManagerCallbacks cb;
    cb.on_peer_added = [this](const PeerInfo& p) {
      if (added_hook_) added_hook_(p);
      std::lock_guard lock(mu_);
      added_.push_back(p);
      cv_.notify_all();
    };
    cb.on_peer_removed = [this](const PeerInfo& p, const Error& e) {
      std::lock_guard lock(mu_);
      removed_.emplace_back(p, e);
      cv_.notify_all();
    };
    cb.on_message = [this](const PeerInfo& p, std::uint8_t code, Bytes payload) {
      std::lock_guard lock(mu_);
      messages_.push_back(testing::ReceivedMessage{p.node_id, code, std::move(payload)});
      cv_.notify_all();
    };
    auto cfg = test_config(ip, policy.self_type);
    manager_ = std::make_unique<PeerManager>(identity_, cfg, std::move(policy), std::move(statics),
                                             max_peers, std::move(cb), redial);
  }

  static RedialPolicy fast_redial() {
    RedialPolicy r;
    r.initial = 100ms;
    r.max = 400ms;
    r.stable_after = 1000ms;
    return r;
  }

  PeerManager& pm() { return *manager_; }
  const crypto::NodeIdentity& identity() const { return identity_; }
  std::uint16_t port() const { return manager_->listen_port(); }
  void on_added(std::function<void(const PeerInfo&)> hook) { added_hook_ = std::move(hook); }
  // Off: wait_* only wait (a test that must not dial static nodes yet, or drives tick itself).
  void set_ticking(bool on) { ticking_ = on; }

  // Ticks every 20 ms (when ticking) until pred holds or the timeout passes. pred runs without
  // the recorder lock, so it may use the accessors below.
  bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 5000ms) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      if (ticking_) manager_->tick(Clock::now());
      if (pred()) return true;
      if (Clock::now() >= deadline) return false;
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, 20ms);  // woken early by any owner callback
    }
  }
  bool wait_peers(std::size_t n, std::chrono::milliseconds t = 5000ms) {
    return wait_until([&] { return manager_->peers().size() == n; }, t);
  }
  bool wait_rejections(const std::string& reason, std::uint64_t n) {
    return wait_until([&] { return manager_->rejection_counts().at(reason) >= n; });
  }

  std::vector<PeerInfo> added() {
    std::lock_guard lock(mu_);
    return added_;
  }
  std::vector<std::pair<PeerInfo, Error>> removed() {
    std::lock_guard lock(mu_);
    return removed_;
  }
  std::vector<testing::ReceivedMessage> messages() {
    std::lock_guard lock(mu_);
    return messages_;
  }

 private:
  crypto::NodeIdentity identity_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<PeerInfo> added_;
  std::vector<std::pair<PeerInfo, Error>> removed_;
  std::vector<testing::ReceivedMessage> messages_;
  std::function<void(const PeerInfo&)> added_hook_;
  bool ticking_ = true;
  std::unique_ptr<PeerManager> manager_;  // last: stopped before the recorders go away
};

AdmissionPolicy accept_all(NodeType self = NodeType::kPN) {
  AdmissionPolicy p;
  p.self_type = self;
  return p;
}

// A CN whose council holds itself and `other`, with CN_ALLOWLIST = {allowed_ip}.
AdmissionPolicy cn_policy(const crypto::NodeIdentity& self,
                          const std::vector<crypto::NodeIdentity>& council,
                          const std::string& allowed_ip,
                          const std::vector<crypto::NodeIdentity>& own_pns = {}) {
  AdmissionPolicy p;
  p.self_type = NodeType::kCN;
  p.council.insert(self.address);
  for (const auto& c : council) p.council.insert(c.address);
  p.cn_allowlist_ips = {allowed_ip};
  for (const auto& pn : own_pns) p.own_proxy_ids.insert(pn.node_id);
  return p;
}

bool dial(RecordingNode& from, ManagedNode& to, const std::string& to_ip) {
  return from.transport().dial(DialTarget{to_ip, to.port(), to.identity().node_id}).ok();
}

// The reason the refused side heard (the transport quotes the peer's disconnect message).
std::string heard_reason(RecordingNode& n) {
  if (!n.wait_closed()) return "<not closed>";
  return n.closed()[0].reason.message;
}

TEST(PeerManagerBackoff, DoublesFromInitialAndIsCapped) {
  RedialPolicy r;  // 500 ms doubling to 30 s
  EXPECT_EQ(redial_backoff(r, 0), 0ms);
  EXPECT_EQ(redial_backoff(r, 1), 500ms);
  EXPECT_EQ(redial_backoff(r, 2), 1000ms);
  EXPECT_EQ(redial_backoff(r, 3), 2000ms);
  EXPECT_EQ(redial_backoff(r, 6), 16000ms);
  EXPECT_EQ(redial_backoff(r, 7), 30000ms);  // 32 s capped
  EXPECT_EQ(redial_backoff(r, 8), 30000ms);
  EXPECT_EQ(redial_backoff(r, 4000000000u), 30000ms);  // no overflow after days of failures
}

TEST(PeerManager, CnRefusesCouncilCnFromNonAllowListedIpAndCountsIt) {
  auto b_id = fresh_identity();
  auto m_id = fresh_identity();
  ManagedNode m("127.0.0.1", cn_policy(m_id, {b_id}, "127.0.0.2"), {}, 50, m_id);
  RecordingNode b(test_config("127.0.0.3", NodeType::kCN), b_id);
  ASSERT_TRUE(m.pm().start().ok());
  ASSERT_TRUE(b.transport().start().ok());
  ASSERT_TRUE(dial(b, m, "127.0.0.1"));
  ASSERT_TRUE(m.wait_rejections("ip_not_allowlisted", 1));
  EXPECT_NE(heard_reason(b).find("ip_not_allowlisted"), std::string::npos);
  EXPECT_TRUE(m.pm().peers().empty());
  EXPECT_TRUE(m.added().empty());
  EXPECT_EQ(m.pm().rejection_counts().at("not_in_council"), 0u);
}

TEST(PeerManager, CnAcceptsCouncilCnFromAllowListedIpAndPassesMessagesBothWays) {
  auto b_id = fresh_identity();
  auto m_id = fresh_identity();
  ManagedNode m("127.0.0.1", cn_policy(m_id, {b_id}, "127.0.0.2"), {}, 50, m_id);
  RecordingNode b(test_config("127.0.0.2", NodeType::kCN), b_id);
  ASSERT_TRUE(m.pm().start().ok());
  ASSERT_TRUE(b.transport().start().ok());
  ASSERT_TRUE(dial(b, m, "127.0.0.1"));
  ASSERT_TRUE(m.wait_peers(1));
  const PeerInfo p = m.pm().peers()[0];
  EXPECT_EQ(p.node_id, b_id.node_id);
  EXPECT_EQ(p.type, NodeType::kCN);
  EXPECT_TRUE(p.inbound);
  ASSERT_EQ(m.added().size(), 1u);
  EXPECT_EQ(m.pm().peer_count_by_type().at(NodeType::kCN), 1u);
  EXPECT_EQ(m.pm().peer_count_by_type().at(NodeType::kPN), 0u);

  ASSERT_TRUE(m.pm().send(b_id.node_id, 0x10, text("from m")).ok());
  ASSERT_TRUE(b.wait_messages(1));
  EXPECT_EQ(b.messages()[0].payload, text("from m"));
  ASSERT_TRUE(b.wait_established());
  ASSERT_TRUE(b.transport().send(b.established()[0].id, 0x12, text("from b")).ok());
  ASSERT_TRUE(m.wait_until([&] { return !m.messages().empty(); }));
  EXPECT_EQ(m.messages()[0].code, 0x12);
  EXPECT_EQ(m.messages()[0].from, b_id.node_id);
  for (const auto& [reason, count] : m.pm().rejection_counts()) EXPECT_EQ(count, 0u) << reason;
}

TEST(PeerManager, CnRefusesStandbyCnNotInCouncilFromAllowListedIp) {
  auto active = fresh_identity();
  auto m_id = fresh_identity();
  ManagedNode m("127.0.0.1", cn_policy(m_id, {active}, "127.0.0.2"), {}, 50, m_id);
  RecordingNode standby(test_config("127.0.0.2", NodeType::kCN));  // its own, non-council key
  ASSERT_TRUE(m.pm().start().ok());
  ASSERT_TRUE(standby.transport().start().ok());
  ASSERT_TRUE(dial(standby, m, "127.0.0.1"));
  ASSERT_TRUE(m.wait_rejections("not_in_council", 1));
  EXPECT_NE(heard_reason(standby).find(crypto::to_checksum_hex(standby.identity().address)),
            std::string::npos);
  EXPECT_TRUE(m.pm().peers().empty());
}

TEST(PeerManager, CnAcceptsItsOwnPnAndRefusesAnotherPn) {
  auto own_pn = fresh_identity();
  auto m_id = fresh_identity();
  ManagedNode m("127.0.0.1", cn_policy(m_id, {}, "127.0.0.2", {own_pn}), {}, 50, m_id);
  RecordingNode pn1(test_config("127.0.0.4", NodeType::kPN), own_pn);
  RecordingNode pn2(test_config("127.0.0.5", NodeType::kPN));
  ASSERT_TRUE(m.pm().start().ok());
  ASSERT_TRUE(pn1.transport().start().ok());
  ASSERT_TRUE(pn2.transport().start().ok());
  ASSERT_TRUE(dial(pn1, m, "127.0.0.1"));
  ASSERT_TRUE(dial(pn2, m, "127.0.0.1"));
  ASSERT_TRUE(m.wait_rejections("not_own_proxy", 1));
  ASSERT_TRUE(m.wait_peers(1));
  EXPECT_EQ(m.pm().peers()[0].node_id, own_pn.node_id);
  EXPECT_EQ(m.pm().peer_count_by_type().at(NodeType::kPN), 1u);
  EXPECT_NE(heard_reason(pn2).find("not_own_proxy"), std::string::npos);
}

TEST(PeerManager, SecondConnectionWithAConnectedNodeIdIsRefused) {
  ManagedNode m("127.0.0.1", accept_all());
  auto shared = fresh_identity();  // two processes holding one nodekey
  RecordingNode first(test_config("127.0.0.2", NodeType::kPN), shared);
  RecordingNode second(test_config("127.0.0.6", NodeType::kPN), shared);
  ASSERT_TRUE(m.pm().start().ok());
  ASSERT_TRUE(first.transport().start().ok());
  ASSERT_TRUE(second.transport().start().ok());
  ASSERT_TRUE(dial(first, m, "127.0.0.1"));
  ASSERT_TRUE(m.wait_peers(1));
  ASSERT_TRUE(dial(second, m, "127.0.0.1"));
  ASSERT_TRUE(m.wait_rejections("duplicate_node_id", 1));
  EXPECT_NE(heard_reason(second).find("duplicate_node_id"), std::string::npos);
  ASSERT_EQ(m.pm().peers().size(), 1u);
  EXPECT_EQ(m.pm().peers()[0].remote_ip, "127.0.0.2");  // the first one stays
  EXPECT_TRUE(m.removed().empty());
}

TEST(PeerManager, MaxPeersRefusesBeyondTheLimitButNotStaticNodes) {
  RecordingNode st(test_config("127.0.0.7", NodeType::kPN));
  ASSERT_TRUE(st.transport().start().ok());
  ManagedNode m("127.0.0.1", accept_all(), {url_of(st, "127.0.0.7")}, 1);
  RecordingNode a(test_config("127.0.0.2", NodeType::kEN));
  RecordingNode b(test_config("127.0.0.3", NodeType::kEN));
  ASSERT_TRUE(m.pm().start().ok());
  ASSERT_TRUE(a.transport().start().ok());
  ASSERT_TRUE(b.transport().start().ok());
  m.set_ticking(false);  // the static node is not dialed yet
  ASSERT_TRUE(dial(a, m, "127.0.0.1"));
  ASSERT_TRUE(m.wait_until([&] { return m.pm().peer(a.identity().node_id).has_value(); }));
  ASSERT_TRUE(dial(b, m, "127.0.0.1"));
  ASSERT_TRUE(m.wait_rejections("too_many_peers", 1));
  // The static node is dialed by tick and admitted beyond the limit.
  m.set_ticking(true);
  ASSERT_TRUE(m.wait_peers(2));
  EXPECT_TRUE(m.pm().peer(st.identity().node_id).has_value());
  EXPECT_FALSE(m.pm().peer(b.identity().node_id).has_value());
}

TEST(PeerManager, StaticNodeIsRedialedAfterThePeerRestarts) {
  auto s_id = fresh_identity();
  auto s = std::make_unique<RecordingNode>(test_config("127.0.0.8", NodeType::kPN), s_id);
  ASSERT_TRUE(s->transport().start().ok());
  const std::uint16_t port = s->port();
  ManagedNode m("127.0.0.1", accept_all(), {url_of(s_id, "127.0.0.8", port)});
  ASSERT_TRUE(m.pm().start().ok());
  ASSERT_TRUE(m.wait_peers(1));
  EXPECT_FALSE(m.pm().peers()[0].inbound);

  s->transport().stop();
  ASSERT_TRUE(m.wait_until([&] { return m.removed().size() == 1; }));
  EXPECT_EQ(m.removed()[0].first.node_id, s_id.node_id);
  s.reset();

  auto cfg = test_config("127.0.0.8", NodeType::kPN);
  cfg.listen_port = port;
  RecordingNode s2(cfg, s_id);
  ASSERT_TRUE(s2.transport().start().ok());
  const auto restarted = Clock::now();
  ASSERT_TRUE(m.wait_peers(1, 5000ms));
  EXPECT_LT(Clock::now() - restarted, 3s);
  EXPECT_EQ(m.added().size(), 2u);
  ASSERT_TRUE(s2.wait_established());
  EXPECT_TRUE(s2.established()[0].inbound);
}

TEST(PeerManager, StaticNodeConnectedInboundIsNotRedialed) {
  RecordingNode s(test_config("127.0.0.9", NodeType::kPN));
  ASSERT_TRUE(s.transport().start().ok());
  ManagedNode m("127.0.0.1", accept_all(), {url_of(s, "127.0.0.9")});
  ASSERT_TRUE(m.pm().start().ok());
  m.set_ticking(false);  // the static node connects first, inbound
  ASSERT_TRUE(dial(s, m, "127.0.0.1"));
  ASSERT_TRUE(m.wait_until([&] { return m.pm().peers().size() == 1; }));
  // Ticks for a while: the static node is connected (inbound), so no dial goes out.
  const auto until = Clock::now() + 500ms;
  while (Clock::now() < until) {
    m.pm().tick(Clock::now());
    std::this_thread::sleep_for(20ms);
  }
  auto st = m.pm().static_nodes();
  ASSERT_EQ(st.size(), 1u);
  EXPECT_TRUE(st[0].connected);
  EXPECT_FALSE(st[0].dialing);
  EXPECT_EQ(s.established().size(), 1u);   // only its own dial
  EXPECT_EQ(s.accepted_ips().size(), 0u);  // nothing dialed in
}

TEST(PeerManager, UnreachableStaticNodeIsRedialedOnlyAfterItsBackoff) {
  std::uint16_t dead_port = 0;
  {
    RecordingNode gone(test_config("127.0.0.10", NodeType::kPN));
    ASSERT_TRUE(gone.transport().start().ok());
    dead_port = gone.port();
  }  // nothing listens there now: a dial is refused at once
  RedialPolicy redial;
  redial.initial = 500ms;
  redial.max = 1000ms;
  ManagedNode m("127.0.0.1", accept_all(), {url_of(fresh_identity(), "127.0.0.10", dead_port)}, 50,
                fresh_identity(), redial);
  ASSERT_TRUE(m.pm().start().ok());
  auto status = [&] { return m.pm().static_nodes()[0]; };
  // Waits (without ticking) until the dial in flight has failed `n` times in a row.
  auto failed = [&](unsigned n) {
    const auto until = Clock::now() + 3s;
    while ((status().dialing || status().failures < n) && Clock::now() < until) {
      std::this_thread::sleep_for(5ms);
    }
    return !status().dialing && status().failures == n;
  };
  // Synthetic time: only tick() sees it, so the schedule is exact. `dials` counts dials started.
  const auto t0 = Clock::now();
  m.pm().tick(t0);
  EXPECT_EQ(status().dials, 1u);
  ASSERT_TRUE(failed(1));

  m.pm().tick(t0 + 10ms);  // schedules the retry at t0 + 10 ms + 500 ms
  m.pm().tick(t0 + 509ms);
  EXPECT_EQ(status().dials, 1u);
  m.pm().tick(t0 + 510ms);
  EXPECT_EQ(status().dials, 2u);
  ASSERT_TRUE(failed(2));

  m.pm().tick(t0 + 600ms);  // second failure: 1000 ms
  m.pm().tick(t0 + 1599ms);
  EXPECT_EQ(status().dials, 2u);
  m.pm().tick(t0 + 1600ms);
  EXPECT_EQ(status().dials, 3u);
  ASSERT_TRUE(failed(3));

  m.pm().tick(t0 + 1700ms);  // third failure: capped at 1000 ms, not 2000 ms
  m.pm().tick(t0 + 2699ms);
  EXPECT_EQ(status().dials, 3u);
  m.pm().tick(t0 + 2700ms);
  EXPECT_EQ(status().dials, 4u);
  ASSERT_TRUE(failed(4));
}

TEST(PeerManager, AConnectionThatLastedResetsTheBackoff) {
  auto s_id = fresh_identity();
  std::uint16_t port = 0;
  {
    RecordingNode probe(test_config("127.0.0.11", NodeType::kPN));
    ASSERT_TRUE(probe.transport().start().ok());
    port = probe.port();
  }
  RedialPolicy redial;
  redial.initial = 10ms;
  redial.max = 20ms;
  redial.stable_after = 1000ms;
  ManagedNode m("127.0.0.1", accept_all(), {url_of(s_id, "127.0.0.11", port)}, 50, fresh_identity(),
                redial);
  ASSERT_TRUE(m.pm().start().ok());
  // Synthetic time throughout; each step ticks once, then waits (without ticking) for the dial it
  // started to finish, so no tick ever runs while a connection is coming up.
  auto t = Clock::now();
  auto step = [&] {
    m.pm().tick(t);
    t += 50ms;
    const auto until = Clock::now() + 3s;
    while (m.pm().static_nodes()[0].dialing && Clock::now() < until) {
      std::this_thread::sleep_for(2ms);
    }
  };
  for (int i = 0; i < 100 && m.pm().static_nodes()[0].failures < 2; ++i) step();
  ASSERT_EQ(m.pm().static_nodes()[0].failures, 2u);  // fails while the static node is down

  auto cfg = test_config("127.0.0.11", NodeType::kPN);
  cfg.listen_port = port;
  RecordingNode s(cfg, s_id);
  ASSERT_TRUE(s.transport().start().ok());
  for (int i = 0; i < 100 && m.pm().peers().empty(); ++i) step();
  ASSERT_EQ(m.pm().peers().size(), 1u);
  EXPECT_EQ(m.pm().static_nodes()[0].failures, 2u);  // a fresh connection proves nothing yet
  m.pm().tick(t);                                    // first tick that sees it connected
  m.pm().tick(t + 999ms);
  EXPECT_EQ(m.pm().static_nodes()[0].failures, 2u);
  m.pm().tick(t + 1000ms);
  EXPECT_EQ(m.pm().static_nodes()[0].failures, 0u);
}

TEST(PeerManager, ManagersListingEachOtherSettleOnOneConnection) {
  auto a_id = fresh_identity();
  auto b_id = fresh_identity();
  // Ports must be known before the other's static list: start with placeholders and redo.
  RecordingNode pa(test_config("127.0.0.12")), pb(test_config("127.0.0.13"));
  ASSERT_TRUE(pa.transport().start().ok());
  ASSERT_TRUE(pb.transport().start().ok());
  const std::uint16_t a_port = pa.port(), b_port = pb.port();
  pa.transport().stop();
  pb.transport().stop();

  auto a_cfg_policy = accept_all();
  RedialPolicy redial = ManagedNode::fast_redial();
  auto make = [&](const crypto::NodeIdentity& id, const std::string& ip, std::uint16_t port,
                  const KniUrl& other) {
    PeerManagerCallbacks none;
    auto cfg = test_config(ip, NodeType::kPN);
    cfg.listen_port = port;
    return std::make_unique<PeerManager>(id, cfg, a_cfg_policy, std::vector<KniUrl>{other}, 50,
                                         none, redial);
  };
  auto a = make(a_id, "127.0.0.12", a_port, url_of(b_id, "127.0.0.13", b_port));
  auto b = make(b_id, "127.0.0.13", b_port, url_of(a_id, "127.0.0.12", a_port));
  ASSERT_TRUE(a->start().ok());
  ASSERT_TRUE(b->start().ok());
  // Both dial at the same instant.
  const auto deadline = Clock::now() + 5s;
  bool settled = false;
  while (Clock::now() < deadline && !settled) {
    const auto now = Clock::now();
    a->tick(now);
    b->tick(now);
    std::this_thread::sleep_for(20ms);
    settled = a->peers().size() == 1 && b->peers().size() == 1 &&
              a->peers()[0].inbound != b->peers()[0].inbound;
  }
  ASSERT_TRUE(settled);
  // And it stays settled: same connection on both sides a while later.
  const ConnId a_conn = a->peers()[0].id, b_conn = b->peers()[0].id;
  const auto until = Clock::now() + 600ms;
  while (Clock::now() < until) {
    a->tick(Clock::now());
    b->tick(Clock::now());
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(a->peers().size(), 1u);
  ASSERT_EQ(b->peers().size(), 1u);
  EXPECT_EQ(a->peers()[0].id, a_conn);
  EXPECT_EQ(b->peers()[0].id, b_conn);
  EXPECT_EQ(a->rejection_counts().at("duplicate_node_id"), 0u);
  EXPECT_EQ(b->rejection_counts().at("duplicate_node_id"), 0u);
}

// Two identities with a < b (node IDs compare as bytes).
std::pair<crypto::NodeIdentity, crypto::NodeIdentity> ordered_pair() {
  auto a = fresh_identity(), b = fresh_identity();
  if (b.node_id < a.node_id) std::swap(a, b);
  return {a, b};
}

// M dialed static node X; then X's key connects in. Both ends keep the connection dialed by the
// lower node ID, so M keeps the inbound one only when X is the lower.
void opposite_direction_duplicate(bool manager_is_lower) {
  auto [low, high] = ordered_pair();
  const auto m_id = manager_is_lower ? low : high;
  const auto x_id = manager_is_lower ? high : low;
  RecordingNode x(test_config("127.0.0.14", NodeType::kPN), x_id);
  ASSERT_TRUE(x.transport().start().ok());
  ManagedNode m("127.0.0.1", accept_all(), {url_of(x, "127.0.0.14")}, 50, m_id);
  ASSERT_TRUE(m.pm().start().ok());
  ASSERT_TRUE(m.wait_peers(1));
  ASSERT_FALSE(m.pm().peers()[0].inbound);
  m.set_ticking(false);

  RecordingNode x_in(test_config("127.0.0.15", NodeType::kPN), x_id);
  ASSERT_TRUE(x_in.transport().start().ok());
  ASSERT_TRUE(dial(x_in, m, "127.0.0.1"));
  if (manager_is_lower) {
    ASSERT_TRUE(x_in.wait_closed());  // refused: our outbound one stays
    ASSERT_EQ(m.pm().peers().size(), 1u);
    EXPECT_FALSE(m.pm().peers()[0].inbound);
    EXPECT_TRUE(m.removed().empty());
  } else {
    ASSERT_TRUE(m.wait_until([&] { return m.removed().size() == 1 && m.added().size() == 2; }));
    EXPECT_EQ(m.removed()[0].second.code, "p2p.duplicate_replaced");
    EXPECT_FALSE(m.removed()[0].first.inbound);
    ASSERT_EQ(m.pm().peers().size(), 1u);
    EXPECT_TRUE(m.pm().peers()[0].inbound);
    EXPECT_EQ(m.pm().peers()[0].remote_ip, "127.0.0.15");
    ASSERT_TRUE(x.wait_closed());  // the replaced connection is closed, not left dangling
    EXPECT_TRUE(x_in.closed().empty());
  }
  // Settling a simultaneous dial is not a duplicate-key alarm.
  EXPECT_EQ(m.pm().rejection_counts().at("duplicate_node_id"), 0u);
}

TEST(PeerManager, OppositeDirectionDuplicateKeepsOurDialWhenWeAreLower) {
  opposite_direction_duplicate(true);
}

TEST(PeerManager, OppositeDirectionDuplicateKeepsTheirDialWhenTheyAreLower) {
  opposite_direction_duplicate(false);
}

TEST(PeerManager, PolicyChangeDisconnectsPeersItNowRefuses) {
  auto b_id = fresh_identity();
  auto m_id = fresh_identity();
  ManagedNode m("127.0.0.1", cn_policy(m_id, {b_id}, "127.0.0.2"), {}, 50, m_id);
  RecordingNode b(test_config("127.0.0.2", NodeType::kCN), b_id);
  ASSERT_TRUE(m.pm().start().ok());
  ASSERT_TRUE(b.transport().start().ok());
  ASSERT_TRUE(dial(b, m, "127.0.0.1"));
  ASSERT_TRUE(m.wait_peers(1));
  m.pm().set_policy(cn_policy(m_id, {}, "127.0.0.2"));  // b voted out of the council
  ASSERT_TRUE(m.wait_until([&] { return m.removed().size() == 1; }));
  EXPECT_EQ(m.removed()[0].first.node_id, b_id.node_id);
  EXPECT_EQ(m.pm().rejection_counts().at("not_in_council"), 1u);
  EXPECT_TRUE(m.pm().peers().empty());
  EXPECT_NE(heard_reason(b).find("not_in_council"), std::string::npos);
}

TEST(PeerManager, OwnStaticEntryIsSkippedAndOwnerMayCallBackFromCallbacks) {
  auto m_id = fresh_identity();
  ManagedNode m("127.0.0.1", accept_all(), {url_of(m_id, "127.0.0.1", 32323)}, 50, m_id);
  EXPECT_TRUE(m.pm().static_nodes().empty());
  // Re-entrant owner: sends and reads the peer set from inside on_peer_added.
  std::atomic<bool> sent{false};
  std::atomic<std::size_t> seen{0};
  m.on_added([&](const PeerInfo& p) {
    seen = m.pm().peers().size();
    sent = m.pm().send(p.id, 0x10, text("welcome")).ok();
  });
  RecordingNode b(test_config("127.0.0.2", NodeType::kEN));
  ASSERT_TRUE(m.pm().start().ok());
  ASSERT_TRUE(b.transport().start().ok());
  ASSERT_TRUE(dial(b, m, "127.0.0.1"));
  ASSERT_TRUE(b.wait_messages(1));
  EXPECT_EQ(b.messages()[0].payload, text("welcome"));
  EXPECT_TRUE(sent);
  EXPECT_EQ(seen.load(), 1u);
}

TEST(PeerManager, StartRefusesAPolicyForAnotherRole) {
  PeerManager pm(fresh_identity(), test_config("127.0.0.1", NodeType::kPN),
                 accept_all(NodeType::kCN), {}, 10, {});
  auto s = pm.start();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "p2p.config");
}

TEST(PeerManager, StopReportsEveryPeerRemoved) {
  ManagedNode m("127.0.0.1", accept_all());
  RecordingNode b(test_config("127.0.0.2", NodeType::kEN));
  ASSERT_TRUE(m.pm().start().ok());
  ASSERT_TRUE(b.transport().start().ok());
  ASSERT_TRUE(dial(b, m, "127.0.0.1"));
  ASSERT_TRUE(m.wait_peers(1));
  m.pm().stop();
  ASSERT_EQ(m.removed().size(), 1u);
  EXPECT_EQ(m.removed()[0].second.code, "p2p.shutdown");
  EXPECT_TRUE(m.pm().peers().empty());
  EXPECT_EQ(m.pm().send(b.identity().node_id, 0x10, text("x")).error().code, "p2p.unknown_peer");
}

}  // namespace
}  // namespace cc::p2p
