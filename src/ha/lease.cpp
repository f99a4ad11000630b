// ha/lease.cpp — the `local` lease backend (see ha/lease.h): one JSON state file per lease,
// replaced atomically, every read-modify-write under flock(2) on `path` + ".lock". Expiry is
// kept in CLOCK_MONOTONIC milliseconds (std::chrono::steady_clock on Linux), which every process
// of one host shares; the file also records the kernel's boot id, so a holding written before a
// reboot (when the monotonic clock restarted) counts as expired instead of as held for hours.
// The file also records the machine id (/etc/machine-id) of the machine that wrote it: a local
// lease decides between agents of ONE machine (its expiry is on that machine's clock, its flock
// is that kernel's), so a file written by another machine (a network file system shared by two
// hosts, a copied disk) is refused as lease.not_shared instead of deciding anything.
// State file format (version 1; "machine_id" absent in files of older versions):
//   {"version":1,"boot_id":"..","machine_id":"..","holder":"agent-a","epoch":3,"active":true,
//    "expires_at_mono_ms":123456789,"ttl_ms":3000,"watermark":120,"watermark_exact":false,
//    "handover_to":"","paused":false,"paused_by":""}
// `epoch` only grows (the next acquire writes epoch + 1); a file that does not parse is reported
// (lease.corrupt), never reset: resetting would hand out an epoch that was already used.
#include "ha/lease.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "util/files.h"

