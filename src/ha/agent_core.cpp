#include "ha/agent_core.h"

#include <algorithm>
#include <coroutine>
#include <deque>
#include <exception>
#include <utility>

#include "ha/decisions.h"

namespace cc::ha {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;
using Time = LeaseClock::time_point;

// A program of the core: a C++20 coroutine that asks for one Op at a time (co_await ask(op))
// and may run sub-programs (co_await sub()). Nothing runs between a suspension and the next
// done(): the executor drives it, so it stays a plain state machine — its state is the
// coroutine frames plus Impl's members — with no thread, clock or I/O of its own.
class Program {
 public:
  struct promise_type {
    std::coroutine_handle<> parent;  // the program that awaits this one (none: the top)
    Program get_return_object() {
      return Program(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    struct Final {
      bool await_ready() noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
        auto parent = h.promise().parent;
        return parent ? parent : std::noop_coroutine();
      }
      void await_resume() noexcept {}
    };
    Final final_suspend() noexcept { return {}; }
    void return_void() {}
    void unhandled_exception() { std::terminate(); }
  };

  Program() = default;
  explicit Program(std::coroutine_handle<promise_type> h) : h_(h) {}
  Program(Program&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  Program& operator=(Program&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  Program(const Program&) = delete;
  Program& operator=(const Program&) = delete;
  ~Program() { reset(); }

  [[nodiscard]] bool running() const { return h_ && !h_.done(); }
  void start() { h_.resume(); }
  void reset() {
    if (h_) h_.destroy();
    h_ = {};
  }

  // co_await sub_program(): run it to its end, then continue here.
  bool await_ready() const noexcept { return !h_ || h_.done(); }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> parent) noexcept {
    h_.promise().parent = parent;
    return h_;
  }
  void await_resume() const noexcept {}

 private:
  std::coroutine_handle<promise_type> h_;
};

const char* command_name(CommandKind k) {
  return k == CommandKind::failover ? "failover" : "switchover";
}

// Issue #16, path 2 (see AgentCore's header): what an operator must fix.
const std::string kPermitNotEnforced =
    "the node does not require a signing permit: it would sign without the lease. It must run "
    "with REQUIRE_SIGNING_PERMIT=1 — with HA_SERVICE=systemd the unit must read the agent's "
    "environment file (EnvironmentFile=, docs/HA.md) — and be a corecell that reports it "
    "(signing_permit_required in its status)";

}  // namespace

const char* role_name(AgentRole r) {
  switch (r) {
    case AgentRole::starting:
      return "starting";
    case AgentRole::standby:
      return "standby";
    case AgentRole::active:
      return "active";
    case AgentRole::fenced:
      return "fenced";
  }
  return "?";
}

const char* op_name(OpKind k) {
  switch (k) {
    case OpKind::none:
      return "none";
    case OpKind::read_lease:
      return "read_lease";
    case OpKind::acquire_lease:
      return "acquire_lease";
    case OpKind::renew_lease:
      return "renew_lease";
    case OpKind::release_lease:
      return "release_lease";
    case OpKind::poll_node:
      return "poll_node";
    case OpKind::install_key:
      return "install_key";
    case OpKind::start_node:
      return "start_node";
    case OpKind::stop_node:
      return "stop_node";
    case OpKind::kill_node:
      return "kill_node";
    case OpKind::wait_node_ready:
      return "wait_node_ready";
    case OpKind::revoke_permit:
      return "revoke_permit";
    case OpKind::grant_permit:
      return "grant_permit";
    case OpKind::renew_permit:
      return "renew_permit";
    case OpKind::read_seal:
      return "read_seal";
    case OpKind::read_sign_state:
      return "read_sign_state";
    case OpKind::drop_validator_key:
      return "drop_validator_key";
    case OpKind::acquire_ip:
      return "acquire_ip";
    case OpKind::release_ip:
      return "release_ip";
    case OpKind::answer_command:
      return "answer_command";
  }
  return "?";
}

struct AgentCore::Impl {
  explicit Impl(AgentCoreConfig c) : cfg(std::move(c)) {}

  AgentCoreConfig cfg;
  Time now{};

  // ---- the driver: the running program, the Op it waits on, that Op's result ----
  Program top;
  std::coroutine_handle<> waiting;
  Op pending;
  OpResult result;
  bool in_keeps_lease_op = false;
  Time next_keepalive_at{};
  std::optional<Error> keepalive_error;
  std::vector<CoreNote> notes;

