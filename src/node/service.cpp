#include "node/service.h"

#include <pthread.h>

#include <asio.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <deque>
#include <future>
#include <map>
#include <optional>
#include <thread>
#include <unordered_set>

#include "chain/verify.h"
#include "crypto/address.h"
#include "node/chain_server.h"
#include "node/control.h"
#include "node/propagation.h"
#include "node/protocol.h"
#include "node/sync.h"
#include "node/txpool.h"
#include "node/validator.h"
#include "p2p/admission.h"
#include "p2p/peer_manager.h"
#include "p2p/static_nodes.h"
#include "util/clock.h"
#include "util/log.h"

namespace cc::node {
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kTickInterval = std::chrono::milliseconds(200);
// A peer that becomes ready gets at most this many of our executable transactions, in messages
// of kPoolSyncBatch.
constexpr std::size_t kPoolSyncMax = 4096;
constexpr std::size_t kPoolSyncBatch = 256;
// How many block/tx hashes we remember per peer as "it has this" (oldest forgotten first).
constexpr std::size_t kKnownBlocksPerPeer = 1024;
constexpr std::size_t kKnownTxsPerPeer = 32768;
// A node at most this many blocks behind its best peer counts as in sync.
constexpr std::uint64_t kInSyncLag = 2;

p2p::NodeType node_type_of(Role role) {
  switch (role) {
    case Role::cn:
      return p2p::NodeType::kCN;
    case Role::pn:
      return p2p::NodeType::kPN;
    case Role::en:
      return p2p::NodeType::kEN;
  }
  return p2p::NodeType::kEN;
}

// A set that forgets its oldest entries beyond a capacity (what a peer is known to have).
class KnownSet {
 public:
  explicit KnownSet(std::size_t capacity) : capacity_(capacity) {}
  void insert(const Hash32& h) {
    if (!set_.insert(h).second) return;
    order_.push_back(h);
    if (order_.size() > capacity_) {
      set_.erase(order_.front());
      order_.pop_front();
    }
  }
  [[nodiscard]] bool contains(const Hash32& h) const { return set_.count(h) != 0; }

 private:
  std::size_t capacity_;
  std::unordered_set<Hash32, Hash32Hasher> set_;
  std::deque<Hash32> order_;
};

struct PeerState {
  explicit PeerState(p2p::PeerInfo peer) : info(std::move(peer)) {}
  p2p::PeerInfo info;
  std::optional<StatusMsg> status;  // the peer's Status; nothing else is accepted before it
  std::uint64_t head_number = 0;    // highest block it has shown us it has
  KnownSet known_blocks{kKnownBlocksPerPeer};
  KnownSet known_txs{kKnownTxsPerPeer};
};

SyncTime sync_now() { return SyncTime{Clock::now(), unix_seconds_now()}; }

}  // namespace

struct Service::Impl final : SyncIo {
  explicit Impl(std::unique_ptr<Node> started)
      : node(std::move(started)), tick_timer(io), control(io), log(logger("node")) {}

  std::unique_ptr<Node> node;
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread thread;
  asio::steady_timer tick_timer;
  ControlServer control;
  std::shared_ptr<spdlog::logger> log;

  // Everything below is touched on cc-node only (after start).
  std::unique_ptr<p2p::PeerManager> peers;
  std::unique_ptr<TxPool> pool;
  std::unique_ptr<Downloader> downloader;
  std::unique_ptr<Validator> validator;  // council CNs only
  std::map<p2p::ConnId, PeerState> peer_states;
  std::uint64_t network_id = 0;
  Hash32 last_announced_head{};
  Clock::time_point last_second_tick{};
  std::uint16_t bound_port = 0;
  bool stopped = false;
  // Cleared by stop() before the node winds down: Service::post refuses new work after that.
  std::atomic<bool> accepting{true};

  storage::ChainStore& chain() { return node->chain(); }

  // --- SyncIo (called by the Downloader on cc-node) ---
  void send(PeerKey peer, const Message& message) override { send_message(peer, message); }
  void drop_peer(PeerKey peer, std::string reason) override { drop(peer, reason); }

