#include "node/node.h"

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <memory>
#include <thread>

#include "chain/genesis.h"
#include "crypto/address.h"
#include "p2p/kni.h"
#include "util/log.h"

namespace cc::node {
namespace fs = std::filesystem;

Result<crypto::NodeIdentity> load_or_create_identity(Role role, const DataDir& datadir) {
  fs::path path = datadir.nodekey();
  std::error_code ec;
  if (role != Role::cn && !fs::exists(path, ec)) {
    auto key = crypto::PrivateKey::generate();
    CC_TRY_STATUS(crypto::save_nodekey_file(path, key));
    logger("node")->warn("no nodekey in {}: generated a new node identity at {} (role {})",
                         datadir.root().string(), path.string(), role_name(role));
  }
  // For a CN a missing key is an error naming both places looked at (crypto/nodekey.h).
  return crypto::load_datadir_nodekey(datadir.root());
}

Result<std::unique_ptr<Node>> Node::start(const NodeConfig& config) {
  auto log = logger("node");
  if (config.genesis.empty()) {
    return make_error("node.no_genesis",
                      "no genesis configured: set GENESIS=/path/to/genesis.json in " +
                          std::string(conf_file_name(config.role)) + " or pass --genesis FILE");
  }
  CC_TRY_ASSIGN(auto genesis, chain::load_genesis_file(config.genesis));
  if (config.network_id && *config.network_id != genesis.config.chain_id) {
    return make_error("node.network_id_mismatch",
                      "NETWORK_ID=" + std::to_string(*config.network_id) + " but " +
                          config.genesis.string() + " has chainId " +
                          std::to_string(genesis.config.chain_id) +
                          "; fix NETWORK_ID or use the genesis of that network");
  }
  CC_TRY_ASSIGN(auto datadir, open_datadir(config.data_dir));
  CC_TRY_ASSIGN(auto identity, load_or_create_identity(config.role, datadir));
  auto senders = std::make_shared<chain::SenderCache>();
  storage::ChainStoreOptions store_options;
  store_options.verify_threads = std::max(1u, std::thread::hardware_concurrency());
  store_options.senders = senders;
  CC_TRY_ASSIGN(auto chain, storage::ChainStore::open(datadir.chaindata(), genesis, store_options));
  log->info("node {} started: address {} node ID {} data dir {} head #{} {}",
            role_name(config.role), crypto::to_checksum_hex(identity.address),
            to_hex(identity.node_id), datadir.root().string(), chain.head().number,
            to_hex0x(chain.head_hash()));
  for (const auto& w : config.warnings) log->warn("{}", w);
  return std::unique_ptr<Node>(
      new Node(config, std::move(datadir), identity, std::move(senders), std::move(chain)));
}

Address Node::rewardbase() const { return config_.rewardbase.value_or(identity_.address); }

std::string Node::kni_url() const {
  p2p::KniUrl url;
  url.node_id = identity_.node_id;
  url.host = config_.public_ip.empty() ? "127.0.0.1" : config_.public_ip;
  url.port = config_.port;
  url.discport = config_.port;
  url.ntype = std::string(role_name(config_.role));
  return url.to_string();
}

}  // namespace cc::node
