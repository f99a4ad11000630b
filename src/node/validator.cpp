#include "node/validator.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <optional>

#include "chain/executor.h"
#include "consensus/core.h"
#include "consensus/messages.h"
#include "consensus/sign_guard.h"
#include "crypto/address.h"
#include "storage/signjournal.h"
#include "storage/signstate.h"
#include "util/clock.h"
#include "util/log.h"

namespace cc::node {
using json = nlohmann::json;

namespace {

// Consensus messages kept per height for late-connecting peers (a few rounds' worth).
constexpr std::size_t kMaxReplayMessages = 32;

consensus::SignGuardState to_guard_state(const storage::SignState& s) {
  consensus::SignGuardState g;
  g.address = s.address;
  g.max_height = s.max_height;
  g.floor = s.floor;
  g.max_epoch = s.max_epoch;
  for (const auto& r : s.records) {
    g.votes.push_back(
        {r.height, r.round, static_cast<consensus::SignKind>(r.kind), r.epoch, r.digest});
  }
  return g;
}

storage::SignState to_storage_state(const consensus::SignGuardState& g) {
  storage::SignState s;
  s.address = g.address;
  s.max_height = g.max_height;
  s.floor = g.floor;
  s.max_epoch = g.max_epoch;
  for (const auto& v : g.votes) {
    s.records.push_back({v.height, v.round, static_cast<std::uint8_t>(v.kind), v.epoch, v.digest});
  }
  return s;
}

// The permit's epoch and its deadline on the boot clock. "deadline_boot_ms" (milliseconds of
// CLOCK_BOOTTIME, which every process of the host shares and which counts suspended time) is
// what the HA agent sends: an absolute deadline cannot be stretched by a request that sat in a
// socket buffer while the agent was stopped, nor by a suspend. "ttl_ms" (relative to now) is for
// an operator at a terminal. The CLOCK_MONOTONIC "deadline_mono_ms" of older agents is refused
// (it would outlive its lease across a suspend).
// "ceiling" (optional) is the highest height the permit covers: the HA agent raises it only
// after writing the height to its lease store.
struct PermitArgs {
  std::uint64_t epoch = 0;
  consensus::PermitClock::time_point deadline{};
  std::optional<std::uint64_t> ceiling;
};

Result<PermitArgs> permit_args(const json& request) {
  auto epoch = request.find("epoch");
  auto ttl = request.find("ttl_ms");
  auto deadline = request.find("deadline_boot_ms");
  const bool has_ttl = ttl != request.end() && ttl->is_number_unsigned();
  const bool has_deadline = deadline != request.end() && deadline->is_number_unsigned();
  if (request.contains("deadline_mono_ms")) {
    return make_error("control.bad_request",
                      "\"deadline_mono_ms\" (CLOCK_MONOTONIC) is no longer accepted: permits are "
                      "measured on CLOCK_BOOTTIME (\"deadline_boot_ms\"), which counts suspended "
                      "time; run an HA agent of the same corecell version as the node");
  }
  if (epoch == request.end() || !epoch->is_number_unsigned() || has_ttl == has_deadline) {
    return make_error("control.bad_request",
                      "permit commands need an unsigned integer \"epoch\" and exactly one of "
                      "\"ttl_ms\" or \"deadline_boot_ms\" (CLOCK_BOOTTIME milliseconds)");
  }
  PermitArgs a;
  if (auto ceiling = request.find("ceiling"); ceiling != request.end()) {
    if (!ceiling->is_number_unsigned()) {
      return make_error("control.bad_request", "\"ceiling\" must be an unsigned integer height");
    }
    a.ceiling = ceiling->get<std::uint64_t>();
  }
  a.epoch = epoch->get<std::uint64_t>();
  a.deadline =
      has_ttl ? consensus::PermitClock::now() + std::chrono::milliseconds(ttl->get<std::uint64_t>())
              : consensus::PermitClock::time_point(
                    std::chrono::milliseconds(deadline->get<std::uint64_t>()));
  return a;
}

}  // namespace

// Issue #16, path 1: a validator signs nothing until its node is in sync with the network —
// judged by its peers' heads, not its own (a CN rebuilt from an older snapshot has a head below
// heights it already signed at). Consensus may run meanwhile; its signatures are refused here
// (sign.not_in_sync) and re-sent by the Core once the gate opens (on_signer_ready). The gate opens
// once and stays open: a later lag is the SignGuard's and the chain's business, not a reason to
// stop voting.
class SyncGatedSigner final : public consensus::Signer {
 public:
  explicit SyncGatedSigner(consensus::SignGuard& guard) : guard_(guard) {}
  [[nodiscard]] Result<crypto::Signature> sign(const consensus::SignRequest& request) override {
    if (!open_) {
      ++refused_;
      return make_error("sign.not_in_sync",
                        "refusing to sign at height " + std::to_string(request.height) +
                            ": this node is not yet in sync with the network (its peers' heads)");
    }
    return guard_.sign(request);
  }
  [[nodiscard]] Address address() const override { return guard_.address(); }
  void open() { open_ = true; }
  [[nodiscard]] bool is_open() const { return open_; }
  [[nodiscard]] std::uint64_t refused() const { return refused_; }

