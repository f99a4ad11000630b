// ha/agent.h — owns the HA agent of one CN host: the operator guide's failover procedure as a
// loop that keeps exactly one CN of a cell signing (DESIGN.md: SIGN-1, KEY-1, FAIL-CLOSED). What
// to do is decided by ha/agent_core.h (AgentCore, a pure state machine); the Agent is its
// executor: it carries each Op out on this host and publishes what the core reports.
//   standby  runs the node with this host's own key on HA_HOST_IP (it syncs through the cell's
//            PNs and cannot sign); watches the lease and the chain; takes over when the lease is
//            free (released at once by an active whose node died, or expired) and the chain
//            shows no fresh seal by the validator since (the chain as a witness):
//              lease -> witness -> ip -> stop -> nodekey -> start -> permit (with a floor above
//              every height the old holder may have signed at) ... in_sync -> first_seal
//   active   renews the lease every HA_LOOP_MS with the node's watermark (replicated), then the
//            node's signing permit up to (lease expiry - HA_PERMIT_MARGIN_MS) as an absolute
//            CLOCK_BOOTTIME deadline; fences itself (revoke permit, stop node, release IP,
//            release lease with the exact watermark read from DATA_DIR/klay/signstate) when its
//            node dies or hangs, when the lease is lost, or when it cannot reach the store long
//            enough that the lease may expire.
//   fenced   transient: the node is stopped; the next step restarts it as a standby.
//   paused   the cell's pause flag is set (`corecell ha pause`): no automatic action; an active
//            keeps renewing (its node keeps signing) but nothing is failed over or restarted.
// Operator commands reach a running agent over a Unix socket in HA_STATE_DIR (status,
// failover, switchover); every step and role change is an event (log line, events.jsonl, the
// notify script, the webhook) and a metric.
//
// Threads: run() is the agent loop (cc-ha); the control socket and the metrics listener have
// threads of their own and only read a snapshot or queue a command for the loop.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "ha/config.h"
#include "util/result.h"

namespace cc::ha {

class Agent {
 public:
  // Loads the keys (decrypts the backup, checks both addresses against the council), builds the
  // lease store, IP mover and service control, and binds the control socket. Every
  // misconfiguration is an error here, before anything runs.
  [[nodiscard]] static Result<std::unique_ptr<Agent>> create(AgentConfig config);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Runs the loop until `stop` becomes true, then stops the node (an active releases the lease
  // with its exact watermark first, so the standby takes over at once).
  void run(const std::atomic<bool>& stop);

  // What `corecell ha status --json` shows (also the control socket's "status").
  [[nodiscard]] nlohmann::json status() const;

 private:
  struct Impl;
  explicit Agent(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The lease store an agent conf names (for `ha pause|resume|status` without a running agent).
[[nodiscard]] Result<std::unique_ptr<LeaseStore>> make_lease_store(const AgentConfig& config,
                                                                   const Address& validator);

// The status snapshot (what `corecell ha status --json` prints) of the agent guarding the node
// whose DATA_DIR is `data_dir`, asked on its control socket in the default HA_STATE_DIR
// (DATA_DIR/ha/agent.sock). Errors as node::control_request: control.unreachable when no agent
// runs there.
[[nodiscard]] Result<nlohmann::json> query_agent_status(const std::filesystem::path& data_dir,
                                                        std::chrono::milliseconds timeout);

}  // namespace cc::ha
