// chain/council.h — owns the validator set (the council), Istanbul's round-robin proposer
// selection and its quorum rules, so header verification (chain/verify.h), the block generator
// and consensus/ all use one definition. Pure arithmetic: no signatures, clocks or I/O.
//
// Rules (kaia-facts.md "Istanbul BFT in Kaia"):
//   order     : validators sorted ascending by address bytes; duplicates are refused.
//   proposer  : for block h at round r with prev = proposer of block h-1 (none for h = 1):
//               none -> index r % N; otherwise (index_of(prev) + r + 1) % N. A prev that is not
//               in the council counts as index 0 (Kaia's calcSeed does the same).
//   quorum    : commits needed for consensus = ceil(2N/3), but N when N < 4.
//   F         : ceil(N/3) - 1 (faults tolerated).
//   seals     : a header needs > 2F (= 2F + 1) valid committed seals from distinct members,
//               but N when N < 4.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "util/bytes.h"
#include "util/result.h"

namespace cc::chain {

class Council {
 public:
  // Sorts the addresses; fails on an empty list or a duplicate (naming it).
  [[nodiscard]] static Result<Council> make(std::vector<Address> validators);

  [[nodiscard]] const std::vector<Address>& validators() const { return validators_; }
  [[nodiscard]] std::size_t size() const { return validators_.size(); }
  [[nodiscard]] const Address& at(std::size_t index) const { return validators_.at(index); }
  [[nodiscard]] std::optional<std::size_t> index_of(const Address& addr) const;
  [[nodiscard]] bool contains(const Address& addr) const { return index_of(addr).has_value(); }

  // The proposer for a round, given the previous block's proposer (nullopt for block 1).
  [[nodiscard]] std::size_t proposer_index(const std::optional<Address>& prev_proposer,
                                           std::uint64_t round) const;
  [[nodiscard]] const Address& proposer(const std::optional<Address>& prev_proposer,
                                        std::uint64_t round) const {
    return validators_[proposer_index(prev_proposer, round)];
  }

  [[nodiscard]] std::size_t commit_quorum() const;
  [[nodiscard]] std::size_t max_faulty() const;
  [[nodiscard]] std::size_t required_seals() const;

  bool operator==(const Council&) const = default;

 private:
  explicit Council(std::vector<Address> v) : validators_(std::move(v)) {}
  std::vector<Address> validators_;
};

// The same rules as free functions of the council size (n >= 1).
[[nodiscard]] std::size_t commit_quorum(std::size_t n);   // ceil(2n/3); n when n < 4
[[nodiscard]] std::size_t max_faulty(std::size_t n);      // ceil(n/3) - 1
[[nodiscard]] std::size_t required_seals(std::size_t n);  // 2F + 1; n when n < 4

}  // namespace cc::chain
