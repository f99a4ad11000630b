#include "node/txpool.h"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <queue>
#include <utility>

namespace cc::node {
namespace {

TxPoolRejection refuse(TxPoolRefusal reason, std::string detail) {
  return TxPoolRejection{reason, std::nullopt, std::move(detail)};
}

TxPoolRejection invalid(chain::TxInvalid reason, std::string detail) {
  return TxPoolRejection{TxPoolRefusal::Invalid, reason, std::move(detail)};
}

}  // namespace

TxPoolConfig txpool_config(const NodeConfig& node, std::uint64_t chain_id,
                           const U256& min_gas_price) {
  TxPoolConfig c;
  c.chain_id = chain_id;
  c.min_gas_price = min_gas_price;
  c.exec_slots_all = node.txpool_exec_slots_all;
  c.exec_slots_account = node.txpool_exec_slots_account;
  c.nonexec_slots_all = node.txpool_nonexec_slots_all;
  c.nonexec_slots_account = node.txpool_nonexec_slots_account;
  c.life_time = node.txpool_life_time;
  return c;
}

std::string_view to_string(TxPoolRefusal refusal) {
  switch (refusal) {
    case TxPoolRefusal::Invalid:
      return "invalid";
    case TxPoolRefusal::AlreadyKnown:
      return "already_known";
    case TxPoolRefusal::ReplacementUnderpriced:
      return "replacement_underpriced";
    case TxPoolRefusal::PoolFull:
      return "pool_full";
  }
  return "unknown";
}

bool TxPoolRejection::peer_fault() const {
  if (reason != TxPoolRefusal::Invalid || !invalid) return false;
  switch (*invalid) {
    case chain::TxInvalid::Malformed:
    case chain::TxInvalid::WrongChainId:
    case chain::TxInvalid::NotEip155:
    case chain::TxInvalid::ContractCreation:
    case chain::TxInvalid::HasData:
    case chain::TxInvalid::BadSignature:
    case chain::TxInvalid::IntrinsicGasTooLow:
    case chain::TxInvalid::FeeOverflow:
      return true;
    default:
      // Stateful or node-local (NonceTooLow, InsufficientFunds, GasPriceTooLow, ...): an honest
      // peer that saw another head or runs another minimum sends these too.
      return false;
  }
}

Error TxPoolRejection::to_error() const {
  if (reason == TxPoolRefusal::Invalid && invalid) {
    return chain::TxRejection{*invalid, detail}.to_error();
  }
  return make_error("txpool." + std::string(to_string(reason)), detail);
}

TxPool::TxPool(TxPoolConfig config) : config_(std::move(config)) {}

// ---- admission ----

TxPoolVerdict TxPool::add(const chain::Transaction& tx, const chain::State& state,
                          Clock::time_point now) {
  const Hash32 hash = tx.hash();
  if (by_hash_.contains(hash)) {
    return refuse(TxPoolRefusal::AlreadyKnown, "tx " + to_hex0x(hash) + " is already pooled");
  }
  auto checked =
      chain::validate_stateless(tx, config_.chain_id, config_.min_gas_price, config_.senders.get());
  if (!checked.ok()) {
    return invalid(checked.reason(), "tx " + to_hex0x(hash) + ": " + checked.rejection().detail);
  }
  const Address sender_addr = checked.value();
  // validate_stateless refused any tx whose value + fee overflows.
  const U256 cost = tx.value + chain::transfer_fee(tx.gas_price).value_or(U256(0));
  const chain::Account account = state.get(sender_addr);
  if (tx.nonce < account.nonce) {
    return invalid(chain::TxInvalid::NonceTooLow,
                   "tx " + to_hex0x(hash) + ": nonce " + std::to_string(tx.nonce) +
                       " is below the sender's nonce " + std::to_string(account.nonce));
  }

  TxAdmitted out;
  out.hash = hash;
  out.sender = sender_addr;
  auto [sit, created] = senders_.try_emplace(sender_addr);
  Sender& s = sit->second;
  // Bring the sender in step with the state this call sees (drops txs a block included).
  if (created || !(s.account == account)) (void)reclassify(sender_addr, s, account, &out.evicted);
  auto drop_if_empty = [&] {
    if (s.txs.empty()) senders_.erase(sender_addr);
  };

  auto existing = s.txs.find(tx.nonce);
  if (existing != s.txs.end()) {
    const U256& old_price = existing->second.tx.gas_price;
    // Fees fit in 256 bits (validate_stateless), so gas_price * 110 cannot wrap.
    if (tx.gas_price * 100 < old_price * 110) {
      return refuse(TxPoolRefusal::ReplacementUnderpriced,
                    "tx " + to_hex0x(hash) + ": replacing nonce " + std::to_string(tx.nonce) +
                        " needs a gas price of at least 110% of " + u256_to_dec(old_price) +
                        ", got " + u256_to_dec(tx.gas_price));
    }
  }

  // The sender must afford this tx after everything it has pooled before it.
  U256 earlier = 0;
  bool covered = true;
  for (auto it = s.txs.begin(); it != s.txs.end() && it->first < tx.nonce; ++it) {
    if (it->second.cost > account.balance - earlier) {
      covered = false;
      break;
    }
    earlier += it->second.cost;
  }
  if (!covered || cost > account.balance - earlier) {
    drop_if_empty();
    return invalid(chain::TxInvalid::InsufficientFunds,
                   "tx " + to_hex0x(hash) + ": balance " + u256_to_dec(account.balance) +
                       " does not cover value + fee " + u256_to_dec(cost) +
                       " after the sender's pooled txs with lower nonces");
  }

  if (existing != s.txs.end()) {
    out.replaced = existing->second.hash;
    erase(sender_addr, tx.nonce);  // s stays: the sender still has the replacement coming
  }
  // Enters as queued; reclassify decides.
  Sender& target = senders_[sender_addr];
  target.txs.emplace(tx.nonce, Entry{tx, hash, cost, next_seq_++, now, false});
  target.account = account;
  ++target.queued;
  ++queued_;
  by_hash_.emplace(hash, Location{sender_addr, tx.nonce});
  const auto r = reclassify(sender_addr, target, account, &out.evicted);
  const bool now_pending = target.txs.at(tx.nonce).pending;
  out.promoted = r.promoted - (now_pending ? 1 : 0);

  enforce_limits(&sender_addr, now, out.evicted);
  if (!by_hash_.contains(hash)) {
    std::erase(out.evicted, hash);
    return refuse(TxPoolRefusal::PoolFull,
                  "tx " + to_hex0x(hash) + ": the pool's " + (now_pending ? "pending" : "queued") +
                      " slots are full and this tx is the farthest ahead of its sender's nonce");
  }
  out.pending = senders_.at(sender_addr).txs.at(tx.nonce).pending;
  return out;
}

// ---- classification ----

TxPool::Reclassified TxPool::reclassify(const Address& addr, Sender& s,
                                        const chain::Account& account,
                                        std::vector<Hash32>* dropped) {
  (void)addr;
  Reclassified r;
  s.account = account;
  while (!s.txs.empty() && s.txs.begin()->first < account.nonce) {
    Entry& e = s.txs.begin()->second;
    if (dropped) dropped->push_back(e.hash);
    if (e.pending) {
      --s.pending;
      --pending_;
    } else {
      --s.queued;
      --queued_;
    }
    by_hash_.erase(e.hash);
    s.txs.erase(s.txs.begin());
    ++r.stale;
  }
  std::uint64_t expected = account.nonce;
  U256 spent = 0;
  bool executable = true;
  for (auto& [nonce, e] : s.txs) {
    const bool p = executable && nonce == expected && e.cost <= account.balance - spent;
    if (p) {
      spent += e.cost;
      ++expected;
    } else {
      executable = false;
    }
    if (p == e.pending) continue;
    e.pending = p;
    if (p) {
      ++r.promoted;
      ++s.pending;
      ++pending_;
      --s.queued;
      --queued_;
    } else {
      ++r.demoted;
      --s.pending;
      --pending_;
      ++s.queued;
      ++queued_;
    }
  }
  return r;
}

void TxPool::erase(const Address& addr, std::uint64_t nonce) {
  auto sit = senders_.find(addr);
  if (sit == senders_.end()) return;
  Sender& s = sit->second;
  auto it = s.txs.find(nonce);
  if (it == s.txs.end()) return;
  if (it->second.pending) {
    --s.pending;
    --pending_;
  } else {
    --s.queued;
    --queued_;
  }
  by_hash_.erase(it->second.hash);
  s.txs.erase(it);
  if (s.txs.empty()) senders_.erase(sit);
}

// ---- limits ----

std::optional<TxPool::Victim> TxPool::pick_victim(bool pending_class,
                                                  const Address* only_sender) const {
  std::optional<Victim> best;
  std::uint64_t best_distance = 0;
  std::uint64_t best_seq = 0;
  auto consider = [&](const Address& addr, const Sender& s) {
    const Entry* last = nullptr;
    std::uint64_t nonce = 0;
    if (pending_class) {
      if (s.pending == 0) return;
      // The pending run starts at the state nonce; its last tx closes it.
      nonce = s.account.nonce + (s.pending - 1);
      auto it = s.txs.find(nonce);
      if (it == s.txs.end()) return;
      last = &it->second;
    } else {
      if (s.queued == 0) return;
      // Queued txs all follow the pending run, so the sender's last tx is queued.
      auto it = s.txs.rbegin();
      nonce = it->first;
      last = &it->second;
    }
    const std::uint64_t distance = nonce - s.account.nonce;
    if (!best || distance > best_distance || (distance == best_distance && last->seq > best_seq)) {
      best = Victim{addr, nonce, last->hash};
      best_distance = distance;
      best_seq = last->seq;
    }
  };
  if (only_sender != nullptr) {
    auto it = senders_.find(*only_sender);
    if (it != senders_.end()) consider(it->first, it->second);
  } else {
    for (const auto& [addr, s] : senders_) consider(addr, s);
  }
  return best;
}

void TxPool::enforce_limits(const Address* touched, std::optional<Clock::time_point> now,
                            std::vector<Hash32>& evicted) {
  auto evict = [&](const Victim& v) {
    evicted.push_back(v.hash);
    erase(v.sender, v.nonce);
  };
  auto queued_of = [&](const Address& a) -> std::size_t {
    auto it = senders_.find(a);
    return it == senders_.end() ? 0 : it->second.queued;
  };
  auto pending_of = [&](const Address& a) -> std::size_t {
    auto it = senders_.find(a);
    return it == senders_.end() ? 0 : it->second.pending;
  };

  std::vector<Address> accounts;
  if (touched != nullptr) {
    accounts.push_back(*touched);
  } else {
    for (const auto& [addr, s] : senders_) accounts.push_back(addr);
  }

  bool queued_over = queued_ > config_.nonexec_slots_all;
  for (const auto& a : accounts) queued_over |= queued_of(a) > config_.nonexec_slots_account;
  // Expired queued txs make room before anything live is evicted.
  if (queued_over && now) expire(*now, evicted);

  for (const auto& a : accounts) {
    while (queued_of(a) > config_.nonexec_slots_account) evict(*pick_victim(false, &a));
    while (pending_of(a) > config_.exec_slots_account) evict(*pick_victim(true, &a));
  }
  while (queued_ > config_.nonexec_slots_all) evict(*pick_victim(false, nullptr));
  while (pending_ > config_.exec_slots_all) evict(*pick_victim(true, nullptr));
}

void TxPool::expire(Clock::time_point now, std::vector<Hash32>& evicted) {
  std::vector<std::pair<Address, std::uint64_t>> old;
  for (const auto& [addr, s] : senders_) {
    for (const auto& [nonce, e] : s.txs) {
      if (!e.pending && now - e.added >= config_.life_time) old.emplace_back(addr, nonce);
    }
  }
  // Dropping a queued tx never changes another's class: everything after it is queued too.
  for (const auto& [addr, nonce] : old) {
    evicted.push_back(senders_.at(addr).txs.at(nonce).hash);
    erase(addr, nonce);
  }
}

std::size_t TxPool::evict_expired(Clock::time_point now) {
  std::vector<Hash32> evicted;
  expire(now, evicted);
  return evicted.size();
}

// ---- head changes and selection ----

TxPoolHeadChange TxPool::on_new_head(const chain::State& state) {
  TxPoolHeadChange c;
  for (auto it = senders_.begin(); it != senders_.end();) {
    const auto r = reclassify(it->first, it->second, state.get(it->first), nullptr);
    c.stale += r.stale;
    c.promoted += r.promoted;
    c.demoted += r.demoted;
    if (it->second.txs.empty()) {
      it = senders_.erase(it);
    } else {
      ++it;
    }
  }
  std::vector<Hash32> evicted;
  enforce_limits(nullptr, std::nullopt, evicted);
  c.evicted = evicted.size();
  return c;
}

std::vector<chain::Transaction> TxPool::pending_for_block(const chain::State& state,
                                                          std::size_t max_count) const {
  using TxIt = std::map<std::uint64_t, Entry>::const_iterator;
  struct Cursor {
    TxIt it;
    TxIt end;
    U256 left;  // balance left after this tx
  };
  // Highest gas price first, then oldest arrival (a priority_queue pops its "largest").
  auto lower = [](const Cursor& a, const Cursor& b) {
    const auto& pa = a.it->second.tx.gas_price;
    const auto& pb = b.it->second.tx.gas_price;
    if (pa != pb) return pa < pb;
    return a.it->second.seq > b.it->second.seq;
  };
  std::priority_queue<Cursor, std::vector<Cursor>, decltype(lower)> heads(lower);
  for (const auto& [addr, s] : senders_) {
    const chain::Account account = state.get(addr);
    auto it = s.txs.find(account.nonce);
    if (it == s.txs.end() || it->second.cost > account.balance) continue;
    heads.push(Cursor{it, s.txs.end(), account.balance - it->second.cost});
  }
  std::vector<chain::Transaction> out;
  out.reserve(std::min(max_count, pending_));
  while (!heads.empty() && out.size() < max_count) {
    Cursor c = heads.top();
    heads.pop();
    out.push_back(c.it->second.tx);
    auto next = std::next(c.it);
    if (next != c.end && next->first == c.it->first + 1 && next->second.cost <= c.left) {
      heads.push(Cursor{next, c.end, c.left - next->second.cost});
    }
  }
  return out;
}

// ---- lookups ----

bool TxPool::contains(const Hash32& hash) const { return by_hash_.contains(hash); }

const chain::Transaction* TxPool::get(const Hash32& hash) const {
  auto it = by_hash_.find(hash);
  if (it == by_hash_.end()) return nullptr;
  return &senders_.at(it->second.sender).txs.at(it->second.nonce).tx;
}

std::optional<Address> TxPool::sender_of(const Hash32& hash) const {
  auto it = by_hash_.find(hash);
  if (it == by_hash_.end()) return std::nullopt;
  return it->second.sender;
}

std::uint64_t TxPool::next_nonce(const Address& sender, const chain::State& state) const {
  const chain::Account account = state.get(sender);
  std::uint64_t nonce = account.nonce;
  auto sit = senders_.find(sender);
  if (sit == senders_.end()) return nonce;
  U256 left = account.balance;
  for (auto it = sit->second.txs.find(nonce);
       it != sit->second.txs.end() && it->first == nonce && it->second.cost <= left; ++it) {
    left -= it->second.cost;
    ++nonce;
  }
  return nonce;
}

}  // namespace cc::node
