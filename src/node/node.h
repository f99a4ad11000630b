// node/node.h — owns a running node's lifetime: configuration -> DATA_DIR (created and locked)
// -> identity (nodekey) -> chain (genesis + chaindata). Later steps hang the p2p transport,
// consensus and RPC off the same object. It never generates a key for a consensus node: a CN
// without a valid nodekey refuses to start (during a failover a fresh identity would be a trap).
#pragma once

#include <memory>
#include <string>

#include "crypto/nodekey.h"
#include "node/config.h"
#include "node/datadir.h"
#include "storage/chain_store.h"
#include "util/result.h"

namespace cc::node {

class Node {
 public:
  // Opens everything the node needs and returns it ready; nothing is left open on failure.
  [[nodiscard]] static Result<std::unique_ptr<Node>> start(const NodeConfig& config);

  [[nodiscard]] const NodeConfig& config() const { return config_; }
  [[nodiscard]] const DataDir& datadir() const { return datadir_; }
  [[nodiscard]] const crypto::NodeIdentity& identity() const { return identity_; }
  [[nodiscard]] const storage::ChainStore& chain() const { return chain_; }
  // Mutable access for the one thread that imports blocks (node/service.h's cc-node).
  [[nodiscard]] storage::ChainStore& chain() { return chain_; }
  // Senders this node already recovered (pool admission, proposals, imports share it).
  [[nodiscard]] chain::SenderCache& sender_cache() const { return *senders_; }
  [[nodiscard]] std::shared_ptr<chain::SenderCache> sender_cache_ptr() const { return senders_; }
  [[nodiscard]] Address rewardbase() const;
  // This node's kni URL: its node ID at PUBLIC_IP (or 127.0.0.1) and PORT.
  [[nodiscard]] std::string kni_url() const;

 private:
  Node(NodeConfig config, DataDir datadir, crypto::NodeIdentity identity,
       std::shared_ptr<chain::SenderCache> senders, storage::ChainStore chain)
      : config_(std::move(config)),
        datadir_(std::move(datadir)),
        identity_(identity),
        senders_(std::move(senders)),
        chain_(std::move(chain)) {}

  NodeConfig config_;
  DataDir datadir_;  // holds DATA_DIR/klay/LOCK while the node lives
  crypto::NodeIdentity identity_;
  std::shared_ptr<chain::SenderCache> senders_;
  storage::ChainStore chain_;
};

// The node's identity from DATA_DIR. A CN requires an existing, valid nodekey. A PN or EN whose
// DATA_DIR has no nodekey gets a new one (Kaia's kpn/ken do the same) and the log says so; a
// malformed key is an error for every role.
[[nodiscard]] Result<crypto::NodeIdentity> load_or_create_identity(Role role,
                                                                   const DataDir& datadir);

}  // namespace cc::node
