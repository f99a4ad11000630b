#include "p2p/frame.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <string>

namespace cc::p2p {
namespace {

SessionKey key_of(std::uint8_t fill) {
  SessionKey k{};
  k.fill(fill);
  return k;
}

Bytes payload_of(std::size_t n) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i * 7 + 3);
  return b;
}

ByteView header_of(const Bytes& frame) { return ByteView(frame.data(), kFrameHeaderSize); }
ByteView body_of(const Bytes& frame) {
  return ByteView(frame.data() + kFrameHeaderSize, frame.size() - kFrameHeaderSize);
}

TEST(Frame, SealThenOpenRoundTripsCodesAndPayloads) {
  FrameSealer sealer(key_of(1));
  FrameOpener opener(key_of(1));
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{1000}, std::size_t{100000}}) {
    const Bytes payload = payload_of(n);
    auto frame = sealer.seal(static_cast<std::uint8_t>(0x10 + n % 200), payload);
    ASSERT_TRUE(frame.ok());
    EXPECT_EQ(frame->size(), n + kFrameOverhead);
    auto len = opener.read_header(header_of(*frame));
    ASSERT_TRUE(len.ok());
    EXPECT_EQ(*len, n + 1 + kFrameTagSize);
    auto msg = opener.open(header_of(*frame), body_of(*frame));
    ASSERT_TRUE(msg.ok()) << msg.error().message;
    EXPECT_EQ(msg->code, static_cast<std::uint8_t>(0x10 + n % 200));
    EXPECT_EQ(msg->payload, payload);
  }
  EXPECT_EQ(sealer.frames_sealed(), 4u);
  EXPECT_EQ(opener.frames_opened(), 4u);
}

// Pins the wire format: big-endian length, nonce = 4 zero bytes ‖ BE counter, the header as
// associated data, plaintext = code ‖ payload. Computed here straight from libsodium.
TEST(Frame, MatchesTheDocumentedWireFormat) {
  const SessionKey key = key_of(9);
  FrameSealer sealer(key);
  ASSERT_TRUE(sealer.seal(0x10, payload_of(5)).ok());  // counter 0
  auto frame = sealer.seal(0x42, payload_of(5));       // counter 1
  ASSERT_TRUE(frame.ok());

  const Bytes header{0, 0, 0, 1 + 5 + 16};
  Bytes plain{0x42};
  const Bytes p = payload_of(5);
  plain.insert(plain.end(), p.begin(), p.end());
  std::uint8_t nonce[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  Bytes expected(header);
  expected.resize(4 + plain.size() + 16);
  unsigned long long clen = 0;
  ASSERT_EQ(crypto_aead_chacha20poly1305_ietf_encrypt(expected.data() + 4, &clen, plain.data(),
                                                      plain.size(), header.data(), 4, nullptr,
                                                      nonce, key.data()),
            0);
  EXPECT_EQ(*frame, expected);
}

TEST(Frame, RejectsLengthBelowMinimum) {
  FrameOpener opener(key_of(1));
  const Bytes header{0, 0, 0, 16};
  auto r = opener.read_header(header);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "p2p.frame_too_small");
}

TEST(Frame, RejectsLengthAboveConfiguredMaximumBeforeReadingTheBody) {
  FrameOpener opener(key_of(1), 1024);
  const Bytes at_max{0, 0, 4, 0};
  EXPECT_TRUE(opener.read_header(at_max).ok());
  const Bytes over{0, 0, 4, 1};
  auto r = opener.read_header(over);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "p2p.frame_too_large");
  const Bytes huge{0xff, 0xff, 0xff, 0xff};
  EXPECT_EQ(opener.read_header(huge).error().code, "p2p.frame_too_large");
  EXPECT_NE(r.error().message.find("1024"), std::string::npos);
}

TEST(Frame, SealRefusesPayloadsThatExceedTheMaximum) {
  FrameSealer sealer(key_of(1), 1024);
  EXPECT_EQ(sealer.max_payload(), 1024 - kFrameMinLength);
  EXPECT_TRUE(sealer.seal(0x10, payload_of(sealer.max_payload())).ok());
  auto r = sealer.seal(0x10, payload_of(sealer.max_payload() + 1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "p2p.message_too_large");
}

TEST(Frame, AnyFlippedCiphertextBitFailsAuthentication) {
  FrameSealer sealer(key_of(1));
  auto frame = sealer.seal(0x10, payload_of(64));
  ASSERT_TRUE(frame.ok());
  for (std::size_t i = kFrameHeaderSize; i < frame->size(); i += 7) {
    FrameOpener opener(key_of(1));
    Bytes bad = *frame;
    bad[i] ^= 0x01;
    auto r = opener.open(header_of(bad), body_of(bad));
    ASSERT_FALSE(r.ok()) << "byte " << i;
    EXPECT_EQ(r.error().code, "p2p.frame_auth_failed");
    EXPECT_EQ(opener.frames_opened(), 0u);
  }
}

TEST(Frame, WrongKeyFailsAuthentication) {
  FrameSealer sealer(key_of(1));
  FrameOpener opener(key_of(2));
  auto frame = sealer.seal(0x10, payload_of(10));
  ASSERT_TRUE(frame.ok());
  EXPECT_EQ(opener.open(header_of(*frame), body_of(*frame)).error().code, "p2p.frame_auth_failed");
}

TEST(Frame, ReplayedOrReorderedFramesFailAuthentication) {
  FrameSealer sealer(key_of(1));
  auto f0 = sealer.seal(0x10, payload_of(10));
  auto f1 = sealer.seal(0x11, payload_of(10));
  ASSERT_TRUE(f0.ok() && f1.ok());

  FrameOpener reorder(key_of(1));
  EXPECT_EQ(reorder.open(header_of(*f1), body_of(*f1)).error().code, "p2p.frame_auth_failed");

  FrameOpener replay(key_of(1));
  ASSERT_TRUE(replay.open(header_of(*f0), body_of(*f0)).ok());
  EXPECT_EQ(replay.open(header_of(*f0), body_of(*f0)).error().code, "p2p.frame_auth_failed");
  EXPECT_TRUE(replay.open(header_of(*f1), body_of(*f1)).ok());
}

TEST(Frame, BodyOfTheWrongLengthIsRejected) {
  FrameSealer sealer(key_of(1));
  FrameOpener opener(key_of(1));
  auto frame = sealer.seal(0x10, payload_of(10));
  ASSERT_TRUE(frame.ok());
  Bytes body(frame->begin() + kFrameHeaderSize, frame->end() - 1);
  EXPECT_EQ(opener.open(header_of(*frame), body).error().code, "p2p.frame_truncated");
}

}  // namespace
}  // namespace cc::p2p
