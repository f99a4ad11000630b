#include "p2p/frame.h"

#include <sodium.h>

#include <algorithm>
#include <limits>
#include <string>

#include "util/assert.h"

namespace cc::p2p {
namespace {

static_assert(crypto_aead_chacha20poly1305_ietf_KEYBYTES == sizeof(SessionKey));
static_assert(crypto_aead_chacha20poly1305_ietf_NPUBBYTES == kFrameNonceSize);
static_assert(crypto_aead_chacha20poly1305_ietf_ABYTES == kFrameTagSize);

using Nonce = FixedBytes<kFrameNonceSize>;

Nonce nonce_for(std::uint64_t counter) {
  Nonce n{};
  for (int i = 0; i < 8; ++i) n[4 + i] = static_cast<std::uint8_t>(counter >> (56 - 8 * i));
  return n;
}

void check_max(std::size_t max_frame_size) {
  // The maximum is configuration, validated by the Transport; a bad value here is a caller bug.
  CC_ASSERT(max_frame_size >= kFrameMinLength);
  CC_ASSERT(max_frame_size <= std::numeric_limits<std::uint32_t>::max());
}

}  // namespace

FrameSealer::FrameSealer(const SessionKey& key, std::size_t max_frame_size)
    : key_(key), max_frame_size_(max_frame_size) {
  check_max(max_frame_size);
}

FrameSealer::~FrameSealer() { sodium_memzero(key_.data(), key_.size()); }

Result<Bytes> FrameSealer::seal(std::uint8_t code, ByteView payload) {
  if (payload.size() > max_payload()) {
    return make_error("p2p.message_too_large",
                      "message of " + std::to_string(payload.size()) +
                          " bytes exceeds the maximum frame payload of " +
                          std::to_string(max_payload()) +
                          " bytes; split it or raise the configured max frame size");
  }
  if (counter_ == std::numeric_limits<std::uint64_t>::max()) {
    return make_error("p2p.nonce_exhausted", "2^64 frames sent on one session key; reconnect");
  }
  const std::size_t length = 1 + payload.size() + kFrameTagSize;
  Bytes frame(kFrameHeaderSize + length);
  const auto len32 = static_cast<std::uint32_t>(length);
  frame[0] = static_cast<std::uint8_t>(len32 >> 24);
  frame[1] = static_cast<std::uint8_t>(len32 >> 16);
  frame[2] = static_cast<std::uint8_t>(len32 >> 8);
  frame[3] = static_cast<std::uint8_t>(len32);

  Bytes plain(1 + payload.size());
  plain[0] = code;
  if (!payload.empty()) std::copy(payload.begin(), payload.end(), plain.begin() + 1);

  const Nonce nonce = nonce_for(counter_);
  unsigned long long clen = 0;
  int rc = crypto_aead_chacha20poly1305_ietf_encrypt(
      frame.data() + kFrameHeaderSize, &clen, plain.data(), plain.size(), frame.data(),
      kFrameHeaderSize, nullptr, nonce.data(), key_.data());
  CC_ASSERT(rc == 0 && clen == length);  // encryption cannot fail for in-range sizes
  ++counter_;
  return frame;
}

FrameOpener::FrameOpener(const SessionKey& key, std::size_t max_frame_size)
    : key_(key), max_frame_size_(max_frame_size) {
  check_max(max_frame_size);
}

FrameOpener::~FrameOpener() { sodium_memzero(key_.data(), key_.size()); }

Result<std::size_t> FrameOpener::read_header(ByteView header) const {
  if (header.size() != kFrameHeaderSize) {
    return make_error("p2p.frame_truncated",
                      "frame header has " + std::to_string(header.size()) + " bytes, expected 4");
  }
  const std::uint32_t length = (std::uint32_t{header[0]} << 24) | (std::uint32_t{header[1]} << 16) |
                               (std::uint32_t{header[2]} << 8) | std::uint32_t{header[3]};
  if (length < kFrameMinLength) {
    return make_error("p2p.frame_too_small", "frame length " + std::to_string(length) +
                                                 " is below the minimum of " +
                                                 std::to_string(kFrameMinLength) +
                                                 " (code byte + 16-byte tag); peer sent garbage");
  }
  if (length > max_frame_size_) {
    return make_error("p2p.frame_too_large", "frame length " + std::to_string(length) +
                                                 " exceeds the maximum of " +
                                                 std::to_string(max_frame_size_) + " bytes");
  }
  return std::size_t{length};
}

Result<Message> FrameOpener::open(ByteView header, ByteView ciphertext) {
  auto length = read_header(header);
  if (!length.ok()) return length.error();
  if (ciphertext.size() != *length) {
    return make_error("p2p.frame_truncated", "frame declares " + std::to_string(*length) +
                                                 " bytes but " + std::to_string(ciphertext.size()) +
                                                 " followed");
  }
  if (counter_ == std::numeric_limits<std::uint64_t>::max()) {
    return make_error("p2p.nonce_exhausted", "2^64 frames received on one session key");
  }
  Bytes plain(ciphertext.size() - kFrameTagSize);
  const Nonce nonce = nonce_for(counter_);
  unsigned long long mlen = 0;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(plain.data(), &mlen, nullptr, ciphertext.data(),
                                                ciphertext.size(), header.data(), header.size(),
                                                nonce.data(), key_.data()) != 0) {
    return make_error("p2p.frame_auth_failed",
                      "frame " + std::to_string(counter_) +
                          " failed authentication (tampered, reordered or wrong session key)");
  }
  ++counter_;
  Message msg;
  msg.code = plain[0];
  plain.erase(plain.begin());  // a memmove; cheaper than a second allocation for big payloads
  msg.payload = std::move(plain);
  return msg;
}

}  // namespace cc::p2p
