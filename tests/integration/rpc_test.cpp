// The JSON-RPC, metrics and health endpoints of live nodes: one localnet (a CN, its PN and an EN
// on 127.0.150.x, used by no other test) is started for the whole suite, and every method the
// node serves (rpc/kaia_api.h) is called on it over real HTTP — kaia_/klay_/eth_ chain, block,
// account and transaction methods with a transfer signed here, the consensus, net_, admin_,
// web3_ and istanbul_ methods — with the result shapes Kaia and Ethereum clients expect. The
// protocol's failure cases get their JSON-RPC codes (parse error, invalid request, method not
// found, invalid params, batches, notifications), and the HTTP server's limits
// (rpc/http_server.h) are exercised as the attacks they exist for: an oversized body (413), a
// wrong Content-Type (415), a flood from one client address (429 for it, service for others),
// and slow clients that send half a request and stall. GET /metrics is judged by the real
// `promtool check metrics`; /health/live, /health/ready and /health/role by their status and
// verdict on each kind of node. The suite ends with `localnet down` and checks that no node or
// supervisor process is left.
//
// Flood source address: 127.0.150.200 (a socket bound to it), so the client address the flood
// empties the token bucket of is not the one the other tests use (127.0.0.1).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "chain/tx.h"
#include "crypto/address.h"
#include "crypto/keccak.h"
#include "crypto/secp256k1.h"
#include "rpc/http_server.h"
#include "support/promtool.h"
#include "support/subprocess.h"
#include "util/bytes.h"
#include "util/process.h"
#include "util/u256.h"

namespace cc {
namespace {
namespace fs = std::filesystem;
using cc::testing::bin_path;
using json = nlohmann::json;
using namespace std::chrono_literals;
using RpcClock = std::chrono::steady_clock;

constexpr const char* kRpcIpPrefix = "127.0.150";
constexpr const char* kRpcFloodSourceIp = "127.0.150.200";
// Serialises every process that runs this suite (ctest runs each test in a process of its own,
// possibly in parallel): they all need 127.0.150.x.
constexpr const char* kRpcLockFile = "cc-rpc-test.lock";
// Names the localnet directory of the run that holds the lock, so a run killed outright (no
// TearDownTestSuite) has its network stopped by the next one.
constexpr const char* kRpcLastNetFile = "cc-rpc-test.last-net";

double rpc_seconds_since(RpcClock::time_point start) {
  return std::chrono::duration<double>(RpcClock::now() - start).count();
}

std::string rpc_lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string rpc_slurp(const fs::path& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

cc::testing::RunResult rpc_corecell(std::vector<std::string> args,
                                    std::chrono::milliseconds timeout = 60s) {
  args.insert(args.begin(), bin_path("corecell"));
  return cc::testing::run(args, timeout);
}

// --- the network ---

struct RpcNodeInfo {
  std::string name;
  std::string role;  // cn, pn, en
  std::string ip;
  std::string address;
  std::string node_id;
  std::string kni;
  int rpc_port = 0;
  int metrics_port = 0;
  fs::path conf;
};

// "http://127.0.150.10:8551" or "http://127.0.150.10:61001/metrics" -> (ip, port).
std::optional<std::pair<std::string, int>> rpc_split_url(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  if (url.rfind(kScheme, 0) != 0) return std::nullopt;
  const std::string rest = url.substr(kScheme.size());
  const auto colon = rest.find(':');
  if (colon == std::string::npos) return std::nullopt;
  const auto slash = rest.find('/', colon);
  const std::string port =
      rest.substr(colon + 1, slash == std::string::npos ? slash : slash - colon - 1);
  if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::make_pair(rest.substr(0, colon), std::stoi(port));
}

struct RpcNet {
  std::string error;  // why the suite's setup failed; every test fails with it
  fs::path tmp;       // the temporary directory holding the localnet
  fs::path dir;       // the localnet directory (tmp/net)
  int lock_fd = -1;
  std::uint64_t chain_id = 0;
  json manifest;
  json accounts;  // [{"address", "privateKey"}]
  json genesis;
  std::vector<RpcNodeInfo> nodes;
  std::vector<pid_t> pids;  // supervisor and nodes, from status --json and run/*.pid

  [[nodiscard]] const RpcNodeInfo& by_role(const std::string& role) const {
    for (const auto& n : nodes) {
      if (n.role == role) return n;
    }
    static const RpcNodeInfo none;
    return none;
  }
  [[nodiscard]] const RpcNodeInfo& cn() const { return by_role("cn"); }
  [[nodiscard]] const RpcNodeInfo& pn() const { return by_role("pn"); }
  [[nodiscard]] const RpcNodeInfo& en() const { return by_role("en"); }
};

RpcNet& rpc_net() {
  static RpcNet net;
  return net;
}

// The tail of every node's log and the supervisor's, for failure messages.
std::string rpc_logs() {
  const auto& net = rpc_net();
  if (net.dir.empty()) return "";
  auto r = rpc_corecell({"localnet", "logs", "--dir", net.dir.string(), "-n", "30"}, 20s);
  return r.out + r.err + "\n--- supervisor.log\n" + rpc_slurp(net.dir / "run" / "supervisor.log");
}

json rpc_status_json() {
  auto r = rpc_corecell({"localnet", "status", "--json", "--dir", rpc_net().dir.string()}, 30s);
  json j = json::parse(r.out, nullptr, false);
  return r.exit_code == 0 && !j.is_discarded() ? j : json();
}

// Stops the localnet a killed earlier run of this suite left behind (its ports are ours).
void rpc_stop_stale_net() {
  const fs::path marker = fs::temp_directory_path() / kRpcLastNetFile;
  if (!fs::exists(marker)) return;
  const fs::path stale = rpc_slurp(marker);
  if (stale.string().find("cc-rpc-") != std::string::npos && fs::exists(stale / "network.json")) {
    (void)rpc_corecell({"localnet", "down", "--dir", stale.string()}, 60s);
    std::error_code ec;
    fs::remove_all(stale.parent_path(), ec);
  }
  fs::remove(marker);
}

std::string rpc_start_net() {
  auto& net = rpc_net();
  const fs::path lock_path = fs::temp_directory_path() / kRpcLockFile;
  net.lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (net.lock_fd < 0) return "cannot open " + lock_path.string() + ": " + std::strerror(errno);
  const auto lock_deadline = RpcClock::now() + 300s;
  while (::flock(net.lock_fd, LOCK_EX | LOCK_NB) != 0) {
    if (RpcClock::now() > lock_deadline) {
      return "another run of this suite held " + lock_path.string() + " for 300 s";
    }
    std::this_thread::sleep_for(100ms);
  }
  rpc_stop_stale_net();

  // Short: every DATA_DIR's control socket path must stay under 107 bytes.
  std::string tmpl = (fs::temp_directory_path() / "cc-rpc-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return "mkdtemp failed";
  net.tmp = tmpl;
  net.dir = net.tmp / "net";
  std::ofstream(fs::temp_directory_path() / kRpcLastNetFile) << net.dir.string();

  auto init = rpc_corecell({"localnet", "init", "--dir", net.dir.string(), "--cells", "1", "--pns",
                            "1", "--ens", "1", "--ip-prefix", kRpcIpPrefix});
  if (init.exit_code != 0) return "localnet init failed: " + init.out + init.err;
  auto up = rpc_corecell({"localnet", "up", "--dir", net.dir.string(), "--timeout", "60"}, 90s);
  if (up.exit_code != 0) return "localnet up failed: " + up.out + up.err + "\n" + rpc_logs();

  net.manifest = json::parse(rpc_slurp(net.dir / "network.json"), nullptr, false);
  if (net.manifest.is_discarded()) return "network.json is not JSON";
  net.accounts = json::parse(rpc_slurp(net.dir / net.manifest.value("accounts", "accounts.json")),
                             nullptr, false);
  if (!net.accounts.is_array() || net.accounts.size() < 10) return "accounts.json: want 10";
  net.genesis = json::parse(rpc_slurp(net.dir / net.manifest.value("genesis", "genesis.json")),
                            nullptr, false);
  if (net.genesis.is_discarded()) return "genesis.json is not JSON";
  net.chain_id = net.manifest.value("chainId", std::uint64_t{0});
  for (const auto& n : net.manifest["nodes"]) {
    RpcNodeInfo info;
    info.name = n.value("name", "");
    info.role = n.value("role", "");
    info.ip = n.value("ip", "");
    info.address = n.value("address", "");
    info.node_id = n.value("nodeId", "");
    info.kni = n.value("kni", "");
    info.conf = net.dir / n.value("conf", "");
    const auto rpc = rpc_split_url(n.value("rpcUrl", ""));
    const auto metrics = rpc_split_url(n.value("metricsUrl", ""));
    if (!rpc || !metrics) return "network.json: node " + info.name + " has no rpcUrl/metricsUrl";
    info.rpc_port = rpc->second;
    info.metrics_port = metrics->second;
    net.nodes.push_back(info);
  }
  if (net.nodes.size() != 3 || net.cn().name.empty() || net.pn().name.empty() ||
      net.en().name.empty()) {
    return "network.json: want one CN, one PN and one EN\n" + net.manifest.dump(2);
  }

  // Every process of the network, by two independent sources: status --json and the pid files.
  json status = rpc_status_json();
  if (status.is_null()) return "localnet status --json failed";
  if (status["supervisor"]["pid"].is_number_integer()) {
    net.pids.push_back(status["supervisor"]["pid"].get<pid_t>());
  }
  for (auto n : status["nodes"]) {
    if (n["pid"].is_number_integer()) net.pids.push_back(n["pid"].get<pid_t>());
  }
  for (const auto& entry : fs::directory_iterator(net.dir / "run")) {
    if (entry.path().extension() != ".pid") continue;
    if (auto pid = util::read_pid_file(entry.path())) net.pids.push_back(*pid);
  }
  std::sort(net.pids.begin(), net.pids.end());
  net.pids.erase(std::unique(net.pids.begin(), net.pids.end()), net.pids.end());
  if (net.pids.size() != 4) return "want 4 processes (supervisor + 3 nodes): " + status.dump(2);
  for (const pid_t pid : net.pids) {
    // What TearDownTestSuite's check relies on: each process names the localnet directory.
    if (!util::process_matches(pid, net.dir.string())) {
      return fmt::format("pid {} is not a live process of {}", pid, net.dir.string());
    }
  }

  // In sync by the control sockets (an independent judge from what the tests check): every node
  // has peers, is not downloading and has a block past the genesis.
  const auto deadline = RpcClock::now() + 30s;
  json last;
  for (;;) {
    last = rpc_status_json();
    bool all = !last.is_null() && last["nodes"].size() == 3;
    for (auto n : last.value("nodes", json::array())) {
      all = all && n["inSync"] == true && n["head"].is_object() &&
            n["head"].value("number", std::uint64_t{0}) >= 1;
    }
    if (all) break;
    if (RpcClock::now() > deadline) {
      return "the localnet is not in sync after 30 s: " + last.dump(2) + "\n" + rpc_logs();
    }
    std::this_thread::sleep_for(200ms);
  }
  return "";
}

// --- HTTP ---

struct RpcHttpReply {
  int status = 0;  // 0: no HTTP response (error says why)
  std::string body;
  std::string content_type;
  std::string retry_after;
  std::string error;
  double seconds = 0;
};

RpcHttpReply rpc_http(const std::string& ip, int port, const std::string& method,
                      const std::string& path, const std::string& body = "",
                      const std::string& content_type = "application/json",
                      std::chrono::milliseconds timeout = 5s) {
  httplib::Client cli(ip, port);
  cli.set_connection_timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout));
  cli.set_read_timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout));
  cli.set_write_timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout));
  const auto start = RpcClock::now();
  auto res = method == "GET" ? cli.Get(path) : cli.Post(path, body, content_type);
  RpcHttpReply out;
  out.seconds = rpc_seconds_since(start);
  if (!res) {
    out.error = httplib::to_string(res.error());
    return out;
  }
  out.status = res->status;
  out.body = res->body;
  out.content_type = res->get_header_value("Content-Type");
  out.retry_after = res->get_header_value("Retry-After");
  return out;
}

