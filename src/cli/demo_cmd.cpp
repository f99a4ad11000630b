// cli/demo_cmd.cpp — `corecell demo`: the README's walkthrough on a real local network. It creates
// a 4-cell localnet (a CN and a PN per cell, a standby CN for cell 1, one EN) in a fresh
// directory, starts every node as its own process, offers a light transfer load to the EN over
// JSON-RPC, prints the status table every few seconds while the chain advances, and on Ctrl-C
// (or after --seconds) stops everything and says where the files are. The HA agent and automatic
// failover are not built yet (issue #6); the demo says so rather than pretend.
#include <CLI/CLI.hpp>

#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>

#include "cli/app.h"
#include "cli/common.h"
#include "localnet/init.h"
#include "localnet/load.h"
#include "localnet/status.h"
#include "localnet/supervisor.h"
#include "util/clock.h"

namespace cc::cli {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

struct DemoOptions {
  std::string dir;
  double seconds = 0;  // 0: until Ctrl-C
  double tps = 20;
  std::string ip_prefix = "127.0.0";
  unsigned first_host = 10;
  int status_every = 5;
};

std::uint64_t demo_head(const json& doc, const std::string& name) {
  for (const auto& n : doc["nodes"]) {
    if (n["name"] == name && n["head"].is_object()) {
      return n["head"].value("number", std::uint64_t{0});
    }
  }
  return 0;
}

void run_demo(const DemoOptions& opt) {
  fs::path dir;
  if (opt.dir.empty()) {
    // Short: every node's control socket path must fit in 107 bytes.
    std::string tmpl = (fs::temp_directory_path() / "corecell-demo-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) fail("cannot create a directory under /tmp");
    dir = tmpl;
  } else {
    dir = opt.dir;
  }
  std::printf(
      "corecell demo — a Kaia-style network of 4 core cells on this machine, every node a real\n"
      "process on its own 127.x address (docs/LOCALNET.md). Not built yet: the HA agent and\n"
      "automatic CN failover (issue #6); the standby CN below only follows the chain.\n\n");

  localnet::InitParams ip;
  ip.dir = dir;
  ip.topology.cells = 4;
  ip.topology.pns_per_cell = 1;
  ip.topology.standby = 1;
  ip.topology.ens = 1;
  ip.topology.ip_prefix = opt.ip_prefix;
  ip.topology.first_host = opt.first_host;
  const auto m = or_fail(localnet::init_localnet(ip));
  std::printf("[1] localnet init --dir %s\n", m.dir.c_str());
  for (const auto& n : m.nodes) {
    std::printf("    %-14s %-3s %-9s %-16s %s\n", n.name.c_str(), localnet::role_text(n.role),
                n.standby ? "standby" : (n.role == localnet::NodeRole::cn ? "council" : ""),
                n.ip.c_str(), n.address.c_str());
  }

  std::printf("\n[2] localnet up: a supervisor starts `corecell node` for each of the %zu nodes\n",
              m.nodes.size());
  std::fflush(stdout);
  auto up = localnet::localnet_up(m, std::chrono::seconds(90), [](const std::string& line) {
    std::printf("    %s\n", line.c_str());
    std::fflush(stdout);
  });
  if (!up.ok()) fail(up.error().message + "\n(files kept in " + m.dir.string() + ")");

  // SIGINT/SIGTERM are taken by this thread only (the load thread inherits the mask).
  sigset_t stop_set;
  sigemptyset(&stop_set);
  sigaddset(&stop_set, SIGINT);
  sigaddset(&stop_set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_set, nullptr);

  std::printf("\n[3] load: %g transfers/s from the funded accounts to en-1's JSON-RPC (%s)\n",
              opt.tps, m.nodes.back().rpc_url.c_str());
  std::printf("[4] status every %d s%s\n", opt.status_every,
              opt.seconds > 0 ? "" : "; Ctrl-C stops the network");
  std::fflush(stdout);
  std::atomic<bool> stop{false};
  std::optional<Result<localnet::LoadReport>> load_result;
  std::thread load_thread([&] {
    pthread_setname_np(pthread_self(), "cc-load");
    localnet::LoadParams lp;
    lp.tps = opt.tps;
    lp.seconds = opt.seconds > 0 ? opt.seconds : 7 * 24 * 3600.0;
    lp.drain_seconds = 5;
    load_result.emplace(localnet::run_load(m, lp, stop));
  });

  const auto t0 = SteadyClock::now();
  const std::uint64_t start_head = demo_head(localnet::collect_status(m), "cn-1");
  bool interrupted = false;
  for (int tick = 1;; ++tick) {
    timespec ts{1, 0};
    siginfo_t info;
    if (sigtimedwait(&stop_set, &info, &ts) > 0) {
      interrupted = true;
      break;
    }
    const double elapsed = seconds_since(t0);
    const bool done = opt.seconds > 0 && elapsed >= opt.seconds;
    if (tick % opt.status_every == 0 || done) {
      std::printf("\n--- %.0f s ---\n%s", elapsed,
                  localnet::format_status_table(localnet::collect_status(m)).c_str());
      std::fflush(stdout);
    }
    if (done) break;
  }
  const json last = localnet::collect_status(m);
  const std::uint64_t end_head = demo_head(last, "cn-1");
  // On a signal the load stops at once; when time is up it has ended by itself and gets a few
  // seconds to see its last transfers included.
  if (interrupted) stop = true;
  load_thread.join();

  std::printf("\n[5] %s: chain advanced from #%llu to #%llu in %.0f s\n",
              interrupted ? "stopping (signal)" : "time is up",
              static_cast<unsigned long long>(start_head),
              static_cast<unsigned long long>(end_head), seconds_since(t0));
  if (load_result && load_result->ok()) {
    std::printf("%s", localnet::format_load_report(**load_result).c_str());
  } else if (load_result) {
    std::printf("    load not run: %s\n", load_result->error().message.c_str());
  }
  std::printf("\n[6] localnet down\n");
  std::fflush(stdout);
  const auto down = or_fail(localnet::localnet_down(m));
  std::printf("    stopped %zu nodes%s; no process, socket or lock left\n", down.stopped.size(),
              down.killed.empty() ? "" : " (some needed SIGKILL)");
  std::printf(
      "\nFiles are in %s:\n"
      "    network.json (every node), genesis.json, accounts.json, nodes/<name>/ (DATA_DIR, "
      "conf,\n"
      "    logs/node.log), run/supervisor.log\n"
      "Start it again: corecell localnet up --dir %s\n"
      "Remove it:      rm -rf %s\n",
      m.dir.c_str(), m.dir.c_str(), m.dir.c_str());
}

}  // namespace

void add_demo_command(CLI::App& app) {
  auto opt = std::make_shared<DemoOptions>();
  auto* cmd = app.add_subcommand(
      "demo",
      "Run a 4-cell local network (CN + PN per cell, a standby CN for cell 1, one EN) as real "
      "processes, send it a light transfer load and show its status until Ctrl-C (or --seconds)");
  cmd->add_option("--dir", opt->dir,
                  "Directory for the network (new or empty; default: a new one "
                  "under /tmp, kept afterwards)");
  cmd->add_option("--seconds", opt->seconds, "Stop after this many seconds (default: at Ctrl-C)")
      ->check(CLI::Range(0.0, 86400.0));
  cmd->add_option("--tps", opt->tps, "Transfers per second sent to the EN")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 10000.0));
  cmd->add_option("--ip-prefix", opt->ip_prefix, "First three octets of the nodes' 127.x addresses")
      ->capture_default_str();
  cmd->add_option("--first-host", opt->first_host, "Last octet of the first node's address")
      ->capture_default_str();
  cmd->callback([opt] { run_demo(*opt); });
}

}  // namespace cc::cli
