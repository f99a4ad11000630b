// chain/state.h — owns the in-memory account state (address -> nonce, balance), its state root,
// change tracking for persistence, and checkpoint/revert so a block can be applied tentatively.
// It must never touch storage or decide transaction validity (chain/executor.h does); storage
// loads/persists it through for_each/set/take_dirty.
//
// Empty accounts: an account with nonce 0 and balance 0 is the same as an absent one. set() of an
// empty account erases it, so the root depends only on the logical mapping, never on whether a
// zero account was once touched.
//
// State root (committed in every header):
//   leaf(a)  = keccak256(0x00 ‖ rlp[address(20 bytes), nonce, balance])
//   node     = keccak256(0x01 ‖ left ‖ right)
//   Leaves are ordered by address (bytewise ascending). Each level pairs neighbours left to
//   right; an odd last node is carried up unchanged (never duplicated, so no two different leaf
//   sets share a root the way Bitcoin's duplicate-last rule allows). The root is the single node
//   left; one account -> its leaf hash; no accounts -> kEmptyStateRoot = keccak256("") .
//   The 0x00/0x01 prefixes keep a leaf from being passed off as an inner node.
//   Cost: leaf hashes are cached per account and recomputed only for changed accounts, but every
//   root() still hashes n-1 inner nodes (one keccak over 65 bytes each): O(n) per block. Fine for
//   the account counts a Core Cell test network holds (~1 µs per account); a persistent tree
//   would make it O(changes * log n) if a benchmark ever shows the need.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "util/bytes.h"
#include "util/result.h"
#include "util/u256.h"

namespace cc::chain {

struct Account {
  std::uint64_t nonce = 0;
  U256 balance = 0;

  bool operator==(const Account&) const = default;
  [[nodiscard]] bool empty() const { return nonce == 0 && balance == 0; }
};

// keccak256("") — the root of a state with no accounts.
[[nodiscard]] const Hash32& empty_state_root();

// RLP [nonce, balance] — the account's value as storage persists it (the address is the key).
[[nodiscard]] Bytes encode_account(const Account& account);
[[nodiscard]] Result<Account> decode_account(ByteView encoded);

class State {
 public:
  State() = default;

  // The account at addr; an absent account reads as Account{} (nonce 0, balance 0).
  [[nodiscard]] Account get(const Address& addr) const;
  [[nodiscard]] bool contains(const Address& addr) const;
  // Stores (or, for an empty account, erases) and marks addr dirty; journalled while a
  // checkpoint is open.
  void set(const Address& addr, const Account& account);

  // Number of non-empty accounts.
  [[nodiscard]] std::size_t size() const { return accounts_.size(); }
  // Visits every non-empty account in ascending address order.
  void for_each(const std::function<void(const Address&, const Account&)>& fn) const;

  // See the root definition at the top of this file.
  [[nodiscard]] Hash32 root() const;

  // Addresses set() since the last take_dirty(), with their current value (an empty account
  // means "delete it from storage"), in address order; clears the set. Storage persists exactly
  // these after committing a block. Reverted changes are not reported unless the address was
  // already dirty before the checkpoint. Must not be called while a checkpoint is open.
  [[nodiscard]] std::vector<std::pair<Address, Account>> take_dirty();
  [[nodiscard]] std::size_t dirty_count() const { return dirty_.size(); }

  // Tentative application: checkpoint() opens a scope; every set() inside is journalled.
  // revert_to() undoes all changes since that checkpoint (including dirty marks it added);
  // commit() keeps them. Checkpoints nest and must be closed innermost first.
  // Reverting costs O(changes since the checkpoint), not a copy of the state.
  struct Checkpoint {
    std::size_t journal_size;
    std::size_t depth;
  };
  [[nodiscard]] Checkpoint checkpoint();
  void revert_to(const Checkpoint& cp);
  void commit(const Checkpoint& cp);

 private:
  struct Entry {
    Account account;
    mutable std::optional<Hash32> leaf;  // cached leaf hash, reset when the account changes
  };
  struct JournalRecord {
    Address addr;
    std::optional<Account> previous;  // nullopt: was absent
    bool was_dirty;
  };

  std::map<Address, Entry> accounts_;
  std::set<Address> dirty_;  // ordered so take_dirty() is deterministic
  std::vector<JournalRecord> journal_;
  std::size_t open_checkpoints_ = 0;
};

}  // namespace cc::chain
