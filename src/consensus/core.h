// consensus/core.h — owns the Istanbul BFT consensus of one height as a pure state machine
// (IBFT 2.0 / QBFT): events in (a decoded message, a timer, a built block, a block imported
// from elsewhere), actions out (broadcast, schedule a timer, build a proposal, commit a block,
// ask for sync, a note for the log). It never touches a socket, a thread, a clock, storage or a
// key: time arrives as `now_ms`, and every signature goes through the Signer (a refusal means
// the message is not sent). The same code runs in the node, in unit tests and in tests/sim.
//
// Protocol (rule names from "The Istanbul BFT Consensus Algorithm", Moniz 2020, and Kaia):
//   proposer     chain::Council::proposer(parent's proposer, round) — round-robin.
//   quorum       chain::Council::commit_quorum(): ceil(2N/3), N when N < 4. F = max_faulty().
//   round 0      the proposer waits until parent.time + blockPeriod, asks its owner for a block
//                (BuildProposal), seals it (Signer kind seal) and broadcasts PRE-PREPARE.
//   PRE-PREPARE  accepted from proposer(h, r) for r >= the current round when the header passes
//                chain::verify_proposal_header against the parent (now_ms given; no block more
//                than 1 s in the future), the body matches its root, the owner's check_proposal
//                hook (if any) passes, and JustifyPrePrepare holds (consensus/justification.h).
//                A fresh block must carry the view's round in its extra; a re-proposed one is
//                the prepared block itself, seals and round unchanged (its hash is what the
//                prepared certificate names). Accepting a round above ours moves us there.
//                Then: broadcast PREPARE(h, r, hash).
//   PREPARE      from council members, for the current round; a quorum for the accepted
//                proposal's hash makes the node prepared (pr, pv, certificate) — the "lock" it
//                reports in every later ROUND-CHANGE — and it broadcasts COMMIT (commit seal).
//   COMMIT       from council members; counted per block hash (the seal covers the hash only).
//                A quorum for a known block: CommitBlock with the seals in the extra.
//   timeout      round r's timer (base + 2^r * unit, RoundTimeoutPolicy) expires: move to
//                r+1 and broadcast ROUND-CHANGE(h, r+1, parent hash, pr, pv, certificate).
//   catch-up     F+1 valid ROUND-CHANGEs from distinct members for rounds above ours: move to
//                the highest round r' such that F+1 of them are for rounds >= r' (the minimum
//                of the best F+1 set) and broadcast our ROUND-CHANGE for r'.
//   new round    a quorum of valid ROUND-CHANGEs for our round r, and we are proposer(h, r):
//                re-propose HighestPrepared(Qrc) with its certificate, else build a fresh block;
//                the PRE-PREPARE carries Qrc (and the certificate) as its justification.
// Own messages are applied locally as soon as they are signed; Broadcast means "to the others".
// Messages for later heights are buffered (bounded per sender) and replayed by start_height;
// timer events for another height or round are ignored (an import makes them stale). A node
// whose address is not in the council is an observer: it follows and commits, never signs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "chain/block.h"
#include "chain/council.h"
#include "consensus/messages.h"
#include "consensus/signer.h"
#include "util/bytes.h"
#include "util/result.h"

namespace cc::consensus {

// Kaia: 10 s at round 0, then 10 s + 2^round s. Tests use smaller numbers.
struct RoundTimeoutPolicy {
  std::uint64_t base_ms = 10'000;
  std::uint64_t growth_unit_ms = 1'000;  // times 2^round, added from round 1 on
  std::uint64_t max_ms = 24ull * 3600 * 1000;

  [[nodiscard]] std::uint64_t timeout_ms(std::uint32_t round) const;
};

struct Config {
  Config(chain::Council council_in, const Address& own)
      : council(std::move(council_in)), own_address(own) {}

