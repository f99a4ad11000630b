#include "chain/extra.h"

#include <string>

#include "codec/rlp.h"

namespace cc::chain {
namespace {

Error extra_error(const std::string& code, const std::string& message) {
  return make_error("extra." + code, "header extra: " + message);
}

Bytes encode_with(const IstanbulExtra& x, bool keep_proposer_seal, bool keep_committed_seals) {
  rlp::Encoder enc;
  enc.begin_list().begin_list();
  for (const auto& v : x.validators) enc.bytes(v);
  enc.end_list();
  enc.bytes(keep_proposer_seal ? ByteView{x.proposer_seal} : ByteView{});
  enc.begin_list();
  if (keep_committed_seals) {
    for (const auto& s : x.committed_seals) enc.bytes(s);
  }
  enc.end_list().end_list();
  Bytes body = enc.finish();
  Bytes out(x.vanity.begin(), x.vanity.end());
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

}  // namespace

Bytes encode_extra(const IstanbulExtra& extra) { return encode_with(extra, true, true); }

Result<IstanbulExtra> decode_extra(ByteView extra) {
  if (extra.size() < kExtraVanity) {
    return extra_error("short", "expected at least " + std::to_string(kExtraVanity) +
                                    " bytes of vanity, got " + std::to_string(extra.size()) +
                                    " bytes");
  }
  IstanbulExtra out;
  for (std::size_t i = 0; i < kExtraVanity; ++i) out.vanity[i] = extra[i];

  auto top = rlp::ListReader::open(extra.subspan(kExtraVanity));
  if (!top.ok()) return top.error().context("header extra after the vanity");
  if (top->remaining_items() != 3) {
    return extra_error("fields", "expected RLP list [validators, seal, committedSeals], got " +
                                     std::to_string(top->remaining_items()) + " items");
  }

  auto validators = top->next_list();
  if (!validators.ok()) return validators.error().context("header extra validators");
  for (std::size_t i = 0; !validators->at_end(); ++i) {
    auto addr = validators->next_fixed<20>();
    if (!addr.ok()) {
      return addr.error().context("header extra validators[" + std::to_string(i) + "]");
    }
    out.validators.push_back(*addr);
  }

  auto seal = top->next_bytes();
  if (!seal.ok()) return seal.error().context("header extra proposer seal");
  if (!seal->empty() && seal->size() != kSealSize) {
    return extra_error("seal_size", "proposer seal must be empty or " + std::to_string(kSealSize) +
                                        " bytes, got " + std::to_string(seal->size()));
  }
  out.proposer_seal = to_bytes(*seal);

  auto committed = top->next_list();
  if (!committed.ok()) return committed.error().context("header extra committed seals");
  for (std::size_t i = 0; !committed->at_end(); ++i) {
    auto s = committed->next_fixed<kSealSize>();
    if (!s.ok()) return s.error().context("header extra committedSeals[" + std::to_string(i) + "]");
    out.committed_seals.push_back(*s);
  }
  // remaining_items() stops counting at a malformed item, so bytes after the third item must
  // be refused explicitly.
  auto end = top->expect_end();
  if (!end.ok()) return end.error().context("header extra after committedSeals");
  return out;
}

Result<Bytes> extra_for_hash(ByteView extra) {
  CC_TRY_ASSIGN(auto x, decode_extra(extra));
  return encode_with(x, true, false);
}

Result<Bytes> extra_for_sig_hash(ByteView extra) {
  CC_TRY_ASSIGN(auto x, decode_extra(extra));
  return encode_with(x, false, false);
}

}  // namespace cc::chain
