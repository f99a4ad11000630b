#include "snapshot/image.h"

#include <unistd.h>

#include <set>

#include "chain/genesis.h"
#include "crypto/address.h"
#include "crypto/nodekey.h"
#include "node/config.h"
#include "node/datadir.h"
#include "snapshot/detail/bundle.h"
#include "storage/signjournal.h"
#include "util/bytes.h"
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
          {"contents", std::move(contents)}};
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
  if (m.format_version != kImageFormatVersion) {
    return make_error("snapshot.version", "image format version " +
                                              std::to_string(m.format_version) +
                                              " is not one this corecell reads (version " +
                                              std::to_string(kImageFormatVersion) + ")");
  }
  auto field = [&](const char* key, auto check) -> Result<json> {
    auto it = j.find(key);
    if (it == j.end() || !check(*it)) {
      return make_error("snapshot.manifest", std::string("the image manifest field \"") + key +
                                                 "\" is missing or has the wrong type");
    }
    return *it;
  };
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
  const fs::path conf = fs::absolute(o.conf).lexically_normal();
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

  fs::path binary = o.binary;
  if (binary.empty()) {
    CC_TRY_ASSIGN(auto self, util::self_exe());
    binary = self;
  }
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
