// node/txpool.h — owns the transaction pool: admission of untrusted transactions (from peers and
// RPC) against the stateless rules and the account state, per-sender nonce ordering into pending
// (executable now) and queued (waiting for a missing nonce or for funds), replacement, size
// limits with eviction, life-time expiry, and the executable selection a block proposer takes.
// It is single-threaded: the owner serialises every call. It never reads storage or the network
// and never changes a State (account state comes in as `const chain::State&`); it never decides
// what to do with a peer (it only says whether a refusal is the sender's fault).
//
// Rules:
//   - Admission, cheapest first: already known (hash) -> chain::validate_stateless (chain id,
//     signature, gas, min gas price, ...) -> nonce below the state nonce (NonceTooLow) -> same
//     sender and nonce already pooled: replaced only if the new gas price is >= 110% of the old
//     (else ReplacementUnderpriced) -> balance >= value + fee of this tx plus those of the
//     sender's pooled txs with lower nonces (InsufficientFunds) -> limits.
//   - Pending = the sender's txs with nonces contiguous from the state nonce whose cumulative
//     cost the balance covers; everything after the first gap (or the first tx it cannot pay) is
//     queued. Filling a gap promotes the txs behind it; a new head (on_new_head) drops txs whose
//     nonce is below the new state nonce and reclassifies the rest.
//   - Limits (Kaia's TXPOOL_* keys): pending per account <= exec_slots_account, queued per
//     account <= nonexec_slots_account, pending in all <= exec_slots_all, queued in all <=
//     nonexec_slots_all. When a class is over a limit the pool evicts, in that class, the tx
//     that is farthest ahead of its sender's state nonce (the newest on a tie), and only ever
//     a sender's last tx of the class, so eviction never opens a gap inside a pending run.
//     Queued txs older than life_time are dropped first (evict_expired), so expired queued txs
//     always go before anything still live. A tx that would itself be the victim is refused
//     (PoolFull) and the pool is unchanged, unless evicting to make room for txs it promoted
//     reaches it (then it is refused and the txs evicted before it stay evicted).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "chain/sender_cache.h"
#include "chain/state.h"
#include "chain/tx.h"
#include "node/config.h"
#include "util/bytes.h"
#include "util/result.h"
#include "util/u256.h"
#include "util/verdict.h"

namespace cc::node {

struct TxPoolConfig {
  std::uint64_t chain_id = 0;
  // Where admitted senders are remembered (and looked up) so import and proposals skip the
  // recovery; null: none.
  std::shared_ptr<chain::SenderCache> senders;
  U256 min_gas_price = 0;
  std::size_t exec_slots_all = 16384;         // TXPOOL_EXEC_SLOTS_ALL
  std::size_t exec_slots_account = 16384;     // TXPOOL_EXEC_SLOTS_ACCOUNT
  std::size_t nonexec_slots_all = 16384;      // TXPOOL_NONEXEC_SLOTS_ALL
  std::size_t nonexec_slots_account = 16384;  // TXPOOL_NONEXEC_SLOTS_ACCOUNT
  std::chrono::seconds life_time{300};        // TXPOOL_LIFE_TIME (queued txs only)
};

// The pool configuration from the node's TXPOOL_* values.
[[nodiscard]] TxPoolConfig txpool_config(const NodeConfig& node, std::uint64_t chain_id,
                                         const U256& min_gas_price);

// Why the pool refused a tx. Only Invalid carries a chain::TxInvalid reason.
enum class TxPoolRefusal {
  Invalid,                 // the tx breaks a rule (see TxPoolRejection::invalid)
  AlreadyKnown,            // the same tx (hash) is already pooled: not a fault, just a duplicate
  ReplacementUnderpriced,  // same sender and nonce pooled; new gas price < 110% of the old
  PoolFull,                // a slot limit holds and this tx would be the one evicted
};

// "invalid", "already_known", "replacement_underpriced", "pool_full".
[[nodiscard]] std::string_view to_string(TxPoolRefusal refusal);

struct TxPoolRejection {
  TxPoolRefusal reason = TxPoolRefusal::Invalid;
  std::optional<chain::TxInvalid> invalid;  // set exactly when reason == Invalid
  std::string detail;                       // operator-readable: tx hash, field, values

