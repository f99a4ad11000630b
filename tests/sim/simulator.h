// tests/sim/simulator.h — a deterministic multi-node simulator for the consensus core
// (consensus/core.h): a virtual clock in milliseconds, one event queue, N validators each with a
// Core, an in-memory chain (chain::State + blocks, imports verified with chain::verify_header and
// executed with chain::execute_block) and the real SignGuard, whose sign state survives restarts.
//
// Faults, all drawn from one seeded RNG so a seed replays exactly:
//   links       per-message delay in [min, max] ms; drop and duplicate probabilities until
//               `faults_until_ms` (after that the network only delays); one policy for all
//               links, overridable per directed link
//   partitions  groups of nodes that can talk (a node may sit in several), from .. until
//   crashes     a node stops (its in-flight events are dropped) and restarts later with a new
//               Core, its chain and its signer's state intact
//   byzantine   a node runs an honest Core but equivocates: a second, different proposal for
//               its views and conflicting prepares/commits sent to half of the peers, and/or
//               round changes for high rounds with a wrong parent hash — all signed with its key
//               directly, bypassing its signer
//   filters     a scenario may drop chosen messages (from, to, message) to script a schedule
// Oracles, checked on every event and at the end (violations are collected as text):
//   agreement   no two nodes import different blocks at one height
//   validity    every imported block passes verify_header and carries >= commit_quorum seals
//               from distinct council members
//   SIGN-1      no honest signer produced two digests for one (height, round, kind) — over its
//               journal and over every message an honest node broadcast
//   stale       no honest node broadcasts a message for a height it has already imported, and
//               a timer for another height or round makes its Core do nothing
// Liveness is for the tests to assert: heads after the faults end, within a bound.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "chain/block.h"
#include "chain/council.h"
#include "chain/executor.h"
#include "chain/extra.h"
#include "chain/generator.h"
#include "chain/genesis.h"
#include "chain/receipt.h"
#include "chain/state.h"
#include "chain/tx.h"
#include "chain/verify.h"
#include "consensus/core.h"
#include "consensus/messages.h"
#include "consensus/sign_guard.h"
#include "consensus/signer.h"
#include "crypto/address.h"
#include "crypto/keccak.h"
#include "util/log.h"

namespace cc::sim {

using consensus::Actions;
using consensus::Message;

struct SignRecord {
  Address signer{};
  std::uint64_t height = 0;
  std::uint32_t round = 0;
  consensus::SignKind kind = consensus::SignKind::kPrepare;
  Hash32 digest{};
};

// A node's signer: the real SignGuard (consensus/sign_guard.h), not a stand-in — floor, window,
// conflict refusal and persist-before-sign face every random schedule. Its sign state lives in
// memory the way the node keeps it on disk: the persist hook writes `persisted_` (the "file"),
// a restart re-creates the guard from it (reopen), and a deleted sign state is forget_sign_state.
// No permits (the consensus simulator has no HA agent: require_permit = false). Every signature
// is appended by the journal hook to the journal the SIGN-1 oracle reads.
class SimSigner : public consensus::Signer {
 public:
  SimSigner(crypto::PrivateKey key, std::vector<SignRecord>* journal)
      : key_(key), address_(crypto::address_of(key)), journal_(journal) {
    reopen();
  }

  Result<crypto::Signature> sign(const consensus::SignRequest& req) override {
    if (!guard_) return make_error("sign.config", "the simulated SignGuard could not start");
    auto sig = guard_->sign(req);
    if (!sig.ok()) ++refusals_;
    return sig;
  }
  Address address() const override { return address_; }

  // Signatures the guard refused (a conflict, below the floor or the window).
  std::size_t refusals() const { return refusals_; }
  std::uint64_t highest_signed_height() const { return persisted_ ? persisted_->max_height : 0; }
  // A process restart: a new guard over the persisted state, as node/validator does.
  void reopen() {
    consensus::SignGuardHooks hooks;
    hooks.persist = [this](const consensus::SignGuardState& st) {
      persisted_ = st;
      return ok_status();
    };
    hooks.journal = [this](const consensus::SignatureRecord& r) {
      journal_->push_back(SignRecord{r.address, r.request.height, r.request.round, r.request.kind,
                                     r.request.digest});
      return ok_status();
    };
    consensus::SignGuardOptions options;
    options.require_permit = false;
    auto g = consensus::SignGuard::create(key_, persisted_, std::move(hooks), options);
    guard_ = g.ok() ? std::move(g).value() : nullptr;
  }
  // The sign-state file is deleted: what was signed is forgotten; the journal stays. The guard
  // restarts with `floor` (consensus::floor_without_sign_state), as node/validator sets it.
  void forget_sign_state(std::uint64_t floor) {
    persisted_.reset();
    reopen();
    if (guard_) (void)guard_->set_floor(floor);
  }
  // The highest height this signer has a journal entry for (what survives a lost sign state).
  std::optional<std::uint64_t> highest_journaled_height() const {
    std::optional<std::uint64_t> h;
    for (const auto& r : *journal_) {
      if (r.signer == address_) h = std::max(h.value_or(0), r.height);
    }
    return h;
  }

