#include "node/sync.h"

#include <algorithm>
#include <string>
#include <utility>

#include "chain/receipt.h"
#include "util/log.h"

namespace cc::node {
namespace {

std::string num(std::uint64_t n) { return "#" + std::to_string(n); }

}  // namespace

Downloader::Downloader(storage::ChainStore& store, SyncIo& io, DownloaderOptions options)
    : store_(store), io_(io), options_(options), starting_block_(store.head().number) {
  options_.headers_per_request =
      std::clamp<std::size_t>(options_.headers_per_request, 1, kMaxHeadersPerReply);
  options_.bodies_per_request =
      std::clamp<std::size_t>(options_.bodies_per_request, 1, kMaxBodiesPerReply);
}

std::optional<PeerKey> Downloader::busy_with() const {
  if (!pending_) return std::nullopt;
  return batch_.peer;
}

SyncStatus Downloader::status() const {
  SyncStatus s;
  s.current_block = store_.head().number;
  s.highest_block = s.current_block;
  for (const auto& [key, head] : peers_) s.highest_block = std::max(s.highest_block, head.number);
  s.starting_block = std::min(starting_block_, s.current_block);
  s.syncing = s.current_block < s.highest_block;
  return s;
}

std::optional<std::pair<PeerKey, std::uint64_t>> Downloader::best_peer() const {
  const std::uint64_t head = store_.head().number;
  std::optional<std::pair<PeerKey, std::uint64_t>> best;
  for (const auto& [key, peer_head] : peers_) {
    // std::map iterates keys in ascending order, so a tie keeps the lowest key.
    if (peer_head.number > head && (!best || peer_head.number > best->second)) {
      best = std::make_pair(key, peer_head.number);
    }
  }
  return best;
}

void Downloader::add_peer(PeerKey peer, const StatusMsg& status, const SyncTime& now) {
  if (status.genesis_hash != store_.genesis_hash()) {
    drop(peer,
         "Status names genesis " + to_hex0x(status.genesis_hash) + " but this chain's genesis is " +
             to_hex0x(store_.genesis_hash()),
         now);
    return;
  }
  auto& head = peers_[peer];
  if (status.head_number >= head.number) head = PeerHead{status.head_number, status.head_hash};
  maybe_start(now);
}

void Downloader::remove_peer(PeerKey peer, const SyncTime& now) {
  const bool serving = phase_ != Phase::kIdle && batch_.peer == peer;
  if (peers_.erase(peer) == 0 && !serving) return;
  if (serving) {
    logger("node")->info("sync: peer {} left during batch from {}; continuing with another peer",
                         peer, num(batch_.origin));
    abandon_batch();
  }
  maybe_start(now);
}

void Downloader::on_announcement(PeerKey peer, std::uint64_t number, const Hash32& hash,
                                 const SyncTime& now) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;  // not (yet) a peer with a Status: nothing to compare against
  if (number > it->second.number) it->second = PeerHead{number, hash};
  maybe_start(now);
}

void Downloader::on_head_moved(const SyncTime& now) {
  // A batch in flight stays valid: import skips its blocks the head already has.
  maybe_start(now);
}

void Downloader::tick(const SyncTime& now) {
  if (pending_ && now.steady >= pending_->deadline) {
    const auto ms = options_.request_timeout.count();
    drop(batch_.peer,
         std::string(phase_ == Phase::kHeaders ? "GetBlockHeaders" : "GetBlockBodies") +
             " request " + std::to_string(pending_->id) + " not answered within " +
             std::to_string(ms) + " ms",
         now);
    return;
  }
  if (phase_ == Phase::kIdle &&
      (!last_attempt_ || now.steady - *last_attempt_ >= options_.resync_interval)) {
    maybe_start(now);
  }
}

