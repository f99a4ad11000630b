// localnet/status.h — owns `corecell localnet status`: the live state of every node of a localnet,
// read from each node's control socket ({"cmd":"status"}, node/service.cpp) and its pid file, as
// one JSON document and as an operator's table. It only reads; it never starts or stops anything.
//
// JSON (`status --json`):
//   {"dir": "...", "chainId": 8888,
//    "supervisor": {"running": true, "pid": 123},
//    "nodes": [{"name": "cn-1", "cell": 1, "role": "cn", "standby": false,
//               "state": "up" | "down" | "unresponsive",
//               "pid": 456 | null, "address": "0x..", "validator": true | null,
//               "p2p": "127.0.0.10:32323", "rpcUrl": "http://..", "metricsUrl":
//               "http://../metrics", "head": {"number": 12, "hash": "0x.."} | null, "peers": 5 |
//               null, "round": 0 | null, "inSync": true | null, "lastExit": "exited with code 1" |
//               null, "ha": null | {"role": "active"|"standby"|"paused"|..|"down", "epoch": E,
//               "identity": "validator"|"standby"|"none"}},
//              ...]}
// A node is in sync when it is not downloading, has at least one peer, and its head is within one
// block of the best head it knows of (its peers' and the downloader's highest block) — the
// DESIGN's "verify in sync" rule without the council-CN part. An HA host's row shows its agent's
// role (cn/act, cn/sb) and the address its node binds now (the cell's only while active).
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "localnet/manifest.h"

namespace cc::localnet {

[[nodiscard]] nlohmann::json collect_status(
    const Manifest& m, std::chrono::milliseconds timeout = std::chrono::milliseconds{1000});

// The status table, one line per node, from collect_status's document.
[[nodiscard]] std::string format_status_table(const nlohmann::json& doc);

// In-sync rule above, from one node's control-socket status reply.
[[nodiscard]] bool node_in_sync(const nlohmann::json& node_status);

}  // namespace cc::localnet