 private:
  crypto::PrivateKey key_;
  Address address_;
  std::vector<SignRecord>* journal_;
  std::optional<consensus::SignGuardState> persisted_;
  std::unique_ptr<consensus::SignGuard> guard_;
  std::size_t refusals_ = 0;
};

struct LinkPolicy {
  std::uint64_t min_delay_ms = 2;
  std::uint64_t max_delay_ms = 40;
  double drop = 0;       // probability, only before faults_until_ms
  double duplicate = 0;  // probability, only before faults_until_ms
};

enum Byzantine : unsigned {
  kEquivocateProposals = 1,      // a second proposal for each of its views, to half the peers
  kEquivocateVotes = 2,          // conflicting prepares and commits to half the peers
  kWrongParentRoundChanges = 4,  // round changes for high rounds built on a wrong parent
};

struct SimConfig {
  std::size_t validators = 4;
  std::uint64_t seed = 1;
  consensus::RoundTimeoutPolicy timeouts{800, 50, 4000};
  std::uint64_t block_period_s = 1;
  LinkPolicy link;
  std::uint64_t faults_until_ms = 0;  // drops and duplicates stop then (relative time)
  std::size_t accounts = 3;
  std::size_t txs_per_block = 0;
  bool execute_proposals = false;  // Core::check_proposal executes the block
  // A restarted Core signs only above the highest height its signer signed at.
  bool safe_restart = false;
};

struct SimStats {
  std::size_t sent = 0;
  std::size_t dropped = 0;
  std::size_t delivered = 0;
  std::size_t commits = 0;  // CommitBlock actions of honest cores
  std::size_t synced_blocks = 0;
  std::size_t byzantine_forgeries = 0;
  std::uint32_t max_decided_round = 0;
  std::map<std::string, std::size_t> notes;  // by code
};

class Simulation {
 public:
  using DropFilter = std::function<bool(std::size_t from, std::size_t to, const Message&)>;
  using SendHook = std::function<void(std::size_t from, const Message&)>;

  static constexpr std::uint64_t kChainId = 1000;

  explicit Simulation(SimConfig cfg)
      : cfg_(cfg),
        rng_(cfg.seed),
        net_(chain::make_test_network(cfg.validators, cfg.accounts, cfg.seed, kChainId)),
        council_(*net_.genesis.make_council()),
        start_ms_((chain::kTestGenesisTime + 10) * 1000),
        now_(start_ms_) {
    // Thousands of schedules: the guards' log lines (a start per restart, each refusal) would
    // drown the output; the oracles report what matters.
    logger("consensus")->set_level(spdlog::level::off);
    net_.genesis.config.istanbul.block_period = cfg.block_period_s;
    const chain::Block genesis = chain::genesis_block(net_.genesis);
    for (std::size_t i = 0; i < council_.size(); ++i) {
      auto n = std::make_unique<Node>();
      n->index = i;
      n->key = net_.validator_keys[i];
      n->address = council_.at(i);
      n->signer = std::make_unique<SimSigner>(n->key, &journal_);
      n->chain.push_back(genesis);
      for (const auto& [a, balance] : net_.genesis.alloc)
        n->state.set(a, chain::Account{0, balance});
      (void)n->state.take_dirty();
      nodes_.push_back(std::move(n));
    }
  }

