// tests/sim/ha_simulator.h — a deterministic simulator of one HA cell (issue #16): two or three
// hosts, each running the agent's real decision code (ha::AgentCore) through an executor written
// here, a lease store with etcd's semantics, the validator's nodes with the real
// consensus::SignGuard (sign state in memory, clocks injected), and the council that asks the
// validator for its signatures. Time is simulated milliseconds; one seeded RNG draws every
// latency and every fault, so a seed replays exactly. No threads, sleeps or real clocks.
//
// Clocks, per host: `t` is real (simulated) time and the lease store's clock; the host's boot
// clock (ha::LeaseClock, what the core and the SignGuard see) is t + an offset, with an optional
// drift, and keeps counting while the host is frozen or suspended; its monotonic clock stops
// while it is suspended (used only by the negative control that gives it to the SignGuard); its
// wall clock may be stepped and is read by nothing that decides (the journal's time only).
//
// What runs on a host:
//   agent     an ha::AgentCore (recreated when the agent process restarts) and its executor:
//             a tick every `loop`, each Op carried out with simulated durations, keepalives
//             beside Ops that keep the lease, a ceiling raise when the node's SignGuard wants a
//             height above the ceiling (its long poll), operator commands, a graceful shutdown
//   node      a process started with the key in DATA_DIR: as the validator it owns a SignGuard
//             over the host's persisted sign state (floor_without_sign_state when there is none,
//             as node/validator.cpp), ready after a delay, in sync after another, then signs
//             what the council asks for (a digest unique to host and process, so two processes
//             never sign the same message)
//   DATA_DIR  the nodekey (standby or validator), the sign state, the journal's highest height
//
// The lease store (StoreModel) keeps the rules of ha/lease.h as etcd does: epochs from one
// revision counter that only rises; acquire only when free; renew/release only by holder and
// epoch, never resurrecting an expired holding; watermark max-merged; exactness, handover target
// and pause outliving expiry; expiry on the store's clock from the request's arrival; grants
// carry requested_at = the host's boot clock when the request was sent. Faults: unavailable
// windows, lost responses (applied, the host sees lease.unavailable), duplicated requests
// (applied twice), delayed responses (past the client's timeout they are lost).
//
// The council: four validators, ours (V) and three that never fail; the chain grows every
// block period with or without V (three of four are a quorum). Per height and round V is asked
// for seal + preprepare when it proposes, then prepare and commit; a round V should propose but
// does not ends in a round change (V signs roundchange for the next round). A block carries V's
// seal when V's commit for it left a SignGuard before the block was committed. A V node cut off
// from the council signs roundchanges for rounds of its own, as its timers fire.
//
// Faults (FaultKind): the agent crashing, frozen or stopped gracefully; the node hung, slow
// (requests carried out, answers too late), crashed, crashed with its sign state deleted,
// restarted behind the agent's back, unable to persist its sign state; the host frozen or
// suspended; wall-clock steps; the host cut off from the store or from the council; the store
// down, losing, duplicating or delaying responses; kills that fail; the council without quorum;
// the operator's switchover, failover, pause and resume. A fault may aim at whichever host is
// active when it strikes.
//
// Oracles, checked continuously (each counts its checks):
//   SIGN-1       no two different digests for one (height, round, kind) over every signature
//                that left any SignGuard of the validator key, over the whole run; and the
//                mechanism it rests on across takeovers: no height is signed before the lease
//                store's watermark covers it
//   KEY-1        at every event at most one node holds a permit its SignGuard would honour
//                (present, and its deadline - safety margin ahead on the guard's own clock)
//   FAIL-CLOSED  every signature that left carried the epoch of the store's live holding (not
//                expired, not released) by its host at that instant; none left while the sign
//                state could not be persisted; a host whose node does not enforce permits is
//                never active, its node never runs with the validator key and never signs
//   PROGRESS     for the tests: once the faults end, the validator seals again within a bound
//                (await_progress)
// Negative controls: `guard_uses_monotonic` (the SignGuard measures permits on the monotonic
// clock, which stops while suspended: issue #16 path 5), `separate_stores` (each host its own
// lease: two `local` leases on separate machines, path 7) and `ignore_sign_journal` (a node
// without sign state floors only above the head) must make the oracles fail.
//
// A run stops at its first violation (stop_at_violation); with `trace` it keeps its last events
// as text, which a failing test prints. Nothing here reads a real clock or starts a thread.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "consensus/sign_guard.h"
#include "consensus/signer.h"
#include "crypto/address.h"
#include "crypto/secp256k1.h"
#include "ha/agent_core.h"
#include "ha/lease.h"
#include "util/log.h"

namespace cc::hasim {

using ha::LeaseClock;
using Ms = std::int64_t;  // simulated milliseconds
using consensus::SignKind;

[[nodiscard]] inline LeaseClock::time_point boot_point(Ms ms) {
  return LeaseClock::time_point(std::chrono::milliseconds(ms));
}
[[nodiscard]] inline Ms boot_millis(LeaseClock::time_point t) { return util::boot_ms(t); }

// ---------------------------------------------------------------------------------- faults

enum class FaultKind : std::uint8_t {
  agent_crash,           // the agent process dies; restarted after `duration` (node keeps running)
  agent_freeze,          // SIGSTOP of the agent only, for `duration`
  agent_stop,            // graceful stop (core.shutdown), started again after `duration`
  node_hang,             // the node's control socket does not answer, it signs nothing
  node_crash,            // the node process exits
  signstate_loss,        // the node process exits and DATA_DIR/klay/signstate is deleted
  persist_failure,       // the sign state cannot be written (disk full) for `duration`
  host_freeze,           // agent and node stop; boot and monotonic clocks keep counting
  host_suspend,          // like a freeze, but the monotonic clock stops too
  wall_clock_step,       // the wall clock jumps by `amount` ms (nothing that decides reads it)
  store_partition,       // the host cannot reach the lease store
  council_partition,     // the host's node cannot reach the council
  store_unavailable,     // the lease store answers nobody
  store_lost_responses,  // requests applied, responses lost with `probability`
  store_duplicates,      // requests applied twice with `probability`
  store_delays,          // responses delayed by up to `amount` ms
  kill_fails,            // stop and kill report the node still running
  switchover,            // operator: `ha switchover` on the host that is active then
  manual_failover,       // operator: `ha failover` on a host that is not active then
  pause,                 // operator: `ha pause`, `ha resume` after `duration`
  council_stall,         // the council loses its quorum: no block, no round change
  node_restart,          // the node restarts outside the agent (`systemctl restart`, Restart=)
  node_slow,             // the node applies control requests but answers after the timeout
  count_
};
inline constexpr std::size_t kFaultKinds = static_cast<std::size_t>(FaultKind::count_);

[[nodiscard]] inline const char* fault_name(FaultKind k) {
  static constexpr std::array<const char*, kFaultKinds> names = {
      "agent_crash",       "agent_freeze",         "agent_stop",       "node_hang",
      "node_crash",        "signstate_loss",       "persist_failure",  "host_freeze",
      "host_suspend",      "wall_clock_step",      "store_partition",  "council_partition",
      "store_unavailable", "store_lost_responses", "store_duplicates", "store_delays",
      "kill_fails",        "switchover",           "manual_failover",  "pause",
      "council_stall",     "node_restart",         "node_slow"};
  return names[static_cast<std::size_t>(k)];
}

struct Fault {
  FaultKind kind = FaultKind::node_crash;
  std::size_t host = 0;  // ignored by store-wide faults; for switchover/manual_failover see below
  Ms at = 0;
  Ms duration = 0;
  double probability = 0;  // store_lost_responses, store_duplicates
  Ms amount = 0;           // wall_clock_step (may be negative), store_delays (max extra delay)
  // switchover: on whichever host is active at `at` (none active: not sent); manual_failover:
  // on `host` unless `pick_standby`, then on the first host that is not active at `at`.
  bool pick_standby = false;
  // Host faults: on the host whose agent is active at `at` (if any) instead of `host`.
  bool target_active = false;
};

// ---------------------------------------------------------------------------------- config

struct HostSetup {
  bool initial_active = false;   // HA_INITIAL_ROLE=active
  bool enforces_permits = true;  // REQUIRE_SIGNING_PERMIT=1 reaches the node
  Ms boot_offset = 0;            // boot clock = t + offset (+ drift)
  std::int64_t drift_ppm = 0;    // the host's clocks run this much fast (+) or slow (-)
  Ms agent_start = 0;            // when its agent process starts
};

struct HaSimConfig {
  std::uint64_t seed = 1;
  std::vector<HostSetup> hosts{HostSetup{true, true, 5'000'000, 0, 0},
                               HostSetup{false, true, 9'000'000, 0, 50}};
  // The agent (ha::AgentCoreConfig), scaled down so a schedule is short.
  Ms ttl = 3000;
  Ms loop = 500;
  Ms permit_margin = 1000;
  Ms node_hung_after = 2000;
  Ms node_ready_timeout = 5000;
  Ms node_restart_backoff = 1000;
  Ms permit_recheck = 10000;
  // The node.
  Ms safety_margin = 200;  // SignGuardOptions::safety_margin
  Ms node_start_min = 150, node_start_max = 500;
  Ms node_ready_min = 100, node_ready_max = 800;  // after the start: the control socket answers
  Ms node_sync_max = 800;                         // after ready: in sync with the network
  Ms stop_min = 30, stop_max = 250;
  Ms stop_grace = 800;      // a node that does not answer is SIGKILLed after this
  Ms socket_timeout = 300;  // a control request to a node that does not answer
  // The lease store.
  Ms store_latency_min = 1, store_latency_max = 6;
  Ms store_timeout = 500;  // the client gives a request up after this: lease.unavailable
  // The address mover.
  Ms ip_min = 20, ip_max = 200;
  double ip_slow = 0.1;      // a slow cloud API call (up to 2.5 s: keepalives run beside it)
  double ip_failure = 0.03;  // an acquire that fails (the takeover aborts before the node)
  // The council.
  Ms block_period = 1000;
  Ms round_timeout = 2000;
  std::uint64_t start_height = 100;
  // The node's --unsafe-ignore-sign-journal: without a sign state only the head sets the floor.
  bool ignore_sign_journal = false;
  // Negative controls.
  bool guard_uses_monotonic = false;
  bool separate_stores = false;
  // Running.
  bool stop_at_violation = true;
  bool trace = false;
  std::size_t trace_lines = 150;
};

// ---------------------------------------------------------------------------------- results

struct Violation {
  std::string oracle;  // SIGN-1, KEY-1, FAIL-CLOSED
  Ms at = 0;
  std::string detail;
};

struct HaSimStats {
  std::uint64_t events = 0;
  std::uint64_t signatures = 0;  // that left a SignGuard of the validator key (re-signs too)
  std::uint64_t blocks = 0;
  std::uint64_t sealed_blocks = 0;
  std::uint64_t takeovers = 0;  // failovers begun (automatic, manual, switchover)
  std::uint64_t takeovers_ok = 0;
  std::uint64_t fences = 0;
  std::uint64_t leases_left_to_expire = 0;
  std::uint64_t store_requests = 0;
  std::uint64_t store_lost = 0;
  std::uint64_t store_duplicated = 0;
  std::uint64_t commands_refused = 0;
  std::array<std::uint64_t, kFaultKinds> faults{};
  std::map<std::string, std::uint64_t> refusals;  // SignGuard refusals by code
  // Oracle checks and violations.
  std::uint64_t sign1_checks = 0, key1_checks = 0, failclosed_checks = 0;
  std::uint64_t sign1_violations = 0, key1_violations = 0, failclosed_violations = 0;

