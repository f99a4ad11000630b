#include "snapshot/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <cryptopp/sha.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <optional>
#include <sstream>

#include "util/bytes.h"
#include "util/files.h"

namespace cc::snapshot {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr std::size_t kChunk = std::size_t{1} << 20;
constexpr std::size_t kMaxMetaBytes = std::size_t{64} << 20;  // manifest and trailer

struct ArchiveWriteDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct ArchiveReadDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
using WriteHandle = std::unique_ptr<archive, ArchiveWriteDeleter>;
using ReadHandle = std::unique_ptr<archive, ArchiveReadDeleter>;

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

class Sha256 {
 public:
  void update(const std::uint8_t* data, std::size_t n) { h_.Update(data, n); }
  std::string hex() {
    std::array<std::uint8_t, CryptoPP::SHA256::DIGESTSIZE> d{};
    h_.Final(d.data());
    return to_hex(ByteView(d.data(), d.size()));
  }

 private:
  CryptoPP::SHA256 h_;
};

// A manifest path must stay inside the chaindata directory when extracted.
bool safe_relative_path(const std::string& p) {
  if (p.empty() || p.front() == '/' || p.size() > 4096) return false;
  std::string_view rest = p;
  while (!rest.empty()) {
    const auto slash = rest.find('/');
    const std::string_view part = rest.substr(0, slash);
    if (part.empty() || part == "." || part == "..") return false;
    if (part.find('\0') != std::string_view::npos) return false;
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return true;
}

// An entry's path (libarchive may have none for a damaged header).
std::string entry_name(archive_entry* e) {
  const char* name = archive_entry_pathname(e);
  return name ? name : "";
}

// libarchive's last message (it may have none).
std::string la_message(archive* a) {
  const char* msg = archive_error_string(a);
  return msg ? msg : "unknown libarchive error";
}

Error archive_error(archive* a, const std::string& what, const fs::path& file) {
  const std::string text = la_message(a);
  const bool truncated = text.find("runcated") != std::string::npos ||
                         text.find("premature") != std::string::npos ||
                         text.find("Premature") != std::string::npos;
  return Error{truncated ? "snapshot.truncated" : "snapshot.corrupt",
               file.string() + ": " + what + ": " + text +
                   (truncated ? " (the archive is cut short: copy it again)"
                              : " (the archive is damaged: copy or create it again)")};
}

std::string checksum_lines(const std::vector<ManifestFile>& files) {
  std::string out;
  for (const auto& f : files) out += f.sha256 + "  " + kDataPrefix + f.path + "\n";
  return out;
}

Result<std::map<std::string, std::string>> parse_checksums(const std::string& text,
                                                           const fs::path& file) {
  std::map<std::string, std::string> sums;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto sep = line.find("  ");
    if (sep != 64 || line.size() <= 66) {
      return make_error("snapshot.corrupt",
                        file.string() + ": " + kChecksumEntry + " has a malformed line: " + line);
    }
    std::string name = line.substr(sep + 2);
    if (name.rfind(kDataPrefix, 0) != 0) {
      return make_error("snapshot.corrupt", file.string() + ": " + kChecksumEntry +
                                                " names a file outside chaindata/: " + name);
    }
    sums[name.substr(std::string(kDataPrefix).size())] = line.substr(0, 64);
  }
  return sums;
}

// Reads the current entry's data whole (for the manifest and the trailer).
Result<std::string> read_small_entry(archive* a, archive_entry* e, const fs::path& file) {
  const la_int64_t size = archive_entry_size(e);
  if (size < 0 || static_cast<std::uint64_t>(size) > kMaxMetaBytes) {
    return make_error("snapshot.corrupt",
                      file.string() + ": entry " + entry_name(e) + " has an implausible size");
  }
  std::string out(static_cast<std::size_t>(size), '\0');
  std::size_t got = 0;
  while (got < out.size()) {
    const la_ssize_t n = archive_read_data(a, out.data() + got, out.size() - got);
    if (n < 0) return archive_error(a, "reading " + entry_name(e), file);
    if (n == 0) {
      return make_error("snapshot.truncated",
                        file.string() + ": " + entry_name(e) + " is cut short");
    }
    got += static_cast<std::size_t>(n);
  }
  return out;
}

// Where restored data goes (nothing when only verifying).
struct Sink {
  fs::path root;  // empty: verify only
};

Result<Manifest> scan_archive(const fs::path& file, bool read_data, const Sink& sink,
                              const ProgressFn& progress) {
  ReadHandle a(archive_read_new());
  archive_read_support_filter_zstd(a.get());
  archive_read_support_format_tar(a.get());
  if (::access(file.c_str(), R_OK) != 0) {
    return make_error("snapshot.open",
                      "cannot open snapshot " + file.string() + ": " + errno_text(errno));
  }
  if (archive_read_open_filename(a.get(), file.c_str(), kChunk) != ARCHIVE_OK) {
    // libarchive reads the first block here: a readable file it cannot open is no archive.
    return make_error("snapshot.not_a_snapshot",
                      file.string() + " is not a corecell snapshot (a zstd-compressed tar): " +
                          la_message(a.get()));
  }
  archive_entry* e = nullptr;
  int r = archive_read_next_header(a.get(), &e);
  if (r == ARCHIVE_EOF) {
    return make_error("snapshot.not_a_snapshot", file.string() + " is an empty archive");
  }
  if (r != ARCHIVE_OK) {
    return make_error("snapshot.not_a_snapshot",
                      file.string() + " is not a corecell snapshot (a zstd-compressed tar): " +
                          la_message(a.get()));
  }
  if (entry_name(e) != kManifestEntry) {
    return make_error("snapshot.not_a_snapshot", file.string() + " does not start with " +
                                                     kManifestEntry + " (found " + entry_name(e) +
                                                     "): not a corecell snapshot");
  }
  CC_TRY_ASSIGN(auto text, read_small_entry(a.get(), e, file));
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return make_error("snapshot.manifest",
                      file.string() + ": " + kManifestEntry + " is not valid JSON");
  }
  auto parsed = Manifest::from_json(j);
  if (!parsed.ok()) return parsed.error().context(file.string());
  Manifest m = std::move(*parsed);
  if (!read_data) return m;