 private:
  consensus::SignGuard& guard_;
  bool open_ = false;
  std::uint64_t refused_ = 0;
};

struct Validator::Impl {
  Impl(Node& n, TxPool& p, asio::io_context& i, ValidatorHooks h)
      : node(n), pool(p), io(i), hooks(std::move(h)), log(logger("consensus")) {}

  Node& node;
  TxPool& pool;
  asio::io_context& io;
  ValidatorHooks hooks;
  std::shared_ptr<spdlog::logger> log;
  std::unique_ptr<storage::SignJournal> journal;
  std::unique_ptr<consensus::SignGuard> guard;
  std::unique_ptr<SyncGatedSigner> gate;  // what the Core signs through
  // Without a sign state at start: the journal's highest height of this key, for the floor set
  // when the gate opens (above the network's head, not only our own).
  bool had_sign_state = false;
  std::atomic<bool> had_permit{false};  // a permit was granted to this process
  std::optional<std::uint64_t> highest_journaled;
  std::optional<consensus::Core> core;
  // Pending timers by event; a newer schedule for the same event replaces the older one.
  std::map<std::tuple<std::uint64_t, std::uint32_t, int>, std::unique_ptr<asio::steady_timer>>
      timers;
  bool stopped = false;
  std::uint64_t blocks_committed = 0;
  std::uint64_t block_period_s = 1;  // genesis config.istanbul.blockPeriod

  // Long polls of the HA agent (ceiling_wait): each answered once the SignGuard has refused a
  // height above `above` for the permit's ceiling, or when its timer fires.
  struct CeilingWaiter {
    std::uint64_t above = 0;
    ControlReply reply;
    std::unique_ptr<asio::steady_timer> timer;
  };
  std::map<std::uint64_t, CeilingWaiter> ceiling_waiters;
  std::uint64_t next_waiter_id = 0;

  json ceiling_answer() const {
    auto permit = guard->permit();
    return {{"wanted_height", guard->wanted_height()},
            {"ceiling", permit && permit->ceiling ? json(*permit->ceiling) : json(nullptr)}};
  }

  void answer_ceiling_waiters() {
    if (ceiling_waiters.empty()) return;
    const std::uint64_t wanted = guard->wanted_height();
    for (auto it = ceiling_waiters.begin(); it != ceiling_waiters.end();) {
      if (wanted > it->second.above) {
        it->second.timer->cancel();
        auto reply = std::move(it->second.reply);
        it = ceiling_waiters.erase(it);
        reply(ceiling_answer());
      } else {
        ++it;
      }
    }
  }

  storage::ChainStore& chain() { return node.chain(); }

  void run(consensus::Actions actions) {
    for (auto& action : actions) {
      std::visit([this](auto& a) { apply(a); }, action);
    }
    answer_ceiling_waiters();  // a signature refused above the ceiling: the agent raises it
    schedule_ceiling_ask();
  }

  // The next height is asked for kCeilingLead before its proposal is due (parent time + block
  // period), so the agent has replicated it when the proposal and the votes need it — a vote
  // of ours that waited on the store would reach the others after their quorum — while an
  // active lost between two blocks (most of the period) has not reserved the next height, so a
  // takeover can still sign there (see ha/agent.cpp raise_ceiling).
  static constexpr std::chrono::milliseconds kCeilingLead{50};
  std::uint64_t ceiling_asked_height = 0;
  std::unique_ptr<asio::steady_timer> ceiling_ask_timer;

