// ha/lease.h — owns the lease that decides which HA agent of a cell is active, behind one
// interface with a fencing epoch, and the `local` backend (one host: a JSON state file guarded
// by flock on a sibling lock file, expiry on CLOCK_MONOTONIC, which all processes of one host
// share). The `etcd` backend is ha/etcd_lease.h. Besides the holder the store keeps what a
// takeover needs and must survive the holder: the replicated SignGuard watermark (highest height
// the validator signed, as last reported), whether it is exact (written by a release after the
// holder's node was known stopped), a switchover target, and the cell's pause flag.
//
// Rules every backend keeps (tests/unit/ha/lease_test.cpp runs them against both):
//   - acquire succeeds only when the lease is free: never held, released, or expired (a live
//     holding is refused even to its own holder). The new epoch is greater than every epoch
//     ever handed out for this lease (the fencing token).
//   - renew and release succeed only for the current holder with the current epoch
//     (lease.lost otherwise), never resurrect an expired lease, and never lower the watermark.
//   - the watermark, exactness, handover target and pause flag outlive expiry and release, and
//     an acquire carries them over, so the new holder reads them after it has the lease. The
//     new holder's first renew clears exactness and the handover target (its node runs now).
//   - an unreachable store is lease.unavailable (the caller cannot prove anything: FAIL-CLOSED),
//     distinct from lease.lost (the store answered: it is not ours). Any call may also return
//     lease.corrupt: the store holds a value this code cannot read (an operator must look).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "util/clock.h"
#include "util/result.h"

namespace cc::ha {

using SteadyClock = std::chrono::steady_clock;  // waits and timeouts
// The clock a lease grant's instants are on, and so the agent's signing-permit deadlines:
// CLOCK_BOOTTIME (util/clock.h), which keeps counting while the machine is suspended, so a host
// resumed after its lease expired in real time sees its holding (and its node's permit) lapsed.
using LeaseClock = util::BootClock;

struct LeaseState {
  bool held = false;        // someone holds it now (not expired, not released)
  std::string holder;       // the current holder, or the last one ("" when never held)
  std::uint64_t epoch = 0;  // the current or last holding's fencing token (0: never held)
  std::chrono::milliseconds ttl_left{0};  // while held: time until expiry as the store sees it
  std::uint64_t watermark = 0;            // highest height the validator signed, as replicated
  bool watermark_exact = false;  // set by a release after the holder's node was known stopped
  std::string handover_to;       // set by a switchover release: the agent meant to take over
  bool paused = false;           // maintenance: agents take no automatic action
  std::string paused_by;         // who paused it (operator note)
};

// What a successful acquire/renew gives the holder: its epoch and the instant (on this host's
// boot clock) the request was SENT. The holder must treat the lease as lost at
// requested_at + ttl at the latest: the store started counting no earlier than that.
struct LeaseGrant {
  std::uint64_t epoch = 0;
  LeaseClock::time_point requested_at{};
  std::chrono::milliseconds ttl{0};
  // acquire only: the watermark and its exactness as the lease carried them at the very instant
  // it became ours (the same store transaction). A takeover's floor is this watermark + 1 — never
  // one from an earlier read, which another holder may have raised before our acquire.
  std::uint64_t watermark = 0;
  bool watermark_exact = false;
  [[nodiscard]] LeaseClock::time_point expires_at() const { return requested_at + ttl; }
};

class LeaseStore {
 public:
  virtual ~LeaseStore() = default;

  // "local /path/lease.json" or "etcd http://a:2379,http://b:2379 /corecell/cell-1".
  [[nodiscard]] virtual std::string describe() const = 0;
  [[nodiscard]] virtual Result<LeaseState> read() = 0;
  // Takes the lease for `holder` when it is free. Errors: lease.held (names the holder and the
  // time left), lease.unavailable, lease.config (empty holder, ttl <= 0).
  [[nodiscard]] virtual Result<LeaseGrant> acquire(const std::string& holder,
                                                   std::chrono::milliseconds ttl) = 0;
  // Extends the holding by its ttl and records max(stored, watermark). Clears handover_to and
  // watermark_exact (the holder's node is running, so the stored watermark is a lower bound).
  // Errors: lease.lost, lease.unavailable.
  [[nodiscard]] virtual Result<LeaseGrant> renew(const std::string& holder, std::uint64_t epoch,
                                                 std::uint64_t watermark) = 0;
  // Gives the lease up at once (the standby need not wait for the TTL), recording the watermark
  // (max with the stored one), whether it is exact, and a switchover target ("" for none).
  // Errors: lease.lost, lease.unavailable.
  [[nodiscard]] virtual Status release(const std::string& holder, std::uint64_t epoch,
                                       std::uint64_t watermark, bool watermark_exact,
                                       const std::string& handover_to) = 0;
  // Sets or clears the cell's pause flag (operator: `corecell ha pause|resume`).
  [[nodiscard]] virtual Status set_paused(bool paused, const std::string& by) = 0;
};

// The local backend: state in `path` (JSON, written atomically), `path` + ".lock" for flock.
// The directory must exist. Errors at construction time: none (the first access reports).
// The file records the boot id: a holding written before a reboot counts as expired. A file
// that does not parse is lease.corrupt (never reset: that would reuse epochs). A file written on
// another machine (its machine id) is lease.not_shared: one machine's agents only.
[[nodiscard]] std::unique_ptr<LeaseStore> make_local_lease_store(const std::filesystem::path& path);

}  // namespace cc::ha
