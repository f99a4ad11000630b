#include "p2p/static_nodes.h"

#include <nlohmann/json.hpp>

#include <map>
#include <system_error>

#include "util/bytes.h"
#include "util/files.h"

namespace cc::p2p {
namespace fs = std::filesystem;
namespace {

constexpr const char* kExpectedForm =
    "the file must be a JSON array of kni URL strings, e.g. "
    "[\"kni://<128-hex node ID>@10.0.0.1:32323?ntype=cn\"]";

// A bounded, printable excerpt of an entry for a warning line (the file may hold anything).
std::string excerpt(std::string_view s) {
  constexpr std::size_t kMax = 48;
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  }
  if (s.size() > kMax) out += "...";
  return "\"" + out + "\"";
}

bool present(const fs::path& p) {
  std::error_code ec;
  return fs::exists(fs::symlink_status(p, ec));
}

}  // namespace

std::vector<fs::path> static_nodes_candidates(const fs::path& data_dir) {
  return {data_dir / "static-nodes.json", data_dir / "klay" / "static-nodes.json"};
}

Result<StaticNodes> parse_static_nodes(std::string_view text, const std::string& source) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    return make_error("static_nodes.malformed",
                      source + " is not valid JSON (" + e.what() + "); " + kExpectedForm);
  }
  if (!doc.is_array()) {
    return make_error("static_nodes.not_array", source + " holds a JSON " +
                                                    std::string(doc.type_name()) +
                                                    ", not an array; " + kExpectedForm);
  }
  StaticNodes out;
  std::map<crypto::PublicKey, std::size_t> first_index;  // node ID -> entry that holds it
  for (std::size_t i = 0; i < doc.size(); ++i) {
    const auto& entry = doc[i];
    const std::string where = source + " entry " + std::to_string(i);
    if (!entry.is_string()) {
      out.warnings.push_back(where + " skipped: it is a JSON " + std::string(entry.type_name()) +
                             ", not a kni URL string");
      continue;
    }
    const auto& text_entry = entry.get_ref<const std::string&>();
    auto url = KniUrl::parse(text_entry);
    if (!url.ok()) {
      out.warnings.push_back(where + " " + excerpt(text_entry) +
                             " skipped: " + url.error().message);
      continue;
    }
    auto [it, inserted] = first_index.emplace(url->node_id, i);
    if (!inserted) {
      out.warnings.push_back(where + " skipped: node ID " +
                             to_hex(ByteView(url->node_id).first(8)) +
                             "... is already listed in entry " + std::to_string(it->second) +
                             " (one connection per node ID; remove the duplicate)");
      continue;
    }
    out.nodes.push_back(std::move(*url));
  }
  return out;
}

Result<StaticNodes> load_static_nodes(const fs::path& data_dir) {
  const auto candidates = static_nodes_candidates(data_dir);
  for (std::size_t k = 0; k < candidates.size(); ++k) {
    const fs::path& path = candidates[k];
    if (!present(path)) continue;
    auto text = read_file(path, kMaxStaticNodesFileBytes);
    if (!text.ok()) {
      return make_error("static_nodes.read", "static nodes file: " + text.error().message +
                                                 "; fix the file or remove it");
    }
    CC_TRY_ASSIGN(StaticNodes nodes, parse_static_nodes(*text, path.string()));
    nodes.path = path;
    for (std::size_t later = k + 1; later < candidates.size(); ++later) {
      if (present(candidates[later])) {
        nodes.warnings.push_back(candidates[later].string() + " is ignored because " +
                                 path.string() + " exists (it takes precedence); keep one of them");
      }
    }
    return nodes;
  }
  return StaticNodes{};
}

}  // namespace cc::p2p
