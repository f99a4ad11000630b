// The admission policy as a pure function: Kaia's "who connects to whom" rules, the stable reason
// names used as metric labels, and the parsing of PROXY_NODES and CN_ALLOWLIST values.
#include "p2p/admission.h"

#include <gtest/gtest.h>

#include <string>

#include "crypto/address.h"
#include "crypto/secp256k1.h"

namespace cc::p2p {
namespace {

crypto::PublicKey key(std::uint8_t seed) {
  return crypto::public_key_of(*crypto::PrivateKey::from_bytes(Bytes(32, seed)));
}

PeerInfo peer(std::uint8_t seed, NodeType type, const std::string& ip = "10.0.0.2",
              bool inbound = true) {
  PeerInfo p;
  p.id = seed;
  p.node_id = key(seed);
  p.type = type;
  p.inbound = inbound;
  p.remote_ip = ip;
  p.remote_port = 40000;
  return p;
}

// A CN whose council has keys 1 and 2, allow-list 10.0.0.2, own PN key 5.
AdmissionPolicy cn_policy() {
  AdmissionPolicy p;
  p.self_type = NodeType::kCN;
  p.council = {crypto::address_of(key(1)), crypto::address_of(key(2))};
  p.cn_allowlist_ips = {"10.0.0.2"};
  p.own_proxy_ids = {key(5)};
  return p;
}

AdmissionPolicy policy_for(NodeType t) {
  AdmissionPolicy p;
  p.self_type = t;
  return p;
}

TEST(Admission, CnAdmitsCouncilCnFromAllowListedIp) {
  EXPECT_TRUE(admit(cn_policy(), peer(2, NodeType::kCN, "10.0.0.2")).ok());
}

TEST(Admission, CnRefusesCouncilCnFromAnotherIp) {
  auto v = admit(cn_policy(), peer(2, NodeType::kCN, "10.0.0.3"));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.reason(), AdmissionReason::kIpNotAllowlisted);
  EXPECT_NE(v.rejection().detail.find("10.0.0.3"), std::string::npos) << v.rejection().detail;
  EXPECT_NE(v.rejection().detail.find("CN_ALLOWLIST"), std::string::npos);
}

TEST(Admission, CnRefusesCnNotInCouncilEvenFromAllowListedIp) {
  // The standby case: the right host, but its own (non-council) nodekey.
  auto v = admit(cn_policy(), peer(3, NodeType::kCN, "10.0.0.2"));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.reason(), AdmissionReason::kNotInCouncil);
  EXPECT_NE(v.rejection().detail.find(crypto::to_checksum_hex(crypto::address_of(key(3)))),
            std::string::npos)
      << v.rejection().detail;
}

TEST(Admission, EmptyAllowListRefusesInboundCnsAndSaysSo) {
  auto policy = cn_policy();
  policy.cn_allowlist_ips.clear();
  auto v = admit(policy, peer(2, NodeType::kCN, "10.0.0.2"));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.reason(), AdmissionReason::kIpNotAllowlisted);
  EXPECT_NE(v.rejection().detail.find("CN_ALLOWLIST is empty"), std::string::npos);
}

TEST(Admission, OutboundCnIsCheckedAgainstTheCouncilOnly) {
  EXPECT_TRUE(admit(cn_policy(), peer(2, NodeType::kCN, "10.9.9.9", false)).ok());
  auto v = admit(cn_policy(), peer(3, NodeType::kCN, "10.0.0.2", false));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.reason(), AdmissionReason::kNotInCouncil);
}

TEST(Admission, Ipv4MappedRemoteAddressMatchesTheDottedQuad) {
  EXPECT_TRUE(admit(cn_policy(), peer(2, NodeType::kCN, "::ffff:10.0.0.2")).ok());
  EXPECT_FALSE(admit(cn_policy(), peer(2, NodeType::kCN, "not-an-ip")).ok());
}

TEST(Admission, CnAdmitsItsOwnPnFromAnyIpAndRefusesOthers) {
  EXPECT_TRUE(admit(cn_policy(), peer(5, NodeType::kPN, "192.168.7.7")).ok());
  auto v = admit(cn_policy(), peer(6, NodeType::kPN, "10.0.0.2"));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.reason(), AdmissionReason::kNotOwnProxy);
}

TEST(Admission, CnRefusesEnAndBnEvenWhenTheirKeyIsInTheCouncil) {
  for (NodeType t : {NodeType::kEN, NodeType::kBN}) {
    auto v = admit(cn_policy(), peer(1, t, "10.0.0.2"));
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.reason(), AdmissionReason::kTypeNotAccepted);
  }
}

