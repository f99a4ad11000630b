#include "chain/executor.h"

#include <gtest/gtest.h>

#include "crypto/address.h"
#include "support/fill.h"

namespace cc::chain {
namespace {

using cc::testing::addr;
using cc::testing::key_of;

constexpr std::uint64_t kChain = 1001;

const Address kReward = addr(0xee);

U256 total_supply(const State& s) {
  U256 sum = 0;
  s.for_each([&](const Address&, const Account& a) { sum += a.balance; });
  return sum;
}

class ExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (std::uint8_t i = 1; i <= 4; ++i) {
      keys.push_back(key_of(i));
      senders.push_back(crypto::address_of(keys.back()));
      state.set(senders.back(), Account{0, U256(1'000'000'000)});
    }
    (void)state.take_dirty();
  }
  Transaction transfer(std::size_t from, std::uint64_t nonce, const Address& to, U256 value,
                       U256 gas_price = 10) {
    return make_transfer(keys[from], nonce, to, value, gas_price, kChain);
  }

  std::vector<crypto::PrivateKey> keys;
  std::vector<Address> senders;
  State state;
};

TEST_F(ExecutorTest, TransferMovesValueBumpsNonceAndPaysFeeToRewardbase) {
  const Address to = addr(0x77);
  auto exec = execute_block(state, {transfer(0, 0, to, 5000, 10)}, kReward, kChain, nullptr);
  ASSERT_TRUE(exec.ok()) << exec.error().message;
  const U256 fee = U256(10) * kTransferGas;
  EXPECT_EQ(state.get(senders[0]), (Account{1, U256(1'000'000'000) - 5000 - fee}));
  EXPECT_EQ(state.get(to), (Account{0, 5000}));
  EXPECT_EQ(state.get(kReward), (Account{0, fee}));
  EXPECT_EQ(exec->fees, fee);
  EXPECT_EQ(exec->gas_used, kTransferGas);
  ASSERT_EQ(exec->receipts.size(), 1u);
  EXPECT_EQ(exec->receipts[0].status, kReceiptStatusSuccess);
  EXPECT_EQ(exec->receipts[0].tx_hash, transfer(0, 0, to, 5000, 10).hash());
  EXPECT_EQ(exec->senders, std::vector<Address>{senders[0]});
  EXPECT_EQ(exec->state_root, state.root());
  EXPECT_EQ(exec->receipts_root, receipts_root(exec->receipts));
  EXPECT_EQ(exec->transactions_root, transactions_root({transfer(0, 0, to, 5000, 10)}));
  EXPECT_EQ(total_supply(state), U256(4'000'000'000ULL));
  EXPECT_EQ(state.take_dirty().size(), 3u);  // sender, recipient, rewardbase
}

TEST_F(ExecutorTest, SequentialNoncesInOneBlockAndCumulativeGas) {
  std::vector<Transaction> txs{transfer(0, 0, addr(0x70), 1), transfer(0, 1, addr(0x71), 1),
                               transfer(1, 0, addr(0x70), 1), transfer(0, 2, addr(0x72), 1)};
  auto exec = execute_block(state, txs, kReward, kChain, nullptr);
  ASSERT_TRUE(exec.ok()) << exec.error().message;
  EXPECT_EQ(state.get(senders[0]).nonce, 3u);
  EXPECT_EQ(state.get(senders[1]).nonce, 1u);
  EXPECT_EQ(state.get(addr(0x70)).balance, 2);
  for (std::size_t i = 0; i < txs.size(); ++i) {
    EXPECT_EQ(exec->receipts[i].cumulative_gas_used, (i + 1) * kTransferGas);
  }
  EXPECT_EQ(exec->gas_used, 4 * kTransferGas);
}

TEST_F(ExecutorTest, EmptyBlockKeepsStateAndReportsRoots) {
  const Hash32 root = state.root();
  auto exec = execute_block(state, {}, kReward, kChain, nullptr);
  ASSERT_TRUE(exec.ok());
  EXPECT_EQ(exec->state_root, root);
  EXPECT_EQ(exec->gas_used, 0u);
  EXPECT_EQ(exec->transactions_root, empty_list_root());
  EXPECT_EQ(state.dirty_count(), 0u);
}

TEST_F(ExecutorTest, NonceGapInvalidatesBlockAndLeavesStateUntouched) {
  const Hash32 root = state.root();
  auto exec = execute_block(state, {transfer(0, 0, addr(0x70), 1), transfer(0, 2, addr(0x70), 1)},
                            kReward, kChain, nullptr);
  ASSERT_FALSE(exec.ok());
  EXPECT_EQ(exec.error().code, "tx.nonce_too_high");
  EXPECT_NE(exec.error().message.find("#1"), std::string::npos);
  EXPECT_EQ(state.root(), root);
  EXPECT_EQ(state.get(senders[0]).nonce, 0u);
  EXPECT_FALSE(state.contains(addr(0x70)));
  EXPECT_EQ(state.dirty_count(), 0u);
}

TEST_F(ExecutorTest, ReplayedTransactionIsNonceTooLow) {
  Transaction tx = transfer(0, 0, addr(0x70), 1);
  ASSERT_TRUE(execute_block(state, {tx}, kReward, kChain, nullptr).ok());
  const Hash32 root = state.root();
  auto again = execute_block(state, {tx}, kReward, kChain, nullptr);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "tx.nonce_too_low");
  EXPECT_EQ(state.root(), root);
}

TEST_F(ExecutorTest, BalanceMustCoverValuePlusFee) {
  const U256 balance = state.get(senders[0]).balance;
  const U256 fee = U256(10) * kTransferGas;
  // value + fee exceeds balance by one
  auto over = execute_block(state, {transfer(0, 0, addr(0x70), balance - fee + 1)}, kReward, kChain,
                            nullptr);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, "tx.insufficient_funds");
  // exactly the balance works and empties the account's balance (nonce stays, account stays)
  auto exact =
      execute_block(state, {transfer(0, 0, addr(0x70), balance - fee)}, kReward, kChain, nullptr);
  ASSERT_TRUE(exact.ok()) << exact.error().message;
  EXPECT_EQ(state.get(senders[0]), (Account{1, 0}));
  EXPECT_TRUE(state.contains(senders[0]));
}

TEST_F(ExecutorTest, UnfundedSenderIsInsufficientFunds) {
  auto stranger = key_of(0x99);
  auto exec = execute_block(state, {make_transfer(stranger, 0, addr(0x70), 0, U256(1), kChain)},
                            kReward, kChain, nullptr);
  ASSERT_FALSE(exec.ok());
  EXPECT_EQ(exec.error().code, "tx.insufficient_funds");
  // A zero-price, zero-value transfer costs nothing and is valid even from an empty account.
  auto free = execute_block(state, {make_transfer(stranger, 0, addr(0x70), 0, U256(0), kChain)},
                            kReward, kChain, nullptr);
  ASSERT_TRUE(free.ok()) << free.error().message;
  EXPECT_EQ(state.get(crypto::address_of(stranger)).nonce, 1u);
}

TEST_F(ExecutorTest, FailingLastTransactionRollsBackEarlierOnes) {
  const Hash32 root = state.root();
  State copy = state;
  std::vector<Transaction> txs{transfer(0, 0, addr(0x70), 100), transfer(1, 0, addr(0x71), 100),
                               transfer(2, 0, kReward, 100),
                               transfer(3, 0, addr(0x72), U256(2'000'000'000))};
  auto exec = execute_block(state, txs, kReward, kChain, nullptr);
  ASSERT_FALSE(exec.ok());
  EXPECT_EQ(exec.error().code, "tx.insufficient_funds");
  EXPECT_NE(exec.error().message.find("#3"), std::string::npos);
  EXPECT_EQ(state.root(), root);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(state.get(senders[i]), copy.get(senders[i]));
  EXPECT_FALSE(state.contains(kReward));
  EXPECT_EQ(state.dirty_count(), 0u);
}

TEST_F(ExecutorTest, StatelessFailureNamesTheTransaction) {
  Transaction bad = transfer(0, 0, addr(0x70), 1);
  bad.data = Bytes{1};
  bad = sign_transaction(bad, keys[0], kChain);
  auto exec = execute_block(state, {transfer(1, 0, addr(0x70), 1), bad}, kReward, kChain, nullptr);
  ASSERT_FALSE(exec.ok());
  EXPECT_EQ(exec.error().code, "tx.has_data");
  EXPECT_NE(exec.error().message.find("#1 (" + to_hex0x(bad.hash()) + ")"), std::string::npos);
  EXPECT_EQ(state.get(senders[1]).nonce, 0u);

  auto other_chain = make_transfer(keys[0], 0, addr(0x70), 1, U256(1), kChain + 1);
  auto wrong = execute_block(state, {other_chain}, kReward, kChain, nullptr);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, "tx.wrong_chain_id");
}

TEST_F(ExecutorTest, SelfTransferAndSenderAsRewardbaseConserveSupply) {
  const U256 supply = total_supply(state);
  const U256 before = state.get(senders[0]).balance;
  // sender == to: pays only the fee
  ASSERT_TRUE(
      execute_block(state, {transfer(0, 0, senders[0], 500)}, kReward, kChain, nullptr).ok());
  EXPECT_EQ(state.get(senders[0]).balance, before - U256(10) * kTransferGas);
  EXPECT_EQ(total_supply(state), supply);
  // sender == rewardbase: the fee comes back
  const U256 b1 = state.get(senders[1]).balance;
  ASSERT_TRUE(
      execute_block(state, {transfer(1, 0, addr(0x70), 500)}, senders[1], kChain, nullptr).ok());
  EXPECT_EQ(state.get(senders[1]), (Account{1, b1 - 500}));
  EXPECT_EQ(total_supply(state), supply);
}

TEST_F(ExecutorTest, RecipientBalanceOverflowIsRejected) {
  state.set(addr(0x70), Account{0, std::numeric_limits<U256>::max()});
  const Hash32 root = state.root();
  auto exec = execute_block(state, {transfer(0, 0, addr(0x70), 1)}, kReward, kChain, nullptr);
  ASSERT_FALSE(exec.ok());
  EXPECT_EQ(exec.error().code, "tx.balance_overflow");
  EXPECT_EQ(state.root(), root);
}

TEST_F(ExecutorTest, ApplyTransactionRejectionLeavesStateUnchanged) {
  State before = state;
  Transaction tx = transfer(0, 5, addr(0x70), 1);
  auto r = apply_transaction(state, tx, senders[0], kReward, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.reason(), TxInvalid::NonceTooHigh);
  EXPECT_EQ(state.root(), before.root());
  EXPECT_EQ(state.dirty_count(), 0u);
}

TEST_F(ExecutorTest, ParallelAndSequentialSenderRecoveryAgree) {
  std::vector<Transaction> txs;
  std::vector<std::uint64_t> nonce(4, 0);
  for (std::size_t i = 0; i < 200; ++i) {
    std::size_t from = (i * 7) % 4;
    txs.push_back(transfer(from, nonce[from]++, addr(static_cast<std::uint8_t>(0x40 + i % 30)),
                           U256(i + 1), U256(i % 5)));
  }
  State seq_state = state;
  State par_state = state;
  ThreadPool pool(2);
  auto seq = execute_block(seq_state, txs, kReward, kChain, nullptr);
  auto par = execute_block(par_state, txs, kReward, kChain, &pool);
  ASSERT_TRUE(seq.ok()) << seq.error().message;
  ASSERT_TRUE(par.ok()) << par.error().message;
  EXPECT_EQ(seq->senders, par->senders);
  EXPECT_EQ(seq->receipts, par->receipts);
  EXPECT_EQ(seq->state_root, par->state_root);
  EXPECT_EQ(seq->receipts_root, par->receipts_root);
  EXPECT_EQ(seq->gas_used, 200 * kTransferGas);
  for (std::size_t i = 0; i < txs.size(); ++i) EXPECT_EQ(seq->senders[i], senders[(i * 7) % 4]);

  // A bad signature in the middle is found by both paths with the same verdict.
  std::vector<Transaction> bad = txs;
  bad[117].s = 0;
  auto seq_bad = recover_senders(bad, kChain, nullptr);
  auto par_bad = recover_senders(bad, kChain, &pool);
  ASSERT_EQ(seq_bad.size(), par_bad.size());
  for (std::size_t i = 0; i < bad.size(); ++i) {
    ASSERT_EQ(seq_bad[i].ok(), par_bad[i].ok()) << i;
    if (seq_bad[i].ok()) {
      EXPECT_EQ(*seq_bad[i], *par_bad[i]);
    }
  }
  EXPECT_FALSE(par_bad[117].ok());
  EXPECT_EQ(par_bad[117].reason(), TxInvalid::BadSignature);
  auto failed = execute_block(par_state, bad, kReward, kChain, &pool);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message.find("#117"), std::string::npos);
}

TEST_F(ExecutorTest, BuilderSkipsInvalidAndMatchesImport) {
  State pre = state;
  State build_state = state;
  BlockBuilder builder(build_state, kReward, kChain);
  EXPECT_TRUE(builder.add(transfer(0, 0, addr(0x70), 10)).ok());
  EXPECT_EQ(builder.add(transfer(0, 0, addr(0x70), 10)).reason(), TxInvalid::NonceTooLow);
  EXPECT_EQ(builder.add(transfer(1, 3, addr(0x70), 10)).reason(), TxInvalid::NonceTooHigh);
  EXPECT_EQ(builder.add(transfer(2, 0, addr(0x70), U256(2'000'000'000))).reason(),
            TxInvalid::InsufficientFunds);
  EXPECT_TRUE(builder.add(transfer(1, 0, addr(0x71), 20)).ok());
  EXPECT_TRUE(builder.add(transfer(0, 1, addr(0x72), 30)).ok());
  ASSERT_EQ(builder.transactions().size(), 3u);
  BlockExecution built = builder.finish();

  auto imported = execute_block(pre, builder.transactions(), kReward, kChain, nullptr);
  ASSERT_TRUE(imported.ok()) << imported.error().message;
  EXPECT_EQ(imported->state_root, built.state_root);
  EXPECT_EQ(imported->receipts_root, built.receipts_root);
  EXPECT_EQ(imported->transactions_root, built.transactions_root);
  EXPECT_EQ(imported->gas_used, built.gas_used);
  EXPECT_EQ(imported->fees, built.fees);
  EXPECT_EQ(imported->senders, built.senders);
}

TEST_F(ExecutorTest, BuilderStopsAtBlockGasLimitAndHonoursMinGasPrice) {
  BlockBuilder builder(state, kReward, kChain, 2 * kTransferGas + 100, U256(5));
  EXPECT_EQ(builder.add(transfer(0, 0, addr(0x70), 1, U256(4))).reason(),
            TxInvalid::GasPriceTooLow);
  EXPECT_TRUE(builder.add(transfer(0, 0, addr(0x70), 1, U256(5))).ok());
  EXPECT_TRUE(builder.add(transfer(1, 0, addr(0x70), 1, U256(5))).ok());
  auto full = builder.add(transfer(2, 0, addr(0x70), 1, U256(5)));
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.reason(), TxInvalid::BlockGasLimitReached);
  EXPECT_EQ(builder.gas_used(), 2 * kTransferGas);
  EXPECT_EQ(state.get(senders[2]).nonce, 0u);
}

}  // namespace
}  // namespace cc::chain
