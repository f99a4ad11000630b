// Transport tests on real loopback sockets (127.0.0.x works on Linux without setup).
#include "p2p/transport.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <asio.hpp>

#include <atomic>
#include <string>
#include <thread>

#include "support/p2p_peer.h"

namespace cc::p2p {
namespace {

using namespace std::chrono_literals;
using testing::fresh_identity;
using testing::RawClient;
using testing::RecordingNode;
using testing::test_config;
using testing::text;

DialTarget target_of(RecordingNode& node, const std::string& ip) {
  return DialTarget{ip, node.port(), node.identity().node_id};
}

// Starts both and connects b -> a; both see the handshake complete.
void connect(RecordingNode& a, const std::string& a_ip, RecordingNode& b) {
  ASSERT_TRUE(b.transport().dial(target_of(a, a_ip)).ok());
  ASSERT_TRUE(a.wait_established());
  ASSERT_TRUE(b.wait_established());
}

TEST(Transport, TwoTransportsHandshakeAndExchangeMessagesBothWays) {
  RecordingNode a(test_config("127.0.0.1", NodeType::kCN));
  RecordingNode b(test_config("127.0.0.2", NodeType::kPN));
  ASSERT_TRUE(a.transport().start().ok());
  ASSERT_TRUE(b.transport().start().ok());
  connect(a, "127.0.0.1", b);

  const PeerInfo at_a = a.established()[0];
  const PeerInfo at_b = b.established()[0];
  EXPECT_EQ(at_a.node_id, b.identity().node_id);
  EXPECT_EQ(at_a.type, NodeType::kPN);
  EXPECT_TRUE(at_a.inbound);
  EXPECT_EQ(at_a.listen_port, b.port());
  EXPECT_EQ(at_b.node_id, a.identity().node_id);
  EXPECT_EQ(at_b.type, NodeType::kCN);
  EXPECT_FALSE(at_b.inbound);
  EXPECT_EQ(at_b.remote_ip, "127.0.0.1");
  EXPECT_EQ(at_b.remote_port, a.port());

  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(b.transport().send(at_b.id, 0x10, text("to a " + std::to_string(i))).ok());
    ASSERT_TRUE(a.transport().send(at_a.id, 0x20, text("to b " + std::to_string(i))).ok());
  }
  ASSERT_TRUE(a.wait_messages(50));
  ASSERT_TRUE(b.wait_messages(50));
  auto got_a = a.messages();
  auto got_b = b.messages();
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(got_a[i].code, 0x10);
    EXPECT_EQ(got_a[i].payload, text("to a " + std::to_string(i)));  // in order
    EXPECT_EQ(got_a[i].from, b.identity().node_id);
    EXPECT_EQ(got_b[i].code, 0x20);
    EXPECT_EQ(got_b[i].payload, text("to b " + std::to_string(i)));
  }
  EXPECT_EQ(a.transport().connection_count(), 1u);
}

TEST(Transport, OwnerCanSendFromInsideOnEstablished) {
  RecordingNode a(test_config("127.0.0.1"));
  RecordingNode b(test_config("127.0.0.2"));
  a.greet_with(text("status from a"));
  ASSERT_TRUE(a.transport().start().ok());
  ASSERT_TRUE(b.transport().start().ok());
  connect(a, "127.0.0.1", b);
  EXPECT_TRUE(a.greeting_status().ok());
  ASSERT_TRUE(b.wait_messages(1));
  EXPECT_EQ(b.messages()[0].code, 0x11);
  EXPECT_EQ(b.messages()[0].payload, text("status from a"));
}

TEST(Transport, CarriesAMultiMegabyteMessageIntact) {
  RecordingNode a(test_config("127.0.0.1"));
  RecordingNode b(test_config("127.0.0.2"));
  ASSERT_TRUE(a.transport().start().ok());
  ASSERT_TRUE(b.transport().start().ok());
  connect(a, "127.0.0.1", b);
  Bytes big(3 << 20);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 31);
  ASSERT_TRUE(b.transport().send(b.established()[0].id, 0x33, big).ok());
  ASSERT_TRUE(a.wait_messages(1));
  EXPECT_EQ(a.messages()[0].payload, big);
}

