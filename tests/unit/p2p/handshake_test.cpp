#include "p2p/handshake.h"

#include <gtest/gtest.h>

#include <string>

#include "crypto/keccak.h"
#include "crypto/nodekey.h"

namespace cc::p2p {
namespace {

crypto::PrivateKey key_from(std::uint8_t last) {
  FixedBytes<32> s{};
  s[31] = last;
  return *crypto::PrivateKey::from_bytes(s);
}

HandshakeParams params(Role role, NodeType type, std::optional<crypto::PublicKey> expect = {}) {
  HandshakeParams p;
  p.role = role;
  p.our_type = type;
  p.listen_port = role == Role::kInitiator ? 1111 : 2222;
  p.expected_peer = expect;
  return p;
}

struct Exchange {
  Status a = ok_status();
  Status b = ok_status();
};

// Carries bytes between two in-memory sides until neither can make progress. `tamper_b_to_a`
// may rewrite the stream from b to a (applied to the whole stream b has produced so far).
Exchange run(Handshake& a, Handshake& b, const std::function<void(Bytes&)>& tamper_b_to_a = {}) {
  Bytes ab = a.initial_bytes();
  Bytes ba = b.initial_bytes();
  std::size_t a_read = 0, b_read = 0;
  Exchange ex;
  for (bool progress = true; progress;) {
    progress = false;
    if (tamper_b_to_a) tamper_b_to_a(ba);
    if (ex.a.ok() && a.bytes_wanted() > 0 && ba.size() - a_read >= a.bytes_wanted()) {
      const std::size_t n = a.bytes_wanted();
      auto reply = a.feed(ByteView(ba.data() + a_read, n));
      a_read += n;
      if (!reply.ok()) {
        ex.a = reply.error();
      } else {
        ab.insert(ab.end(), reply->begin(), reply->end());
      }
      progress = true;
    }
    if (ex.b.ok() && b.bytes_wanted() > 0 && ab.size() - b_read >= b.bytes_wanted()) {
      const std::size_t n = b.bytes_wanted();
      auto reply = b.feed(ByteView(ab.data() + b_read, n));
      b_read += n;
      if (!reply.ok()) {
        ex.b = reply.error();
      } else {
        ba.insert(ba.end(), reply->begin(), reply->end());
      }
      progress = true;
    }
  }
  return ex;
}

TEST(Hello, EncodesTheDocumentedLayoutAndDecodesBack) {
  Hello h;
  h.node_id = crypto::public_key_of(key_from(1));
  h.ephemeral = crypto::public_key_of(key_from(2));
  h.nonce.fill(0xab);
  h.listen_port = 32323;
  const Bytes wire = encode_hello(h);
  ASSERT_EQ(wire.size(), 2 + kHelloBodySizeV1);
  EXPECT_EQ(wire[0], 0);
  EXPECT_EQ(wire[1], 164);
  EXPECT_EQ(wire[2], 0);
  EXPECT_EQ(wire[3], 1);  // version 1
  EXPECT_EQ(wire[4], h.node_id[0]);
  EXPECT_EQ(wire[4 + 64], h.ephemeral[0]);
  EXPECT_EQ(wire[4 + 128], 0xab);
  EXPECT_EQ(wire[4 + 160], 32323 >> 8);
  EXPECT_EQ(wire[4 + 161], 32323 & 0xff);

  auto len = decode_hello_length(ByteView(wire.data(), 2));
  ASSERT_TRUE(len.ok());
  EXPECT_EQ(*len, kHelloBodySizeV1);
  auto back = decode_hello_body(ByteView(wire.data() + 2, *len));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, h);
}

TEST(Hello, RejectsLengthsOutsideTheBound) {
  EXPECT_EQ(decode_hello_length(Bytes{0, 1}).error().code, "p2p.hello_malformed");
  EXPECT_EQ(decode_hello_length(Bytes{0x04, 0x01}).error().code, "p2p.hello_malformed");
  EXPECT_TRUE(decode_hello_length(Bytes{0x04, 0x00}).ok());
}

TEST(Hello, OtherVersionIsReportedAsVersionMismatchNamingBoth) {
  Bytes body(300, 0);
  body[1] = 7;
  auto r = decode_hello_body(body);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "p2p.version_mismatch");
  EXPECT_NE(r.error().message.find("version 7"), std::string::npos);
  EXPECT_NE(r.error().message.find("version 1"), std::string::npos);
}

TEST(Hello, Version1WithWrongSizeIsMalformed) {
  Bytes body(kHelloBodySizeV1 + 1, 0);
  body[1] = 1;
  EXPECT_EQ(decode_hello_body(body).error().code, "p2p.hello_malformed");
  body.resize(kHelloBodySizeV1 - 1);
  EXPECT_EQ(decode_hello_body(body).error().code, "p2p.hello_malformed");
}

