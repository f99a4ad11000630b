// cli/demo_cmd.cpp — `corecell demo`: the README's walkthrough on a real local network. It creates
// a 4-cell localnet (a CN and a PN per cell, a standby CN host for cell 1, one EN; cell 1's two
// CN hosts run HA agents) in a fresh directory, starts every node as its own process, offers a
// transfer load to the EN over JSON-RPC, then kills the active CN of cell 1 with SIGKILL and
// reports the failover: the timeline (failure, detection, lease, nodekey, IP, start, first seal),
// the RTO, the blocks whose interval stretched, and the invariant checks (no double signature in
// any journal, no fork, every acknowledged transaction still on chain). It keeps printing the
// status table until Ctrl-C (or --seconds), then stops everything and says where the files are.
#include <CLI/CLI.hpp>

#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>

#include "cli/app.h"
#include "cli/common.h"
#include "ha/agent.h"
#include "localnet/init.h"
#include "localnet/invariants.h"
#include "localnet/load.h"
#include "localnet/status.h"
#include "localnet/supervisor.h"
#include "node/datadir.h"
#include "util/clock.h"
#include "util/files.h"
#include "util/process.h"

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
  double fail_after = 12;  // seconds of load before the failure; 0: no failure
};

using WallClock = std::chrono::system_clock;

// "2026-11-26T12:05:30.868Z" -> a time point; nullopt when it does not parse.
std::optional<WallClock::time_point> demo_parse_time(const std::string& text) {
  // Fixed layout: YYYY-MM-DDTHH:MM:SS.mmmZ
  if (text.size() != 24 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':' || text[19] != '.' || text[23] != 'Z') {
    return std::nullopt;
  }
  auto field = [&](std::size_t pos, std::size_t len) -> std::optional<int> {
    int v = 0;
    auto [p, ec] = std::from_chars(text.data() + pos, text.data() + pos + len, v);
    if (ec != std::errc() || p != text.data() + pos + len) return std::nullopt;
    return v;
  };
  auto year = field(0, 4), mon = field(5, 2), day = field(8, 2), hour = field(11, 2),
       min = field(14, 2), sec = field(17, 2), ms = field(20, 3);
  if (!year || !mon || !day || !hour || !min || !sec || !ms) return std::nullopt;
  std::tm tm{};
  tm.tm_year = *year - 1900;
  tm.tm_mon = *mon - 1;
  tm.tm_mday = *day;
  tm.tm_hour = *hour;
  tm.tm_min = *min;
  tm.tm_sec = *sec;
  return WallClock::from_time_t(::timegm(&tm)) + std::chrono::milliseconds(*ms);
}

