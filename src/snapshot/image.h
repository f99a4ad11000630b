// snapshot/image.h — owns the CN image: what a machine image of a CN host holds, without its
// DATA_DIR — the corecell binary, the CN's conf, its genesis, its static-nodes.json, and any
// operator files (systemd units, scripts) — each with the absolute path it has on the machine.
// A host of an HA cell (`--ha-conf`) also carries its agent's conf (ha/config.h) and the
// agent's scripts, and the manifest records where the agent keeps its keys.
// Never a key: nothing under DATA_DIR/klay or HA_STATE_DIR goes in, nor the validator key's
// backup, its passphrase or the standby key (provisioning installs the key from its encrypted
// backup, snapshot/provision.h). The container is the snapshot's (detail/bundle.h):
//   corecell-image.json     the manifest: format version, creation time, source host, the conf
//                           path, DATA_DIR, PUBLIC_IP and PORT as the conf says, the chain ID,
//                           genesis hash and council of its genesis, the CN's address (from its
//                           nodekey or the agent's HA_VALIDATOR_ADDRESS when the image was
//                           made), every file with its role, and for an HA host "ha" (below)
//   root/<absolute path>     the files ("root/usr/local/bin/corecell")
//   corecell-image.sha256    their SHA-256 sums
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "snapshot/archive.h"
#include "util/result.h"

namespace cc::snapshot {

// Version 2 is an image with an HA agent ("ha" in the manifest); version 1 has none. An HA image
// has its own version so that a corecell which knows nothing of agents refuses it instead of
// provisioning a CN that signs without the lease.
inline constexpr int kImageFormatVersion = 1;
inline constexpr int kHaImageFormatVersion = 2;

struct ImageFile {
  std::string role;              // binary | conf | genesis | static-nodes | extra
  std::filesystem::path target;  // absolute path on the machine
  std::uint64_t size = 0;
  std::string sha256;  // filled from the trailer when read with verify
  bool executable = false;
};

// The HA agent of the image's host, as its conf resolves (all paths absolute). Provisioning puts
// the validator key's backup and passphrase where the agent reads them, makes the standby key
// when it is missing, and starts the agent, which takes the lease before its node may sign.
struct ImageHa {
  std::filesystem::path conf;              // the agent conf (also a file of role "ha-conf")
  std::string name;                        // HA_NAME
  std::filesystem::path validator_backup;  // HA_VALIDATOR_KEY_BACKUP
  std::filesystem::path passphrase_file;   // HA_PASSPHRASE_FILE
  std::filesystem::path standby_nodekey;   // HA_STANDBY_NODEKEY
  std::filesystem::path state_dir;         // HA_STATE_DIR
  std::string cell_ip;                     // HA_CELL_IP
  std::string host_ip;                     // HA_HOST_IP
  std::string lease;                       // "local <file>" | "etcd <endpoints>"
};

struct ImageManifest {
  int format_version = kImageFormatVersion;
  std::string created;
  std::string source_host;
  std::filesystem::path conf;      // the CN's conf (absolute)
  std::filesystem::path data_dir;  // DATA_DIR as the conf resolves it (absolute)
  std::string public_ip;           // PUBLIC_IP of the conf (the cell's address)
  std::uint16_t port = 0;          // PORT of the conf
  std::uint64_t chain_id = 0;
  std::string genesis_hash;          // 0x-prefixed
  std::vector<std::string> council;  // 0x checksummed, from the genesis
  std::string node_address;          // the CN's, 0x checksummed; empty when it had no nodekey
  std::vector<ImageFile> files;
  std::optional<ImageHa> ha;  // a host of an HA cell (format version 2)

  [[nodiscard]] nlohmann::json to_json() const;
  // Errors: snapshot.manifest (a missing or mistyped field, named), snapshot.version.
  [[nodiscard]] static Result<ImageManifest> from_json(const nlohmann::json& j);
  [[nodiscard]] const ImageFile* find_role(std::string_view role) const;
};

struct ImageCreateOptions {
  std::filesystem::path conf;     // the CN's kcnd.conf (default: the agent conf's HA_NODE_CONF)
  std::filesystem::path ha_conf;  // the host's HA agent conf; empty: not an HA host
  std::filesystem::path out;
  std::vector<std::filesystem::path> extra;  // operator files (units, scripts)
  std::filesystem::path binary;              // default: this corecell executable
};

// Builds the image. Errors: snapshot.source (a conf that does not load, a genesis or extra file
// missing, an extra file inside DATA_DIR/klay or HA_STATE_DIR or one of the agent's key files,
// an agent conf whose HA_NODE_CONF is not --conf), snapshot.exists, and write errors.
[[nodiscard]] Result<ImageManifest> create_image(const ImageCreateOptions& options,
                                                 const ProgressFn& progress = {});

// The manifest; with `verify`, every file is read and checked (errors as read_archive's).
[[nodiscard]] Result<ImageManifest> read_image(const std::filesystem::path& image, bool verify);

// Extracts the image's files into `staging` (which must not exist), verified; each file is then
// at staging / "root" / <its target relative to />.
[[nodiscard]] Result<ImageManifest> extract_image(const std::filesystem::path& image,
                                                  const std::filesystem::path& staging);

// Where a file of the image is inside an extracted staging directory.
[[nodiscard]] std::filesystem::path staged_path(const std::filesystem::path& staging,
                                                const ImageFile& file);

}  // namespace cc::snapshot
