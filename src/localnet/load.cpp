#include "localnet/load.h"

#include <httplib.h>

#include <cstdio>
#include <map>
#include <set>
#include <thread>

#include "chain/generator.h"
#include "chain/tx.h"
#include "crypto/address.h"
#include "crypto/secp256k1.h"
#include "util/clock.h"
#include "util/files.h"

namespace cc::localnet {
namespace {
using json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Distinct error messages kept for the report; the rest are only counted.
constexpr std::size_t kMaxReportedErrors = 5;

struct LoadAccount {
  crypto::PrivateKey key;
  Address address{};
  std::string address_hex;
  std::uint64_t nonce = 0;
};

Result<std::vector<LoadAccount>> load_accounts(const std::filesystem::path& path) {
  CC_TRY_ASSIGN(auto text, read_file(path));
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_array()) {
    return make_error("localnet.accounts",
                      path.string() + ": expected a JSON array of {\"address\",\"privateKey\"}");
  }
  std::vector<LoadAccount> out;
  for (std::size_t i = 0; i < j.size(); ++i) {
    const std::string where = path.string() + "[" + std::to_string(i) + "]";
    if (!j[i].is_object() || !j[i].contains("privateKey") || !j[i]["privateKey"].is_string()) {
      return make_error("localnet.accounts", where + ": missing \"privateKey\" string");
    }
    auto secret = from_hex(j[i]["privateKey"].get<std::string>());
    if (!secret.ok()) return secret.error().context(where + ".privateKey");
    auto key = crypto::PrivateKey::from_bytes(*secret);
    if (!key.ok()) return key.error().context(where + ".privateKey");
    LoadAccount a{*key, crypto::address_of(*key), "", 0};
    a.address_hex = crypto::to_checksum_hex(a.address);
    out.push_back(std::move(a));
  }
  if (out.empty()) {
    return make_error("localnet.accounts", path.string() +
                                               " lists no accounts; re-create the localnet with "
                                               "`corecell localnet init --accounts N`");
  }
  return out;
}

void load_note_error(LoadReport& r, const std::string& message) {
  ++r.rejected;
  for (const auto& e : r.errors) {
    if (e == message) return;
  }
  if (r.errors.size() < kMaxReportedErrors) r.errors.push_back(message);
}

}  // namespace

// --- RpcClient ---

struct RpcClient::Impl {
  explicit Impl(const std::string& url) : client(url) {}
  httplib::Client client;
};

RpcClient::RpcClient(std::string url, std::chrono::milliseconds timeout)
    : url_(std::move(url)), impl_(std::make_unique<Impl>(url_)) {
  impl_->client.set_connection_timeout(timeout);
  impl_->client.set_read_timeout(timeout);
  impl_->client.set_write_timeout(timeout);
  // One kept-alive connection; both ends need TCP_NODELAY (rpc/http_server sets it on its side),
  // or each small request waits out a delayed ACK (~40 ms: 22 calls/s instead of hundreds).
  impl_->client.set_keep_alive(true);
  impl_->client.set_tcp_nodelay(true);
}
RpcClient::~RpcClient() = default;
RpcClient::RpcClient(RpcClient&&) noexcept = default;
RpcClient& RpcClient::operator=(RpcClient&&) noexcept = default;

Result<json> RpcClient::call(const std::string& method, const json& params) {
  const json req = {{"jsonrpc", "2.0"}, {"id", next_id_++}, {"method", method}, {"params", params}};
  auto res = impl_->client.Post("/", req.dump(), "application/json");
  if (!res) {
    return make_error("rpc.unreachable", url_ + ": " + method + ": " +
                                             httplib::to_string(res.error()) +
                                             " (is the node up with RPC_ENABLE=1?)");
  }
  if (res->status == 429) {
    return make_error("rpc.throttled", url_ + ": " + method +
                                           ": HTTP 429 (the node's per-client "
                                           "rate limit) " +
                                           res->body.substr(0, 200));
  }
  if (res->status != 200) {
    return make_error("rpc.http", url_ + ": " + method + ": HTTP " + std::to_string(res->status) +
                                      " " + res->body.substr(0, 200));
  }
  json reply = json::parse(res->body, nullptr, false);
  if (reply.is_discarded() || !reply.is_object()) {
    return make_error("rpc.bad_reply",
                      url_ + ": " + method + ": not a JSON-RPC reply: " + res->body.substr(0, 200));
  }
  if (reply.contains("error") && !reply["error"].is_null()) {
    const json& e = reply["error"];
    const std::string msg = e.is_object() ? std::to_string(e.value("code", 0)) + ": " +
                                                e.value("message", std::string("?"))
                                          : e.dump();
    return make_error("rpc.error", method + ": " + msg);
  }
  if (!reply.contains("result")) {
    return make_error("rpc.bad_reply", url_ + ": " + method + ": reply without \"result\"");
  }
  return reply["result"];
}

