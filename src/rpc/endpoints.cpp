#include "rpc/endpoints.h"

#include <set>
#include <string>

#include "rpc/http_server.h"
#include "rpc/jsonrpc.h"
#include "rpc/kaia_api.h"
#include "rpc/metrics.h"
#include "util/log.h"

namespace cc::rpc {

namespace {

using json = nlohmann::json;

// How long a health or metrics request waits for the node before answering 503.
constexpr auto kStatusTimeout = std::chrono::seconds(3);

bool is_json_content_type(const std::string& content_type) {
  if (content_type.empty()) return true;  // curl -d without -H; geth is as lenient
  return content_type.rfind("application/json", 0) == 0;
}

HttpReply json_reply(int status, const json& body) {
  return HttpReply{status, "application/json", body.dump() + "\n"};
}

}  // namespace

struct Endpoints::Impl {
  Dispatcher dispatcher;
  std::unique_ptr<HttpServer> rpc;
  std::unique_ptr<HttpServer> metrics;
};

Endpoints::Endpoints(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Endpoints::~Endpoints() { stop(); }

Result<std::unique_ptr<Endpoints>> Endpoints::start(node::Service& service,
                                                    const node::NodeConfig& config) {
  auto impl = std::make_unique<Impl>();
  Impl* self = impl.get();
  if (config.rpc_enable) {
    register_node_api(self->dispatcher, service);
    self->dispatcher.enable_namespaces(
        std::set<std::string>(config.rpc_api.begin(), config.rpc_api.end()));
    HttpLimits limits;
    limits.max_body_bytes = self->dispatcher.limits().max_body_bytes;
    self->rpc = std::make_unique<HttpServer>("rpc", limits);
    self->rpc->post("/", [self](const HttpRequest& req) -> HttpReply {
      if (!is_json_content_type(req.content_type)) {
        return HttpReply{415, "text/plain",
                         "unsupported content type \"" + req.content_type +
                             "\": JSON-RPC requests are application/json\n"};
      }
      auto response = self->dispatcher.handle(req.body);
      return HttpReply{200, "application/json", response ? *response : std::string()};
    });
    CC_TRY_STATUS(self->rpc->start(config.rpc_addr, config.rpc_port, "RPC_ADDR/RPC_PORT"));
  }
  if (config.prometheus) {
    self->metrics = std::make_unique<HttpServer>("metrics");
    node::Service* svc = &service;
    auto status = [svc]() {
      return svc->call([](node::NodeAccess& a) { return a.status(); }, kStatusTimeout);
    };
    self->metrics->get("/metrics", [status](const HttpRequest&) -> HttpReply {
      auto st = status();
      if (!st.ok()) return HttpReply{503, "text/plain", st.error().message + "\n"};
      return HttpReply{200, std::string(metrics_content_type()), render_metrics(*st)};
    });
    auto health = [status](HealthReply (*verdict)(const json&)) {
      return [status, verdict](const HttpRequest&) -> HttpReply {
        auto st = status();
        if (!st.ok()) {
          return json_reply(503, {{"status", "unavailable"}, {"reason", st.error().message}});
        }
        auto reply = verdict(*st);
        return json_reply(reply.http_status, reply.body);
      };
    };
    self->metrics->get("/health/live", health(&liveness));
    self->metrics->get("/health/ready", health(&readiness));
    self->metrics->get("/health/role", health(&role));
    CC_TRY_STATUS(self->metrics->start(config.prometheus_addr, config.prometheus_port,
                                       "PROMETHEUS_ADDR/PROMETHEUS_PORT"));
  }
  if (config.ws_enable) {
    logger("rpc")->warn(
        "WS_ENABLE=1: corecell serves JSON-RPC over HTTP only; no WebSocket "
        "listener is started on {}:{}",
        config.ws_addr, config.ws_port);
  }
  return std::unique_ptr<Endpoints>(new Endpoints(std::move(impl)));
}

void Endpoints::stop() {
  if (!impl_) return;
  if (impl_->rpc) impl_->rpc->stop();
  if (impl_->metrics) impl_->metrics->stop();
}

std::uint16_t Endpoints::rpc_port() const { return impl_->rpc ? impl_->rpc->port() : 0; }

std::uint16_t Endpoints::metrics_port() const {
  return impl_->metrics ? impl_->metrics->port() : 0;
}

}  // namespace cc::rpc