void Downloader::maybe_start(const SyncTime& now) {
  if (phase_ != Phase::kIdle) return;
  last_attempt_ = now.steady;
  auto best = best_peer();
  if (!best) {
    if (running_) {
      running_ = false;
      logger("node")->info("sync: run ended at {} (started at {}): no peer is ahead",
                           num(store_.head().number), num(starting_block_));
    }
    return;
  }
  if (!running_) {
    running_ = true;
    starting_block_ = store_.head().number;
    logger("node")->info("sync: starting at {} towards {} from peer {}", num(starting_block_),
                         num(best->second), best->first);
  }
  request_headers(best->first, best->second, now);
}

void Downloader::request_headers(PeerKey peer, std::uint64_t peer_head, const SyncTime& now) {
  const std::uint64_t head = store_.head().number;
  GetBlockHeadersMsg req;
  req.request_id = next_request_id_++;
  req.origin = head + 1;
  req.amount = std::min<std::uint64_t>(options_.headers_per_request, peer_head - head);
  batch_ = Batch{};
  batch_.peer = peer;
  batch_.anchor = store_.head_hash();
  batch_.origin = req.origin;
  phase_ = Phase::kHeaders;
  // Recorded before send() so the state is complete whatever the owner does inside it.
  pending_ = Pending{req.request_id, static_cast<std::size_t>(req.amount),
                     now.steady + options_.request_timeout};
  ++stats_.requests_sent;
  io_.send(peer, Message{req});
}

void Downloader::request_bodies(const SyncTime& now) {
  const std::size_t from = batch_.bodies.size();
  const std::size_t count = std::min(options_.bodies_per_request, batch_.hashes.size() - from);
  GetBlockBodiesMsg req;
  req.request_id = next_request_id_++;
  req.hashes.assign(batch_.hashes.begin() + static_cast<std::ptrdiff_t>(from),
                    batch_.hashes.begin() + static_cast<std::ptrdiff_t>(from + count));
  phase_ = Phase::kBodies;
  pending_ = Pending{req.request_id, count, now.steady + options_.request_timeout};
  ++stats_.requests_sent;
  io_.send(batch_.peer, Message{std::move(req)});
}

bool Downloader::expect_reply(PeerKey peer, Phase phase, std::uint64_t request_id,
                              std::string_view what, const SyncTime& now) {
  if (pending_ && phase_ == phase && batch_.peer == peer && pending_->id == request_id) {
    return true;
  }
  drop(peer,
       "unsolicited " + std::string(what) + " (request id " + std::to_string(request_id) + ")",
       now);
  return false;
}

void Downloader::on_headers(PeerKey peer, BlockHeadersMsg msg, const SyncTime& now) {
  if (!expect_reply(peer, Phase::kHeaders, msg.request_id, "BlockHeaders", now)) return;
  auto& headers = msg.headers;
  const std::size_t asked = pending_->asked;
  if (headers.empty()) {
    drop(peer,
         "BlockHeaders " + std::to_string(msg.request_id) +
             " is empty but the peer announced head " +
             num(peers_.count(peer) ? peers_.at(peer).number : 0) + " >= " + num(batch_.origin),
         now);
    return;
  }
  if (headers.size() > asked) {
    drop(peer,
         "BlockHeaders " + std::to_string(msg.request_id) + " holds " +
             std::to_string(headers.size()) + " headers, " + std::to_string(asked) + " asked",
         now);
    return;
  }
  // Link check: numbers contiguous from origin, each parentHash the previous header's hash, the
  // first on top of the head we asked from. Seals and times are left to import (verify.h).
  std::vector<Hash32> hashes;
  hashes.reserve(headers.size());
  Hash32 parent = batch_.anchor;
  for (std::size_t i = 0; i < headers.size(); ++i) {
    const auto& h = headers[i];
    const std::uint64_t want = batch_.origin + i;
    if (h.number != want || h.parent_hash != parent) {
      drop(peer,
           "BlockHeaders " + std::to_string(msg.request_id) + " does not link: header " +
               std::to_string(i) + " is " + num(h.number) + " with parent " +
               to_hex0x(h.parent_hash) + ", expected " + num(want) + " with parent " +
               to_hex0x(parent),
           now);
      return;
    }
    parent = h.hash();
    hashes.push_back(parent);
  }
  pending_.reset();
  auto& head = peers_[peer];
  if (headers.back().number > head.number) head = PeerHead{headers.back().number, parent};
  batch_.headers = std::move(headers);
  batch_.hashes = std::move(hashes);
  batch_.bodies.reserve(batch_.hashes.size());
  request_bodies(now);
}

