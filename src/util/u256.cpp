#include "util/u256.h"

#include <algorithm>

namespace cc {

Bytes u256_to_be_minimal(const U256& v) {
  Bytes out;
  boost::multiprecision::export_bits(v, std::back_inserter(out), 8, true);
  // export_bits writes a single 0 byte for zero; RLP's canonical zero is empty.
  std::size_t first = 0;
  while (first < out.size() && out[first] == 0) ++first;
  out.erase(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(first));
  return out;
}

Hash32 u256_to_be32(const U256& v) {
  Hash32 out{};
  Bytes minimal = u256_to_be_minimal(v);
  std::copy(minimal.begin(), minimal.end(),
            out.begin() + static_cast<std::ptrdiff_t>(32 - minimal.size()));
  return out;
}

Result<U256> u256_from_be(ByteView be) {
  if (be.size() > 32) {
    return make_error("u256.too_long",
                      "integer of " + std::to_string(be.size()) + " bytes exceeds 256 bits");
  }
  U256 v = 0;
  for (std::uint8_t b : be) v = (v << 8) | b;
  return v;
}

std::string u256_to_dec(const U256& v) { return v.str(); }

std::string u256_to_hex_quantity(const U256& v) {
  if (v == 0) return "0x0";
  std::string hex = to_hex(u256_to_be_minimal(v));
  std::size_t nz = hex.find_first_not_of('0');
  return "0x" + hex.substr(nz);
}

Result<U256> u256_parse(const std::string& text) {
  if (text.empty()) return make_error("u256.empty", "empty number");
  bool is_hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
  U256 v = 0;
  const U256 max = ~U256(0);
  std::size_t start = is_hex ? 2 : 0;
  unsigned base = is_hex ? 16 : 10;
  for (std::size_t i = start; i < text.size(); ++i) {
    char c = text[i];
    unsigned d;
    if (c >= '0' && c <= '9')
      d = static_cast<unsigned>(c - '0');
    else if (is_hex && c >= 'a' && c <= 'f')
      d = static_cast<unsigned>(c - 'a' + 10);
    else if (is_hex && c >= 'A' && c <= 'F')
      d = static_cast<unsigned>(c - 'A' + 10);
    else
      return make_error("u256.bad_char",
                        "'" + text + "' is not a " + (is_hex ? "hex" : "decimal") + " number");
    if (v > (max - d) / base) return make_error("u256.overflow", "'" + text + "' exceeds 256 bits");
    v = v * base + d;
  }
  return v;
}

}  // namespace cc
