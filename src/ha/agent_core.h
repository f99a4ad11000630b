// ha/agent_core.h — owns the HA agent's whole decision state machine: the role, the lease it
// holds, the signing ceiling and floor, the takeover's steps, fencing, the hand-back, and the
// operator commands (failover, switchover), in the style of consensus/Core. Time and the results
// of what it asked for go in; the next operation comes out. It has no threads, sockets,
// processes, files or clocks: ha/agent.cpp is its executor on a real host (the node process,
// the lease store, the IP mover, events, metrics, status), tests/sim/ha_simulator.h another one
// (a model of etcd, nodes with the real SignGuard, injected boot clocks), and
// tests/unit/ha/agent_core_test.cpp drives it op by op in milliseconds.
//
// How it is driven: one program runs at a time (a tick, a ceiling raise, the shutdown). Each
// call that starts one — tick(), raise_ceiling(), shutdown() — returns its first Op; the
// executor carries the Op out and hands its result to done(), which returns the next Op, until
// an Op of kind `none` says the program ended. Ops marked `keeps_lease` may take long (an IP
// mover's cloud API, a node's stop, its start): meanwhile the executor renews the lease every
// HA_LOOP_MS through keepalive()/keepalive_done(), and a failed renewal fails the Op.
//
// The rules (the pure ones in ha/decisions.h), each where the program decides it:
//   tick      read the lease (FAIL-CLOSED: nothing is decided on a lease the store did not
//             show), run queued operator commands, then per role:
//   starting  wait while our previous run's holding is alive (its node may sign until its permit
//             lapses); then standby, releasing a cell address a crashed run left here
//   standby   keep the node running with the standby key; stop a node that does not require a
//             permit (issue #16, path 2) and look again after HA_PERMIT_RECHECK; take over when
//             decide_standby says so:
//   takeover  acquire -> witness (no fresh seal by the validator since the lease was seen free)
//             -> ip -> stop -> nodekey -> start -> ready -> the node must enforce permits ->
//             renew -> permit (floor = the acquire's watermark + 1, issue #16 path 4; ceiling =
//             floor - 1) -> active. A step failing before the node changed gives the lease back
//             as acquired; after, the host fences.
//   active    decide_active_node (exited / hung / signs without a permit -> fence; no ready
//             peer and no new head for HA_ISOLATED_MS -> hand over), then renew and
//             decide_after_renewal (renew the permit, granting it again to a node restarted
//             outside the agent / keep trying / fence)
//   ceiling   a height the node asks for is written to the lease (the watermark) before the
//             node's permit covers it: the stored watermark bounds every height signed
//   fence     revoke (or kill), stop, drop the validator key, read the signed height, release
//             the address, hand the lease back only when the permit was revoked or the node is
//             confirmed gone (issue #16, path 3), else let it expire; cool down for 2 x TTL
//   commands  failover (a standby, the lease free, its node in sync, no recent seal by the
//             validator) and switchover (the active fences itself with an exact watermark)
//   shutdown  an active hands over (switchover) first; the node stops; the validator key goes
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ha/lease.h"
#include "util/result.h"