TEST(Admission, PnAdmitsEveryType) {
  for (NodeType t : {NodeType::kCN, NodeType::kPN, NodeType::kEN, NodeType::kBN}) {
    EXPECT_TRUE(admit(policy_for(NodeType::kPN), peer(9, t, "203.0.113.1")).ok());
  }
}

TEST(Admission, EnAdmitsPnAndEnButNotCn) {
  const auto en = policy_for(NodeType::kEN);
  EXPECT_TRUE(admit(en, peer(9, NodeType::kPN)).ok());
  EXPECT_TRUE(admit(en, peer(9, NodeType::kEN)).ok());
  auto v = admit(en, peer(9, NodeType::kCN));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.reason(), AdmissionReason::kTypeNotAccepted);
  EXPECT_FALSE(admit(en, peer(9, NodeType::kBN)).ok());
}

TEST(Admission, ReasonNamesAreStableMetricLabels) {
  EXPECT_EQ(to_string(AdmissionReason::kNotInCouncil), "not_in_council");
  EXPECT_EQ(to_string(AdmissionReason::kIpNotAllowlisted), "ip_not_allowlisted");
  EXPECT_EQ(to_string(AdmissionReason::kNotOwnProxy), "not_own_proxy");
  EXPECT_EQ(to_string(AdmissionReason::kTypeNotAccepted), "type_not_accepted");
  EXPECT_EQ(to_string(AdmissionReason::kDuplicateNodeId), "duplicate_node_id");
  EXPECT_EQ(to_string(AdmissionReason::kSelfConnection), "self_connection");
  EXPECT_EQ(to_string(AdmissionReason::kTooManyPeers), "too_many_peers");
}

TEST(ProxyNodes, AcceptsKniUrlsAndBareNodeIds) {
  const std::string url = "kni://" + to_hex(key(5)) + "@10.0.1.5:32323?ntype=pn";
  auto r = parse_proxy_nodes({url, to_hex(key(6)), "0x" + to_hex(key(7))});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->ids, (std::set<crypto::PublicKey>{key(5), key(6), key(7)}));
  ASSERT_EQ(r->urls.size(), 1u);
  EXPECT_EQ(r->urls[0].host, "10.0.1.5");
}

TEST(ProxyNodes, RejectsAnIdOffTheCurveNamingTheEntry) {
  auto r = parse_proxy_nodes({to_hex(key(5)), std::string(128, 'f')});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "admission.proxy_nodes");
  EXPECT_NE(r.error().message.find("PROXY_NODES entry 1"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("secp256k1"), std::string::npos);
}

TEST(ProxyNodes, RejectsGarbageWithTheExpectedForm) {
  auto r = parse_proxy_nodes({"pn1.example:32323"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("PROXY_NODES entry 0"), std::string::npos);
  EXPECT_NE(r.error().message.find("128-hex node ID"), std::string::npos) << r.error().message;
  auto nonhex = parse_proxy_nodes({std::string(128, 'g')});
  ASSERT_FALSE(nonhex.ok());
}

TEST(CnAllowlist, CanonicalisesAndRejectsNonIps) {
  auto r = parse_cn_allowlist({"10.0.0.2", "::ffff:10.0.0.3", "2001:DB8::1"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, (std::set<std::string>{"10.0.0.2", "10.0.0.3", "2001:db8::1"}));
  auto bad = parse_cn_allowlist({"10.0.0.2", "cn2.example"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "admission.cn_allowlist");
  EXPECT_NE(bad.error().message.find("CN_ALLOWLIST entry 1 \"cn2.example\""), std::string::npos)
      << bad.error().message;
}

TEST(AdmissionPolicyFromConfig, BuildsEveryField) {
  auto p = make_admission_policy(NodeType::kCN, {crypto::address_of(key(1))}, {"10.0.0.2"},
                                 {to_hex(key(5))});
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->self_type, NodeType::kCN);
  EXPECT_EQ(p->council.size(), 1u);
  EXPECT_EQ(p->cn_allowlist_ips, std::set<std::string>{"10.0.0.2"});
  EXPECT_EQ(p->own_proxy_ids, std::set<crypto::PublicKey>{key(5)});
  EXPECT_TRUE(admit(*p, peer(1, NodeType::kCN, "10.0.0.2")).ok());
  EXPECT_FALSE(make_admission_policy(NodeType::kCN, {}, {"x"}, {}).ok());
  EXPECT_FALSE(make_admission_policy(NodeType::kCN, {}, {}, {"x"}).ok());
}

}  // namespace
}  // namespace cc::p2p