  // ---- scenario set-up (times relative to the start, ms) ----
  void partition(std::vector<std::vector<std::size_t>> groups, std::uint64_t from,
                 std::uint64_t until) {
    partitions_.push_back(Partition{std::move(groups), start_ms_ + from, start_ms_ + until});
  }
  void crash(std::size_t node, std::uint64_t at_rel) {
    at(start_ms_ + at_rel, [this, node] { crash_now(node); });
  }
  void restart(std::size_t node, std::uint64_t at_rel) {
    at(start_ms_ + at_rel, [this, node] { restart_now(node); });
  }
  // Restarts a crashed node whose sign-state file was deleted: its signer forgets what it signed
  // and its Core signs from consensus::floor_without_sign_state (above the head and the journal,
  // or above the head only with the operator's `ignore_journal` override), like node/validator.
  void restart_without_sign_state(std::size_t node, std::uint64_t at_rel, bool ignore_journal) {
    at(start_ms_ + at_rel, [this, node, ignore_journal] {
      Node& n = *nodes_[node];
      if (n.alive) return;
      n.sign_floor = consensus::floor_without_sign_state(
          n.chain.back().header.number, n.signer->highest_journaled_height(), ignore_journal);
      n.signer->forget_sign_state(*n.sign_floor);
      restart_now(node);
    });
  }
  void crash_now(std::size_t node) {
    Node& n = *nodes_[node];
    if (!n.alive) return;
    n.alive = false;
    n.core.reset();
    ++n.epoch;
    ++n.crashes;
  }
  void restart_now(std::size_t node) {
    Node& n = *nodes_[node];
    if (n.alive) return;
    n.alive = true;
    n.signer->reopen();  // a new process: a new SignGuard over the persisted sign state
    boot(n, /*restart=*/true);
  }
  void make_byzantine(std::size_t node, unsigned behaviours) {
    nodes_[node]->byzantine = behaviours;
  }
  // Overrides the link policy for messages from `from` to `to` (one direction).
  void set_link(std::size_t from, std::size_t to, LinkPolicy policy) {
    links_[{from, to}] = policy;
  }
  void set_drop_filter(DropFilter f) { filter_ = std::move(f); }
  void set_send_hook(SendHook h) { send_hook_ = std::move(h); }

  // ---- running ----
  void start() {
    for (auto& n : nodes_) boot(*n, /*restart=*/false);
  }
  // Runs events up to (and including) relative time t.
  void run_until(std::uint64_t t_rel) {
    const std::uint64_t t = start_ms_ + t_rel;
    while (!queue_.empty() && queue_.top().at <= t) {
      Event ev = queue_.top();
      queue_.pop();
      now_ = ev.at;
      ev.fn();
    }
    now_ = std::max(now_, t);
  }
  // Runs until every live honest node's head is >= height, or until deadline; true if reached.
  bool run_until_heads(std::uint64_t height, std::uint64_t deadline_rel) {
    const std::uint64_t t = start_ms_ + deadline_rel;
    while (min_honest_head() < height) {
      if (queue_.empty() || queue_.top().at > t) {
        now_ = std::max(now_, t);
        return false;
      }
      Event ev = queue_.top();
      queue_.pop();
      now_ = ev.at;
      ev.fn();
    }
    return true;
  }

  // ---- observation ----
  [[nodiscard]] std::size_t size() const { return nodes_.size(); }
  [[nodiscard]] std::uint64_t now_rel() const { return now_ - start_ms_; }
  [[nodiscard]] const chain::Council& council() const { return council_; }
  [[nodiscard]] const std::vector<chain::Block>& chain_of(std::size_t i) const {
    return nodes_[i]->chain;
  }
  [[nodiscard]] std::uint64_t head(std::size_t i) const {
    return nodes_[i]->chain.back().header.number;
  }
  [[nodiscard]] bool honest(std::size_t i) const { return nodes_[i]->byzantine == 0; }
  [[nodiscard]] bool alive(std::size_t i) const { return nodes_[i]->alive; }
  [[nodiscard]] std::uint32_t max_round(std::size_t i) const { return nodes_[i]->max_round; }
  [[nodiscard]] const SimSigner& signer(std::size_t i) const { return *nodes_[i]->signer; }
  [[nodiscard]] const consensus::Core* core(std::size_t i) const {
    return nodes_[i]->core ? &*nodes_[i]->core : nullptr;
  }
  [[nodiscard]] const SimStats& stats() const { return stats_; }
  [[nodiscard]] const std::vector<SignRecord>& journal() const { return journal_; }
  [[nodiscard]] std::uint64_t min_honest_head() const {
    std::uint64_t m = std::numeric_limits<std::uint64_t>::max();
    for (std::size_t i = 0; i < size(); ++i) {
      if (honest(i) && alive(i)) m = std::min(m, head(i));
    }
    return m == std::numeric_limits<std::uint64_t>::max() ? 0 : m;
  }
  [[nodiscard]] std::uint64_t max_honest_head() const {
    std::uint64_t m = 0;
    for (std::size_t i = 0; i < size(); ++i) {
      if (honest(i)) m = std::max(m, head(i));
    }
    return m;
  }
  // The block every node that has `height` agrees on (agreement is checked on import).
  [[nodiscard]] const chain::Block* block_at(std::uint64_t height) const {
    for (const auto& n : nodes_) {
      if (n->chain.size() > height) return &n->chain[height];
    }
    return nullptr;
  }

