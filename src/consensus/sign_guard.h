// consensus/sign_guard.h — owns the SignGuard, the only code that signs consensus data with the
// nodekey (SIGN-1, KEY-1, FAIL-CLOSED). Each sign() is one step under one lock:
//   (a) permit   when required, a signing permit (lease epoch = fencing token) whose deadline,
//                less a safety margin, is still ahead on CLOCK_BOOTTIME (PermitClock: it counts
//                suspended time), and whose height ceiling (if it has one) covers the request
//                -> sign.no_permit, sign.permit_expired, sign.above_ceiling
//   (b) watermark refuse heights below the floor (takeover) or below the kept window, re-sign
//                only a byte-identical request, refuse any other digest for a signed
//                (height, round, kind)           -> sign.below_floor, sign.below_window,
//                sign.conflict
//   (c) persist  the new watermark through the persist hook, durably, BEFORE signing; a failure
//                refuses this and every later signature until a persist succeeds ->
//                sign.persist_failed
//   (d) sign     the permit's deadline checked again (a persist that took long, or a machine
//                suspended during it, must not let a signature out after the permit lapsed:
//                sign.permit_expired; the watermark written stays, which only refuses more),
//                then RFC 6979 over the digest (same request, same signature)
//   (e) journal  one record through the journal hook; a failure is logged and counted only (the
//                watermark, not the journal, is the safety record)
// It never includes storage/ (the layer order forbids it): node/ wires the persist and journal
// hooks to storage/signstate.h and storage/signjournal.h, converting SignGuardState <->
// storage::SignState field by field (kind = the SignKind value). It never reads a wall clock and
// never signs "to be safe": every doubt is a refusal the caller must treat as "do not send".
//
// Threads: any thread may call any method; one mutex serialises them (hooks run under it).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "consensus/detail/thread_annotations.h"
#include "consensus/signer.h"
#include "crypto/secp256k1.h"
#include "util/bytes.h"
#include "util/clock.h"
#include "util/result.h"

namespace cc::consensus {

// Signing permits are measured on CLOCK_BOOTTIME (util/clock.h: it counts suspended time, so a
// permit never outlives its lease across a machine's suspend or a VM pause).
using PermitClock = util::BootClock;

// The right to sign, handed down by the HA agent: the lease epoch (fencing token), the
// PermitClock instant by which the agent must have renewed it, and the highest height it covers.
// The ceiling is what makes the replicated watermark exact: the agent writes a height to the
// lease store before it lets the node sign there, so a takeover after a lost host starts right
// above it (SIGN-1) instead of above the network head plus one.
struct SigningPermit {
  std::uint64_t epoch = 0;
  PermitClock::time_point deadline{};
  std::optional<std::uint64_t> ceiling;  // highest height signable; none = no bound
  bool operator==(const SigningPermit&) const = default;
};

// One signature in the watermark.
struct SignedVote {
  std::uint64_t height = 0;
  std::uint32_t round = 0;
  SignKind kind = SignKind::kPrepare;
  std::uint64_t epoch = 0;  // the permit's epoch when signed (0 without a permit)
  Hash32 digest{};
  bool operator==(const SignedVote&) const = default;
};

// What the persist hook must make durable (and what a restart hands back to create()).
struct SignGuardState {
  Address address{};              // the validator this state belongs to
  std::uint64_t max_height = 0;   // highest height ever signed (high-water mark)
  std::uint64_t floor = 0;        // lowest height this validator may sign at (only rises)
  std::uint64_t max_epoch = 0;    // highest permit epoch granted (stale tokens are refused)
  std::vector<SignedVote> votes;  // the kept window, strictly increasing by (height, round, kind)
  bool operator==(const SignGuardState&) const = default;
};

// What the journal hook receives after a signature was produced.
struct SignatureRecord {
  Address address{};
  SignRequest request;
  std::uint64_t epoch = 0;  // the permit's epoch, 0 when signing without a permit
};

struct SignGuardHooks {
  // Required. Must return ok only once the state would survive a crash or power loss.
  std::function<Status(const SignGuardState&)> persist;
  // Optional. Called after each signature (also a re-sign).
  std::function<Status(const SignatureRecord&)> journal;
  // Optional; the clock permits are checked against (default PermitClock::now, CLOCK_BOOTTIME).
  std::function<PermitClock::time_point()> now;
};

struct SignGuardOptions {
  // A permit is usable only while now + safety_margin < deadline: the agent's lease may be
  // measured on another clock, so the guard stops signing before the lease can expire.
  std::chrono::milliseconds safety_margin{500};
  // false only where no HA agent exists (single-node localnet without a standby).
  bool require_permit = true;
  // Heights kept in the watermark, counting max_height itself. Older heights are refused.
  std::uint64_t window_heights = 64;
};

struct SignGuardStats {
  std::uint64_t signatures = 0;  // new signatures (each persisted first)
  std::uint64_t resigns = 0;     // byte-identical repeats of a persisted signature
  std::uint64_t persist_failures = 0;
  std::uint64_t journal_failures = 0;
  std::map<std::string, std::uint64_t> refusals;  // by error code, e.g. "sign.conflict"
};

class SignGuard final : public Signer {
 public:
  // `persisted` is the state loaded from disk (std::nullopt for a validator that never signed).
  // Refuses (sign.state_wrong_key) a state recorded for another address and (sign.state_invalid)
  // one with an unknown kind, unsorted or duplicate votes, or votes above max_height; refuses a
  // missing persist hook or a zero window (sign.config).
  [[nodiscard]] static Result<std::unique_ptr<SignGuard>> create(
      const crypto::PrivateKey& key, std::optional<SignGuardState> persisted, SignGuardHooks hooks,
      SignGuardOptions options = {});

