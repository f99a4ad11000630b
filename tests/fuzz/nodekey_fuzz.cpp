// Fuzzes nodekey file parsing (operator-edited files, copies from other machines): parsing must
// never crash, and a key that parses must re-serialize to the canonical 64 lower-case hex that
// parses to the same key; its identity must be derivable.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "crypto/nodekey.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cc;
  std::string text(reinterpret_cast<const char*>(data), size);
  auto key = crypto::parse_nodekey(text, "fuzz");
  if (!key.ok()) {
    if (key.error().message.find("fuzz") == std::string::npos) std::abort();  // names the source
    return 0;
  }
  std::string canonical = to_hex(key->bytes());
  auto again = crypto::parse_nodekey(canonical, "fuzz");
  if (!again.ok() || again->bytes() != key->bytes()) std::abort();
  // Only the 64 hex digits (either case), optionally with one trailing newline, are accepted.
  std::string body = text.substr(0, 64);
  for (char& c : body) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string rest = text.substr(64);
  if (body != canonical || !(rest.empty() || rest == "\n" || rest == "\r\n")) std::abort();
  auto id = crypto::identity_of(*key);
  if (!crypto::validate_public_key(id.node_id).ok()) std::abort();
  return 0;
}