RpcHttpReply rpc_post(const RpcNodeInfo& node, const std::string& body,
                      const std::string& content_type = "application/json",
                      std::chrono::milliseconds timeout = 5s) {
  return rpc_http(node.ip, node.rpc_port, "POST", "/", body, content_type, timeout);
}

RpcHttpReply rpc_get_metrics_port(const RpcNodeInfo& node, const std::string& path) {
  return rpc_http(node.ip, node.metrics_port, "GET", path);
}

json rpc_request(const std::string& method, const json& params = json::array(),
                 const json& id = 1) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}};
}

// The parsed response to one call; a JSON object {"transport": "..."} when there was none.
json rpc_call(const RpcNodeInfo& node, const std::string& method,
              const json& params = json::array()) {
  const auto reply = rpc_post(node, rpc_request(method, params).dump());
  if (reply.status != 200) {
    return json{{"transport", fmt::format("HTTP {} {} {}", reply.status, reply.error, reply.body)}};
  }
  json doc = json::parse(reply.body, nullptr, false);
  if (doc.is_discarded()) return json{{"transport", "not JSON: " + reply.body}};
  return doc;
}

// The result of a call that must succeed; a failure (recorded) answers null.
json rpc_ok(const RpcNodeInfo& node, const std::string& method,
            const json& params = json::array()) {
  json doc = rpc_call(node, method, params);
  if (!doc.contains("result") || doc.contains("error")) {
    ADD_FAILURE() << node.name << " " << method << " " << params.dump() << " -> " << doc.dump();
    return nullptr;
  }
  EXPECT_EQ(doc["jsonrpc"], "2.0") << node.name << " " << method;
  EXPECT_EQ(doc["id"], 1) << node.name << " " << method;
  return doc["result"];
}

// The error object of a call that must fail; a success (recorded) answers null.
json rpc_err(const RpcNodeInfo& node, const std::string& method, const json& params) {
  json doc = rpc_call(node, method, params);
  if (!doc.contains("error") || doc.contains("result") || !doc["error"].is_object()) {
    ADD_FAILURE() << node.name << " " << method << " " << params.dump() << ": want an error, got "
                  << doc.dump();
    return json::object();
  }
  return doc["error"];
}

// A JSON-RPC quantity: "0x" and 1-16 hex digits without leading zeros.
std::optional<std::uint64_t> rpc_qty(const json& v) {
  if (!v.is_string()) return std::nullopt;
  const auto& s = v.get_ref<const std::string&>();
  if (s.size() < 3 || s.size() > 18 || s.rfind("0x", 0) != 0) return std::nullopt;
  if (s.find_first_not_of("0123456789abcdef", 2) != std::string::npos) return std::nullopt;
  if (s.size() > 3 && s[2] == '0') return std::nullopt;
  return std::stoull(s.substr(2), nullptr, 16);
}

std::optional<U256> rpc_u256(const json& v) {
  if (!v.is_string() || v.get<std::string>().rfind("0x", 0) != 0) return std::nullopt;
  auto r = u256_parse(v.get<std::string>());
  if (!r.ok()) return std::nullopt;
  return *r;
}

bool rpc_is_hash(const json& v) {
  if (!v.is_string()) return false;
  const auto& s = v.get_ref<const std::string&>();
  return s.size() == 66 && s.rfind("0x", 0) == 0 &&
         s.find_first_not_of("0123456789abcdef", 2) == std::string::npos;
}

std::uint64_t rpc_head(const RpcNodeInfo& node) {
  return rpc_qty(rpc_ok(node, "eth_blockNumber")).value_or(0);
}

// --- transactions ---

crypto::PrivateKey rpc_account_key(std::size_t index) {
  const auto hex = rpc_net().accounts.at(index).value("privateKey", "");
  auto bytes = from_hex(hex);
  EXPECT_TRUE(bytes.ok()) << "accounts.json[" << index << "].privateKey";
  auto key = crypto::PrivateKey::from_bytes(bytes.ok() ? *bytes : Bytes(32, 1));
  EXPECT_TRUE(key.ok());
  return key.ok() ? *key : crypto::PrivateKey::generate();
}

std::string rpc_account_address(std::size_t index) {
  return rpc_net().accounts.at(index).value("address", "");
}

U256 rpc_gas_price(const RpcNodeInfo& node) {
  auto price = rpc_u256(rpc_ok(node, "eth_gasPrice"));
  EXPECT_TRUE(price.has_value());
  return price.value_or(U256(0));
}

std::uint64_t rpc_nonce(const RpcNodeInfo& node, const std::string& address,
                        const std::string& tag) {
  auto n = rpc_qty(rpc_ok(node, "eth_getTransactionCount", {address, tag}));
  EXPECT_TRUE(n.has_value()) << address << " " << tag;
  return n.value_or(0);
}

// The raw bytes of a transfer signed here, as eth_sendRawTransaction takes them.
Bytes rpc_signed_transfer(std::size_t from_account, std::uint64_t nonce, const Address& to,
                          const U256& value, const U256& gas_price) {
  const auto tx = chain::make_transfer(rpc_account_key(from_account), nonce, to, value, gas_price,
                                       rpc_net().chain_id);
  return tx.encode();
}

Address rpc_fresh_address() { return crypto::address_of(crypto::PrivateKey::generate()); }

// Polls the receipt until it is there (null until the transaction is in a block).
json rpc_wait_receipt(const RpcNodeInfo& node, const std::string& hash,
                      const std::string& method = "eth_getTransactionReceipt",
                      std::chrono::milliseconds timeout = 20s) {
  const auto deadline = RpcClock::now() + timeout;
  for (;;) {
    json doc = rpc_call(node, method, {hash});
    if (doc.contains("result") && !doc["result"].is_null()) return doc["result"];
    if (doc.contains("error") || doc.contains("transport")) {
      ADD_FAILURE() << method << " " << hash << " -> " << doc.dump();
      return nullptr;
    }
    if (RpcClock::now() > deadline) {
      ADD_FAILURE() << "no receipt for " << hash << " on " << node.name << " after "
                    << timeout.count() << " ms";
      return nullptr;
    }
    std::this_thread::sleep_for(100ms);
  }
}

// One transfer (accounts[1] -> a fresh address) sent to the EN and mined, shared by the tests
// that need a transaction in a block; sent the first time a test asks for it.
struct RpcMinedTransfer {
  std::string error;
  std::string hash;
  std::string from;
  Address to{};
  std::uint64_t nonce = 0;
  json receipt;
};

const RpcMinedTransfer& rpc_mined_transfer() {
  static const RpcMinedTransfer mined = [] {
    RpcMinedTransfer m;
    const auto& en = rpc_net().en();
    m.from = rpc_account_address(1);
    m.to = rpc_fresh_address();
    m.nonce = rpc_nonce(en, m.from, "pending");
    const Bytes raw = rpc_signed_transfer(1, m.nonce, m.to, U256(7), rpc_gas_price(en));
    json sent = rpc_call(en, "eth_sendRawTransaction", {to_hex0x(raw)});
    if (!sent.contains("result") || !sent["result"].is_string()) {
      m.error = "eth_sendRawTransaction: " + sent.dump();
      return m;
    }
    m.hash = sent["result"].get<std::string>();
    m.receipt = rpc_wait_receipt(en, m.hash);
    if (m.receipt.is_null()) m.error = "the shared transfer " + m.hash + " was not mined";
    return m;
  }();
  return mined;
}

// --- raw sockets: for what an HTTP client library will not do (choose the source address, send
// half a request, claim a body it never sends, pipeline) ---

struct RpcRawResponse {
  int status = 0;
  std::string head;  // status line and headers
  std::string body;
};