TEST(Transport, DialerBindsTheConfiguredSourceIp) {
  RecordingNode a(test_config("127.0.0.1"));
  RecordingNode b(test_config("127.0.0.3"));
  ASSERT_TRUE(a.transport().start().ok());
  ASSERT_TRUE(b.transport().start().ok());
  connect(a, "127.0.0.1", b);
  EXPECT_EQ(a.established()[0].remote_ip, "127.0.0.3");
  EXPECT_EQ(a.accepted_ips(), std::vector<std::string>{"127.0.0.3"});
}

TEST(Transport, DialExpectingAnotherNodeIdIsRefusedWithAClearReason) {
  RecordingNode a(test_config("127.0.0.1"));
  RecordingNode b(test_config("127.0.0.2"));
  ASSERT_TRUE(a.transport().start().ok());
  ASSERT_TRUE(b.transport().start().ok());
  const auto someone_else = fresh_identity().node_id;
  auto id = b.transport().dial(DialTarget{"127.0.0.1", a.port(), someone_else});
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(b.wait_closed());
  const CloseInfo c = b.closed()[0];
  EXPECT_EQ(c.id, *id);
  EXPECT_EQ(c.reason.code, "p2p.unexpected_node_id");
  EXPECT_FALSE(c.peer.has_value());
  EXPECT_NE(c.reason.message.find(short_node_id(someone_else)), std::string::npos);
  ASSERT_TRUE(a.wait_closed());
  EXPECT_EQ(a.closed()[0].reason.code, "p2p.connection_lost");
  EXPECT_TRUE(a.established().empty());
  EXPECT_TRUE(b.established().empty());
}

TEST(Transport, GarbageBeforeTheHandshakeClosesWithReasonAndServiceContinues) {
  RecordingNode a(test_config("127.0.0.1"));
  ASSERT_TRUE(a.transport().start().ok());
  RawClient raw;
  ASSERT_TRUE(raw.connect("127.0.0.1", a.port()));
  ASSERT_TRUE(raw.send_all(text("GET / HTTP/1.1\r\nHost: x\r\n\r\n")));
  ASSERT_TRUE(a.wait_closed());
  EXPECT_EQ(a.closed()[0].reason.code, "p2p.bad_node_type");
  EXPECT_TRUE(raw.wait_closed_by_peer());

  // A well-behaved peer still gets in afterwards.
  RecordingNode b(test_config("127.0.0.2"));
  ASSERT_TRUE(b.transport().start().ok());
  connect(a, "127.0.0.1", b);
}

TEST(Transport, TruncatedHelloTimesOut) {
  auto cfg = test_config("127.0.0.1");
  cfg.handshake_timeout = 300ms;
  RecordingNode a(cfg);
  ASSERT_TRUE(a.transport().start().ok());
  RawClient raw;
  ASSERT_TRUE(raw.connect("127.0.0.1", a.port()));
  HandshakeParams p;
  Handshake hs(fresh_identity().key, p);
  const Bytes& init = hs.initial_bytes();
  ASSERT_TRUE(raw.send_all(ByteView(init.data(), 40)));  // type, length, part of the body
  ASSERT_TRUE(a.wait_closed());
  EXPECT_EQ(a.closed()[0].reason.code, "p2p.handshake_timeout");
  EXPECT_TRUE(raw.wait_closed_by_peer());
}

TEST(Transport, TruncatedHelloThenEofIsConnectionLost) {
  RecordingNode a(test_config("127.0.0.1"));
  ASSERT_TRUE(a.transport().start().ok());
  {
    RawClient raw;
    ASSERT_TRUE(raw.connect("127.0.0.1", a.port()));
    HandshakeParams p;
    Handshake hs(fresh_identity().key, p);
    ASSERT_TRUE(raw.send_all(ByteView(hs.initial_bytes().data(), 10)));
  }
  ASSERT_TRUE(a.wait_closed());
  EXPECT_EQ(a.closed()[0].reason.code, "p2p.connection_lost");
}