namespace cc::ha {

struct AgentCoreConfig {
  std::string name;  // HA_NAME: the lease holder's name
  bool initial_active = false;
  std::chrono::milliseconds ttl{10000};
  std::chrono::milliseconds loop{1000};
  std::chrono::milliseconds permit_margin{2000};
  std::chrono::milliseconds node_hung_after{8000};
  std::chrono::milliseconds isolated_after{0};  // HA_ISOLATED_MS (0: never hand over for it)
  std::chrono::milliseconds node_ready_timeout{30000};  // a starting validator node must answer
  std::chrono::milliseconds node_restart_backoff{2000};
  std::chrono::milliseconds permit_recheck{30000};  // a node that signs without a permit
};

enum class AgentRole { starting, standby, active, fenced };
[[nodiscard]] const char* role_name(AgentRole role);

// Which key the node was last started with.
enum class NodeIdentity { none, standby, validator };

enum class OpKind {
  none,                // the program ended
  read_lease,          // -> lease | error
  acquire_lease,       // -> grant | error
  renew_lease,         // epoch, watermark -> grant | error (lease.lost, lease.unavailable)
  release_lease,       // epoch, watermark, exact, handover_to -> ok | error
  poll_node,           // -> node: the process (running, exit status) and, when it runs, its
                       //    control socket's status (answered, in sync, head, enforces permits)
  install_key,         // identity: DATA_DIR/klay/nodekey, checked to read back as meant
  start_node,          // identity: start the service as that identity (keeps_lease)
  stop_node,           // graceful stop (keeps_lease) -> node.running after it
  kill_node,           // SIGKILL -> node.running after it
  wait_node_ready,     // until its control socket answers (keeps_lease) -> node | error
  revoke_permit,       // ok = the node answered and dropped its permit
  grant_permit,        // epoch, floor, deadline, ceiling
  renew_permit,        // epoch, deadline, ceiling
  read_seal,           // depth: the validator's newest seal among the last `depth` blocks
                       //    -> height (none: no seal) | error
  read_sign_state,     // the signed height in DATA_DIR/klay/signstate -> height | error
  drop_validator_key,  // detail = why: DATA_DIR/klay/nodekey becomes the standby key again
  acquire_ip,          // (keeps_lease) -> ok | error (ip.in_use)
  release_ip,          // only_if_held -> ok | error; changed = an address was released
  answer_command,      // command_id, answer: the operator's command's verdict or its timeline
};
[[nodiscard]] const char* op_name(OpKind kind);

// The verdict of an operator command: accepted (its checks passed; the timeline follows in the
// status), done (ok or not), or refused (`error`).
struct CommandAnswer {
  bool accepted = false;
  bool ok = false;
  std::optional<Error> error;
};

struct Op {
  OpKind kind = OpKind::none;
  bool keeps_lease = false;
  NodeIdentity identity = NodeIdentity::none;
  std::uint64_t epoch = 0;
  std::uint64_t watermark = 0;
  bool watermark_exact = false;
  std::string handover_to;
  std::optional<std::uint64_t> floor;
  std::uint64_t ceiling = 0;
  LeaseClock::time_point deadline{};  // permits: on the host's boot clock
  std::uint64_t depth = 0;
  bool only_if_held = false;
  std::uint64_t command_id = 0;
  CommandAnswer answer;
  std::string detail;
};

// What the executor saw of its node.
struct NodeReport {
  bool running = false;
  std::optional<int> exit_status;  // not running: how it ended (-1 unknown)
  bool answered = false;           // its control socket answered
  bool in_sync = false;
  std::uint64_t head = 0;
  std::uint64_t lag = 0;
  bool enforces_permits = false;  // it reports signing_permit_required
  std::uint64_t last_signed_height = 0;
  std::optional<std::uint64_t> ready_peers;  // peers past the status exchange (none: unknown)
};

struct OpResult {
  Status status;  // ok, or the error
  std::optional<LeaseState> lease;
  std::optional<LeaseGrant> grant;
  NodeReport node;
  std::optional<std::uint64_t> height;  // read_seal, read_sign_state (none: nothing)
  bool changed = false;                 // release_ip
  std::string detail;                   // what the executor did, for the step's record
  [[nodiscard]] static OpResult ok() { return {}; }
  [[nodiscard]] static OpResult failed(Error e) {
    OpResult r;
    r.status = std::move(e);
    return r;
  }
};

// What the core reports as it goes: the executor logs, counts and publishes these.
struct CoreNote {
  enum class Kind {
    event,           // name, detail: an agent event (log, events.jsonl, notify, webhook, metric)
    failover_begin,  // name = kind (automatic | manual | switchover), detail = reason
    step,            // name = step, ok, detail (also an event "step.<name>" / "step_failed.<name>")
    failover_end,    // ok, detail = error
    warning,         // detail: worth a log line, not an event
  };
  Kind kind = Kind::event;
  std::string name;
  bool ok = true;
  std::string detail;
};

enum class CommandKind { failover, switchover };

class AgentCore {
 public:
  explicit AgentCore(AgentCoreConfig config);
  ~AgentCore();
  AgentCore(const AgentCore&) = delete;
  AgentCore& operator=(const AgentCore&) = delete;

  // Starts a program; each returns its first Op. Precondition: !busy().
  [[nodiscard]] Op tick(LeaseClock::time_point now);
  // The node asked to sign at `wanted` (its SignGuard's wanted_height): replicate, then grant.
  // `none` when there is nothing to do (not active, nothing new).
  [[nodiscard]] Op raise_ceiling(std::uint64_t wanted, LeaseClock::time_point now);
  [[nodiscard]] Op shutdown(LeaseClock::time_point now);
  // The result of the Op last returned; the next Op (`none`: the program ended).
  [[nodiscard]] Op done(const OpResult& result, LeaseClock::time_point now);
  [[nodiscard]] bool busy() const;

  // During an Op that keeps_lease: the renewal due at `now` (none when not due or no lease),
  // and its outcome. A failed keepalive fails the Op it ran beside.
  [[nodiscard]] std::optional<Op> keepalive(LeaseClock::time_point now);
  void keepalive_done(const OpResult& result, LeaseClock::time_point now);
  // True once a keepalive failed during the current Op (the executor may cut a wait short).
  [[nodiscard]] bool keepalive_failed() const;

  // Queued for the next tick; its answers come as answer_command Ops with this id.
  void queue_command(std::uint64_t id, CommandKind kind);

  [[nodiscard]] std::vector<CoreNote> take_notes();

  // ---- the state, for the executor's status and metrics ----
  [[nodiscard]] AgentRole role() const;
  [[nodiscard]] bool paused() const;
  [[nodiscard]] NodeIdentity identity() const;
  [[nodiscard]] const std::optional<LeaseGrant>& grant() const;
  [[nodiscard]] const std::optional<LeaseState>& lease() const;
  [[nodiscard]] const std::string& lease_error() const;
  [[nodiscard]] std::uint64_t watermark() const;
  [[nodiscard]] std::uint64_t ceiling() const;
  [[nodiscard]] const std::string& note() const;  // why a standby is not taking over now
  [[nodiscard]] const NodeReport& node() const;
  [[nodiscard]] std::uint64_t failovers() const;
  [[nodiscard]] std::uint64_t fences() const;
  [[nodiscard]] std::uint64_t renew_failures() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cc::ha