  void schedule_ceiling_ask() {
    if (stopped || !core || !core->started()) return;
    const std::uint64_t height = core->height();
    const auto& parent = chain().head();
    if (height <= ceiling_asked_height || parent.number + 1 != height) return;
    const auto permit = guard->permit();
    if (!permit || !permit->ceiling || *permit->ceiling >= height) return;
    ceiling_asked_height = height;
    const std::uint64_t due_ms = (parent.time + block_period_s) * 1000;
    const std::uint64_t lead_ms = static_cast<std::uint64_t>(kCeilingLead.count());
    const std::uint64_t at_ms = due_ms > lead_ms ? due_ms - lead_ms : 0;
    const std::uint64_t now = unix_ms_now();
    ceiling_ask_timer = std::make_unique<asio::steady_timer>(
        io, std::chrono::milliseconds(at_ms > now ? at_ms - now : 0));
    ceiling_ask_timer->async_wait([this, height](std::error_code ec) {
      if (ec || stopped) return;
      guard->ask_for_height(height);
      answer_ceiling_waiters();
    });
  }

  // What this node broadcast at the current height, for peers that connect later; bounded
  // (a height with many rounds keeps its latest messages).
  std::uint64_t sent_height = 0;
  std::deque<Bytes> sent;

  void apply(consensus::Broadcast& b) {
    if (core->height() != sent_height) {
      sent.clear();
      sent_height = core->height();
    }
    sent.push_back(b.message);
    if (sent.size() > kMaxReplayMessages) sent.pop_front();
    hooks.broadcast(b.message);
  }

  void apply(consensus::ScheduleTimer& t) {
    const std::uint64_t now = unix_ms_now();
    auto delay = std::chrono::milliseconds(t.at_ms > now ? t.at_ms - now : 0);
    auto key = std::make_tuple(t.timer.height, t.timer.round, static_cast<int>(t.timer.kind));
    auto timer = std::make_unique<asio::steady_timer>(io, delay);
    auto event = t.timer;
    timer->async_wait([this, event](std::error_code ec) {
      if (ec || stopped) return;
      run(core->on_timer(event, unix_ms_now()));
    });
    timers[key] = std::move(timer);  // replacing cancels the older one
    // Forget timers of finished heights.
    while (!timers.empty() && std::get<0>(timers.begin()->first) + 1 < core->height()) {
      timers.erase(timers.begin());
    }
  }

  void apply(consensus::BuildProposal& b) {
    // Execute pending transactions on a copy of the head state (BlockBuilder mutates it).
    chain::State state = chain().state();
    const auto chain_id = chain().genesis().config.chain_id;
    chain::BlockBuilder builder(state, b.rewardbase, chain_id, std::nullopt, 0,
                                &node.sender_cache());
    for (const auto& tx : pool.pending_for_block(chain().state(), 4096)) {
      (void)builder.add(tx);  // a refused tx stays out of this block; the pool keeps or drops it
    }
    auto exec = builder.finish();
    chain::Block block;
    block.header.parent_hash = b.parent.hash();
    block.header.rewardbase = b.rewardbase;
    block.header.number = b.height;
    block.header.time = b.time;
    block.header.time_fos = b.time_fos;
    block.header.state_root = exec.state_root;
    block.header.transactions_root = exec.transactions_root;
    block.header.receipts_root = exec.receipts_root;
    block.header.gas_used = exec.gas_used;
    block.transactions = builder.transactions();
    run(core->on_proposal_built(std::move(block), unix_ms_now()));
  }