  // Violations seen so far plus the end-of-run checks (agreement over whole chains, SIGN-1).
  [[nodiscard]] std::vector<std::string> check() const {
    std::vector<std::string> out = violations_;
    // Agreement over the chains as they stand.
    for (std::size_t i = 0; i < size(); ++i) {
      for (std::size_t j = i + 1; j < size(); ++j) {
        const auto& a = nodes_[i]->chain;
        const auto& b = nodes_[j]->chain;
        for (std::size_t h = 0; h < std::min(a.size(), b.size()); ++h) {
          if (a[h].hash() != b[h].hash()) {
            out.push_back("fork: nodes " + std::to_string(i) + " and " + std::to_string(j) +
                          " differ at height " + std::to_string(h));
            break;
          }
        }
      }
    }
    // SIGN-1 over the honest signers' journals and over what honest nodes broadcast.
    std::set<Address> byzantine;
    for (const auto& n : nodes_) {
      if (n->byzantine != 0) byzantine.insert(n->address);
    }
    check_sign1(journal_, byzantine, "journal", out);
    check_sign1(observed_, byzantine, "network", out);
    return out;
  }

 private:
  struct Event {
    std::uint64_t at;
    std::uint64_t seq;
    std::function<void()> fn;
  };
  struct Later {
    bool operator()(const Event& a, const Event& b) const {
      return std::tie(a.at, a.seq) > std::tie(b.at, b.seq);
    }
  };
  struct Partition {
    std::vector<std::vector<std::size_t>> groups;
    std::uint64_t from;
    std::uint64_t until;
  };
  struct Node {
    std::size_t index = 0;
    crypto::PrivateKey key = chain::derive_test_key(0, "unused", 0);
    Address address{};
    std::unique_ptr<SimSigner> signer;
    std::optional<consensus::Core> core;
    bool alive = true;
    std::uint64_t epoch = 0;
    std::size_t crashes = 0;
    std::vector<chain::Block> chain;
    chain::State state;
    std::optional<Address> head_proposer;
    unsigned byzantine = 0;
    std::uint32_t max_round = 0;
    std::optional<std::uint64_t> sign_floor;  // for the next boot (lost sign state)
    std::map<std::pair<std::uint64_t, std::uint32_t>, Hash32> forged;  // view -> forged block
  };

  static void check_sign1(const std::vector<SignRecord>& records, const std::set<Address>& skip,
                          const std::string& source, std::vector<std::string>& out) {
    std::map<std::tuple<Address, std::uint64_t, std::uint32_t, int>, Hash32> seen;
    for (const auto& r : records) {
      if (skip.count(r.signer) > 0) continue;
      const auto key = std::make_tuple(r.signer, r.height, r.round, static_cast<int>(r.kind));
      const auto [it, inserted] = seen.emplace(key, r.digest);
      if (!inserted && it->second != r.digest) {
        out.push_back("SIGN-1 (" + source + "): " + to_hex0x(r.signer) + " signed two " +
                      std::string(to_string(r.kind)) + " digests at height " +
                      std::to_string(r.height) + " round " + std::to_string(r.round));
      }
    }
  }

  void at(std::uint64_t t, std::function<void()> fn) {
    queue_.push(Event{std::max(t, now_), seq_++, std::move(fn)});
  }
  std::uint64_t uniform(std::uint64_t lo, std::uint64_t hi) {  // inclusive
    return lo + (hi > lo ? rng_() % (hi - lo + 1) : 0);
  }
  bool chance(double p) {
    if (p <= 0) return false;
    return static_cast<double>(rng_() % 1'000'000) < p * 1'000'000.0;
  }
  const LinkPolicy& link(std::size_t from, std::size_t to) const {
    const auto it = links_.find({from, to});
    return it == links_.end() ? cfg_.link : it->second;
  }
  std::uint64_t delay(const LinkPolicy& l) { return uniform(l.min_delay_ms, l.max_delay_ms); }
  bool faulty_now() const { return now_ < start_ms_ + cfg_.faults_until_ms; }

  bool connected(std::size_t a, std::size_t b) const {
    for (const auto& p : partitions_) {
      if (now_ < p.from || now_ >= p.until) continue;
      bool together = false;
      for (const auto& g : p.groups) {
        const bool has_a = std::find(g.begin(), g.end(), a) != g.end();
        const bool has_b = std::find(g.begin(), g.end(), b) != g.end();
        if (has_a && has_b) together = true;
      }
      if (!together) return false;
    }
    return true;
  }

