#include "codec/rlp.h"

#include "util/assert.h"

namespace cc::rlp {
namespace {

constexpr std::uint8_t kStringBase = 0x80;  // 0x80..0xb7 short string, 0xb8..0xbf long string
constexpr std::uint8_t kListBase = 0xc0;    // 0xc0..0xf7 short list, 0xf8..0xff long list
constexpr std::size_t kShortLimit = 56;     // payloads shorter than this use the one-byte prefix

std::size_t be_width(std::uint64_t v) {
  std::size_t n = 0;
  while (v != 0) {
    ++n;
    v >>= 8;
  }
  return n;
}

// Writes v big-endian into exactly `width` bytes at dst.
void put_be(std::uint8_t* dst, std::uint64_t v, std::size_t width) {
  for (std::size_t i = width; i > 0; --i) {
    dst[i - 1] = static_cast<std::uint8_t>(v & 0xff);
    v >>= 8;
  }
}

std::size_t header_size(std::size_t payload_len) {
  return payload_len < kShortLimit ? 1 : 1 + be_width(payload_len);
}

void append_header(Bytes& out, std::size_t payload_len, std::uint8_t base) {
  if (payload_len < kShortLimit) {
    out.push_back(static_cast<std::uint8_t>(base + payload_len));
    return;
  }
  const std::size_t width = be_width(payload_len);
  out.push_back(static_cast<std::uint8_t>(base + 55 + width));
  const std::size_t at = out.size();
  out.resize(at + width);
  put_be(out.data() + at, payload_len, width);
}

void append_string(Bytes& out, ByteView data) {
  if (data.size() == 1 && data[0] < kStringBase) {
    out.push_back(data[0]);
    return;
  }
  append_header(out, data.size(), kStringBase);
  out.insert(out.end(), data.begin(), data.end());
}

void append_uint(Bytes& out, std::uint64_t value) {
  if (value == 0) {
    out.push_back(kStringBase);  // zero is the empty string
  } else if (value < kStringBase) {
    out.push_back(static_cast<std::uint8_t>(value));
  } else {
    const std::size_t width = be_width(value);
    out.push_back(static_cast<std::uint8_t>(kStringBase + width));
    const std::size_t at = out.size();
    out.resize(at + width);
    put_be(out.data() + at, value, width);
  }
}

std::string hex_byte(std::uint8_t b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  return std::string{'0', 'x', kDigits[b >> 4], kDigits[b & 0x0f]};
}

std::string at(std::size_t offset) { return "at offset " + std::to_string(offset); }

// Decodes the item at the start of input, which sits `base` bytes into the caller's buffer.
// `in_list` only changes the wording when a length overruns (the enclosing list vs the input).
Result<Item> decode_at(ByteView input, std::size_t base, bool in_list, ByteView& rest) {
  const char* const bound = in_list ? "the enclosing list" : "the input";
  if (input.empty()) {
    return make_error("rlp.empty",
                      "expected an RLP item " + at(base) + ", but " + bound + " ends there");
  }
  const std::uint8_t prefix = input[0];
  if (prefix < kStringBase) {  // a single byte is its own encoding
    rest = input.subspan(1);
    return Item{false, input.first(1), input.first(1)};
  }

  const bool is_list = prefix >= kListBase;
  const std::uint8_t type_base = is_list ? kListBase : kStringBase;
  const std::uint8_t short_max = static_cast<std::uint8_t>(type_base + 55);
  const char* const kind = is_list ? "list" : "string";
  std::size_t header = 1;
  std::uint64_t len = 0;

  if (prefix <= short_max) {
    len = prefix - type_base;
  } else {
    const std::size_t len_of_len = prefix - short_max;  // 1..8, so len fits in 64 bits
    if (len_of_len > input.size() - 1) {
      return make_error("rlp.truncated",
                        std::string(kind) + " prefix " + hex_byte(prefix) + " " + at(base) +
                            " needs " + std::to_string(len_of_len) + " length byte(s), but only " +
                            std::to_string(input.size() - 1) + " remain in " + bound);
    }
    if (input[1] == 0) {
      return make_error("rlp.non_canonical",
                        std::string(kind) + " length " + at(base) + " has a leading zero byte");
    }
    for (std::size_t i = 0; i < len_of_len; ++i) len = (len << 8) | input[1 + i];
    if (len < kShortLimit) {
      return make_error("rlp.non_canonical",
                        std::string(kind) + " " + at(base) + " uses the long form for a " +
                            std::to_string(len) +
                            "-byte payload; below 56 the short form is required");
    }
    header = 1 + len_of_len;
  }

  // Compare against what remains rather than adding to the offset: a declared length near
  // 2^64 must not wrap around.
  const std::size_t available = input.size() - header;
  if (len > available) {
    return make_error("rlp.truncated", std::string(kind) + " " + at(base) + " declares " +
                                           std::to_string(len) + " payload byte(s), but only " +
                                           std::to_string(available) + " remain in " + bound);
  }
  const std::size_t n = static_cast<std::size_t>(len);
  if (!is_list && n == 1 && input[header] < kStringBase) {
    return make_error("rlp.non_canonical", "string " + at(base) + " wraps the single byte " +
                                               hex_byte(input[header]) +
                                               ", which must be encoded as itself");
  }
  rest = input.subspan(header + n);
  return Item{is_list, input.subspan(header, n), input.first(header + n)};
}

std::size_t offset_in(const std::uint8_t* origin, ByteView part) {
  if (origin == nullptr || part.data() == nullptr) return 0;
  return static_cast<std::size_t>(part.data() - origin);
}

Error too_deep(std::size_t offset, std::size_t depth, std::size_t max_depth) {
  return make_error("rlp.too_deep", "list " + at(offset) + " is nested " + std::to_string(depth) +
                                        " deep; the limit is " + std::to_string(max_depth));
}

// Walks every item of a list whose nesting depth is `depth` (recursion is bounded by max_depth).
Status validate_list(ByteView payload, const std::uint8_t* origin, std::size_t depth,
                     std::size_t max_depth) {
  ByteView rest = payload;
  while (!rest.empty()) {
    ByteView after;
    const std::size_t item_at = offset_in(origin, rest);
    CC_TRY_ASSIGN(Item item, decode_at(rest, item_at, true, after));
    if (item.is_list) {
      if (depth + 1 > max_depth) return too_deep(item_at, depth + 1, max_depth);
      CC_TRY_STATUS(validate_list(item.payload, origin, depth + 1, max_depth));
    }
    rest = after;
  }
  return ok_status();
}

}  // namespace

// ---- encoding ----

Bytes encode_bytes(ByteView data) {
  Bytes out;
  out.reserve(header_size(data.size()) + data.size());
  append_string(out, data);
  return out;
}

Bytes encode_uint(std::uint64_t value) {
  Bytes out;
  out.reserve(9);
  append_uint(out, value);
  return out;
}

Bytes encode_u256(const U256& value) { return encode_bytes(u256_to_be_minimal(value)); }

Bytes encode_list(const std::vector<Bytes>& encoded_items) {
  std::size_t payload = 0;
  for (const Bytes& item : encoded_items) payload += item.size();
  Bytes out;
  out.reserve(header_size(payload) + payload);
  append_header(out, payload, kListBase);
  for (const Bytes& item : encoded_items) out.insert(out.end(), item.begin(), item.end());
  return out;
}

Encoder& Encoder::bytes(ByteView data) {
  append_string(out_, data);
  return *this;
}

Encoder& Encoder::uint(std::uint64_t value) {
  append_uint(out_, value);
  return *this;
}

Encoder& Encoder::u256(const U256& value) {
  append_string(out_, u256_to_be_minimal(value));
  return *this;
}

Encoder& Encoder::raw(ByteView already_encoded) {
  out_.insert(out_.end(), already_encoded.begin(), already_encoded.end());
  return *this;
}

Encoder& Encoder::begin_list() {
  open_lists_.push_back(out_.size());
  out_.push_back(0);  // placeholder for the short-form prefix
  return *this;
}

Encoder& Encoder::end_list() {
  CC_ASSERT(!open_lists_.empty());
  const std::size_t prefix_at = open_lists_.back();
  open_lists_.pop_back();
  const std::size_t payload = out_.size() - prefix_at - 1;
  if (payload < kShortLimit) {
    out_[prefix_at] = static_cast<std::uint8_t>(kListBase + payload);
    return *this;
  }
  // Long form: make room for the length bytes right after the prefix.
  const std::size_t width = be_width(payload);
  out_.insert(out_.begin() + static_cast<std::ptrdiff_t>(prefix_at + 1), width, 0);
  out_[prefix_at] = static_cast<std::uint8_t>(kListBase + 55 + width);
  put_be(out_.data() + prefix_at + 1, payload, width);
  return *this;
}

Bytes Encoder::finish() {
  CC_ASSERT(open_lists_.empty());
  Bytes result = std::move(out_);
  out_.clear();
  return result;
}

// ---- decoding ----

Result<Item> decode_item(ByteView input, ByteView& rest) {
  return decode_at(input, 0, false, rest);
}

Result<Item> decode_single(ByteView input) {
  ByteView rest;
  CC_TRY_ASSIGN(Item item, decode_at(input, 0, false, rest));
  if (!rest.empty()) {
    return make_error("rlp.trailing", std::to_string(rest.size()) + " trailing byte(s) " +
                                          at(item.encoded.size()) +
                                          " after the single expected item");
  }
  return item;
}

Status validate(ByteView input, std::size_t max_depth) {
  CC_TRY_ASSIGN(Item item, decode_single(input));
  if (!item.is_list) return ok_status();
  if (max_depth < 1) return too_deep(0, 1, max_depth);
  return validate_list(item.payload, input.data(), 1, max_depth);
}

Result<ListReader> ListReader::open(ByteView input) {
  CC_TRY_ASSIGN(Item item, decode_single(input));
  if (!item.is_list) {
    return make_error("rlp.expected_list", "expected a list at offset 0, found a string");
  }
  return ListReader(item.payload, input.data(), 1);
}

Result<ListReader> ListReader::of(const Item& list_item) {
  if (!list_item.is_list) {
    return make_error("rlp.expected_list", "expected a list item, found a string");
  }
  const std::uint8_t* origin = list_item.encoded.data();
  // Offsets count from the item's prefix when the payload lies inside it (as decode produces).
  const bool inside =
      origin != nullptr && list_item.payload.data() != nullptr &&
      list_item.payload.data() >= origin &&
      list_item.payload.data() + list_item.payload.size() <= origin + list_item.encoded.size();
  return ListReader(list_item.payload, inside ? origin : list_item.payload.data(), 1);
}

std::size_t ListReader::remaining_items() const {
  std::size_t count = 0;
  ByteView rest = rest_;
  while (!rest.empty()) {
    ByteView after;
    if (!decode_at(rest, 0, true, after).ok()) break;
    ++count;
    rest = after;
  }
  return count;
}

Result<Item> ListReader::next() {
  if (rest_.empty()) {
    return make_error("rlp.missing_field",
                      "list ends " + at(offset()) + " but another item was expected");
  }
  ByteView after;
  CC_TRY_ASSIGN(Item item, decode_at(rest_, offset(), true, after));
  rest_ = after;
  return item;
}

Result<ByteView> ListReader::next_bytes() {
  const std::size_t item_at = offset();
  CC_TRY_ASSIGN(Item item, next());
  if (item.is_list) {
    return make_error("rlp.expected_string", "expected a string " + at(item_at) + ", found a list");
  }
  return item.payload;
}

Result<std::uint64_t> ListReader::next_uint() {
  const std::size_t item_at = offset();
  CC_TRY_ASSIGN(ByteView payload, next_bytes());
  auto value = decode_uint(payload);
  if (!value.ok()) return value.error().context("integer " + at(item_at));
  return value;
}

Result<U256> ListReader::next_u256() {
  const std::size_t item_at = offset();
  CC_TRY_ASSIGN(ByteView payload, next_bytes());
  auto value = decode_u256(payload);
  if (!value.ok()) return value.error().context("integer " + at(item_at));
  return value;
}

Result<ListReader> ListReader::next_list() {
  const std::size_t item_at = offset();
  CC_TRY_ASSIGN(Item item, next());
  if (!item.is_list) {
    return make_error("rlp.expected_list", "expected a list " + at(item_at) + ", found a string");
  }
  if (depth_ + 1 > kMaxListDepth) return too_deep(item_at, depth_ + 1, kMaxListDepth);
  return ListReader(item.payload, origin_, depth_ + 1);
}

Status ListReader::expect_end() const {
  if (rest_.empty()) return ok_status();
  return make_error("rlp.extra_fields", "list has " + std::to_string(remaining_items()) +
                                            " unexpected trailing item(s) " + at(offset()));
}

Result<std::uint64_t> decode_uint(ByteView payload) {
  if (!payload.empty() && payload[0] == 0) {
    return make_error("rlp.int_leading_zero",
                      "integer has a leading zero byte (zero must be the empty string)");
  }
  if (payload.size() > 8) {
    return make_error("rlp.int_too_large", "integer of " + std::to_string(payload.size()) +
                                               " bytes does not fit in 64 bits");
  }
  std::uint64_t v = 0;
  for (std::uint8_t b : payload) v = (v << 8) | b;
  return v;
}

Result<U256> decode_u256(ByteView payload) {
  if (!payload.empty() && payload[0] == 0) {
    return make_error("rlp.int_leading_zero",
                      "integer has a leading zero byte (zero must be the empty string)");
  }
  if (payload.size() > 32) {
    return make_error("rlp.int_too_large", "integer of " + std::to_string(payload.size()) +
                                               " bytes does not fit in 256 bits");
  }
  return u256_from_be(payload);
}

}  // namespace cc::rlp
