// Specification of the HA agent's state machine (ha/agent_core.h), driven Op by Op: a scripted
// host answers each Op and the test reads the sequence the core asked for — the takeover's
// steps in order and its floor, the fence and when the lease goes back, the switchover, the
// ceiling, the operator's failover, a node that signs without a permit. Milliseconds, no
// processes (the real ones run in tests/integration/ha_*; random schedules in tests/sim).
#include "ha/agent_core.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace cc::ha {

// Readable op sequences in failure messages.
void PrintTo(OpKind kind, std::ostream* os) { *os << op_name(kind); }
void PrintTo(AgentRole role, std::ostream* os) { *os << role_name(role); }

namespace {

using namespace std::chrono_literals;

LeaseClock::time_point t_ms(std::int64_t ms) {
  return LeaseClock::time_point(std::chrono::milliseconds(1'000'000 + ms));
}

AgentCoreConfig core_config(bool initial_active = true) {
  AgentCoreConfig c;
  c.name = "cn-b";
  c.initial_active = initial_active;
  c.ttl = 3000ms;
  c.loop = 500ms;
  c.permit_margin = 1000ms;
  c.node_hung_after = 2000ms;
  return c;
}

// A host whose answers the test scripts: by default a healthy node in sync that enforces
// permits, a lease store that grants, and an IP mover that works.
struct ScriptedHost {
  LeaseState lease;  // what read_lease shows
  std::uint64_t acquire_watermark = 0;
  bool acquire_exact = false;
  std::uint64_t next_epoch = 1;
  bool node_running = false;
  bool node_answers = true;
  bool node_enforces = true;
  bool node_in_sync = true;
  bool node_stops = true;  // stop/kill end the process
  std::uint64_t head = 100;
  std::optional<std::uint64_t> peers;  // ready peers the node reports (none: not reported)
  std::optional<std::uint64_t> seal;   // read_seal's answer
  std::optional<std::uint64_t> sign_state;
  std::optional<Error> renew_error;
  std::optional<Error> revoke_error;
  std::optional<Error> ip_error;
  std::vector<Op> ops;
  LeaseClock::time_point now = t_ms(0);

  OpResult answer(const Op& op) {
    ops.push_back(op);
    OpResult r;
    switch (op.kind) {
      case OpKind::read_lease:
        r.lease = lease;
        break;
      case OpKind::acquire_lease: {
        LeaseGrant g;
        g.epoch = next_epoch++;
        g.requested_at = now;
        g.ttl = 3000ms;
        g.watermark = acquire_watermark;
        g.watermark_exact = acquire_exact;
        r.grant = g;
        break;
      }
      case OpKind::renew_lease: {
        if (renew_error) return OpResult::failed(*renew_error);
        LeaseGrant g;
        g.epoch = op.epoch;
        g.requested_at = now;
        g.ttl = 3000ms;
        r.grant = g;
        break;
      }
      case OpKind::poll_node:
      case OpKind::wait_node_ready:
        r.node.running = node_running;
        r.node.answered = node_running && node_answers;
        r.node.in_sync = node_in_sync;
        r.node.head = head;
        r.node.enforces_permits = node_enforces;
        r.node.ready_peers = peers;
        break;
      case OpKind::start_node:
        node_running = true;
        break;
      case OpKind::stop_node:
      case OpKind::kill_node:
        if (node_stops) node_running = false;
        r.node.running = node_running;
        break;
      case OpKind::revoke_permit:
        if (revoke_error) return OpResult::failed(*revoke_error);
        break;
      case OpKind::read_seal:
        r.height = seal;
        break;
      case OpKind::read_sign_state:
        r.height = sign_state;
        break;
      case OpKind::acquire_ip:
        if (ip_error) return OpResult::failed(*ip_error);
        break;
      default:
        break;
    }
    return r;
  }

  // Runs the program `first` starts to its end.
  void run(AgentCore& core, Op first) {
    for (Op op = std::move(first); op.kind != OpKind::none;) op = core.done(answer(op), now);
  }
  void tick(AgentCore& core) { run(core, core.tick(now)); }
  // The first tick: the standby node starts and notes the witness, not yet in sync.
  void start_standby(AgentCore& core) {
    node_in_sync = false;
    tick(core);
    node_in_sync = true;
  }