  void add(const HaSimStats& o) {
    events += o.events;
    signatures += o.signatures;
    blocks += o.blocks;
    sealed_blocks += o.sealed_blocks;
    takeovers += o.takeovers;
    takeovers_ok += o.takeovers_ok;
    fences += o.fences;
    leases_left_to_expire += o.leases_left_to_expire;
    store_requests += o.store_requests;
    store_lost += o.store_lost;
    store_duplicated += o.store_duplicated;
    commands_refused += o.commands_refused;
    for (std::size_t i = 0; i < kFaultKinds; ++i) faults[i] += o.faults[i];
    for (const auto& [k, v] : o.refusals) refusals[k] += v;
    sign1_checks += o.sign1_checks;
    key1_checks += o.key1_checks;
    failclosed_checks += o.failclosed_checks;
    sign1_violations += o.sign1_violations;
    key1_violations += o.key1_violations;
    failclosed_violations += o.failclosed_violations;
  }
};

// One signature that left a SignGuard of the validator key.
struct SigRecord {
  std::size_t host = 0;
  std::uint64_t node_incarnation = 0;
  std::uint64_t height = 0;
  std::uint32_t round = 0;
  SignKind kind = SignKind::kPrepare;
  Hash32 digest{};
  std::uint64_t epoch = 0;
  Ms at = 0;
  Ms wall_at = 0;  // the journal's "time": the host's wall clock, which may have been stepped
};

struct Block {
  std::uint64_t height = 0;
  std::uint32_t round = 0;
  bool v_sealed = false;  // carries the validator's commit seal
  Ms at = 0;
};

// What the core reported (CoreNote), with when and on which host.
struct NoteRecord {
  std::size_t host = 0;
  Ms at = 0;
  ha::CoreNote note;
};

// ---------------------------------------------------------------------------------- the store

// One lease with etcd's semantics (see the header comment); `now` is the store's clock.
class StoreModel {
 public:
  struct Holding {  // for the tests: who held the lease when, and how it ended
    std::string holder;
    std::uint64_t epoch = 0;
    Ms acquired_at = 0;
    std::uint64_t watermark_at_acquire = 0;
    bool released = false;
    Ms ended_at = -1;  // released at, or the expiry (-1: still live or renewable)
  };

  explicit StoreModel(Ms ttl) : ttl_(ttl) {}

  [[nodiscard]] bool live(Ms now) const { return epoch_ > 0 && !released_ && now < expires_; }
  [[nodiscard]] const std::string& holder() const { return holder_; }
  [[nodiscard]] std::uint64_t epoch() const { return epoch_; }
  [[nodiscard]] Ms expires() const { return expires_; }
  [[nodiscard]] std::uint64_t watermark() const { return watermark_; }
  [[nodiscard]] bool paused() const { return paused_; }
  [[nodiscard]] const std::vector<Holding>& history() const { return history_; }

  [[nodiscard]] ha::LeaseState read(Ms now) const {
    ha::LeaseState s;
    s.held = live(now);
    s.holder = holder_;
    s.epoch = epoch_;
    s.ttl_left = std::chrono::milliseconds(s.held ? expires_ - now : 0);
    s.watermark = watermark_;
    s.watermark_exact = exact_;
    s.handover_to = handover_to_;
    s.paused = paused_;
    s.paused_by = paused_by_;
    return s;
  }

  [[nodiscard]] Result<ha::LeaseGrant> acquire(const std::string& who, Ms now,
                                               LeaseClock::time_point requested_at) {
    if (live(now)) {
      return make_error("lease.held", "the lease is held by " + holder_ + " (epoch " +
                                          std::to_string(epoch_) + ", " +
                                          std::to_string(expires_ - now) + " ms left)");
    }
    close_history(now);
    epoch_ = ++revision_;
    holder_ = who;
    released_ = false;
    expires_ = now + ttl_;
    history_.push_back(Holding{who, epoch_, now, watermark_, false, -1});
    ha::LeaseGrant g;
    g.epoch = epoch_;
    g.requested_at = requested_at;
    g.ttl = std::chrono::milliseconds(ttl_);
    g.watermark = watermark_;
    g.watermark_exact = exact_;
    return g;
  }

  [[nodiscard]] Result<ha::LeaseGrant> renew(const std::string& who, std::uint64_t epoch,
                                             std::uint64_t watermark, Ms now,
                                             LeaseClock::time_point requested_at) {
    if (!live(now) || who != holder_ || epoch != epoch_) return lost(who, epoch, now);
    ++revision_;
    expires_ = now + ttl_;
    watermark_ = std::max(watermark_, watermark);
    exact_ = false;
    handover_to_.clear();
    ha::LeaseGrant g;
    g.epoch = epoch_;
    g.requested_at = requested_at;
    g.ttl = std::chrono::milliseconds(ttl_);
    return g;
  }

  [[nodiscard]] Status release(const std::string& who, std::uint64_t epoch, std::uint64_t watermark,
                               bool exact, const std::string& handover, Ms now) {
    if (!live(now) || who != holder_ || epoch != epoch_) return lost(who, epoch, now);
    ++revision_;
    released_ = true;
    watermark_ = std::max(watermark_, watermark);
    exact_ = exact;
    handover_to_ = handover;
    if (!history_.empty()) {
      history_.back().released = true;
      history_.back().ended_at = now;
    }
    return ok_status();
  }

  void set_paused(bool paused, const std::string& by) {
    ++revision_;
    paused_ = paused;
    paused_by_ = paused ? by : "";
  }

  // An operator deletes the state key (`etcdctl del <prefix>/state`): the replicated watermark,
  // exactness and handover target are forgotten; the holding and the revision counter are not.
  void wipe_state() {
    ++revision_;
    watermark_ = 0;
    exact_ = false;
    handover_to_.clear();
  }

  // Availability, as the fault windows set it.
  Ms down_until = 0;
  Ms lossy_until = 0;
  double loss_p = 0;
  Ms dup_until = 0;
  double dup_p = 0;
  Ms delay_until = 0;
  Ms delay_max = 0;

 private:
  [[nodiscard]] Error lost(const std::string& who, std::uint64_t epoch, Ms now) const {
    return make_error("lease.lost", who + " epoch " + std::to_string(epoch) +
                                        " does not hold the lease (holder " + holder_ + " epoch " +
                                        std::to_string(epoch_) +
                                        (live(now) ? ", live)" : ", not live)"));
  }
  void close_history(Ms now) {
    if (!history_.empty() && history_.back().ended_at < 0) {
      history_.back().ended_at = std::min(now, expires_);
    }
  }

  Ms ttl_;
  std::uint64_t revision_ = 0;
  std::uint64_t epoch_ = 0;
  std::string holder_;
  bool released_ = false;
  Ms expires_ = 0;
  std::uint64_t watermark_ = 0;
  bool exact_ = false;
  std::string handover_to_;
  bool paused_ = false;
  std::string paused_by_;
  std::vector<Holding> history_;
};

// ---------------------------------------------------------------------------------- the cell

class HaSim {
 public:
  struct CommandRecord {
    std::size_t host = 0;
    std::uint64_t id = 0;
    ha::CommandKind kind = ha::CommandKind::failover;
    Ms at = 0;
    std::vector<ha::CommandAnswer> answers;
    bool delivered = false;  // the agent was up to take it
  };

