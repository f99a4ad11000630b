// chain/sender_cache.h — owns a node's memory of transaction senders it has already recovered,
// so a transfer costs one secp256k1 recovery per node instead of one per pool admission,
// proposal build and block import. Sound because a transaction's hash covers its signature and
// every signed field: one hash has one sender. An entry is only remembered after
// validate_stateless passed for the node's chain ID, so a hit stands for that whole verdict.
// Thread-safe (the pool's thread and the import's verify threads share it); bounded, the oldest
// entries go first.
#pragma once

#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "util/bytes.h"

namespace cc::chain {

class SenderCache {
 public:
  // 2^17 entries (~10 MiB): a few minutes of transfers at several thousand per second.
  explicit SenderCache(std::size_t capacity = std::size_t{1} << 17);

  // Remembers that `tx_hash` passed validate_stateless for this chain with `sender`.
  void remember(const Hash32& tx_hash, const Address& sender);
  [[nodiscard]] std::optional<Address> find(const Hash32& tx_hash) const;
  [[nodiscard]] std::size_t size() const;

 private:
  mutable std::mutex mu_;
  std::size_t capacity_;
  std::unordered_map<Hash32, Address, Hash32Hasher> senders_;
  std::deque<Hash32> order_;  // insertion order, for eviction
};

}  // namespace cc::chain
