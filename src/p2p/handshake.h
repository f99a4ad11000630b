// p2p/handshake.h — owns corecell's authenticated key exchange as a pure state machine (no
// sockets, clocks or threads): the Hello and Auth encodings, the transcript, the per-direction
// session keys, and the checks that bind a connection to the peer's nodekey. It must never
// accept a peer whose Auth does not recover to the node ID in its Hello, and never sign anything
// before the peer's Hello has passed every check.
//
// Both sides run the same steps (neither waits for the other before step 2):
//   1. send  type(1)                                    Kaia's node-type byte, in the clear
//   2. send  Hello = len(2, BE) ‖ body                  body is 164 bytes for version 1:
//            version(2, BE) ‖ static node ID(64, X‖Y) ‖ ephemeral pubkey(64) ‖ nonce(32)
//            ‖ listen port(2, BE)
//   3. on the peer's type + Hello: check it (known type, version 1, exact size, points on the
//      curve, not our own node ID, and — when dialing — the node ID of the kni URL we dialed);
//      shared     = ecdh(our ephemeral secret, peer ephemeral pubkey)       (crypto/secp256k1.h)
//      transcript = keccak256(type_i ‖ type_r ‖ Hello_i ‖ Hello_r)         (i = initiator,
//                                                  r = responder; Hellos as sent, with length)
//      send Auth  = sign(static nodekey,
//                        keccak256("corecell/handshake/v1" ‖ role ‖ transcript))   65 bytes
//      role = 0x01 when the initiator signs, 0x02 when the responder signs (no reflection).
//   4. on the peer's Auth: it must recover to the static node ID of the peer's Hello.
// Session keys (libsodium BLAKE2b keyed with the 32-byte ECDH secret):
//   key_i2r = generichash(key = shared, "corecell/p2p/v1 initiator->responder" ‖ transcript)
//   key_r2i = generichash(key = shared, "corecell/p2p/v1 responder->initiator" ‖ transcript)
// Fresh ephemeral keys and nonces on both sides make every transcript, and so every key pair and
// signature, unique to the connection: a recorded Auth is useless on another connection.
//
// Error codes (the connection closes with the Error as its reason): p2p.bad_node_type,
// p2p.hello_malformed, p2p.version_mismatch, p2p.self_connection, p2p.unexpected_node_id,
// p2p.auth_failed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "crypto/secp256k1.h"
#include "p2p/frame.h"
#include "p2p/wire.h"
#include "util/bytes.h"
#include "util/result.h"

namespace cc::p2p {

enum class Role : std::uint8_t { kInitiator = 0x01, kResponder = 0x02 };

struct Hello {
  std::uint16_t version = kProtocolVersion;
  crypto::PublicKey node_id{};
  crypto::PublicKey ephemeral{};
  FixedBytes<32> nonce{};
  std::uint16_t listen_port = 0;

  bool operator==(const Hello&) const = default;
};

inline constexpr std::size_t kHelloLengthSize = 2;
inline constexpr std::size_t kHelloBodySizeV1 = 2 + 64 + 64 + 32 + 2;
// Bound on the Hello length field; later versions may grow the body up to this.
inline constexpr std::size_t kMaxHelloBodySize = 1024;
inline constexpr std::size_t kAuthSize = 65;

// len(2, BE) ‖ body, as sent on the wire.
[[nodiscard]] Bytes encode_hello(const Hello& hello);
// Reads the 2-byte length; error p2p.hello_malformed outside [2, kMaxHelloBodySize].
[[nodiscard]] Result<std::size_t> decode_hello_length(ByteView two_bytes);
// Decodes a body (without the length). The version is checked first so a peer of another
// version gets p2p.version_mismatch rather than a size complaint.
[[nodiscard]] Result<Hello> decode_hello_body(ByteView body);

// First 16 hex chars of a node ID, for logs and error messages.
[[nodiscard]] std::string short_node_id(const crypto::PublicKey& id);

// The digest each side signs for its Auth.
[[nodiscard]] Hash32 auth_digest(Role signer, const Hash32& transcript);

struct SessionKeys {
  SessionKey send{};
  SessionKey recv{};
};

struct HandshakeParams {
  Role role = Role::kInitiator;
  NodeType our_type = NodeType::kCN;
  std::uint16_t listen_port = 0;
  // When dialing: the node ID we expect (from the kni URL); a different peer is refused.
  std::optional<crypto::PublicKey> expected_peer;
};

struct HandshakeOutcome {
  crypto::PublicKey peer_id{};
  NodeType peer_type = NodeType::kCN;
  std::uint16_t peer_listen_port = 0;
  Hash32 transcript{};
  SessionKeys keys;
};

// One side of one handshake. Feed it exactly bytes_wanted() bytes at a time; it returns the
// bytes to send in reply (the Auth, once, after the peer's Hello). Any error is final.
class Handshake {
 public:
  // Fresh ephemeral key and nonce from the OS CSPRNG.
  Handshake(const crypto::PrivateKey& static_key, const HandshakeParams& params);
  // Explicit ephemeral key and nonce: for reproducible tests and fuzzing only.
  Handshake(const crypto::PrivateKey& static_key, const HandshakeParams& params,
            const crypto::PrivateKey& ephemeral, const FixedBytes<32>& nonce);

  // Type byte ‖ Hello: send these at once, before reading anything.
  [[nodiscard]] const Bytes& initial_bytes() const { return initial_; }

  // How many bytes the next feed() takes; 0 once done or failed.
  [[nodiscard]] std::size_t bytes_wanted() const;

  // Consumes exactly bytes_wanted() bytes (anything else is a caller bug). Returns bytes to send
  // now (possibly empty) or the reason to close.
  [[nodiscard]] Result<Bytes> feed(ByteView data);

  [[nodiscard]] bool done() const { return step_ == Step::kDone; }
  [[nodiscard]] bool failed() const { return step_ == Step::kFailed; }
  // Valid once done().
  [[nodiscard]] const HandshakeOutcome& outcome() const;
  // The peer's node ID as soon as its Hello passed the checks (for logs); nullopt before.
  [[nodiscard]] std::optional<crypto::PublicKey> claimed_peer() const;

 private:
  enum class Step { kType, kHelloLength, kHelloBody, kAuth, kDone, kFailed };

  Result<Bytes> on_type(ByteView data);
  Result<Bytes> on_hello_length(ByteView data);
  Result<Bytes> on_hello_body(ByteView data);
  Result<Bytes> on_auth(ByteView data);

  crypto::PrivateKey static_key_;
  crypto::PrivateKey ephemeral_;
  HandshakeParams params_;
  crypto::PublicKey our_id_{};
  Bytes our_hello_msg_;
  Bytes initial_;

  Step step_ = Step::kType;
  std::size_t hello_body_size_ = 0;
  NodeType peer_type_ = NodeType::kCN;
  Bytes peer_hello_msg_;
  Hello peer_hello_;
  HandshakeOutcome outcome_;
};

}  // namespace cc::p2p
