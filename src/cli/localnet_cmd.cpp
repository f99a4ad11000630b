// cli/localnet_cmd.cpp — `corecell localnet init|up|down|stop|start|status|logs|load` (and the
// hidden `supervise` that `up` starts): a whole Core Cell network on one machine, like Kaia's homi
// plus a process supervisor. Thin: flags in, localnet/ does the work, results printed.
#include <CLI/CLI.hpp>

#include <signal.h>
#include <time.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cli/app.h"
#include "cli/common.h"
#include "localnet/init.h"
#include "localnet/load.h"
#include "localnet/manifest.h"
#include "localnet/status.h"
#include "localnet/supervisor.h"
#include "util/process.h"

namespace cc::cli {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::json;

struct LnInitArgs {
  std::string dir;
  std::size_t cells = 4;
  std::size_t pns = 1;
  std::size_t standby = 0;  // 0: none
  std::size_t ens = 1;
  std::string ip_prefix = "127.0.0";
  unsigned first_host = 10;
  std::uint64_t chain_id = localnet::kDefaultChainId;
  std::size_t accounts = 10;
};

void ln_run_init(const LnInitArgs& a) {
  localnet::InitParams p;
  p.dir = a.dir;
  p.topology.cells = a.cells;
  p.topology.pns_per_cell = a.pns;
  if (a.standby != 0) p.topology.standby = a.standby;
  p.topology.ens = a.ens;
  p.topology.ip_prefix = a.ip_prefix;
  p.topology.first_host = a.first_host;
  p.chain_id = a.chain_id;
  p.accounts = a.accounts;
  const auto m = or_fail(localnet::init_localnet(p));
  std::printf("localnet in %s: %zu nodes, chain id %llu\n", m.dir.c_str(), m.nodes.size(),
              static_cast<unsigned long long>(m.chain_id));
  std::printf("  manifest  %s\n  genesis   %s\n  accounts  %s (%zu funded)\n",
              localnet::manifest_path(m.dir).c_str(), m.genesis.c_str(), m.accounts.c_str(),
              a.accounts);
  for (const auto& n : m.nodes) {
    const std::string role =
        std::string(localnet::role_text(n.role)) + (n.standby ? " (standby)" : "");
    std::printf("  %-14s %-13s %-16s %s\n", n.name.c_str(), role.c_str(), n.ip.c_str(),
                n.address.c_str());
  }
  std::printf("start it with: corecell localnet up --dir %s\n", m.dir.c_str());
}

struct LnDirArgs {
  std::string dir;
};

void ln_run_up(const std::string& dir, int timeout_s) {
  const auto m = or_fail(localnet::load_manifest(dir));
  auto r = or_fail(
      localnet::localnet_up(m, std::chrono::seconds(timeout_s), [](const std::string& line) {
        std::printf("  %s\n", line.c_str());
        std::fflush(stdout);
      }));
  if (r.already_running) {
    std::printf(
        "localnet %s is already running (supervisor pid %d); `corecell localnet status "
        "--dir %s` shows it\n",
        m.dir.c_str(), static_cast<int>(r.supervisor), m.dir.c_str());
    return;
  }
  std::printf("localnet %s is up: %zu nodes answering after %.1f s (supervisor pid %d)\n",
              m.dir.c_str(), m.nodes.size(), r.seconds, static_cast<int>(r.supervisor));
}

void ln_run_down(const std::string& dir) {
  const auto m = or_fail(localnet::load_manifest(dir));
  const auto r = or_fail(localnet::localnet_down(m));
  if (!r.supervisor_was_running && r.stopped.empty()) {
    std::printf("localnet %s is not running (nothing to stop; stale files cleaned)\n",
                m.dir.c_str());
    return;
  }
  std::printf("localnet %s stopped: %zu nodes", m.dir.c_str(), r.stopped.size());
  if (!r.killed.empty()) {
    std::printf(" (SIGKILL needed for:");
    for (const auto& n : r.killed) std::printf(" %s", n.c_str());
    std::printf(")");
  }
  std::printf("\n");
}

struct LnNodeArgs {
  std::string dir;
  std::string node;
  int timeout_s = 60;
};

const localnet::NodeEntry& ln_find_node(const localnet::Manifest& m, const std::string& name) {
  const auto* n = m.find(name);
  if (n == nullptr)
    fail("no node " + name + " in " + m.dir.string() + " (nodes: " + m.names() + ")");
  return *n;
}

void ln_run_stop_node(const LnNodeArgs& a) {
  const auto m = or_fail(localnet::load_manifest(a.dir));
  const auto& n = ln_find_node(m, a.node);
  const bool was_running = localnet::node_pid(m, n).has_value();
  or_fail(localnet::localnet_stop_node(m, n));
  std::printf("%s %s; held down until `corecell localnet start --dir %s %s`\n", n.name.c_str(),
              was_running ? "stopped" : "was not running", m.dir.c_str(), n.name.c_str());
}

void ln_run_start_node(const LnNodeArgs& a) {
  const auto m = or_fail(localnet::load_manifest(a.dir));
  const auto& n = ln_find_node(m, a.node);
  or_fail(localnet::localnet_start_node(m, n, std::chrono::seconds(a.timeout_s)));
  auto pid = localnet::node_pid(m, n);
  std::printf("%s running (pid %s) and answering on its control socket\n", n.name.c_str(),
              pid ? std::to_string(*pid).c_str() : "?");
}

// Waits up to `ms` for SIGINT/SIGTERM (blocked by the caller); true when one arrived.
bool ln_wait_signal(const sigset_t& set, long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1'000'000};
  siginfo_t info;
  return sigtimedwait(&set, &info, &ts) > 0;
}

