// util/progress.h — owns the text of progress reports for long byte-moving commands (snapshot
// create/restore, provisioning): on a terminal one line redrawn in place with a bar, bytes, rate
// and ETA; otherwise (logs, pipes, CI) plain lines: at a new tenth of the work at most every 2 s,
// every 30 s anyway, and the last one. Pure: the caller passes the clock and prints what it gets.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace cc::util {

// "512 B", "3.2 KiB", "118.0 MiB", "2.41 GiB"
[[nodiscard]] std::string human_bytes(std::uint64_t bytes);
// "0:08", "12:30", "1:02:03"
[[nodiscard]] std::string clock_duration(double seconds);

class ProgressMeter {
 public:
  using Clock = std::chrono::steady_clock;
  ProgressMeter(std::string label, bool terminal, Clock::time_point start);

  // What to print for `done` of `total` bytes at `now`, or nullopt when nothing is due (a
  // terminal is redrawn at most 5 times a second). Terminal lines start with '\r' and the last
  // one (done == total) ends with '\n'; plain lines always end with '\n'.
  [[nodiscard]] std::optional<std::string> update(std::uint64_t done, std::uint64_t total,
                                                  Clock::time_point now);

 private:
  std::string label_;
  bool terminal_;
  Clock::time_point start_;
  Clock::time_point last_print_;
  int last_tenth_ = -1;
  bool finished_ = false;
};

}  // namespace cc::util
