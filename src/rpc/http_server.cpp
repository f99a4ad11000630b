#include "rpc/http_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/socket.h>

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdint>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

#include "util/log.h"

namespace cc::rpc {

namespace {

using SteadyClock = std::chrono::steady_clock;

// Token buckets per client IP. Forgets idle clients once it holds kMaxClients, so a scan from
// many addresses cannot grow it without bound.
class ClientBuckets {
 public:
  ClientBuckets(double rate, double burst) : rate_(rate), burst_(burst) {}

  bool take(const std::string& ip) {
    const auto now = SteadyClock::now();
    std::lock_guard lock(mu_);
    if (buckets_.size() >= kMaxClients && buckets_.find(ip) == buckets_.end()) prune(now);
    auto [it, fresh] = buckets_.try_emplace(ip, Bucket{burst_, now});
    Bucket& b = it->second;
    if (!fresh) {
      const double elapsed = std::chrono::duration<double>(now - b.last).count();
      b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
      b.last = now;
    }
    if (b.tokens < 1.0) return false;
    b.tokens -= 1.0;
    return true;
  }

 private:
  static constexpr std::size_t kMaxClients = 4096;
  struct Bucket {
    double tokens;
    SteadyClock::time_point last;
  };
  // Drops buckets that have refilled completely: forgetting them changes nothing.
  void prune(SteadyClock::time_point now) {
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      const double elapsed = std::chrono::duration<double>(now - it->second.last).count();
      if (it->second.tokens + elapsed * rate_ >= burst_) {
        it = buckets_.erase(it);
      } else {
        ++it;
      }
    }
    if (buckets_.size() >= kMaxClients) buckets_.clear();  // all busy: start over, fail open
  }

  double rate_;
  double burst_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

// The Content-Length a request announces; 0 when absent, the maximum when unreadable (httplib
// refuses those anyway).
std::uint64_t announced_length(const httplib::Request& req) {
  if (!req.has_header("Content-Length")) return 0;
  const std::string text = req.get_header_value("Content-Length");
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return UINT64_MAX;
  return value;
}

HttpRequest request_of(const httplib::Request& req) {
  return HttpRequest{req.remote_addr, req.get_header_value("Content-Type"), req.body};
}

void send(httplib::Response& res, const HttpReply& reply) {
  res.status = reply.status;
  res.set_content(reply.body, reply.content_type);
}

}  // namespace

struct HttpServer::Impl {
  Impl(std::string server_name, const HttpLimits& limits)
      : name(std::move(server_name)),
        buckets(limits.requests_per_second, limits.burst),
        log(logger(name)) {}

  std::string name;
  httplib::Server server;
  ClientBuckets buckets;
  std::atomic<std::uint64_t> limited{0};
  std::thread thread;
  int bound_port = 0;
  std::shared_ptr<spdlog::logger> log;
};

HttpServer::HttpServer(std::string name, HttpLimits limits)
    : limits_(limits), impl_(std::make_unique<Impl>(std::move(name), limits_)) {
  auto& srv = impl_->server;
  const std::size_t threads = std::max<std::size_t>(1, limits_.threads);
  srv.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // Replies go out as headers then body: without TCP_NODELAY, Nagle holds the body until the
  // client's delayed ACK (~40 ms) on every kept-alive request. Accepted sockets inherit it.
  srv.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
  });
  srv.set_payload_max_length(limits_.max_body_bytes);
  srv.set_read_timeout(limits_.read_timeout);
  srv.set_write_timeout(limits_.write_timeout);
  srv.set_keep_alive_timeout(limits_.keep_alive_timeout.count());
  srv.set_keep_alive_max_count(limits_.keep_alive_max_requests);
  Impl* impl = impl_.get();
  const std::size_t max_body = limits_.max_body_bytes;
  srv.set_pre_routing_handler([impl, max_body](const httplib::Request& req,
                                               httplib::Response& res) {
    // Runs after the headers and before the body: refuse an oversized body unread (httplib
    // itself would first read and discard all of it) and close, as the rest is still coming.
    if (announced_length(req) > max_body) {
      res.status = 413;
      res.set_header("Connection", "close");
      res.set_content("request body over " + std::to_string(max_body) + " bytes\n", "text/plain");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (impl->buckets.take(req.remote_addr)) return httplib::Server::HandlerResponse::Unhandled;
    impl->limited.fetch_add(1);
    res.status = 429;
    res.set_header("Retry-After", "1");
    res.set_content("too many requests from " + req.remote_addr + "\n", "text/plain");
    return httplib::Server::HandlerResponse::Handled;
  });
  // A request that failed before routing (headers cut off by the read timeout, a malformed
  // request line): close the connection rather than wait keep_alive_timeout for another one.
  srv.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
        if (res.status == 400 || res.status == 408 || res.status == 413 || res.status == 414 ||
            res.status == 431) {
          res.set_header("Connection", "close");
        }
        return httplib::Server::HandlerResponse::Unhandled;
      }));
  srv.set_exception_handler(
      [impl](const httplib::Request& req, httplib::Response& res, const std::exception_ptr& ep) {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        impl->log->error("{} {} from {}: handler failed: {}", req.method, req.path, req.remote_addr,
                         what);
        res.status = 500;
        res.set_content("internal error\n", "text/plain");
      });
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::get(const std::string& path, HttpHandler handler) {
  impl_->server.Get(path,
                    [h = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
                      send(res, h(request_of(req)));
                    });
}

void HttpServer::post(const std::string& path, HttpHandler handler) {
  impl_->server.Post(path,
                     [h = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
                       send(res, h(request_of(req)));
                     });
}

Status HttpServer::start(const std::string& addr, std::uint16_t port,
                         const std::string& config_keys) {
  auto& srv = impl_->server;
  int bound = 0;
  if (port == 0) {
    bound = srv.bind_to_any_port(addr);
  } else {
    bound = srv.bind_to_port(addr, port) ? port : -1;
  }
  if (bound <= 0) {
    return Error{"http.bind", "cannot listen on " + addr + ":" + std::to_string(port) + " (" +
                                  config_keys +
                                  "): the address is in use or not on this machine; choose "
                                  "another port or address"};
  }
  impl_->bound_port = bound;
  Impl* impl = impl_.get();
  impl_->thread = std::thread([impl] {
    const std::string tname = "cc-" + impl->name;
    pthread_setname_np(pthread_self(), tname.substr(0, 15).c_str());
    if (!impl->server.listen_after_bind()) impl->log->error("{} listener stopped", impl->name);
  });
  impl_->log->info("{} listening on http://{}:{}", impl_->name, addr, bound);
  return ok_status();
}

void HttpServer::stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  impl_->server.stop();
  impl_->thread.join();
}

std::uint16_t HttpServer::port() const { return static_cast<std::uint16_t>(impl_->bound_port); }

std::uint64_t HttpServer::rate_limited() const { return impl_->limited.load(); }

}  // namespace cc::rpc
