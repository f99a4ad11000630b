#include "snapshot/detail/bundle.h"

#include <archive.h>
#include <archive_entry.h>
#include <cryptopp/sha.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "util/bytes.h"
#include "util/files.h"

namespace cc::snapshot::detail {
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

// SHA-256 on a thread of its own, so hashing overlaps reading, compressing and writing (the
// archive's checksums cost about as much CPU as the I/O; docs/BENCHMARKS.md). Chunks are copied
// into recycled buffers; at most kDepth wait, so memory stays flat.
class HashPipe {
 public:
  HashPipe() : worker_([this] { loop(); }) {}
  HashPipe(const HashPipe&) = delete;
  HashPipe& operator=(const HashPipe&) = delete;
  ~HashPipe() {
    {
      std::lock_guard<std::mutex> l(m_);
      stop_ = true;
    }
    cv_.notify_all();
    worker_.join();
  }

  void update(const std::uint8_t* data, std::size_t n) {
    std::vector<std::uint8_t> chunk;
    {
      std::unique_lock<std::mutex> l(m_);
      cv_.wait(l, [&] { return queue_.size() < kDepth; });
      if (!spare_.empty()) {
        chunk = std::move(spare_.back());
        spare_.pop_back();
      }
    }
    chunk.assign(data, data + n);
    push(Item{std::move(chunk), false});
  }

  // The digest of everything updated since the last finish().
  std::string finish() {
    push(Item{{}, true});
    std::unique_lock<std::mutex> l(m_);
    cv_.wait(l, [&] { return digest_.has_value(); });
    std::string hex = std::move(*digest_);
    digest_.reset();
    return hex;
  }

 private:
  static constexpr std::size_t kDepth = 8;
  struct Item {
    std::vector<std::uint8_t> data;
    bool end = false;
  };

  void push(Item item) {
    {
      std::lock_guard<std::mutex> l(m_);
      queue_.push_back(std::move(item));
    }
    cv_.notify_all();
  }

