// rpc/http_server.h — owns the node's HTTP listeners (JSON-RPC on RPC_ADDR:RPC_PORT; metrics and
// health on PROMETHEUS_ADDR:PROMETHEUS_PORT): cpp-httplib's server with corecell's limits around
// it, so that no client can take the node down or starve the others:
//   - bodies above max_body_bytes are refused (413) before they are read whole;
//   - a client that sends nothing for read_timeout loses its connection (slowloris);
//   - each client IP gets a token bucket (429 when it is empty), so one flooding client cannot
//     occupy every worker;
//   - requests run on `threads` workers of their own, never on the node's threads; handlers
//     reach the node through node::Service::call, which bounds how long they wait for it.
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
  std::chrono::seconds read_timeout{5};
  std::chrono::seconds write_timeout{5};
  std::chrono::seconds keep_alive_timeout{5};
  std::size_t keep_alive_max_requests = 1000;
  std::size_t threads = 8;
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
