#include "chain/executor.h"

#include <limits>
#include <map>

namespace cc::chain {
namespace {

Error block_tx_error(std::size_t index, const Transaction& tx, const TxRejection& rej) {
  return make_error("tx." + std::string(to_string(rej.reason)),
                    "block transaction #" + std::to_string(index) + " (" + to_hex0x(tx.hash()) +
                        ") is invalid: " + rej.detail);
}

}  // namespace

std::vector<TxVerdict<Address>> recover_senders(const std::vector<Transaction>& txs,
                                                std::uint64_t chain_id, ThreadPool* pool,
                                                SenderCache* senders) {
  // Each slot is written by exactly one iteration, so no locking is needed.
  std::vector<std::optional<TxVerdict<Address>>> slots(txs.size());
  auto one = [&](std::size_t i) {
    slots[i].emplace(validate_stateless(txs[i], chain_id, 0, senders));
  };
  if (pool != nullptr && txs.size() > 1) {
    pool->parallel_for(txs.size(), one);
  } else {
    for (std::size_t i = 0; i < txs.size(); ++i) one(i);
  }
  std::vector<TxVerdict<Address>> out;
  out.reserve(txs.size());
  for (auto& slot : slots) out.push_back(std::move(*slot));
  return out;
}

TxVerdict<Receipt> apply_transaction(State& state, const Transaction& tx, const Address& sender,
                                     const Address& rewardbase,
                                     std::uint64_t cumulative_gas_before) {
  Account from = state.get(sender);
  if (tx.nonce < from.nonce) {
    return reject(TxInvalid::NonceTooLow, "transaction nonce " + std::to_string(tx.nonce) +
                                              " is below sender " + to_hex0x(sender) +
                                              "'s next nonce " + std::to_string(from.nonce) +
                                              " (already used)");
  }
  if (tx.nonce > from.nonce) {
    return reject(TxInvalid::NonceTooHigh, "transaction nonce " + std::to_string(tx.nonce) +
                                               " is above sender " + to_hex0x(sender) +
                                               "'s next nonce " + std::to_string(from.nonce) +
                                               " (a lower nonce is missing)");
  }
  if (from.nonce == std::numeric_limits<std::uint64_t>::max()) {
    return reject(TxInvalid::NonceTooHigh,
                  "sender " + to_hex0x(sender) + " has exhausted its nonces (2^64-1, EIP-2681)");
  }
  auto fee = transfer_fee(tx.gas_price);
  if (!fee || *fee > std::numeric_limits<U256>::max() - tx.value) {
    return reject(TxInvalid::FeeOverflow, "transaction value plus fee exceeds 2^256-1");
  }
  const U256 cost = tx.value + *fee;
  if (from.balance < cost) {
    return reject(TxInvalid::InsufficientFunds,
                  "sender " + to_hex0x(sender) + " holds " + u256_to_dec(from.balance) +
                      " but the transfer needs value " + u256_to_dec(tx.value) + " + fee " +
                      u256_to_dec(*fee) + " = " + u256_to_dec(cost));
  }
  if (cumulative_gas_before > std::numeric_limits<std::uint64_t>::max() - kTransferGas) {
    return reject(TxInvalid::BlockGasLimitReached, "block gas used would exceed 2^64-1");
  }
  // Stage every change first so a rejection leaves `state` untouched; reading through `staged`
  // makes sender == to == rewardbase combinations come out right.
  std::map<Address, Account> staged;
  auto read = [&](const Address& a) {
    auto it = staged.find(a);
    return it != staged.end() ? it->second : state.get(a);
  };
  from.balance -= cost;
  from.nonce += 1;
  staged[sender] = from;
  const Address& to = *tx.to;  // validate_stateless guarantees a recipient
  Account recipient = read(to);
  if (recipient.balance > std::numeric_limits<U256>::max() - tx.value) {
    return reject(TxInvalid::BalanceOverflow, "crediting " + u256_to_dec(tx.value) + " to " +
                                                  to_hex0x(to) + " would exceed 2^256-1");
  }
  recipient.balance += tx.value;
  staged[to] = recipient;
  Account reward = read(rewardbase);
  if (reward.balance > std::numeric_limits<U256>::max() - *fee) {
    return reject(TxInvalid::BalanceOverflow, "crediting fee " + u256_to_dec(*fee) +
                                                  " to rewardbase " + to_hex0x(rewardbase) +
                                                  " would exceed 2^256-1");
  }
  reward.balance += *fee;
  staged[rewardbase] = reward;
  for (const auto& [addr, acc] : staged) state.set(addr, acc);

  Receipt receipt;
  receipt.status = kReceiptStatusSuccess;
  receipt.gas_used = kTransferGas;
  receipt.cumulative_gas_used = cumulative_gas_before + kTransferGas;
  receipt.tx_hash = tx.hash();
  return receipt;
}

Result<BlockExecution> execute_block(State& state, const std::vector<Transaction>& txs,
                                     const Address& rewardbase, std::uint64_t chain_id,
                                     ThreadPool* pool, SenderCache* sender_cache) {
  // Signature recovery first (parallel when a pool is given): it needs no state.
  std::vector<TxVerdict<Address>> senders = recover_senders(txs, chain_id, pool, sender_cache);
  BlockExecution exec;
  exec.senders.reserve(txs.size());
  for (std::size_t i = 0; i < txs.size(); ++i) {
    if (!senders[i].ok()) return block_tx_error(i, txs[i], senders[i].rejection());
    exec.senders.push_back(senders[i].value());
  }

  State::Checkpoint cp = state.checkpoint();
  exec.receipts.reserve(txs.size());
  for (std::size_t i = 0; i < txs.size(); ++i) {
    auto receipt = apply_transaction(state, txs[i], exec.senders[i], rewardbase, exec.gas_used);
    if (!receipt.ok()) {
      state.revert_to(cp);
      return block_tx_error(i, txs[i], receipt.rejection());
    }
    exec.gas_used = receipt->cumulative_gas_used;
    exec.fees += *transfer_fee(txs[i].gas_price);  // apply_transaction checked it fits
    exec.receipts.push_back(std::move(receipt).value());
  }
  state.commit(cp);

  exec.state_root = state.root();
  exec.receipts_root = receipts_root(exec.receipts);
  exec.transactions_root = transactions_root(txs);
  return exec;
}

BlockBuilder::BlockBuilder(State& state, const Address& rewardbase, std::uint64_t chain_id,
                           std::optional<std::uint64_t> gas_limit, const U256& min_gas_price,
                           SenderCache* senders)
    : state_(state),
      rewardbase_(rewardbase),
      chain_id_(chain_id),
      gas_limit_(gas_limit),
      min_gas_price_(min_gas_price),
      senders_(senders) {}

TxVerdict<Receipt> BlockBuilder::add(const Transaction& tx) {
  if (gas_limit_ && (*gas_limit_ < kTransferGas || exec_.gas_used > *gas_limit_ - kTransferGas)) {
    return reject(TxInvalid::BlockGasLimitReached,
                  "block gas limit " + std::to_string(*gas_limit_) + " leaves no room for " +
                      std::to_string(kTransferGas) + " more gas (used " +
                      std::to_string(exec_.gas_used) + ")");
  }
  auto sender = validate_stateless(tx, chain_id_, min_gas_price_, senders_);
  if (!sender.ok()) return sender.rejection();
  auto receipt = apply_transaction(state_, tx, sender.value(), rewardbase_, exec_.gas_used);
  if (!receipt.ok()) return receipt;
  txs_.push_back(tx);
  exec_.senders.push_back(sender.value());
  exec_.receipts.push_back(receipt.value());
  exec_.gas_used = receipt->cumulative_gas_used;
  exec_.fees += *transfer_fee(tx.gas_price);
  return receipt;
}

BlockExecution BlockBuilder::finish() const {
  BlockExecution out = exec_;
  out.state_root = state_.root();
  out.receipts_root = receipts_root(out.receipts);
  out.transactions_root = transactions_root(txs_);
  return out;
}

}  // namespace cc::chain
