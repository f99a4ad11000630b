// util/clock.h — owns the process's reads of the wall clock, the boot clock that signing permits
// and leases are measured on, and elapsed-time helpers, so every layer above consensus/ (which
// takes time only as an input) reads time the same way.
#pragma once

#include <time.h>

#include <chrono>
#include <cstdint>

namespace cc {

namespace util {

// CLOCK_BOOTTIME as a std::chrono clock: monotonic like steady_clock (CLOCK_MONOTONIC), but it
// keeps counting while the machine is suspended. A signing permit's deadline and a lease's
// expiry are measured on it: after a VM is paused or a laptop suspended, CLOCK_MONOTONIC resumes
// where it stopped and a permit would look valid although its lease expired in real time (and
// another host took over); CLOCK_BOOTTIME has moved on by the suspended time. Every process of a
// host shares it, so an absolute deadline can be handed from the HA agent to its node.
struct BootClock {
  using rep = std::int64_t;
  using period = std::nano;
  using duration = std::chrono::nanoseconds;
  using time_point = std::chrono::time_point<BootClock>;
  static constexpr bool is_steady = true;
  [[nodiscard]] static time_point now() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_BOOTTIME, &ts);
    return time_point(duration(static_cast<rep>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec));
  }
};

// Milliseconds of a BootClock instant (the unit the agent sends absolute deadlines in).
[[nodiscard]] inline std::int64_t boot_ms(BootClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace util

// Seconds since the Unix epoch (block timestamps, import "now").
[[nodiscard]] inline std::uint64_t unix_seconds_now() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// Milliseconds since the Unix epoch (consensus inputs, journal entries).
[[nodiscard]] inline std::uint64_t unix_ms_now() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// Seconds elapsed on the monotonic clock since `start` (for progress and summaries).
[[nodiscard]] inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace cc
