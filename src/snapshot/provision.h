// snapshot/provision.h — owns building a replacement CN from a CN image (image.h), a chaindata
// snapshot of one of the cell's PNs (archive.h) and the failed CN's encrypted nodekey backup:
// the operator guide's cloud recovery as one resumable command. Steps, in order:
//   check      every input before anything is written: the image and its checksums, the
//              snapshot's manifest (same chain ID and genesis as the image), the backup opened
//              with the passphrase and its address in the image's council (and the image's CN
//              address when it recorded one), DATA_DIR free (or --force, but never one a
//              running node holds), the conf's DATA_DIR free when it differs from --datadir, no
//              image file clashing with a different file on the machine (or --force)
//   snapshot   the snapshot restored and verified into the work directory (DATADIR.provision/)
//   image      the image extracted and verified into the work directory
//   datadir    --datadir created (an existing one, with --force, is moved aside to
//              DATADIR.replaced-<time>, never deleted) and the chaindata moved into klay/
//   prune      everything in DATA_DIR but klay/chaindata deleted (each removal logged)
//   rename     when the conf's DATA_DIR differs from --datadir, --datadir renamed to it
//   files      the image's files installed at their paths (identical files are left alone)
//   nodekey    DATA_DIR/klay/nodekey written from the backup (0600) and read back
//   ip         the cell's address (the conf's PUBLIC_IP) moved to this host (ha/ip_mover.h)
//   start      the CN started through its service control
//   lease      (an HA image only) see below
//   verify     the CN caught up (in sync, at or past the snapshot's head) and its seals appear in
//              blocks after that
// An image of an HA host (image.h, "ha") is provisioned as that host: the validator key never
// goes to DATA_DIR/klay/nodekey. Instead
//   nodekey    puts the backup and its passphrase where the agent conf says (0600; identical
//              files are left alone), makes the host's standby key when it has none, and loads
//              the agent's conf and keys as the agent will (the backup's address must be the
//              agent's validator, the standby key must not be a council member)
//   ip         nothing: the agent moves the cell's address itself, after it holds the lease
//   start      reads the lease (its epoch), then starts the agent (its service control), which
//              runs the node as a standby
//   lease      waits until the agent is active under a newer epoch than the one read before the
//              start: it took the lease (the failed host's, once expired, and its own cooldown
//              when it keeps the failed host's HA_NAME) and its node signs only above the
//              watermark the lease carries, so the failed host returning finds the lease taken
//              and stays a standby. When another live host already holds the lease (held for
//              2 x TTL while we watch, and renewed), the replacement is that host's standby, and
//              says so.
//   verify     as above; the seals are the validator's, from whichever host holds the lease
// Each finished step is recorded in DATADIR.provision/state.json; run again with the same inputs
// after an interruption, the finished steps are skipped (the work directory is removed when all
// are done). A failed step leaves what it was writing as it was before the step.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ha/ip_mover.h"
#include "ha/service_control.h"
#include "snapshot/archive.h"
#include "snapshot/image.h"
#include "util/result.h"

namespace cc::snapshot {

struct ProvisionOptions {
  std::filesystem::path image;
  std::filesystem::path snapshot;
  std::filesystem::path nodekey_backup;
  std::filesystem::path passphrase_file;
  std::filesystem::path data_dir;  // --datadir: where DATA_DIR is built
  bool force = false;
  // Makes the service control that starts the CN, from the image (its conf and DATA_DIR), once
  // the files are in place (a localnet's supervisor, for one, needs the node's directory).
  std::function<Result<std::unique_ptr<ha::ServiceControl>>(const ImageManifest&)> make_service;
  // Makes the mover of the cell's address from the image's PUBLIC_IP and PORT, during `check`
  // (so a bad mover setting fails before anything is written); a null mover, or no function:
  // the address is not moved (the "ip" step says so). Not used for an HA image.
  std::function<Result<std::unique_ptr<ha::IpMover>>(const ImageManifest&)> make_ip_mover;
  // How long the CN may take to catch up (with an HA agent: to take the lease, which it does
  // once its node is in sync).
  std::chrono::seconds sync_timeout{600};
  std::chrono::seconds seal_timeout{120};
  ProgressFn progress;
  std::function<void(const std::string&)> say;
};

struct ProvisionStep {
  std::string name;
  bool resumed = false;  // done by an earlier run
  double seconds = 0;
  std::string detail;
};

struct ProvisionReport {
  std::vector<ProvisionStep> steps;
  std::string address;             // the CN's (validator) address
  std::filesystem::path data_dir;  // where DATA_DIR ended up (the conf's)
  std::uint64_t snapshot_head = 0;
  std::string ha_role;               // HA image: "active" (took the lease) or "standby"
  std::uint64_t lease_epoch = 0;     // HA image: the epoch of the lease's holder
  std::uint64_t synced_head = 0;     // the head when the CN was in sync
  std::uint64_t first_seal = 0;      // the first block after that carrying its seal
  double seconds_to_first_seal = 0;  // from the command's start
  double seconds = 0;
};

// Errors name the step ("provision.<step>: ...") and what to do; the `check` errors:
// provision.passphrase (the backup does not open), provision.not_council,
// provision.wrong_node (a council address that is not the image's CN), provision.wrong_chain,
// provision.datadir (DATA_DIR not empty, or the conf's DATA_DIR taken), provision.conflict (also
// an agent's key file that differs from the inputs, or a standby key that is a council key), and
// the snapshot/image readers' errors; later: provision.agent (the agent conf does not load),
// provision.lease (the agent did not take the lease in time, the cell is paused, or another
// machine's agent under this host's HA_NAME keeps renewing it), provision.verify.
[[nodiscard]] Result<ProvisionReport> provision(const ProvisionOptions& options);

// DATADIR.provision: the work directory (state, staged image and chaindata).
[[nodiscard]] std::filesystem::path provision_work_dir(const std::filesystem::path& data_dir);

}  // namespace cc::snapshot
