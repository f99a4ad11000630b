// cli/snapshot_cmd.cpp — `corecell snapshot inspect` (what a chaindata snapshot holds, and with
// --verify whether every file matches its checksum). Creating and provisioning from snapshots
// are issue #7's later steps.
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <string>

#include "cli/app.h"
#include "cli/common.h"
#include "snapshot/archive.h"

namespace cc::cli {
namespace {

struct InspectOptions {
  std::string file;
  bool verify = false;
  bool json = false;
};

// Progress on a terminal only (stderr), so --json output and logs stay clean.
snapshot::ProgressFn verify_progress() {
  if (::isatty(STDERR_FILENO) == 0) return {};
  return [last = std::uint64_t{0}](std::uint64_t done, std::uint64_t total) mutable {
    if (done != total && done - last < (std::uint64_t{64} << 20)) return;
    last = done;
    std::fprintf(stderr, "\rverifying: %llu / %llu MiB",
                 static_cast<unsigned long long>(done >> 20),
                 static_cast<unsigned long long>(total >> 20));
    if (done == total) std::fprintf(stderr, "\n");
  };
}

void run_inspect(const InspectOptions& o) {
  auto m =
      or_fail(snapshot::read_archive(o.file, o.verify, o.verify ? verify_progress() : nullptr));
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
  auto* snap = app.add_subcommand("snapshot", "Chaindata snapshots (inspect)");
  snap->require_subcommand(1);
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
