#include "p2p/admission.h"

#include <arpa/inet.h>

#include <algorithm>
#include <optional>

#include "crypto/address.h"
#include "p2p/handshake.h"

namespace cc::p2p {
namespace {

// Canonical text of an IPv4/IPv6 address; an IPv4-mapped IPv6 address becomes its IPv4 form.
// inet_pton/inet_ntop are pure conversions (no resolver, no I/O).
std::optional<std::string> canonical_ip(std::string_view text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  const std::string z(text);
  unsigned char buf[16];
  char out[INET6_ADDRSTRLEN];
  if (inet_pton(AF_INET, z.c_str(), buf) == 1) {
    if (inet_ntop(AF_INET, buf, out, sizeof out) == nullptr) return std::nullopt;
    return std::string(out);
  }
  if (inet_pton(AF_INET6, z.c_str(), buf) == 1) {
    static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::equal(kMapped, kMapped + 12, buf)) {
      if (inet_ntop(AF_INET, buf + 12, out, sizeof out) == nullptr) return std::nullopt;
      return std::string(out);
    }
    if (inet_ntop(AF_INET6, buf, out, sizeof out) == nullptr) return std::nullopt;
    return std::string(out);
  }
  return std::nullopt;
}

AdmissionRejection reject(AdmissionReason reason, std::string detail) {
  return AdmissionRejection{reason, std::move(detail)};
}

std::string describe(const PeerInfo& peer) {
  return std::string(node_type_name(peer.type)) + " node " + short_node_id(peer.node_id) +
         "... from " + peer.remote_ip;
}

AdmissionVerdict admit_at_cn(const AdmissionPolicy& policy, const PeerInfo& peer) {
  switch (peer.type) {
    case NodeType::kCN: {
      const Address addr = crypto::address_of(peer.node_id);
      if (policy.council.count(addr) == 0) {
        return reject(AdmissionReason::kNotInCouncil,
                      describe(peer) + ": its address " + crypto::to_checksum_hex(addr) +
                          " is not in the council (" + std::to_string(policy.council.size()) +
                          " members); only council CNs may connect as CN");
      }
      if (!peer.inbound) return std::monostate{};  // we chose the address we dialed
      if (policy.cn_allowlist_ips.empty()) {
        return reject(AdmissionReason::kIpNotAllowlisted,
                      describe(peer) +
                          ": CN_ALLOWLIST is empty, so no CN may connect in; set "
                          "CN_ALLOWLIST to the other council CNs' IP addresses");
      }
      const auto ip = canonical_ip(peer.remote_ip);
      if (!ip || policy.cn_allowlist_ips.count(*ip) == 0) {
        return reject(AdmissionReason::kIpNotAllowlisted,
                      describe(peer) + ": remote IP " + peer.remote_ip +
                          " is not in CN_ALLOWLIST; a council CN must connect from an allow-listed "
                          "IP (after a failover, move the CN's IP to the new host)");
      }
      return std::monostate{};
    }
    case NodeType::kPN:
      if (policy.own_proxy_ids.count(peer.node_id) == 0) {
        return reject(AdmissionReason::kNotOwnProxy,
                      describe(peer) + ": not one of this cell's PNs (PROXY_NODES lists " +
                          std::to_string(policy.own_proxy_ids.size()) + ")");
      }
      return std::monostate{};
    case NodeType::kEN:
    case NodeType::kBN:
      break;
  }
  return reject(AdmissionReason::kTypeNotAccepted,
                describe(peer) + ": a CN accepts only council CNs and its own PNs");
}

}  // namespace

std::string_view to_string(AdmissionReason reason) {
  switch (reason) {
    case AdmissionReason::kNotInCouncil:
      return "not_in_council";
    case AdmissionReason::kIpNotAllowlisted:
      return "ip_not_allowlisted";
    case AdmissionReason::kNotOwnProxy:
      return "not_own_proxy";
    case AdmissionReason::kTypeNotAccepted:
      return "type_not_accepted";
    case AdmissionReason::kDuplicateNodeId:
      return "duplicate_node_id";
    case AdmissionReason::kSelfConnection:
      return "self_connection";
    case AdmissionReason::kTooManyPeers:
      return "too_many_peers";
  }
  return "unknown";
}

AdmissionVerdict admit(const AdmissionPolicy& policy, const PeerInfo& peer) {
  switch (policy.self_type) {
    case NodeType::kCN:
      return admit_at_cn(policy, peer);
    case NodeType::kEN:
      if (peer.type == NodeType::kPN || peer.type == NodeType::kEN) return std::monostate{};
      return reject(AdmissionReason::kTypeNotAccepted,
                    describe(peer) +
                        ": an EN accepts only PNs and ENs (it reaches CNs through "
                        "PNs)");
    case NodeType::kPN:
    case NodeType::kBN:
      break;
  }
  return std::monostate{};
}

Result<ProxyNodes> parse_proxy_nodes(const std::vector<std::string>& entries,
                                     const std::string& source) {
  ProxyNodes out;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::string& e = entries[i];
    const std::string where = source + " entry " + std::to_string(i);
    std::string_view id_text = e;
    if (id_text.size() == 130 && (id_text.substr(0, 2) == "0x" || id_text.substr(0, 2) == "0X")) {
      id_text.remove_prefix(2);
    }
    if (id_text.size() == 128 && id_text.find(':') == std::string_view::npos) {
      auto id = fixed_from_hex<64>(id_text);
      if (!id.ok()) {
        return make_error("admission.proxy_nodes",
                          where + ": not a node ID (" + id.error().message +
                              "); expected a kni:// URL or the PN's 128-hex node ID");
      }
      if (!crypto::validate_public_key(*id).ok()) {
        return make_error("admission.proxy_nodes",
                          where + ": node ID " + short_node_id(*id) +
                              "... is not a secp256k1 public key; copy it from the PN's kni URL");
      }
      out.ids.insert(*id);
      continue;
    }
    auto url = KniUrl::parse(e);
    if (!url.ok()) {
      return make_error("admission.proxy_nodes", where + ": " + url.error().message +
                                                     " (or give the PN's 128-hex node ID alone)");
    }
    if (out.ids.insert(url->node_id).second) out.urls.push_back(std::move(*url));
  }
  return out;
}

Result<std::set<std::string>> parse_cn_allowlist(const std::vector<std::string>& entries,
                                                 const std::string& source) {
  std::set<std::string> out;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    auto ip = canonical_ip(entries[i]);
    if (!ip) {
      return make_error("admission.cn_allowlist",
                        source + " entry " + std::to_string(i) + " \"" + entries[i].substr(0, 64) +
                            "\" is not an IP address; list the council CNs' IPs, e.g. 10.0.1.5");
    }
    out.insert(*ip);
  }
  return out;
}

Result<AdmissionPolicy> make_admission_policy(NodeType self_type,
                                              const std::vector<Address>& council,
                                              const std::vector<std::string>& cn_allowlist,
                                              const std::vector<std::string>& proxy_nodes) {
  AdmissionPolicy p;
  p.self_type = self_type;
  p.council.insert(council.begin(), council.end());
  CC_TRY_ASSIGN(p.cn_allowlist_ips, parse_cn_allowlist(cn_allowlist));
  CC_TRY_ASSIGN(ProxyNodes proxies, parse_proxy_nodes(proxy_nodes));
  p.own_proxy_ids = std::move(proxies.ids);
  return p;
}

}  // namespace cc::p2p