  void loop() {
    Sha256 sha;
    for (;;) {
      Item item;
      {
        std::unique_lock<std::mutex> l(m_);
        cv_.wait(l, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping
        item = std::move(queue_.front());
        queue_.pop_front();
      }
      cv_.notify_all();  // room in the queue
      if (item.end) {
        std::string hex = sha.hex();  // Final() also restarts the hash for the next file
        {
          std::lock_guard<std::mutex> l(m_);
          digest_ = std::move(hex);
        }
        cv_.notify_all();
        continue;
      }
      sha.update(item.data.data(), item.data.size());
      std::lock_guard<std::mutex> l(m_);
      spare_.push_back(std::move(item.data));
    }
  }

  std::mutex m_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  std::vector<std::vector<std::uint8_t>> spare_;
  std::optional<std::string> digest_;
  bool stop_ = false;
  std::thread worker_;  // last: starts once the members it uses exist
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

std::string checksum_lines(const BundleLayout& layout, const std::vector<ManifestFile>& files) {
  std::string out;
  for (const auto& f : files) out += f.sha256 + "  " + layout.data_prefix + f.path + "\n";
  return out;
}

Result<std::map<std::string, std::string>> parse_checksums(const BundleLayout& layout,
                                                           const std::string& text,
                                                           const fs::path& file) {
  const std::string prefix = layout.data_prefix;
  std::map<std::string, std::string> sums;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto sep = line.find("  ");
    if (sep != 64 || line.size() <= 66) {
      return make_error("snapshot.corrupt", file.string() + ": " + layout.checksum_entry +
                                                " has a malformed line: " + line);
    }
    std::string name = line.substr(sep + 2);
    if (name.rfind(prefix, 0) != 0) {
      std::string msg = file.string() + ": " + layout.checksum_entry + " names a file outside ";
      msg += prefix;
      msg += ": ";
      msg += name;
      return Error{"snapshot.corrupt", msg};
    }
    sums[name.substr(prefix.size())] = line.substr(0, 64);
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

}  // namespace

Result<std::vector<BundleSource>> list_dir_sources(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return make_error("snapshot.source", dir.string() + " is not a directory");
  }
  std::vector<BundleSource> files;
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
    files.push_back(BundleSource{
        it->path(), ManifestFile{rel, static_cast<std::uint64_t>(fs::file_size(it->path())), ""}});
  }
  if (ec) return make_error("snapshot.source", "reading " + dir.string() + ": " + ec.message());
  std::sort(files.begin(), files.end(),
            [](const BundleSource& x, const BundleSource& y) { return x.file.path < y.file.path; });
  return files;
}

Result<Bundle> scan_bundle(const BundleLayout& layout, const fs::path& file, bool read_data,
                           const fs::path& sink_root, const ProgressFn& progress) {
  const std::string what = std::string("corecell ") + layout.kind;
  const std::string prefix = layout.data_prefix;
  ReadHandle a(archive_read_new());
  archive_read_support_filter_zstd(a.get());
  archive_read_support_format_tar(a.get());
  if (::access(file.c_str(), R_OK) != 0) {
    return make_error("snapshot.open", "cannot open " + std::string(layout.kind) + " " +
                                           file.string() + ": " + errno_text(errno));
  }
  // libarchive reads the first block when opening: a readable file it cannot open is no
  // archive — unless zstd says its input ended early (a small archive cut short).
  auto not_ours = [&]() -> Error {
    const std::string msg = la_message(a.get());
    if (msg.find("runcated") != std::string::npos) return archive_error(a.get(), "opening", file);
    return Error{"snapshot.not_a_snapshot",
                 file.string() + " is not a " + what + " (a zstd-compressed tar): " + msg};
  };
  if (archive_read_open_filename(a.get(), file.c_str(), kChunk) != ARCHIVE_OK) return not_ours();
  archive_entry* e = nullptr;
  int r = archive_read_next_header(a.get(), &e);
  if (r == ARCHIVE_EOF) {
    return make_error("snapshot.not_a_snapshot", file.string() + " is an empty archive");
  }
  if (r != ARCHIVE_OK) return not_ours();
  if (entry_name(e) != layout.manifest_entry) {
    return make_error("snapshot.not_a_snapshot", file.string() + " does not start with " +
                                                     layout.manifest_entry + " (found " +
                                                     entry_name(e) + "): not a " + what);
  }
  CC_TRY_ASSIGN(auto text, read_small_entry(a.get(), e, file));
  Bundle m;
  m.manifest = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (m.manifest.is_discarded()) {
    return make_error("snapshot.manifest",
                      file.string() + ": " + layout.manifest_entry + " is not valid JSON");
  }
  auto files = parse_bundle_files(m.manifest);
  if (!files.ok()) return files.error().context(file.string());
  m.files = std::move(*files);
  if (!read_data) return m;

  std::uint64_t total = 0;
  for (const auto& f : m.files) total += f.size;
  std::uint64_t done = 0;
  std::vector<std::uint8_t> buf(kChunk);
  HashPipe sha;
  for (auto& f : m.files) {
    r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) {
      return make_error("snapshot.truncated", file.string() + " ends before " + prefix + f.path +
                                                  " (the archive is cut short: copy it again)");
    }
    if (r != ARCHIVE_OK) return archive_error(a.get(), "reading the entry of " + f.path, file);
    const std::string name = entry_name(e);
    const std::string expected = prefix + f.path;
    if (name != expected) {
      std::string msg = file.string() + ": expected ";
      msg += expected;
      msg += " next (manifest order), found ";
      msg += name;
      return Error{"snapshot.corrupt", msg};
    }
    if (archive_entry_size(e) != static_cast<la_int64_t>(f.size)) {
      return make_error("snapshot.corrupt", file.string() + ": " + name + " is " +
                                                std::to_string(archive_entry_size(e)) +
                                                " bytes, the manifest says " +
                                                std::to_string(f.size));
    }
    std::optional<Fd> out;
    fs::path target;
    if (!sink_root.empty()) {
      target = sink_root / f.path;
      std::error_code ec;
      fs::create_directories(target.parent_path(), ec);
      out.emplace(::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
      if (out->fd < 0) {
        return make_error("snapshot.write",
                          "cannot create " + target.string() + ": " + errno_text(errno));
      }
    }
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
    // Start this file's writeback now, so the disk works while the next files decompress; the
    // restore syncs the whole tree once at the end (restore_bundle) before renaming it.
    if (out) (void)::sync_file_range(out->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    f.sha256 = sha.finish();
  }
  r = archive_read_next_header(a.get(), &e);
  if (r == ARCHIVE_EOF) {
    return make_error("snapshot.truncated", file.string() + " ends before its checksums (" +
                                                layout.checksum_entry +
                                                "): the archive is cut short");
  }
  if (r != ARCHIVE_OK) return archive_error(a.get(), "reading the checksums", file);
  if (entry_name(e) != layout.checksum_entry) {
    return make_error("snapshot.corrupt", file.string() + ": expected " + layout.checksum_entry +
                                              " after the data, found " + entry_name(e));
  }
  CC_TRY_ASSIGN(auto sums_text, read_small_entry(a.get(), e, file));
  CC_TRY_ASSIGN(auto sums, parse_checksums(layout, sums_text, file));
  for (const auto& f : m.files) {
    auto it = sums.find(f.path);
    if (it == sums.end()) {
      return make_error("snapshot.corrupt", file.string() + ": no checksum for " + prefix + f.path);
    }
    if (it->second != f.sha256) {
      return make_error("snapshot.corrupt", file.string() + ": " + prefix + f.path +
                                                " does not match its checksum (sha256 " + f.sha256 +
                                                ", recorded " + it->second + ")");
    }
  }
  if (sums.size() != m.files.size()) {
    return make_error("snapshot.corrupt", file.string() + ": " + layout.checksum_entry +
                                              " lists files the manifest does not");
  }
  r = archive_read_next_header(a.get(), &e);
  if (r != ARCHIVE_EOF) {
    return make_error("snapshot.corrupt",
                      file.string() + " has data after its checksums (" +
                          (r == ARCHIVE_OK ? entry_name(e) : std::string("unreadable")) + ")");
  }
  return m;
}

Result<std::string> sha256_file(const fs::path& file) {
  Fd in(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.fd < 0) {
    return make_error("snapshot.source", "cannot read " + file.string() + ": " + errno_text(errno));
  }
  Sha256 sha;
  std::vector<std::uint8_t> buf(kChunk);
  for (;;) {
    const ssize_t n = ::read(in.fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return make_error("snapshot.source", "reading " + file.string() + ": " + errno_text(errno));
    }
    if (n == 0) break;
    sha.update(buf.data(), static_cast<std::size_t>(n));
  }
  return sha.hex();
}

json bundle_files_json(const std::vector<ManifestFile>& files) {
  json fl = json::array();
  for (const auto& f : files) {
    json o = {{"path", f.path}, {"size", f.size}};
    if (!f.sha256.empty()) o["sha256"] = f.sha256;
    fl.push_back(std::move(o));
  }
  return fl;
}

Result<std::vector<ManifestFile>> parse_bundle_files(const json& manifest) {
  auto files = manifest.find("files");
  if (!manifest.is_object() || files == manifest.end() || !files->is_array()) {
    return make_error("snapshot.manifest", "the manifest has no \"files\" array");
  }
  std::vector<ManifestFile> out;
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
                                                 "\" is not a plain relative path (refused: it "
                                                 "could escape the directory it is restored to)");
    }
    if (!out.empty() && !(out.back().path < mf.path)) {
      return make_error("snapshot.manifest", where + " is out of order or a duplicate");
    }
    out.push_back(std::move(mf));
  }
  return out;
}

