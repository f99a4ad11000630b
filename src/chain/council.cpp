#include "chain/council.h"

#include <algorithm>

#include "util/assert.h"

namespace cc::chain {

Result<Council> Council::make(std::vector<Address> validators) {
  if (validators.empty()) {
    return make_error("council.empty", "council: at least one validator address is required");
  }
  std::sort(validators.begin(), validators.end());
  auto dup = std::adjacent_find(validators.begin(), validators.end());
  if (dup != validators.end()) {
    return make_error("council.duplicate",
                      "council: validator " + to_hex0x(*dup) + " is listed more than once");
  }
  return Council(std::move(validators));
}

std::optional<std::size_t> Council::index_of(const Address& addr) const {
  auto it = std::lower_bound(validators_.begin(), validators_.end(), addr);
  if (it == validators_.end() || *it != addr) return std::nullopt;
  return static_cast<std::size_t>(it - validators_.begin());
}

std::size_t Council::proposer_index(const std::optional<Address>& prev_proposer,
                                    std::uint64_t round) const {
  const std::uint64_t n = validators_.size();
  CC_ASSERT(n > 0);
  if (!prev_proposer) return static_cast<std::size_t>(round % n);
  // Kaia's calcSeed: a previous proposer outside the council counts as index 0.
  const std::uint64_t prev = index_of(*prev_proposer).value_or(0);
  // Reduced modulo n first so a huge round cannot overflow.
  return static_cast<std::size_t>((prev + round % n + 1) % n);
}

std::size_t Council::commit_quorum() const { return chain::commit_quorum(size()); }
std::size_t Council::max_faulty() const { return chain::max_faulty(size()); }
std::size_t Council::required_seals() const { return chain::required_seals(size()); }

std::size_t commit_quorum(std::size_t n) {
  if (n < 4) return n;
  return (2 * n + 2) / 3;  // ceil(2n/3)
}

std::size_t max_faulty(std::size_t n) {
  if (n == 0) return 0;
  return (n + 2) / 3 - 1;  // ceil(n/3) - 1
}

std::size_t required_seals(std::size_t n) {
  if (n < 4) return n;
  return 2 * max_faulty(n) + 1;  // "more than 2F"
}

}  // namespace cc::chain