class RpcRawConn {
 public:
  RpcRawConn(const std::string& ip, int port, const std::string& source_ip = "") {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
      error_ = std::string("socket: ") + std::strerror(errno);
      return;
    }
    timeval tv{3, 0};  // bounds connect() and send()
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (!source_ip.empty()) {
      sockaddr_in src{};
      src.sin_family = AF_INET;
      ::inet_pton(AF_INET, source_ip.c_str(), &src.sin_addr);
      if (::bind(fd_, reinterpret_cast<sockaddr*>(&src), sizeof(src)) != 0) {
        error_ = "bind " + source_ip + ": " + std::strerror(errno);
        close();
        return;
      }
    }
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(static_cast<std::uint16_t>(port));
    ::inet_pton(AF_INET, ip.c_str(), &dst.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&dst), sizeof(dst)) != 0) {
      error_ = fmt::format("connect {}:{}: {}", ip, port, std::strerror(errno));
      close();
    }
  }
  ~RpcRawConn() { close(); }
  RpcRawConn(const RpcRawConn&) = delete;
  RpcRawConn& operator=(const RpcRawConn&) = delete;

  [[nodiscard]] bool ok() const { return fd_ >= 0; }
  [[nodiscard]] const std::string& error() const { return error_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  bool send_all(std::string_view data) {
    while (!data.empty() && fd_ >= 0) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return fd_ >= 0;
  }

  // One HTTP response (headers, then a Content-Length body); nullopt on close or timeout.
  std::optional<RpcRawResponse> read_response(std::chrono::milliseconds timeout) {
    const auto deadline = RpcClock::now() + timeout;
    std::size_t head_end = 0;
    while ((head_end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill(deadline)) return std::nullopt;
    }
    RpcRawResponse r;
    r.head = buf_.substr(0, head_end + 2);
    if (r.head.size() < 12 || r.head.rfind("HTTP/1.", 0) != 0) return std::nullopt;
    r.status = std::atoi(r.head.c_str() + 9);
    std::size_t length = 0;
    const std::string lower = rpc_lower(r.head);
    if (const auto at = lower.find("\r\ncontent-length:"); at != std::string::npos) {
      length = std::strtoull(lower.c_str() + at + 17, nullptr, 10);
    }
    const std::size_t total = head_end + 4 + length;
    while (buf_.size() < total) {
      if (!fill(deadline)) return std::nullopt;
    }
    r.body = buf_.substr(head_end + 4, length);
    buf_.erase(0, total);
    return r;
  }

  // Waits until the server closes the connection, discarding what it sends; false on timeout.
  bool wait_closed(std::chrono::milliseconds timeout) {
    const auto deadline = RpcClock::now() + timeout;
    while (!closed_) {
      if (!fill(deadline) && !closed_) return false;
      buf_.clear();
    }
    return true;
  }

  [[nodiscard]] const std::string& received() const { return buf_; }

 private:
  // Reads what is there (waiting until `deadline`); false on close, error or timeout.
  bool fill(RpcClock::time_point deadline) {
    if (fd_ < 0 || closed_) return false;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - RpcClock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    char chunk[65536];
    const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    buf_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool closed_ = false;
  std::string buf_;
  std::string error_;
};

std::string rpc_raw_post(const std::string& host, const std::string& body) {
  return fmt::format(
      "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: "
      "{}\r\n\r\n{}",
      host, body.size(), body);
}

// --- the suite ---

class RpcLocalnet : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // The server closes on an oversized body while the client is still sending it: a write
    // that fails must be an error here, not a signal that ends the test process.
    std::signal(SIGPIPE, SIG_IGN);
    auto& net = rpc_net();
    net.error = rpc_start_net();
  }

  static void TearDownTestSuite() {
    auto& net = rpc_net();
    if (!net.dir.empty() && fs::exists(net.dir / "network.json")) {
      auto down = rpc_corecell({"localnet", "down", "--dir", net.dir.string()}, 60s);
      EXPECT_EQ(down.exit_code, 0) << down.out << down.err;
      // Every process the network ran is gone (not merely signalled): by the pids recorded at
      // start (status --json and run/*.pid), and by a scan of /proc for any process naming the
      // localnet directory on its command line.
      const auto deadline = RpcClock::now() + 5s;
      std::vector<pid_t> left;
      do {
        left.clear();
        for (const pid_t pid : net.pids) {
          if (util::process_matches(pid, net.dir.string())) left.push_back(pid);
        }
        for (const auto& entry : fs::directory_iterator("/proc")) {
          const std::string name = entry.path().filename().string();
          if (name.find_first_not_of("0123456789") != std::string::npos) continue;
          const pid_t pid = std::stoi(name);
          if (pid != ::getpid() && util::process_matches(pid, net.dir.string()) &&
              std::find(left.begin(), left.end(), pid) == left.end()) {
            left.push_back(pid);
          }
        }
        if (!left.empty()) std::this_thread::sleep_for(50ms);
      } while (!left.empty() && RpcClock::now() < deadline);
      EXPECT_TRUE(left.empty()) << left.size() << " process(es) of the localnet outlived `down`";
      for (const pid_t pid : left) ::kill(pid, SIGKILL);
      EXPECT_FALSE(net.pids.empty());
      std::vector<std::string> pid_files;
      for (const auto& entry : fs::directory_iterator(net.dir / "run")) {
        if (entry.path().extension() == ".pid") pid_files.push_back(entry.path().string());
      }
      EXPECT_TRUE(pid_files.empty()) << "pid file left: " << pid_files.front();
    }
    std::error_code ec;
    if (!net.tmp.empty()) fs::remove_all(net.tmp, ec);
    fs::remove(fs::temp_directory_path() / kRpcLastNetFile, ec);
    if (net.lock_fd >= 0) ::close(net.lock_fd);  // releases the flock
    net = RpcNet{};
  }

  void SetUp() override { ASSERT_EQ(rpc_net().error, "") << "the suite's localnet did not start"; }

  static RpcNet& net() { return rpc_net(); }
};

// ===== chain methods =====

TEST_F(RpcLocalnet, BlockNumberIsTheSameHeadUnderKaiaKlayAndEthOnEveryNode) {
  for (const auto& node : net().nodes) {
    std::uint64_t previous = 0;
    for (const char* method : {"kaia_blockNumber", "klay_blockNumber", "eth_blockNumber"}) {
      json r = rpc_ok(node, method);
      const auto n = rpc_qty(r);
      ASSERT_TRUE(n.has_value()) << node.name << " " << method << " -> " << r;
      EXPECT_GE(*n, 1U) << node.name << " " << method;
      EXPECT_GE(*n, previous) << node.name << " " << method << ": the head went back";
      previous = *n;
    }
  }
}

TEST_F(RpcLocalnet, ChainIdIsTheGenesisChainIdUnderEveryName) {
  const std::string want = fmt::format("0x{:x}", net().chain_id);
  ASSERT_EQ(net().genesis["config"]["chainId"], net().chain_id);
  for (const auto& node : net().nodes) {
    for (const char* method : {"kaia_chainID", "klay_chainID", "eth_chainId"}) {
      EXPECT_EQ(rpc_ok(node, method), want) << node.name << " " << method;
    }
  }
}

TEST_F(RpcLocalnet, SyncingIsFalseOnEveryNodeInSync) {
  for (const auto& node : net().nodes) {
    for (const char* method : {"kaia_syncing", "klay_syncing", "eth_syncing"}) {
      // A block announced a moment ago may be downloading: false within a few polls.
      const auto deadline = RpcClock::now() + 5s;
      json r;
      do {
        r = rpc_ok(node, method);
        if (r == false) break;
        std::this_thread::sleep_for(100ms);
      } while (RpcClock::now() < deadline);
      EXPECT_EQ(r, false) << node.name << " " << method;
    }
  }
}

TEST_F(RpcLocalnet, GasPriceIsKaiasUnitPriceOf25Gkei) {
  for (const auto& node : net().nodes) {
    for (const char* method : {"kaia_gasPrice", "klay_gasPrice", "eth_gasPrice"}) {
      EXPECT_EQ(rpc_ok(node, method), "0x5d21dba00") << node.name << " " << method;
    }
  }
}

TEST_F(RpcLocalnet, GetBlockByNumberAnswersTagsAndNumbersAndNullPastTheHead) {
  const auto& en = net().en();
  for (const char* method :
       {"eth_getBlockByNumber", "kaia_getBlockByNumber", "klay_getBlockByNumber"}) {
    SCOPED_TRACE(method);
    const std::uint64_t head_before = rpc_head(en);
    json latest = rpc_ok(en, method, {"latest", false});
    ASSERT_TRUE(latest.is_object()) << latest;
    const auto latest_number = rpc_qty(latest["number"]);
    ASSERT_TRUE(latest_number.has_value()) << latest;
    EXPECT_GE(*latest_number, head_before);
    EXPECT_TRUE(rpc_is_hash(latest["hash"])) << latest;

    json earliest = rpc_ok(en, method, {"earliest", false});
    ASSERT_TRUE(earliest.is_object()) << earliest;
    EXPECT_EQ(earliest["number"], "0x0");
    json info = rpc_ok(en, "admin_nodeInfo");
    EXPECT_EQ(earliest["hash"], info["protocols"]["klay"]["genesis"]) << "earliest is the genesis";

    json one = rpc_ok(en, method, {"0x1", true});
    ASSERT_TRUE(one.is_object()) << one;
    EXPECT_EQ(one["number"], "0x1");
    EXPECT_EQ(one["parentHash"], earliest["hash"]);
    EXPECT_TRUE(one["transactions"].is_array());

    // The same block by its number and by "latest".
    json again = rpc_ok(en, method, {latest["number"], false});
    EXPECT_EQ(again["hash"], latest["hash"]);

    const std::string future = fmt::format("0x{:x}", *latest_number + 1000);
    EXPECT_TRUE(rpc_ok(en, method, {future, false}).is_null()) << future;
    EXPECT_TRUE(rpc_ok(en, method, {future}).is_null()) << "the full flag is optional";
  }
}

