// cli/snapshot_cmd.cpp — `corecell snapshot create` (online through a checkpoint, or offline with
// the node stopped and started again through its service control) and `corecell snapshot
// inspect` (what a snapshot holds, and with --verify whether every file matches its checksum).
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <string>

#include "cli/app.h"
#include "cli/common.h"
#include "cli/progress.h"
#include "ha/service_control.h"
#include "localnet/node_service.h"
#include "snapshot/archive.h"
#include "snapshot/create.h"

namespace cc::cli {
namespace {

struct InspectOptions {
  std::string file;
  bool verify = false;
  bool json = false;
};

struct CreateArgs {
  std::string from;
  std::string out;
  bool offline = false;
  std::string service = "systemd";
  std::string unit = "kpnd.service";
  std::string source_name;
};

void run_create(const CreateArgs& a) {
  snapshot::CreateOptions o;
  o.data_dir = a.from;
  o.out = a.out;
  o.online = !a.offline;
  o.source_node = a.source_name;
  std::unique_ptr<ha::ServiceControl> service;
  if (a.offline) {
    service = or_fail(localnet::service_for_node(a.service, a.unit, a.from));
    o.service = service.get();
  }
  o.progress = progress_printer("archiving");
  o.say = [](const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  };
  const auto r = or_fail(snapshot::create_snapshot(o));
  const auto& m = r.manifest;
  std::error_code ec;
  const auto size = std::filesystem::file_size(a.out, ec);
  std::printf(
      "snapshot %s: chain %llu, head #%llu %s, %zu files, %s of chaindata (%s "
      "compressed), archived in %.1f s\n",
      a.out.c_str(), static_cast<unsigned long long>(m.chain_id),
      static_cast<unsigned long long>(m.head_number), m.head_hash.c_str(), m.files.size(),
      util::human_bytes(m.total_bytes()).c_str(), util::human_bytes(size).c_str(),
      r.archive_seconds);
  if (o.online) {
    std::printf("online: checkpoint in %.0f ms; the node kept running (no downtime)\n",
                r.checkpoint_seconds * 1000);
  } else if (r.downtime_seconds) {
    std::printf("offline: the node was down %.1f s (stop, archive, start, answering again)\n",
                *r.downtime_seconds);
  } else {
    std::printf("offline: the node was not running; it was left stopped\n");
  }
}

void run_inspect(const InspectOptions& o) {
  auto m = or_fail(
      snapshot::read_archive(o.file, o.verify, o.verify ? progress_printer("verifying") : nullptr));
  if (o.json) {
    nlohmann::json j = m.to_json();
    j["verified"] = o.verify;
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::printf(
      "file:        %s\nformat:      corecell-snapshot v%d\nchain id:    %llu\ngenesis:     "
      "%s\nhead:        #%llu %s\ncreated:     %s\nsource node: %s (%s)\nfiles:       %zu, %llu "
      "bytes\n",
      o.file.c_str(), m.format_version, static_cast<unsigned long long>(m.chain_id),
      m.genesis_hash.c_str(), static_cast<unsigned long long>(m.head_number), m.head_hash.c_str(),
      m.created.c_str(), m.source_node.c_str(), m.mode.c_str(), m.files.size(),
      static_cast<unsigned long long>(m.total_bytes()));
  std::printf("checksums:   %s\n", o.verify ? "every file matches its sha256"
                                            : "not checked (add --verify to read every file)");
}

}  // namespace

void add_snapshot_commands(CLI::App& app) {
  auto* snap = app.add_subcommand("snapshot", "Chaindata snapshots (create, inspect)");
  snap->require_subcommand(1);
  auto c = std::make_shared<CreateArgs>();
  auto* create = snap->add_subcommand(
      "create",
      "Archive a node's chaindata (normally one of the cell's PNs) into FILE: online (default), "
      "a RocksDB checkpoint taken by the running node, no downtime; or --offline, the "
      "operator guide's way: stop the node through its service control, archive, start it "
      "again, and report how long it was down. See docs/SNAPSHOTS.md.");
  create->add_option("--from", c->from, "The source node's DATA_DIR")->required();
  create->add_option("--out", c->out, "The snapshot file to write (.tar.zst; must not exist)")
      ->required();
  create->add_flag("--offline", c->offline, "Stop the node while archiving (see --service)");
  create
      ->add_option("--service", c->service,
                   "Offline: how to stop and start the node: systemd (--unit) or localnet (the "
                   "DATA_DIR is a node of a `corecell localnet`)")
      ->capture_default_str()
      ->check(CLI::IsMember({"systemd", "localnet"}));
  create->add_option("--unit", c->unit, "Offline with systemd: the node's unit")
      ->capture_default_str();
  create->add_option("--source-name", c->source_name,
                     "The source node's name in the manifest (default: the DATA_DIR path)");
  create->callback([c] { run_create(*c); });

  auto o = std::make_shared<InspectOptions>();
  auto* inspect = snap->add_subcommand(
      "inspect",
      "Print a snapshot's manifest: chain ID, genesis, head, creation time, source node, files. "
      "With --verify, read every file and check it against the archive's sha256 list.");
  inspect->add_option("file", o->file, "The snapshot file (.tar.zst)")->required();
  inspect->add_flag("--verify", o->verify, "Read all data and check every checksum");
  inspect->add_flag("--json", o->json, "Print the manifest as JSON");
  inspect->callback([o] { run_inspect(*o); });
}

}  // namespace cc::cli
