// snapshot/detail/bundle.h — owns the container format shared by chaindata snapshots
// (archive.h) and CN images (image.h): a zstd-compressed tar (libarchive, streaming) whose
// entries are a leading JSON manifest with a "files" array ({"path", "size"}: relative,
// '/'-separated, sorted, no "..", nothing absolute), the files under a data prefix in that order,
// and a trailing sha256 list ("<hex>  <prefix><path>" lines, sha256sum's format) computed while
// the data streams out. What the rest of the manifest says is the caller's.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "snapshot/archive.h"
#include "util/result.h"

namespace cc::snapshot::detail {

struct BundleLayout {
  const char* kind;            // "snapshot" | "image": in messages
  const char* manifest_entry;  // first entry
  const char* checksum_entry;  // last entry
  const char* data_prefix;     // every data entry's path starts with it ("chaindata/")
};

struct Bundle {
  nlohmann::json manifest;          // as read
  std::vector<ManifestFile> files;  // from manifest["files"]; sha256 filled when data was read
};

// A file to write: its source on disk and its entry (path, size) in the manifest.
struct BundleSource {
  std::filesystem::path source;
  ManifestFile file;
};

// The lowercase hex SHA-256 of a file's content (streamed). Error snapshot.source.
[[nodiscard]] Result<std::string> sha256_file(const std::filesystem::path& file);

// The "files" array of a manifest: errors snapshot.manifest naming the index and the problem.
[[nodiscard]] Result<std::vector<ManifestFile>> parse_bundle_files(const nlohmann::json& manifest);
[[nodiscard]] nlohmann::json bundle_files_json(const std::vector<ManifestFile>& files);

// Every regular file under `dir` (recursively, sorted; symlinks and special files refused:
// snapshot.source).
[[nodiscard]] Result<std::vector<BundleSource>> list_dir_sources(const std::filesystem::path& dir);

// Writes `manifest` (its "files" set here from `sources`), the files and the checksum trailer
// to OUT.partial, fsyncs and renames it to `out` (refused when it exists: snapshot.exists).
// Returns the files with their checksums.
[[nodiscard]] Result<std::vector<ManifestFile>> write_bundle(
    const BundleLayout& layout, const std::vector<BundleSource>& sources, nlohmann::json manifest,
    const std::filesystem::path& out, const ProgressFn& progress);

// Reads the manifest and, with `read_data`, every file (checked against the manifest's sizes
// and the trailer's checksums); with a `sink_root`, the files are also written under it (each
// created new and fsynced). Errors as read_archive's.
[[nodiscard]] Result<Bundle> scan_bundle(const BundleLayout& layout,
                                         const std::filesystem::path& file, bool read_data,
                                         const std::filesystem::path& sink_root,
                                         const ProgressFn& progress);

// scan_bundle into DEST.partial, renamed to `dest` (which must not exist) only when complete.
[[nodiscard]] Result<Bundle> restore_bundle(const BundleLayout& layout,
                                            const std::filesystem::path& file,
                                            const std::filesystem::path& dest,
                                            const ProgressFn& progress);

}  // namespace cc::snapshot::detail