TEST_F(RpcLocalnet, GetBlockByNumberListsTransactionObjectsWhenFullElseHashes) {
  const auto& mined = rpc_mined_transfer();
  ASSERT_EQ(mined.error, "");
  json number = mined.receipt.at("blockNumber");
  for (const auto& node : net().nodes) {
    for (const char* method : {"eth_getBlockByNumber", "kaia_getBlockByNumber"}) {
      json hashes = rpc_ok(node, method, {number, false});
      ASSERT_TRUE(hashes.is_object()) << node.name << " " << method;
      ASSERT_EQ(hashes["transactions"].size(), 1U) << hashes;
      EXPECT_EQ(hashes["transactions"][0], mined.hash) << node.name << " " << method;

      json full = rpc_ok(node, method, {number, true});
      ASSERT_TRUE(full.is_object()) << node.name << " " << method;
      ASSERT_EQ(full["transactions"].size(), 1U) << full;
      json tx = full["transactions"][0];
      ASSERT_TRUE(tx.is_object()) << tx;
      EXPECT_EQ(tx["hash"], mined.hash);
      EXPECT_EQ(rpc_lower(tx.value("from", "")), rpc_lower(mined.from));
      EXPECT_EQ(rpc_lower(tx.value("to", "")), rpc_lower(to_hex0x(mined.to)));
      EXPECT_EQ(tx["blockHash"], full["hash"]);
      EXPECT_EQ(tx["blockNumber"], number);
      EXPECT_EQ(tx["transactionIndex"], "0x0");
      EXPECT_EQ(tx["value"], "0x7");
    }
  }
}

TEST_F(RpcLocalnet, GetBlockByHashFindsKnownBlocksAndAnswersNullForUnknownOnes) {
  for (const auto& node : net().nodes) {
    for (const char* prefix : {"eth_", "kaia_", "klay_"}) {
      const std::string by_number = std::string(prefix) + "getBlockByNumber";
      const std::string by_hash = std::string(prefix) + "getBlockByHash";
      for (const char* ref : {"0x0", "0x1", "latest"}) {
        json block = rpc_ok(node, by_number, {ref, false});
        ASSERT_TRUE(block.is_object()) << node.name << " " << by_number << " " << ref;
        EXPECT_EQ(rpc_ok(node, by_hash, {block["hash"], false}), block)
            << node.name << " " << by_hash << " " << ref;
      }
      const std::string unknown = "0x" + std::string(62, 'a') + "42";
      EXPECT_TRUE(rpc_ok(node, by_hash, {unknown, true}).is_null()) << node.name << " " << by_hash;
    }
  }
}

TEST_F(RpcLocalnet, EthBlocksHaveEthereumsShapeAndKaiaBlocksHaveKaias) {
  const auto& en = net().en();
  json eth = rpc_ok(en, "eth_getBlockByNumber", {"0x1", false});
  ASSERT_TRUE(eth.is_object()) << eth;
  for (const char* key : {"nonce", "difficulty", "gasLimit", "uncles", "miner", "sha3Uncles",
                          "mixHash", "totalDifficulty", "extraData", "logsBloom", "stateRoot",
                          "transactionsRoot", "receiptsRoot", "gasUsed", "timestamp", "size"}) {
    EXPECT_TRUE(eth.contains(key)) << "eth_ block lacks " << key << ": " << eth;
  }
  EXPECT_EQ(eth["nonce"], "0x0000000000000000");
  EXPECT_TRUE(rpc_qty(eth["difficulty"]).has_value()) << eth["difficulty"];
  EXPECT_TRUE(rpc_qty(eth["gasLimit"]).has_value()) << eth["gasLimit"];
  EXPECT_EQ(eth["uncles"], json::array());
  EXPECT_EQ(rpc_lower(eth.value("miner", "")), rpc_lower(net().cn().address));
  for (const char* key : {"blockscore", "timestampFoS", "reward"}) {
    EXPECT_FALSE(eth.contains(key)) << "eth_ block has Kaia's " << key;
  }

  for (const char* method : {"kaia_getBlockByNumber", "klay_getBlockByNumber"}) {
    json kaia = rpc_ok(en, method, {"0x1", false});
    ASSERT_TRUE(kaia.is_object()) << kaia;
    for (const char* key : {"blockscore", "timestampFoS", "reward", "totalBlockScore",
                            "governanceData", "voteData", "extraData"}) {
      EXPECT_TRUE(kaia.contains(key)) << method << " block lacks " << key << ": " << kaia;
    }
    EXPECT_TRUE(rpc_qty(kaia["blockscore"]).has_value()) << kaia["blockscore"];
    EXPECT_TRUE(rpc_qty(kaia["timestampFoS"]).has_value()) << kaia["timestampFoS"];
    EXPECT_EQ(rpc_lower(kaia.value("reward", "")), rpc_lower(net().cn().address));
    for (const char* key : {"nonce", "difficulty", "gasLimit", "uncles", "mixHash"}) {
      EXPECT_FALSE(kaia.contains(key)) << method << " block has Ethereum's " << key;
    }
    EXPECT_EQ(kaia["hash"], eth["hash"]) << "one block, two shapes";
    EXPECT_NE(kaia["extraData"], "0x") << "Kaia's shape carries the Istanbul extra";
  }
}

// ===== accounts =====

TEST_F(RpcLocalnet, GetBalanceOfAFundedAccountIsItsGenesisAllocAndOfAnUnknownOneZero) {
  const std::string funded = rpc_account_address(9);  // no test sends from or to it
  json alloc = net().genesis["alloc"][rpc_lower(funded)]["balance"];
  const auto want = rpc_u256(alloc);
  ASSERT_TRUE(want.has_value()) << "genesis alloc of " << funded << ": " << alloc;
  ASSERT_GT(*want, U256(0));
  for (const auto& node : net().nodes) {
    for (const char* method : {"eth_getBalance", "kaia_getBalance", "klay_getBalance"}) {
      EXPECT_EQ(rpc_u256(rpc_ok(node, method, {funded, "latest"})), want)
          << node.name << " " << method;
      EXPECT_EQ(rpc_u256(rpc_ok(node, method, {funded})), want)
          << node.name << " " << method << " (block defaults to latest)";
      EXPECT_EQ(rpc_ok(node, method, {to_hex0x(rpc_fresh_address()), "latest"}), "0x0")
          << node.name << " " << method;
    }
  }
}

TEST_F(RpcLocalnet, StateAtAnOldBlockIsAnErrorSayingOnlyTheHeadsStateIsKept) {
  const auto& en = net().en();
  ASSERT_GE(rpc_head(en), 1U);
  for (const char* method : {"eth_getBalance", "kaia_getBalance", "eth_getTransactionCount",
                             "kaia_getTransactionCount"}) {
    json err = rpc_err(en, method, {rpc_account_address(9), "0x0"});
    EXPECT_EQ(err.value("code", 0), -32000) << method << " " << err;
    EXPECT_NE(err.value("message", "").find("head's state only"), std::string::npos)
        << method << " " << err;
  }
}

TEST_F(RpcLocalnet, SendRawTransactionReturnsTheKeccakOfTheRawBytesAndTheTransferIsMined) {
  const auto& en = net().en();
  const std::string from = rpc_account_address(0);
  const Address to = rpc_fresh_address();
  const std::uint64_t nonce = rpc_nonce(en, from, "latest");
  EXPECT_EQ(rpc_nonce(en, from, "pending"), nonce) << "nothing of accounts[0] is pending yet";
  const Bytes raw = rpc_signed_transfer(0, nonce, to, U256(12345), rpc_gas_price(en));
  const std::string want_hash = to_hex0x(crypto::keccak256(raw));

  json hash = rpc_ok(en, "eth_sendRawTransaction", {to_hex0x(raw)});
  ASSERT_EQ(hash, want_hash);

  // At once (the transaction must travel EN -> PN -> CN, wait for a block proposal and the block
  // come back before the EN could have a receipt): pending, counted by "pending" only, no receipt.
  EXPECT_TRUE(rpc_ok(en, "eth_getTransactionReceipt", {want_hash}).is_null());
  EXPECT_TRUE(rpc_ok(en, "kaia_getTransactionReceipt", {want_hash}).is_null());
  json pending = rpc_ok(en, "eth_getTransactionByHash", {want_hash});
  ASSERT_TRUE(pending.is_object()) << pending;
  EXPECT_EQ(pending["hash"], want_hash);
  EXPECT_TRUE(pending["blockHash"].is_null()) << pending;
  EXPECT_TRUE(pending["blockNumber"].is_null()) << pending;
  EXPECT_EQ(rpc_lower(pending.value("from", "")), rpc_lower(from));
  EXPECT_EQ(rpc_nonce(en, from, "pending"), nonce + 1);

  json receipt = rpc_wait_receipt(en, want_hash);
  ASSERT_TRUE(receipt.is_object());
  EXPECT_EQ(receipt["status"], "0x1");
  EXPECT_EQ(receipt["gasUsed"], "0x5208");
  EXPECT_EQ(receipt["transactionHash"], want_hash);
  EXPECT_EQ(rpc_lower(receipt.value("from", "")), rpc_lower(from));
  EXPECT_EQ(rpc_lower(receipt.value("to", "")), rpc_lower(to_hex0x(to)));
  json block = rpc_ok(en, "eth_getBlockByNumber", {receipt["blockNumber"], false});
  ASSERT_TRUE(block.is_object()) << block;
  EXPECT_EQ(receipt["blockHash"], block["hash"]);
  EXPECT_NE(std::find(block["transactions"].begin(), block["transactions"].end(), want_hash),
            block["transactions"].end());

  json kaia_receipt = rpc_ok(en, "kaia_getTransactionReceipt", {want_hash});
  ASSERT_TRUE(kaia_receipt.is_object()) << kaia_receipt;
  EXPECT_EQ(kaia_receipt["status"], "0x1");
  EXPECT_EQ(kaia_receipt["gasUsed"], "0x5208");
  EXPECT_EQ(kaia_receipt["blockHash"], block["hash"]);
  EXPECT_EQ(kaia_receipt["type"], "TxTypeLegacyTransaction");

  json mined = rpc_ok(en, "eth_getTransactionByHash", {want_hash});
  ASSERT_TRUE(mined.is_object()) << mined;
  EXPECT_EQ(mined["blockHash"], block["hash"]);
  EXPECT_EQ(mined["blockNumber"], receipt["blockNumber"]);
  EXPECT_EQ(mined["transactionIndex"], receipt["transactionIndex"]);
  EXPECT_EQ(rpc_nonce(en, from, "latest"), nonce + 1);
  EXPECT_EQ(rpc_ok(en, "eth_getBalance", {to_hex0x(to), "latest"}), "0x3039");
}

