#include "localnet/manifest.h"

#include <nlohmann/json.hpp>

#include <set>

#include "util/files.h"

namespace cc::localnet {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::json;

std::string mf_relative(const fs::path& p, const fs::path& dir) {
  if (p.empty() || dir.empty()) return p.string();
  fs::path rel = p.lexically_relative(dir);
  // Outside D (or on another root): keep it absolute rather than write "../../..".
  if (rel.empty() || *rel.begin() == "..") return p.string();
  return rel.string();
}

fs::path mf_resolve(const std::string& text, const fs::path& dir) {
  fs::path p(text);
  return p.is_absolute() ? p : (dir / p).lexically_normal();
}

// Field readers: each error names the file, the object and the field.
struct MfReader {
  const json& obj;
  std::string where;  // e.g. "network.json: nodes[3] (pn-1-1)"

  Error missing(const std::string& field, const std::string& expected) const {
    return make_error("localnet.manifest",
                      where + ": field \"" + field + "\" must be " + expected +
                          " (the file is written by `corecell localnet init`; re-create it "
                          "instead of editing it)");
  }
  Result<std::string> str(const std::string& field) const {
    auto it = obj.find(field);
    if (it == obj.end() || !it->is_string()) return missing(field, "a string");
    return it->get<std::string>();
  }
  Result<std::uint64_t> uint(const std::string& field, std::uint64_t max) const {
    auto it = obj.find(field);
    if (it == obj.end() || !it->is_number_unsigned() || it->get<std::uint64_t>() > max) {
      return missing(field, "an integer 0.." + std::to_string(max));
    }
    return it->get<std::uint64_t>();
  }
  Result<bool> boolean(const std::string& field) const {
    auto it = obj.find(field);
    if (it == obj.end() || !it->is_boolean()) return missing(field, "true or false");
    return it->get<bool>();
  }
};

Result<NodeRole> mf_role(const std::string& text, const MfReader& r) {
  if (text == "cn") return NodeRole::cn;
  if (text == "pn") return NodeRole::pn;
  if (text == "en") return NodeRole::en;
  return r.missing("role", "\"cn\", \"pn\" or \"en\"");
}

}  // namespace

const NodeEntry* Manifest::find(std::string_view name) const {
  for (const auto& n : nodes) {
    if (n.name == name) return &n;
  }
  return nullptr;
}

std::string Manifest::names() const {
  std::string out;
  for (const auto& n : nodes) out += (out.empty() ? "" : ", ") + n.name;
  return out;
}

fs::path manifest_path(const fs::path& dir) { return dir / kManifestFile; }

std::string manifest_to_json(const Manifest& m) {
  json j;
  j["version"] = kManifestVersion;
  j["chainId"] = m.chain_id;
  j["networkId"] = m.network_id;
  j["genesis"] = mf_relative(m.genesis, m.dir);
  j["accounts"] = mf_relative(m.accounts, m.dir);
  j["council"] = m.council;
  json nodes = json::array();
  for (const auto& n : m.nodes) {
    json o = {{"name", n.name},
              {"cell", n.cell},
              {"role", role_text(n.role)},
              {"standby", n.standby},
              {"ip", n.ip},
              {"p2pPort", n.p2p_port},
              {"rpcUrl", n.rpc_url},
              {"metricsUrl", n.metrics_url},
              {"dataDir", mf_relative(n.data_dir, m.dir)},
              {"conf", mf_relative(n.conf, m.dir)},
              {"log", mf_relative(n.log, m.dir)},
              {"address", n.address},
              {"nodeId", n.node_id},
              {"kni", n.kni},
              {"autoRestart", n.auto_restart}};
    if (n.has_agent()) {
      o["haConf"] = mf_relative(n.ha_conf, m.dir);
      o["haLog"] = mf_relative(n.ha_log, m.dir);
      o["hostIp"] = n.host_ip;
    }
    nodes.push_back(std::move(o));
  }
  j["nodes"] = nodes;
  return j.dump(2) + "\n";
}

