// util/bytes.h — owns the byte containers (Bytes, ByteView, fixed-size Hash32/Address) and hex
// conversion. Hex output is lower case with an optional 0x prefix; input accepts either case.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace cc {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

template <std::size_t N>
using FixedBytes = std::array<std::uint8_t, N>;

using Hash32 = FixedBytes<32>;
using Address = FixedBytes<20>;

// Hash for unordered containers keyed by Hash32 (keccak outputs are uniform: 8 bytes suffice).
struct Hash32Hasher {
  std::size_t operator()(const Hash32& h) const {
    std::size_t v = 0;
    std::memcpy(&v, h.data(), sizeof(v));
    return v;
  }
};

// Hex encoding of any byte range, without prefix.
[[nodiscard]] std::string to_hex(ByteView data);
// Hex encoding with a 0x prefix.
[[nodiscard]] std::string to_hex0x(ByteView data);

// Decodes hex; a 0x/0X prefix is optional. Odd length or a non-hex character is an error that
// names the offending position.
[[nodiscard]] Result<Bytes> from_hex(std::string_view text);

// A JSON-RPC quantity that fits 64 bits: "0x" then 1..16 hex digits (leading zeros, which
// clients send, are accepted). Error code "hex.quantity", naming the text.
[[nodiscard]] Result<std::uint64_t> parse_hex_quantity(std::string_view text);
// The JSON-RPC quantity form of a value: "0x" and its hex digits without leading zeros ("0x0").
[[nodiscard]] std::string to_hex_quantity(std::uint64_t value);

// Decodes hex into exactly N bytes; a wrong length is an error naming expected and actual.
template <std::size_t N>
[[nodiscard]] Result<FixedBytes<N>> fixed_from_hex(std::string_view text) {
  auto bytes = from_hex(text);
  if (!bytes.ok()) return bytes.error();
  if (bytes->size() != N) {
    return make_error("hex.length", "expected " + std::to_string(N) + " bytes (" +
                                        std::to_string(2 * N) + " hex chars), got " +
                                        std::to_string(bytes->size()) + " bytes");
  }
  FixedBytes<N> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = (*bytes)[i];
  return out;
}

[[nodiscard]] inline ByteView view(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

[[nodiscard]] inline Bytes to_bytes(ByteView v) { return {v.begin(), v.end()}; }

// Big-endian fixed-width encodings (storage keys iterate in numeric order this way).
[[nodiscard]] FixedBytes<8> be64(std::uint64_t v);
[[nodiscard]] std::uint64_t read_be64(ByteView eight_bytes);

}  // namespace cc
