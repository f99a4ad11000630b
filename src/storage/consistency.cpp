#include "storage/consistency.h"

#include <optional>

#include "chain/executor.h"
#include "chain/receipt.h"
#include "chain/verify.h"

namespace cc::storage {

namespace {

Error problem(const std::string& what, std::uint64_t number, const std::string& message) {
  return make_error("verify." + what, "block #" + std::to_string(number) + ": " + message);
}

}  // namespace

Result<ConsistencyReport> check_consistency(const ChainDb& db, const chain::Genesis& genesis,
                                            const ConsistencyOptions& options) {
  ConsistencyReport report;
  const chain::Block genesis_block = chain::genesis_block(genesis);
  const Hash32 ghash = genesis_block.hash();

  CC_TRY_ASSIGN(auto stored_genesis, db.genesis_hash());
  if (!stored_genesis) {
    return make_error("verify.no_genesis", "chaindata " + db.path().string() +
                                               " has no genesis hash: it was never initialised");
  }
  if (*stored_genesis != ghash) {
    return make_error("verify.genesis_mismatch",
                      "chaindata " + db.path().string() + " was initialised with genesis " +
                          to_hex0x(*stored_genesis) + " but the given genesis has hash " +
                          to_hex0x(ghash));
  }
  CC_TRY_ASSIGN(auto head_hash, db.head_hash());
  if (!head_hash) return make_error("verify.no_head", "chaindata has a genesis but no head_hash");
  CC_TRY_ASSIGN(auto head_number, db.block_number(*head_hash));
  if (!head_number) {
    return make_error("verify.head_unknown",
                      "head_hash " + to_hex0x(*head_hash) + " has no numbers entry");
  }
  report.head_number = *head_number;
  report.head_hash = *head_hash;
  report.blocks = static_cast<std::size_t>(*head_number) + 1;

  // canonical must hold exactly 0..head, in order.
  std::uint64_t expect = 0;
  std::optional<Error> gap;
  CC_TRY_STATUS(db.for_each_canonical([&](std::uint64_t n, const Hash32&) {
    if (n != expect) {
      gap = problem("canonical_gap", expect,
                    n > expect ? "no canonical entry (the next one is #" + std::to_string(n) + ")"
                               : "canonical entries out of order");
      return false;
    }
    ++expect;
    return true;
  }));
  if (gap) return *gap;
  if (expect != *head_number + 1) {
    return problem(
        "canonical_length", expect == 0 ? 0 : expect - 1,
        "canonical has " + std::to_string(expect) + " entries but the head is #" +
            std::to_string(*head_number) +
            (expect > *head_number + 1 ? " (entries above the head)" : " (entries missing)"));
  }

  auto council = genesis.make_council();
  if (!council.ok()) return council.error().context("genesis council");
  chain::State state;
  for (const auto& [addr, balance] : genesis.alloc) state.set(addr, chain::Account{0, balance});
  (void)state.take_dirty();

  std::optional<chain::Header> parent;
  std::optional<Address> parent_proposer;
  const std::uint64_t period = genesis.config.istanbul.block_period;

  for (std::uint64_t n = 0; n <= *head_number; ++n) {
    CC_TRY_ASSIGN(auto hash, db.canonical_hash(n));
    if (!hash) return problem("canonical_missing", n, "no canonical entry");
    CC_TRY_ASSIGN(auto number, db.block_number(*hash));
    if (!number || *number != n) {
      return problem("number_mismatch", n,
                     "numbers[" + to_hex0x(*hash) + "] is " +
                         (number ? std::to_string(*number) : std::string("missing")));
    }
    CC_TRY_ASSIGN(auto header, db.header(*hash));
    if (!header) return problem("header_missing", n, "no header for " + to_hex0x(*hash));
    if (header->hash() != *hash) {
      return problem("header_hash", n,
                     "stored header hashes to " + to_hex0x(header->hash()) + ", canonical says " +
                         to_hex0x(*hash));
    }
    if (header->number != n) {
      return problem("header_number", n, "header says number " + std::to_string(header->number));
    }
    if (n == 0) {
      if (*hash != ghash || !(*header == genesis_block.header)) {
        return problem("genesis_block", 0, "stored block 0 is not the genesis block");
      }
    } else if (header->parent_hash != parent->hash()) {
      return problem("parent_link", n,
                     "parentHash " + to_hex0x(header->parent_hash) + " but block #" +
                         std::to_string(n - 1) + " is " + to_hex0x(parent->hash()));
    }
    CC_TRY_ASSIGN(auto body, db.body(*hash));
    if (!body) return problem("body_missing", n, "no body for " + to_hex0x(*hash));
    if (chain::transactions_root(*body) != header->transactions_root) {
      return problem("transactions_root", n, "stored body does not match transactionsRoot");
    }
    CC_TRY_ASSIGN(auto receipts, db.receipts(*hash));
    if (!receipts) return problem("receipts_missing", n, "no receipts for " + to_hex0x(*hash));
    if (receipts->size() != body->size()) {
      return problem("receipts_count", n,
                     std::to_string(receipts->size()) + " receipts for " +
                         std::to_string(body->size()) + " transactions");
    }
    if (chain::receipts_root(*receipts) != header->receipts_root) {
      return problem("receipts_root", n, "stored receipts do not match receiptsRoot");
    }
    for (std::size_t i = 0; i < body->size(); ++i) {
      const Hash32 tx_hash = (*body)[i].hash();
      CC_TRY_ASSIGN(auto loc, db.tx_location(tx_hash));
      const TxLocation want{n, static_cast<std::uint32_t>(i)};
      if (!loc || !(*loc == want)) {
        return problem("txlookup", n,
                       "txlookup[" + to_hex0x(tx_hash) + "] should be (" + std::to_string(n) +
                           ", " + std::to_string(i) + ") but is " +
                           (loc ? "(" + std::to_string(loc->block_number) + ", " +
                                      std::to_string(loc->index) + ")"
                                : std::string("missing")));
      }
    }
    report.transactions += body->size();

    if (options.reexecute && n > 0) {
      chain::VerifyParams params{period, header->time};
      auto seal = chain::verify_header(*header, &*parent, parent_proposer, *council, params);
      if (!seal.ok()) return problem("header_invalid", n, seal.rejection().detail);
      auto exec = chain::execute_block(state, *body, header->rewardbase, genesis.config.chain_id,
                                       options.pool);
      if (!exec.ok()) return problem("execution", n, exec.error().message);
      if (exec->state_root != header->state_root) {
        return problem("state_root", n,
                       "re-execution gives stateRoot " + to_hex0x(exec->state_root) +
                           ", header says " + to_hex0x(header->state_root));
      }
      if (exec->gas_used != header->gas_used || exec->receipts != *receipts) {
        return problem("receipts", n, "re-execution gives different receipts or gasUsed");
      }
      (void)state.take_dirty();
      parent_proposer = seal->proposer;
    }
    parent = std::move(*header);
    if (options.progress && options.progress_every > 0 && n % options.progress_every == 0) {
      options.progress(n);
    }
  }

  if (parent->hash() != *head_hash) {
    return problem("head_not_canonical", *head_number,
                   "head_hash " + to_hex0x(*head_hash) + " but canonical[" +
                       std::to_string(*head_number) + "] is " + to_hex0x(parent->hash()));
  }
  CC_TRY_ASSIGN(auto stored_state, db.load_state());
  report.accounts = stored_state.size();
  report.state_root = stored_state.root();
  if (report.state_root != parent->state_root) {
    return problem("state_cf", *head_number,
                   "the state column family has root " + to_hex0x(report.state_root) +
                       " but the head's stateRoot is " + to_hex0x(parent->state_root));
  }
  if (options.reexecute &&
      (stored_state.size() != state.size() || state.root() != report.state_root)) {
    return problem("state_cf", *head_number,
                   "the state column family holds " + std::to_string(stored_state.size()) +
                       " accounts, re-execution " + std::to_string(state.size()));
  }
  return report;
}

}  // namespace cc::storage
