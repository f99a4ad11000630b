#include "node/protocol.h"

#include <limits>
#include <string>
#include <type_traits>
#include <utility>

#include "codec/rlp.h"

namespace cc::node {
namespace {

// The names error messages use (the payload layout in protocol.h spells them the same way).
constexpr std::string_view kStatus = "Status";
constexpr std::string_view kNewBlockHashes = "NewBlockHashes";
constexpr std::string_view kTransactions = "Transactions";
constexpr std::string_view kGetBlockHeaders = "GetBlockHeaders";
constexpr std::string_view kBlockHeaders = "BlockHeaders";
constexpr std::string_view kGetBlockBodies = "GetBlockBodies";
constexpr std::string_view kBlockBodies = "BlockBodies";
constexpr std::string_view kNewBlock = "NewBlock";

std::string hex_code(std::uint8_t code) {
  static constexpr char kDigits[] = "0123456789abcdef";
  return std::string("0x") + kDigits[code >> 4] + kDigits[code & 0x0f];
}

Error malformed(std::string_view msg, const std::string& detail) {
  return make_error("proto.malformed", std::string(msg) + ": " + detail);
}

// Wraps an error from the RLP/chain decoders: the code becomes proto.malformed (one code for
// "the peer sent bytes that are not this message"), the original code stays in the message.
Error malformed(std::string_view msg, const std::string& field, const Error& inner) {
  return malformed(msg, field + ": " + inner.message + " (" + inner.code + ")");
}

template <typename T>
Result<T> in_field(Result<T> r, std::string_view msg, const std::string& field) {
  if (!r.ok()) return malformed(msg, field, r.error());
  return r;
}

// Counts a fixed-layout list's items. remaining_items() stops at the first malformed item, so
// a list whose well-formed items have the right count could still carry a broken tail: every
// prefix is walked here and such a tail is refused too.
Result<std::size_t> count_fields(std::string_view msg, const rlp::ListReader& r,
                                 const std::string& where) {
  const std::size_t got = r.remaining_items();
  rlp::ListReader probe = r;
  for (std::size_t i = 0; i < got; ++i) (void)probe.next();
  if (!probe.at_end()) {
    auto bad = probe.next();
    if (!bad.ok()) return malformed(msg, where + "field " + std::to_string(got), bad.error());
  }
  return got;
}

// The payload must be exactly one list with exactly `fields` items.
Result<rlp::ListReader> open_fields(std::string_view msg, ByteView payload, std::size_t fields,
                                    std::string_view layout) {
  CC_TRY_ASSIGN(auto r, in_field(rlp::ListReader::open(payload), msg, "payload"));
  CC_TRY_ASSIGN(auto got, count_fields(msg, r, ""));
  if (got != fields) {
    return malformed(msg, "expected " + std::to_string(fields) + " field(s) " +
                              std::string(layout) + ", got " + std::to_string(got));
  }
  return r;
}

// Counts a list's items before any is decoded, so a claimed size never drives an allocation
// and an oversized list is refused without decoding its elements.
Result<std::size_t> count_items(std::string_view msg, const rlp::ListReader& r,
                                std::string_view what, std::size_t limit) {
  const std::size_t n = r.remaining_items();
  if (n > limit) {
    return make_error("proto.too_many", std::string(msg) + ": " + std::to_string(n) + " " +
                                            std::string(what) + " exceed the limit of " +
                                            std::to_string(limit));
  }
  return n;
}

Result<std::vector<chain::Transaction>> read_txs(std::string_view msg, rlp::ListReader& list,
                                                 const std::string& where, std::size_t limit) {
  CC_TRY_ASSIGN(auto n, count_items(msg, list,
                                    "transactions" + (where.empty() ? "" : " in " + where), limit));
  std::vector<chain::Transaction> txs;
  txs.reserve(n);
  const std::string prefix = where.empty() ? "" : where + ": ";
  // n counts only well-formed prefixes; a malformed item after them fails in next().
  for (std::size_t i = 0; !list.at_end(); ++i) {
    const std::string field = prefix + "transaction " + std::to_string(i);
    CC_TRY_ASSIGN(auto item, in_field(list.next(), msg, field));
    CC_TRY_ASSIGN(auto tx, in_field(chain::Transaction::decode(item.encoded), msg, field));
    txs.push_back(std::move(tx));
  }
  return txs;
}

// ---- per-message decoders ----

Result<Message> decode_status(ByteView payload) {
  CC_TRY_ASSIGN(auto r, open_fields(kStatus, payload, 5,
                                    "[version, networkId, genesisHash, headNumber, headHash]"));
  StatusMsg m;
  CC_TRY_ASSIGN(auto version, in_field(r.next_uint(), kStatus, "version"));
  if (version > std::numeric_limits<std::uint32_t>::max()) {
    return malformed(kStatus, "version: " + std::to_string(version) + " does not fit in 32 bits");
  }
  m.version = static_cast<std::uint32_t>(version);
  CC_TRY_ASSIGN(m.network_id, in_field(r.next_uint(), kStatus, "networkId"));
  CC_TRY_ASSIGN(m.genesis_hash, in_field(r.next_fixed<32>(), kStatus, "genesisHash"));
  CC_TRY_ASSIGN(m.head_number, in_field(r.next_uint(), kStatus, "headNumber"));
  CC_TRY_ASSIGN(m.head_hash, in_field(r.next_fixed<32>(), kStatus, "headHash"));
  return Message{m};
}

Result<Message> decode_new_block_hashes(ByteView payload) {
  CC_TRY_ASSIGN(auto r, in_field(rlp::ListReader::open(payload), kNewBlockHashes, "payload"));
  CC_TRY_ASSIGN(auto n, count_items(kNewBlockHashes, r, "announcements", kMaxAnnouncements));
  NewBlockHashesMsg m;
  m.announcements.reserve(n);
  for (std::size_t i = 0; !r.at_end(); ++i) {
    const std::string field = "announcement " + std::to_string(i);
    CC_TRY_ASSIGN(auto entry, in_field(r.next_list(), kNewBlockHashes, field));
    CC_TRY_ASSIGN(auto fields, count_fields(kNewBlockHashes, entry, field + ": "));
    if (fields != 2) {
      return malformed(kNewBlockHashes,
                       field + ": expected 2 fields [hash, number], got " + std::to_string(fields));
    }
    BlockAnnouncement a;
    CC_TRY_ASSIGN(a.hash, in_field(entry.next_fixed<32>(), kNewBlockHashes, field + " hash"));
    CC_TRY_ASSIGN(a.number, in_field(entry.next_uint(), kNewBlockHashes, field + " number"));
    m.announcements.push_back(a);
  }
  return Message{std::move(m)};
}

Result<Message> decode_transactions(ByteView payload) {
  CC_TRY_ASSIGN(auto r, in_field(rlp::ListReader::open(payload), kTransactions, "payload"));
  TransactionsMsg m;
  CC_TRY_ASSIGN(m.transactions, read_txs(kTransactions, r, "", kMaxTransactionsPerMsg));
  return Message{std::move(m)};
}

Result<Message> decode_get_block_headers(ByteView payload) {
  CC_TRY_ASSIGN(auto r, open_fields(kGetBlockHeaders, payload, 3, "[requestId, origin, amount]"));
  GetBlockHeadersMsg m;
  CC_TRY_ASSIGN(m.request_id, in_field(r.next_uint(), kGetBlockHeaders, "requestId"));
  CC_TRY_ASSIGN(m.origin, in_field(r.next_uint(), kGetBlockHeaders, "origin"));
  CC_TRY_ASSIGN(m.amount, in_field(r.next_uint(), kGetBlockHeaders, "amount"));
  if (m.amount < 1 || m.amount > kMaxHeadersPerReply) {
    return make_error("proto.bad_amount", std::string(kGetBlockHeaders) + ": amount must be 1.." +
                                              std::to_string(kMaxHeadersPerReply) + ", got " +
                                              std::to_string(m.amount));
  }
  // The last requested number, origin + amount - 1, must exist as a 64-bit block number.
  if (m.origin > std::numeric_limits<std::uint64_t>::max() - (m.amount - 1)) {
    return make_error("proto.bad_amount", std::string(kGetBlockHeaders) + ": origin " +
                                              std::to_string(m.origin) + " + amount " +
                                              std::to_string(m.amount) + " runs past 2^64 - 1");
  }
  return Message{m};
}

Result<Message> decode_block_headers(ByteView payload) {
  CC_TRY_ASSIGN(auto r, open_fields(kBlockHeaders, payload, 2, "[requestId, [header, ...]]"));
  BlockHeadersMsg m;
  CC_TRY_ASSIGN(m.request_id, in_field(r.next_uint(), kBlockHeaders, "requestId"));
  CC_TRY_ASSIGN(auto list, in_field(r.next_list(), kBlockHeaders, "headers"));
  CC_TRY_ASSIGN(auto n, count_items(kBlockHeaders, list, "headers", kMaxHeadersPerReply));
  m.headers.reserve(n);
  for (std::size_t i = 0; !list.at_end(); ++i) {
    const std::string field = "header " + std::to_string(i);
    CC_TRY_ASSIGN(auto item, in_field(list.next(), kBlockHeaders, field));
    CC_TRY_ASSIGN(auto header, in_field(chain::Header::decode_item(item), kBlockHeaders, field));
    m.headers.push_back(std::move(header));
  }
  return Message{std::move(m)};
}

Result<Message> decode_get_block_bodies(ByteView payload) {
  CC_TRY_ASSIGN(auto r, open_fields(kGetBlockBodies, payload, 2, "[requestId, [hash, ...]]"));
  GetBlockBodiesMsg m;
  CC_TRY_ASSIGN(m.request_id, in_field(r.next_uint(), kGetBlockBodies, "requestId"));
  CC_TRY_ASSIGN(auto list, in_field(r.next_list(), kGetBlockBodies, "hashes"));
  CC_TRY_ASSIGN(auto n, count_items(kGetBlockBodies, list, "hashes", kMaxBodiesPerReply));
  m.hashes.reserve(n);
  for (std::size_t i = 0; !list.at_end(); ++i) {
    CC_TRY_ASSIGN(auto hash,
                  in_field(list.next_fixed<32>(), kGetBlockBodies, "hash " + std::to_string(i)));
    m.hashes.push_back(hash);
  }
  return Message{std::move(m)};
}

Result<Message> decode_block_bodies(ByteView payload) {
  CC_TRY_ASSIGN(auto r, open_fields(kBlockBodies, payload, 2, "[requestId, [[tx, ...], ...]]"));
  BlockBodiesMsg m;
  CC_TRY_ASSIGN(m.request_id, in_field(r.next_uint(), kBlockBodies, "requestId"));
  CC_TRY_ASSIGN(auto list, in_field(r.next_list(), kBlockBodies, "bodies"));
  CC_TRY_ASSIGN(auto n, count_items(kBlockBodies, list, "bodies", kMaxBodiesPerReply));
  m.bodies.reserve(n);
  for (std::size_t i = 0; !list.at_end(); ++i) {
    const std::string field = "body " + std::to_string(i);
    CC_TRY_ASSIGN(auto body, in_field(list.next_list(), kBlockBodies, field));
    // A body holds a whole block's transactions: no count limit beyond the frame size, and
    // read_txs still counts them (bounded by the bytes present) before reserving.
    CC_TRY_ASSIGN(auto txs,
                  read_txs(kBlockBodies, body, field, std::numeric_limits<std::size_t>::max()));
    m.bodies.push_back(std::move(txs));
  }
  return Message{std::move(m)};
}

Result<Message> decode_new_block(ByteView payload) {
  CC_TRY_ASSIGN(auto r, open_fields(kNewBlock, payload, 1, "[block]"));
  CC_TRY_ASSIGN(auto item, in_field(r.next(), kNewBlock, "block"));
  CC_TRY_ASSIGN(auto block, in_field(chain::Block::decode(item.encoded), kNewBlock, "block"));
  return Message{NewBlockMsg{std::move(block)}};
}

// ---- encoders ----

void encode_txs(rlp::Encoder& enc, const std::vector<chain::Transaction>& txs) {
  enc.begin_list();
  for (const auto& tx : txs) enc.raw(tx.encode());
  enc.end_list();
}

void encode_body(rlp::Encoder& enc, const StatusMsg& m) {
  enc.begin_list()
      .uint(m.version)
      .uint(m.network_id)
      .bytes(m.genesis_hash)
      .uint(m.head_number)
      .bytes(m.head_hash)
      .end_list();
}

void encode_body(rlp::Encoder& enc, const NewBlockHashesMsg& m) {
  enc.begin_list();
  for (const auto& a : m.announcements) enc.begin_list().bytes(a.hash).uint(a.number).end_list();
  enc.end_list();
}

void encode_body(rlp::Encoder& enc, const TransactionsMsg& m) { encode_txs(enc, m.transactions); }

void encode_body(rlp::Encoder& enc, const GetBlockHeadersMsg& m) {
  enc.begin_list().uint(m.request_id).uint(m.origin).uint(m.amount).end_list();
}

void encode_body(rlp::Encoder& enc, const BlockHeadersMsg& m) {
  enc.begin_list().uint(m.request_id).begin_list();
  for (const auto& h : m.headers) enc.raw(h.encode());
  enc.end_list().end_list();
}

void encode_body(rlp::Encoder& enc, const GetBlockBodiesMsg& m) {
  enc.begin_list().uint(m.request_id).begin_list();
  for (const auto& h : m.hashes) enc.bytes(h);
  enc.end_list().end_list();
}

void encode_body(rlp::Encoder& enc, const BlockBodiesMsg& m) {
  enc.begin_list().uint(m.request_id).begin_list();
  for (const auto& body : m.bodies) encode_txs(enc, body);
  enc.end_list().end_list();
}

void encode_body(rlp::Encoder& enc, const NewBlockMsg& m) {
  enc.begin_list().raw(m.block.encode()).end_list();
}

}  // namespace

std::string_view msg_code_name(MsgCode code) {
  switch (code) {
    case MsgCode::kStatus:
      return "status";
    case MsgCode::kNewBlockHashes:
      return "new_block_hashes";
    case MsgCode::kTransactions:
      return "transactions";
    case MsgCode::kGetBlockHeaders:
      return "get_block_headers";
    case MsgCode::kBlockHeaders:
      return "block_headers";
    case MsgCode::kGetBlockBodies:
      return "get_block_bodies";
    case MsgCode::kBlockBodies:
      return "block_bodies";
    case MsgCode::kNewBlock:
      return "new_block";
  }
  return "unknown";
}

MsgCode code_of(const Message& message) {
  return std::visit(
      [](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, StatusMsg>) return MsgCode::kStatus;
        if constexpr (std::is_same_v<T, NewBlockHashesMsg>) return MsgCode::kNewBlockHashes;
        if constexpr (std::is_same_v<T, TransactionsMsg>) return MsgCode::kTransactions;
        if constexpr (std::is_same_v<T, GetBlockHeadersMsg>) return MsgCode::kGetBlockHeaders;
        if constexpr (std::is_same_v<T, BlockHeadersMsg>) return MsgCode::kBlockHeaders;
        if constexpr (std::is_same_v<T, GetBlockBodiesMsg>) return MsgCode::kGetBlockBodies;
        if constexpr (std::is_same_v<T, BlockBodiesMsg>) return MsgCode::kBlockBodies;
        if constexpr (std::is_same_v<T, NewBlockMsg>) return MsgCode::kNewBlock;
      },
      message);
}

Bytes encode_payload(const Message& message) {
  rlp::Encoder enc;
  std::visit([&enc](const auto& m) { encode_body(enc, m); }, message);
  return enc.finish();
}

Result<Message> decode_message(std::uint8_t code, ByteView payload) {
  switch (static_cast<MsgCode>(code)) {
    case MsgCode::kStatus:
      return decode_status(payload);
    case MsgCode::kNewBlockHashes:
      return decode_new_block_hashes(payload);
    case MsgCode::kTransactions:
      return decode_transactions(payload);
    case MsgCode::kGetBlockHeaders:
      return decode_get_block_headers(payload);
    case MsgCode::kBlockHeaders:
      return decode_block_headers(payload);
    case MsgCode::kGetBlockBodies:
      return decode_get_block_bodies(payload);
    case MsgCode::kBlockBodies:
      return decode_block_bodies(payload);
    case MsgCode::kNewBlock:
      return decode_new_block(payload);
  }
  return make_error("proto.unknown_code",
                    "message code " + hex_code(code) +
                        " is not a chain protocol message (known: 0x10..0x17); the peer runs "
                        "another protocol version or sent garbage");
}

}  // namespace cc::node
