// tests/support/netns.h — runs test code inside a network namespace the test created.
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <thread>

namespace cc::testing {

// Runs f() on a thread that entered network namespace `ns` (/run/netns/<ns>): setns affects only
// that thread, so sockets it opens and commands it spawns live in `ns`. nullopt when the
// namespace could not be entered; f never runs then, so nothing acts on the host's network.
template <typename F>
auto run_in_netns(const std::string& ns, F f) -> std::optional<decltype(f())> {
  std::optional<decltype(f())> out;
  std::thread t([&] {
    const int fd = ::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    const bool entered = ::setns(fd, CLONE_NEWNET) == 0;
    ::close(fd);
    if (entered) out.emplace(f());
  });
  t.join();
  return out;
}

}  // namespace cc::testing
