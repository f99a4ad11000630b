// Real-client test with Kaia's SDK @kaiachain/ethers-ext, v6 flavour:
//   node ethers_ext_test.mjs RPC_URL CHAIN_ID ACCOUNTS_JSON [SENDER_INDEX]
// Same flow as ethers_test.mjs (lib.mjs) with the SDK's JsonRpcProvider and Wallet; klay_ is also
// read through the SDK's own klay API (provider.klay.*, which sends klay_blockNumber/klay_chainID).
// The transfer is a legacy type-0 transaction (our node takes no Kaia typed transactions); the
// SDK's Wallet hands non-Kaia types to ethers' signing and eth_sendRawTransaction.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { JsonRpcProvider, Wallet } from "@kaiachain/ethers-ext/v6";
import { version as ethersVersion } from "ethers";
import { parseArgs, parseQuantity, run, runFlow } from "./lib.mjs";

// The SDK's version, from its package.json (its exports map does not export that file).
function sdkVersion() {
  let dir = dirname(createRequire(import.meta.url).resolve("@kaiachain/ethers-ext/v6"));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
      if (pkg.name === "@kaiachain/ethers-ext") return pkg.version;
    } catch {}
    const up = dirname(dir);
    if (up === dir) return "unknown";
    dir = up;
  }
}

run("ethers-ext", async (log) => {
  const args = parseArgs(1);
  const extVersion = sdkVersion();
  log(`@kaiachain/ethers-ext ${extVersion} (v6 entry point), ethers ${ethersVersion}`);
  const provider = new JsonRpcProvider(args.url);
  await runFlow(log, args, {
    provider,
    makeWallet: (key, p) => new Wallet(key, p),
    randomAddress: () => Wallet.createRandom().address,
    klayReads: async (p) => ({
      how: "provider.klay.blockNumber()/chainID()",
      blockNumber: parseQuantity(await p.klay.blockNumber(), "provider.klay.blockNumber()"),
      chainId: parseQuantity(await p.klay.chainID(), "provider.klay.chainID()"),
    }),
  });
});
