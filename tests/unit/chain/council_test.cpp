// Council: ordering, round-robin proposer selection, and the quorum rules for N = 1..10.
#include "chain/council.h"
#include "support/fill.h"

#include <gtest/gtest.h>

#include <limits>

namespace cc::chain {
namespace {

using cc::testing::addr;

Council council_of(std::size_t n) {
  std::vector<Address> v;
  // Given in descending order so the sort is exercised.
  for (std::size_t i = n; i > 0; --i) v.push_back(addr(static_cast<std::uint8_t>(i * 10)));
  auto c = Council::make(v);
  EXPECT_TRUE(c.ok());
  return *c;
}

TEST(Council, SortsValidatorsAscendingByAddress) {
  Council c = council_of(5);
  for (std::size_t i = 0; i + 1 < c.size(); ++i) EXPECT_LT(c.at(i), c.at(i + 1));
  EXPECT_EQ(c.at(0), addr(10));
  EXPECT_EQ(c.index_of(addr(30)), 2u);
  EXPECT_FALSE(c.index_of(addr(31)).has_value());
  EXPECT_TRUE(c.contains(addr(50)));
  EXPECT_FALSE(c.contains(addr(60)));
}

TEST(Council, RejectsEmptyAndDuplicates) {
  auto empty = Council::make({});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, "council.empty");
  auto dup = Council::make({addr(1), addr(2), addr(1)});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, "council.duplicate");
  EXPECT_NE(dup.error().message.find(to_hex0x(addr(1))), std::string::npos);
}

TEST(Council, QuorumTableForOneToTenValidators) {
  //                        N = 1  2  3  4  5  6  7  8  9  10
  const std::size_t quorum[] = {1, 2, 3, 3, 4, 4, 5, 6, 6, 7};
  const std::size_t faulty[] = {0, 0, 0, 1, 1, 1, 2, 2, 2, 3};
  const std::size_t seals[] = {1, 2, 3, 3, 3, 3, 5, 5, 5, 7};
  for (std::size_t n = 1; n <= 10; ++n) {
    SCOPED_TRACE("N=" + std::to_string(n));
    EXPECT_EQ(commit_quorum(n), quorum[n - 1]);
    EXPECT_EQ(max_faulty(n), faulty[n - 1]);
    EXPECT_EQ(required_seals(n), seals[n - 1]);
    Council c = council_of(n);
    EXPECT_EQ(c.commit_quorum(), quorum[n - 1]);
    EXPECT_EQ(c.max_faulty(), faulty[n - 1]);
    EXPECT_EQ(c.required_seals(), seals[n - 1]);
    // Safety: two quorums always share an honest member (2Q - N > F) once N >= 4.
    if (n >= 4) {
      EXPECT_GT(2 * commit_quorum(n), n + max_faulty(n));
      EXPECT_GT(required_seals(n), 2 * max_faulty(n));
    }
  }
}

TEST(Council, FirstBlockProposerIsRoundModN) {
  for (std::size_t n = 1; n <= 10; ++n) {
    Council c = council_of(n);
    for (std::uint64_t r = 0; r < 25; ++r) {
      EXPECT_EQ(c.proposer_index(std::nullopt, r), r % n) << "N=" << n << " r=" << r;
    }
  }
}

TEST(Council, ProposerRotatesThroughEveryValidatorAtRoundZero) {
  for (std::size_t n = 1; n <= 10; ++n) {
    SCOPED_TRACE("N=" + std::to_string(n));
    Council c = council_of(n);
    std::optional<Address> prev;
    std::vector<std::size_t> seen;
    for (std::size_t h = 1; h <= 2 * n; ++h) {
      std::size_t idx = c.proposer_index(prev, 0);
      seen.push_back(idx);
      prev = c.at(idx);
    }
    for (std::size_t h = 0; h < seen.size(); ++h) EXPECT_EQ(seen[h], h % n);
  }
}

TEST(Council, HigherRoundSkipsAheadFromPreviousProposer) {
  for (std::size_t n = 1; n <= 10; ++n) {
    Council c = council_of(n);
    for (std::size_t prev = 0; prev < n; ++prev) {
      for (std::uint64_t r = 0; r < 12; ++r) {
        EXPECT_EQ(c.proposer_index(c.at(prev), r), (prev + r + 1) % n)
            << "N=" << n << " prev=" << prev << " r=" << r;
        EXPECT_EQ(c.proposer(c.at(prev), r), c.at((prev + r + 1) % n));
      }
    }
  }
}

TEST(Council, PreviousProposerOutsideCouncilCountsAsIndexZero) {
  Council c = council_of(4);
  EXPECT_EQ(c.proposer_index(addr(99), 0), 1u);
  EXPECT_EQ(c.proposer_index(addr(99), 2), 3u);
}

TEST(Council, HugeRoundDoesNotOverflow) {
  Council c = council_of(3);
  const std::uint64_t r = std::numeric_limits<std::uint64_t>::max();
  const unsigned __int128 exact = static_cast<unsigned __int128>(r) + 2 + 1;  // prev index 2
  EXPECT_EQ(c.proposer_index(c.at(2), r), static_cast<std::size_t>(exact % 3));
}

}  // namespace
}  // namespace cc::chain
