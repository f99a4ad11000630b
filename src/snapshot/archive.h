// snapshot/archive.h — owns the chaindata snapshot archive: its format, writing one from a
// directory, reading its manifest, and restoring it. A snapshot is a zstd-compressed tar
// (libarchive, streaming: memory stays flat whatever the chaindata size) whose entries are
//   corecell-snapshot.json   the manifest, first, so `inspect` reads it without the data:
//                            format version, chain ID, genesis hash, head number and hash,
//                            creation time, source node, mode, and every file with its size
//   chaindata/<relative path> the files, in the manifest's order
//   corecell-snapshot.sha256  last: the SHA-256 of each file ("<hex>  chaindata/<path>" lines,
//                            as sha256sum writes them), computed while the data streams out
// Writing goes to OUT.partial and is renamed into place only once complete; restoring extracts
// into DEST.partial, checks every size and checksum, and renames only then — a corrupt,
// truncated or foreign archive leaves nothing behind. What to snapshot (a stopped PN's chaindata
// or a RocksDB checkpoint of a running one) is the caller's business.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace cc::snapshot {

inline constexpr int kFormatVersion = 1;
inline constexpr const char* kManifestEntry = "corecell-snapshot.json";
inline constexpr const char* kChecksumEntry = "corecell-snapshot.sha256";
inline constexpr const char* kDataPrefix = "chaindata/";

struct ManifestFile {
  std::string path;  // relative to the chaindata directory, '/'-separated
  std::uint64_t size = 0;
  std::string sha256;  // lowercase hex; empty in the leading manifest, filled from the trailer
  bool operator==(const ManifestFile&) const = default;
};

struct Manifest {
  int format_version = kFormatVersion;
  std::uint64_t chain_id = 0;
  std::string genesis_hash;  // 0x-prefixed
  std::uint64_t head_number = 0;
  std::string head_hash;    // 0x-prefixed
  std::string created;      // RFC 3339 UTC, milliseconds
  std::string source_node;  // the node (name or data dir) the chaindata came from
  std::string mode;         // "offline" (the PN was stopped) or "online" (a RocksDB checkpoint)
  std::vector<ManifestFile> files;

  [[nodiscard]] std::uint64_t total_bytes() const;
  [[nodiscard]] nlohmann::json to_json() const;
  // Errors: snapshot.manifest (a missing or mistyped field, named), snapshot.version (a
  // format this build does not read).
  [[nodiscard]] static Result<Manifest> from_json(const nlohmann::json& j);
};

// Bytes done and the total, for progress display; called often (at most every 1 MiB).
using ProgressFn = std::function<void(std::uint64_t done, std::uint64_t total)>;

// Writes an archive of every regular file under `chaindata_dir` (recursively; symlinks and
// other special files are refused) with `header` (its `files` are filled here) to `out`.
// Refuses an existing `out` (snapshot.exists). Returns the manifest with checksums.
[[nodiscard]] Result<Manifest> write_archive(const std::filesystem::path& chaindata_dir,
                                             const std::filesystem::path& out, Manifest header,
                                             const ProgressFn& progress = {});

// The manifest of an archive. With `verify`, also reads every file, checks its size and
// checksum against the trailer, and fills the checksums; without it only the leading manifest
// is read. Errors: snapshot.open, snapshot.not_a_snapshot, snapshot.manifest,
// snapshot.version, snapshot.truncated, snapshot.corrupt (naming the file).
[[nodiscard]] Result<Manifest> read_archive(const std::filesystem::path& archive, bool verify,
                                            const ProgressFn& progress = {});

// Extracts the chaindata of `archive` into `dest` (which must not exist; its parent must), every
// file checked against the manifest and the trailer before `dest` appears. Errors as
// read_archive, plus snapshot.exists and snapshot.write.
[[nodiscard]] Result<Manifest> restore_archive(const std::filesystem::path& archive,
                                               const std::filesystem::path& dest,
                                               const ProgressFn& progress = {});

}  // namespace cc::snapshot
