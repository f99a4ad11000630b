#include "chain/block.h"

#include <string>

#include "crypto/address.h"
#include "crypto/keccak.h"

namespace cc::chain {
namespace {

constexpr std::size_t kHeaderFields = 11;

Error header_error(const std::string& code, const std::string& message) {
  return make_error("header." + code, "block header: " + message);
}

// Encodes the header with `extra` in place of its own extra.
Bytes encode_with_extra(const Header& h, ByteView extra) {
  rlp::Encoder enc;
  enc.begin_list()
      .bytes(h.parent_hash)
      .bytes(h.rewardbase)
      .bytes(h.state_root)
      .bytes(h.transactions_root)
      .bytes(h.receipts_root)
      .uint(h.block_score)
      .uint(h.number)
      .uint(h.gas_used)
      .uint(h.time)
      .uint(h.time_fos)
      .bytes(extra)
      .end_list();
  return enc.finish();
}

template <typename T>
Result<T> field(Result<T> r, const char* name) {
  if (!r.ok()) return r.error().context(std::string("block header ") + name);
  return r;
}

}  // namespace

// ---- Header ----

Bytes Header::encode() const { return encode_with_extra(*this, extra); }

Result<Header> Header::decode(ByteView encoded) {
  CC_TRY_ASSIGN(auto item, rlp::decode_single(encoded));
  return decode_item(item);
}

Result<Header> Header::decode_item(const rlp::Item& item) {
  if (!item.is_list) return header_error("not_list", "expected an RLP list, got a string");
  CC_TRY_ASSIGN(auto r, rlp::ListReader::of(item));
  if (r.remaining_items() != kHeaderFields) {
    return header_error("fields", "expected " + std::to_string(kHeaderFields) + " fields, got " +
                                      std::to_string(r.remaining_items()));
  }
  Header h;
  CC_TRY_ASSIGN(h.parent_hash, field(r.next_fixed<32>(), "parentHash"));
  CC_TRY_ASSIGN(h.rewardbase, field(r.next_fixed<20>(), "rewardbase"));
  CC_TRY_ASSIGN(h.state_root, field(r.next_fixed<32>(), "stateRoot"));
  CC_TRY_ASSIGN(h.transactions_root, field(r.next_fixed<32>(), "transactionsRoot"));
  CC_TRY_ASSIGN(h.receipts_root, field(r.next_fixed<32>(), "receiptsRoot"));
  CC_TRY_ASSIGN(h.block_score, field(r.next_uint(), "blockScore"));
  CC_TRY_ASSIGN(h.number, field(r.next_uint(), "number"));
  CC_TRY_ASSIGN(h.gas_used, field(r.next_uint(), "gasUsed"));
  CC_TRY_ASSIGN(h.time, field(r.next_uint(), "time"));
  CC_TRY_ASSIGN(auto fos, field(r.next_uint(), "timeFoS"));
  if (fos > kMaxTimeFoS) {
    return header_error("time_fos", "timeFoS must be 0.." + std::to_string(kMaxTimeFoS) +
                                        " (hundredths of a second), got " + std::to_string(fos));
  }
  h.time_fos = static_cast<std::uint8_t>(fos);
  CC_TRY_ASSIGN(auto extra, field(r.next_bytes(), "extra"));
  h.extra = to_bytes(extra);
  CC_TRY_STATUS(r.expect_end());
  return h;
}

Hash32 Header::hash() const {
  auto filtered = extra_for_hash(extra);
  if (!filtered.ok()) return crypto::keccak256(encode());
  return crypto::keccak256(encode_with_extra(*this, *filtered));
}

Result<Hash32> Header::sig_hash() const {
  CC_TRY_ASSIGN(auto filtered, extra_for_sig_hash(extra));
  return crypto::keccak256(encode_with_extra(*this, filtered));
}

// ---- Block ----

Bytes Block::encode() const {
  rlp::Encoder enc;
  enc.begin_list();
  enc.raw(header.encode());
  enc.begin_list();
  for (const auto& tx : transactions) enc.raw(tx.encode());
  enc.end_list();
  enc.end_list();
  return enc.finish();
}

namespace {

Result<Block> decode_block_item(const rlp::Item& item) {
  if (!item.is_list) return make_error("block.not_list", "block: expected an RLP list");
  CC_TRY_ASSIGN(auto r, rlp::ListReader::of(item));
  if (r.remaining_items() != 2) {
    return make_error("block.fields", "block: expected [header, transactions], got " +
                                          std::to_string(r.remaining_items()) + " items");
  }
  Block b;
  CC_TRY_ASSIGN(auto header_item, r.next());
  CC_TRY_ASSIGN(b.header, Header::decode_item(header_item));
  CC_TRY_ASSIGN(auto txs, r.next_list());
  for (std::size_t i = 0; !txs.at_end(); ++i) {
    CC_TRY_ASSIGN(auto tx_item, txs.next());
    auto tx = Transaction::decode(tx_item.encoded);
    if (!tx.ok()) {
      return tx.error().context("block " + std::to_string(b.header.number) + " transaction " +
                                std::to_string(i));
    }
    b.transactions.push_back(std::move(tx).value());
  }
  // remaining_items() stops counting at a malformed item; refuse anything after the txs.
  auto end = r.expect_end();
  if (!end.ok()) return end.error().context("block after the transactions");
  return b;
}

}  // namespace

Result<Block> Block::decode(ByteView encoded) {
  CC_TRY_ASSIGN(auto item, rlp::decode_single(encoded));
  return decode_block_item(item);
}

Result<Block> Block::decode_prefix(ByteView input, ByteView& rest) {
  CC_TRY_ASSIGN(auto item, rlp::decode_item(input, rest));
  return decode_block_item(item);
}

Result<std::vector<Block>> decode_block_stream(ByteView input) {
  std::vector<Block> out;
  std::size_t offset = 0;
  while (!input.empty()) {
    ByteView rest;
    auto b = Block::decode_prefix(input, rest);
    if (!b.ok()) {
      return b.error().context("block #" + std::to_string(out.size()) + " at byte offset " +
                               std::to_string(offset));
    }
    offset += input.size() - rest.size();
    out.push_back(std::move(b).value());
    input = rest;
  }
  return out;
}

// ---- seals ----

Hash32 commit_seal_digest(const Hash32& block_hash) {
  Bytes msg(block_hash.begin(), block_hash.end());
  msg.push_back(kCommitMsgType);
  return crypto::keccak256(msg);
}

Result<Address> recover_proposer(const Header& header) {
  CC_TRY_ASSIGN(auto x, header.istanbul_extra());
  if (x.proposer_seal.size() != kSealSize) {
    return make_error("header.no_seal",
                      "block " + std::to_string(header.number) + " has no proposer seal");
  }
  CC_TRY_ASSIGN(auto digest, header.sig_hash());
  crypto::Signature sig{};
  for (std::size_t i = 0; i < kSealSize; ++i) sig[i] = x.proposer_seal[i];
  CC_TRY_ASSIGN(auto pub, crypto::recover(digest, sig));
  return crypto::address_of(pub);
}

Result<Address> recover_committer(const Hash32& block_hash, const crypto::Signature& seal) {
  CC_TRY_ASSIGN(auto pub, crypto::recover(commit_seal_digest(block_hash), seal));
  return crypto::address_of(pub);
}

}  // namespace cc::chain