  void apply(consensus::CommitBlock& c) {
    const Hash32 hash = c.block.hash();
    auto verdict = chain().import_block(c.block, unix_ms_now() / 1000);
    if (!verdict.ok()) {
      log->error("importing decided block #{} failed: {}", c.block.header.number,
                 verdict.error().message);
      return;
    }
    if (!verdict->ok()) {
      log->error("decided block #{} {} refused by import: {}", c.block.header.number,
                 to_hex0x(hash), verdict->rejection().to_error().message);
      return;
    }
    if (verdict->outcome() == storage::ImportOutcome::Imported) {
      ++blocks_committed;
      log->info("committed block #{} {} round {} txs {} committers {}", c.block.header.number,
                to_hex0x(hash), c.round, c.block.transactions.size(), c.committers.size());
      hooks.committed(c.block, hash);
    }
    start_at_head();
  }

  void apply(consensus::RequestSync& r) {
    log->debug("consensus sees height {} from {}: the downloader follows announcements", r.height,
               crypto::to_checksum_hex(r.peer));
  }

  void apply(consensus::Note& n) {
    switch (n.level) {
      case consensus::NoteLevel::kDebug:
        log->debug("{}: {}", n.code, n.text);
        break;
      case consensus::NoteLevel::kInfo:
        log->info("{}: {}", n.code, n.text);
        break;
      case consensus::NoteLevel::kWarn:
        log->warn("{}: {}", n.code, n.text);
        break;
    }
  }

