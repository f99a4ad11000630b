// Fuzzes the handshake codec and state machine (p2p/handshake.h) with no sockets: arbitrary bytes
// are fed as the peer's side of the handshake, exactly as the connection would feed them. It must
// never crash, assert or accept an Auth it cannot verify. The first input byte picks the role
// and whether a node ID is expected; the rest is the peer's stream (type ‖ Hello ‖ Auth).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "crypto/secp256k1.h"
#include "p2p/handshake.h"

namespace {

cc::crypto::PrivateKey key_from(std::uint8_t last) {
  cc::FixedBytes<32> s{};
  s[31] = last;
  return *cc::crypto::PrivateKey::from_bytes(s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cc::p2p;
  static const auto kStatic = key_from(1);
  static const auto kEphemeral = key_from(2);
  static const auto kPeerId = cc::crypto::public_key_of(key_from(3));  // the seed corpus' peer
  static const cc::FixedBytes<32> kNonce{};
  if (size == 0) return 0;

  const cc::ByteView in(data + 1, size - 1);
  // The pure decoders on their own.
  if (in.size() >= 2) (void)decode_hello_length(in.first(2));
  (void)decode_hello_body(in);

  HandshakeParams params;
  params.role = (data[0] & 1) ? Role::kInitiator : Role::kResponder;
  params.our_type = static_cast<NodeType>((data[0] >> 2) & 3);
  if (data[0] & 2) params.expected_peer = kPeerId;
  Handshake hs(kStatic, params, kEphemeral, kNonce);

  std::size_t off = 0;
  while (hs.bytes_wanted() > 0 && in.size() - off >= hs.bytes_wanted()) {
    const std::size_t n = hs.bytes_wanted();
    auto reply = hs.feed(in.subspan(off, n));
    off += n;
    if (!reply.ok()) break;
  }
  // Completing needs a real signature by the Hello's key over this transcript; if the fuzzer
  // ever gets there, the outcome must name exactly the key it claimed.
  if (hs.done() && hs.outcome().peer_id != *hs.claimed_peer()) std::abort();
  return 0;
}
