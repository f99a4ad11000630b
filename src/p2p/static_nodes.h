// p2p/static_nodes.h — owns reading Kaia's static-nodes.json: a JSON array of kni:// URL strings
// at DATA_DIR/static-nodes.json, else DATA_DIR/klay/static-nodes.json (the first wins when both
// exist). No file means no static nodes, not an error. A file that is not JSON, or not an array,
// is an error naming the file and the fix. An entry that is not a string or not a valid kni URL
// is skipped with a warning naming the file, the index and the reason (Kaia logs and skips
// them too); a second entry with the same node ID is dropped with a warning. It never dials,
// never logs (the caller logs the warnings) and never writes the file.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "p2p/kni.h"
#include "util/result.h"

namespace cc::p2p {

// Bound on the file size: thousands of URLs fit; anything larger is the wrong file.
inline constexpr std::size_t kMaxStaticNodesFileBytes = std::size_t{4} << 20;

struct StaticNodes {
  std::vector<KniUrl> nodes;                  // in file order, one per node ID
  std::vector<std::string> warnings;          // one operator-readable line per skipped entry
  std::optional<std::filesystem::path> path;  // the file read; nullopt when there was none
};

// DATA_DIR/static-nodes.json and DATA_DIR/klay/static-nodes.json, in precedence order.
[[nodiscard]] std::vector<std::filesystem::path> static_nodes_candidates(
    const std::filesystem::path& data_dir);

// Parses the text of a static-nodes file; `source` names it in the error and warnings.
// Errors: static_nodes.malformed (not JSON), static_nodes.not_array. `path` stays unset.
[[nodiscard]] Result<StaticNodes> parse_static_nodes(std::string_view text,
                                                     const std::string& source);

// Reads the static-nodes file of a data directory (see the header comment for the lookup).
// Errors: static_nodes.read (exists but cannot be read, or too large) and parse_static_nodes's.
[[nodiscard]] Result<StaticNodes> load_static_nodes(const std::filesystem::path& data_dir);

}  // namespace cc::p2p
