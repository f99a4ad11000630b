#include "rpc/kaia_api.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "chain/block.h"
#include "chain/receipt.h"
#include "chain/tx.h"
#include "chain/verify.h"
#include "crypto/address.h"
#include "storage/chaindb.h"

namespace cc::rpc {

namespace {

using json = nlohmann::json;
using node::NodeAccess;

// Ethereum's empty-uncles hash and a zero bloom: corecell blocks have neither uncles nor logs.
constexpr std::string_view kEmptyUncleHash =
    "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347";
const std::string kZeroBloom = "0x" + std::string(512, '0');
const std::string kZeroHash = "0x" + std::string(64, '0');

std::string qty(std::uint64_t v) { return fmt::format("0x{:x}", v); }
std::string qty(const U256& v) { return u256_to_hex_quantity(v); }
std::string addr_hex(const Address& a) { return crypto::to_checksum_hex(a); }

RpcError invalid_params(std::string message) {
  return RpcError{ErrorCode::kInvalidParams, std::move(message), nullptr};
}
RpcError server_error(std::string message) {
  return RpcError{ErrorCode::kServerError, std::move(message), nullptr};
}

// --- parameters ---

// The params as a positional array; named params (an object) are not used by these methods.
Result<std::vector<json>> positional(const json& params, std::size_t min, std::size_t max) {
  std::vector<json> out;
  if (params.is_array()) {
    out.assign(params.begin(), params.end());
  } else if (!params.is_null()) {
    return Error{"params", "params must be an array"};
  }
  if (out.size() < min || out.size() > max) {
    return Error{"params", min == max ? fmt::format("expected {} params, got {}", min, out.size())
                                      : fmt::format("expected {} to {} params, got {}", min, max,
                                                    out.size())};
  }
  return out;
}

// A JSON-RPC quantity: "0x" and hex digits without leading zeros (geth accepts leading zeros
// from clients, so do we); at most 64 bits here.
Result<std::uint64_t> parse_quantity(const json& v, const std::string& what) {
  if (!v.is_string()) return Error{"params", what + " must be a hex quantity string like \"0x1a\""};
  auto q = parse_hex_quantity(v.get_ref<const std::string&>());
  if (!q.ok()) return Error{"params", what + ": " + q.error().message};
  return *q;
}

// A block number or tag ("latest", "pending", "safe", "finalized": the head — Istanbul blocks
// are final when committed; "earliest": 0).
Result<std::uint64_t> parse_block_ref(const json& v, std::uint64_t head) {
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (s == "latest" || s == "pending" || s == "safe" || s == "finalized") return head;
    if (s == "earliest") return std::uint64_t{0};
  }
  if (v.is_object())
    return Error{"params", "block references by object (EIP-1898) are not supported"};
  return parse_quantity(v, "block number");
}

Result<Hash32> parse_hash(const json& v, const std::string& what) {
  if (!v.is_string()) return Error{"params", what + " must be a 0x-prefixed 32-byte hex string"};
  const auto& s = v.get_ref<const std::string&>();
  if (s.size() != 66 || s[0] != '0' || s[1] != 'x') {
    return Error{"params", what + " must be 0x and 64 hex digits"};
  }
  return fixed_from_hex<32>(s);
}

Result<Address> parse_addr(const json& v, const std::string& what) {
  if (!v.is_string()) return Error{"params", what + " must be a 0x-prefixed 20-byte address"};
  return crypto::parse_address(v.get_ref<const std::string&>());
}

// --- result shapes ---

struct TxContext {
  std::optional<Hash32> block_hash;  // nullopt: still in the pool
  std::uint64_t block_number = 0;
  std::uint32_t index = 0;
};

Address sender_of(const chain::Transaction& tx, std::uint64_t chain_id, const NodeAccess& node) {
  auto verdict = chain::validate_stateless(tx, chain_id, U256(0), &node.node().sender_cache());
  return verdict.ok() ? verdict.value() : Address{};  // stored txs were verified on import
}

json eth_tx(const chain::Transaction& tx, const TxContext& ctx, std::uint64_t chain_id,
            const NodeAccess& node) {
  json t;
  t["blockHash"] = ctx.block_hash ? json(to_hex0x(*ctx.block_hash)) : json(nullptr);
  t["blockNumber"] = ctx.block_hash ? json(qty(ctx.block_number)) : json(nullptr);
  t["transactionIndex"] = ctx.block_hash ? json(qty(ctx.index)) : json(nullptr);
  t["from"] = addr_hex(sender_of(tx, chain_id, node));
  t["gas"] = qty(tx.gas_limit);
  t["gasPrice"] = qty(tx.gas_price);
  t["hash"] = to_hex0x(tx.hash());
  t["input"] = to_hex0x(tx.data);
  t["nonce"] = qty(tx.nonce);
  t["to"] = tx.to ? json(addr_hex(*tx.to)) : json(nullptr);
  t["value"] = qty(tx.value);
  t["type"] = "0x0";
  t["chainId"] = qty(chain_id);
  t["v"] = qty(tx.v);
  t["r"] = qty(tx.r);
  t["s"] = qty(tx.s);
  return t;
}

// Kaia's shape: a typed legacy transaction with its signatures as a list.
json kaia_tx(const chain::Transaction& tx, const TxContext& ctx, std::uint64_t chain_id,
             const NodeAccess& node) {
  json t = eth_tx(tx, ctx, chain_id, node);
  t.erase("v");
  t.erase("r");
  t.erase("s");
  t["type"] = "TxTypeLegacyTransaction";
  t["typeInt"] = 0;
  t["senderTxHash"] = t["hash"];
  t["signatures"] = json::array({{{"V", qty(tx.v)}, {"R", qty(tx.r)}, {"S", qty(tx.s)}}});
  return t;
}

enum class Shape { eth, kaia };

json block_json(const chain::Block& block, bool full_txs, Shape shape, std::uint64_t chain_id,
                const NodeAccess& node) {
  const auto& h = block.header;
  const Hash32 hash = block.hash();
  json b;
  b["number"] = qty(h.number);
  b["hash"] = to_hex0x(hash);
  b["parentHash"] = to_hex0x(h.parent_hash);
  b["logsBloom"] = kZeroBloom;
  b["transactionsRoot"] = to_hex0x(h.transactions_root);
  b["stateRoot"] = to_hex0x(h.state_root);
  b["receiptsRoot"] = to_hex0x(h.receipts_root);
  b["size"] = qty(static_cast<std::uint64_t>(block.encode().size()));
  b["gasUsed"] = qty(h.gas_used);
  b["timestamp"] = qty(h.time);
  if (shape == Shape::eth) {
    b["nonce"] = "0x0000000000000000";
    b["mixHash"] = kZeroHash;
    b["sha3Uncles"] = std::string(kEmptyUncleHash);
    b["miner"] = addr_hex(h.rewardbase);
    b["difficulty"] = qty(h.block_score);
    b["totalDifficulty"] = qty(h.number + 1);
    b["extraData"] = "0x";  // Istanbul's extra exceeds Ethereum's 32 bytes; kaia_ has it
    b["gasLimit"] = qty(kEthBlockGasLimit);
    b["uncles"] = json::array();
  } else {
    b["reward"] = addr_hex(h.rewardbase);
    b["blockscore"] = qty(h.block_score);
    b["totalBlockScore"] = qty(h.number + 1);
    b["extraData"] = to_hex0x(h.extra);
    b["timestampFoS"] = qty(static_cast<std::uint64_t>(h.time_fos));
    b["governanceData"] = "0x";
    b["voteData"] = "0x";
  }
  json txs = json::array();
  for (std::uint32_t i = 0; i < block.transactions.size(); ++i) {
    const auto& tx = block.transactions[i];
    if (!full_txs) {
      txs.push_back(to_hex0x(tx.hash()));
      continue;
    }
    TxContext ctx{hash, h.number, i};
    txs.push_back(shape == Shape::eth ? eth_tx(tx, ctx, chain_id, node)
                                      : kaia_tx(tx, ctx, chain_id, node));
  }
  b["transactions"] = std::move(txs);
  return b;
}

json receipt_json(const chain::Transaction& tx, const chain::Receipt& r, const TxContext& ctx,
                  Shape shape, std::uint64_t chain_id, const NodeAccess& node) {
  json out;
  out["blockHash"] = to_hex0x(*ctx.block_hash);
  out["blockNumber"] = qty(ctx.block_number);
  out["transactionHash"] = to_hex0x(r.tx_hash);
  out["transactionIndex"] = qty(ctx.index);
  out["from"] = addr_hex(sender_of(tx, chain_id, node));
  out["to"] = tx.to ? json(addr_hex(*tx.to)) : json(nullptr);
  out["contractAddress"] = nullptr;
  out["gasUsed"] = qty(r.gas_used);
  out["effectiveGasPrice"] = qty(tx.gas_price);
  out["logs"] = json::array();
  out["logsBloom"] = kZeroBloom;
  out["status"] = qty(static_cast<std::uint64_t>(r.status));
  if (shape == Shape::eth) {
    out["cumulativeGasUsed"] = qty(r.cumulative_gas_used);
    out["type"] = "0x0";
  } else {
    // Kaia's receipt carries the transaction's fields too.
    json t = kaia_tx(tx, ctx, chain_id, node);
    for (const char* key : {"gas", "gasPrice", "input", "nonce", "value", "senderTxHash",
                            "signatures", "type", "typeInt"}) {
      out[key] = t[key];
    }
  }
  return out;
}

// --- plumbing ---

// Runs fn on the node; a node that is stopping or busy becomes a server error.
template <class F>
MethodResult on_node(node::Service& service, F fn) {
  auto r = service.call(std::move(fn));
  if (!r.ok()) return server_error(r.error().message);
  return std::move(*r);
}

Result<std::optional<chain::Block>> block_at(const NodeAccess& a, std::uint64_t number) {
  if (number > a.chain().head().number) return std::optional<chain::Block>{};
  return a.chain().db().block_by_number(number);
}

std::uint64_t chain_id_of(const NodeAccess& a) { return a.chain().genesis().config.chain_id; }

// Where a stored transaction is, with the block it is in.
struct Located {
  chain::Block block;
  storage::TxLocation loc;
};
Result<std::optional<Located>> locate(const NodeAccess& a, const Hash32& tx_hash) {
  CC_TRY_ASSIGN(auto loc, a.chain().db().tx_location(tx_hash));
  if (!loc || loc->block_number > a.chain().head().number) return std::optional<Located>{};
  CC_TRY_ASSIGN(auto block, a.chain().db().block_by_number(loc->block_number));
  if (!block || loc->index >= block->transactions.size()) return std::optional<Located>{};
  return std::optional<Located>{Located{std::move(*block), *loc}};
}

// The geth-style message clients (ethers) classify by, then our detail.
std::string pool_error_message(const node::TxPoolRejection& r) {
  std::string head;
  switch (r.reason) {
    case node::TxPoolRefusal::AlreadyKnown:
      head = "already known";
      break;
    case node::TxPoolRefusal::ReplacementUnderpriced:
      head = "replacement transaction underpriced";
      break;
    case node::TxPoolRefusal::PoolFull:
      head = "txpool is full";
      break;
    case node::TxPoolRefusal::Invalid:
      switch (r.invalid.value_or(chain::TxInvalid::Malformed)) {
        case chain::TxInvalid::NonceTooLow:
          head = "nonce too low";
          break;
        case chain::TxInvalid::InsufficientFunds:
          head = "insufficient funds for gas * price + value";
          break;
        case chain::TxInvalid::GasPriceTooLow:
          head = "transaction underpriced";
          break;
        case chain::TxInvalid::WrongChainId:
          head = "invalid chain id for signer";
          break;
        case chain::TxInvalid::BadSignature:
          head = "invalid sender";
          break;
        case chain::TxInvalid::IntrinsicGasTooLow:
          head = "intrinsic gas too low";
          break;
        default:
          head = std::string(chain::to_string(*r.invalid));
      }
      break;
  }
  return r.detail.empty() ? head : head + ": " + r.detail;
}

// --- methods ---

void add_chain_methods(Dispatcher& d, node::Service& svc) {
  auto block_number = [&svc](const json& params) -> MethodResult {
    auto p = positional(params, 0, 0);
    if (!p.ok()) return invalid_params(p.error().message);
    return on_node(svc, [](NodeAccess& a) -> MethodResult { return qty(a.chain().head().number); });
  };
  d.add("kaia_blockNumber", block_number);
  d.add("eth_blockNumber", block_number);

  auto chain_id = [&svc](const json& params) -> MethodResult {
    auto p = positional(params, 0, 0);
    if (!p.ok()) return invalid_params(p.error().message);
    return on_node(svc, [](NodeAccess& a) -> MethodResult { return qty(chain_id_of(a)); });
  };
  d.add("kaia_chainID", chain_id);
  d.add("eth_chainId", chain_id);

  auto syncing = [&svc](const json& params) -> MethodResult {
    auto p = positional(params, 0, 0);
    if (!p.ok()) return invalid_params(p.error().message);
    return on_node(svc, [](NodeAccess& a) -> MethodResult {
      auto s = a.sync_status();
      const std::uint64_t current = a.chain().head().number;
      // Kaia: false when current >= highest (also with no peers at all).
      if (!s.syncing || current >= s.highest_block) return json(false);
      return json{{"startingBlock", qty(s.starting_block)},
                  {"currentBlock", qty(current)},
                  {"highestBlock", qty(s.highest_block)},
                  {"pulledStates", "0x0"},
                  {"knownStates", "0x0"}};
    });
  };
  d.add("kaia_syncing", syncing);
  d.add("eth_syncing", syncing);

  auto gas_price = [](const json& params) -> MethodResult {
    auto p = positional(params, 0, 0);
    if (!p.ok()) return invalid_params(p.error().message);
    return json(qty(kUnitGasPrice));
  };
  d.add("kaia_gasPrice", gas_price);
  d.add("eth_gasPrice", gas_price);

  for (Shape shape : {Shape::eth, Shape::kaia}) {
    const std::string ns = shape == Shape::eth ? "eth_" : "kaia_";
    d.add(ns + "getBlockByNumber", [&svc, shape](const json& params) -> MethodResult {
      auto p = positional(params, 1, 2);
      if (!p.ok()) return invalid_params(p.error().message);
      const bool full = p->size() > 1 && (*p)[1].is_boolean() && (*p)[1].get<bool>();
      if (p->size() > 1 && !(*p)[1].is_boolean()) {
        return invalid_params("the second param (full transactions) must be true or false");
      }
      const json ref = (*p)[0];
      return on_node(svc, [ref, full, shape](NodeAccess& a) -> MethodResult {
        auto number = parse_block_ref(ref, a.chain().head().number);
        if (!number.ok()) return invalid_params(number.error().message);
        auto block = block_at(a, *number);
        if (!block.ok()) return server_error(block.error().message);
        if (!*block) return json(nullptr);  // geth: null for a block it does not have
        return block_json(**block, full, shape, chain_id_of(a), a);
      });
    });
    d.add(ns + "getBlockByHash", [&svc, shape](const json& params) -> MethodResult {
      auto p = positional(params, 1, 2);
      if (!p.ok()) return invalid_params(p.error().message);
      if (p->size() > 1 && !(*p)[1].is_boolean()) {
        return invalid_params("the second param (full transactions) must be true or false");
      }
      const bool full = p->size() > 1 && (*p)[1].get<bool>();
      auto hash = parse_hash((*p)[0], "block hash");
      if (!hash.ok()) return invalid_params(hash.error().message);
      return on_node(svc, [h = *hash, full, shape](NodeAccess& a) -> MethodResult {
        auto block = a.chain().db().block(h);
        if (!block.ok()) return server_error(block.error().message);
        if (!*block || (*block)->header.number > a.chain().head().number) return json(nullptr);
        return block_json(**block, full, shape, chain_id_of(a), a);
      });
    });
    d.add(ns + "getTransactionByHash", [&svc, shape](const json& params) -> MethodResult {
      auto p = positional(params, 1, 1);
      if (!p.ok()) return invalid_params(p.error().message);
      auto hash = parse_hash((*p)[0], "transaction hash");
      if (!hash.ok()) return invalid_params(hash.error().message);
      return on_node(svc, [h = *hash, shape](NodeAccess& a) -> MethodResult {
        const auto cid = chain_id_of(a);
        auto found = locate(a, h);
        if (!found.ok()) return server_error(found.error().message);
        if (*found) {
          const auto& f = **found;
          TxContext ctx{f.block.hash(), f.loc.block_number, f.loc.index};
          const auto& tx = f.block.transactions[f.loc.index];
          return shape == Shape::eth ? eth_tx(tx, ctx, cid, a) : kaia_tx(tx, ctx, cid, a);
        }
        if (const auto* tx = a.pool().get(h)) {  // pending: no block yet
          return shape == Shape::eth ? eth_tx(*tx, {}, cid, a) : kaia_tx(*tx, {}, cid, a);
        }
        return json(nullptr);
      });
    });
    d.add(ns + "getTransactionReceipt", [&svc, shape](const json& params) -> MethodResult {
      auto p = positional(params, 1, 1);
      if (!p.ok()) return invalid_params(p.error().message);
      auto hash = parse_hash((*p)[0], "transaction hash");
      if (!hash.ok()) return invalid_params(hash.error().message);
      return on_node(svc, [h = *hash, shape](NodeAccess& a) -> MethodResult {
        auto found = locate(a, h);
        if (!found.ok()) return server_error(found.error().message);
        if (!*found) return json(nullptr);  // unknown or not yet in a block
        const auto& f = **found;
        const Hash32 bhash = f.block.hash();
        auto receipts = a.chain().db().receipts(bhash);
        if (!receipts.ok()) return server_error(receipts.error().message);
        if (!*receipts || f.loc.index >= (*receipts)->size()) {
          return server_error("block #" + std::to_string(f.loc.block_number) +
                              " has no receipt for this transaction (chaindata damaged?)");
        }
        TxContext ctx{bhash, f.loc.block_number, f.loc.index};
        return receipt_json(f.block.transactions[f.loc.index], (**receipts)[f.loc.index], ctx,
                            shape, chain_id_of(a), a);
      });
    });
  }
}

// Balance and nonce: the head's state only.
void add_account_methods(Dispatcher& d, node::Service& svc) {
  auto state_ref = [](const std::vector<json>& p, std::uint64_t head) -> Result<bool> {
    const json ref = p.size() > 1 ? p[1] : json("latest");
    const bool pending = ref.is_string() && ref.get<std::string>() == "pending";
    CC_TRY_ASSIGN(auto number, parse_block_ref(ref, head));
    if (number != head) {
      return Error{"state", fmt::format("state of block #{} is not available: this node keeps the "
                                        "head's state only (#{}); ask for \"latest\"",
                                        number, head)};
    }
    return pending;
  };
  auto balance = [&svc, state_ref](const json& params) -> MethodResult {
    auto p = positional(params, 1, 2);
    if (!p.ok()) return invalid_params(p.error().message);
    auto addr = parse_addr((*p)[0], "address");
    if (!addr.ok()) return invalid_params(addr.error().message);
    return on_node(svc, [p = *p, addr = *addr, state_ref](NodeAccess& a) -> MethodResult {
      auto r = state_ref(p, a.chain().head().number);
      if (!r.ok()) {
        return r.error().code == "params" ? invalid_params(r.error().message)
                                          : server_error(r.error().message);
      }
      return qty(a.chain().state().get(addr).balance);
    });
  };
  d.add("kaia_getBalance", balance);
  d.add("eth_getBalance", balance);

  auto count = [&svc, state_ref](const json& params) -> MethodResult {
    auto p = positional(params, 1, 2);
    if (!p.ok()) return invalid_params(p.error().message);
    auto addr = parse_addr((*p)[0], "address");
    if (!addr.ok()) return invalid_params(addr.error().message);
    return on_node(svc, [p = *p, addr = *addr, state_ref](NodeAccess& a) -> MethodResult {
      auto pending = state_ref(p, a.chain().head().number);
      if (!pending.ok()) {
        return pending.error().code == "params" ? invalid_params(pending.error().message)
                                                : server_error(pending.error().message);
      }
      // "pending" counts the sender's executable transactions waiting in the pool.
      if (*pending) return qty(a.pool().next_nonce(addr, a.chain().state()));
      return qty(a.chain().state().get(addr).nonce);
    });
  };
  d.add("kaia_getTransactionCount", count);
  d.add("eth_getTransactionCount", count);

  auto send_raw = [&svc](const json& params) -> MethodResult {
    auto p = positional(params, 1, 1);
    if (!p.ok()) return invalid_params(p.error().message);
    if (!(*p)[0].is_string()) return invalid_params("the signed transaction must be a hex string");
    auto raw = from_hex((*p)[0].get<std::string>());
    if (!raw.ok()) return invalid_params("signed transaction: " + raw.error().message);
    auto tx = chain::Transaction::decode(*raw);
    if (!tx.ok()) {
      return invalid_params(
          "signed transaction does not decode as a legacy (type 0) transaction: " +
          tx.error().message);
    }
    if (tx->gas_price < kUnitGasPrice) {
      return server_error(
          fmt::format("transaction underpriced: gas price {} is below the unit "
                      "price {} (eth_gasPrice)",
                      u256_to_dec(tx->gas_price), u256_to_dec(kUnitGasPrice)));
    }
    return on_node(svc, [tx = std::move(*tx)](NodeAccess& a) -> MethodResult {
      auto verdict = a.submit_transaction(tx);
      if (!verdict.ok()) return server_error(pool_error_message(verdict.rejection()));
      return to_hex0x(verdict.value().hash);
    });
  };
  d.add("kaia_sendRawTransaction", send_raw);
  d.add("eth_sendRawTransaction", send_raw);

  // Only value transfers exist: they cost exactly kTransferGas. What would make the transfer
  // fail is reported the way geth's estimateGas does.
  auto estimate = [&svc](const json& params) -> MethodResult {
    auto p = positional(params, 1, 2);
    if (!p.ok()) return invalid_params(p.error().message);
    const json& call = (*p)[0];
    if (!call.is_object()) return invalid_params("the call must be an object {from, to, value}");
    if (!call.contains("to") || call["to"].is_null()) {
      return server_error("contract creation is not supported: corecell runs value transfers only");
    }
    auto to = parse_addr(call["to"], "to");
    if (!to.ok()) return invalid_params(to.error().message);
    for (const char* key : {"data", "input"}) {
      if (call.contains(key) && call[key].is_string() && call[key].get<std::string>() != "0x" &&
          !call[key].get<std::string>().empty()) {
        return server_error(
            "contract calls are not supported: corecell runs value transfers only "
            "(\"" +
            std::string(key) + "\" must be empty)");
      }
    }
    std::optional<Address> from;
    if (call.contains("from") && !call["from"].is_null()) {
      auto f = parse_addr(call["from"], "from");
      if (!f.ok()) return invalid_params(f.error().message);
      from = *f;
    }
    U256 value = 0;
    if (call.contains("value") && !call["value"].is_null()) {
      if (!call["value"].is_string()) return invalid_params("value must be a hex quantity");
      auto v = u256_parse(call["value"].get<std::string>());
      if (!v.ok()) return invalid_params("value: " + v.error().message);
      value = *v;
    }
    return on_node(svc, [from, value](NodeAccess& a) -> MethodResult {
      if (from && value > 0 && a.chain().state().get(*from).balance < value) {
        return server_error("insufficient funds for transfer");
      }
      return qty(chain::kTransferGas);
    });
  };
  d.add("kaia_estimateGas", estimate);
  d.add("eth_estimateGas", estimate);
}

json addresses(const std::vector<Address>& list) {
  json out = json::array();
  for (const auto& a : list) out.push_back(addr_hex(a));
  return out;
}

void add_consensus_methods(Dispatcher& d, node::Service& svc) {
  // The council is fixed by the genesis (no governance votes yet), so every block has the same.
  auto council_at = [&svc](const json& params) -> MethodResult {
    auto p = positional(params, 0, 1);
    if (!p.ok()) return invalid_params(p.error().message);
    const json ref = p->empty() ? json("latest") : (*p)[0];
    return on_node(svc, [ref](NodeAccess& a) -> MethodResult {
      auto number = parse_block_ref(ref, a.chain().head().number);
      if (!number.ok()) return invalid_params(number.error().message);
      if (*number > a.chain().head().number) {
        return server_error(fmt::format("block #{} is not in the chain yet (head #{})", *number,
                                        a.chain().head().number));
      }
      return addresses(a.chain().council().validators());
    });
  };
  d.add("kaia_getCouncil", council_at);
  d.add("kaia_getCommittee", council_at);
  d.add("istanbul_getValidators", council_at);

  d.add("kaia_getBlockWithConsensusInfoByNumber", [&svc](const json& params) -> MethodResult {
    auto p = positional(params, 0, 1);
    if (!p.ok()) return invalid_params(p.error().message);
    const json ref = p->empty() ? json("latest") : (*p)[0];
    return on_node(svc, [ref](NodeAccess& a) -> MethodResult {
      auto number = parse_block_ref(ref, a.chain().head().number);
      if (!number.ok()) return invalid_params(number.error().message);
      auto block = block_at(a, *number);
      if (!block.ok()) return server_error(block.error().message);
      if (!*block) return json(nullptr);
      const auto& b = **block;
      json out = block_json(b, true, Shape::kaia, chain_id_of(a), a);
      const auto& council = a.chain().council();
      out["committee"] = addresses(council.validators());
      if (b.header.number == 0) {  // the genesis block has no seals
        out["committers"] = json::array();
        out["proposer"] = addr_hex(Address{});
        out["originProposer"] = out["proposer"];
        out["round"] = 0;
        return out;
      }
      auto proposer = chain::recover_proposer(b.header);
      if (!proposer.ok()) return server_error("proposer seal: " + proposer.error().message);
      auto committers = chain::verify_committed_seals(b.header, council);
      if (!committers.ok()) {
        return server_error("committed seals: " + committers.rejection().to_error().message);
      }
      auto extra = b.header.istanbul_extra();
      out["proposer"] = addr_hex(*proposer);
      out["originProposer"] = addr_hex(*proposer);
      out["committers"] = addresses(committers.value());
      out["round"] = extra.ok() ? extra->round() : 0;
      return out;
    });
  });
}

void add_node_methods(Dispatcher& d, node::Service& svc) {
  d.add("net_version", [&svc](const json&) -> MethodResult {
    return on_node(svc,
                   [](NodeAccess& a) -> MethodResult { return std::to_string(a.network_id()); });
  });
  d.add("net_listening", [](const json&) -> MethodResult { return json(true); });
  d.add("net_peerCount", [&svc](const json&) -> MethodResult {
    return on_node(svc, [](NodeAccess& a) -> MethodResult {
      std::uint64_t n = 0;
      const json st = a.status();  // named: a loop over a temporary's member would dangle
      for (const auto& p : st["peers"]) n += p.value("ready", false) ? 1 : 0;
      return qty(n);
    });
  });
  d.add("web3_clientVersion", [](const json&) -> MethodResult { return client_version(); });

  d.add("admin_nodeInfo", [&svc](const json&) -> MethodResult {
    return on_node(svc, [](NodeAccess& a) -> MethodResult {
      json st = a.status();
      const auto& cfg = a.node().config();
      const std::uint64_t port = st.value("p2p_port", std::uint64_t{0});
      const std::string ip = cfg.public_ip.empty() ? "127.0.0.1" : cfg.public_ip;
      json info;
      info["id"] = st["node_id"];
      info["name"] = client_version();
      info["kni"] = st["kni"];
      info["nodeAddress"] = st["address"];
      info["ip"] = ip;
      info["ports"] = {{"discovery", port}, {"listener", port}};
      info["listenAddr"] =
          (cfg.public_ip.empty() ? "[::]" : cfg.public_ip) + ":" + std::to_string(port);
      info["nodeType"] = st["role"];
      info["protocols"] = {{"klay",
                            {{"network", a.network_id()},
                             {"genesis", to_hex0x(a.chain().genesis_hash())},
                             {"head", to_hex0x(a.chain().head_hash())},
                             {"number", a.chain().head().number},
                             {"config", {{"chainId", chain_id_of(a)}}}}}};
      return info;
    });
  });
  d.add("admin_peers", [&svc](const json&) -> MethodResult {
    return on_node(svc, [](NodeAccess& a) -> MethodResult {
      json out = json::array();
      const json st = a.status();
      for (const auto& p : st["peers"]) {
        out.push_back({{"id", p["node_id"]},
                       {"nodeAddress", p["address"]},
                       {"nodeType", p["type"]},
                       {"name", ""},
                       {"networks", json::array({{{"inbound", p["inbound"]},
                                                  {"remoteAddress", p["remote"]},
                                                  {"static", false},
                                                  {"trusted", false}}})},
                       {"protocols", {{"klay", {{"number", p["head"]}, {"ready", p["ready"]}}}}}});
      }
      return out;
    });
  });
}

}  // namespace

std::string client_version() { return "corecell/v0.1.0/linux-amd64/c++20"; }

void register_node_api(Dispatcher& dispatcher, node::Service& service) {
  add_chain_methods(dispatcher, service);
  add_account_methods(dispatcher, service);
  add_consensus_methods(dispatcher, service);
  add_node_methods(dispatcher, service);
}

}  // namespace cc::rpc
