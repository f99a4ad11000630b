#include "snapshot/archive.h"

#include "snapshot/detail/bundle.h"

namespace cc::snapshot {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr detail::BundleLayout kLayout{"snapshot", kManifestEntry, kChecksumEntry, kDataPrefix};

// The snapshot manifest of a bundle, with the files (and their checksums) the scan found.
Result<Manifest> to_manifest(const detail::Bundle& b, const fs::path& file) {
  auto m = Manifest::from_json(b.manifest);
  if (!m.ok()) return m.error().context(file.string());
  m->files = b.files;
  return m;
}

}  // namespace

std::uint64_t Manifest::total_bytes() const {
  std::uint64_t n = 0;
  for (const auto& f : files) n += f.size;
  return n;
}

json Manifest::to_json() const {
  return {{"format", "corecell-snapshot"},
          {"formatVersion", format_version},
          {"chainId", chain_id},
          {"genesisHash", genesis_hash},
          {"headNumber", head_number},
          {"headHash", head_hash},
          {"created", created},
          {"sourceNode", source_node},
          {"mode", mode},
          {"totalBytes", total_bytes()},
          {"files", detail::bundle_files_json(files)}};
}

Result<Manifest> Manifest::from_json(const json& j) {
  if (!j.is_object() || j.value("format", "") != "corecell-snapshot") {
    return make_error("snapshot.manifest",
                      "the manifest is not a corecell snapshot manifest (\"format\" is not "
                      "\"corecell-snapshot\")");
  }
  Manifest m;
  auto v = j.find("formatVersion");
  if (v == j.end() || !v->is_number_integer()) {
    return make_error("snapshot.manifest", "the manifest has no integer \"formatVersion\"");
  }
  m.format_version = v->get<int>();
  if (m.format_version != kFormatVersion) {
    return make_error("snapshot.version",
                      "snapshot format version " + std::to_string(m.format_version) +
                          " is not one this corecell reads (version " +
                          std::to_string(kFormatVersion) +
                          "): use the corecell release that wrote it, or create the snapshot "
                          "again");
  }
  auto u64 = [&](const char* key, std::uint64_t& out) -> Status {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_unsigned()) {
      return make_error("snapshot.manifest", std::string("the manifest field \"") + key +
                                                 "\" is missing or not an "
                                                 "unsigned integer");
    }
    out = it->get<std::uint64_t>();
    return ok_status();
  };
  auto str = [&](const char* key, std::string& out) -> Status {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) {
      return make_error("snapshot.manifest", std::string("the manifest field \"") + key +
                                                 "\" is missing or not a string");
    }
    out = it->get<std::string>();
    return ok_status();
  };
  CC_TRY_STATUS(u64("chainId", m.chain_id));
  CC_TRY_STATUS(str("genesisHash", m.genesis_hash));
  CC_TRY_STATUS(u64("headNumber", m.head_number));
  CC_TRY_STATUS(str("headHash", m.head_hash));
  CC_TRY_STATUS(str("created", m.created));
  CC_TRY_STATUS(str("sourceNode", m.source_node));
  CC_TRY_STATUS(str("mode", m.mode));
  CC_TRY_ASSIGN(m.files, detail::parse_bundle_files(j));
  return m;
}

Result<Manifest> write_archive(const fs::path& chaindata_dir, const fs::path& out, Manifest header,
                               const ProgressFn& progress) {
  std::error_code ec;
  if (fs::exists(out, ec)) {
    return make_error("snapshot.exists",
                      out.string() + " already exists: choose another --out or remove it");
  }
  CC_TRY_ASSIGN(auto sources, detail::list_dir_sources(chaindata_dir));
  CC_TRY_ASSIGN(header.files,
                detail::write_bundle(kLayout, sources, header.to_json(), out, progress));
  return header;
}

Result<Manifest> read_archive(const fs::path& archive, bool verify, const ProgressFn& progress) {
  CC_TRY_ASSIGN(auto b, detail::scan_bundle(kLayout, archive, verify, {}, progress));
  return to_manifest(b, archive);
}

Result<Manifest> restore_archive(const fs::path& archive, const fs::path& dest,
                                 const ProgressFn& progress) {
  // The manifest is checked before any data is written: a foreign or newer archive stops here.
  CC_TRY_ASSIGN(auto head, read_archive(archive, false));
  (void)head;
  CC_TRY_ASSIGN(auto b, detail::restore_bundle(kLayout, archive, dest, progress));
  return to_manifest(b, archive);
}

}  // namespace cc::snapshot
