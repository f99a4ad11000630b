#include "p2p/handshake.h"

#include <sodium.h>

#include <string>
#include <string_view>

#include "crypto/keccak.h"
#include "util/assert.h"

namespace cc::p2p {
namespace {

constexpr std::string_view kAuthDomain = "corecell/handshake/v1";
constexpr std::string_view kLabelI2R = "corecell/p2p/v1 initiator->responder";
constexpr std::string_view kLabelR2I = "corecell/p2p/v1 responder->initiator";

void append(Bytes& out, ByteView data) { out.insert(out.end(), data.begin(), data.end()); }
void append(Bytes& out, std::string_view text) { out.insert(out.end(), text.begin(), text.end()); }
void append_u16(Bytes& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}
std::uint16_t read_u16(ByteView b, std::size_t at) {
  return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]);
}

template <std::size_t N>
FixedBytes<N> read_fixed(ByteView b, std::size_t at) {
  FixedBytes<N> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = b[at + i];
  return out;
}

SessionKey derive_key(const Hash32& shared, std::string_view label, const Hash32& transcript) {
  Bytes msg;
  append(msg, label);
  append(msg, transcript);
  SessionKey key{};
  int rc = crypto_generichash(key.data(), key.size(), msg.data(), msg.size(), shared.data(),
                              shared.size());
  CC_ASSERT(rc == 0);  // BLAKE2b with in-range sizes cannot fail
  return key;
}

FixedBytes<32> random_nonce() {
  FixedBytes<32> n{};
  // randombytes_buf needs no sodium_init on Linux (getrandom), but init is idempotent and cheap.
  CC_ASSERT(sodium_init() >= 0);
  randombytes_buf(n.data(), n.size());
  return n;
}

}  // namespace

std::string short_node_id(const crypto::PublicKey& id) { return to_hex(ByteView(id.data(), 8)); }

Bytes encode_hello(const Hello& hello) {
  Bytes out;
  out.reserve(kHelloLengthSize + kHelloBodySizeV1);
  append_u16(out, static_cast<std::uint16_t>(kHelloBodySizeV1));
  append_u16(out, hello.version);
  append(out, hello.node_id);
  append(out, hello.ephemeral);
  append(out, hello.nonce);
  append_u16(out, hello.listen_port);
  return out;
}

Result<std::size_t> decode_hello_length(ByteView two_bytes) {
  if (two_bytes.size() != kHelloLengthSize) {
    return make_error("p2p.hello_malformed", "Hello length field must be 2 bytes");
  }
  const std::size_t len = read_u16(two_bytes, 0);
  if (len < 2 || len > kMaxHelloBodySize) {
    return make_error("p2p.hello_malformed",
                      "Hello length " + std::to_string(len) + " is outside 2.." +
                          std::to_string(kMaxHelloBodySize) +
                          "; the peer is not speaking the corecell handshake");
  }
  return len;
}

Result<Hello> decode_hello_body(ByteView body) {
  if (body.size() < 2) {
    return make_error("p2p.hello_malformed", "Hello body of " + std::to_string(body.size()) +
                                                 " bytes has no version field");
  }
  Hello h;
  h.version = read_u16(body, 0);
  if (h.version != kProtocolVersion) {
    return make_error("p2p.version_mismatch",
                      "peer speaks corecell p2p version " + std::to_string(h.version) +
                          ", this node speaks version " + std::to_string(kProtocolVersion) +
                          "; run the same corecell release on both nodes");
  }
  if (body.size() != kHelloBodySizeV1) {
    return make_error("p2p.hello_malformed", "version 1 Hello body has " +
                                                 std::to_string(body.size()) + " bytes, expected " +
                                                 std::to_string(kHelloBodySizeV1));
  }
  std::size_t at = 2;
  h.node_id = read_fixed<64>(body, at);
  at += 64;
  h.ephemeral = read_fixed<64>(body, at);
  at += 64;
  h.nonce = read_fixed<32>(body, at);
  at += 32;
  h.listen_port = read_u16(body, at);
  return h;
}

Hash32 auth_digest(Role signer, const Hash32& transcript) {
  Bytes msg;
  append(msg, kAuthDomain);
  msg.push_back(static_cast<std::uint8_t>(signer));
  append(msg, transcript);
  return crypto::keccak256(msg);
}

Handshake::Handshake(const crypto::PrivateKey& static_key, const HandshakeParams& params)
    : Handshake(static_key, params, crypto::PrivateKey::generate(), random_nonce()) {}

Handshake::Handshake(const crypto::PrivateKey& static_key, const HandshakeParams& params,
                     const crypto::PrivateKey& ephemeral, const FixedBytes<32>& nonce)
    : static_key_(static_key), ephemeral_(ephemeral), params_(params) {
  our_id_ = crypto::public_key_of(static_key_);
  Hello hello;
  hello.node_id = our_id_;
  hello.ephemeral = crypto::public_key_of(ephemeral_);
  hello.nonce = nonce;
  hello.listen_port = params_.listen_port;
  our_hello_msg_ = encode_hello(hello);
  initial_.push_back(static_cast<std::uint8_t>(params_.our_type));
  append(initial_, our_hello_msg_);
}

