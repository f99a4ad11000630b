#include "crypto/secp256k1.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <set>
#include <thread>
#include <vector>

#include "crypto/keccak.h"

namespace cc::crypto {
namespace {

// secp256k1 group order n.
constexpr const char* kOrderHex =
    "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";

Hash32 digest_of(const std::string& text) { return keccak256(view(text)); }

// n - s, big-endian 32-byte subtraction.
FixedBytes<32> order_minus(const std::uint8_t* s) {
  auto n = *fixed_from_hex<32>(kOrderHex);
  FixedBytes<32> out{};
  int borrow = 0;
  for (int i = 31; i >= 0; --i) {
    int d = n[i] - s[i] - borrow;
    borrow = d < 0 ? 1 : 0;
    out[i] = static_cast<std::uint8_t>(d + (borrow ? 256 : 0));
  }
  return out;
}

TEST(PrivateKey, RejectsZeroOrderAndAboveButAcceptsOneAndOrderMinusOne) {
  EXPECT_FALSE(PrivateKey::from_bytes(FixedBytes<32>{}).ok());
  EXPECT_FALSE(PrivateKey::from_bytes(*from_hex(kOrderHex)).ok());
  EXPECT_FALSE(PrivateKey::from_bytes(Bytes(32, 0xff)).ok());
  Bytes n_minus_1 = *from_hex(kOrderHex);
  n_minus_1[31] -= 1;
  EXPECT_TRUE(PrivateKey::from_bytes(n_minus_1).ok());
  Bytes one(32, 0);
  one[31] = 1;
  EXPECT_TRUE(PrivateKey::from_bytes(one).ok());
}

TEST(PrivateKey, RejectsWrongLength) {
  auto r = PrivateKey::from_bytes(Bytes(31, 0x46));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "secp256k1.key_length");
  EXPECT_FALSE(PrivateKey::from_bytes(Bytes(33, 0x46)).ok());
}

TEST(PrivateKey, GenerateGivesDistinctValidKeys) {
  std::set<std::string> seen;
  for (int i = 0; i < 16; ++i) {
    auto k = PrivateKey::generate();
    EXPECT_TRUE(PrivateKey::from_bytes(k.bytes()).ok());
    seen.insert(to_hex(k.bytes()));
  }
  EXPECT_EQ(seen.size(), 16u);
}

TEST(PublicKey, KeyOneIsTheGenerator) {
  Bytes one(32, 0);
  one[31] = 1;
  EXPECT_EQ(to_hex(public_key_of(*PrivateKey::from_bytes(one))),
            "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
            "483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8");
}

TEST(PublicKey, ValidateRejectsPointsOffTheCurve) {
  auto pub = public_key_of(PrivateKey::generate());
  EXPECT_TRUE(validate_public_key(pub).ok());
  PublicKey off = pub;
  off[63] ^= 0x01;  // same X, wrong Y
  EXPECT_FALSE(validate_public_key(off).ok());
  EXPECT_FALSE(validate_public_key(PublicKey{}).ok());
}

TEST(Sign, MatchesEip155ExampleSignature) {
  // EIP-155's example: key 0x4646..46 signs the signing hash below with v = 37 (recid 0).
  auto key = *PrivateKey::from_bytes(Bytes(32, 0x46));
  auto digest =
      *fixed_from_hex<32>("daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53");
  Signature sig = sign(key, digest);
  EXPECT_EQ(to_hex(sig),
            "28ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276"
            "67cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83"
            "00");
}

TEST(Sign, IsDeterministicAndRecoversToSigner) {
  auto key = PrivateKey::generate();
  auto digest = digest_of("block 42");
  Signature a = sign(key, digest);
  EXPECT_EQ(a, sign(key, digest));
  EXPECT_LE(a[64], 1);
  auto rec = recover(digest, a);
  ASSERT_TRUE(rec.ok()) << rec.error().message;
  EXPECT_EQ(*rec, public_key_of(key));
  EXPECT_TRUE(verify(public_key_of(key), digest, a));
}

TEST(Verify, RejectsOtherDigestOtherKeyAndWrongRecid) {
  auto key = PrivateKey::generate();
  auto digest = digest_of("prepare");
  Signature sig = sign(key, digest);
  EXPECT_FALSE(verify(public_key_of(key), digest_of("commit"), sig));
  EXPECT_FALSE(verify(public_key_of(PrivateKey::generate()), digest, sig));
  Signature flipped = sig;
  flipped[64] ^= 1;
  EXPECT_FALSE(verify(public_key_of(key), digest, flipped));
}

TEST(Recover, RejectsHighS) {
  auto key = PrivateKey::generate();
  auto digest = digest_of("seal");
  Signature sig = sign(key, digest);
  // (r, n - s, recid ^ 1) is the mathematically equivalent high-s twin: it must be refused.
  Signature high = sig;
  auto s2 = order_minus(sig.data() + 32);
  std::copy(s2.begin(), s2.end(), high.begin() + 32);
  high[64] ^= 1;
  auto r = recover(digest, high);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "secp256k1.high_s");
  EXPECT_FALSE(verify(public_key_of(key), digest, high));
}

