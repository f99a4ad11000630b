// localnet/node_service.h — owns the service control (ha/service_control.h's interface) of one
// node of a running localnet: what `systemctl start|stop kpnd` is on a real host, done through
// the localnet's supervisor (`localnet stop NODE` holds the node down, `localnet start NODE` has
// the supervisor start it). Used where a command must stop and start a node it does not own: the
// offline snapshot of a PN and the start of a provisioned CN.
#pragma once

#include <filesystem>
#include <memory>

#include "ha/service_control.h"
#include "localnet/manifest.h"
#include "util/result.h"

namespace cc::localnet {

// The localnet node whose DATA_DIR is `data_dir` (a localnet keeps it at D/nodes/<name>, so D is
// two levels up). Error localnet.not_a_node naming the directory.
struct LocatedNode {
  Manifest manifest;
  std::string name;
};
[[nodiscard]] Result<LocatedNode> locate_node(const std::filesystem::path& data_dir);

// start() takes no overrides (the node's conf is the truth) and waits up to 60 s for the node's
// control socket; stop() and kill() wait until the process is gone.
[[nodiscard]] std::unique_ptr<ha::ServiceControl> make_node_service(LocatedNode node);

// The service control of the node in `data_dir` that a command must stop or start: "systemd"
// (`systemctl` on `unit`) or "localnet" (the localnet node whose DATA_DIR it is). Errors as
// ha::make_service_control's and locate_node's.
[[nodiscard]] Result<std::unique_ptr<ha::ServiceControl>> service_for_node(
    const std::string& kind, const std::string& unit, const std::filesystem::path& data_dir);

}  // namespace cc::localnet
