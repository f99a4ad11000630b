#include "ha/agent.h"

#include <pthread.h>
#include <sys/wait.h>

#include <httplib.h>
#include <asio.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "crypto/address.h"
#include "crypto/keystore.h"
#include "ha/agent_core.h"
#include "node/control.h"
#include "node/datadir.h"
#include "rpc/http_server.h"
#include "storage/signstate.h"
#include "util/files.h"
#include "util/log.h"
#include "util/process.h"

namespace cc::ha {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;
using Clock = LeaseClock;  // CLOCK_BOOTTIME: lease grants, permit deadlines, every wait
using std::chrono::duration_cast;
using std::chrono::milliseconds;

std::string utc_now_ms() {
  const auto now = std::chrono::system_clock::now();
  const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

std::uint64_t json_u64(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

// An operator command from the control thread, waiting for the loop to hand it to the core.
struct Command {
  CommandKind kind = CommandKind::failover;
  std::shared_ptr<std::promise<Result<json>>> done;
};

AgentCoreConfig core_config(const AgentConfig& c) {
  AgentCoreConfig k;
  k.name = c.name;
  k.initial_active = c.initial_role == InitialRole::active;
  k.ttl = c.ttl;
  k.loop = c.loop;
  k.permit_margin = c.permit_margin;
  k.node_hung_after = c.node_hung_after;
  k.isolated_after = c.isolated_after;
  k.node_ready_timeout = std::min(c.sync_timeout, milliseconds(30000));
  return k;
}

}  // namespace

Result<json> query_agent_status(const fs::path& data_dir, milliseconds timeout) {
  return node::control_request(data_dir / "ha" / "agent.sock", json{{"cmd", "status"}}, timeout);
}

Result<std::unique_ptr<LeaseStore>> make_lease_store(const AgentConfig& c,
                                                     const Address& validator) {
  if (c.lease_kind == "local") return make_local_lease_store(c.lease_file);
  EtcdLeaseOptions o = c.etcd;
  o.prefix = c.lease_key.empty() ? "/corecell/" + crypto::to_checksum_hex(validator) : c.lease_key;
  o.request_timeout = std::min(c.retry, milliseconds(2000));
  return make_etcd_lease_store(std::move(o));
}

// The executor of the agent's decisions (ha/agent_core.h): it carries each Op out on this host
// — the lease store, the node's service and control socket, DATA_DIR, the IP mover — and turns
// the core's notes into events, the failover record, metrics and the status.
struct Agent::Impl {
  Impl(AgentConfig c, AgentKeys k)
      : cfg(std::move(c)), keys(std::move(k)), core(core_config(cfg)) {}

  AgentConfig cfg;
  AgentKeys keys;
  AgentCore core;
  std::unique_ptr<LeaseStore> store;
  std::unique_ptr<IpMover> ip;
  std::unique_ptr<ServiceControl> service;
  std::shared_ptr<spdlog::logger> log = logger("ha");
  std::string validator_hex;

  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread io_thread;
  std::unique_ptr<node::ControlServer> control;
  std::unique_ptr<rpc::HttpServer> metrics;

  // --- shared with the control and metrics threads ---
  mutable std::mutex mu;
  std::condition_variable wake;
  std::deque<Command> commands;
  json snapshot = json::object();
  std::map<std::string, std::uint64_t> event_counts;
  // The signing ceiling (AgentCore's replicate_ceiling): the ceiling poll thread asks the node
  // what height it wants to sign next and wakes the loop; the core replicates it, then grants it.
  std::uint64_t ceiling_wanted = 0;      // under mu
  bool ceiling_request_pending = false;  // under mu: a new want the loop has not acted on
  std::atomic<std::uint64_t> ceiling_granted{0};
  std::atomic<bool> ceiling_poll_on{false};  // while active
  std::atomic<bool> ceiling_poll_stop{false};
  std::thread ceiling_poll_thread;

  // --- loop thread only ---
  json node_status = json::object();  // the node's last control-socket status
  std::vector<pid_t> notify_children;
  std::uint64_t next_command_id = 1;
  std::map<std::uint64_t, std::shared_ptr<std::promise<Result<json>>>> answers;
  json failover = nullptr;  // the failover in progress or the last one
  Clock::time_point failover_t0{};

  // ---------------------------------------------------------------- events
  void event(const std::string& name, const std::string& detail) {
    const char* role = role_name(core.role());
    log->info("ha {}: {} ({}){}{}", cfg.name, name, role, detail.empty() ? "" : ": ", detail);
    json e = {{"time", utc_now_ms()}, {"agent", cfg.name}, {"event", name},
              {"role", role},         {"detail", detail},  {"epoch", current_epoch()}};
    {
      std::lock_guard lock(mu);
      ++event_counts[name];
    }
    std::ofstream out(cfg.events_path(), std::ios::app);
    if (out) out << e.dump() << '\n';
    if (!cfg.notify_script.empty()) {
      util::SpawnOptions o;
      o.log = cfg.state_dir / "notify.log";
      auto pid = util::spawn_process({cfg.notify_script.string(), name, role, detail}, o);
      if (pid.ok()) {
        notify_children.push_back(*pid);
      } else {
        log->warn("ha: HA_NOTIFY_SCRIPT {} failed to start: {}", cfg.notify_script.string(),
                  pid.error().message);
      }
    }
    if (!cfg.webhook_url.empty()) post_webhook(e.dump());
  }

  [[nodiscard]] std::uint64_t current_epoch() const {
    return core.grant() ? core.grant()->epoch : 0;
  }

  void post_webhook(std::string body) {
    // http://host:port/path; a slow receiver must never hold the loop.
    std::string url = cfg.webhook_url.substr(7);
    const auto slash = url.find('/');
    std::string host_port = url.substr(0, slash);
    std::string path = slash == std::string::npos ? "/" : url.substr(slash);
    std::thread([host_port, path, body = std::move(body), log = log] {
      httplib::Client client("http://" + host_port);
      client.set_connection_timeout(2, 0);
      client.set_read_timeout(2, 0);
      auto res = client.Post(path, body, "application/json");
      if (!res || res->status >= 300) {
        log->warn("ha: webhook http://{}{} failed: {}", host_port, path,
                  res ? "HTTP " + std::to_string(res->status) : httplib::to_string(res.error()));
      }
    }).detach();
  }

  void reap_notify_children() {
    std::erase_if(notify_children, [](pid_t p) { return ::waitpid(p, nullptr, WNOHANG) != 0; });
  }

  // The core's notes: events, the failover record (`ha status` follows a takeover step by step).
  void take_notes() {
    for (auto& n : core.take_notes()) {
      switch (n.kind) {
        case CoreNote::Kind::event:
          if (n.name == "node_permit_not_enforced") {
            log->error("ha {}: {} ({})", cfg.name, n.detail, service->describe());
          }
          event(n.name, n.detail);
          break;
        case CoreNote::Kind::warning:
          log->warn("ha {}: {}", cfg.name, n.detail);
          break;
        case CoreNote::Kind::failover_begin:
          failover_t0 = Clock::now();
          failover = {{"kind", n.name}, {"reason", n.detail},     {"started", utc_now_ms()},
                      {"ok", nullptr},  {"steps", json::array()}, {"agent", cfg.name}};
          break;
        case CoreNote::Kind::step: {
          if (failover.is_null()) break;
          const auto ms = duration_cast<milliseconds>(Clock::now() - failover_t0).count();
          failover["steps"].push_back({{"step", n.name},
                                       {"ok", n.ok},
                                       {"ms", ms},
                                       {"time", utc_now_ms()},
                                       {"detail", n.detail}});
          event(n.ok ? "step." + n.name : "step_failed." + n.name, n.detail);
          publish();
          break;
        }
        case CoreNote::Kind::failover_end:
          if (failover.is_null()) break;
          failover["ok"] = n.ok;
          if (!n.detail.empty()) failover["error"] = n.detail;
          break;
      }
    }
  }

  // ---------------------------------------------------------------- running the core
  // Carries out the program that `op` starts, Op by Op, until the core says it ended.
  void run_program(Op op) {
    const bool was_active = core.role() == AgentRole::active;
    while (op.kind != OpKind::none) {
      OpResult r = execute(op);
      op = core.done(r, Clock::now());
      take_notes();
    }
    take_notes();
    const bool active = core.role() == AgentRole::active;
    if (active && !was_active) {
      // A new holding: the ceiling starts at the takeover's floor - 1.
      std::lock_guard lock(mu);
      ceiling_wanted = core.ceiling();
      ceiling_request_pending = false;
    }
    ceiling_granted.store(core.ceiling());
    ceiling_poll_on.store(active);
  }

  OpResult execute(const Op& op) {
    switch (op.kind) {
      case OpKind::none:
        return OpResult::ok();
      case OpKind::read_lease: {
        auto l = store->read();
        if (!l.ok()) return OpResult::failed(l.error());
        OpResult r;
        r.lease = *l;
        return r;
      }
      case OpKind::acquire_lease:
        return granted(store->acquire(cfg.name, cfg.ttl));
      case OpKind::renew_lease:
        return granted(store->renew(cfg.name, op.epoch, op.watermark));
      case OpKind::release_lease: {
        OpResult r;
        r.status =
            store->release(cfg.name, op.epoch, op.watermark, op.watermark_exact, op.handover_to);
        return r;
      }
      case OpKind::poll_node:
        return poll_node();
      case OpKind::install_key: {
        OpResult r;
        r.status = install_key(op.identity);
        r.detail = (op.identity == NodeIdentity::validator
                        ? validator_hex
                        : crypto::to_checksum_hex(keys.standby_address)) +
                   " installed (0600)";
        return r;
      }
      case OpKind::start_node: {
        OpResult r;
        r.status = service->start(overrides(op.identity));
        node_status = json::object();
        r.detail =
            op.identity == NodeIdentity::validator
                ? "node started on " + cfg.cell_ip
                : "standby " + crypto::to_checksum_hex(keys.standby_address) + " on " + cfg.host_ip;
        return r;
      }
      case OpKind::stop_node: {
        OpResult r;
        r.status = op.keeps_lease
                       ? with_lease_kept([this] { return service->stop(cfg.stop_grace); })
                       : service->stop(cfg.stop_grace);
        r.node.running = !service_stopped();
        return r;
      }
      case OpKind::kill_node: {
        OpResult r;
        r.status = service->kill();
        r.node.running = !service_stopped();
        return r;
      }
      case OpKind::wait_node_ready:
        return wait_node_ready(std::min(cfg.sync_timeout, milliseconds(30000)));
      case OpKind::revoke_permit: {
        OpResult r;
        if (auto a = node_request({{"cmd", "permit_revoke"}}, 500ms); !a.ok()) r.status = a.error();
        return r;
      }
      case OpKind::grant_permit:
      case OpKind::renew_permit: {
        json req = {{"cmd", op.kind == OpKind::grant_permit ? "permit_grant" : "permit_renew"},
                    {"epoch", op.epoch},
                    {"deadline_boot_ms", util::boot_ms(op.deadline)},
                    {"ceiling", op.ceiling}};
        if (op.floor) req["floor"] = *op.floor;
        OpResult r;
        if (auto a = node_request(req, 500ms); !a.ok()) r.status = a.error();
        return r;
      }
      case OpKind::read_seal: {
        auto last = validator_last_seal(op.depth);
        if (!last.ok()) return OpResult::failed(last.error());
        OpResult r;
        r.height = *last;
        return r;
      }
      case OpKind::read_sign_state: {
        auto ss = storage::load_sign_state(node::signstate_path(cfg.data_dir));
        if (!ss.ok()) return OpResult::failed(ss.error());
        OpResult r;
        if (*ss) r.height = (*ss)->max_height;
        return r;
      }
      case OpKind::drop_validator_key: {
        OpResult r;
        r.status = drop_validator_key(op.detail);
        return r;
      }
      case OpKind::acquire_ip: {
        OpResult r;
        r.status = with_lease_kept([this] { return ip->acquire(); });
        r.detail = ip->describe();
        return r;
      }
      case OpKind::release_ip: {
        OpResult r;
        if (op.only_if_held) {
          auto held = ip->held();
          if (!held.ok() || !*held) return r;
        }
        r.status = ip->release();
        r.changed = r.status.ok();
        r.detail = "released " + cfg.cell_ip;
        return r;
      }
      case OpKind::answer_command:
        answer(op);
        return OpResult::ok();
    }
    return OpResult::ok();
  }

  static OpResult granted(Result<LeaseGrant> g) {
    if (!g.ok()) return OpResult::failed(g.error());
    OpResult r;
    r.grant = *g;
    return r;
  }

  void answer(const Op& op) {
    auto it = answers.find(op.command_id);
    if (it == answers.end()) return;
    auto done = it->second;
    answers.erase(it);
    if (op.answer.accepted) {
      done->set_value(json{{"accepted", true},
                           {"kind", failover.value("kind", "")},
                           {"started", failover.value("started", "")}});
    } else if (op.answer.ok) {
      done->set_value(failover);
    } else {
      done->set_value(op.answer.error.value_or(make_error("ha.refused", "refused")));
    }
    publish();
  }

  // During an Op that may take long: the lease renewed every HA_LOOP_MS (AgentCore::keepalive).
  void keepalive_tick() {
    if (auto k = core.keepalive(Clock::now())) {
      const OpResult r = execute(*k);
      core.keepalive_done(r, Clock::now());
    }
  }

  // Runs a step that may be slow (an IP mover's arping or cloud API, stopping a node) on a
  // worker thread while this loop keeps the lease renewed; a failed renewal fails the step once
  // the work has ended (its thread is never abandoned).
  Status with_lease_kept(const std::function<Status()>& work) {
    auto done = std::async(std::launch::async, work);
    while (done.wait_for(cfg.loop / 4) != std::future_status::ready) keepalive_tick();
    return done.get();
  }

  // ---------------------------------------------------------------- node access
  [[nodiscard]] fs::path node_socket() const { return node::control_socket_path(cfg.data_dir); }

  Result<json> node_request(const json& req, milliseconds timeout) {
    return node::control_request(node_socket(), req, timeout);
  }

  // What the node's control socket says, as the core reads it.
  NodeReport report_of(const json& s) const {
    NodeReport n;
    n.running = true;
    n.answered = true;
    n.in_sync = s.value("in_sync", false);
    n.head = s.contains("head") ? json_u64(s["head"], "number") : 0;
    n.lag = s.contains("sync") ? json_u64(s["sync"], "lag") : 0;
    // Issue #16, path 2: a node that does not say it requires our permit is taken not to.
    n.enforces_permits = s.value("signing_permit_required", false);
    if (s.contains("consensus") && s["consensus"].is_object()) {
      n.last_signed_height = json_u64(s["consensus"], "last_signed_height");
    }
    if (s.contains("peers") && s["peers"].is_array()) {
      std::uint64_t ready = 0;
      for (const auto& p : s["peers"]) ready += p.is_object() && p.value("ready", false) ? 1 : 0;
      n.ready_peers = ready;
    }
    return n;
  }

  OpResult poll_node() {
    OpResult r;
    auto st = service->poll();
    if (!st.ok()) {
      r.status = st.error();
    } else {
      r.node.running = st->running;
      if (!st->running) r.node.exit_status = st->exit_status.value_or(-1);
    }
    if (!st.ok() || st->running) {
      auto s = node_request({{"cmd", "status"}}, std::min(cfg.loop, milliseconds(300)));
      if (s.ok()) {
        node_status = std::move(*s);
        r.node = report_of(node_status);
      }
    }
    return r;
  }

  // Until the node answers on its control socket (or dies, or `timeout` passes), keeping our
  // lease renewed meanwhile.
  OpResult wait_node_ready(milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      if (auto s = node_request({{"cmd", "status"}}, 200ms); s.ok()) {
        node_status = std::move(*s);
        OpResult r;
        r.node = report_of(node_status);
        return r;
      }
      auto st = service->poll();
      if (st.ok() && !st->running) {
        return OpResult::failed(
            make_error("ha.node_exited", "the node exited while starting (status " +
                                             std::to_string(st->exit_status.value_or(-1)) +
                                             "); see " + cfg.node_log_path().string()));
      }
      keepalive_tick();
      if (core.keepalive_failed()) return OpResult::ok();  // the core reports the renewal
      std::this_thread::sleep_for(20ms);
    }
    return OpResult::failed(
        make_error("ha.node_timeout", "the node did not answer on " + node_socket().string() +
                                          " within " + std::to_string(timeout.count()) +
                                          " ms; see " + cfg.node_log_path().string()));
  }

  bool service_stopped() {
    auto st = service->poll();
    return st.ok() && !st->running;
  }

  // The newest block (among `depth`) carrying a seal of the validator, per our node.
  Result<std::optional<std::uint64_t>> validator_last_seal(std::uint64_t depth) {
    CC_TRY_ASSIGN(
        auto r,
        node_request({{"cmd", "seals"}, {"address", validator_hex}, {"depth", depth}}, 500ms));
    if (r["last_sealed"].is_number_unsigned()) {
      return std::optional<std::uint64_t>(r["last_sealed"].get<std::uint64_t>());
    }
    return std::optional<std::uint64_t>{};
  }

  // Writes the nodekey the node will start with (atomic, 0600) and checks it reads back as
  // the address we meant (KEY-1: never start the validator under a wrong identity).
  Status install_key(NodeIdentity which) {
    const bool validator = which == NodeIdentity::validator;
    const auto& key = validator ? keys.validator : keys.standby;
    const auto& want = validator ? keys.validator_address : keys.standby_address;
    const fs::path path = node::nodekey_path(cfg.data_dir);
    CC_TRY_STATUS(ensure_dir(path.parent_path()));
    CC_TRY_STATUS(crypto::save_nodekey_file(path, key));
    CC_TRY_ASSIGN(auto back, crypto::load_datadir_nodekey(cfg.data_dir));
    if (back.address != want) {
      return make_error("ha.nodekey", "after writing " + path.string() +
                                          " the node would start as " +
                                          crypto::to_checksum_hex(back.address) + ", not " +
                                          crypto::to_checksum_hex(want) +
                                          " (a legacy DATA_DIR/nodekey wins: remove it)");
    }
    return {};
  }

  // Issue #16, path 6: a host that is not active keeps the validator key only in its encrypted
  // backup. Once the validator's node is stopped (fence, switchover, the agent stopping, or
  // found at start), DATA_DIR/klay/nodekey becomes the standby key again, so a node started
  // there by hand comes up as the standby, not as the validator. Overwriting the file under a
  // node that could not be stopped changes nothing for that process (its key is in memory).
  Status drop_validator_key(const std::string& why) {
    auto on_disk = crypto::load_datadir_nodekey(cfg.data_dir);
    if (on_disk.ok() && on_disk->address != keys.validator_address) return {};
    CC_TRY_STATUS(install_key(NodeIdentity::standby));
    log->info("ha {}: DATA_DIR/klay/nodekey is the standby key again ({})", cfg.name, why);
    return {};
  }

  std::vector<std::string> overrides(NodeIdentity which) const {
    return {"PUBLIC_IP=" + (which == NodeIdentity::validator ? cfg.cell_ip : cfg.host_ip),
            "REQUIRE_SIGNING_PERMIT=1"};
  }

  // ---------------------------------------------------------------- ceiling
  // Between ticks: the height the node asked for, replicated and granted by the core at once.
  void raise_ceiling() {
    std::uint64_t wanted = 0;
    {
      std::lock_guard lock(mu);
      wanted = ceiling_wanted;
      ceiling_request_pending = false;
    }
    if (core.role() != AgentRole::active || wanted <= core.ceiling()) return;
    run_program(core.raise_ceiling(wanted, Clock::now()));
  }

  // The ceiling poll thread: a long poll on the node's control socket (ceiling_wait) while
  // active, so a height is replicated within milliseconds of the node asking for it.
  void ceiling_poll_loop() {
    pthread_setname_np(pthread_self(), "cc-ha-ceil");
    while (!ceiling_poll_stop.load()) {
      if (!ceiling_poll_on.load()) {
        std::this_thread::sleep_for(20ms);
        continue;
      }
      const std::uint64_t above = ceiling_granted.load();
      auto r = node::control_request(
          node_socket(), {{"cmd", "ceiling_wait"}, {"above", above}, {"timeout_ms", 1000}}, 1500ms);
      if (!r.ok()) {
        std::this_thread::sleep_for(50ms);
        continue;
      }
      const std::uint64_t wanted = json_u64(*r, "wanted_height");
      if (wanted <= above) continue;
      {
        std::lock_guard lock(mu);
        ceiling_wanted = std::max(ceiling_wanted, wanted);
        ceiling_request_pending = true;
      }
      wake.notify_all();
      // Until the loop granted it (or gave up for now), asking again would get the same answer.
      for (int i = 0; i < 300 && ceiling_granted.load() < wanted && !ceiling_poll_stop.load();
           ++i) {
        std::this_thread::sleep_for(1ms);
      }
    }
  }

  // ---------------------------------------------------------------- status
  json build_status() const {
    const bool paused = core.paused();
    const AgentRole role = core.role();
    const auto& grant = core.grant();
    const auto& lease = core.lease();
    const NodeReport& node = core.node();
    json s;
    s["agent"] = cfg.name;
    s["role"] = paused ? "paused" : role_name(role);
    s["underlying_role"] = role_name(role);
    s["paused"] = paused;
    s["validator"] = validator_hex;
    s["standby_address"] = crypto::to_checksum_hex(keys.standby_address);
    s["cell_ip"] = cfg.cell_ip;
    s["host_ip"] = cfg.host_ip;
    s["lease_store"] = store->describe();
    s["epoch"] = grant ? grant->epoch : 0;
    if (lease) {
      s["lease"] = {{"held", lease->held},           {"holder", lease->holder},
                    {"epoch", lease->epoch},         {"ttl_left_ms", lease->ttl_left.count()},
                    {"watermark", lease->watermark}, {"watermark_exact", lease->watermark_exact},
                    {"paused", lease->paused}};
    } else {
      s["lease"] = nullptr;
    }
    s["lease_error"] = core.lease_error();
    s["lease_time_left_ms"] =
        grant ? duration_cast<milliseconds>(grant->expires_at() - Clock::now()).count() : 0;
    s["last_signed_height"] = core.watermark();
    s["signing_ceiling"] = core.ceiling();
    json n;
    const NodeIdentity identity = core.identity();
    n["identity"] = identity == NodeIdentity::validator ? "validator"
                    : identity == NodeIdentity::standby ? "standby"
                                                        : "none";
    n["head"] = node.head;
    n["in_sync"] = node.in_sync;
    n["lag"] = node.lag;
    n["permit"] =
        node.answered && node_status.contains("consensus") && node_status["consensus"].is_object()
            ? node_status["consensus"].value("permit", json(nullptr))
            : json(nullptr);
    s["node"] = n;
    s["note"] = role == AgentRole::active ? "" : core.note();
    s["last_failover"] = failover;
    s["counters"] = {{"failovers", core.failovers()},
                     {"fences", core.fences()},
                     {"lease_renew_failures", core.renew_failures()}};
    return s;
  }

  void publish() {
    json s = build_status();
    std::lock_guard lock(mu);
    snapshot = std::move(s);
  }

  std::string metrics_text() const {
    json s;
    std::map<std::string, std::uint64_t> events;
    {
      std::lock_guard lock(mu);
      s = snapshot;
      events = event_counts;
    }
    std::string out;
    auto line = [&out](const std::string& l) { out += l + "\n"; };
    line("# HELP corecell_ha_role The agent's role (1 for the current one).");
    line("# TYPE corecell_ha_role gauge");
    for (const char* r : {"starting", "standby", "active", "fenced", "paused"}) {
      line(std::string("corecell_ha_role{role=\"") + r + "\"} " +
           (s.value("role", "") == r ? "1" : "0"));
    }
    line("# HELP corecell_ha_lease_epoch Fencing epoch of the lease this agent holds (0: none).");
    line("# TYPE corecell_ha_lease_epoch gauge");
    line("corecell_ha_lease_epoch " + std::to_string(s.value("epoch", 0)));
    line("# HELP corecell_ha_lease_time_left_seconds Time left on the lease this agent holds.");
    line("# TYPE corecell_ha_lease_time_left_seconds gauge");
    line("corecell_ha_lease_time_left_seconds " +
         std::to_string(static_cast<double>(s.value("lease_time_left_ms", 0)) / 1000.0));
    line("# HELP corecell_ha_last_signed_height Highest height the guarded validator signed at.");
    line("# TYPE corecell_ha_last_signed_height gauge");
    line("corecell_ha_last_signed_height " + std::to_string(s.value("last_signed_height", 0)));
    const json& c = s.contains("counters") ? s["counters"] : json::object();
    line("# HELP corecell_ha_failovers_total Takeovers and switchovers this agent started.");
    line("# TYPE corecell_ha_failovers_total counter");
    line("corecell_ha_failovers_total " + std::to_string(c.value("failovers", 0)));
    line("# HELP corecell_ha_fences_total Times this agent fenced its node.");
    line("# TYPE corecell_ha_fences_total counter");
    line("corecell_ha_fences_total " + std::to_string(c.value("fences", 0)));
    line("# HELP corecell_ha_lease_renew_failures_total Lease renewals that failed.");
    line("# TYPE corecell_ha_lease_renew_failures_total counter");
    line("corecell_ha_lease_renew_failures_total " +
         std::to_string(c.value("lease_renew_failures", 0)));
    line("# HELP corecell_ha_events_total Agent events by name.");
    line("# TYPE corecell_ha_events_total counter");
    for (const auto& [name, n] : events) {
      line("corecell_ha_events_total{event=\"" + name + "\"} " + std::to_string(n));
    }
    json f = s.value("last_failover", json(nullptr));
    if (f.is_object() && f.contains("steps") && !f["steps"].empty()) {
      line("# HELP corecell_ha_last_failover_seconds Duration of the last failover so far.");
      line("# TYPE corecell_ha_last_failover_seconds gauge");
      line("corecell_ha_last_failover_seconds " +
           std::to_string(static_cast<double>(f["steps"].back().value("ms", 0)) / 1000.0));
    }
    return out;
  }

  // ---------------------------------------------------------------- loop
  void tick() {
    reap_notify_children();
    {
      std::lock_guard lock(mu);
      for (auto& c : commands) {
        const std::uint64_t id = next_command_id++;
        answers[id] = c.done;
        core.queue_command(id, c.kind);
      }
      commands.clear();
    }
    run_program(core.tick(Clock::now()));
  }

  void shutdown() {
    run_program(core.shutdown(Clock::now()));
    publish();
  }
};

Agent::Agent(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Agent::~Agent() {
  if (!impl_) return;
  if (impl_->metrics) impl_->metrics->stop();
  impl_->work.reset();
  asio::post(impl_->io, [i = impl_.get()] { i->control->stop(); });
  if (impl_->io_thread.joinable()) impl_->io_thread.join();
}

Result<std::unique_ptr<Agent>> Agent::create(AgentConfig config) {
  CC_TRY_ASSIGN(auto keys, load_agent_keys(config));
  auto impl = std::make_unique<Impl>(std::move(config), std::move(keys));
  Impl& a = *impl;
  a.validator_hex = crypto::to_checksum_hex(a.keys.validator_address);
  if (fs::exists(node::legacy_nodekey_path(a.cfg.data_dir))) {
    return make_error("ha.config", node::legacy_nodekey_path(a.cfg.data_dir).string() +
                                       " exists and would win over DATA_DIR/klay/nodekey, which "
                                       "the agent manages: remove it");
  }
  // Issue #16, path 7: a `local` lease is a file on this machine, so it decides only between
  // agents of one machine. Two hosts with a local lease each would both become active. The
  // loopback mover is the only one that keeps both hosts on one machine (localnet); with another
  // mover the hosts are separate machines, and the lease must be etcd.
  if (a.cfg.lease_kind == "local" && a.cfg.ip.kind != "loopback") {
    return make_error(
        "ha.config",
        a.cfg.conf_path.string() + ": HA_LEASE=local with HA_IP_MOVER=" + a.cfg.ip.kind +
            ": a local lease (HA_LEASE_FILE " + a.cfg.lease_file.string() +
            ") is a file on this machine, and the other host of the cell would keep its own and "
            "become active too. Two hosts need a shared lease store: set HA_LEASE=etcd and "
            "HA_ETCD_ENDPOINTS (docs/HA.md, \"Lease stores\"); a local lease serves only hosts "
            "on one machine (HA_IP_MOVER=loopback, as in a localnet)");
  }
  CC_TRY_ASSIGN(a.store, make_lease_store(a.cfg, a.keys.validator_address));
  if (auto seen = a.store->read(); !seen.ok() && seen.error().code == "lease.not_shared") {
    return seen.error();  // a lease file another machine wrote: never decide from it
  }
  CC_TRY_ASSIGN(a.ip, make_ip_mover(a.cfg.ip));
  CC_TRY_ASSIGN(a.service, make_service_control(a.cfg.service));
  CC_TRY_STATUS(ensure_dir(a.cfg.state_dir));

  a.control = std::make_unique<node::ControlServer>(a.io);
  Impl* self = &a;
  a.control->add_handler("status", [self](const json&) -> Result<json> {
    std::lock_guard lock(self->mu);
    return self->snapshot;
  });
  for (const char* cmd : {"failover", "switchover"}) {
    a.control->add_handler(cmd, [self, cmd](const json&) -> Result<json> {
      auto done = std::make_shared<std::promise<Result<json>>>();
      auto fut = done->get_future();
      {
        std::lock_guard lock(self->mu);
        self->commands.push_back(Command{
            std::string(cmd) == "failover" ? CommandKind::failover : CommandKind::switchover,
            done});
      }
      self->wake.notify_all();
      // The control thread waits: the operator's command returns the whole timeline.
      // The loop answers within a tick: the refusal, or "accepted" once the checks passed.
      if (fut.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
        return make_error("ha.timeout", std::string(cmd) + " was not taken up within 30 s");
      }
      return fut.get();
    });
  }
  CC_TRY_STATUS(a.control->start(a.cfg.socket_path()));
  a.work.emplace(asio::make_work_guard(a.io));
  a.io_thread = std::thread([self] {
    pthread_setname_np(pthread_self(), "cc-ha-ctl");
    self->io.run();
  });
  if (a.cfg.metrics_port != 0) {
    rpc::HttpLimits limits;
    limits.threads = 2;
    a.metrics = std::make_unique<rpc::HttpServer>("ha-metrics", limits);
    a.metrics->get("/metrics", [self](const rpc::HttpRequest&) {
      return rpc::HttpReply{200, "text/plain; version=0.0.4", self->metrics_text()};
    });
    a.metrics->get("/health/role", [self](const rpc::HttpRequest&) {
      std::lock_guard lock(self->mu);
      return rpc::HttpReply{200, "application/json", self->snapshot.dump()};
    });
    if (auto st = a.metrics->start(a.cfg.metrics_addr, a.cfg.metrics_port,
                                   "HA_METRICS_ADDR/HA_METRICS_PORT");
        !st.ok()) {
      return st.error();
    }
  }
  a.publish();
  a.log->info(
      "ha {}: guarding validator {} (cell address {}), standby key {}, lease {}, ip {}, "
      "service {}",
      a.cfg.name, a.validator_hex, a.cfg.cell_ip, crypto::to_checksum_hex(a.keys.standby_address),
      a.store->describe(), a.ip->describe(), a.service->describe());
  return std::unique_ptr<Agent>(new Agent(std::move(impl)));
}

void Agent::run(const std::atomic<bool>& stop) {
  Impl& a = *impl_;
  pthread_setname_np(pthread_self(), "cc-ha");
  a.ceiling_poll_thread = std::thread([&a] { a.ceiling_poll_loop(); });
  while (!stop.load()) {
    const auto next = Clock::now() + a.cfg.loop;
    a.tick();
    a.publish();
    // Between ticks, a height the node asks for is replicated and granted at once.
    for (;;) {
      std::unique_lock lock(a.mu);
      const bool woken = a.wake.wait_until(lock, next, [&] {
        return stop.load() || !a.commands.empty() || a.ceiling_request_pending;
      });
      if (!woken || stop.load() || !a.commands.empty()) break;
      lock.unlock();
      a.raise_ceiling();
    }
  }
  a.ceiling_poll_stop.store(true);
  a.ceiling_poll_on.store(false);
  if (a.ceiling_poll_thread.joinable()) a.ceiling_poll_thread.join();
  a.shutdown();
}

json Agent::status() const {
  std::lock_guard lock(impl_->mu);
  return impl_->snapshot;
}

}  // namespace cc::ha
