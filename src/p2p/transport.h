// p2p/transport.h — owns corecell's TCP transport: one Asio io_context on one thread named
// "cc-net", a listener, outgoing dials (bound to a configured source IP), the handshake of
// handshake.h, the encrypted frames of frame.h, per-connection bounded send queues, and
// keepalive with dead-peer detection. It reports to its owner through callbacks and must never
// decide who may be a peer (council, allow-lists, one connection per node ID): the owner does
// that in on_accept / on_established. It never blocks its thread and never aborts on peer input.
//
// Lifecycle of a connection (each gets a ConnId, unique for the Transport's lifetime):
//   accept or dial -> handshake (deadline: handshake_timeout, covering resolve + connect too)
//   -> on_established (the owner may refuse with an Error: the peer gets it as the disconnect
//   reason) -> on_message for each application frame -> on_closed exactly once, with the reason.
// on_closed also fires for dials and inbound handshakes that never completed (so an owner can
// redial static nodes); an inbound socket the owner refused in on_accept never gets a ConnId.
// Keepalive: every ping_interval each side sends a ping; any frame counts as life. No frame for
// dead_after, or a write stuck for dead_after, closes the connection (p2p.peer_silent,
// p2p.peer_not_reading).
//
// Threads: every callback runs on cc-net and must not block (post heavy work elsewhere).
// dial/send/disconnect/connection_count are safe from any thread, including from callbacks.
// stop() must not be called from a callback (it joins cc-net).
//
// Close reasons (Error.code): the handshake's (handshake.h), the framing's (frame.h), and
// p2p.connect_failed, p2p.bind_failed, p2p.resolve_failed, p2p.handshake_timeout,
// p2p.connection_lost (EOF/reset), p2p.peer_disconnected (the peer said why; message quotes it),
// p2p.unknown_code, p2p.peer_silent, p2p.peer_not_reading, p2p.rejected (owner's
// on_established said no), p2p.local_disconnect (owner's disconnect()), p2p.shutdown.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "crypto/nodekey.h"
#include "crypto/secp256k1.h"
#include "p2p/kni.h"
#include "p2p/wire.h"
#include "util/bytes.h"
#include "util/result.h"

namespace cc::p2p {

using ConnId = std::uint64_t;

struct TransportConfig {
  NodeType node_type = NodeType::kCN;
  // Listener. Port 0 lets the OS pick (tests); listen_port() tells which one it picked.
  bool listen = true;
  std::string listen_ip = "0.0.0.0";
  std::uint16_t listen_port = 32323;
  // Outgoing sockets are bound to this IP before connect, so peers' IP allow-lists see the
  // cell's address (and on one machine each node can dial from its own 127.0.0.x). Empty: the
  // OS picks.
  std::string dial_source_ip;
  // Port announced in Hello; 0 = the bound listen port.
  std::uint16_t advertised_port = 0;

  std::chrono::milliseconds handshake_timeout{5000};
  std::chrono::milliseconds ping_interval{1000};
  std::chrono::milliseconds dead_after{4000};
  // After a close we tell the peer why; this bounds how long the socket waits for that to go.
  std::chrono::milliseconds close_linger{500};

  std::size_t max_frame_size = kDefaultMaxFrameSize;
  // Bytes of frames waiting to be written per connection; send() beyond it is refused.
  std::size_t max_send_queue_bytes = std::size_t{64} << 20;
  // Inbound connections still in their handshake; more are closed at accept.
  std::size_t max_pending_handshakes = 64;
};

struct PeerInfo {
  ConnId id = 0;
  crypto::PublicKey node_id{};
  NodeType type = NodeType::kCN;
  bool inbound = false;
  std::string remote_ip;  // as seen on the socket (the allow-list input)
  std::uint16_t remote_port = 0;
  std::uint16_t listen_port = 0;  // what the peer announced in its Hello
};

struct CloseInfo {
  ConnId id = 0;
  bool inbound = false;
  std::string remote_ip;  // empty when a dial never got an address
  std::uint16_t remote_port = 0;
  std::optional<PeerInfo> peer;  // set when the handshake had completed
  Error reason;
};

struct TransportCallbacks {
  // Optional: an inbound socket from remote_ip, before any byte is read; an Error closes it.
  std::function<Status(const std::string& remote_ip)> on_accept;
  // Optional: the handshake completed; an Error refuses the peer (code p2p.rejected, the
  // Error's message sent to the peer and passed to on_closed).
  std::function<Status(const PeerInfo& peer)> on_established;
  std::function<void(const PeerInfo& peer, std::uint8_t code, Bytes payload)> on_message;
  std::function<void(const CloseInfo& info)> on_closed;
};

struct DialTarget {
  std::string host;  // IP literal or DNS name (resolved on cc-net)
  std::uint16_t port = 0;
  crypto::PublicKey node_id{};  // the peer must prove this identity, or the dial fails
};

class Transport {
 public:
  Transport(crypto::NodeIdentity identity, TransportConfig config, TransportCallbacks callbacks);
  ~Transport();  // stop()
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Validates the config, binds the listener and starts cc-net. Errors: p2p.config,
  // p2p.listen_failed (names ip:port and the OS reason). A Transport starts at most once.
  [[nodiscard]] Status start();
  // Closes every connection (on_closed with p2p.shutdown), stops listening, joins cc-net.
  // Idempotent.
  void stop();

  [[nodiscard]] std::uint16_t listen_port() const;

  // Starts a dial; the outcome arrives as on_established or on_closed for the returned id.
  // Errors: p2p.not_running, p2p.bad_target.
  [[nodiscard]] Result<ConnId> dial(const DialTarget& target);
  [[nodiscard]] Result<ConnId> dial(const KniUrl& url);

  // Queues an application message (code >= kFirstApplicationCode). Errors: p2p.unknown_peer
  // (closed or never existed), p2p.not_established, p2p.reserved_code, p2p.message_too_large,
  // p2p.send_queue_full (the peer is not keeping up; the message is dropped, the connection
  // stays). Messages to one peer from one thread arrive in order.
  [[nodiscard]] Status send(ConnId id, std::uint8_t code, ByteView payload);

  // Closes a connection, telling the peer `reason` (p2p.local_disconnect). No-op if unknown.
  void disconnect(ConnId id, const std::string& reason);

  // Connections not yet closed (handshaking or established).
  [[nodiscard]] std::size_t connection_count() const;

  // Offline: the listener closed (nothing accepts at listen_ip:port any more) and every
  // connection closed telling the peer `reason`; dial() refuses (p2p.offline) until back
  // online, which binds the same address and port again (p2p.listen_failed when another process
  // holds it now: still offline then). A validator whose signing permit lapsed goes offline so
  // that its successor can take the cell's address and its peers (issue #17). Idempotent.
  [[nodiscard]] Status set_offline(bool offline, const std::string& reason);
  [[nodiscard]] bool offline() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cc::p2p
