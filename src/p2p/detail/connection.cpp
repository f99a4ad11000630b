#include "p2p/detail/connection.h"

#include <algorithm>
#include <utility>

#include "util/log.h"

namespace cc::p2p::detail {
namespace {

using asio::ip::tcp;

std::shared_ptr<spdlog::logger> log() {
  static const auto lg = cc::logger("p2p");
  return lg;
}

long long ms(std::chrono::steady_clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

// Peer-chosen text goes into our logs: printable ASCII only, bounded.
std::string sanitize_reason(ByteView text) {
  std::string out;
  const std::size_t n = std::min(text.size(), kMaxReasonSize);
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = text[i];
    out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  }
  return out;
}

// A read buffer this large is released after use rather than kept per idle connection.
constexpr std::size_t kKeepReadBufferBytes = std::size_t{1} << 20;

}  // namespace

Connection::Connection(asio::io_context& io, ConnectionOwner& owner,
                       const crypto::NodeIdentity& identity, const TransportConfig& config,
                       std::uint16_t advertised_port, ConnId id, bool inbound)
    : io_(io),
      owner_(owner),
      identity_(identity),
      config_(config),
      advertised_port_(advertised_port),
      id_(id),
      inbound_(inbound),
      socket_(io),
      resolver_(io),
      deadline_(io),
      keepalive_(io) {
  info_.id = id;
  info_.inbound = inbound;
}

void Connection::start_inbound(tcp::socket socket) {
  socket_ = std::move(socket);
  if (closed_) {
    shutdown_socket();
    return;
  }
  asio::error_code ec;
  auto remote = socket_.remote_endpoint(ec);
  if (ec) {
    close(io_error(ec, "accept"), false);
    return;
  }
  remote_ip_ = remote.address().to_string();
  remote_port_ = remote.port();
  arm_deadline();
  begin_handshake();
}

void Connection::start_outbound(const DialTarget& target,
                                const std::optional<asio::ip::address>& source) {
  expected_peer_ = target.node_id;
  if (closed_) return;  // disconnect() ran before the dial started
  arm_deadline();
  asio::error_code ec;
  auto ip = asio::ip::make_address(target.host, ec);
  if (!ec) {
    connect_to(tcp::endpoint(ip, target.port), source);
    return;
  }
  auto self = shared_from_this();
  resolver_.async_resolve(
      target.host, std::to_string(target.port),
      [self, source, host = target.host](const asio::error_code& rec,
                                         const tcp::resolver::results_type& results) {
        if (self->closed_) return;
        if (rec || results.empty()) {
          self->close(make_error("p2p.resolve_failed",
                                 "cannot resolve host '" + host +
                                     "': " + (rec ? rec.message() : std::string("no addresses"))),
                      false);
          return;
        }
        // With a source IP, only an address of the same family can be reached from it.
        for (const auto& entry : results) {
          if (!source || entry.endpoint().address().is_v4() == source->is_v4()) {
            self->connect_to(entry.endpoint(), source);
            return;
          }
        }
        self->close(make_error("p2p.resolve_failed", "host '" + host +
                                                         "' has no address of the source IP's "
                                                         "family (" +
                                                         source->to_string() + ")"),
                    false);
      });
}

void Connection::connect_to(const tcp::endpoint& remote, std::optional<asio::ip::address> source) {
  remote_ip_ = remote.address().to_string();
  remote_port_ = remote.port();
  asio::error_code ec;
  socket_.open(remote.protocol(), ec);
  if (ec) {
    close(make_error("p2p.connect_failed",
                     "cannot open a socket to " + describe() + ": " + ec.message()),
          false);
    return;
  }
  if (source) {
    if (source->is_v4() != remote.address().is_v4()) {
      close(make_error("p2p.bind_failed", "source IP " + source->to_string() + " and target " +
                                              remote_ip_ + " are of different IP families"),
            false);
      return;
    }
    socket_.bind(tcp::endpoint(*source, 0), ec);
    if (ec) {
      close(make_error("p2p.bind_failed", "cannot bind source IP " + source->to_string() + ": " +
                                              ec.message() +
                                              "; is that address configured on this host?"),
            false);
      return;
    }
  }
  auto self = shared_from_this();
  socket_.async_connect(remote, [self](const asio::error_code& cec) {
    if (self->closed_) return;
    if (cec) {
      self->close(make_error("p2p.connect_failed", "cannot connect to " + self->remote_ip_ + ":" +
                                                       std::to_string(self->remote_port_) + ": " +
                                                       cec.message()),
                  false);
      return;
    }
    self->begin_handshake();
  });
}

void Connection::begin_handshake() {
  // Frames are written whole; Nagle would only delay small consensus messages by an ACK.
  asio::error_code ec;
  socket_.set_option(tcp::no_delay(true), ec);
  HandshakeParams params;
  params.role = inbound_ ? Role::kResponder : Role::kInitiator;
  params.our_type = config_.node_type;
  params.listen_port = advertised_port_;
  params.expected_peer = expected_peer_;
  handshake_.emplace(identity_.key, params);
  write_raw(handshake_->initial_bytes(), 0);
  read_handshake();
}

void Connection::read_handshake() {
  read_buf_.resize(handshake_->bytes_wanted());
  auto self = shared_from_this();
  asio::async_read(socket_, asio::buffer(read_buf_),
                   [self](const asio::error_code& ec, std::size_t) {
                     if (self->closed_) return;
                     if (ec) {
                       self->close(self->io_error(ec, "handshake"), false);
                       return;
                     }
                     auto reply = self->handshake_->feed(self->read_buf_);
                     if (!reply.ok()) {
                       self->close(reply.error(), false);
                       return;
                     }
                     if (!reply->empty()) self->write_raw(std::move(*reply), 0);
                     if (self->handshake_->done()) {
                       self->on_handshake_done();
                     } else {
                       self->read_handshake();
                     }
                   });
}

void Connection::on_handshake_done() {
  deadline_.cancel();
  const HandshakeOutcome& out = handshake_->outcome();
  sealer_.emplace(out.keys.send, config_.max_frame_size);
  opener_.emplace(out.keys.recv, config_.max_frame_size);
  info_.node_id = out.peer_id;
  info_.type = out.peer_type;
  info_.remote_ip = remote_ip_;
  info_.remote_port = remote_port_;
  info_.listen_port = out.peer_listen_port;
  established_ = true;
  last_rx_ = Clock::now();
  // Open before the callback so the owner can send its first message from inside it (and from
  // any thread the moment it learns the peer exists).
  open_for_send_ = true;

  Status verdict = owner_.on_connection_established(info_);
  if (!verdict.ok()) {
    close(make_error("p2p.rejected", verdict.error().message), true);
    return;
  }
  log()->info("peer connected: {} type={} conn={}", describe(), node_type_name(info_.type), id_);
  arm_keepalive();
  read_frame_header();
}

void Connection::read_frame_header() {
  auto self = shared_from_this();
  asio::async_read(socket_, asio::buffer(header_buf_),
                   [self](const asio::error_code& ec, std::size_t) {
                     if (self->closed_) return;
                     if (ec) {
                       self->close(self->io_error(ec, "read"), false);
                       return;
                     }
                     auto length = self->opener_->read_header(self->header_buf_);
                     if (!length.ok()) {
                       self->close(length.error(), true);
                       return;
                     }
                     self->read_frame_body(*length);
                   });
}

void Connection::read_frame_body(std::size_t length) {
  read_buf_.resize(length);
  auto self = shared_from_this();
  asio::async_read(socket_, asio::buffer(read_buf_),
                   [self](const asio::error_code& ec, std::size_t) {
                     if (self->closed_) return;
                     if (ec) {
                       self->close(self->io_error(ec, "read"), false);
                       return;
                     }
                     auto msg = self->opener_->open(self->header_buf_, self->read_buf_);
                     if (self->read_buf_.capacity() > kKeepReadBufferBytes)
                       Bytes().swap(self->read_buf_);
                     if (!msg.ok()) {
                       self->close(msg.error(), true);
                       return;
                     }
                     self->last_rx_ = Clock::now();
                     self->dispatch(std::move(*msg));
                     if (!self->closed_) self->read_frame_header();
                   });
}

void Connection::dispatch(Message msg) {
  switch (msg.code) {
    case kCodeDisconnect:
      close(make_error("p2p.peer_disconnected",
                       "peer closed the connection: " + sanitize_reason(msg.payload)),
            false);
      return;
    case kCodePing:
      send_control(kCodePong, {});
      return;
    case kCodePong:
      return;
    default:
      break;
  }
  if (msg.code < kFirstApplicationCode) {
    close(make_error("p2p.unknown_code", "peer sent reserved message code " +
                                             std::to_string(msg.code) +
                                             " that this version does not know"),
          true);
    return;
  }
  owner_.on_connection_message(info_, msg.code, std::move(msg.payload));
}

void Connection::arm_deadline() {
  deadline_.expires_after(config_.handshake_timeout);
  auto self = shared_from_this();
  deadline_.async_wait([self](const asio::error_code& ec) {
    if (ec || self->closed_ || self->established_) return;
    std::string stage = !self->handshake_ ? "connecting" : "waiting for the peer's handshake";
    self->close(make_error("p2p.handshake_timeout",
                           "no completed handshake within " +
                               std::to_string(self->config_.handshake_timeout.count()) + " ms (" +
                               stage + ")"),
                false);
  });
}

void Connection::arm_keepalive() {
  keepalive_.expires_after(config_.ping_interval);
  auto self = shared_from_this();
  keepalive_.async_wait([self](const asio::error_code& ec) {
    if (ec || self->closed_) return;
    self->on_keepalive();
  });
}

void Connection::on_keepalive() {
  const auto now = Clock::now();
  if (now - last_rx_ > config_.dead_after) {
    close(make_error("p2p.peer_silent", "no frame from the peer for " +
                                            std::to_string(ms(now - last_rx_)) + " ms (limit " +
                                            std::to_string(config_.dead_after.count()) +
                                            " ms); peer dead or network down"),
          true);
    return;
  }
  if (writing_ && now - write_started_ > config_.dead_after) {
    close(make_error("p2p.peer_not_reading",
                     "a write to the peer has been stuck for " +
                         std::to_string(ms(now - write_started_)) + " ms (limit " +
                         std::to_string(config_.dead_after.count()) + " ms)"),
          false);
    return;
  }
  send_control(kCodePing, {});
  arm_keepalive();
}

Status Connection::enqueue(std::uint8_t code, ByteView payload) {
  if (code < kFirstApplicationCode) {
    return make_error("p2p.reserved_code", "message code " + std::to_string(code) +
                                               " is reserved for the transport (use >= " +
                                               std::to_string(kFirstApplicationCode) + ")");
  }
  if (!open_for_send_) {
    return make_error("p2p.not_established",
                      "connection " + std::to_string(id_) + " has no completed handshake");
  }
  const std::size_t max_payload = config_.max_frame_size - kFrameMinLength;
  if (payload.size() > max_payload) {
    return make_error("p2p.message_too_large", "message of " + std::to_string(payload.size()) +
                                                   " bytes exceeds the maximum payload of " +
                                                   std::to_string(max_payload) + " bytes");
  }
  const std::size_t cost = payload.size() + kFrameOverhead;
  const std::size_t before = queued_bytes_.fetch_add(cost);
  if (before + cost > config_.max_send_queue_bytes) {
    queued_bytes_.fetch_sub(cost);
    return make_error("p2p.send_queue_full", "send queue to connection " + std::to_string(id_) +
                                                 " holds " + std::to_string(before) +
                                                 " bytes (limit " +
                                                 std::to_string(config_.max_send_queue_bytes) +
                                                 "); the peer is not keeping up, message dropped");
  }
  asio::post(io_, [self = shared_from_this(), code, data = Bytes(payload.begin(), payload.end()),
                   cost] { self->send_sealed(code, data, cost); });
  return ok_status();
}

void Connection::send_control(std::uint8_t code, ByteView payload) {
  auto frame = sealer_->seal(code, payload);
  if (!frame.ok()) {
    close(frame.error(), false);
    return;
  }
  write_raw(std::move(*frame), 0);
}

void Connection::send_sealed(std::uint8_t code, const Bytes& payload, std::size_t cost) {
  if (closed_) {
    queued_bytes_.fetch_sub(cost);
    return;
  }
  auto frame = sealer_->seal(code, payload);
  if (!frame.ok()) {
    queued_bytes_.fetch_sub(cost);
    close(frame.error(), false);
    return;
  }
  write_raw(std::move(*frame), cost);
}

void Connection::write_raw(Bytes bytes, std::size_t cost) {
  write_queue_.push_back(Pending{std::move(bytes), cost});
  if (!writing_) write_next();
}

void Connection::write_next() {
  if (write_queue_.empty()) {
    writing_ = false;
    if (closed_) shutdown_socket();  // the disconnect frame (if any) went out
    return;
  }
  writing_ = true;
  write_started_ = Clock::now();
  auto self = shared_from_this();
  asio::async_write(socket_, asio::buffer(write_queue_.front().bytes),
                    [self](const asio::error_code& ec, std::size_t) {
                      self->queued_bytes_.fetch_sub(self->write_queue_.front().cost);
                      self->write_queue_.pop_front();
                      if (ec) {
                        self->writing_ = false;
                        if (self->closed_) {
                          self->shutdown_socket();
                        } else {
                          self->close(self->io_error(ec, "write"), false);
                        }
                        return;
                      }
                      self->write_next();
                    });
}

void Connection::close(Error reason, bool tell_peer) {
  if (closed_) return;
  closed_ = true;
  open_for_send_ = false;
  const bool was_established = established_;
  deadline_.cancel();
  keepalive_.cancel();
  resolver_.cancel();

  if (reason.code == "p2p.rejected") {
    // The owner refused the peer and logs its own policy decision (rate-limited if it wants).
    log()->debug("peer refused: {} conn={}: {}", describe(), id_, reason.message);
  } else if (was_established) {
    log()->info("peer disconnected: {} conn={} reason={}: {}", describe(), id_, reason.code,
                reason.message);
  } else if (inbound_) {
    // Anyone can open sockets to us: failed inbound handshakes stay at debug level.
    log()->debug("inbound handshake failed: {} conn={} reason={}: {}", describe(), id_, reason.code,
                 reason.message);
  } else {
    // Debug: the owner (PeerManager) redials static nodes forever and warns once per streak.
    log()->debug("dial failed: {} conn={} reason={}: {}", describe(), id_, reason.code,
                 reason.message);
  }

  CloseInfo info;
  info.id = id_;
  info.inbound = inbound_;
  info.remote_ip = remote_ip_;
  info.remote_port = remote_port_;
  if (was_established) info.peer = info_;
  info.reason = reason;

  // Queued application frames are dropped; a frame being written finishes first so the
  // disconnect frame that follows it is readable.
  if (!write_queue_.empty()) {
    const std::size_t keep = writing_ ? 1 : 0;
    for (std::size_t i = keep; i < write_queue_.size(); ++i) {
      queued_bytes_.fetch_sub(write_queue_[i].cost);
    }
    write_queue_.resize(keep);
  }
  bool lingering = false;
  if (tell_peer && sealer_) {
    const std::string text = reason.message.substr(0, kMaxReasonSize);
    auto frame = sealer_->seal(kCodeDisconnect, view(text));
    if (frame.ok()) {
      write_raw(std::move(*frame), 0);
      lingering = true;
      deadline_.expires_after(config_.close_linger);
      auto self = shared_from_this();
      deadline_.async_wait([self](const asio::error_code& ec) {
        if (!ec) self->shutdown_socket();
      });
    }
  }
  if (!lingering) shutdown_socket();  // nothing more to say: abort any write in flight

  owner_.on_connection_closed(info, was_established);
}

void Connection::shutdown_socket() {
  asio::error_code ec;
  deadline_.cancel();
  if (socket_.is_open()) {
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }
}

std::string Connection::describe() const {
  std::string s = inbound_ ? "inbound " : "outbound ";
  s += remote_ip_.empty() ? std::string("?") : remote_ip_ + ":" + std::to_string(remote_port_);
  if (established_) {
    s += " node " + short_node_id(info_.node_id);
  } else if (expected_peer_) {
    s += " expecting node " + short_node_id(*expected_peer_);
  }
  return s;
}

Error Connection::io_error(const asio::error_code& ec, const char* during) const {
  if (ec == asio::error::eof || ec == asio::error::connection_reset) {
    return make_error("p2p.connection_lost",
                      std::string("peer closed the connection during ") + during);
  }
  return make_error("p2p.connection_lost",
                    std::string("socket error during ") + during + ": " + ec.message());
}

}  // namespace cc::p2p::detail
