#include "crypto/keccak.h"

#include <gtest/gtest.h>

#include <string>

namespace cc::crypto {
namespace {

TEST(Keccak256, EmptyInputMatchesEthereumKnownAnswer) {
  EXPECT_EQ(to_hex(keccak256({})),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
}

TEST(Keccak256, AbcMatchesKnownAnswerAndIsNotSha3) {
  std::string abc = "abc";
  EXPECT_EQ(to_hex(keccak256(view(abc))),
            "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
  // SHA3-256("abc") (NIST padding) must not be what we produce.
  EXPECT_NE(to_hex(keccak256(view(abc))),
            "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532");
}

TEST(Keccak256, MultiBlockInputMatchesKnownAnswer) {
  // 200 bytes crosses the 136-byte rate, so absorption over several blocks is exercised.
  std::string quick = "The quick brown fox jumps over the lazy dog";
  EXPECT_EQ(to_hex(keccak256(view(quick))),
            "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15");
  std::string a200(200, 'a');
  Hash32 h1 = keccak256(view(a200));
  std::string a201(201, 'a');
  EXPECT_NE(h1, keccak256(view(a201)));
  EXPECT_EQ(h1, keccak256(view(a200)));
}

}  // namespace
}  // namespace cc::crypto