  [[nodiscard]] std::vector<OpKind> kinds() const {
    std::vector<OpKind> k;
    for (const auto& op : ops) k.push_back(op.kind);
    return k;
  }
  [[nodiscard]] const Op* last(OpKind kind) const {
    for (auto it = ops.rbegin(); it != ops.rend(); ++it)
      if (it->kind == kind) return &*it;
    return nullptr;
  }
  [[nodiscard]] int count(OpKind kind) const {
    int n = 0;
    for (const auto& op : ops) n += op.kind == kind ? 1 : 0;
    return n;
  }
};

bool has_event(const std::vector<CoreNote>& notes, const std::string& name) {
  for (const auto& n : notes)
    if (n.kind == CoreNote::Kind::event && n.name == name) return true;
  return false;
}

// A free lease another host released at `watermark`.
LeaseState released_by_a(std::uint64_t watermark) {
  LeaseState l;
  l.holder = "cn-a";
  l.epoch = 4;
  l.watermark = watermark;
  l.watermark_exact = true;
  return l;
}

// The core of cn-b made active through a takeover of a lease cn-a released at #100.
struct ActiveHost {
  AgentCore core;
  ScriptedHost host;
  explicit ActiveHost(const AgentCoreConfig& c = core_config()) : core(c) {
    host.lease = released_by_a(100);
    host.acquire_watermark = 100;
    host.next_epoch = 5;
    host.start_standby(core);
    host.tick(core);  // takes over
    host.lease.held = true;
    host.lease.holder = "cn-b";
    host.lease.epoch = 5;
    host.ops.clear();
    (void)core.take_notes();
  }
};

TEST(HaAgentCore, AFreshStandbyStartsItsNodeThenTakesOverInTheOperatorGuidesOrder) {
  AgentCore core(core_config());
  ScriptedHost host;
  host.acquire_watermark = 0;
  host.start_standby(core);
  EXPECT_EQ(core.role(), AgentRole::standby);
  EXPECT_EQ(core.identity(), NodeIdentity::standby);
  host.ops.clear();
  host.tick(core);
  const std::vector<OpKind> expected = {
      OpKind::read_lease,    OpKind::poll_node,       OpKind::read_seal,  // baseline, once in sync
      OpKind::acquire_lease, OpKind::read_seal,                           // lease, witness
      OpKind::acquire_ip,    OpKind::stop_node,       OpKind::install_key,  // ip, stop, nodekey
      OpKind::start_node,    OpKind::wait_node_ready, OpKind::renew_lease,  // start, ready
      OpKind::grant_permit,  OpKind::read_lease};                           // permit
  EXPECT_EQ(host.kinds(), expected);
  EXPECT_EQ(core.role(), AgentRole::active);
  EXPECT_EQ(core.identity(), NodeIdentity::validator);
  EXPECT_EQ(host.last(OpKind::install_key)->identity, NodeIdentity::validator);
  EXPECT_EQ(host.last(OpKind::start_node)->identity, NodeIdentity::validator);
}

TEST(HaAgentCore, ATakeoverSignsFromTheWatermarkItsAcquireCarriedNotTheLeaseItRead) {
  // Issue #16, path 4: the lease read showed #100; cn-a raised it to #107 before our acquire.
  AgentCore core(core_config());
  ScriptedHost host;
  host.lease = released_by_a(100);
  host.acquire_watermark = 107;
  host.tick(core);
  host.tick(core);
  ASSERT_EQ(core.role(), AgentRole::active);
  const Op* grant = host.last(OpKind::grant_permit);
  ASSERT_NE(grant, nullptr);
  EXPECT_EQ(grant->floor, 108U);
  EXPECT_EQ(grant->ceiling, 107U);
  // The permit runs to the lease's expiry less the margin, on the boot clock.
  EXPECT_EQ(grant->deadline, host.now + 3000ms - 1000ms);
}

TEST(HaAgentCore, AFreshSealByTheValidatorAbortsTheTakeoverAndGivesTheLeaseBackUntouched) {
  AgentCore core(core_config());
  ScriptedHost host;
  host.lease = released_by_a(100);
  host.acquire_watermark = 100;
  host.acquire_exact = true;
  host.seal = 99;
  host.tick(core);
  host.tick(core);  // baseline #99, then... the same seal: takes over
  ASSERT_EQ(core.role(), AgentRole::active);

  AgentCore other(core_config());
  ScriptedHost h2;
  h2.lease = released_by_a(100);
  h2.acquire_watermark = 100;
  h2.acquire_exact = true;
  h2.seal = 99;
  h2.start_standby(other);
  // The baseline is noted in the tick that also acquires: a seal newer than it appears between.
  Op op = other.tick(h2.now);
  while (op.kind != OpKind::none) {
    if (op.kind == OpKind::acquire_lease) h2.seal = 101;
    op = other.done(h2.answer(op), h2.now);
  }
  EXPECT_EQ(other.role(), AgentRole::standby);
  const Op* back = h2.last(OpKind::release_lease);
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(back->watermark, 100U);
  EXPECT_TRUE(back->watermark_exact);
  EXPECT_EQ(h2.count(OpKind::start_node), 1);  // only the standby node
}

TEST(HaAgentCore, AHungNodeThatCannotBeKilledLeavesTheLeaseToExpire) {
  // Issue #16, path 3: neither revoked nor confirmed gone -> never released early.
  ActiveHost a;
  a.host.node_answers = false;
  a.host.node_stops = false;
  a.host.now += 2500ms;  // past HA_NODE_HUNG_MS without an answer
  a.host.tick(a.core);
  EXPECT_EQ(a.core.role(), AgentRole::fenced);
  EXPECT_EQ(a.host.count(OpKind::release_lease), 0);
  EXPECT_EQ(a.host.count(OpKind::kill_node), 1);
  const auto notes = a.core.take_notes();
  EXPECT_TRUE(has_event(notes, "node_hung"));
  EXPECT_TRUE(has_event(notes, "lease_left_to_expire"));
  EXPECT_FALSE(a.core.grant().has_value());
}

TEST(HaAgentCore, ALostLeaseRevokesStopsAndReleasesWithTheExactSignedHeight) {
  ActiveHost a;
  a.host.renew_error = make_error("lease.lost", "held by cn-c");
  a.host.sign_state = 131;
  a.host.tick(a.core);
  EXPECT_EQ(a.core.role(), AgentRole::fenced);
  const std::vector<OpKind> tail = {OpKind::revoke_permit,      OpKind::stop_node,
                                    OpKind::drop_validator_key, OpKind::read_sign_state,
                                    OpKind::release_ip,         OpKind::release_lease};
  auto kinds = a.host.kinds();
  ASSERT_GE(kinds.size(), tail.size());
  EXPECT_EQ(std::vector<OpKind>(kinds.end() - static_cast<long>(tail.size()), kinds.end()), tail);
  const Op* back = a.host.last(OpKind::release_lease);
  EXPECT_EQ(back->watermark, 131U);
  EXPECT_TRUE(back->watermark_exact);
  EXPECT_TRUE(has_event(a.core.take_notes(), "lease_lost"));
}

TEST(HaAgentCore, AnUnreachableStoreKeepsTryingThenFencesBeforeTheLeaseCouldExpire) {
  ActiveHost a;
  a.host.renew_error = make_error("lease.unavailable", "etcd down");
  a.host.now += 500ms;  // 2.5 s left of 3: one loop + the margin still fit
  a.host.tick(a.core);
  EXPECT_EQ(a.core.role(), AgentRole::active);
  a.host.now += 1000ms;  // 1.5 s left: a loop + the 1 s margin would reach the expiry
  a.host.tick(a.core);
  EXPECT_EQ(a.core.role(), AgentRole::fenced);
  EXPECT_TRUE(has_event(a.core.take_notes(), "lease_unreachable"));
}

TEST(HaAgentCore, ANodeThatSignsWithoutAPermitIsStoppedAndNeverGivenTheLease) {
  // Issue #16, path 2.
  AgentCore core(core_config());
  ScriptedHost host;
  host.lease = released_by_a(100);
  host.node_enforces = false;
  host.tick(core);
  host.tick(core);
  host.tick(core);
  EXPECT_EQ(host.count(OpKind::acquire_lease), 0);
  EXPECT_EQ(core.role(), AgentRole::standby);
  EXPECT_NE(core.note().find("REQUIRE_SIGNING_PERMIT"), std::string::npos);
  EXPECT_TRUE(has_event(core.take_notes(), "node_permit_not_enforced"));
  EXPECT_FALSE(host.node_running);
}

TEST(HaAgentCore, AValidatorNodeThatSignsWithoutAPermitIsFencedBeforeAnyPermit) {
  // The unit runs the same command line for both keys, but a validator node found not to
  // enforce permits at its start is fenced: no permit, the lease back.
  AgentCore core(core_config());
  ScriptedHost host;
  host.lease = released_by_a(100);
  host.start_standby(core);
  Op op = core.tick(host.now);
  while (op.kind != OpKind::none) {
    if (op.kind == OpKind::start_node) host.node_enforces = false;
    op = core.done(host.answer(op), host.now);
  }
  EXPECT_EQ(core.role(), AgentRole::fenced);
  EXPECT_EQ(host.count(OpKind::grant_permit), 0);
  EXPECT_EQ(host.last(OpKind::drop_validator_key)->detail, "fenced");
}

TEST(HaAgentCore, EveryWayOutOfActiveDropsTheValidatorKey) {
  // Issue #16, path 6: fence, switchover and shutdown each rewrite DATA_DIR's key.
  {
    ActiveHost a;
    a.host.renew_error = make_error("lease.lost", "gone");
    a.host.tick(a.core);
    ASSERT_NE(a.host.last(OpKind::drop_validator_key), nullptr);
  }
  {
    ActiveHost a;
    a.core.queue_command(7, CommandKind::switchover);
    a.host.tick(a.core);
    // Handed over, then (the same tick) a standby again with the standby key.
    EXPECT_EQ(a.core.role(), AgentRole::standby);
    EXPECT_EQ(a.core.identity(), NodeIdentity::standby);
    ASSERT_NE(a.host.last(OpKind::drop_validator_key), nullptr);
    EXPECT_EQ(a.host.last(OpKind::drop_validator_key)->detail, "handed over");
    EXPECT_EQ(a.host.last(OpKind::install_key)->identity, NodeIdentity::standby);
  }
  {
    ActiveHost a;
    a.host.run(a.core, a.core.shutdown(a.host.now));
    EXPECT_EQ(a.host.last(OpKind::drop_validator_key)->detail, "agent stopping");
    EXPECT_EQ(a.host.count(OpKind::release_lease), 1);  // handed over first
  }
}

TEST(HaAgentCore, ASwitchoverIsAcceptedThenReleasesTheExactWatermark) {
  ActiveHost a;
  a.host.sign_state = 140;
  a.core.queue_command(7, CommandKind::switchover);
  a.host.tick(a.core);
  const Op* answer = a.host.last(OpKind::answer_command);
  ASSERT_NE(answer, nullptr);
  EXPECT_EQ(answer->command_id, 7U);
  EXPECT_TRUE(answer->answer.accepted);
  const Op* back = a.host.last(OpKind::release_lease);
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(back->watermark, 140U);
  EXPECT_TRUE(back->watermark_exact);
  // The answer came before the node was stopped (the operator follows the steps in the status).
  const auto kinds = a.host.kinds();
  EXPECT_LT(std::find(kinds.begin(), kinds.end(), OpKind::answer_command) - kinds.begin(),
            std::find(kinds.begin(), kinds.end(), OpKind::stop_node) - kinds.begin());
}

TEST(HaAgentCore, AFailoverWhileTheLeaseIsHeldIsRefusedNamingTheHolder) {
  AgentCore core(core_config(false));
  ScriptedHost host;
  host.lease.held = true;
  host.lease.holder = "cn-a";
  host.lease.epoch = 3;
  host.tick(core);
  core.queue_command(9, CommandKind::failover);
  host.tick(core);
  const Op* answer = host.last(OpKind::answer_command);
  ASSERT_NE(answer, nullptr);
  ASSERT_TRUE(answer->answer.error.has_value());
  EXPECT_NE(answer->answer.error->message.find("held by cn-a"), std::string::npos);
  EXPECT_EQ(host.count(OpKind::acquire_lease), 0);
}

// Issue #17, item 3: one lost peer or one slow block never counts; no peer and no new head for
// HA_ISOLATED_MS hands over (revoke, stop, release with the exact watermark).
AgentCoreConfig isolating_config() {
  AgentCoreConfig c = core_config();
  c.isolated_after = 5000ms;
  return c;
}

TEST(HaAgentCore, AnActiveCutOffFromItsPeersHandsOverAfterTheIsolationTime) {
  ActiveHost a(isolating_config());
  a.host.peers = 0;  // cut off: its head stays at #100
  for (int i = 0; i < 10; ++i) {
    a.host.now += 500ms;
    a.host.tick(a.core);
    ASSERT_EQ(a.core.role(), AgentRole::active) << "after " << (i + 1) * 500 << " ms";
  }
  a.host.now += 500ms;  // 5 s without a peer or a block
  a.host.sign_state = 100;
  a.host.tick(a.core);
  EXPECT_EQ(a.core.role(), AgentRole::fenced);  // a standby from the next loop
  EXPECT_TRUE(has_event(a.core.take_notes(), "node_isolated"));
  EXPECT_EQ(a.host.count(OpKind::revoke_permit), 1);
  ASSERT_NE(a.host.last(OpKind::release_lease), nullptr);
  EXPECT_TRUE(a.host.last(OpKind::release_lease)->watermark_exact);
}

TEST(HaAgentCore, ANewBlockOrAPeerEndsTheIsolationCount) {
  ActiveHost a(isolating_config());
  a.host.peers = 0;
  for (int i = 0; i < 20; ++i) {
    a.host.now += 500ms;
    if (i % 8 == 7) ++a.host.head;  // a block every 4 s, though no peer is ready
    a.host.tick(a.core);
  }
  EXPECT_EQ(a.core.role(), AgentRole::active);
}

TEST(HaAgentCore, AHeightIsWrittenToTheLeaseBeforeThePermitCoversIt) {
  ActiveHost a;
  a.host.run(a.core, a.core.raise_ceiling(101, a.host.now));
  ASSERT_EQ(a.host.kinds(), (std::vector<OpKind>{OpKind::renew_lease, OpKind::renew_permit}));
  EXPECT_EQ(a.host.ops[0].watermark, 101U);
  EXPECT_EQ(a.host.ops[1].ceiling, 101U);
  EXPECT_EQ(a.core.ceiling(), 101U);
  // The store does not answer: the node's permit keeps its old ceiling (FAIL-CLOSED).
  a.host.ops.clear();
  a.host.renew_error = make_error("lease.unavailable", "etcd down");
  a.host.run(a.core, a.core.raise_ceiling(102, a.host.now));
  EXPECT_EQ(a.host.kinds(), (std::vector<OpKind>{OpKind::renew_lease}));
  EXPECT_EQ(a.core.ceiling(), 101U);
}

TEST(HaAgentCore, AFailedRenewalDuringASlowStepFailsThatStep) {
  AgentCore core(core_config());
  ScriptedHost host;
  host.lease = released_by_a(100);
  host.start_standby(core);
  Op op = core.tick(host.now);
  while (op.kind != OpKind::none) {
    if (op.kind == OpKind::acquire_ip) {
      ASSERT_TRUE(op.keeps_lease);
      host.now += 600ms;
      auto k = core.keepalive(host.now);
      ASSERT_TRUE(k.has_value());
      EXPECT_EQ(k->kind, OpKind::renew_lease);
      core.keepalive_done(OpResult::failed(make_error("lease.lost", "taken")), host.now);
      EXPECT_TRUE(core.keepalive_failed());
    }
    op = core.done(host.answer(op), host.now);
  }
  EXPECT_EQ(core.role(), AgentRole::standby);  // aborted before the node changed
  EXPECT_EQ(host.count(OpKind::release_lease), 1);
  EXPECT_EQ(host.count(OpKind::start_node), 1);
}

TEST(HaAgentCore, ARestartedAgentWaitsOutItsPreviousRunsHolding) {
  AgentCore core(core_config());
  ScriptedHost host;
  host.lease.held = true;
  host.lease.holder = "cn-b";
  host.lease.epoch = 3;
  host.tick(core);
  EXPECT_EQ(core.role(), AgentRole::starting);
  EXPECT_EQ(host.count(OpKind::start_node), 0);
  EXPECT_EQ(host.ops.front().kind, OpKind::drop_validator_key);  // a crashed active's key
}

}  // namespace
}  // namespace cc::ha
