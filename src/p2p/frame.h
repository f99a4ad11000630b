// p2p/frame.h — owns the encrypted framing used after the handshake, as a pure codec (no
// sockets, no threads): sealing outgoing messages and checking/opening incoming frames. It must
// never allocate for a frame before its length has been checked against the maximum.
//
// Frame on the wire:
//   length: 4 bytes, big-endian, = number of ciphertext bytes that follow (1 + payload + 16)
//   ciphertext: ChaCha20-Poly1305-IETF (libsodium) of  code(1) ‖ payload
//     key   = the session key of this direction (handshake.h derives one per direction)
//     nonce = 4 zero bytes ‖ 8-byte big-endian frame counter (0, 1, 2, ... per direction)
//     ad    = the 4 length bytes (so a changed length fails authentication, not just parsing)
// A length below 17 or above the configured maximum, a failed tag, or a counter that would
// wrap is an Error; the connection then closes with that error as its reason. The counters are
// implicit: a dropped, replayed or reordered frame fails authentication.
#pragma once

#include <cstddef>
#include <cstdint>

#include "p2p/wire.h"
#include "util/bytes.h"
#include "util/result.h"

namespace cc::p2p {

using SessionKey = FixedBytes<32>;

inline constexpr std::size_t kFrameHeaderSize = 4;
inline constexpr std::size_t kFrameTagSize = 16;
inline constexpr std::size_t kFrameNonceSize = 12;
// Smallest valid length field: a code byte and the tag.
inline constexpr std::size_t kFrameMinLength = 1 + kFrameTagSize;
// Bytes a frame adds to a payload (header, code, tag).
inline constexpr std::size_t kFrameOverhead = kFrameHeaderSize + 1 + kFrameTagSize;

struct Message {
  std::uint8_t code = 0;
  Bytes payload;
};

// Seals frames of one direction. One instance per connection direction; not thread-safe.
class FrameSealer {
 public:
  explicit FrameSealer(const SessionKey& key, std::size_t max_frame_size = kDefaultMaxFrameSize);
  ~FrameSealer();
  FrameSealer(const FrameSealer&) = delete;
  FrameSealer& operator=(const FrameSealer&) = delete;

  // The whole frame (header ‖ ciphertext). Errors: p2p.message_too_large (payload does not fit
  // the maximum frame size), p2p.nonce_exhausted (2^64 frames sent on one key).
  [[nodiscard]] Result<Bytes> seal(std::uint8_t code, ByteView payload);

  [[nodiscard]] std::uint64_t frames_sealed() const { return counter_; }
  // Largest payload seal() accepts.
  [[nodiscard]] std::size_t max_payload() const { return max_frame_size_ - kFrameMinLength; }

 private:
  SessionKey key_;
  std::uint64_t counter_ = 0;
  std::size_t max_frame_size_;
};

// Checks and opens frames of one direction. One instance per connection direction; not
// thread-safe.
class FrameOpener {
 public:
  explicit FrameOpener(const SessionKey& key, std::size_t max_frame_size = kDefaultMaxFrameSize);
  ~FrameOpener();
  FrameOpener(const FrameOpener&) = delete;
  FrameOpener& operator=(const FrameOpener&) = delete;

  // Reads the 4-byte header and returns how many ciphertext bytes to read next. Errors:
  // p2p.frame_too_small, p2p.frame_too_large (checked before the caller allocates anything).
  [[nodiscard]] Result<std::size_t> read_header(ByteView header) const;

  // Opens the ciphertext that followed `header` (whose length read_header accepted). Errors:
  // p2p.frame_auth_failed (wrong key, tampered bytes, out-of-order frame),
  // p2p.nonce_exhausted. The counter advances only on success.
  [[nodiscard]] Result<Message> open(ByteView header, ByteView ciphertext);

  [[nodiscard]] std::uint64_t frames_opened() const { return counter_; }

 private:
  SessionKey key_;
  std::uint64_t counter_ = 0;
  std::size_t max_frame_size_;
};

}  // namespace cc::p2p
