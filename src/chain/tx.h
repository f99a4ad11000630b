// chain/tx.h — owns the transaction type: its RLP wire form (legacy Ethereum layout), its hash,
// EIP-155 signing and sender recovery, and the stateless validation verdict for untrusted
// transactions (from peers, RPC). corecell executes plain value transfers only.
// It must never look at account state (see chain/executor.h for nonce/balance checks) and never
// assert or throw on untrusted bytes: decoding returns Result, validation returns TxVerdict.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "crypto/secp256k1.h"
#include "util/bytes.h"
#include "util/result.h"
#include "util/u256.h"
#include "util/verdict.h"

namespace cc::chain {

class SenderCache;  // chain/sender_cache.h

// Gas of a plain value transfer (Ethereum's intrinsic gas). Every corecell transaction uses
// exactly this much; the fee is kTransferGas * gas_price.
inline constexpr std::uint64_t kTransferGas = 21000;

struct Transaction {
  std::uint64_t nonce = 0;
  U256 gas_price = 0;
  std::uint64_t gas_limit = 0;
  std::optional<Address> to;  // nullopt = contract creation (decoded, then rejected)
  U256 value = 0;
  Bytes data;
  U256 v = 0;  // EIP-155: chain_id * 2 + 35 + recovery id; 27/28 = pre-EIP-155
  U256 r = 0;
  U256 s = 0;

  bool operator==(const Transaction&) const = default;

  // RLP [nonce, gasPrice, gasLimit, to, value, data, v, r, s]; `to` absent = empty string.
  [[nodiscard]] Bytes encode() const;
  // Strict: canonical RLP, one list of exactly 9 items, no trailing bytes, integers canonical,
  // `to` empty or exactly 20 bytes. Errors carry "tx.*" or "rlp.*" codes.
  [[nodiscard]] static Result<Transaction> decode(ByteView encoded);

  // keccak256(encode()) — the transaction's identity everywhere (pool, receipts, RPC).
  [[nodiscard]] Hash32 hash() const;
  // EIP-155 signing preimage: rlp[nonce, gasPrice, gasLimit, to, value, data, chainId, 0, 0].
  [[nodiscard]] Bytes signing_payload(std::uint64_t chain_id) const;
  // keccak256(signing_payload(chain_id)).
  [[nodiscard]] Hash32 signing_hash(std::uint64_t chain_id) const;
  // Chain id encoded in v (v >= 35); nullopt for pre-EIP-155 v (27/28) or a v that encodes no
  // chain id representable in 64 bits.
  [[nodiscard]] std::optional<std::uint64_t> chain_id() const;
};

// Signs with EIP-155 for chain_id: fills v, r, s (low-s, deterministic RFC 6979) and returns the
// tx.
[[nodiscard]] Transaction sign_transaction(Transaction unsigned_tx, const crypto::PrivateKey& key,
                                           std::uint64_t chain_id);

// A signed value transfer with gas_limit = kTransferGas and no data.
[[nodiscard]] Transaction make_transfer(const crypto::PrivateKey& key, std::uint64_t nonce,
                                        const Address& to, const U256& value, const U256& gas_price,
                                        std::uint64_t chain_id);

// Why an untrusted transaction is refused. Stateless reasons come from validate_stateless;
// Nonce*/InsufficientFunds/BalanceOverflow/BlockGasLimitReached from the executor.
enum class TxInvalid {
  Malformed,             // bytes do not decode (Transaction::decode failed)
  WrongChainId,          // EIP-155 chain id is not this network's
  NotEip155,             // v = 27/28: replayable across chains, refused
  ContractCreation,      // no `to`
  HasData,               // non-empty data (contract call)
  BadSignature,          // v/r/s out of range, high-s, or no key recovers
  IntrinsicGasTooLow,    // gas_limit < kTransferGas
  GasPriceTooLow,        // below the node's minimum gas price
  FeeOverflow,           // value + kTransferGas * gas_price exceeds 2^256 - 1
  NonceTooLow,           // already used
  NonceTooHigh,          // gap: an earlier nonce is missing
  InsufficientFunds,     // balance < value + fee
  BalanceOverflow,       // crediting the recipient/rewardbase would exceed 2^256 - 1
  BlockGasLimitReached,  // block builder: no room left in the block
};

// Stable lower-case name ("nonce_too_low"), used in error codes ("tx.nonce_too_low") and logs.
[[nodiscard]] std::string_view to_string(TxInvalid reason);

struct TxRejection {
  TxInvalid reason;
  std::string detail;  // operator-readable sentence naming the field and the values involved

  // Error{"tx.<reason>", detail} for callers that propagate Result.
  [[nodiscard]] Error to_error() const;
};

// Typed verdict on an untrusted transaction: either a value (e.g. the sender) or a rejection the
// caller can act on (drop, answer an RPC error, penalise the peer).
template <typename T>
using TxVerdict = Verdict<T, TxRejection>;

[[nodiscard]] TxRejection reject(TxInvalid reason, std::string detail);

// Every check that needs no account state, cheapest first, then sender recovery (the expensive
// part: one secp256k1 recovery). Requires EIP-155 with `chain_id`, a recipient, empty data,
// gas_limit >= kTransferGas, gas_price >= min_gas_price, value + fee without overflow, and a
// low-s signature that recovers. Returns the sender's address. With a `senders` cache the
// recovery (only) is looked up by tx hash first, and remembered after it succeeds.
[[nodiscard]] TxVerdict<Address> validate_stateless(const Transaction& tx, std::uint64_t chain_id,
                                                    const U256& min_gas_price = 0,
                                                    SenderCache* senders = nullptr);

// Decodes then validates: Malformed when the bytes do not decode.
[[nodiscard]] TxVerdict<std::pair<Transaction, Address>> decode_and_validate(
    ByteView encoded, std::uint64_t chain_id, const U256& min_gas_price = 0);

// kTransferGas * gas_price, the fee a transfer pays to the block's rewardbase; nullopt when it
// overflows 256 bits.
[[nodiscard]] std::optional<U256> transfer_fee(const U256& gas_price);

}  // namespace cc::chain
