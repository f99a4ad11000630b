// codec/rlp.h — owns RLP (Ethereum's Recursive Length Prefix) encoding and strict decoding.
// The decoder accepts only canonical form: a single byte < 0x80 must not be wrapped as a string,
// lengths must use the short form when they fit (< 56) and carry no leading zero bytes, and a
// list's items must exactly fill its payload. Integers must have no leading zero bytes (zero is
// the empty string). Every failure is an Error with an "rlp.*" code; decoding never asserts.
#pragma once

#include <cstdint>
#include <vector>

#include "util/bytes.h"
#include "util/result.h"
#include "util/u256.h"

namespace cc::rlp {

// ---- encoding ----
[[nodiscard]] Bytes encode_bytes(ByteView data);
[[nodiscard]] Bytes encode_uint(std::uint64_t value);
[[nodiscard]] Bytes encode_u256(const U256& value);
// Wraps already-encoded items into a list.
[[nodiscard]] Bytes encode_list(const std::vector<Bytes>& encoded_items);

// Incremental encoder for nested structures without temporary vectors per item.
class Encoder {
 public:
  Encoder& bytes(ByteView data);
  Encoder& uint(std::uint64_t value);
  Encoder& u256(const U256& value);
  Encoder& raw(ByteView already_encoded);  // appends an encoded item verbatim
  Encoder& begin_list();
  Encoder& end_list();
  // The encoding; all lists must be closed.
  [[nodiscard]] Bytes finish();

 private:
  Bytes out_;
  std::vector<std::size_t> open_lists_;  // offsets of list payload starts in out_
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

// Sequential reader over a list's items.
class ListReader {
 public:
  // input must be exactly one list item.
  [[nodiscard]] static Result<ListReader> open(ByteView input);
  [[nodiscard]] static Result<ListReader> of(const Item& list_item);

  [[nodiscard]] bool at_end() const { return rest_.empty(); }
  [[nodiscard]] std::size_t remaining_items() const;

  [[nodiscard]] Result<Item> next();
  [[nodiscard]] Result<ByteView> next_bytes();            // a string item
  [[nodiscard]] Result<std::uint64_t> next_uint();        // canonical, <= 8 bytes
  [[nodiscard]] Result<U256> next_u256();                 // canonical, <= 32 bytes
  template <std::size_t N>
  [[nodiscard]] Result<FixedBytes<N>> next_fixed() {      // a string of exactly N bytes
    auto b = next_bytes();
    if (!b.ok()) return b.error();
    if (b->size() != N) {
      return make_error("rlp.wrong_size", "expected " + std::to_string(N) + " bytes, got " +
                                              std::to_string(b->size()));
    }
    FixedBytes<N> out{};
    for (std::size_t i = 0; i < N; ++i) out[i] = (*b)[i];
    return out;
  }
  [[nodiscard]] Result<ListReader> next_list();
  // Fails unless every item has been consumed (rejects trailing fields).
  [[nodiscard]] Status expect_end() const;

 private:
  explicit ListReader(ByteView payload) : rest_(payload) {}
  ByteView rest_;
};

// Canonical integer from a string payload (no leading zeros, size limit).
[[nodiscard]] Result<std::uint64_t> decode_uint(ByteView payload);
[[nodiscard]] Result<U256> decode_u256(ByteView payload);

}  // namespace cc::rlp
