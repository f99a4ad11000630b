#include "chain/sender_cache.h"

namespace cc::chain {

SenderCache::SenderCache(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

void SenderCache::remember(const Hash32& tx_hash, const Address& sender) {
  std::lock_guard lock(mu_);
  if (!senders_.emplace(tx_hash, sender).second) return;
  order_.push_back(tx_hash);
  while (order_.size() > capacity_) {
    senders_.erase(order_.front());
    order_.pop_front();
  }
}

std::optional<Address> SenderCache::find(const Hash32& tx_hash) const {
  std::lock_guard lock(mu_);
  auto it = senders_.find(tx_hash);
  if (it == senders_.end()) return std::nullopt;
  return it->second;
}

std::size_t SenderCache::size() const {
  std::lock_guard lock(mu_);
  return senders_.size();
}

}  // namespace cc::chain