  explicit HaSim(HaSimConfig cfg)
      : cfg_(std::move(cfg)),
        rng_(cfg_.seed * 0x9E3779B97F4A7C15ull + 7),
        validator_key_(make_key(0x11)),
        validator_(crypto::address_of(validator_key_)) {
    // Thousands of schedules: the guards' log lines (a start per process, each refusal) would
    // drown the output; the oracles and the trace report what matters.
    logger("consensus")->set_level(spdlog::level::off);
    stores_.push_back(std::make_unique<StoreModel>(cfg_.ttl));
    for (std::size_t i = 0; i < cfg_.hosts.size(); ++i) {
      auto h = std::make_unique<Host>();
      h->index = i;
      h->name = std::string("ha-") + static_cast<char>('a' + i);
      h->setup = cfg_.hosts[i];
      h->local_head = cfg_.start_height;
      hosts_.push_back(std::move(h));
      if (cfg_.separate_stores && i > 0) stores_.push_back(std::make_unique<StoreModel>(cfg_.ttl));
    }
  }
  HaSim(const HaSim&) = delete;
  HaSim& operator=(const HaSim&) = delete;

  // ------------------------------------------------------------------ driving
  void start() {
    for (auto& h : hosts_) {
      Host* hp = h.get();
      post(h->setup.agent_start, [this, hp] { agent_start(*hp); });
      post(0, [this, hp] { node_timer(*hp); });
    }
    post(0, [this] { start_round(cfg_.start_height + 1, 0); });
  }

  void add_fault(const Fault& f) {
    faults_end_ = std::max(faults_end_, f.at + std::max<Ms>(f.duration, 0));
    post(f.at, [this, f] { inject(f); });
  }
  [[nodiscard]] Ms faults_end() const { return faults_end_; }

  // Runs events up to and including `until`; false once a violation stopped the run.
  bool run_until(Ms until) {
    while (!queue_.empty() && queue_.top().at <= until) {
      if (stopped_) return false;
      step();
    }
    if (!stopped_) now_ = std::max(now_, until);
    return !stopped_;
  }
  // Runs until `done()` holds (checked after every event) or `deadline`; true when it held.
  bool run_until(const std::function<bool()>& done, Ms deadline) {
    if (done()) return true;
    while (!queue_.empty() && queue_.top().at <= deadline && !stopped_) {
      step();
      if (done()) return true;
    }
    if (!stopped_) now_ = std::max(now_, deadline);
    return done();
  }
  // PROGRESS: `blocks` blocks carrying the validator's seal committed after `from`, within
  // `window`. Returns when the last of them was committed (relative to `from`), if they were.
  std::optional<Ms> await_progress(Ms from, Ms window, std::size_t blocks) {
    std::size_t seen = 0;
    std::size_t sealed = 0;
    Ms last = 0;
    auto done = [&] {
      for (; seen < chain_.size(); ++seen) {
        if (chain_[seen].at > from && chain_[seen].v_sealed) {
          ++sealed;
          last = chain_[seen].at;
        }
      }
      return sealed >= blocks;
    };
    if (!run_until(done, from + window)) return std::nullopt;
    return last - from;
  }

  // Scenario hooks: called when a host's core asks for an Op (before it is carried out: a fault
  // injected here, e.g. freezing the agent, comes before the Op's request leaves).
  std::function<void(std::size_t host, const ha::Op&)> on_op;

  // ------------------------------------------------------------------ state, for tests
  [[nodiscard]] Ms now() const { return now_; }
  [[nodiscard]] std::size_t host_count() const { return hosts_.size(); }
  [[nodiscard]] const std::string& name(std::size_t i) const { return hosts_[i]->name; }
  [[nodiscard]] const StoreModel& store(std::size_t i = 0) const { return *stores_[i]; }
  void wipe_store_state() {
    for (auto& s : stores_) s->wipe_state();
    log_line("operator: the lease store's state key deleted (watermark forgotten)");
  }
  [[nodiscard]] bool agent_up(std::size_t i) const { return hosts_[i]->core != nullptr; }
  [[nodiscard]] std::optional<ha::AgentRole> role(std::size_t i) const {
    if (!hosts_[i]->core) return std::nullopt;
    return hosts_[i]->core->role();
  }
  [[nodiscard]] const ha::AgentCore* core(std::size_t i) const { return hosts_[i]->core.get(); }
  [[nodiscard]] std::optional<std::size_t> active_host() const {
    for (const auto& h : hosts_) {
      if (h->core && h->core->role() == ha::AgentRole::active) return h->index;
    }
    return std::nullopt;
  }
  [[nodiscard]] bool node_running(std::size_t i) const { return hosts_[i]->node_running; }
  [[nodiscard]] ha::NodeIdentity node_key(std::size_t i) const {
    return hosts_[i]->node_running ? hosts_[i]->node_key : ha::NodeIdentity::none;
  }
  [[nodiscard]] ha::NodeIdentity datadir_key(std::size_t i) const { return hosts_[i]->datadir_key; }
  [[nodiscard]] const consensus::SignGuard* guard(std::size_t i) const {
    return hosts_[i]->guard.get();
  }
  [[nodiscard]] const std::optional<consensus::SignGuardState>& signstate(std::size_t i) const {
    return hosts_[i]->signstate;
  }
  [[nodiscard]] std::optional<std::uint64_t> journal_max(std::size_t i) const {
    return hosts_[i]->journal_max;
  }
  // Whether host i's node holds a permit its SignGuard would honour now (KEY-1's question).
  [[nodiscard]] bool permit_honoured(std::size_t i) const { return honours_permit(*hosts_[i]); }
  [[nodiscard]] Ms boot_now(std::size_t i) const { return boot_of(*hosts_[i], now_); }
  [[nodiscard]] Ms mono_now(std::size_t i) const { return mono_of(*hosts_[i], now_); }
  [[nodiscard]] std::optional<std::size_t> ip_holder() const { return ip_holder_; }
  [[nodiscard]] std::uint64_t head() const { return cfg_.start_height + chain_.size(); }
  [[nodiscard]] const std::vector<Block>& chain() const { return chain_; }
  [[nodiscard]] const std::vector<SigRecord>& signatures() const { return sigs_; }
  [[nodiscard]] const std::vector<NoteRecord>& notes() const { return notes_; }
  [[nodiscard]] const std::vector<CommandRecord>& commands() const { return commands_; }
  [[nodiscard]] const std::vector<Violation>& violations() const { return violations_; }
  [[nodiscard]] const HaSimStats& stats() const { return stats_; }
  [[nodiscard]] const std::deque<std::string>& trace() const { return trace_; }
  [[nodiscard]] std::uint64_t fingerprint() const { return fingerprint_; }
  [[nodiscard]] const Address& validator() const { return validator_; }
  // The first time two cores were active at once (each believing it holds the lease), if ever.
  [[nodiscard]] std::optional<Ms> two_active_at() const { return two_active_at_; }
  // How many notes of this event name (CoreNote::Kind::event) host i's core reported.
  [[nodiscard]] std::size_t count_events(std::size_t i, const std::string& name) const {
    std::size_t n = 0;
    for (const auto& r : notes_) {
      n += r.host == i && r.note.kind == ha::CoreNote::Kind::event && r.note.name == name;
    }
    return n;
  }
  // The grant_permit Ops host i's core asked for (epoch, floor), in order.
  [[nodiscard]] const std::vector<ha::Op>& grants(std::size_t i) const { return hosts_[i]->grants; }
  // The acquire grants host i's executor handed to its core, in order.
  [[nodiscard]] const std::vector<ha::LeaseGrant>& acquired(std::size_t i) const {
    return hosts_[i]->acquired;
  }
  // The lease states host i's core was shown (read_lease results), in order.
  [[nodiscard]] const std::vector<ha::LeaseState>& reads(std::size_t i) const {
    return hosts_[i]->reads;
  }

  // Operator actions a scenario may take directly.
  void set_paused(bool paused) {
    for (auto& s : stores_) s->set_paused(paused, "operator");
    log_line("operator: ha " + std::string(paused ? "pause" : "resume"));
  }
  void command(std::size_t i, ha::CommandKind kind) { send_command(*hosts_[i], kind); }

  [[nodiscard]] std::string summary() const {
    std::ostringstream o;
    o << "t=" << now_ << " head #" << head() << " sealed " << stats_.sealed_blocks << "/"
      << stats_.blocks << " signatures " << stats_.signatures << " takeovers " << stats_.takeovers
      << " fences " << stats_.fences;
    for (const auto& h : hosts_) {
      o << " | " << h->name << " " << (h->core ? ha::role_name(h->core->role()) : "agent-down")
        << " node "
        << (h->node_running ? (h->node_key == ha::NodeIdentity::validator ? "validator" : "standby")
                            : "stopped");
    }
    return o.str();
  }

 private:
  // ------------------------------------------------------------------ the model's parts
  struct Want {
    std::uint64_t height = 0;
    std::uint32_t round = 0;
    SignKind kind = SignKind::kPrepare;
    bool operator==(const Want&) const = default;
  };