void Downloader::on_bodies(PeerKey peer, BlockBodiesMsg msg, const SyncTime& now) {
  if (!expect_reply(peer, Phase::kBodies, msg.request_id, "BlockBodies", now)) return;
  const std::size_t asked = pending_->asked;
  if (msg.bodies.empty() || msg.bodies.size() > asked) {
    drop(peer,
         "BlockBodies " + std::to_string(msg.request_id) + " holds " +
             std::to_string(msg.bodies.size()) + " bodies, " + std::to_string(asked) +
             " asked (a reply holds 1.." + std::to_string(asked) + ")",
         now);
    return;
  }
  const std::size_t from = batch_.bodies.size();
  for (std::size_t i = 0; i < msg.bodies.size(); ++i) {
    const auto& header = batch_.headers[from + i];
    if (chain::transactions_root(msg.bodies[i]) != header.transactions_root) {
      drop(peer,
           "BlockBodies " + std::to_string(msg.request_id) + ": the body of block " +
               num(header.number) + " " + to_hex0x(batch_.hashes[from + i]) +
               " does not match the header's transactionsRoot",
           now);
      return;
    }
  }
  pending_.reset();
  for (auto& body : msg.bodies) batch_.bodies.push_back(std::move(body));
  if (batch_.bodies.size() < batch_.hashes.size()) {
    request_bodies(now);
    return;
  }
  import_batch(now);
}

void Downloader::import_batch(const SyncTime& now) {
  std::vector<chain::Block> blocks(batch_.headers.size());
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    blocks[i].header = std::move(batch_.headers[i]);
    blocks[i].transactions = std::move(batch_.bodies[i]);
  }
  const PeerKey peer = batch_.peer;
  abandon_batch();
  auto summary = store_.import_blocks(blocks, now.unix_seconds);
  if (!summary.ok()) {
    // Not the peer's fault: the store could not write. Stay idle; tick() retries later.
    running_ = false;
    logger("node")->error("sync: importing blocks {}..{} failed: {}",
                          num(blocks.front().header.number), num(blocks.back().header.number),
                          summary.error().message);
    return;
  }
  stats_.blocks_imported += summary->imported;
  if (summary->rejection) {
    // The code names the verdict, e.g. import.header.wrong_proposer for seals of another council.
    const Error err = summary->rejection->to_error();
    drop(peer, "block import rejected (" + err.code + "): " + err.message, now);
    return;
  }
  ++stats_.batches_imported;
  logger("node")->debug("sync: imported {}..{} from peer {} ({} new, {} txs)",
                        num(blocks.front().header.number), num(blocks.back().header.number), peer,
                        summary->imported, summary->transactions);
  maybe_start(now);
}

void Downloader::abandon_batch() {
  pending_.reset();
  phase_ = Phase::kIdle;
  batch_ = Batch{};
}

void Downloader::drop(PeerKey peer, const std::string& reason, const SyncTime& now) {
  if (phase_ != Phase::kIdle && batch_.peer == peer) abandon_batch();
  peers_.erase(peer);
  ++stats_.peers_dropped;
  logger("node")->warn("sync: dropping peer {}: {}", peer, reason);
  io_.drop_peer(peer, reason);
  maybe_start(now);  // a no-op while another peer's batch is in flight
}

}  // namespace cc::node