  const std::uint64_t total = m.total_bytes();
  std::uint64_t done = 0;
  std::vector<std::uint8_t> buf(kChunk);
  for (auto& f : m.files) {
    r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) {
      return make_error("snapshot.truncated", file.string() + " ends before chaindata/" + f.path +
                                                  " (the archive is cut short: copy it again)");
    }
    if (r != ARCHIVE_OK) return archive_error(a.get(), "reading the entry of " + f.path, file);
    const std::string name = entry_name(e);
    if (name != kDataPrefix + f.path) {
      return make_error("snapshot.corrupt", file.string() + ": expected chaindata/" + f.path +
                                                " next (manifest order), found " + name);
    }
    if (archive_entry_size(e) != static_cast<la_int64_t>(f.size)) {
      return make_error("snapshot.corrupt", file.string() + ": " + name + " is " +
                                                std::to_string(archive_entry_size(e)) +
                                                " bytes, the manifest says " +
                                                std::to_string(f.size));
    }
    std::optional<Fd> out;
    fs::path target;
    if (!sink.root.empty()) {
      target = sink.root / f.path;
      std::error_code ec;
      fs::create_directories(target.parent_path(), ec);
      out.emplace(::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
      if (out->fd < 0) {
        return make_error("snapshot.write",
                          "cannot create " + target.string() + ": " + errno_text(errno));
      }
    }
    Sha256 sha;
    std::uint64_t got = 0;
    for (;;) {
      const la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
      if (n < 0) return archive_error(a.get(), "reading " + name, file);
      if (n == 0) break;
      sha.update(buf.data(), static_cast<std::size_t>(n));
      if (out) {
        std::size_t off = 0;
        while (off < static_cast<std::size_t>(n)) {
          const ssize_t w = ::write(out->fd, buf.data() + off, static_cast<std::size_t>(n) - off);
          if (w < 0) {
            if (errno == EINTR) continue;
            return make_error("snapshot.write",
                              "writing " + target.string() + ": " + errno_text(errno));
          }
          off += static_cast<std::size_t>(w);
        }
      }
      got += static_cast<std::uint64_t>(n);
      done += static_cast<std::uint64_t>(n);
      if (progress) progress(done, total);
    }
    if (got != f.size) {
      return make_error("snapshot.truncated", file.string() + ": " + name + " has " +
                                                  std::to_string(got) + " of " +
                                                  std::to_string(f.size) + " bytes");
    }
    if (out && ::fsync(out->fd) != 0) {
      return make_error("snapshot.write", "fsync " + target.string() + ": " + errno_text(errno));
    }
    f.sha256 = sha.hex();
  }
  r = archive_read_next_header(a.get(), &e);
  if (r == ARCHIVE_EOF) {
    return make_error("snapshot.truncated", file.string() + " ends before its checksums (" +
                                                kChecksumEntry + "): the archive is cut short");
  }
  if (r != ARCHIVE_OK) return archive_error(a.get(), "reading the checksums", file);
  if (entry_name(e) != kChecksumEntry) {
    return make_error("snapshot.corrupt", file.string() + ": expected " + kChecksumEntry +
                                              " after the data, found " + entry_name(e));
  }
  CC_TRY_ASSIGN(auto sums_text, read_small_entry(a.get(), e, file));
  CC_TRY_ASSIGN(auto sums, parse_checksums(sums_text, file));
  for (const auto& f : m.files) {
    auto it = sums.find(f.path);
    if (it == sums.end()) {
      return make_error("snapshot.corrupt",
                        file.string() + ": no checksum for chaindata/" + f.path);
    }
    if (it->second != f.sha256) {
      return make_error("snapshot.corrupt", file.string() + ": chaindata/" + f.path +
                                                " does not match its checksum (sha256 " + f.sha256 +
                                                ", recorded " + it->second + ")");
    }
  }
  if (sums.size() != m.files.size()) {
    return make_error("snapshot.corrupt",
                      file.string() + ": " + kChecksumEntry + " lists files the manifest does not");
  }
  r = archive_read_next_header(a.get(), &e);
  if (r != ARCHIVE_EOF) {
    return make_error("snapshot.corrupt",
                      file.string() + " has data after its checksums (" +
                          (r == ARCHIVE_OK ? entry_name(e) : std::string("unreadable")) + ")");
  }
  return m;
}

