// Fuzzes kni:// URL parsing (static-nodes.json entries and flags): parsing must never crash, and
// whatever parses must print to a canonical form that parses back to an equal URL and prints
// identically.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "p2p/kni.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cc;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto url = p2p::KniUrl::parse(text);
  if (!url.ok()) return 0;
  std::string printed = url->to_string();
  auto again = p2p::KniUrl::parse(printed);
  if (!again.ok() || !(*again == *url) || again->to_string() != printed) std::abort();
  return 0;
}