Result<std::uint64_t> parse_hex_quantity(const json& value) {
  if (value.is_number_unsigned()) return value.get<std::uint64_t>();
  if (!value.is_string()) {
    return make_error("rpc.bad_reply", "expected a hex quantity, got " + value.dump());
  }
  auto q = cc::parse_hex_quantity(value.get<std::string>());
  if (!q.ok()) return make_error("rpc.bad_reply", "expected a hex quantity: " + q.error().message);
  return *q;
}

Result<LoadReport> run_load(const Manifest& m, const LoadParams& params,
                            const std::atomic<bool>& stop,
                            const std::function<void(const std::string&)>& progress) {
  auto say = [&](const std::string& line) {
    if (progress) progress(line);
  };
  if (!(params.tps > 0) || !(params.seconds > 0)) {
    return make_error("localnet.bad_args", "--tps and --seconds must be positive");
  }
  LoadReport r;
  std::vector<const NodeEntry*> targets;
  for (const auto& name : params.nodes) {
    const NodeEntry* n = m.find(name);
    if (n == nullptr) {
      return make_error("localnet.bad_args",
                        "--node " + name + ": no such node; nodes: " + m.names());
    }
    targets.push_back(n);
  }
  for (NodeRole fallback : {NodeRole::en, NodeRole::pn}) {
    if (!targets.empty()) break;
    for (const auto& n : m.nodes) {
      if (n.role == fallback) targets.push_back(&n);
    }
  }
  if (targets.empty()) return make_error("localnet.bad_args", "no EN or PN to send to; use --node");

  CC_TRY_ASSIGN(auto accounts, load_accounts(m.accounts));
  r.accounts = accounts.size();
  std::vector<RpcClient> clients;
  for (const auto* n : targets) {
    clients.emplace_back(n->rpc_url);
    r.targets.push_back(n->rpc_url);
  }
  RpcClient& reader = clients.front();
  CC_TRY_ASSIGN(auto head_json, reader.call("eth_blockNumber"));
  CC_TRY_ASSIGN(r.start_block, parse_hex_quantity(head_json));
  for (auto& a : accounts) {
    CC_TRY_ASSIGN(auto n,
                  reader.call("eth_getTransactionCount", json::array({a.address_hex, "pending"})));
    CC_TRY_ASSIGN(a.nonce, parse_hex_quantity(n));
  }
  char rate[64];
  std::snprintf(rate, sizeof rate, "%g tx/s for %g s", params.tps, params.seconds);
  say(std::string("sending ") + rate + " from " + std::to_string(accounts.size()) +
      " accounts to " + r.targets.front() +
      (r.targets.size() > 1 ? " (+" + std::to_string(r.targets.size() - 1) + " more)" : "") +
      ", starting at block #" + std::to_string(r.start_block));

  std::set<std::string> pending;  // 0x hashes sent and not yet seen in a block
  const auto interval = std::chrono::duration<double>(1.0 / params.tps);
  const auto t0 = SteadyClock::now();
  const auto send_end = t0 + std::chrono::duration_cast<SteadyClock::duration>(
                                 std::chrono::duration<double>(params.seconds));
  auto next_report = t0 + 1s;
  for (std::size_t i = 0; !stop.load(); ++i) {
    const auto due =
        t0 + std::chrono::duration_cast<SteadyClock::duration>(interval * static_cast<double>(i));
    if (due >= send_end) break;
    std::this_thread::sleep_until(due);
    LoadAccount& from = accounts[i % accounts.size()];
    const Address& to = accounts[(i + 1) % accounts.size()].address;
    const chain::Transaction tx = chain::make_transfer(from.key, from.nonce, to, U256(1),
                                                       U256(chain::kTestGasPrice), m.chain_id);
    const std::string hash = to_hex0x(tx.hash());
    ++r.attempted;
    auto sent = clients[i % clients.size()].call("eth_sendRawTransaction",
                                                 json::array({to_hex0x(tx.encode())}));
    if (sent.ok()) {
      ++r.sent;
      ++from.nonce;
      pending.insert(hash);
    } else {
      load_note_error(r, sent.error().message);
      // A nonce the node disagrees with (another sender, a dropped tx): ask it again.
      if (sent.error().message.find("nonce") != std::string::npos) {
        auto n = reader.call("eth_getTransactionCount", json::array({from.address_hex, "pending"}));
        if (n.ok()) {
          if (auto v = parse_hex_quantity(*n); v.ok()) from.nonce = *v;
        }
      }
    }
    if (SteadyClock::now() >= next_report) {
      next_report += 1s;
      say("sent " + std::to_string(r.sent) + ", rejected " + std::to_string(r.rejected));
    }
  }
  r.send_seconds = seconds_since(t0);
  const auto sent_done = SteadyClock::now();

  // Inclusion: read every block since the start once, until all sent hashes are seen or the
  // drain time passes.
  const auto drain_end = sent_done + std::chrono::duration_cast<SteadyClock::duration>(
                                         std::chrono::duration<double>(params.drain_seconds));
  std::uint64_t next_block = r.start_block + 1;
  std::uint64_t first_time = 0;
  std::uint64_t last_time = 0;
  for (;;) {
    auto head = reader.call("eth_blockNumber");
    if (head.ok()) {
      auto h = parse_hex_quantity(*head);
      while (h.ok() && next_block <= *h) {
        auto block =
            reader.call("eth_getBlockByNumber", json::array({to_hex_quantity(next_block), false}));
        if (!block.ok() || !block->is_object()) break;
        std::size_t ours = 0;
        for (const auto& t : block->value("transactions", json::array())) {
          const std::string th =
              t.is_string() ? t.get<std::string>() : (t.is_object() ? t.value("hash", "") : "");
          if (pending.erase(th) == 1) {
            ++ours;
            r.included_hashes.push_back(th);
          }
        }
        if (ours > 0) {
          r.included += ours;
          auto ts = parse_hex_quantity(block->value("timestamp", json("0x0")));
          const std::uint64_t time = ts.ok() ? *ts : 0;
          if (r.first_block == 0) {
            r.first_block = next_block;
            first_time = time;
          }
          r.last_block = next_block;
          last_time = time;
        }
        ++next_block;
      }
    }
    if (pending.empty() || SteadyClock::now() >= drain_end || (stop.load() && r.included > 0)) {
      break;
    }
    std::this_thread::sleep_for(500ms);
  }
  r.wait_seconds = seconds_since(sent_done);
  if (r.first_block != 0) r.included_span_seconds = last_time - first_time + 1;
  return r;
}

std::string format_load_report(const LoadReport& r) {
  std::string out;
  char line[512];
  std::snprintf(
      line, sizeof line,
      "offered   %zu transfers in %.1f s = %.1f tx/s (%zu accepted by RPC, %zu rejected)\n",
      r.attempted, r.send_seconds, r.offered_tps(), r.sent, r.rejected);
  out += line;
  if (r.first_block != 0) {
    std::snprintf(line, sizeof line,
                  "included  %zu of %zu in blocks #%llu..#%llu (%llu s of block time) = %.1f tx/s; "
                  "%.1f s after the last send\n",
                  r.included, r.sent, static_cast<unsigned long long>(r.first_block),
                  static_cast<unsigned long long>(r.last_block),
                  static_cast<unsigned long long>(r.included_span_seconds), r.included_tps(),
                  r.wait_seconds);
  } else {
    std::snprintf(line, sizeof line, "included  0 of %zu (waited %.1f s after the last send)\n",
                  r.sent, r.wait_seconds);
  }
  out += line;
  for (const auto& e : r.errors) out += "  rejected: " + e + "\n";
  return out;
}

}  // namespace cc::localnet
