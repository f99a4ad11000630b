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
#include "ha/decisions.h"
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

enum class Role { starting, standby, active, fenced };

// How long a node found not to enforce signing permits stays stopped before it is started again
// to look once more (the operator may have fixed its unit meanwhile).
constexpr std::chrono::seconds kPermitRecheck{30};

const char* role_name(Role r) {
  switch (r) {
    case Role::starting:
      return "starting";
    case Role::standby:
      return "standby";
    case Role::active:
      return "active";
    case Role::fenced:
      return "fenced";
  }
  return "?";
}

// Which key the node was last started with.
enum class Identity { none, standby, validator };

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

// An operator command queued for the loop; the control thread waits for its answer.
struct Command {
  std::string cmd;  // failover | switchover
  std::shared_ptr<std::promise<Result<json>>> done;
};

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

struct Agent::Impl {
  Impl(AgentConfig c, AgentKeys k) : cfg(std::move(c)), keys(std::move(k)) {}

  AgentConfig cfg;
  AgentKeys keys;
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
  // The command the loop is running (loop thread only): answered with "accepted" once its checks
  // pass, so the control thread is free (for `ha status`) while the takeover runs.
  std::shared_ptr<std::promise<Result<json>>> current_command;
  json snapshot = json::object();
  std::map<std::string, std::uint64_t> event_counts;
  // The signing ceiling (see raise_ceiling): the ceiling poll thread asks the node what height it
  // wants to sign next and wakes the loop; the loop replicates the height, then grants it.
  std::uint64_t ceiling_wanted = 0;      // under mu
  bool ceiling_request_pending = false;  // under mu: a new want the loop has not acted on
  std::atomic<std::uint64_t> ceiling_granted{0};
  std::atomic<bool> ceiling_poll_on{false};  // while active
  std::atomic<bool> ceiling_poll_stop{false};
  std::thread ceiling_poll_thread;

  // --- loop thread only ---
  Role role = Role::starting;
  bool paused = false;
  Identity identity = Identity::none;
  std::optional<LeaseGrant> grant;    // while active
  std::optional<LeaseState> lease;    // last read
  std::string lease_error;            // last store error ("" when the last access worked)
  std::uint64_t watermark = 0;        // highest height our node reported signing at
  std::uint64_t ceiling = 0;          // highest height the node's permit covers (replicated)
  json node_status = json::object();  // last good control-socket status
  Clock::time_point node_last_ok{};
  Clock::time_point node_started{};
  Clock::time_point next_node_start{};  // restart backoff
  Clock::time_point standby_cooldown_until{};
  Clock::time_point next_takeover_at{};  // after a failed takeover attempt
  std::optional<std::uint64_t>
      witness_baseline;      // validator's last seal when the lease was seen free
  std::string standby_note;  // why a standby is not taking over now
  std::uint64_t failovers = 0;
  std::uint64_t fences = 0;
  std::uint64_t renew_failures = 0;
  std::vector<pid_t> notify_children;

  // The failover in progress or the last one.
  json failover = nullptr;
  Clock::time_point failover_t0{};
  std::uint64_t failover_floor = 0;
  bool awaiting_in_sync = false;
  bool awaiting_first_seal = false;