sigset_t ln_block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

void ln_run_status(const std::string& dir, bool as_json, bool watch) {
  const auto m = or_fail(localnet::load_manifest(dir));
  if (!watch) {
    const json doc = localnet::collect_status(m);
    std::printf(
        "%s", as_json ? (doc.dump(2) + "\n").c_str() : localnet::format_status_table(doc).c_str());
    return;
  }
  const sigset_t set = ln_block_stop_signals();
  do {
    const json doc = localnet::collect_status(m);
    if (as_json) {
      std::printf("%s\n", doc.dump().c_str());
    } else {
      std::printf("\033[H\033[2J%s  (refreshing every second; Ctrl-C to stop)\n",
                  localnet::format_status_table(doc).c_str());
    }
    std::fflush(stdout);
  } while (!ln_wait_signal(set, 1000));
}

struct LnLogsArgs {
  std::string dir;
  std::string node;
  bool follow = false;
  std::size_t lines = 20;
};

void ln_run_logs(const LnLogsArgs& a) {
  const auto m = or_fail(localnet::load_manifest(a.dir));
  std::vector<const localnet::NodeEntry*> nodes;
  if (!a.node.empty()) {
    const auto* n = m.find(a.node);
    if (n == nullptr)
      fail("no node \"" + a.node + "\" in " + m.dir.string() + "; nodes: " + m.names());
    nodes.push_back(n);
  } else {
    for (const auto& n : m.nodes) nodes.push_back(&n);
  }
  const bool prefix = nodes.size() > 1;
  std::vector<std::uintmax_t> offsets;
  for (const auto* n : nodes) {
    const std::string tail = util::tail_lines(n->log, a.lines);
    if (prefix) {
      std::printf("==> %s (%s) <==\n", n->name.c_str(), n->log.c_str());
    }
    std::fwrite(tail.data(), 1, tail.size(), stdout);
    std::error_code ec;
    const auto size = fs::file_size(n->log, ec);
    offsets.push_back(ec ? 0 : size);
  }
  std::fflush(stdout);
  if (!a.follow) return;
  // Follow: poll each log for appended bytes (a restarted node appends to the same file).
  const sigset_t set = ln_block_stop_signals();
  std::vector<std::string> partial(nodes.size());
  while (!ln_wait_signal(set, 200)) {
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      std::error_code ec;
      const auto size = fs::file_size(nodes[i]->log, ec);
      if (ec) continue;
      if (size < offsets[i]) offsets[i] = 0;  // truncated (e.g. rotated): start over
      if (size == offsets[i]) continue;
      std::ifstream in(nodes[i]->log, std::ios::binary);
      in.seekg(static_cast<std::streamoff>(offsets[i]));
      std::string chunk(static_cast<std::size_t>(size - offsets[i]), '\0');
      in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      chunk.resize(static_cast<std::size_t>(in.gcount()));
      offsets[i] += chunk.size();
      partial[i] += chunk;
      std::size_t nl = 0;
      while ((nl = partial[i].find('\n')) != std::string::npos) {
        const std::string line = partial[i].substr(0, nl);
        partial[i].erase(0, nl + 1);
        if (prefix) {
          std::printf("%-14s | %s\n", nodes[i]->name.c_str(), line.c_str());
        } else {
          std::printf("%s\n", line.c_str());
        }
      }
    }
    std::fflush(stdout);
  }
}

