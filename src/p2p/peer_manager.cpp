#include "p2p/peer_manager.h"

#include <algorithm>
#include <utility>

#include "p2p/handshake.h"
#include "util/log.h"

namespace cc::p2p {
namespace {

using Clock = std::chrono::steady_clock;

// Bound on the set of (IP, reason) pairs already logged at warn; past it everything is debug.
constexpr std::size_t kMaxWarnedKeys = 4096;

std::shared_ptr<spdlog::logger> plog() {
  static const auto log = cc::logger("p2p");
  return log;
}

const char* direction(bool inbound) { return inbound ? "inbound" : "outbound"; }

constexpr AdmissionReason kAllReasons[] = {
    AdmissionReason::kNotInCouncil,    AdmissionReason::kIpNotAllowlisted,
    AdmissionReason::kNotOwnProxy,     AdmissionReason::kTypeNotAccepted,
    AdmissionReason::kDuplicateNodeId, AdmissionReason::kSelfConnection,
    AdmissionReason::kTooManyPeers,
};

}  // namespace

std::chrono::milliseconds redial_backoff(const RedialPolicy& policy, unsigned failures) {
  if (failures == 0) return std::chrono::milliseconds{0};
  auto delay = std::max(policy.initial, std::chrono::milliseconds{1});
  for (unsigned i = 1; i < failures && delay < policy.max; ++i) delay *= 2;
  return std::min(delay, policy.max);
}

PeerManager::PeerManager(crypto::NodeIdentity identity, TransportConfig config,
                         AdmissionPolicy policy, std::vector<KniUrl> static_nodes,
                         std::size_t max_peers, PeerManagerCallbacks callbacks, RedialPolicy redial)
    : identity_(identity),
      config_type_(config.node_type),
      max_peers_(max_peers),
      redial_(redial),
      callbacks_(std::move(callbacks)),
      policy_(std::move(policy)) {
  for (auto reason : kAllReasons) rejections_[std::string(to_string(reason))] = 0;
  std::set<crypto::PublicKey> seen;
  for (auto& url : static_nodes) {
    if (url.node_id == identity_.node_id) {
      plog()->info("static node {} is this node itself; not dialing it", url.to_string());
      continue;
    }
    if (!seen.insert(url.node_id).second) continue;  // one entry per node ID
    StaticNode node;
    node.url = std::move(url);
    static_.push_back(std::move(node));
  }
  TransportCallbacks cb;
  cb.on_established = [this](const PeerInfo& p) { return on_established(p); };
  cb.on_message = [this](const PeerInfo& p, std::uint8_t code, Bytes payload) {
    on_message(p, code, std::move(payload));
  };
  cb.on_closed = [this](const CloseInfo& info) { on_closed(info); };
  transport_ = std::make_unique<Transport>(identity_, std::move(config), std::move(cb));
}

PeerManager::~PeerManager() { stop(); }

Status PeerManager::start() {
  NodeType policy_type;
  {
    std::lock_guard lock(mu_);
    policy_type = policy_.self_type;
  }
  if (policy_type != config_type_) {
    return make_error("p2p.config", "the admission policy is for a " +
                                        std::string(node_type_name(policy_type)) +
                                        " but the transport announces a " +
                                        std::string(node_type_name(config_type_)) +
                                        "; build both from the node's role");
  }
  return transport_->start();
}

void PeerManager::stop() { transport_->stop(); }

std::uint16_t PeerManager::listen_port() const { return transport_->listen_port(); }

PeerManager::StaticNode* PeerManager::static_node_locked(const crypto::PublicKey& node_id) {
  for (auto& s : static_) {
    if (s.url.node_id == node_id) return &s;
  }
  return nullptr;
}

bool PeerManager::exempt_from_limit_locked(const PeerInfo& peer) const {
  if (policy_.own_proxy_ids.count(peer.node_id) != 0) return true;
  return std::any_of(static_.begin(), static_.end(),
                     [&](const StaticNode& s) { return s.url.node_id == peer.node_id; });
}

Error PeerManager::refuse_locked(const PeerInfo& peer, const AdmissionRejection& rejection) {
  const std::string name(to_string(rejection.reason));
  ++rejections_[name];
  const std::string key = peer.remote_ip + "|" + name;
  bool first = false;
  if (warned_.size() < kMaxWarnedKeys) first = warned_.insert(key).second;
  plog()->log(first ? spdlog::level::warn : spdlog::level::debug,
              "refused {} {} peer {}... from {}:{}: {}: {}", direction(peer.inbound),
              node_type_name(peer.type), short_node_id(peer.node_id), peer.remote_ip,
              peer.remote_port, name, rejection.detail);
  // The peer reads this as the disconnect reason (the transport bounds its length).
  return make_error("p2p.rejected", name + ": " + rejection.detail);
}

Status PeerManager::on_established(const PeerInfo& peer) {
  std::optional<PeerInfo> replaced;
  {
    std::lock_guard lock(mu_);
    // A refused dial of a static node stays `dialing` until on_closed, which counts the failure.
    StaticNode* stat = static_node_locked(peer.node_id);

    if (peer.node_id == identity_.node_id) {
      return refuse_locked(
          peer, {AdmissionReason::kSelfConnection, "the peer has this node's own node ID"});
    }
    auto verdict = admit(policy_, peer);
    if (!verdict.ok()) return refuse_locked(peer, verdict.rejection());

    auto existing = by_node_.find(peer.node_id);
    if (existing != by_node_.end()) {
      const PeerInfo old = peers_.at(existing->second);
      if (old.inbound == peer.inbound) {
        return refuse_locked(
            peer, {AdmissionReason::kDuplicateNodeId,
                   "node " + short_node_id(peer.node_id) + "... is already connected (" +
                       direction(old.inbound) + " from " + old.remote_ip +
                       "); one connection per node ID. Is a second process running with the "
                       "same nodekey?"});
      }
      // Simultaneous dial: keep the connection dialed by the lower node ID, as the peer will.
      const bool self_lower = identity_.node_id < peer.node_id;
      const bool keep_new = peer.inbound != self_lower;
      plog()->debug("node {}... connected both ways; keeping the {} connection",
                    short_node_id(peer.node_id), direction(keep_new ? peer.inbound : old.inbound));
      if (!keep_new) {
        return make_error("p2p.duplicate_connection",
                          "already connected the other way; keeping the connection dialed by the "
                          "lower node ID");
      }
      peers_.erase(old.id);
      by_node_.erase(existing);
      transport_->disconnect(old.id,
                             "duplicate_connection: replaced by the connection dialed by the lower "
                             "node ID");
      replaced = old;
    } else if (peers_.size() >= max_peers_ && !exempt_from_limit_locked(peer)) {
      return refuse_locked(
          peer, {AdmissionReason::kTooManyPeers, "this node has " + std::to_string(peers_.size()) +
                                                     " peers, the most MAXCONNECTIONS allows (" +
                                                     std::to_string(max_peers_) + ")"});
    }
    peers_.emplace(peer.id, peer);
    by_node_.emplace(peer.node_id, peer.id);
    if (stat != nullptr && stat->dialing == peer.id) stat->dialing.reset();
    if (stat != nullptr && stat->failures > 0) {
      plog()->info("static node {}... connected ({}) after {} failed attempt(s)",
                   short_node_id(peer.node_id), direction(peer.inbound), stat->failures);
    }
  }
  plog()->debug("peer added: {} {} {}... {}:{}", direction(peer.inbound), node_type_name(peer.type),
                short_node_id(peer.node_id), peer.remote_ip, peer.remote_port);
  if (replaced && callbacks_.on_peer_removed) {
    callbacks_.on_peer_removed(
        *replaced, make_error("p2p.duplicate_replaced",
                              "replaced by a connection to the same node in the other direction"));
  }
  if (callbacks_.on_peer_added) callbacks_.on_peer_added(peer);
  return ok_status();
}

void PeerManager::on_message(const PeerInfo& peer, std::uint8_t code, Bytes payload) {
  {
    std::lock_guard lock(mu_);
    if (peers_.count(peer.id) == 0) return;  // refused or replaced; nothing for the owner
  }
  if (callbacks_.on_message) callbacks_.on_message(peer, code, std::move(payload));
}

void PeerManager::note_static_failure_locked(StaticNode& node, const Error& reason) {
  ++node.failures;
  node.schedule_pending = true;
  const auto delay = redial_backoff(redial_, node.failures);
  // The first failure of a streak is worth an operator's attention; the retries are not.
  plog()->log(node.failures == 1 ? spdlog::level::warn : spdlog::level::debug,
              "static node {} not connected ({}: {}); redialing in {} ms (attempt {})",
              node.url.to_string(), reason.code, reason.message, delay.count(), node.failures + 1);
}

void PeerManager::on_closed(const CloseInfo& info) {
  std::optional<PeerInfo> removed;
  {
    std::lock_guard lock(mu_);
    if (info.reason.code == "p2p.self_connection") {
      // The handshake refused it before on_established; count it all the same.
      PeerInfo p;
      p.id = info.id;
      p.node_id = identity_.node_id;
      p.inbound = info.inbound;
      p.remote_ip = info.remote_ip;
      p.remote_port = info.remote_port;
      p.type = config_type_;
      (void)refuse_locked(p, {AdmissionReason::kSelfConnection,
                              "the peer has this node's own node ID (a static node or bootnode "
                              "entry points at this node)"});
    }
    auto it = peers_.find(info.id);
    if (it != peers_.end()) {
      removed = it->second;
      by_node_.erase(it->second.node_id);
      peers_.erase(it);
      if (StaticNode* s = static_node_locked(removed->node_id)) {
        note_static_failure_locked(*s, info.reason);
      }
    } else {
      for (auto& s : static_) {
        if (s.dialing == info.id) {
          s.dialing.reset();
          // Refused because the node got connected the other way meanwhile: not a failure.
          if (by_node_.count(s.url.node_id) == 0) note_static_failure_locked(s, info.reason);
          break;
        }
      }
    }
  }
  if (removed) {
    plog()->debug("peer removed: {} {}... {}: {}", node_type_name(removed->type),
                  short_node_id(removed->node_id), info.reason.code, info.reason.message);
    if (callbacks_.on_peer_removed) callbacks_.on_peer_removed(*removed, info.reason);
  }
}

Status PeerManager::set_offline(bool offline, const std::string& reason) {
  CC_TRY_STATUS(transport_->set_offline(offline, reason));
  if (!offline) {
    std::lock_guard lock(mu_);
    for (auto& s : static_) {  // redial at once: the backoff was for the time offline
      s.failures = 0;
      s.schedule_pending = false;
      s.next_attempt = Clock::time_point::min();
    }
  }
  return ok_status();
}

bool PeerManager::offline() const { return transport_->offline(); }

void PeerManager::tick(Clock::time_point now) {
  if (offline()) return;
  std::lock_guard lock(mu_);
  for (auto& s : static_) {
    if (by_node_.count(s.url.node_id) != 0) {
      if (!s.connected_since) {
        s.connected_since = now;
      } else if (now - *s.connected_since >= redial_.stable_after) {
        s.failures = 0;
      }
      continue;
    }
    s.connected_since.reset();
    if (s.dialing) continue;
    if (s.schedule_pending) {
      s.next_attempt = now + redial_backoff(redial_, s.failures);
      s.schedule_pending = false;
    }
    if (now < s.next_attempt) continue;
    // Transport::dial only queues work on cc-net; it never calls back into us synchronously.
    auto id = transport_->dial(s.url);
    ++s.dials;
    if (id.ok()) {
      s.dialing = *id;
    } else {
      note_static_failure_locked(s, id.error());
    }
  }
}

void PeerManager::set_policy(AdmissionPolicy policy) {
  std::lock_guard lock(mu_);
  policy_ = std::move(policy);
  for (const auto& [id, peer] : peers_) {
    auto verdict = admit(policy_, peer);
    if (verdict.ok()) continue;
    Error why = refuse_locked(peer, verdict.rejection());
    transport_->disconnect(id, why.message);  // on_closed removes it and tells the owner
  }
}

std::vector<PeerInfo> PeerManager::peers() const {
  std::lock_guard lock(mu_);
  std::vector<PeerInfo> out;
  out.reserve(peers_.size());
  for (const auto& [id, p] : peers_) out.push_back(p);
  return out;
}

std::optional<PeerInfo> PeerManager::peer(const crypto::PublicKey& node_id) const {
  std::lock_guard lock(mu_);
  auto it = by_node_.find(node_id);
  if (it == by_node_.end()) return std::nullopt;
  return peers_.at(it->second);
}

std::map<NodeType, std::size_t> PeerManager::peer_count_by_type() const {
  std::map<NodeType, std::size_t> out{
      {NodeType::kCN, 0}, {NodeType::kEN, 0}, {NodeType::kPN, 0}, {NodeType::kBN, 0}};
  std::lock_guard lock(mu_);
  for (const auto& [id, p] : peers_) ++out[p.type];
  return out;
}

std::map<std::string, std::uint64_t> PeerManager::rejection_counts() const {
  std::lock_guard lock(mu_);
  return rejections_;
}

std::vector<StaticNodeStatus> PeerManager::static_nodes() const {
  std::lock_guard lock(mu_);
  std::vector<StaticNodeStatus> out;
  for (const auto& s : static_) {
    StaticNodeStatus st;
    st.url = s.url;
    st.connected = by_node_.count(s.url.node_id) != 0;
    st.dialing = s.dialing.has_value();
    st.failures = s.failures;
    st.dials = s.dials;
    out.push_back(std::move(st));
  }
  return out;
}

Status PeerManager::send(const crypto::PublicKey& node_id, std::uint8_t code, ByteView payload) {
  ConnId id = 0;
  {
    std::lock_guard lock(mu_);
    auto it = by_node_.find(node_id);
    if (it == by_node_.end()) {
      return make_error("p2p.unknown_peer",
                        "node " + short_node_id(node_id) + "... is not a connected peer");
    }
    id = it->second;
  }
  return transport_->send(id, code, payload);
}

Status PeerManager::send(ConnId id, std::uint8_t code, ByteView payload) {
  {
    std::lock_guard lock(mu_);
    if (peers_.count(id) == 0) {
      return make_error("p2p.unknown_peer",
                        "connection " + std::to_string(id) + " is not an admitted peer");
    }
  }
  return transport_->send(id, code, payload);
}

void PeerManager::disconnect(ConnId id, const std::string& reason) {
  transport_->disconnect(id, reason);
}

}  // namespace cc::p2p
