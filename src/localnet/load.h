// localnet/load.h — owns `corecell localnet load`: offered load against a running localnet and a
// report of what the chain included. Signed EIP-155 value transfers (chain/tx.h) from the funded
// accounts of D/accounts.json, paced at a fixed rate and sent as JSON-RPC eth_sendRawTransaction
// over HTTP to the ENs' RPC (or one named node); nonces start from eth_getTransactionCount
// "pending" and are tracked locally. Inclusion is counted by reading the blocks produced since
// the start (eth_getBlockByNumber, hashes only) and matching the sent hashes. Only standard
// JSON-RPC shapes are used, so it works against any Kaia/Ethereum-style endpoint.
// It never signs consensus data and never touches a node's files.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "localnet/manifest.h"
#include "util/result.h"

namespace cc::localnet {

// A minimal JSON-RPC 2.0 client over HTTP POST (cpp-httplib) on one kept-alive connection.
class RpcClient {
 public:
  explicit RpcClient(std::string url,
                     std::chrono::milliseconds timeout = std::chrono::milliseconds{5000});
  ~RpcClient();
  RpcClient(RpcClient&&) noexcept;
  RpcClient& operator=(RpcClient&&) noexcept;
  RpcClient(const RpcClient&) = delete;
  RpcClient& operator=(const RpcClient&) = delete;

  // The "result" of the reply. Errors: rpc.unreachable (names the URL), rpc.throttled (HTTP 429:
  // the node's per-client rate limit; asking again later may succeed), rpc.http (other status),
  // rpc.bad_reply, rpc.error (the server's JSON-RPC error: "code: message").
  [[nodiscard]] Result<nlohmann::json> call(const std::string& method,
                                            const nlohmann::json& params = nlohmann::json::array());
  [[nodiscard]] const std::string& url() const { return url_; }

 private:
  struct Impl;
  std::string url_;
  std::unique_ptr<Impl> impl_;
  std::uint64_t next_id_ = 1;
};

// "0x1a" -> 26; errors name the value.
[[nodiscard]] Result<std::uint64_t> parse_hex_quantity(const nlohmann::json& value);

struct LoadParams {
  double tps = 10;
  double seconds = 10;
  double drain_seconds = 30;       // after sending, wait this long at most for inclusion
  std::vector<std::string> nodes;  // target node names; empty: the ENs (else the PNs)
};

struct LoadReport {
  std::vector<std::string> targets;  // RPC URLs used
  std::size_t accounts = 0;
  std::size_t attempted = 0;
  std::size_t sent = 0;             // accepted by eth_sendRawTransaction
  std::size_t rejected = 0;         // JSON-RPC error or transport failure
  std::vector<std::string> errors;  // the first few distinct error messages
  double send_seconds = 0;
  std::size_t included = 0;
  std::vector<std::string> included_hashes;  // 0x hashes seen in a block (acknowledged)
  std::uint64_t start_block = 0;             // head when sending began
  std::uint64_t first_block = 0;             // first block holding one of ours (0: none)
  std::uint64_t last_block = 0;
  std::uint64_t included_span_seconds = 0;  // last - first included block time, + 1 block period
  double wait_seconds = 0;                  // from the end of sending until all were seen

  [[nodiscard]] double offered_tps() const {
    return send_seconds > 0 ? static_cast<double>(attempted) / send_seconds : 0;
  }
  [[nodiscard]] double included_tps() const {
    return included_span_seconds > 0
               ? static_cast<double>(included) / static_cast<double>(included_span_seconds)
               : 0;
  }
};

// Runs the load; `stop` ends sending early (the inclusion check still runs, briefly).
// Fails before sending when no target RPC answers (the error says which URL and why).
[[nodiscard]] Result<LoadReport> run_load(
    const Manifest& m, const LoadParams& params, const std::atomic<bool>& stop,
    const std::function<void(const std::string&)>& progress = {});

[[nodiscard]] std::string format_load_report(const LoadReport& report);

}  // namespace cc::localnet
