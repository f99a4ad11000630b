// localnet/invariants.h — owns the invariant oracle of a local network (DESIGN.md): it reads
// what the nodes left behind and says which safety invariant broke, if any. Used by the HA
// integration tests and by `corecell demo` for its report.
//   SIGN-1  over every DATA_DIR/klay/signjournal in the network: one digest per (address,
//           height, round, type), and one permit epoch per (address, height) — across a takeover
//           the new holder signs nothing at a height the old one signed at.
//   CHAIN-1 over the nodes' JSON-RPC: the same block hash at every height on every node that
//           answers, and at least chain::commit_quorum(council) committers on each block.
//   DATA-1  over the nodes' JSON-RPC: every acknowledged transaction still has a receipt, in a
//           canonical block, on every node that answers.
// It never changes a node or a file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "localnet/manifest.h"
#include "storage/signjournal.h"
#include "util/result.h"

namespace cc::localnet {

struct JournalSet {
  std::vector<storage::JournalEntry> entries;
  std::size_t files = 0;
  std::size_t skipped_lines = 0;  // torn lines (crash mid-append): counted, not fatal
};

// Every node's signjournal (missing files are fine: a PN never signs).
[[nodiscard]] Result<JournalSet> read_journals(const Manifest& manifest);

// One line per SIGN-1 violation (empty: none).
[[nodiscard]] std::vector<std::string> sign1_violations(
    const std::vector<storage::JournalEntry>& entries);

struct ChainCheck {
  std::uint64_t checked_up_to = 0;      // heights 1..this were compared
  std::size_t nodes_compared = 0;       // nodes that answered
  std::vector<std::string> violations;  // CHAIN-1 (forks, blocks short of a quorum of seals)
};
// Compares heights 1..(lowest head among the answering nodes).
[[nodiscard]] ChainCheck check_chain1(const Manifest& manifest);

// DATA-1 for these transaction hashes (0x...): one line per hash missing on a node.
[[nodiscard]] std::vector<std::string> data1_violations(const Manifest& manifest,
                                                        const std::vector<std::string>& tx_hashes);

}  // namespace cc::localnet
