// Fuzz target for chain/tx: Transaction::decode on arbitrary bytes must never crash, assert or
// leak; whenever it succeeds, encode() must reproduce the input byte for byte (strict canonical
// decoding means one encoding per transaction), and stateless validation (including secp256k1
// recovery with attacker-chosen v/r/s) must return a verdict without crashing. An accepted
// transaction must decode_and_validate to the same sender.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "chain/tx.h"

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "tx_fuzz oracle violated: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const cc::ByteView input(data, size);
  auto tx = cc::chain::Transaction::decode(input);
  if (!tx.ok()) {
    if (tx.error().code.empty() || tx.error().message.empty()) fail("error without code/message");
    if (cc::chain::decode_and_validate(input, 1).reason() != cc::chain::TxInvalid::Malformed) {
      fail("undecodable bytes not reported as Malformed");
    }
    return 0;
  }
  const cc::Bytes again = tx->encode();
  if (again.size() != size || !std::equal(again.begin(), again.end(), data)) {
    fail("decode then encode changed the bytes");
  }
  // Validate against the chain id the transaction claims (so recovery runs), and against 1.
  const std::uint64_t chain = tx->chain_id().value_or(1);
  auto sender = cc::chain::validate_stateless(*tx, chain);
  if (sender.ok()) {
    auto again_v = cc::chain::decode_and_validate(input, chain);
    if (!again_v.ok() || again_v->second != *sender) fail("validation is not deterministic");
  } else if (sender.rejection().detail.empty()) {
    fail("rejection without detail");
  }
  (void)cc::chain::validate_stateless(*tx, 1);
  return 0;
}
