#include "p2p/transport.h"

#include <pthread.h>

#include <asio.hpp>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "p2p/detail/connection.h"
#include "p2p/frame.h"
#include "util/assert.h"
#include "util/log.h"

namespace cc::p2p {

using asio::ip::tcp;
using detail::Connection;

struct Transport::Impl final : detail::ConnectionOwner {
  Impl(crypto::NodeIdentity id, TransportConfig cfg, TransportCallbacks cbs)
      : identity(id), config(std::move(cfg)), callbacks(std::move(cbs)) {}

  // ConnectionOwner (cc-net)
  Status on_connection_established(const PeerInfo& peer) override {
    if (peer.inbound) --pending_handshakes;
    if (callbacks.on_established) return callbacks.on_established(peer);
    return ok_status();
  }
  void on_connection_message(const PeerInfo& peer, std::uint8_t code, Bytes payload) override {
    if (callbacks.on_message) callbacks.on_message(peer, code, std::move(payload));
  }
  void on_connection_closed(const CloseInfo& info, bool was_established) override {
    if (info.inbound && !was_established) --pending_handshakes;
    {
      std::lock_guard lock(mu);
      conns.erase(info.id);
    }
    if (callbacks.on_closed) callbacks.on_closed(info);
  }

  Status validate_config() const;
  Status open_listener();
  std::size_t close_listener_and_connections(const Error& why);
  void accept_next();
  void on_accepted(tcp::socket socket);
  std::shared_ptr<Connection> find(ConnId id) const {
    std::lock_guard lock(mu);
    auto it = conns.find(id);
    return it == conns.end() ? nullptr : it->second;
  }

  const crypto::NodeIdentity identity;
  const TransportConfig config;
  const TransportCallbacks callbacks;
  std::shared_ptr<spdlog::logger> log = cc::logger("p2p");

  // The io_context is declared before everything that holds sockets so it is destroyed last.
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  tcp::acceptor acceptor{io};
  asio::steady_timer accept_retry{io};
  std::optional<asio::ip::address> source_ip;
  std::uint16_t bound_port = 0;
  std::uint16_t advertised_port = 0;
  std::size_t pending_handshakes = 0;  // cc-net only
  bool stopping = false;               // cc-net only

  std::thread thread;
  std::atomic<bool> started{false};
  std::atomic<bool> running{false};
  std::atomic<bool> offline{false};

