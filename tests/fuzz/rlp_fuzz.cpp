// Fuzz target for codec/rlp: decodes arbitrary bytes recursively through ListReader; whenever
// decoding succeeds, re-encoding the decoded values with the Encoder must reproduce the input
// byte for byte (canonical form means one encoding per value), and validate() must agree with
// the recursive walk. Integers that decode canonically must re-encode to the same item.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "codec/rlp.h"

namespace {

using cc::ByteView;
using cc::rlp::Encoder;
using cc::rlp::Item;
using cc::rlp::ListReader;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "rlp_fuzz oracle violated: %s\n", what);
  std::abort();
}

void check_integers(const Item& item) {
  if (auto v = cc::rlp::decode_uint(item.payload); v.ok()) {
    const cc::Bytes again = cc::rlp::encode_uint(*v);
    if (again.size() != item.encoded.size() ||
        !std::equal(again.begin(), again.end(), item.encoded.begin())) {
      fail("decode_uint then encode_uint changed the item");
    }
  }
  if (auto v = cc::rlp::decode_u256(item.payload); v.ok()) {
    const cc::Bytes again = cc::rlp::encode_u256(*v);
    if (again.size() != item.encoded.size() ||
        !std::equal(again.begin(), again.end(), item.encoded.begin())) {
      fail("decode_u256 then encode_u256 changed the item");
    }
  }
}

// Re-encodes the list's items from their decoded values; false if any item fails to decode
// or lists nest deeper than kMaxListDepth (next_list enforces the bound).
bool reencode_list(ListReader& reader, Encoder& enc) {
  while (!reader.at_end()) {
    ListReader peek = reader;  // look at the next item without committing to its type
    auto item = peek.next();
    if (!item.ok()) return false;
    if (item->is_list) {
      auto sub = reader.next_list();
      if (!sub.ok()) return false;
      enc.begin_list();
      if (!reencode_list(*sub, enc)) return false;
      enc.end_list();
    } else {
      reader = peek;
      check_integers(*item);
      enc.bytes(item->payload);
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteView input(data, size);
  const bool valid = cc::rlp::validate(input).ok();

  auto top = cc::rlp::decode_single(input);
  bool decoded = top.ok();
  Encoder enc;
  if (decoded) {
    if (top->is_list) {
      auto reader = ListReader::open(input);
      if (!reader.ok()) fail("ListReader::open rejected what decode_single accepted");
      enc.begin_list();
      decoded = reencode_list(*reader, enc);
      if (decoded) enc.end_list();
    } else {
      check_integers(*top);
      enc.bytes(top->payload);
    }
  }
  if (decoded != valid) fail("validate() disagrees with the recursive decode");
  if (decoded) {
    const cc::Bytes again = enc.finish();
    if (again.size() != size || !std::equal(again.begin(), again.end(), data)) {
      fail("re-encoding a decoded value did not reproduce the input");
    }
  }

  return 0;
}
