#include "crypto/secp256k1.h"

#include <secp256k1.h>
#include <secp256k1_ecdh.h>
#include <secp256k1_recovery.h>

#include <cstring>

#include "crypto/detail/sodium_init.h"
#include "util/assert.h"

namespace cc::crypto {
namespace {

// One context for the whole process. After creation and randomization libsecp256k1 only reads
// it, so signing/verification/recovery may run on any thread concurrently. Never destroyed:
// static destruction order would otherwise race with threads still signing at exit.
const secp256k1_context* ctx() {
  static const secp256k1_context* const c = [] {
    detail::ensure_sodium();
    secp256k1_context* made = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    CC_ASSERT(made != nullptr);
    // Blinding against side channels in signing/pubkey generation.
    unsigned char seed[32];
    randombytes_buf(seed, sizeof seed);
    int rc = secp256k1_context_randomize(made, seed);
    sodium_memzero(seed, sizeof seed);
    CC_ASSERT(rc == 1);
    return made;
  }();
  return c;
}

bool parse_pubkey(const PublicKey& pub, secp256k1_pubkey* out) {
  unsigned char ser[65];
  ser[0] = 0x04;
  std::memcpy(ser + 1, pub.data(), pub.size());
  return secp256k1_ec_pubkey_parse(ctx(), out, ser, sizeof ser) == 1;
}

PublicKey serialize_pubkey(const secp256k1_pubkey& key) {
  unsigned char ser[65];
  size_t len = sizeof ser;
  int rc = secp256k1_ec_pubkey_serialize(ctx(), ser, &len, &key, SECP256K1_EC_UNCOMPRESSED);
  CC_ASSERT(rc == 1 && len == 65 && ser[0] == 0x04);
  PublicKey out{};
  std::memcpy(out.data(), ser + 1, out.size());
  return out;
}

}  // namespace

Result<PrivateKey> PrivateKey::from_bytes(ByteView secret32) {
  if (secret32.size() != 32) {
    return make_error("secp256k1.key_length", "a secp256k1 private key is 32 bytes, got " +
                                                  std::to_string(secret32.size()));
  }
  FixedBytes<32> s{};
  std::memcpy(s.data(), secret32.data(), s.size());
  if (secp256k1_ec_seckey_verify(ctx(), s.data()) != 1) {
    return make_error("secp256k1.key_range",
                      "the private key is zero or not below the secp256k1 group order");
  }
  return PrivateKey(s);
}

PrivateKey PrivateKey::generate() {
  ctx();  // initialises libsodium too
  FixedBytes<32> s{};
  // A uniformly random 32-byte value is out of range with probability ~2^-128; retry then.
  do {
    randombytes_buf(s.data(), s.size());
  } while (secp256k1_ec_seckey_verify(ctx(), s.data()) != 1);
  return PrivateKey(s);
}

PublicKey public_key_of(const PrivateKey& key) {
  secp256k1_pubkey pub;
  // Cannot fail: PrivateKey is validated on construction.
  int rc = secp256k1_ec_pubkey_create(ctx(), &pub, key.bytes().data());
  CC_ASSERT(rc == 1);
  return serialize_pubkey(pub);
}

Status validate_public_key(const PublicKey& pub) {
  secp256k1_pubkey parsed;
  if (!parse_pubkey(pub, &parsed)) {
    return make_error("secp256k1.bad_pubkey", "the 64-byte public key is not a point on secp256k1");
  }
  return ok_status();
}

Signature sign(const PrivateKey& key, const Hash32& digest) {
  secp256k1_ecdsa_recoverable_signature rsig;
  // nullptr nonce function = RFC 6979; libsecp256k1 always produces low-s signatures.
  int rc = secp256k1_ecdsa_sign_recoverable(ctx(), &rsig, digest.data(), key.bytes().data(),
                                            nullptr, nullptr);
  CC_ASSERT(rc == 1);
  Signature out{};
  int recid = -1;
  rc = secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx(), out.data(), &recid, &rsig);
  CC_ASSERT(rc == 1 && recid >= 0 && recid <= 3);
  out[64] = static_cast<std::uint8_t>(recid);
  return out;
}

Result<PublicKey> recover(const Hash32& digest, const Signature& sig) {
  const int recid = sig[64];
  if (recid > 3) {
    return make_error("secp256k1.bad_recid",
                      "signature recovery id is " + std::to_string(recid) + ", expected 0..3");
  }
  secp256k1_ecdsa_recoverable_signature rsig;
  // Fails when r or s is >= the group order.
  if (secp256k1_ecdsa_recoverable_signature_parse_compact(ctx(), &rsig, sig.data(), recid) != 1) {
    return make_error("secp256k1.bad_signature", "signature r or s is not below the group order");
  }
  secp256k1_ecdsa_signature plain;
  secp256k1_ecdsa_recoverable_signature_convert(ctx(), &plain, &rsig);
  // normalize() returns 1 when s was in the upper half: reject instead of normalizing, so that a
  // signature has exactly one accepted encoding (no malleability).
  if (secp256k1_ecdsa_signature_normalize(ctx(), nullptr, &plain) == 1) {
    return make_error("secp256k1.high_s", "signature s is in the upper half of the group order");
  }
  secp256k1_pubkey pub;
  if (secp256k1_ecdsa_recover(ctx(), &pub, &rsig, digest.data()) != 1) {
    return make_error("secp256k1.recover_failed",
                      "no public key recovers from this signature (r or s is zero or invalid)");
  }
  return serialize_pubkey(pub);
}

bool verify(const PublicKey& pub, const Hash32& digest, const Signature& sig) {
  // Verification by recovery: besides r/s, the recovery id must also be the right one, so a
  // signature accepted here recovers to the same key everywhere else (Kaia derives signers by
  // recovery).
  auto recovered = recover(digest, sig);
  return recovered.ok() && *recovered == pub;
}

Result<Hash32> ecdh(const PrivateKey& key, const PublicKey& peer) {
  secp256k1_pubkey pub;
  if (!parse_pubkey(peer, &pub)) {
    return make_error("secp256k1.bad_pubkey",
                      "the peer's 64-byte public key is not a point on secp256k1");
  }
  Hash32 out{};
  // nullptr hash function = libsecp256k1's default: SHA-256(compressed shared point).
  if (secp256k1_ecdh(ctx(), out.data(), &pub, key.bytes().data(), nullptr, nullptr) != 1) {
    return make_error("secp256k1.ecdh_failed", "ECDH with the peer's public key failed");
  }
  return out;
}

}  // namespace cc::crypto