  std::optional<std::size_t> index_of(const Address& a) const {
    const auto i = council_.index_of(a);
    if (!i) return std::nullopt;
    return *i;
  }

  // ---- node life ----

  void boot(Node& n, bool restart) {
    consensus::Config cfg(council_, n.address);
    cfg.block_period_s = cfg_.block_period_s;
    cfg.timeouts = cfg_.timeouts;
    if (cfg_.execute_proposals) {
      Node* np = &n;
      cfg.check_proposal = [this, np](const chain::Block& b) { return execute_check(*np, b); };
    }
    if (restart && cfg_.safe_restart) cfg.sign_from_height = n.signer->highest_signed_height() + 1;
    if (restart && n.sign_floor) {
      cfg.sign_from_height = std::max(cfg.sign_from_height, *n.sign_floor);
      n.sign_floor.reset();
    }
    auto core = consensus::Core::create(std::move(cfg), *n.signer);
    if (!core.ok()) {
      violations_.push_back("core create failed: " + core.error().message);
      return;
    }
    n.core.emplace(std::move(core).value());
    apply(n, n.core->start_height(n.chain.back().header, n.head_proposer, now_));
  }

  Status execute_check(Node& n, const chain::Block& b) {
    const auto cp = n.state.checkpoint();
    auto exec =
        chain::execute_block(n.state, b.transactions, b.header.rewardbase, kChainId, nullptr);
    n.state.revert_to(cp);
    if (!exec.ok()) return exec.error();
    if (exec->state_root != b.header.state_root || exec->receipts_root != b.header.receipts_root ||
        exec->gas_used != b.header.gas_used) {
      return make_error("sim.roots_mismatch", "block " + std::to_string(b.header.number) +
                                                  ": execution roots differ from the header");
    }
    return ok_status();
  }

  // Applies a Core's actions as the node's owner would.
  void apply(Node& n, Actions actions) {
    if (n.core) n.max_round = std::max(n.max_round, n.core->round());
    for (auto& action : actions) {
      if (!n.alive || !n.core) return;
      if (auto* b = std::get_if<consensus::Broadcast>(&action)) {
        send(n, *b);
      } else if (auto* t = std::get_if<consensus::ScheduleTimer>(&action)) {
        const std::size_t idx = n.index;
        const std::uint64_t epoch = n.epoch;
        const consensus::TimerEvent timer = t->timer;
        at(t->at_ms, [this, idx, epoch, timer] {
          Node& m = *nodes_[idx];
          if (!m.alive || m.epoch != epoch || !m.core) return;
          const bool stale = timer.height != m.core->height() || timer.round != m.core->round() ||
                             timer.height <= m.chain.back().header.number;
          Actions acted = m.core->on_timer(timer, now_);
          if (stale) check_inert(m, timer, acted);
          apply(m, std::move(acted));
        });
      } else if (auto* bp = std::get_if<consensus::BuildProposal>(&action)) {
        chain::Block block = build(n, *bp);
        const std::size_t idx = n.index;
        const std::uint64_t epoch = n.epoch;
        at(now_ + uniform(0, 5), [this, idx, epoch, block] {
          Node& m = *nodes_[idx];
          if (!m.alive || m.epoch != epoch || !m.core) return;
          apply(m, m.core->on_proposal_built(block, now_));
        });
      } else if (auto* c = std::get_if<consensus::CommitBlock>(&action)) {
        if (n.byzantine == 0) {
          ++stats_.commits;
          stats_.max_decided_round = std::max(stats_.max_decided_round, c->round);
        }
        if (c->committers.size() < council_.commit_quorum()) {
          violations_.push_back("node " + std::to_string(n.index) + " committed block " +
                                std::to_string(c->block.header.number) + " with " +
                                std::to_string(c->committers.size()) + " seals");
        }
        if (import(n, c->block, /*from_core=*/true)) {
          const auto proposer = chain::recover_proposer(c->block.header);
          apply(n, n.core->start_height(c->block.header, *proposer, now_));
          return;  // the rest of this batch belongs to the finished height
        }
      } else if (auto* s = std::get_if<consensus::RequestSync>(&action)) {
        request_sync(n, s->peer);
      } else if (auto* note = std::get_if<consensus::Note>(&action)) {
        ++stats_.notes[note->code];
      }
    }
  }

