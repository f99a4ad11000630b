// storage/signjournal.h — owns DATA_DIR/klay/signjournal, the append-only record of every
// consensus signature a node produced: one JSON object per line, written with one append and
// fsync'd before append() returns. Test oracles merge the journals of all processes to check
// SIGN-1, so the line format below is stable (DESIGN.md, "Files that tools and tests read").
// It never decides what may be signed and is not the safety record (the sign-state file is):
// a lost journal line loses evidence, never safety.
//
// Line format (fields in this order, no spaces; address and digest lower-case hex):
//   {"address":"0x<40 hex>","height":N,"round":R,"type":"preprepare|prepare|commit|roundchange|
//    seal","digest":"0x<64 hex>","epoch":E,"time":"2024-05-01T12:34:56.789Z","pid":P}
// `time` is the wall clock in UTC (RFC 3339, milliseconds); `epoch` the signing permit's fencing
// token (0 when the signature was made without a permit).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "util/bytes.h"
#include "util/result.h"

namespace cc::storage {

struct JournalEntry {
  Address address{};
  std::uint64_t height = 0;
  std::uint32_t round = 0;
  std::string type;  // preprepare, prepare, commit, roundchange, seal
  Hash32 digest{};
  std::uint64_t epoch = 0;
  std::chrono::system_clock::time_point time{};  // kept to milliseconds in the file
  std::int64_t pid = 0;
  bool operator==(const JournalEntry&) const = default;
};

// True for the five type spellings the format allows.
[[nodiscard]] bool is_journal_type(std::string_view type);

// An entry stamped with the current wall-clock time (truncated to ms) and this process's pid.
[[nodiscard]] JournalEntry make_journal_entry(const Address& address, std::uint64_t height,
                                              std::uint32_t round, std::string type,
                                              const Hash32& digest, std::uint64_t epoch);

// "2024-05-01T12:34:56.789Z"
[[nodiscard]] std::string format_rfc3339_ms(std::chrono::system_clock::time_point t);

// The line without its trailing newline.
[[nodiscard]] std::string format_journal_line(const JournalEntry& entry);

// Parses one line (a trailing '\n' or "\r\n" is allowed). Every field is required with its type;
// unknown extra fields are ignored so tools keep reading newer journals.
[[nodiscard]] Result<JournalEntry> parse_journal_line(std::string_view line);

struct JournalContents {
  std::vector<JournalEntry> entries;
  // Lines that do not parse: an append torn by a crash or a full disk. Counted, not fatal, so an
  // oracle still sees every complete line.
  std::size_t skipped_lines = 0;
};
[[nodiscard]] Result<JournalContents> read_journal(const std::filesystem::path& path);

// An open journal file. Movable, not copyable; not thread-safe (the SignGuard calls it under its
// own lock).
class SignJournal {
 public:
  // Opens for appending, creating the file (mode 0644) and fsyncing its directory when new.
  [[nodiscard]] static Result<SignJournal> open(const std::filesystem::path& path);
  SignJournal(SignJournal&& other) noexcept;
  SignJournal& operator=(SignJournal&& other) noexcept;
  SignJournal(const SignJournal&) = delete;
  SignJournal& operator=(const SignJournal&) = delete;
  ~SignJournal();

  // Writes the line and fsyncs. After a failed or torn append the next line starts on a fresh
  // line, so one bad line never swallows the next.
  [[nodiscard]] Status append(const JournalEntry& entry);

  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  SignJournal(int fd, std::filesystem::path path, bool needs_newline)
      : fd_(fd), path_(std::move(path)), needs_newline_(needs_newline) {}
  int fd_ = -1;
  std::filesystem::path path_;
  bool needs_newline_ = false;  // the file may end inside a line
};

}  // namespace cc::storage