  [[nodiscard]] Result<crypto::Signature> sign(const SignRequest& request) override
      CC_EXCLUDES(mu_);
  [[nodiscard]] Address address() const override { return address_; }

  // A permit for `epoch` until `deadline`, up to height `ceiling` (none: any height). Refuses an
  // epoch below the highest granted so far (sign.stale_epoch). A new highest epoch is persisted
  // first (sign.persist_failed if that fails: no permit then). Replaces any current permit.
  [[nodiscard]] Status grant_permit(std::uint64_t epoch, PermitClock::time_point deadline,
                                    std::optional<std::uint64_t> ceiling = std::nullopt)
      CC_EXCLUDES(mu_);
  // Sets a new deadline for the current permit and, when given, raises its ceiling (a lower
  // ceiling is ignored: what the agent replicated stays replicated). Refuses when there is no
  // permit (sign.no_permit) or its epoch differs (sign.permit_mismatch).
  [[nodiscard]] Status renew_permit(std::uint64_t epoch, PermitClock::time_point deadline,
                                    std::optional<std::uint64_t> ceiling = std::nullopt)
      CC_EXCLUDES(mu_);
  // Drops the permit: nothing is signed until the next grant.
  void revoke_permit() CC_EXCLUDES(mu_);

  // Refuse every height below `height` from now on (HA takeover: the new holder signs only above
  // any height the old one may have signed at). The floor only rises; a lower value is a no-op.
  // The raised floor applies at once; it is persisted, and a persist failure is returned (and
  // counted) — the in-memory floor still holds.
  [[nodiscard]] Status set_floor(std::uint64_t height) CC_EXCLUDES(mu_);

  [[nodiscard]] std::optional<SigningPermit> permit() const CC_EXCLUDES(mu_);
  // The highest height refused for being above the permit's ceiling, or asked for ahead
  // (0: none): the height the node asks its agent to replicate next.
  [[nodiscard]] std::uint64_t wanted_height() const CC_EXCLUDES(mu_);
  // Asks for `height` before any signature needs it (a no-op unless the permit has a lower
  // ceiling), so the agent can replicate it while the council is still waiting for the proposal.
  void ask_for_height(std::uint64_t height) CC_EXCLUDES(mu_);
  [[nodiscard]] SignGuardState state() const CC_EXCLUDES(mu_);
  [[nodiscard]] SignGuardStats stats() const CC_EXCLUDES(mu_);

 private:
  SignGuard(const crypto::PrivateKey& key, SignGuardState state, SignGuardHooks hooks,
            SignGuardOptions options);

  [[nodiscard]] Error refuse(Error err) CC_REQUIRES(mu_);
  [[nodiscard]] Status check_permit(const SignRequest& request) CC_REQUIRES(mu_);
  [[nodiscard]] Status persist(const SignGuardState& next) CC_REQUIRES(mu_);
  [[nodiscard]] std::uint64_t lowest_kept_height(std::uint64_t max_height) const;

  const crypto::PrivateKey key_;
  const Address address_;
  const SignGuardHooks hooks_;
  const SignGuardOptions options_;

  mutable detail::Mutex mu_;
  SignGuardState state_ CC_GUARDED_BY(mu_);
  std::optional<SigningPermit> permit_ CC_GUARDED_BY(mu_);
  std::uint64_t wanted_height_ CC_GUARDED_BY(mu_) = 0;
  // false after a failed persist until one succeeds: no signature at all meanwhile (FAIL-CLOSED).
  bool persist_healthy_ CC_GUARDED_BY(mu_) = true;
  SignGuardStats stats_ CC_GUARDED_BY(mu_);
};

// Where a validator whose sign state is gone (a fresh DATA_DIR, or a deleted signstate file) may
// start signing. SIGN-1 must hold without the watermark, so the floor is above the chain head
// (`head`) and above every height in the signature journal (`highest_journaled`, the highest
// height this key has a journal entry for): the guard refuses to sign until the chain has moved
// past what this key may already have signed. `ignore_journal` is the operator's override
// (`corecell node --unsafe-ignore-sign-journal`): only the head counts, so a height this key
// signed at before may be signed again for another block or round — a double signature.
[[nodiscard]] std::uint64_t floor_without_sign_state(std::uint64_t head,
                                                     std::optional<std::uint64_t> highest_journaled,
                                                     bool ignore_journal);

}  // namespace cc::consensus
