#include "consensus/core.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <utility>

#include "chain/extra.h"
#include "chain/verify.h"
#include "consensus/justification.h"

namespace cc::consensus {
namespace {

// A member that commits to more block hashes than this at one height is misbehaving (an honest
// one commits at most one hash per round it prepares in, and re-prepares the same block).
constexpr std::size_t kMaxCommitHashesPerSender = 4;
// Messages held before the first start_height.
constexpr std::size_t kMaxUnstarted = 1024;

std::string short_hex(const Hash32& h) { return to_hex0x(ByteView(h.data(), 6)); }

}  // namespace

std::uint64_t RoundTimeoutPolicy::timeout_ms(std::uint32_t round) const {
  if (round == 0) return std::min(base_ms, max_ms);
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  const std::uint32_t shift = std::min<std::uint32_t>(round, 62);
  const std::uint64_t growth =
      growth_unit_ms > (kMax >> shift) ? kMax : growth_unit_ms << shift;  // saturating
  const std::uint64_t total = growth > kMax - base_ms ? kMax : base_ms + growth;
  return std::min(total, max_ms);
}

// ---- construction ----

Core::Core(Config config, Signer& signer, bool validator)
    : cfg_(std::move(config)), signer_(&signer), validator_(validator) {}

Result<Core> Core::create(Config config, Signer& signer) {
  if (signer.address() != config.own_address) {
    return make_error("ibft.signer_mismatch",
                      "consensus: the signer signs for " + to_hex0x(signer.address()) +
                          " but the node's address is " + to_hex0x(config.own_address) +
                          "; give the core the signer of its own nodekey");
  }
  const bool validator = config.council.contains(config.own_address);
  return Core(std::move(config), signer, validator);
}

DecodeLimits Core::decode_limits() const {
  DecodeLimits limits;
  limits.max_certificate_entries = cfg_.council.size();
  return limits;
}

const Address& Core::proposer_for(std::uint32_t round) const {
  return cfg_.council.proposer(parent_proposer_, round);
}

void Core::note(Actions& out, NoteLevel level, std::string code, std::string text) {
  out.push_back(Note{level, std::move(code), std::move(text)});
}

std::uint64_t Core::parent_time_ms() const {
  return parent_.time * 1000 + static_cast<std::uint64_t>(parent_.time_fos) * 10;
}

std::optional<crypto::Signature> Core::sign(SignKind kind, std::uint32_t round,
                                            const Hash32& digest, Actions& out) {
  if (!validator_) return std::nullopt;  // an observer never signs
  if (height_ < cfg_.sign_from_height) {
    note(out, NoteLevel::kInfo, "ibft.not_signing",
         std::string(to_string(kind)) + " " + view_text(height_, round) +
             " not signed: this node signs from height " + std::to_string(cfg_.sign_from_height));
    return std::nullopt;
  }
  auto sig = signer_->sign(SignRequest{height_, round, kind, digest});
  if (!sig.ok()) {
    note(out, NoteLevel::kWarn, "ibft.sign_refused",
         std::string(to_string(kind)) + " " + view_text(height_, round) +
             " not sent: " + sig.error().code + ": " + sig.error().message);
    return std::nullopt;
  }
  return *sig;
}

// ---- events ----

Actions Core::start_height(const chain::Header& parent,
                           const std::optional<Address>& parent_proposer, std::uint64_t now_ms) {
  Actions out;
  if (parent.number == std::numeric_limits<std::uint64_t>::max() ||
      (started_ && parent.number + 1 <= height_)) {
    note(out, NoteLevel::kDebug, "ibft.stale_start",
         "start of height " + std::to_string(parent.number + 1) + " ignored: already at height " +
             std::to_string(height_));
    return out;
  }
  reset_height(parent, parent_proposer);
  note(out, NoteLevel::kInfo, "ibft.new_height",
       view_text(height_, 0) + " parent=" + short_hex(parent_hash_) +
           " proposer=" + to_hex0x(proposer_for(0)) + (validator_ ? "" : " (observer)"));

  // Round 0 starts when the block period since the parent has passed (Kaia waits the same).
  const std::uint64_t begin = std::max(now_ms, parent_time_ms() + cfg_.block_period_s * 1000);
  out.push_back(ScheduleTimer{TimerEvent{height_, 0, TimerKind::kRoundTimeout},
                              begin + cfg_.timeouts.timeout_ms(0)});
  if (validator_ && proposer_for(0) == cfg_.own_address) request_build(0, now_ms, out);

  // Replay what arrived early: this height's messages; later ones stay buffered.
  std::vector<Message> replay = std::move(unstarted_);
  unstarted_.clear();
  for (auto it = future_.begin(); it != future_.end();) {
    std::vector<Message> keep;
    for (auto& m : it->second) {
      const std::uint64_t h = height_of(m);
      if (h == height_) {
        replay.push_back(std::move(m));
      } else if (h > height_) {
        keep.push_back(std::move(m));
      }
    }
    if (keep.empty()) {
      it = future_.erase(it);
    } else {
      it->second = std::move(keep);
      ++it;
    }
  }
  for (const auto& m : replay) dispatch(m, now_ms, out);
  progress(now_ms, out);
  return out;
}

Actions Core::on_message(const Message& msg, std::uint64_t now_ms) {
  Actions out;
  if (!started_) {
    if (unstarted_.size() < kMaxUnstarted) unstarted_.push_back(msg);
    return out;
  }
  dispatch(msg, now_ms, out);
  progress(now_ms, out);
  return out;
}

Actions Core::on_timer(const TimerEvent& timer, std::uint64_t now_ms) {
  Actions out;
  // Stale: another height (an import moved us on), another round, or already decided.
  if (!started_ || timer.height != height_ || timer.round != round_ || decided_) {
    note(out, NoteLevel::kDebug, "ibft.stale_timer",
         "timer " + view_text(timer.height, timer.round) + " ignored at " +
             view_text(height_, round_) + (decided_ ? " (decided)" : ""));
    return out;
  }
  switch (timer.kind) {
    case TimerKind::kRoundTimeout:
      if (round_ >= kMaxRound) {
        note(out, NoteLevel::kWarn, "ibft.max_round",
             view_text(height_, round_) + ": no round above " + std::to_string(kMaxRound) +
                 " can be recorded in a block; waiting for a commit or a synced block");
        return out;
      }
      note(out, NoteLevel::kInfo, "ibft.timeout", view_text(height_, round_) + " timed out");
      // Still behind a member we heard from: ask again (the first request may have been lost).
      if (sync_requested_ > height_) out.push_back(RequestSync{sync_requested_, sync_peer_});
      move_to_round(round_ + 1, /*send_round_change_now=*/true, now_ms, out);
      break;
    case TimerKind::kProposeAt: {
      RoundState& rs = round_state(round_);
      if (validator_ && rs.build_pending && !rs.proposed && !build_round_) {
        emit_build(round_, now_ms, out);
      }
      break;
    }
  }
  progress(now_ms, out);
  return out;
}

Actions Core::on_proposal_built(chain::Block block, std::uint64_t now_ms) {
  Actions out;
  if (!started_ || decided_ || !validator_ || !build_round_ || *build_round_ != round_) {
    note(out, NoteLevel::kDebug, "ibft.stale_build",
         "built block " + std::to_string(block.header.number) + " ignored at " +
             view_text(height_, round_));
    return out;
  }
  const std::uint32_t r = *build_round_;
  build_round_.reset();
  RoundState& rs = round_state(r);
  rs.build_pending = false;
  if (rs.proposed || rs.proposal) return out;

  chain::Header& h = block.header;
  std::string bad;
  if (h.number != height_) {
    bad = "number " + std::to_string(h.number) + " is not the height " + std::to_string(height_);
  } else if (h.parent_hash != parent_hash_) {
    bad = "parentHash " + to_hex0x(h.parent_hash) + " is not the parent " + to_hex0x(parent_hash_);
  } else if (h.time < parent_.time + cfg_.block_period_s) {
    bad = "time " + std::to_string(h.time) + " is before parent time + block period";
  } else if (h.time > now_ms / 1000 + chain::kAllowedFutureSeconds) {
    bad = "time " + std::to_string(h.time) + " is in the future";
  } else if (h.time_fos > chain::kMaxTimeFoS || h.block_score != 1) {
    bad = "timeFoS/blockScore out of range";
  } else if (!chain::verify_body(block).ok()) {
    bad = "transactionsRoot does not match the transactions";
  }
  if (!bad.empty()) {
    note(out, NoteLevel::kWarn, "ibft.bad_build",
         view_text(height_, r) + ": the built block is not proposable: " + bad);
    return out;
  }

  // The extra is ours: round, council, then the proposer seal over sig_hash.
  chain::IstanbulExtra x;
  x.set_round(static_cast<std::uint8_t>(r));
  x.validators = cfg_.council.validators();
  h.extra = chain::encode_extra(x);
  auto sig_hash = h.sig_hash();
  if (!sig_hash.ok()) {
    note(out, NoteLevel::kWarn, "ibft.bad_build", sig_hash.error().message);
    return out;
  }
  auto seal = sign(SignKind::kSeal, r, *sig_hash, out);
  if (!seal) return out;
  x.proposer_seal.assign(seal->begin(), seal->end());
  h.extra = chain::encode_extra(x);

  std::vector<RoundChange> justification;
  if (r > 0) justification = std::move(build_justification_);
  build_justification_.clear();
  send_preprepare(r, block, std::move(justification), {}, now_ms, out);
  progress(now_ms, out);
  return out;
}

Actions Core::on_signer_ready(std::uint64_t now_ms) {
  Actions out;
  if (!started_ || decided_ || !validator_) return out;
  RoundState& rs = round_state(round_);
  // Votes of the current round the signer refused (each is sent once per round): the same
  // message now, in protocol order. The SignGuard re-signs only an identical request.
  const Address& self = cfg_.own_address;
  if (rs.sent_round_change && !rs.round_changes.contains(self)) {
    rs.sent_round_change = false;
    send_round_change(round_, out);
  }
  if (rs.sent_prepare && rs.proposal && !rs.prepares.contains(self)) {
    send_prepare(round_, *rs.proposal, out);
  }
  if (rs.sent_commit && prepared_ && prepared_->round == round_) {
    const auto seals = commits_.find(prepared_->block_hash);
    if (seals == commits_.end() || !seals->second.contains(self)) {
      send_commit(prepared_->block_hash, out);
    }
  }
  progress(now_ms, out);
  if (decided_ || build_round_) return out;
  // IBFT proposer duty: a proposal whose seal was refused is built again.
  if (proposer_for(round_) != self) return out;
  if (round_ > 0 && build_justification_.empty()) return out;
  RoundState& now_rs = round_state(round_);
  if (now_rs.proposed || now_rs.proposal || now_rs.build_pending) return out;
  note(out, NoteLevel::kInfo, "ibft.propose_retry",
       view_text(height_, round_) + ": the signer may sign now; building the proposal again");
  request_build(round_, now_ms, out);
  return out;
}

Actions Core::on_block_committed_elsewhere(const chain::Header& header, std::uint64_t now_ms) {
  if (started_ && header.number < height_) {
    Actions out;
    note(out, NoteLevel::kDebug, "ibft.stale_import",
         "imported block " + std::to_string(header.number) + " is below height " +
             std::to_string(height_));
    return out;
  }
  std::optional<Address> proposer;
  if (header.number > 0) {
    auto p = chain::recover_proposer(header);
    if (!p.ok()) {
      Actions out;
      note(out, NoteLevel::kWarn, "ibft.bad_import",
           "imported block " + std::to_string(header.number) +
               " has no recoverable proposer seal: " + p.error().message);
      return out;
    }
    proposer = *p;
  }
  return start_height(header, proposer, now_ms);
}

// ---- internals ----

void Core::reset_height(const chain::Header& parent,
                        const std::optional<Address>& parent_proposer) {
  started_ = true;
  height_ = parent.number + 1;
  parent_ = parent;
  parent_hash_ = parent.hash();
  parent_proposer_ = parent_proposer;
  round_ = 0;
  decided_ = false;
  build_round_.reset();
  build_justification_.clear();
  rounds_.clear();
  commits_.clear();
  commit_hashes_by_sender_.clear();
  blocks_.clear();
  prepared_.reset();
}

void Core::dispatch(const Message& msg, std::uint64_t now_ms, Actions& out) {
  const std::uint64_t h = height_of(msg);
  if (h < height_) return;  // an old height: nothing to do
  if (h > height_) {
    buffer_future(msg, out);
    return;
  }
  if (decided_) return;
  if (const auto* pp = std::get_if<Preprepare>(&msg)) {
    handle_preprepare(*pp, /*own=*/false, now_ms, out);
  } else if (const auto* p = std::get_if<Prepare>(&msg)) {
    handle_prepare(*p, out);
  } else if (const auto* c = std::get_if<Commit>(&msg)) {
    handle_commit(*c, out);
  } else if (const auto* rc = std::get_if<RoundChange>(&msg)) {
    handle_round_change(*rc, out);
  }
}

void Core::buffer_future(const Message& msg, Actions& out) {
  const Address& sender = sender_of(msg);
  const std::uint64_t h = height_of(msg);
  if (!is_member(sender)) return;
  // A member is past our height: we are behind unless we just decided (then height_ + 1 is next).
  const std::uint64_t next = decided_ ? height_ + 1 : height_;
  if (h > next && h > sync_requested_) {
    sync_requested_ = h;
    sync_peer_ = sender;
    out.push_back(RequestSync{h, sender});
    note(out, NoteLevel::kInfo, "ibft.behind",
         to_hex0x(sender) + " is at height " + std::to_string(h) + ", we are at " +
             std::to_string(height_));
  }
  if (h - height_ > cfg_.max_future_heights) return;  // sync, not replay, will catch us up
  auto& queue = future_[sender];
  if (queue.size() >= cfg_.max_future_messages_per_sender) return;
  queue.push_back(msg);
}

void Core::handle_preprepare(const Preprepare& pp, bool own, std::uint64_t now_ms, Actions& out) {
  const std::uint32_t r = pp.round;
  if (r < round_) {
    note(out, NoteLevel::kDebug, "ibft.stale_preprepare",
         view_text(pp.height, r) + " from " + to_hex0x(pp.sender) + " is below our round " +
             std::to_string(round_));
    return;
  }
  if (pp.sender != proposer_for(r)) {
    note(out, NoteLevel::kWarn, "ibft.wrong_proposer",
         "preprepare " + view_text(pp.height, r) + " from " + to_hex0x(pp.sender) +
             "; the proposer is " + to_hex0x(proposer_for(r)));
    return;
  }
  const Hash32 hash = pp.proposal.hash();
  {
    const auto it = rounds_.find(r);
    if (it != rounds_.end() && it->second.proposal) {
      if (*it->second.proposal != hash) {
        note(out, NoteLevel::kWarn, "ibft.equivocation",
             to_hex0x(pp.sender) + " proposed two blocks at " + view_text(pp.height, r) + ": " +
                 short_hex(*it->second.proposal) + " and " + short_hex(hash));
      }
      return;
    }
  }
  if (!own) {
    const auto reject = [&](const std::string& code, const std::string& why) {
      note(out, NoteLevel::kWarn, code,
           "preprepare " + view_text(pp.height, r) + " from " + to_hex0x(pp.sender) +
               " rejected: " + why);
    };
    const chain::VerifyParams params{cfg_.block_period_s, now_ms / 1000};
    auto header = chain::verify_proposal_header(pp.proposal.header, &parent_, parent_proposer_,
                                                cfg_.council, params);
    if (!header.ok()) {
      const Error e = header.rejection().to_error();
      return reject("ibft.bad_proposal", e.code + ": " + e.message);
    }
    auto body = chain::verify_body(pp.proposal);
    if (!body.ok()) {
      const Error e = body.rejection().to_error();
      return reject("ibft.bad_proposal", e.code + ": " + e.message);
    }
    auto justified = justify_preprepare(pp, cfg_.council, parent_hash_);
    if (!justified.ok()) return reject(justified.error().code, justified.error().message);
    const std::uint8_t block_round = pp.proposal.header.extra[chain::kRoundByte];
    if (*justified) {
      // J2: only the highest prepared block may be re-proposed.
      if (hash != **justified) {
        return reject("ibft.not_highest_prepared", "block " + short_hex(hash) +
                                                       " is not the highest prepared block " +
                                                       short_hex(**justified));
      }
    } else if (block_round != r) {
      // A fresh block names the round it is proposed in (its seal is checked against it).
      return reject("ibft.wrong_round", "fresh block records round " + std::to_string(block_round));
    }
    if (cfg_.check_proposal) {
      auto checked = cfg_.check_proposal(pp.proposal);
      if (!checked.ok()) {
        return reject("ibft.bad_proposal", checked.error().code + ": " + checked.error().message);
      }
    }
  }
  // Accepting a justified proposal for a later round moves us to that round (QBFT).
  if (r > round_) move_to_round(r, /*send_round_change_now=*/false, now_ms, out);
  RoundState& rs = round_state(r);
  rs.proposal = hash;
  blocks_.emplace(hash, pp.proposal);
  note(out, NoteLevel::kDebug, "ibft.accepted",
       "preprepare " + view_text(pp.height, r) + " block " + short_hex(hash));
  if (!validator_ || rs.sent_prepare) return;
  rs.sent_prepare = true;  // one attempt here; on_signer_ready retries a refused one
  send_prepare(r, hash, out);
}

void Core::send_prepare(std::uint32_t round, const Hash32& hash, Actions& out) {
  Prepare p;
  p.height = height_;
  p.round = round;
  p.block_hash = hash;
  auto sig = sign(SignKind::kPrepare, round, p.digest(), out);
  if (!sig) return;
  p.signature = *sig;
  p.sender = cfg_.own_address;
  out.push_back(Broadcast{p.encode(), MessageCode::kPrepare, height_, round});
  round_state(round).prepares.emplace(p.sender, p);
}

void Core::handle_prepare(const Prepare& p, Actions& out) {
  if (!is_member(p.sender)) {
    note(out, NoteLevel::kDebug, "ibft.not_member", "prepare from " + to_hex0x(p.sender));
    return;
  }
  if (p.round < round_) return;  // QBFT counts prepares of the current round only
  auto [it, inserted] = round_state(p.round).prepares.emplace(p.sender, p);
  if (!inserted && it->second.block_hash != p.block_hash) {
    note(out, NoteLevel::kWarn, "ibft.equivocation",
         to_hex0x(p.sender) + " prepared two blocks at " + view_text(p.height, p.round));
  }
}

void Core::handle_commit(const Commit& c, Actions& out) {
  if (!is_member(c.sender)) {
    note(out, NoteLevel::kDebug, "ibft.not_member", "commit from " + to_hex0x(c.sender));
    return;
  }
  auto it = commits_.find(c.block_hash);
  const bool known = it != commits_.end() && it->second.count(c.sender) > 0;
  if (known) return;
  std::size_t& hashes = commit_hashes_by_sender_[c.sender];
  if (hashes >= kMaxCommitHashesPerSender) {
    note(out, NoteLevel::kWarn, "ibft.too_many_commits",
         to_hex0x(c.sender) + " committed to more than " +
             std::to_string(kMaxCommitHashesPerSender) + " blocks at height " +
             std::to_string(height_));
    return;
  }
  ++hashes;
  commits_[c.block_hash].emplace(c.sender, c.commit_seal);
}

void Core::handle_round_change(const RoundChange& rc, Actions& out) {
  if (rc.round == 0) {
    note(out, NoteLevel::kDebug, "ibft.bad_round_change", "round change to round 0 ignored");
    return;
  }
  if (rc.round < round_) return;
  auto valid = check_round_change(rc, cfg_.council, height_, parent_hash_);
  if (!valid.ok()) {
    note(out, NoteLevel::kWarn, valid.error().code,
         "round change " + view_text(rc.height, rc.round) + " from " + to_hex0x(rc.sender) +
             " rejected: " + valid.error().message);
    return;
  }
  round_state(rc.round).round_changes.emplace(rc.sender, rc);
}

void Core::progress(std::uint64_t now_ms, Actions& out) {
  // Each rule that fires changes state so that it cannot fire again; the bound is a backstop.
  for (int guard = 0; guard < 4 * static_cast<int>(kMaxRound) + 8; ++guard) {
    if (decided_) return;
    if (try_decide(out)) return;
    if (try_prepared(out)) continue;
    if (try_round_catch_up(now_ms, out)) continue;
    if (try_propose_new_round(now_ms, out)) continue;
    return;
  }
}

bool Core::try_decide(Actions& out) {
  const std::size_t quorum = cfg_.council.commit_quorum();
  for (const auto& [hash, seals] : commits_) {
    if (seals.size() < quorum) continue;
    const auto b = blocks_.find(hash);
    if (b == blocks_.end()) continue;  // not a proposal we accepted: wait for it or for sync
    chain::Block block = b->second;
    auto x = block.header.istanbul_extra();
    if (!x.ok()) continue;  // cannot happen: accepted proposals passed verification
    CommitBlock commit;
    x->committed_seals.clear();
    for (const auto& member : cfg_.council.validators()) {  // council order: deterministic
      const auto s = seals.find(member);
      if (s == seals.end()) continue;
      x->committed_seals.push_back(s->second);
      commit.committers.push_back(member);
    }
    block.header.extra = chain::encode_extra(*x);
    commit.block = std::move(block);
    commit.round = round_;
    decided_ = true;
    note(out, NoteLevel::kInfo, "ibft.committed",
         view_text(height_, round_) + " block " + short_hex(hash) + " with " +
             std::to_string(commit.committers.size()) + " seals");
    out.push_back(std::move(commit));
    return true;
  }
  return false;
}

bool Core::try_prepared(Actions& out) {
  RoundState& rs = round_state(round_);
  if (!rs.proposal || rs.sent_commit) return false;
  const Hash32 hash = *rs.proposal;
  std::vector<Prepare> certificate;
  for (const auto& [sender, p] : rs.prepares) {
    if (p.block_hash == hash) certificate.push_back(p);
  }
  if (certificate.size() < cfg_.council.commit_quorum()) return false;
  rs.sent_commit = true;
  // QBFT: pr_i <- r_i, pv_i <- value; reported in every later ROUND-CHANGE at this height.
  prepared_ = PreparedState{round_, hash, std::move(certificate)};
  note(out, NoteLevel::kDebug, "ibft.prepared",
       view_text(height_, round_) + " block " + short_hex(hash));
  if (validator_) send_commit(hash, out);
  return true;
}

void Core::send_commit(const Hash32& hash, Actions& out) {
  Commit c;
  c.height = height_;
  c.round = round_;
  c.block_hash = hash;
  auto seal = sign(SignKind::kCommit, round_, c.digest(), out);
  if (!seal) return;
  c.commit_seal = *seal;
  c.sender = cfg_.own_address;
  out.push_back(Broadcast{c.encode(), MessageCode::kCommit, height_, round_});
  handle_commit(c, out);
}

bool Core::try_round_catch_up(std::uint64_t now_ms, Actions& out) {
  // QBFT: upon F+1 ROUND-CHANGEs for rounds above ours, move to the minimum round of that set.
  const std::size_t need = cfg_.council.max_faulty() + 1;
  std::map<Address, std::uint32_t> highest;
  for (auto it = rounds_.upper_bound(round_); it != rounds_.end(); ++it) {
    for (const auto& [sender, rc] : it->second.round_changes) highest[sender] = it->first;
  }
  if (highest.size() < need) return false;
  std::vector<std::uint32_t> rounds;
  rounds.reserve(highest.size());
  for (const auto& [sender, r] : highest) rounds.push_back(r);
  std::sort(rounds.begin(), rounds.end(), std::greater<>());
  const std::uint32_t target = rounds[need - 1];
  if (target <= round_) return false;
  note(out, NoteLevel::kInfo, "ibft.round_catch_up",
       view_text(height_, round_) + ": " + std::to_string(need) +
           " members are at round >= " + std::to_string(target));
  move_to_round(target, /*send_round_change_now=*/true, now_ms, out);
  return true;
}

bool Core::try_propose_new_round(std::uint64_t now_ms, Actions& out) {
  if (!validator_ || round_ == 0 || proposer_for(round_) != cfg_.own_address) return false;
  RoundState& rs = round_state(round_);
  if (rs.proposed || rs.build_pending || rs.proposal || rs.missing_block) return false;
  if (rs.round_changes.size() < cfg_.council.commit_quorum()) return false;
  std::vector<RoundChange> qrc;
  qrc.reserve(rs.round_changes.size());
  for (const auto& [sender, rc] : rs.round_changes) qrc.push_back(rc);
  const auto highest = highest_prepared(qrc);
  if (!highest) {
    // J1: nothing prepared in the quorum; a fresh block is safe.
    build_justification_ = std::move(qrc);
    request_build(round_, now_ms, out);
    return true;
  }
  // J2: re-propose HighestPrepared(Qrc) with the certificate its reporter attached.
  const RoundChange* reporter = nullptr;
  for (const auto& rc : qrc) {
    if (rc.prepared && *rc.prepared == *highest) {
      reporter = &rc;
      break;
    }
  }
  const auto b = blocks_.find(highest->block_hash);
  if (reporter == nullptr || b == blocks_.end()) {
    rs.missing_block = true;
    note(out, NoteLevel::kWarn, "ibft.missing_prepared_block",
         view_text(height_, round_) + ": the highest prepared block " +
             short_hex(highest->block_hash) + " is not known here; the round will time out");
    return true;
  }
  const chain::Block block = b->second;
  std::vector<Prepare> certificate = reporter->prepared_certificate;
  send_preprepare(round_, block, std::move(qrc), std::move(certificate), now_ms, out);
  return true;
}

void Core::move_to_round(std::uint32_t round, bool send_round_change_now, std::uint64_t now_ms,
                         Actions& out) {
  if (round <= round_) return;
  round_ = round;
  build_round_.reset();
  build_justification_.clear();
  rounds_.erase(rounds_.begin(), rounds_.lower_bound(round));  // nothing below counts any more
  out.push_back(ScheduleTimer{TimerEvent{height_, round, TimerKind::kRoundTimeout},
                              now_ms + cfg_.timeouts.timeout_ms(round)});
  note(out, NoteLevel::kInfo, "ibft.new_round",
       view_text(height_, round) + " proposer=" + to_hex0x(proposer_for(round)) +
           (prepared_ ? " prepared=" + short_hex(prepared_->block_hash) + "@" +
                            std::to_string(prepared_->round)
                      : std::string()));
  if (send_round_change_now && validator_) send_round_change(round, out);
}

void Core::request_build(std::uint32_t round, std::uint64_t now_ms, Actions& out) {
  RoundState& rs = round_state(round);
  if (rs.proposed || rs.build_pending) return;
  rs.build_pending = true;
  // Not before parent.time + blockPeriod: an earlier block would fail rule 5 everywhere.
  const std::uint64_t earliest_s = parent_.time + cfg_.block_period_s;
  if (now_ms < earliest_s * 1000) {
    out.push_back(
        ScheduleTimer{TimerEvent{height_, round, TimerKind::kProposeAt}, earliest_s * 1000});
    return;
  }
  emit_build(round, now_ms, out);
}

void Core::emit_build(std::uint32_t round, std::uint64_t now_ms, Actions& out) {
  // Kaia: time = max(parent.time + period, now); timeFoS is the fraction when time is now.
  const std::uint64_t now_s = now_ms / 1000;
  const std::uint64_t time = std::max(parent_.time + cfg_.block_period_s, now_s);
  const auto fos = static_cast<std::uint8_t>(time == now_s ? (now_ms % 1000) / 10 : 0);
  build_round_ = round;
  out.push_back(BuildProposal{height_, round, parent_, cfg_.own_address, time, fos});
}

void Core::send_preprepare(std::uint32_t round, const chain::Block& block,
                           std::vector<RoundChange> rc_certificate,
                           std::vector<Prepare> prepared_certificate, std::uint64_t now_ms,
                           Actions& out) {
  Preprepare pp;
  pp.height = height_;
  pp.round = round;
  pp.proposal = block;
  for (auto& rc : rc_certificate) rc.prepared_certificate.clear();  // carried as [body, sig]
  pp.round_change_certificate = std::move(rc_certificate);
  pp.prepared_certificate = std::move(prepared_certificate);
  RoundState& rs = round_state(round);
  rs.proposed = true;  // one attempt per round: a refusal is not retried
  auto sig = sign(SignKind::kPreprepare, round, pp.digest(), out);
  if (!sig) return;
  pp.signature = *sig;
  pp.sender = cfg_.own_address;
  out.push_back(Broadcast{pp.encode(), MessageCode::kPreprepare, height_, round});
  handle_preprepare(pp, /*own=*/true, now_ms, out);
}

void Core::send_round_change(std::uint32_t round, Actions& out) {
  RoundState& rs = round_state(round);
  if (rs.sent_round_change) return;
  rs.sent_round_change = true;
  RoundChange rc;
  rc.height = height_;
  rc.round = round;
  rc.parent_hash = parent_hash_;
  if (prepared_) {
    rc.prepared = PreparedRef{prepared_->round, prepared_->block_hash};
    rc.prepared_certificate = prepared_->certificate;
  }
  auto sig = sign(SignKind::kRoundChange, round, rc.digest(), out);
  if (!sig) return;
  rc.signature = *sig;
  rc.sender = cfg_.own_address;
  out.push_back(Broadcast{rc.encode(), MessageCode::kRoundChange, height_, round});
  rs.round_changes.emplace(rc.sender, std::move(rc));
}

}  // namespace cc::consensus
