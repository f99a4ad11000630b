// Shared flow of the real-client tests (ethers_test.mjs, ethers_ext_test.mjs): read the block
// number and chain ID through eth_ and klay_, send a legacy (type 0, EIP-155) value transfer
// signed by the library's Wallet, wait for its receipt and check both balances.
//
// Arguments (each also from the environment): RPC URL (CC_RPC_URL), expected chain id
// (CC_CHAIN_ID, decimal or 0x-hex), path of accounts.json (CC_ACCOUNTS: a JSON array of
// {"address":"0x...","privateKey":"0x..."} funded in genesis), and optionally which account
// sends (CC_SENDER_INDEX, default given by the script).
import { readFileSync } from "node:fs";

export class TestFailure extends Error {}

export function fail(message) {
  throw new TestFailure(message);
}

export function check(condition, message) {
  if (!condition) fail(message);
}

export function makeLog(tag) {
  return (...args) => console.log(`[${tag}]`, ...args);
}

// Parses a chain id given as decimal or 0x-hex.
function parseChainId(text) {
  const s = String(text).trim();
  if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(s)) fail(`expected chain id is not a number: "${text}"`);
  return BigInt(s);
}

// A JSON-RPC quantity ("0x1f"): strict, as clients expect (no empty "0x", no leading zeros).
export function parseQuantity(value, what) {
  check(typeof value === "string" && /^0x(0|[1-9a-f][0-9a-f]*)$/i.test(value),
        `${what}: expected a hex quantity string, got ${JSON.stringify(value)}`);
  return BigInt(value);
}

export function parseArgs(defaultSender) {
  const argv = process.argv.slice(2);
  const url = argv[0] ?? process.env.CC_RPC_URL;
  const chainIdText = argv[1] ?? process.env.CC_CHAIN_ID;
  const accountsPath = argv[2] ?? process.env.CC_ACCOUNTS;
  const senderText = argv[3] ?? process.env.CC_SENDER_INDEX ?? String(defaultSender);
  if (!url || !chainIdText || !accountsPath) {
    fail("usage: node <script> RPC_URL CHAIN_ID ACCOUNTS_JSON [SENDER_INDEX]" +
         " (or CC_RPC_URL, CC_CHAIN_ID, CC_ACCOUNTS, CC_SENDER_INDEX)");
  }
  let accounts;
  try {
    accounts = JSON.parse(readFileSync(accountsPath, "utf8"));
  } catch (e) {
    fail(`cannot read accounts file ${accountsPath}: ${e.message}`);
  }
  check(Array.isArray(accounts) && accounts.length > 0,
        `${accountsPath}: expected a non-empty JSON array of {address, privateKey}`);
  // With fewer accounts than expected, the scripts share one sender (they run one after another).
  const index = Number(senderText) % accounts.length;
  const sender = accounts[index];
  check(sender && typeof sender.address === "string" && typeof sender.privateKey === "string",
        `${accountsPath}[${index}]: expected {address, privateKey}`);
  return { url, chainId: parseChainId(chainIdText), sender, senderIndex: index };
}

// Runs main() with a watchdog; exits 0 on success, 1 with a clear message on any failure.
export function run(tag, main, timeoutMs = 180_000) {
  const log = makeLog(tag);
  const watchdog = setTimeout(() => {
    console.error(`[${tag}] FAIL: timed out after ${timeoutMs / 1000} s`);
    process.exit(1);
  }, timeoutMs);
  main(log).then(
    () => {
      clearTimeout(watchdog);
      log("PASS");
      process.exit(0);
    },
    (err) => {
      clearTimeout(watchdog);
      if (err instanceof TestFailure) {
        console.error(`[${tag}] FAIL: ${err.message}`);
      } else {
        // A library error: show its code, message and (for RPC errors) the request and reply.
        console.error(`[${tag}] FAIL: ${err?.shortMessage ?? err?.message ?? err}`);
        if (err?.code) console.error(`[${tag}]   code: ${err.code}`);
        if (err?.info) console.error(`[${tag}]   info: ${safeJson(err.info)}`);
        if (err?.error) console.error(`[${tag}]   error: ${safeJson(err.error)}`);
        if (err?.stack) console.error(err.stack);
      }
      process.exit(1);
    });
}

