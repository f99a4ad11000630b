// node/service.h — owns a running node's networking life: the peer manager (transport,
// admission, static peers), the chain protocol on every connection (node/protocol.h), the tx
// pool, block propagation (node/propagation.h), the downloader (node/sync.h) and the control
// socket (node/control.h), all driven by one thread, "cc-node", that alone touches the chain
// store, the pool and per-peer state. Transport callbacks arrive on cc-net and are posted to
// cc-node; nothing on cc-net ever waits for cc-node.
//
// Per connection: both sides send Status first; a peer on another network or genesis, or one
// that sends anything else before its Status, is dropped. After that:
//   NewBlock        parent = our head -> import; ok -> propagate (push/announce); a rejected
//                   block (bad seal, bad root, ...) drops the peer and writes nothing.
//                   Further ahead -> treated as an announcement (the downloader fetches).
//   NewBlockHashes  the peer's head moved -> downloader (fetch on announcement).
//   Transactions    into the pool; new valid ones relayed by node/propagation.h's rules; an
//                   invalid one (bad signature, wrong chain) drops the peer.
//   GetBlockHeaders / GetBlockBodies  answered from chaindata (node/chain_server.h).
//   BlockHeaders / BlockBodies        to the downloader, which drops peers that lie.
// The node never signs anything here (consensus/ does, through its SignGuard).
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "node/node.h"
#include "node/sync.h"
#include "node/txpool.h"
#include "util/result.h"

namespace cc::node {

// What the layers above (rpc/) may read and do on a running node. Every use happens on cc-node
// (Service::call), the one thread that touches the chain and the pool, so no lock is needed and
// a reader never sees a half-imported block.
class NodeAccess {
 public:
  virtual ~NodeAccess() = default;
  [[nodiscard]] virtual const Node& node() const = 0;
  [[nodiscard]] virtual const storage::ChainStore& chain() const = 0;
  [[nodiscard]] virtual const TxPool& pool() const = 0;
  [[nodiscard]] virtual SyncStatus sync_status() const = 0;
  [[nodiscard]] virtual std::uint64_t network_id() const = 0;
  // Admits a transaction from a local client into the pool and relays it as if a peer had sent
  // it; the verdict says why it was refused.
  [[nodiscard]] virtual TxPoolVerdict submit_transaction(const chain::Transaction& tx) = 0;
  // The live status (the control socket's "status" reply).
  [[nodiscard]] virtual nlohmann::json status() = 0;
};

class Service {
 public:
  // Takes the started node, binds the p2p listener (PUBLIC_IP or 0.0.0.0 : PORT) and the
  // control socket, loads static nodes and starts cc-node and cc-net.
  [[nodiscard]] static Result<std::unique_ptr<Service>> start(std::unique_ptr<Node> node);
  ~Service();  // stop()
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Disconnects every peer, stops the threads and removes the control socket. Idempotent.
  void stop();

  // The node's live state (the control socket's "status" reply): role, identity, head, sync
  // status, peers, refused-peer counts, pool sizes. Safe from any thread.
  [[nodiscard]] nlohmann::json status();

  // The p2p port actually bound (PORT, or the OS's choice when PORT is 0).
  [[nodiscard]] std::uint16_t p2p_port() const;

  // Runs fn(NodeAccess&) on cc-node and returns what it returns. Safe from any thread except
  // cc-node itself. Errors: node.stopped (the node is stopping or stopped), node.busy (cc-node
  // did not get to it within `timeout`; fn may still run later, so it must own what it uses).
  template <class F>
  [[nodiscard]] auto call(F fn, std::chrono::milliseconds timeout = std::chrono::seconds(10))
      -> Result<std::invoke_result_t<F&, NodeAccess&>> {
    using R = std::invoke_result_t<F&, NodeAccess&>;
    auto promise = std::make_shared<std::promise<R>>();
    auto future = promise->get_future();
    if (!post([promise, fn = std::move(fn)](NodeAccess& access) mutable {
          promise->set_value(fn(access));
        })) {
      return Error{"node.stopped", "the node is stopping"};
    }
    if (future.wait_for(timeout) != std::future_status::ready) {
      return Error{"node.busy",
                   "the node did not answer within " + std::to_string(timeout.count()) + " ms"};
    }
    try {
      return future.get();
    } catch (const std::future_error&) {  // the node stopped with the call still queued
      return Error{"node.stopped", "the node stopped"};
    }
  }

 private:
  // Queues fn for cc-node; false when the node no longer takes work.
  [[nodiscard]] bool post(std::function<void(NodeAccess&)> fn);

  struct Impl;
  explicit Service(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cc::node