  // ---------------------------------------------------------------- events
  void event(const std::string& name, const std::string& detail) {
    log->info("ha {}: {} ({}){}{}", cfg.name, name, role_name(role), detail.empty() ? "" : ": ",
              detail);
    json e = {{"time", utc_now_ms()},    {"agent", cfg.name}, {"event", name},
              {"role", role_name(role)}, {"detail", detail},  {"epoch", grant ? grant->epoch : 0}};
    {
      std::lock_guard lock(mu);
      ++event_counts[name];
    }
    std::ofstream out(cfg.events_path(), std::ios::app);
    if (out) out << e.dump() << '\n';
    if (!cfg.notify_script.empty()) {
      util::SpawnOptions o;
      o.log = cfg.state_dir / "notify.log";
      auto pid =
          util::spawn_process({cfg.notify_script.string(), name, role_name(role), detail}, o);
      if (pid.ok()) {
        notify_children.push_back(*pid);
      } else {
        log->warn("ha: HA_NOTIFY_SCRIPT {} failed to start: {}", cfg.notify_script.string(),
                  pid.error().message);
      }
    }
    if (!cfg.webhook_url.empty()) post_webhook(e.dump());
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

  // ------------------------------------------------------------- failover record
  void begin_failover(const std::string& kind, const std::string& reason) {
    failover_t0 = Clock::now();
    failover = {{"kind", kind},  {"reason", reason},       {"started", utc_now_ms()},
                {"ok", nullptr}, {"steps", json::array()}, {"agent", cfg.name}};
    ++failovers;
  }
  void accept_command() {
    if (!current_command) return;
    current_command->set_value(json{{"accepted", true},
                                    {"kind", failover.value("kind", "")},
                                    {"started", failover.value("started", "")}});
    current_command.reset();
  }

  void step(const std::string& name, bool ok, const std::string& detail) {
    if (failover.is_null()) return;
    const auto ms = duration_cast<milliseconds>(Clock::now() - failover_t0).count();
    failover["steps"].push_back(
        {{"step", name}, {"ok", ok}, {"ms", ms}, {"time", utc_now_ms()}, {"detail", detail}});
    event(ok ? "step." + name : "step_failed." + name, detail);
    publish();  // `ha status` follows a takeover step by step
  }
  void end_failover(bool ok, const std::string& error = {}) {
    if (failover.is_null()) return;
    failover["ok"] = ok;
    if (!error.empty()) failover["error"] = error;
  }

  // ---------------------------------------------------------------- node access
  [[nodiscard]] fs::path node_socket() const { return node::control_socket_path(cfg.data_dir); }

  Result<json> node_request(const json& req, milliseconds timeout) {
    return node::control_request(node_socket(), req, timeout);
  }

  // Refreshes node_status; false when the node did not answer.
  bool refresh_node_status(milliseconds timeout) {
    auto s = node_request({{"cmd", "status"}}, timeout);
    if (!s.ok()) return false;
    node_status = std::move(*s);
    node_last_ok = Clock::now();
    if (node_status.contains("consensus") && node_status["consensus"].is_object()) {
      watermark = std::max(watermark, json_u64(node_status["consensus"], "last_signed_height"));
    }
    return true;
  }

  [[nodiscard]] std::uint64_t node_head() const {
    if (!node_status.contains("head")) return 0;
    return json_u64(node_status["head"], "number");
  }
  [[nodiscard]] std::uint64_t node_highest() const {
    std::uint64_t h = node_head();
    if (node_status.contains("sync"))
      h = std::max(h, node_head() + json_u64(node_status["sync"], "lag"));
    return h;
  }
  [[nodiscard]] bool node_in_sync() const { return node_status.value("in_sync", false); }

  // Issue #16, path 2: the node must refuse to sign without our permit. A node that does not (a
  // systemd unit whose command line ignores the agent's environment file, so it lacks
  // REQUIRE_SIGNING_PERMIT=1; an older binary that does not say) would sign from its start,
  // below the floor, and on after this agent died. Checked on the standby node, which runs the
  // same command line, before the validator key is installed, and on the validator's node.
  [[nodiscard]] bool node_enforces_permits() const {
    return node_status.value("signing_permit_required", false);
  }
  [[nodiscard]] std::string permit_not_enforced_message() const {
    return "the node (" + service->describe() +
           ") does not require a signing permit: it would sign without the lease. It must run "
           "with REQUIRE_SIGNING_PERMIT=1 — with HA_SERVICE=systemd the unit must read the "
           "agent's environment file (EnvironmentFile=, docs/HA.md) — and be a corecell that "
           "reports it (signing_permit_required in its status)";
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
  Status install_key(Identity which) {
    const auto& key = which == Identity::validator ? keys.validator : keys.standby;
    const auto& want = which == Identity::validator ? keys.validator_address : keys.standby_address;
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
  void drop_validator_key(const std::string& why) {
    auto on_disk = crypto::load_datadir_nodekey(cfg.data_dir);
    if (on_disk.ok() && on_disk->address != keys.validator_address) return;
    if (auto st = install_key(Identity::standby); !st.ok()) {
      event("validator_key_left",
            "DATA_DIR still holds the validator key (" + why + "): " + st.error().message);
      return;
    }
    log->info("ha {}: DATA_DIR/klay/nodekey is the standby key again ({})", cfg.name, why);
  }

  std::vector<std::string> overrides(Identity which) const {
    return {"PUBLIC_IP=" + (which == Identity::validator ? cfg.cell_ip : cfg.host_ip),
            "REQUIRE_SIGNING_PERMIT=1"};
  }

  Status start_node(Identity which) {
    CC_TRY_STATUS(install_key(which));
    CC_TRY_STATUS(service->start(overrides(which)));
    identity = which;
    node_started = Clock::now();
    node_last_ok = node_started;
    node_status = json::object();
    return {};
  }

  // Waits until the node answers on its control socket (or dies, or `timeout` passes), keeping
  // our lease renewed meanwhile when we hold one.
  Status wait_node_ready(milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    auto next_renew = Clock::now() + cfg.loop;
    while (Clock::now() < deadline) {
      if (refresh_node_status(200ms)) return {};
      auto st = service->poll();
      if (st.ok() && !st->running) {
        return make_error("ha.node_exited", "the node exited while starting (status " +
                                                std::to_string(st->exit_status.value_or(-1)) +
                                                "); see " + cfg.node_log_path().string());
      }
      if (grant && Clock::now() >= next_renew) {
        CC_TRY_STATUS(renew_lease());
        next_renew = Clock::now() + cfg.loop;
      }
      std::this_thread::sleep_for(20ms);
    }
    return make_error("ha.node_timeout", "the node did not answer on " + node_socket().string() +
                                             " within " + std::to_string(timeout.count()) +
                                             " ms; see " + cfg.node_log_path().string());
  }

  // ----------------------------------------------------------------- lease and permit
  // The watermark written is never below the ceiling: the node may sign up to the ceiling.
  Status renew_lease() {
    auto g = store->renew(cfg.name, grant->epoch, std::max(watermark, ceiling));
    if (!g.ok()) {
      ++renew_failures;
      lease_error = g.error().message;
      return g.error();
    }
    lease_error.clear();
    adopt_renewal(*g);
    return {};
  }

  // A renew's grant carries no watermark: keep what our acquire found (abort_takeover gives it
  // back as it was).
  void adopt_renewal(const LeaseGrant& renewed) {
    const LeaseGrant acquired = *grant;
    grant = renewed;
    grant->watermark = acquired.watermark;
    grant->watermark_exact = acquired.watermark_exact;
  }

  // The permit runs until the lease could expire, less the margin; an absolute deadline on the
  // host's boot clock, so neither a request delayed in a socket nor a suspend can stretch it.
  [[nodiscard]] std::optional<std::int64_t> permit_deadline_ms() const {
    const auto deadline = permit_deadline(*grant, cfg.permit_margin, Clock::now());
    if (!deadline) return std::nullopt;
    return util::boot_ms(*deadline);
  }

  Status send_permit(const char* cmd, std::optional<std::uint64_t> floor) {
    auto deadline = permit_deadline_ms();
    if (!deadline)
      return make_error("ha.permit", "the lease is too close to expiry to grant a permit");
    json req = {{"cmd", cmd},
                {"epoch", grant->epoch},
                {"deadline_boot_ms", *deadline},
                {"ceiling", ceiling}};
    if (floor) req["floor"] = *floor;
    auto r = node_request(req, 500ms);
    if (!r.ok()) return r.error();
    return {};
  }

  // SIGN-1 across a lost host: the node signs only up to its permit's ceiling, and a height
  // becomes the ceiling only once the lease store holds it as the watermark. So the stored
  // watermark bounds every height the active may have signed at, and a takeover after the lease
  // expired starts right above it — at the very height the council waits on, not one later
  // (which, when the lost validator was that height's proposer, cost a 10 s round change).
  // Heights are replicated when the node asks (a refused signature), not ahead of time, so a
  // host lost between blocks leaves the next height free for the new active.
  void raise_ceiling() {
    std::uint64_t wanted = 0;
    {
      std::lock_guard lock(mu);
      wanted = ceiling_wanted;
      ceiling_request_pending = false;
    }
    if (role != Role::active || !grant || wanted <= ceiling) return;
    auto g = store->renew(cfg.name, grant->epoch, std::max(watermark, wanted));
    if (!g.ok()) {  // the node keeps waiting (FAIL-CLOSED); the next tick retries or fences
      ++renew_failures;
      lease_error = g.error().message;
      log->warn("ha: replicating height #{} before the node may sign there: {}", wanted,
                g.error().message);
      return;
    }
    lease_error.clear();
    adopt_renewal(*g);
    ceiling = wanted;
    ceiling_granted.store(wanted);
    if (auto p = send_permit("permit_renew", std::nullopt); !p.ok()) {
      log->warn("ha: raising the node's signing ceiling to #{}: {}", wanted, p.error().message);
    }
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

  // Runs a step that may be slow (an IP mover's arping or cloud API, stopping a node) on a
  // worker thread while this loop keeps the lease renewed every HA_LOOP_MS; a failed renewal
  // fails the step once the work has ended (its thread is never abandoned).
  Status with_lease_kept(const std::function<Status()>& work) {
    auto done = std::async(std::launch::async, work);
    while (done.wait_for(cfg.loop) != std::future_status::ready) {
      if (auto r = renew_lease(); !r.ok()) {
        done.wait();
        return r.error().context("keeping the lease during the takeover");
      }
    }
    return done.get();
  }

  // ---------------------------------------------------------------- fencing
  // Stop signing now: revoke the permit, stop (or kill) the node, give the address and the lease
  // up. The watermark released is read from the node's signstate after it stopped: exact.
  void fence(const std::string& reason, bool kill_now) {
    ++fences;
    ceiling_poll_on.store(false);
    event("fence", reason);
    bool revoked = false;
    if (!kill_now) {
      revoked = node_request({{"cmd", "permit_revoke"}}, 300ms).ok();
      if (!revoked) kill_now = true;
    }
    auto st = kill_now ? service->kill() : service->stop(cfg.stop_grace);
    if (!st.ok()) log->error("ha: stopping the node: {}", st.error().message);
    identity = Identity::none;
    const bool gone = service_stopped();
    drop_validator_key("fenced");
    bool exact = false;
    auto ss = storage::load_sign_state(node::signstate_path(cfg.data_dir));
    if (ss.ok() && gone) {
      exact = true;
      if (*ss) watermark = std::max(watermark, (*ss)->max_height);
    }
    if (auto r = ip->release(); !r.ok()) event("ip_release_failed", r.error().message);
    if (grant) {
      std::string detail;
      switch (hand_lease_back(revoked, gone, exact, "", detail)) {
        case LeaseHandback::released:
          event("lease_released", detail);
          break;
        case LeaseHandback::left_to_expire:
          event("lease_left_to_expire", detail);
          break;
        case LeaseHandback::failed:
          event("lease_release_failed", detail);
          break;
      }
    }
    grant.reset();
    awaiting_in_sync = awaiting_first_seal = false;
    role = Role::fenced;
    standby_cooldown_until = Clock::now() + 2 * cfg.ttl;
  }

  // Issue #16, path 3: the lease goes back before its TTL only when the old node can no longer
  // sign — its permit revoked (the node answered) or its process confirmed gone. Otherwise (a
  // hung node, a kill that failed) it may still hold a permit that runs until shortly before the
  // lease expires: the lease is left to expire, so no standby acquires it while that permit is
  // valid. `detail` says what happened.
  enum class LeaseHandback { released, left_to_expire, failed };
  LeaseHandback hand_lease_back(bool permit_revoked, bool node_gone, bool exact,
                                const std::string& handover_to, std::string& detail) {
    if (!may_release_lease(permit_revoked, node_gone)) {
      detail = "left to expire (in " +
               std::to_string(std::max<std::int64_t>(
                   0, duration_cast<milliseconds>(grant->expires_at() - Clock::now()).count())) +
               " ms): the node could not be confirmed stopped and its permit was not revoked";
      return LeaseHandback::left_to_expire;
    }
    auto r = store->release(cfg.name, grant->epoch, watermark, exact, handover_to);
    if (!r.ok()) {
      detail = r.error().message;
      return LeaseHandback::failed;
    }
    detail =
        "watermark #" + std::to_string(watermark) + (exact ? " (exact)" : " (as last reported)");
    return LeaseHandback::released;
  }

  bool service_stopped() {
    auto st = service->poll();
    return st.ok() && !st->running;
  }

  // ---------------------------------------------------------------- takeover
  // The operator guide's failover, each step checked and recorded. The watermark the acquire
  // carries sets the signing floor.
  Status takeover(const std::string& kind, const std::string& reason) {
    begin_failover(kind, reason);
    accept_command();
    step("detect", true, reason);
    auto g = store->acquire(cfg.name, cfg.ttl);
    if (!g.ok()) {
      step("lease", false, g.error().message);
      end_failover(false, g.error().message);
      return g.error();
    }
    grant = *g;
    step("lease", true, "epoch " + std::to_string(grant->epoch));

    // The chain as a witness: no seal by the validator may have appeared since the lease was
    // seen free (a process signing without the lease would show here).
    if (identity == Identity::standby && witness_baseline) {
      auto last = validator_last_seal(8);
      if (last.ok() && *last && **last > *witness_baseline) {
        const std::string why = "block #" + std::to_string(**last) + " carries a seal by " +
                                validator_hex + " after the lease became free: it still signs";
        step("witness", false, why);
        witness_baseline = **last;
        abort_takeover(why);
        return make_error("ha.witness", why);
      }
    }
    step("witness", true, "no fresh seal by " + validator_hex);

    // SIGN-1 across the takeover: above every height the old holder may have signed at. Its
    // node signed only up to the ceiling its agent had replicated first (raise_ceiling), so the
    // stored watermark bounds them, whether the lease was released or expired. The watermark is
    // the one the acquire itself carried (issue #16, path 4), not the lease read up to a loop
    // earlier: another holder may have raised it in between.
    const std::uint64_t floor = takeover_floor(*grant);
    failover_floor = floor;
    ceiling = floor > 0 ? floor - 1 : 0;
    ceiling_granted.store(ceiling);
    {
      std::lock_guard lock(mu);
      ceiling_wanted = ceiling;
      ceiling_request_pending = false;
    }

    if (auto st = with_lease_kept([this] { return ip->acquire(); }); !st.ok()) {
      if (st.error().code != "ip.in_use") (void)ip->release();
      step("ip", false, st.error().message);
      abort_takeover(st.error().message);
      return st.error();
    }
    step("ip", true, ip->describe());
    if (auto st = with_lease_kept([this] { return service->stop(cfg.stop_grace); }); !st.ok()) {
      return fail_step("stop", st.error());
    }
    identity = Identity::none;
    step("stop", true, "standby node stopped");
    if (auto st = install_key(Identity::validator); !st.ok())
      return fail_step("nodekey", st.error());
    step("nodekey", true, validator_hex + " installed (0600)");
    if (auto st = service->start(overrides(Identity::validator)); !st.ok()) {
      return fail_step("start", st.error());
    }
    identity = Identity::validator;
    node_started = Clock::now();
    node_status = json::object();
    step("start", true, "node started on " + cfg.cell_ip);
    if (auto st = wait_node_ready(std::min(cfg.sync_timeout, milliseconds(30000))); !st.ok()) {
      return fail_step("permit", st.error());
    }
    if (!node_enforces_permits()) {
      event("node_permit_not_enforced", permit_not_enforced_message());
      return fail_step("permit",
                       make_error("ha.permit_not_enforced", permit_not_enforced_message()));
    }
    auto st = renew_lease();
    if (st.ok()) st = send_permit("permit_grant", floor);
    if (!st.ok()) return fail_step("permit", st.error());
    step("permit", true,
         "epoch " + std::to_string(grant->epoch) + ", signing from #" +
             std::to_string(std::max<std::uint64_t>(floor, 1)));
    role = Role::active;
    ceiling_poll_on.store(true);
    if (auto l = store->read(); l.ok()) lease = *l;  // status shows our holding, not the free lease
    event("role", "active (epoch " + std::to_string(grant->epoch) + ")");
    awaiting_in_sync = awaiting_first_seal = true;
    witness_baseline.reset();
    return {};
  }

  // A takeover step that failed once our node was being switched: it may be half-switched, so
  // fence (stop it, give the address and the lease up) and end the attempt.
  Status fail_step(const char* name, const Error& error) {
    step(name, false, error.message);
    fence("takeover failed: " + error.message, true);
    end_failover(false, error.message);
    return error;
  }

  // A takeover that failed before our node changed: hand the lease back untouched.
  // The watermark and exactness go back as the acquire found them.
  void abort_takeover(const std::string& why) {
    if (grant) {
      auto r = store->release(cfg.name, grant->epoch, grant->watermark, grant->watermark_exact, "");
      if (!r.ok()) log->warn("ha: giving the lease back: {}", r.error().message);
    }
    grant.reset();
    end_failover(false, why);
    standby_note = why;
    // Not again on the very next loop: each attempt takes an epoch and the cause (an address
    // still answering, a fresh seal) rarely clears that fast.
    next_takeover_at = Clock::now() + cfg.ttl;
  }

  // ---------------------------------------------------------------- per role
  void tick_standby() {
    // The node runs as a standby (own key, own address) whenever we are not active.
    auto st = service->poll();
    const bool running = st.ok() && st->running;
    if (!running || identity != Identity::standby) {
      if (paused) {  // maintenance: the operator may have stopped it on purpose
        standby_note = "paused: this host's node is not running and is not restarted";
        node_status = json::object();
        return;
      }
      if (Clock::now() < next_node_start) return;
      if (running) (void)service->stop(cfg.stop_grace);
      if (auto r = start_node(Identity::standby); !r.ok()) {
        event("node_start_failed", r.error().message);
        next_node_start = Clock::now() + 2s;
        return;
      }
      event("node_started",
            "standby " + crypto::to_checksum_hex(keys.standby_address) + " on " + cfg.host_ip);
    }
    if (refresh_node_status(300ms) && !node_enforces_permits()) {
      // Never a takeover with such a node: stopped, and started again (to look again, the
      // operator may have fixed the unit) only after a while.
      const std::string why = permit_not_enforced_message();
      event("node_permit_not_enforced", why);
      log->error("ha {}: {}", cfg.name, why);
      if (auto r = service->stop(cfg.stop_grace); !r.ok()) (void)service->kill();
      identity = Identity::none;
      node_status = json::object();
      next_node_start = Clock::now() + kPermitRecheck;
      standby_note = "refusing to take over: " + why;
      return;
    }
    StandbyView view;
    view.name = cfg.name;
    view.initial_active = cfg.initial_role == InitialRole::active;
    view.lease = lease;
    view.witness_baseline_known = witness_baseline.has_value();
    view.node_in_sync = node_in_sync();
    view.node_head = node_head();
    view.now = Clock::now();
    view.own_cooldown_until = standby_cooldown_until;
    view.next_attempt_at = next_takeover_at;
    auto d = decide_standby(view);
    if (d.action == StandbyAction::note_witness) {
      // Unknown until our node answers: no takeover without a baseline to witness against.
      auto last = validator_last_seal(8);
      if (!last.ok()) {
        standby_note = "waiting for this host's node to answer (seals)";
        return;
      }
      witness_baseline = *last ? **last : 0;
      view.witness_baseline_known = true;
      d = decide_standby(view);
    }
    if (d.forget_witness) witness_baseline.reset();
    if (d.action != StandbyAction::take_over) {
      if (!d.note.empty()) standby_note = d.note;
      return;
    }
    (void)takeover("automatic", d.reason);
  }

  void tick_active() {
    auto st = service->poll();
    ActiveNodeView nv;
    nv.paused = paused;
    if (st.ok() && !st->running) nv.exited_with = st->exit_status.value_or(-1);
    nv.answered = !nv.exited_with && refresh_node_status(std::min(cfg.loop, milliseconds(300)));
    nv.enforces_permits = !nv.answered || node_enforces_permits();
    nv.now = Clock::now();
    nv.last_answer = node_last_ok;
    nv.hung_after = cfg.node_hung_after;
    const ActiveNodeDecision nd = decide_active_node(nv);
    switch (nd.action) {
      case ActiveNodeAction::renew_only:
        standby_note = nd.reason;
        node_status = json::object();
        if (grant) (void)renew_lease();
        return;
      case ActiveNodeAction::fence_now: {
        std::string detail = nd.reason;
        std::string why = nd.reason;
        if (nd.event == "node_hung") {
          detail = "no answer on the control socket for " +
                   std::to_string(cfg.node_hung_after.count()) + " ms";
        } else if (nd.event == "node_permit_not_enforced") {
          detail = permit_not_enforced_message();
          why += ": " + detail;
        }
        event(nd.event, detail);
        fence(why, true);
        return;
      }
      case ActiveNodeAction::carry_on:
        if (nv.answered) note_progress();
        break;
    }
    const auto sent_at = Clock::now();
    auto r = renew_lease();
    const RenewalOutcome outcome = r.ok()                           ? RenewalOutcome::renewed
                                   : r.error().code == "lease.lost" ? RenewalOutcome::lost
                                                                    : RenewalOutcome::unavailable;
    const RenewalDecision rd =
        decide_after_renewal(outcome, sent_at, grant->expires_at(), cfg.loop, cfg.permit_margin);
    switch (rd.action) {
      case RenewalAction::renew_permit:
        raise_ceiling();  // a want the quick path could not serve (e.g. the store was slow)
        if (auto p = send_permit("permit_renew", std::nullopt); !p.ok()) {
          log->warn("ha: renewing the node's permit: {}", p.error().message);
        }
        return;
      case RenewalAction::keep_trying:
        return;
      case RenewalAction::fence:
        event(rd.event, r.error().message);
        fence((outcome == RenewalOutcome::lost ? "lease lost: " : "cannot prove the lease: ") +
                  r.error().message,
              false);
        return;
    }
  }

  // After a takeover: note when the node is in sync and when its first seal lands.
  void note_progress() {
    if (awaiting_in_sync && node_in_sync()) {
      awaiting_in_sync = false;
      step("in_sync", true, "head #" + std::to_string(node_head()));
    }
    if (awaiting_first_seal) {
      auto last = validator_last_seal(4);
      if (last.ok() && *last && **last >= std::max<std::uint64_t>(failover_floor, 1)) {
        awaiting_first_seal = false;
        step("first_seal", true, "block #" + std::to_string(**last));
        end_failover(true);
      }
    }
  }

  // --------------------------------------------------------- operator commands
  Result<json> do_failover() {
    if (role == Role::active) return make_error("ha.refused", cfg.name + " is already active");
    if (!lease) {
      return make_error("ha.refused", "the lease store is unreachable (" + lease_error +
                                          "): a failover without it could let two CNs sign");
    }
    if (lease->held) {
      return make_error(
          "ha.refused",
          "the lease is held by " + lease->holder + " (epoch " + std::to_string(lease->epoch) +
              ", " + std::to_string(lease->ttl_left.count()) +
              " ms left): the active is alive; run `corecell ha switchover` on it, or stop its "
              "agent, then retry");
    }
    if (!refresh_node_status(500ms)) {
      return make_error("ha.refused",
                        "this host's node does not answer on " + node_socket().string());
    }
    if (!node_in_sync()) {
      return make_error("ha.refused", "this host's node is not in sync (head #" +
                                          std::to_string(node_head()) + ", lag " +
                                          std::to_string(node_highest() - node_head()) + ")");
    }
    // The chain as a witness: the newest blocks must carry no seal by the validator.
    auto last = validator_last_seal(3);
    if (!last.ok()) return last.error();
    if (*last) {
      return make_error("ha.refused", "block #" + std::to_string(**last) + " (head #" +
                                          std::to_string(node_head()) + ") carries a seal by " +
                                          validator_hex +
                                          ": the old active may still be signing; retry once "
                                          "three blocks pass without its seal");
    }
    CC_TRY_STATUS(takeover("manual", "operator failover"));
    return failover;
  }

  Result<json> do_switchover() {
    if (role != Role::active || !grant) {
      return make_error("ha.refused", cfg.name + " is not active (role " + role_name(role) +
                                          "): run switchover on the active host");
    }
    begin_failover("switchover", "operator switchover (handing over)");
    accept_command();
    ceiling_poll_on.store(false);
    // The watermark handed over is exact only once the node is known to be gone: a revoke
    // that did not answer or a stop that did not end it means SIGKILL, and the lease is
    // released as exact only when the process is confirmed stopped (KEY-1, SIGN-1).
    const bool revoked = node_request({{"cmd", "permit_revoke"}}, 500ms).ok();
    step("revoke", revoked, revoked ? "permit revoked" : "the node did not answer: killing it");
    auto stopped = revoked ? service->stop(cfg.stop_grace) : service->kill();
    if (!stopped.ok() || !service_stopped()) stopped = service->kill();
    const bool gone = service_stopped();
    identity = Identity::none;
    node_status = json::object();
    drop_validator_key("handed over");
    auto ss = storage::load_sign_state(node::signstate_path(cfg.data_dir));
    if (ss.ok() && *ss) watermark = std::max(watermark, (*ss)->max_height);
    const bool exact = gone && ss.ok();
    step("stop", gone,
         gone ? "node stopped, watermark #" + std::to_string(watermark)
              : "the node may still run: " +
                    (stopped.ok() ? std::string("state unknown") : stopped.error().message));
    if (auto r = ip->release(); !r.ok()) {
      step("ip", false, r.error().message);
    } else {
      step("ip", true, "released " + cfg.cell_ip);
    }
    // Not exact (a stop we could not confirm): the stored watermark still bounds what the node
    // may sign (its ceiling). Neither revoked nor gone: the lease is left to expire.
    std::string detail;
    const bool released =
        hand_lease_back(revoked, gone, exact, "", detail) == LeaseHandback::released;
    step("lease", released, released ? "released with " + detail : detail);
    grant.reset();
    role = Role::fenced;
    standby_cooldown_until = Clock::now() + 2 * cfg.ttl;
    end_failover(released, released ? "" : detail);
    if (!released) return make_error("ha.lease_release", detail);
    return failover;
  }

  void run_commands() {
    std::deque<Command> todo;
    {
      std::lock_guard lock(mu);
      todo.swap(commands);
    }
    for (auto& c : todo) {
      current_command = c.done;
      Result<json> r = c.cmd == "failover" ? do_failover() : do_switchover();
      if (!r.ok()) event("refused." + c.cmd, r.error().message);
      if (current_command) current_command->set_value(std::move(r));
      current_command.reset();
      publish();
    }
  }

  // ---------------------------------------------------------------- status
  json build_status() const {
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
    s["lease_error"] = lease_error;
    s["lease_time_left_ms"] =
        grant ? duration_cast<milliseconds>(grant->expires_at() - Clock::now()).count() : 0;
    s["last_signed_height"] = watermark;
    s["signing_ceiling"] = ceiling;
    json n;
    n["identity"] = identity == Identity::validator ? "validator"
                    : identity == Identity::standby ? "standby"
                                                    : "none";
    n["head"] = node_head();
    n["in_sync"] = node_in_sync();
    n["lag"] = node_status.contains("sync") ? json_u64(node_status["sync"], "lag") : 0;
    n["permit"] = node_status.contains("consensus") && node_status["consensus"].is_object()
                      ? node_status["consensus"].value("permit", json(nullptr))
                      : json(nullptr);
    s["node"] = n;
    s["note"] = role == Role::active ? "" : standby_note;
    s["last_failover"] = failover;
    s["counters"] = {
        {"failovers", failovers}, {"fences", fences}, {"lease_renew_failures", renew_failures}};
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
    auto l = store->read();
    if (l.ok()) {
      lease = *l;
      lease_error.clear();
      if (paused != lease->paused) {
        paused = lease->paused;
        event(paused ? "paused" : "resumed", lease->paused_by);
      }
    } else {
      lease.reset();
      lease_error = l.error().message;
      standby_note = "lease store unreachable: " + lease_error;
    }
    run_commands();
    switch (role) {
      case Role::starting:
        if (lease && lease->held && lease->holder == cfg.name) {
          // A holding from our previous run: its node may still be signing until the permit
          // runs out, so wait for the lease to expire rather than reuse it.
          standby_note = "waiting for our previous run's lease to expire";
          return;
        }
        role = Role::standby;
        event("role", "standby");
        // A cell address left on this host by a run that died without fencing (linux mover):
        // a starting agent is not active, so it must not hold it.
        if (auto held = ip->held(); held.ok() && *held) {
          auto r = ip->release();
          event(r.ok() ? "ip_released" : "ip_release_failed",
                r.ok() ? "left over from the previous run" : r.error().message);
        }
        // Our previous run held the lease and this host crashed or restarted: prefer another
        // standby for the takeover.
        if (lease && lease->holder == cfg.name) standby_cooldown_until = Clock::now() + 2 * cfg.ttl;
        [[fallthrough]];
      case Role::standby:
        tick_standby();
        break;
      case Role::active:
        tick_active();
        break;
      case Role::fenced:
        role = Role::standby;
        event("role", "standby (after fencing)");
        tick_standby();
        break;
    }
  }

  void shutdown() {
    if (role == Role::active && grant) {
      event("shutdown", "handing the lease over (agent stopping)");
      (void)do_switchover();
    }
    (void)service->stop(cfg.stop_grace);
    drop_validator_key("agent stopping");
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
        self->commands.push_back(Command{cmd, done});
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
  a.drop_validator_key("agent starting: not active");  // e.g. left by a host that crashed active
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