  std::string describe(p2p::ConnId id) const {
    auto it = peer_states.find(id);
    if (it == peer_states.end()) return "#" + std::to_string(id);
    const auto& p = it->second.info;
    return std::string(p2p::node_type_name(p.type)) + " " + to_hex(p.node_id).substr(0, 16) + " " +
           p.remote_ip + ":" + std::to_string(p.remote_port);
  }

  void send_message(p2p::ConnId peer, const Message& message) {
    Bytes payload = encode_payload(message);
    auto st = peers->send(peer, static_cast<std::uint8_t>(code_of(message)), payload);
    if (!st.ok()) {
      log->debug("send {} to {} failed: {}", msg_code_name(code_of(message)), describe(peer),
                 st.error().message);
    }
  }

  void drop(p2p::ConnId peer, const std::string& reason) {
    log->warn("dropping peer {}: {}", describe(peer), reason);
    peers->disconnect(peer, reason);
  }

  StatusMsg our_status() {
    StatusMsg st;
    st.network_id = network_id;
    st.genesis_hash = chain().genesis_hash();
    st.head_number = chain().head().number;
    st.head_hash = chain().head_hash();
    return st;
  }

  // --- peer events (posted from cc-net) ---
  void on_peer_added(const p2p::PeerInfo& peer) {
    if (stopped) return;
    peer_states.emplace(peer.id, PeerState(peer));
    log->info("peer connected: {} ({})", describe(peer.id), peer.inbound ? "inbound" : "outbound");
    send_message(peer.id, our_status());
  }

  void on_peer_removed(const p2p::PeerInfo& peer, const Error& reason) {
    if (stopped) return;
    if (peer_states.erase(peer.id) == 0) return;
    log->info("peer disconnected: {} {} ({})", p2p::node_type_name(peer.type),
              to_hex(peer.node_id).substr(0, 16), reason.message);
    downloader->remove_peer(peer.id, sync_now());
    after_chain_activity();
  }

  void on_message(const p2p::PeerInfo& peer, std::uint8_t code, const Bytes& payload) {
    if (stopped) return;
    auto it = peer_states.find(peer.id);
    if (it == peer_states.end()) return;  // removed meanwhile
    PeerState& ps = it->second;
    if (code == kConsensusCode) {
      on_consensus_message(ps, payload);
      after_chain_activity();
      return;
    }
    auto decoded = decode_message(code, payload);
    if (!decoded.ok()) {
      drop(peer.id, "malformed message: " + decoded.error().message);
      return;
    }
    Message& msg = *decoded;
    if (!ps.status && !std::holds_alternative<StatusMsg>(msg)) {
      drop(peer.id,
           std::string("protocol: ") + std::string(msg_code_name(code_of(msg))) + " before status");
      return;
    }
    std::visit([&](auto& m) { handle(ps, m); }, msg);
    after_chain_activity();
    offer_sync_view();
  }

  void on_consensus_message(PeerState& ps, const Bytes& payload) {
    if (!ps.status) {
      drop(ps.info.id, "protocol: consensus message before status");
      return;
    }
    if (!validator) return;  // not a validator: consensus traffic is not ours to judge
    auto st = validator->on_message(payload);
    if (!st.ok()) drop(ps.info.id, "malformed consensus message: " + st.error().message);
  }

  // To every ready council CN peer.
  void broadcast_consensus(const Bytes& message) {
    for (auto& [id, ps] : peer_states) {
      if (!ps.status || ps.info.type != p2p::NodeType::kCN) continue;
      if (!chain().council().contains(crypto::address_of(ps.info.node_id))) continue;
      auto st = peers->send(id, kConsensusCode, message);
      if (!st.ok()) log->debug("consensus send to {}: {}", describe(id), st.error().message);
    }
  }

