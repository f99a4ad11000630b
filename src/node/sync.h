// node/sync.h — owns a node's sync decision (Kaia's downloader, full sync): which peers are
// ahead (their Status and later announcements), which one to pull from, the GetBlockHeaders /
// GetBlockBodies requests, matching replies to requests, timeouts, checking what comes back, and
// importing the assembled blocks through the node's ChainStore. It is an event-driven state
// machine: no sockets, threads or clocks of its own — the owner's thread calls it, passes the
// time, and implements SyncIo. It must never write a block except through
// ChainStore::import_blocks (which verifies seals against the council, executes and checks the
// roots), and never imports anything from a batch whose headers do not link or whose bodies do
// not match their headers.
//
// A sync run, repeated batch after batch until no peer is ahead:
//   1. best peer = the highest announced head above ours (ties: the lowest PeerKey).
//   2. GetBlockHeaders{origin = head+1, amount = min(headers_per_request, peer head - head)}.
//   3. The reply must answer that request (same peer, same requestId) with 1..amount headers
//      numbered origin, origin+1, ..., each the parent of the next and the first a child of the
//      head the request was made from.
//   4. GetBlockBodies for the batch's hashes, bodies_per_request at a time, from the same peer;
//      each reply holds 1..asked bodies, each with the transactions root of its header.
//   5. All bodies in: ChainStore::import_blocks. A rejection drops the peer (blocks before the
//      rejected one passed full verification and stay).
// A peer that breaks 3, 4 or 5, sends a reply nobody asked for, or leaves a request unanswered
// for request_timeout is dropped with a reason (SyncIo::drop_peer); its batch is discarded and
// the run continues from our head with the next best peer. When idle, tick() starts a run every
// resync_interval (Kaia force-syncs with its best peer every 10 s).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "chain/block.h"
#include "node/protocol.h"
#include "storage/chain_store.h"
#include "util/bytes.h"

namespace cc::node {

// A connection, as the transport numbers it (p2p::ConnId).
using PeerKey = std::uint64_t;

// What the Downloader asks of its owner. Calls are made on the owner's thread from inside the
// Downloader's methods: send() must only queue (a reply delivered back synchronously would
// recurse); drop_peer() may call remove_peer() back, which is then a no-op.
class SyncIo {
 public:
  virtual ~SyncIo() = default;
  virtual void send(PeerKey peer, const Message& message) = 0;
  // Disconnect `peer`; `reason` is for the log and the peer. The Downloader has forgotten it.
  virtual void drop_peer(PeerKey peer, std::string reason) = 0;
};

// The owner's clocks at the moment of a call: the steady clock for timeouts (a wall-clock jump
// must not stall or rush them), unix seconds for the header time rule of import.
struct SyncTime {
  std::chrono::steady_clock::time_point steady{};
  std::uint64_t unix_seconds = 0;
};

// kaia_syncing's numbers. starting_block = our head when the latest sync run began;
// highest_block = max(current, best peer head); syncing = current < highest (so false with no
// peers, as in Kaia).
struct SyncStatus {
  std::uint64_t starting_block = 0;
  std::uint64_t current_block = 0;
  std::uint64_t highest_block = 0;
  bool syncing = false;
  bool operator==(const SyncStatus&) const = default;
};

struct SyncStats {
  std::uint64_t blocks_imported = 0;  // written by this Downloader (not AlreadyKnown ones)
  std::uint64_t batches_imported = 0;
  std::uint64_t requests_sent = 0;
  std::uint64_t peers_dropped = 0;
};

struct DownloaderOptions {
  std::size_t headers_per_request = kMaxHeadersPerReply;  // 1..kMaxHeadersPerReply
  std::size_t bodies_per_request = kMaxBodiesPerReply;    // 1..kMaxBodiesPerReply
  std::chrono::milliseconds request_timeout{5000};
  std::chrono::milliseconds resync_interval{10000};
};

class Downloader {
 public:
  // `store` and `io` are not owned and must outlive the Downloader. Options out of range are
  // clamped into range.
  Downloader(storage::ChainStore& store, SyncIo& io, DownloaderOptions options = {});
  Downloader(const Downloader&) = delete;
  Downloader& operator=(const Downloader&) = delete;

