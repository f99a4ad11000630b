// chain/extra.h — owns the Istanbul header extra: its layout, strict decoding, encoding, and the
// two "filtered" forms the block hash and the proposer's signature are computed over.
//
// Layout (Kaia's IstanbulExtra): extra = 32-byte vanity ‖ RLP[validators, seal, committedSeals]
//   validators     : list of 20-byte addresses (the council, sorted ascending)
//   seal           : the proposer's 65-byte signature, or empty before sealing
//   committedSeals : list of 65-byte commit seals
// The consensus round that produced the block is vanity byte 31.
//
// Decoding never asserts: a short vanity, non-canonical RLP, a wrong-size address or seal, or
// trailing bytes is an Error with an "extra.*" code. Never verifies signatures (chain/verify.h).
#pragma once

#include <cstdint>
#include <vector>

#include "crypto/secp256k1.h"
#include "util/bytes.h"
#include "util/result.h"

namespace cc::chain {

inline constexpr std::size_t kExtraVanity = 32;
inline constexpr std::size_t kSealSize = 65;
inline constexpr std::size_t kRoundByte = 31;  // index of the round inside the vanity

struct IstanbulExtra {
  FixedBytes<kExtraVanity> vanity{};
  std::vector<Address> validators;
  Bytes proposer_seal;                             // empty or kSealSize bytes
  std::vector<crypto::Signature> committed_seals;  // each kSealSize bytes

  [[nodiscard]] std::uint8_t round() const { return vanity[kRoundByte]; }
  void set_round(std::uint8_t r) { vanity[kRoundByte] = r; }

  bool operator==(const IstanbulExtra&) const = default;
};

[[nodiscard]] Bytes encode_extra(const IstanbulExtra& extra);
[[nodiscard]] Result<IstanbulExtra> decode_extra(ByteView extra);

// The extra as the block hash sees it: committed seals emptied, proposer seal kept.
[[nodiscard]] Result<Bytes> extra_for_hash(ByteView extra);
// The extra as the proposer signs it: proposer seal and committed seals emptied.
[[nodiscard]] Result<Bytes> extra_for_sig_hash(ByteView extra);

}  // namespace cc::chain
