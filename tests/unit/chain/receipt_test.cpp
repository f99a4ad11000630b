#include "chain/receipt.h"

#include <gtest/gtest.h>

#include "codec/rlp.h"
#include "crypto/keccak.h"

namespace cc::chain {
namespace {

Receipt sample(std::uint64_t cumulative) {
  Receipt r;
  r.cumulative_gas_used = cumulative;
  r.gas_used = kTransferGas;
  r.tx_hash.fill(static_cast<std::uint8_t>(cumulative / kTransferGas));
  return r;
}

Transaction sample_tx(std::uint64_t nonce) {
  Bytes secret(32, 0x42);
  return make_transfer(*crypto::PrivateKey::from_bytes(secret), nonce,
                       *fixed_from_hex<20>("0101010101010101010101010101010101010101"), U256(1),
                       U256(1), 1);
}

TEST(Receipt, RoundTripsThroughRlp) {
  Receipt r = sample(3 * kTransferGas);
  auto back = Receipt::decode(r.encode());
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, r);
}

TEST(Receipt, EncodingIsTheDocumentedFourFieldList) {
  Receipt r = sample(kTransferGas);
  Bytes expected = rlp::encode_list({rlp::encode_uint(1), rlp::encode_uint(kTransferGas),
                                     rlp::encode_uint(kTransferGas), rlp::encode_bytes(r.tx_hash)});
  EXPECT_EQ(r.encode(), expected);
}

TEST(Receipt, RejectsUnknownStatus) {
  Bytes enc = rlp::encode_list({rlp::encode_uint(2), rlp::encode_uint(21000),
                                rlp::encode_uint(21000), rlp::encode_bytes(Bytes(32, 0))});
  auto r = Receipt::decode(enc);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "receipt.bad_status");
}

TEST(Receipt, RejectsGasUsedAboveCumulative) {
  Bytes enc = rlp::encode_list({rlp::encode_uint(1), rlp::encode_uint(20999),
                                rlp::encode_uint(21000), rlp::encode_bytes(Bytes(32, 0))});
  auto r = Receipt::decode(enc);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "receipt.bad_gas");
}

TEST(Receipt, RejectsShortHashAndExtraField) {
  Bytes short_hash = rlp::encode_list({rlp::encode_uint(1), rlp::encode_uint(21000),
                                       rlp::encode_uint(21000), rlp::encode_bytes(Bytes(31, 0))});
  EXPECT_FALSE(Receipt::decode(short_hash).ok());
  Bytes extra =
      rlp::encode_list({rlp::encode_uint(1), rlp::encode_uint(21000), rlp::encode_uint(21000),
                        rlp::encode_bytes(Bytes(32, 0)), rlp::encode_uint(0)});
  auto r = Receipt::decode(extra);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "rlp.extra_fields");
}

TEST(ListRoots, EmptyListsHaveTheKeccakOfAnEmptyRlpList) {
  EXPECT_EQ(to_hex(empty_list_root()),
            "1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347");
  EXPECT_EQ(transactions_root({}), empty_list_root());
  EXPECT_EQ(receipts_root({}), empty_list_root());
}

TEST(ListRoots, AreKeccakOfTheListOfEncodings) {
  std::vector<Transaction> txs{sample_tx(0), sample_tx(1)};
  Bytes list = rlp::encode_list({txs[0].encode(), txs[1].encode()});
  EXPECT_EQ(transactions_root(txs), crypto::keccak256(list));
  std::vector<Receipt> rcs{sample(kTransferGas), sample(2 * kTransferGas)};
  EXPECT_EQ(receipts_root(rcs),
            crypto::keccak256(rlp::encode_list({rcs[0].encode(), rcs[1].encode()})));
}

TEST(ListRoots, DependOnOrder) {
  std::vector<Transaction> txs{sample_tx(0), sample_tx(1)};
  std::vector<Transaction> swapped{txs[1], txs[0]};
  EXPECT_NE(transactions_root(txs), transactions_root(swapped));
}

}  // namespace
}  // namespace cc::chain
