// crypto/secp256k1.h — owns secp256k1 keys and signatures (libsecp256k1 with its recovery and
// ECDH modules): key validation, recoverable signing, public-key recovery, verification, ECDH.
// Signatures are 65 bytes r(32) ‖ s(32) ‖ v(1) with v the recovery id 0/1 and s in the lower
// half of the order (low-s, as Ethereum requires of transactions). Never logs key material.
#pragma once

#include "util/bytes.h"
#include "util/result.h"

namespace cc::crypto {

// A validated secp256k1 secret (0 < k < n). Deliberately not printable.
class PrivateKey {
 public:
  // Rejects zero and values >= the group order.
  [[nodiscard]] static Result<PrivateKey> from_bytes(ByteView secret32);
  // A fresh key from the OS CSPRNG (libsodium's randombytes).
  [[nodiscard]] static PrivateKey generate();
  [[nodiscard]] const FixedBytes<32>& bytes() const { return secret_; }

 private:
  explicit PrivateKey(const FixedBytes<32>& s) : secret_(s) {}
  FixedBytes<32> secret_{};
};

// Uncompressed public key without the 0x04 prefix: X ‖ Y (Kaia's 128-hex node ID).
using PublicKey = FixedBytes<64>;
// r ‖ s ‖ recid
using Signature = FixedBytes<65>;

[[nodiscard]] PublicKey public_key_of(const PrivateKey& key);

// Validates that 64 bytes are a point on the curve.
[[nodiscard]] Status validate_public_key(const PublicKey& pub);

// Deterministic (RFC 6979) recoverable signature over a 32-byte digest.
[[nodiscard]] Signature sign(const PrivateKey& key, const Hash32& digest);

// Recovers the signer's public key; rejects recid > 3, r/s out of range, and high-s.
[[nodiscard]] Result<PublicKey> recover(const Hash32& digest, const Signature& sig);

// True when sig is a valid low-s signature of digest by pub.
[[nodiscard]] bool verify(const PublicKey& pub, const Hash32& digest, const Signature& sig);

// ECDH shared secret: SHA-256 of the compressed shared point (libsecp256k1's default hash).
[[nodiscard]] Result<Hash32> ecdh(const PrivateKey& key, const PublicKey& peer);

}  // namespace cc::crypto