TEST(Handshake, BothSidesAuthenticateAndDeriveMirroredKeys) {
  const auto ka = key_from(11), kb = key_from(12);
  Handshake a(ka, params(Role::kInitiator, NodeType::kPN, crypto::public_key_of(kb)));
  Handshake b(kb, params(Role::kResponder, NodeType::kCN));
  EXPECT_EQ(a.initial_bytes()[0], 2);  // PN type byte first, in the clear
  EXPECT_EQ(b.initial_bytes()[0], 0);  // CN
  auto ex = run(a, b);
  ASSERT_TRUE(ex.a.ok()) << ex.a.error().message;
  ASSERT_TRUE(ex.b.ok()) << ex.b.error().message;
  ASSERT_TRUE(a.done() && b.done());
  EXPECT_EQ(a.outcome().peer_id, crypto::public_key_of(kb));
  EXPECT_EQ(b.outcome().peer_id, crypto::public_key_of(ka));
  EXPECT_EQ(a.outcome().peer_type, NodeType::kCN);
  EXPECT_EQ(b.outcome().peer_type, NodeType::kPN);
  EXPECT_EQ(a.outcome().peer_listen_port, 2222);
  EXPECT_EQ(b.outcome().peer_listen_port, 1111);
  EXPECT_EQ(a.outcome().transcript, b.outcome().transcript);
  EXPECT_EQ(a.outcome().keys.send, b.outcome().keys.recv);
  EXPECT_EQ(a.outcome().keys.recv, b.outcome().keys.send);
  EXPECT_NE(a.outcome().keys.send, a.outcome().keys.recv);
}

TEST(Handshake, TranscriptIsKeccakOfTypesAndBothHellosInInitiatorOrder) {
  const auto ka = key_from(11), kb = key_from(12);
  Handshake a(ka, params(Role::kInitiator, NodeType::kPN));
  Handshake b(kb, params(Role::kResponder, NodeType::kCN));
  ASSERT_TRUE(run(a, b).a.ok());
  Bytes t{2, 0};
  t.insert(t.end(), a.initial_bytes().begin() + 1, a.initial_bytes().end());
  t.insert(t.end(), b.initial_bytes().begin() + 1, b.initial_bytes().end());
  EXPECT_EQ(a.outcome().transcript, crypto::keccak256(t));
}

TEST(Handshake, FreshEphemeralKeysGiveEveryConnectionItsOwnSessionKeys) {
  const auto ka = key_from(11), kb = key_from(12);
  Handshake a1(ka, params(Role::kInitiator, NodeType::kCN));
  Handshake b1(kb, params(Role::kResponder, NodeType::kCN));
  Handshake a2(ka, params(Role::kInitiator, NodeType::kCN));
  Handshake b2(kb, params(Role::kResponder, NodeType::kCN));
  ASSERT_TRUE(run(a1, b1).b.ok());
  ASSERT_TRUE(run(a2, b2).b.ok());
  EXPECT_NE(a1.outcome().keys.send, a2.outcome().keys.send);
  EXPECT_NE(a1.outcome().transcript, a2.outcome().transcript);
}

TEST(Handshake, DialerRefusesAPeerWithAnotherNodeIdBeforeSigning) {
  const auto ka = key_from(11), kb = key_from(12), kc = key_from(13);
  Handshake a(ka, params(Role::kInitiator, NodeType::kCN, crypto::public_key_of(kc)));
  Handshake b(kb, params(Role::kResponder, NodeType::kCN));
  auto ex = run(a, b);
  ASSERT_FALSE(ex.a.ok());
  EXPECT_EQ(ex.a.error().code, "p2p.unexpected_node_id");
  EXPECT_NE(ex.a.error().message.find(short_node_id(crypto::public_key_of(kc))), std::string::npos);
  EXPECT_NE(ex.a.error().message.find(short_node_id(crypto::public_key_of(kb))), std::string::npos);
  EXPECT_TRUE(a.failed());
  EXPECT_EQ(a.bytes_wanted(), 0u);
  EXPECT_FALSE(b.done());  // a never sent its Auth
}

TEST(Handshake, RefusesAConnectionToItself) {
  const auto ka = key_from(11);
  Handshake a(ka, params(Role::kInitiator, NodeType::kCN));
  Handshake b(ka, params(Role::kResponder, NodeType::kCN));
  auto ex = run(a, b);
  ASSERT_FALSE(ex.a.ok());
  EXPECT_EQ(ex.a.error().code, "p2p.self_connection");
}

TEST(Handshake, RejectsAnUnknownNodeTypeByte) {
  Handshake a(key_from(11), params(Role::kResponder, NodeType::kCN));
  auto r = a.feed(Bytes{'G'});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "p2p.bad_node_type");
  EXPECT_NE(r.error().message.find("0x47"), std::string::npos);
}