TEST_F(RpcLocalnet, SendRawTransactionRefusesTheSameTransactionAgainAsAlreadyKnown) {
  const auto& en = net().en();
  const std::string from = rpc_account_address(3);
  const Bytes raw = rpc_signed_transfer(3, rpc_nonce(en, from, "pending"), rpc_fresh_address(),
                                        U256(1), rpc_gas_price(en));
  ASSERT_EQ(rpc_ok(en, "eth_sendRawTransaction", {to_hex0x(raw)}),
            to_hex0x(crypto::keccak256(raw)));
  // At once, while it is still in the pool (see the previous test for why it is).
  for (const char* method : {"eth_sendRawTransaction", "kaia_sendRawTransaction"}) {
    json err = rpc_err(en, method, {to_hex0x(raw)});
    EXPECT_EQ(err.value("code", 0), -32000) << method << " " << err;
    EXPECT_EQ(err.value("message", "").rfind("already known", 0), 0U) << method << " " << err;
  }
}

TEST_F(RpcLocalnet, SendRawTransactionRefusesAUsedNonceAsNonceTooLow) {
  const auto& mined = rpc_mined_transfer();
  ASSERT_EQ(mined.error, "");
  const auto& en = net().en();
  ASSERT_GT(rpc_nonce(en, mined.from, "latest"), mined.nonce);
  // Not the mined transaction again: the same nonce with another value.
  const Bytes raw = rpc_signed_transfer(1, mined.nonce, mined.to, U256(8), rpc_gas_price(en));
  json err = rpc_err(en, "eth_sendRawTransaction", {to_hex0x(raw)});
  EXPECT_EQ(err.value("code", 0), -32000) << err;
  EXPECT_EQ(err.value("message", "").rfind("nonce too low", 0), 0U) << err;
}

TEST_F(RpcLocalnet, SendRawTransactionRefusesAGasPriceBelowTheUnitPriceAsUnderpriced) {
  const auto& en = net().en();
  const std::string from = rpc_account_address(5);
  const std::uint64_t nonce = rpc_nonce(en, from, "pending");
  const Bytes raw =
      rpc_signed_transfer(5, nonce, rpc_fresh_address(), U256(1), rpc_gas_price(en) - 1);
  json err = rpc_err(en, "eth_sendRawTransaction", {to_hex0x(raw)});
  EXPECT_EQ(err.value("code", 0), -32000) << err;
  EXPECT_NE(err.value("message", "").find("underpriced"), std::string::npos) << err;
  EXPECT_EQ(rpc_nonce(en, from, "pending"), nonce) << "the refused transaction is not pooled";
  EXPECT_TRUE(rpc_ok(en, "eth_getTransactionByHash", {to_hex0x(crypto::keccak256(raw))}).is_null());
}

TEST_F(RpcLocalnet, SendRawTransactionOfGarbageIsInvalidParams) {
  const auto& en = net().en();
  for (const json& param : {json("0xzz"), json("0x1234"), json("not hex"), json(42), json("0x")}) {
    for (const char* method : {"eth_sendRawTransaction", "kaia_sendRawTransaction"}) {
      json err = rpc_err(en, method, json::array({param}));
      EXPECT_EQ(err.value("code", 0), -32602) << method << " " << param << " -> " << err;
    }
  }
  EXPECT_EQ(rpc_err(en, "eth_sendRawTransaction", json::array()).value("code", 0), -32602);
}

TEST_F(RpcLocalnet, GetTransactionByHashHasEachNamespacesShapeAndUnknownIsNull) {
  const auto& mined = rpc_mined_transfer();
  ASSERT_EQ(mined.error, "");
  for (const auto& node : net().nodes) {
    json eth = rpc_ok(node, "eth_getTransactionByHash", {mined.hash});
    ASSERT_TRUE(eth.is_object()) << node.name << " " << eth;
    EXPECT_EQ(eth["hash"], mined.hash);
    EXPECT_EQ(eth["blockHash"], mined.receipt.at("blockHash")) << node.name;
    EXPECT_EQ(eth["type"], "0x0");
    EXPECT_EQ(eth["gas"], "0x5208");
    EXPECT_EQ(eth["input"], "0x");
    EXPECT_EQ(eth["nonce"], fmt::format("0x{:x}", mined.nonce));
    EXPECT_EQ(eth["chainId"], fmt::format("0x{:x}", net().chain_id));
    for (const char* key : {"v", "r", "s"}) {
      EXPECT_TRUE(rpc_u256(eth[key]).has_value()) << "eth_ tx lacks " << key << ": " << eth;
    }

    for (const char* method : {"kaia_getTransactionByHash", "klay_getTransactionByHash"}) {
      json kaia = rpc_ok(node, method, {mined.hash});
      ASSERT_TRUE(kaia.is_object()) << node.name << " " << method << " " << kaia;
      EXPECT_EQ(kaia["type"], "TxTypeLegacyTransaction") << kaia;
      EXPECT_EQ(kaia["typeInt"], 0) << kaia;
      EXPECT_EQ(kaia["hash"], mined.hash);
      EXPECT_EQ(kaia["senderTxHash"], mined.hash);
      EXPECT_EQ(kaia["blockHash"], mined.receipt.at("blockHash"));
      ASSERT_TRUE(kaia["signatures"].is_array() && kaia["signatures"].size() == 1) << kaia;
      json sig = kaia["signatures"][0];
      EXPECT_EQ(sig["V"], eth["v"]);
      EXPECT_EQ(sig["R"], eth["r"]);
      EXPECT_EQ(sig["S"], eth["s"]);
      for (const char* key : {"v", "r", "s"}) {
        EXPECT_FALSE(kaia.contains(key)) << "kaia_ tx has Ethereum's " << key;
      }
    }
    const std::string unknown = "0x" + std::string(63, 'b') + "c";
    EXPECT_TRUE(rpc_ok(node, "eth_getTransactionByHash", {unknown}).is_null()) << node.name;
    EXPECT_TRUE(rpc_ok(node, "kaia_getTransactionByHash", {unknown}).is_null()) << node.name;
  }
}

TEST_F(RpcLocalnet, GetTransactionReceiptOfAMinedTransferAndNullForAnUnknownHash) {
  const auto& mined = rpc_mined_transfer();
  ASSERT_EQ(mined.error, "");
  for (const auto& node : net().nodes) {
    for (const char* method : {"eth_getTransactionReceipt", "kaia_getTransactionReceipt",
                               "klay_getTransactionReceipt"}) {
      json r = rpc_ok(node, method, {mined.hash});
      ASSERT_TRUE(r.is_object()) << node.name << " " << method << " " << r;
      EXPECT_EQ(r["status"], "0x1");
      EXPECT_EQ(r["gasUsed"], "0x5208");
      EXPECT_EQ(r["blockHash"], mined.receipt.at("blockHash")) << node.name;
      EXPECT_EQ(r["blockNumber"], mined.receipt.at("blockNumber")) << node.name;
      EXPECT_EQ(r["transactionHash"], mined.hash);
      EXPECT_TRUE(r["contractAddress"].is_null());
      EXPECT_EQ(r["logs"], json::array());
      json block = rpc_ok(node, "eth_getBlockByNumber", {r["blockNumber"], false});
      ASSERT_TRUE(block.is_object());
      EXPECT_EQ(r["blockHash"], block["hash"]) << node.name << " " << method;
      const std::string unknown = "0x" + std::string(63, 'd') + "e";
      EXPECT_TRUE(rpc_ok(node, method, {unknown}).is_null()) << node.name << " " << method;
    }
  }
}

TEST_F(RpcLocalnet, EstimateGasOfATransferIs21000AndContractsAreRefused) {
  const auto& en = net().en();
  const std::string from = rpc_account_address(9);
  const std::string to = rpc_account_address(8);
  for (const char* method : {"eth_estimateGas", "kaia_estimateGas", "klay_estimateGas"}) {
    EXPECT_EQ(rpc_ok(en, method, {{{"from", from}, {"to", to}, {"value", "0x1"}}}), "0x5208")
        << method;
    EXPECT_EQ(rpc_ok(en, method, {{{"to", to}}}), "0x5208") << method;

    json create = rpc_err(en, method, {{{"from", from}, {"data", "0x6080604052"}}});
    EXPECT_EQ(create.value("code", 0), -32000) << method << " " << create;
    EXPECT_NE(create.value("message", "").find("contract creation"), std::string::npos) << create;
    json call = rpc_err(en, method, {{{"from", from}, {"to", to}, {"data", "0xa9059cbb"}}});
    EXPECT_EQ(call.value("code", 0), -32000) << method << " " << call;
    EXPECT_NE(call.value("message", "").find("contract calls"), std::string::npos) << call;
    json rich = rpc_err(
        en, method,
        {{{"from", to_hex0x(rpc_fresh_address())}, {"to", to}, {"value", "0xde0b6b3a7640000"}}});
    EXPECT_NE(rich.value("message", "").find("insufficient funds"), std::string::npos) << rich;
    EXPECT_EQ(rpc_err(en, method, {"not an object"}).value("code", 0), -32602) << method;
  }
}

// ===== consensus =====