Status write_entry_header(archive* a, const std::string& name, std::uint64_t size,
                          const fs::path& out) {
  std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(),
                                                             archive_entry_free);
  archive_entry_set_pathname(e.get(), name.c_str());
  archive_entry_set_size(e.get(), static_cast<la_int64_t>(size));
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), 0644);
  if (archive_write_header(a, e.get()) != ARCHIVE_OK) {
    return make_error("snapshot.write",
                      out.string() + ": writing the header of " + name + ": " + la_message(a));
  }
  return ok_status();
}

Status write_all(archive* a, const void* data, std::size_t n, const fs::path& out) {
  const auto* p = static_cast<const char*>(data);
  while (n > 0) {
    const la_ssize_t w = archive_write_data(a, p, n);
    if (w < 0) {
      return make_error("snapshot.write", out.string() + ": " + la_message(a));
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return ok_status();
}

Result<std::vector<ManifestFile>> list_files(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return make_error("snapshot.source", dir.string() + " is not a directory");
  }
  std::vector<ManifestFile> files;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const auto st = it->symlink_status(ec);
    if (ec) break;
    if (fs::is_directory(st)) continue;
    const std::string rel = fs::relative(it->path(), dir, ec).generic_string();
    if (!fs::is_regular_file(st)) {
      return make_error("snapshot.source", it->path().string() +
                                               " is not a regular file (a symlink or special "
                                               "file): a chaindata directory has none");
    }
    files.push_back(ManifestFile{rel, static_cast<std::uint64_t>(fs::file_size(it->path())), ""});
  }
  if (ec) return make_error("snapshot.source", "reading " + dir.string() + ": " + ec.message());
  std::sort(files.begin(), files.end(),
            [](const ManifestFile& x, const ManifestFile& y) { return x.path < y.path; });
  return files;
}

}  // namespace

