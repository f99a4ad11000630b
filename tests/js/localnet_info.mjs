// Helper of run.sh (no npm packages needed):
//   node localnet_info.mjs NET_DIR [STATUS_JSON_FILE]
//     prints "RPC_URL CHAIN_ID ACCOUNTS_JSON" for the network's first EN: the RPC URL (rpcUrl) from
//     NET_DIR/network.json (or `corecell localnet status --json` output, when given), the chain id
//     (chainId) from network.json or NET_DIR/genesis.json (config.chainId), the accounts file
//     named by network.json (accounts, relative to NET_DIR) or NET_DIR/accounts.json.
//   node localnet_info.mjs --wait RPC_URL EXPECTED_CHAIN_ID TIMEOUT_S
//     waits until RPC_URL answers eth_chainId (== expected) and eth_blockNumber >= 1.
import { readFileSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";
import http from "node:http";

function die(msg) {
  console.error(`localnet_info: ${msg}`);
  process.exit(1);
}

function readJson(path) {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    die(`cannot read ${path}: ${e.message}`);
  }
}

// The node list, wherever the document keeps it.
function nodesOf(doc) {
  if (Array.isArray(doc)) return doc;
  for (const k of ["nodes", "Nodes", "members"]) if (Array.isArray(doc?.[k])) return doc[k];
  return [];
}

function rpcUrlOf(node) {
  for (const k of ["rpc", "rpc_url", "rpcUrl", "rpc_http", "http", "http_url", "url"]) {
    const v = node[k];
    if (typeof v === "string" && /^https?:\/\//.test(v)) return v;
    if (v && typeof v === "object" && typeof v.url === "string") return v.url;
  }
  const ip = node.ip ?? node.address ?? node.host;
  const port = node.rpc_port ?? node.rpcPort ?? node.rpcport;
  if (typeof ip === "string" && port != null) return `http://${ip}:${port}`;
  return null;
}

function chainIdOf(doc) {
  for (const k of ["chain_id", "chainId", "chainID", "network_id", "networkId"]) {
    if (doc?.[k] != null) return String(doc[k]);
  }
  return null;
}

function info(dir, statusFile) {
  const net = readJson(join(dir, "network.json"));
  const sources = [net];
  if (statusFile && existsSync(statusFile)) {
    try {
      sources.push(JSON.parse(readFileSync(statusFile, "utf8")));
    } catch {
      // status output that is not JSON: network.json alone decides
    }
  }
  let url = null;
  for (const doc of sources) {
    const ens = nodesOf(doc).filter((n) => String(n.role ?? "").toLowerCase() === "en" ||
                                           /^en-/.test(String(n.name ?? "")));
    for (const en of ens) {
      url = rpcUrlOf(en);
      if (url) break;
    }
    if (url) break;
  }
  if (!url) die(`no EN with an RPC URL in ${join(dir, "network.json")}`);

  let chainId = chainIdOf(net);
  if (chainId == null) {
    const genesis = readJson(join(dir, "genesis.json"));
    chainId = genesis?.config?.chainId ?? genesis?.config?.chainID;
    if (chainId == null) die(`no chain id in network.json nor in genesis.json config.chainId`);
    chainId = String(chainId);
  }
  // The manifest names its accounts file (relative to the network's directory).
  const accounts = typeof net.accounts === "string" ? resolve(dir, net.accounts)
                                                    : join(dir, "accounts.json");
  if (!existsSync(accounts)) die(`missing ${accounts}`);
  console.log(`${url} ${chainId} ${accounts}`);
}

function rpc(url, method) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: [] });
    const req = http.request(url, {
      method: "POST", timeout: 3000,
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
    }, (res) => {
      let data = "";
      res.on("data", (c) => (data += c));
      res.on("end", () => {
        try {
          const j = JSON.parse(data);
          if (j.error) reject(new Error(`${method}: ${JSON.stringify(j.error)}`));
          else resolve(j.result);
        } catch {
          reject(new Error(`${method}: HTTP ${res.statusCode}, body ${data.slice(0, 200)}`));
        }
      });
    });
    req.on("timeout", () => req.destroy(new Error(`${method}: timeout`)));
    req.on("error", reject);
    req.end(body);
  });
}

async function wait(url, expected, timeoutS) {
  const deadline = Date.now() + Number(timeoutS) * 1000;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    try {
      const chain = BigInt(await rpc(url, "eth_chainId"));
      if (chain !== BigInt(expected)) die(`${url} eth_chainId ${chain}, expected ${expected}`);
      const height = BigInt(await rpc(url, "eth_blockNumber"));
      if (height >= 1n) {
        console.log(`localnet_info: ${url} is up: chain ${chain}, block ${height}`);
        return;
      }
      last = `block ${height}`;
    } catch (e) {
      last = e.message;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  die(`${url} not ready after ${timeoutS} s (last: ${last})`);
}

const argv = process.argv.slice(2);
if (argv[0] === "--wait") {
  if (argv.length !== 4) die("usage: --wait RPC_URL EXPECTED_CHAIN_ID TIMEOUT_S");
  await wait(argv[1], argv[2], argv[3]);
} else {
  if (argv.length < 1) die("usage: NET_DIR [STATUS_JSON_FILE]");
  info(argv[0], argv[1]);
}
