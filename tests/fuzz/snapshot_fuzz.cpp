// Fuzzes the snapshot decoders with arbitrary bytes: the manifest (JSON -> Manifest) and a whole
// archive file (libarchive + zstd, then our manifest, entry order and checksum trailer). Neither
// may crash; an accepted manifest names only plain relative paths, in order, and says what it
// read back.
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
  }
  static const std::filesystem::path file =
      std::filesystem::temp_directory_path() / ("cc-fuzz-snapshot-" + std::to_string(::getpid()));
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  (void)read_archive(file, /*verify=*/true);
  return 0;
}
