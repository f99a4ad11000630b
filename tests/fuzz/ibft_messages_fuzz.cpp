// Fuzz target: consensus message decoding (consensus/messages.h) and the certificate rules
// (consensus/justification.h). Properties: decoding never crashes; whatever decodes re-encodes to
// exactly the input (decoding is strict and canonical, so no two encodings share a message); the
// justification checks never crash on a decoded message, against a council made of its signers.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>

#include "chain/council.h"
#include "consensus/justification.h"
#include "consensus/messages.h"

using namespace cc;
using namespace cc::consensus;

namespace {

void collect(const Message& m, std::set<Address>& out) {
  out.insert(sender_of(m));
  if (const auto* rc = std::get_if<RoundChange>(&m)) {
    for (const auto& p : rc->prepared_certificate) out.insert(p.sender);
  } else if (const auto* pp = std::get_if<Preprepare>(&m)) {
    for (const auto& r : pp->round_change_certificate) out.insert(r.sender);
    for (const auto& p : pp->prepared_certificate) out.insert(p.sender);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  DecodeLimits limits;
  limits.max_message_bytes = 1u << 20;
  limits.max_certificate_entries = 16;
  auto m = decode_message(ByteView(data, size), limits);
  if (!m.ok()) return 0;
  const Bytes again = encode_message(*m);
  if (again.size() != size || !std::equal(again.begin(), again.end(), data)) std::abort();

  std::set<Address> signers;
  collect(*m, signers);
  auto council = chain::Council::make(std::vector<Address>(signers.begin(), signers.end()));
  if (!council.ok()) return 0;
  const std::uint64_t height = height_of(*m);
  if (const auto* rc = std::get_if<RoundChange>(&*m)) {
    (void)check_round_change(*rc, *council, height, rc->parent_hash);
  } else if (const auto* pp = std::get_if<Preprepare>(&*m)) {
    (void)justify_preprepare(*pp, *council, pp->proposal.header.parent_hash);
  }
  return 0;
}
