// p2p/detail/connection.h — owns one TCP connection's I/O for the Transport: connect (with the
// source IP bound first), the handshake reads/writes, the frame read loop, the bounded write
// queue, the handshake deadline, keepalive, and closing with a reason. Private to p2p/: the
// Transport creates connections and is their only ConnectionOwner. Every member except
// enqueue() and the atomics runs on cc-net; it never decides admission (the owner does).
#pragma once

#include <asio.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "crypto/nodekey.h"
#include "p2p/frame.h"
#include "p2p/handshake.h"
#include "p2p/transport.h"
#include "util/bytes.h"
#include "util/result.h"

namespace cc::p2p::detail {

// The Transport side of a connection; called on cc-net only.
class ConnectionOwner {
 public:
  virtual ~ConnectionOwner() = default;
  [[nodiscard]] virtual Status on_connection_established(const PeerInfo& peer) = 0;
  virtual void on_connection_message(const PeerInfo& peer, std::uint8_t code, Bytes payload) = 0;
  // Exactly once per connection.
  virtual void on_connection_closed(const CloseInfo& info, bool was_established) = 0;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Clock = std::chrono::steady_clock;

  Connection(asio::io_context& io, ConnectionOwner& owner, const crypto::NodeIdentity& identity,
             const TransportConfig& config, std::uint16_t advertised_port, ConnId id, bool inbound);

  [[nodiscard]] ConnId id() const { return id_; }
  [[nodiscard]] bool inbound() const { return inbound_; }

  // cc-net: the socket was accepted.
  void start_inbound(asio::ip::tcp::socket socket);
  // cc-net: resolve (if needed), bind the source IP, connect, then handshake.
  void start_outbound(const DialTarget& target, const std::optional<asio::ip::address>& source);
  // cc-net: closes once; tell_peer sends a disconnect frame first when the session is up.
  void close(Error reason, bool tell_peer);

  // Any thread: queues an application message (see Transport::send for the errors).
  [[nodiscard]] Status enqueue(std::uint8_t code, ByteView payload);

 private:
  struct Pending {
    Bytes bytes;
    std::size_t cost = 0;  // bytes counted in queued_bytes_ (0 for handshake/control frames)
  };

  void connect_to(const asio::ip::tcp::endpoint& remote, std::optional<asio::ip::address> source);
  void begin_handshake();
  void read_handshake();
  void on_handshake_done();
  void read_frame_header();
  void read_frame_body(std::size_t length);
  void dispatch(Message msg);
  void arm_deadline();
  void arm_keepalive();
  void on_keepalive();
  void send_control(std::uint8_t code, ByteView payload);
  void send_sealed(std::uint8_t code, const Bytes& payload, std::size_t cost);
  void write_raw(Bytes bytes, std::size_t cost);
  void write_next();
  void shutdown_socket();
  [[nodiscard]] std::string describe() const;  // "inbound 127.0.0.2:40000 node ab12.." for logs
  [[nodiscard]] Error io_error(const asio::error_code& ec, const char* during) const;

  asio::io_context& io_;
  ConnectionOwner& owner_;
  const crypto::NodeIdentity& identity_;
  const TransportConfig& config_;
  const std::uint16_t advertised_port_;
  const ConnId id_;
  const bool inbound_;

  asio::ip::tcp::socket socket_;
  asio::ip::tcp::resolver resolver_;
  asio::steady_timer deadline_;   // handshake deadline, then the close linger
  asio::steady_timer keepalive_;  // ping tick + dead-peer check

  std::optional<crypto::PublicKey> expected_peer_;
  std::optional<Handshake> handshake_;
  std::optional<FrameSealer> sealer_;
  std::optional<FrameOpener> opener_;
  PeerInfo info_;
  std::string remote_ip_;
  std::uint16_t remote_port_ = 0;

  Bytes read_buf_;
  FixedBytes<kFrameHeaderSize> header_buf_{};
  std::deque<Pending> write_queue_;
  bool writing_ = false;
  Clock::time_point write_started_{};
  Clock::time_point last_rx_{};
  bool closed_ = false;       // close() ran (cc-net only)
  bool established_ = false;  // handshake done and owner accepted (cc-net only)

  // Read by enqueue() on other threads.
  std::atomic<bool> open_for_send_{false};
  std::atomic<std::size_t> queued_bytes_{0};
};

}  // namespace cc::p2p::detail