  struct Host {
    std::size_t index = 0;
    std::string name;
    HostSetup setup;
    // agent process
    std::unique_ptr<ha::AgentCore> core;
    std::uint64_t agent_inc = 0;
    Ms agent_frozen_until = 0;
    bool program = false;  // a core program runs
    std::uint64_t op_seq = 0;
    ha::Op op;
    Ms op_sent = 0;
    bool op_in_flight = false;
    bool keepalive_in_flight = false;
    std::optional<ha::OpResult> held_result;  // the Op ended while a keepalive was out
    bool tick_due = false;
    bool ceiling_due = false;
    bool ceiling_notified = false;
    bool stop_requested = false;
    bool shutting_down = false;
    Ms restart_at = -1;  // after a graceful stop
    // node process
    bool node_running = false;
    std::uint64_t node_inc = 0;
    ha::NodeIdentity node_key = ha::NodeIdentity::none;
    std::optional<int> exit_status;
    Ms ready_at = 0;
    Ms synced_at = 0;
    Ms hung_until = 0;
    Ms slow_until = 0;  // answers control requests only after the agent's timeout
    bool gate_open = false;
    bool started_without_state = false;
    std::unique_ptr<consensus::SignGuard> guard;
    std::vector<Want> signed_now;  // what this process signed at the council's current height
    std::uint64_t signed_height = 0;
    std::uint64_t local_round_height = 0;  // cut off from the council: its own round timers
    std::uint32_t local_round = 0;
    Ms next_local_round = 0;
    // DATA_DIR and the machine
    ha::NodeIdentity datadir_key = ha::NodeIdentity::none;
    std::optional<consensus::SignGuardState> signstate;
    std::optional<std::uint64_t> journal_max;
    std::uint64_t local_head = 0;  // its chaindata's head
    Ms host_frozen_until = 0;
    std::vector<std::pair<Ms, Ms>> suspends;
    Ms store_cut_until = 0;
    Ms council_cut_until = 0;
    Ms kill_fails_until = 0;
    Ms persist_fails_until = 0;
    Ms wall_offset = 0;
    // for the tests
    std::vector<ha::Op> grants;
    std::vector<ha::LeaseGrant> acquired;
    std::vector<ha::LeaseState> reads;
  };

  struct Round {
    std::uint64_t height = 0;
    std::uint32_t round = 0;
    Ms started = 0;
    bool proposal = false;
    bool v_commit = false;
    std::uint64_t token = 0;
    std::vector<Want> wants;
  };

  struct Event {
    Ms at;
    std::uint64_t seq;
    std::function<void()> fn;
  };
  struct Later {
    bool operator()(const Event& a, const Event& b) const {
      return a.at != b.at ? a.at > b.at : a.seq > b.seq;
    }
  };

  static crypto::PrivateKey make_key(std::uint8_t fill) {
    FixedBytes<32> s{};
    s.fill(fill);
    auto key = crypto::PrivateKey::from_bytes(ByteView(s.data(), s.size()));
    if (!key.ok()) std::abort();  // 0x11.. is a valid secp256k1 scalar
    return *key;
  }

  // ------------------------------------------------------------------ clocks
  [[nodiscard]] static Ms drifted(const Host& h, Ms t) {
    return t + t * h.setup.drift_ppm / 1'000'000;
  }
  [[nodiscard]] static Ms boot_of(const Host& h, Ms t) {
    return h.setup.boot_offset + drifted(h, t);
  }
  [[nodiscard]] static Ms mono_of(const Host& h, Ms t) {
    Ms asleep = 0;
    for (const auto& [from, until] : h.suspends) {
      if (t > from) asleep += std::min(t, until) - from;
    }
    return boot_of(h, t) - asleep;
  }
  [[nodiscard]] LeaseClock::time_point boot_tp(const Host& h) const {
    return boot_point(boot_of(h, now_));
  }

  // ------------------------------------------------------------------ events
  void post(Ms at, std::function<void()> fn) {
    queue_.push(Event{std::max(at, now_), ++seq_, std::move(fn)});
  }
  [[nodiscard]] bool host_frozen(const Host& h) const { return now_ < h.host_frozen_until; }
  [[nodiscard]] bool agent_frozen(const Host& h) const {
    return now_ < h.agent_frozen_until || host_frozen(h);
  }
  // An event of the agent process: dropped once it died, held while it is frozen.
  void post_agent(Host& h, Ms at, std::function<void()> fn) {
    const std::uint64_t inc = h.agent_inc;
    Host* hp = &h;
    post(at, [this, hp, inc, fn = std::move(fn)]() mutable {
      if (hp->agent_inc != inc || !hp->core) return;
      if (agent_frozen(*hp)) {
        post_agent(*hp, std::max(hp->agent_frozen_until, hp->host_frozen_until), std::move(fn));
        return;
      }
      fn();
    });
  }
  // An event of the node process: dropped once it exited, held while its host is frozen.
  void post_node(Host& h, Ms at, std::function<void()> fn) {
    const std::uint64_t inc = h.node_inc;
    Host* hp = &h;
    post(at, [this, hp, inc, fn = std::move(fn)]() mutable {
      if (hp->node_inc != inc || !hp->node_running) return;
      if (host_frozen(*hp)) {
        post_node(*hp, hp->host_frozen_until, std::move(fn));
        return;
      }
      fn();
    });
  }

  void step() {
    Event ev = queue_.top();
    queue_.pop();
    now_ = std::max(now_, ev.at);
    ++stats_.events;
    ev.fn();
    check_every_event();
  }

  Ms uniform(Ms lo, Ms hi) {
    if (hi <= lo) return lo;
    return lo + static_cast<Ms>(rng_() % static_cast<std::uint64_t>(hi - lo + 1));
  }
  bool chance(double p) {
    if (p <= 0) return false;
    return static_cast<double>(rng_() % 1'000'000) < p * 1'000'000.0;
  }

  void log_line(const std::string& what) {
    if (!cfg_.trace) return;
    trace_.push_back("t=" + std::to_string(now_) + " " + what);
    while (trace_.size() > cfg_.trace_lines) trace_.pop_front();
  }
  void mix(std::uint64_t v) {  // FNV-1a over what the run did (the wall clock test compares)
    for (int i = 0; i < 8; ++i) {
      fingerprint_ ^= (v >> (8 * i)) & 0xff;
      fingerprint_ *= 0x100000001b3ull;
    }
  }

  // ------------------------------------------------------------------ oracles
  void violation(const std::string& oracle, const std::string& detail) {
    if (oracle == "SIGN-1") ++stats_.sign1_violations;
    if (oracle == "KEY-1") ++stats_.key1_violations;
    if (oracle == "FAIL-CLOSED") ++stats_.failclosed_violations;
    violations_.push_back(Violation{oracle, now_, detail});
    log_line("VIOLATION " + oracle + ": " + detail);
    if (cfg_.stop_at_violation) stopped_ = true;
  }

  [[nodiscard]] Ms guard_now(const Host& h) const {
    return cfg_.guard_uses_monotonic ? mono_of(h, now_) : boot_of(h, now_);
  }
  [[nodiscard]] bool honours_permit(const Host& h) const {
    if (!h.node_running || !h.guard) return false;
    const auto p = h.guard->permit();
    return p && guard_now(h) + cfg_.safety_margin < boot_millis(p->deadline);
  }

  void check_every_event() {
    // KEY-1: at most one node holds a permit its SignGuard would honour.
    ++stats_.key1_checks;
    std::size_t holders = 0;
    std::string who;
    for (const auto& h : hosts_) {
      if (honours_permit(*h)) {
        ++holders;
        who += " " + h->name + "(epoch " + std::to_string(h->guard->permit()->epoch) + ")";
      }
    }
    if (holders > 1) violation("KEY-1", std::to_string(holders) + " valid permits:" + who);
    // FAIL-CLOSED: a host whose node does not enforce permits is never made the validator.
    for (const auto& h : hosts_) {
      if (h->setup.enforces_permits) continue;
      if (h->core && h->core->role() == ha::AgentRole::active) {
        violation("FAIL-CLOSED", h->name + " is active although its node does not enforce permits");
      }
      if (h->node_running && h->node_key == ha::NodeIdentity::validator) {
        violation("FAIL-CLOSED", h->name +
                                     "'s node runs with the validator key although it does "
                                     "not enforce permits");
      }
    }
    std::size_t active = 0;
    for (const auto& h : hosts_) {
      active += h->core && h->core->role() == ha::AgentRole::active ? 1 : 0;
    }
    if (active > 1 && !two_active_at_) two_active_at_ = now_;
  }

  // Called by a SignGuard's journal hook: the signature has left.
  void on_signature(Host& h, const consensus::SignatureRecord& r) {
    SigRecord s{h.index,         h.node_inc,     r.request.height,
                r.request.round, r.request.kind, r.request.digest,
                r.epoch,         now_,           now_ + h.wall_offset};
    sigs_.push_back(s);
    ++stats_.signatures;
    h.journal_max = std::max(h.journal_max.value_or(0), r.request.height);
    mix(0x5160 ^ (h.index << 8) ^ (r.request.height << 16) ^ r.request.round);
    log_line(h.name + " SIGNED #" + std::to_string(r.request.height) + " r" +
             std::to_string(r.request.round) + " " +
             std::string(consensus::to_string(r.request.kind)) + " epoch " +
             std::to_string(r.epoch));
    // SIGN-1
    ++stats_.sign1_checks;
    const auto key = std::make_tuple(r.request.height, r.request.round,
                                     static_cast<std::uint8_t>(r.request.kind));
    auto [it, fresh] = signed_.emplace(key, std::make_pair(r.request.digest, h.index));
    if (!fresh && it->second.first != r.request.digest) {
      violation("SIGN-1", "two digests at #" + std::to_string(r.request.height) + " round " +
                              std::to_string(r.request.round) + " " +
                              std::string(consensus::to_string(r.request.kind)) + ": by " +
                              hosts_[it->second.second]->name + " and by " + h.name + " (epoch " +
                              std::to_string(r.epoch) + ")");
    }
    // SIGN-1 across a takeover rests on this: a height is written to the lease store (the
    // watermark) before the node may sign there, so the next holder's floor is above it.
    if (h.setup.enforces_permits && r.request.height > store_for(h).watermark()) {
      violation("SIGN-1", h.name + " signed #" + std::to_string(r.request.height) +
                              " above the replicated watermark #" +
                              std::to_string(store_for(h).watermark()));
    }
    // FAIL-CLOSED: nothing leaves while the sign state cannot be persisted, nothing from a node
    // that does not enforce permits, and only with the epoch of a live holding of this host.
    ++stats_.failclosed_checks;
    if (!h.setup.enforces_permits) {
      violation("FAIL-CLOSED", h.name + " signed #" + std::to_string(r.request.height) + " " +
                                   std::string(consensus::to_string(r.request.kind)) +
                                   " without a permit: its node does not enforce permits");
    }
    if (now_ < h.persist_fails_until) {
      violation("FAIL-CLOSED", h.name + " signed #" + std::to_string(r.request.height) +
                                   " while its sign state could not be persisted");
    }
    if (h.setup.enforces_permits) {
      const StoreModel& s0 = store_for(h);
      if (!s0.live(now_) || s0.epoch() != r.epoch || s0.holder() != h.name) {
        violation("FAIL-CLOSED", h.name + " signed #" + std::to_string(r.request.height) + " " +
                                     std::string(consensus::to_string(r.request.kind)) +
                                     " with epoch " + std::to_string(r.epoch) +
                                     " but the store's holding is " + s0.holder() + " epoch " +
                                     std::to_string(s0.epoch()) +
                                     (s0.live(now_) ? " (live)" : " (not live)"));
      }
    }
  }