  // ---- the agent's state ----
  AgentRole role = AgentRole::starting;
  bool paused = false;
  bool start_key_dropped = false;
  NodeIdentity identity = NodeIdentity::none;
  std::optional<LeaseGrant> grant;  // while active (and during a takeover)
  std::optional<LeaseState> lease;  // last read
  std::string lease_error;          // last store error ("" when the last access worked)
  std::uint64_t watermark = 0;      // highest height our node reported signing at
  std::uint64_t ceiling = 0;        // highest height the node's permit covers (replicated)
  std::uint64_t ceiling_wanted = 0;
  NodeReport node;  // the last answer of our node's control socket
  Time node_last_ok{};
  // Issue #17, item 3: since when the active's node has had no ready peer and no new head.
  std::optional<Time> isolated_since;
  std::uint64_t isolated_head = 0;
  Time next_node_start{};  // restart backoff
  Time standby_cooldown_until{};
  Time next_takeover_at{};                        // after a failed takeover attempt
  std::optional<std::uint64_t> witness_baseline;  // validator's last seal when the lease was free
  std::string note;
  std::uint64_t failovers = 0;
  std::uint64_t fences = 0;
  std::uint64_t renew_failures = 0;
  std::deque<std::pair<std::uint64_t, CommandKind>> commands;
  std::optional<std::uint64_t> current_command;  // answered "accepted" once its checks pass
  bool has_failover = false;                     // a failover was begun (its record takes steps)
  std::uint64_t failover_floor = 0;
  bool awaiting_in_sync = false;
  bool awaiting_first_seal = false;

  // ------------------------------------------------------------------ driving
  struct Ask {
    Impl* self;
    Op op;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
      self->in_keeps_lease_op = op.keeps_lease;
      self->keepalive_error.reset();
      self->next_keepalive_at = self->now + self->cfg.loop;
      self->pending = std::move(op);
      self->waiting = h;
    }
    OpResult await_resume() const { return self->result; }
  };
  Ask ask(Op op) { return Ask{this, std::move(op)}; }
  Ask ask(OpKind kind) {
    Op op;
    op.kind = kind;
    return ask(std::move(op));
  }

  Op start(Program p, Time t) {
    now = t;
    top = std::move(p);
    top.start();
    return next_op();
  }
  Op next_op() {
    if (!top.running()) {
      top.reset();
      waiting = {};
      in_keeps_lease_op = false;
      return Op{};
    }
    return pending;
  }
  Op resume(const OpResult& r, Time t) {
    now = t;
    result = r;
    // A renewal that failed while a long Op ran fails that Op (the old with_lease_kept).
    if (in_keeps_lease_op && keepalive_error && result.status.ok()) {
      result.status = keepalive_error->context("keeping the lease during the takeover");
    }
    in_keeps_lease_op = false;
    auto h = std::exchange(waiting, {});
    if (h) h.resume();
    return next_op();
  }

  // ------------------------------------------------------------------ notes
  void event(std::string name, std::string detail) {
    notes.push_back(CoreNote{CoreNote::Kind::event, std::move(name), true, std::move(detail)});
  }
  void warning(std::string detail) {
    notes.push_back(CoreNote{CoreNote::Kind::warning, "", false, std::move(detail)});
  }
  void begin_failover(const std::string& kind, const std::string& reason) {
    has_failover = true;
    ++failovers;
    notes.push_back(CoreNote{CoreNote::Kind::failover_begin, kind, true, reason});
  }
  void step(const std::string& name, bool ok, const std::string& detail) {
    if (!has_failover) return;
    notes.push_back(CoreNote{CoreNote::Kind::step, name, ok, detail});
  }
  void end_failover(bool ok, const std::string& error = {}) {
    if (!has_failover) return;
    notes.push_back(CoreNote{CoreNote::Kind::failover_end, "", ok, error});
  }

  // Our node answered: what it says, and the highest height it signed.
  void absorb(const NodeReport& r) {
    if (!r.answered) return;
    node = r;
    node_last_ok = now;
    watermark = std::max(watermark, r.last_signed_height);
  }

  // A renew's grant carries no watermark: keep what our acquire found (abort_takeover gives it
  // back as it was).
  void adopt_renewal(const LeaseGrant& renewed) {
    const LeaseGrant acquired = *grant;
    grant = renewed;
    grant->watermark = acquired.watermark;
    grant->watermark_exact = acquired.watermark_exact;
  }

  // The validator's newest seal among the last `depth` blocks (the chain as a witness).
  static Op read_seal(std::uint64_t depth) {
    Op op;
    op.kind = OpKind::read_seal;
    op.depth = depth;
    return op;
  }

  Op renew_op(std::uint64_t wm) const {
    Op op;
    op.kind = OpKind::renew_lease;
    op.epoch = grant->epoch;
    op.watermark = wm;
    return op;
  }

  // ------------------------------------------------------------------ lease and permit
  // The watermark written is never below the ceiling: the node may sign up to the ceiling.
  Program renew_lease(Status* out) {
    const OpResult r = co_await ask(renew_op(std::max(watermark, ceiling)));
    *out = renewal_taken(r);
  }
  Status renewal_taken(const OpResult& r) {
    if (r.status.ok() && !r.grant) {
      ++renew_failures;
      lease_error = "the lease store's renewal carried no grant";
      return make_error("lease.unavailable", lease_error);
    }
    if (!r.status.ok()) {
      ++renew_failures;
      lease_error = r.status.error().message;
      return r.status.error();
    }
    lease_error.clear();
    adopt_renewal(*r.grant);
    return {};
  }

