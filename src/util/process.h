// util/process.h — owns the process primitives the localnet supervisor, the HA agent and their
// commands share: spawning a program with its output appended to a log file, pid files, telling
// whether a pid is still the process we started (not a zombie, not a recycled pid), and reading the
// tail of a log. Linux only (/proc). It never decides what to run or when (localnet/supervisor.h).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "util/result.h"

namespace cc::util {

// The running corecell binary (/proc/self/exe resolved), so children run the same build.
[[nodiscard]] Result<std::filesystem::path> self_exe();

struct SpawnOptions {
  std::filesystem::path log;  // stdout and stderr are appended here; stdin is /dev/null
  bool new_session = false;   // setsid(): no controlling terminal, its own process group
};

// Starts argv[0] (absolute path) with a default signal mask and dispositions. Error names the
// program and the reason.
[[nodiscard]] Result<pid_t> spawn_process(const std::vector<std::string>& argv,
                                          const SpawnOptions& options);

// Starts argv as a daemon that is not our child: fork, setsid, spawn, and the intermediate
// exits at once (so the daemon is reparented to init and never becomes our zombie).
[[nodiscard]] Status spawn_daemon(const std::vector<std::string>& argv,
                                  const std::filesystem::path& log);

// True while pid exists and is not a zombie.
[[nodiscard]] bool process_alive(pid_t pid);
// True when pid is alive and its command line, arguments joined and each followed by one space,
// contains `needle` (e.g. "--conf /x/kcnd.conf "): a pid from an old pid file may belong to an
// unrelated process by now.
[[nodiscard]] bool process_matches(pid_t pid, const std::string& needle);

// Waits until pid is no longer alive; false on timeout. Reaps it when it is our child.
[[nodiscard]] bool wait_process_gone(pid_t pid, std::chrono::milliseconds timeout);
// SIGTERM, then SIGKILL after `grace` (Kaia's systemd unit: 10 s). True when it is gone.
bool terminate_process(pid_t pid, std::chrono::milliseconds grace);

// A pid file holds the decimal pid and a newline.
[[nodiscard]] Status write_pid_file(const std::filesystem::path& path, pid_t pid);
// nullopt when the file is missing or does not hold a pid.
[[nodiscard]] std::optional<pid_t> read_pid_file(const std::filesystem::path& path);

// The last `lines` lines of a text file ("" when missing); reads at most the last 1 MiB.
[[nodiscard]] std::string tail_lines(const std::filesystem::path& path, std::size_t lines);

}  // namespace cc::util
