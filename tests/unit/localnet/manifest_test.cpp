// Tests of localnet/manifest.h (D/network.json: round trip with paths relative to D, strict
// parsing whose errors name the node and field) and localnet/init.h (the files a real init
// writes: confs that load back, the council, funded accounts, refusal of a non-empty directory).
#include "localnet/manifest.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>

#include "chain/genesis.h"
#include "crypto/address.h"
#include "crypto/nodekey.h"
#include "ha/config.h"
#include "localnet/init.h"
#include "localnet/status.h"
#include "node/config.h"
#include "p2p/static_nodes.h"
#include "support/temp_dir.h"
#include "util/files.h"
#include "util/process.h"

namespace cc::localnet {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::json;

Manifest sample_manifest(const fs::path& dir) {
  Manifest m;
  m.dir = dir;
  m.chain_id = 8888;
  m.network_id = 8888;
  m.genesis = dir / "genesis.json";
  m.accounts = dir / "accounts.json";
  m.council = {"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"};
  NodeEntry n;
  n.name = "cn-1";
  n.cell = 1;
  n.role = NodeRole::cn;
  n.ip = "127.0.0.10";
  n.rpc_url = "http://127.0.0.10:8551";
  n.metrics_url = "http://127.0.0.10:61001/metrics";
  n.data_dir = dir / "nodes" / "cn-1";
  n.conf = dir / "nodes" / "cn-1" / "kcnd.conf";
  n.log = dir / "nodes" / "cn-1" / "logs" / "node.log";
  n.address = m.council[0];
  n.node_id = std::string(128, 'a');
  n.kni = "kni://" + n.node_id + "@127.0.0.10:32323?ntype=cn";
  m.nodes.push_back(n);
  n.name = "cn-1-standby";
  n.standby = true;
  n.auto_restart = true;
  m.nodes.push_back(n);
  return m;
}

TEST(LocalnetManifest, RoundTripsWithPathsRelativeToTheDirectory) {
  const Manifest m = sample_manifest("/srv/net");
  const std::string text = manifest_to_json(m);
  const json j = json::parse(text);
  EXPECT_EQ(j["nodes"][0]["dataDir"], "nodes/cn-1");
  EXPECT_EQ(j["genesis"], "genesis.json");
  // Loaded from another place: paths follow the directory.
  auto back = parse_manifest(text, "/elsewhere/net", "network.json");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->nodes.size(), 2u);
  EXPECT_EQ(back->nodes[0].data_dir, fs::path("/elsewhere/net/nodes/cn-1"));
  EXPECT_EQ(back->nodes[0].conf, fs::path("/elsewhere/net/nodes/cn-1/kcnd.conf"));
  EXPECT_EQ(back->genesis, fs::path("/elsewhere/net/genesis.json"));
  EXPECT_EQ(back->nodes[1].name, "cn-1-standby");
  EXPECT_TRUE(back->nodes[1].standby);
  EXPECT_TRUE(back->nodes[1].auto_restart);
  EXPECT_EQ(back->chain_id, 8888u);
  EXPECT_EQ(back->council, m.council);
  EXPECT_EQ(back->find("cn-1")->ip, "127.0.0.10");
  EXPECT_EQ(back->find("cn-9"), nullptr);
  EXPECT_EQ(back->names(), "cn-1, cn-1-standby");
}

TEST(LocalnetManifest, MissingOrMistypedFieldsAreNamedWithTheirNode) {
  json j = json::parse(manifest_to_json(sample_manifest("/srv/net")));
  auto err = [](const json& doc) {
    auto r = parse_manifest(doc.dump(), "/srv/net", "/srv/net/network.json");
    EXPECT_FALSE(r.ok());
    return r.ok() ? std::string() : r.error().message;
  };
  json bad = j;
  bad["nodes"][1].erase("ip");
  std::string msg = err(bad);
  EXPECT_NE(msg.find("nodes[1] (cn-1-standby)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("\"ip\""), std::string::npos) << msg;
  bad = j;
  bad["nodes"][0]["role"] = "bn";
  EXPECT_NE(err(bad).find("\"role\""), std::string::npos);
  bad = j;
  bad["nodes"][0]["p2pPort"] = 70000;
  EXPECT_NE(err(bad).find("p2pPort"), std::string::npos);
  bad = j;
  bad["nodes"][1]["name"] = "cn-1";
  EXPECT_NE(err(bad).find("no other node"), std::string::npos);
  bad = j;
  bad["version"] = 2;
  EXPECT_NE(err(bad).find("version 2"), std::string::npos);
  EXPECT_FALSE(parse_manifest("[1,2]", "/srv", "x").ok());
  EXPECT_FALSE(parse_manifest("{", "/srv", "x").ok());
}