  chain::Council council;
  Address own_address{};
  std::uint64_t block_period_s = 1;  // genesis config.istanbul.blockPeriod
  RoundTimeoutPolicy timeouts;
  // Buffer for messages of later heights (a node slightly behind must not lose the next
  // height's proposal). Heights beyond height + max_future_heights are dropped.
  std::size_t max_future_messages_per_sender = 64;
  std::uint64_t max_future_heights = 8;
  // Heights below this are followed without signing anything. A restarted validator has lost
  // its round state (what it prepared); setting this to one above the SignGuard's last signed
  // height keeps that amnesia from counting against the F faults the council tolerates, at the
  // price of one height without its votes.
  std::uint64_t sign_from_height = 0;
  // Optional check of a proposal beyond its header and transactions root (the node executes it
  // against its state and compares the roots). Must be deterministic. An error rejects the
  // proposal. Not called for the node's own proposals.
  std::function<Status(const chain::Block&)> check_proposal;
};

enum class TimerKind : std::uint8_t {
  kRoundTimeout,  // the round's timer expired
  kProposeAt,     // the proposer may now build (parent.time + blockPeriod has come)
};

struct TimerEvent {
  std::uint64_t height = 0;
  std::uint32_t round = 0;
  TimerKind kind = TimerKind::kRoundTimeout;
  bool operator==(const TimerEvent&) const = default;
};

// ---- actions ----

// Send to every other validator (and, in the node, to its proxies).
struct Broadcast {
  Bytes message;  // encode_message(...)
  MessageCode code = MessageCode::kPrepare;
  std::uint64_t height = 0;
  std::uint32_t round = 0;
};

// Deliver on_timer(timer) at at_ms (or later). Earlier timers are not cancelled: they arrive
// stale and are ignored.
struct ScheduleTimer {
  TimerEvent timer;
  std::uint64_t at_ms = 0;
};

// The proposer asks its owner for a block on top of `parent`: header fields number, parentHash,
// rewardbase, time, timeFoS as given; stateRoot, receiptsRoot, gasUsed, transactionsRoot and
// the transactions from executing (chain::BlockBuilder). The extra is the core's: it writes the
// round, the council and the seal. Answer with on_proposal_built.
struct BuildProposal {
  std::uint64_t height = 0;
  std::uint32_t round = 0;
  chain::Header parent;
  Address rewardbase{};
  std::uint64_t time = 0;     // unix seconds
  std::uint8_t time_fos = 0;  // hundredths of a second
};

// A decided block: proposer seal and >= quorum committed seals in the extra, ready to import.
// The owner imports it and calls start_height(block.header, proposer, now).
struct CommitBlock {
  chain::Block block;
  std::uint32_t round = 0;  // the round at which it was decided
  std::vector<Address> committers;
};

// A council member is already at `height` (we saw a valid message for it): the owner should
// fetch the blocks we miss from `peer`. Repeated on each round timeout while still behind (a
// request may be lost); the owner may ignore repeats while one is in flight.
struct RequestSync {
  std::uint64_t height = 0;
  Address peer{};
};

enum class NoteLevel : std::uint8_t { kDebug, kInfo, kWarn };

// One line for the operator: `code` is stable ("ibft.wrong_proposer"), `text` has the fields.
struct Note {
  NoteLevel level = NoteLevel::kDebug;
  std::string code;
  std::string text;
};

using Action =
    std::variant<Broadcast, ScheduleTimer, BuildProposal, CommitBlock, RequestSync, Note>;
using Actions = std::vector<Action>;

// What the node has prepared at the current height (QBFT pr_i, pv_i and the proof).
struct PreparedState {
  std::uint32_t round = 0;
  Hash32 block_hash{};
  std::vector<Prepare> certificate;
};

class Core {
 public:
  // Fails when the signer's address is not config.own_address (ibft.signer_mismatch). An
  // own_address outside the council makes an observer (is_validator() == false).
  [[nodiscard]] static Result<Core> create(Config config, Signer& signer);

  // Begins height parent.number + 1. parent_proposer: who sealed `parent` (nullopt for genesis).
  // Ignored (a note) unless the height is above the current one.
  [[nodiscard]] Actions start_height(const chain::Header& parent,
                                     const std::optional<Address>& parent_proposer,
                                     std::uint64_t now_ms);
  // A decoded message (decode_message(bytes, decode_limits())).
  [[nodiscard]] Actions on_message(const Message& msg, std::uint64_t now_ms);
  [[nodiscard]] Actions on_timer(const TimerEvent& timer, std::uint64_t now_ms);
  // The owner's answer to BuildProposal (extra ignored: the core writes it).
  [[nodiscard]] Actions on_proposal_built(chain::Block block, std::uint64_t now_ms);
  // The signer refused until now and may sign from here on (an HA signing permit arrived, or
  // its height ceiling rose). This round's ROUND-CHANGE, PREPARE and COMMIT that the signer
  // refused go out now (the same messages). IBFT proposer duty: when this node is the current
  // round's proposer and its proposal never left (the seal was refused), ask for the block
  // again, so the round need not time out. Round > 0 only while the round change that elected
  // us is still at hand (its justification).
  [[nodiscard]] Actions on_signer_ready(std::uint64_t now_ms);
  // A block at or above the current height was imported from a peer (already verified by the
  // owner): the core moves on to the height after it.
  [[nodiscard]] Actions on_block_committed_elsewhere(const chain::Header& header,
                                                     std::uint64_t now_ms);

