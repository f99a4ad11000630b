// Fuzzes the frame codec (p2p/frame.h) with no sockets. Three properties, each on every input:
//   1. decoding arbitrary bytes as header ‖ ciphertext never crashes, and what it delivers (a
//      seed may hold a real frame) has exactly the size the header declared;
//   2. seal then open round-trips any (code, payload) that fits;
//   3. flipping any byte of a sealed frame makes it fail (a header change is rejected by the
//      length check or the tag, never delivered).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "p2p/frame.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cc::p2p;
  constexpr std::size_t kMax = 4096;  // small, so the length checks are reached often
  SessionKey key{};
  key.fill(0x42);
  const cc::ByteView in(data, size);

  // 1. Arbitrary bytes as a received frame.
  if (size >= kFrameHeaderSize) {
    FrameOpener opener(key, kMax);
    auto header = in.first(kFrameHeaderSize);
    auto len = opener.read_header(header);
    if (len.ok() && *len > kMax) std::abort();
    if (len.ok() && in.size() - kFrameHeaderSize >= *len) {
      auto msg = opener.open(header, in.subspan(kFrameHeaderSize, *len));
      if (msg.ok() && msg->payload.size() + kFrameMinLength != *len) std::abort();
    }
  }

  // 2. Round trip.
  if (size == 0) return 0;
  const std::uint8_t code = data[0];
  const auto payload = in.subspan(1);
  FrameSealer sealer(key, kMax);
  auto frame = sealer.seal(code, payload);
  if (!frame.ok()) {
    if (payload.size() <= sealer.max_payload()) std::abort();
    return 0;
  }
  {
    FrameOpener opener(key, kMax);
    auto header = cc::ByteView(*frame).first(kFrameHeaderSize);
    auto len = opener.read_header(header);
    if (!len.ok()) std::abort();
    auto msg = opener.open(header, cc::ByteView(*frame).subspan(kFrameHeaderSize));
    if (!msg.ok() || msg->code != code ||
        !std::equal(msg->payload.begin(), msg->payload.end(), payload.begin(), payload.end())) {
      std::abort();
    }
  }

  // 3. One flipped byte, at a position chosen by the input.
  cc::Bytes bad = *frame;
  bad[(code * 131u + size) % bad.size()] ^= static_cast<std::uint8_t>(1u << (size % 8));
  FrameOpener opener(key, kMax);
  auto header = cc::ByteView(bad).first(kFrameHeaderSize);
  auto len = opener.read_header(header);
  if (len.ok() && bad.size() - kFrameHeaderSize == *len) {
    if (opener.open(header, cc::ByteView(bad).subspan(kFrameHeaderSize)).ok()) std::abort();
  }
  return 0;
}
