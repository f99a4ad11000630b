// rpc/http_server.h — owns the node's HTTP listeners (JSON-RPC on RPC_ADDR:RPC_PORT; metrics and
// health on PROMETHEUS_ADDR:PROMETHEUS_PORT): cpp-httplib's server with corecell's limits around
// it, so that no client can take the node down or starve the others:
//   - a body announced (Content-Length) above max_body_bytes is refused (413) before any of it
//     is read, and the connection closed;
//   - a client that sends nothing for read_timeout gets 408/400 and its connection is closed,
//     which frees its worker (slowloris);
//   - each client IP gets a token bucket (429 when it is empty), so one flooding client cannot
//     occupy every worker;
//   - requests run on `threads` workers of their own, never on the node's threads; handlers
//     reach the node through node::Service::call, which bounds how long they wait for it.
// What it cannot do (cpp-httplib 0.11 hands a connection to a worker before anything is read):
// cap the connections of one client IP. `threads` stalled connections delay other clients for
// up to read_timeout; expose RPC beyond localhost only behind a proxy that limits connections.
// Routes are registered before start(); handlers run on the workers and must be thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "util/result.h"

namespace cc::rpc {

struct HttpLimits {
  std::size_t max_body_bytes = std::size_t{5} * 1024 * 1024;  // Kaia/geth's HTTP body limit
  // A client silent this long mid-request gets 400; an idle kept-alive connection is closed
  // after keep_alive_timeout. Together they bound how long a stalled client holds a worker.
  std::chrono::seconds read_timeout{3};
  std::chrono::seconds write_timeout{5};
  std::chrono::seconds keep_alive_timeout{2};
  std::size_t keep_alive_max_requests = 1000;
  // Workers per listener. A connection holds one while it is open, so this many stalled
  // clients (each freed after read_timeout) are what it takes to delay the others.
  std::size_t threads = 64;
  // Per client IP: sustained requests per second and the burst it may spend at once.
  double requests_per_second = 1000;
  double burst = 2000;
};

struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

struct HttpRequest {
  std::string remote_ip;
  std::string content_type;  // the request's Content-Type header, empty when absent
  std::string body;
};

using HttpHandler = std::function<HttpReply(const HttpRequest& request)>;

class HttpServer {
 public:
  // `name` labels the worker threads and log lines ("rpc", "metrics").
  explicit HttpServer(std::string name, HttpLimits limits = {});
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void get(const std::string& path, HttpHandler handler);
  void post(const std::string& path, HttpHandler handler);

  // Binds addr:port (port 0: the OS picks; see port()) and starts serving on a thread of its
  // own. `config_keys` names the settings in the error ("RPC_ADDR/RPC_PORT"). Error: http.bind.
  [[nodiscard]] Status start(const std::string& addr, std::uint16_t port,
                             const std::string& config_keys);
  // Stops accepting, lets running requests finish, joins the threads. Idempotent.
  void stop();

  [[nodiscard]] std::uint16_t port() const;
  [[nodiscard]] const HttpLimits& limits() const { return limits_; }
  // Requests refused by the per-client rate limit so far.
  [[nodiscard]] std::uint64_t rate_limited() const;

 private:
  struct Impl;
  HttpLimits limits_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cc::rpc