  // The permit runs until the lease could expire, less the margin: an absolute deadline on the
  // host's boot clock, so neither a request delayed in a socket nor a suspend can stretch it.
  Program send_permit(OpKind kind, std::optional<std::uint64_t> floor, Status* out) {
    const auto deadline = permit_deadline(*grant, cfg.permit_margin, now);
    if (!deadline) {
      *out = make_error("ha.permit", "the lease is too close to expiry to grant a permit");
      co_return;
    }
    Op op;
    op.kind = kind;
    op.epoch = grant->epoch;
    op.deadline = *deadline;
    op.ceiling = ceiling;
    op.floor = floor;
    const OpResult r = co_await ask(std::move(op));
    *out = r.status;
  }

  // SIGN-1 across a lost host: the node signs only up to its permit's ceiling, and a height
  // becomes the ceiling only once the lease store holds it as the watermark. So the stored
  // watermark bounds every height the active may have signed at, and a takeover after the lease
  // expired starts right above it — at the very height the council waits on. Heights are
  // replicated when the node asks, not ahead of time, so a host lost between blocks leaves the
  // next height free for the new active.
  Program replicate_ceiling() {
    const std::uint64_t wanted = ceiling_wanted;
    if (role != AgentRole::active || !grant || wanted <= ceiling) co_return;
    const Time sent_at = now;
    const OpResult r = co_await ask(renew_op(std::max(watermark, wanted)));
    if (auto st = renewal_taken(r); !st.ok()) {  // the node keeps waiting (FAIL-CLOSED)
      warning("replicating height #" + std::to_string(wanted) +
              " before the node may sign there: " + st.error().message);
      // A failed write is a failed renewal: the same rule decides whether to fence now.
      co_await after_failed_renewal(st.error(), sent_at);
      co_return;
    }
    ceiling = wanted;
    co_await renew_node_permit("raising the node's signing ceiling to #" + std::to_string(wanted));
  }

  // The node's permit extended to the lease's new expiry (and the ceiling). A node that says it
  // has no permit, or one of another epoch, was restarted outside the agent (systemctl restart,
  // an OOM kill and Restart=): it gets the permit granted again — without one it would never
  // sign while this host keeps the lease (found by the HA simulator). No floor: its own sign
  // state, or the floor a node without one sets itself, bounds it.
  Program renew_node_permit(std::string what) {
    Status st;
    co_await send_permit(OpKind::renew_permit, std::nullopt, &st);
    if (st.ok()) co_return;
    const std::string& code = st.error().code;
    if (code != "sign.no_permit" && code != "sign.permit_mismatch") {
      warning(what + ": " + st.error().message);
      co_return;
    }
    event("permit_regranted", "the node has no permit for epoch " + std::to_string(grant->epoch) +
                                  " (restarted outside the agent?): granting it again");
    co_await send_permit(OpKind::grant_permit, std::nullopt, &st);
    if (!st.ok()) warning(what + ": granting the permit again: " + st.error().message);
  }

  // A renewal the store did not confirm: fence when the lease may be lost or may expire before
  // the next attempt (decide_after_renewal), else keep trying.
  Program after_failed_renewal(Error error, Time sent_at) {
    const RenewalOutcome outcome =
        error.code == "lease.lost" ? RenewalOutcome::lost : RenewalOutcome::unavailable;
    const RenewalDecision rd = decide_after_renewal(outcome, sent_at, now, grant->expires_at(),
                                                    cfg.loop, cfg.permit_margin);
    if (rd.action != RenewalAction::fence) co_return;
    event(rd.event, error.message);
    co_await fence((outcome == RenewalOutcome::lost ? "lease lost: " : "cannot prove the lease: ") +
                       error.message,
                   false);
  }

  // ------------------------------------------------------------------ fencing
  // Issue #16, path 3: the lease goes back before its TTL only when the old node can no longer
  // sign — its permit revoked (the node answered) or its process confirmed gone. Otherwise (a
  // hung node, a kill that failed) it may still hold a permit that runs until shortly before the
  // lease expires: the lease is left to expire, so no standby acquires it while that permit is
  // valid.
  enum class Handback { released, left_to_expire, failed };
  Program hand_lease_back(bool revoked, bool gone, bool exact, Handback* out, std::string* detail) {
    if (!may_release_lease(revoked, gone)) {
      *detail = "left to expire (in " +
                std::to_string(std::max<std::int64_t>(
                    0, duration_cast<milliseconds>(grant->expires_at() - now).count())) +
                " ms): the node could not be confirmed stopped and its permit was not revoked";
      *out = Handback::left_to_expire;
      co_return;
    }
    Op op;
    op.kind = OpKind::release_lease;
    op.epoch = grant->epoch;
    op.watermark = watermark;
    op.watermark_exact = exact;
    const OpResult r = co_await ask(std::move(op));
    if (!r.status.ok()) {
      *detail = r.status.error().message;
      *out = Handback::failed;
      co_return;
    }
    *detail =
        "watermark #" + std::to_string(watermark) + (exact ? " (exact)" : " (as last reported)");
    *out = Handback::released;
  }