  void handle(PeerState& ps, StatusMsg& st) {
    if (ps.status) {
      drop(ps.info.id, "protocol: second status");
      return;
    }
    if (st.version != kChainProtocolVersion) {
      drop(ps.info.id, "chain protocol version " + std::to_string(st.version) + ", we speak " +
                           std::to_string(kChainProtocolVersion));
      return;
    }
    if (st.network_id != network_id || st.genesis_hash != chain().genesis_hash()) {
      drop(ps.info.id, "other network: network ID " + std::to_string(st.network_id) + " genesis " +
                           to_hex0x(st.genesis_hash) + ", ours " + std::to_string(network_id) +
                           " " + to_hex0x(chain().genesis_hash()));
      return;
    }
    ps.status = st;
    ps.head_number = st.head_number;
    ps.known_blocks.insert(st.head_hash);
    downloader->add_peer(ps.info.id, st, sync_now());
    send_pool_to(ps);
    if (validator && ps.info.type == p2p::NodeType::kCN &&
        chain().council().contains(crypto::address_of(ps.info.node_id))) {
      const p2p::ConnId id = ps.info.id;
      validator->replay_current_height([this, id](const Bytes& message) {
        auto sent = peers->send(id, kConsensusCode, message);
        if (!sent.ok())
          log->debug("consensus replay to {}: {}", describe(id), sent.error().message);
      });
    }
  }

  void handle(PeerState& ps, NewBlockHashesMsg& m) {
    const BlockAnnouncement* best = nullptr;
    for (const auto& a : m.announcements) {
      ps.known_blocks.insert(a.hash);
      if (!best || a.number > best->number) best = &a;
    }
    if (best == nullptr) return;
    if (best->number > ps.head_number) ps.head_number = best->number;
    if (best->number > chain().head().number) {
      downloader->on_announcement(ps.info.id, best->number, best->hash, sync_now());
    }
  }

  void handle(PeerState& ps, NewBlockMsg& m) {
    const chain::Block& block = m.block;
    const Hash32 hash = block.hash();
    const std::uint64_t number = block.header.number;
    ps.known_blocks.insert(hash);
    if (number > ps.head_number) ps.head_number = number;
    const auto& head = chain().head();
    if (number <= head.number) return;  // known or conflicting: import's rule 1 (no forks)
    if (number > head.number + 1 || block.header.parent_hash != chain().head_hash()) {
      downloader->on_announcement(ps.info.id, number, hash, sync_now());
      return;
    }
    auto verdict = chain().import_block(block, sync_now().unix_seconds);
    if (!verdict.ok()) {
      log->error("importing block #{} from {} failed: {}", number, describe(ps.info.id),
                 verdict.error().message);
      return;
    }
    if (!verdict->ok()) {
      const auto& r = verdict->rejection();
      drop(ps.info.id, "invalid block: " + r.to_error().message);
      return;
    }
    if (verdict->outcome() == storage::ImportOutcome::Imported) {
      log->info("imported block #{} {} ({} txs) from {}", number, to_hex0x(hash),
                block.transactions.size(), describe(ps.info.id));
      on_block_imported(block, hash);
      downloader->on_head_moved(sync_now());
      if (validator) validator->on_head_moved();
    }
  }

  void handle(PeerState& ps, TransactionsMsg& m) {
    std::vector<chain::Transaction> fresh;
    const auto now = Clock::now();
    for (const auto& tx : m.transactions) {
      const Hash32 h = tx.hash();
      ps.known_txs.insert(h);
      auto v = pool->add(tx, chain().state(), now);
      if (v.ok()) {
        fresh.push_back(tx);
        continue;
      }
      if (v.rejection().peer_fault()) {
        drop(ps.info.id, "invalid transaction: " + v.rejection().to_error().message);
        return;
      }
    }
    relay_transactions(fresh);
  }

  void handle(PeerState& ps, GetBlockHeadersMsg& m) {
    auto reply = serve_headers(chain().db(), m);
    if (!reply.ok()) {
      log->error("serving headers to {}: {}", describe(ps.info.id), reply.error().message);
      return;
    }
    send_message(ps.info.id, *reply);
  }

  void handle(PeerState& ps, GetBlockBodiesMsg& m) {
    auto reply = serve_bodies(chain().db(), m);
    if (!reply.ok()) {
      log->error("serving bodies to {}: {}", describe(ps.info.id), reply.error().message);
      return;
    }
    send_message(ps.info.id, *reply);
  }

  void handle(PeerState& ps, BlockHeadersMsg& m) {
    downloader->on_headers(ps.info.id, std::move(m), sync_now());
  }

