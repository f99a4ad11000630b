#include "storage/signjournal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <limits>
#include <nlohmann/json.hpp>

#include "util/files.h"

namespace cc::storage {
namespace {

constexpr std::array<std::string_view, 5> kTypes = {"preprepare", "prepare", "commit",
                                                    "roundchange", "seal"};
// Oracles read whole journals; a multi-gigabyte file is not a journal this code wrote for a test.
constexpr std::size_t kMaxJournalBytes = std::size_t{1} << 30;

Error bad_line(const std::string& what) {
  return make_error("signjournal.malformed", "signature journal line: " + what);
}

// Parses exactly "YYYY-MM-DDTHH:MM:SS.mmmZ".
Result<std::chrono::system_clock::time_point> parse_rfc3339_ms(std::string_view s) {
  auto fail = [&] {
    return bad_line("\"time\" is \"" + std::string(s) +
                    "\", expected RFC 3339 UTC with milliseconds like 2024-05-01T12:34:56.789Z");
  };
  if (s.size() != 24) return fail();
  auto digits = [&](std::size_t pos, std::size_t n, int& out) {
    out = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      out = out * 10 + (s[i] - '0');
    }
    return true;
  };
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, ms = 0;
  if (!digits(0, 4, year) || s[4] != '-' || !digits(5, 2, month) || s[7] != '-' ||
      !digits(8, 2, day) || s[10] != 'T' || !digits(11, 2, hour) || s[13] != ':' ||
      !digits(14, 2, minute) || s[16] != ':' || !digits(17, 2, second) || s[19] != '.' ||
      !digits(20, 3, ms) || s[23] != 'Z')
    return fail();
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
    return fail();
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const std::time_t secs = ::timegm(&tm);
  return std::chrono::system_clock::from_time_t(secs) + std::chrono::milliseconds(ms);
}

Status write_all(int fd, const std::string& data, const std::filesystem::path& path) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error("signjournal.write", "appending to signature journal " + path.string() +
                                                 ": " + errno_text(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  return ok_status();
}

}  // namespace

bool is_journal_type(std::string_view type) {
  for (auto t : kTypes)
    if (t == type) return true;
  return false;
}

JournalEntry make_journal_entry(const Address& address, std::uint64_t height, std::uint32_t round,
                                std::string type, const Hash32& digest, std::uint64_t epoch) {
  JournalEntry e;
  e.address = address;
  e.height = height;
  e.round = round;
  e.type = std::move(type);
  e.digest = digest;
  e.epoch = epoch;
  e.time =
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  e.pid = ::getpid();
  return e;
}

std::string format_rfc3339_ms(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto ms_total = duration_cast<milliseconds>(t.time_since_epoch()).count();
  // floor division so times before 1970 still print a valid clock reading
  std::int64_t secs = ms_total / 1000;
  std::int64_t ms = ms_total % 1000;
  if (ms < 0) {
    ms += 1000;
    secs -= 1;
  }
  const std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[96];  // room for any int year, so no truncation is possible
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

std::string format_journal_line(const JournalEntry& e) {
  // Built by hand: every value is hex, a number or one of five fixed words (nothing to escape),
  // and the field order is part of the format (nlohmann::json would sort the keys).
  std::string out;
  out.reserve(256);
  out += "{\"address\":\"" + to_hex0x(e.address) + "\"";
  out += ",\"height\":" + std::to_string(e.height);
  out += ",\"round\":" + std::to_string(e.round);
  out += ",\"type\":\"" + e.type + "\"";
  out += ",\"digest\":\"" + to_hex0x(e.digest) + "\"";
  out += ",\"epoch\":" + std::to_string(e.epoch);
  out += ",\"time\":\"" + format_rfc3339_ms(e.time) + "\"";
  out += ",\"pid\":" + std::to_string(e.pid) + "}";
  return out;
}

Result<JournalEntry> parse_journal_line(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  auto j = nlohmann::json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return bad_line("not a JSON object");
  auto need = [&](const char* key) -> const nlohmann::json* {
    auto it = j.find(key);
    return it == j.end() ? nullptr : &*it;
  };
  auto u64 = [&](const char* key, std::uint64_t max, std::uint64_t& out) -> Status {
    const auto* v = need(key);
    if (v == nullptr || !v->is_number_unsigned())
      return bad_line(std::string("\"") + key + "\" is missing or not an unsigned integer");
    out = v->get<std::uint64_t>();
    if (out > max) return bad_line(std::string("\"") + key + "\" is out of range");
    return ok_status();
  };
  auto str = [&](const char* key, std::string& out) -> Status {
    const auto* v = need(key);
    if (v == nullptr || !v->is_string())
      return bad_line(std::string("\"") + key + "\" is missing or not a string");
    out = v->get<std::string>();
    return ok_status();
  };

  JournalEntry e;
  std::string address, digest, time;
  std::uint64_t round = 0;
  CC_TRY_STATUS(str("address", address));
  CC_TRY_STATUS(u64("height", std::numeric_limits<std::uint64_t>::max(), e.height));
  CC_TRY_STATUS(u64("round", std::numeric_limits<std::uint32_t>::max(), round));
  CC_TRY_STATUS(str("type", e.type));
  CC_TRY_STATUS(str("digest", digest));
  CC_TRY_STATUS(u64("epoch", std::numeric_limits<std::uint64_t>::max(), e.epoch));
  CC_TRY_STATUS(str("time", time));
  e.round = static_cast<std::uint32_t>(round);
  const auto* pid = need("pid");
  if (pid == nullptr || !pid->is_number_integer())
    return bad_line("\"pid\" is missing or not an integer");
  e.pid = pid->get<std::int64_t>();
  if (!is_journal_type(e.type))
    return bad_line("\"type\" is \"" + e.type +
                    "\", expected preprepare, prepare, commit, roundchange or seal");
  if (address.rfind("0x", 0) != 0) return bad_line("\"address\" lacks the 0x prefix");
  auto addr = fixed_from_hex<20>(address);
  if (!addr.ok()) return bad_line("\"address\": " + addr.error().message);
  e.address = *addr;
  if (digest.rfind("0x", 0) != 0) return bad_line("\"digest\" lacks the 0x prefix");
  auto dig = fixed_from_hex<32>(digest);
  if (!dig.ok()) return bad_line("\"digest\": " + dig.error().message);
  e.digest = *dig;
  CC_TRY_ASSIGN(e.time, parse_rfc3339_ms(time));
  return e;
}

Result<JournalContents> read_journal(const std::filesystem::path& path) {
  auto text = read_file(path, kMaxJournalBytes);
  if (!text.ok()) return text.error().context("reading signature journal");
  JournalContents out;
  std::string_view rest = *text;
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    if (line.empty()) continue;
    auto entry = parse_journal_line(line);
    if (entry.ok()) {
      out.entries.push_back(std::move(entry).value());
    } else {
      ++out.skipped_lines;
    }
  }
  return out;
}

Result<SignJournal> SignJournal::open(const std::filesystem::path& path) {
  const bool existed = std::filesystem::exists(path);
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return make_error("signjournal.open", "cannot open signature journal " + path.string() +
                                              " for appending: " + errno_text(errno) +
                                              " (check that its directory exists and is writable)");
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return make_error("signjournal.open",
                      "signature journal " + path.string() + " is not a regular file");
  }
  bool needs_newline = false;
  if (st.st_size > 0) {
    // A crash mid-append can leave a partial last line; start the next line on its own.
    int rfd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    char last = '\n';
    if (rfd < 0 || ::pread(rfd, &last, 1, st.st_size - 1) != 1) {
      needs_newline = true;  // cannot tell: an empty line costs nothing, a merged one does
    } else {
      needs_newline = last != '\n';
    }
    if (rfd >= 0) ::close(rfd);
  }
  if (!existed) {
    Status synced = fsync_dir(path.parent_path());
    if (!synced.ok()) {
      ::close(fd);
      return synced.error().context("creating signature journal " + path.string());
    }
  }
  return SignJournal(fd, path, needs_newline);
}