  // A timer for another height or round (an import or a round change made it stale) must do
  // nothing: no message, no timer, no proposal.
  void check_inert(const Node& n, const consensus::TimerEvent& timer, const Actions& acted) {
    for (const auto& a : acted) {
      if (std::holds_alternative<consensus::Note>(a) ||
          std::holds_alternative<consensus::RequestSync>(a)) {
        continue;
      }
      violations_.push_back("node " + std::to_string(n.index) + ": stale timer (height " +
                            std::to_string(timer.height) + ", round " +
                            std::to_string(timer.round) + ") acted at height " +
                            std::to_string(n.core->height()) + " round " +
                            std::to_string(n.core->round()));
      return;
    }
  }

  chain::Block build(Node& n, const consensus::BuildProposal& bp) {
    chain::Block b;
    chain::Header& h = b.header;
    h.parent_hash = bp.parent.hash();
    h.rewardbase = bp.rewardbase;
    h.number = bp.height;
    h.time = bp.time;
    h.time_fos = bp.time_fos;
    const auto cp = n.state.checkpoint();
    chain::BlockBuilder builder(n.state, bp.rewardbase, kChainId);
    for (std::size_t k = 0; k < cfg_.txs_per_block && !net_.account_keys.empty(); ++k) {
      const std::size_t a = (bp.height + k) % net_.account_keys.size();
      const auto& key = net_.account_keys[a];
      const Address from = crypto::address_of(key);
      const Address to = crypto::address_of(net_.account_keys[(a + 1) % net_.account_keys.size()]);
      const auto tx = chain::make_transfer(key, n.state.get(from).nonce, to, U256(1 + k),
                                           U256(chain::kTestGasPrice), kChainId);
      (void)builder.add(tx);
    }
    const chain::BlockExecution exec = builder.finish();
    b.transactions = builder.transactions();
    n.state.revert_to(cp);
    h.state_root = exec.state_root;
    h.receipts_root = exec.receipts_root;
    h.transactions_root = exec.transactions_root;
    h.gas_used = exec.gas_used;
    return b;
  }

  // Verifies and executes a block on the node's head; records agreement and validity.
  bool import(Node& n, const chain::Block& b, bool from_core) {
    const chain::Header& parent = n.chain.back().header;
    if (b.header.number != parent.number + 1) return false;
    const chain::VerifyParams params{cfg_.block_period_s, now_ / 1000};
    auto info = verify_cached(b.header, parent, n.head_proposer, params);
    if (!info.ok()) {
      if (from_core) {
        violations_.push_back("node " + std::to_string(n.index) + " committed an invalid block " +
                              std::to_string(b.header.number) + ": " + info.rejection().detail);
      }
      return false;
    }
    if (info->committers.size() < council_.commit_quorum()) {
      violations_.push_back("block " + std::to_string(b.header.number) + " imported by node " +
                            std::to_string(n.index) + " has only " +
                            std::to_string(info->committers.size()) + " committed seals");
    }
    if (!chain::verify_body(b).ok()) {
      violations_.push_back("block " + std::to_string(b.header.number) + ": bad transactions root");
      return false;
    }
    const auto cp = n.state.checkpoint();
    auto exec =
        chain::execute_block(n.state, b.transactions, b.header.rewardbase, kChainId, nullptr);
    if (!exec.ok() || exec->state_root != b.header.state_root ||
        exec->receipts_root != b.header.receipts_root || exec->gas_used != b.header.gas_used) {
      n.state.revert_to(cp);
      violations_.push_back("node " + std::to_string(n.index) + " cannot execute block " +
                            std::to_string(b.header.number));
      return false;
    }
    n.state.commit(cp);
    (void)n.state.take_dirty();
    const Hash32 hash = b.hash();
    const auto [it, inserted] = canonical_.emplace(b.header.number, hash);
    if (!inserted && it->second != hash) {
      violations_.push_back("agreement: node " + std::to_string(n.index) + " imported block " +
                            std::to_string(b.header.number) + " " + to_hex0x(hash) +
                            " but another node imported " + to_hex0x(it->second));
    }
    n.chain.push_back(b);
    n.head_proposer = info->proposer;
    return true;
  }

  chain::HeaderVerdict<chain::SealInfo> verify_cached(const chain::Header& h,
                                                      const chain::Header& parent,
                                                      const std::optional<Address>& proposer,
                                                      const chain::VerifyParams& params) {
    // Keyed by the full header (seals included) and the parent; time rules are re-checked by
    // the cheap part, so only the signature work is shared between nodes.
    const Hash32 key = crypto::keccak256(h.encode());
    const auto it = verified_.find(key);
    if (it != verified_.end() && it->second.first == parent.hash()) {
      auto again = chain::verify_proposal_header(h, &parent, proposer, council_, params);
      if (!again.ok()) return again.rejection();
      return it->second.second;
    }
    auto v = chain::verify_header(h, &parent, proposer, council_, params);
    if (v.ok()) verified_.emplace(key, std::make_pair(parent.hash(), *v));
    return v;
  }

