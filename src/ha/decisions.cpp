#include "ha/decisions.h"

namespace cc::ha {

StandbyDecision decide_standby(const StandbyView& v) {
  StandbyDecision d;
  // FAIL-CLOSED: never act on a lease the store did not show us.
  if (!v.lease) return d;
  const LeaseState& lease = *v.lease;
  if (lease.paused) {
    d.note = "paused";
    return d;
  }
  if (lease.held) {
    d.note = "lease held by " + lease.holder;
    d.forget_witness = true;
    return d;
  }
  if (lease.epoch == 0 && !v.initial_active) {
    d.note = "the lease was never held: waiting for the initial active (or `ha failover`)";
    return d;
  }
  if (!lease.handover_to.empty() && lease.handover_to != v.name) {
    d.note = "handed over to " + lease.handover_to;
    return d;
  }
  // A host that just gave the lease up (fenced, handed over, or restarted after a crash) leaves
  // its own last holding to another standby for a while; another host's lease it takes at once.
  if (v.now < v.own_cooldown_until && lease.holder == v.name) {
    d.note = "gave the lease up recently: leaving it to another standby for a while";
    return d;
  }
  if (!v.node_in_sync) {
    d.note = "not in sync (head #" + std::to_string(v.node_head) + ")";
    return d;
  }
  // The chain as a witness: no takeover without the validator's newest seal noted while the
  // lease is free (a seal newer than it means some process still signs). Noted only once our
  // node is in sync: a node still importing would note an old seal, and the seals it imports
  // next (made before the lease was free) would abort the takeover for nothing.
  if (!v.witness_baseline_known) {
    d.action = StandbyAction::note_witness;
    return d;
  }
  if (v.now < v.next_attempt_at) return d;  // the last attempt failed moments ago
  d.action = StandbyAction::take_over;
  if (lease.epoch == 0) {
    d.reason = "initial activation";
  } else if (lease.handover_to == v.name) {
    d.reason = "switchover from " + lease.holder;
  } else if (lease.watermark_exact) {
    d.reason = "lease released by " + lease.holder;
  } else {
    d.reason = "lease of " + lease.holder + " expired";
  }
  return d;
}

ActiveNodeDecision decide_active_node(const ActiveNodeView& v) {
  ActiveNodeDecision d;
  if (v.exited_with) {
    const std::string why = "node exited (status " + std::to_string(*v.exited_with) + ")";
    if (v.paused) {
      d.action = ActiveNodeAction::renew_only;
      d.reason = "paused: " + why + "; not failing over";
      return d;
    }
    d.action = ActiveNodeAction::fence_now;
    d.event = "node_exited";
    d.reason = why;
    return d;
  }
  if (!v.answered) {
    if (v.now - v.last_answer > v.hung_after && !v.paused) {
      d.action = ActiveNodeAction::fence_now;
      d.event = "node_hung";
      d.reason = "node unresponsive";
    }
    return d;
  }
  // Issue #16, path 2: a node that signs without a permit is never left running as the validator.
  if (!v.enforces_permits) {
    d.action = ActiveNodeAction::fence_now;
    d.event = "node_permit_not_enforced";
    d.reason = "node signs without a permit";
    return d;
  }
  // Issue #17, item 3: an active cut off from its peers neither seals nor follows the chain,
  // while it keeps the lease. Hysteresis: no ready peer at all AND no new head for the whole
  // HA_ISOLATED_MS (one slow block, one lost peer never count). Not while paused.
  if (v.isolated_since && v.isolated_after.count() > 0 && !v.paused &&
      v.now - *v.isolated_since >= v.isolated_after) {
    d.action = ActiveNodeAction::hand_over;
    d.event = "node_isolated";
    d.reason = "node cut off: no ready peer and no new block for " +
               std::to_string(
                   std::chrono::duration_cast<std::chrono::milliseconds>(v.now - *v.isolated_since)
                       .count()) +
               " ms";
  }
  return d;
}

RenewalDecision decide_after_renewal(RenewalOutcome outcome, LeaseClock::time_point sent_at,
                                     LeaseClock::time_point returned_at,
                                     LeaseClock::time_point expires_at,
                                     std::chrono::milliseconds loop,
                                     std::chrono::milliseconds permit_margin) {
  RenewalDecision d;
  switch (outcome) {
    case RenewalOutcome::renewed:
      d.action = RenewalAction::renew_permit;
      return d;
    case RenewalOutcome::lost:
      d.action = RenewalAction::fence;
      d.event = "lease_lost";
      return d;
    case RenewalOutcome::unavailable:
      // We cannot prove the lease: stop before it could expire elsewhere (KEY-1). The next
      // attempt is a loop away and then takes a read and a renewal, each as slow as this failed
      // call may have been (a store that times out); by then less than the permit margin may
      // be left.
      const auto call = std::max(returned_at - sent_at, LeaseClock::duration::zero());
      if (returned_at + loop + 2 * call + permit_margin >= expires_at) {
        d.action = RenewalAction::fence;
        d.event = "lease_unreachable";
      } else {
        d.action = RenewalAction::keep_trying;
      }
      return d;
  }
  return d;
}

std::optional<LeaseClock::time_point> permit_deadline(const LeaseGrant& grant,
                                                      std::chrono::milliseconds permit_margin,
                                                      LeaseClock::time_point now) {
  const auto deadline = grant.expires_at() - permit_margin;
  if (deadline <= now) return std::nullopt;
  return deadline;
}

}  // namespace cc::ha
