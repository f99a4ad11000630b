// Specification of the HA agent's decision rules (ha/decisions.h): pure functions, so each rule
// is one case here with the time as an input — when a standby takes over and why, when an
// active fences, when it keeps trying, when a lease may go back before its TTL, the takeover's
// floor and the permit's deadline.
#include "ha/decisions.h"

#include <gtest/gtest.h>

#include <chrono>

namespace cc::ha {
namespace {

using namespace std::chrono_literals;

LeaseClock::time_point at(std::int64_t ms) {
  return LeaseClock::time_point(std::chrono::milliseconds(1'000'000 + ms));
}

// A standby of "cn-b" in sync, with its witness noted, looking at a lease "cn-a" released.
StandbyView free_lease_view() {
  StandbyView v;
  v.name = "cn-b";
  LeaseState l;
  l.held = false;
  l.holder = "cn-a";
  l.epoch = 4;
  l.watermark = 120;
  l.watermark_exact = true;
  v.lease = l;
  v.witness_baseline_known = true;
  v.node_in_sync = true;
  v.node_head = 120;
  v.now = at(0);
  return v;
}

TEST(HaDecideStandby, TakesAReleasedLeaseNamingItsHolder) {
  const auto d = decide_standby(free_lease_view());
  EXPECT_EQ(d.action, StandbyAction::take_over);
  EXPECT_EQ(d.reason, "lease released by cn-a");
}

TEST(HaDecideStandby, AnExpiredLeaseIsTakenAsExpired) {
  auto v = free_lease_view();
  v.lease->watermark_exact = false;
  EXPECT_EQ(decide_standby(v).reason, "lease of cn-a expired");
}

TEST(HaDecideStandby, NeverActsOnALeaseItCouldNotRead) {
  auto v = free_lease_view();
  v.lease.reset();
  const auto d = decide_standby(v);
  EXPECT_EQ(d.action, StandbyAction::wait);
  EXPECT_EQ(d.note, "");  // the store's error is the note
}

TEST(HaDecideStandby, AHeldLeaseIsLeftAloneAndTheWitnessForgotten) {
  auto v = free_lease_view();
  v.lease->held = true;
  const auto d = decide_standby(v);
  EXPECT_EQ(d.action, StandbyAction::wait);
  EXPECT_TRUE(d.forget_witness);
  EXPECT_EQ(d.note, "lease held by cn-a");
}

TEST(HaDecideStandby, APausedCellIsNeverTakenOver) {
  auto v = free_lease_view();
  v.lease->paused = true;
  EXPECT_EQ(decide_standby(v).action, StandbyAction::wait);
  EXPECT_EQ(decide_standby(v).note, "paused");
}

TEST(HaDecideStandby, NotesTheWitnessBeforeAnyTakeover) {
  auto v = free_lease_view();
  v.witness_baseline_known = false;
  EXPECT_EQ(decide_standby(v).action, StandbyAction::note_witness);
}

// A node still importing would note an old seal as the baseline, and the seals it imports next
// (made before the lease was free) would abort the takeover (found by the HA simulator).
TEST(HaDecideStandby, NotesTheWitnessOnlyOnceItsNodeIsInSync) {
  auto v = free_lease_view();
  v.witness_baseline_known = false;
  v.node_in_sync = false;
  EXPECT_EQ(decide_standby(v).action, StandbyAction::wait);
}

TEST(HaDecideStandby, ANeverHeldLeaseOnlyForTheInitialActive) {
  auto v = free_lease_view();
  v.lease->epoch = 0;
  v.lease->holder.clear();
  EXPECT_EQ(decide_standby(v).action, StandbyAction::wait);
  v.initial_active = true;
  const auto d = decide_standby(v);
  EXPECT_EQ(d.action, StandbyAction::take_over);
  EXPECT_EQ(d.reason, "initial activation");
}

TEST(HaDecideStandby, ASwitchoverGoesOnlyToItsTarget) {
  auto v = free_lease_view();
  v.lease->handover_to = "cn-c";
  EXPECT_EQ(decide_standby(v).action, StandbyAction::wait);
  EXPECT_EQ(decide_standby(v).note, "handed over to cn-c");
  v.lease->handover_to = "cn-b";
  EXPECT_EQ(decide_standby(v).reason, "switchover from cn-a");
}

TEST(HaDecideStandby, ItsOwnRecentHoldingIsLeftToAnotherStandbyForTheCooldown) {
  auto v = free_lease_view();
  v.lease->holder = "cn-b";
  v.own_cooldown_until = at(6000);
  EXPECT_EQ(decide_standby(v).action, StandbyAction::wait);
  v.now = at(6000);
  EXPECT_EQ(decide_standby(v).action, StandbyAction::take_over);
  // Another host's holding is taken at once, cooldown or not.
  v.now = at(0);
  v.lease->holder = "cn-a";
  EXPECT_EQ(decide_standby(v).action, StandbyAction::take_over);
}

TEST(HaDecideStandby, NotInSyncWaitsNamingTheHead) {
  auto v = free_lease_view();
  v.node_in_sync = false;
  v.node_head = 97;
  EXPECT_EQ(decide_standby(v).action, StandbyAction::wait);
  EXPECT_EQ(decide_standby(v).note, "not in sync (head #97)");
}

TEST(HaDecideStandby, AFailedAttemptIsNotRetriedBeforeItsBackoff) {
  auto v = free_lease_view();
  v.next_attempt_at = at(3000);
  EXPECT_EQ(decide_standby(v).action, StandbyAction::wait);
  v.now = at(3000);
  EXPECT_EQ(decide_standby(v).action, StandbyAction::take_over);
}

ActiveNodeView healthy_node() {
  ActiveNodeView v;
  v.answered = true;
  v.now = at(0);
  v.last_answer = at(0);
  v.hung_after = 1500ms;
  return v;
}

TEST(HaDecideActive, AHealthyNodeCarriesOn) {
  EXPECT_EQ(decide_active_node(healthy_node()).action, ActiveNodeAction::carry_on);
}

TEST(HaDecideActive, AnExitedNodeIsFencedAtOnceUnlessPaused) {
  auto v = healthy_node();
  v.exited_with = 137;
  v.answered = false;
  auto d = decide_active_node(v);
  EXPECT_EQ(d.action, ActiveNodeAction::fence_now);
  EXPECT_EQ(d.event, "node_exited");
  EXPECT_EQ(d.reason, "node exited (status 137)");
  v.paused = true;
  d = decide_active_node(v);
  EXPECT_EQ(d.action, ActiveNodeAction::renew_only);
}

TEST(HaDecideActive, ASilentNodeIsFencedOnlyAfterTheHungTime) {
  auto v = healthy_node();
  v.answered = false;
  v.now = at(1500);
  EXPECT_EQ(decide_active_node(v).action, ActiveNodeAction::carry_on);
  v.now = at(1501);
  EXPECT_EQ(decide_active_node(v).action, ActiveNodeAction::fence_now);
  EXPECT_EQ(decide_active_node(v).event, "node_hung");
  v.paused = true;
  EXPECT_EQ(decide_active_node(v).action, ActiveNodeAction::carry_on);
}

TEST(HaDecideActive, ANodeSigningWithoutAPermitIsFenced) {
  auto v = healthy_node();
  v.enforces_permits = false;
  EXPECT_EQ(decide_active_node(v).action, ActiveNodeAction::fence_now);
  EXPECT_EQ(decide_active_node(v).event, "node_permit_not_enforced");
}

// Issue #17, item 3: cut off from its peers (no ready peer, no new head) for HA_ISOLATED_MS.
TEST(HaDecideActive, ANodeCutOffFromItsPeersHandsOverOnlyAfterTheIsolationTime) {
  ActiveNodeView v;
  v.answered = true;
  v.now = at(4999);
  v.isolated_since = at(0);
  v.isolated_after = 5000ms;
  EXPECT_EQ(decide_active_node(v).action, ActiveNodeAction::carry_on);
  v.now = at(5000);
  const auto d = decide_active_node(v);
  EXPECT_EQ(d.action, ActiveNodeAction::hand_over);
  EXPECT_EQ(d.event, "node_isolated");
  v.paused = true;
  EXPECT_EQ(decide_active_node(v).action, ActiveNodeAction::carry_on);
  v.paused = false;
  v.isolated_after = 0ms;  // turned off
  EXPECT_EQ(decide_active_node(v).action, ActiveNodeAction::carry_on);
  v.isolated_after = 5000ms;
  v.isolated_since.reset();  // a peer or a new head this loop
  EXPECT_EQ(decide_active_node(v).action, ActiveNodeAction::carry_on);
}

TEST(HaDecideRenewal, RenewedExtendsThePermit) {
  EXPECT_EQ(
      decide_after_renewal(RenewalOutcome::renewed, at(0), at(0), at(3000), 250ms, 500ms).action,
      RenewalAction::renew_permit);
}

TEST(HaDecideRenewal, ALostLeaseFences) {
  const auto d = decide_after_renewal(RenewalOutcome::lost, at(0), at(0), at(3000), 250ms, 500ms);
  EXPECT_EQ(d.action, RenewalAction::fence);
  EXPECT_EQ(d.event, "lease_lost");
}

// KEY-1: an unreachable store is retried only while the lease cannot expire before the next
// attempt, less the permit margin; then the active fences.
TEST(HaDecideRenewal, AnUnreachableStoreFencesBeforeTheLeaseCouldExpire) {
  EXPECT_EQ(
      decide_after_renewal(RenewalOutcome::unavailable, at(2249), at(2249), at(3000), 250ms, 500ms)
          .action,
      RenewalAction::keep_trying);
  const auto d =
      decide_after_renewal(RenewalOutcome::unavailable, at(2250), at(2250), at(3000), 250ms, 500ms);
  EXPECT_EQ(d.action, RenewalAction::fence);
  EXPECT_EQ(d.event, "lease_unreachable");
}

// A store that times out: the failed call took 800 ms, and the next attempt (a read and a
// renewal) may take as long each, so the active fences earlier than it would after a refusal.
// Found by the HA simulator: with the old rule the lease expired in the store before the fence.
TEST(HaDecideRenewal, ASlowFailureLeavesRoomForTwoMoreCallsAsSlow) {
  // Refused at once at 800 ms: 800 + 250 + 500 < 3000, try again.
  EXPECT_EQ(
      decide_after_renewal(RenewalOutcome::unavailable, at(800), at(800), at(3000), 250ms, 500ms)
          .action,
      RenewalAction::keep_trying);
  // Timed out after 800 ms: 800 + 250 + 2 x 800 + 500 >= 3000, fence now.
  EXPECT_EQ(
      decide_after_renewal(RenewalOutcome::unavailable, at(0), at(800), at(3000), 250ms, 500ms)
          .action,
      RenewalAction::fence);
}

TEST(HaDecideRelease, OnlyARevokedPermitOrAGoneNodeReleasesEarly) {
  EXPECT_TRUE(may_release_lease(true, false));
  EXPECT_TRUE(may_release_lease(false, true));
  EXPECT_TRUE(may_release_lease(true, true));
  EXPECT_FALSE(may_release_lease(false, false));
}

TEST(HaDecideFloor, ATakeoverSignsAboveTheWatermarkItsAcquireCarried) {
  LeaseGrant g;
  g.watermark = 120;
  EXPECT_EQ(takeover_floor(g), 121u);
  g.watermark = 0;  // never held: from height 1
  EXPECT_EQ(takeover_floor(g), 1u);
}

TEST(HaDecidePermit, TheDeadlineIsTheExpiryLessTheMarginAndNoneOncePast) {
  LeaseGrant g;
  g.requested_at = at(0);
  g.ttl = 3000ms;
  auto d = permit_deadline(g, 500ms, at(1000));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, at(2500));
  EXPECT_FALSE(permit_deadline(g, 500ms, at(2500)).has_value());
}

}  // namespace
}  // namespace cc::ha
