// localnet/supervisor.h — owns running a localnet's processes: `up` (start a detached supervisor
// and wait until every node answers on its control socket), the supervisor itself, and `down`
// (stop everything and leave no process, socket, lock or pid file behind).
//
// Files under D/run/ (the supervisor is the only writer while it runs):
//   supervisor.pid    the supervisor's pid          supervisor.lock   flock held while it runs
//   supervisor.log    its own log (spawns, exits, restarts, stop)
//   <node>.pid        a running node's pid          <node>.exit       how it last exited
//   <node>.held       written by `localnet stop NODE`: the supervisor starts nothing for this
//                     node (no AUTO_RESTART, no agent restart) until `localnet start NODE`
//   <node>.start      written by `localnet start NODE` (then SIGUSR1 wakes the supervisor): a
//                     request to start the stopped node, removed when taken
// The supervisor (`corecell localnet supervise --dir D`, started by `up` in its own session, so a
// Ctrl-C in the terminal reaches no node) runs `corecell node --role R --conf PATH` per node with
// stdout+stderr appended to the node's log, restarts a node that exits only when its conf says
// AUTO_RESTART=1, and on SIGTERM/SIGINT stops the nodes like Kaia's systemd unit (SIGTERM, then
// SIGKILL after 10 s), removes their stale sockets and LOCK files and its own pid file, and exits.
// It never touches chaindata, keys or sign state.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "localnet/manifest.h"
#include "util/result.h"

namespace cc::localnet {

// Kaia's systemd unit: SIGTERM, then SIGKILL after 10 s.
inline constexpr std::chrono::seconds kStopGrace{10};

[[nodiscard]] std::filesystem::path run_dir(const Manifest& m);
[[nodiscard]] std::filesystem::path supervisor_pid_path(const Manifest& m);
[[nodiscard]] std::filesystem::path supervisor_log_path(const Manifest& m);
[[nodiscard]] std::filesystem::path node_pid_path(const Manifest& m, const NodeEntry& n);
[[nodiscard]] std::filesystem::path node_exit_path(const Manifest& m, const NodeEntry& n);

// The live supervisor's pid, if one runs for this localnet.
[[nodiscard]] std::optional<pid_t> supervisor_pid(const Manifest& m);
// The live pid of a node of this localnet (from its pid file, else its DATA_DIR LOCK), checked
// against its command line so a recycled pid is never taken for the node. For an HA host, its
// agent's pid (the process the supervisor runs), else a node process left in its DATA_DIR.
[[nodiscard]] std::optional<pid_t> node_pid(const Manifest& m, const NodeEntry& n);

struct UpResult {
  bool already_running = false;
  pid_t supervisor = 0;
  double seconds = 0;  // until every node answered
};

// Starts the supervisor and waits (up to `timeout`) until every node's control socket answers
// {"cmd":"status"}. On failure everything started is stopped again and the error names the node
// and quotes the tail of its log. `progress` (optional) gets one line per event worth printing.
[[nodiscard]] Result<UpResult> localnet_up(
    const Manifest& m, std::chrono::seconds timeout,
    const std::function<void(const std::string&)>& progress = {});

struct DownResult {
  bool supervisor_was_running = false;
  std::vector<std::string> stopped;  // nodes that were running
  std::vector<std::string> killed;   // nodes that needed SIGKILL
};

// Stops the supervisor (which stops its nodes), then any node of this localnet still running
// (e.g. after the supervisor was killed), and removes pid files, stale control sockets and
// klay/LOCK files. Idempotent: on a stopped localnet it only cleans up.
[[nodiscard]] Result<DownResult> localnet_down(const Manifest& m);

[[nodiscard]] std::filesystem::path node_held_path(const Manifest& m, const NodeEntry& n);
[[nodiscard]] std::filesystem::path node_start_request_path(const Manifest& m, const NodeEntry& n);

// `corecell localnet stop NODE` (the localnet's `systemctl stop`): holds the node down, then
// SIGTERM, SIGKILL after `grace`, and waits until it is gone (and, under a running supervisor,
// reaped: its exit recorded in <node>.exit and the node's log). Ok when it was not running.
// Error localnet.stop_failed.
[[nodiscard]] Status localnet_stop_node(const Manifest& m, const NodeEntry& n,
                                        std::chrono::milliseconds grace = kStopGrace);

// A crash of the node's machine, for tests and benchmarks: holds the node down, then SIGKILL to
// its process and to a node process in its DATA_DIR (for an HA host: its agent and the agent's
// node, at once, so nothing hands over or releases a lease), and waits until both are gone and
// the supervisor has recorded the exit. Ok when it was not running. Error localnet.stop_failed.
[[nodiscard]] Status localnet_kill_node(const Manifest& m, const NodeEntry& n);

// `corecell localnet start NODE`: releases the hold and has the running supervisor start the
// node, then waits (up to `timeout`) until its control socket answers. Ok at once when it is
// already running. Errors: localnet.not_up (no supervisor), localnet.start_failed (the node
// exited or did not answer; quotes its log).
[[nodiscard]] Status localnet_start_node(const Manifest& m, const NodeEntry& n,
                                         std::chrono::seconds timeout);

// The supervisor's main loop (`corecell localnet supervise`); returns the process exit code.
[[nodiscard]] int run_supervisor(const Manifest& m);

}  // namespace cc::localnet
