// util/files.h — owns file-system primitives with crash-safe semantics: atomic replace
// (temp file + fsync + rename + directory fsync), whole-file reads, modes, and the exclusive
// process lock used for DATA_DIR. Never interprets file contents.
#pragma once

#include <sys/types.h>
#include <filesystem>
#include <optional>
#include <string>

#include "util/bytes.h"
#include "util/result.h"

namespace cc {

// Writes data to path atomically: a crash leaves either the old or the new content, never a mix.
// The file gets `mode` (e.g. 0600) before any byte is written.
[[nodiscard]] Status atomic_write_file(const std::filesystem::path& path, ByteView data,
                                       mode_t mode = 0644);
[[nodiscard]] Status atomic_write_file(const std::filesystem::path& path, const std::string& data,
                                       mode_t mode = 0644);

// Reads a whole file; refuses files larger than max_bytes (malicious or wrong file).
[[nodiscard]] Result<std::string> read_file(const std::filesystem::path& path,
                                            std::size_t max_bytes = 64u << 20);

// The permission bits of an existing file.
[[nodiscard]] Result<mode_t> file_mode(const std::filesystem::path& path);

// Creates a directory and its parents (mode 0700 for new ones).
[[nodiscard]] Status ensure_dir(const std::filesystem::path& dir);

// fsyncs a directory so a rename or create inside it is durable.
[[nodiscard]] Status fsync_dir(const std::filesystem::path& dir);

// The pid text a live ProcessLock holder recorded in `lock_file`, when some process holds its
// lock now ("" when the holder wrote none); nullopt when the file is missing or nobody holds it.
// Only looks: opens the file read-only and never writes it.
[[nodiscard]] std::optional<std::string> lock_holder(const std::filesystem::path& lock_file);

// An exclusive advisory lock (flock) on a file, held for the object's lifetime. The file records
// the holder's pid for operators. A second process (or a second lock in this process) fails
// with an error naming the path and the pid holding it.
class ProcessLock {
 public:
  [[nodiscard]] static Result<ProcessLock> acquire(const std::filesystem::path& lock_file);
  ProcessLock(ProcessLock&& other) noexcept;
  ProcessLock& operator=(ProcessLock&& other) noexcept;
  ProcessLock(const ProcessLock&) = delete;
  ProcessLock& operator=(const ProcessLock&) = delete;
  ~ProcessLock();

  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  ProcessLock(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::filesystem::path path_;
};

// strerror(errno) as a std::string.
[[nodiscard]] std::string errno_text(int err);

}  // namespace cc
