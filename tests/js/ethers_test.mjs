// Real-client test with ethers v6: node ethers_test.mjs RPC_URL CHAIN_ID ACCOUNTS_JSON [SENDER_INDEX]
// Reads block number and chain ID through eth_ and klay_, sends a legacy value transfer signed by
// ethers' Wallet, waits for the receipt and checks both balances (see lib.mjs).
import { JsonRpcProvider, Wallet, version } from "ethers";
import { parseArgs, run, runFlow } from "./lib.mjs";

run("ethers", async (log) => {
  const args = parseArgs(0);
  log(`ethers ${version}`);
  const provider = new JsonRpcProvider(args.url);
  await runFlow(log, args, {
    provider,
    makeWallet: (key, p) => new Wallet(key, p),
    randomAddress: () => Wallet.createRandom().address,
  });
});
