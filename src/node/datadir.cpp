#include "node/datadir.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>

#include "crypto/nodekey.h"

namespace cc::node {
namespace fs = std::filesystem;

fs::path klay_dir(const fs::path& d) { return d / "klay"; }
fs::path nodekey_path(const fs::path& d) { return d / "klay" / "nodekey"; }
fs::path legacy_nodekey_path(const fs::path& d) { return d / "nodekey"; }
fs::path chaindata_dir(const fs::path& d) { return d / "klay" / "chaindata"; }
fs::path static_nodes_path(const fs::path& d) { return d / "static-nodes.json"; }
fs::path klay_static_nodes_path(const fs::path& d) { return d / "klay" / "static-nodes.json"; }
fs::path signstate_path(const fs::path& d) { return d / "klay" / "signstate"; }
fs::path signjournal_path(const fs::path& d) { return d / "klay" / "signjournal"; }
fs::path lock_path(const fs::path& d) { return d / "klay" / "LOCK"; }
fs::path logs_dir(const fs::path& d) { return d / "logs"; }
fs::path control_socket_path(const fs::path& d) { return d / "corecell.sock"; }

namespace {

bool present(const fs::path& p) {
  std::error_code ec;
  return fs::exists(fs::symlink_status(p, ec));
}

std::string kind_of(fs::file_type t) {
  switch (t) {
    case fs::file_type::regular:
      return "a regular file";
    case fs::file_type::symlink:
      return "a symbolic link";
    case fs::file_type::block:
      return "a block device";
    case fs::file_type::character:
      return "a character device";
    case fs::file_type::fifo:
      return "a FIFO";
    case fs::file_type::socket:
      return "a socket";
    default:
      return "not a directory";
  }
}

// Makes `dir` exist as a writable directory; `what` names it for the operator ("DATA_DIR").
Status ensure_writable_dir(const fs::path& dir, const std::string& what) {
  std::error_code ec;
  fs::file_status st = fs::status(dir, ec);  // follows symlinks: a link to a directory is fine
  if (fs::exists(st)) {
    if (!fs::is_directory(st)) {
      return make_error("datadir.not_a_directory",
                        what + " " + dir.string() + " is " + kind_of(st.type()) +
                            ", not a directory; move it away or point DATA_DIR elsewhere");
    }
  } else if (present(dir)) {
    return make_error("datadir.dangling_link", what + " " + dir.string() +
                                                   " is a symbolic link to nothing; fix or "
                                                   "remove the link");
  } else {
    Status made = ensure_dir(dir);
    if (!made.ok()) {
      return make_error("datadir.create", "cannot create " + what + ": " + made.error().message +
                                              "; create it (mode 0700) as the user that runs "
                                              "the node, or choose another DATA_DIR");
    }
  }
  // Probe by creating a file: access(2) says yes to root on a read-only mount.
  fs::path probe = dir / (".write-probe." + std::to_string(::getpid()));
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    int err = errno;
    return make_error("datadir.not_writable",
                      what + " " + dir.string() + " is not writable by this user (uid " +
                          std::to_string(::geteuid()) + "): " + errno_text(err) +
                          "; fix its owner or mode, or choose another DATA_DIR");
  }
  ::close(fd);
  ::unlink(probe.c_str());
  return ok_status();
}

std::string trimmed_key_text(const std::string& text) {
  std::string t = text;
  if (!t.empty() && t.back() == '\n') t.pop_back();
  if (!t.empty() && t.back() == '\r') t.pop_back();
  return t;
}

// Two different keys in one DATA_DIR: Kaia silently uses the legacy one. After an operator copies
// a takeover key into klay/nodekey, that would start the node with the wrong identity.
Status check_nodekey_conflict(const fs::path& root) {
  fs::path legacy = legacy_nodekey_path(root);
  fs::path current = nodekey_path(root);
  if (!present(legacy) || !present(current)) return ok_status();
  auto a = read_file(legacy, 4096);
  auto b = read_file(current, 4096);
  if (!a.ok() || !b.ok()) return ok_status();  // the key loader reports unreadable keys
  if (trimmed_key_text(*a) == trimmed_key_text(*b)) return ok_status();
  return make_error("datadir.nodekey_conflict",
                    "DATA_DIR " + root.string() +
                        " holds two different nodekeys: " + legacy.string() +
                        " (legacy; Kaia's lookup uses it first) and " + current.string() +
                        "; keep the key this node should have and remove the "
                        "other before starting");
}

}  // namespace

fs::path static_nodes_path_in_use(const fs::path& d) {
  if (present(static_nodes_path(d))) return static_nodes_path(d);
  if (present(klay_static_nodes_path(d))) return klay_static_nodes_path(d);
  return static_nodes_path(d);
}

fs::path DataDir::nodekey() const { return crypto::nodekey_path_in(root_); }

Result<DataDir> open_datadir(const fs::path& path) {
  if (path.empty()) {
    return make_error("datadir.empty",
                      "DATA_DIR is empty; set DATA_DIR in the configuration file or pass "
                      "--data-dir");
  }
  std::error_code ec;
  fs::path root = fs::absolute(path, ec);
  if (ec) {
    return make_error("datadir.path",
                      "cannot make DATA_DIR " + path.string() + " absolute: " + ec.message());
  }
  root = root.lexically_normal();
  if (!root.has_filename() && root != root.root_path()) root = root.parent_path();

  std::size_t sock_len = control_socket_path(root).native().size();
  if (sock_len > kMaxUnixSocketPathBytes) {
    return make_error("datadir.path_too_long",
                      "DATA_DIR " + root.string() + " is too long: the control socket " +
                          control_socket_path(root).string() + " would be " +
                          std::to_string(sock_len) + " bytes and Unix sockets allow " +
                          std::to_string(kMaxUnixSocketPathBytes) +
                          "; use a shorter DATA_DIR (or a symbolic link to it)");
  }

  CC_TRY_STATUS(ensure_writable_dir(root, "DATA_DIR"));
  CC_TRY_STATUS(ensure_writable_dir(klay_dir(root), "DATA_DIR/klay"));
  auto lock = ProcessLock::acquire(lock_path(root));
  if (!lock.ok()) return lock.error().context("DATA_DIR " + root.string());
  CC_TRY_STATUS(ensure_writable_dir(logs_dir(root), "DATA_DIR/logs"));
  CC_TRY_STATUS(check_nodekey_conflict(root));
  return DataDir(std::move(root), std::move(lock).value());
}

}  // namespace cc::node