Result<Manifest> parse_manifest(std::string_view text, const fs::path& dir,
                                const std::string& source) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return make_error("localnet.manifest", source +
                                               ": not a JSON object (re-create it with "
                                               "`corecell localnet init`)");
  }
  MfReader top{j, source};
  CC_TRY_ASSIGN(auto version, top.uint("version", 1000));
  if (version != kManifestVersion) {
    return make_error("localnet.manifest", source + ": version " + std::to_string(version) +
                                               " is not supported (this "
                                               "corecell reads version " +
                                               std::to_string(kManifestVersion) + ")");
  }
  Manifest m;
  m.dir = dir;
  CC_TRY_ASSIGN(m.chain_id, top.uint("chainId", 9223372036854775807ULL));
  CC_TRY_ASSIGN(m.network_id, top.uint("networkId", 9223372036854775807ULL));
  CC_TRY_ASSIGN(auto genesis, top.str("genesis"));
  CC_TRY_ASSIGN(auto accounts, top.str("accounts"));
  m.genesis = mf_resolve(genesis, dir);
  m.accounts = mf_resolve(accounts, dir);
  auto council = j.find("council");
  if (council == j.end() || !council->is_array()) {
    return top.missing("council", "an array of addresses");
  }
  for (const auto& a : *council) {
    if (!a.is_string()) return top.missing("council", "an array of address strings");
    m.council.push_back(a.get<std::string>());
  }
  auto nodes = j.find("nodes");
  if (nodes == j.end() || !nodes->is_array() || nodes->empty()) {
    return top.missing("nodes", "a non-empty array of node objects");
  }
  std::set<std::string> seen;
  for (std::size_t i = 0; i < nodes->size(); ++i) {
    const json& o = (*nodes)[i];
    std::string where = source + ": nodes[" + std::to_string(i) + "]";
    if (!o.is_object()) return make_error("localnet.manifest", where + ": not an object");
    MfReader r{o, where};
    NodeEntry n;
    CC_TRY_ASSIGN(n.name, r.str("name"));
    r.where += " (" + n.name + ")";
    if (n.name.empty() || !seen.insert(n.name).second) {
      return r.missing("name", "a non-empty name used by no other node");
    }
    CC_TRY_ASSIGN(n.cell, r.uint("cell", 1000000));
    CC_TRY_ASSIGN(auto role, r.str("role"));
    CC_TRY_ASSIGN(n.role, mf_role(role, r));
    CC_TRY_ASSIGN(n.standby, r.boolean("standby"));
    CC_TRY_ASSIGN(n.ip, r.str("ip"));
    CC_TRY_ASSIGN(auto port, r.uint("p2pPort", 65535));
    n.p2p_port = static_cast<std::uint16_t>(port);
    CC_TRY_ASSIGN(n.rpc_url, r.str("rpcUrl"));
    CC_TRY_ASSIGN(n.metrics_url, r.str("metricsUrl"));
    CC_TRY_ASSIGN(auto data_dir, r.str("dataDir"));
    CC_TRY_ASSIGN(auto conf, r.str("conf"));
    CC_TRY_ASSIGN(auto log, r.str("log"));
    n.data_dir = mf_resolve(data_dir, dir);
    n.conf = mf_resolve(conf, dir);
    n.log = mf_resolve(log, dir);
    CC_TRY_ASSIGN(n.address, r.str("address"));
    CC_TRY_ASSIGN(n.node_id, r.str("nodeId"));
    CC_TRY_ASSIGN(n.kni, r.str("kni"));
    CC_TRY_ASSIGN(n.auto_restart, r.boolean("autoRestart"));
    if (o.contains("haConf")) {
      CC_TRY_ASSIGN(auto ha_conf, r.str("haConf"));
      CC_TRY_ASSIGN(auto ha_log, r.str("haLog"));
      CC_TRY_ASSIGN(n.host_ip, r.str("hostIp"));
      n.ha_conf = mf_resolve(ha_conf, dir);
      n.ha_log = mf_resolve(ha_log, dir);
    }
    m.nodes.push_back(std::move(n));
  }
  return m;
}

Result<Manifest> load_manifest(const fs::path& dir_in) {
  std::error_code ec;
  fs::path dir = fs::absolute(dir_in, ec).lexically_normal();
  if (ec) dir = dir_in;
  if (!dir.empty() && dir.filename().empty()) dir = dir.parent_path();  // drop a trailing '/'
  const fs::path path = manifest_path(dir);
  if (!fs::exists(path, ec)) {
    return make_error("localnet.no_manifest",
                      path.string() + " does not exist: " + dir.string() +
                          " is not a localnet directory (create one with `corecell localnet "
                          "init --dir " +
                          dir.string() + "`)");
  }
  CC_TRY_ASSIGN(auto text, read_file(path, std::size_t{16} << 20));
  return parse_manifest(text, dir, path.string());
}

}  // namespace cc::localnet
