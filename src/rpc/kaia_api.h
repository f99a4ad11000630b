// rpc/kaia_api.h — owns the JSON-RPC methods a node serves, with Kaia's names and result shapes:
//   kaia_ (klay_ alias) / eth_: blockNumber, chainId (kaia_chainID), syncing, gasPrice,
//     getBlockByNumber, getBlockByHash, getBalance, getTransactionCount, sendRawTransaction,
//     getTransactionByHash, getTransactionReceipt, estimateGas;
//   kaia_: getCouncil, getCommittee, getBlockWithConsensusInfoByNumber;
//   net_: version, peerCount, listening;  web3_: clientVersion;
//   admin_: nodeInfo, peers;  istanbul_: getValidators.
// eth_ results have Ethereum's shapes (blocks with nonce/difficulty/gasLimit/uncles, type "0x0"
// transactions) so Ethereum clients work unchanged; kaia_ results have Kaia's (blockscore,
// timestampFoS, reward; transactions typed "TxTypeLegacyTransaction" with signatures).
// Every method reads the node on cc-node through node::Service::call, never directly.
// State is the head's only (corecell keeps no historical state): a balance or nonce asked at
// an older block is an error that says so, never a wrong number.
#pragma once

#include <string>

#include "node/service.h"
#include "rpc/jsonrpc.h"
#include "util/u256.h"

namespace cc::rpc {

// Kaia's fixed unit gas price (25 gkei): what kaia_gasPrice/eth_gasPrice answer, and the
// least a transaction sent through RPC must offer.
inline const U256 kUnitGasPrice = U256(25'000'000'000ULL);
// What Kaia's eth_ namespace reports as a block's gas limit (Kaia blocks have none).
inline constexpr std::uint64_t kEthBlockGasLimit = 999'999'999'999ULL;

// "corecell/v0.1.0/linux-amd64": web3_clientVersion and admin_nodeInfo.name.
[[nodiscard]] std::string client_version();

// Registers every method above on `dispatcher`; they call into `service`, which must outlive
// the dispatcher's use.
void register_node_api(Dispatcher& dispatcher, node::Service& service);

}  // namespace cc::rpc
