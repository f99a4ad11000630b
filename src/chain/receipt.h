// chain/receipt.h — owns the receipt type (the outcome of one transaction in a block), its RLP
// form, and the two list commitments a header carries: transactions_root and receipts_root.
// It must never execute anything (chain/executor.h produces receipts).
//
// Commitments (simple, not Ethereum's Patricia trie):
//   transactions_root = keccak256(rlp_list[tx_0.encode(), tx_1.encode(), ...])
//   receipts_root     = keccak256(rlp_list[receipt_0.encode(), receipt_1.encode(), ...])
// i.e. the keccak of the RLP list whose items are the encodings themselves (embedded as RLP
// items, not wrapped as strings). An empty list gives keccak256(0xc0) =
// 0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347 for both.
#pragma once

#include <cstdint>
#include <vector>

#include "chain/tx.h"
#include "util/bytes.h"
#include "util/result.h"

namespace cc::chain {

inline constexpr std::uint8_t kReceiptStatusSuccess = 1;
inline constexpr std::uint8_t kReceiptStatusFailed = 0;  // reserved; transfers either apply or
                                                         // invalidate the block

struct Receipt {
  std::uint8_t status = kReceiptStatusSuccess;
  std::uint64_t cumulative_gas_used = 0;  // gas used in the block up to and including this tx
  std::uint64_t gas_used = kTransferGas;
  Hash32 tx_hash{};

  bool operator==(const Receipt&) const = default;

  // RLP [status, cumulativeGasUsed, gasUsed, txHash(32 bytes)].
  [[nodiscard]] Bytes encode() const;
  // Strict: exactly 4 canonical fields, status 0 or 1, gas_used <= cumulative_gas_used.
  [[nodiscard]] static Result<Receipt> decode(ByteView encoded);
};

[[nodiscard]] Hash32 transactions_root(const std::vector<Transaction>& txs);
[[nodiscard]] Hash32 receipts_root(const std::vector<Receipt>& receipts);
// keccak256(0xc0): both roots of an empty block.
[[nodiscard]] const Hash32& empty_list_root();

}  // namespace cc::chain