std::size_t Handshake::bytes_wanted() const {
  switch (step_) {
    case Step::kType:
      return 1;
    case Step::kHelloLength:
      return kHelloLengthSize;
    case Step::kHelloBody:
      return hello_body_size_;
    case Step::kAuth:
      return kAuthSize;
    case Step::kDone:
    case Step::kFailed:
      return 0;
  }
  return 0;
}

Result<Bytes> Handshake::feed(ByteView data) {
  CC_ASSERT(bytes_wanted() != 0 && data.size() == bytes_wanted());
  Result<Bytes> r = Bytes{};
  switch (step_) {
    case Step::kType:
      r = on_type(data);
      break;
    case Step::kHelloLength:
      r = on_hello_length(data);
      break;
    case Step::kHelloBody:
      r = on_hello_body(data);
      break;
    case Step::kAuth:
      r = on_auth(data);
      break;
    case Step::kDone:
    case Step::kFailed:
      break;
  }
  if (!r.ok()) step_ = Step::kFailed;
  return r;
}

Result<Bytes> Handshake::on_type(ByteView data) {
  auto type = node_type_from_byte(data[0]);
  if (!type) {
    return make_error("p2p.bad_node_type",
                      "first byte 0x" + to_hex(data) +
                          " is not a Kaia node type (0=cn 1=en 2=pn 3=bn); the peer is not a "
                          "corecell node or sent garbage");
  }
  peer_type_ = *type;
  step_ = Step::kHelloLength;
  return Bytes{};
}

Result<Bytes> Handshake::on_hello_length(ByteView data) {
  CC_TRY_ASSIGN(hello_body_size_, decode_hello_length(data));
  peer_hello_msg_.assign(data.begin(), data.end());
  step_ = Step::kHelloBody;
  return Bytes{};
}

Result<Bytes> Handshake::on_hello_body(ByteView data) {
  CC_TRY_ASSIGN(Hello hello, decode_hello_body(data));
  append(peer_hello_msg_, data);
  if (!crypto::validate_public_key(hello.node_id).ok()) {
    return make_error("p2p.hello_malformed", "peer's node ID is not a secp256k1 public key");
  }
  if (hello.node_id == our_id_) {
    return make_error("p2p.self_connection",
                      "peer has our own node ID " + short_node_id(our_id_) +
                          "; this node dialed itself (or another process uses the same nodekey)");
  }
  if (params_.expected_peer && hello.node_id != *params_.expected_peer) {
    return make_error("p2p.unexpected_node_id",
                      "expected node " + short_node_id(*params_.expected_peer) +
                          " but the peer is node " + short_node_id(hello.node_id) +
                          "; the kni URL / static-nodes.json entry names another node ID than "
                          "the one running at that address");
  }
  auto shared = crypto::ecdh(ephemeral_, hello.ephemeral);
  if (!shared.ok()) {
    return make_error("p2p.hello_malformed",
                      "peer's ephemeral key is unusable: " + shared.error().message);
  }
  peer_hello_ = hello;

  const bool initiator = params_.role == Role::kInitiator;
  Bytes t;
  t.push_back(static_cast<std::uint8_t>(initiator ? params_.our_type : peer_type_));
  t.push_back(static_cast<std::uint8_t>(initiator ? peer_type_ : params_.our_type));
  append(t, initiator ? our_hello_msg_ : peer_hello_msg_);
  append(t, initiator ? peer_hello_msg_ : our_hello_msg_);
  const Hash32 transcript = crypto::keccak256(t);

  const SessionKey i2r = derive_key(*shared, kLabelI2R, transcript);
  const SessionKey r2i = derive_key(*shared, kLabelR2I, transcript);
  outcome_.peer_id = hello.node_id;
  outcome_.peer_type = peer_type_;
  outcome_.peer_listen_port = hello.listen_port;
  outcome_.transcript = transcript;
  outcome_.keys.send = initiator ? i2r : r2i;
  outcome_.keys.recv = initiator ? r2i : i2r;

  const crypto::Signature sig = crypto::sign(static_key_, auth_digest(params_.role, transcript));
  step_ = Step::kAuth;
  return Bytes(sig.begin(), sig.end());
}

Result<Bytes> Handshake::on_auth(ByteView data) {
  const Role peer_role = params_.role == Role::kInitiator ? Role::kResponder : Role::kInitiator;
  crypto::Signature sig{};
  for (std::size_t i = 0; i < sig.size(); ++i) sig[i] = data[i];
  auto signer = crypto::recover(auth_digest(peer_role, outcome_.transcript), sig);
  if (!signer.ok() || *signer != peer_hello_.node_id) {
    return make_error("p2p.auth_failed",
                      "peer's Auth signature does not prove it holds the nodekey of node " +
                          short_node_id(peer_hello_.node_id));
  }
  step_ = Step::kDone;
  return Bytes{};
}

const HandshakeOutcome& Handshake::outcome() const {
  CC_ASSERT(step_ == Step::kDone);
  return outcome_;
}

std::optional<crypto::PublicKey> Handshake::claimed_peer() const {
  if (step_ == Step::kAuth || step_ == Step::kDone) return peer_hello_.node_id;
  return std::nullopt;
}

}  // namespace cc::p2p