  [[nodiscard]] DecodeLimits decode_limits() const;
  [[nodiscard]] bool is_validator() const { return validator_; }
  [[nodiscard]] bool started() const { return started_; }
  [[nodiscard]] std::uint64_t height() const { return height_; }
  [[nodiscard]] std::uint32_t round() const { return round_; }
  [[nodiscard]] bool decided() const { return decided_; }
  [[nodiscard]] const std::optional<PreparedState>& prepared() const { return prepared_; }
  [[nodiscard]] const Config& config() const { return cfg_; }
  // The proposer of `round` at the current height.
  [[nodiscard]] const Address& proposer_for(std::uint32_t round) const;

 private:
  struct RoundState {
    std::optional<Hash32> proposal;                // the accepted PRE-PREPARE's block hash
    std::map<Address, Prepare> prepares;           // first prepare per member
    std::map<Address, RoundChange> round_changes;  // first valid round change per member
    bool sent_prepare = false;
    bool sent_commit = false;
    bool sent_round_change = false;
    bool proposed = false;       // our PRE-PREPARE went out
    bool build_pending = false;  // BuildProposal (or its timer) is outstanding
    bool missing_block = false;  // HighestPrepared(Qrc) is a block we never saw
  };

  Core(Config config, Signer& signer, bool validator);

  void reset_height(const chain::Header& parent, const std::optional<Address>& parent_proposer);
  void dispatch(const Message& msg, std::uint64_t now_ms, Actions& out);
  void buffer_future(const Message& msg, Actions& out);
  void handle_preprepare(const Preprepare& pp, bool own, std::uint64_t now_ms, Actions& out);
  // Sign and broadcast our PREPARE / COMMIT of the current height (nothing when refused).
  void send_prepare(std::uint32_t round, const Hash32& hash, Actions& out);
  void send_commit(const Hash32& hash, Actions& out);
  void handle_prepare(const Prepare& p, Actions& out);
  void handle_commit(const Commit& c, Actions& out);
  void handle_round_change(const RoundChange& rc, Actions& out);
  // Re-evaluates every "upon" rule until none fires.
  void progress(std::uint64_t now_ms, Actions& out);
  bool try_decide(Actions& out);
  bool try_prepared(Actions& out);
  bool try_round_catch_up(std::uint64_t now_ms, Actions& out);
  bool try_propose_new_round(std::uint64_t now_ms, Actions& out);
  void move_to_round(std::uint32_t round, bool send_round_change_now, std::uint64_t now_ms,
                     Actions& out);
  // Asks for a block now, or schedules kProposeAt for when the block period has passed.
  void request_build(std::uint32_t round, std::uint64_t now_ms, Actions& out);
  void emit_build(std::uint32_t round, std::uint64_t now_ms, Actions& out);
  void send_preprepare(std::uint32_t round, const chain::Block& block,
                       std::vector<RoundChange> rc_certificate,
                       std::vector<Prepare> prepared_certificate, std::uint64_t now_ms,
                       Actions& out);
  void send_round_change(std::uint32_t round, Actions& out);
  // Signs through the signer; a refusal is a warning note and nullopt.
  std::optional<crypto::Signature> sign(SignKind kind, std::uint32_t round, const Hash32& digest,
                                        Actions& out);
  [[nodiscard]] std::uint64_t parent_time_ms() const;
  [[nodiscard]] bool is_member(const Address& a) const { return cfg_.council.contains(a); }
  RoundState& round_state(std::uint32_t round) { return rounds_[round]; }
  static void note(Actions& out, NoteLevel level, std::string code, std::string text);

  Config cfg_;
  Signer* signer_;
  bool validator_;

  bool started_ = false;
  std::uint64_t height_ = 0;
  chain::Header parent_;
  Hash32 parent_hash_{};
  std::optional<Address> parent_proposer_;
  std::uint32_t round_ = 0;
  bool decided_ = false;
  std::optional<std::uint32_t> build_round_;      // the round an outstanding BuildProposal is for
  std::vector<RoundChange> build_justification_;  // Qrc of a fresh proposal at round > 0
  std::map<std::uint32_t, RoundState> rounds_;
  std::map<Hash32, std::map<Address, crypto::Signature>> commits_;  // block hash -> member seals
  std::map<Address, std::size_t> commit_hashes_by_sender_;
  std::map<Hash32, chain::Block> blocks_;  // accepted proposals at this height
  std::optional<PreparedState> prepared_;

  std::map<Address, std::vector<Message>> future_;  // later heights, per sender, arrival order
  std::vector<Message> unstarted_;                  // before the first start_height
  std::uint64_t sync_requested_ = 0;                // highest height RequestSync was sent for
  Address sync_peer_{};  // who was at that height (asked again on each timeout)
};

}  // namespace cc::consensus
