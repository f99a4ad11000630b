#include "snapshot/image.h"

#include <unistd.h>

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

#include "chain/genesis.h"
#include "crypto/address.h"
#include "crypto/keystore.h"
#include "crypto/nodekey.h"
#include "ha/config.h"
#include "node/config.h"
#include "node/datadir.h"
#include "snapshot/detail/bundle.h"
#include "storage/signjournal.h"
#include "util/bytes.h"
#include "util/files.h"
#include "util/process.h"

namespace cc::snapshot {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr detail::BundleLayout kImageLayout{"image", "corecell-image.json", "corecell-image.sha256",
                                            "root/"};

// The entry path of a target: its absolute path without the leading '/'.
std::string entry_path(const fs::path& target) { return target.relative_path().generic_string(); }

bool inside(const fs::path& p, const fs::path& dir) {
  const auto rel = p.lexically_relative(dir);
  return !rel.empty() && *rel.begin() != "..";
}

Result<ImageManifest> to_image(const detail::Bundle& b, const fs::path& file) {
  auto m = ImageManifest::from_json(b.manifest);
  if (!m.ok()) return m.error().context(file.string());
  if (m->files.size() != b.files.size()) {
    return make_error("snapshot.manifest", file.string() + ": the image lists " +
                                               std::to_string(m->files.size()) + " contents for " +
                                               std::to_string(b.files.size()) + " files");
  }
  for (std::size_t i = 0; i < b.files.size(); ++i) {
    if (entry_path(m->files[i].target) != b.files[i].path) {
      return make_error("snapshot.manifest", file.string() + ": contents[" + std::to_string(i) +
                                                 "] does not match files[" + std::to_string(i) +
                                                 "]");
    }
    m->files[i].size = b.files[i].size;
    m->files[i].sha256 = b.files[i].sha256;
  }
  return m;
}

fs::path normal(const fs::path& p) { return fs::absolute(p).lexically_normal(); }

ImageHa ha_section(const ha::AgentConfig& a) {
  ImageHa h;
  h.conf = normal(a.conf_path);
  h.name = a.name;
  h.validator_backup = normal(a.validator_backup);
  h.passphrase_file = normal(a.passphrase_file);
  h.standby_nodekey = normal(a.standby_nodekey);
  h.state_dir = normal(a.state_dir);
  h.cell_ip = a.cell_ip;
  h.host_ip = a.host_ip;
  if (a.lease_kind == "local") {
    h.lease = "local " + normal(a.lease_file).string();
  } else {
    h.lease = a.lease_kind;
    for (std::size_t i = 0; i < a.etcd.endpoints.size(); ++i) {
      h.lease += (i == 0 ? " " : ",") + a.etcd.endpoints[i];
    }
  }
  return h;
}

// Whose CN an HA host is. Not its nodekey: that is the validator's only while the host is
// active (its standby key otherwise). HA_VALIDATOR_ADDRESS, else the address the validator
// backup records in clear text; provisioning refuses any other key (provision.wrong_node).
Result<std::string> ha_validator(const ha::AgentConfig& a) {
  std::optional<std::string> from_backup;
  if (auto text = read_file(a.validator_backup, 1 << 20); text.ok()) {
    auto info = crypto::inspect_backup(*text, a.validator_backup.string());
    if (info.ok()) from_backup = crypto::to_checksum_hex(info->address);
  }
  if (a.expected_address) {
    const std::string expected = crypto::to_checksum_hex(*a.expected_address);
    if (from_backup && *from_backup != expected) {
      return make_error("snapshot.source", a.conf_path.string() + ": HA_VALIDATOR_ADDRESS is " +
                                               expected + " but " + a.validator_backup.string() +
                                               " holds the key of " + *from_backup +
                                               ": the agent would refuse to start; fix one");
    }
    return expected;
  }
  if (!from_backup) {
    return make_error("snapshot.source",
                      a.conf_path.string() +
                          ": cannot tell which validator this host guards (no "
                          "HA_VALIDATOR_ADDRESS, and no readable backup at " +
                          a.validator_backup.string() +
                          "): set HA_VALIDATOR_ADDRESS, so that provisioning refuses any other "
                          "key");
  }
  return *from_backup;
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

}  // namespace

json ImageManifest::to_json() const {
  json contents = json::array();
  for (const auto& f : files) {
    contents.push_back(
        {{"target", f.target.string()}, {"role", f.role}, {"executable", f.executable}});
  }
  return {{"format", "corecell-image"},
          {"formatVersion", format_version},
          {"created", created},
          {"sourceHost", source_host},
          {"conf", conf.string()},
          {"dataDir", data_dir.string()},
          {"publicIp", public_ip},
          {"port", port},
          {"chainId", chain_id},
          {"genesisHash", genesis_hash},
          {"council", council},
          {"nodeAddress", node_address},
          {"contents", std::move(contents)},
          {"ha", ha ? json{{"conf", ha->conf.string()},
                           {"name", ha->name},
                           {"validatorKeyBackup", ha->validator_backup.string()},
                           {"passphraseFile", ha->passphrase_file.string()},
                           {"standbyNodekey", ha->standby_nodekey.string()},
                           {"stateDir", ha->state_dir.string()},
                           {"cellIp", ha->cell_ip},
                           {"hostIp", ha->host_ip},
                           {"lease", ha->lease}}
                    : json(nullptr)}};
}

Result<ImageManifest> ImageManifest::from_json(const json& j) {
  if (!j.is_object() || j.value("format", "") != "corecell-image") {
    return make_error("snapshot.manifest",
                      "the manifest is not a corecell image manifest (\"format\" is not "
                      "\"corecell-image\"): is this a snapshot?");
  }
  ImageManifest m;
  auto v = j.find("formatVersion");
  if (v == j.end() || !v->is_number_integer()) {
    return make_error("snapshot.manifest", "the image manifest has no integer \"formatVersion\"");
  }
  m.format_version = v->get<int>();
  if (m.format_version != kImageFormatVersion && m.format_version != kHaImageFormatVersion) {
    return make_error("snapshot.version", "image format version " +
                                              std::to_string(m.format_version) +
                                              " is not one this corecell reads (versions " +
                                              std::to_string(kImageFormatVersion) + " and " +
                                              std::to_string(kHaImageFormatVersion) + ")");
  }
  auto field_of = [](const json& obj, const std::string& where, const char* key,
                     auto check) -> Result<json> {
    auto it = obj.find(key);
    if (it == obj.end() || !check(*it)) {
      return make_error("snapshot.manifest", "the image manifest field \"" + where + key +
                                                 "\" is missing or has the wrong type");
    }
    return *it;
  };
  auto field = [&](const char* key, auto check) { return field_of(j, "", key, check); };
  auto is_str = [](const json& x) { return x.is_string(); };
  auto is_uint = [](const json& x) { return x.is_number_unsigned(); };
  CC_TRY_ASSIGN(auto created, field("created", is_str));
  CC_TRY_ASSIGN(auto host, field("sourceHost", is_str));
  CC_TRY_ASSIGN(auto conf, field("conf", is_str));
  CC_TRY_ASSIGN(auto data_dir, field("dataDir", is_str));
  CC_TRY_ASSIGN(auto public_ip, field("publicIp", is_str));
  CC_TRY_ASSIGN(auto port, field("port", is_uint));
  CC_TRY_ASSIGN(auto chain_id, field("chainId", is_uint));
  CC_TRY_ASSIGN(auto genesis, field("genesisHash", is_str));
  CC_TRY_ASSIGN(auto council, field("council", [](const json& x) { return x.is_array(); }));
  CC_TRY_ASSIGN(auto address, field("nodeAddress", is_str));
  CC_TRY_ASSIGN(auto contents, field("contents", [](const json& x) { return x.is_array(); }));
  m.created = created.get<std::string>();
  m.source_host = host.get<std::string>();
  m.conf = conf.get<std::string>();
  m.data_dir = data_dir.get<std::string>();
  m.public_ip = public_ip.get<std::string>();
  if (port.get<std::uint64_t>() > 65535) {
    return make_error("snapshot.manifest", "the image manifest's \"port\" is above 65535");
  }
  m.port = static_cast<std::uint16_t>(port.get<std::uint64_t>());
  m.chain_id = chain_id.get<std::uint64_t>();
  m.genesis_hash = genesis.get<std::string>();
  for (const auto& c : council) {
    if (!c.is_string()) return make_error("snapshot.manifest", "council entries must be strings");
    m.council.push_back(c.get<std::string>());
  }
  m.node_address = address.get<std::string>();
  if (!m.conf.is_absolute() || !m.data_dir.is_absolute()) {
    return make_error("snapshot.manifest", "the image's conf and dataDir must be absolute paths");
  }
  for (std::size_t i = 0; i < contents.size(); ++i) {
    const json& c = contents[i];
    if (!c.is_object() || !c.contains("target") || !c["target"].is_string() ||
        !c.contains("role") || !c["role"].is_string() || !c.contains("executable") ||
        !c["executable"].is_boolean()) {
      return make_error("snapshot.manifest", "image contents[" + std::to_string(i) +
                                                 "] needs \"target\", \"role\", \"executable\"");
    }
    ImageFile f;
    f.target = c["target"].get<std::string>();
    f.role = c["role"].get<std::string>();
    f.executable = c["executable"].get<bool>();
    if (!f.target.is_absolute() || f.target.lexically_normal() != f.target) {
      return make_error("snapshot.manifest", "image contents[" + std::to_string(i) + "] target \"" +
                                                 f.target.string() +
                                                 "\" is not a normal absolute path");
    }
    m.files.push_back(std::move(f));
  }
  const auto ha = j.find("ha");
  const bool has_ha = ha != j.end() && !ha->is_null();
  if (has_ha != (m.format_version == kHaImageFormatVersion)) {
    return make_error("snapshot.manifest",
                      "an image of format version " + std::to_string(m.format_version) +
                          (has_ha ? " cannot carry" : " must carry") + " an \"ha\" section");
  }
  if (has_ha) {
    if (!ha->is_object()) return make_error("snapshot.manifest", "\"ha\" must be an object");
    std::vector<std::string> text;
    for (const char* key : {"conf", "name", "validatorKeyBackup", "passphraseFile",
                            "standbyNodekey", "stateDir", "cellIp", "hostIp", "lease"}) {
      CC_TRY_ASSIGN(auto x, field_of(*ha, "ha.", key, is_str));
      text.push_back(x.get<std::string>());
    }
    ImageHa h{text[0], text[1], text[2], text[3], text[4], text[5], text[6], text[7], text[8]};
    for (const auto* p :
         {&h.conf, &h.validator_backup, &h.passphrase_file, &h.standby_nodekey, &h.state_dir}) {
      if (!p->is_absolute()) {
        return make_error("snapshot.manifest",
                          "the image's \"ha\" paths must be absolute (" + p->string() + ")");
      }
    }
    m.ha = std::move(h);
  }
  return m;
}

const ImageFile* ImageManifest::find_role(std::string_view role) const {
  for (const auto& f : files) {
    if (f.role == role) return &f;
  }
  return nullptr;
}

fs::path staged_path(const fs::path& staging, const ImageFile& file) {
  return staging / "root" / file.target.relative_path();
}

Result<ImageManifest> create_image(const ImageCreateOptions& o, const ProgressFn& progress) {
  std::error_code ec;
  if (fs::exists(o.out, ec)) {
    return make_error("snapshot.exists",
                      o.out.string() + " already exists: choose another --out or remove it");
  }
  std::optional<ha::AgentConfig> agent;
  if (!o.ha_conf.empty()) {
    auto a = ha::load_agent_config(o.ha_conf);
    if (!a.ok()) return Error{"snapshot.source", a.error().message};
    agent = std::move(*a);
  }
  if (o.conf.empty() && !agent) {
    return make_error("snapshot.source",
                      "no conf: give --conf (the CN's kcnd.conf), or --ha-conf "
                      "(an HA host's agent conf) whose HA_NODE_CONF is used");
  }
  const fs::path conf = normal(o.conf.empty() ? agent->node_conf : o.conf);
  if (agent && normal(agent->node_conf) != conf) {
    return make_error("snapshot.source", agent->conf_path.string() + ": HA_NODE_CONF is " +
                                             agent->node_conf.string() + " but --conf is " +
                                             conf.string() +
                                             ": an image is of one CN; leave --conf out to take "
                                             "the agent's");
  }
  auto cfg = node::load_node_config(node::Role::cn, conf);
  if (!cfg.ok()) return Error{"snapshot.source", cfg.error().message};
  if (cfg->genesis.empty()) {
    return make_error("snapshot.source", conf.string() +
                                             ": GENESIS is not set; an image must carry the "
                                             "genesis its CN runs with");
  }
  auto genesis = chain::load_genesis_file(cfg->genesis);
  if (!genesis.ok()) return Error{"snapshot.source", genesis.error().message};

  ImageManifest m;
  m.created = storage::format_rfc3339_ms(std::chrono::system_clock::now());
  m.source_host = host_name();
  m.conf = conf;
  m.data_dir = fs::absolute(cfg->data_dir).lexically_normal();
  m.public_ip = cfg->public_ip;
  m.port = cfg->port;
  m.chain_id = genesis->config.chain_id;
  m.genesis_hash = to_hex0x(chain::genesis_block(*genesis).hash());
  for (const auto& a : genesis->council) m.council.push_back(crypto::to_checksum_hex(a));
  const fs::path key_file = crypto::nodekey_path_in(m.data_dir);
  if (fs::exists(key_file, ec)) {
    auto id = crypto::load_nodekey_file(key_file);
    if (!id.ok()) return Error{"snapshot.source", id.error().message};
    m.node_address = crypto::to_checksum_hex(id->address);
  }
  if (agent) {
    m.format_version = kHaImageFormatVersion;
    m.ha = ha_section(*agent);
    CC_TRY_ASSIGN(m.node_address, ha_validator(*agent));
  }

  fs::path binary = o.binary;
  if (binary.empty()) {
    CC_TRY_ASSIGN(auto self, util::self_exe());
    binary = self;
  }
  const fs::path lease_file =
      agent && agent->lease_kind == "local" ? normal(agent->lease_file) : fs::path();
  std::vector<ImageFile> files;
  auto add = [&](const std::string& role, const fs::path& path, bool executable) -> Status {
    const fs::path target = fs::absolute(path).lexically_normal();
    if (!fs::is_regular_file(target, ec)) {
      return make_error("snapshot.source",
                        target.string() + " (" + role + ") is not a regular file; fix the path");
    }
    if (inside(target, node::klay_dir(m.data_dir))) {
      return make_error("snapshot.source", target.string() +
                                               " is inside DATA_DIR/klay (keys, chaindata, sign "
                                               "state): an image never carries them");
    }
    if (m.ha) {
      if (inside(target, m.ha->state_dir)) {
        return make_error("snapshot.source", target.string() +
                                                 " is inside the agent's HA_STATE_DIR (its "
                                                 "socket, logs, events, standby key): an image "
                                                 "never carries them");
      }
      for (const auto& [key, path] : {std::pair{"HA_VALIDATOR_KEY_BACKUP", m.ha->validator_backup},
                                      {"HA_PASSPHRASE_FILE", m.ha->passphrase_file},
                                      {"HA_STANDBY_NODEKEY", m.ha->standby_nodekey}}) {
        if (target == path) {
          return make_error("snapshot.source",
                            target.string() + " is the agent's " + key +
                                ": an image never carries keys (provision installs the "
                                "validator key's backup and passphrase, and makes the standby "
                                "key)");
        }
      }
      // A copy of the local lease would put an old epoch back on the new machine.
      if (!lease_file.empty() &&
          (target == lease_file || target == fs::path(lease_file.string() + ".lock"))) {
        return make_error("snapshot.source", target.string() +
                                                 " is the agent's HA_LEASE_FILE (or its lock): "
                                                 "the lease is shared state, never copied");
      }
    }
    for (const auto& f : files) {
      if (f.target == target) return ok_status();  // named twice
    }
    files.push_back(ImageFile{role, target, 0, "", executable});
    return ok_status();
  };
  CC_TRY_STATUS(add("binary", binary, true));
  CC_TRY_STATUS(add("conf", conf, false));
  CC_TRY_STATUS(add("genesis", cfg->genesis, false));
  const fs::path statics = node::static_nodes_path_in_use(m.data_dir);
  if (fs::exists(statics, ec) && !inside(statics, node::klay_dir(m.data_dir))) {
    CC_TRY_STATUS(add("static-nodes", statics, false));
  }
  if (agent) {
    CC_TRY_STATUS(add("ha-conf", agent->conf_path, false));
    for (const fs::path& script : {agent->notify_script, agent->ip.script}) {
      if (!script.empty()) CC_TRY_STATUS(add("extra", script, true));
    }
    if (normal(agent->service.node_exe) != normal(binary)) {
      CC_TRY_STATUS(add("extra", agent->service.node_exe, true));  // HA_NODE_BIN
    }
  }
  for (const auto& x : o.extra) {
    const bool exec = ::access(x.c_str(), X_OK) == 0;
    CC_TRY_STATUS(add("extra", x, exec));
  }
  // The bundle wants its files sorted by entry path.
  std::sort(files.begin(), files.end(), [](const ImageFile& a, const ImageFile& b) {
    return entry_path(a.target) < entry_path(b.target);
  });
  std::vector<detail::BundleSource> sources;
  for (auto& f : files) {
    f.size = static_cast<std::uint64_t>(fs::file_size(f.target, ec));
    sources.push_back({f.target, ManifestFile{entry_path(f.target), f.size, ""}});
  }
  m.files = std::move(files);
  CC_TRY_ASSIGN(auto written,
                detail::write_bundle(kImageLayout, sources, m.to_json(), o.out, progress));
  for (std::size_t i = 0; i < written.size(); ++i) m.files[i].sha256 = written[i].sha256;
  return m;
}

Result<ImageManifest> read_image(const fs::path& image, bool verify) {
  CC_TRY_ASSIGN(auto b, detail::scan_bundle(kImageLayout, image, verify, {}, {}));
  return to_image(b, image);
}

Result<ImageManifest> extract_image(const fs::path& image, const fs::path& staging) {
  CC_TRY_ASSIGN(auto head, read_image(image, false));
  (void)head;
  std::error_code ec;
  if (fs::exists(staging, ec) || !fs::create_directories(staging, ec)) {
    return make_error("snapshot.write", "cannot create the staging directory " + staging.string() +
                                            (ec ? ": " + ec.message() : ": it exists"));
  }
  auto b = detail::restore_bundle(kImageLayout, image, staging / "root", {});
  if (!b.ok()) {
    fs::remove_all(staging, ec);
    return b.error();
  }
  return to_image(*b, image);
}

}  // namespace cc::snapshot
