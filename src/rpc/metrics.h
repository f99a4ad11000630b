// rpc/metrics.h — owns what a node tells its monitoring: the Prometheus text exposition (format
// 0.0.4) of its status, and the verdicts of its HTTP health endpoints (Patroni's /liveness,
// /readiness and /role are the model). Both are pure functions of the status JSON the node
// service builds (node/service.cpp status_json(), with node/validator.cpp's "consensus"); no
// sockets, threads or clocks: the HTTP server (PROMETHEUS_ADDR:PROMETHEUS_PORT, GET /metrics,
// /health/live, /health/ready, /health/role) asks the node for its status and sends back what
// these return. docs/METRICS.md lists every metric.
//
// The status is our own node's, but it is read defensively: every field is type-checked, and a
// missing, null or wrong-typed field omits the metrics built from it (a PN has no "consensus")
// instead of throwing. Nothing here ever throws on any JSON value.
//
// Metric names: Kaia's klaytn_ names where Kaia has one (dashboards and alerts written for Kaia
// nodes keep working), corecell's own under corecell_. Kaia's names predate Prometheus' naming
// lint (camelCase, "_gauge" in a gauge's name); they are kept as Kaia spells them.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace cc::rpc {

// The exposition of `status`: each family once, with # HELP and # TYPE, counters named *_total,
// label values escaped. A non-object status gives an empty exposition.
[[nodiscard]] std::string render_metrics(const nlohmann::json& status);

// The Content-Type of render_metrics()'s text: "text/plain; version=0.0.4; charset=utf-8".
[[nodiscard]] std::string_view metrics_content_type();

struct HealthReply {
  int http_status = 503;
  nlohmann::json body;  // a JSON object, sent as application/json
};

// GET /health/live: 200 {"status":"alive","role":..,"head":N} while the node answers, i.e. for
// any status object; the server passes null when the node did not answer, which is a 503.
[[nodiscard]] HealthReply liveness(const nlohmann::json& status);

// GET /health/ready: 200 when the node can serve current data: "in_sync" is true and it has a
// peer (a sole council validator, council_size 1, needs none). Otherwise 503 with "reasons"
// (syncing, lag N blocks, no peers, in_sync false or unknown). in_sync is the verdict; syncing and
// lag only explain a negative one. Fails closed: an unknown in_sync is not ready.
[[nodiscard]] HealthReply readiness(const nlohmann::json& status);

// GET /health/role: 200 {"role":"validator"|"standby"|"proxy"|"endpoint"}: a CN in the council
// ("validator": true) is "validator", a CN outside it "standby", a PN "proxy", an EN "endpoint".
// The body also has "node_role" (cn/pn/en) and, on a council CN, "signing_permit" (whether it
// holds a signing permit: an HA standby sharing the nodekey is a "validator" without one). A role
// that cannot be told from the status is a 503 {"role":"unknown"}.
[[nodiscard]] HealthReply role(const nlohmann::json& status);

}  // namespace cc::rpc