  // ------------------------------------------------------------------ faults
  void inject(const Fault& f) {
    ++stats_.faults[static_cast<std::size_t>(f.kind)];
    std::size_t target = std::min(f.host, hosts_.size() - 1);
    if (f.target_active) target = active_host().value_or(target);
    Host& h = *hosts_[target];
    const Ms until = now_ + f.duration;
    std::string line = std::string("FAULT ") + fault_name(f.kind) + " " + h.name + " for " +
                       std::to_string(f.duration) + " ms";
    switch (f.kind) {
      case FaultKind::agent_crash:
        agent_crash(h);
        post(until, [this, &h] {
          if (!h.core) agent_start(h);
        });
        break;
      case FaultKind::agent_freeze:
        h.agent_frozen_until = std::max(h.agent_frozen_until, until);
        break;
      case FaultKind::agent_stop:
        if (h.core) {
          post_agent(h, now_, [this, &h, until] {
            if (h.shutting_down || h.stop_requested) return;
            h.stop_requested = true;
            h.restart_at = until;
            if (!h.program) begin_shutdown(h);
          });
        }
        break;
      case FaultKind::node_hang:
        if (h.node_running) h.hung_until = std::max(h.hung_until, until);
        break;
      case FaultKind::node_crash:
        node_exit(h, 1);
        break;
      case FaultKind::signstate_loss:
        node_exit(h, -1);
        h.signstate.reset();
        break;
      case FaultKind::persist_failure:
        h.persist_fails_until = std::max(h.persist_fails_until, until);
        break;
      case FaultKind::host_freeze:
        h.host_frozen_until = std::max(h.host_frozen_until, until);
        break;
      case FaultKind::host_suspend:
        h.host_frozen_until = std::max(h.host_frozen_until, until);
        h.suspends.emplace_back(now_, until);
        break;
      case FaultKind::wall_clock_step:
        h.wall_offset += f.amount;  // read by nothing that decides: that is the point
        line += " (" + std::to_string(f.amount) + " ms step)";
        break;
      case FaultKind::store_partition:
        h.store_cut_until = std::max(h.store_cut_until, until);
        break;
      case FaultKind::council_partition:
        h.council_cut_until = std::max(h.council_cut_until, until);
        break;
      case FaultKind::store_unavailable:
        for (auto& s : stores_) s->down_until = std::max(s->down_until, until);
        line = "FAULT store_unavailable for " + std::to_string(f.duration) + " ms";
        break;
      case FaultKind::store_lost_responses:
        for (auto& s : stores_) {
          s->lossy_until = std::max(s->lossy_until, until);
          s->loss_p = f.probability;
        }
        line = "FAULT store_lost_responses p=" + std::to_string(f.probability);
        break;
      case FaultKind::store_duplicates:
        for (auto& s : stores_) {
          s->dup_until = std::max(s->dup_until, until);
          s->dup_p = f.probability;
        }
        line = "FAULT store_duplicates p=" + std::to_string(f.probability);
        break;
      case FaultKind::store_delays:
        for (auto& s : stores_) {
          s->delay_until = std::max(s->delay_until, until);
          s->delay_max = f.amount;
        }
        line = "FAULT store_delays up to " + std::to_string(f.amount) + " ms";
        break;
      case FaultKind::kill_fails:
        h.kill_fails_until = std::max(h.kill_fails_until, until);
        break;
      case FaultKind::switchover: {
        auto a = active_host();
        line = "OPERATOR switchover";
        if (a) {
          line += " on " + hosts_[*a]->name;
          send_command(*hosts_[*a], ha::CommandKind::switchover);
        }
        break;
      }
      case FaultKind::manual_failover: {
        Host* target = &h;
        if (f.pick_standby) {
          target = nullptr;
          for (auto& c : hosts_) {
            if (!c->core || c->core->role() != ha::AgentRole::active) {
              target = c.get();
              break;
            }
          }
        }
        line = "OPERATOR failover";
        if (target) {
          line += " on " + target->name;
          send_command(*target, ha::CommandKind::failover);
        }
        break;
      }
      case FaultKind::pause:
        set_paused(true);
        post(until, [this] { set_paused(false); });
        break;
      case FaultKind::node_restart:
        if (h.node_running) {
          node_exit(h, 0);
          restart_node_later(h, now_ + uniform(cfg_.node_start_min, cfg_.node_start_max));
        }
        break;
      case FaultKind::node_slow:
        if (h.node_running) h.slow_until = std::max(h.slow_until, until);
        break;
      case FaultKind::council_stall:
        council_stalled_until_ = std::max(council_stalled_until_, until);
        line = "FAULT council_stall for " + std::to_string(f.duration) + " ms";
        break;
      case FaultKind::count_:
        break;
    }
    log_line(line);
  }

  // The service manager starts the node again (with whatever key DATA_DIR holds then).
  void restart_node_later(Host& h, Ms at) {
    post(at, [this, &h] {
      if (host_frozen(h)) {
        restart_node_later(h, h.host_frozen_until);
      } else if (!h.node_running) {
        spawn_node(h);
      }
    });
  }

  void send_command(Host& h, ha::CommandKind kind) {
    CommandRecord c{h.index, ++command_ids_, kind, now_, {}, h.core != nullptr};
    commands_.push_back(c);
    if (!h.core) return;  // the agent's control socket does not answer
    h.core->queue_command(c.id, kind);
    // The command wakes the loop at once.
    post_agent(h, now_, [this, &h] { tick_now(h); });
  }

  // ------------------------------------------------------------------ the agent
  [[nodiscard]] ha::AgentCoreConfig core_config(const Host& h) const {
    ha::AgentCoreConfig c;
    c.name = h.name;
    c.initial_active = h.setup.initial_active;
    c.ttl = std::chrono::milliseconds(cfg_.ttl);
    c.loop = std::chrono::milliseconds(cfg_.loop);
    c.permit_margin = std::chrono::milliseconds(cfg_.permit_margin);
    c.node_hung_after = std::chrono::milliseconds(cfg_.node_hung_after);
    c.node_ready_timeout = std::chrono::milliseconds(cfg_.node_ready_timeout);
    c.node_restart_backoff = std::chrono::milliseconds(cfg_.node_restart_backoff);
    c.permit_recheck = std::chrono::milliseconds(cfg_.permit_recheck);
    return c;
  }

  void agent_start(Host& h) {
    if (h.core) return;
    h.core = std::make_unique<ha::AgentCore>(core_config(h));
    ++h.agent_inc;
    h.program = h.op_in_flight = h.keepalive_in_flight = false;
    h.held_result.reset();
    h.tick_due = h.ceiling_due = h.ceiling_notified = false;
    h.stop_requested = h.shutting_down = false;
    h.restart_at = -1;
    log_line(h.name + " agent starts");
    post_agent(h, now_, [this, &h] { agent_tick(h); });
  }

  void agent_crash(Host& h) {
    if (!h.core) return;
    h.core.reset();
    ++h.agent_inc;  // its pending events (Op results, ticks) vanish with it
    h.program = h.op_in_flight = h.keepalive_in_flight = false;
    h.held_result.reset();
    log_line(h.name + " agent crashes");
  }

  void agent_tick(Host& h) {
    post_agent(h, now_ + cfg_.loop, [this, &h] { agent_tick(h); });
    tick_now(h);
  }
  void tick_now(Host& h) {
    if (h.program) {
      h.tick_due = true;
      return;
    }
    if (h.stop_requested) {
      begin_shutdown(h);
      return;
    }
    h.program = true;
    issue(h, h.core->tick(boot_tp(h)));
  }

  void begin_shutdown(Host& h) {
    h.stop_requested = false;
    h.shutting_down = true;
    h.program = true;
    log_line(h.name + " agent stopping (shutdown)");
    issue(h, h.core->shutdown(boot_tp(h)));
  }

  void program_ended(Host& h) {
    h.program = false;
    if (h.shutting_down) {
      log_line(h.name + " agent stopped");
      const Ms again = std::max(h.restart_at, now_);
      h.core.reset();
      ++h.agent_inc;
      h.shutting_down = false;
      post(again, [this, &h] { agent_start(h); });
      return;
    }
    if (h.stop_requested) {
      begin_shutdown(h);
      return;
    }
    if (h.ceiling_due) {
      h.ceiling_due = false;
      if (start_ceiling(h)) return;
    }
    if (h.tick_due) {
      h.tick_due = false;
      tick_now(h);
    }
  }