SignJournal::SignJournal(SignJournal&& other) noexcept
    : fd_(other.fd_), path_(std::move(other.path_)), needs_newline_(other.needs_newline_) {
  other.fd_ = -1;
}

SignJournal& SignJournal::operator=(SignJournal&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    needs_newline_ = other.needs_newline_;
    other.fd_ = -1;
  }
  return *this;
}

SignJournal::~SignJournal() {
  if (fd_ >= 0) ::close(fd_);
}

Status SignJournal::append(const JournalEntry& entry) {
  if (fd_ < 0)
    return make_error("signjournal.closed", "signature journal " + path_.string() + " is closed");
  if (!is_journal_type(entry.type))
    return make_error("signjournal.type", "refusing to journal a signature of unknown type \"" +
                                              entry.type + "\" to " + path_.string());
  std::string line = needs_newline_ ? "\n" : "";
  line += format_journal_line(entry);
  line += '\n';
  // One write() per line (short writes only on a full disk): with O_APPEND, writers in other
  // processes never interleave inside a line.
  Status st = write_all(fd_, line, path_);
  if (!st.ok()) {
    needs_newline_ = true;  // part of the line may be in the file
    return st;
  }
  needs_newline_ = false;
  if (::fdatasync(fd_) != 0)
    return make_error("signjournal.fsync",
                      "fsync of signature journal " + path_.string() + ": " + errno_text(errno));
  return ok_status();
}

}  // namespace cc::storage