TEST(Transport, OversizeFrameLengthClosesAndTellsThePeer) {
  auto cfg = test_config("127.0.0.1");
  cfg.max_frame_size = 1 << 20;
  cfg.max_send_queue_bytes = 4 << 20;
  RecordingNode a(cfg);
  ASSERT_TRUE(a.transport().start().ok());
  RawClient raw;
  ASSERT_TRUE(raw.connect("127.0.0.1", a.port()));
  const auto me = fresh_identity();
  auto out = raw.handshake(me, NodeType::kEN, a.identity().node_id);
  ASSERT_TRUE(out.has_value());
  ASSERT_TRUE(a.wait_established());
  ASSERT_TRUE(raw.send_all(Bytes{0x7f, 0xff, 0xff, 0xff}));
  ASSERT_TRUE(a.wait_closed());
  const CloseInfo c = a.closed()[0];
  EXPECT_EQ(c.reason.code, "p2p.frame_too_large");
  ASSERT_TRUE(c.peer.has_value());
  EXPECT_EQ(c.peer->node_id, me.node_id);

  // The peer is told why, in a disconnect frame (pings may come first).
  FrameOpener opener(out->keys.recv);
  for (;;) {
    auto msg = raw.read_frame(opener);
    ASSERT_TRUE(msg.has_value());
    if (msg->code == kCodePing) continue;
    EXPECT_EQ(msg->code, kCodeDisconnect);
    EXPECT_NE(std::string(msg->payload.begin(), msg->payload.end()).find("exceeds the maximum"),
              std::string::npos);
    break;
  }
  EXPECT_TRUE(raw.wait_closed_by_peer());
}

TEST(Transport, TamperedCiphertextClosesWithAuthenticationFailure) {
  RecordingNode a(test_config("127.0.0.1"));
  ASSERT_TRUE(a.transport().start().ok());
  RawClient raw;
  ASSERT_TRUE(raw.connect("127.0.0.1", a.port()));
  auto out = raw.handshake(fresh_identity(), NodeType::kPN, a.identity().node_id);
  ASSERT_TRUE(out.has_value());
  FrameSealer sealer(out->keys.send);
  auto good = sealer.seal(0x10, text("hello"));
  auto bad = sealer.seal(0x10, text("world"));
  ASSERT_TRUE(good.ok() && bad.ok());
  (*bad)[8] ^= 0x40;
  ASSERT_TRUE(raw.send_all(*good));
  ASSERT_TRUE(a.wait_messages(1));
  EXPECT_EQ(a.messages()[0].payload, text("hello"));
  ASSERT_TRUE(raw.send_all(*bad));
  ASSERT_TRUE(a.wait_closed());
  EXPECT_EQ(a.closed()[0].reason.code, "p2p.frame_auth_failed");
  EXPECT_EQ(a.messages().size(), 1u);  // the tampered message was never delivered
}

TEST(Transport, GarbageAfterTheHandshakeClosesTheConnection) {
  RecordingNode a(test_config("127.0.0.1"));
  ASSERT_TRUE(a.transport().start().ok());
  RawClient raw;
  ASSERT_TRUE(raw.connect("127.0.0.1", a.port()));
  ASSERT_TRUE(raw.handshake(fresh_identity(), NodeType::kPN, std::nullopt).has_value());
  Bytes garbage(64);
  for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<std::uint8_t>(i);
  garbage[0] = 0;  // a plausible length (60), so it is the tag that fails
  garbage[1] = 0;
  garbage[2] = 0;
  garbage[3] = 60;
  ASSERT_TRUE(raw.send_all(garbage));
  ASSERT_TRUE(a.wait_closed());
  EXPECT_EQ(a.closed()[0].reason.code, "p2p.frame_auth_failed");
  EXPECT_TRUE(raw.wait_closed_by_peer());
}

TEST(Transport, ReservedCodeFromPeerClosesWithUnknownCode) {
  RecordingNode a(test_config("127.0.0.1"));
  ASSERT_TRUE(a.transport().start().ok());
  RawClient raw;
  ASSERT_TRUE(raw.connect("127.0.0.1", a.port()));
  auto out = raw.handshake(fresh_identity(), NodeType::kPN, std::nullopt);
  ASSERT_TRUE(out.has_value());
  FrameSealer sealer(out->keys.send);
  ASSERT_TRUE(raw.send_all(*sealer.seal(0x07, {})));
  ASSERT_TRUE(a.wait_closed());
  EXPECT_EQ(a.closed()[0].reason.code, "p2p.unknown_code");
}