  // Stop signing now: revoke the permit, stop (or kill) the node, give the address and the lease
  // up. The watermark released is read from the node's signstate after it stopped: exact.
  Program fence(std::string reason, bool kill_now) {
    ++fences;
    event("fence", reason);
    bool revoked = false;
    if (!kill_now) {
      const OpResult r = co_await ask(OpKind::revoke_permit);
      revoked = r.status.ok();
      if (!revoked) kill_now = true;
    }
    const OpResult stopped = co_await ask(kill_now ? OpKind::kill_node : OpKind::stop_node);
    if (!stopped.status.ok()) warning("stopping the node: " + stopped.status.error().message);
    identity = NodeIdentity::none;
    const bool gone = !stopped.node.running;
    co_await drop_validator_key("fenced");
    bool exact = false;
    const OpResult ss = co_await ask(OpKind::read_sign_state);
    if (ss.status.ok() && gone) {
      exact = true;
      if (ss.height) watermark = std::max(watermark, *ss.height);
    }
    if (const OpResult ip = co_await ask(OpKind::release_ip); !ip.status.ok()) {
      event("ip_release_failed", ip.status.error().message);
    }
    if (grant) {
      Handback outcome = Handback::failed;
      std::string detail;
      co_await hand_lease_back(revoked, gone, exact, &outcome, &detail);
      switch (outcome) {
        case Handback::released:
          event("lease_released", detail);
          break;
        case Handback::left_to_expire:
          event("lease_left_to_expire", detail);
          break;
        case Handback::failed:
          event("lease_release_failed", detail);
          break;
      }
    }
    grant.reset();
    awaiting_in_sync = awaiting_first_seal = false;
    role = AgentRole::fenced;
    standby_cooldown_until = now + 2 * cfg.ttl;
  }

  // Issue #16, path 6: a host that is not active keeps the validator key only in its encrypted
  // backup; the executor rewrites DATA_DIR/klay/nodekey as the standby key.
  Program drop_validator_key(std::string why) {
    Op op;
    op.kind = OpKind::drop_validator_key;
    op.detail = why;
    const OpResult r = co_await ask(std::move(op));
    if (!r.status.ok()) {
      event("validator_key_left",
            "DATA_DIR still holds the validator key (" + why + "): " + r.status.error().message);
    }
  }

  // ------------------------------------------------------------------ commands
  Program accept_command() {
    if (!current_command) co_return;
    Op op;
    op.kind = OpKind::answer_command;
    op.command_id = *current_command;
    op.answer.accepted = true;
    op.answer.ok = true;
    current_command.reset();
    (void)co_await ask(std::move(op));
  }

  Program answer(std::uint64_t id, const Status& st) {
    Op op;
    op.kind = OpKind::answer_command;
    op.command_id = id;
    op.answer.ok = st.ok();
    if (!st.ok()) op.answer.error = st.error();
    (void)co_await ask(std::move(op));
  }

  Program run_commands() {
    while (!commands.empty()) {
      const auto [id, kind] = commands.front();
      commands.pop_front();
      current_command = id;
      Status st;
      if (kind == CommandKind::failover) {
        co_await do_failover(&st);
      } else {
        co_await do_switchover(&st);
      }
      if (!st.ok()) event(std::string("refused.") + command_name(kind), st.error().message);
      if (current_command) {
        current_command.reset();
        co_await answer(id, st);
      }
    }
  }

  Program do_failover(Status* out) {
    if (role == AgentRole::active) {
      *out = make_error("ha.refused", cfg.name + " is already active");
      co_return;
    }
    if (!lease) {
      *out = make_error("ha.refused", "the lease store is unreachable (" + lease_error +
                                          "): a failover without it could let two CNs sign");
      co_return;
    }
    if (lease->held) {
      *out = make_error(
          "ha.refused",
          "the lease is held by " + lease->holder + " (epoch " + std::to_string(lease->epoch) +
              ", " + std::to_string(lease->ttl_left.count()) +
              " ms left): the active is alive; run `corecell ha switchover` on it, or stop its "
              "agent, then retry");
      co_return;
    }
    const OpResult polled = co_await ask(OpKind::poll_node);
    if (!polled.node.answered) {
      *out = make_error("ha.refused", "this host's node does not answer on its control socket");
      co_return;
    }
    absorb(polled.node);
    if (!node.in_sync) {
      *out = make_error("ha.refused", "this host's node is not in sync (head #" +
                                          std::to_string(node.head) + ", lag " +
                                          std::to_string(node.lag) + ")");
      co_return;
    }
    // Issue #16, path 2, for the operator's command too (found by the HA simulator: the check
    // after the validator's node started came after its first signatures).
    if (!node.enforces_permits) {
      event("node_permit_not_enforced", kPermitNotEnforced);
      *out = make_error("ha.refused",
                        "refusing to make this host the validator: " + kPermitNotEnforced);
      co_return;
    }
    // The chain as a witness: the newest blocks must carry no seal by the validator.
    const OpResult last = co_await ask(read_seal(3));
    if (!last.status.ok()) {
      *out = last.status;
      co_return;
    }
    if (last.height) {
      *out = make_error("ha.refused", "block #" + std::to_string(*last.height) + " (head #" +
                                          std::to_string(node.head) +
                                          ") carries a seal by the validator: the old active may "
                                          "still be signing; retry once three blocks pass "
                                          "without its seal");
      co_return;
    }
    co_await takeover("manual", "operator failover", out);
  }

