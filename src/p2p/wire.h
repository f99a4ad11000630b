// p2p/wire.h — owns the constants every corecell p2p connection agrees on: Kaia's node-type byte,
// the protocol version, the message codes the transport keeps for itself, and the size limits.
// It must never hold connection state or do I/O.
//
// A connection on the wire, in order (details in handshake.h and frame.h):
//   1. each side: 1 byte node type (CN=0, EN=1, PN=2, BN=3), in the clear (Kaia's convention);
//   2. each side: Hello (2-byte big-endian length ‖ body), in the clear;
//   3. each side: Auth (65-byte recoverable signature over the transcript), in the clear;
//   4. then only frames: 4-byte big-endian length ‖ AEAD ciphertext of (code ‖ payload).
// Codes 0x00..0x0f are the transport's own (disconnect, ping, pong); owners of a Transport use
// codes from kFirstApplicationCode up.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace cc::p2p {

// Kaia's node types, with the byte values Kaia puts on the wire before its handshake.
enum class NodeType : std::uint8_t { kCN = 0, kEN = 1, kPN = 2, kBN = 3 };

// "cn", "en", "pn", "bn" (the spelling of kni URLs' ntype and of logs).
[[nodiscard]] std::string_view node_type_name(NodeType type);
// Reads the type byte; nullopt for any value other than 0..3.
[[nodiscard]] std::optional<NodeType> node_type_from_byte(std::uint8_t byte);
// Parses "cn"/"en"/"pn"/"bn" (lower case, as kni URLs write it); nullopt otherwise.
[[nodiscard]] std::optional<NodeType> node_type_from_name(std::string_view name);

// Version carried in Hello; a peer with another version is refused with both versions named.
inline constexpr std::uint16_t kProtocolVersion = 1;

// Transport-owned message codes.
inline constexpr std::uint8_t kCodeDisconnect = 0x00;  // payload: UTF-8 reason, <= kMaxReasonSize
inline constexpr std::uint8_t kCodePing = 0x01;        // payload: empty
inline constexpr std::uint8_t kCodePong = 0x02;        // payload: empty
inline constexpr std::uint8_t kFirstApplicationCode = 0x10;

inline constexpr std::size_t kMaxReasonSize = 256;

// Default bound on a frame's length field (ciphertext bytes, i.e. 1 + payload + 16).
inline constexpr std::size_t kDefaultMaxFrameSize = std::size_t{16} << 20;  // 16 MiB

}  // namespace cc::p2p
