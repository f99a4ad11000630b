// tests/support/fill.h — owns the tests' throwaway identities: addresses, hashes and private keys
// made of one repeated byte, so a test names them by that byte (addr(0xaa), key_of(7)).
#pragma once

#include <cstdint>

#include "crypto/secp256k1.h"
#include "util/bytes.h"

namespace cc::testing {

[[nodiscard]] inline Address addr(std::uint8_t fill) {
  Address a{};
  a.fill(fill);
  return a;
}

[[nodiscard]] inline Hash32 hash_of(std::uint8_t fill) {
  Hash32 h{};
  h.fill(fill);
  return h;
}

// A valid secp256k1 key for any fill in 1..0xfe (32 equal bytes are below the curve order).
[[nodiscard]] inline crypto::PrivateKey key_of(std::uint8_t fill) {
  const Bytes secret(32, fill);
  return *crypto::PrivateKey::from_bytes(secret);
}

}  // namespace cc::testing
