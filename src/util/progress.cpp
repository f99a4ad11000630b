#include "util/progress.h"

#include <cmath>
#include <cstdio>

namespace cc::util {

std::string human_bytes(std::uint64_t bytes) {
  char buf[32];
  if (bytes < 1024) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
    return buf;
  }
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes) / 1024.0;
  int u = 0;
  while (v >= 1024.0 && u < 3) {
    v /= 1024.0;
    ++u;
  }
  std::snprintf(buf, sizeof buf, u >= 2 ? "%.2f %s" : "%.1f %s", v, units[u]);
  return buf;
}

std::string clock_duration(double seconds) {
  if (seconds < 0) seconds = 0;
  const auto total = static_cast<unsigned long long>(std::llround(seconds));
  const unsigned long long h = total / 3600;
  const unsigned long long m = (total % 3600) / 60;
  const unsigned long long s = total % 60;
  char buf[48];
  if (h > 0) {
    std::snprintf(buf, sizeof buf, "%llu:%02llu:%02llu", h, m, s);
  } else {
    std::snprintf(buf, sizeof buf, "%llu:%02llu", m, s);
  }
  return buf;
}

ProgressMeter::ProgressMeter(std::string label, bool terminal, Clock::time_point start)
    : label_(std::move(label)), terminal_(terminal), start_(start), last_print_(start) {}

std::optional<std::string> ProgressMeter::update(std::uint64_t done, std::uint64_t total,
                                                 Clock::time_point now) {
  if (finished_) return std::nullopt;
  const bool complete = done >= total;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const int tenth = total == 0 ? 10 : static_cast<int>(done * 10 / total);
  if (!complete) {
    const auto since = now - last_print_;
    if (terminal_ && since < std::chrono::milliseconds(200) && last_tenth_ >= 0) {
      return std::nullopt;
    }
    // Plain lines: a new tenth of the work at most every 2 s, and a line every 30 s anyway.
    if (!terminal_ && !(tenth > last_tenth_ && since >= std::chrono::seconds(2)) &&
        since < std::chrono::seconds(30)) {
      return std::nullopt;
    }
  }
  last_print_ = now;
  last_tenth_ = tenth;
  finished_ = complete;
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
  const double fraction = total == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total);
  const int percent = static_cast<int>(fraction * 100.0);
  const std::string rate_text = human_bytes(static_cast<std::uint64_t>(rate)) + "/s";
  std::string when;
  if (complete) {
    when = "in " + clock_duration(elapsed);
  } else if (rate > 0) {
    when = "ETA " + clock_duration(static_cast<double>(total - done) / rate);
  } else {
    when = "ETA --:--";
  }
  char buf[256];
  if (terminal_) {
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(fraction * kWidth);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(kWidth, '.');
    std::snprintf(buf, sizeof buf, "\r%s [%s] %3d%%  %s / %s  %s  %s\033[K%s", label_.c_str(),
                  bar.c_str(), percent, human_bytes(done).c_str(), human_bytes(total).c_str(),
                  rate_text.c_str(), when.c_str(), complete ? "\n" : "");
  } else {
    std::snprintf(buf, sizeof buf, "%s: %d%% (%s of %s), %s, %s\n", label_.c_str(), percent,
                  human_bytes(done).c_str(), human_bytes(total).c_str(), rate_text.c_str(),
                  when.c_str());
  }
  return std::string(buf);
}

}  // namespace cc::util
