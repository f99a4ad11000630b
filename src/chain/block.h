// chain/block.h — owns the block header and block types, their RLP wire form, the block hash,
// the proposer's signing hash and the commit-seal digest (Istanbul BFT as in Kaia).
//
// Header = RLP[parentHash, rewardbase, stateRoot, transactionsRoot, receiptsRoot, blockScore,
//              number, gasUsed, time, timeFoS, extra]        (extra: chain/extra.h)
// Block  = RLP[header, [tx, ...]]                               (tx: chain/tx.h)
//
//   hash(header)     = keccak256(rlp(header with the committed seals emptied)) — the proposer
//                      seal stays in, so re-sealing changes the hash; commits do not.
//   sig_hash(header) = keccak256(rlp(header with proposer seal and committed seals emptied)) —
//                      what the proposer signs (corecell signs this digest directly).
//   commit_seal_digest(hash) = keccak256(hash ‖ 0x02)        — what each committer signs.
//
// Decoding is strict (canonical RLP, exact field count, no trailing bytes, timeFoS <= 99) and
// never asserts. This module never verifies anything against a parent or a council
// (chain/verify.h does) and never signs (the signer lives in consensus/ and in the generator).
#pragma once

#include <cstdint>
#include <vector>

#include "chain/extra.h"
#include "chain/tx.h"
#include "codec/rlp.h"
#include "crypto/secp256k1.h"
#include "util/bytes.h"
#include "util/result.h"

namespace cc::chain {

inline constexpr std::uint8_t kMaxTimeFoS = 99;       // hundredths of a second
inline constexpr std::uint8_t kCommitMsgType = 0x02;  // Istanbul's commit message code

struct Header {
  Hash32 parent_hash{};
  Address rewardbase{};
  Hash32 state_root{};
  Hash32 transactions_root{};
  Hash32 receipts_root{};
  std::uint64_t block_score = 1;  // always 1 under Istanbul
  std::uint64_t number = 0;
  std::uint64_t gas_used = 0;
  std::uint64_t time = 0;     // unix seconds
  std::uint8_t time_fos = 0;  // fraction of the second, 0..99
  Bytes extra;                // raw extra bytes, exactly as on the wire

  bool operator==(const Header&) const = default;

  [[nodiscard]] Bytes encode() const;
  [[nodiscard]] static Result<Header> decode(ByteView encoded);
  [[nodiscard]] static Result<Header> decode_item(const rlp::Item& item);

  // The block hash. When the extra does not decode there is no filtered form; the hash is then
  // keccak256(rlp(header)) as is (Kaia does the same), so hashing never fails.
  [[nodiscard]] Hash32 hash() const;
  // The digest the proposer signs; fails when the extra does not decode.
  [[nodiscard]] Result<Hash32> sig_hash() const;
  // The decoded extra.
  [[nodiscard]] Result<IstanbulExtra> istanbul_extra() const { return decode_extra(extra); }
};

struct Block {
  Header header;
  std::vector<Transaction> transactions;

  bool operator==(const Block&) const = default;

  [[nodiscard]] Hash32 hash() const { return header.hash(); }
  [[nodiscard]] Bytes encode() const;
  // Exactly one block, no trailing bytes.
  [[nodiscard]] static Result<Block> decode(ByteView encoded);
  // The first block of a concatenation (blocks.rlp); `rest` receives what follows it.
  [[nodiscard]] static Result<Block> decode_prefix(ByteView input, ByteView& rest);
};

// Reads a whole concatenation of encoded blocks (geth/kaia `export` style); an error names the
// index and byte offset of the block that failed.
[[nodiscard]] Result<std::vector<Block>> decode_block_stream(ByteView input);

// keccak256(block_hash ‖ 0x02): the digest a committed seal signs.
[[nodiscard]] Hash32 commit_seal_digest(const Hash32& block_hash);

// The address that produced the proposer seal (recovered from sig_hash). Fails when the extra
// does not decode, the seal is empty or it does not recover.
[[nodiscard]] Result<Address> recover_proposer(const Header& header);

// The address that produced one committed seal over block_hash.
[[nodiscard]] Result<Address> recover_committer(const Hash32& block_hash,
                                                const crypto::Signature& seal);

}  // namespace cc::chain