TEST(Handshake, RejectsAHelloWhoseNodeIdIsNotACurvePoint) {
  const auto kb = key_from(12);
  Handshake a(key_from(11), params(Role::kInitiator, NodeType::kCN));
  Handshake b(kb, params(Role::kResponder, NodeType::kCN));
  auto ex = run(a, b, [](Bytes& ba) {
    if (ba.size() >= 1 + 2 + 2 + 64) std::fill(ba.begin() + 5, ba.begin() + 5 + 64, 0);
  });
  ASSERT_FALSE(ex.a.ok());
  EXPECT_EQ(ex.a.error().code, "p2p.hello_malformed");
}

TEST(Handshake, AManInTheMiddleClaimingAnotherNodeIdFailsAuth) {
  // The attacker rewrites b's Hello to claim node C's identity; b signs its real transcript with
  // B's key, which recovers to neither C nor the transcript a saw.
  const auto kb = key_from(12), kc = key_from(13);
  const auto c_id = crypto::public_key_of(kc);
  Handshake a(key_from(11), params(Role::kInitiator, NodeType::kCN));
  Handshake b(kb, params(Role::kResponder, NodeType::kCN));
  auto ex = run(a, b, [&](Bytes& ba) {
    if (ba.size() >= 5 + 64) std::copy(c_id.begin(), c_id.end(), ba.begin() + 5);
  });
  ASSERT_FALSE(ex.a.ok());
  EXPECT_EQ(ex.a.error().code, "p2p.auth_failed");
  EXPECT_FALSE(a.done());
}

TEST(Handshake, AuthRecordedFromAnotherConnectionIsRejected) {
  const auto ka = key_from(11), kb = key_from(12);
  Handshake a1(ka, params(Role::kInitiator, NodeType::kCN));
  Handshake b1(kb, params(Role::kResponder, NodeType::kCN));
  // Capture b1's Auth by running the first exchange by hand.
  ASSERT_TRUE(a1.feed(ByteView(b1.initial_bytes().data(), 1)).ok());
  ASSERT_TRUE(a1.feed(ByteView(b1.initial_bytes().data() + 1, 2)).ok());
  auto a1_auth = a1.feed(ByteView(b1.initial_bytes().data() + 3, kHelloBodySizeV1));
  ASSERT_TRUE(a1_auth.ok());
  ASSERT_TRUE(b1.feed(ByteView(a1.initial_bytes().data(), 1)).ok());
  ASSERT_TRUE(b1.feed(ByteView(a1.initial_bytes().data() + 1, 2)).ok());
  auto b1_auth = b1.feed(ByteView(a1.initial_bytes().data() + 3, kHelloBodySizeV1));
  ASSERT_TRUE(b1_auth.ok());
  ASSERT_EQ(b1_auth->size(), kAuthSize);

  // A second connection where an attacker replays b1's Auth: a2 sees b2's genuine Hello but
  // the signature from the first connection.
  Handshake a2(ka, params(Role::kInitiator, NodeType::kCN));
  Handshake b2(kb, params(Role::kResponder, NodeType::kCN));
  ASSERT_TRUE(a2.feed(ByteView(b2.initial_bytes().data(), 1)).ok());
  ASSERT_TRUE(a2.feed(ByteView(b2.initial_bytes().data() + 1, 2)).ok());
  ASSERT_TRUE(a2.feed(ByteView(b2.initial_bytes().data() + 3, kHelloBodySizeV1)).ok());
  auto r = a2.feed(*b1_auth);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "p2p.auth_failed");

  // And the genuine one is accepted by the first connection.
  EXPECT_TRUE(a1.feed(*b1_auth).ok());
  EXPECT_TRUE(a1.done());
}

TEST(Handshake, AnAuthSignedForTheOtherRoleIsRejected) {
  // Reflection: the responder's signature over the initiator's role tag must not verify.
  const auto ka = key_from(11), kb = key_from(12);
  Handshake a(ka, params(Role::kInitiator, NodeType::kCN));
  Handshake b(kb, params(Role::kResponder, NodeType::kCN));
  ASSERT_TRUE(a.feed(ByteView(b.initial_bytes().data(), 1)).ok());
  ASSERT_TRUE(a.feed(ByteView(b.initial_bytes().data() + 1, 2)).ok());
  ASSERT_TRUE(a.feed(ByteView(b.initial_bytes().data() + 3, kHelloBodySizeV1)).ok());
  Bytes t{0, 0};
  t.insert(t.end(), a.initial_bytes().begin() + 1, a.initial_bytes().end());
  t.insert(t.end(), b.initial_bytes().begin() + 1, b.initial_bytes().end());
  const auto wrong_role = crypto::sign(kb, auth_digest(Role::kInitiator, crypto::keccak256(t)));
  auto r = a.feed(wrong_role);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "p2p.auth_failed");
}

TEST(Handshake, EveryErrorIsFinal) {
  Handshake a(key_from(11), params(Role::kResponder, NodeType::kCN));
  ASSERT_FALSE(a.feed(Bytes{9}).ok());
  EXPECT_TRUE(a.failed());
  EXPECT_EQ(a.bytes_wanted(), 0u);
  EXPECT_FALSE(a.claimed_peer().has_value());
}

}  // namespace
}  // namespace cc::p2p
