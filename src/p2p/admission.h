// p2p/admission.h — owns the peer admission policy of Kaia's "who connects to whom" as a pure
// function of (policy, peer): no I/O, no clock, no connection state. The policy is built from
// configuration values (council addresses, CN_ALLOWLIST, PROXY_NODES) by the owner; the peer
// manager applies it to every established connection. It must never consult anything but its
// arguments, so the same answer comes out in the node, in tests and in a simulator.
//
// Rules (self type -> peer type):
//   CN -> CN   admitted only when keccak256(node ID)[12:] is in the council AND, for an inbound
//              connection, the socket's remote IP is in CN_ALLOWLIST. An empty CN_ALLOWLIST
//              admits no inbound CN (the detail says so). For an outbound connection the IP is
//              the one we chose to dial (static-nodes.json), so only the council is checked.
//   CN -> PN   admitted only when the node ID is one of this cell's own PNs (PROXY_NODES).
//   CN -> EN, BN   refused.
//   PN -> any  admitted (a PN connects its CN to the network).
//   EN -> PN, EN   admitted; CN and BN refused (an EN reaches CNs only through PNs).
//   BN -> any  admitted (bootnodes take no part in block traffic; nothing to protect).
// The peer manager adds duplicate_node_id, self_connection and too_many_peers, which depend on
// its connection state; they share AdmissionReason so one metric label set covers them all.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "crypto/secp256k1.h"
#include "p2p/kni.h"
#include "p2p/transport.h"
#include "p2p/wire.h"
#include "util/bytes.h"
#include "util/result.h"
#include "util/verdict.h"

namespace cc::p2p {

enum class AdmissionReason {
  kNotInCouncil,
  kIpNotAllowlisted,
  kNotOwnProxy,
  kTypeNotAccepted,
  kDuplicateNodeId,
  kSelfConnection,
  kTooManyPeers,
};

// Stable snake_case names for metric labels and logs: "not_in_council", "ip_not_allowlisted",
// "not_own_proxy", "type_not_accepted", "duplicate_node_id", "self_connection", "too_many_peers".
[[nodiscard]] std::string_view to_string(AdmissionReason reason);

struct AdmissionRejection {
  AdmissionReason reason = AdmissionReason::kTypeNotAccepted;
  std::string detail;  // one sentence for the operator: who, what was checked, what to change
};

using AdmissionVerdict = Verdict<std::monostate, AdmissionRejection>;

struct AdmissionPolicy {
  NodeType self_type = NodeType::kCN;
  std::set<Address> council;                  // validator addresses (CN only)
  std::set<std::string> cn_allowlist_ips;     // CN_ALLOWLIST, canonical text form (CN only)
  std::set<crypto::PublicKey> own_proxy_ids;  // PROXY_NODES node IDs (CN only)
};

// Decides whether `peer` may stay connected. Never fails for malformed input: an unparsable
// remote IP simply is not in the allow-list.
[[nodiscard]] AdmissionVerdict admit(const AdmissionPolicy& policy, const PeerInfo& peer);

// PROXY_NODES entries: kni URLs or bare 128-hex node IDs (0x prefix tolerated).
struct ProxyNodes {
  std::set<crypto::PublicKey> ids;  // every entry's node ID
  std::vector<KniUrl> urls;         // entries given as URLs (dialable; the owner may add them
                                    // to the static nodes)
};

// Errors (code admission.proxy_nodes) name `source`, the entry's index and what is expected.
[[nodiscard]] Result<ProxyNodes> parse_proxy_nodes(const std::vector<std::string>& entries,
                                                   const std::string& source = "PROXY_NODES");

// CN_ALLOWLIST entries: IPv4 or IPv6 addresses, returned in canonical text form (what the transport
// reports as remote_ip; an IPv4-mapped IPv6 address becomes the IPv4 dotted quad). Errors (code
// admission.cn_allowlist) name `source`, the index and the entry.
[[nodiscard]] Result<std::set<std::string>> parse_cn_allowlist(
    const std::vector<std::string>& entries, const std::string& source = "CN_ALLOWLIST");

// A policy from configuration values, validating each list as above.
[[nodiscard]] Result<AdmissionPolicy> make_admission_policy(
    NodeType self_type, const std::vector<Address>& council,
    const std::vector<std::string>& cn_allowlist, const std::vector<std::string>& proxy_nodes);

}  // namespace cc::p2p