TEST(Transport, SilentPeerIsDetectedDead) {
  auto cfg = test_config("127.0.0.1");
  cfg.dead_after = 600ms;  // pings every 100 ms
  RecordingNode a(cfg);
  ASSERT_TRUE(a.transport().start().ok());
  RawClient raw;
  ASSERT_TRUE(raw.connect("127.0.0.1", a.port()));
  ASSERT_TRUE(raw.handshake(fresh_identity(), NodeType::kPN, std::nullopt).has_value());
  ASSERT_TRUE(a.wait_established());
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(a.wait_closed(1, 5000ms));
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(a.closed()[0].reason.code, "p2p.peer_silent");
  EXPECT_GE(took, 500ms);
  EXPECT_LT(took, 3000ms);
}

TEST(Transport, LivePeersStayConnectedLongPastDeadAfter) {
  auto cfg_a = test_config("127.0.0.1");
  auto cfg_b = test_config("127.0.0.2");
  cfg_a.dead_after = cfg_b.dead_after = 800ms;  // pings every 100 ms keep both alive
  RecordingNode a(cfg_a);
  RecordingNode b(cfg_b);
  ASSERT_TRUE(a.transport().start().ok());
  ASSERT_TRUE(b.transport().start().ok());
  connect(a, "127.0.0.1", b);
  std::this_thread::sleep_for(2500ms);  // > 3 x dead_after with no application traffic
  EXPECT_TRUE(a.closed().empty());
  EXPECT_TRUE(b.closed().empty());
  ASSERT_TRUE(b.transport().send(b.established()[0].id, 0x10, text("still here")).ok());
  EXPECT_TRUE(a.wait_messages(1));
}

TEST(Transport, SendQueueIsBoundedWhenThePeerStopsReading) {
  auto cfg = test_config("127.0.0.1");
  cfg.max_frame_size = 1 << 20;
  cfg.max_send_queue_bytes = 4 << 20;
  cfg.dead_after = 60000ms;  // this test is about the queue, not liveness
  RecordingNode a(cfg);
  ASSERT_TRUE(a.transport().start().ok());
  RawClient raw;
  ASSERT_TRUE(raw.connect("127.0.0.1", a.port(), "", 64 << 10));
  ASSERT_TRUE(raw.handshake(fresh_identity(), NodeType::kPN, std::nullopt).has_value());
  ASSERT_TRUE(a.wait_established());
  const ConnId id = a.established()[0].id;
  const Bytes chunk(512 << 10, 0x5a);
  bool refused = false;
  std::size_t accepted = 0;
  for (int i = 0; i < 400 && !refused; ++i) {  // up to 200 MiB if nothing pushed back
    Status s = a.transport().send(id, 0x10, chunk);
    if (!s.ok()) {
      EXPECT_EQ(s.error().code, "p2p.send_queue_full");
      refused = true;
    } else {
      ++accepted;
    }
    std::this_thread::sleep_for(2ms);
  }
  EXPECT_TRUE(refused);
  EXPECT_LT(accepted * chunk.size(), std::size_t{64} << 20);
  EXPECT_TRUE(a.closed().empty());  // refusing a message does not drop the peer
}

TEST(Transport, DisconnectTellsThePeerTheReason) {
  RecordingNode a(test_config("127.0.0.1"));
  RecordingNode b(test_config("127.0.0.2"));
  ASSERT_TRUE(a.transport().start().ok());
  ASSERT_TRUE(b.transport().start().ok());
  connect(a, "127.0.0.1", b);
  a.transport().disconnect(a.established()[0].id, "address not in council");
  ASSERT_TRUE(a.wait_closed());
  ASSERT_TRUE(b.wait_closed());
  EXPECT_EQ(a.closed()[0].reason.code, "p2p.local_disconnect");
  EXPECT_EQ(b.closed()[0].reason.code, "p2p.peer_disconnected");
  EXPECT_NE(b.closed()[0].reason.message.find("address not in council"), std::string::npos);
  EXPECT_EQ(a.transport().connection_count(), 0u);
  EXPECT_EQ(b.transport().send(b.established()[0].id, 0x10, text("x")).error().code,
            "p2p.unknown_peer");
}

