// node/protocol.h — owns corecell's chain protocol: the application messages nodes exchange over
// the p2p transport (status, block and transaction propagation, header/body requests), their
// codes, their RLP payloads and their size limits. Decoding is strict and never asserts: a
// payload from a peer either decodes into a Message or yields an Error ("proto.*") the caller
// answers by dropping the peer. It never does I/O and never decides what a message means for
// the chain (node/sync.h, node/propagation, node/txpool.h do that).
//
// Payloads (RLP; integers canonical big-endian; hashes 32 bytes; limits on the list's items):
//   0x10 Status          [version, networkId, genesisHash, headNumber, headHash]
//   0x11 NewBlockHashes  [[hash, number], ...]           <= kMaxAnnouncements
//   0x12 Transactions    [tx, ...]                       <= kMaxTransactionsPerMsg
//   0x13 GetBlockHeaders [requestId, origin, amount]     1 <= amount <= kMaxHeadersPerReply,
//                                                        origin + amount - 1 <= 2^64 - 1
//   0x14 BlockHeaders    [requestId, [header, ...]]      <= kMaxHeadersPerReply
//   0x15 GetBlockBodies  [requestId, [hash, ...]]        <= kMaxBodiesPerReply
//   0x16 BlockBodies     [requestId, [[tx, ...], ...]]   <= kMaxBodiesPerReply bodies
//   0x17 NewBlock        [block]
// A node sends Status first on every connection and handles nothing else until it has the
// peer's Status; a different version, network ID or genesis hash ends the connection.
// Replies carry the request's requestId, so a reply can be matched (and an unsolicited one
// detected). A reply may hold fewer items than asked (the responder caps it by
// kSoftReplyBytes), never more.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>
#include <vector>

#include "chain/block.h"
#include "chain/tx.h"
#include "util/bytes.h"
#include "util/result.h"

namespace cc::node {

inline constexpr std::uint32_t kChainProtocolVersion = 1;

enum class MsgCode : std::uint8_t {
  kStatus = 0x10,
  kNewBlockHashes = 0x11,
  kTransactions = 0x12,
  kGetBlockHeaders = 0x13,
  kBlockHeaders = 0x14,
  kGetBlockBodies = 0x15,
  kBlockBodies = 0x16,
  kNewBlock = 0x17,
};

// Consensus messages (consensus/messages.h encoding) travel under this code between council
// CNs. decode_message() does not know it: node/service.h routes it to node/validator.h.
inline constexpr std::uint8_t kConsensusCode = 0x20;

// "status", "new_block_hashes", ... (logs, metrics labels).
[[nodiscard]] std::string_view msg_code_name(MsgCode code);

inline constexpr std::size_t kMaxAnnouncements = 256;
inline constexpr std::size_t kMaxTransactionsPerMsg = 4096;
inline constexpr std::size_t kMaxHeadersPerReply = 192;
inline constexpr std::size_t kMaxBodiesPerReply = 128;
// A responder stops adding headers/bodies once the reply passes this many bytes.
inline constexpr std::size_t kSoftReplyBytes = std::size_t{2} << 20;

struct StatusMsg {
  std::uint32_t version = kChainProtocolVersion;
  std::uint64_t network_id = 0;
  Hash32 genesis_hash{};
  std::uint64_t head_number = 0;
  Hash32 head_hash{};
  bool operator==(const StatusMsg&) const = default;
};

struct BlockAnnouncement {
  Hash32 hash{};
  std::uint64_t number = 0;
  bool operator==(const BlockAnnouncement&) const = default;
};

struct NewBlockHashesMsg {
  std::vector<BlockAnnouncement> announcements;
  bool operator==(const NewBlockHashesMsg&) const = default;
};

struct TransactionsMsg {
  std::vector<chain::Transaction> transactions;
  bool operator==(const TransactionsMsg&) const = default;
};

// Canonical headers origin, origin+1, ..., origin+amount-1 (as far as the responder has them).
struct GetBlockHeadersMsg {
  std::uint64_t request_id = 0;
  std::uint64_t origin = 0;
  std::uint64_t amount = 0;
  bool operator==(const GetBlockHeadersMsg&) const = default;
};

struct BlockHeadersMsg {
  std::uint64_t request_id = 0;
  std::vector<chain::Header> headers;
  bool operator==(const BlockHeadersMsg&) const = default;
};

struct GetBlockBodiesMsg {
  std::uint64_t request_id = 0;
  std::vector<Hash32> hashes;
  bool operator==(const GetBlockBodiesMsg&) const = default;
};

// bodies[i] answers hashes[i]; the reply stops at the first block the responder lacks.
struct BlockBodiesMsg {
  std::uint64_t request_id = 0;
  std::vector<std::vector<chain::Transaction>> bodies;
  bool operator==(const BlockBodiesMsg&) const = default;
};

struct NewBlockMsg {
  chain::Block block;
  bool operator==(const NewBlockMsg&) const = default;
};

using Message = std::variant<StatusMsg, NewBlockHashesMsg, TransactionsMsg, GetBlockHeadersMsg,
                             BlockHeadersMsg, GetBlockBodiesMsg, BlockBodiesMsg, NewBlockMsg>;

[[nodiscard]] MsgCode code_of(const Message& message);
[[nodiscard]] Bytes encode_payload(const Message& message);

// Strict decode of a payload received with `code`. Errors: proto.unknown_code (a code this
// protocol does not define), proto.malformed (RLP, field count, field size; the message names
// the message and the field), proto.too_many (a list beyond its limit), proto.bad_amount.
[[nodiscard]] Result<Message> decode_message(std::uint8_t code, ByteView payload);

}  // namespace cc::node