  void drain_notes(Host& h) {
    for (auto& n : h.core->take_notes()) {
      if (n.kind == ha::CoreNote::Kind::failover_begin) ++stats_.takeovers;
      if (n.kind == ha::CoreNote::Kind::failover_end && n.ok) ++stats_.takeovers_ok;
      if (n.kind == ha::CoreNote::Kind::event) {
        if (n.name == "fence") ++stats_.fences;
        if (n.name == "lease_left_to_expire") ++stats_.leases_left_to_expire;
        if (n.name.rfind("refused.", 0) == 0) ++stats_.commands_refused;
      }
      if (cfg_.trace) {
        static constexpr std::array<const char*, 5> kinds = {"event", "failover", "step",
                                                             "failover_end", "warning"};
        log_line(h.name + " note " + kinds[static_cast<std::size_t>(n.kind)] + " " + n.name +
                 (n.ok ? "" : " FAILED") + (n.detail.empty() ? "" : ": " + n.detail));
      }
      notes_.push_back(NoteRecord{h.index, now_, std::move(n)});
    }
  }

  [[nodiscard]] std::string describe(const ha::Op& op) const {
    std::string s = ha::op_name(op.kind);
    switch (op.kind) {
      case ha::OpKind::renew_lease:
      case ha::OpKind::release_lease:
        s += " epoch " + std::to_string(op.epoch) + " wm " + std::to_string(op.watermark) +
             (op.watermark_exact ? " exact" : "");
        break;
      case ha::OpKind::grant_permit:
      case ha::OpKind::renew_permit:
        s += " epoch " + std::to_string(op.epoch) + " deadline " +
             std::to_string(boot_millis(op.deadline)) + " ceiling " + std::to_string(op.ceiling) +
             (op.floor ? " floor " + std::to_string(*op.floor) : "");
        break;
      case ha::OpKind::install_key:
      case ha::OpKind::start_node:
        s += op.identity == ha::NodeIdentity::validator ? " validator" : " standby";
        break;
      default:
        break;
    }
    return s;
  }
  [[nodiscard]] static std::string describe(const ha::OpResult& r) {
    if (!r.status.ok()) return "ERROR " + r.status.error().code + ": " + r.status.error().message;
    std::string s = "ok";
    if (r.grant) s += " grant epoch " + std::to_string(r.grant->epoch);
    if (r.lease) {
      s += " lease " + std::string(r.lease->held ? "held by " + r.lease->holder : "free") +
           " epoch " + std::to_string(r.lease->epoch) + " wm " + std::to_string(r.lease->watermark);
    }
    if (r.height) s += " height " + std::to_string(*r.height);
    return s;
  }

  // The core asked for `op`: carried out as an event of the agent (held while it is frozen).
  void issue(Host& h, ha::Op op) {
    drain_notes(h);
    if (op.kind == ha::OpKind::none) {
      program_ended(h);
      return;
    }
    if (op.kind == ha::OpKind::grant_permit) h.grants.push_back(op);
    mix(0x0b ^ (h.index << 8) ^ (static_cast<std::uint64_t>(op.kind) << 16));
    const std::uint64_t seq = ++h.op_seq;
    h.op = std::move(op);
    if (on_op) on_op(h.index, h.op);
    post_agent(h, now_, [this, &h, seq] { send(h, seq); });
  }

  void finish(Host& h, std::uint64_t seq, ha::OpResult r, Ms at) {
    post_agent(h, at, [this, &h, seq, r = std::move(r)] { deliver(h, seq, r); });
  }

  void deliver(Host& h, std::uint64_t seq, const ha::OpResult& r) {
    if (seq != h.op_seq || !h.op_in_flight) return;
    if (h.keepalive_in_flight) {  // the loop thread is renewing: it sees the result after
      h.held_result = r;
      return;
    }
    h.op_in_flight = false;
    log_line(h.name + " " + describe(h.op) + " -> " + describe(r));
    issue(h, h.core->done(r, boot_tp(h)));
  }

  void send(Host& h, std::uint64_t seq) {
    if (seq != h.op_seq) return;
    h.op_in_flight = true;
    h.op_sent = now_;
    const ha::Op& op = h.op;
    if (op.keeps_lease) post_agent(h, now_ + cfg_.loop, [this, &h, seq] { keepalive(h, seq); });
    switch (op.kind) {
      case ha::OpKind::read_lease:
      case ha::OpKind::acquire_lease:
      case ha::OpKind::renew_lease:
      case ha::OpKind::release_lease:
        store_call(h, op, [this, &h, seq](const ha::OpResult& r) { deliver(h, seq, r); });
        return;
      case ha::OpKind::poll_node: {
        const bool answers = node_responsive(h);
        finish(h, seq, node_result(h),
               now_ + (answers || !h.node_running ? 2 : cfg_.socket_timeout));
        return;
      }
      case ha::OpKind::install_key:
        h.datadir_key = op.identity;
        finish(h, seq, ha::OpResult::ok(), now_ + 1);
        return;
      case ha::OpKind::drop_validator_key:
        if (h.datadir_key == ha::NodeIdentity::validator ||
            h.datadir_key == ha::NodeIdentity::none) {
          h.datadir_key = ha::NodeIdentity::standby;
        }
        finish(h, seq, ha::OpResult::ok(), now_ + 1);
        return;
      case ha::OpKind::start_node: {
        const Ms at = now_ + uniform(cfg_.node_start_min, cfg_.node_start_max);
        post_agent(h, at, [this, &h, seq] {
          if (seq != h.op_seq) return;
          ha::OpResult r;
          if (h.node_running) {
            r = ha::OpResult::failed(
                make_error("service.start", "the node is still running: not started again"));
          } else {
            spawn_node(h);
            r.detail = std::string("node started as ") +
                       (h.node_key == ha::NodeIdentity::validator ? "validator" : "standby");
          }
          deliver(h, seq, r);
        });
        return;
      }
      case ha::OpKind::stop_node:
      case ha::OpKind::kill_node: {
        const bool kill = op.kind == ha::OpKind::kill_node;
        if (!h.node_running) {
          finish(h, seq, node_result(h), now_ + 1);
          return;
        }
        const bool fails = now_ < h.kill_fails_until;
        const Ms took = kill              ? uniform(5, 40)
                        : node_answers(h) ? uniform(cfg_.stop_min, cfg_.stop_max)
                                          : cfg_.stop_grace;
        post_agent(h, now_ + took, [this, &h, seq, fails, kill] {
          if (seq != h.op_seq) return;
          if (!fails) node_exit(h, kill || !node_answers(h) ? -1 : 0);
          ha::OpResult r = node_result(h);
          if (fails && h.node_running) {
            r.status = make_error("service.stop", "the node is still running after " +
                                                      std::string(kill ? "SIGKILL" : "stop"));
          }
          deliver(h, seq, r);
        });
        return;
      }
      case ha::OpKind::wait_node_ready:
        wait_ready(h, seq);
        return;
      case ha::OpKind::revoke_permit:
      case ha::OpKind::grant_permit:
      case ha::OpKind::renew_permit:
        permit_op(h, seq);
        return;
      case ha::OpKind::read_seal: {
        if (!node_responsive(h)) {
          finish(h, seq,
                 ha::OpResult::failed(make_error("node.unreachable", "the node does not answer")),
                 now_ + (h.node_running ? cfg_.socket_timeout : 1));
          return;
        }
        ha::OpResult r;
        const std::uint64_t top = node_head(h);
        for (std::uint64_t b = top; b > cfg_.start_height && b + op.depth > top; --b) {
          if (chain_[b - cfg_.start_height - 1].v_sealed) {
            r.height = b;
            break;
          }
        }
        finish(h, seq, r, now_ + 3);
        return;
      }
      case ha::OpKind::read_sign_state: {
        ha::OpResult r;
        if (h.signstate) r.height = h.signstate->max_height;
        finish(h, seq, r, now_ + 1);
        return;
      }
      case ha::OpKind::acquire_ip: {
        Ms took = uniform(cfg_.ip_min, cfg_.ip_max);
        if (chance(cfg_.ip_slow)) took = uniform(cfg_.ip_max, 2500);
        const bool fails = now_ < faults_end_ && chance(cfg_.ip_failure);
        post_agent(h, now_ + took, [this, &h, seq, fails] {
          if (seq != h.op_seq) return;
          if (fails) {
            deliver(h, seq,
                    ha::OpResult::failed(make_error("ip.failed", "the address mover failed")));
            return;
          }
          ip_holder_ = h.index;
          ha::OpResult r;
          r.detail = "cell address on " + h.name;
          deliver(h, seq, r);
        });
        return;
      }
      case ha::OpKind::release_ip: {
        ha::OpResult r;
        if (ip_holder_ == h.index) {
          ip_holder_.reset();
          r.changed = true;
        }
        finish(h, seq, r, now_ + 5);
        return;
      }
      case ha::OpKind::answer_command: {
        for (auto& c : commands_) {
          if (c.id == op.command_id) c.answers.push_back(op.answer);
        }
        log_line(h.name + " answers command " + std::to_string(op.command_id) + ": " +
                 (op.answer.accepted ? "accepted"
                  : op.answer.ok     ? "ok"
                                     : "refused: " + (op.answer.error ? op.answer.error->message
                                                                      : std::string("?"))));
        finish(h, seq, ha::OpResult::ok(), now_);
        return;
      }
      case ha::OpKind::none:
        return;
    }
  }

