#include "chain/tx.h"

#include "chain/sender_cache.h"

#include <limits>

#include "codec/rlp.h"
#include "crypto/address.h"
#include "crypto/keccak.h"

namespace cc::chain {
namespace {

// secp256k1 group order n, and n/2 (the low-s bound Ethereum's Homestead rule imposes).
const U256& curve_order() {
  static const U256 n("0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141");
  return n;
}
const U256& half_order() {
  static const U256 h = curve_order() / 2;
  return h;
}

constexpr std::string_view kTransfersOnly =
    "corecell executes value transfers only; contract creation/call data are not supported";

// The six fields shared by the signed form and the signing payload.
void encode_body(rlp::Encoder& enc, const Transaction& tx) {
  enc.uint(tx.nonce).u256(tx.gas_price).uint(tx.gas_limit);
  if (tx.to) {
    enc.bytes(*tx.to);
  } else {
    enc.bytes(ByteView{});
  }
  enc.u256(tx.value).bytes(tx.data);
}

Error field_error(const char* field, const Error& e) {
  return e.context(std::string("transaction field '") + field + "'");
}

}  // namespace

Bytes Transaction::encode() const {
  rlp::Encoder enc;
  enc.begin_list();
  encode_body(enc, *this);
  enc.u256(v).u256(r).u256(s);
  enc.end_list();
  return enc.finish();
}

Result<Transaction> Transaction::decode(ByteView encoded) {
  auto reader_r = rlp::ListReader::open(encoded);
  if (!reader_r.ok()) return reader_r.error().context("transaction");
  rlp::ListReader reader = std::move(reader_r).value();
  if (reader.remaining_items() != 9) {
    return make_error("tx.field_count",
                      "transaction must be an RLP list of exactly 9 fields "
                      "[nonce, gasPrice, gasLimit, to, value, data, v, r, s], "
                      "got " +
                          std::to_string(reader.remaining_items()));
  }
  Transaction tx;
  {
    auto x = reader.next_uint();
    if (!x.ok()) return field_error("nonce", x.error());
    tx.nonce = *x;
  }
  {
    auto x = reader.next_u256();
    if (!x.ok()) return field_error("gasPrice", x.error());
    tx.gas_price = *x;
  }
  {
    auto x = reader.next_uint();
    if (!x.ok()) return field_error("gasLimit", x.error());
    tx.gas_limit = *x;
  }
  {
    auto x = reader.next_bytes();
    if (!x.ok()) return field_error("to", x.error());
    if (x->size() == 20) {
      Address a{};
      for (std::size_t i = 0; i < 20; ++i) a[i] = (*x)[i];
      tx.to = a;
    } else if (!x->empty()) {
      return make_error("tx.bad_to", "transaction field 'to' must be empty or 20 bytes, got " +
                                         std::to_string(x->size()) + " bytes");
    }
  }
  {
    auto x = reader.next_u256();
    if (!x.ok()) return field_error("value", x.error());
    tx.value = *x;
  }
  {
    auto x = reader.next_bytes();
    if (!x.ok()) return field_error("data", x.error());
    tx.data = to_bytes(*x);
  }
  {
    auto x = reader.next_u256();
    if (!x.ok()) return field_error("v", x.error());
    tx.v = *x;
  }
  {
    auto x = reader.next_u256();
    if (!x.ok()) return field_error("r", x.error());
    tx.r = *x;
  }
  {
    auto x = reader.next_u256();
    if (!x.ok()) return field_error("s", x.error());
    tx.s = *x;
  }
  CC_TRY_STATUS(reader.expect_end());
  return tx;
}

Hash32 Transaction::hash() const { return crypto::keccak256(encode()); }

Bytes Transaction::signing_payload(std::uint64_t chain_id) const {
  rlp::Encoder enc;
  enc.begin_list();
  encode_body(enc, *this);
  enc.uint(chain_id).uint(0).uint(0);
  enc.end_list();
  return enc.finish();
}

Hash32 Transaction::signing_hash(std::uint64_t chain_id) const {
  return crypto::keccak256(signing_payload(chain_id));
}

std::optional<std::uint64_t> Transaction::chain_id() const {
  if (v < 35) return std::nullopt;
  U256 id = (v - 35) / 2;
  if (id > std::numeric_limits<std::uint64_t>::max()) return std::nullopt;
  return static_cast<std::uint64_t>(id);
}

Transaction sign_transaction(Transaction tx, const crypto::PrivateKey& key,
                             std::uint64_t chain_id) {
  crypto::Signature sig = crypto::sign(key, tx.signing_hash(chain_id));
  auto r = u256_from_be(ByteView(sig.data(), 32));
  auto s = u256_from_be(ByteView(sig.data() + 32, 32));
  // 32 bytes always fit a U256.
  tx.r = *r;
  tx.s = *s;
  tx.v = U256(chain_id) * 2 + 35 + sig[64];
  return tx;
}

Transaction make_transfer(const crypto::PrivateKey& key, std::uint64_t nonce, const Address& to,
                          const U256& value, const U256& gas_price, std::uint64_t chain_id) {
  Transaction tx;
  tx.nonce = nonce;
  tx.gas_price = gas_price;
  tx.gas_limit = kTransferGas;
  tx.to = to;
  tx.value = value;
  return sign_transaction(std::move(tx), key, chain_id);
}

std::string_view to_string(TxInvalid reason) {
  switch (reason) {
    case TxInvalid::Malformed:
      return "malformed";
    case TxInvalid::WrongChainId:
      return "wrong_chain_id";
    case TxInvalid::NotEip155:
      return "not_eip155";
    case TxInvalid::ContractCreation:
      return "contract_creation";
    case TxInvalid::HasData:
      return "has_data";
    case TxInvalid::BadSignature:
      return "bad_signature";
    case TxInvalid::IntrinsicGasTooLow:
      return "intrinsic_gas_too_low";
    case TxInvalid::GasPriceTooLow:
      return "gas_price_too_low";
    case TxInvalid::FeeOverflow:
      return "fee_overflow";
    case TxInvalid::NonceTooLow:
      return "nonce_too_low";
    case TxInvalid::NonceTooHigh:
      return "nonce_too_high";
    case TxInvalid::InsufficientFunds:
      return "insufficient_funds";
    case TxInvalid::BalanceOverflow:
      return "balance_overflow";
    case TxInvalid::BlockGasLimitReached:
      return "block_gas_limit_reached";
  }
  return "unknown";
}

Error TxRejection::to_error() const {
  return make_error("tx." + std::string(to_string(reason)), detail);
}

TxRejection reject(TxInvalid reason, std::string detail) {
  return TxRejection{reason, std::move(detail)};
}

std::optional<U256> transfer_fee(const U256& gas_price) {
  if (gas_price > std::numeric_limits<U256>::max() / kTransferGas) return std::nullopt;
  return gas_price * kTransferGas;
}

TxVerdict<Address> validate_stateless(const Transaction& tx, std::uint64_t chain_id,
                                      const U256& min_gas_price, SenderCache* senders) {
  if (!tx.to) {
    return reject(TxInvalid::ContractCreation,
                  "transaction has no 'to' (contract creation): " + std::string(kTransfersOnly));
  }
  if (!tx.data.empty()) {
    return reject(TxInvalid::HasData, "transaction carries " + std::to_string(tx.data.size()) +
                                          " bytes of data: " + std::string(kTransfersOnly));
  }
  // False positive: the check sees the same implicit U256 conversion on both sides and ignores
  // that the literals differ (27 vs 28).
  // NOLINTNEXTLINE(misc-redundant-expression)
  if (tx.v == 27 || tx.v == 28) {
    return reject(TxInvalid::NotEip155,
                  "transaction is signed without EIP-155 replay protection (v=" +
                      u256_to_dec(tx.v) + "); sign it with chain id " + std::to_string(chain_id));
  }
  auto tx_chain = tx.chain_id();
  if (!tx_chain) {
    return reject(TxInvalid::BadSignature, "transaction v=" + u256_to_dec(tx.v) +
                                               " encodes no EIP-155 chain id (expected " +
                                               u256_to_dec(U256(chain_id) * 2 + 35) + " or " +
                                               u256_to_dec(U256(chain_id) * 2 + 36) + ")");
  }
  if (*tx_chain != chain_id) {
    return reject(TxInvalid::WrongChainId,
                  "transaction is signed for chain id " + std::to_string(*tx_chain) +
                      ", this network's chain id is " + std::to_string(chain_id));
  }
  if (tx.gas_limit < kTransferGas) {
    return reject(TxInvalid::IntrinsicGasTooLow, "transaction gas limit " +
                                                     std::to_string(tx.gas_limit) +
                                                     " is below the intrinsic gas of a transfer (" +
                                                     std::to_string(kTransferGas) + ")");
  }
  if (tx.gas_price < min_gas_price) {
    return reject(TxInvalid::GasPriceTooLow, "transaction gas price " + u256_to_dec(tx.gas_price) +
                                                 " is below this node's minimum " +
                                                 u256_to_dec(min_gas_price));
  }
  auto fee = transfer_fee(tx.gas_price);
  if (!fee || *fee > std::numeric_limits<U256>::max() - tx.value) {
    return reject(TxInvalid::FeeOverflow, "transaction value " + u256_to_dec(tx.value) +
                                              " plus fee (gas price " + u256_to_dec(tx.gas_price) +
                                              " x " + std::to_string(kTransferGas) +
                                              ") exceeds 2^256-1");
  }
  if (tx.r == 0 || tx.r >= curve_order() || tx.s == 0 || tx.s >= curve_order()) {
    return reject(TxInvalid::BadSignature,
                  "transaction signature r/s is zero or not below the "
                  "secp256k1 order");
  }
  if (tx.s > half_order()) {
    return reject(TxInvalid::BadSignature,
                  "transaction signature has high s (s > n/2); only low-s signatures are valid");
  }
  // Every check above ran; only the recovery is memoised (a hash has one sender).
  std::optional<Hash32> hash;
  if (senders != nullptr) {
    hash = tx.hash();
    if (auto known = senders->find(*hash)) return *known;
  }
  crypto::Signature sig{};
  Hash32 r = u256_to_be32(tx.r);
  Hash32 s = u256_to_be32(tx.s);
  for (std::size_t i = 0; i < 32; ++i) {
    sig[i] = r[i];
    sig[32 + i] = s[i];
  }
  sig[64] = static_cast<std::uint8_t>((tx.v - 35) % 2);
  auto pub = crypto::recover(tx.signing_hash(chain_id), sig);
  if (!pub.ok()) {
    return reject(TxInvalid::BadSignature,
                  "transaction signature recovers no public key: " + pub.error().message);
  }
  const Address sender = crypto::address_of(*pub);
  if (senders != nullptr) senders->remember(*hash, sender);
  return sender;
}

TxVerdict<std::pair<Transaction, Address>> decode_and_validate(ByteView encoded,
                                                               std::uint64_t chain_id,
                                                               const U256& min_gas_price) {
  auto tx = Transaction::decode(encoded);
  if (!tx.ok()) {
    return reject(TxInvalid::Malformed, "transaction bytes do not decode: " + tx.error().message +
                                            " (" + tx.error().code + ")");
  }
  auto sender = validate_stateless(*tx, chain_id, min_gas_price);
  if (!sender.ok()) return sender.rejection();
  return std::pair<Transaction, Address>{std::move(tx).value(), sender.value()};
}

}  // namespace cc::chain
