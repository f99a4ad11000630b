#include "chain/receipt.h"

#include "codec/rlp.h"
#include "crypto/keccak.h"

namespace cc::chain {
namespace {

// keccak256 of the RLP list whose items are the given encodings.
template <typename T>
Hash32 list_root(const std::vector<T>& items) {
  rlp::Encoder enc;
  enc.begin_list();
  for (const auto& item : items) enc.raw(item.encode());
  enc.end_list();
  return crypto::keccak256(enc.finish());
}

}  // namespace

Bytes Receipt::encode() const {
  rlp::Encoder enc;
  enc.begin_list().uint(status).uint(cumulative_gas_used).uint(gas_used).bytes(tx_hash).end_list();
  return enc.finish();
}

Result<Receipt> Receipt::decode(ByteView encoded) {
  auto reader_r = rlp::ListReader::open(encoded);
  if (!reader_r.ok()) return reader_r.error().context("receipt");
  rlp::ListReader reader = std::move(reader_r).value();
  Receipt rc;
  auto status = reader.next_uint();
  if (!status.ok()) return status.error().context("receipt field 'status'");
  if (*status != kReceiptStatusSuccess && *status != kReceiptStatusFailed) {
    return make_error("receipt.bad_status",
                      "receipt field 'status' must be 0 or 1, got " + std::to_string(*status));
  }
  rc.status = static_cast<std::uint8_t>(*status);
  auto cumulative = reader.next_uint();
  if (!cumulative.ok()) return cumulative.error().context("receipt field 'cumulativeGasUsed'");
  rc.cumulative_gas_used = *cumulative;
  auto gas = reader.next_uint();
  if (!gas.ok()) return gas.error().context("receipt field 'gasUsed'");
  rc.gas_used = *gas;
  if (rc.gas_used > rc.cumulative_gas_used) {
    return make_error("receipt.bad_gas", "receipt gasUsed " + std::to_string(rc.gas_used) +
                                             " exceeds cumulativeGasUsed " +
                                             std::to_string(rc.cumulative_gas_used));
  }
  auto hash = reader.next_fixed<32>();
  if (!hash.ok()) return hash.error().context("receipt field 'txHash'");
  rc.tx_hash = *hash;
  auto end = reader.expect_end();
  if (!end.ok()) return end.error().context("receipt [status, cumulativeGasUsed, gasUsed, txHash]");
  return rc;
}

Hash32 transactions_root(const std::vector<Transaction>& txs) { return list_root(txs); }

Hash32 receipts_root(const std::vector<Receipt>& receipts) { return list_root(receipts); }

const Hash32& empty_list_root() {
  static const Hash32 h = [] {
    const std::uint8_t empty_list = 0xc0;
    return crypto::keccak256(ByteView(&empty_list, 1));
  }();
  return h;
}

}  // namespace cc::chain