  Program do_switchover(Status* out) {
    if (role != AgentRole::active || !grant) {
      *out = make_error("ha.refused", cfg.name + " is not active (role " + role_name(role) +
                                          "): run switchover on the active host");
      co_return;
    }
    begin_failover("switchover", "operator switchover (handing over)");
    co_await accept_command();
    // The watermark handed over is exact only once the node is known to be gone: a revoke
    // that did not answer or a stop that did not end it means SIGKILL, and the lease is
    // released as exact only when the process is confirmed stopped (KEY-1, SIGN-1).
    const bool revoked = (co_await ask(OpKind::revoke_permit)).status.ok();
    step("revoke", revoked, revoked ? "permit revoked" : "the node did not answer: killing it");
    OpResult stopped = co_await ask(revoked ? OpKind::stop_node : OpKind::kill_node);
    if (!stopped.status.ok() || stopped.node.running) stopped = co_await ask(OpKind::kill_node);
    const bool gone = !stopped.node.running;
    identity = NodeIdentity::none;
    node = NodeReport{};
    co_await drop_validator_key("handed over");
    const OpResult ss = co_await ask(OpKind::read_sign_state);
    if (ss.status.ok() && ss.height) watermark = std::max(watermark, *ss.height);
    const bool exact = gone && ss.status.ok();
    step("stop", gone,
         gone
             ? "node stopped, watermark #" + std::to_string(watermark)
             : "the node may still run: " + (stopped.status.ok() ? std::string("state unknown")
                                                                 : stopped.status.error().message));
    const OpResult ip = co_await ask(OpKind::release_ip);
    step("ip", ip.status.ok(), ip.status.ok() ? ip.detail : ip.status.error().message);
    // Not exact (a stop we could not confirm): the stored watermark still bounds what the node
    // may sign (its ceiling). Neither revoked nor gone: the lease is left to expire.
    Handback outcome = Handback::failed;
    std::string detail;
    co_await hand_lease_back(revoked, gone, exact, &outcome, &detail);
    const bool released = outcome == Handback::released;
    step("lease", released, released ? "released with " + detail : detail);
    grant.reset();
    role = AgentRole::fenced;
    standby_cooldown_until = now + 2 * cfg.ttl;
    end_failover(released, released ? "" : detail);
    if (!released) *out = make_error("ha.lease_release", detail);
  }

