// Fuzzes the sign-state decoder (the file a restarted SignGuard trusts, possibly damaged by a
// crash, a full disk or a bad copy): decoding must never crash, and whatever it accepts must be
// canonical — re-encoding gives back exactly the input bytes — and structurally sound (records
// strictly ordered and at or below the high-water mark), so a damaged file can never pass for a
// different watermark. Each input is decoded twice: as is, and with its last 32 bytes replaced by
// the correct checksum, so the checks behind the checksum get fuzzed too.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <tuple>

#include "crypto/keccak.h"
#include "storage/signstate.h"

namespace {

void check(const std::uint8_t* data, std::size_t size) {
  using namespace cc;
  auto state = storage::decode_sign_state(ByteView(data, size));
  if (!state.ok()) {
    if (state.error().code.rfind("signstate.", 0) != 0) std::abort();
    return;
  }
  const Bytes again = storage::encode_sign_state(*state);
  if (again.size() != size || !std::equal(again.begin(), again.end(), data)) std::abort();
  for (std::size_t i = 0; i < state->records.size(); ++i) {
    const auto& r = state->records[i];
    if (r.height > state->max_height) std::abort();
    if (i > 0) {
      const auto& p = state->records[i - 1];
      if (!(std::tie(p.height, p.round, p.kind) < std::tie(r.height, r.round, r.kind)))
        std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check(data, size);
  if (size >= 32) {
    cc::Bytes fixed(data, data + size);
    const cc::Hash32 sum = cc::crypto::keccak256(cc::ByteView(fixed.data(), size - 32));
    std::copy(sum.begin(), sum.end(), fixed.end() - 32);
    check(fixed.data(), fixed.size());
  }
  return 0;
}
