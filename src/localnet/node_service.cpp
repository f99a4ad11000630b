#include "localnet/node_service.h"

#include <signal.h>

#include "localnet/supervisor.h"
#include "util/process.h"

namespace cc::localnet {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

class NodeService final : public ha::ServiceControl {
 public:
  explicit NodeService(LocatedNode n) : n_(std::move(n)) {}

  std::string describe() const override {
    return "localnet node " + n_.name + " of " + n_.manifest.dir.string();
  }

  Status start(const std::vector<std::string>& overrides) override {
    if (!overrides.empty()) {
      return make_error("service.start_failed",
                        describe() + " takes no overrides (edit its conf instead)");
    }
    auto st = localnet_start_node(n_.manifest, node(), 60s);
    if (!st.ok()) return Error{"service.start_failed", st.error().message};
    return ok_status();
  }

  Status stop(std::chrono::milliseconds grace) override {
    auto st = localnet_stop_node(n_.manifest, node(), grace);
    if (!st.ok()) return Error{"service.stop_failed", st.error().message};
    return ok_status();
  }

  Status kill() override { return stop(0ms); }

  Result<ha::ServiceState> poll() override {
    ha::ServiceState s;
    s.pid = node_pid(n_.manifest, node());
    s.running = s.pid.has_value();
    return s;
  }

 private:
  const NodeEntry& node() const { return *n_.manifest.find(n_.name); }
  LocatedNode n_;
};

}  // namespace

Result<LocatedNode> locate_node(const fs::path& data_dir) {
  std::error_code ec;
  const fs::path dir = fs::weakly_canonical(fs::absolute(data_dir), ec);
  const fs::path root = dir.parent_path().parent_path();
  if (ec || !fs::exists(manifest_path(root), ec)) {
    return make_error("localnet.not_a_node", data_dir.string() +
                                                 " is not a localnet node's DATA_DIR (no " +
                                                 manifest_path(root).string() + ")");
  }
  CC_TRY_ASSIGN(Manifest m, load_manifest(root));
  for (const auto& n : m.nodes) {
    if (fs::weakly_canonical(n.data_dir, ec) == dir) return LocatedNode{m, n.name};
  }
  return make_error("localnet.not_a_node", data_dir.string() + " is no node of the localnet " +
                                               root.string() + " (nodes: " + m.names() + ")");
}

std::unique_ptr<ha::ServiceControl> make_node_service(LocatedNode node) {
  return std::make_unique<NodeService>(std::move(node));
}

Result<std::unique_ptr<ha::ServiceControl>> service_for_node(const std::string& kind,
                                                             const std::string& unit,
                                                             const fs::path& data_dir) {
  if (kind == "localnet") {
    CC_TRY_ASSIGN(auto node, locate_node(data_dir));
    return make_node_service(std::move(node));
  }
  ha::ServiceConfig sc;
  sc.kind = kind;
  sc.unit = unit;
  return ha::make_service_control(sc);
}

}  // namespace cc::localnet
