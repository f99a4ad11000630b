// cli/ha_cmd.cpp — `corecell ha agent|status|failover|switchover|pause|resume|verify-sync`:
// the HA agent (ha/agent.h) and the operator's controls. Thin: the agent does the work; the
// commands talk to it over HA_STATE_DIR/agent.sock, or to the lease store and the node
// directly where no agent needs to be running (pause, resume, verify-sync, status's lease).
#include <pthread.h>
#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "cli/common.h"
#include "crypto/address.h"
#include "crypto/keystore.h"
#include "ha/agent.h"
#include "ha/config.h"
#include "node/control.h"
#include "node/datadir.h"
#include "util/files.h"
#include "util/log.h"

namespace cc::cli {
namespace {
using json = nlohmann::json;
using namespace std::chrono_literals;

struct HaArgs {
  std::string conf;
  bool json_output = false;
  std::string by;
  unsigned timeout_s = 60;
};

ha::AgentConfig load(const HaArgs& a) { return or_fail(ha::load_agent_config(a.conf)); }

// The validator address from the backup's clear-text part (no passphrase needed).
Address validator_of(const ha::AgentConfig& c) {
  auto text = or_fail(read_file(c.validator_backup, std::size_t{64} * 1024));
  return or_fail(crypto::inspect_backup(text, c.validator_backup.string())).address;
}

void print_timeline(const json& f) {
  if (!f.is_object()) return;
  std::printf("last failover  %s (%s), started %s: %s\n", text_of(f["kind"]).c_str(),
              text_of(f["reason"]).c_str(), text_of(f["started"]).c_str(),
              f["ok"].is_null() ? "in progress" : (f["ok"].get<bool>() ? "ok" : "FAILED"));
  for (const auto& s : f["steps"]) {
    std::printf("  +%6s ms  %-10s %s  %s\n", text_of(s["ms"]).c_str(), text_of(s["step"]).c_str(),
                s.value("ok", false) ? "ok  " : "FAIL", text_of(s["detail"]).c_str());
  }
  if (f.contains("error")) std::printf("  error: %s\n", text_of(f["error"]).c_str());
}

void run_agent(const HaArgs& a) {
  auto config = load(a);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  auto agent = or_fail(ha::Agent::create(std::move(config)));
  std::atomic<bool> stop{false};
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&set, &sig);
    logger("ha")->info("received {}, stopping (an active hands its lease over first)",
                       sig == SIGINT ? "SIGINT" : "SIGTERM");
    stop = true;
  });
  agent->run(stop);  // returns once the waiter has taken a stop signal
  waiter.join();
}

