// p2p/peer_manager.h — owns the peer set of a node: it owns a Transport, decides on every
// established connection whether it may stay (admission.h's policy, one connection per node ID,
// never our own node ID, at most max_peers), keeps its static nodes connected by redialing them
// forever with capped exponential backoff, and counts and logs every refusal by reason. It has no
// thread and no clock of its own: the owner calls tick(now) periodically (every 100-500 ms) and
// that is the only place time enters. It never interprets application messages (codes >= 0x10);
// those go to the owner as they arrive.
//
// Duplicates. A second connection with a connected node ID is refused (duplicate_node_id; two
// processes holding one nodekey look exactly like this). One exception: when the two connections
// run in opposite directions (both sides dialed each other at once, common when every CN lists
// every other CN in static-nodes.json), both ends keep the connection dialed by the lower node ID
// and close the other, so they settle on the same one instead of each closing a different one.
// That case is logged at debug level and not counted as a rejection.
//
// max_peers counts every admitted peer; static nodes and this cell's own PNs are admitted beyond
// it, so a PN full of ENs still takes its CN, and a CN always takes its PNs.
//
// Logging: each refusal is logged once at warn per (remote IP, reason) with the node ID and the
// detail, later repeats at debug (bounded: an attacker with one IP cannot flood the log).
//
// Threads: Transport callbacks run on cc-net; tick/send/disconnect/peers/set_policy run on any
// other thread. State is guarded by one mutex; owner callbacks are called without it held (they
// may call back into the manager). Owner callbacks all run on cc-net, one at a time, in order:
// for a node ID, on_peer_added precedes its on_message calls and on_peer_removed comes last.
// stop() must not be called from an owner callback.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "crypto/nodekey.h"
#include "p2p/admission.h"
#include "p2p/kni.h"
#include "p2p/transport.h"
#include "util/bytes.h"
#include "util/result.h"

namespace cc::p2p {

struct PeerManagerCallbacks {
  // An admitted peer; from now on send() reaches it.
  std::function<void(const PeerInfo& peer)> on_peer_added;
  // An admitted peer is gone (the transport's close reason, or p2p.duplicate_replaced when a
  // simultaneous dial replaced its connection by one to the same node).
  std::function<void(const PeerInfo& peer, const Error& reason)> on_peer_removed;
  // An application message (code >= kFirstApplicationCode) from an admitted peer.
  std::function<void(const PeerInfo& peer, std::uint8_t code, Bytes payload)> on_message;
};

// Redial schedule for static nodes.
struct RedialPolicy {
  std::chrono::milliseconds initial{500};  // delay after the first failure
  std::chrono::milliseconds max{30000};    // cap of the doubling
  // A connection that stayed up this long (as seen by tick) resets the backoff.
  std::chrono::milliseconds stable_after{10000};
};

// Delay before the next dial after `failures` consecutive failures: 0 for none, then initial,
// doubling each time, never more than max.
[[nodiscard]] std::chrono::milliseconds redial_backoff(const RedialPolicy& policy,
                                                       unsigned failures);

struct StaticNodeStatus {
  KniUrl url;
  bool connected = false;  // in either direction
  bool dialing = false;
  unsigned failures = 0;    // consecutive failed dials or short-lived connections
  std::uint64_t dials = 0;  // dials started since the manager was created
};

class PeerManager {
 public:
  // static_nodes: dialed by tick() and kept connected; an entry with our own node ID is skipped
  // (homi-style files list every CN, including this one). `config.node_type` must equal
  // `policy.self_type` (start() refuses otherwise).
  PeerManager(crypto::NodeIdentity identity, TransportConfig config, AdmissionPolicy policy,
              std::vector<KniUrl> static_nodes, std::size_t max_peers,
              PeerManagerCallbacks callbacks, RedialPolicy redial = {});
  ~PeerManager();  // stop()
  PeerManager(const PeerManager&) = delete;
  PeerManager& operator=(const PeerManager&) = delete;

  // Starts the transport (its errors: p2p.config, p2p.listen_failed). Static nodes are dialed
  // from the first tick().
  [[nodiscard]] Status start();
  // Stops the transport: every peer gets on_peer_removed (p2p.shutdown) before this returns.
  void stop();

  [[nodiscard]] std::uint16_t listen_port() const;

  // Dials every static node that is neither connected (either direction) nor being dialed and
  // whose backoff has expired at `now`.
  void tick(std::chrono::steady_clock::time_point now);

  // Offline: nothing listens, every peer is dropped (telling it `reason`), no static node is
  // dialed; back online the listener is bound again and the static nodes redialed at once.
  // Errors: Transport::set_offline's.
  [[nodiscard]] Status set_offline(bool offline, const std::string& reason);
  [[nodiscard]] bool offline() const;

  // Replaces the policy (e.g. the council changed) and disconnects admitted peers it refuses.
  void set_policy(AdmissionPolicy policy);

  [[nodiscard]] std::vector<PeerInfo> peers() const;
  [[nodiscard]] std::optional<PeerInfo> peer(const crypto::PublicKey& node_id) const;
  // Count of admitted peers per type; every type is present (0 when none).
  [[nodiscard]] std::map<NodeType, std::size_t> peer_count_by_type() const;
  // Refusals so far by reason name (admission.h's to_string); every reason is present.
  [[nodiscard]] std::map<std::string, std::uint64_t> rejection_counts() const;
  [[nodiscard]] std::vector<StaticNodeStatus> static_nodes() const;

  // Sends to an admitted peer. Errors: p2p.unknown_peer (not an admitted peer) and Transport's.
  [[nodiscard]] Status send(const crypto::PublicKey& node_id, std::uint8_t code, ByteView payload);
  [[nodiscard]] Status send(ConnId id, std::uint8_t code, ByteView payload);
  // Closes a connection telling the peer why; on_peer_removed follows if it was admitted.
  void disconnect(ConnId id, const std::string& reason);

 private:
  struct StaticNode {
    KniUrl url;
    std::optional<ConnId> dialing;
    unsigned failures = 0;
    std::uint64_t dials = 0;
    bool schedule_pending = false;  // set on failure; tick turns it into next_attempt
    std::chrono::steady_clock::time_point next_attempt =
        std::chrono::steady_clock::time_point::min();
    std::optional<std::chrono::steady_clock::time_point> connected_since;  // as seen by tick
  };

  Status on_established(const PeerInfo& peer);
  void on_message(const PeerInfo& peer, std::uint8_t code, Bytes payload);
  void on_closed(const CloseInfo& info);

  // Under mu_: counts and logs a refusal; returns the Error the transport sends to the peer.
  Error refuse_locked(const PeerInfo& peer, const AdmissionRejection& rejection);
  void note_static_failure_locked(StaticNode& node, const Error& reason);
  bool exempt_from_limit_locked(const PeerInfo& peer) const;
  StaticNode* static_node_locked(const crypto::PublicKey& node_id);

  const crypto::NodeIdentity identity_;
  const NodeType config_type_;
  const std::size_t max_peers_;
  const RedialPolicy redial_;
  const PeerManagerCallbacks callbacks_;

  mutable std::mutex mu_;  // guards everything below except transport_
  AdmissionPolicy policy_;
  std::vector<StaticNode> static_;
  std::map<ConnId, PeerInfo> peers_;             // admitted peers
  std::map<crypto::PublicKey, ConnId> by_node_;  // admitted peers by node ID
  std::map<std::string, std::uint64_t> rejections_;
  std::set<std::string> warned_;  // "ip|reason" already logged at warn

  std::unique_ptr<Transport> transport_;  // last: stopped and destroyed before the state above
};

}  // namespace cc::p2p
