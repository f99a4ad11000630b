// tests/unit/storage/storage_test_util.h — shared fixtures for the storage tests: a temporary
// directory removed on scope exit, a small deterministic test network with a generated chain,
// and a re-sealer that turns a tampered block into one whose seals are valid again (so a test
// reaches the check after header verification).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "chain/block.h"
#include "chain/extra.h"
#include "chain/generator.h"
#include "chain/receipt.h"
#include "crypto/address.h"
#include "crypto/secp256k1.h"
#include "support/temp_dir.h"

namespace cc::storage::testing {

using cc::testing::TempDir;

inline constexpr std::uint64_t kChainId = 1000;

// 4 validators, 6 funded accounts, and `blocks` blocks of `txs` transfers each.
struct TestChain {
  chain::TestNetwork net;
  std::vector<chain::Block> blocks;
};

inline TestChain make_test_chain(std::size_t blocks, std::size_t txs, std::uint64_t seed = 7,
                                 std::uint64_t chain_id = kChainId) {
  TestChain tc{chain::make_test_network(4, 6, 1, chain_id), {}};
  chain::GenerateParams params;
  params.blocks = blocks;
  params.txs_per_block = txs;
  params.seed = seed;
  auto generated =
      chain::generate_chain(tc.net.genesis, tc.net.validator_keys, tc.net.account_keys, params);
  EXPECT_TRUE(generated.ok()) << (generated.ok() ? "" : generated.error().message);
  if (generated.ok()) tc.blocks = std::move(generated).value();
  return tc;
}

// A time after every generated block.
inline std::uint64_t now_after(const TestChain& tc) {
  return tc.blocks.empty() ? chain::kTestGenesisTime + 10 : tc.blocks.back().header.time + 10;
}

// Re-signs `header` as `proposer` would (proposer seal over sig_hash, then a committed seal from
// every validator over the new hash), after a test changed its fields.
inline void reseal(chain::Header& header, const Address& proposer, const chain::TestNetwork& net) {
  auto extra = chain::decode_extra(header.extra);
  ASSERT_TRUE(extra.ok());
  extra->proposer_seal.clear();
  extra->committed_seals.clear();
  header.extra = chain::encode_extra(*extra);
  auto sig_hash = header.sig_hash();
  ASSERT_TRUE(sig_hash.ok());
  const crypto::PrivateKey* proposer_key = nullptr;
  for (const auto& k : net.validator_keys) {
    if (crypto::address_of(k) == proposer) proposer_key = &k;
  }
  ASSERT_NE(proposer_key, nullptr);
  auto seal = crypto::sign(*proposer_key, *sig_hash);
  extra->proposer_seal.assign(seal.begin(), seal.end());
  header.extra = chain::encode_extra(*extra);
  const Hash32 digest = chain::commit_seal_digest(header.hash());
  for (const auto& k : net.validator_keys)
    extra->committed_seals.push_back(crypto::sign(k, digest));
  header.extra = chain::encode_extra(*extra);
}

// The proposer of a (validly sealed) header.
inline Address proposer_of(const chain::Header& header) {
  auto p = chain::recover_proposer(header);
  EXPECT_TRUE(p.ok());
  return p.ok() ? *p : Address{};
}

}  // namespace cc::storage::testing