long long demo_ms_between(WallClock::time_point from, WallClock::time_point to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

json demo_agent_status(const localnet::NodeEntry& n) {
  auto s = ha::query_agent_status(n.data_dir, std::chrono::milliseconds(2000));
  return s.ok() ? *s : json::object();
}

// The HA host whose agent is active, or nullptr.
const localnet::NodeEntry* demo_active_host(const localnet::Manifest& m) {
  for (const auto& n : m.nodes) {
    if (n.has_agent() && demo_agent_status(n).value("role", "") == "active") return &n;
  }
  return nullptr;
}

const localnet::NodeEntry* demo_other_host(const localnet::Manifest& m,
                                           const localnet::NodeEntry& host) {
  for (const auto& n : m.nodes) {
    if (n.has_agent() && n.name != host.name) return &n;
  }
  return nullptr;
}

// Events the failed host's agent logged at or after `since` (detection, fencing, release).
std::vector<json> demo_events_since(const localnet::NodeEntry& host, WallClock::time_point since) {
  std::vector<json> out;
  auto text = read_file(host.data_dir / "ha" / "events.jsonl");
  if (!text.ok()) return out;
  std::size_t pos = 0;
  while (pos < text->size()) {
    std::size_t end = text->find('\n', pos);
    if (end == std::string::npos) end = text->size();
    json e = json::parse(text->substr(pos, end - pos), nullptr, false);
    pos = end + 1;
    if (!e.is_object()) continue;
    auto t = demo_parse_time(e.value("time", ""));
    if (t && *t >= since) out.push_back(std::move(e));
  }
  return out;
}

struct FailoverOutcome {
  bool completed = false;
  long long rto_ms = 0;
  std::uint64_t head_at_failure = 0;
};

std::uint64_t demo_rpc_head(localnet::RpcClient& rpc) {
  auto h = rpc.call("eth_blockNumber");
  if (!h.ok()) return 0;
  auto v = localnet::parse_hex_quantity(*h);
  return v.ok() ? *v : 0;
}

// Kills the active CN of the HA cell (its node process, SIGKILL), waits for the standby's first
// seal and prints the timeline, the RTO and the stretched block intervals.
FailoverOutcome demo_failover(const localnet::Manifest& m) {
  FailoverOutcome out;
  const localnet::NodeEntry* active = demo_active_host(m);
  if (active == nullptr) {
    std::printf("    no active HA host found; skipping the failure\n");
    return out;
  }
  const localnet::NodeEntry* standby = demo_other_host(m, *active);
  auto pid = util::read_pid_file(node::lock_path(active->data_dir));
  if (!pid || !util::process_alive(*pid) || standby == nullptr) {
    std::printf("    the active CN's process was not found; skipping the failure\n");
    return out;
  }
  localnet::RpcClient rpc(m.find("en-1") ? m.find("en-1")->rpc_url : m.nodes.back().rpc_url);
  out.head_at_failure = demo_rpc_head(rpc);
  const auto t_fail = WallClock::now();
  ::kill(*pid, SIGKILL);
  std::printf("    kill -9 %d: the active CN of cell 1 (host %s, %s) at head #%llu\n", *pid,
              active->name.c_str(), active->ip.c_str(),
              static_cast<unsigned long long>(out.head_at_failure));
  std::fflush(stdout);

  // Wait for a failover that started after the kill and reached its first seal.
  json failover;
  const auto deadline = SteadyClock::now() + std::chrono::seconds(60);
  while (SteadyClock::now() < deadline) {
    const json s = demo_agent_status(*standby);
    const json f = s.value("last_failover", json(nullptr));
    if (f.is_object()) {
      auto started = demo_parse_time(f.value("started", ""));
      bool sealed = false;
      for (const auto& st : f["steps"]) sealed = sealed || st.value("step", "") == "first_seal";
      if (started && *started >= t_fail && (sealed || f["ok"] == false)) {
        failover = f;
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (failover.is_null()) {
    std::printf("    the standby did not complete a failover within 60 s\n");
    return out;
  }

  std::printf("\n    timeline (ms after the failure)\n");
  std::printf("    %8d  failure        kill -9 of the active CN (%s)\n", 0, active->name.c_str());
  for (const auto& e : demo_events_since(*active, t_fail)) {
    const std::string ev = e.value("event", "");
    if (ev != "node_exited" && ev != "fence" && ev != "lease_released") continue;
    auto t = demo_parse_time(e.value("time", ""));
    std::printf("    %8lld  %-14s %s: %s\n", t ? demo_ms_between(t_fail, *t) : -1LL, ev.c_str(),
                active->name.c_str(), e.value("detail", "").c_str());
  }
  for (const auto& st : failover["steps"]) {
    auto t = demo_parse_time(st.value("time", ""));
    const long long ms = t ? demo_ms_between(t_fail, *t) : -1;
    std::printf("    %8lld  %-14s %s: %s%s\n", ms, st.value("step", "").c_str(),
                standby->name.c_str(), st.value("detail", "").c_str(),
                st.value("ok", false) ? "" : "  (FAILED)");
    if (st.value("step", "") == "first_seal" && st.value("ok", false)) {
      out.completed = true;
      out.rto_ms = ms;
    }
  }
  if (out.completed) {
    std::printf("\n    RTO (failure to the first block sealed by the new active): %.2f s\n",
                static_cast<double>(out.rto_ms) / 1000.0);
  }

  // Block intervals around the failure (timestamps are whole seconds; the period is 1 s).
  const std::uint64_t now_head = demo_rpc_head(rpc);
  std::string stretched;
  std::uint64_t prev_time = 0;
  for (std::uint64_t h = out.head_at_failure > 0 ? out.head_at_failure - 1 : 0; h <= now_head;
       ++h) {
    auto b = rpc.call("eth_getBlockByNumber", json::array({to_hex_quantity(h), false}));
    if (!b.ok() || !b->is_object()) break;
    auto ts = localnet::parse_hex_quantity(b->value("timestamp", json("0x0")));
    const std::uint64_t time = ts.ok() ? *ts : 0;
    if (prev_time != 0 && time > prev_time + 1) {
      stretched += "      #" + std::to_string(h - 1) + " -> #" + std::to_string(h) + ": " +
                   std::to_string(time - prev_time) + " s\n";
    }
    prev_time = time;
  }
  std::printf("    blocks whose interval stretched past the 1 s period:\n%s",
              stretched.empty() ? "      none\n" : stretched.c_str());
  std::fflush(stdout);
  return out;
}

// SIGN-1, CHAIN-1 and DATA-1 over the whole run; true when all hold.
bool demo_invariants(const localnet::Manifest& m, const std::vector<std::string>& acknowledged) {
  bool ok = true;
  auto journals = localnet::read_journals(m);
  if (!journals.ok()) {
    std::printf("    SIGN-1  cannot read the journals: %s\n", journals.error().message.c_str());
    ok = false;
  } else {
    const auto v = localnet::sign1_violations(journals->entries);
    std::printf(
        "    SIGN-1  %s: %zu signatures in %zu journals, no two different signatures "
        "for one (height, round, type), no height signed under two epochs\n",
        v.empty() ? "ok" : "VIOLATED", journals->entries.size(), journals->files);
    for (const auto& line : v) std::printf("            %s\n", line.c_str());
    ok = ok && v.empty();
  }
  const auto chain = localnet::check_chain1(m);
  std::printf(
      "    CHAIN-1 %s: blocks #1..#%llu identical on %zu nodes, each with a quorum of "
      "commit seals\n",
      chain.violations.empty() ? "ok" : "VIOLATED",
      static_cast<unsigned long long>(chain.checked_up_to), chain.nodes_compared);
  for (std::size_t i = 0; i < chain.violations.size() && i < 10; ++i) {
    std::printf("            %s\n", chain.violations[i].c_str());
  }
  ok = ok && chain.violations.empty();
  const auto data = localnet::data1_violations(m, acknowledged);
  std::printf("    DATA-1  %s: %zu acknowledged transactions still on chain on every node\n",
              data.empty() ? "ok" : "VIOLATED", acknowledged.size());
  for (std::size_t i = 0; i < data.size() && i < 10; ++i) {
    std::printf("            %s\n", data[i].c_str());
  }
  ok = ok && data.empty();
  std::fflush(stdout);
  return ok;
}

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
      "process on its own 127.x address (docs/LOCALNET.md). Cell 1's CN has two hosts, each\n"
      "under an HA agent (docs/HA.md): after a while the demo kills the active one with SIGKILL\n"
      "and reports the failover.\n\n");

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
    std::printf("    %-14s %-3s %-9s %-16s %s%s\n", n.name.c_str(), localnet::role_text(n.role),
                n.standby ? "standby" : (n.role == localnet::NodeRole::cn ? "council" : ""),
                n.ip.c_str(), n.address.c_str(),
                n.has_agent() ? ("  HA host " + n.host_ip).c_str() : "");
  }

  std::printf(
      "\n[2] localnet up: a supervisor starts `corecell node` for each node, and `corecell ha "
      "agent`\n    for cell 1's two CN hosts (the agent runs their node)\n");
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
  if (opt.fail_after > 0) {
    std::printf("[5] after %g s: kill -9 of cell 1's active CN, then the failover report\n",
                opt.fail_after);
  }
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
  bool failed_over = opt.fail_after <= 0;
  FailoverOutcome outcome;
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
    if (!failed_over && elapsed >= opt.fail_after) {
      failed_over = true;
      std::printf("\n[5] failure\n");
      std::fflush(stdout);
      outcome = demo_failover(m);
      std::printf("\n--- after the failover ---\n%s",
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

  std::printf("\n[6] %s: chain advanced from #%llu to #%llu in %.0f s\n",
              interrupted ? "stopping (signal)" : "time is up",
              static_cast<unsigned long long>(start_head),
              static_cast<unsigned long long>(end_head), seconds_since(t0));
  if (load_result && load_result->ok()) {
    std::printf("%s", localnet::format_load_report(**load_result).c_str());
  } else if (load_result) {
    std::printf("    load not run: %s\n", load_result->error().message.c_str());
  }
  std::vector<std::string> acknowledged;
  if (load_result && load_result->ok()) acknowledged = (*load_result)->included_hashes;
  std::printf("\n[7] invariants over the whole run\n");
  const bool invariants_ok = demo_invariants(m, acknowledged);
  if (opt.fail_after > 0 && failed_over) {
    std::printf("    failover %s%s\n", outcome.completed ? "completed, RTO " : "did NOT complete",
                outcome.completed ? (std::to_string(outcome.rto_ms) + " ms").c_str() : "");
  }
  std::printf("\n[8] localnet down\n");
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
  if (!invariants_ok) fail("an invariant was violated (see [7] above)");
  if (opt.fail_after > 0 && failed_over && !outcome.completed) {
    fail("the failover did not complete (see [5] above and nodes/*/logs/agent.log)");
  }
}

}  // namespace

void add_demo_command(CLI::App& app) {
  auto opt = std::make_shared<DemoOptions>();
  auto* cmd = app.add_subcommand(
      "demo",
      "Run a 4-cell local network (CN + PN per cell, a standby CN host for cell 1 under HA "
      "agents, one EN) as real processes under a transfer load, kill -9 the active CN of cell 1 "
      "and report the failover (timeline, RTO, stretched blocks, invariants); status until "
      "Ctrl-C (or --seconds)");
  cmd->add_option("--dir", opt->dir,
                  "Directory for the network (new or empty; default: a new one "
                  "under /tmp, kept afterwards)");
  cmd->add_option("--seconds", opt->seconds, "Stop after this many seconds (default: at Ctrl-C)")
      ->check(CLI::Range(0.0, 86400.0));
  cmd->add_option("--tps", opt->tps, "Transfers per second sent to the EN")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 10000.0));
  cmd->add_option("--fail-after", opt->fail_after,
                  "Seconds of load before the active CN of cell 1 is killed (0: no failure)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 86400.0));
  cmd->add_option("--ip-prefix", opt->ip_prefix, "First three octets of the nodes' 127.x addresses")
      ->capture_default_str();
  cmd->add_option("--first-host", opt->first_host, "Last octet of the first node's address")
      ->capture_default_str();
  cmd->callback([opt] { run_demo(*opt); });
}

}  // namespace cc::cli
