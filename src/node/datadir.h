// node/datadir.h — owns the DATA_DIR layout (Kaia's, so operators' scripts and habits carry
// over) and opening a DATA_DIR for one process: create what is missing, refuse what is unusable,
// and hold DATA_DIR/klay/LOCK for the process lifetime. It never reads or writes the files it
// names (keys, chaindata, sign state); their owners do (crypto/, storage/, consensus/).
//
//   DATA_DIR/klay/nodekey            the node key (crypto/nodekey.h loads it)
//   DATA_DIR/nodekey                 legacy location; Kaia uses it when it exists
//   DATA_DIR/klay/chaindata/         RocksDB (storage/)
//   DATA_DIR/static-nodes.json       kni URLs (else DATA_DIR/klay/static-nodes.json)
//   DATA_DIR/klay/signstate          SignGuard watermark
//   DATA_DIR/klay/signjournal        one JSON line per consensus signature
//   DATA_DIR/klay/LOCK               one process per DATA_DIR
//   DATA_DIR/logs/                   log files
//   DATA_DIR/corecell.sock           control endpoint (Unix socket, mode 0600)
#pragma once

#include <cstddef>
#include <filesystem>

#include "util/files.h"
#include "util/result.h"

namespace cc::node {

// --- the layout: pure path arithmetic, no I/O ---
[[nodiscard]] std::filesystem::path klay_dir(const std::filesystem::path& data_dir);
[[nodiscard]] std::filesystem::path nodekey_path(const std::filesystem::path& data_dir);
[[nodiscard]] std::filesystem::path legacy_nodekey_path(const std::filesystem::path& data_dir);
[[nodiscard]] std::filesystem::path chaindata_dir(const std::filesystem::path& data_dir);
[[nodiscard]] std::filesystem::path static_nodes_path(const std::filesystem::path& data_dir);
[[nodiscard]] std::filesystem::path klay_static_nodes_path(const std::filesystem::path& data_dir);
[[nodiscard]] std::filesystem::path signstate_path(const std::filesystem::path& data_dir);
[[nodiscard]] std::filesystem::path signjournal_path(const std::filesystem::path& data_dir);
[[nodiscard]] std::filesystem::path lock_path(const std::filesystem::path& data_dir);
[[nodiscard]] std::filesystem::path logs_dir(const std::filesystem::path& data_dir);
[[nodiscard]] std::filesystem::path control_socket_path(const std::filesystem::path& data_dir);

// --- lookups that look at the disk ---
// (Which nodekey file is used — legacy first — is crypto::nodekey_path_in.)
// The static-nodes file to read: DATA_DIR/static-nodes.json when it exists, else
// DATA_DIR/klay/static-nodes.json when that exists, else DATA_DIR/static-nodes.json.
[[nodiscard]] std::filesystem::path static_nodes_path_in_use(const std::filesystem::path& data_dir);

// A Unix socket path must fit sockaddr_un::sun_path with its terminating NUL.
inline constexpr std::size_t kMaxUnixSocketPathBytes = 107;

// An open DATA_DIR: the directories exist and this process holds DATA_DIR/klay/LOCK until the
// object is destroyed. Movable, not copyable.
class DataDir {
 public:
  [[nodiscard]] const std::filesystem::path& root() const { return root_; }
  // The nodekey file in use (legacy DATA_DIR/nodekey first), as crypto::nodekey_path_in.
  [[nodiscard]] std::filesystem::path nodekey() const;
  [[nodiscard]] std::filesystem::path chaindata() const { return chaindata_dir(root_); }
  [[nodiscard]] std::filesystem::path static_nodes() const {
    return static_nodes_path_in_use(root_);
  }
  [[nodiscard]] std::filesystem::path signstate() const { return signstate_path(root_); }
  [[nodiscard]] std::filesystem::path signjournal() const { return signjournal_path(root_); }
  [[nodiscard]] std::filesystem::path logs() const { return logs_dir(root_); }
  [[nodiscard]] std::filesystem::path control_socket() const { return control_socket_path(root_); }

 private:
  friend Result<DataDir> open_datadir(const std::filesystem::path& path);
  DataDir(std::filesystem::path root, ProcessLock lock)
      : root_(std::move(root)), lock_(std::move(lock)) {}
  std::filesystem::path root_;
  ProcessLock lock_;
};

// Opens a DATA_DIR for this process: makes the path absolute, creates DATA_DIR, klay/ and logs/
// (mode 0700) when missing, checks that they are writable directories, takes klay/LOCK, and
// checks that the control socket path fits. Refuses, with an error naming the path and the fix:
// a DATA_DIR (or klay/, logs/) that is not a directory, one it cannot create or write, one
// another process holds, a path too long for the control socket, and a DATA_DIR holding both a
// legacy nodekey and a different klay/nodekey (Kaia would silently use the legacy one — after a
// key swap that is the wrong identity).
[[nodiscard]] Result<DataDir> open_datadir(const std::filesystem::path& path);

}  // namespace cc::node
