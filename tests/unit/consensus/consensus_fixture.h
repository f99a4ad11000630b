// Shared setup for the consensus unit tests: a deterministic council (chain::make_test_network),
// a journaling Signer that enforces one digest per (height, round, kind), and helpers that sign
// messages and blocks with a validator's key directly — the way the other council members
// would, so the core under test sees exactly what the network would send it.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <tuple>
#include <vector>

#include "chain/block.h"
#include "chain/council.h"
#include "chain/extra.h"
#include "chain/generator.h"
#include "chain/genesis.h"
#include "chain/receipt.h"
#include "consensus/core.h"
#include "consensus/messages.h"
#include "consensus/signer.h"
#include "crypto/address.h"

namespace cc::consensus::testing {

// Signs with a key; refuses a second digest for a (height, round, kind), or everything when
// `refuse_all` is set.
class KeySigner : public Signer {
 public:
  explicit KeySigner(crypto::PrivateKey key) : key_(key), address_(crypto::address_of(key)) {}

  Result<crypto::Signature> sign(const SignRequest& req) override {
    if (refuse_all) return make_error("sign.no_permit", "test signer refuses everything");
    const auto key = std::make_tuple(req.height, req.round, static_cast<int>(req.kind));
    const auto it = signed_.find(key);
    if (it != signed_.end() && it->second != req.digest) {
      ++conflicts;
      return make_error("sign.conflict", "another digest was signed for this view and kind");
    }
    signed_[key] = req.digest;
    requests.push_back(req);
    return crypto::sign(key_, req.digest);
  }
  Address address() const override { return address_; }

  bool refuse_all = false;
  int conflicts = 0;
  std::vector<SignRequest> requests;

 private:
  crypto::PrivateKey key_;
  Address address_;
  std::map<std::tuple<std::uint64_t, std::uint32_t, int>, Hash32> signed_;
};

inline constexpr std::uint64_t kGenesisMs = chain::kTestGenesisTime * 1000;

class TestCouncil {
 public:
  explicit TestCouncil(std::size_t n, std::uint64_t seed = 3)
      : net(chain::make_test_network(n, 0, seed, 1000)),
        council(*net.genesis.make_council()),
        genesis(chain::genesis_block(net.genesis)) {}

  const crypto::PrivateKey& key(std::size_t i) const { return net.validator_keys.at(i); }
  Address addr(std::size_t i) const { return council.at(i); }
  std::size_t index_of(const Address& a) const { return *council.index_of(a); }

  Config config(std::size_t self) const {
    Config c(council, addr(self));
    c.timeouts = RoundTimeoutPolicy{1000, 100, 60'000};
    return c;
  }

  // A fresh block on `parent`, sealed by `proposer` at `round` (no transactions).
  chain::Block block(const chain::Header& parent, std::size_t proposer, std::uint8_t round,
                     std::uint64_t time_offset = 1, std::uint8_t fos = 0) const {
    chain::Block b;
    chain::Header& h = b.header;
    h.parent_hash = parent.hash();
    h.rewardbase = addr(proposer);
    h.state_root = parent.state_root;
    h.transactions_root = chain::transactions_root({});
    h.receipts_root = chain::receipts_root({});
    h.number = parent.number + 1;
    h.time = parent.time + time_offset;
    h.time_fos = fos;
    chain::IstanbulExtra x;
    x.set_round(round);
    x.validators = council.validators();
    h.extra = chain::encode_extra(x);
    const auto seal = crypto::sign(key(proposer), *h.sig_hash());
    x.proposer_seal.assign(seal.begin(), seal.end());
    h.extra = chain::encode_extra(x);
    return b;
  }

  Prepare prepare(std::size_t who, std::uint64_t h, std::uint32_t r, const Hash32& hash) const {
    Prepare p;
    p.height = h;
    p.round = r;
    p.block_hash = hash;
    p.signature = crypto::sign(key(who), p.digest());
    p.sender = addr(who);
    return p;
  }
  Commit commit(std::size_t who, std::uint64_t h, std::uint32_t r, const Hash32& hash) const {
    Commit c;
    c.height = h;
    c.round = r;
    c.block_hash = hash;
    c.commit_seal = crypto::sign(key(who), c.digest());
    c.sender = addr(who);
    return c;
  }
  RoundChange round_change(std::size_t who, std::uint64_t h, std::uint32_t r,
                           const Hash32& parent_hash, std::optional<PreparedRef> prepared = {},
                           std::vector<Prepare> cert = {}) const {
    RoundChange rc;
    rc.height = h;
    rc.round = r;
    rc.parent_hash = parent_hash;
    rc.prepared = prepared;
    rc.prepared_certificate = std::move(cert);
    rc.signature = crypto::sign(key(who), rc.digest());
    rc.sender = addr(who);
    return rc;
  }
  Preprepare preprepare(std::size_t who, std::uint64_t h, std::uint32_t r, chain::Block block,
                        std::vector<RoundChange> rcs = {}, std::vector<Prepare> cert = {}) const {
    Preprepare pp;
    pp.height = h;
    pp.round = r;
    pp.proposal = std::move(block);
    for (auto& rc : rcs) rc.prepared_certificate.clear();
    pp.round_change_certificate = std::move(rcs);
    pp.prepared_certificate = std::move(cert);
    pp.signature = crypto::sign(key(who), pp.digest());
    pp.sender = addr(who);
    return pp;
  }
  // Prepares by members `who` for one view.
  std::vector<Prepare> prepares(const std::vector<std::size_t>& who, std::uint64_t h,
                                std::uint32_t r, const Hash32& hash) const {
    std::vector<Prepare> out;
    for (auto w : who) out.push_back(prepare(w, h, r, hash));
    return out;
  }

  chain::TestNetwork net;
  chain::Council council;
  chain::Block genesis;
};

// What an owner answers to BuildProposal: an empty block with the requested header fields.
inline chain::Block built(const BuildProposal& bp) {
  chain::Block b;
  chain::Header& h = b.header;
  h.parent_hash = bp.parent.hash();
  h.rewardbase = bp.rewardbase;
  h.state_root = bp.parent.state_root;
  h.transactions_root = chain::transactions_root({});
  h.receipts_root = chain::receipts_root({});
  h.number = bp.height;
  h.time = bp.time;
  h.time_fos = bp.time_fos;
  return b;
}

// ---- action helpers ----

template <typename T>
std::vector<T> all_of(const Actions& actions) {
  std::vector<T> out;
  for (const auto& a : actions) {
    if (const auto* t = std::get_if<T>(&a)) out.push_back(*t);
  }
  return out;
}

// Decoded broadcasts of one kind.
template <typename M>
std::vector<M> broadcasts(const Actions& actions) {
  std::vector<M> out;
  for (const auto& b : all_of<Broadcast>(actions)) {
    auto m = decode_message(b.message);
    EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().message);
    if (!m.ok()) continue;
    if (const auto* t = std::get_if<M>(&*m)) out.push_back(*t);
  }
  return out;
}

inline bool has_note(const Actions& actions, const std::string& code) {
  for (const auto& n : all_of<Note>(actions)) {
    if (n.code == code) return true;
  }
  return false;
}

inline void append(Actions& into, Actions more) {
  for (auto& a : more) into.push_back(std::move(a));
}

}  // namespace cc::consensus::testing