  // ------------------------------------------------------------------ takeover
  // The operator guide's failover, each step checked and recorded. The watermark the acquire
  // carries sets the signing floor.
  Program takeover(std::string kind, std::string reason, Status* out) {
    begin_failover(kind, reason);
    co_await accept_command();
    step("detect", true, reason);
    const OpResult g = co_await ask(OpKind::acquire_lease);
    if (!g.status.ok() || !g.grant) {
      const Error e =
          g.status.ok() ? make_error("lease.unavailable", "no grant") : g.status.error();
      step("lease", false, e.message);
      end_failover(false, e.message);
      *out = e;
      co_return;
    }
    grant = *g.grant;
    step("lease", true, "epoch " + std::to_string(grant->epoch));

    // The chain as a witness: no seal by the validator may have appeared since the lease was
    // seen free (a process signing without the lease would show here).
    if (identity == NodeIdentity::standby && witness_baseline) {
      const OpResult last = co_await ask(read_seal(8));
      if (last.status.ok() && last.height && *last.height > *witness_baseline) {
        const std::string why = "block #" + std::to_string(*last.height) +
                                " carries a seal by the validator after the lease became free: "
                                "it still signs";
        step("witness", false, why);
        witness_baseline = *last.height;
        co_await abort_takeover(why);
        *out = make_error("ha.witness", why);
        co_return;
      }
    }
    step("witness", true, "no fresh seal by the validator");

    // SIGN-1 across the takeover: above every height the old holder may have signed at (issue
    // #16, path 4: the watermark the acquire itself carried, not the lease read a loop earlier).
    const std::uint64_t floor = takeover_floor(*grant);
    failover_floor = floor;
    ceiling = floor > 0 ? floor - 1 : 0;
    ceiling_wanted = ceiling;

    Op ip;
    ip.kind = OpKind::acquire_ip;
    ip.keeps_lease = true;
    const OpResult ipr = co_await ask(std::move(ip));
    if (!ipr.status.ok()) {
      if (ipr.status.error().code != "ip.in_use") (void)co_await ask(OpKind::release_ip);
      step("ip", false, ipr.status.error().message);
      co_await abort_takeover(ipr.status.error().message);
      *out = ipr.status;
      co_return;
    }
    step("ip", true, ipr.detail);
    Op stop;
    stop.kind = OpKind::stop_node;
    stop.keeps_lease = true;
    if (const OpResult r = co_await ask(std::move(stop)); !r.status.ok()) {
      co_await fail_step("stop", r.status.error(), out);
      co_return;
    }
    identity = NodeIdentity::none;
    step("stop", true, "standby node stopped");
    Op key;
    key.kind = OpKind::install_key;
    key.identity = NodeIdentity::validator;
    if (const OpResult r = co_await ask(std::move(key)); !r.status.ok()) {
      co_await fail_step("nodekey", r.status.error(), out);
      co_return;
    }
    step("nodekey", true, "validator key installed (0600)");
    Op start;
    start.kind = OpKind::start_node;
    start.identity = NodeIdentity::validator;
    const OpResult started = co_await ask(std::move(start));
    if (!started.status.ok()) {
      co_await fail_step("start", started.status.error(), out);
      co_return;
    }
    identity = NodeIdentity::validator;
    node = NodeReport{};
    node_last_ok = now;
    step("start", true, started.detail.empty() ? "node started" : started.detail);
    Op ready;
    ready.kind = OpKind::wait_node_ready;
    ready.keeps_lease = true;
    const OpResult answered = co_await ask(std::move(ready));
    if (!answered.status.ok()) {
      co_await fail_step("permit", answered.status.error(), out);
      co_return;
    }
    absorb(answered.node);
    if (!answered.node.enforces_permits) {
      event("node_permit_not_enforced", kPermitNotEnforced);
      co_await fail_step("permit", make_error("ha.permit_not_enforced", kPermitNotEnforced), out);
      co_return;
    }
    Status st;
    co_await renew_lease(&st);
    if (st.ok()) co_await send_permit(OpKind::grant_permit, floor, &st);
    if (!st.ok()) {
      co_await fail_step("permit", st.error(), out);
      co_return;
    }
    step("permit", true,
         "epoch " + std::to_string(grant->epoch) + ", signing from #" +
             std::to_string(std::max<std::uint64_t>(floor, 1)));
    role = AgentRole::active;
    if (const OpResult l = co_await ask(OpKind::read_lease); l.status.ok() && l.lease) {
      lease = *l.lease;  // the status shows our holding, not the free lease
    }
    event("role", "active (epoch " + std::to_string(grant->epoch) + ")");
    awaiting_in_sync = awaiting_first_seal = true;
    witness_baseline.reset();
    isolated_since.reset();
    *out = {};
  }

  // A takeover step that failed once our node was being switched: it may be half-switched, so
  // fence (stop it, give the address and the lease up) and end the attempt.
  Program fail_step(std::string name, Error error, Status* out) {
    step(name, false, error.message);
    co_await fence("takeover failed: " + error.message, true);
    end_failover(false, error.message);
    *out = error;
  }

  // A takeover that failed before our node changed: hand the lease back untouched (the
  // watermark and exactness as the acquire found them).
  Program abort_takeover(std::string why) {
    if (grant) {
      Op op;
      op.kind = OpKind::release_lease;
      op.epoch = grant->epoch;
      op.watermark = grant->watermark;
      op.watermark_exact = grant->watermark_exact;
      const OpResult r = co_await ask(std::move(op));
      if (!r.status.ok()) warning("giving the lease back: " + r.status.error().message);
    }
    grant.reset();
    end_failover(false, why);
    note = why;
    // Not again on the very next loop: each attempt takes an epoch and the cause (an address
    // still answering, a fresh seal) rarely clears that fast.
    next_takeover_at = now + cfg.ttl;
  }

  // ------------------------------------------------------------------ per role
  Program tick_program() {
    if (!start_key_dropped) {  // e.g. left by a host that crashed while active
      start_key_dropped = true;
      co_await drop_validator_key("agent starting: not active");
    }
    const OpResult l = co_await ask(OpKind::read_lease);
    if (l.status.ok() && l.lease) {
      lease = *l.lease;
      lease_error.clear();
      if (paused != lease->paused) {
        paused = lease->paused;
        event(paused ? "paused" : "resumed", lease->paused_by);
      }
    } else {
      lease.reset();
      lease_error = l.status.ok() ? "no lease in the answer" : l.status.error().message;
      note = "lease store unreachable: " + lease_error;
    }
    co_await run_commands();
    switch (role) {
      case AgentRole::starting: {
        if (lease && lease->held && lease->holder == cfg.name) {
          // A holding from our previous run: its node may still be signing until the permit
          // runs out, so wait for the lease to expire rather than reuse it.
          note = "waiting for our previous run's lease to expire";
          co_return;
        }
        role = AgentRole::standby;
        event("role", "standby");
        // A cell address left on this host by a run that died without fencing: a starting
        // agent is not active, so it must not hold it.
        Op ip;
        ip.kind = OpKind::release_ip;
        ip.only_if_held = true;
        const OpResult r = co_await ask(std::move(ip));
        if (!r.status.ok()) {
          event("ip_release_failed", r.status.error().message);
        } else if (r.changed) {
          event("ip_released", "left over from the previous run");
        }
        // Our previous run held the lease and this host crashed or restarted: prefer another
        // standby for the takeover.
        if (lease && lease->holder == cfg.name) standby_cooldown_until = now + 2 * cfg.ttl;
        co_await tick_standby();
        break;
      }
      case AgentRole::standby:
        co_await tick_standby();
        break;
      case AgentRole::active:
        co_await tick_active();
        break;
      case AgentRole::fenced:
        role = AgentRole::standby;
        event("role", "standby (after fencing)");
        co_await tick_standby();
        break;
    }
  }

