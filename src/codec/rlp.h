// codec/rlp.h — owns RLP (Ethereum's Recursive Length Prefix) encoding and strict decoding.
// The decoder accepts only canonical form: a single byte < 0x80 must not be wrapped as a string,
// lengths must use the short form when they fit (< 56) and carry no leading zero bytes, and a
// list's items must exactly fill its payload. Integers must have no leading zero bytes (zero is
// the empty string). Every failure is an Error with an "rlp.*" code; decoding never asserts.
// Decoding is lazy and zero-copy: an Item views the caller's buffer, which must outlive it.
// This module must never interpret what the items mean (that belongs to chain/ and p2p/).
//
// Error codes: rlp.empty (no item where one is expected), rlp.truncated (a declared length runs
// past the input or the enclosing list), rlp.non_canonical (a valid but non-minimal encoding),
// rlp.trailing (bytes after the single item), rlp.expected_string / rlp.expected_list,
// rlp.int_leading_zero / rlp.int_too_large, rlp.wrong_size, rlp.too_deep, rlp.missing_field,
// rlp.extra_fields. Messages give the byte offset, counted from the start of the buffer given
// to decode_item/decode_single/validate/ListReader::open (or of the item given to
// ListReader::of).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "util/bytes.h"
#include "util/result.h"
#include "util/u256.h"

namespace cc::rlp {

// Nesting bound for ListReader::next_list and validate(): a top-level list is depth 1. Real
// structures (blocks, transactions, consensus messages) nest a handful deep; the bound keeps a
// hostile peer from driving recursion in code that walks what it sent.
inline constexpr std::size_t kMaxListDepth = 64;

// ---- encoding ----
[[nodiscard]] Bytes encode_bytes(ByteView data);
[[nodiscard]] Bytes encode_uint(std::uint64_t value);
[[nodiscard]] Bytes encode_u256(const U256& value);
// Wraps already-encoded items into a list.
[[nodiscard]] Bytes encode_list(const std::vector<Bytes>& encoded_items);

// Incremental encoder for nested structures without temporary vectors per item. begin_list
// leaves a one-byte placeholder; end_list writes the prefix there, shifting the payload right
// only when the list turns out to need the long form (payload >= 56 bytes).
// Several top-level items may be written; finish() returns their concatenation.
class Encoder {
 public:
  Encoder() = default;
  explicit Encoder(std::size_t reserve_bytes) { out_.reserve(reserve_bytes); }

  Encoder& bytes(ByteView data);
  Encoder& uint(std::uint64_t value);
  Encoder& u256(const U256& value);
  Encoder& raw(ByteView already_encoded);  // appends an encoded item verbatim
  Encoder& begin_list();
  Encoder& end_list();  // end_list without a matching begin_list is a programming bug (aborts)
  // The encoding; all lists must be closed (an open list is a programming bug and aborts).
  // Leaves the encoder empty and reusable.
  [[nodiscard]] Bytes finish();

 private:
  Bytes out_;
  std::vector<std::size_t> open_lists_;  // offsets of each open list's placeholder prefix byte
};

// ---- decoding ----
struct Item {
  bool is_list = false;
  ByteView payload;  // string bytes, or the concatenated encodings of the list's items
  ByteView encoded;  // the whole item including its prefix
};

// Decodes the first item of input; `rest` receives the bytes after it.
[[nodiscard]] Result<Item> decode_item(ByteView input, ByteView& rest);
// Decodes input that must be exactly one item (no trailing bytes).
[[nodiscard]] Result<Item> decode_single(ByteView input);
// Decodes input as exactly one item and, recursively, every item nested in it (lists no deeper
// than max_depth). Succeeds only if the whole structure is canonical; use it where bytes are
// stored or forwarded without being read field by field.
[[nodiscard]] Status validate(ByteView input, std::size_t max_depth = kMaxListDepth);

// Sequential reader over a list's items.
class ListReader {
 public:
  // input must be exactly one list item.
  [[nodiscard]] static Result<ListReader> open(ByteView input);
  [[nodiscard]] static Result<ListReader> of(const Item& list_item);

  [[nodiscard]] bool at_end() const { return rest_.empty(); }
  // Counts the items left by decoding their prefixes; stops counting at the first malformed one.
  [[nodiscard]] std::size_t remaining_items() const;
  // Nesting depth of this list (1 for the list given to open/of).
  [[nodiscard]] std::size_t depth() const { return depth_; }

  [[nodiscard]] Result<Item> next();
  [[nodiscard]] Result<ByteView> next_bytes();      // a string item
  [[nodiscard]] Result<std::uint64_t> next_uint();  // canonical, <= 8 bytes
  [[nodiscard]] Result<U256> next_u256();           // canonical, <= 32 bytes
  template <std::size_t N>
  [[nodiscard]] Result<FixedBytes<N>> next_fixed() {  // a string of exactly N bytes
    const std::size_t at = offset();
    auto b = next_bytes();
    if (!b.ok()) return b.error();
    if (b->size() != N) {
      return make_error("rlp.wrong_size", "item at offset " + std::to_string(at) + ": expected " +
                                              std::to_string(N) + " bytes, got " +
                                              std::to_string(b->size()));
    }
    FixedBytes<N> out{};
    for (std::size_t i = 0; i < N; ++i) out[i] = (*b)[i];
    return out;
  }
  // The next item as a list, one level deeper; fails past kMaxListDepth.
  [[nodiscard]] Result<ListReader> next_list();
  // Fails unless every item has been consumed (rejects trailing fields).
  [[nodiscard]] Status expect_end() const;

 private:
  ListReader(ByteView payload, const std::uint8_t* origin, std::size_t depth)
      : rest_(payload), origin_(origin), depth_(depth) {}
  [[nodiscard]] std::size_t offset() const {
    if (origin_ == nullptr || rest_.data() == nullptr) return 0;
    return static_cast<std::size_t>(rest_.data() - origin_);
  }

  ByteView rest_;
  const std::uint8_t* origin_;  // start of the buffer offsets in error messages count from
  std::size_t depth_;
};

// Canonical integer from a string payload (no leading zeros, size limit).
[[nodiscard]] Result<std::uint64_t> decode_uint(ByteView payload);
[[nodiscard]] Result<U256> decode_u256(ByteView payload);

}  // namespace cc::rlp