function safeJson(v) {
  try {
    return JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x)).slice(0, 2000);
  } catch {
    return String(v);
  }
}

// The common flow. `lib` supplies the library's pieces:
//   provider: a connected JsonRpcProvider (ethers v6 API)
//   makeWallet(privateKey, provider): the library's Wallet
//   randomAddress(): a fresh address
//   klayReads(provider): optional extra klay_ reads through the library's own API
//                        -> { blockNumber: bigint, chainId: bigint }
export async function runFlow(log, { url, chainId, sender, senderIndex }, lib) {
  const { provider } = lib;
  provider.pollingInterval = 500;  // block polling for tx.wait(); the default is 4 s
  log(`RPC ${url}, expected chain id ${chainId}, sender accounts[${senderIndex}] ${sender.address}`);

  // 1. Block number and chain ID through eth_.
  const ethBlock = await provider.getBlockNumber();
  log(`eth_blockNumber (provider.getBlockNumber) = ${ethBlock}`);
  const network = await provider.getNetwork();
  log(`eth_chainId (provider.getNetwork) = ${network.chainId}`);
  check(network.chainId === chainId,
        `eth_chainId: got ${network.chainId}, expected ${chainId}`);

  // 2. The same through klay_ (raw calls, as any client can make them).
  const klayBlock = parseQuantity(await provider.send("klay_blockNumber", []), "klay_blockNumber");
  log(`klay_blockNumber = ${klayBlock}`);
  const klayChain = parseQuantity(await provider.send("klay_chainID", []), "klay_chainID");
  log(`klay_chainID = ${klayChain}`);
  check(klayChain === chainId, `klay_chainID: got ${klayChain}, expected ${chainId}`);
  // Blocks keep coming: klay_ was read after eth_, so it is at or a little above it.
  check(klayBlock >= BigInt(ethBlock) && klayBlock <= BigInt(ethBlock) + 30n,
        `klay_blockNumber ${klayBlock} disagrees with eth_blockNumber ${ethBlock}`);
  // (raw: provider.getBlockNumber() may answer from ethers' 250 ms request cache)
  const ethAgain = parseQuantity(await provider.send("eth_blockNumber", []), "eth_blockNumber");
  check(ethAgain >= klayBlock,
        `eth_blockNumber went back: ${ethAgain} after klay_blockNumber ${klayBlock}`);
  log(`eth_ and klay_ agree (eth ${ethBlock} <= klay ${klayBlock} <= eth ${ethAgain})`);

  if (lib.klayReads) {
    const extra = await lib.klayReads(provider);
    check(extra.chainId === chainId, `${extra.how} chainID: got ${extra.chainId}, expected ${chainId}`);
    check(extra.blockNumber >= klayBlock,
          `${extra.how} blockNumber ${extra.blockNumber} below klay_blockNumber ${klayBlock}`);
    log(`${extra.how}: blockNumber ${extra.blockNumber}, chainID ${extra.chainId} (agree)`);
  }

  // 3. A value transfer signed by the library's Wallet.
  const wallet = lib.makeWallet(sender.privateKey, provider);
  const from = await wallet.getAddress();
  check(from.toLowerCase() === sender.address.toLowerCase(),
        `accounts.json: privateKey of ${sender.address} derives ${from}`);
  const to = lib.randomAddress();
  const value = 1_000_000_000_000_000n + BigInt(Math.floor(Math.random() * 1_000_000));  // ~0.001 KAIA

  const senderBefore = await provider.getBalance(from);
  const recipientBefore = await provider.getBalance(to);
  log(`balances before: sender ${senderBefore}, recipient ${to} ${recipientBefore}`);
  check(recipientBefore === 0n, `fresh recipient ${to} already holds ${recipientBefore}`);
  check(senderBefore > value, `sender ${from} is not funded (balance ${senderBefore})`);

  // Our node takes legacy Ethereum-layout EIP-155 transactions only: ask for type 0 explicitly
  // (otherwise ethers picks EIP-1559 when blocks carry baseFeePerGas).
  const request = { to, value, type: 0 };
  log(`sending ${value} from ${from} to ${to} (type 0, gasPrice from the node)`);
  const tx = await wallet.sendTransaction(request);
  log(`eth_sendRawTransaction -> ${tx.hash} (nonce ${tx.nonce}, gasLimit ${tx.gasLimit},` +
      ` gasPrice ${tx.gasPrice}, chainId ${tx.chainId}, type ${tx.type})`);
  check(tx.type === 0, `library sent a type ${tx.type} transaction, expected legacy type 0`);
  check(tx.chainId === chainId, `transaction signed for chain ${tx.chainId}, expected ${chainId}`);

  // 4. Wait for the receipt.
  const receipt = await tx.wait(1, 60_000);
  check(receipt != null, "tx.wait() returned no receipt");
  log(`receipt: block ${receipt.blockNumber} (${receipt.blockHash}), index ${receipt.index},` +
      ` status ${receipt.status}, gasUsed ${receipt.gasUsed}, effectiveGasPrice ${receipt.gasPrice}`);
  check(receipt.status === 1, `receipt status ${receipt.status}, expected 1`);
  check(receipt.hash === tx.hash, `receipt is for ${receipt.hash}, sent ${tx.hash}`);
  check(receipt.from?.toLowerCase() === from.toLowerCase(), `receipt.from ${receipt.from}, expected ${from}`);
  check(receipt.to?.toLowerCase() === to.toLowerCase(), `receipt.to ${receipt.to}, expected ${to}`);
  check(receipt.gasUsed === 21000n, `receipt.gasUsed ${receipt.gasUsed}, expected 21000 for a plain transfer`);
  check(receipt.gasPrice > 0n, `receipt effectiveGasPrice ${receipt.gasPrice}, expected > 0`);
  check(receipt.gasPrice <= tx.gasPrice,
        `receipt effectiveGasPrice ${receipt.gasPrice} above the transaction's gasPrice ${tx.gasPrice}`);

  // The node's view of the mined transaction and its block.
  const mined = await provider.getTransaction(tx.hash);
  check(mined != null, `eth_getTransactionByHash(${tx.hash}) returned null after the receipt`);
  check(mined.blockNumber === receipt.blockNumber,
        `eth_getTransactionByHash blockNumber ${mined.blockNumber}, receipt says ${receipt.blockNumber}`);
  check(mined.from.toLowerCase() === from.toLowerCase() && mined.to?.toLowerCase() === to.toLowerCase() &&
        mined.value === value && mined.nonce === tx.nonce && mined.gasPrice === tx.gasPrice &&
        mined.type === 0,
        `eth_getTransactionByHash fields differ from the sent transaction: ` +
        `from ${mined.from} to ${mined.to} value ${mined.value} nonce ${mined.nonce}` +
        ` gasPrice ${mined.gasPrice} type ${mined.type}`);
  const block = await provider.getBlock(receipt.blockNumber);
  check(block != null, `eth_getBlockByNumber(${receipt.blockNumber}) returned null`);
  check(block.hash === receipt.blockHash, `block ${receipt.blockNumber} hash ${block.hash}, receipt says ${receipt.blockHash}`);
  check(block.transactions.includes(tx.hash), `block ${receipt.blockNumber} does not list ${tx.hash}`);
  log(`eth_getTransactionByHash and eth_getBlockByNumber(${receipt.blockNumber}) agree with the receipt`);

  // 5. Both balances.
  const senderAfter = await provider.getBalance(from);
  const recipientAfter = await provider.getBalance(to);
  const fee = receipt.gasUsed * receipt.gasPrice;
  log(`balances after: sender ${senderAfter}, recipient ${recipientAfter} (fee ${fee})`);
  check(recipientAfter === value, `recipient balance ${recipientAfter}, expected ${value}`);
  check(senderBefore - senderAfter === value + fee,
        `sender balance fell by ${senderBefore - senderAfter}, expected value + gasUsed*effectiveGasPrice = ${value + fee}`);
  log("balances check out: recipient == value, sender -= value + gasUsed*effectiveGasPrice");

  provider.destroy();
}