  mutable std::mutex mu;  // guards conns and next_id
  std::unordered_map<ConnId, std::shared_ptr<Connection>> conns;
  ConnId next_id = 1;
};

Status Transport::Impl::validate_config() const {
  auto bad = [](const std::string& what) { return make_error("p2p.config", what); };
  if (config.max_frame_size < kFrameMinLength || config.max_frame_size > 0xffffffffu) {
    return bad("max_frame_size must be between " + std::to_string(kFrameMinLength) +
               " and 2^32-1 bytes");
  }
  if (config.max_send_queue_bytes < config.max_frame_size + kFrameHeaderSize) {
    return bad("max_send_queue_bytes (" + std::to_string(config.max_send_queue_bytes) +
               ") must hold at least one maximum frame (" +
               std::to_string(config.max_frame_size + kFrameHeaderSize) + " bytes)");
  }
  if (config.handshake_timeout.count() <= 0 || config.ping_interval.count() <= 0 ||
      config.close_linger.count() < 0) {
    return bad("handshake_timeout and ping_interval must be positive, close_linger >= 0");
  }
  if (config.dead_after <= config.ping_interval) {
    return bad("dead_after (" + std::to_string(config.dead_after.count()) +
               " ms) must exceed ping_interval (" + std::to_string(config.ping_interval.count()) +
               " ms), or live peers would be declared dead");
  }
  return ok_status();
}

// Binds listen_ip:listen_port (the port bound before, when going back online).
Status Transport::Impl::open_listener() {
  asio::error_code ec;
  auto ip = asio::ip::make_address(config.listen_ip, ec);
  if (ec) {
    return make_error("p2p.config", "listen IP '" + config.listen_ip + "' is not an IP address");
  }
  const std::uint16_t port = bound_port != 0 ? bound_port : config.listen_port;
  const tcp::endpoint ep(ip, port);
  const std::string where = config.listen_ip + ":" + std::to_string(port);
  auto fail = [&](const char* step) {
    asio::error_code ignored;
    acceptor.close(ignored);
    return make_error("p2p.listen_failed",
                      std::string("cannot listen on ") + where + " (" + step +
                          "): " + ec.message() +
                          "; is the port used by another process, or the IP not configured "
                          "on this host?");
  };
  if (acceptor.open(ep.protocol(), ec)) return fail("open");
  if (acceptor.set_option(tcp::acceptor::reuse_address(true), ec)) return fail("reuse");
  if (acceptor.bind(ep, ec)) return fail("bind");
  if (acceptor.listen(asio::socket_base::max_listen_connections, ec)) return fail("listen");
  bound_port = acceptor.local_endpoint(ec).port();
  return ok_status();
}

// cc-net: stops accepting and closes every connection, telling each peer `why`; how many.
std::size_t Transport::Impl::close_listener_and_connections(const Error& why) {
  asio::error_code ec;
  acceptor.close(ec);
  accept_retry.cancel();
  std::vector<std::shared_ptr<Connection>> all;
  {
    std::lock_guard lock(mu);
    for (auto& [id, conn] : conns) all.push_back(conn);
  }
  for (auto& conn : all) conn->close(why, true);
  return all.size();
}

void Transport::Impl::accept_next() {
  acceptor.async_accept([this](const asio::error_code& ec, tcp::socket socket) {
    if (stopping || ec == asio::error::operation_aborted) return;
    if (ec) {
      // E.g. out of file descriptors: retry shortly instead of spinning.
      log->warn("accept failed on port {}: {}; retrying in 100 ms", bound_port, ec.message());
      accept_retry.expires_after(std::chrono::milliseconds(100));
      accept_retry.async_wait([this](const asio::error_code& wec) {
        if (!wec && !stopping) accept_next();
      });
      return;
    }
    on_accepted(std::move(socket));
    accept_next();
  });
}

void Transport::Impl::on_accepted(tcp::socket socket) {
  asio::error_code ec;
  auto remote = socket.remote_endpoint(ec);
  if (ec) return;  // already gone
  const std::string ip = remote.address().to_string();
  if (callbacks.on_accept) {
    Status verdict = callbacks.on_accept(ip);
    if (!verdict.ok()) {
      log->debug("inbound connection from {} refused before handshake: {}", ip,
                 verdict.error().message);
      socket.close(ec);
      return;
    }
  }
  if (pending_handshakes >= config.max_pending_handshakes) {
    log->debug("inbound connection from {} dropped: {} handshakes already pending", ip,
               pending_handshakes);
    socket.close(ec);
    return;
  }
  ++pending_handshakes;
  std::shared_ptr<Connection> conn;
  {
    std::lock_guard lock(mu);
    const ConnId id = next_id++;
    conn = std::make_shared<Connection>(io, *this, identity, config, advertised_port, id, true);
    conns.emplace(id, conn);
  }
  conn->start_inbound(std::move(socket));
}

Transport::Transport(crypto::NodeIdentity identity, TransportConfig config,
                     TransportCallbacks callbacks)
    : impl_(std::make_unique<Impl>(identity, std::move(config), std::move(callbacks))) {}

Transport::~Transport() { stop(); }

Status Transport::start() {
  Impl& m = *impl_;
  if (m.started.exchange(true)) {
    return make_error("p2p.config", "a Transport can be started only once; create a new one");
  }
  CC_TRY_STATUS(m.validate_config());
  asio::error_code ec;
  if (!m.config.dial_source_ip.empty()) {
    auto src = asio::ip::make_address(m.config.dial_source_ip, ec);
    if (ec) {
      return make_error("p2p.config",
                        "dial source IP '" + m.config.dial_source_ip + "' is not an IP address");
    }
    m.source_ip = src;
  }
  if (m.config.listen) CC_TRY_STATUS(m.open_listener());
  m.advertised_port = m.config.advertised_port != 0 ? m.config.advertised_port : m.bound_port;
  m.work.emplace(m.io.get_executor());
  if (m.config.listen) m.accept_next();
  m.running = true;
  m.thread = std::thread([&m] {
    pthread_setname_np(pthread_self(), "cc-net");
    for (;;) {
      try {
        m.io.run();
        return;
      } catch (const std::exception& e) {
        // Only an owner callback can throw here; keep the network running.
        m.log->error("exception escaped a p2p callback: {}", e.what());
      }
    }
  });
  if (m.config.listen) {
    m.log->info("p2p listening on {}:{} as {} node {}", m.config.listen_ip, m.bound_port,
                node_type_name(m.config.node_type), short_node_id(m.identity.node_id));
  }
  return ok_status();
}

void Transport::stop() {
  Impl& m = *impl_;
  if (!m.running.exchange(false)) return;
  CC_ASSERT(std::this_thread::get_id() != m.thread.get_id());  // stop() from a callback
  asio::post(m.io, [&m] {
    m.stopping = true;
    (void)m.close_listener_and_connections(make_error("p2p.shutdown", "node shutting down"));
    m.work.reset();  // run() returns once the last linger/write completes
  });
  m.thread.join();
  std::lock_guard lock(m.mu);
  m.conns.clear();  // anything left was posted after the last handler ran
}

std::uint16_t Transport::listen_port() const { return impl_->bound_port; }

Result<ConnId> Transport::dial(const DialTarget& target) {
  Impl& m = *impl_;
  if (!m.running) return make_error("p2p.not_running", "transport is not running; start() it");
  if (m.offline) return make_error("p2p.offline", "this node is offline: it dials no peer");
  if (target.port == 0 || target.host.empty()) {
    return make_error("p2p.bad_target", "dial target needs a host and a non-zero port");
  }
  if (!crypto::validate_public_key(target.node_id).ok()) {
    return make_error("p2p.bad_target", "dial target's node ID " + short_node_id(target.node_id) +
                                            "... is not a secp256k1 public key");
  }
  std::shared_ptr<Connection> conn;
  ConnId id = 0;
  {
    std::lock_guard lock(m.mu);
    id = m.next_id++;
    conn =
        std::make_shared<Connection>(m.io, m, m.identity, m.config, m.advertised_port, id, false);
    m.conns.emplace(id, conn);
  }
  asio::post(m.io, [&m, conn, target] {
    if (m.stopping) {
      conn->close(make_error("p2p.shutdown", "node shutting down"), false);
      return;
    }
    conn->start_outbound(target, m.source_ip);
  });
  return id;
}

Result<ConnId> Transport::dial(const KniUrl& url) {
  return dial(DialTarget{url.host, url.port, url.node_id});
}

Status Transport::send(ConnId id, std::uint8_t code, ByteView payload) {
  auto conn = impl_->find(id);
  if (!conn) {
    return make_error("p2p.unknown_peer",
                      "connection " + std::to_string(id) + " is closed or never existed");
  }
  return conn->enqueue(code, payload);
}

void Transport::disconnect(ConnId id, const std::string& reason) {
  auto conn = impl_->find(id);
  if (!conn) return;
  asio::post(impl_->io,
             [conn, reason] { conn->close(make_error("p2p.local_disconnect", reason), true); });
}

Status Transport::set_offline(bool offline, const std::string& reason) {
  Impl& m = *impl_;
  if (!m.running) return make_error("p2p.not_running", "transport is not running; start() it");
  CC_ASSERT(std::this_thread::get_id() != m.thread.get_id());  // it waits for cc-net
  auto done = std::make_shared<std::promise<Status>>();
  auto result = done->get_future();
  asio::post(m.io, [&m, done, offline, reason] {
    if (m.stopping || offline == m.offline.load()) {
      done->set_value(ok_status());
      return;
    }
    if (offline) {
      m.offline = true;
      const std::size_t closed =
          m.close_listener_and_connections(make_error("p2p.local_disconnect", reason));
      m.log->warn("p2p offline ({}): stopped listening on {}:{} and closed {} connections", reason,
                  m.config.listen_ip, m.bound_port, closed);
      done->set_value(ok_status());
      return;
    }
    if (m.config.listen) {
      if (auto st = m.open_listener(); !st.ok()) {
        done->set_value(st);
        return;
      }
      m.accept_next();
    }
    m.offline = false;
    m.log->info("p2p online again ({}): listening on {}:{}", reason, m.config.listen_ip,
                m.bound_port);
    done->set_value(ok_status());
  });
  // cc-net answers at once unless it is stopping (then the node is going down anyway).
  if (result.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    return make_error("p2p.timeout", "the network thread did not answer within 5 s");
  }
  return result.get();
}

bool Transport::offline() const { return impl_->offline.load(); }

std::size_t Transport::connection_count() const {
  std::lock_guard lock(impl_->mu);
  return impl_->conns.size();
}

}  // namespace cc::p2p