TEST_F(RpcLocalnet, CouncilCommitteeAndValidatorsAreTheCnOfTheManifest) {
  const auto& cn = net().cn();
  ASSERT_EQ(net().manifest["council"], json::array({cn.address}));
  for (const auto& node : net().nodes) {
    for (const char* method : {"kaia_getCouncil", "klay_getCouncil", "kaia_getCommittee",
                               "klay_getCommittee", "istanbul_getValidators"}) {
      json r = rpc_ok(node, method);
      ASSERT_TRUE(r.is_array() && r.size() == 1) << node.name << " " << method << " " << r;
      EXPECT_EQ(rpc_lower(r[0].get<std::string>()), rpc_lower(cn.address))
          << node.name << " " << method;
      EXPECT_EQ(rpc_ok(node, method, {"latest"}), r) << node.name << " " << method;
      EXPECT_EQ(rpc_ok(node, method, {"0x1"}), r) << node.name << " " << method;
    }
  }
}

TEST_F(RpcLocalnet, BlockWithConsensusInfoNamesTheCnAsProposerCommitterAndCommittee) {
  const std::string cn = rpc_lower(net().cn().address);
  const auto lower_all = [](const json& list) {
    std::vector<std::string> out;
    for (const auto& a : list) out.push_back(rpc_lower(a.get<std::string>()));
    return out;
  };
  for (const auto& node : net().nodes) {
    for (const char* method :
         {"kaia_getBlockWithConsensusInfoByNumber", "klay_getBlockWithConsensusInfoByNumber"}) {
      for (const json& ref : {json("latest"), json("0x1")}) {
        json b = rpc_ok(node, method, json::array({ref}));
        ASSERT_TRUE(b.is_object()) << node.name << " " << method << " " << ref << " " << b;
        EXPECT_EQ(lower_all(b["committee"]), std::vector<std::string>{cn}) << b;
        const auto committers = lower_all(b["committers"]);
        EXPECT_NE(std::find(committers.begin(), committers.end(), cn), committers.end()) << b;
        EXPECT_EQ(rpc_lower(b.value("proposer", "")), cn) << b;
        EXPECT_TRUE(b["round"].is_number_integer()) << b["round"];
        EXPECT_TRUE(rpc_qty(b["blockscore"]).has_value()) << "Kaia's block shape";
        if (ref != "latest") {
          EXPECT_EQ(b["number"], ref);
        }
      }
      json genesis = rpc_ok(node, method, {"0x0"});
      ASSERT_TRUE(genesis.is_object()) << genesis;
      EXPECT_EQ(genesis["committers"], json::array()) << "the genesis has no seals";
      const std::uint64_t head = rpc_head(node);
      EXPECT_TRUE(rpc_ok(node, method, {fmt::format("0x{:x}", head + 1000)}).is_null());
    }
  }
}

// ===== net_, admin_, web3_ =====

TEST_F(RpcLocalnet, NetVersionIsTheDecimalChainIdAndEveryNodeListensWithPeers) {
  for (const auto& node : net().nodes) {
    EXPECT_EQ(rpc_ok(node, "net_version"), std::to_string(net().chain_id)) << node.name;
    EXPECT_EQ(rpc_ok(node, "net_listening"), true) << node.name;
    json peers = rpc_ok(node, "net_peerCount");
    const auto n = rpc_qty(peers);
    ASSERT_TRUE(n.has_value()) << node.name << " net_peerCount " << peers;
    EXPECT_GT(*n, 0U) << node.name;
    EXPECT_LE(*n, net().nodes.size() - 1) << node.name;
  }
}

TEST_F(RpcLocalnet, AdminNodeInfoIsTheNodesOwnIdentityFromTheManifest) {
  for (const auto& node : net().nodes) {
    json info = rpc_ok(node, "admin_nodeInfo");
    ASSERT_TRUE(info.is_object()) << node.name << " " << info;
    EXPECT_EQ(rpc_lower(info.value("nodeAddress", "")), rpc_lower(node.address)) << node.name;
    EXPECT_EQ(info["kni"], node.kni) << node.name;
    EXPECT_EQ(info["id"], node.node_id) << node.name;
    EXPECT_EQ(info["nodeType"], node.role) << node.name;
    EXPECT_EQ(info["ip"], node.ip) << node.name;
    EXPECT_EQ(info["protocols"]["klay"]["network"], net().chain_id) << node.name;
    EXPECT_EQ(info["name"], rpc_ok(node, "web3_clientVersion")) << node.name;
  }
}

TEST_F(RpcLocalnet, AdminPeersListsEachConnectedPeerWithItsId) {
  std::map<std::string, std::string> names_by_id;
  for (const auto& node : net().nodes) names_by_id[node.node_id] = node.name;
  for (const auto& node : net().nodes) {
    json peers = rpc_ok(node, "admin_peers");
    ASSERT_TRUE(peers.is_array()) << node.name << " " << peers;
    EXPECT_FALSE(peers.empty()) << node.name;
    for (const auto& p : peers) {
      ASSERT_TRUE(p.contains("id") && p["id"].is_string()) << node.name << " " << p;
      const auto id = p["id"].get<std::string>();
      EXPECT_EQ(names_by_id.count(id), 1U) << node.name << ": peer id not in the manifest: " << p;
      EXPECT_NE(id, node.node_id) << node.name << " lists itself";
    }
  }
  // The PN is the hub: the CN and the EN both reach the network through it.
  json pn_peers = rpc_ok(net().pn(), "admin_peers");
  std::set<std::string> ids;
  for (const auto& p : pn_peers) ids.insert(p.value("id", ""));
  EXPECT_EQ(ids.count(net().cn().node_id), 1U) << pn_peers;
  EXPECT_EQ(ids.count(net().en().node_id), 1U) << pn_peers;
}

TEST_F(RpcLocalnet, Web3ClientVersionNamesCorecell) {
  for (const auto& node : net().nodes) {
    json v = rpc_ok(node, "web3_clientVersion");
    ASSERT_TRUE(v.is_string()) << node.name;
    EXPECT_EQ(v.get<std::string>().rfind("corecell/v", 0), 0U) << v;
  }
}

// ===== protocol errors =====

// The body as posted, and the parsed answer (null when it is not JSON).
json rpc_post_json(const RpcNodeInfo& node, const std::string& body) {
  const auto reply = rpc_post(node, body);
  EXPECT_EQ(reply.status, 200) << body << " -> " << reply.error << reply.body;
  json doc = json::parse(reply.body, nullptr, false);
  EXPECT_FALSE(doc.is_discarded()) << body << " -> not JSON: " << reply.body;
  return doc.is_discarded() ? json() : doc;
}

TEST_F(RpcLocalnet, MalformedJsonIsAParseError) {
  for (const char* body : {R"({"jsonrpc":"2.0","id":1,"method":)", "[{]", "nonsense", "{'a':1}"}) {
    json r = rpc_post_json(net().en(), body);
    EXPECT_EQ(r["error"]["code"], -32700) << body << " -> " << r;
    EXPECT_TRUE(r.contains("id") && r["id"].is_null()) << r;
    EXPECT_EQ(r["jsonrpc"], "2.0");
  }
}

TEST_F(RpcLocalnet, CallsThatAreNotJsonRpc20RequestsAreInvalidRequests) {
  const std::vector<std::pair<std::string, json>> cases = {
      {R"({"jsonrpc":"1.0","id":1,"method":"eth_blockNumber"})", 1},
      {R"({"id":2,"method":"eth_blockNumber"})", 2},
      {R"(42)", nullptr},
      {R"("eth_blockNumber")", nullptr},
      {R"({"jsonrpc":"2.0","id":3})", 3},
      {R"({"jsonrpc":"2.0","id":4,"method":7})", 4},
      {R"({"jsonrpc":"2.0","id":5,"method":"eth_blockNumber","params":"latest"})", 5},
      {R"({"jsonrpc":"2.0","id":{"a":1},"method":"eth_blockNumber"})", nullptr},
  };
  for (const auto& [body, id] : cases) {
    json r = rpc_post_json(net().en(), body);
    EXPECT_EQ(r["error"]["code"], -32600) << body << " -> " << r;
    EXPECT_EQ(r["id"], id) << body << " -> " << r;
  }
}

TEST_F(RpcLocalnet, UnknownMethodsAndNamespacesOutsideRpcApiAreMethodNotFound) {
  // The namespaces the localnet enabled; corecell registers methods in all of them, so a
  // disabled namespace here is one Kaia has and corecell leaves off (debug_, personal_, ...).
  const std::string conf = rpc_slurp(net().en().conf);
  const auto at = conf.find("\nRPC_API=\"");
  ASSERT_NE(at, std::string::npos) << conf;
  const std::string api = conf.substr(at + 10, conf.find('"', at + 10) - at - 10);
  std::set<std::string> enabled;
  std::stringstream list(api);
  for (std::string ns; std::getline(list, ns, ',');) enabled.insert(ns);
  EXPECT_EQ(enabled.count("eth"), 1U) << api;
  std::vector<std::string> methods = {"eth_doesNotExist", "kaia_sendTransactionAsFeePayer",
                                      "eth_getBlockByNumberX", "blockNumber", "_blockNumber"};
  for (const char* ns : {"debug", "personal", "txpool", "miner", "governance"}) {
    if (enabled.count(ns) == 0) methods.push_back(std::string(ns) + "_traceTransaction");
  }
  ASSERT_GT(methods.size(), 5U) << "every namespace is enabled: " << api;
  for (const auto& node : net().nodes) {
    for (const auto& method : methods) {
      json r = rpc_call(node, method);
      EXPECT_EQ(r["error"]["code"], -32601) << node.name << " " << method << " -> " << r;
      EXPECT_EQ(r["id"], 1) << r;
    }
  }
}

