// bench/sync_bench.cpp — what node/sync.h's Downloader costs on top of the import it drives.
// BM_DownloaderSync syncs a fresh chaindata from a serving ChainStore in the same process: the
// Downloader's GetBlockHeaders/GetBlockBodies requests are answered by node/chain_server.h
// (RocksDB reads), the replies checked (links, transactions roots) and the blocks imported
// through ChainStore::import_blocks. The baseline BM_ImportBlocksDirect imports the same blocks
// with ChainStore::import_blocks directly, in the same run. Both verify seals and senders on
// one thread and write without fsync (ChainStoreOptions.sync = false), so the ratio shows the
// sync machinery's own cost instead of hiding it behind disk flushes. Items = transactions.
//
// Reproduce: cmake --build <build dir> --target sync_bench && <build dir>/bin/sync_bench
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <deque>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "chain/generator.h"
#include "node/chain_server.h"
#include "node/sync.h"
#include "storage/chain_store.h"
#include "support/ratio_reporter.h"
#include "util/log.h"
#include "util/thread_pool.h"

namespace {

using namespace cc;

constexpr std::size_t kBlocks = 2000;
constexpr std::size_t kTxsPerBlock = 10;
constexpr std::uint64_t kChainId = 1000;

std::filesystem::path bench_dir(const std::string& name) {
  return std::filesystem::temp_directory_path() /
         ("cc-sync-bench-" + std::to_string(::getpid()) + "-" + name);
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "sync_bench: %s\n", what.c_str());
  std::abort();
}

storage::ChainStoreOptions store_options() {
  storage::ChainStoreOptions options;
  options.sync = false;
  options.verify_threads = 1;
  return options;
}

// The chain and a serving store holding it, built once outside every timed loop.
struct Fixture {
  chain::TestNetwork net;
  std::vector<chain::Block> blocks;
  std::size_t txs = 0;
  std::uint64_t now = 0;
  std::unique_ptr<storage::ChainStore> server;
};

std::unique_ptr<Fixture>& fixture_slot() {
  static std::unique_ptr<Fixture> slot;
  return slot;
}

Fixture& fixture() {
  auto& slot = fixture_slot();
  if (slot) return *slot;
  slot = std::make_unique<Fixture>([] {
    Fixture fx{chain::make_test_network(4, 64, 42, kChainId), {}, 0, 0, nullptr};
    ThreadPool pool(0, "cc-benchgen");
    chain::GenerateParams params;
    params.blocks = kBlocks;
    params.txs_per_block = kTxsPerBlock;
    params.seed = 42;
    auto blocks = chain::generate_chain(fx.net.genesis, fx.net.validator_keys, fx.net.account_keys,
                                        params, &pool);
    if (!blocks.ok()) die(blocks.error().message);
    fx.blocks = std::move(blocks).value();
    for (const auto& b : fx.blocks) fx.txs += b.transactions.size();
    fx.now = fx.blocks.back().header.time + 10;
    const auto dir = bench_dir("server");
    std::filesystem::remove_all(dir);
    storage::ChainStoreOptions options = store_options();
    options.verify_threads = 2;  // building the server is not measured
    auto server = storage::ChainStore::open(dir, fx.net.genesis, options);
    if (!server.ok()) die(server.error().message);
    auto summary = server->import_blocks(fx.blocks, fx.now);
    if (!summary.ok() || summary->rejection) die("building the serving chaindata failed");
    fx.server = std::make_unique<storage::ChainStore>(std::move(server).value());
    return fx;
  }());
  return *slot;
}

// The owner side of the Downloader: requests queue up and are answered from the server's
// database when pumped, as a node's event loop would answer them from the network.
class InProcessIo : public node::SyncIo {
 public:
  void send(node::PeerKey peer, const node::Message& message) override {
    queue_.emplace_back(peer, message);
  }
  void drop_peer(node::PeerKey peer, std::string reason) override {
    die("peer " + std::to_string(peer) + " dropped: " + reason);
  }

  void pump(node::Downloader& d, const storage::ChainDb& db, const node::SyncTime& now) {
    while (!queue_.empty()) {
      auto [peer, message] = std::move(queue_.front());
      queue_.pop_front();
      if (const auto* h = std::get_if<node::GetBlockHeadersMsg>(&message)) {
        auto reply = node::serve_headers(db, *h);
        if (!reply.ok()) die(reply.error().message);
        d.on_headers(peer, std::move(reply).value(), now);
      } else if (const auto* b = std::get_if<node::GetBlockBodiesMsg>(&message)) {
        auto reply = node::serve_bodies(db, *b);
        if (!reply.ok()) die(reply.error().message);
        d.on_bodies(peer, std::move(reply).value(), now);
      }
    }
  }

 private:
  std::deque<std::pair<node::PeerKey, node::Message>> queue_;
};

// Runs `body(store)` on a fresh chaindata per iteration, timing only the body.
template <typename Body>
void per_fresh_store(benchmark::State& state, const std::string& name, Body body) {
  Fixture& fx = fixture();
  const auto base = bench_dir(name);
  int run = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const auto dir = base / std::to_string(run++);
    std::filesystem::remove_all(dir);
    auto store = storage::ChainStore::open(dir, fx.net.genesis, store_options());
    if (!store.ok()) {
      state.SkipWithError(store.error().message.c_str());
      break;
    }
    state.ResumeTiming();

    body(*store);

    state.PauseTiming();
    const bool complete = store->head().number == kBlocks;
    { auto closing = std::move(store).value(); }  // close before removing the files
    std::filesystem::remove_all(dir);
    state.ResumeTiming();
    if (!complete) {
      state.SkipWithError("the chain was not fully imported");
      break;
    }
  }
  std::filesystem::remove_all(base);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(fx.txs));
  state.counters["blocks"] = static_cast<double>(kBlocks);
}

void BM_ImportBlocksDirect(benchmark::State& state) {
  const Fixture& fx = fixture();
  per_fresh_store(state, "direct", [&](storage::ChainStore& store) {
    auto summary = store.import_blocks(fx.blocks, fx.now);
    if (!summary.ok() || summary->rejection) die("direct import failed");
  });
}
BENCHMARK(BM_ImportBlocksDirect)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_DownloaderSync(benchmark::State& state) {
  const Fixture& fx = fixture();
  per_fresh_store(state, "sync", [&](storage::ChainStore& store) {
    InProcessIo io;
    node::Downloader downloader(store, io);
    const node::SyncTime now{std::chrono::steady_clock::now(), fx.now};
    node::StatusMsg status;
    status.genesis_hash = fx.server->genesis_hash();
    status.head_number = fx.server->head().number;
    status.head_hash = fx.server->head_hash();
    downloader.add_peer(1, status, now);
    io.pump(downloader, fx.server->db(), now);
  });
}
BENCHMARK(BM_DownloaderSync)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  cc::set_verbosity(2);  // warnings only: no "chaindata initialised" or sync lines per iteration
  const int rc = cc::bench::run_with_ratios(
      argc, argv,
      {{"BM_DownloaderSync/real_time", "BM_ImportBlocksDirect/real_time", 0.8,
        "Downloader sync (requests, chain_server reads, checks, import) vs import_blocks of the "
        "same 2,000 x 10-tx blocks"}});
  fixture_slot().reset();  // close the serving chaindata before removing it
  std::filesystem::remove_all(bench_dir("server"));
  return rc;
}
