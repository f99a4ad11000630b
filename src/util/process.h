// util/process.h — owns the process primitives the localnet supervisor, the HA agent and their
// commands share: spawning a program with its output appended to a log file, running a short
// command (no shell) with captured output and a deadline, finding a program on PATH, pid files,
// telling whether a pid is still the process we started (not a zombie, not a recycled pid), and
// reading the tail of a log. Linux only (/proc, prctl). It never decides what to run or when
// (localnet/supervisor.h, ha/service_control.h).
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
  std::filesystem::path log;  // stdout and stderr are appended here (empty: they are ours);
                              // stdin is /dev/null
  bool new_session = false;   // setsid(): no controlling terminal, its own process group
  // PR_SET_PDEATHSIG(SIGKILL): the kernel kills the child when its parent goes, so it can never
  // outlive us (a dead HA agent must not leave a signer behind). Linux ties this to the *thread*
  // that spawned the child, not the process: spawn from a thread that lives as long as the child
  // may (never from a short-lived worker thread). posix_spawn cannot call prctl, so this option
  // uses fork + exec (only async-signal-safe calls between them); a parent that died before the
  // prctl took effect is caught by checking getppid() after it.
  bool kill_with_parent = false;
};

// Starts argv[0] (absolute path) with a default signal mask and dispositions. Error names the
// program and the reason (including a failed exec: the call returns after the exec happened).
[[nodiscard]] Result<pid_t> spawn_process(const std::vector<std::string>& argv,
                                          const SpawnOptions& options);

// Starts argv as a daemon that is not our child: fork, setsid, spawn, and the intermediate
// exits at once (so the daemon is reparented to init and never becomes our zombie).
[[nodiscard]] Status spawn_daemon(const std::vector<std::string>& argv,
                                  const std::filesystem::path& log);

// A program's absolute path: `name` itself when it contains a '/', else the first executable
// `name` in $PATH, then in /usr/local/sbin, /usr/local/bin, /usr/sbin, /usr/bin, /sbin and /bin
// (daemons often run with a minimal PATH). nullopt when there is none.
[[nodiscard]] std::optional<std::filesystem::path> find_program(const std::string& name);

struct CommandResult {
  int exit_status = -1;    // the exit code, or 128+signal when a signal ended it (-1: unknown,
                           // another waitpid() in this process reaped it)
  bool timed_out = false;  // killed (SIGKILL) at the deadline; exit_status is then 137
  std::string output;      // stdout and stderr as written (the first 64 KiB; the rest dropped)
};

// Runs argv[0] (absolute path) to completion without a shell: stdin /dev/null, stdout+stderr
// captured, default signal mask and dispositions, its own process group. At `timeout` the whole
// group gets SIGKILL. `extra_env` ("KEY=VALUE") is added to our environment, replacing a
// variable of the same name. Returns once argv[0] has exited (a background grandchild that keeps
// the output pipe open does not hold us up). Error (process.run) only when it cannot start.
[[nodiscard]] Result<CommandResult> run_command(const std::vector<std::string>& argv,
                                                std::chrono::milliseconds timeout,
                                                const std::vector<std::string>& extra_env = {});

// "exited with code 3", "killed by signal 9 (SIGKILL)" for an exit status as above (the shell's
// convention: a code above 128 reads as a signal).
[[nodiscard]] std::string describe_exit_status(int exit_status);
// The exit status (as above) of a waitpid() status.
[[nodiscard]] int exit_status_from_wait(int wait_status);

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
