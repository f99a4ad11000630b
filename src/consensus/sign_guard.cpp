#include "consensus/sign_guard.h"

#include <algorithm>
#include <tuple>

#include "crypto/address.h"
#include "util/log.h"

namespace cc::consensus {
namespace {

constexpr std::uint8_t kMaxKind = static_cast<std::uint8_t>(SignKind::kSeal);

bool valid_kind(SignKind kind) { return static_cast<std::uint8_t>(kind) <= kMaxKind; }

auto vote_key(std::uint64_t height, std::uint32_t round, SignKind kind) {
  return std::make_tuple(height, round, static_cast<std::uint8_t>(kind));
}
auto vote_key(const SignedVote& v) { return vote_key(v.height, v.round, v.kind); }

std::string describe(const SignRequest& r) {
  return "height " + std::to_string(r.height) + " round " + std::to_string(r.round) + " " +
         std::string(to_string(r.kind));
}

std::shared_ptr<spdlog::logger> guard_log() { return logger("consensus"); }

Status validate_state(const SignGuardState& st) {
  for (std::size_t i = 0; i < st.votes.size(); ++i) {
    const auto& v = st.votes[i];
    if (!valid_kind(v.kind))
      return make_error("sign.state_invalid", "sign-state vote " + std::to_string(i) +
                                                  " has unknown kind " +
                                                  std::to_string(static_cast<unsigned>(v.kind)));
    if (v.height > st.max_height)
      return make_error("sign.state_invalid", "sign-state vote " + std::to_string(i) +
                                                  " is above the high-water mark " +
                                                  std::to_string(st.max_height));
    if (i > 0 && !(vote_key(st.votes[i - 1]) < vote_key(v)))
      return make_error("sign.state_invalid",
                        "sign-state votes are not strictly ordered at vote " + std::to_string(i));
  }
  return ok_status();
}

}  // namespace

Result<std::unique_ptr<SignGuard>> SignGuard::create(const crypto::PrivateKey& key,
                                                     std::optional<SignGuardState> persisted,
                                                     SignGuardHooks hooks,
                                                     SignGuardOptions options) {
  if (!hooks.persist)
    return make_error("sign.config",
                      "SignGuard needs a persist hook: it never signs what it "
                      "cannot make durable first");
  if (options.window_heights == 0)
    return make_error("sign.config", "SignGuard window_heights must be at least 1");
  if (!hooks.now) hooks.now = [] { return PermitClock::now(); };
  const Address address = crypto::address_of(key);
  SignGuardState state;
  state.address = address;
  if (persisted) {
    if (persisted->address != address)
      return make_error(
          "sign.state_wrong_key",
          "the sign-state belongs to validator " + to_hex0x(persisted->address) +
              " but the nodekey is validator " + to_hex0x(address) +
              "; after a nodekey swap, install the sign-state of the new key (or, only if you "
              "are sure that key never signed, remove the old sign-state)");
    CC_TRY_STATUS(validate_state(*persisted));
    state = std::move(*persisted);
  }
  auto guard =
      std::unique_ptr<SignGuard>(new SignGuard(key, std::move(state), std::move(hooks), options));
  {
    detail::MutexLock lock(guard->mu_);
    // A smaller window than the one that wrote the state: forget what it no longer covers.
    const std::uint64_t lowest = guard->lowest_kept_height(guard->state_.max_height);
    std::erase_if(guard->state_.votes, [&](const SignedVote& v) { return v.height < lowest; });
    guard_log()->info("sign guard for {}: high-water height {}, floor {}, epoch {}, {} votes kept",
                      to_hex0x(address), guard->state_.max_height, guard->state_.floor,
                      guard->state_.max_epoch, guard->state_.votes.size());
  }
  return guard;
}

SignGuard::SignGuard(const crypto::PrivateKey& key, SignGuardState state, SignGuardHooks hooks,
                     SignGuardOptions options)
    : key_(key),
      address_(crypto::address_of(key)),
      hooks_(std::move(hooks)),
      options_(options),
      state_(std::move(state)) {}

std::uint64_t SignGuard::lowest_kept_height(std::uint64_t max_height) const {
  return max_height >= options_.window_heights ? max_height - options_.window_heights + 1 : 0;
}

Error SignGuard::refuse(Error err) {
  ++stats_.refusals[err.code];
  return err;
}

Status SignGuard::check_permit(const SignRequest& request) {
  if (!options_.require_permit) return ok_status();
  if (!permit_) {
    guard_log()->debug("sign refused at {}: no signing permit", describe(request));
    return refuse(make_error("sign.no_permit", "no signing permit: refusing to sign at " +
                                                   describe(request) +
                                                   " (only the lease holder signs)"));
  }
  const auto now = hooks_.now();
  if (!(now + options_.safety_margin < permit_->deadline)) {
    const auto late =
        std::chrono::duration_cast<std::chrono::milliseconds>(now - permit_->deadline).count();
    guard_log()->warn(
        "sign refused at {}: signing permit epoch {} expired ({} ms past its deadline, "
        "safety margin {} ms); the HA agent did not renew it",
        describe(request), permit_->epoch, late, options_.safety_margin.count());
    return refuse(make_error("sign.permit_expired",
                             "signing permit epoch " + std::to_string(permit_->epoch) +
                                 " is expired or within the safety margin of its deadline: "
                                 "refusing to sign at " +
                                 describe(request)));
  }
  if (permit_->ceiling && request.height > *permit_->ceiling) {
    // Not an error in the agent's eyes: the node asks for this height and signs once the agent
    // has written it to the lease store (consensus retries when the permit is renewed).
    wanted_height_ = std::max(wanted_height_, request.height);
    guard_log()->debug("sign deferred at {}: above the permit's ceiling #{}", describe(request),
                       *permit_->ceiling);
    return refuse(
        make_error("sign.above_ceiling", "refusing to sign at " + describe(request) +
                                             ": above the signing permit's ceiling #" +
                                             std::to_string(*permit_->ceiling) +
                                             " (the HA agent has not replicated this height yet)"));
  }
  return ok_status();
}

Status SignGuard::persist(const SignGuardState& next) {
  Status st = hooks_.persist(next);
  if (!st.ok()) {
    ++stats_.persist_failures;
    persist_healthy_ = false;
    guard_log()->error(
        "SIGN-STATE PERSIST FAILED for {} — signing is stopped until a persist "
        "succeeds: {}",
        to_hex0x(address_), st.error().message);
    return st;
  }
  if (!persist_healthy_)
    guard_log()->warn("sign-state persists again for {}; signing resumes", to_hex0x(address_));
  persist_healthy_ = true;
  return ok_status();
}

Result<crypto::Signature> SignGuard::sign(const SignRequest& request) {
  detail::MutexLock lock(mu_);
  if (!valid_kind(request.kind))
    return refuse(make_error(
        "sign.bad_request",
        "unknown signature kind " + std::to_string(static_cast<unsigned>(request.kind))));
  // (a) the permit, before every signature (KEY-1)
  CC_TRY_STATUS(check_permit(request));
  const std::uint64_t epoch = permit_ ? permit_->epoch : 0;

  // (b) the watermark (SIGN-1)
  if (request.height < state_.floor) {
    guard_log()->warn("sign refused at {}: below the signing floor {} (set at takeover)",
                      describe(request), state_.floor);
    return refuse(make_error("sign.below_floor", "refusing to sign at " + describe(request) +
                                                     ": below the signing floor " +
                                                     std::to_string(state_.floor) +
                                                     " (a previous key holder may have signed "
                                                     "there)"));
  }
  if (request.height < lowest_kept_height(state_.max_height)) {
    guard_log()->warn("sign refused at {}: below the kept window (high-water height {})",
                      describe(request), state_.max_height);
    return refuse(make_error("sign.below_window",
                             "refusing to sign at " + describe(request) +
                                 ": older than the kept watermark window (high-water height " +
                                 std::to_string(state_.max_height) + ")"));
  }
  const auto key = vote_key(request.height, request.round, request.kind);
  auto it = std::lower_bound(state_.votes.begin(), state_.votes.end(), key,
                             [](const SignedVote& v, const auto& k) { return vote_key(v) < k; });
  const bool signed_before = it != state_.votes.end() && vote_key(*it) == key;
  if (signed_before && it->digest != request.digest) {
    guard_log()->error(
        "SIGN-1 CONFLICT REFUSED for {} at {}: already signed digest {}, asked to sign "
        "digest {}",
        to_hex0x(address_), describe(request), to_hex0x(it->digest), to_hex0x(request.digest));
    return refuse(make_error("sign.conflict", "refusing to sign digest " +
                                                  to_hex0x(request.digest) + " at " +
                                                  describe(request) + ": already signed digest " +
                                                  to_hex0x(it->digest)));
  }
  if (signed_before) {
    // Identical request: RFC 6979 gives the identical signature, nothing new to persist. But no
    // signature of any kind while persistence is failing (FAIL-CLOSED).
    if (!persist_healthy_)
      return refuse(make_error("sign.persist_failed",
                               "the sign-state could not be persisted; refusing to sign at " +
                                   describe(request) + " until a persist succeeds"));
    ++stats_.resigns;
  } else {
    // (c) durable before visible
    SignGuardState next = state_;
    next.votes.insert(
        next.votes.begin() + (it - state_.votes.begin()),
        SignedVote{request.height, request.round, request.kind, epoch, request.digest});
    if (request.height > next.max_height) {
      next.max_height = request.height;
      const std::uint64_t lowest = lowest_kept_height(next.max_height);
      std::erase_if(next.votes, [&](const SignedVote& v) { return v.height < lowest; });
    }
    Status st = persist(next);
    if (!st.ok())
      return refuse(make_error("sign.persist_failed",
                               "the sign-state could not be persisted, so nothing was signed at " +
                                   describe(request) + ": " + st.error().message));
    state_ = std::move(next);
    ++stats_.signatures;
  }

  // (d) the permit again, right before the signature leaves: the persist above may have taken
  // long (a slow disk) or the machine may have been suspended during it (KEY-1).
  if (permit_ && options_.require_permit) CC_TRY_STATUS(check_permit(request));
  crypto::Signature sig = crypto::sign(key_, request.digest);

  // (e) journal: evidence for operators and test oracles, not the safety record
  if (hooks_.journal) {
    Status st = hooks_.journal(SignatureRecord{address_, request, epoch});
    if (!st.ok()) {
      ++stats_.journal_failures;
      guard_log()->error("signature journal append failed after signing at {}: {}",
                         describe(request), st.error().message);
    }
  }
  return sig;
}

Status SignGuard::grant_permit(std::uint64_t epoch, PermitClock::time_point deadline,
                               std::optional<std::uint64_t> ceiling) {
  detail::MutexLock lock(mu_);
  if (epoch < state_.max_epoch) {
    guard_log()->warn(
        "signing permit refused: epoch {} is below the highest granted epoch {} (stale "
        "fencing token)",
        epoch, state_.max_epoch);
    return refuse(make_error("sign.stale_epoch",
                             "signing permit epoch " + std::to_string(epoch) +
                                 " is older than epoch " + std::to_string(state_.max_epoch) +
                                 " already granted: a newer lease holder exists"));
  }
  if (epoch > state_.max_epoch) {
    // Durable first, so a restart still refuses the older token.
    SignGuardState next = state_;
    next.max_epoch = epoch;
    Status st = persist(next);
    if (!st.ok())
      return refuse(make_error("sign.persist_failed", "signing permit epoch " +
                                                          std::to_string(epoch) +
                                                          " not granted: the sign-state could "
                                                          "not be persisted: " +
                                                          st.error().message));
    state_ = std::move(next);
  }
  if (!permit_ || permit_->epoch != epoch)
    guard_log()->info("signing permit granted: epoch {} for {}", epoch, to_hex0x(address_));
  permit_ = SigningPermit{epoch, deadline, ceiling};
  return ok_status();
}

Status SignGuard::renew_permit(std::uint64_t epoch, PermitClock::time_point deadline,
                               std::optional<std::uint64_t> ceiling) {
  detail::MutexLock lock(mu_);
  if (!permit_)
    return refuse(make_error("sign.no_permit", "cannot renew signing permit epoch " +
                                                   std::to_string(epoch) +
                                                   ": no permit is held (grant one first)"));
  if (permit_->epoch != epoch)
    return refuse(make_error("sign.permit_mismatch",
                             "cannot renew signing permit epoch " + std::to_string(epoch) +
                                 ": the permit held is epoch " + std::to_string(permit_->epoch)));
  permit_->deadline = deadline;
  if (ceiling && permit_->ceiling) permit_->ceiling = std::max(*permit_->ceiling, *ceiling);
  return ok_status();
}

void SignGuard::revoke_permit() {
  detail::MutexLock lock(mu_);
  if (permit_) guard_log()->info("signing permit epoch {} revoked", permit_->epoch);
  permit_.reset();
}

Status SignGuard::set_floor(std::uint64_t height) {
  detail::MutexLock lock(mu_);
  if (height <= state_.floor) return ok_status();
  guard_log()->info("signing floor raised from {} to {} for {}", state_.floor, height,
                    to_hex0x(address_));
  // Applied in memory first: refusing more is always safe, even if the persist below fails.
  state_.floor = height;
  Status st = persist(state_);
  if (!st.ok())
    return make_error("sign.persist_failed",
                      "signing floor " + std::to_string(height) +
                          " holds in memory but could not be persisted: " + st.error().message);
  return ok_status();
}

std::optional<SigningPermit> SignGuard::permit() const {
  detail::MutexLock lock(mu_);
  return permit_;
}

void SignGuard::ask_for_height(std::uint64_t height) {
  detail::MutexLock lock(mu_);
  if (permit_ && permit_->ceiling && height > *permit_->ceiling) {
    wanted_height_ = std::max(wanted_height_, height);
  }
}

std::uint64_t SignGuard::wanted_height() const {
  detail::MutexLock lock(mu_);
  return wanted_height_;
}

SignGuardState SignGuard::state() const {
  detail::MutexLock lock(mu_);
  return state_;
}

SignGuardStats SignGuard::stats() const {
  detail::MutexLock lock(mu_);
  return stats_;
}

std::uint64_t floor_without_sign_state(std::uint64_t head,
                                       std::optional<std::uint64_t> highest_journaled,
                                       bool ignore_journal) {
  std::uint64_t floor = head + 1;
  if (highest_journaled && !ignore_journal) floor = std::max(floor, *highest_journaled + 1);
  return floor;
}

}  // namespace cc::consensus
