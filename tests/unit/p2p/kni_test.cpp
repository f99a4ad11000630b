#include "p2p/kni.h"

#include <gtest/gtest.h>

#include <string>

namespace cc::p2p {
namespace {

const crypto::PublicKey& node_id() {
  static const crypto::PublicKey id =
      crypto::public_key_of(*crypto::PrivateKey::from_bytes(Bytes(32, 0x46)));
  return id;
}
std::string id_hex() { return to_hex(node_id()); }

std::string error_code(std::string_view text) {
  auto r = KniUrl::parse(text);
  return r.ok() ? "ok" : r.error().code;
}

TEST(KniUrl, ParsesKaiaFactsExampleForm) {
  std::string text = "kni://" + id_hex() + "@10.11.2.101:32323?discport=0&ntype=cn";
  auto url = KniUrl::parse(text);
  ASSERT_TRUE(url.ok()) << url.error().message;
  EXPECT_EQ(url->node_id, node_id());
  EXPECT_EQ(url->host, "10.11.2.101");
  EXPECT_EQ(url->port, 32323);
  EXPECT_EQ(url->subport, 0);
  EXPECT_EQ(url->discport, 0);
  EXPECT_EQ(url->ntype, "cn");
  EXPECT_EQ(url->to_string(), text);
}

TEST(KniUrl, DiscportDefaultsToPortAndOptionalPartsAreOmitted) {
  std::string text = "kni://" + id_hex() + "@127.0.0.1:32323";
  auto url = KniUrl::parse(text);
  ASSERT_TRUE(url.ok()) << url.error().message;
  EXPECT_EQ(url->discport, 32323);
  EXPECT_EQ(url->subport, 0);
  EXPECT_TRUE(url->ntype.empty());
  EXPECT_EQ(url->to_string(), text);
}

TEST(KniUrl, AcceptsEnodeSchemeAndPrintsKni) {
  auto url = KniUrl::parse("enode://" + id_hex() + "@192.168.0.1:30303?subport=30304");
  ASSERT_TRUE(url.ok()) << url.error().message;
  EXPECT_EQ(url->subport, 30304);
  EXPECT_EQ(url->to_string(), "kni://" + id_hex() + "@192.168.0.1:30303?subport=30304");
}

TEST(KniUrl, AcceptsHostNamesAndUpperCaseNtype) {
  auto url = KniUrl::parse("kni://" + id_hex() + "@cn-1.cell-a.example.org:32323?ntype=PN");
  ASSERT_TRUE(url.ok()) << url.error().message;
  EXPECT_EQ(url->host, "cn-1.cell-a.example.org");
  EXPECT_EQ(url->ntype, "pn");
}

TEST(KniUrl, ToStringRoundTripsEveryField) {
  KniUrl url{node_id(), "10.0.0.7", 32323, 32324, 0, "bn"};
  auto back = KniUrl::parse(url.to_string());
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, url);
  EXPECT_EQ(url.to_string(),
            "kni://" + id_hex() + "@10.0.0.7:32323?subport=32324&discport=0&ntype=bn");
}

TEST(KniUrl, RejectsBadSchemeAndMissingParts) {
  EXPECT_EQ(error_code("http://" + id_hex() + "@1.2.3.4:1"), "kni.scheme");
  EXPECT_EQ(error_code(id_hex() + "@1.2.3.4:1"), "kni.scheme");
  EXPECT_EQ(error_code("kni://" + id_hex()), "kni.missing_host");
  EXPECT_EQ(error_code("kni://" + id_hex() + "@1.2.3.4"), "kni.missing_port");
  EXPECT_EQ(error_code("kni://" + id_hex() + "@:32323"), "kni.host");
}

TEST(KniUrl, RejectsBadNodeIds) {
  EXPECT_EQ(error_code("kni://" + id_hex().substr(2) + "@1.2.3.4:1"), "kni.node_id");
  EXPECT_EQ(error_code("kni://0x" + id_hex().substr(2) + "@1.2.3.4:1"), "kni.node_id");
  std::string not_hex = id_hex();
  not_hex[5] = 'z';
  EXPECT_EQ(error_code("kni://" + not_hex + "@1.2.3.4:1"), "kni.node_id");
  std::string off_curve = id_hex();
  off_curve.back() = off_curve.back() == '0' ? '1' : '0';
  EXPECT_EQ(error_code("kni://" + off_curve + "@1.2.3.4:1"), "kni.node_id");
}

TEST(KniUrl, RejectsBadHosts) {
  for (const char* host : {"256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "[::1]", "-bad.example",
                           "bad-.example", "a..b", "host_name", "a b"}) {
    auto r = KniUrl::parse("kni://" + id_hex() + "@" + host + ":32323");
    EXPECT_EQ(r.ok() ? std::string("ok") : r.error().code, "kni.host") << host;
  }
}

TEST(KniUrl, RejectsBadPorts) {
  auto base = "kni://" + id_hex() + "@1.2.3.4:";
  EXPECT_EQ(error_code(base + "0"), "kni.port");
  EXPECT_EQ(error_code(base + "65536"), "kni.port");
  EXPECT_EQ(error_code(base + "-1"), "kni.port");
  EXPECT_EQ(error_code(base + "032323"), "kni.port");
  EXPECT_EQ(error_code(base + "3x"), "kni.port");
  EXPECT_EQ(error_code(base + "1?discport=99999"), "kni.port");
  EXPECT_EQ(error_code(base + "65535?discport=65535&subport=1"), "ok");
}

TEST(KniUrl, RejectsBadQueries) {
  auto base = "kni://" + id_hex() + "@1.2.3.4:32323";
  EXPECT_EQ(error_code(base + "?ntype=xn"), "kni.ntype");
  EXPECT_EQ(error_code(base + "?ntype="), "kni.query");
  EXPECT_EQ(error_code(base + "?discport"), "kni.query");
  EXPECT_EQ(error_code(base + "?dicsport=1"), "kni.query");
  EXPECT_EQ(error_code(base + "?discport=1&discport=2"), "kni.query");
  EXPECT_EQ(error_code(base + "/path"), "kni.syntax");
  EXPECT_EQ(error_code(base + "#frag"), "kni.syntax");
}

TEST(KniUrl, ErrorsSayWhatIsExpected) {
  auto r = KniUrl::parse("kni://abc@1.2.3.4:1");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("128 hex"), std::string::npos);
  EXPECT_NE(r.error().message.find("kni://<128-hex node ID>@<host>:<port>"), std::string::npos);
}

TEST(KniUrl, RejectsOverlongInput) {
  std::string text = "kni://" + id_hex() + "@" + std::string(2000, 'a') + ":1";
  EXPECT_EQ(error_code(text), "kni.length");
}

}  // namespace
}  // namespace cc::p2p
