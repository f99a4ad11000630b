// tests/support/p2p_peer.h — owns the peers tests (and the consensus bench) play on real loopback
// sockets: a Transport with its callbacks recorded (and waitable), and a raw POSIX client that
// speaks the handshake with the pure codec so tests can misbehave after (or during) it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "crypto/nodekey.h"
#include "p2p/frame.h"
#include "p2p/handshake.h"
#include "p2p/transport.h"

namespace cc::p2p::testing {

using namespace std::chrono_literals;

// A payload spelling `s` (tests send readable bytes).
inline Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

inline crypto::NodeIdentity fresh_identity() {
  return crypto::identity_of(crypto::PrivateKey::generate());
}

// Timeouts short enough for tests, long enough for a loaded 2-core machine.
inline TransportConfig test_config(const std::string& ip, NodeType type = NodeType::kCN) {
  TransportConfig c;
  c.node_type = type;
  c.listen_ip = ip;
  c.listen_port = 0;
  c.dial_source_ip = ip;
  c.handshake_timeout = 2000ms;
  c.ping_interval = 100ms;
  c.dead_after = 2000ms;
  c.close_linger = 200ms;
  return c;
}

struct ReceivedMessage {
  crypto::PublicKey from{};
  std::uint8_t code = 0;
  Bytes payload;
};

// A Transport whose callbacks are recorded; wait_* block the test thread until a condition holds.
class RecordingNode {
 public:
  explicit RecordingNode(TransportConfig config, crypto::NodeIdentity id = fresh_identity())
      : identity_(id) {
    TransportCallbacks cb;
    cb.on_accept = [this](const std::string& ip) -> Status {
      std::lock_guard lock(mu_);
      accepted_ips_.push_back(ip);
      if (refuse_accept_) return make_error("test.refused", "refused by test");
      return ok_status();
    };
    cb.on_established = [this](const PeerInfo& p) -> Status {
      std::lock_guard lock(mu_);
      if (greeting_) greeting_status_ = transport_->send(p.id, 0x11, *greeting_);
      established_.push_back(p);
      cv_.notify_all();
      if (!reject_reason_.empty()) return make_error("test.reject", reject_reason_);
      return ok_status();
    };
    cb.on_message = [this](const PeerInfo& p, std::uint8_t code, Bytes payload) {
      if (on_message_hook_) on_message_hook_(p, code, payload);
      std::lock_guard lock(mu_);
      messages_.push_back(ReceivedMessage{p.node_id, code, std::move(payload)});
      cv_.notify_all();
    };
    cb.on_closed = [this](const CloseInfo& info) {
      std::lock_guard lock(mu_);
      closed_.push_back(info);
      cv_.notify_all();
    };
    transport_ = std::make_unique<Transport>(identity_, std::move(config), std::move(cb));
  }

  Transport& transport() { return *transport_; }
  const crypto::NodeIdentity& identity() const { return identity_; }
  std::uint16_t port() const { return transport_->listen_port(); }

  void reject_with(std::string reason) {
    std::lock_guard lock(mu_);
    reject_reason_ = std::move(reason);
  }
  // Sends `payload` (code 0x11) from inside on_established; greeting_status() tells how it went.
  void greet_with(Bytes payload) {
    std::lock_guard lock(mu_);
    greeting_ = std::move(payload);
  }
  Status greeting_status() {
    std::lock_guard lock(mu_);
    return greeting_status_;
  }
  void refuse_accept() {
    std::lock_guard lock(mu_);
    refuse_accept_ = true;
  }
  // Runs on cc-net inside on_message (before it is recorded).
  void set_message_hook(std::function<void(const PeerInfo&, std::uint8_t, const Bytes&)> h) {
    on_message_hook_ = std::move(h);
  }

  bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 5000ms) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, pred);
  }
  bool wait_established(std::size_t n = 1, std::chrono::milliseconds t = 5000ms) {
    return wait_until([&] { return established_.size() >= n; }, t);
  }
  bool wait_closed(std::size_t n = 1, std::chrono::milliseconds t = 5000ms) {
    return wait_until([&] { return closed_.size() >= n; }, t);
  }
  bool wait_messages(std::size_t n, std::chrono::milliseconds t = 5000ms) {
    return wait_until([&] { return messages_.size() >= n; }, t);
  }

  std::vector<PeerInfo> established() {
    std::lock_guard lock(mu_);
    return established_;
  }
  std::vector<CloseInfo> closed() {
    std::lock_guard lock(mu_);
    return closed_;
  }
  std::vector<ReceivedMessage> messages() {
    std::lock_guard lock(mu_);
    return messages_;
  }
  std::vector<std::string> accepted_ips() {
    std::lock_guard lock(mu_);
    return accepted_ips_;
  }

 private:
  crypto::NodeIdentity identity_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<PeerInfo> established_;
  std::vector<CloseInfo> closed_;
  std::vector<ReceivedMessage> messages_;
  std::vector<std::string> accepted_ips_;
  std::string reject_reason_;
  bool refuse_accept_ = false;
  std::optional<Bytes> greeting_;
  Status greeting_status_ = make_error("test.no_greeting", "no greeting sent");
  std::function<void(const PeerInfo&, std::uint8_t, const Bytes&)> on_message_hook_;
  std::unique_ptr<Transport> transport_;  // last: stopped before the recorders go away
};

// A blocking POSIX TCP client with receive timeouts, so a failing test cannot hang.
class RawClient {
 public:
  RawClient() = default;
  ~RawClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  // rcvbuf > 0 shrinks the receive buffer (set before connect so the window follows it).
  bool connect(const std::string& ip, std::uint16_t port, const std::string& source_ip = "",
               int rcvbuf = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return false;
    if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    timeval tv{};
    tv.tv_sec = 5;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (!source_ip.empty()) {
      sockaddr_in src{};
      src.sin_family = AF_INET;
      ::inet_pton(AF_INET, source_ip.c_str(), &src.sin_addr);
      if (::bind(fd_, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) return false;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    ::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
    return ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }

  bool send_all(ByteView data) {
    std::size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  }

  // Exactly n bytes, or nullopt on EOF/error/timeout (5 s).
  std::optional<Bytes> recv_exact(std::size_t n) {
    Bytes out(n);
    std::size_t off = 0;
    while (off < n) {
      ssize_t r = ::recv(fd_, out.data() + off, n - off, 0);
      if (r <= 0) return std::nullopt;
      off += static_cast<std::size_t>(r);
    }
    return out;
  }

  // True when the peer closed (EOF or reset) within the timeout; data before that is skipped.
  bool wait_closed_by_peer() {
    std::uint8_t buf[4096];
    for (;;) {
      ssize_t r = ::recv(fd_, buf, sizeof buf, 0);
      if (r == 0) return true;
      if (r < 0) return errno == ECONNRESET;
    }
  }

  // Runs our side of the handshake with the pure codec; returns the outcome or nullopt.
  std::optional<HandshakeOutcome> handshake(const crypto::NodeIdentity& me, NodeType type,
                                            std::optional<crypto::PublicKey> expect,
                                            Role role = Role::kInitiator) {
    HandshakeParams params;
    params.role = role;
    params.our_type = type;
    params.listen_port = 0;
    params.expected_peer = expect;
    Handshake hs(me.key, params);
    if (!send_all(hs.initial_bytes())) return std::nullopt;
    while (!hs.done()) {
      auto in = recv_exact(hs.bytes_wanted());
      if (!in) return std::nullopt;
      auto reply = hs.feed(*in);
      if (!reply.ok()) return std::nullopt;
      if (!reply->empty() && !send_all(*reply)) return std::nullopt;
    }
    return hs.outcome();
  }

  // Reads one frame with `opener`; nullopt on EOF/error/bad frame.
  std::optional<Message> read_frame(FrameOpener& opener) {
    auto header = recv_exact(kFrameHeaderSize);
    if (!header) return std::nullopt;
    auto len = opener.read_header(*header);
    if (!len.ok()) return std::nullopt;
    auto body = recv_exact(*len);
    if (!body) return std::nullopt;
    auto msg = opener.open(*header, *body);
    if (!msg.ok()) return std::nullopt;
    return std::move(*msg);
  }

 private:
  int fd_ = -1;
};

}  // namespace cc::p2p::testing
