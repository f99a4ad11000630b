#include "chain/state.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "codec/rlp.h"
#include "crypto/keccak.h"
#include "support/fill.h"

namespace cc::chain {
namespace {

using cc::testing::addr;

Address addr_n(std::uint32_t n) {
  Address a{};
  a[0] = static_cast<std::uint8_t>(n >> 24);
  a[1] = static_cast<std::uint8_t>(n >> 16);
  a[2] = static_cast<std::uint8_t>(n >> 8);
  a[3] = static_cast<std::uint8_t>(n);
  a[19] = 0x5a;
  return a;
}

Hash32 expected_leaf(const Address& a, std::uint64_t nonce, const U256& balance) {
  Bytes pre{0x00};
  Bytes list =
      rlp::encode_list({rlp::encode_bytes(a), rlp::encode_uint(nonce), rlp::encode_u256(balance)});
  pre.insert(pre.end(), list.begin(), list.end());
  return crypto::keccak256(pre);
}

Hash32 expected_node(const Hash32& l, const Hash32& r) {
  Bytes pre{0x01};
  pre.insert(pre.end(), l.begin(), l.end());
  pre.insert(pre.end(), r.begin(), r.end());
  return crypto::keccak256(pre);
}

TEST(StateRoot, EmptyStateIsKeccakOfNothing) {
  State s;
  EXPECT_EQ(to_hex(s.root()), "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  EXPECT_EQ(s.root(), empty_state_root());
}

TEST(StateRoot, MatchesTheDocumentedTreeForOneTwoAndThreeAccounts) {
  State s;
  s.set(addr(0x33), Account{3, 300});
  Hash32 l3 = expected_leaf(addr(0x33), 3, 300);
  EXPECT_EQ(s.root(), l3);
  s.set(addr(0x11), Account{1, 100});
  Hash32 l1 = expected_leaf(addr(0x11), 1, 100);
  EXPECT_EQ(s.root(), expected_node(l1, l3));  // ordered by address, not by insertion
  s.set(addr(0x22), Account{0, 200});
  Hash32 l2 = expected_leaf(addr(0x22), 0, 200);
  // Odd last node is carried up, not duplicated.
  EXPECT_EQ(s.root(), expected_node(expected_node(l1, l2), l3));
}

TEST(StateRoot, IndependentOfInsertionOrder) {
  std::vector<std::pair<Address, Account>> accounts;
  for (std::uint32_t i = 0; i < 257; ++i) {
    accounts.emplace_back(addr_n(i * 7919), Account{i, U256(i) * 1'000'000'007ULL});
  }
  State forward;
  for (const auto& [a, acc] : accounts) forward.set(a, acc);
  std::mt19937 rng(42);
  std::shuffle(accounts.begin(), accounts.end(), rng);
  State shuffled;
  for (const auto& [a, acc] : accounts) shuffled.set(a, acc);
  EXPECT_EQ(forward.root(), shuffled.root());
  EXPECT_NE(forward.root(), empty_state_root());
}

TEST(StateRoot, ChangesOnAnyBalanceOrNonceChangeAndComesBack) {
  State s;
  for (std::uint32_t i = 0; i < 10; ++i) s.set(addr_n(i), Account{i, U256(1000 + i)});
  const Hash32 before = s.root();
  for (std::uint32_t i = 0; i < 10; ++i) {
    Account orig = s.get(addr_n(i));
    Account changed = orig;
    changed.balance += 1;
    s.set(addr_n(i), changed);
    EXPECT_NE(s.root(), before) << "balance change of account " << i;
    changed = orig;
    changed.nonce += 1;
    s.set(addr_n(i), changed);
    EXPECT_NE(s.root(), before) << "nonce change of account " << i;
    s.set(addr_n(i), orig);
    EXPECT_EQ(s.root(), before) << "restoring account " << i;
  }
}

TEST(StateRoot, SwappingTwoAccountsValuesChangesRoot) {
  State a;
  a.set(addr(1), Account{0, 5});
  a.set(addr(2), Account{0, 7});
  State b;
  b.set(addr(1), Account{0, 7});
  b.set(addr(2), Account{0, 5});
  EXPECT_NE(a.root(), b.root());
}

TEST(StateAccounts, AbsentReadsAsZeroAndEmptyAccountIsErased) {
  State s;
  EXPECT_EQ(s.get(addr(9)), Account{});
  EXPECT_FALSE(s.contains(addr(9)));
  s.set(addr(9), Account{0, 1});
  EXPECT_TRUE(s.contains(addr(9)));
  EXPECT_EQ(s.size(), 1u);
  s.set(addr(9), Account{});
  EXPECT_FALSE(s.contains(addr(9)));
  EXPECT_EQ(s.size(), 0u);
  EXPECT_EQ(s.root(), empty_state_root());
}

TEST(StateAccounts, ForEachVisitsInAddressOrder) {
  State s;
  s.set(addr(3), Account{0, 3});
  s.set(addr(1), Account{0, 1});
  s.set(addr(2), Account{0, 2});
  std::vector<Address> seen;
  s.for_each([&](const Address& a, const Account& acc) {
    seen.push_back(a);
    EXPECT_EQ(acc.balance, U256(a[0]));
  });
  EXPECT_EQ(seen, (std::vector<Address>{addr(1), addr(2), addr(3)}));
}

TEST(StateDirty, ReportsTouchedAccountsOnceIncludingDeletionsThenClears) {
  State s;
  s.set(addr(2), Account{0, 20});
  s.set(addr(1), Account{1, 10});
  s.set(addr(2), Account{0, 21});
  auto first = s.take_dirty();
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0], std::make_pair(addr(1), Account{1, 10}));
  EXPECT_EQ(first[1], std::make_pair(addr(2), Account{0, 21}));
  EXPECT_EQ(s.dirty_count(), 0u);
  EXPECT_TRUE(s.take_dirty().empty());

  s.set(addr(1), Account{});  // deletion is reported as an empty account
  auto second = s.take_dirty();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].first, addr(1));
  EXPECT_TRUE(second[0].second.empty());
}

TEST(StateCheckpoint, RevertRestoresAccountsRootAndDirtySet) {
  State s;
  s.set(addr(1), Account{1, 100});
  s.set(addr(2), Account{0, 50});
  (void)s.take_dirty();
  s.set(addr(3), Account{0, 1});  // dirty before the checkpoint
  const Hash32 root = s.root();

  auto cp = s.checkpoint();
  s.set(addr(1), Account{2, 90});
  s.set(addr(2), Account{});  // erased
  s.set(addr(3), Account{0, 2});
  s.set(addr(4), Account{0, 10});  // created
  s.set(addr(4), Account{0, 11});
  EXPECT_NE(s.root(), root);
  s.revert_to(cp);

  EXPECT_EQ(s.root(), root);
  EXPECT_EQ(s.get(addr(1)), (Account{1, 100}));
  EXPECT_EQ(s.get(addr(2)), (Account{0, 50}));
  EXPECT_EQ(s.get(addr(3)), (Account{0, 1}));
  EXPECT_FALSE(s.contains(addr(4)));
  auto dirty = s.take_dirty();
  ASSERT_EQ(dirty.size(), 1u);  // only the change made before the checkpoint
  EXPECT_EQ(dirty[0].first, addr(3));
}

TEST(StateCheckpoint, CommitKeepsChangesAndNestedRevertUndoesOnlyInner) {
  State s;
  s.set(addr(1), Account{0, 100});
  auto outer = s.checkpoint();
  s.set(addr(1), Account{1, 90});
  auto inner = s.checkpoint();
  s.set(addr(1), Account{2, 80});
  s.set(addr(2), Account{0, 5});
  s.revert_to(inner);
  EXPECT_EQ(s.get(addr(1)), (Account{1, 90}));
  EXPECT_FALSE(s.contains(addr(2)));
  s.commit(outer);
  EXPECT_EQ(s.get(addr(1)), (Account{1, 90}));

  // After the outer commit, a fresh checkpoint can still revert its own changes only.
  auto again = s.checkpoint();
  s.set(addr(1), Account{9, 9});
  s.revert_to(again);
  EXPECT_EQ(s.get(addr(1)), (Account{1, 90}));
}

TEST(StateCheckpoint, RevertedRootMatchesFreshlyBuiltState) {
  // Leaf caches must be invalidated on revert, not just the account values.
  State s;
  for (std::uint32_t i = 0; i < 20; ++i) s.set(addr_n(i), Account{i, U256(i + 1)});
  (void)s.root();  // fill caches
  auto cp = s.checkpoint();
  for (std::uint32_t i = 0; i < 20; i += 3) s.set(addr_n(i), Account{i + 1, U256(i + 99)});
  (void)s.root();
  s.revert_to(cp);
  State fresh;
  for (std::uint32_t i = 0; i < 20; ++i) fresh.set(addr_n(i), Account{i, U256(i + 1)});
  EXPECT_EQ(s.root(), fresh.root());
}

TEST(AccountCodec, RoundTripsAndRejectsExtraFields) {
  Account acc{7, U256("0x1000000000000000000000000000000000000000")};
  auto back = decode_account(encode_account(acc));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, acc);
  Bytes three = rlp::encode_list({rlp::encode_uint(1), rlp::encode_uint(2), rlp::encode_uint(3)});
  auto bad = decode_account(three);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("account record"), std::string::npos);
  EXPECT_FALSE(decode_account(rlp::encode_list({rlp::encode_uint(1)})).ok());
}

}  // namespace
}  // namespace cc::chain