TEST(Transport, OwnerRefusalAfterHandshakeReachesThePeer) {
  RecordingNode a(test_config("127.0.0.1"));
  RecordingNode b(test_config("127.0.0.2"));
  a.reject_with("CN not in council");
  ASSERT_TRUE(a.transport().start().ok());
  ASSERT_TRUE(b.transport().start().ok());
  ASSERT_TRUE(b.transport().dial(target_of(a, "127.0.0.1")).ok());
  ASSERT_TRUE(a.wait_closed());
  EXPECT_EQ(a.closed()[0].reason.code, "p2p.rejected");
  ASSERT_TRUE(b.wait_closed());
  EXPECT_EQ(b.closed()[0].reason.code, "p2p.peer_disconnected");
  EXPECT_NE(b.closed()[0].reason.message.find("CN not in council"), std::string::npos);
}

TEST(Transport, OwnerCanRefuseBeforeTheHandshake) {
  RecordingNode a(test_config("127.0.0.1"));
  RecordingNode b(test_config("127.0.0.4"));
  a.refuse_accept();
  ASSERT_TRUE(a.transport().start().ok());
  ASSERT_TRUE(b.transport().start().ok());
  ASSERT_TRUE(b.transport().dial(target_of(a, "127.0.0.1")).ok());
  ASSERT_TRUE(b.wait_closed());
  EXPECT_EQ(b.closed()[0].reason.code, "p2p.connection_lost");
  EXPECT_EQ(a.accepted_ips(), std::vector<std::string>{"127.0.0.4"});
  EXPECT_TRUE(a.closed().empty());  // a refused socket never became a connection
}

TEST(Transport, StopClosesEveryConnectionAndTellsPeers) {
  RecordingNode a(test_config("127.0.0.1"));
  RecordingNode b(test_config("127.0.0.2"));
  ASSERT_TRUE(a.transport().start().ok());
  ASSERT_TRUE(b.transport().start().ok());
  connect(a, "127.0.0.1", b);
  a.transport().stop();
  ASSERT_EQ(a.closed().size(), 1u);  // on_closed ran before stop() returned
  EXPECT_EQ(a.closed()[0].reason.code, "p2p.shutdown");
  ASSERT_TRUE(b.wait_closed());
  EXPECT_EQ(b.closed()[0].reason.code, "p2p.peer_disconnected");
  EXPECT_NE(b.closed()[0].reason.message.find("shutting down"), std::string::npos);
  a.transport().stop();  // idempotent
  EXPECT_EQ(a.transport().dial(target_of(b, "127.0.0.2")).error().code, "p2p.not_running");
}

TEST(Transport, CallbacksRunOnTheNamedNetworkThread) {
  RecordingNode a(test_config("127.0.0.1"));
  RecordingNode b(test_config("127.0.0.2"));
  std::string name;
  std::mutex mu;
  a.set_message_hook([&](const PeerInfo&, std::uint8_t, const Bytes&) {
    char buf[32] = {};
    pthread_getname_np(pthread_self(), buf, sizeof buf);
    std::lock_guard lock(mu);
    name = buf;
  });
  ASSERT_TRUE(a.transport().start().ok());
  ASSERT_TRUE(b.transport().start().ok());
  connect(a, "127.0.0.1", b);
  ASSERT_TRUE(b.transport().send(b.established()[0].id, 0x10, text("x")).ok());
  ASSERT_TRUE(a.wait_messages(1));
  std::lock_guard lock(mu);
  EXPECT_EQ(name, "cc-net");
}

TEST(Transport, SendValidatesCodeSizeAndState) {
  auto cfg = test_config("127.0.0.1");
  cfg.max_frame_size = 1024;
  RecordingNode a(cfg);
  RecordingNode b(test_config("127.0.0.2"));
  ASSERT_TRUE(a.transport().start().ok());
  ASSERT_TRUE(b.transport().start().ok());
  connect(a, "127.0.0.1", b);
  const ConnId id = a.established()[0].id;
  EXPECT_EQ(a.transport().send(id, kCodePing, {}).error().code, "p2p.reserved_code");
  EXPECT_EQ(a.transport().send(id, 0x10, Bytes(1024)).error().code, "p2p.message_too_large");
  EXPECT_TRUE(a.transport().send(id, 0x10, Bytes(1024 - kFrameMinLength)).ok());
  EXPECT_EQ(a.transport().send(id + 1000, 0x10, {}).error().code, "p2p.unknown_peer");
}

