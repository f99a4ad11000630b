// ha/service_control.h — owns starting, stopping and watching the CN process the agent guards.
//   exec     the agent runs `corecell node --role ROLE --conf CONF --set KEY=VALUE...` itself as
//            its child (output appended to a log file, or the agent's own stdout/stderr when no
//            log is set; PR_SET_PDEATHSIG=SIGKILL: a node never outlives its agent, so a dead
//            agent cannot leave a signer behind), reaps it, and knows its exit status at once
//            (node crash detection without polling a socket). The node leads its own session
//            and process group; stop/kill signal the group, so whatever it started goes too.
//            Linux ties PDEATHSIG to the *thread* that spawned the child: call start() from a
//            thread that lives as long as the node may (the agent's cc-ha thread), never from a
//            short-lived worker. Destroying the control kills a node still running. The calls
//            are serialized by a mutex (stop() holds it for up to its grace period).
//   systemd  `systemctl start|stop|kill UNIT`, state from `systemctl show` (ActiveState,
//            MainPID, ExecMainCode/Status: one call, and its exit code means "systemctl
//            worked", unlike is-active's). `systemctl` is found in PATH or /usr/bin when the
//            control is made. The overrides are written, one KEY=VALUE per line, to an
//            environment file the unit reads (EnvironmentFile=-/run/corecell/UNIT.env; mode
//            0600, directory created; docs/HA.md has the unit) before `systemctl start`. stop =
//            `stop --no-block`, then `kill --signal=SIGKILL` when still up after `grace`; kill =
//            `kill --signal=SIGKILL` then `stop --no-block`, so a Restart= setting does not bring
//            a fenced node back. With a real kcnd the overrides are ignored and double-sign
//            protection is limited to the lease and fencing (kcnd has no signing permit).
// An override is KEY=VALUE with a conf key (letters, digits, '_') and a one-line value.
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
  std::string kind;                 // exec | systemd
  std::filesystem::path node_exe;   // exec: the corecell binary
  std::filesystem::path node_conf;  // exec: --conf
  std::string role = "cn";          // exec: the node role argument
  std::filesystem::path log;        // exec: stdout+stderr appended here (empty: the agent's)
  std::string unit;                 // systemd: e.g. kcnd.service
  std::filesystem::path env_file;   // systemd: default /run/corecell/UNIT.env
};

struct ServiceState {
  bool running = false;
  std::optional<pid_t> pid;        // exec: the child's pid; systemd: MainPID when known
  std::optional<int> exit_status;  // how the last run ended (128+signal for a signal); exec:
                                   // cleared by start(), set once the run has been reaped
};

class ServiceControl {
 public:
  virtual ~ServiceControl() = default;
  [[nodiscard]] virtual std::string describe() const = 0;
  // Starts the node with these KEY=VALUE overrides. Error service.start_failed (a node already
  // running is service.already_running).
  [[nodiscard]] virtual Status start(const std::vector<std::string>& overrides) = 0;
  // SIGTERM (systemctl stop), then SIGKILL after `grace`. Ok when it was not running. Error
  // service.stop_failed (still there after SIGKILL, or systemctl failed).
  [[nodiscard]] virtual Status stop(std::chrono::milliseconds grace) = 0;
  // SIGKILL now and wait until gone (fencing a hung or stopped process: SIGKILL ends a
  // SIGSTOPped process too). Ok when it was not running. Error service.stop_failed.
  [[nodiscard]] virtual Status kill() = 0;
  // exec: non-blocking, reaps an exited child. systemd: runs `systemctl show` (bounded, 15 s).
  // Error service.status_failed (systemd).
  [[nodiscard]] virtual Result<ServiceState> poll() = 0;
};

// Errors: service.config (unknown kind, missing binary/conf/unit, no systemctl), naming the
// HA_* key (HA_SERVICE, HA_NODE_BIN, HA_NODE_CONF, HA_SYSTEMD_UNIT).
[[nodiscard]] Result<std::unique_ptr<ServiceControl>> make_service_control(
    const ServiceConfig& config);

// Whether `path` is inside a systemd unit directory (/etc/systemd/system, /run/systemd/system,
// /lib/systemd/system, /usr/lib/systemd/system; drop-ins too), and `systemctl daemon-reload`
// after such files
// were installed, so that the next start runs the new unit. Errors: service.config (no
// systemctl), service.start_failed (the reload failed; its output quoted).
[[nodiscard]] bool is_systemd_unit_path(const std::filesystem::path& path);
[[nodiscard]] Status systemd_daemon_reload();

}  // namespace cc::ha
