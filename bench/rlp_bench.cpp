// RLP encode/decode throughput. Baselines from the same run: a plain memcpy of the same
// 1000 strings (the floor any encoder pays), and encode_list over per-item vectors (what the
// Encoder is meant to beat); the ratios print after the run (items/s: strings or transactions).
// Reproduce: build/bin/rlp_bench --benchmark_min_time=0.5 (scripts/run-benchmarks.sh).
#include <benchmark/benchmark.h>

#include <cstring>

#include "codec/rlp.h"
#include "support/ratio_reporter.h"

namespace {

using cc::Bytes;
using cc::rlp::Encoder;
using cc::rlp::ListReader;

constexpr std::size_t kItems = 1000;
constexpr std::size_t kItemSize = 100;

std::vector<Bytes> make_strings() {
  std::vector<Bytes> items(kItems, Bytes(kItemSize));
  for (std::size_t i = 0; i < kItems; ++i) {
    for (std::size_t j = 0; j < kItemSize; ++j) items[i][j] = static_cast<std::uint8_t>(i + j);
  }
  return items;
}

Bytes encode_strings_with_encoder(const std::vector<Bytes>& items) {
  Encoder enc(kItems * (kItemSize + 2) + 8);
  enc.begin_list();
  for (const Bytes& item : items) enc.bytes(item);
  enc.end_list();
  return enc.finish();
}

void BM_List1000x100_Memcpy_Baseline(benchmark::State& state) {
  const auto items = make_strings();
  Bytes out(kItems * kItemSize);
  for (auto _ : state) {
    std::size_t at = 0;
    for (const Bytes& item : items) {
      std::memcpy(out.data() + at, item.data(), item.size());
      at += item.size();
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kItems * kItemSize));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kItems));
}
BENCHMARK(BM_List1000x100_Memcpy_Baseline);

void BM_List1000x100_Encode_Encoder(benchmark::State& state) {
  const auto items = make_strings();
  for (auto _ : state) {
    Bytes out = encode_strings_with_encoder(items);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kItems * kItemSize));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kItems));
}
BENCHMARK(BM_List1000x100_Encode_Encoder);

void BM_List1000x100_Encode_EncodeListBaseline(benchmark::State& state) {
  const auto items = make_strings();
  for (auto _ : state) {
    std::vector<Bytes> encoded;
    encoded.reserve(items.size());
    for (const Bytes& item : items) encoded.push_back(cc::rlp::encode_bytes(item));
    Bytes out = cc::rlp::encode_list(encoded);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kItems * kItemSize));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kItems));
}
BENCHMARK(BM_List1000x100_Encode_EncodeListBaseline);

void BM_List1000x100_Decode_ListReader(benchmark::State& state) {
  const Bytes encoded = encode_strings_with_encoder(make_strings());
  for (auto _ : state) {
    auto reader = ListReader::open(encoded);
    std::size_t total = 0;
    while (!reader->at_end()) total += reader->next_bytes()->size();
    if (total != kItems * kItemSize) state.SkipWithError("decoded the wrong number of bytes");
    benchmark::DoNotOptimize(total);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * encoded.size()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kItems));
}
BENCHMARK(BM_List1000x100_Decode_ListReader);

void BM_List1000x100_Validate(benchmark::State& state) {
  const Bytes encoded = encode_strings_with_encoder(make_strings());
  for (auto _ : state) {
    auto status = cc::rlp::validate(encoded);
    if (!status.ok()) state.SkipWithError("valid encoding rejected");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * encoded.size()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kItems));
}
BENCHMARK(BM_List1000x100_Validate);

// A legacy-transaction-shaped list: [nonce, gasPrice, gas, to, value, data, v, r, s].
struct Tx {
  std::uint64_t nonce = 7, gas_price = 25'000'000'000, gas = 21'000;
  cc::Address to{};
  cc::U256 value = cc::U256(1'000'000'000'000'000'000ull);
  Bytes data;
  std::uint64_t v = 8217 * 2 + 36;
  cc::Hash32 r{}, s{};
  Tx() {
    to.fill(0xab);
    r.fill(0x11);
    s.fill(0x22);
  }
};

Bytes encode_tx(const Tx& tx) {
  Encoder enc(128);
  enc.begin_list().uint(tx.nonce).uint(tx.gas_price).uint(tx.gas).bytes(tx.to).u256(tx.value);
  enc.bytes(tx.data).uint(tx.v).bytes(tx.r).bytes(tx.s).end_list();
  return enc.finish();
}

void BM_Tx_Encode_Encoder(benchmark::State& state) {
  const Tx tx;
  for (auto _ : state) {
    Bytes out = encode_tx(tx);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_Tx_Encode_Encoder);

void BM_Tx_Encode_EncodeListBaseline(benchmark::State& state) {
  const Tx tx;
  for (auto _ : state) {
    Bytes out = cc::rlp::encode_list(
        {cc::rlp::encode_uint(tx.nonce), cc::rlp::encode_uint(tx.gas_price),
         cc::rlp::encode_uint(tx.gas), cc::rlp::encode_bytes(tx.to), cc::rlp::encode_u256(tx.value),
         cc::rlp::encode_bytes(tx.data), cc::rlp::encode_uint(tx.v), cc::rlp::encode_bytes(tx.r),
         cc::rlp::encode_bytes(tx.s)});
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_Tx_Encode_EncodeListBaseline);

void BM_Tx_Decode_ListReader(benchmark::State& state) {
  const Bytes encoded = encode_tx(Tx{});
  for (auto _ : state) {
    auto reader = ListReader::open(encoded);
    Tx tx;
    bool ok = reader.ok();
    if (ok) {
      auto nonce = reader->next_uint();
      auto gas_price = reader->next_uint();
      auto gas = reader->next_uint();
      auto to = reader->next_fixed<20>();
      auto value = reader->next_u256();
      auto data = reader->next_bytes();
      auto v = reader->next_uint();
      auto r = reader->next_fixed<32>();
      auto s = reader->next_fixed<32>();
      ok = nonce.ok() && gas_price.ok() && gas.ok() && to.ok() && value.ok() && data.ok() &&
           v.ok() && r.ok() && s.ok() && reader->expect_end().ok();
      if (ok) {
        tx.nonce = *nonce;
        tx.value = *value;
        tx.r = *r;
      }
    }
    if (!ok) state.SkipWithError("valid transaction rejected");
    benchmark::DoNotOptimize(tx);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_Tx_Decode_ListReader);

}  // namespace

int main(int argc, char** argv) {
  return cc::bench::run_with_ratios(
      argc, argv,
      {{"BM_List1000x100_Encode_Encoder", "BM_List1000x100_Encode_EncodeListBaseline", 1.0,
        "Encoder writes in place; encode_list pays one vector per item"},
       {"BM_List1000x100_Encode_Encoder", "BM_List1000x100_Memcpy_Baseline", 0,
        "fraction of raw copy speed the encoder keeps"},
       {"BM_List1000x100_Decode_ListReader", "BM_List1000x100_Memcpy_Baseline", 0,
        "zero-copy decode vs copying the strings"},
       {"BM_List1000x100_Validate", "BM_List1000x100_Memcpy_Baseline", 0, ""},
       {"BM_Tx_Encode_Encoder", "BM_Tx_Encode_EncodeListBaseline", 1.0, ""},
       {"BM_Tx_Decode_ListReader", "BM_Tx_Encode_Encoder", 0, "decode vs encode of the same tx"}});
}