std::uint64_t Manifest::total_bytes() const {
  std::uint64_t n = 0;
  for (const auto& f : files) n += f.size;
  return n;
}

json Manifest::to_json() const {
  json fl = json::array();
  for (const auto& f : files) {
    json o = {{"path", f.path}, {"size", f.size}};
    if (!f.sha256.empty()) o["sha256"] = f.sha256;
    fl.push_back(std::move(o));
  }
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
          {"files", std::move(fl)}};
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
  auto files = j.find("files");
  if (files == j.end() || !files->is_array()) {
    return make_error("snapshot.manifest", "the manifest has no \"files\" array");
  }
  for (std::size_t i = 0; i < files->size(); ++i) {
    const json& f = (*files)[i];
    const std::string where = "manifest files[" + std::to_string(i) + "]";
    if (!f.is_object() || !f.contains("path") || !f["path"].is_string() || !f.contains("size") ||
        !f["size"].is_number_unsigned()) {
      return make_error("snapshot.manifest", where +
                                                 " needs a string \"path\" and an unsigned "
                                                 "\"size\"");
    }
    ManifestFile mf{f["path"].get<std::string>(), f["size"].get<std::uint64_t>(), ""};
    if (!safe_relative_path(mf.path)) {
      return make_error("snapshot.manifest", where + " path \"" + mf.path +
                                                 "\" is not a plain relative path inside "
                                                 "chaindata/ (refused: it could escape the "
                                                 "data directory)");
    }
    if (!m.files.empty() && !(m.files.back().path < mf.path)) {
      return make_error("snapshot.manifest", where + " is out of order or a duplicate");
    }
    m.files.push_back(std::move(mf));
  }
  return m;
}