TEST_F(RpcLocalnet, ParamsOfTheWrongTypeOrCountAreInvalidParams) {
  const std::string addr = rpc_account_address(9);
  const std::vector<std::pair<std::string, json>> cases = {
      {"eth_getBlockByNumber", {123}},
      {"eth_getBlockByNumber", {"latest", "yes"}},
      {"eth_getBlockByNumber", {"0xzz", false}},
      {"eth_getBlockByNumber", json::array()},
      {"eth_getBlockByNumber", {{"block", "latest"}}},
      {"eth_getBlockByNumber", {"latest", false, 1}},
      {"kaia_getBlockByNumber", {true}},
      {"eth_blockNumber", {1}},
      {"eth_chainId", {"x"}},
      {"eth_getBalance", {addr, "latest", 3}},
      {"eth_getBalance", {"0x1234"}},
      {"eth_getBalance", {12}},
      {"eth_getTransactionCount", {addr, 7}},
      {"eth_getBlockByHash", {"0x12"}},
      {"eth_getBlockByHash", {"0x" + std::string(64, 'a'), "full"}},
      {"eth_getTransactionReceipt", json::array()},
      {"eth_getTransactionByHash", {1}},
      {"kaia_getCouncil", {"latest", "extra"}},
  };
  for (const auto& [method, params] : cases) {
    json err = rpc_err(net().en(), method, params);
    EXPECT_EQ(err.value("code", 0), -32602) << method << " " << params << " -> " << err;
    EXPECT_FALSE(err.value("message", "").empty()) << method;
  }
}

TEST_F(RpcLocalnet, ABatchIsAnsweredCallByCallByIdWithoutItsNotifications) {
  json batch = json::array({
      rpc_request("eth_blockNumber", json::array(), 1),
      rpc_request("eth_noSuchMethod", json::array(), "two"),
      rpc_request("eth_getBlockByNumber", {123}, 3),
      17,
      json{{"jsonrpc", "2.0"}, {"method", "eth_blockNumber"}},  // a notification
      json{{"jsonrpc", "1.0"}, {"id", 5}, {"method", "eth_blockNumber"}},
      rpc_request("net_version", json::array(), 6),
  });
  json r = rpc_post_json(net().en(), batch.dump());
  ASSERT_TRUE(r.is_array()) << r;
  EXPECT_EQ(r.size(), 6U) << "one answer per call but the notification: " << r;
  std::map<std::string, json> by_id;
  int null_ids = 0;
  for (auto one : r) {
    EXPECT_EQ(one["jsonrpc"], "2.0");
    if (one["id"].is_null()) {
      ++null_ids;
      EXPECT_EQ(one["error"]["code"], -32600) << "the bare 17: " << one;
    } else {
      by_id[one["id"].dump()] = one;
    }
  }
  EXPECT_EQ(null_ids, 1);
  EXPECT_TRUE(rpc_qty(by_id["1"]["result"]).has_value()) << by_id["1"];
  EXPECT_EQ(by_id["\"two\""]["error"]["code"], -32601) << by_id["\"two\""];
  EXPECT_EQ(by_id["3"]["error"]["code"], -32602) << by_id["3"];
  EXPECT_EQ(by_id["5"]["error"]["code"], -32600) << by_id["5"];
  EXPECT_EQ(by_id["6"]["result"], std::to_string(net().chain_id)) << by_id["6"];
}

TEST_F(RpcLocalnet, AnEmptyBatchIsAnInvalidRequest) {
  json r = rpc_post_json(net().en(), "[]");
  ASSERT_TRUE(r.is_object()) << r;
  EXPECT_EQ(r["error"]["code"], -32600) << r;
  EXPECT_TRUE(r["id"].is_null()) << r;
}

TEST_F(RpcLocalnet, NotificationsGetNoResponseBody) {
  const auto& en = net().en();
  for (
      const std::string body : {
          R"({"jsonrpc":"2.0","method":"eth_blockNumber"})",
          R"({"jsonrpc":"2.0","method":"eth_noSuchMethod","params":[]})",
          R"([{"jsonrpc":"2.0","method":"eth_blockNumber"},{"jsonrpc":"2.0","method":"net_version"}])",
      }) {
    const auto reply = rpc_post(en, body);
    EXPECT_EQ(reply.status, 200) << body << " " << reply.error;
    EXPECT_EQ(reply.body, "") << body;
  }
  // A call with "id": null is not a notification: it is answered.
  const auto answered = rpc_post(en, R"({"jsonrpc":"2.0","id":null,"method":"eth_blockNumber"})");
  EXPECT_NE(answered.body.find("\"result\""), std::string::npos) << answered.body;
}

TEST_F(RpcLocalnet, ABodyOverFiveMiBIsRefusedWith413AndTheNodeKeepsServing) {
  const auto& en = net().en();
  const std::size_t limit = rpc::HttpLimits{}.max_body_bytes;
  ASSERT_EQ(limit, std::size_t{5} * 1024 * 1024);

  // The whole body, from an HTTP client. The server answers 413 on the announced length, before
  // reading the body, and closes; a client still writing the body may see that close (a failed
  // write) instead of the 413, as with any server that refuses early. Either way nothing is run.
  const std::string big = rpc_request("web3_clientVersion", {std::string(limit, 'x')}).dump();
  const auto whole = rpc_post(en, big, "application/json", 10s);
  EXPECT_TRUE(whole.status == 413 || whole.status == 0)
      << whole.status << " " << whole.error << " " << whole.body.substr(0, 200);

  // Just under the limit is served.
  const std::string padding(limit - 1024, 'y');
  const auto under =
      rpc_post(en, rpc_request("web3_clientVersion", {padding}).dump(), "application/json", 10s);
  EXPECT_EQ(under.status, 200) << under.error;
  EXPECT_NE(under.body.find("corecell/"), std::string::npos) << under.body.substr(0, 200);

  for (const auto& node : net().nodes) {
    EXPECT_TRUE(rpc_qty(rpc_ok(node, "eth_blockNumber")).has_value()) << node.name;
  }
}

TEST_F(RpcLocalnet, ABodyAnnouncedOverTheLimitIsRefusedBeforeItIsSent) {
  // The server refuses on the announced Content-Length, before reading any of the body: a
  // client that announces 5 MiB + 1 and sends only 64 KiB gets its 413 at once.
  const auto& en = net().en();
  const std::size_t limit = rpc::HttpLimits{}.max_body_bytes;
  RpcRawConn raw(en.ip, en.rpc_port);
  ASSERT_TRUE(raw.ok()) << raw.error();
  const auto start = RpcClock::now();
  ASSERT_TRUE(raw.send_all(fmt::format(
      "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: "
      "{}\r\n\r\n{}",
      en.ip, limit + 1, std::string(64 * 1024, ' '))));
  const auto refused = raw.read_response(1500ms);
  ASSERT_TRUE(refused.has_value())
      << "no response " << rpc_seconds_since(start) << " s after announcing a body over the limit";
  EXPECT_EQ(refused->status, 413) << refused->head;
}

TEST_F(RpcLocalnet, AContentTypeOtherThanJsonIsRefusedWith415) {
  const auto& en = net().en();
  const std::string body = rpc_request("eth_blockNumber").dump();
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded", "text/html"}) {
    const auto reply = rpc_post(en, body, type);
    EXPECT_EQ(reply.status, 415) << type << " " << reply.error << reply.body;
  }
  const auto json_utf8 = rpc_post(en, body, "application/json; charset=utf-8");
  EXPECT_EQ(json_utf8.status, 200) << json_utf8.error;
  EXPECT_NE(json_utf8.body.find("\"result\""), std::string::npos) << json_utf8.body;
}