  void handle(PeerState& ps, BlockBodiesMsg& m) {
    downloader->on_bodies(ps.info.id, std::move(m), sync_now());
  }

  // --- propagation ---
  void on_block_imported(const chain::Block& block, const Hash32& hash) {
    pool->on_new_head(chain().state());
    std::vector<PropagationPeer> targets;
    for (auto& [id, ps] : peer_states) {
      if (!ps.status) continue;
      targets.push_back({id, ps.info.type, ps.known_blocks.contains(hash)});
    }
    auto plan = plan_block_propagation(node->config().role, targets);
    NewBlockMsg push{block};
    for (auto id : plan.push) {
      peer_states.at(id).known_blocks.insert(hash);
      send_message(id, push);
    }
    NewBlockHashesMsg announce{{{hash, block.header.number}}};
    for (auto id : plan.announce) {
      peer_states.at(id).known_blocks.insert(hash);
      send_message(id, announce);
    }
    last_announced_head = hash;
  }

  // After the downloader moved the head (batches), tell peers that are behind about the new
  // head so they can pull: Kaia announces the head after a sync import too.
  void after_chain_activity() {
    if (stopped) return;
    const Hash32 head = chain().head_hash();
    if (head == last_announced_head) return;
    last_announced_head = head;
    pool->on_new_head(chain().state());
    if (validator) validator->on_head_moved();
    const std::uint64_t number = chain().head().number;
    NewBlockHashesMsg announce{{{head, number}}};
    for (auto& [id, ps] : peer_states) {
      if (!ps.status || ps.known_blocks.contains(head) || ps.head_number >= number) continue;
      ps.known_blocks.insert(head);
      send_message(id, announce);
    }
  }

  // A transaction accepted while no relaying peer was ready (an EN that took a transfer before
  // its PN connected) went to nobody; with a nonce gap behind it, every later transfer of that
  // sender waited for ever. So a peer that becomes ready gets our executable transactions, as
  // Kaia and geth hand a new peer their pending ones (DATA-1).
  void send_pool_to(PeerState& ps) {
    if (!relays_transactions_to(node->config().role, ps.info.type)) return;
    TransactionsMsg out;
    for (auto& tx : pool->pending_for_block(chain().state(), kPoolSyncMax)) {
      const Hash32 h = tx.hash();
      if (ps.known_txs.contains(h)) continue;
      ps.known_txs.insert(h);
      out.transactions.push_back(std::move(tx));
      if (out.transactions.size() == kPoolSyncBatch) {
        send_message(ps.info.id, out);
        out.transactions.clear();
      }
    }
    if (!out.transactions.empty()) send_message(ps.info.id, out);
  }

  void relay_transactions(const std::vector<chain::Transaction>& txs) {
    if (txs.empty()) return;
    for (auto& [id, ps] : peer_states) {
      if (!ps.status || !relays_transactions_to(node->config().role, ps.info.type)) continue;
      TransactionsMsg out;
      for (const auto& tx : txs) {
        const Hash32 h = tx.hash();
        if (ps.known_txs.contains(h)) continue;
        ps.known_txs.insert(h);
        out.transactions.push_back(tx);
      }
      if (!out.transactions.empty()) send_message(id, out);
    }
  }

  // --- timers ---
  void schedule_tick() {
    tick_timer.expires_after(kTickInterval);
    tick_timer.async_wait([this](std::error_code ec) {
      if (ec || stopped) return;
      const auto now = Clock::now();
      peers->tick(now);
      if (now - last_second_tick >= std::chrono::seconds(1)) {
        last_second_tick = now;
        downloader->tick(sync_now());
        pool->evict_expired(now);
        after_chain_activity();
      }
      offer_sync_view();  // a sole validator is in sync without any message arriving
      follow_permit();
      schedule_tick();
    });
  }