Result<std::vector<ManifestFile>> write_bundle(const BundleLayout& layout,
                                               const std::vector<BundleSource>& sources,
                                               json manifest, const fs::path& out,
                                               const ProgressFn& progress) {
  std::error_code ec;
  if (fs::exists(out, ec)) {
    return make_error("snapshot.exists",
                      out.string() + " already exists: choose another --out or remove it");
  }
  std::vector<ManifestFile> files;
  std::uint64_t total = 0;
  for (const auto& s : sources) {
    files.push_back(s.file);
    total += s.file.size;
  }
  manifest["files"] = bundle_files_json(files);
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
  // libzstd compresses on a worker thread while this one reads and feeds it (without it, one
  // thread reads, compresses and waits; `tar -I zstd` gets the same overlap from its pipe).
  (void)archive_write_set_filter_option(a.get(), "zstd", "threads", "1");
  archive_write_set_format_pax_restricted(a.get());
  if (archive_write_open_filename(a.get(), partial.c_str()) != ARCHIVE_OK) {
    return make_error("snapshot.write",
                      "cannot create " + partial.string() + ": " + la_message(a.get()));
  }
  const std::string manifest_text = manifest.dump(2) + "\n";
  CC_TRY_STATUS(write_entry_header(a.get(), layout.manifest_entry, manifest_text.size(), out));
  CC_TRY_STATUS(write_all(a.get(), manifest_text.data(), manifest_text.size(), out));

  std::uint64_t done = 0;
  std::vector<std::uint8_t> buf(kChunk);
  HashPipe sha;
  for (std::size_t i = 0; i < files.size(); ++i) {
    ManifestFile& f = files[i];
    const fs::path& src = sources[i].source;
    Fd in(::open(src.c_str(), O_RDONLY | O_CLOEXEC));
    if (in.fd < 0) {
      return make_error("snapshot.source",
                        "cannot read " + src.string() + ": " + errno_text(errno));
    }
    CC_TRY_STATUS(write_entry_header(a.get(), layout.data_prefix + f.path, f.size, out));
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
    f.sha256 = sha.finish();
  }
  const std::string sums = checksum_lines(layout, files);
  CC_TRY_STATUS(write_entry_header(a.get(), layout.checksum_entry, sums.size(), out));
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
  return files;
}

Result<Bundle> restore_bundle(const BundleLayout& layout, const fs::path& archive,
                              const fs::path& dest, const ProgressFn& progress) {
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
  auto m = scan_bundle(layout, archive, /*read_data=*/true, partial, progress);
  if (!m.ok()) {
    fs::remove_all(partial, ec);
    return m.error();
  }
  {
    // Every restored file on disk before the directory gets its final name (one syncfs of the
    // filesystem instead of an fsync per file; their writeback started as each was written).
    Fd dir(::open(partial.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.fd < 0 || ::syncfs(dir.fd) != 0) {
      const int err = errno;
      fs::remove_all(partial, ec);
      return make_error("snapshot.write", "syncing " + partial.string() + ": " + errno_text(err));
    }
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

}  // namespace cc::snapshot::detail