TEST(Transport, ListeningOnABusyPortFailsWithAClearError) {
  RecordingNode a(test_config("127.0.0.1"));
  ASSERT_TRUE(a.transport().start().ok());
  auto cfg = test_config("127.0.0.1");
  cfg.listen_port = a.port();
  RecordingNode b(cfg);
  Status s = b.transport().start();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "p2p.listen_failed");
  EXPECT_NE(s.error().message.find("127.0.0.1:" + std::to_string(a.port())), std::string::npos);
}

TEST(Transport, RejectsConfigThatWouldKillLivePeers) {
  auto cfg = test_config("127.0.0.1");
  cfg.dead_after = cfg.ping_interval;
  RecordingNode a(cfg);
  Status s = a.transport().start();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "p2p.config");
}

TEST(Transport, DialToAClosedPortReportsConnectFailed) {
  RecordingNode a(test_config("127.0.0.1"));
  ASSERT_TRUE(a.transport().start().ok());
  const std::uint16_t dead_port = a.port();
  a.transport().stop();
  RecordingNode b(test_config("127.0.0.2"));
  ASSERT_TRUE(b.transport().start().ok());
  ASSERT_TRUE(b.transport().dial(DialTarget{"127.0.0.1", dead_port, a.identity().node_id}).ok());
  ASSERT_TRUE(b.wait_closed());
  EXPECT_EQ(b.closed()[0].reason.code, "p2p.connect_failed");
}

TEST(Transport, DialsAKniUrl) {
  RecordingNode a(test_config("127.0.0.1"));
  RecordingNode b(test_config("127.0.0.2"));
  ASSERT_TRUE(a.transport().start().ok());
  ASSERT_TRUE(b.transport().start().ok());
  KniUrl url;
  url.node_id = a.identity().node_id;
  url.host = "127.0.0.1";
  url.port = a.port();
  ASSERT_TRUE(b.transport().dial(url).ok());
  ASSERT_TRUE(b.wait_established());
  EXPECT_EQ(b.established()[0].node_id, a.identity().node_id);
}

// True when something accepts TCP at ip:port.
bool accepts_tcp(const std::string& ip, std::uint16_t port) {
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  asio::error_code ec;
  s.connect({asio::ip::make_address(ip), port}, ec);
  return !ec;
}

// Issue #17: a validator whose permit lapsed leaves the network so its successor can take the
// cell's address: nothing accepts at its address, its peers are dropped, it dials nobody; back
// online it listens on the same port again.
TEST(Transport, OfflineClosesTheListenerAndEveryConnectionAndOnlineListensAgain) {
  RecordingNode a(test_config("127.0.0.1"));
  RecordingNode b(test_config("127.0.0.2"));
  ASSERT_TRUE(a.transport().start().ok());
  ASSERT_TRUE(b.transport().start().ok());
  connect(a, "127.0.0.1", b);
  const std::uint16_t port = a.port();
  ASSERT_TRUE(accepts_tcp("127.0.0.1", port));

  ASSERT_TRUE(a.transport().set_offline(true, "the signing permit lapsed").ok());
  EXPECT_TRUE(a.transport().offline());
  EXPECT_FALSE(accepts_tcp("127.0.0.1", port));
  ASSERT_TRUE(b.wait_closed());
  EXPECT_NE(b.closed()[0].reason.message.find("the signing permit lapsed"), std::string::npos)
      << b.closed()[0].reason.message;
  auto dial = a.transport().dial(target_of(b, "127.0.0.2"));
  ASSERT_FALSE(dial.ok());
  EXPECT_EQ(dial.error().code, "p2p.offline");

  ASSERT_TRUE(a.transport().set_offline(false, "a permit was granted").ok());
  EXPECT_FALSE(a.transport().offline());
  EXPECT_TRUE(accepts_tcp("127.0.0.1", port));
  ASSERT_TRUE(b.transport().dial(target_of(a, "127.0.0.1")).ok());
  EXPECT_TRUE(b.wait_established(2));
}

}  // namespace
}  // namespace cc::p2p
