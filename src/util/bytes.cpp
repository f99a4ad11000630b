#include "util/bytes.h"

#include <charconv>

namespace cc {
namespace {
constexpr char kHexDigits[] = "0123456789abcdef";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string to_hex(ByteView data) {
  std::string out;
  out.reserve(data.size() * 2);
  for (std::uint8_t b : data) {
    out.push_back(kHexDigits[b >> 4]);
    out.push_back(kHexDigits[b & 0x0f]);
  }
  return out;
}

std::string to_hex0x(ByteView data) { return "0x" + to_hex(data); }

std::string to_hex_quantity(std::uint64_t value) {
  char digits[16];
  const auto end = std::to_chars(digits, digits + sizeof digits, value, 16).ptr;
  return "0x" + std::string(digits, end);
}

Result<std::uint64_t> parse_hex_quantity(std::string_view text) {
  if (text.size() < 3 || text.size() > 18 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) {
    return Error{"hex.quantity", "\"" + std::string(text) +
                                     "\" is not a hex quantity like \"0x1a\" (at most 64 bits)"};
  }
  std::uint64_t value = 0;
  for (char c : text.substr(2)) {
    int digit = 0;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else {
      return Error{"hex.quantity", "\"" + std::string(text) + "\" has a non-hex character"};
    }
    value = (value << 4) | static_cast<std::uint64_t>(digit);
  }
  return value;
}

Result<Bytes> from_hex(std::string_view text) {
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
  }
  if (text.size() % 2 != 0) {
    return make_error("hex.odd_length", "hex string has an odd number of digits (" +
                                            std::to_string(text.size()) + ")");
  }
  Bytes out(text.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    int hi = hex_value(text[2 * i]);
    int lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      std::size_t pos = hi < 0 ? 2 * i : 2 * i + 1;
      return make_error("hex.bad_char", "non-hex character at position " + std::to_string(pos));
    }
    out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return out;
}

FixedBytes<8> be64(std::uint64_t v) {
  FixedBytes<8> out{};
  for (int i = 7; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v & 0xff);
    v >>= 8;
  }
  return out;
}

std::uint64_t read_be64(ByteView eight_bytes) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8 && i < eight_bytes.size(); ++i) v = (v << 8) | eight_bytes[i];
  return v;
}

}  // namespace cc
