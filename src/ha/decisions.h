// ha/decisions.h — owns the HA agent's decision rules as pure functions: what it knows (the lease
// as read, its node's state, the time) in, what to do out. No threads, sockets, processes, files
// or clocks: the agent's state machine (ha/agent_core.h) gathers the views, calls these, and
// asks its executor to carry the verdicts out, so every rule is unit-tested in milliseconds
// (tests/unit/ha/decisions_test.cpp). The rules, each named where it is decided:
//   standby  takes over only from a lease it could read, that is free, not paused, not handed to
//            another host, not its own recent holding (cooldown), with its node in sync and a
//            witness baseline noted once in sync, and never more often than its retry backoff; a
//            lease never held only with HA_INITIAL_ROLE=active
//   active   fences at once when its node exited (unless paused), stopped answering for
//            HA_NODE_HUNG_MS (unless paused) or signs without a permit; hands over when its
//            node has had no ready peer and no new head for HA_ISOLATED_MS; after a renew attempt:
//            renewed -> renew the node's permit; lease.lost -> fence (revoke first); the store
//            unreachable -> fence (revoke first) once less than one loop, two calls as slow as
//            the failed one and the permit margin of the lease is left
//   release  the lease goes back before its TTL only when the node's permit was revoked or its
//            process is confirmed gone (issue #16, path 3)
//   floor    a takeover signs from the watermark its acquire carried + 1 (issue #16, path 4)
//   permit   the deadline is the lease's expiry less the permit margin, none once that is past
// ha/agent_core.h is the state machine built on them (the takeover's steps, fencing, the
// commands); ha/agent.cpp executes it on a host, tests/sim/ha_simulator.h in a simulation.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "ha/lease.h"

namespace cc::ha {

// ---- standby -------------------------------------------------------------------------------

struct StandbyView {
  std::string name;                     // HA_NAME
  bool initial_active = false;          // HA_INITIAL_ROLE=active
  std::optional<LeaseState> lease;      // as read this loop; none: the store did not answer
  bool witness_baseline_known = false;  // the validator's newest seal was noted since free
  bool node_in_sync = false;
  std::uint64_t node_head = 0;
  LeaseClock::time_point now{};
  LeaseClock::time_point own_cooldown_until{};  // after this host gave the lease up
  LeaseClock::time_point next_attempt_at{};     // after a failed takeover attempt
};

enum class StandbyAction {
  wait,          // nothing to do now (`note` says why, when there is something to say)
  note_witness,  // note the validator's newest seal first, then decide again
  take_over,     // `reason` says why the lease may be taken
};

struct StandbyDecision {
  StandbyAction action = StandbyAction::wait;
  std::string note;             // for the status ("" keeps the last note)
  std::string reason;           // take_over: the failover's reason
  bool forget_witness = false;  // the lease is held again: a later free lease needs a new one
};

[[nodiscard]] StandbyDecision decide_standby(const StandbyView& view);

// ---- active --------------------------------------------------------------------------------

struct ActiveNodeView {
  bool paused = false;
  std::optional<int> exited_with;  // the node's process ended (its exit status; -1 unknown)
  bool answered = false;           // its control socket answered this loop
  bool enforces_permits = true;    // it reports signing_permit_required
  LeaseClock::time_point now{};
  LeaseClock::time_point last_answer{};
  std::chrono::milliseconds hung_after{0};  // HA_NODE_HUNG_MS
  // Issue #17, item 3: since when the node has had no ready peer and its head has not moved
  // (none: it has a peer or its head moved this loop, or the executor cannot tell).
  std::optional<LeaseClock::time_point> isolated_since;
  std::chrono::milliseconds isolated_after{0};  // HA_ISOLATED_MS (0: never)
};

enum class ActiveNodeAction {
  carry_on,    // renew the lease and the permit as usual
  renew_only,  // paused with the node gone: keep the lease, fail nothing over
  fence_now,   // revoke nothing (the node cannot answer or must not be trusted): kill
  hand_over,   // the node answers but cannot serve (cut off from its peers): fence gracefully
};

struct ActiveNodeDecision {
  ActiveNodeAction action = ActiveNodeAction::carry_on;
  std::string event;   // the agent event to record ("" none)
  std::string reason;  // fence_now: why; renew_only: the status note
};

[[nodiscard]] ActiveNodeDecision decide_active_node(const ActiveNodeView& view);

enum class RenewalOutcome { renewed, lost, unavailable };

enum class RenewalAction {
  renew_permit,  // the lease is ours for another TTL: extend the node's permit
  keep_trying,   // the store did not answer, but the lease cannot have expired yet
  fence,         // revoke the permit, stop the node, give the lease up (or let it expire)
};

struct RenewalDecision {
  RenewalAction action = RenewalAction::renew_permit;
  std::string event;  // lease_lost | lease_unreachable | ""
};

// `sent_at`, `returned_at`: when the renew was sent and when its answer (or its failure) came;
// `expires_at`: the lease's expiry by the last grant.
[[nodiscard]] RenewalDecision decide_after_renewal(RenewalOutcome outcome,
                                                   LeaseClock::time_point sent_at,
                                                   LeaseClock::time_point returned_at,
                                                   LeaseClock::time_point expires_at,
                                                   std::chrono::milliseconds loop,
                                                   std::chrono::milliseconds permit_margin);

// ---- release, floor, permit ----------------------------------------------------------------

// Issue #16, path 3: may the lease be released before its TTL after the node was stopped?
[[nodiscard]] constexpr bool may_release_lease(bool permit_revoked, bool node_gone) {
  return permit_revoked || node_gone;
}

// Issue #16, path 4: the lowest height a takeover may sign at — above every height the previous
// holder may have signed at, which its agent replicated before letting its node sign there.
[[nodiscard]] constexpr std::uint64_t takeover_floor(const LeaseGrant& acquired) {
  return acquired.watermark + 1;
}

// The signing permit's deadline for a grant: the lease's expiry less the margin; none when that
// is not after `now` (a permit that could never be used is not granted).
[[nodiscard]] std::optional<LeaseClock::time_point> permit_deadline(
    const LeaseGrant& grant, std::chrono::milliseconds permit_margin, LeaseClock::time_point now);

}  // namespace cc::ha
