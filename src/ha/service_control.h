// ha/service_control.h — owns starting, stopping and watching the CN process the agent guards.
//   exec     the agent runs `corecell node --conf CONF --set KEY=VALUE...` itself as its child
//            (output appended to a log file, PR_SET_PDEATHSIG=SIGKILL: a node never outlives
//            its agent, so a dead agent cannot leave a signer behind), reaps it, and knows its
//            exit status at once (node crash detection without polling a socket).
//   systemd  `systemctl start|stop|kill|is-active UNIT`. The overrides are written, one
//            KEY=VALUE per line, to an environment file the unit reads
//            (EnvironmentFile=-/run/corecell/UNIT.env; docs/HA.md has the unit). With a real
//            kcnd the overrides are ignored and double-sign protection is limited to the lease
//            and fencing (kcnd has no signing permit).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "util/result.h"

namespace cc::ha {

struct ServiceConfig {
  std::string kind;                  // exec | systemd
  std::filesystem::path node_exe;    // exec: the corecell binary
  std::filesystem::path node_conf;   // exec: --conf
  std::string role = "cn";           // exec: the node role argument
  std::filesystem::path log;         // exec: stdout+stderr appended here
  std::string unit;                  // systemd: e.g. kcnd.service
  std::filesystem::path env_file;    // systemd: default /run/corecell/UNIT.env
};

struct ServiceState {
  bool running = false;
  std::optional<pid_t> pid;          // exec: the child's pid; systemd: MainPID when known
  std::optional<int> exit_status;    // exec: how the last run ended (128+signal for a signal)
};

class ServiceControl {
 public:
  virtual ~ServiceControl() = default;
  [[nodiscard]] virtual std::string describe() const = 0;
  // Starts the node with these KEY=VALUE overrides. Error service.start_failed (a node already
  // running is service.already_running).
  [[nodiscard]] virtual Status start(const std::vector<std::string>& overrides) = 0;
  // SIGTERM (systemctl stop), then SIGKILL after `grace`. Ok when it was not running.
  [[nodiscard]] virtual Status stop(std::chrono::milliseconds grace) = 0;
  // SIGKILL now and wait until gone (fencing a hung or stopped process: SIGKILL ends a
  // SIGSTOPped process too). Ok when it was not running.
  [[nodiscard]] virtual Status kill() = 0;
  // Non-blocking: reaps an exited child (exec) / asks systemd.
  [[nodiscard]] virtual Result<ServiceState> poll() = 0;
};

// Errors: service.config (unknown kind, missing binary/conf/unit), naming the HA_* key.
[[nodiscard]] Result<std::unique_ptr<ServiceControl>> make_service_control(
    const ServiceConfig& config);

}  // namespace cc::ha