  // ---- network ----

  void send(Node& n, const consensus::Broadcast& b) {
    auto decoded = consensus::decode_message(b.message, n.core->decode_limits());
    if (!decoded.ok()) {
      violations_.push_back("node " + std::to_string(n.index) + " broadcast an undecodable " +
                            std::string(to_string(b.code)) + ": " + decoded.error().message);
      return;
    }
    auto msg = std::make_shared<const Message>(std::move(decoded).value());
    if (n.byzantine == 0) observe(n, *msg);
    if (send_hook_) send_hook_(n.index, *msg);
    if (n.byzantine != 0) {
      byzantine_send(n, msg);
      return;
    }
    for (std::size_t j = 0; j < size(); ++j) {
      if (j != n.index) deliver(n.index, j, msg);
    }
  }

  // What an honest node put on the wire, for the network-side SIGN-1 oracle and the stale check.
  void observe(const Node& n, const Message& m) {
    const std::uint64_t h = consensus::height_of(m);
    if (h <= n.chain.back().header.number) {
      violations_.push_back("node " + std::to_string(n.index) + " sent a " +
                            std::string(to_string(consensus::code_of(m))) + " for height " +
                            std::to_string(h) + " after importing it");
    }
    const std::uint32_t r = consensus::round_of(m);
    using consensus::SignKind;
    static constexpr SignKind kinds[] = {SignKind::kPreprepare, SignKind::kPrepare,
                                         SignKind::kCommit, SignKind::kRoundChange};
    observed_.push_back(SignRecord{consensus::sender_of(m), h, r,
                                   kinds[static_cast<int>(consensus::code_of(m))],
                                   consensus::digest_of(m)});
    if (const auto* pp = std::get_if<consensus::Preprepare>(&m)) {
      // A fresh proposal carries this node's seal for the view.
      const auto& hd = pp->proposal.header;
      if (hd.extra.size() > chain::kRoundByte && hd.extra[chain::kRoundByte] == r) {
        auto sig_hash = hd.sig_hash();
        auto who = chain::recover_proposer(hd);
        if (sig_hash.ok() && who.ok() && *who == n.address) {
          observed_.push_back(SignRecord{n.address, h, r, SignKind::kSeal, *sig_hash});
        }
      }
    }
  }

  void deliver(std::size_t from, std::size_t to, const std::shared_ptr<const Message>& msg) {
    ++stats_.sent;
    const LinkPolicy& l = link(from, to);
    if (!connected(from, to) || (filter_ && filter_(from, to, *msg)) ||
        (faulty_now() && chance(l.drop))) {
      ++stats_.dropped;
      return;
    }
    const int copies = faulty_now() && chance(l.duplicate) ? 2 : 1;
    for (int c = 0; c < copies; ++c) {
      at(now_ + delay(l), [this, to, msg] {
        Node& m = *nodes_[to];
        if (!m.alive || !m.core) return;
        ++stats_.delivered;
        apply(m, m.core->on_message(*msg, now_));
      });
    }
  }

  void request_sync(Node& n, const Address& peer_addr) {
    const auto peer = index_of(peer_addr);
    if (!peer || *peer == n.index) return;
    const std::size_t idx = n.index;
    const std::size_t p = *peer;
    if (!connected(idx, p)) return;
    at(now_ + delay(link(idx, p)), [this, idx, p] {
      Node& server = *nodes_[p];
      if (!server.alive || !connected(p, idx)) return;
      const std::uint64_t from = nodes_[idx]->chain.size();
      if (server.chain.size() <= from) return;
      std::vector<chain::Block> blocks(
          server.chain.begin() + static_cast<std::ptrdiff_t>(from),
          server.chain.begin() +
              static_cast<std::ptrdiff_t>(std::min<std::size_t>(server.chain.size(), from + 64)));
      at(now_ + delay(link(p, idx)), [this, idx, blocks] {
        Node& m = *nodes_[idx];
        if (!m.alive || !m.core) return;
        bool any = false;
        for (const auto& b : blocks) {
          if (b.header.number <= m.chain.back().header.number) continue;
          if (!import(m, b, /*from_core=*/false)) break;
          ++stats_.synced_blocks;
          any = true;
        }
        if (any) apply(m, m.core->on_block_committed_elsewhere(m.chain.back().header, now_));
      });
    });
  }

