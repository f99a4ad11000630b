// chain/generator.h — owns synthetic chains for tests, benchmarks and `corecell chain generate`:
// deterministic test networks (keys + genesis from a seed) and valid sealed blocks of value
// transfers on top of a genesis. Everything is a pure function of its inputs (seed included), so
// two runs give byte-identical chains. It signs with keys it is handed; it must never be used by
// a node to produce real blocks (consensus/ and its SignGuard do that).
//
// Each generated block h (1-based):
//   round     = round_of(h) (0 unless the caller asks otherwise), kept in vanity byte 31
//   proposer  = council.proposer(proposer of h-1, round); rewardbase = proposer
//   time      = parent.time + blockPeriod, timeFoS 0
//   body      = K transfers signed by funded accounts (EIP-155, chain id from the genesis) to
//               funded accounts or fresh addresses, values and senders drawn from the seed
//   roots     = from executing the transfers (chain/executor.h apply_transaction)
//   seals     = proposer seal over sig_hash, then commit_quorum(N) committed seals from the
//               validators following the proposer in council order (the proposer included)
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <vector>

#include "chain/block.h"
#include "chain/council.h"
#include "chain/genesis.h"
#include "chain/state.h"
#include "crypto/secp256k1.h"
#include "util/result.h"
#include "util/thread_pool.h"
#include "util/u256.h"

namespace cc::chain {

// Genesis time of test networks (2023-11-14): far enough in the past that generated chains of
// millions of 1-second blocks are still not "future blocks" today.
inline constexpr std::uint64_t kTestGenesisTime = 1'700'000'000;
// Each funded test account's balance: 10^9 KAIA in kei (10^27).
[[nodiscard]] U256 test_account_balance();
// Kaia's fixed gas price, 25 ston (25 * 10^9 kei).
inline constexpr std::uint64_t kTestGasPrice = 25'000'000'000;

struct TestNetwork {
  std::vector<crypto::PrivateKey> validator_keys;  // ordered like genesis.council (by address)
  std::vector<crypto::PrivateKey> account_keys;    // funded in genesis.alloc
  Genesis genesis;
};

// A deterministic key: keccak256("corecell-test-key" ‖ seed ‖ role ‖ index), rehashed until it
// is a valid secret. Different roles ("validator", "account") never share keys.
[[nodiscard]] crypto::PrivateKey derive_test_key(std::uint64_t seed, std::string_view role,
                                                 std::uint64_t index);

// `validators` validators (>= 1) and `accounts` funded accounts, keys derived from seed.
[[nodiscard]] TestNetwork make_test_network(std::size_t validators, std::size_t accounts,
                                            std::uint64_t seed, std::uint64_t chain_id);

// Builds blocks one at a time on top of a genesis, keeping the post-state.
class ChainGenerator {
 public:
  // validator_keys must include a key for every council member (in any order); account_keys
  // are the senders of transfers (they need balance in the genesis alloc). pool (optional, not
  // owned) parallelises transaction signing.
  [[nodiscard]] static Result<ChainGenerator> create(
      const Genesis& genesis, const std::vector<crypto::PrivateKey>& validator_keys,
      std::vector<crypto::PrivateKey> account_keys, std::uint64_t seed, ThreadPool* pool = nullptr);

  // The next block with `txs` transfers, sealed at `round`. Fails only if a transfer is
  // refused (e.g. accounts ran out of funds); the head and state are then unchanged (the seed's
  // random stream has moved on).
  [[nodiscard]] Result<Block> next_block(std::size_t txs, std::uint8_t round = 0);

  [[nodiscard]] const Header& head() const { return head_; }
  [[nodiscard]] const std::optional<Address>& head_proposer() const { return head_proposer_; }
  [[nodiscard]] const State& state() const { return state_; }
  [[nodiscard]] const Council& council() const { return council_; }
  [[nodiscard]] const Genesis& genesis() const { return genesis_; }

 private:
  ChainGenerator(Genesis genesis, Council council, std::vector<crypto::PrivateKey> council_keys,
                 std::vector<crypto::PrivateKey> account_keys, std::uint64_t seed,
                 ThreadPool* pool);

  Genesis genesis_;
  Council council_;
  std::vector<crypto::PrivateKey> council_keys_;  // council_keys_[i] signs for council_.at(i)
  std::vector<crypto::PrivateKey> account_keys_;
  std::vector<Address> account_addrs_;
  std::mt19937_64 rng_;
  ThreadPool* pool_;
  State state_;
  Header head_;
  std::optional<Address> head_proposer_;  // nullopt while head is the genesis block
};

struct GenerateParams {
  std::size_t blocks = 0;
  std::size_t txs_per_block = 0;
  std::uint64_t seed = 0;
  // Round of block h (1-based); default round 0 everywhere.
  std::function<std::uint8_t(std::uint64_t)> round_of;
};

// `params.blocks` blocks on top of the genesis (see ChainGenerator).
[[nodiscard]] Result<std::vector<Block>> generate_chain(
    const Genesis& genesis, const std::vector<crypto::PrivateKey>& validator_keys,
    const std::vector<crypto::PrivateKey>& account_keys, const GenerateParams& params,
    ThreadPool* pool = nullptr);

}  // namespace cc::chain