  // --- seals: the chain as a witness (HA) ---
  // {"cmd":"seals","address":"0x..","depth":N}: which of the newest N blocks (N <= 256) carry a
  // proposer or commit seal by `address`. A standby's agent asks this before taking over: a
  // fresh seal by the validator it is about to become means the old active still signs.
  // {"cmd":"checkpoint","dir":"/abs/path"}: a RocksDB checkpoint of the chaindata (online
  // snapshots, snapshot/create.h). It runs here on cc-node, between block imports, so the head
  // reported is exactly the checkpoint's head.
  Result<json> checkpoint_json(const json& request) {
    auto dir_field = request.find("dir");
    if (dir_field == request.end() || !dir_field->is_string() ||
        !std::filesystem::path(dir_field->get<std::string>()).is_absolute()) {
      return make_error("control.bad_request", "checkpoint needs \"dir\": an absolute path");
    }
    const std::filesystem::path dir = dir_field->get<std::string>();
    const auto t0 = std::chrono::steady_clock::now();
    CC_TRY_STATUS(chain().db().checkpoint(dir));
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    log->info("chaindata checkpoint at #{} in {} ({} ms)", chain().head().number, dir.string(), ms);
    return json{
        {"dir", dir.string()},
        {"chainId", chain().genesis().config.chain_id},
        {"genesisHash", to_hex0x(chain().genesis_hash())},
        {"head", {{"number", chain().head().number}, {"hash", to_hex0x(chain().head_hash())}}},
        {"milliseconds", ms}};
  }

  Result<json> seals_json(const json& request) {
    auto addr_field = request.find("address");
    if (addr_field == request.end() || !addr_field->is_string()) {
      return make_error("control.bad_request", "seals needs \"address\": \"0x...\"");
    }
    auto address = crypto::parse_address(addr_field->get<std::string>());
    if (!address.ok()) return make_error("control.bad_request", address.error().message);
    std::uint64_t depth = 16;
    if (auto d = request.find("depth"); d != request.end()) {
      if (!d->is_number_unsigned() || d->get<std::uint64_t>() == 0 ||
          d->get<std::uint64_t>() > 256) {
        return make_error("control.bad_request", "\"depth\" must be an integer 1..256");
      }
      depth = d->get<std::uint64_t>();
    }
    const std::uint64_t head = chain().head().number;
    json sealed = json::array();
    std::optional<std::uint64_t> last;
    for (std::uint64_t n = head; n >= 1 && head - n < depth; --n) {
      auto block = chain().db().block_by_number(n);
      if (!block.ok()) return block.error();
      if (!*block) break;
      const auto& header = (*block)->header;
      bool by_address = false;
      if (auto proposer = chain::recover_proposer(header); proposer.ok()) {
        by_address = *proposer == *address;
      }
      if (!by_address) {
        auto committers = chain::verify_committed_seals(header, chain().council());
        if (committers.ok()) {
          const auto& c = committers.value();
          by_address = std::find(c.begin(), c.end(), *address) != c.end();
        }
      }
      if (by_address) {
        sealed.push_back(n);
        if (!last) last = n;
      }
    }
    json out;
    out["head"] = head;
    out["address"] = crypto::to_checksum_hex(*address);
    out["depth"] = depth;
    out["sealed"] = sealed;
    out["last_sealed"] = last ? json(*last) : json(nullptr);
    return out;
  }

  // --- status ---
  struct SyncView {
    SyncStatus downloader;
    std::uint64_t network_head = 0;  // the highest head we know of: peers', the downloader's, ours
    std::uint64_t lag = 0;           // network_head - our head
    bool in_sync = false;
  };
  // In sync: not downloading and at most kInSyncLag blocks behind the best peer (a block is in
  // flight every second), with at least one peer to compare against (a sole validator makes
  // the chain itself).
  SyncView sync_view() {
    SyncView v;
    v.downloader = downloader->status();
    std::uint64_t best_peer_head = 0;
    std::size_t ready_peers = 0;
    for (const auto& [conn, ps] : peer_states) {
      if (!ps.status) continue;
      ++ready_peers;
      best_peer_head = std::max(best_peer_head, ps.head_number);
    }
    const std::uint64_t head_number = chain().head().number;
    v.network_head = std::max({v.downloader.highest_block, best_peer_head, head_number});
    v.lag = v.network_head - head_number;
    const bool sole_validator =
        chain().council().size() == 1 && chain().council().contains(node->identity().address);
    v.in_sync = !v.downloader.syncing && v.lag <= kInSyncLag && (ready_peers > 0 || sole_validator);
    return v;
  }

