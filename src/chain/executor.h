// chain/executor.h — owns the state transition for value transfers: per-transaction apply (nonce,
// balance, fee to the rewardbase), whole-block execution for import, and the block builder the
// proposer uses. It must never read storage or the network, and never leave a half-applied block
// in the State: a block with any invalid transaction is rejected as a whole, state unchanged.
//
// Rules (corecell executes value transfers only):
//   - Stateless rules and sender recovery: chain/tx.h validate_stateless.
//   - tx.nonce must equal the sender's nonce (lower: NonceTooLow, higher: NonceTooHigh).
//   - fee = kTransferGas * gas_price. The sender must hold value + fee (InsufficientFunds).
//     gas_limit above kTransferGas is allowed and not charged: only gas used pays.
//   - Apply: sender.balance -= value + fee, sender.nonce += 1, to.balance += value,
//     rewardbase.balance += fee — in that order, so sender == to or sender == rewardbase work.
//   - Receipt: status 1, gas_used kTransferGas, cumulative gas in block order.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "chain/receipt.h"
#include "chain/state.h"
#include "chain/tx.h"
#include "util/result.h"
#include "util/thread_pool.h"

namespace cc::chain {

struct BlockExecution {
  std::vector<Receipt> receipts;  // one per tx, in block order
  std::vector<Address> senders;   // recovered sender of each tx, in block order
  std::uint64_t gas_used = 0;     // == receipts.back().cumulative_gas_used (0 for no txs)
  U256 fees = 0;                  // total paid to the rewardbase
  Hash32 state_root{};            // State::root() after the block
  Hash32 receipts_root{};         // receipts_root(receipts)
  Hash32 transactions_root{};     // transactions_root(txs)
};

// Stateless validation + sender recovery of every tx, in block order. Uses the pool's threads
// when pool != nullptr (the import hot path), sequentially otherwise; same results either way.
[[nodiscard]] std::vector<TxVerdict<Address>> recover_senders(const std::vector<Transaction>& txs,
                                                              std::uint64_t chain_id,
                                                              ThreadPool* pool,
                                                              SenderCache* senders = nullptr);

// Applies one transaction whose stateless checks already passed and whose sender is known.
// On rejection the state is unchanged. cumulative_gas_before is the block's gas so far.
[[nodiscard]] TxVerdict<Receipt> apply_transaction(State& state, const Transaction& tx,
                                                   const Address& sender, const Address& rewardbase,
                                                   std::uint64_t cumulative_gas_before);

// Executes a block's transactions for import/verification. On success the state holds the
// post-block accounts (dirty-marked for persistence) and the result carries the roots to compare
// with the header. On failure (Error code "tx.<reason>", message naming the tx index and hash)
// the state is exactly as before the call.
[[nodiscard]] Result<BlockExecution> execute_block(State& state,
                                                   const std::vector<Transaction>& txs,
                                                   const Address& rewardbase,
                                                   std::uint64_t chain_id, ThreadPool* pool,
                                                   SenderCache* senders = nullptr);

// Builds a block's transaction list on top of a state, skipping invalid transactions instead of
// failing. Changes go straight into `state`; a caller that may abandon the block opens a
// State::checkpoint() first and reverts it.
class BlockBuilder {
 public:
  // gas_limit: the block's gas limit; nullopt = unlimited.
  // senders: the node's sender cache (transactions from the pool were recovered on admission).
  BlockBuilder(State& state, const Address& rewardbase, std::uint64_t chain_id,
               std::optional<std::uint64_t> gas_limit = std::nullopt, const U256& min_gas_price = 0,
               SenderCache* senders = nullptr);

  // Validates (stateless + stateful) and applies tx. On rejection nothing changes and the tx is
  // not included; the caller decides whether to drop it (e.g. NonceTooLow) or keep it for later
  // (NonceTooHigh, BlockGasLimitReached).
  [[nodiscard]] TxVerdict<Receipt> add(const Transaction& tx);

  [[nodiscard]] const std::vector<Transaction>& transactions() const { return txs_; }
  [[nodiscard]] std::uint64_t gas_used() const { return exec_.gas_used; }
  // The execution summary of the included transactions, roots computed now.
  [[nodiscard]] BlockExecution finish() const;

 private:
  State& state_;
  Address rewardbase_;
  std::uint64_t chain_id_;
  std::optional<std::uint64_t> gas_limit_;
  U256 min_gas_price_;
  SenderCache* senders_;
  std::vector<Transaction> txs_;
  BlockExecution exec_;
};

}  // namespace cc::chain
