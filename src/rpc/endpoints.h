// rpc/endpoints.h — owns the HTTP endpoints a running node offers, started and stopped with it:
//   RPC_ENABLE=1            JSON-RPC 2.0 on RPC_ADDR:RPC_PORT (POST /), namespaces from RPC_API
//                           (rpc/kaia_api.h for the methods, rpc/jsonrpc.h for the framing);
//   PROMETHEUS=1            on PROMETHEUS_ADDR:PROMETHEUS_PORT: GET /metrics (Prometheus text,
//                           rpc/metrics.h), /health/live, /health/ready, /health/role.
// Each listener has its own worker threads and limits (rpc/http_server.h); neither ever runs on
// the node's own threads. Stop these before the node::Service they read from.
#pragma once

#include <cstdint>
#include <memory>

#include "node/config.h"
#include "node/service.h"
#include "util/result.h"

namespace cc::rpc {

class Endpoints {
 public:
  // Starts what `config` enables (possibly nothing). Errors name the key and address that failed.
  [[nodiscard]] static Result<std::unique_ptr<Endpoints>> start(node::Service& service,
                                                                const node::NodeConfig& config);
  ~Endpoints();  // stop()
  Endpoints(const Endpoints&) = delete;
  Endpoints& operator=(const Endpoints&) = delete;

  void stop();

  // Bound ports; 0 when that endpoint is off.
  [[nodiscard]] std::uint16_t rpc_port() const;
  [[nodiscard]] std::uint16_t metrics_port() const;

 private:
  struct Impl;
  explicit Endpoints(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cc::rpc
