// snapshot/create.h — owns taking a snapshot of a node's chaindata (normally one of the cell's
// PNs), in one of two modes:
//   online   the node keeps running: it makes a RocksDB checkpoint of its own database through
//            its control socket ({"cmd":"checkpoint"}, node/service.cpp; hard links, so the time
//            does not grow with the chaindata), the archive is written from the checkpoint, and
//            the checkpoint is removed again. No downtime.
//   offline  the operator guide's procedure: stop the node through its service control (systemd,
//            or a localnet's supervisor), archive DATA_DIR/klay/chaindata, start the node again
//            (also when archiving failed) and wait until it answers on its control socket; the
//            report says how long it was down.
// The manifest's chain ID, genesis and head are read from the archived database itself (opened
// read-only), so they describe exactly the files in the archive.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "ha/service_control.h"
#include "snapshot/archive.h"
#include "util/result.h"

namespace cc::snapshot {

struct CreateOptions {
  std::filesystem::path data_dir;  // the source node's DATA_DIR
  std::filesystem::path out;       // the archive to write (must not exist)
  bool online = true;
  std::string source_node;                // recorded in the manifest (default: the DATA_DIR path)
  ha::ServiceControl* service = nullptr;  // offline: how to stop and start the node
  std::chrono::milliseconds stop_grace{10000};     // offline: SIGTERM .. SIGKILL (Kaia's unit)
  std::chrono::milliseconds start_timeout{60000};  // offline: until the node answers again
  ProgressFn progress;                             // bytes archived
  std::function<void(const std::string&)> say;     // one line per step
};

struct CreateReport {
  Manifest manifest;
  double seconds = 0;             // the whole command
  double checkpoint_seconds = 0;  // online: the node's checkpoint call
  double archive_seconds = 0;     // writing the archive
  // offline: from the stop request until the node answered its control socket again; nullopt
  // when the node was not running to begin with (it is then left stopped).
  std::optional<double> downtime_seconds;
  bool was_running = false;  // offline: the node ran when the command started
};

// Errors: snapshot.exists, snapshot.source (no chaindata, not a corecell database, a node that
// does not answer for the online mode), snapshot.service (offline: stopping or starting the node
// failed; the message says what state it was left in), and write_archive's.
[[nodiscard]] Result<CreateReport> create_snapshot(const CreateOptions& options);

}  // namespace cc::snapshot
