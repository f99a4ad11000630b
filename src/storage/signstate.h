// storage/signstate.h — owns the SignGuard's watermark file, DATA_DIR/klay/signstate: its binary
// format, strict decoding, and durable replacement (atomic_write_file: temp file + fsync +
// rename + directory fsync). It never decides what may be signed (consensus/sign_guard.h does)
// and never treats a corrupt, truncated or unreadable file as "nothing signed yet": that would
// let a restarted node sign a second, different vote (SIGN-1). Only a missing file is "fresh".
//
// The kind byte is consensus::SignKind's value; this layer stores it without interpreting it
// (storage comes before consensus in the layer order and must not include it).
//
// File format (version 1, all integers big-endian):
//
//   offset  size     field
//   0       8        magic "CCSIGNST"
//   8       4        version (1)
//   12      4        body length L in bytes
//   16      L        body:
//                      address      20   validator address the state belongs to
//                      max_height    8   highest height ever signed (high-water mark)
//                      floor         8   lowest height the guard may sign at
//                      max_epoch     8   highest signing-permit epoch (fencing token) seen
//                      count         4   number of records
//                      records      53 each, strictly increasing by (height, round, kind):
//                        height 8 | round 4 | kind 1 | epoch 8 | digest 32
//   16+L    32       keccak256 of bytes [0, 16+L)
//
// L must equal 52 + 53 * count; every record height must be <= max_height; nothing may follow
// the checksum.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "util/bytes.h"
#include "util/result.h"

namespace cc::storage {

inline constexpr std::uint32_t kSignStateVersion = 1;
// Generous: a SignGuard keeps ~64 heights of a few records each. Bounds memory on a bad file.
inline constexpr std::uint32_t kSignStateMaxRecords = 1u << 16;

// One signature the guard produced (or is about to produce: the record is durable first).
struct SignRecord {
  std::uint64_t height = 0;
  std::uint32_t round = 0;
  std::uint8_t kind = 0;  // consensus::SignKind
  std::uint64_t epoch = 0;
  Hash32 digest{};
  bool operator==(const SignRecord&) const = default;
};

struct SignState {
  Address address{};
  std::uint64_t max_height = 0;
  std::uint64_t floor = 0;
  std::uint64_t max_epoch = 0;
  std::vector<SignRecord> records;  // strictly increasing by (height, round, kind)
  bool operator==(const SignState&) const = default;
};

// The file bytes. The caller keeps records sorted and unique (decode refuses anything else).
[[nodiscard]] Bytes encode_sign_state(const SignState& state);

// Strict decode: bad magic, unknown version, short or long input, a wrong length field, a bad
// checksum, unsorted or duplicate records and a record above max_height are all errors
// (codes signstate.*). Messages name the field; they do not name a file (load_sign_state does).
[[nodiscard]] Result<SignState> decode_sign_state(ByteView data);

// The file at `path`: std::nullopt when it does not exist (a fresh validator); the state when it
// decodes; otherwise an error naming the file, what is wrong, and the operator's fix. Never an
// empty state for a file that exists.
[[nodiscard]] Result<std::optional<SignState>> load_sign_state(const std::filesystem::path& path);

// Replaces the file durably (mode 0600): when this returns ok the new state survives a crash or
// power loss; when it fails the caller must assume nothing new was persisted.
[[nodiscard]] Status save_sign_state(const std::filesystem::path& path, const SignState& state);

// The operator's fix for a sign-state file that cannot be loaded (used in error messages).
[[nodiscard]] std::string sign_state_fix(const std::filesystem::path& path);

}  // namespace cc::storage
