// Fuzzes the static-nodes.json parser with arbitrary bytes: it must never crash or throw, and on
// every input it accepts: each array entry becomes exactly one node or one warning, node IDs are
// unique, and each node prints to a kni URL that parses back to the same node.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string_view>

#include <nlohmann/json.hpp>

#include "p2p/static_nodes.h"

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cc::p2p;
  if (size > kMaxStaticNodesFileBytes) return 0;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = parse_static_nodes(text, "fuzz.json");
  auto doc = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (!parsed.ok()) {
    check(doc.is_discarded() || !doc.is_array());
    return 0;
  }
  check(!doc.is_discarded() && doc.is_array());
  check(parsed->nodes.size() + parsed->warnings.size() == doc.size());
  check(!parsed->path.has_value());
  std::set<cc::crypto::PublicKey> ids;
  for (const auto& node : parsed->nodes) {
    check(ids.insert(node.node_id).second);
    auto again = KniUrl::parse(node.to_string());
    check(again.ok() && *again == node);
  }
  return 0;
}