TEST(LocalnetManifest, LoadingADirectoryWithoutManifestSaysHowToCreateOne) {
  cc::testing::TempDir tmp;
  auto r = load_manifest(tmp.path());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "localnet.no_manifest");
  EXPECT_NE(r.error().message.find("corecell localnet init --dir"), std::string::npos);
}

TEST(LocalnetInit, WritesConfsThatLoadBackACouncilWithoutTheStandbyAndFundedAccounts) {
  cc::testing::TempDir tmp;
  InitParams p;
  p.dir = tmp.path() / "net";
  p.topology.cells = 4;
  p.topology.standby = 2;
  p.topology.ens = 1;
  p.topology.ip_prefix = "127.0.125";
  p.accounts = 3;
  auto m = init_localnet(p);
  ASSERT_TRUE(m.ok()) << m.error().message;
  ASSERT_EQ(m->nodes.size(), 10u);

  auto loaded = load_manifest(p.dir);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->nodes.size(), 10u);

  auto genesis = chain::load_genesis_file(m->genesis);
  ASSERT_TRUE(genesis.ok()) << genesis.error().message;
  EXPECT_EQ(genesis->config.chain_id, kDefaultChainId);
  EXPECT_EQ(genesis->config.istanbul.block_period, 1u);
  ASSERT_EQ(genesis->council.size(), 4u);
  for (const auto& n : m->nodes) {
    auto id = crypto::load_datadir_nodekey(n.data_dir);
    ASSERT_TRUE(id.ok()) << n.name << ": " << id.error().message;
    EXPECT_EQ(crypto::to_checksum_hex(id->address), n.address);
    const bool in_council =
        std::count(genesis->council.begin(), genesis->council.end(), id->address) == 1;
    EXPECT_EQ(in_council, n.role == NodeRole::cn && !n.standby) << n.name;

    const auto role = n.role == NodeRole::cn   ? node::Role::cn
                      : n.role == NodeRole::pn ? node::Role::pn
                                               : node::Role::en;
    auto cfg = node::load_node_config(role, n.conf);
    ASSERT_TRUE(cfg.ok()) << n.name << ": " << cfg.error().message;
    EXPECT_EQ(cfg->data_dir, n.data_dir);
    EXPECT_EQ(cfg->log_dir, n.data_dir / "logs");
    EXPECT_EQ(cfg->genesis, m->genesis);
    EXPECT_EQ(cfg->public_ip, n.ip);
    EXPECT_EQ(cfg->port, 32323);
    EXPECT_EQ(cfg->network_id, kDefaultChainId);
    EXPECT_TRUE(cfg->rpc_enable);
    // An HA host serves RPC on its own address (its `ip` is the cell's, which moves).
    EXPECT_EQ(cfg->rpc_addr, n.has_agent() ? n.host_ip : n.ip);
    EXPECT_EQ(n.has_agent(), n.role == NodeRole::cn && n.cell == 2) << n.name;
    EXPECT_EQ(cfg->rpc_port, 8551);
    EXPECT_TRUE(cfg->prometheus);
    EXPECT_TRUE(cfg->metrics);
    EXPECT_EQ(cfg->prometheus_port, 61001);
    EXPECT_FALSE(cfg->auto_restart);
    EXPECT_TRUE(cfg->warnings.empty()) << n.name << ": " << cfg->warnings.front();
    auto statics = p2p::load_static_nodes(n.data_dir);
    ASSERT_TRUE(statics.ok());
    EXPECT_TRUE(statics->warnings.empty());
    if (n.name == "cn-2-standby") {
      // The active's static nodes (the node skips the CNs while its key is not in the council).
      EXPECT_EQ(statics->nodes.size(), 3u);
      EXPECT_EQ(n.host_ip, n.ip);
      ASSERT_EQ(cfg->proxy_nodes.size(), 1u);
      EXPECT_EQ(cfg->proxy_nodes[0], m->find("pn-2-1")->kni);
      EXPECT_EQ(cfg->cn_allowlist,
                (std::vector<std::string>{"127.0.125.10", "127.0.125.12", "127.0.125.13"}));
    }
    if (n.name == "cn-1") {
      EXPECT_EQ(statics->nodes.size(), 3u);
    }
    if (n.name == "cn-2") {
      EXPECT_EQ(n.host_ip, "127.0.125.20");
      EXPECT_NE(n.ip, n.host_ip);
    }
    if (n.has_agent()) {
      // The agent conf loads, names this cell's validator and keeps the keys private.
      auto agent = ha::load_agent_config(n.ha_conf);
      ASSERT_TRUE(agent.ok()) << n.name << ": " << agent.error().message;
      EXPECT_EQ(agent->cell_ip, m->find("cn-2")->ip);
      EXPECT_EQ(agent->host_ip, n.host_ip);
      EXPECT_EQ(agent->data_dir, n.data_dir);
      auto keys = ha::load_agent_keys(*agent);
      ASSERT_TRUE(keys.ok()) << n.name << ": " << keys.error().message;
      EXPECT_EQ(crypto::to_checksum_hex(keys->validator_address), m->find("cn-2")->address);
      EXPECT_EQ(*file_mode(agent->validator_backup) & 0077, 0u);
      EXPECT_EQ(*file_mode(agent->passphrase_file) & 0077, 0u);
    }
  }

  auto accounts = read_file(m->accounts);
  ASSERT_TRUE(accounts.ok());
  EXPECT_EQ(*file_mode(m->accounts) & 0077, 0u);
  const json acc = json::parse(*accounts);
  ASSERT_EQ(acc.size(), 3u);
  for (const auto& a : acc) {
    auto secret = from_hex(a["privateKey"].get<std::string>());
    ASSERT_TRUE(secret.ok());
    ASSERT_EQ(secret->size(), 32u);
    auto key = crypto::PrivateKey::from_bytes(*secret);
    ASSERT_TRUE(key.ok());
    EXPECT_EQ(crypto::to_checksum_hex(crypto::address_of(*key)), a["address"]);
    EXPECT_EQ(genesis->alloc.count(crypto::address_of(*key)), 1u);
  }

  // A second init into the same directory is refused and changes nothing.
  auto before = read_file(manifest_path(p.dir));
  auto again = init_localnet(p);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("not empty"), std::string::npos);
  EXPECT_EQ(*read_file(manifest_path(p.dir)), *before);
}

TEST(LocalnetInit, RefusesADirectoryTooLongForTheNodesControlSockets) {
  InitParams p;
  p.dir = "/tmp/" + std::string(100, 'x');
  auto r = init_localnet(p);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "localnet.path_too_long");
  EXPECT_FALSE(fs::exists(p.dir));
}

TEST(LocalnetStatus, InSyncNeedsPeersNoDownloadAndAHeadWithinOneBlockOfTheBest) {
  json st = {{"head", {{"number", 10}}},
             {"sync", {{"syncing", false}, {"highestBlock", 10}}},
             {"peers", json::array({{{"head", 11}}})}};
  EXPECT_TRUE(node_in_sync(st));
  st["peers"][0]["head"] = 12;
  EXPECT_FALSE(node_in_sync(st));
  st["peers"][0]["head"] = 10;
  st["sync"]["syncing"] = true;
  EXPECT_FALSE(node_in_sync(st));
  st["sync"]["syncing"] = false;
  st["peers"] = json::array();
  EXPECT_FALSE(node_in_sync(st)) << "no peers: nothing says the node is current";
  EXPECT_FALSE(node_in_sync(json::object()));
}

}  // namespace
}  // namespace cc::localnet
