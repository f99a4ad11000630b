// cli/demo_cmd.cpp — `corecell demo`: the README's walkthrough. Today it runs the single-node
// pieces for real (keygen, a test network's genesis, sealed blocks, verified import into RocksDB
// chaindata, reopen + consistency check, rejection of a forged block) and says plainly that the
// network, consensus and failover parts are not built yet.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <string>

#include <unistd.h>

#include "chain/extra.h"
#include "chain/generator.h"
#include "chain/genesis.h"
#include "cli/app.h"
#include "cli/common.h"
#include "crypto/address.h"
#include "crypto/nodekey.h"
#include "p2p/kni.h"
#include "storage/chain_store.h"
#include "storage/consistency.h"
#include "util/clock.h"
#include "util/files.h"
#include "util/thread_pool.h"

namespace cc::cli {
namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct DemoOptions {
  std::string dir;
  std::size_t blocks = 300;
  std::size_t txs = 200;
};

void step(int n, const std::string& title) { std::printf("\n[%d] %s\n", n, title.c_str()); }

void run_demo(const DemoOptions& opt) {
  fs::path dir = opt.dir.empty()
                     ? fs::temp_directory_path() / ("corecell-demo-" + std::to_string(::getpid()))
                     : fs::path(opt.dir);
  if (fs::exists(dir) && !fs::is_empty(dir)) {
    fail(dir.string() + " is not empty; pass --dir with a new or empty directory");
  }
  or_fail(ensure_dir(dir));
  std::printf("corecell demo — working directory %s\n", dir.c_str());
  std::printf(
      "This build has the foundation only: keys, chain rules, chaindata. The p2p network, "
      "Istanbul\n"
      "BFT consensus and automatic CN failover come next; this demo runs the single-node "
      "pieces.\n");

  step(1, "keygen: a nodekey in Kaia's format (64 hex chars, mode 0600)");
  auto key = crypto::PrivateKey::generate();
  fs::path nodekey_path = dir / "keygen" / "nodekey";
  or_fail(ensure_dir(nodekey_path.parent_path()));
  or_fail(crypto::save_nodekey_file(nodekey_path, key));
  auto identity = or_fail(crypto::load_nodekey_file(nodekey_path));
  p2p::KniUrl url;
  url.node_id = identity.node_id;
  url.host = "127.0.0.1";
  url.port = 32323;
  url.discport = 32323;
  url.ntype = "cn";
  std::printf("    nodekey  %s\n    address  %s\n    kni      %s\n", nodekey_path.c_str(),
              crypto::to_checksum_hex(identity.address).c_str(), url.to_string().c_str());

  step(2, "a 4-validator test network: genesis with the council and 50 funded accounts");
  const std::uint64_t seed = 42;
  auto net = chain::make_test_network(4, 50, seed, /*chain_id=*/1001);
  fs::path genesis_path = dir / "genesis.json";
  or_fail(atomic_write_file(genesis_path, chain::genesis_to_json(net.genesis)));
  auto genesis = or_fail(chain::load_genesis_file(genesis_path));
  std::printf("    genesis  %s\n    hash     %s\n", genesis_path.c_str(),
              to_hex0x(chain::genesis_hash(genesis)).c_str());
  for (const auto& k : net.validator_keys) {
    std::printf("    council  %s\n", crypto::to_checksum_hex(crypto::address_of(k)).c_str());
  }

  step(3, "generate " + std::to_string(opt.blocks) + " sealed blocks of " +
              std::to_string(opt.txs) + " signed transfers");
  ThreadPool pool(0, "cc-demo");
  auto t0 = Clock::now();
  chain::GenerateParams params;
  params.blocks = opt.blocks;
  params.txs_per_block = opt.txs;
  params.seed = seed;
  auto blocks =
      or_fail(chain::generate_chain(genesis, net.validator_keys, net.account_keys, params, &pool));
  std::printf(
      "    %zu blocks, %zu transactions in %.2f s (proposer seal + quorum of commit seals each)\n",
      blocks.size(), blocks.size() * opt.txs, seconds_since(t0));

  step(4,
       "import into DATA_DIR/klay/chaindata (RocksDB): verify seals, re-execute, one synced batch "
       "per block");
  fs::path chaindata = dir / "node" / "klay" / "chaindata";
  or_fail(ensure_dir(chaindata.parent_path()));
  storage::ChainStoreOptions store_opts;
  store_opts.verify_threads = 2;
  {
    auto store = or_fail(storage::ChainStore::open(chaindata, genesis, store_opts));
    t0 = Clock::now();
    auto summary = or_fail(store.import_blocks(blocks, unix_seconds_now()));
    double secs = seconds_since(t0);
    if (summary.rejection) fail(summary.rejection->to_error());
    std::printf("    imported %zu blocks, %zu transactions in %.2f s (%.0f tx/s), head #%llu %s\n",
                summary.imported, summary.transactions, secs,
                secs > 0 ? static_cast<double>(summary.transactions) / secs : 0.0,
                static_cast<unsigned long long>(store.head().number),
                to_hex0x(store.head_hash()).c_str());

    step(5, "a forged block: one commit seal altered — the import must refuse it");
    chain::GenerateParams one = params;
    one.blocks = opt.blocks + 1;
    // The next block is regenerated deterministically; its first commit seal gets one bit flipped.
    auto longer =
        or_fail(chain::generate_chain(genesis, net.validator_keys, net.account_keys, one, &pool));
    chain::Block forged = longer.back();
    auto extra = or_fail(chain::decode_extra(forged.header.extra));
    extra.committed_seals.at(0)[5] ^= 0x01;
    forged.header.extra = chain::encode_extra(extra);
    auto verdict = or_fail(store.import_block(forged, unix_seconds_now()));
    if (verdict.ok()) fail("the forged block was accepted — this is a bug");
    std::printf("    refused: %s\n    head unchanged at #%llu\n",
                verdict.rejection().to_error().message.c_str(),
                static_cast<unsigned long long>(store.head().number));
  }

  step(6, "reopen the database and check it end to end (canonical chain, txlookup, state root)");
  t0 = Clock::now();
  auto db = or_fail(storage::ChainStore::open(chaindata, genesis, store_opts));
  storage::ConsistencyOptions copts;
  copts.pool = &pool;
  auto report = or_fail(storage::check_consistency(db.db(), genesis, copts));
  std::printf(
      "    consistent: %zu blocks, %zu transactions, %zu accounts, state root %s (%.2f s)\n",
      report.blocks, report.transactions, report.accounts, to_hex0x(report.state_root).c_str(),
      seconds_since(t0));

  std::printf(
      "\nDone. Not yet built: p2p network, consensus, JSON-RPC, local network, HA failover.\n");
  if (opt.dir.empty()) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    std::printf("(removed %s; use --dir to keep the files)\n", dir.c_str());
  }
}

}  // namespace

void add_demo_command(CLI::App& app) {
  auto opt = std::make_shared<DemoOptions>();
  auto* cmd = app.add_subcommand(
      "demo",
      "Walk through what corecell does today: keygen, a test network's genesis, sealed blocks, "
      "verified import into RocksDB chaindata, rejection of a forged block, consistency check.");
  cmd->add_option("--dir", opt->dir,
                  "Working directory to create and keep (default: a temporary one, removed)");
  cmd->add_option("--blocks", opt->blocks, "Blocks to generate and import")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--txs", opt->txs, "Transfers per block")->check(CLI::Range(0, 5000));
  cmd->callback([opt] { run_demo(*opt); });
}

}  // namespace cc::cli