  // True when only a faulty or hostile sender produces this tx whatever the chain state is
  // (bad signature, wrong chain id, malformed fields, ...): the caller may penalise the peer.
  // False for duplicates, full pools, underpriced replacements and stateful refusals
  // (NonceTooLow, InsufficientFunds, GasPriceTooLow), which honest peers race into.
  [[nodiscard]] bool peer_fault() const;
  // Error{"tx.<invalid>" or "txpool.<refusal>", detail} for callers that propagate Result.
  [[nodiscard]] Error to_error() const;
};

struct TxAdmitted {
  Hash32 hash{};
  Address sender{};
  bool pending = false;            // executable now (else queued)
  std::optional<Hash32> replaced;  // the tx with the same sender and nonce it replaced
  std::vector<Hash32> evicted;     // other txs dropped to make room (or found stale)
  std::size_t promoted = 0;        // queued txs of the sender it made executable
};

using TxPoolVerdict = Verdict<TxAdmitted, TxPoolRejection>;

// What a new head did to the pool.
struct TxPoolHeadChange {
  std::size_t stale = 0;     // dropped: nonce below the sender's new state nonce
  std::size_t promoted = 0;  // queued -> pending
  std::size_t demoted = 0;   // pending -> queued (e.g. the balance no longer covers them)
  std::size_t evicted = 0;   // dropped by limits after the reclassification
};

class TxPool {
 public:
  using Clock = std::chrono::steady_clock;

  explicit TxPool(TxPoolConfig config);

  // Admits tx (see the rules above). `state` is the state at the current head; `now` stamps the
  // tx for life-time expiry and drives expiry when a queued limit is reached.
  [[nodiscard]] TxPoolVerdict add(const chain::Transaction& tx, const chain::State& state,
                                  Clock::time_point now);

  // Executable txs for a block on top of `state`: per sender in nonce order from the state
  // nonce while the balance covers them, senders interleaved by gas price (highest first) then
  // arrival (oldest first), at most max_count.
  [[nodiscard]] std::vector<chain::Transaction> pending_for_block(const chain::State& state,
                                                                  std::size_t max_count) const;

  // After a new head: drops txs whose nonce is below the sender's state nonce, reclassifies
  // every sender (promotes filled gaps, demotes what the balance no longer covers), then
  // enforces the limits.
  TxPoolHeadChange on_new_head(const chain::State& state);

  // Drops queued txs that have been in the pool for life_time or longer; returns how many.
  std::size_t evict_expired(Clock::time_point now);

  [[nodiscard]] bool contains(const Hash32& hash) const;
  // The pooled tx, or nullptr. The pointer is valid until the next non-const call.
  [[nodiscard]] const chain::Transaction* get(const Hash32& hash) const;
  // The recovered sender of a pooled tx.
  [[nodiscard]] std::optional<Address> sender_of(const Hash32& hash) const;
  // The nonce the sender's next tx should carry: the state nonce plus its pending run.
  [[nodiscard]] std::uint64_t next_nonce(const Address& sender, const chain::State& state) const;

  [[nodiscard]] std::size_t size() const { return by_hash_.size(); }
  [[nodiscard]] std::size_t pending_count() const { return pending_; }
  [[nodiscard]] std::size_t queued_count() const { return queued_; }
  [[nodiscard]] const TxPoolConfig& config() const { return config_; }

 private:
  struct Entry {
    chain::Transaction tx;
    Hash32 hash{};
    U256 cost = 0;          // value + fee (validate_stateless proved it fits in 256 bits)
    std::uint64_t seq = 0;  // arrival order, for ties
    Clock::time_point added{};
    bool pending = false;
  };
  struct Sender {
    chain::Account account;              // as of the last add/on_new_head for this sender
    std::map<std::uint64_t, Entry> txs;  // by nonce
    std::size_t pending = 0;
    std::size_t queued = 0;
  };
  struct Location {
    Address sender;
    std::uint64_t nonce;
  };
  struct Reclassified {
    std::size_t stale = 0;
    std::size_t promoted = 0;
    std::size_t demoted = 0;
  };
  // A victim candidate: a sender's last tx of one class.
  struct Victim {
    Address sender{};
    std::uint64_t nonce = 0;
    Hash32 hash{};
  };

  // Sets the sender's account, drops txs below its nonce (their hashes into `dropped`) and
  // recomputes pending/queued, keeping the counters in step.
  Reclassified reclassify(const Address& addr, Sender& sender, const chain::Account& account,
                          std::vector<Hash32>* dropped);
  void erase(const Address& addr, std::uint64_t nonce);
  [[nodiscard]] std::optional<Victim> pick_victim(bool pending_class,
                                                  const Address* only_sender) const;
  // Evicts until every limit holds (per-account limits for `touched`, or for every sender when
  // it is null); `evicted` receives the hashes. `now` (when set) lets a queued overflow expire
  // old queued txs first.
  void enforce_limits(const Address* touched, std::optional<Clock::time_point> now,
                      std::vector<Hash32>& evicted);
  void expire(Clock::time_point now, std::vector<Hash32>& evicted);

  TxPoolConfig config_;
  std::map<Address, Sender> senders_;  // ordered: deterministic iteration
  std::unordered_map<Hash32, Location, Hash32Hasher> by_hash_;
  std::size_t pending_ = 0;
  std::size_t queued_ = 0;
  std::uint64_t next_seq_ = 0;
};

}  // namespace cc::node