  // Beside an Op that keeps the lease: the renewal the core asks for, every loop.
  void keepalive(Host& h, std::uint64_t seq) {
    if (seq != h.op_seq || !h.op_in_flight) return;
    post_agent(h, now_ + cfg_.loop, [this, &h, seq] { keepalive(h, seq); });
    if (h.keepalive_in_flight) return;
    auto k = h.core->keepalive(boot_tp(h));
    if (!k) return;
    h.keepalive_in_flight = true;
    log_line(h.name + " keepalive " + describe(*k));
    store_call(h, *k, [this, &h, seq](const ha::OpResult& r) {
      h.keepalive_in_flight = false;
      log_line(h.name + " keepalive -> " + describe(r));
      h.core->keepalive_done(r, boot_tp(h));
      drain_notes(h);
      if (h.held_result && seq == h.op_seq) {
        ha::OpResult held = std::move(*h.held_result);
        h.held_result.reset();
        deliver(h, seq, held);
      }
    });
  }

  // ------------------------------------------------------------------ the store, as seen
  StoreModel& store_for(const Host& h) { return *stores_[cfg_.separate_stores ? h.index : 0]; }
  [[nodiscard]] const StoreModel& store_for(const Host& h) const {
    return *stores_[cfg_.separate_stores ? h.index : 0];
  }

  ha::OpResult apply(StoreModel& s, const Host& h, const ha::Op& op,
                     LeaseClock::time_point requested_at) {
    ha::OpResult r;
    switch (op.kind) {
      case ha::OpKind::read_lease:
        r.lease = s.read(now_);
        break;
      case ha::OpKind::acquire_lease: {
        auto g = s.acquire(h.name, now_, requested_at);
        if (g.ok()) {
          r.grant = *g;
        } else {
          r.status = g.error();
        }
        break;
      }
      case ha::OpKind::renew_lease: {
        auto g = s.renew(h.name, op.epoch, op.watermark, now_, requested_at);
        if (g.ok()) {
          r.grant = *g;
        } else {
          r.status = g.error();
        }
        break;
      }
      case ha::OpKind::release_lease:
        r.status =
            s.release(h.name, op.epoch, op.watermark, op.watermark_exact, op.handover_to, now_);
        break;
      default:
        break;
    }
    return r;
  }

  // A request to the lease store: applied when it arrives (if the store is up), answered after
  // the way back, or lease.unavailable at the client's timeout.
  void store_call(Host& h, const ha::Op& op, std::function<void(const ha::OpResult&)> then) {
    ++stats_.store_requests;
    StoreModel& s = store_for(h);
    const Ms give_up = now_ + cfg_.store_timeout;
    const auto requested_at = boot_tp(h);
    auto unavailable = [](const std::string& why) {
      return ha::OpResult::failed(make_error("lease.unavailable", why));
    };
    if (now_ < h.store_cut_until) {
      post_agent(h, give_up,
                 [then, r = unavailable("the store is unreachable from this host")] { then(r); });
      return;
    }
    const Ms arrive = now_ + uniform(cfg_.store_latency_min, cfg_.store_latency_max);
    Host* hp = &h;
    post(arrive, [this, hp, &s, op, requested_at, give_up, then = std::move(then),
                  unavailable]() mutable {
      Host& host = *hp;
      if (now_ < s.down_until) {
        post_agent(host, give_up,
                   [then, r = unavailable("no etcd endpoint answered")] { then(r); });
        return;
      }
      ha::OpResult r = apply(s, host, op, requested_at);
      if (op.kind == ha::OpKind::acquire_lease && r.grant) host.acquired.push_back(*r.grant);
      if (op.kind == ha::OpKind::read_lease && r.lease) host.reads.push_back(*r.lease);
      if (now_ < s.dup_until && op.kind != ha::OpKind::read_lease && chance(s.dup_p)) {
        ++stats_.store_duplicated;
        post(now_ + uniform(1, 40), [this, hp, &s, op, requested_at] {
          const ha::OpResult again = apply(s, *hp, op, requested_at);
          log_line(hp->name + " duplicate " + describe(op) + " -> " + describe(again));
        });
      }
      if (now_ < s.lossy_until && chance(s.loss_p)) {
        ++stats_.store_lost;
        log_line(host.name + " " + describe(op) + " applied (" + describe(r) + "), response lost");
        post_agent(host, give_up, [then, r2 = unavailable("the response was lost")] { then(r2); });
        return;
      }
      Ms back = now_ + uniform(cfg_.store_latency_min, cfg_.store_latency_max);
      if (now_ < s.delay_until) back += uniform(0, s.delay_max);
      if (back > give_up) {
        post_agent(host, give_up, [then, r2 = unavailable("timed out")] { then(r2); });
        return;
      }
      post_agent(host, back, [then, r] { then(r); });
    });
  }

  // ------------------------------------------------------------------ the node, as seen
  [[nodiscard]] bool council_connected(const Host& h) const { return now_ >= h.council_cut_until; }
  [[nodiscard]] bool node_answers(const Host& h) const {
    return h.node_running && now_ >= h.ready_at && now_ >= h.hung_until && !host_frozen(h);
  }
  // Answers a control request in time (a slow node applies it but answers too late).
  [[nodiscard]] bool node_responsive(const Host& h) const {
    return node_answers(h) && now_ >= h.slow_until;
  }
  [[nodiscard]] bool node_in_sync(const Host& h) const {
    return node_answers(h) && now_ >= h.synced_at && council_connected(h);
  }
  std::uint64_t node_head(Host& h) {
    if (node_in_sync(h)) h.local_head = head();
    return h.local_head;
  }

  ha::OpResult node_result(Host& h) {
    ha::OpResult r;
    ha::NodeReport& n = r.node;
    n.running = h.node_running;
    if (!h.node_running) {
      n.exit_status = h.exit_status.value_or(-1);
      return r;
    }
    n.answered = node_responsive(h);
    if (!n.answered) return r;
    n.head = node_head(h);
    n.lag = head() - n.head;
    n.in_sync = node_in_sync(h) || (now_ >= h.synced_at && n.lag <= 1);
    n.enforces_permits = h.setup.enforces_permits;
    n.last_signed_height = h.guard ? h.guard->state().max_height : 0;
    return r;
  }

  void wait_ready(Host& h, std::uint64_t seq) {
    if (seq != h.op_seq || !h.op_in_flight) return;
    if (!h.node_running) {
      finish(h, seq,
             ha::OpResult::failed(make_error("ha.node_exited", "the node exited while starting")),
             now_ + 1);
      return;
    }
    if (node_responsive(h)) {
      finish(h, seq, node_result(h), now_ + 2);
      return;
    }
    if (now_ - h.op_sent >= cfg_.node_ready_timeout || h.core->keepalive_failed()) {
      finish(h, seq, ha::OpResult::failed(make_error("ha.node_timeout", "the node did not answer")),
             now_);
      return;
    }
    post_agent(h, now_ + 50, [this, &h, seq] { wait_ready(h, seq); });
  }

  void permit_op(Host& h, std::uint64_t seq) {
    const ha::Op& op = h.op;
    if (!node_answers(h)) {
      finish(h, seq,
             ha::OpResult::failed(make_error("node.unreachable",
                                             "the node's control socket "
                                             "does not answer")),
             now_ + (h.node_running ? cfg_.socket_timeout : 1));
      return;
    }
    ha::OpResult r;
    if (op.kind == ha::OpKind::revoke_permit) {
      if (h.guard) h.guard->revoke_permit();
    } else if (!h.guard) {
      r.status = make_error("node.not_validator", "the node runs no validator");
    } else {
      const std::optional<std::uint64_t> ceiling = op.ceiling;
      if (op.kind == ha::OpKind::grant_permit) {
        if (op.floor) r.status = h.guard->set_floor(*op.floor);
        if (r.status.ok()) r.status = h.guard->grant_permit(op.epoch, op.deadline, ceiling);
      } else {
        r.status = h.guard->renew_permit(op.epoch, op.deadline, ceiling);
      }
      // A refused proposal or vote goes out now (Validator::permit_grant / permit_renew).
      if (r.status.ok()) post_node(h, now_ + 1, [this, &h] { node_try_sign(h); });
    }
    if (!node_responsive(h)) {  // applied, but the answer comes after the agent gave up
      finish(h, seq,
             ha::OpResult::failed(make_error("node.timeout",
                                             "the node's control socket did "
                                             "not answer in time")),
             now_ + cfg_.socket_timeout);
      return;
    }
    finish(h, seq, r, now_ + 2);
  }

  void spawn_node(Host& h) {
    h.node_running = true;
    ++h.node_inc;
    h.node_key = h.datadir_key == ha::NodeIdentity::validator ? ha::NodeIdentity::validator
                                                              : ha::NodeIdentity::standby;
    h.exit_status.reset();
    h.ready_at = now_ + uniform(cfg_.node_ready_min, cfg_.node_ready_max);
    h.synced_at = h.ready_at + uniform(0, cfg_.node_sync_max);
    h.hung_until = 0;
    h.slow_until = 0;
    h.gate_open = false;
    h.signed_now.clear();
    h.local_round_height = 0;
    h.guard.reset();
    log_line(h.name + " node starts as " +
             (h.node_key == ha::NodeIdentity::validator ? "VALIDATOR" : "standby"));
    if (h.node_key == ha::NodeIdentity::validator) {
      Host* hp = &h;
      consensus::SignGuardHooks hooks;
      hooks.persist = [this, hp](const consensus::SignGuardState& st) -> Status {
        if (now_ < hp->persist_fails_until) {
          return make_error("io.write", "no space left on device (simulated)");
        }
        hp->signstate = st;
        return ok_status();
      };
      hooks.journal = [this, hp](const consensus::SignatureRecord& r) -> Status {
        on_signature(*hp, r);
        return ok_status();
      };
      hooks.now = [this, hp] { return boot_point(guard_now(*hp)); };
      consensus::SignGuardOptions o;
      o.safety_margin = std::chrono::milliseconds(cfg_.safety_margin);
      o.require_permit = h.setup.enforces_permits;
      auto g = consensus::SignGuard::create(validator_key_, h.signstate, std::move(hooks), o);
      if (!g.ok()) {  // never expected: the state is always this key's
        violation("SETUP", "SignGuard::create: " + g.error().message);
        return;
      }
      h.guard = std::move(g).value();
      h.started_without_state = !h.signstate.has_value();
      if (h.started_without_state) {
        // node/validator.cpp: no sign state, so nothing at or below its chain head or any
        // height in its journal (the network's head is added when the gate opens).
        (void)h.guard->set_floor(consensus::floor_without_sign_state(h.local_head, h.journal_max,
                                                                     cfg_.ignore_sign_journal));
      }
    }
    post_node(h, h.synced_at, [this, &h] { node_try_sign(h); });
  }