  // Issue #17: a validator whose permit lapsed (its agent hung, frozen or gone; the lease about
  // to expire) leaves the network — its listener on the cell's address closed, its peers
  // dropped — so the next active can take the address and the PNs' connections for this node
  // ID while this process still runs. A new permit brings it back.
  // Not inlined into the tick: GCC 12 then reports a false -Wdangling-pointer in the lambda.
  [[gnu::noinline]] void follow_permit() {
    if (!validator) return;
    const bool lapsed = validator->permit_lapsed();
    if (lapsed == peers->offline()) return;
    auto st = peers->set_offline(
        lapsed, lapsed ? "the signing permit lapsed: leaving the network to the next active"
                       : "signing permit granted again");
    if (!st.ok()) {
      log->warn("node: {}: {}", lapsed ? "going offline" : "coming back online",
                st.error().message);
    }
  }

  // The validator signs nothing until the node is in sync with the network (validator.h).
  void offer_sync_view() {
    if (!validator || !validator->waiting_for_sync()) return;
    const auto v = sync_view();
    validator->on_sync_view(v.in_sync, v.network_head);
  }

  json status_json() {
    const auto& cfg = node->config();
    const auto& id = node->identity();
    json s;
    s["role"] = std::string(role_name(cfg.role));
    s["address"] = crypto::to_checksum_hex(id.address);
    s["node_id"] = to_hex(id.node_id);
    s["kni"] = node->kni_url();
    s["validator"] = chain().council().contains(id.address);
    // Whether this process signs only under an HA agent's permit: the agent checks it on its
    // standby node (same command line) before the validator key is ever installed.
    s["signing_permit_required"] = cfg.require_signing_permit;
    s["p2p_port"] = bound_port;
    // A validator whose signing permit lapsed has left the network (follow_permit).
    s["p2p_offline"] = peers->offline();
    s["head"] = {{"number", chain().head().number}, {"hash", to_hex0x(chain().head_hash())}};
    const auto view = sync_view();
    const auto& sync = view.downloader;
    s["sync"] = {{"syncing", sync.syncing},
                 {"startingBlock", sync.starting_block},
                 {"currentBlock", sync.current_block},
                 {"highestBlock", sync.highest_block},
                 {"lag", view.lag}};
    s["in_sync"] = view.in_sync;
    s["council_size"] = chain().council().size();
    s["committee_size"] = chain().council().size();  // round-robin: the committee is the council
    json plist = json::array();
    for (const auto& [conn, ps] : peer_states) {
      plist.push_back({{"type", std::string(p2p::node_type_name(ps.info.type))},
                       {"node_id", to_hex(ps.info.node_id)},
                       {"address", crypto::to_checksum_hex(crypto::address_of(ps.info.node_id))},
                       {"inbound", ps.info.inbound},
                       {"remote", ps.info.remote_ip + ":" + std::to_string(ps.info.remote_port)},
                       {"head", ps.head_number},
                       {"ready", ps.status.has_value()}});
    }
    s["peers"] = plist;
    json by_type = json::object();
    for (const auto& [type, n] : peers->peer_count_by_type()) {
      by_type[std::string(p2p::node_type_name(type))] = n;
    }
    s["peers_by_type"] = by_type;
    json rejections = json::object();
    for (const auto& [reason, n] : peers->rejection_counts()) rejections[reason] = n;
    s["rejections"] = rejections;
    json statics = json::array();
    for (const auto& sn : peers->static_nodes()) {
      statics.push_back(
          {{"kni", sn.url.to_string()}, {"connected", sn.connected}, {"failures", sn.failures}});
    }
    s["static_nodes"] = statics;
    s["txpool"] = {{"pending", pool->pending_count()}, {"queued", pool->queued_count()}};
    s["consensus"] = validator ? validator->status_json() : json(nullptr);
    const auto& stats = downloader->stats();
    s["downloader"] = {{"blocks_imported", stats.blocks_imported},
                       {"peers_dropped", stats.peers_dropped}};
    return s;
  }
};