  void start_at_head() {
    const auto& head = chain().head();
    std::optional<Address> proposer;
    if (head.number > 0) {
      auto p = chain::recover_proposer(head);
      if (p.ok()) proposer = *p;
    }
    if (core->started() && core->height() > head.number) return;  // already there
    run(core->start_height(head, proposer, unix_ms_now()));
  }
};

Validator::Validator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Validator::~Validator() { stop(); }

Result<std::unique_ptr<Validator>> Validator::create(Node& node, TxPool& pool, asio::io_context& io,
                                                     ValidatorHooks hooks) {
  const auto& id = node.identity();
  const auto& council = node.chain().council();
  if (!council.contains(id.address)) {
    return make_error("validator.not_in_council",
                      crypto::to_checksum_hex(id.address) + " is not in the council");
  }
  auto impl = std::make_unique<Impl>(node, pool, io, std::move(hooks));
  const auto signstate = node.datadir().signstate();
  CC_TRY_ASSIGN(auto loaded, storage::load_sign_state(signstate));
  std::optional<consensus::SignGuardState> persisted;
  if (loaded) persisted = to_guard_state(*loaded);
  CC_TRY_ASSIGN(auto journal, storage::SignJournal::open(node.datadir().signjournal()));
  impl->journal = std::make_unique<storage::SignJournal>(std::move(journal));

  consensus::SignGuardHooks gh;
  gh.persist = [signstate](const consensus::SignGuardState& s) {
    return storage::save_sign_state(signstate, to_storage_state(s));
  };
  Impl* self = impl.get();
  gh.journal = [self](const consensus::SignatureRecord& r) {
    return self->journal->append(storage::make_journal_entry(
        r.address, r.request.height, r.request.round,
        std::string(consensus::to_string(r.request.kind)), r.request.digest, r.epoch));
  };
  consensus::SignGuardOptions go;
  go.require_permit = node.config().require_signing_permit;
  CC_TRY_ASSIGN(impl->guard, consensus::SignGuard::create(id.key, persisted, gh, go));
  impl->gate = std::make_unique<SyncGatedSigner>(*impl->guard);
  impl->had_sign_state = loaded.has_value();
  if (!loaded) {
    // No sign state (a fresh validator, or a deleted file): sign nothing at a height this key
    // may already have signed at — not at or below the head, and not at or below any height in
    // the journal of this DATA_DIR (unless the operator overrides that). The network's head is
    // added once the node is in sync (on_sync_view).
    std::optional<std::uint64_t>& highest_journaled = impl->highest_journaled;
    auto journaled = storage::read_journal(node.datadir().signjournal());
    if (journaled.ok()) {
      for (const auto& e : journaled->entries) {
        if (e.address == id.address) {
          highest_journaled = std::max(highest_journaled.value_or(0), e.height);
        }
      }
    }
    const bool ignore = node.config().unsafe_ignore_sign_journal;
    const std::uint64_t floor =
        consensus::floor_without_sign_state(node.chain().head().number, highest_journaled, ignore);
    CC_TRY_STATUS(impl->guard->set_floor(floor));
    if (ignore && highest_journaled && *highest_journaled >= floor) {
      impl->log->error(
          "no sign state at {} and --unsafe-ignore-sign-journal: signing from height {} although "
          "the journal shows signatures up to height {}; this key may now sign a second, "
          "different message at those heights (a double signature)",
          signstate.string(), floor, *highest_journaled);
    } else {
      impl->log->warn(
          "no sign state at {}: signing starts at height {} (above the head and the journal)",
          signstate.string(), floor);
    }
  }

  consensus::Config cc(council, id.address);
  cc.block_period_s = node.chain().genesis().config.istanbul.block_period;
  impl->block_period_s = cc.block_period_s;
  CC_TRY_ASSIGN(auto core, consensus::Core::create(std::move(cc), *impl->gate));
  impl->core.emplace(std::move(core));
  impl->log->info("validator {}: consensus ready (signing permit {})",
                  crypto::to_checksum_hex(id.address),
                  go.require_permit ? "required" : "not required");
  return std::unique_ptr<Validator>(new Validator(std::move(impl)));
}

void Validator::start() { impl_->start_at_head(); }

bool Validator::waiting_for_sync() const { return !impl_->stopped && !impl_->gate->is_open(); }

void Validator::on_sync_view(bool in_sync, std::uint64_t network_head) {
  if (impl_->stopped || impl_->gate->is_open() || !in_sync) return;
  const std::uint64_t head = std::max(network_head, impl_->chain().head().number);
  if (!impl_->had_sign_state) {
    // Without a sign state, above the network's head too: a head restored from an older
    // snapshot is below heights this key may have signed at, the network's is not.
    const std::uint64_t floor = consensus::floor_without_sign_state(
        head, impl_->highest_journaled, impl_->node.config().unsafe_ignore_sign_journal);
    if (auto st = impl_->guard->set_floor(floor); !st.ok()) {
      impl_->log->error("validator: raising the signing floor to #{}: {}", floor,
                        st.error().message);
    }
    impl_->log->warn("no sign state: in sync with the network at #{}; signing starts at #{}", head,
                     std::max(floor, impl_->guard->state().floor));
  } else {
    impl_->log->info("validator: in sync with the network at #{}; signing may start", head);
  }
  impl_->gate->open();
  impl_->run(impl_->core->on_signer_ready(unix_ms_now()));
}

Status Validator::on_message(ByteView encoded) {
  auto msg = consensus::decode_message(encoded, impl_->core->decode_limits());
  if (!msg.ok()) return msg.error();
  impl_->run(impl_->core->on_message(*msg, unix_ms_now()));
  return ok_status();
}

void Validator::replay_current_height(const std::function<void(const Bytes&)>& send) const {
  if (impl_->stopped || !impl_->core || impl_->core->height() != impl_->sent_height) return;
  for (const auto& message : impl_->sent) send(message);
}

void Validator::on_head_moved() {
  if (impl_->stopped) return;
  const auto& head = impl_->chain().head();
  if (impl_->core->started() && head.number < impl_->core->height()) return;
  impl_->run(impl_->core->on_block_committed_elsewhere(head, unix_ms_now()));
}

void Validator::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  impl_->timers.clear();
  impl_->ceiling_ask_timer.reset();
  for (auto& [id, waiter] : impl_->ceiling_waiters) waiter.timer->cancel();
  impl_->ceiling_waiters.clear();
}

Result<json> Validator::permit_grant(const json& request) {
  CC_TRY_ASSIGN(auto args, permit_args(request));
  // An HA takeover grants with a floor: the lowest height this process may sign at, above every
  // height the previous holder of the key may have signed at (SIGN-1 across a takeover). It is
  // raised (and persisted) before the permit exists, so no signature can slip in between.
  if (auto floor = request.find("floor"); floor != request.end()) {
    if (!floor->is_number_unsigned()) {
      return make_error("control.bad_request", "\"floor\" must be an unsigned integer height");
    }
    CC_TRY_STATUS(impl_->guard->set_floor(floor->get<std::uint64_t>()));
    impl_->log->info("validator: signing floor raised to #{} by the permit grant",
                     floor->get<std::uint64_t>());
  }
  CC_TRY_STATUS(impl_->guard->grant_permit(args.epoch, args.deadline, args.ceiling));
  impl_->had_permit = true;
  impl_->log->info("validator: signing permit granted (epoch {}, ceiling {})", args.epoch,
                   args.ceiling ? "#" + std::to_string(*args.ceiling) : "none");
  // A proposal refused for want of a permit goes out now, not after a round timeout.
  if (!impl_->stopped) impl_->run(impl_->core->on_signer_ready(unix_ms_now()));
  return status_json();
}

