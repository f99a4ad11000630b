// Fuzzes the kcnd.conf parser and the NodeConfig loader with arbitrary bytes: no crash, no
// unbounded work, and these properties on every input:
//  - a parsed file has valid key names, positive increasing line numbers, bounded values;
//  - the loader never accepts text the parser rejects;
//  - a loaded config rendered with to_conf_text loads back to the same text (for every role).
// An input starting with '!' uses its first line as a KEY=VALUE override (a command-line flag).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "node/conf_file.h"
#include "node/config.h"

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cc::node;
  if (size > kMaxConfFileBytes + 1024) return 0;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  std::vector<ConfigOverride> overrides;
  if (!text.empty() && text[0] == '!') {
    std::size_t nl = text.find('\n');
    std::string_view first = text.substr(1, nl == std::string_view::npos ? text.npos : nl - 1);
    auto o = parse_override(first, "--fuzz");
    if (o.ok()) overrides.push_back(*o);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  }

  auto file = parse_conf(text, "fuzz.conf");
  if (file.ok()) {
    int last_line = 0;
    for (const auto& e : file->entries) {
      check(is_conf_key_name(e.key));
      check(e.line > last_line);
      check(e.value.size() <= kMaxConfValueBytes);
      last_line = e.line;
    }
  }

  for (Role role : {Role::cn, Role::pn, Role::en}) {
    auto cfg = node_config_from_text(role, text, "fuzz.conf", "/", overrides);
    if (!cfg.ok()) {
      check(!cfg.error().message.empty());
      continue;
    }
    check(file.ok());
    std::string rendered = to_conf_text(*cfg);
    auto again = node_config_from_text(role, rendered, "rendered.conf", "/", {});
    check(again.ok());
    check(to_conf_text(*again) == rendered);
  }
  return 0;
}
