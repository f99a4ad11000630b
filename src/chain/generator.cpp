#include "chain/generator.h"

#include <algorithm>
#include <string>

#include "chain/executor.h"
#include "chain/receipt.h"
#include "crypto/address.h"
#include "crypto/keccak.h"
#include "util/assert.h"

namespace cc::chain {

U256 test_account_balance() {
  U256 v = 1;
  for (int i = 0; i < 27; ++i) v *= 10;
  return v;
}

crypto::PrivateKey derive_test_key(std::uint64_t seed, std::string_view role, std::uint64_t index) {
  const std::string tag = "corecell-test-key";
  Bytes material(tag.begin(), tag.end());
  auto s = be64(seed);
  material.insert(material.end(), s.begin(), s.end());
  material.insert(material.end(), role.begin(), role.end());
  auto i = be64(index);
  material.insert(material.end(), i.begin(), i.end());
  Hash32 h = crypto::keccak256(material);
  for (;;) {
    auto key = crypto::PrivateKey::from_bytes(h);
    if (key.ok()) return *key;
    h = crypto::keccak256(h);  // ~2^-128 chance per try; terminates in practice at once
  }
}

TestNetwork make_test_network(std::size_t validators, std::size_t accounts, std::uint64_t seed,
                              std::uint64_t chain_id) {
  TestNetwork net;
  for (std::size_t i = 0; i < validators; ++i) {
    net.validator_keys.push_back(derive_test_key(seed, "validator", i));
  }
  std::sort(net.validator_keys.begin(), net.validator_keys.end(),
            [](const crypto::PrivateKey& a, const crypto::PrivateKey& b) {
              return crypto::address_of(a) < crypto::address_of(b);
            });
  for (std::size_t i = 0; i < accounts; ++i) {
    net.account_keys.push_back(derive_test_key(seed, "account", i));
  }
  Genesis& g = net.genesis;
  g.config.chain_id = chain_id;
  g.timestamp = kTestGenesisTime;
  for (const auto& k : net.validator_keys) g.council.push_back(crypto::address_of(k));
  for (const auto& k : net.account_keys) g.alloc[crypto::address_of(k)] = test_account_balance();
  return net;
}

// ---- ChainGenerator ----

ChainGenerator::ChainGenerator(Genesis genesis, Council council,
                               std::vector<crypto::PrivateKey> council_keys,
                               std::vector<crypto::PrivateKey> account_keys, std::uint64_t seed,
                               ThreadPool* pool)
    : genesis_(std::move(genesis)),
      council_(std::move(council)),
      council_keys_(std::move(council_keys)),
      account_keys_(std::move(account_keys)),
      rng_(seed),
      pool_(pool) {
  for (const auto& k : account_keys_) account_addrs_.push_back(crypto::address_of(k));
  for (const auto& [a, balance] : genesis_.alloc) state_.set(a, Account{0, balance});
  (void)state_.take_dirty();  // the generator never persists; keep the dirty set small
  head_ = genesis_block(genesis_).header;
}

Result<ChainGenerator> ChainGenerator::create(const Genesis& genesis,
                                              const std::vector<crypto::PrivateKey>& validator_keys,
                                              std::vector<crypto::PrivateKey> account_keys,
                                              std::uint64_t seed, ThreadPool* pool) {
  auto council = genesis.make_council();
  if (!council.ok()) return council.error().context("generator: genesis");
  // Order the keys like the council so the i-th member's key is council_keys[i].
  std::vector<std::optional<crypto::PrivateKey>> by_index(council->size());
  for (const auto& k : validator_keys) {
    auto idx = council->index_of(crypto::address_of(k));
    if (idx) by_index[*idx] = k;
  }
  std::vector<crypto::PrivateKey> council_keys;
  for (std::size_t i = 0; i < by_index.size(); ++i) {
    if (!by_index[i]) {
      return make_error("generator.missing_key",
                        "generator: no key given for council member " + to_hex0x(council->at(i)));
    }
    council_keys.push_back(*by_index[i]);
  }
  return ChainGenerator(genesis, std::move(council).value(), std::move(council_keys),
                        std::move(account_keys), seed, pool);
}

Result<Block> ChainGenerator::next_block(std::size_t txs, std::uint8_t round) {
  if (txs > 0 && account_keys_.empty()) {
    return make_error("generator.no_accounts",
                      "generator: transfers need at least one funded account key");
  }
  const std::uint64_t number = head_.number + 1;
  const std::uint64_t chain_id = genesis_.config.chain_id;
  const std::size_t proposer_idx = council_.proposer_index(head_proposer_, round);
  const Address proposer = council_.at(proposer_idx);

  // Plan the transfers sequentially (the rng and nonces are order-dependent) ...
  struct Plan {
    std::size_t sender;
    std::uint64_t nonce;
    Address to;
    U256 value;
  };
  std::vector<Plan> plans;
  plans.reserve(txs);
  std::vector<std::uint64_t> pending(account_keys_.size(), 0);
  for (std::size_t i = 0; i < txs; ++i) {
    Plan p;
    p.sender = static_cast<std::size_t>(rng_() % account_keys_.size());
    p.nonce = state_.get(account_addrs_[p.sender]).nonce + pending[p.sender]++;
    if (rng_() % 4 == 0) {
      // A fresh address, so the state grows the way a live network's does.
      auto word = rng_();
      Hash32 h = crypto::keccak256(be64(word));
      std::copy_n(h.begin(), 20, p.to.begin());
    } else {
      p.to = account_addrs_[rng_() % account_addrs_.size()];
    }
    p.value = U256(1 + rng_() % 1'000'000);
    plans.push_back(p);
  }
  // ... sign them in parallel (the expensive part) ...
  std::vector<Transaction> signed_txs(txs);
  auto sign_one = [&](std::size_t i) {
    const Plan& p = plans[i];
    signed_txs[i] = make_transfer(account_keys_[p.sender], p.nonce, p.to, p.value,
                                  U256(kTestGasPrice), chain_id);
  };
  if (pool_ != nullptr && txs > 1) {
    pool_->parallel_for(txs, sign_one);
  } else {
    for (std::size_t i = 0; i < txs; ++i) sign_one(i);
  }
  // ... and execute them in order; the senders are known, so no recovery is needed.
  std::vector<Receipt> receipts;
  receipts.reserve(txs);
  std::uint64_t gas = 0;
  const auto checkpoint = state_.checkpoint();
  for (std::size_t i = 0; i < txs; ++i) {
    auto r =
        apply_transaction(state_, signed_txs[i], account_addrs_[plans[i].sender], proposer, gas);
    if (!r.ok()) {
      state_.revert_to(checkpoint);  // the head and its state stay as they were
      return r.rejection().to_error().context("generator: block " + std::to_string(number) +
                                              " transfer " + std::to_string(i));
    }
    gas = r->cumulative_gas_used;
    receipts.push_back(*r);
  }
  state_.commit(checkpoint);
  (void)state_.take_dirty();

  Block block;
  Header& h = block.header;
  h.parent_hash = head_.hash();
  h.rewardbase = proposer;
  h.state_root = state_.root();
  h.transactions_root = transactions_root(signed_txs);
  h.receipts_root = receipts_root(receipts);
  h.block_score = 1;
  h.number = number;
  h.gas_used = gas;
  h.time = head_.time + genesis_.config.istanbul.block_period;
  h.time_fos = 0;

  IstanbulExtra extra;
  extra.set_round(round);
  extra.validators = council_.validators();
  h.extra = encode_extra(extra);

  // Proposer seal over sig_hash, then commit seals over the resulting block hash.
  auto sig_hash = h.sig_hash();
  CC_ASSERT(sig_hash.ok());  // the extra was just encoded here
  auto seal = crypto::sign(council_keys_[proposer_idx], *sig_hash);
  extra.proposer_seal.assign(seal.begin(), seal.end());
  h.extra = encode_extra(extra);

  const Hash32 digest = commit_seal_digest(h.hash());
  const std::size_t n = council_.size();
  for (std::size_t i = 0; i < council_.commit_quorum(); ++i) {
    extra.committed_seals.push_back(crypto::sign(council_keys_[(proposer_idx + i) % n], digest));
  }
  h.extra = encode_extra(extra);
  block.transactions = std::move(signed_txs);

  head_ = h;
  head_proposer_ = proposer;
  return block;
}

Result<std::vector<Block>> generate_chain(const Genesis& genesis,
                                          const std::vector<crypto::PrivateKey>& validator_keys,
                                          const std::vector<crypto::PrivateKey>& account_keys,
                                          const GenerateParams& params, ThreadPool* pool) {
  CC_TRY_ASSIGN(auto gen,
                ChainGenerator::create(genesis, validator_keys, account_keys, params.seed, pool));
  std::vector<Block> out;
  out.reserve(params.blocks);
  for (std::size_t i = 0; i < params.blocks; ++i) {
    const std::uint64_t number = gen.head().number + 1;
    const std::uint8_t round = params.round_of ? params.round_of(number) : 0;
    CC_TRY_ASSIGN(auto b, gen.next_block(params.txs_per_block, round));
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace cc::chain
