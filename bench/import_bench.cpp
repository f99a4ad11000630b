// bench/import_bench.cpp — block import throughput (storage/chain_store.h) beside its floor:
// every imported transaction costs one secp256k1 public-key recovery, so raw recoveries/s
// through crypto::recover (BM_RawRecover) is the baseline. BM_ImportBlocks imports blocks of
// 1,000 transfers into a fresh chaindata per iteration — headers and seals verified, senders
// recovered (threads:N = N threads incl. the caller), state applied, roots compared, each block
// written in one synced RocksDB batch — and counts transactions as items.
//
// Reproduce: build-dir/bin/import_bench  (ratios are printed after the table)
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "chain/generator.h"
#include "chain/tx.h"
#include "crypto/secp256k1.h"
#include "storage/chain_store.h"
#include "support/ratio_reporter.h"
#include "util/log.h"
#include "util/thread_pool.h"
#include "util/u256.h"

namespace {

using namespace cc;

constexpr std::size_t kBlocks = 8;
constexpr std::size_t kTxsPerBlock = 1000;
constexpr std::uint64_t kChainId = 1000;

struct Fixture {
  chain::TestNetwork net;
  std::vector<chain::Block> blocks;
  std::size_t txs = 0;
  std::vector<std::pair<Hash32, crypto::Signature>> signatures;  // (signing hash, r‖s‖recid)
};

// Generated once, outside every timed loop.
const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture fx{chain::make_test_network(4, 64, 42, kChainId), {}, 0, {}};
    ThreadPool pool(0, "cc-benchgen");
    chain::GenerateParams params;
    params.blocks = kBlocks;
    params.txs_per_block = kTxsPerBlock;
    params.seed = 42;
    auto blocks = chain::generate_chain(fx.net.genesis, fx.net.validator_keys, fx.net.account_keys,
                                        params, &pool);
    if (!blocks.ok()) {
      std::fprintf(stderr, "import_bench: %s\n", blocks.error().message.c_str());
      std::abort();
    }
    fx.blocks = std::move(blocks).value();
    for (const auto& b : fx.blocks) {
      for (const auto& tx : b.transactions) {
        crypto::Signature sig{};
        const Hash32 r = u256_to_be32(tx.r), s = u256_to_be32(tx.s);
        std::copy(r.begin(), r.end(), sig.begin());
        std::copy(s.begin(), s.end(), sig.begin() + 32);
        sig[64] = static_cast<std::uint8_t>(tx.v - (kChainId * 2 + 35));
        fx.signatures.emplace_back(tx.signing_hash(kChainId), sig);
        ++fx.txs;
      }
    }
    return fx;
  }();
  return f;
}

void BM_RawRecover(benchmark::State& state) {
  const auto& sigs = fixture().signatures;
  std::size_t i = 0;
  for (auto _ : state) {
    auto pub = crypto::recover(sigs[i].first, sigs[i].second);
    if (!pub.ok()) {
      state.SkipWithError("recovery failed");
      break;
    }
    benchmark::DoNotOptimize(pub);
    i = (i + 1) % sigs.size();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_RawRecover)->UseRealTime();

void BM_ImportBlocks(benchmark::State& state) {
  const Fixture& fx = fixture();
  const auto threads = static_cast<std::size_t>(state.range(0));
  const std::filesystem::path base =
      std::filesystem::temp_directory_path() / ("cc-import-bench-" + std::to_string(::getpid()));
  const std::uint64_t now = fx.blocks.back().header.time + 10;
  int run = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const auto dir = base / std::to_string(run++);
    std::filesystem::remove_all(dir);
    storage::ChainStoreOptions options;
    options.sync = true;
    options.verify_threads = threads;
    auto store = storage::ChainStore::open(dir, fx.net.genesis, options);
    if (!store.ok()) {
      state.SkipWithError(store.error().message.c_str());
      break;
    }
    state.ResumeTiming();

    auto summary = store->import_blocks(fx.blocks, now);

    state.PauseTiming();
    if (!summary.ok() || summary->rejection || summary->imported != fx.blocks.size()) {
      state.SkipWithError("import failed");
      break;
    }
    { auto closing = std::move(store).value(); }  // close before removing the files
    std::filesystem::remove_all(dir);
    state.ResumeTiming();
  }
  std::filesystem::remove_all(base);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(fx.txs));
  state.counters["blocks"] = static_cast<double>(fx.blocks.size());
}
BENCHMARK(BM_ImportBlocks)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  cc::set_verbosity(2);  // warnings only: no "chaindata initialised" line per iteration
  return cc::bench::run_with_ratios(
      argc, argv,
      {{"BM_ImportBlocks/threads:1/real_time", "BM_RawRecover/real_time", 0.5,
        "import (verify + execute + synced write) vs bare recovery, one thread"},
       {"BM_ImportBlocks/threads:2/real_time", "BM_RawRecover/real_time", 0,
        "two threads recovering senders; the machine's other work shares the cores"}});
}