  Program tick_standby() {
    // The node runs as a standby (own key, own address) whenever we are not active.
    OpResult polled = co_await ask(OpKind::poll_node);
    const bool running = polled.status.ok() && polled.node.running;
    if (!running || identity != NodeIdentity::standby) {
      if (paused) {  // maintenance: the operator may have stopped it on purpose
        note = "paused: this host's node is not running and is not restarted";
        node = NodeReport{};
        co_return;
      }
      if (now < next_node_start) co_return;
      if (running) (void)co_await ask(OpKind::stop_node);
      Op key;
      key.kind = OpKind::install_key;
      key.identity = NodeIdentity::standby;
      OpResult r = co_await ask(std::move(key));
      if (r.status.ok()) {
        Op start;
        start.kind = OpKind::start_node;
        start.identity = NodeIdentity::standby;
        r = co_await ask(std::move(start));
      }
      if (!r.status.ok()) {
        event("node_start_failed", r.status.error().message);
        next_node_start = now + cfg.node_restart_backoff;
        co_return;
      }
      identity = NodeIdentity::standby;
      node = NodeReport{};
      node_last_ok = now;
      event("node_started", r.detail.empty() ? "standby" : r.detail);
      polled = co_await ask(OpKind::poll_node);
    }
    absorb(polled.node);
    if (polled.node.answered && !polled.node.enforces_permits) {
      // Issue #16, path 2: never a takeover with such a node: stopped, and started again (to
      // look again, the operator may have fixed the unit) only after a while.
      event("node_permit_not_enforced", kPermitNotEnforced);
      if (const OpResult r = co_await ask(OpKind::stop_node); !r.status.ok() || r.node.running) {
        (void)co_await ask(OpKind::kill_node);
      }
      identity = NodeIdentity::none;
      node = NodeReport{};
      next_node_start = now + cfg.permit_recheck;
      note = "refusing to take over: " + kPermitNotEnforced;
      co_return;
    }
    StandbyView view;
    view.name = cfg.name;
    view.initial_active = cfg.initial_active;
    view.lease = lease;
    view.witness_baseline_known = witness_baseline.has_value();
    view.node_in_sync = node.in_sync;
    view.node_head = node.head;
    view.now = now;
    view.own_cooldown_until = standby_cooldown_until;
    view.next_attempt_at = next_takeover_at;
    auto d = decide_standby(view);
    if (d.action == StandbyAction::note_witness) {
      // Unknown until our node answers: no takeover without a baseline to witness against.
      const OpResult last = co_await ask(read_seal(8));
      if (!last.status.ok()) {
        note = "waiting for this host's node to answer (seals)";
        co_return;
      }
      witness_baseline = last.height.value_or(0);
      view.witness_baseline_known = true;
      d = decide_standby(view);
    }
    if (d.forget_witness) witness_baseline.reset();
    if (d.action != StandbyAction::take_over) {
      if (!d.note.empty()) note = d.note;
      co_return;
    }
    Status st;
    co_await takeover("automatic", d.reason, &st);
  }

  Program tick_active() {
    const OpResult polled = co_await ask(OpKind::poll_node);
    ActiveNodeView nv;
    nv.paused = paused;
    if (polled.status.ok() && !polled.node.running) {
      nv.exited_with = polled.node.exit_status.value_or(-1);
    }
    nv.answered = !nv.exited_with && polled.node.answered;
    absorb(polled.node);
    nv.enforces_permits = !nv.answered || polled.node.enforces_permits;
    nv.now = now;
    nv.last_answer = node_last_ok;
    nv.hung_after = cfg.node_hung_after;
    if (nv.answered) note_isolation(polled.node);
    nv.isolated_since = isolated_since;
    nv.isolated_after = cfg.isolated_after;
    const ActiveNodeDecision nd = decide_active_node(nv);
    switch (nd.action) {
      case ActiveNodeAction::renew_only: {
        note = nd.reason;
        node = NodeReport{};
        Status st;
        if (grant) co_await renew_lease(&st);
        co_return;
      }
      case ActiveNodeAction::fence_now: {
        std::string detail = nd.reason;
        std::string why = nd.reason;
        if (nd.event == "node_hung") {
          detail = "no answer on the control socket for " +
                   std::to_string(cfg.node_hung_after.count()) + " ms";
        } else if (nd.event == "node_permit_not_enforced") {
          detail = kPermitNotEnforced;
          why += ": " + detail;
        }
        event(nd.event, detail);
        co_await fence(why, true);
        co_return;
      }
      case ActiveNodeAction::hand_over:
        event(nd.event, nd.reason);
        co_await fence(nd.reason, false);  // revoke, stop, release: the standby takes over
        co_return;
      case ActiveNodeAction::carry_on:
        if (nv.answered) co_await note_progress();
        break;
    }
    const Time sent_at = now;
    Status st;
    co_await renew_lease(&st);
    if (!st.ok()) {
      co_await after_failed_renewal(st.error(), sent_at);
      co_return;
    }
    co_await replicate_ceiling();  // a want the quick path could not serve
    if (role == AgentRole::active && grant)
      co_await renew_node_permit("renewing the node's permit");
  }

