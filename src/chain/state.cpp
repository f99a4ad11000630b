#include "chain/state.h"

#include "codec/rlp.h"
#include "crypto/keccak.h"
#include "util/assert.h"

namespace cc::chain {
namespace {

constexpr std::uint8_t kLeafPrefix = 0x00;
constexpr std::uint8_t kNodePrefix = 0x01;

Hash32 leaf_hash(const Address& addr, const Account& acc) {
  rlp::Encoder enc;
  enc.raw(ByteView(&kLeafPrefix, 1));  // domain prefix, hashed ahead of the RLP list
  enc.begin_list().bytes(addr).uint(acc.nonce).u256(acc.balance).end_list();
  return crypto::keccak256(enc.finish());
}

Hash32 node_hash(const Hash32& left, const Hash32& right) {
  std::array<std::uint8_t, 65> buf{};
  buf[0] = kNodePrefix;
  std::copy(left.begin(), left.end(), buf.begin() + 1);
  std::copy(right.begin(), right.end(), buf.begin() + 33);
  return crypto::keccak256(buf);
}

}  // namespace

const Hash32& empty_state_root() {
  static const Hash32 h = crypto::keccak256(ByteView{});
  return h;
}

Bytes encode_account(const Account& account) {
  rlp::Encoder enc;
  enc.begin_list().uint(account.nonce).u256(account.balance).end_list();
  return enc.finish();
}

Result<Account> decode_account(ByteView encoded) {
  auto reader_r = rlp::ListReader::open(encoded);
  if (!reader_r.ok()) return reader_r.error().context("account record");
  rlp::ListReader reader = std::move(reader_r).value();
  Account acc;
  auto nonce = reader.next_uint();
  if (!nonce.ok()) return nonce.error().context("account record field 'nonce'");
  acc.nonce = *nonce;
  auto balance = reader.next_u256();
  if (!balance.ok()) return balance.error().context("account record field 'balance'");
  acc.balance = *balance;
  auto end = reader.expect_end();
  if (!end.ok()) return end.error().context("account record [nonce, balance]");
  return acc;
}

Account State::get(const Address& addr) const {
  auto it = accounts_.find(addr);
  return it == accounts_.end() ? Account{} : it->second.account;
}

bool State::contains(const Address& addr) const { return accounts_.count(addr) != 0; }

void State::set(const Address& addr, const Account& account) {
  auto it = accounts_.find(addr);
  if (open_checkpoints_ > 0) {
    std::optional<Account> previous;
    if (it != accounts_.end()) previous = it->second.account;
    journal_.push_back(JournalRecord{addr, previous, dirty_.count(addr) != 0});
  }
  dirty_.insert(addr);
  if (account.empty()) {
    if (it != accounts_.end()) accounts_.erase(it);
    return;
  }
  if (it == accounts_.end()) {
    accounts_.emplace(addr, Entry{account, std::nullopt});
  } else if (!(it->second.account == account)) {
    it->second.account = account;
    it->second.leaf.reset();
  }
}

void State::for_each(const std::function<void(const Address&, const Account&)>& fn) const {
  for (const auto& [addr, entry] : accounts_) fn(addr, entry.account);
}

Hash32 State::root() const {
  if (accounts_.empty()) return empty_state_root();
  std::vector<Hash32> level;
  level.reserve(accounts_.size());
  for (const auto& [addr, entry] : accounts_) {
    if (!entry.leaf) entry.leaf = leaf_hash(addr, entry.account);
    level.push_back(*entry.leaf);
  }
  // Pair neighbours; an odd last node moves up unchanged.
  while (level.size() > 1) {
    std::size_t out = 0;
    for (std::size_t i = 0; i + 1 < level.size(); i += 2) {
      level[out++] = node_hash(level[i], level[i + 1]);
    }
    if (level.size() % 2 == 1) level[out++] = level.back();
    level.resize(out);
  }
  return level.front();
}

std::vector<std::pair<Address, Account>> State::take_dirty() {
  // Persisting inside a tentative scope could write changes that a revert then undoes.
  CC_ASSERT(open_checkpoints_ == 0);
  std::vector<std::pair<Address, Account>> out;
  out.reserve(dirty_.size());
  for (const auto& addr : dirty_) out.emplace_back(addr, get(addr));
  dirty_.clear();
  return out;
}

State::Checkpoint State::checkpoint() {
  ++open_checkpoints_;
  return Checkpoint{journal_.size(), open_checkpoints_};
}

void State::revert_to(const Checkpoint& cp) {
  // Closing checkpoints out of order is a caller bug, not an input error.
  CC_ASSERT(cp.depth == open_checkpoints_ && cp.journal_size <= journal_.size());
  while (journal_.size() > cp.journal_size) {
    const JournalRecord& rec = journal_.back();
    if (rec.previous) {
      auto& entry = accounts_[rec.addr];
      entry.account = *rec.previous;
      entry.leaf.reset();
    } else {
      accounts_.erase(rec.addr);
    }
    if (!rec.was_dirty) dirty_.erase(rec.addr);
    journal_.pop_back();
  }
  --open_checkpoints_;
  if (open_checkpoints_ == 0) journal_.clear();
}

void State::commit(const Checkpoint& cp) {
  CC_ASSERT(cp.depth == open_checkpoints_ && cp.journal_size <= journal_.size());
  --open_checkpoints_;
  if (open_checkpoints_ == 0) journal_.clear();
}

}  // namespace cc::chain
