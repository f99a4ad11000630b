// crypto/address.h — owns account/node addresses: derivation keccak256(X‖Y)[12:], EIP-55
// checksummed display, and parsing (a mixed-case address must carry a valid checksum).
#pragma once

#include <string>
#include <string_view>

#include "crypto/secp256k1.h"
#include "util/bytes.h"
#include "util/result.h"

namespace cc::crypto {

[[nodiscard]] Address address_of(const PublicKey& pub);
[[nodiscard]] inline Address address_of(const PrivateKey& key) {
  return address_of(public_key_of(key));
}

// "0x" + EIP-55 mixed-case checksum encoding.
[[nodiscard]] std::string to_checksum_hex(const Address& addr);

// Accepts 40 hex chars with or without 0x. All-lower or all-upper is accepted as is; mixed case
// must match EIP-55 or the error says the checksum is wrong.
[[nodiscard]] Result<Address> parse_address(std::string_view text);

}  // namespace cc::crypto
