// Fuzzes genesis parsing (an operator-supplied file): parsing must never crash or throw, and a
// parsed genesis must survive write -> parse unchanged and yield a genesis block.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "chain/genesis.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cc::chain;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto g = parse_genesis(text);
  if (!g.ok()) {
    if (g.error().message.empty()) std::abort();
    return 0;
  }
  auto again = parse_genesis(genesis_to_json(*g));
  if (!again.ok() || !(*again == *g)) std::abort();
  if (genesis_hash(*again) != genesis_hash(*g)) std::abort();
  return 0;
}