Result<Manifest> write_archive(const fs::path& chaindata_dir, const fs::path& out, Manifest header,
                               const ProgressFn& progress) {
  std::error_code ec;
  if (fs::exists(out, ec)) {
    return make_error("snapshot.exists",
                      out.string() + " already exists: choose another --out or remove it");
  }
  CC_TRY_ASSIGN(header.files, list_files(chaindata_dir));
  const fs::path partial = out.string() + ".partial";
  fs::remove(partial, ec);  // a leftover of an interrupted run
  struct Cleanup {
    fs::path path;
    bool keep = false;
    ~Cleanup() {
      std::error_code ignored;
      if (!keep) fs::remove(path, ignored);
    }
  } cleanup{partial};

  WriteHandle a(archive_write_new());
  archive_write_add_filter_zstd(a.get());
  archive_write_set_format_pax_restricted(a.get());
  if (archive_write_open_filename(a.get(), partial.c_str()) != ARCHIVE_OK) {
    return make_error("snapshot.write",
                      "cannot create " + partial.string() + ": " + la_message(a.get()));
  }
  const std::string manifest_text = header.to_json().dump(2) + "\n";
  CC_TRY_STATUS(write_entry_header(a.get(), kManifestEntry, manifest_text.size(), out));
  CC_TRY_STATUS(write_all(a.get(), manifest_text.data(), manifest_text.size(), out));

  const std::uint64_t total = header.total_bytes();
  std::uint64_t done = 0;
  std::vector<std::uint8_t> buf(kChunk);
  for (auto& f : header.files) {
    const fs::path src = chaindata_dir / f.path;
    Fd in(::open(src.c_str(), O_RDONLY | O_CLOEXEC));
    if (in.fd < 0) {
      return make_error("snapshot.source",
                        "cannot read " + src.string() + ": " + errno_text(errno));
    }
    CC_TRY_STATUS(write_entry_header(a.get(), kDataPrefix + f.path, f.size, out));
    Sha256 sha;
    std::uint64_t got = 0;
    while (got < f.size) {
      const ssize_t n =
          ::read(in.fd, buf.data(),
                 static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), f.size - got)));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        return make_error("snapshot.source", "reading " + src.string() + ": " + errno_text(errno));
      }
      if (n == 0) break;
      sha.update(buf.data(), static_cast<std::size_t>(n));
      CC_TRY_STATUS(write_all(a.get(), buf.data(), static_cast<std::size_t>(n), out));
      got += static_cast<std::uint64_t>(n);
      done += static_cast<std::uint64_t>(n);
      if (progress) progress(done, total);
    }
    if (got != f.size) {
      return make_error("snapshot.source", src.string() + " shrank while it was archived (" +
                                               std::to_string(got) + " of " +
                                               std::to_string(f.size) +
                                               " bytes): is the node still writing? Stop it, or "
                                               "use the online mode (a checkpoint)");
    }
    f.sha256 = sha.hex();
  }
  const std::string sums = checksum_lines(header.files);
  CC_TRY_STATUS(write_entry_header(a.get(), kChecksumEntry, sums.size(), out));
  CC_TRY_STATUS(write_all(a.get(), sums.data(), sums.size(), out));
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    return make_error("snapshot.write",
                      "finishing " + partial.string() + ": " + la_message(a.get()));
  }
  {
    Fd f(::open(partial.c_str(), O_RDONLY | O_CLOEXEC));
    if (f.fd < 0 || ::fsync(f.fd) != 0) {
      return make_error("snapshot.write", "fsync " + partial.string() + ": " + errno_text(errno));
    }
  }
  fs::rename(partial, out, ec);
  if (ec) {
    return make_error("snapshot.write",
                      "renaming " + partial.string() + " to " + out.string() + ": " + ec.message());
  }
  cleanup.keep = true;
  CC_TRY_STATUS(fsync_dir(out.has_parent_path() ? out.parent_path() : fs::path(".")));
  return header;
}

Result<Manifest> read_archive(const fs::path& archive, bool verify, const ProgressFn& progress) {
  return scan_archive(archive, verify, Sink{}, progress);
}

Result<Manifest> restore_archive(const fs::path& archive, const fs::path& dest,
                                 const ProgressFn& progress) {
  std::error_code ec;
  if (fs::exists(dest, ec)) {
    return make_error("snapshot.exists",
                      dest.string() + " already exists: restore into a new directory");
  }
  const fs::path partial = dest.string() + ".partial";
  fs::remove_all(partial, ec);  // a leftover of an interrupted restore
  if (!fs::create_directory(partial, ec) || ec) {
    return make_error("snapshot.write", "cannot create " + partial.string() + ": " +
                                            (ec ? ec.message() : std::string("exists")));
  }
  auto m = scan_archive(archive, /*read_data=*/true, Sink{partial}, progress);
  if (!m.ok()) {
    fs::remove_all(partial, ec);
    return m.error();
  }
  CC_TRY_STATUS(fsync_dir(partial));
  fs::rename(partial, dest, ec);
  if (ec) {
    fs::remove_all(partial, ec);
    return make_error("snapshot.write", "renaming " + partial.string() + " to " + dest.string() +
                                            ": " + ec.message());
  }
  CC_TRY_STATUS(fsync_dir(dest.has_parent_path() ? dest.parent_path() : fs::path(".")));
  return m;
}

}  // namespace cc::snapshot