TEST(Recover, RejectsRecidAboveThree) {
  auto digest = digest_of("x");
  Signature sig = sign(PrivateKey::generate(), digest);
  sig[64] = 4;
  auto r = recover(digest, sig);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "secp256k1.bad_recid");
  sig[64] = 27;  // Ethereum's v, not a recovery id
  EXPECT_FALSE(recover(digest, sig).ok());
}

TEST(Recover, RejectsOutOfRangeOrZeroRAndS) {
  auto digest = digest_of("x");
  Signature sig = sign(PrivateKey::generate(), digest);
  auto n = *fixed_from_hex<32>(kOrderHex);
  Signature r_is_n = sig;
  std::copy(n.begin(), n.end(), r_is_n.begin());
  EXPECT_FALSE(recover(digest, r_is_n).ok());
  Signature s_is_n = sig;
  std::copy(n.begin(), n.end(), s_is_n.begin() + 32);
  EXPECT_FALSE(recover(digest, s_is_n).ok());
  Signature r_zero = sig;
  std::fill(r_zero.begin(), r_zero.begin() + 32, 0);
  EXPECT_FALSE(recover(digest, r_zero).ok());
  Signature s_zero = sig;
  std::fill(s_zero.begin() + 32, s_zero.begin() + 64, 0);
  EXPECT_FALSE(recover(digest, s_zero).ok());
}

TEST(Sign, ConcurrentSignersShareTheContextSafely) {
  auto key = PrivateKey::generate();
  std::vector<Hash32> digests;
  std::vector<Signature> expected;
  for (int i = 0; i < 64; ++i) {
    digests.push_back(digest_of("msg " + std::to_string(i)));
    expected.push_back(sign(key, digests.back()));
  }
  std::vector<int> bad(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 5; ++round) {
        for (std::size_t i = 0; i < digests.size(); ++i) {
          if (sign(key, digests[i]) != expected[i]) ++bad[t];
          auto rec = recover(digests[i], expected[i]);
          if (!rec.ok() || *rec != public_key_of(key)) ++bad[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int b : bad) EXPECT_EQ(b, 0);
}

TEST(Ecdh, IsSymmetric) {
  auto a = PrivateKey::generate();
  auto b = PrivateKey::generate();
  auto ab = ecdh(a, public_key_of(b));
  auto ba = ecdh(b, public_key_of(a));
  ASSERT_TRUE(ab.ok());
  ASSERT_TRUE(ba.ok());
  EXPECT_EQ(*ab, *ba);
  EXPECT_NE(*ab, *ecdh(a, public_key_of(PrivateKey::generate())));
}

TEST(Ecdh, IsSha256OfTheCompressedSharedPoint) {
  // With secret 1 the shared point is the peer's own key, so the expected value is computable.
  Bytes one(32, 0);
  one[31] = 1;
  auto peer = public_key_of(PrivateKey::generate());
  std::uint8_t compressed[33];
  compressed[0] = (peer[63] & 1) ? 0x03 : 0x02;
  std::copy(peer.begin(), peer.begin() + 32, compressed + 1);
  Hash32 expected{};
  crypto_hash_sha256(expected.data(), compressed, sizeof compressed);
  auto got = ecdh(*PrivateKey::from_bytes(one), peer);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, expected);
}

TEST(Ecdh, RejectsInvalidPeerKey) {
  auto r = ecdh(PrivateKey::generate(), PublicKey{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "secp256k1.bad_pubkey");
}

}  // namespace
}  // namespace cc::crypto
