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

#include <memory>

#include <nlohmann/json.hpp>

#include "node/node.h"
#include "util/result.h"

namespace cc::node {

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

 private:
  struct Impl;
  explicit Service(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cc::node