  void node_exit(Host& h, int status) {
    if (!h.node_running) return;
    h.node_running = false;
    h.exit_status = status;
    h.guard.reset();
    h.node_key = ha::NodeIdentity::none;
    ++h.node_inc;  // the process's pending events vanish with it
    log_line(h.name + " node exits (" + std::to_string(status) + ")");
  }

  // The node's consensus timer: retries what the council still wants and, cut off from the
  // council, signs round changes of its own as its round timer fires.
  void node_timer(Host& h) {
    Host* hp = &h;
    post(now_ + 250, [this, hp] { node_timer(*hp); });
    if (!h.node_running || host_frozen(h)) return;
    if (council_connected(h)) {
      h.local_round_height = 0;
      node_try_sign(h);
      return;
    }
    if (!h.guard || !node_answers(h) || !h.gate_open) return;
    const std::uint64_t at = h.local_head + 1;
    if (h.local_round_height != at) {
      h.local_round_height = at;
      h.local_round = round_.height == at ? round_.round : 0;
      h.next_local_round = now_ + cfg_.round_timeout;
      return;
    }
    if (now_ < h.next_local_round) return;
    h.next_local_round = now_ + cfg_.round_timeout;
    ++h.local_round;
    sign_one(h, Want{at, h.local_round, SignKind::kRoundChange});
  }

  [[nodiscard]] static Hash32 digest_of(const Host& h, const Want& w) {
    Hash32 d{};
    for (int i = 0; i < 8; ++i) d[i] = static_cast<std::uint8_t>(w.height >> (8 * i));
    for (int i = 0; i < 4; ++i) d[8 + i] = static_cast<std::uint8_t>(w.round >> (8 * i));
    d[12] = static_cast<std::uint8_t>(w.kind);
    d[13] = static_cast<std::uint8_t>(h.index + 1);
    for (int i = 0; i < 8; ++i) d[14 + i] = static_cast<std::uint8_t>(h.node_inc >> (8 * i));
    d[31] = 0xcc;
    return d;
  }

  // One signature asked of the node's SignGuard; true when it left.
  bool sign_one(Host& h, const Want& w) {
    auto s = h.guard->sign(consensus::SignRequest{w.height, w.round, w.kind, digest_of(h, w)});
    if (s.ok()) return true;
    ++stats_.refusals[s.error().code];
    if (s.error().code == "sign.above_ceiling") notify_ceiling(h);
    return false;
  }

  void open_gate(Host& h) {
    h.gate_open = true;
    if (h.started_without_state && h.guard) {
      (void)h.guard->set_floor(
          consensus::floor_without_sign_state(head(), h.journal_max, cfg_.ignore_sign_journal));
    }
  }

  // The council's current wants, in order; what this process has not signed yet it asks its
  // SignGuard for (a refusal stops the rest: prepare before commit, seal before preprepare).
  void node_try_sign(Host& h) {
    if (!h.node_running || !h.guard || !node_answers(h) || !council_connected(h)) return;
    if (!h.gate_open) {
      if (!node_in_sync(h)) return;
      open_gate(h);
    }
    if (h.signed_height != round_.height) {
      h.signed_now.clear();
      h.signed_height = round_.height;
      h.guard->ask_for_height(round_.height);  // ahead of the proposal: the agent replicates it
      if (h.guard->wanted_height() > 0) notify_ceiling(h);
    }
    for (std::size_t i = 0; i < round_.wants.size(); ++i) {
      const Want w = round_.wants[i];
      if (std::find(h.signed_now.begin(), h.signed_now.end(), w) != h.signed_now.end()) continue;
      if (!sign_one(h, w)) return;
      h.signed_now.push_back(w);
      on_v_signed(h, w);
      if (!h.guard) return;
    }
  }

  void notify_ceiling(Host& h) {
    if (h.ceiling_notified || !h.core) return;
    h.ceiling_notified = true;
    post_agent(h, now_ + 2, [this, &h] {  // the agent's long poll on the control socket
      h.ceiling_notified = false;
      if (!h.guard || !node_answers(h)) return;
      if (h.program) {
        h.ceiling_due = true;
        return;
      }
      start_ceiling(h);
    });
  }
  bool start_ceiling(Host& h) {
    if (!h.guard || !h.core) return false;
    const std::uint64_t wanted = h.guard->wanted_height();
    if (wanted <= h.core->ceiling()) return false;
    ha::Op op = h.core->raise_ceiling(wanted, boot_tp(h));
    if (op.kind == ha::OpKind::none) {
      drain_notes(h);
      return false;
    }
    h.program = true;
    issue(h, std::move(op));
    return true;
  }

  // ------------------------------------------------------------------ the council
  [[nodiscard]] static bool v_proposes(std::uint64_t height, std::uint32_t round) {
    return (height + round) % 4 == 0;
  }

  void start_round(std::uint64_t height, std::uint32_t round) {
    round_ = Round{height, round, now_, false, false, ++round_token_, {}};
    const std::uint64_t token = round_.token;
    if (round > 0) round_.wants.push_back(Want{height, round, SignKind::kRoundChange});
    if (v_proposes(height, round)) {
      round_.wants.push_back(Want{height, round, SignKind::kSeal});
      round_.wants.push_back(Want{height, round, SignKind::kPreprepare});
      post(now_ + cfg_.round_timeout, [this, token] { round_timed_out(token); });
    } else {
      post(now_ + 10, [this, token] {
        if (round_.token == token) proposal_made();
      });
    }
    for (auto& h : hosts_) node_try_sign(*h);
  }

  void round_timed_out(std::uint64_t token) {
    if (now_ < council_stalled_until_) {  // no quorum for the round change either
      post(council_stalled_until_, [this, token] { round_timed_out(token); });
      return;
    }
    if (round_.token == token && !round_.proposal) {
      log_line("council: round change at #" + std::to_string(round_.height) + " r" +
               std::to_string(round_.round) + " (no proposal from the validator)");
      start_round(round_.height, round_.round + 1);
    }
  }

  void proposal_made() {
    if (round_.proposal) return;
    round_.proposal = true;
    round_.wants.push_back(Want{round_.height, round_.round, SignKind::kPrepare});
    round_.wants.push_back(Want{round_.height, round_.round, SignKind::kCommit});
    const std::uint64_t token = round_.token;
    post(std::max(round_.started + cfg_.block_period, now_ + 50),
         [this, token] { commit_block(token); });
    for (auto& h : hosts_) node_try_sign(*h);
  }

  void commit_block(std::uint64_t token) {
    if (round_.token != token) return;
    if (now_ < council_stalled_until_) {
      post(council_stalled_until_, [this, token] { commit_block(token); });
      return;
    }
    chain_.push_back(Block{round_.height, round_.round, round_.v_commit, now_});
    ++stats_.blocks;
    stats_.sealed_blocks += round_.v_commit ? 1 : 0;
    mix(0xb10c ^ (round_.height << 8) ^ (round_.v_commit ? 1 : 0));
    log_line("council: block #" + std::to_string(round_.height) + " r" +
             std::to_string(round_.round) + (round_.v_commit ? " sealed by V" : " without V"));
    start_round(round_.height + 1, 0);
  }

  void on_v_signed(Host&, const Want& w) {
    if (w.height != round_.height || w.round != round_.round) return;
    if (w.kind == SignKind::kPreprepare) proposal_made();
    if (w.kind == SignKind::kCommit) round_.v_commit = true;
  }

  // ------------------------------------------------------------------ state
  HaSimConfig cfg_;
  std::mt19937_64 rng_;
  crypto::PrivateKey validator_key_;
  Address validator_;
  std::vector<std::unique_ptr<Host>> hosts_;
  std::vector<std::unique_ptr<StoreModel>> stores_;
  std::priority_queue<Event, std::vector<Event>, Later> queue_;
  std::uint64_t seq_ = 0;
  Ms now_ = 0;
  Ms faults_end_ = 0;
  Ms council_stalled_until_ = 0;
  bool stopped_ = false;
  Round round_;
  std::uint64_t round_token_ = 0;
  std::vector<Block> chain_;
  std::optional<std::size_t> ip_holder_;
  std::vector<SigRecord> sigs_;
  std::map<std::tuple<std::uint64_t, std::uint32_t, std::uint8_t>, std::pair<Hash32, std::size_t>>
      signed_;
  std::vector<NoteRecord> notes_;
  std::vector<CommandRecord> commands_;
  std::uint64_t command_ids_ = 0;
  std::vector<Violation> violations_;
  HaSimStats stats_;
  std::deque<std::string> trace_;
  std::uint64_t fingerprint_ = 0xcbf29ce484222325ull;
  std::optional<Ms> two_active_at_;
};

}  // namespace cc::hasim
