// util/progress.h: the text of progress reports — sizes and durations, the terminal bar (redrawn
// at most 5 times a second, with rate and ETA, a newline at the end) and the plain lines (a new
// tenth of the work at most every 2 s, a line every 30 s anyway, always the last one).
#include "util/progress.h"

#include <gtest/gtest.h>

namespace cc::util {
namespace {
using namespace std::chrono_literals;
using Clock = ProgressMeter::Clock;

TEST(Progress, HumanBytesAndClockDurations) {
  EXPECT_EQ(human_bytes(0), "0 B");
  EXPECT_EQ(human_bytes(1023), "1023 B");
  EXPECT_EQ(human_bytes(1536), "1.5 KiB");
  EXPECT_EQ(human_bytes(118ULL << 20), "118.0 MiB");
  EXPECT_EQ(human_bytes(2469606195ULL), "2.30 GiB");
  EXPECT_EQ(clock_duration(8.4), "0:08");
  EXPECT_EQ(clock_duration(750), "12:30");
  EXPECT_EQ(clock_duration(3723), "1:02:03");
  EXPECT_EQ(clock_duration(-3), "0:00");
}

TEST(Progress, TerminalBarShowsRateAndEtaAndEndsWithANewline) {
  const auto t0 = Clock::time_point{} + 1000s;
  ProgressMeter m("archiving", /*terminal=*/true, t0);
  auto first = m.update(50ULL << 20, 200ULL << 20, t0 + 1s);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->front(), '\r');
  EXPECT_NE(first->find("[######..................]  25%"), std::string::npos) << *first;
  EXPECT_NE(first->find("50.0 MiB / 200.0 MiB"), std::string::npos) << *first;
  EXPECT_NE(first->find("50.0 MiB/s"), std::string::npos) << *first;
  EXPECT_NE(first->find("ETA 0:03"), std::string::npos) << *first;
  EXPECT_EQ(first->back(), 'K');  // clears the rest of the line, no newline yet
  EXPECT_FALSE(m.update(60ULL << 20, 200ULL << 20, t0 + 1100ms).has_value()) << "redrawn too soon";
  auto last = m.update(200ULL << 20, 200ULL << 20, t0 + 2s);
  ASSERT_TRUE(last.has_value());
  EXPECT_NE(last->find("100%"), std::string::npos) << *last;
  EXPECT_NE(last->find("in 0:02"), std::string::npos) << *last;
  EXPECT_EQ(last->back(), '\n');
  EXPECT_FALSE(m.update(200ULL << 20, 200ULL << 20, t0 + 3s).has_value()) << "printed twice";
}

TEST(Progress, PlainLinesAtNewTenthsNoFasterThanTwoSecondsAndEveryThirtySeconds) {
  const auto t0 = Clock::time_point{} + 1000s;
  ProgressMeter m("restoring", /*terminal=*/false, t0);
  EXPECT_FALSE(m.update(30, 100, t0 + 1s).has_value()) << "before 2 s";
  auto a = m.update(30, 100, t0 + 2s);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(*a, "restoring: 30% (30 B of 100 B), 15 B/s, ETA 0:05\n");
  EXPECT_FALSE(m.update(39, 100, t0 + 10s).has_value()) << "same tenth";
  EXPECT_FALSE(m.update(45, 100, t0 + 3s).has_value()) << "new tenth, but within 2 s";
  EXPECT_TRUE(m.update(45, 100, t0 + 4s).has_value());
  EXPECT_TRUE(m.update(46, 100, t0 + 34s).has_value()) << "30 s without a line";
  auto end = m.update(100, 100, t0 + 35s);
  ASSERT_TRUE(end.has_value());
  EXPECT_NE(end->find("100%"), std::string::npos);
  EXPECT_NE(end->find("in 0:35"), std::string::npos) << *end;
}

}  // namespace
}  // namespace cc::util
