// bench/p2p_bench.cpp — throughput of the p2p transport for 100 KB messages (block-sized) over a
// real loopback TCP connection, beside the baseline measured in the same run: sealing and
// opening the same bytes with the same AEAD and no sockets. The ratio shows what the transport
// (two cc-net threads, syscalls, copies, queueing) costs on top of the cryptography it cannot
// avoid.
//
//   cmake --build build --target p2p_bench && build/bin/p2p_bench
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "crypto/nodekey.h"
#include "p2p/frame.h"
#include "p2p/transport.h"
#include "support/ratio_reporter.h"
#include "util/log.h"

namespace {

using namespace cc;
using namespace cc::p2p;
using namespace std::chrono_literals;

constexpr std::size_t kMessageSize = 100 * 1024;
constexpr int kBatch = 32;  // messages in flight per iteration

Bytes message() {
  Bytes m(kMessageSize);
  for (std::size_t i = 0; i < m.size(); ++i) m[i] = static_cast<std::uint8_t>(i * 13);
  return m;
}

// Baseline: one seal and one open of a 100 KB message, as each message costs the transport.
void BM_AeadSealOpen100KB(benchmark::State& state) {
  SessionKey key{};
  key.fill(7);
  FrameSealer sealer(key);
  FrameOpener opener(key);
  const Bytes msg = message();
  for (auto _ : state) {
    auto frame = sealer.seal(0x10, msg);
    auto header = ByteView(*frame).first(kFrameHeaderSize);
    auto opened = opener.open(header, ByteView(*frame).subspan(kFrameHeaderSize));
    benchmark::DoNotOptimize(opened);
    if (!opened.ok()) state.SkipWithError("open failed");
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kMessageSize));
}
// Wall-clock like the loopback case, so both figures see the same machine load.
BENCHMARK(BM_AeadSealOpen100KB)->UseRealTime();

// Two transports on 127.0.0.1/127.0.0.2; each iteration sends a batch of 100 KB messages and
// waits until the receiver's callback has seen all of them.
void BM_LoopbackTransfer100KB(benchmark::State& state) {
  set_verbosity(2);
  std::mutex mu;
  std::condition_variable cv;
  std::size_t received = 0;
  ConnId to_receiver = 0;
  bool connected = false;

  TransportConfig rc;
  rc.listen_ip = "127.0.0.1";
  rc.listen_port = 0;
  TransportCallbacks rcb;
  rcb.on_message = [&](const PeerInfo&, std::uint8_t, Bytes) {
    std::lock_guard lock(mu);
    ++received;
    cv.notify_all();
  };
  const crypto::NodeIdentity rid = crypto::identity_of(crypto::PrivateKey::generate());
  Transport receiver(rid, rc, rcb);

  TransportConfig sc;
  sc.listen = false;
  sc.dial_source_ip = "127.0.0.2";
  TransportCallbacks scb;
  scb.on_established = [&](const PeerInfo& p) -> Status {
    std::lock_guard lock(mu);
    to_receiver = p.id;
    connected = true;
    cv.notify_all();
    return ok_status();
  };
  Transport sender(crypto::identity_of(crypto::PrivateKey::generate()), sc, scb);

  if (!receiver.start().ok() || !sender.start().ok()) {
    state.SkipWithError("cannot start transports on 127.0.0.1/127.0.0.2");
    return;
  }
  if (!sender.dial(DialTarget{"127.0.0.1", receiver.listen_port(), rid.node_id}).ok()) {
    state.SkipWithError("dial failed");
    return;
  }
  {
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, 5s, [&] { return connected; })) {
      state.SkipWithError("handshake did not complete");
      return;
    }
  }
  const Bytes msg = message();
  std::size_t target = 0;
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) {
      for (;;) {
        Status s = sender.send(to_receiver, 0x10, msg);
        if (s.ok()) break;
        if (s.error().code != "p2p.send_queue_full") {
          state.SkipWithError(s.error().message.c_str());
          return;
        }
        std::this_thread::sleep_for(50us);
      }
    }
    target += kBatch;
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, 10s, [&] { return received >= target; })) {
      state.SkipWithError("messages did not arrive");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.SetBytesProcessed(state.iterations() * kBatch * static_cast<std::int64_t>(kMessageSize));
  sender.stop();
  receiver.stop();
}
BENCHMARK(BM_LoopbackTransfer100KB)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  return cc::bench::run_with_ratios(
      argc, argv,
      {{"BM_LoopbackTransfer100KB/real_time", "BM_AeadSealOpen100KB/real_time", 0,
        "100 KB messages over loopback TCP (2 transports) vs AEAD seal+open alone"}});
}