  // A peer whose Status the owner accepted. A Status for another genesis drops the peer.
  // Re-adding a known peer updates its head.
  void add_peer(PeerKey peer, const StatusMsg& status, const SyncTime& now);
  // The connection is gone; its unfinished batch is discarded and the run moves on.
  void remove_peer(PeerKey peer, const SyncTime& now);
  // The peer's head moved (NewBlockHashes, NewBlock). Announcements never lower a head.
  void on_announcement(PeerKey peer, std::uint64_t number, const Hash32& hash, const SyncTime& now);
  // Replies from the peer (the owner decoded them with node/protocol.h).
  void on_headers(PeerKey peer, BlockHeadersMsg msg, const SyncTime& now);
  void on_bodies(PeerKey peer, BlockBodiesMsg msg, const SyncTime& now);
  // The owner imported a block into the shared ChainStore itself (a pushed NewBlock).
  void on_head_moved(const SyncTime& now);
  // Timeouts and the periodic re-sync; call it about once a second.
  void tick(const SyncTime& now);

  [[nodiscard]] SyncStatus status() const;
  [[nodiscard]] const SyncStats& stats() const { return stats_; }
  [[nodiscard]] std::size_t peer_count() const { return peers_.size(); }
  [[nodiscard]] bool has_peer(PeerKey peer) const { return peers_.count(peer) != 0; }
  // The peer a request is outstanding with, if any.
  [[nodiscard]] std::optional<PeerKey> busy_with() const;

 private:
  enum class Phase { kIdle, kHeaders, kBodies };

  struct PeerHead {
    std::uint64_t number = 0;
    Hash32 hash{};
  };

  // The request in flight (at most one: a run pulls from one peer at a time).
  struct Pending {
    std::uint64_t id = 0;
    std::size_t asked = 0;
    std::chrono::steady_clock::time_point deadline{};
  };

  // The batch being fetched from `peer`.
  struct Batch {
    PeerKey peer = 0;
    Hash32 anchor{};  // our head hash when the headers were requested
    std::uint64_t origin = 0;
    std::vector<chain::Header> headers;
    std::vector<Hash32> hashes;
    std::vector<std::vector<chain::Transaction>> bodies;
  };

  void maybe_start(const SyncTime& now);
  void request_headers(PeerKey peer, std::uint64_t peer_head, const SyncTime& now);
  void request_bodies(const SyncTime& now);
  void import_batch(const SyncTime& now);
  void abandon_batch();
  // Forgets the peer, tells the owner to disconnect it and, if it was serving the run,
  // continues with another peer.
  void drop(PeerKey peer, const std::string& reason, const SyncTime& now);
  // True when msg answers the outstanding request of `phase` from `peer`; otherwise drops.
  bool expect_reply(PeerKey peer, Phase phase, std::uint64_t request_id, std::string_view what,
                    const SyncTime& now);
  [[nodiscard]] std::optional<std::pair<PeerKey, std::uint64_t>> best_peer() const;

  storage::ChainStore& store_;
  SyncIo& io_;
  DownloaderOptions options_;
  std::map<PeerKey, PeerHead> peers_;
  Phase phase_ = Phase::kIdle;
  std::optional<Pending> pending_;
  Batch batch_;
  std::uint64_t next_request_id_ = 1;
  bool running_ = false;  // a run is in progress (between "sync started" and "caught up")
  std::uint64_t starting_block_ = 0;
  std::optional<std::chrono::steady_clock::time_point> last_attempt_;
  SyncStats stats_;
};

}  // namespace cc::node
