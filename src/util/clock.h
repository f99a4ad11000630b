// util/clock.h — owns the process's reads of the wall clock and elapsed-time helpers, so every
// layer above consensus/ (which takes time only as an input) reads time the same way.
#pragma once

#include <chrono>
#include <cstdint>

namespace cc {

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