void run_status(const HaArgs& a) {
  auto c = load(a);
  json out;
  auto agent = node::control_request(c.socket_path(), json{{"cmd", "status"}}, 2000ms);
  if (agent.ok()) {
    out = *agent;
  } else {
    // No agent here: still show what the lease store says.
    out["agent"] = nullptr;
    out["agent_error"] = agent.error().message;
    auto store = or_fail(ha::make_lease_store(c, validator_of(c)));
    auto lease = store->read();
    if (lease.ok()) {
      out["lease"] = {{"held", lease->held},           {"holder", lease->holder},
                      {"epoch", lease->epoch},         {"ttl_left_ms", lease->ttl_left.count()},
                      {"watermark", lease->watermark}, {"watermark_exact", lease->watermark_exact},
                      {"paused", lease->paused}};
    } else {
      out["lease"] = nullptr;
      out["lease_error"] = lease.error().message;
    }
  }
  if (a.json_output) {
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  if (out["agent"].is_null()) {
    std::printf("agent          not running here (%s)\n", text_of(out["agent_error"]).c_str());
  } else {
    std::printf("agent          %s\n", text_of(out["agent"]).c_str());
    std::printf("role           %s\n", text_of(out["role"]).c_str());
    std::printf("validator      %s (cell address %s)\n", text_of(out["validator"]).c_str(),
                text_of(out["cell_ip"]).c_str());
    std::printf("epoch          %s (lease time left %s ms)\n", text_of(out["epoch"]).c_str(),
                text_of(out["lease_time_left_ms"]).c_str());
    std::printf("last signed    #%s\n", text_of(out["last_signed_height"]).c_str());
    const json& n = out["node"];
    std::printf("node           %s, head #%s, %s\n", text_of(n["identity"]).c_str(),
                text_of(n["head"]).c_str(), n.value("in_sync", false) ? "in sync" : "NOT in sync");
    if (const std::string note = out.value("note", ""); !note.empty()) {
      std::printf("note           %s\n", note.c_str());
    }
  }
  if (out["lease"].is_object()) {
    const json& l = out["lease"];
    std::printf("lease          %s by %s, epoch %s, %s ms left, watermark #%s%s%s\n",
                l.value("held", false) ? "held" : "free", text_of(l["holder"]).c_str(),
                text_of(l["epoch"]).c_str(), text_of(l["ttl_left_ms"]).c_str(),
                text_of(l["watermark"]).c_str(),
                l.value("watermark_exact", false) ? " (exact)" : "",
                l.value("paused", false) ? ", PAUSED" : "");
  } else if (out.contains("lease_error")) {
    std::printf("lease          unreachable: %s\n", text_of(out["lease_error"]).c_str());
  }
  if (out.contains("last_failover")) print_timeline(out["last_failover"]);
}

// The agent answers once its checks pass ("accepted"), or with the refusal; then this follows
// the failover in the agent's status until it ends (the first seal, or a failed step).
void run_command(const HaArgs& a, const std::string& cmd) {
  auto c = load(a);
  auto r = node::control_request(c.socket_path(), json{{"cmd", cmd}}, 30s);
  if (!r.ok()) fail(cmd + " refused: " + r.error().message);
  json f = *r;
  if (r->value("accepted", false)) {
    const std::string started = r->value("started", "");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(a.timeout_s);
    for (;;) {
      auto s = node::control_request(c.socket_path(), json{{"cmd", "status"}}, 2000ms);
      if (s.ok() && (*s)["last_failover"].is_object() &&
          (*s)["last_failover"].value("started", "") == started) {
        f = (*s)["last_failover"];
        if (!f["ok"].is_null()) break;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        print_timeline(f);
        fail(cmd + " still in progress after " + std::to_string(a.timeout_s) +
             " s; follow it with `corecell ha status`");
      }
      std::this_thread::sleep_for(200ms);
    }
  }
  if (a.json_output) {
    std::printf("%s\n", f.dump(2).c_str());
  } else {
    print_timeline(f);
  }
  if (f.value("ok", json(false)) != json(true))
    fail(cmd + " failed: " + f.value("error", "see the steps above"));
}

void run_pause(const HaArgs& a, bool pause) {
  auto c = load(a);
  auto store = or_fail(ha::make_lease_store(c, validator_of(c)));
  or_fail(store->set_paused(pause, a.by.empty() ? c.name : a.by));
  std::printf("%s: agents of validator %s take %s\n", pause ? "paused" : "resumed",
              crypto::to_checksum_hex(validator_of(c)).c_str(),
              pause ? "no automatic action until `corecell ha resume`" : "automatic action again");
}

// Verify in sync (DESIGN.md): head within 1 block of the best peer, connected to council CNs,
// and, once active, its own seals in newly committed blocks.
void run_verify_sync(const HaArgs& a) {
  auto c = load(a);
  const Address validator = validator_of(c);
  const auto socket = node::control_socket_path(c.data_dir);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(a.timeout_s);
  std::string why;
  while (std::chrono::steady_clock::now() < deadline) {
    auto s = node::control_request(socket, json{{"cmd", "status"}}, 2000ms);
    if (!s.ok()) {
      why = s.error().message;
    } else {
      const auto head = (*s)["head"].value("number", std::uint64_t{0});
      const auto lag = (*s)["sync"].value("lag", std::uint64_t{0});
      const auto cns = (*s)["peers_by_type"].value("cn", std::uint64_t{0});
      const bool signer = (*s).value("validator", false);
      std::string seals = "n/a (standby)";
      bool sealed_ok = true;
      if (signer) {
        auto r = node::control_request(
            socket,
            json{{"cmd", "seals"}, {"address", crypto::to_checksum_hex(validator)}, {"depth", 8}},
            2000ms);
        sealed_ok = r.ok() && (*r)["last_sealed"].is_number();
        seals = sealed_ok ? "last seal #" + text_of((*r)["last_sealed"]) : "none in 8 blocks";
      }
      why = "head #" + std::to_string(head) + ", lag " + std::to_string(lag) + ", " +
            std::to_string(cns) + " CN peer(s), seals: " + seals;
      if (lag <= 1 && (cns > 0 || !signer) && sealed_ok) {
        std::printf("in sync: %s\n", why.c_str());
        return;
      }
    }
    std::this_thread::sleep_for(500ms);
  }
  fail("not in sync after " + std::to_string(a.timeout_s) + " s: " + why);
}

}  // namespace

