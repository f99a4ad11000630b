#include "consensus/messages.h"

#include <string>

#include "codec/rlp.h"
#include "crypto/address.h"
#include "crypto/keccak.h"

namespace cc::consensus {
namespace {

void encode_prepared(rlp::Encoder& e, const std::optional<PreparedRef>& prepared) {
  e.begin_list();
  if (prepared) e.uint(prepared->round).bytes(prepared->block_hash);
  e.end_list();
}

// [body, sig] — a Prepare or an embedded RoundChange as certificates carry them.
void encode_signed(rlp::Encoder& e, const Bytes& body, const crypto::Signature& sig) {
  e.begin_list().raw(body).bytes(sig).end_list();
}

// ---- decoding ----

Error malformed(std::string_view where, const Error& e) {
  return make_error("ibft.malformed", std::string(where) + ": " + e.code + ": " + e.message);
}

// Like CC_TRY_ASSIGN / CC_TRY_STATUS, but a codec error becomes ibft.malformed naming the field.
#define IBFT_TRY(decl, expr, where)                                  \
  auto CC_CONCAT(ibft_try_, __LINE__) = (expr);                      \
  if (!CC_CONCAT(ibft_try_, __LINE__).ok())                          \
    return malformed(where, CC_CONCAT(ibft_try_, __LINE__).error()); \
  decl = std::move(CC_CONCAT(ibft_try_, __LINE__)).value()

#define IBFT_TRY_STATUS(expr, where)                                       \
  do {                                                                     \
    auto ibft_status_ = (expr);                                            \
    if (!ibft_status_.ok()) return malformed(where, ibft_status_.error()); \
  } while (0)

Result<std::uint32_t> read_round(rlp::ListReader& r, std::string_view where) {
  IBFT_TRY(const std::uint64_t round, r.next_uint(), std::string(where) + ".round");
  if (round > kMaxRound) {
    return make_error("ibft.round_out_of_range",
                      std::string(where) + ".round: " + std::to_string(round) +
                          " is above the highest round a block can record (" +
                          std::to_string(kMaxRound) + ")");
  }
  return static_cast<std::uint32_t>(round);
}

Result<Address> recover_sender(const Hash32& digest, const crypto::Signature& sig,
                               std::string_view where) {
  auto pub = crypto::recover(digest, sig);
  if (!pub.ok()) {
    return make_error("ibft.bad_signature",
                      std::string(where) + ".signature does not recover: " + pub.error().message);
  }
  return crypto::address_of(*pub);
}

// Opens a body list and checks its leading message code.
Result<rlp::ListReader> open_body(const rlp::Item& body, MessageCode expected,
                                  std::string_view where) {
  if (!body.is_list) {
    return make_error("ibft.malformed", std::string(where) + ".body: expected a list");
  }
  IBFT_TRY(auto r, rlp::ListReader::of(body), std::string(where) + ".body");
  IBFT_TRY(const std::uint64_t code, r.next_uint(), std::string(where) + ".code");
  if (code != static_cast<std::uint64_t>(expected)) {
    return make_error("ibft.unexpected_code", std::string(where) + ".code: expected " +
                                                  std::to_string(static_cast<int>(expected)) +
                                                  " (" + std::string(to_string(expected)) +
                                                  "), got " + std::to_string(code));
  }
  return r;
}

Result<crypto::Signature> read_signature(rlp::ListReader& r, std::string_view where) {
  IBFT_TRY(auto sig, r.next_fixed<65>(), std::string(where) + ".signature");
  return sig;
}

Status check_entries(std::size_t count, const DecodeLimits& limits, std::string_view where) {
  if (count > limits.max_certificate_entries) {
    return make_error("ibft.too_many_entries", std::string(where) + ": " + std::to_string(count) +
                                                   " entries, more than the limit of " +
                                                   std::to_string(limits.max_certificate_entries) +
                                                   " (the council size)");
  }
  return ok_status();
}

// Prepare body fields after the code: height, round, blockHash.
Result<Prepare> decode_prepare_signed(const rlp::Item& body_item, const crypto::Signature& sig,
                                      std::string_view where) {
  CC_TRY_ASSIGN(auto b, open_body(body_item, MessageCode::kPrepare, where));
  Prepare p;
  IBFT_TRY(p.height, b.next_uint(), std::string(where) + ".height");
  CC_TRY_ASSIGN(p.round, read_round(b, where));
  IBFT_TRY(p.block_hash, b.next_fixed<32>(), std::string(where) + ".blockHash");
  IBFT_TRY_STATUS(b.expect_end(), std::string(where) + ".body");
  p.signature = sig;
  CC_TRY_ASSIGN(p.sender, recover_sender(crypto::keccak256(body_item.encoded), sig, where));
  return p;
}

// [body, sig]
Result<Prepare> decode_prepare_pair(const rlp::Item& item, std::string_view where) {
  if (!item.is_list) return make_error("ibft.malformed", std::string(where) + ": expected a list");
  IBFT_TRY(auto r, rlp::ListReader::of(item), where);
  IBFT_TRY(auto body, r.next(), std::string(where) + ".body");
  CC_TRY_ASSIGN(auto sig, read_signature(r, where));
  IBFT_TRY_STATUS(r.expect_end(), where);
  return decode_prepare_signed(body, sig, where);
}

Result<std::vector<Prepare>> decode_prepare_list(rlp::ListReader& outer, const DecodeLimits& limits,
                                                 std::string_view where) {
  IBFT_TRY(auto list, outer.next_list(), where);
  CC_TRY_STATUS(check_entries(list.remaining_items(), limits, where));
  std::vector<Prepare> out;
  while (!list.at_end()) {
    const std::string at = std::string(where) + "[" + std::to_string(out.size()) + "]";
    IBFT_TRY(auto item, list.next(), at);
    CC_TRY_ASSIGN(auto p, decode_prepare_pair(item, at));
    out.push_back(p);
  }
  return out;
}

Result<RoundChange> decode_round_change_signed(const rlp::Item& body_item,
                                               const crypto::Signature& sig,
                                               std::string_view where) {
  CC_TRY_ASSIGN(auto b, open_body(body_item, MessageCode::kRoundChange, where));
  RoundChange rc;
  IBFT_TRY(rc.height, b.next_uint(), std::string(where) + ".height");
  CC_TRY_ASSIGN(rc.round, read_round(b, where));
  IBFT_TRY(rc.parent_hash, b.next_fixed<32>(), std::string(where) + ".parentHash");
  IBFT_TRY(auto prepared, b.next_list(), std::string(where) + ".prepared");
  if (!prepared.at_end()) {
    PreparedRef ref;
    const std::string at = std::string(where) + ".prepared";
    CC_TRY_ASSIGN(ref.round, read_round(prepared, at));
    IBFT_TRY(ref.block_hash, prepared.next_fixed<32>(), at + ".blockHash");
    IBFT_TRY_STATUS(prepared.expect_end(), at);
    rc.prepared = ref;
  }
  IBFT_TRY_STATUS(b.expect_end(), std::string(where) + ".body");
  rc.signature = sig;
  CC_TRY_ASSIGN(rc.sender, recover_sender(crypto::keccak256(body_item.encoded), sig, where));
  return rc;
}

Result<Message> decode_preprepare(rlp::ListReader& r, const rlp::Item& body_item,
                                  const DecodeLimits& limits) {
  constexpr std::string_view kWhere = "preprepare";
  CC_TRY_ASSIGN(auto b, open_body(body_item, MessageCode::kPreprepare, kWhere));
  Preprepare p;
  IBFT_TRY(p.height, b.next_uint(), "preprepare.height");
  CC_TRY_ASSIGN(p.round, read_round(b, kWhere));
  IBFT_TRY(auto block_item, b.next(), "preprepare.block");
  auto block = chain::Block::decode(block_item.encoded);
  if (!block.ok()) {
    return make_error("ibft.bad_block",
                      "preprepare.block: " + block.error().code + ": " + block.error().message);
  }
  p.proposal = std::move(block).value();
  IBFT_TRY_STATUS(b.expect_end(), "preprepare.body");
  CC_TRY_ASSIGN(p.signature, read_signature(r, kWhere));

  IBFT_TRY(auto rcs, r.next_list(), "preprepare.roundChanges");
  CC_TRY_STATUS(check_entries(rcs.remaining_items(), limits, "preprepare.roundChanges"));
  while (!rcs.at_end()) {
    const std::string at =
        "preprepare.roundChanges[" + std::to_string(p.round_change_certificate.size()) + "]";
    IBFT_TRY(auto pair, rcs.next_list(), at);
    IBFT_TRY(auto rc_body, pair.next(), at + ".body");
    CC_TRY_ASSIGN(auto rc_sig, read_signature(pair, at));
    IBFT_TRY_STATUS(pair.expect_end(), at);
    CC_TRY_ASSIGN(auto rc, decode_round_change_signed(rc_body, rc_sig, at));
    p.round_change_certificate.push_back(std::move(rc));
  }
  CC_TRY_ASSIGN(p.prepared_certificate,
                decode_prepare_list(r, limits, "preprepare.preparedCertificate"));
  IBFT_TRY_STATUS(r.expect_end(), "preprepare");
  CC_TRY_ASSIGN(p.sender,
                recover_sender(crypto::keccak256(body_item.encoded), p.signature, kWhere));
  return Message{std::move(p)};
}

#undef IBFT_TRY
#undef IBFT_TRY_STATUS

}  // namespace

std::string view_text(std::uint64_t height, std::uint32_t round) {
  return "height=" + std::to_string(height) + " round=" + std::to_string(round);
}

std::string_view to_string(MessageCode code) {
  switch (code) {
    case MessageCode::kPreprepare:
      return "preprepare";
    case MessageCode::kPrepare:
      return "prepare";
    case MessageCode::kCommit:
      return "commit";
    case MessageCode::kRoundChange:
      return "roundchange";
  }
  return "unknown";
}

// ---- Prepare ----

Bytes Prepare::encode_body() const {
  rlp::Encoder e(48);
  e.begin_list()
      .uint(static_cast<std::uint8_t>(MessageCode::kPrepare))
      .uint(height)
      .uint(round)
      .bytes(block_hash)
      .end_list();
  return e.finish();
}

Hash32 Prepare::digest() const { return crypto::keccak256(encode_body()); }

Bytes Prepare::encode() const {
  rlp::Encoder e(128);
  encode_signed(e, encode_body(), signature);
  return e.finish();
}

// ---- Commit ----

Bytes Commit::encode_body() const {
  rlp::Encoder e(48);
  e.begin_list()
      .uint(static_cast<std::uint8_t>(MessageCode::kCommit))
      .uint(height)
      .uint(round)
      .bytes(block_hash)
      .end_list();
  return e.finish();
}

Hash32 Commit::digest() const { return chain::commit_seal_digest(block_hash); }

Bytes Commit::encode() const {
  rlp::Encoder e(128);
  encode_signed(e, encode_body(), commit_seal);
  return e.finish();
}

// ---- RoundChange ----

Bytes RoundChange::encode_body() const {
  rlp::Encoder e(96);
  e.begin_list()
      .uint(static_cast<std::uint8_t>(MessageCode::kRoundChange))
      .uint(height)
      .uint(round)
      .bytes(parent_hash);
  encode_prepared(e, prepared);
  e.end_list();
  return e.finish();
}

Hash32 RoundChange::digest() const { return crypto::keccak256(encode_body()); }

Bytes RoundChange::encode() const {
  rlp::Encoder e(256 + 128 * prepared_certificate.size());
  e.begin_list().raw(encode_body()).bytes(signature).begin_list();
  for (const auto& p : prepared_certificate) encode_signed(e, p.encode_body(), p.signature);
  e.end_list().end_list();
  return e.finish();
}

// ---- Preprepare ----

Bytes Preprepare::encode_body() const {
  const Bytes block = proposal.encode();
  rlp::Encoder e(block.size() + 32);
  e.begin_list()
      .uint(static_cast<std::uint8_t>(MessageCode::kPreprepare))
      .uint(height)
      .uint(round)
      .raw(block)
      .end_list();
  return e.finish();
}

Hash32 Preprepare::digest() const { return crypto::keccak256(encode_body()); }

Bytes Preprepare::encode() const {
  const Bytes body = encode_body();
  rlp::Encoder e(body.size() + 256 +
                 128 * (round_change_certificate.size() + prepared_certificate.size()));
  e.begin_list().raw(body).bytes(signature).begin_list();
  for (const auto& rc : round_change_certificate) encode_signed(e, rc.encode_body(), rc.signature);
  e.end_list().begin_list();
  for (const auto& p : prepared_certificate) encode_signed(e, p.encode_body(), p.signature);
  e.end_list().end_list();
  return e.finish();
}

// ---- Message ----

MessageCode code_of(const Message& msg) {
  return static_cast<MessageCode>(msg.index());  // variant order == code order
}

std::uint64_t height_of(const Message& msg) {
  return std::visit([](const auto& m) { return m.height; }, msg);
}

std::uint32_t round_of(const Message& msg) {
  return std::visit([](const auto& m) { return m.round; }, msg);
}

const Address& sender_of(const Message& msg) {
  return std::visit([](const auto& m) -> const Address& { return m.sender; }, msg);
}

Hash32 digest_of(const Message& msg) {
  return std::visit([](const auto& m) { return m.digest(); }, msg);
}

Bytes encode_message(const Message& msg) {
  return std::visit([](const auto& m) { return m.encode(); }, msg);
}

Result<Message> decode_message(ByteView encoded, const DecodeLimits& limits) {
  if (encoded.size() > limits.max_message_bytes) {
    return make_error("ibft.too_large", "message of " + std::to_string(encoded.size()) +
                                            " bytes is above the limit of " +
                                            std::to_string(limits.max_message_bytes));
  }
  auto outer_item = rlp::decode_single(encoded);
  if (!outer_item.ok()) return malformed("message", outer_item.error());
  if (!outer_item->is_list) {
    return make_error("ibft.malformed", "message: expected a list [body, signature, ...]");
  }
  auto outer = rlp::ListReader::of(*outer_item);
  if (!outer.ok()) return malformed("message", outer.error());
  auto body = outer->next();
  if (!body.ok()) return malformed("message.body", body.error());
  if (!body->is_list) return make_error("ibft.malformed", "message.body: expected a list");
  std::uint64_t code = 0;
  {
    auto b = rlp::ListReader::of(*body);
    if (!b.ok()) return malformed("message.body", b.error());
    auto c = b->next_uint();
    if (!c.ok()) return malformed("message.code", c.error());
    code = *c;
  }
  switch (code) {
    case static_cast<std::uint64_t>(MessageCode::kPreprepare):
      return decode_preprepare(*outer, *body, limits);
    case static_cast<std::uint64_t>(MessageCode::kPrepare): {
      CC_TRY_ASSIGN(auto sig, read_signature(*outer, "prepare"));
      auto end = outer->expect_end();
      if (!end.ok()) return malformed("prepare", end.error());
      CC_TRY_ASSIGN(auto p, decode_prepare_signed(*body, sig, "prepare"));
      return Message{p};
    }
    case static_cast<std::uint64_t>(MessageCode::kCommit): {
      CC_TRY_ASSIGN(auto seal, read_signature(*outer, "commit"));
      auto end = outer->expect_end();
      if (!end.ok()) return malformed("commit", end.error());
      auto b = rlp::ListReader::of(*body);
      if (!b.ok()) return malformed("commit.body", b.error());
      (void)b->next_uint();  // the code, read above
      Commit c;
      auto h = b->next_uint();
      if (!h.ok()) return malformed("commit.height", h.error());
      c.height = *h;
      CC_TRY_ASSIGN(c.round, read_round(*b, "commit"));
      auto hash = b->next_fixed<32>();
      if (!hash.ok()) return malformed("commit.blockHash", hash.error());
      c.block_hash = *hash;
      auto body_end = b->expect_end();
      if (!body_end.ok()) return malformed("commit.body", body_end.error());
      c.commit_seal = seal;
      CC_TRY_ASSIGN(c.sender, recover_sender(c.digest(), seal, "commit"));
      return Message{c};
    }
    case static_cast<std::uint64_t>(MessageCode::kRoundChange): {
      CC_TRY_ASSIGN(auto sig, read_signature(*outer, "roundchange"));
      CC_TRY_ASSIGN(auto rc, decode_round_change_signed(*body, sig, "roundchange"));
      CC_TRY_ASSIGN(rc.prepared_certificate,
                    decode_prepare_list(*outer, limits, "roundchange.preparedCertificate"));
      auto end = outer->expect_end();
      if (!end.ok()) return malformed("roundchange", end.error());
      return Message{std::move(rc)};
    }
    default:
      return make_error("ibft.unknown_code", "message.code: " + std::to_string(code) +
                                                 " is not a consensus message (0..3)");
  }
}

}  // namespace cc::consensus