namespace {

// NodeAccess over the service's state; lives on cc-node for the duration of one call.
class ServiceAccess final : public NodeAccess {
 public:
  ServiceAccess(const Node& node, storage::ChainStore& chain, TxPool& pool,
                const Downloader& downloader, std::uint64_t network_id,
                std::function<void(const std::vector<chain::Transaction>&)> relay,
                std::function<json()> status)
      : node_(node),
        chain_(chain),
        pool_(pool),
        downloader_(downloader),
        network_id_(network_id),
        relay_(std::move(relay)),
        status_(std::move(status)) {}

  const Node& node() const override { return node_; }
  const storage::ChainStore& chain() const override { return chain_; }
  const TxPool& pool() const override { return pool_; }
  SyncStatus sync_status() const override { return downloader_.status(); }
  std::uint64_t network_id() const override { return network_id_; }
  TxPoolVerdict submit_transaction(const chain::Transaction& tx) override {
    auto verdict = pool_.add(tx, chain_.state(), Clock::now());
    if (verdict.ok()) relay_({tx});
    return verdict;
  }
  json status() override { return status_(); }

 private:
  const Node& node_;
  storage::ChainStore& chain_;
  TxPool& pool_;
  const Downloader& downloader_;
  std::uint64_t network_id_;
  std::function<void(const std::vector<chain::Transaction>&)> relay_;
  std::function<json()> status_;
};

}  // namespace

bool Service::post(std::function<void(NodeAccess&)> fn) {
  if (!impl_ || !impl_->accepting.load()) return false;
  Impl* s = impl_.get();
  asio::post(s->io, [s, fn = std::move(fn)] {
    ServiceAccess access(
        *s->node, s->chain(), *s->pool, *s->downloader, s->network_id,
        [s](const std::vector<chain::Transaction>& txs) { s->relay_transactions(txs); },
        [s] { return s->status_json(); });
    fn(access);
  });
  return true;
}