struct LnLoadArgs {
  std::string dir;
  double tps = 10;
  double seconds = 10;
  std::string node;
  double drain = 30;
};

void ln_run_load(const LnLoadArgs& a) {
  const auto m = or_fail(localnet::load_manifest(a.dir));
  localnet::LoadParams p;
  p.tps = a.tps;
  p.seconds = a.seconds;
  p.drain_seconds = a.drain;
  if (!a.node.empty()) p.nodes = {a.node};
  const sigset_t set = ln_block_stop_signals();
  std::atomic<bool> stop{false};
  std::thread watcher([&] {
    while (!stop.load()) {
      if (ln_wait_signal(set, 200)) stop = true;
    }
  });
  auto r = localnet::run_load(m, p, stop, [](const std::string& line) {
    std::printf("  %s\n", line.c_str());
    std::fflush(stdout);
  });
  stop = true;
  watcher.join();
  const auto report = or_fail(std::move(r));
  std::printf("%s", localnet::format_load_report(report).c_str());
  if (report.sent == 0) fail("no transaction was accepted by the RPC endpoint(s)");
}

}  // namespace

void add_localnet_commands(CLI::App& app) {
  auto* ln = app.add_subcommand(
      "localnet",
      "A whole network on this machine: N core cells (CN + PNs), an optional standby CN, ENs; each "
      "node a real `corecell node` process on its own 127.x address (see docs/LOCALNET.md)");
  ln->require_subcommand(1);

  auto ia = std::make_shared<LnInitArgs>();
  auto* init = ln->add_subcommand(
      "init", "Generate keys, genesis, per-node conf files, static nodes and D/network.json");
  init->add_option("--dir", ia->dir, "Directory to create (new or empty)")->required();
  init->add_option("--cells", ia->cells, "Core cells (council size)")->capture_default_str();
  init->add_option("--pns", ia->pns, "PNs per cell")->capture_default_str();
  init->add_option("--standby", ia->standby, "Cell (1-based) that gets a standby CN; 0: none")
      ->capture_default_str();
  init->add_option("--ens", ia->ens, "Endpoint nodes")->capture_default_str();
  init->add_option("--ip-prefix", ia->ip_prefix, "First three octets of the 127.x.y.z addresses")
      ->capture_default_str();
  init->add_option("--first-host", ia->first_host, "Last octet of the first node's address")
      ->capture_default_str();
  init->add_option("--chain-id", ia->chain_id, "Chain id (EIP-155) and network id")
      ->capture_default_str();
  init->add_option("--accounts", ia->accounts, "Funded test accounts in D/accounts.json")
      ->capture_default_str()
      ->check(CLI::Range(0, 100000));
  init->callback([ia] { ln_run_init(*ia); });

  auto up_dir = std::make_shared<std::string>();
  auto up_timeout = std::make_shared<int>(60);
  auto* up = ln->add_subcommand(
      "up", "Start every node under a detached supervisor; returns once all of them answer");
  up->add_option("--dir", *up_dir, "The localnet directory")->required();
  up->add_option("--timeout", *up_timeout, "Seconds to wait for every node")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  up->callback([up_dir, up_timeout] { ln_run_up(*up_dir, *up_timeout); });

  auto down_dir = std::make_shared<std::string>();
  auto* down = ln->add_subcommand(
      "down", "Stop the supervisor and every node (SIGTERM, SIGKILL after 10 s); idempotent");
  down->add_option("--dir", *down_dir, "The localnet directory")->required();
  down->callback([down_dir] { ln_run_down(*down_dir); });

  auto stop_args = std::make_shared<LnNodeArgs>();
  auto* stop = ln->add_subcommand(
      "stop",
      "Stop one node (SIGTERM, SIGKILL after 10 s) and hold it down: the supervisor does not "
      "restart it until `localnet start` (what `systemctl stop` is on a real host)");
  stop->add_option("--dir", stop_args->dir, "The localnet directory")->required();
  stop->add_option("node", stop_args->node, "The node, e.g. pn-1")->required();
  stop->callback([stop_args] { ln_run_stop_node(*stop_args); });

  auto start_args = std::make_shared<LnNodeArgs>();
  auto* start = ln->add_subcommand(
      "start", "Start one stopped node under the running supervisor; returns once it answers");
  start->add_option("--dir", start_args->dir, "The localnet directory")->required();
  start->add_option("node", start_args->node, "The node, e.g. pn-1")->required();
  start->add_option("--timeout", start_args->timeout_s, "Seconds to wait for it to answer")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  start->callback([start_args] { ln_run_start_node(*start_args); });

  auto st_dir = std::make_shared<std::string>();
  auto st_json = std::make_shared<bool>(false);
  auto st_watch = std::make_shared<bool>(false);
  auto* status = ln->add_subcommand("status", "Per node: role, address, head, peers, round, sync");
  status->add_option("--dir", *st_dir, "The localnet directory")->required();
  status->add_flag("--json", *st_json, "Machine-readable (see docs/LOCALNET.md)");
  status->add_flag("--watch", *st_watch, "Refresh every second until Ctrl-C");
  status->callback([st_dir, st_json, st_watch] { ln_run_status(*st_dir, *st_json, *st_watch); });

  auto la = std::make_shared<LnLogsArgs>();
  auto* logs = ln->add_subcommand("logs", "Show (or follow) the nodes' logs");
  logs->add_option("--dir", la->dir, "The localnet directory")->required();
  logs->add_option("node", la->node, "One node (e.g. cn-1); default: all");
  logs->add_flag("-f,--follow", la->follow, "Keep printing new lines until Ctrl-C");
  logs->add_option("-n,--lines", la->lines, "Lines of each log to show first")
      ->capture_default_str();
  logs->callback([la] { ln_run_logs(*la); });

  auto lo = std::make_shared<LnLoadArgs>();
  auto* load = ln->add_subcommand(
      "load",
      "Send signed value transfers from the funded accounts over JSON-RPC (eth_sendRawTransaction) "
      "and report offered vs included throughput");
  load->add_option("--dir", lo->dir, "The localnet directory")->required();
  load->add_option("--tps", lo->tps, "Transactions per second offered")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 100000.0));
  load->add_option("--seconds", lo->seconds, "How long to send")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 86400.0));
  load->add_option("--node", lo->node, "Send to this node's RPC (default: the ENs')");
  load->add_option("--drain", lo->drain, "Seconds to wait for inclusion after sending")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0));
  load->callback([lo] { ln_run_load(*lo); });

  auto sup_dir = std::make_shared<std::string>();
  auto* sup = ln->add_subcommand("supervise", "(internal) the supervisor `up` starts");
  sup->group("");  // hidden: operators use up/down
  sup->add_option("--dir", *sup_dir, "The localnet directory")->required();
  sup->callback([sup_dir] {
    const auto m = or_fail(localnet::load_manifest(*sup_dir));
    const int rc = localnet::run_supervisor(m);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace cc::cli