TEST_F(RpcLocalnet, AFloodFromOneClientAddressGets429WhileOtherClientsAreServed) {
  // HttpLimits: 1000 requests/s per client IP with a burst of 2000. Four kept-alive connections
  // from kRpcFloodSourceIp send cheap requests (web3_clientVersion never waits for the node) back
  // to back until one is refused. (The server does not read pipelined requests ahead, so each
  // connection has one request in flight; and each pins one of the 64 workers while it lives,
  // so four leave the others free for everyone else.)
  const auto& en = net().en();
  const rpc::HttpLimits limits;
  ASSERT_EQ(limits.requests_per_second, 1000);
  ASSERT_EQ(limits.burst, 2000);
  const std::string one = rpc_raw_post(en.ip, rpc_request("web3_clientVersion").dump());

  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> served{0};
  std::atomic<std::uint64_t> limited{0};
  std::mutex mu;
  std::optional<RpcRawResponse> first_refusal;
  std::string connect_error;
  const auto start = RpcClock::now();
  const auto deadline = start + 6s;
  auto flood = [&] {
    while (!stop && RpcClock::now() < deadline) {
      RpcRawConn conn(en.ip, en.rpc_port, kRpcFloodSourceIp);
      if (!conn.ok()) {
        std::lock_guard lock(mu);
        connect_error = conn.error();
        stop = true;
        return;
      }
      while (!stop && RpcClock::now() < deadline) {
        if (!conn.send_all(one)) break;
        auto r = conn.read_response(3s);
        if (!r) break;  // the server ends a kept-alive connection after 1000 requests
        if (r->status == 429) {
          ++limited;
          std::lock_guard lock(mu);
          if (!first_refusal) first_refusal = std::move(r);
          stop = true;
        } else if (r->status == 200) {
          ++served;
        }
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back(flood);
  // While the flood runs, another client address is served promptly.
  std::vector<double> other_seconds;
  while (!stop && RpcClock::now() < deadline) {
    const auto reply = rpc_post(en, rpc_request("eth_blockNumber").dump());
    EXPECT_EQ(reply.status, 200) << reply.error << reply.body;
    other_seconds.push_back(reply.seconds);
    std::this_thread::sleep_for(200ms);
  }
  for (auto& t : threads) t.join();
  const double elapsed = rpc_seconds_since(start);

  ASSERT_EQ(connect_error, "");
  ASSERT_TRUE(first_refusal.has_value())
      << "no 429 after " << served << " requests in " << elapsed << " s ("
      << static_cast<double>(served) / elapsed << "/s) from one address";
  EXPECT_GT(limited.load(), 0U);
  EXPECT_GE(served.load(), static_cast<std::uint64_t>(limits.burst) / 2)
      << "refused long before the burst was spent";
  EXPECT_NE(first_refusal->body.find(std::string("too many requests from ") + kRpcFloodSourceIp),
            std::string::npos)
      << first_refusal->body;
  EXPECT_NE(rpc_lower(first_refusal->head).find("\r\nretry-after: 1"), std::string::npos)
      << first_refusal->head;
  for (const double s : other_seconds) EXPECT_LT(s, 1.0) << "another client waited";

  // Right after: the other address is served, and the flooding one again once its bucket refills.
  const auto other = rpc_post(en, rpc_request("eth_blockNumber").dump());
  EXPECT_EQ(other.status, 200) << other.error << other.body;
  const auto refill_deadline = RpcClock::now() + 3s;
  int again = 0;
  while (again != 200 && RpcClock::now() < refill_deadline) {
    std::this_thread::sleep_for(100ms);
    RpcRawConn conn(en.ip, en.rpc_port, kRpcFloodSourceIp);
    ASSERT_TRUE(conn.ok()) << conn.error();
    ASSERT_TRUE(conn.send_all(one));
    auto r = conn.read_response(3s);
    again = r ? r->status : 0;
  }
  EXPECT_EQ(again, 200) << "the flooding address is limited, not banned";
}

// The head of a request that never ends: its headers are cut off mid-line.
std::string rpc_half_request(const std::string& host) {
  return "POST / HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: applic";
}

TEST_F(RpcLocalnet, ASlowClientDoesNotBlockOthersAndIsDisconnectedAfterTheReadTimeout) {
  const auto& en = net().en();
  const auto read_timeout = rpc::HttpLimits{}.read_timeout;
  RpcRawConn slow(en.ip, en.rpc_port);
  ASSERT_TRUE(slow.ok()) << slow.error();
  const auto stalled_at = RpcClock::now();
  ASSERT_TRUE(slow.send_all(rpc_half_request(en.ip)));

  // While it stalls, other clients are answered at once.
  for (int i = 0; i < 10; ++i) {
    const auto reply = rpc_post(en, rpc_request("eth_blockNumber").dump());
    EXPECT_EQ(reply.status, 200) << reply.error;
    EXPECT_LT(reply.seconds, 1.0) << "request " << i << " waited behind the slow client";
    std::this_thread::sleep_for(100ms);
  }
  // cpp-httplib answers the stalled request 400 after the read timeout and then waits one
  // keep-alive timeout for another request before it closes the connection (a Connection: close
  // reply header does not change that), so the worker is free after both.
  const auto grace = read_timeout + rpc::HttpLimits{}.keep_alive_timeout + 1500ms;
  const bool closed = slow.wait_closed(grace);
  const double after = rpc_seconds_since(stalled_at);
  EXPECT_TRUE(closed) << "the slow client is still connected " << after
                      << " s after it stalled (read timeout " << read_timeout.count() << " s)";
  if (closed) {
    EXPECT_GE(after, static_cast<double>(read_timeout.count()) - 1.0)
        << "closed before the read timeout";
  }
}

TEST_F(RpcLocalnet, SlowClientsHoldingHalfTheWorkersDoNotStarveOthers) {
  // Each stalled connection holds one worker until the read and keep-alive timeouts free it;
  // cpp-httplib cannot cap one client's connections (a documented limit: see
  // rpc/http_server.h), so the guarantee is for fewer stalled connections than workers.
  const auto& en = net().en();
  const std::size_t workers = rpc::HttpLimits{}.threads / 2;
  std::vector<std::unique_ptr<RpcRawConn>> slow;
  for (std::size_t i = 0; i < workers; ++i) {
    slow.push_back(std::make_unique<RpcRawConn>(en.ip, en.rpc_port));
    ASSERT_TRUE(slow.back()->ok()) << slow.back()->error();
    ASSERT_TRUE(slow.back()->send_all(rpc_half_request(en.ip)));
  }
  std::this_thread::sleep_for(200ms);  // the server has taken them all up
  const auto reply = rpc_post(en, rpc_request("eth_blockNumber").dump(), "application/json", 3s);
  EXPECT_EQ(reply.status, 200) << "with " << workers << " stalled connections open: " << reply.error
                               << " after " << reply.seconds << " s";
  EXPECT_LT(reply.seconds, 1.0);
  slow.clear();  // closing them frees the workers at once
  const auto after = rpc_post(en, rpc_request("eth_blockNumber").dump());
  EXPECT_EQ(after.status, 200) << after.error;
}

// ===== metrics and health =====

// The value of the sample line that starts with `series` ("name" or "name{labels}").
std::optional<std::string> rpc_metric(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(series + " ", 0) == 0) return line.substr(series.size() + 1);
  }
  return std::nullopt;
}

TEST_F(RpcLocalnet, MetricsOnEveryNodeIsPrometheusTextThatPromtoolAccepts) {
  ASSERT_TRUE(fs::exists("/usr/bin/promtool"))
      << "promtool is missing: apt-get install -y --no-install-recommends prometheus";
  for (const auto& node : net().nodes) {
    SCOPED_TRACE(node.name);
    const auto reply = rpc_get_metrics_port(node, "/metrics");
    ASSERT_EQ(reply.status, 200) << reply.error << reply.body;
    EXPECT_EQ(reply.content_type, "text/plain; version=0.0.4; charset=utf-8");
    const auto head = rpc_metric(reply.body, "klaytn_blockchain_head_blocknumber");
    ASSERT_TRUE(head.has_value()) << reply.body;
    EXPECT_GE(std::stoull(*head), 1U) << reply.body;
    EXPECT_EQ(rpc_metric(reply.body, fmt::format("corecell_node_info{{role=\"{}\",address=\"{}\"}}",
                                                 node.role, node.address)),
              "1")
        << reply.body;
    EXPECT_EQ(rpc_metric(reply.body, "corecell_validator"), node.role == "cn" ? "1" : "0");

    // promtool parses it; its only complaints are the known ones about Kaia's own names, and it
    // exits 3 for lint findings (1 would be a parse error).
    const auto run = cc::testing::run_promtool("/usr/bin/promtool", reply.body);
    std::istringstream lines(run.output);
    int complaints = 0;
    for (std::string line; std::getline(lines, line);) {
      if (line.empty()) continue;
      ++complaints;
      EXPECT_EQ(cc::testing::kaia_metric_name_lint().count(line), 1U)
          << "unexpected promtool output: " << line;
    }
    EXPECT_EQ(run.exit_code, complaints == 0 ? 0 : 3) << run.output;
  }
  // The judge can fail: promtool refuses a broken exposition.
  const auto broken =
      cc::testing::run_promtool("/usr/bin/promtool", "# TYPE x_total counter\nx_total{a=\"1\" 1\n");
  EXPECT_EQ(broken.exit_code, 1) << broken.output;
}

TEST_F(RpcLocalnet, HealthLiveAnswers200WithTheNodesRoleAndHead) {
  for (const auto& node : net().nodes) {
    const auto reply = rpc_get_metrics_port(node, "/health/live");
    EXPECT_EQ(reply.status, 200) << node.name << " " << reply.error << reply.body;
    json body = json::parse(reply.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << node.name << " " << reply.body;
    EXPECT_EQ(body["status"], "alive") << body;
    EXPECT_EQ(body["role"], node.role) << body;
    EXPECT_TRUE(body["head"].is_number_unsigned()) << body;
  }
}

TEST_F(RpcLocalnet, HealthReadyAnswers200OnceInSync) {
  for (const auto& node : net().nodes) {
    // In sync by the control socket at setup; a block being imported right now may make one
    // answer not ready, so ready within a few polls.
    const auto deadline = RpcClock::now() + 5s;
    RpcHttpReply reply;
    do {
      reply = rpc_get_metrics_port(node, "/health/ready");
      if (reply.status == 200) break;
      std::this_thread::sleep_for(100ms);
    } while (RpcClock::now() < deadline);
    EXPECT_EQ(reply.status, 200) << node.name << " " << reply.error << reply.body;
    json body = json::parse(reply.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << node.name << " " << reply.body;
    EXPECT_EQ(body["status"], "ready") << body;
    EXPECT_GT(body.value("peers", 0), 0) << body;
    EXPECT_LE(body.value("lag", 99), 1) << body;
    EXPECT_EQ(reply.content_type.rfind("application/json", 0), 0U) << reply.content_type;
  }
}

TEST_F(RpcLocalnet, HealthRoleIsValidatorOnTheCnProxyOnThePnAndEndpointOnTheEn) {
  const std::map<std::string, std::string> want = {
      {"cn", "validator"}, {"pn", "proxy"}, {"en", "endpoint"}};
  for (const auto& node : net().nodes) {
    const auto reply = rpc_get_metrics_port(node, "/health/role");
    EXPECT_EQ(reply.status, 200) << node.name << " " << reply.error << reply.body;
    json body = json::parse(reply.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << node.name << " " << reply.body;
    EXPECT_EQ(body["role"], want.at(node.role)) << node.name << " " << body;
    EXPECT_EQ(body["node_role"], node.role) << body;
  }
}

TEST_F(RpcLocalnet, MetricsPortAnswers404ForUnknownPathsAndServesNoJsonRpc) {
  const auto& en = net().en();
  EXPECT_EQ(rpc_get_metrics_port(en, "/nope").status, 404);
  const auto rpc_on_metrics =
      rpc_http(en.ip, en.metrics_port, "POST", "/", rpc_request("eth_blockNumber").dump());
  EXPECT_NE(rpc_on_metrics.status, 200) << rpc_on_metrics.body;
  EXPECT_EQ(rpc_http(en.ip, en.rpc_port, "GET", "/metrics").status, 404)
      << "metrics live on PROMETHEUS_PORT only";
}

}  // namespace
}  // namespace cc