void add_ha_commands(CLI::App& app) {
  auto* ha = app.add_subcommand(
      "ha", "High availability of a CN: the agent and the operator's controls (docs/HA.md)");
  ha->require_subcommand(1);
  auto add = [&](const char* name, const char* help) {
    auto args = std::make_shared<HaArgs>();
    auto* cmd = ha->add_subcommand(name, help);
    cmd->add_option("--conf", args->conf, "The agent's conf file (HA_* keys; docs/HA.md)")
        ->required();
    return std::make_pair(cmd, args);
  };

  std::string keys_help = "\nKeys of the agent conf file:\n";
  for (const auto& k : ha::agent_config_keys()) {
    keys_help += "  " + std::string(k.name) + " = " + std::string(k.form) +
                 (k.fallback.empty()          ? ""
                  : k.fallback.front() == '(' ? " " + std::string(k.fallback)
                                              : " (default " + std::string(k.fallback) + ")") +
                 "\n      " + std::string(k.help) + "\n";
  }
  auto [agent, agent_args] =
      add("agent", "Run the HA agent of this CN host: keeps exactly one CN of the cell signing");
  agent->footer(keys_help);
  agent->callback([a = agent_args] { run_agent(*a); });

  auto [status, status_args] = add(
      "status", "Role, lease holder, epoch, lease time left, last signed height, last failover");
  status->add_flag("--json", status_args->json_output, "Print JSON");
  status->callback([a = status_args] { run_status(*a); });

  auto [failover, failover_args] = add(
      "failover",
      "On a standby: take over now, with every safety check (refuses while the lease is held or "
      "the chain still shows the validator's seals)");
  failover->add_flag("--json", failover_args->json_output, "Print the timeline as JSON");
  failover
      ->add_option("--timeout", failover_args->timeout_s,
                   "Seconds to follow the failover until its first seal")
      ->capture_default_str();
  failover->callback([a = failover_args] { run_command(*a, "failover"); });

  auto [switchover, switchover_args] =
      add("switchover",
          "On the active: planned handover; the node stops signing, hands over its exact watermark "
          "and releases the lease, so a standby takes over without waiting for the TTL");
  switchover->add_flag("--json", switchover_args->json_output, "Print the timeline as JSON");
  switchover
      ->add_option("--timeout", switchover_args->timeout_s,
                   "Seconds to follow the handover until it ends")
      ->capture_default_str();
  switchover->callback([a = switchover_args] { run_command(*a, "switchover"); });

  auto [pause, pause_args] =
      add("pause", "Maintenance: the cell's agents take no automatic action until resume");
  pause->add_option("--by", pause_args->by, "Who paused, for the record (default HA_NAME)");
  pause->callback([a = pause_args] { run_pause(*a, true); });
  auto [resume, resume_args] = add("resume", "End maintenance: automatic failover again");
  resume->callback([a = resume_args] { run_pause(*a, false); });

  auto [verify, verify_args] =
      add("verify-sync",
          "Check this host's node: head within 1 block of the best peer, CN peers, and (when it is "
          "the validator) its own seals in recent blocks. Exit 0 in sync, 1 otherwise");
  verify->add_option("--timeout", verify_args->timeout_s, "Seconds to wait for sync")
      ->capture_default_str();
  verify->callback([a = verify_args] { run_verify_sync(*a); });
}

}  // namespace cc::cli
