// crypto_bench — the per-message costs consensus and transaction handling pay: Keccak-256 of a
// 32-byte digest input and of a 1 KiB payload (the baseline: hashing vs. curve operations), and
// secp256k1 sign / recover / verify of a 32-byte digest. ECDH (once per p2p handshake) for scale.
// Reproduce: cmake --build build --target crypto_bench && build/bin/crypto_bench
#include <benchmark/benchmark.h>

#include "crypto/keccak.h"
#include "crypto/secp256k1.h"

namespace {
using namespace cc;

void BM_Keccak256_32B(benchmark::State& state) {
  Bytes data(32, 0xab);
  for (auto _ : state) benchmark::DoNotOptimize(crypto::keccak256(data));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 32);
}
BENCHMARK(BM_Keccak256_32B);

void BM_Keccak256_1KiB(benchmark::State& state) {
  Bytes data(1024, 0xab);
  for (auto _ : state) benchmark::DoNotOptimize(crypto::keccak256(data));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 1024);
}
BENCHMARK(BM_Keccak256_1KiB);

void BM_Secp256k1_Sign(benchmark::State& state) {
  auto key = crypto::PrivateKey::generate();
  Hash32 digest = crypto::keccak256(Bytes(32, 1));
  for (auto _ : state) {
    benchmark::DoNotOptimize(crypto::sign(key, digest));
    digest[0]++;  // a fresh digest each time, as in real use (RFC 6979 nonce per message)
  }
}
BENCHMARK(BM_Secp256k1_Sign);

void BM_Secp256k1_Recover(benchmark::State& state) {
  auto key = crypto::PrivateKey::generate();
  Hash32 digest = crypto::keccak256(Bytes(32, 1));
  auto sig = crypto::sign(key, digest);
  for (auto _ : state) benchmark::DoNotOptimize(crypto::recover(digest, sig));
}
BENCHMARK(BM_Secp256k1_Recover);

void BM_Secp256k1_Verify(benchmark::State& state) {
  auto key = crypto::PrivateKey::generate();
  auto pub = crypto::public_key_of(key);
  Hash32 digest = crypto::keccak256(Bytes(32, 1));
  auto sig = crypto::sign(key, digest);
  for (auto _ : state) benchmark::DoNotOptimize(crypto::verify(pub, digest, sig));
}
BENCHMARK(BM_Secp256k1_Verify);

void BM_Secp256k1_Ecdh(benchmark::State& state) {
  auto key = crypto::PrivateKey::generate();
  auto peer = crypto::public_key_of(crypto::PrivateKey::generate());
  for (auto _ : state) benchmark::DoNotOptimize(crypto::ecdh(key, peer));
}
BENCHMARK(BM_Secp256k1_Ecdh);

}  // namespace

BENCHMARK_MAIN();