  // ---- byzantine behaviour (signs with the key directly: no signer, no journal) ----

  void byzantine_send(Node& n, const std::shared_ptr<const Message>& msg) {
    std::vector<std::size_t> a, b;
    for (std::size_t j = 0; j < size(); ++j) {
      if (j == n.index) continue;
      (j % 2 == 0 ? a : b).push_back(j);
    }
    std::shared_ptr<const Message> forged;
    if (const auto* pp = std::get_if<consensus::Preprepare>(&*msg);
        pp != nullptr && (n.byzantine & kEquivocateProposals) != 0) {
      consensus::Preprepare f = *pp;
      chain::Header& h = f.proposal.header;
      h.time_fos = static_cast<std::uint8_t>((h.time_fos + 1) % 100);
      auto x = h.istanbul_extra();
      if (x.ok()) {
        x->proposer_seal.clear();
        x->committed_seals.clear();
        h.extra = chain::encode_extra(*x);
        const auto seal = crypto::sign(n.key, *h.sig_hash());
        x->proposer_seal.assign(seal.begin(), seal.end());
        h.extra = chain::encode_extra(*x);
        f.signature = crypto::sign(n.key, f.digest());
        n.forged[{f.height, f.round}] = f.proposal.hash();
        forged = std::make_shared<const Message>(std::move(f));
      }
    } else if (const auto* p = std::get_if<consensus::Prepare>(&*msg);
               p != nullptr && (n.byzantine & kEquivocateVotes) != 0) {
      consensus::Prepare f = *p;
      f.block_hash = alternative_hash(n, f.height, f.round, f.block_hash);
      f.signature = crypto::sign(n.key, f.digest());
      forged = std::make_shared<const Message>(std::move(f));
    } else if (const auto* c = std::get_if<consensus::Commit>(&*msg);
               c != nullptr && (n.byzantine & kEquivocateVotes) != 0) {
      consensus::Commit f = *c;
      f.block_hash = alternative_hash(n, f.height, f.round, f.block_hash);
      f.commit_seal = crypto::sign(n.key, f.digest());
      forged = std::make_shared<const Message>(std::move(f));
    }
    if (forged) {
      ++stats_.byzantine_forgeries;
      for (auto j : a) deliver(n.index, j, msg);
      for (auto j : b) deliver(n.index, j, forged);
    } else {
      for (auto j : a) deliver(n.index, j, msg);
      for (auto j : b) deliver(n.index, j, msg);
    }
    if ((n.byzantine & kWrongParentRoundChanges) != 0 &&
        consensus::code_of(*msg) != consensus::MessageCode::kPreprepare) {
      consensus::RoundChange rc;
      rc.height = consensus::height_of(*msg);
      rc.round = std::min<std::uint32_t>(consensus::kMaxRound,
                                         consensus::round_of(*msg) + 40 + uniform(0, 20));
      rc.parent_hash = crypto::keccak256(be64(rng_()));
      rc.signature = crypto::sign(n.key, rc.digest());
      rc.sender = n.address;
      ++stats_.byzantine_forgeries;
      auto spam = std::make_shared<const Message>(std::move(rc));
      for (std::size_t j = 0; j < size(); ++j) {
        if (j != n.index) deliver(n.index, j, spam);
      }
    }
  }

  Hash32 alternative_hash(const Node& n, std::uint64_t h, std::uint32_t r, const Hash32& real) {
    const auto it = n.forged.find({h, r});
    if (it != n.forged.end() && it->second != real) return it->second;
    Bytes seed(real.begin(), real.end());
    seed.push_back(0xB7);
    return crypto::keccak256(seed);
  }

  SimConfig cfg_;
  std::mt19937_64 rng_;
  chain::TestNetwork net_;
  chain::Council council_;
  std::uint64_t start_ms_;
  std::uint64_t now_;
  std::uint64_t seq_ = 0;
  std::priority_queue<Event, std::vector<Event>, Later> queue_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<Partition> partitions_;
  std::map<std::pair<std::size_t, std::size_t>, LinkPolicy> links_;
  DropFilter filter_;
  SendHook send_hook_;
  std::vector<SignRecord> journal_;
  std::vector<SignRecord> observed_;
  std::vector<std::string> violations_;
  std::map<std::uint64_t, Hash32> canonical_;
  std::map<Hash32, std::pair<Hash32, chain::SealInfo>> verified_;
  SimStats stats_;
};

}  // namespace cc::sim
