#include "localnet/invariants.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <thread>
#include <tuple>

#include <nlohmann/json.hpp>

#include "chain/council.h"
#include "crypto/address.h"
#include "localnet/load.h"
#include "node/datadir.h"

namespace cc::localnet {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::json;

std::string inv_describe(const storage::JournalEntry& e) {
  return "pid " + std::to_string(e.pid) + " epoch " + std::to_string(e.epoch) + " at " +
         storage::format_rfc3339_ms(e.time) + " digest " + to_hex0x(e.digest);
}

// One call of the oracle: it asks every node about every block and acknowledged transaction, so
// a long run's check sends tens of thousands of requests from one address and meets the RPC's
// per-client rate limit (HTTP 429). Being told to slow down is not the node's answer: wait and
// ask again (for at most kOracleRateLimitWait), so a throttled call is never read as a missing
// receipt or block.
constexpr std::chrono::milliseconds kOracleRateLimitWait{30000};
constexpr std::chrono::milliseconds kOracleRateLimitPause{20};

Result<json> oracle_call(RpcClient& client, const std::string& method,
                         const json& params = json::array()) {
  const auto give_up = std::chrono::steady_clock::now() + kOracleRateLimitWait;
  for (;;) {
    auto r = client.call(method, params);
    const bool throttled = !r.ok() && r.error().code == "rpc.throttled";
    if (!throttled || std::chrono::steady_clock::now() >= give_up) return r;
    std::this_thread::sleep_for(kOracleRateLimitPause);
  }
}

}  // namespace

Result<JournalSet> read_journals(const Manifest& m) {
  JournalSet out;
  for (const auto& n : m.nodes) {
    const fs::path p = node::signjournal_path(n.data_dir);
    std::error_code ec;
    if (!fs::exists(p, ec)) continue;
    CC_TRY_ASSIGN(auto j, storage::read_journal(p));
    ++out.files;
    out.skipped_lines += j.skipped_lines;
    out.entries.insert(out.entries.end(), j.entries.begin(), j.entries.end());
  }
  return out;
}

std::vector<std::string> sign1_violations(const std::vector<storage::JournalEntry>& entries) {
  std::vector<std::string> out;
  // (address, height, round, type) -> the first entry seen with it.
  std::map<std::tuple<Address, std::uint64_t, std::uint32_t, std::string>,
           const storage::JournalEntry*>
      by_vote;
  // (address, height) -> the first entry seen at that height.
  std::map<std::pair<Address, std::uint64_t>, const storage::JournalEntry*> by_height;
  for (const auto& e : entries) {
    auto [it, fresh] = by_vote.emplace(std::make_tuple(e.address, e.height, e.round, e.type), &e);
    if (!fresh && it->second->digest != e.digest) {
      out.push_back("SIGN-1: " + crypto::to_checksum_hex(e.address) + " signed two different " +
                    e.type + " messages at height " + std::to_string(e.height) + " round " +
                    std::to_string(e.round) + ": " + inv_describe(*it->second) + " and " +
                    inv_describe(e));
    }
    auto [h, hfresh] = by_height.emplace(std::make_pair(e.address, e.height), &e);
    if (!hfresh && h->second->epoch != e.epoch) {
      out.push_back("SIGN-1 (takeover): " + crypto::to_checksum_hex(e.address) +
                    " signed at height " + std::to_string(e.height) + " under two permit epochs: " +
                    inv_describe(*h->second) + " and " + inv_describe(e));
    }
  }
  return out;
}

ChainCheck check_chain1(const Manifest& m) {
  ChainCheck c;
  std::vector<RpcClient> clients;
  std::vector<std::string> names;
  std::uint64_t lowest = UINT64_MAX;
  for (const auto& n : m.nodes) {
    RpcClient client(n.rpc_url, std::chrono::milliseconds(3000));
    auto head = oracle_call(client, "eth_blockNumber");
    if (!head.ok()) continue;
    auto number = parse_hex_quantity(*head);
    if (!number.ok()) continue;
    lowest = std::min(lowest, *number);
    clients.push_back(std::move(client));
    names.push_back(n.name);
  }
  c.nodes_compared = clients.size();
  if (clients.empty()) {
    c.violations.push_back("CHAIN-1: no node answered on JSON-RPC; nothing was compared");
    return c;
  }
  const std::size_t quorum = chain::commit_quorum(m.council.size());
  for (std::uint64_t h = 1; h <= lowest; ++h) {
    std::string first_hash;
    for (std::size_t i = 0; i < clients.size(); ++i) {
      auto b =
          oracle_call(clients[i], "eth_getBlockByNumber", json::array({to_hex_quantity(h), false}));
      if (!b.ok() || !b->is_object()) {
        c.violations.push_back("CHAIN-1: " + names[i] + " has no block #" + std::to_string(h) +
                               (b.ok() ? "" : ": " + b.error().message));
        continue;
      }
      const std::string hash = b->value("hash", "");
      if (first_hash.empty()) {
        first_hash = hash;
      } else if (hash != first_hash) {
        std::string v = "CHAIN-1: fork at #" + std::to_string(h) + ": " + names[0] + " has ";
        v += first_hash;
        v += ", ";
        v += names[i];
        v += " has ";
        v += hash;
        c.violations.push_back(std::move(v));
      }
    }
    auto info = oracle_call(clients[0], "kaia_getBlockWithConsensusInfoByNumber",
                            json::array({to_hex_quantity(h)}));
    if (!info.ok()) {
      c.violations.push_back("CHAIN-1: #" + std::to_string(h) + " consensus info from " + names[0] +
                             ": " + info.error().message);
    } else if (info->value("committers", json::array()).size() < quorum) {
      c.violations.push_back("CHAIN-1: #" + std::to_string(h) + " carries " +
                             std::to_string(info->value("committers", json::array()).size()) +
                             " commit seals, fewer than the quorum " + std::to_string(quorum));
    }
    c.checked_up_to = h;
  }
  return c;
}

std::vector<std::string> data1_violations(const Manifest& m,
                                          const std::vector<std::string>& tx_hashes) {
  std::vector<std::string> out;
  for (const auto& n : m.nodes) {
    RpcClient client(n.rpc_url, std::chrono::milliseconds(3000));
    if (!oracle_call(client, "eth_blockNumber").ok()) continue;
    for (const auto& hash : tx_hashes) {
      auto r = oracle_call(client, "eth_getTransactionReceipt", json::array({hash}));
      if (!r.ok() || !r->is_object()) {
        out.push_back("DATA-1: " + n.name + " has no receipt for acknowledged transaction " + hash +
                      (r.ok() ? "" : ": " + r.error().message));
        continue;
      }
      auto number = parse_hex_quantity(r->value("blockNumber", json(nullptr)));
      auto block = number.ok() ? oracle_call(client, "eth_getBlockByNumber",
                                             json::array({to_hex_quantity(*number), false}))
                               : Result<json>(number.error());
      if (!block.ok() || !block->is_object() ||
          block->value("hash", "") != r->value("blockHash", "")) {
        out.push_back("DATA-1: " + n.name + ": the receipt of " + hash +
                      " names a block that is not canonical there");
      }
    }
  }
  return out;
}

}  // namespace cc::localnet