bool Validator::permit_lapsed() const {
  if (!impl_->had_permit.load()) return false;
  const auto permit = impl_->guard->permit();
  return !permit || consensus::PermitClock::now() >= permit->deadline;
}

Result<json> Validator::permit_renew(const json& request) {
  CC_TRY_ASSIGN(auto args, permit_args(request));
  const auto before = impl_->guard->permit();
  CC_TRY_STATUS(impl_->guard->renew_permit(args.epoch, args.deadline, args.ceiling));
  const auto after = impl_->guard->permit();
  // A raised ceiling: the votes and proposal refused above the old one go out now.
  const bool raised = before && after && before->ceiling != after->ceiling;
  if (raised && !impl_->stopped) impl_->run(impl_->core->on_signer_ready(unix_ms_now()));
  return status_json();
}

void Validator::ceiling_wait(const json& request, ControlReply reply) {
  auto above = request.find("above");
  auto timeout = request.find("timeout_ms");
  if (above == request.end() || !above->is_number_unsigned() ||
      (timeout != request.end() &&
       (!timeout->is_number_unsigned() || timeout->get<std::uint64_t>() > 60000))) {
    reply(make_error("control.bad_request",
                     "ceiling_wait needs an unsigned integer \"above\" (the ceiling the agent "
                     "granted) and optionally \"timeout_ms\" (at most 60000)"));
    return;
  }
  const std::uint64_t above_height = above->get<std::uint64_t>();
  if (impl_->stopped || impl_->guard->wanted_height() > above_height) {
    reply(impl_->ceiling_answer());
    return;
  }
  const auto wait =
      std::chrono::milliseconds(timeout == request.end() ? 1000 : timeout->get<std::uint64_t>());
  const std::uint64_t id = impl_->next_waiter_id++;
  auto timer = std::make_unique<asio::steady_timer>(impl_->io, wait);
  timer->async_wait([impl = impl_.get(), id](std::error_code ec) {
    if (ec) return;
    auto it = impl->ceiling_waiters.find(id);
    if (it == impl->ceiling_waiters.end()) return;
    auto r = std::move(it->second.reply);
    impl->ceiling_waiters.erase(it);
    r(impl->ceiling_answer());
  });
  impl_->ceiling_waiters.emplace(
      id, Impl::CeilingWaiter{above_height, std::move(reply), std::move(timer)});
}

Result<json> Validator::permit_revoke(const json&) {
  impl_->guard->revoke_permit();
  impl_->log->info("validator: signing permit revoked");
  return status_json();
}

json Validator::status_json() const {
  json s;
  s["height"] = impl_->core->height();
  s["round"] = impl_->core->round();
  s["blocks_committed"] = impl_->blocks_committed;
  auto permit = impl_->guard->permit();
  if (permit) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        permit->deadline - consensus::PermitClock::now());
    s["permit"] = {{"epoch", permit->epoch},
                   {"ms_left", left.count()},
                   {"ceiling", permit->ceiling ? json(*permit->ceiling) : json(nullptr)}};
  } else {
    s["permit"] = nullptr;
  }
  auto stats = impl_->guard->stats();
  s["signatures"] = stats.signatures;
  s["refusals"] = stats.refusals;
  s["persist_failures"] = stats.persist_failures;
  s["wanted_height"] = impl_->guard->wanted_height();
  const auto state = impl_->guard->state();
  s["last_signed_height"] = state.max_height;
  s["sign_floor"] = state.floor;
  s["max_epoch"] = state.max_epoch;
  s["permit_required"] = impl_->node.config().require_signing_permit;
  s["in_sync_gate"] = impl_->gate->is_open() ? "open" : "waiting for the network";
  s["refused_not_in_sync"] = impl_->gate->refused();
  return s;
}

}  // namespace cc::node
