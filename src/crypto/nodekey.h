// crypto/nodekey.h — owns nodekey files in Kaia's format and the identity derived from them.
// File: 64 ASCII hex chars (the 32-byte secret), no 0x, no newline, mode 0600, written by
// atomic replace. On load a single trailing newline (\n or \r\n) is tolerated; anything else —
// missing file, wrong length, non-hex, invalid secret, group/world-readable mode — is an error that
// names the path and the fix. Never generates a key as a side effect of loading.
#pragma once

#include <filesystem>
#include <string>

#include "crypto/secp256k1.h"
#include "util/bytes.h"
#include "util/result.h"

namespace cc::crypto {

struct NodeIdentity {
  PrivateKey key;
  PublicKey node_id;  // 64 bytes, printed as 128 hex
  Address address;    // keccak256(node_id)[12:]
};

[[nodiscard]] NodeIdentity identity_of(const PrivateKey& key);

// Parses the text of a nodekey file; `source` names the file in errors.
[[nodiscard]] Result<PrivateKey> parse_nodekey(std::string_view text, const std::string& source);

// Loads and validates a nodekey file (including its mode: not readable by group or others).
[[nodiscard]] Result<NodeIdentity> load_nodekey_file(const std::filesystem::path& path);

// Writes a nodekey file atomically with mode 0600.
[[nodiscard]] Status save_nodekey_file(const std::filesystem::path& path, const PrivateKey& key);

// Kaia's lookup inside a data directory: DATA_DIR/nodekey (legacy) wins when it exists,
// otherwise DATA_DIR/klay/nodekey.
[[nodiscard]] std::filesystem::path nodekey_path_in(const std::filesystem::path& data_dir);

// Loads the nodekey of a data directory; a missing key is an error that names both places
// looked at and how to create or restore one (never a generated key).
[[nodiscard]] Result<NodeIdentity> load_datadir_nodekey(const std::filesystem::path& data_dir);

}  // namespace cc::crypto
