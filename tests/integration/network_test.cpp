// Real `corecell node` processes on loopback, each on its own 127.0.x.y address, talking the p2p
// and chain protocols: a PN and an EN sync a pre-generated 10,000-block chain from a CN; a standby
// CN syncs through its PN only, is refused by the council CN, and follows live blocks within one
// block; a CN refuses a council CN dialing from an IP outside CN_ALLOWLIST; a second connection
// with a connected node ID is refused; garbage, oversize frames, invalid blocks, invalid
// transactions and unsolicited replies get the sender dropped while the node keeps running and
// imports nothing. The test process itself plays the misbehaving peers over real sockets.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "chain/block.h"
#include "chain/genesis.h"
#include "crypto/nodekey.h"
#include "node/control.h"
#include "node/datadir.h"
#include "node/protocol.h"
#include "p2p/kni.h"
#include "storage/chaindb.h"
#include "support/p2p_peer.h"
#include "support/subprocess.h"
#include "util/files.h"

namespace cc {
namespace {
namespace fs = std::filesystem;
using cc::testing::bin_path;
using cc::testing::Process;
using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr std::uint16_t kPort = 32323;

// One generated network (4 validators) with a chain, and the nodes a test starts on it.
class Network : public ::testing::Test {
 protected:
  void SetUp() override {
    // Short: every DATA_DIR's control socket path must stay under 107 bytes.
    std::string tmpl = (fs::temp_directory_path() / "cc-net-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    nodes_.clear();  // SIGKILL anything still running before its DATA_DIR goes
    fs::remove_all(dir_);
  }

  // Generates the network and `blocks` blocks (1 transfer each); keeps them in memory too.
  void generate(std::size_t blocks) {
    auto r = cc::testing::run(
        {bin_path("corecell"), "chain", "generate", "--dir", (dir_ / "net").string(),
         "--validators", "4", "--accounts", "4", "--blocks", std::to_string(blocks), "--txs", "1"},
        300s);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    genesis_ = dir_ / "net" / "genesis.json";
    auto bytes = read_file(dir_ / "net" / "blocks.rlp");
    ASSERT_TRUE(bytes.ok());
    auto decoded = chain::decode_block_stream(
        ByteView(reinterpret_cast<const std::uint8_t*>(bytes->data()), bytes->size()));
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    blocks_ = std::move(*decoded);
  }

  fs::path datadir(const std::string& name) const { return dir_ / name; }

  // The funded accounts' keys from the generated accounts.json (empty if it cannot be read).
  std::vector<crypto::PrivateKey> account_keys() const {
    std::vector<crypto::PrivateKey> keys;
    auto text = read_file(dir_ / "net" / "accounts.json");
    if (!text.ok()) return keys;
    for (const auto& a : json::parse(*text)) {
      auto secret = from_hex(a["privateKey"].get<std::string>());
      if (!secret.ok()) return {};
      auto key = crypto::PrivateKey::from_bytes(*secret);
      if (!key.ok()) return {};
      keys.push_back(*key);
    }
    return keys;
  }

  // A DATA_DIR with a nodekey: validator `index`'s, or a fresh one when index < 0.
  crypto::NodeIdentity make_datadir(const std::string& name, int validator_index) {
    fs::path dd = datadir(name);
    fs::create_directories(dd / "klay");
    crypto::PrivateKey key = crypto::PrivateKey::generate();
    if (validator_index >= 0) {
      auto id = crypto::load_nodekey_file(dir_ / "net" / "validators" /
                                          std::to_string(validator_index) / "nodekey");
      EXPECT_TRUE(id.ok());
      key = id->key;
    }
    EXPECT_TRUE(crypto::save_nodekey_file(dd / "klay" / "nodekey", key).ok());
    return crypto::identity_of(key);
  }

  // Imports the first `count` generated blocks into a DATA_DIR's chaindata.
  void import_blocks(const std::string& name, std::size_t count) {
    fs::path file = dir_ / ("blocks-" + std::to_string(count) + ".rlp");
    if (!fs::exists(file)) {
      Bytes out;
      for (std::size_t i = 0; i < count; ++i) {
        Bytes b = blocks_.at(i).encode();
        out.insert(out.end(), b.begin(), b.end());
      }
      ASSERT_TRUE(atomic_write_file(file, out, 0644).ok());
    }
    auto r = cc::testing::run(
        {bin_path("corecell"), "chain", "import", "--datadir", datadir(name).string(), "--genesis",
         genesis_.string(), "--file", file.string(), "--no-sync"},
        300s);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  static void write_static_nodes(const fs::path& dd, const std::vector<std::string>& urls) {
    json arr = urls;
    std::ofstream(dd / "static-nodes.json") << arr.dump(2);
  }

  static std::string kni(const crypto::NodeIdentity& id, const std::string& ip,
                         const std::string& type) {
    p2p::KniUrl url;
    url.node_id = id.node_id;
    url.host = ip;
    url.port = kPort;
    url.discport = kPort;
    url.ntype = type;
    return url.to_string();
  }

  // Starts `corecell node` and waits until it prints "running".
  Process& start_node(const std::string& name, const std::string& role, const std::string& ip,
                      std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {bin_path("corecell"),
                                     "node",
                                     "--role",
                                     role,
                                     "--datadir",
                                     datadir(name).string(),
                                     "--genesis",
                                     genesis_.string(),
                                     "--public-ip",
                                     ip,
                                     "--port",
                                     std::to_string(kPort)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto& p = *nodes_.emplace_back(std::make_unique<Process>(argv));
    for (int i = 0; i < 600 && p.running(); ++i) {
      if (p.out().find("running") != std::string::npos) return p;
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << name << " did not start:\n" << p.out() << p.err();
    return p;
  }

  json status(const std::string& name) {
    auto r =
        node::control_request(node::control_socket_path(datadir(name)), json{{"cmd", "status"}});
    if (!r.ok()) return json{{"error", r.error().message}};
    return *r;
  }

  static std::uint64_t head_of(const json& st) {
    return st.contains("head") ? st["head"]["number"].get<std::uint64_t>() : 0;
  }

  // Polls until pred(status(name)) holds or the timeout passes; returns the last status.
  json wait_status(const std::string& name, const std::function<bool(const json&)>& pred,
                   std::chrono::seconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    json st;
    while (std::chrono::steady_clock::now() < deadline) {
      st = status(name);
      if (!st.contains("error") && pred(st)) return st;
      std::this_thread::sleep_for(200ms);
    }
    ADD_FAILURE() << "timed out waiting on " << name << "; last status: " << st.dump();
    return st;
  }

  fs::path dir_;
  fs::path genesis_;
  std::vector<chain::Block> blocks_;
  std::vector<std::unique_ptr<Process>> nodes_;
};

// --- a peer played by the test over a real Transport ---

// Encodes a chain-protocol message for Transport::send.
std::pair<std::uint8_t, Bytes> wire(const node::Message& m) {
  return {static_cast<std::uint8_t>(node::code_of(m)), node::encode_payload(m)};
}

node::StatusMsg status_for(const chain::Genesis& genesis, std::uint64_t head_number,
                           const Hash32& head_hash) {
  node::StatusMsg st;
  st.network_id = genesis.config.chain_id;
  st.genesis_hash = chain::genesis_hash(genesis);
  st.head_number = head_number;
  st.head_hash = head_hash;
  return st;
}

using p2p::testing::RecordingNode;

RecordingNode make_peer(const std::string& ip, p2p::NodeType type,
                        crypto::NodeIdentity id = p2p::testing::fresh_identity()) {
  auto cfg = p2p::testing::test_config(ip, type);
  cfg.listen = false;
  return RecordingNode(cfg, id);
}

// Dials the node at ip:kPort and waits for the handshake; returns the connection id.
std::optional<p2p::ConnId> dial(RecordingNode& peer, const crypto::NodeIdentity& target,
                                const std::string& ip) {
  if (!peer.transport().start().ok()) return std::nullopt;
  auto id = peer.transport().dial(p2p::DialTarget{ip, kPort, target.node_id});
  if (!id.ok()) return std::nullopt;
  if (!peer.wait_established(1, 10s)) return std::nullopt;
  return *id;
}

bool send(RecordingNode& peer, p2p::ConnId id, const node::Message& m) {
  auto [code, payload] = wire(m);
  return peer.transport().send(id, code, payload).ok();
}

// DATA-1: an EN that accepted a transfer before any PN was connected hands it to the PN that
// connects later (before, it went to nobody, and with its nonce missing every later transfer of
// that sender waited for ever).
TEST_F(Network, TransferAcceptedBeforeAnyProxyConnectedReachesTheProxyThatConnectsLater) {
  generate(0);
  auto genesis = chain::load_genesis_file(genesis_);
  ASSERT_TRUE(genesis.ok());
  const auto senders = account_keys();
  ASSERT_FALSE(senders.empty());
  const auto& key = senders[0];
  const auto en_id = make_datadir("en", -1);
  const std::string en_ip = "127.0.106.20";
  start_node("en", "en", en_ip);

  // A wallet (an EN-type peer, to which an EN relays nothing) hands the EN a transfer.
  auto wallet = make_peer("127.0.106.30", p2p::NodeType::kEN);
  auto wconn = dial(wallet, en_id, en_ip);
  ASSERT_TRUE(wconn.has_value());
  ASSERT_TRUE(send(wallet, *wconn, status_for(*genesis, 0, chain::genesis_hash(*genesis))));
  Address sink{};
  sink.fill(0x5e);
  const auto tx = chain::make_transfer(key, 0, sink, U256(1), U256(25'000'000'000ULL),
                                       genesis->config.chain_id);
  ASSERT_TRUE(send(wallet, *wconn, node::TransactionsMsg{{tx}}));
  wait_status(
      "en", [](const json& st) { return st["txpool"].value("pending", 0) >= 1; }, 10s);

  // Then a PN connects: it is handed the transfer.
  auto pn = make_peer("127.0.106.31", p2p::NodeType::kPN);
  auto pconn = dial(pn, en_id, en_ip);
  ASSERT_TRUE(pconn.has_value());
  ASSERT_TRUE(send(pn, *pconn, status_for(*genesis, 0, chain::genesis_hash(*genesis))));
  const auto code =
      static_cast<std::uint8_t>(node::code_of(node::Message{node::TransactionsMsg{}}));
  auto handed_to_pn = [&] {
    for (const auto& m : pn.messages()) {
      if (m.code != code) continue;
      auto decoded = node::decode_message(m.code, m.payload);
      if (!decoded.ok()) continue;
      for (const auto& t : std::get<node::TransactionsMsg>(*decoded).transactions) {
        if (t.hash() == tx.hash()) return true;
      }
    }
    return false;
  };
  bool handed = false;
  for (int i = 0; i < 100 && !(handed = handed_to_pn()); ++i) std::this_thread::sleep_for(100ms);
  EXPECT_TRUE(handed) << "the PN that connected after the transfer never got it";
}

TEST_F(Network, ProxyAndEndpointSyncTenThousandBlocksFromConsensusNode) {
  generate(10000);
  make_datadir("cn", 0);
  auto pn = make_datadir("pn", -1);
  make_datadir("en", -1);
  import_blocks("cn", 10000);
  // PN <- CN (the CN dials its PN and lists it in PROXY_NODES); EN -> PN.
  write_static_nodes(datadir("cn"), {kni(pn, "127.0.100.3", "pn")});
  write_static_nodes(datadir("en"), {kni(pn, "127.0.100.3", "pn")});
  start_node("cn", "cn", "127.0.100.2", {"--set", "PROXY_NODES=" + to_hex(pn.node_id)});
  start_node("pn", "pn", "127.0.100.3");
  start_node("en", "en", "127.0.100.4");

  auto want = to_hex0x(blocks_.back().hash());
  auto done = [&](const json& st) { return head_of(st) == 10000; };
  auto pn_st = wait_status("pn", done, 400s);
  auto en_st = wait_status("en", done, 400s);
  EXPECT_EQ(pn_st["head"]["hash"], want);
  EXPECT_EQ(en_st["head"]["hash"], want);
  EXPECT_EQ(en_st["sync"]["syncing"], false);
  EXPECT_EQ(en_st["sync"]["highestBlock"], 10000);
  EXPECT_EQ(en_st["peers_by_type"]["pn"], 1);
  EXPECT_EQ(en_st["peers_by_type"]["cn"], 0);  // an EN reaches the CN only through its PN
  auto cn_st = status("cn");
  EXPECT_EQ(cn_st["peers_by_type"]["pn"], 1);
}

TEST_F(Network, StandbySyncsThroughItsProxyOnlyAndFollowsLiveBlocks) {
  generate(320);
  auto cn = make_datadir("cn", 0);
  auto pn = make_datadir("pn", -1);
  make_datadir("standby", -1);  // a CN whose address is not in the council
  import_blocks("cn", 300);
  auto feeder = p2p::testing::fresh_identity();  // the test, playing another of the CN's PNs

  write_static_nodes(datadir("pn"), {kni(cn, "127.0.101.2", "cn")});
  write_static_nodes(datadir("standby"),
                     {kni(pn, "127.0.101.3", "pn"), kni(cn, "127.0.101.2", "cn")});
  // The standby has the active's configuration (its PNs in PROXY_NODES) and its own key. Its
  // IP is even allow-listed on the CN: the council check alone must refuse it.
  const std::string proxies = "PROXY_NODES=" + to_hex(pn.node_id) + "," + to_hex(feeder.node_id);
  start_node("cn", "cn", "127.0.101.2", {"--set", "CN_ALLOWLIST=127.0.101.4", "--set", proxies});
  start_node("pn", "pn", "127.0.101.3");
  start_node("standby", "cn", "127.0.101.4",
             {"--set", "CN_ALLOWLIST=127.0.101.2", "--set", proxies});

  auto sb = wait_status(
      "standby", [](const json& st) { return head_of(st) == 300; }, 120s);
  ASSERT_EQ(head_of(sb), 300u);
  EXPECT_EQ(sb["validator"], false);
  EXPECT_EQ(sb["peers_by_type"]["cn"], 0);
  EXPECT_EQ(sb["peers_by_type"]["pn"], 1);
  // A CN whose key is not in the council does not dial the council CNs of its static nodes
  // (the council would refuse it: tests/unit/p2p/admission_test.cpp); it keeps only its PN.
  ASSERT_EQ(sb["static_nodes"].size(), 1u) << sb.dump();
  EXPECT_NE(sb["static_nodes"][0].value("kni", "").find(to_hex(pn.node_id)), std::string::npos);
  auto cn_st = status("cn");
  EXPECT_EQ(cn_st["peers_by_type"]["cn"], 0);

  // Live blocks: the feeder pushes one block a second to the CN, which pushes to its PN, which
  // announces to the standby. At steady state (just before each push) the standby is at most
  // one block behind the PN.
  auto peer = make_peer("127.0.101.9", p2p::NodeType::kPN, feeder);
  auto conn = dial(peer, cn, "127.0.101.2");
  ASSERT_TRUE(conn.has_value());
  auto genesis = chain::load_genesis_file(genesis_);
  ASSERT_TRUE(genesis.ok());
  ASSERT_TRUE(send(peer, *conn, status_for(*genesis, 300, blocks_[299].hash())));
  std::uint64_t worst_lag = 0;
  for (std::size_t i = 300; i < 320; ++i) {
    ASSERT_TRUE(send(peer, *conn, node::NewBlockMsg{blocks_[i]}));
    std::this_thread::sleep_for(1s);
    auto p = head_of(status("pn"));
    auto s = head_of(status("standby"));
    worst_lag = std::max<std::uint64_t>(worst_lag, p > s ? p - s : 0);
  }
  EXPECT_LE(worst_lag, 1u);
  auto done = [](const json& st) { return head_of(st) == 320; };
  EXPECT_EQ(wait_status("standby", done, 30s)["head"]["hash"], to_hex0x(blocks_[319].hash()));
  EXPECT_EQ(head_of(wait_status("pn", done, 30s)), 320u);
}

TEST_F(Network, ConsensusNodeRefusesCouncilPeerFromIpOutsideAllowlist) {
  generate(5);
  auto cn = make_datadir("cn", 0);
  start_node("cn", "cn", "127.0.102.2", {"--set", "CN_ALLOWLIST=127.0.102.3"});
  auto validator1 = crypto::load_nodekey_file(dir_ / "net" / "validators" / "1" / "nodekey");
  ASSERT_TRUE(validator1.ok());

  // Council member, wrong IP: the handshake completes, then the CN refuses it.
  auto outsider = make_peer("127.0.102.9", p2p::NodeType::kCN, *validator1);
  ASSERT_TRUE(outsider.transport().start().ok());
  ASSERT_TRUE(outsider.transport().dial(p2p::DialTarget{"127.0.102.2", kPort, cn.node_id}).ok());
  ASSERT_TRUE(outsider.wait_closed(1, 10s));
  EXPECT_NE(outsider.closed()[0].reason.message.find("CN_ALLOWLIST"), std::string::npos)
      << outsider.closed()[0].reason.message;
  auto st = wait_status(
      "cn", [](const json& s) { return s["rejections"]["ip_not_allowlisted"] == 1; }, 10s);
  EXPECT_EQ(st["peers_by_type"]["cn"], 0);

  // The same key from the allow-listed IP is admitted and gets the CN's Status.
  auto insider = make_peer("127.0.102.3", p2p::NodeType::kCN, *validator1);
  auto conn = dial(insider, cn, "127.0.102.2");
  ASSERT_TRUE(conn.has_value());
  ASSERT_TRUE(insider.wait_messages(1, 10s));
  EXPECT_EQ(insider.messages()[0].code, static_cast<std::uint8_t>(node::MsgCode::kStatus));
  EXPECT_EQ(wait_status(
                "cn", [](const json& s) { return s["peers_by_type"]["cn"] == 1; },
                10s)["peers_by_type"]["cn"],
            1);
}

TEST_F(Network, SecondConnectionWithAConnectedNodeIdIsRefused) {
  generate(5);
  auto pn = make_datadir("pn", -1);
  start_node("pn", "pn", "127.0.103.2");
  auto twin = p2p::testing::fresh_identity();
  auto first = make_peer("127.0.103.3", p2p::NodeType::kEN, twin);
  ASSERT_TRUE(dial(first, pn, "127.0.103.2").has_value());
  wait_status(
      "pn", [](const json& s) { return s["peers"].size() == 1; }, 10s);

  auto second = make_peer("127.0.103.4", p2p::NodeType::kEN, twin);
  ASSERT_TRUE(second.transport().start().ok());
  ASSERT_TRUE(second.transport().dial(p2p::DialTarget{"127.0.103.2", kPort, pn.node_id}).ok());
  ASSERT_TRUE(second.wait_closed(1, 10s));
  auto st = wait_status(
      "pn", [](const json& s) { return s["rejections"]["duplicate_node_id"] == 1; }, 10s);
  ASSERT_EQ(st["peers"].size(), 1u);
  EXPECT_EQ(st["peers"][0]["remote"].get<std::string>().rfind("127.0.103.3:", 0), 0u);
  EXPECT_TRUE(first.closed().empty());  // the first connection is untouched
}

TEST_F(Network, MisbehavingPeersAreDroppedAndNothingIsImported) {
  generate(12);
  auto pn = make_datadir("pn", -1);
  import_blocks("pn", 10);
  auto& node = start_node("pn", "pn", "127.0.104.2");
  auto genesis = chain::load_genesis_file(genesis_);
  ASSERT_TRUE(genesis.ok());
  const auto good_status = status_for(*genesis, 10, blocks_[9].hash());

  {  // Garbage instead of a handshake.
    p2p::testing::RawClient raw;
    ASSERT_TRUE(raw.connect("127.0.104.2", kPort, "127.0.104.3"));
    Bytes junk(4096);
    for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<std::uint8_t>(i * 131 + 7);
    raw.send_all(junk);
    EXPECT_TRUE(raw.wait_closed_by_peer());
  }
  {  // A frame header announcing 2 GiB after a valid handshake.
    p2p::testing::RawClient raw;
    ASSERT_TRUE(raw.connect("127.0.104.2", kPort, "127.0.104.3"));
    auto me = p2p::testing::fresh_identity();
    ASSERT_TRUE(raw.handshake(me, p2p::NodeType::kEN, pn.node_id).has_value());
    Bytes header = {0x7f, 0xff, 0xff, 0xff};
    raw.send_all(header);
    EXPECT_TRUE(raw.wait_closed_by_peer());
  }

  // Protocol-level lies, each from a fresh peer that first sends a valid Status.
  auto lie = [&](const std::string& what, const node::Message& m) {
    SCOPED_TRACE(what);
    auto peer = make_peer("127.0.104.5", p2p::NodeType::kEN);
    auto conn = dial(peer, pn, "127.0.104.2");
    ASSERT_TRUE(conn.has_value());
    ASSERT_TRUE(send(peer, *conn, good_status));
    ASSERT_TRUE(send(peer, *conn, m));
    ASSERT_TRUE(peer.wait_closed(1, 10s));
    EXPECT_NE(peer.closed()[0].reason.message.find(what), std::string::npos)
        << peer.closed()[0].reason.message;
  };
  chain::Block bad_seal = blocks_[10];
  bad_seal.header.gas_used += 1;  // changes the hash: no seal matches any more
  lie("invalid block", node::NewBlockMsg{bad_seal});
  chain::Block bad_body = blocks_[10];
  bad_body.transactions.at(0).value += 1;  // the body no longer matches transactionsRoot
  lie("invalid block", node::NewBlockMsg{bad_body});
  chain::Transaction bad_tx = blocks_[10].transactions.at(0);
  bad_tx.r = 0;  // not a signature at all: only a faulty or hostile peer relays this
  lie("invalid transaction", node::TransactionsMsg{{bad_tx}});
  lie("unsolicited", node::BlockHeadersMsg{77, {blocks_[10].header}});
  {  // Bytes that are not a chain-protocol message at all.
    auto peer = make_peer("127.0.104.6", p2p::NodeType::kEN);
    auto conn = dial(peer, pn, "127.0.104.2");
    ASSERT_TRUE(conn.has_value());
    Bytes junk = {0xde, 0xad, 0xbe, 0xef};
    ASSERT_TRUE(peer.transport().send(*conn, 0x10, junk).ok());
    ASSERT_TRUE(peer.wait_closed(1, 10s));
  }

  EXPECT_TRUE(node.running());
  auto st = status("pn");
  EXPECT_EQ(head_of(st), 10u);
  EXPECT_EQ(st["head"]["hash"], to_hex0x(blocks_[9].hash()));

  // And a good block from an honest peer is still imported afterwards.
  auto honest = make_peer("127.0.104.7", p2p::NodeType::kEN);
  auto conn = dial(honest, pn, "127.0.104.2");
  ASSERT_TRUE(conn.has_value());
  ASSERT_TRUE(send(honest, *conn, good_status));
  ASSERT_TRUE(send(honest, *conn, node::NewBlockMsg{blocks_[10]}));
  EXPECT_EQ(head_of(wait_status(
                "pn", [](const json& s) { return head_of(s) == 11; }, 10s)),
            11u);
}

}  // namespace
}  // namespace cc

namespace cc {
namespace {

// SIGN-1 over every journal: one digest per (address, height, round, type).
void expect_no_double_signing(const std::vector<fs::path>& journals) {
  std::map<std::string, std::string> seen;
  std::size_t lines = 0;
  for (const auto& path : journals) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      auto j = json::parse(line);
      std::string key = j["address"].get<std::string>() + "/" +
                        std::to_string(j["height"].get<std::uint64_t>()) + "/" +
                        std::to_string(j["round"].get<std::uint64_t>()) + "/" +
                        j["type"].get<std::string>();
      auto [it, fresh] = seen.emplace(key, j["digest"].get<std::string>());
      EXPECT_TRUE(fresh || it->second == j["digest"].get<std::string>())
          << "SIGN-1 violated at " << key << ": " << it->second << " vs " << j["digest"];
      ++lines;
    }
  }
  EXPECT_GT(lines, 0u);
}

// The rounds each height was signed in, over every journal: a height signed only in round 0
// was decided without a round change.
std::map<std::uint64_t, std::uint32_t> highest_round_per_height(
    const std::vector<fs::path>& journals) {
  std::map<std::uint64_t, std::uint32_t> out;
  for (const auto& path : journals) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      auto j = json::parse(line);
      auto& r = out[j["height"].get<std::uint64_t>()];
      r = std::max(r, j["round"].get<std::uint32_t>());
    }
  }
  return out;
}

// Consensus acceptance: 4 council CNs, each behind its own PN, and one EN, on loopback. The test
// plays a wallet's node: it connects to the EN as an EN and sends signed transfers, which travel
// EN -> PN -> CN. The CNs produce 1-second blocks holding every transfer, 60 consecutive of them
// without a round change; with one CN killed the chain goes on (with round changes when it is
// the proposer); with two killed it halts; restarted, they resume. Afterwards every node holds
// the same blocks and no journal shows a key signing two messages for one slot (SIGN-1).
TEST_F(Network, FourCouncilNodesWithProxiesCarryTransactionsSurviveOneFailureAndHaltWithoutQuorum) {
  generate(0);
  auto genesis = chain::load_genesis_file(genesis_);
  ASSERT_TRUE(genesis.ok());
  const auto senders = account_keys();
  ASSERT_EQ(senders.size(), 4u);

  std::vector<crypto::NodeIdentity> cn_ids;
  std::vector<crypto::NodeIdentity> pn_ids;
  for (int i = 0; i < 4; ++i) {
    cn_ids.push_back(make_datadir("cn" + std::to_string(i), i));
    pn_ids.push_back(make_datadir("pn" + std::to_string(i), -1));
  }
  const auto en_id = make_datadir("en", -1);
  auto cn_ip = [](int i) { return "127.0.105." + std::to_string(i + 2); };
  auto pn_ip = [](int i) { return "127.0.105." + std::to_string(i + 12); };
  const std::string en_ip = "127.0.105.20";

  for (int i = 0; i < 4; ++i) {  // PNs mesh with each other; each CN dials its own PN
    std::vector<std::string> statics;
    for (int j = 0; j < 4; ++j) {
      if (j != i) statics.push_back(kni(pn_ids[j], pn_ip(j), "pn"));
    }
    write_static_nodes(datadir("pn" + std::to_string(i)), statics);
    start_node("pn" + std::to_string(i), "pn", pn_ip(i));
  }
  std::vector<Process*> cns(4);
  auto start_cn = [&](int i) {
    std::vector<std::string> statics;
    std::string allow;
    for (int j = 0; j < 4; ++j) {
      if (j == i) continue;
      statics.push_back(kni(cn_ids[j], cn_ip(j), "cn"));
      allow += (allow.empty() ? "" : ",") + cn_ip(j);
    }
    write_static_nodes(datadir("cn" + std::to_string(i)), statics);
    cns[i] = &start_node("cn" + std::to_string(i), "cn", cn_ip(i),
                         {"--set", "CN_ALLOWLIST=" + allow, "--set",
                          "PROXY_NODES=" + kni(pn_ids[i], pn_ip(i), "pn")});
  };
  for (int i = 0; i < 4; ++i) start_cn(i);
  write_static_nodes(datadir("en"),
                     {kni(pn_ids[0], pn_ip(0), "pn"), kni(pn_ids[1], pn_ip(1), "pn")});
  start_node("en", "en", en_ip);

  auto at_least = [](std::uint64_t n) { return [n](const json& st) { return head_of(st) >= n; }; };
  wait_status("en", at_least(5), 120s);

  // Steady state with transactions: a transfer from each of the 4 accounts every 250 ms, sent to
  // the EN, until 60 more blocks are in.
  auto wallet = make_peer("127.0.105.30", p2p::NodeType::kEN);
  auto conn = dial(wallet, en_id, en_ip);
  ASSERT_TRUE(conn.has_value());
  ASSERT_TRUE(send(wallet, *conn, status_for(*genesis, 0, chain::genesis_hash(*genesis))));
  const std::uint64_t steady_from = head_of(status("cn0")) + 1;
  const std::uint64_t chain_id = genesis->config.chain_id;
  std::set<Hash32> sent;
  std::uint64_t nonce = 0;
  Address sink{};
  sink.fill(0x5e);
  while (head_of(status("cn0")) < steady_from + 60) {
    node::TransactionsMsg batch;
    for (const auto& key : senders) {
      batch.transactions.push_back(
          chain::make_transfer(key, nonce, sink, U256(1), U256(25'000'000'000ULL), chain_id));
      sent.insert(batch.transactions.back().hash());
    }
    ++nonce;
    ASSERT_TRUE(send(wallet, *conn, batch));
    std::this_thread::sleep_for(250ms);
  }
  const std::uint64_t steady_to = steady_from + 59;

  // One CN down: 3 of 4 is still a quorum (ceil(2*4/3) = 3).
  cns[3]->signal(SIGKILL);
  cns[3]->wait(5s);
  const std::uint64_t one_down_from = head_of(status("cn0")) + 1;
  EXPECT_GE(head_of(wait_status("cn0", at_least(one_down_from + 7), 180s)), one_down_from + 7);

  // Two down: no quorum, the chain halts.
  cns[2]->signal(SIGKILL);
  cns[2]->wait(5s);
  std::this_thread::sleep_for(3s);  // let a block already decided land everywhere
  auto halted = head_of(status("cn0"));
  std::this_thread::sleep_for(5s);
  EXPECT_LE(head_of(status("cn0")), halted + 1);

  // Both back (same DATA_DIRs, sign state kept): the chain resumes.
  start_cn(2);
  start_cn(3);
  EXPECT_GE(head_of(wait_status("cn3", at_least(halted + 3), 180s)), halted + 3);

  // Agreement: every node reaches a common height, then the chains are read offline.
  const auto common = head_of(status("cn0"));
  std::vector<std::string> names = {"cn0", "cn1", "cn2", "cn3", "pn0", "pn1", "pn2", "pn3", "en"};
  for (const auto& name : names) {
    EXPECT_GE(head_of(wait_status(name, at_least(common), 60s)), common) << name;
  }
  nodes_.clear();  // stop everyone
  std::vector<storage::ChainDb> dbs;
  for (const auto& name : names) {
    auto db = storage::ChainDb::open(node::chaindata_dir(datadir(name)));
    ASSERT_TRUE(db.ok()) << name << ": " << db.error().message;
    dbs.push_back(std::move(*db));
  }
  std::set<Hash32> included;
  std::uint64_t prev_time = 0;
  std::uint64_t steady_first_time = 0;
  std::uint64_t steady_last_time = 0;
  for (std::uint64_t n = 1; n <= common; ++n) {
    std::set<Hash32> hashes;
    for (std::size_t i = 0; i < dbs.size(); ++i) {
      auto h = dbs[i].canonical_hash(n);
      ASSERT_TRUE(h.ok() && h->has_value()) << names[i] << " lacks block " << n;
      hashes.insert(**h);
    }
    EXPECT_EQ(hashes.size(), 1u) << "nodes disagree at height " << n;
    auto block = dbs[0].block_by_number(n);
    ASSERT_TRUE(block.ok() && block->has_value());
    const auto& b = **block;
    EXPECT_GE(b.header.time, prev_time + 1) << "block period under 1 s at height " << n;
    prev_time = b.header.time;
    if (n == steady_from) steady_first_time = b.header.time;
    if (n == steady_to) steady_last_time = b.header.time;
    for (const auto& tx : b.transactions) included.insert(tx.hash());
  }
  // 1-second blocks: 60 blocks span 59 s, give or take the odd late second.
  EXPECT_GE(steady_last_time - steady_first_time, 59u);
  EXPECT_LE(steady_last_time - steady_first_time, 66u);
  // Every transfer the wallet sent is in the chain, and nothing else is.
  EXPECT_EQ(included.size(), sent.size());
  for (const auto& h : sent) EXPECT_TRUE(included.count(h) == 1) << to_hex0x(h) << " missing";

  std::vector<fs::path> journals;
  for (int i = 0; i < 4; ++i)
    journals.push_back(datadir("cn" + std::to_string(i)) / "klay" / "signjournal");
  expect_no_double_signing(journals);
  const auto rounds = highest_round_per_height(journals);
  for (std::uint64_t n = steady_from; n <= steady_to; ++n) {
    ASSERT_TRUE(rounds.count(n) == 1) << "no signature journaled at height " << n;
    EXPECT_EQ(rounds.at(n), 0u) << "round change at steady-state height " << n;
  }
  bool round_changed_with_one_down = false;
  for (const auto& [height, round] : rounds) {
    if (height >= one_down_from && height < halted && round > 0) round_changed_with_one_down = true;
  }
  EXPECT_TRUE(round_changed_with_one_down)
      << "with cn3 down, its turns as proposer should have needed a round change";
}

}  // namespace
}  // namespace cc
