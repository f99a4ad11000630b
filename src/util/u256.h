// util/u256.h — owns the 256-bit unsigned integer used for balances, values and gas prices
// (Boost.Multiprecision's fixed-width cpp_int) and its big-endian byte conversion.
// Arithmetic wraps like the EVM's; callers that must not overflow check before they add.
#pragma once

#include <boost/multiprecision/cpp_int.hpp>
#include <string>

#include "util/bytes.h"
#include "util/result.h"

namespace cc {

using U256 = boost::multiprecision::uint256_t;

// Minimal big-endian bytes (no leading zeros; zero is the empty sequence), as RLP wants.
[[nodiscard]] Bytes u256_to_be_minimal(const U256& v);
// Exactly 32 big-endian bytes.
[[nodiscard]] Hash32 u256_to_be32(const U256& v);
// Big-endian bytes (at most 32) to U256.
[[nodiscard]] Result<U256> u256_from_be(ByteView be);

[[nodiscard]] std::string u256_to_dec(const U256& v);
// "0x..." quantity as JSON-RPC prints it (no leading zeros, "0x0" for zero).
[[nodiscard]] std::string u256_to_hex_quantity(const U256& v);
// Parses decimal or 0x-hex; rejects signs, spaces, overflow.
[[nodiscard]] Result<U256> u256_parse(const std::string& text);

}  // namespace cc
