// Fuzzes the snapshot and CN image decoders with arbitrary bytes: the manifests (JSON ->
// Manifest, ImageManifest) and a whole archive file read as either (libarchive + zstd, then our
// manifest, entry order and checksum trailer). None may crash; an accepted snapshot manifest names
// only plain relative paths, in order, an accepted image manifest only normal absolute targets,
// and each says what it read back.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "snapshot/archive.h"
#include "snapshot/image.h"

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cc::snapshot;
  if (size > (std::size_t{1} << 20)) return 0;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto doc = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (!doc.is_discarded()) {
    auto m = Manifest::from_json(doc);
    if (m.ok()) {
      check(m->format_version == kFormatVersion);
      for (std::size_t i = 0; i < m->files.size(); ++i) {
        const std::string& p = m->files[i].path;
        const std::string framed = "/" + p + "/";
        check(!p.empty() && p.front() != '/' && framed.find("/../") == std::string::npos &&
              framed.find("/./") == std::string::npos && framed.find("//") == std::string::npos);
        if (i > 0) check(m->files[i - 1].path < p);
      }
      auto again = Manifest::from_json(m->to_json());
      check(again.ok() && again->files == m->files && again->head_hash == m->head_hash);
    }
    auto im = ImageManifest::from_json(doc);
    if (im.ok()) {
      for (const auto& f : im->files) {
        check(f.target.is_absolute() && f.target.lexically_normal() == f.target);
      }
      // An image with an agent has its own format version, and absolute places for its keys.
      check(im->ha.has_value() == (im->format_version == kHaImageFormatVersion));
      if (im->ha) check(im->ha->standby_nodekey.is_absolute() && im->ha->conf.is_absolute());
      auto again = ImageManifest::from_json(im->to_json());
      check(again.ok() && again->files.size() == im->files.size() && again->conf == im->conf &&
            again->to_json() == im->to_json());
    }
  }
  static const std::filesystem::path file =
      std::filesystem::temp_directory_path() / ("cc-fuzz-snapshot-" + std::to_string(::getpid()));
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  (void)read_archive(file, /*verify=*/true);
  (void)read_image(file, /*verify=*/true);
  return 0;
}