Service::Service(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Service::~Service() { stop(); }

Result<std::unique_ptr<Service>> Service::start(std::unique_ptr<Node> node) {
  auto impl = std::make_unique<Impl>(std::move(node));
  Impl& s = *impl;
  const NodeConfig& cfg = s.node->config();
  const auto type = node_type_of(cfg.role);
  s.network_id = cfg.network_id.value_or(s.chain().genesis().config.chain_id);

  CC_TRY_ASSIGN(auto policy, p2p::make_admission_policy(type, s.chain().council().validators(),
                                                        cfg.cn_allowlist, cfg.proxy_nodes));
  CC_TRY_ASSIGN(auto statics, p2p::load_static_nodes(s.node->datadir().root()));
  for (const auto& w : statics.warnings) s.log->warn("{}", w);
  // PROXY_NODES given as kni URLs are kept connected like static nodes (a CN keeps its PNs).
  CC_TRY_ASSIGN(auto proxies, p2p::parse_proxy_nodes(cfg.proxy_nodes));
  for (const auto& url : proxies.urls) {
    bool listed = false;
    for (const auto& n : statics.nodes) listed = listed || n.node_id == url.node_id;
    if (!listed) statics.nodes.push_back(url);
  }
  if (statics.path) {
    s.log->info("static nodes: {} from {}", statics.nodes.size(), statics.path->string());
  }
  // An HA standby keeps the active's static-nodes.json (the guide: same config but the nodekey)
  // yet must not dial the council while its key is not a member: every CN would refuse it.
  // Once the agent installs the validator key, the same file makes it dial the council at once.
  if (cfg.role == Role::cn && !s.chain().council().contains(s.node->identity().address)) {
    const auto before = statics.nodes.size();
    std::erase_if(statics.nodes, [](const p2p::KniUrl& u) { return u.ntype == "cn"; });
    if (statics.nodes.size() != before) {
      s.log->info(
          "standby CN: not dialing the {} council CN(s) in static-nodes.json until this "
          "key is a council member",
          before - statics.nodes.size());
    }
  }

  p2p::TransportConfig tc;
  tc.node_type = type;
  tc.listen_ip = cfg.public_ip.empty() ? "0.0.0.0" : cfg.public_ip;
  tc.listen_port = cfg.port;
  tc.dial_source_ip = cfg.public_ip;

  p2p::PeerManagerCallbacks cb;
  Impl* self = &s;
  cb.on_peer_added = [self](const p2p::PeerInfo& peer) {
    asio::post(self->io, [self, peer] { self->on_peer_added(peer); });
  };
  cb.on_peer_removed = [self](const p2p::PeerInfo& peer, const Error& reason) {
    asio::post(self->io, [self, peer, reason] { self->on_peer_removed(peer, reason); });
  };
  cb.on_message = [self](const p2p::PeerInfo& peer, std::uint8_t code, Bytes payload) {
    asio::post(self->io, [self, peer, code, payload = std::move(payload)] {
      self->on_message(peer, code, payload);
    });
  };
  s.peers = std::make_unique<p2p::PeerManager>(s.node->identity(), tc, std::move(policy),
                                               std::move(statics.nodes), cfg.max_connections,
                                               std::move(cb));
  // No minimum gas price yet: Kaia's fixed unit price is enforced when RPC admits txs.
  TxPoolConfig pool_config = txpool_config(cfg, s.network_id, U256(0));
  pool_config.senders = s.node->sender_cache_ptr();
  s.pool = std::make_unique<TxPool>(std::move(pool_config));
  s.downloader = std::make_unique<Downloader>(s.chain(), s);
  s.last_announced_head = s.chain().head_hash();
  if (cfg.role == Role::cn && s.chain().council().contains(s.node->identity().address)) {
    ValidatorHooks vh;
    vh.broadcast = [self](const Bytes& m) { self->broadcast_consensus(m); };
    vh.committed = [self](const chain::Block& block, const Hash32& hash) {
      self->on_block_imported(block, hash);
      self->downloader->on_head_moved(sync_now());
    };
    CC_TRY_ASSIGN(s.validator, Validator::create(*s.node, *s.pool, s.io, std::move(vh)));
    s.control.add_handler("permit_grant",
                          [self](const json& r) { return self->validator->permit_grant(r); });
    s.control.add_handler("permit_renew",
                          [self](const json& r) { return self->validator->permit_renew(r); });
    s.control.add_handler("permit_revoke",
                          [self](const json& r) { return self->validator->permit_revoke(r); });
    s.control.add_deferred_handler("ceiling_wait", [self](const json& r, ControlReply reply) {
      self->validator->ceiling_wait(r, std::move(reply));
    });
  } else if (cfg.role == Role::cn) {
    s.log->info("{} is not in the council: standby CN, syncing only, never signing",
                crypto::to_checksum_hex(s.node->identity().address));
  }

  s.control.add_handler("status",
                        [self](const json&) -> Result<json> { return self->status_json(); });
  s.control.add_handler("seals", [self](const json& r) { return self->seals_json(r); });
  s.control.add_handler("checkpoint", [self](const json& r) { return self->checkpoint_json(r); });
  CC_TRY_STATUS(s.control.start(s.node->datadir().control_socket()));
  CC_TRY_STATUS(s.peers->start());
  s.bound_port = s.peers->listen_port();

  s.work.emplace(asio::make_work_guard(s.io));
  s.schedule_tick();
  if (s.validator) asio::post(s.io, [self] { self->validator->start(); });
  s.thread = std::thread([self] {
    pthread_setname_np(pthread_self(), "cc-node");
    self->io.run();
  });
  s.log->info("p2p listening on {}:{} as {}; control socket {}", tc.listen_ip, s.bound_port,
              p2p::node_type_name(type), s.node->datadir().control_socket().string());
  return std::unique_ptr<Service>(new Service(std::move(impl)));
}

void Service::stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  Impl& s = *impl_;
  s.accepting = false;
  // cc-net first: after this no callback posts to cc-node any more.
  s.peers->stop();
  asio::post(s.io, [&s] {
    s.stopped = true;
    s.tick_timer.cancel();
    if (s.validator) s.validator->stop();
    s.control.stop();
  });
  s.work.reset();
  s.thread.join();
}

json Service::status() {
  if (!impl_->thread.joinable()) return impl_->status_json();
  std::promise<json> promise;
  auto future = promise.get_future();
  asio::post(impl_->io, [this, &promise] { promise.set_value(impl_->status_json()); });
  return future.get();
}

std::uint16_t Service::p2p_port() const { return impl_->bound_port; }

}  // namespace cc::node