  // Cut off = no ready peer and the same head since `isolated_since`; any peer or a new head
  // ends it. Unknown peer counts never start it.
  void note_isolation(const NodeReport& r) {
    if (!r.ready_peers || *r.ready_peers > 0 || r.head != isolated_head) {
      isolated_head = r.head;
      isolated_since.reset();
      if (r.ready_peers && *r.ready_peers == 0) isolated_since = now;
      return;
    }
    if (!isolated_since) isolated_since = now;
  }

  // After a takeover: note when the node is in sync and when its first seal lands.
  Program note_progress() {
    if (awaiting_in_sync && node.in_sync) {
      awaiting_in_sync = false;
      step("in_sync", true, "head #" + std::to_string(node.head));
    }
    if (awaiting_first_seal) {
      const OpResult last = co_await ask(read_seal(4));
      if (last.status.ok() && last.height &&
          *last.height >= std::max<std::uint64_t>(failover_floor, 1)) {
        awaiting_first_seal = false;
        step("first_seal", true, "block #" + std::to_string(*last.height));
        end_failover(true);
      }
    }
  }

  Program shutdown_program() {
    if (role == AgentRole::active && grant) {
      event("shutdown", "handing the lease over (agent stopping)");
      Status st;
      co_await do_switchover(&st);
    }
    (void)co_await ask(OpKind::stop_node);
    co_await drop_validator_key("agent stopping");
  }
};

AgentCore::AgentCore(AgentCoreConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}
AgentCore::~AgentCore() = default;

Op AgentCore::tick(LeaseClock::time_point now) { return impl_->start(impl_->tick_program(), now); }

Op AgentCore::raise_ceiling(std::uint64_t wanted, LeaseClock::time_point now) {
  impl_->ceiling_wanted = std::max(impl_->ceiling_wanted, wanted);
  return impl_->start(impl_->replicate_ceiling(), now);
}

Op AgentCore::shutdown(LeaseClock::time_point now) {
  return impl_->start(impl_->shutdown_program(), now);
}

Op AgentCore::done(const OpResult& result, LeaseClock::time_point now) {
  return impl_->resume(result, now);
}

bool AgentCore::busy() const { return impl_->top.running(); }

std::optional<Op> AgentCore::keepalive(LeaseClock::time_point now) {
  Impl& a = *impl_;
  if (!a.in_keeps_lease_op || !a.grant || a.keepalive_error || now < a.next_keepalive_at) {
    return std::nullopt;
  }
  a.next_keepalive_at = now + a.cfg.loop;
  return a.renew_op(std::max(a.watermark, a.ceiling));
}

void AgentCore::keepalive_done(const OpResult& result, LeaseClock::time_point now) {
  Impl& a = *impl_;
  a.now = now;
  if (!a.grant) return;
  if (auto st = a.renewal_taken(result); !st.ok()) a.keepalive_error = st.error();
}

bool AgentCore::keepalive_failed() const { return impl_->keepalive_error.has_value(); }

void AgentCore::queue_command(std::uint64_t id, CommandKind kind) {
  impl_->commands.emplace_back(id, kind);
}

std::vector<CoreNote> AgentCore::take_notes() { return std::exchange(impl_->notes, {}); }

AgentRole AgentCore::role() const { return impl_->role; }
bool AgentCore::paused() const { return impl_->paused; }
NodeIdentity AgentCore::identity() const { return impl_->identity; }
const std::optional<LeaseGrant>& AgentCore::grant() const { return impl_->grant; }
const std::optional<LeaseState>& AgentCore::lease() const { return impl_->lease; }
const std::string& AgentCore::lease_error() const { return impl_->lease_error; }
std::uint64_t AgentCore::watermark() const { return impl_->watermark; }
std::uint64_t AgentCore::ceiling() const { return impl_->ceiling; }
const std::string& AgentCore::note() const { return impl_->note; }
const NodeReport& AgentCore::node() const { return impl_->node; }
std::uint64_t AgentCore::failovers() const { return impl_->failovers; }
std::uint64_t AgentCore::fences() const { return impl_->fences; }
std::uint64_t AgentCore::renew_failures() const { return impl_->renew_failures; }

}  // namespace cc::ha
