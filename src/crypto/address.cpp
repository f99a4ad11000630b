#include "crypto/address.h"

#include <cctype>

#include "crypto/keccak.h"

namespace cc::crypto {

Address address_of(const PublicKey& pub) {
  Hash32 h = keccak256(pub);
  Address out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = h[12 + i];
  return out;
}

namespace {
// EIP-55: hex digit i is upper case when nibble i of keccak256(lower-case hex) is >= 8.
std::string checksum_case(const std::string& lower40) {
  Hash32 h = keccak256(view(lower40));
  std::string out = lower40;
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::uint8_t nibble = (i % 2 == 0) ? (h[i / 2] >> 4) : (h[i / 2] & 0x0f);
    if (out[i] >= 'a' && out[i] <= 'f' && nibble >= 8) {
      out[i] = static_cast<char>(out[i] - 'a' + 'A');
    }
  }
  return out;
}
}  // namespace

std::string to_checksum_hex(const Address& addr) { return "0x" + checksum_case(to_hex(addr)); }

Result<Address> parse_address(std::string_view text) {
  std::string_view body = text;
  if (body.size() >= 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X')) {
    body.remove_prefix(2);
  }
  if (body.size() != 40) {
    return make_error("address.length",
                      "an address is 40 hex characters (optionally with 0x), got " +
                          std::to_string(body.size()) + " characters");
  }
  bool has_lower = false, has_upper = false;
  for (char c : body) {
    if (c >= 'a' && c <= 'f') has_lower = true;
    if (c >= 'A' && c <= 'F') has_upper = true;
  }
  auto bytes = fixed_from_hex<20>(body);
  if (!bytes.ok()) return make_error("address.not_hex", "address: " + bytes.error().message);
  if (has_lower && has_upper) {
    std::string lower(body);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (checksum_case(lower) != body) {
      return make_error("address.checksum",
                        "address 0x" + std::string(body) +
                            " has mixed case but an invalid EIP-55 checksum; it is probably "
                            "mistyped: copy it again from its source");
    }
  }
  return *bytes;
}

}  // namespace cc::crypto