namespace cc::ha {
namespace {

namespace fs = std::filesystem;
using local_json = nlohmann::json;

constexpr int kLocalStateVersion = 1;
// How long a call waits for another process's read-modify-write before giving up. Such a section
// takes milliseconds; a longer wait means that process hangs (or the file system does).
constexpr std::chrono::milliseconds kLocalLockWait{2000};

std::int64_t local_mono_ms(SteadyClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// A small id file's text, trailing newline and blanks dropped ("" when it cannot be read).
std::string local_id_file(const char* path) {
  auto text = read_file(path, 4096);
  std::string s = text.ok() ? text.value() : std::string();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// The kernel's id for this boot ("" when /proc is unavailable: then reboots go undetected, and
// an old holding expires only when the monotonic clock passes it again).
const std::string& local_boot_id() {
  static const std::string id = local_id_file("/proc/sys/kernel/random/boot_id");
  return id;
}

// This machine's id (systemd's /etc/machine-id, else D-Bus's copy; "" when neither exists: then
// a file written elsewhere goes undetected).
const std::string& local_machine_id() {
  static const std::string id = [] {
    std::string s = local_id_file("/etc/machine-id");
    return s.empty() ? local_id_file("/var/lib/dbus/machine-id") : s;
  }();
  return id;
}

// The file's content. `exists` is false for a missing file (the lease was never held).
struct LocalFileState {
  bool exists = false;
  std::string boot_id;
  std::string machine_id;  // "" in files written before it was recorded
  std::string holder;
  std::uint64_t epoch = 0;
  bool active = false;  // acquired and neither released nor found expired
  std::int64_t expires_at_mono_ms = 0;
  std::int64_t ttl_ms = 0;
  std::uint64_t watermark = 0;
  bool watermark_exact = false;
  std::string handover_to;
  bool paused = false;
  std::string paused_by;

  // Held at `now_ms`: active, written during this boot, and not past its expiry.
  [[nodiscard]] bool held_at(std::int64_t now_ms) const {
    return active && boot_id == local_boot_id() && now_ms < expires_at_mono_ms;
  }
};

// An exclusive flock on the lock file for the object's lifetime.
class LocalLockGuard {
 public:
  LocalLockGuard() = default;
  LocalLockGuard(const LocalLockGuard&) = delete;
  LocalLockGuard& operator=(const LocalLockGuard&) = delete;
  LocalLockGuard(LocalLockGuard&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  LocalLockGuard& operator=(LocalLockGuard&&) = delete;
  ~LocalLockGuard() {
    if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the flock
  }

  [[nodiscard]] static Result<LocalLockGuard> lock(const fs::path& lock_path) {
    int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      int err = errno;
      return make_error(
          "lease.unavailable",
          "cannot open the lease lock file " + lock_path.string() + ": " + errno_text(err) +
              (err == ENOENT
                   ? "; create the directory " + lock_path.parent_path().string() + " first"
                   : ""));
    }
    LocalLockGuard guard;
    guard.fd_ = fd;
    auto deadline = SteadyClock::now() + kLocalLockWait;
    for (;;) {
      if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return guard;
      int err = errno;
      if (err == EINTR) continue;
      if (err != EWOULDBLOCK) {
        return make_error("lease.unavailable",
                          "locking " + lock_path.string() + ": " + errno_text(err));
      }
      if (SteadyClock::now() >= deadline) {
        return make_error("lease.unavailable",
                          "the lease lock " + lock_path.string() + " has been held by another " +
                              "process for more than " + std::to_string(kLocalLockWait.count()) +
                              " ms; find it with `fuser " + lock_path.string() + "`");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

 private:
  int fd_ = -1;
};

Error local_corrupt(const fs::path& path, const std::string& what) {
  return make_error(
      "lease.corrupt",
      "the lease state file " + path.string() + " is corrupt (" + what +
          "); the lease cannot be decided from it, so no agent may take it. Stop every HA agent "
          "of this cell, then restore the file or delete it (deleting forgets the epoch counter "
          "and the replicated watermark: the next holder starts again at epoch 1)");
}

Result<LocalFileState> local_parse(const fs::path& path, const std::string& text) {
  local_json j = local_json::parse(text, nullptr, false);
  if (j.is_discarded()) return local_corrupt(path, "not JSON");
  if (!j.is_object()) return local_corrupt(path, "not a JSON object");
  LocalFileState s;
  s.exists = true;
  std::string missing;
  auto field = [&](const char* name, local_json::value_t type) -> const local_json* {
    auto it = j.find(name);
    bool type_ok = it != j.end() &&
                   (it->type() == type || (type == local_json::value_t::number_unsigned &&
                                           it->type() == local_json::value_t::number_integer &&
                                           it->get<std::int64_t>() >= 0));
    if (!type_ok) {
      if (missing.empty()) missing = name;
      return nullptr;
    }
    return &*it;
  };
  using vt = local_json::value_t;
  const local_json* version = field("version", vt::number_unsigned);
  if (version == nullptr || version->get<std::uint64_t>() != kLocalStateVersion) {
    return local_corrupt(path, version == nullptr
                                   ? "field \"version\" missing or not a number"
                                   : "unknown version " + version->dump() + ", expected " +
                                         std::to_string(kLocalStateVersion));
  }
  if (auto* f = field("boot_id", vt::string)) s.boot_id = f->get<std::string>();
  if (auto it = j.find("machine_id"); it != j.end()) {
    if (!it->is_string()) return local_corrupt(path, "field \"machine_id\" is not a string");
    s.machine_id = it->get<std::string>();
  }
  if (auto* f = field("holder", vt::string)) s.holder = f->get<std::string>();
  if (auto* f = field("epoch", vt::number_unsigned)) s.epoch = f->get<std::uint64_t>();
  if (auto* f = field("active", vt::boolean)) s.active = f->get<bool>();
  if (auto* f = field("expires_at_mono_ms", vt::number_unsigned))
    s.expires_at_mono_ms = f->get<std::int64_t>();
  if (auto* f = field("ttl_ms", vt::number_unsigned)) s.ttl_ms = f->get<std::int64_t>();
  if (auto* f = field("watermark", vt::number_unsigned)) s.watermark = f->get<std::uint64_t>();
  if (auto* f = field("watermark_exact", vt::boolean)) s.watermark_exact = f->get<bool>();
  if (auto* f = field("handover_to", vt::string)) s.handover_to = f->get<std::string>();
  if (auto* f = field("paused", vt::boolean)) s.paused = f->get<bool>();
  if (auto* f = field("paused_by", vt::string)) s.paused_by = f->get<std::string>();
  if (!missing.empty()) {
    return local_corrupt(path, "field \"" + missing + "\" missing or of the wrong type");
  }
  if (s.active && (s.holder.empty() || s.epoch == 0)) {
    return local_corrupt(path, "an active holding without a holder or epoch");
  }
  return s;
}

std::string local_serialize(const LocalFileState& s) {
  local_json j = {{"version", kLocalStateVersion},
                  {"boot_id", s.boot_id},
                  {"machine_id", local_machine_id()},
                  {"holder", s.holder},
                  {"epoch", s.epoch},
                  {"active", s.active},
                  {"expires_at_mono_ms", s.expires_at_mono_ms},
                  {"ttl_ms", s.ttl_ms},
                  {"watermark", s.watermark},
                  {"watermark_exact", s.watermark_exact},
                  {"handover_to", s.handover_to},
                  {"paused", s.paused},
                  {"paused_by", s.paused_by}};
  return j.dump(2) + "\n";
}

class LocalLeaseStore final : public LeaseStore {
 public:
  explicit LocalLeaseStore(fs::path path) : path_(std::move(path)) {
    lock_path_ = path_;
    lock_path_ += ".lock";
  }

  [[nodiscard]] std::string describe() const override { return "local " + path_.string(); }

  [[nodiscard]] Result<LeaseState> read() override {
    std::lock_guard<std::mutex> in_process(mu_);
    CC_TRY_ASSIGN(auto guard, LocalLockGuard::lock(lock_path_));
    CC_TRY_ASSIGN(LocalFileState s, load());
    std::int64_t now = local_mono_ms(SteadyClock::now());
    LeaseState out;
    out.held = s.held_at(now);
    out.holder = s.holder;
    out.epoch = s.epoch;
    out.ttl_left = std::chrono::milliseconds(out.held ? s.expires_at_mono_ms - now : 0);
    out.watermark = s.watermark;
    out.watermark_exact = s.watermark_exact;
    out.handover_to = s.handover_to;
    out.paused = s.paused;
    out.paused_by = s.paused_by;
    return out;
  }

  [[nodiscard]] Result<LeaseGrant> acquire(const std::string& holder,
                                           std::chrono::milliseconds ttl) override {
    LeaseGrant grant;
    grant.requested_at = LeaseClock::now();  // before the lock: the holder's deadline is early
    CC_TRY_STATUS(check_request(holder, ttl));
    std::lock_guard<std::mutex> in_process(mu_);
    CC_TRY_ASSIGN(auto guard, LocalLockGuard::lock(lock_path_));
    CC_TRY_ASSIGN(LocalFileState s, load());
    std::int64_t now = local_mono_ms(SteadyClock::now());
    if (s.held_at(now)) {
      return make_error("lease.held", "the lease " + path_.string() + " is held by " + s.holder +
                                          " (epoch " + std::to_string(s.epoch) + ") for another " +
                                          std::to_string(s.expires_at_mono_ms - now) +
                                          " ms unless renewed; wait for it to expire or have " +
                                          s.holder + " release it");
    }
    // Free: never held, released, or expired. The watermark, exactness, handover target and
    // pause flag carry over; the epoch grows past every epoch this file has handed out.
    s.boot_id = local_boot_id();
    s.holder = holder;
    s.epoch += 1;
    s.active = true;
    s.ttl_ms = ttl.count();
    s.expires_at_mono_ms = now + s.ttl_ms;
    CC_TRY_STATUS(store(s));
    grant.epoch = s.epoch;
    grant.ttl = ttl;
    grant.watermark = s.watermark;
    grant.watermark_exact = s.watermark_exact;
    return grant;
  }

  [[nodiscard]] Result<LeaseGrant> renew(const std::string& holder, std::uint64_t epoch,
                                         std::uint64_t watermark) override {
    LeaseGrant grant;
    grant.requested_at = LeaseClock::now();
    std::lock_guard<std::mutex> in_process(mu_);
    CC_TRY_ASSIGN(auto guard, LocalLockGuard::lock(lock_path_));
    CC_TRY_ASSIGN(LocalFileState s, load());
    std::int64_t now = local_mono_ms(SteadyClock::now());
    CC_TRY_STATUS(check_holding(s, holder, epoch, now));
    s.expires_at_mono_ms = now + s.ttl_ms;  // never earlier than requested_at + ttl
    s.watermark = std::max(s.watermark, watermark);
    s.watermark_exact = false;  // the holder's node is running: only a release can be exact
    s.handover_to.clear();
    CC_TRY_STATUS(store(s));
    grant.epoch = s.epoch;
    grant.ttl = std::chrono::milliseconds(s.ttl_ms);
    return grant;
  }

  [[nodiscard]] Status release(const std::string& holder, std::uint64_t epoch,
                               std::uint64_t watermark, bool watermark_exact,
                               const std::string& handover_to) override {
    std::lock_guard<std::mutex> in_process(mu_);
    CC_TRY_ASSIGN(auto guard, LocalLockGuard::lock(lock_path_));
    CC_TRY_ASSIGN(LocalFileState s, load());
    std::int64_t now = local_mono_ms(SteadyClock::now());
    CC_TRY_STATUS(check_holding(s, holder, epoch, now));
    s.active = false;
    s.expires_at_mono_ms = 0;
    s.watermark = std::max(s.watermark, watermark);
    s.watermark_exact = watermark_exact;
    s.handover_to = handover_to;
    return store(s);
  }

  [[nodiscard]] Status set_paused(bool paused, const std::string& by) override {
    std::lock_guard<std::mutex> in_process(mu_);
    CC_TRY_ASSIGN(auto guard, LocalLockGuard::lock(lock_path_));
    CC_TRY_ASSIGN(LocalFileState s, load());
    s.paused = paused;
    s.paused_by = paused ? by : std::string();
    return store(s);
  }

 private:
  [[nodiscard]] static Status check_request(const std::string& holder,
                                            std::chrono::milliseconds ttl) {
    if (holder.empty()) {
      return make_error("lease.config", "acquiring a lease needs a non-empty holder name");
    }
    if (ttl.count() <= 0) {
      return make_error("lease.config", "the lease TTL must be positive (got " +
                                            std::to_string(ttl.count()) + " ms)");
    }
    return ok_status();
  }

  // lease.lost unless `holder` with `epoch` holds the lease now.
  [[nodiscard]] Status check_holding(const LocalFileState& s, const std::string& holder,
                                     std::uint64_t epoch, std::int64_t now) const {
    std::string who = holder + " (epoch " + std::to_string(epoch) + ")";
    if (!s.exists || s.epoch == 0) {
      return make_error("lease.lost", "the lease " + path_.string() + " was never held; " + who +
                                          " holds nothing");
    }
    if (s.epoch != epoch || s.holder != holder) {
      return make_error("lease.lost", "the lease " + path_.string() + " is now " +
                                          (s.held_at(now) ? "held by " : "last held by ") +
                                          s.holder + " (epoch " + std::to_string(s.epoch) +
                                          "), not by " + who);
    }
    if (!s.active) {
      return make_error("lease.lost", "the lease " + path_.string() + " was released by " + who);
    }
    if (!s.held_at(now)) {
      return make_error("lease.lost",
                        "the lease " + path_.string() + " held by " + who + " expired " +
                            (s.boot_id != local_boot_id()
                                 ? std::string("(written before a reboot)")
                                 : std::to_string(now - s.expires_at_mono_ms) + " ms ago") +
                            "; it must be acquired again");
    }
    return ok_status();
  }

  // The state under the lock; a missing file is a lease never held.
  [[nodiscard]] Result<LocalFileState> load() const {
    auto text = read_file(path_, 1 << 20);
    if (!text.ok()) {
      if (text.error().code == "file.missing") return LocalFileState{};
      if (text.error().code == "file.too_large" || text.error().code == "file.not_regular") {
        return local_corrupt(path_, text.error().message);
      }
      return make_error("lease.unavailable", "reading the lease state: " + text.error().message);
    }
    CC_TRY_ASSIGN(LocalFileState s, local_parse(path_, text.value()));
    if (!s.machine_id.empty() && !local_machine_id().empty() &&
        s.machine_id != local_machine_id()) {
      return make_error(
          "lease.not_shared",
          "the lease file " + path_.string() + " was written on another machine (machine id " +
              s.machine_id + ", this one is " + local_machine_id() +
              "): a local lease decides only between agents of one machine (its expiry and lock "
              "are that machine's), so two hosts cannot share it, not even on a network file "
              "system. Use HA_LEASE=etcd for two hosts (docs/HA.md, \"Lease stores\")");
    }
    return s;
  }

  [[nodiscard]] Status store(const LocalFileState& s) const {
    auto st = atomic_write_file(path_, local_serialize(s), 0644);
    if (!st.ok()) {
      return make_error("lease.unavailable", "writing the lease state: " + st.error().message +
                                                 " (check the directory's space and permissions)");
    }
    return ok_status();
  }

  fs::path path_;
  fs::path lock_path_;
  std::mutex mu_;  // one call at a time per object; flock orders the processes
};

}  // namespace

std::unique_ptr<LeaseStore> make_local_lease_store(const std::filesystem::path& path) {
  return std::make_unique<LocalLeaseStore>(path);
}

}  // namespace cc::ha
