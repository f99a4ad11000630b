// bench/snapshot_bench.cpp — the chaindata snapshot figures of issue #7, each beside its baseline
// from the same run:
//   data        a real RocksDB chaindata written through storage::ChainDb (ChainBatch::put_block,
//               put_account, meta keys), synthetic but chain-shaped: linked headers (1 s apart,
//               4 validators rotating as rewardbase, an Istanbul extra with the council, a proposer
//               seal and 3 committed seals), bodies of 0-200 EIP-155 transfers (mean 100; 25 ston
//               gas price, random-looking low-s r/s, recipients skewed over 200,000 addresses,
//               per-sender nonces over 50,000 senders, round values), real transactions and
//               receipts roots, receipts, txlookup entries, and the state accounts each block
//               touches. Nothing is signed or executed (real secp256k1 signing through
//               chain/generator.h would take about an hour for 2 GiB); RocksDB compresses its
//               SST files (snappy) as it does on a node, so the files are neither all zeros nor all
//               random.
//   checkpoint  the same database grows to 1/8, 1/4, 1/2 and 1 of --size-mib (--checkpoint-steps);
//               at each size one untimed checkpoint empties the memtables, then --checkpoint-reps
//               times: ChainDb::checkpoint with nothing new ("idle": links and small files only),
//               64 more blocks, ChainDb::checkpoint again (it flushes them first); each into a new
//               directory, timed, removed. Target: flat (no growth with the chaindata).
//   create      snapshot::write_archive of the closed chaindata vs `tar -I zstd -cf` of the same
//               directory (a child process, no shell), alternating which goes first, --runs each.
//   restore     snapshot::restore_archive vs `tar -I zstd -xf` of the same archive (ours) into a
//               fresh directory, alternating, --runs each.
//   Figures are MB/s (10^6 bytes) of chaindata bytes and the ratio ours/tar of the best runs
//   (target >= 0.9). Ours makes what it writes durable before it counts as done (the archive;
//   every restored file) and tar does not, so a "+ fsync" row adds an fsync of tar's output
//   (every file and directory for a restore), timed, as the like-for-like figure. The page cache
//   is warm for every pass and the file system is synced (untimed) before each one. CPU seconds
//   (ours: this process, all threads; tar: tar and its zstd child) show the parallelism;
//   "others" is the CPU every other process on the machine used meanwhile (/proc/stat).
//   breakdown   single passes over the same files: read; SHA-256 (Crypto++, as the archive
//               hashes); zstd levels 3 and 1 (libzstd, one thread); libarchive tar+zstd as
//               write_archive streams it (SHA-256 included, no manifest, no fsync) with the
//               candidate changes: zstd "threads" 1 and 2, level 1; the fsync of an archive;
//               libarchive read + decompress, with and without writing the files, and their fsync.
//               Where our time goes, and what a change in snapshot/detail/bundle.cpp would buy.
// Everything lives in one new directory under --dir (default: the temp dir), removed at the end,
// also after an error or SIGINT/SIGTERM. Memory stays flat (64-block batches, 1 MiB buffers).
// Exit 0 when every step ran (a missed target is reported, not an error), 1 on a failed step.
//
// Reproduce: make bench-snapshot   (scripts/run-benchmarks.sh build snapshot: 2 GiB, --runs 3)
//            build/bin/snapshot_bench --size-mib 64 --runs 1   (the test suite's small run;
//            CC_SNAPSHOT_BENCH_MIB sets the default size)
#include <archive.h>
#include <archive_entry.h>
#include <cryptopp/sha.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "chain/block.h"
#include "chain/extra.h"
#include "chain/receipt.h"
#include "chain/tx.h"
#include "snapshot/archive.h"
#include "storage/chaindb.h"
#include "storage/signjournal.h"
#include "util/bytes.h"
#include "util/clock.h"
#include "util/files.h"
#include "util/process.h"
#include "util/u256.h"

namespace {

using namespace cc;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;
constexpr double kMB = 1e6;
constexpr std::size_t kChunk = std::size_t{1} << 20;
constexpr int kBlocksPerBatch = 64;
constexpr double kTargetRatio = 0.9;
constexpr auto kTarTimeout = std::chrono::milliseconds(4h);

struct Options {
  std::uint64_t size_mib = 2048;
  std::string dir;
  int runs = 3;
  int checkpoint_steps = 4;
  int checkpoint_reps = 3;
  bool no_breakdown = false;
  bool keep = false;
  std::string report;
};

std::atomic<bool> g_stop{false};  // SIGINT/SIGTERM: stop at the next step and clean up
void on_signal(int) { g_stop = true; }

// Every line goes to stdout and into the report (--report).
std::string g_report;
template <typename... Args>
void say(const char* fmt, Args... args) {
  const int n = std::snprintf(nullptr, 0, fmt, args...);
  std::string line(static_cast<std::size_t>(std::max(n, 0)), '\0');
  std::snprintf(line.data(), line.size() + 1, fmt, args...);
  std::fputs(line.c_str(), stdout);
  std::fflush(stdout);
  g_report += line;
}

struct Failed {
  std::string what;
};
[[noreturn]] void fail(const std::string& what) { throw Failed{what}; }
void check(const Status& s, const std::string& what) {
  if (!s.ok()) fail(what + ": " + s.error().message);
}
void check_stop() {
  if (g_stop) fail("interrupted");
}

double mb_per_s(std::uint64_t bytes, double seconds) {
  return seconds > 0 ? static_cast<double>(bytes) / kMB / seconds : 0;
}
// The 1-minute load average, printed with each section: other work on the machine shows.
std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string first;
  in >> first;
  return first.empty() ? "?" : first;
}

double mib(std::uint64_t bytes) { return static_cast<double>(bytes) / static_cast<double>(kMiB); }

// ------------------------------------------------------------------ files

struct SourceFile {
  fs::path path;
  std::string rel;  // relative to the chaindata directory
  std::uint64_t size = 0;
};

// Every regular file under dir, sorted by relative path. Files RocksDB removes while we walk are
// skipped (a running database's size is an estimate anyway).
std::vector<SourceFile> list_files(const fs::path& dir) {
  std::vector<SourceFile> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code e2;
    if (!it->is_regular_file(e2)) continue;
    const auto size = it->file_size(e2);
    if (e2) continue;
    out.push_back({it->path(), fs::relative(it->path(), dir, e2).generic_string(), size});
  }
  std::sort(out.begin(), out.end(),
            [](const SourceFile& a, const SourceFile& b) { return a.rel < b.rel; });
  return out;
}

// The bytes under dir, cheaply (checked after every batch while the database grows).
std::uint64_t dir_bytes(const fs::path& dir) {
  std::uint64_t n = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code e2;
    const auto size = it->is_regular_file(e2) ? it->file_size(e2) : 0;
    if (!e2) n += size;
  }
  return n;
}

std::uint64_t total_bytes(const std::vector<SourceFile>& files) {
  std::uint64_t n = 0;
  for (const auto& f : files) n += f.size;
  return n;
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_;
};

void fsync_path(const fs::path& p, bool directory) {
  Fd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0)));
  if (fd.get() < 0 || ::fsync(fd.get()) != 0)
    fail("fsync " + p.string() + ": " + errno_text(errno));
}

// What restore_archive does for its files, done after tar: every file and directory fsynced.
void fsync_tree(const fs::path& root) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    fsync_path(it->path(), it->is_directory());
  }
  fsync_path(root, true);
}

// Before every timed pass: the file system's dirty pages written back (untimed), so one pass
// does not pay for the previous one's writeback.
void settle(const fs::path& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() >= 0) (void)::syncfs(fd.get());
}

// Calls fn(data, n) for every 1 MiB chunk of every file, in order.
template <typename Fn>
void for_each_chunk(const std::vector<SourceFile>& files, Fn&& fn) {
  std::vector<std::uint8_t> buf(kChunk);
  for (const auto& f : files) {
    Fd fd(::open(f.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) fail("open " + f.path.string() + ": " + errno_text(errno));
    for (;;) {
      const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail("read " + f.path.string() + ": " + errno_text(errno));
      if (n == 0) break;
      fn(buf.data(), static_cast<std::size_t>(n));
    }
  }
}

struct Cpu {
  double self = 0;
  double children = 0;
  double machine = 0;  // busy CPU seconds of the whole machine (/proc/stat), every process
};
double tv_seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}
double machine_busy_seconds() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  const long hz = ::sysconf(_SC_CLK_TCK);
  return (user + nice + system + irq + softirq + steal) / static_cast<double>(hz > 0 ? hz : 100);
}
Cpu cpu_now() {
  rusage self{};
  rusage children{};
  ::getrusage(RUSAGE_SELF, &self);
  ::getrusage(RUSAGE_CHILDREN, &children);  // waited-for children and their own children
  return {tv_seconds(self.ru_utime) + tv_seconds(self.ru_stime),
          tv_seconds(children.ru_utime) + tv_seconds(children.ru_stime), machine_busy_seconds()};
}

// One timed pass: wall seconds, CPU seconds of this process (all threads) or of the children
// (tar and its zstd), and the CPU seconds every other process on the machine used meanwhile —
// what shows that a figure was taken on a busy machine.
struct Timing {
  double wall = 0;
  double cpu = 0;
  double others = 0;
  double fsync = 0;  // tar rows: the fsync of its output after it exited
  std::uint64_t archive_bytes = 0;
};

template <typename Fn>
Timing timed(bool children, Fn&& fn) {
  const Cpu c0 = cpu_now();
  const auto t0 = Steady::now();
  fn();
  Timing t;
  t.wall = seconds_since(t0);
  const Cpu c1 = cpu_now();
  const double self = c1.self - c0.self;
  const double kids = c1.children - c0.children;
  t.cpu = children ? kids : self;
  t.others = std::max(0.0, (c1.machine - c0.machine) - self - kids);
  return t;
}

void run_tar(const fs::path& tar, const std::vector<std::string>& args) {
  std::vector<std::string> argv{tar.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = util::run_command(argv, kTarTimeout);
  if (!r.ok()) fail("tar: " + r.error().message);
  if (r->exit_status != 0) {
    fail("tar " + args.front() + " " + util::describe_exit_status(r->exit_status) + ": " +
         r->output);
  }
}

std::string first_line(const fs::path& program, const std::string& flag) {
  auto r = util::run_command({program.string(), flag}, 10s);
  if (!r.ok() || r->exit_status != 0) return "?";
  return r->output.substr(0, r->output.find('\n'));
}

// ------------------------------------------------------------------ the synthetic chain

constexpr std::uint64_t kChainId = 8217;
constexpr std::uint64_t kGenesisTime = 1'700'000'000;
constexpr std::size_t kAddresses = 200'000;
constexpr std::size_t kSenders = 50'000;
constexpr std::uint64_t kGasPrice = 25'000'000'000;  // 25 ston, Kaia's fixed price

class SyntheticChain {
 public:
  explicit SyntheticChain(std::uint64_t seed) : rng_(seed) {
    addresses_.resize(kAddresses);
    for (auto& a : addresses_) fill(a.data(), a.size());
    nonces_.assign(kAddresses, 0);
    validators_.resize(4);
    for (auto& v : validators_) fill(v.data(), v.size());
    std::sort(validators_.begin(), validators_.end());
    U256 p = 1;
    for (auto& x : pow10_) {
      x = p;
      p *= 10;
    }
  }

  // Block 0 and the meta keys.
  void write_genesis(storage::ChainDb& db) {
    chain::Block g;
    g.header.number = 0;
    g.header.time = kGenesisTime;
    fill(g.header.state_root.data(), g.header.state_root.size());
    g.header.transactions_root = chain::empty_list_root();
    g.header.receipts_root = chain::empty_list_root();
    chain::IstanbulExtra extra;
    extra.validators = validators_;
    g.header.extra = chain::encode_extra(extra);
    head_hash_ = g.hash();
    genesis_hash_ = head_hash_;
    storage::ChainBatch b;
    b.put_block(g, head_hash_, {});
    b.put_genesis_hash(genesis_hash_);
    b.put_chain_id(kChainId);
    b.put_head_hash(head_hash_);
    check(db.write(b, /*sync=*/false), "writing the genesis");
  }

  // kBlocksPerBatch more blocks and the accounts they touch, in one batch (as import writes).
  void append(storage::ChainDb& db) {
    storage::ChainBatch b;
    std::vector<std::uint32_t> touched;
    for (int i = 0; i < kBlocksPerBatch; ++i) {
      std::vector<chain::Receipt> receipts;
      const chain::Block block = next_block(receipts, touched);
      head_hash_ = block.hash();
      b.put_block(block, head_hash_, receipts);
      txs_ += block.transactions.size();
    }
    std::sort(touched.begin(), touched.end());
    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
    for (const auto i : touched) {
      chain::Account acc;
      acc.nonce = nonces_[i];
      acc.balance = U256(rng_() % 1'000'000'000 + 1) * pow10_[12];
      b.put_account(addresses_[i], acc);
    }
    b.put_head_hash(head_hash_);
    check(db.write(b, /*sync=*/false), "writing blocks");
  }

  [[nodiscard]] std::uint64_t head_number() const { return number_; }
  [[nodiscard]] const Hash32& head_hash() const { return head_hash_; }
  [[nodiscard]] const Hash32& genesis_hash() const { return genesis_hash_; }
  [[nodiscard]] std::uint64_t txs() const { return txs_; }

 private:
  void fill(std::uint8_t* p, std::size_t n) {
    for (std::size_t i = 0; i < n; i += 8) {
      const std::uint64_t x = rng_();
      std::memcpy(p + i, &x, std::min<std::size_t>(8, n - i));
    }
  }
  U256 random_u256(bool low_s) {
    Hash32 h;
    fill(h.data(), h.size());
    if (low_s) h[0] &= 0x7f;  // below n/2, as a low-s signature is
    return *u256_from_be(h);
  }
  // Popular addresses are used far more often than the rest (u^2 skew).
  std::uint32_t skewed(std::size_t n) {
    const double u = std::uniform_real_distribution<double>(0, 1)(rng_);
    return static_cast<std::uint32_t>(
        std::min<double>(static_cast<double>(n) - 1, u * u * static_cast<double>(n)));
  }

  chain::Block next_block(std::vector<chain::Receipt>& receipts,
                          std::vector<std::uint32_t>& touched) {
    static constexpr std::uint64_t kGasLimits[] = {21000, 21000, 21000, 21000, 50000, 100000};
    chain::Block block;
    chain::Header& h = block.header;
    h.parent_hash = head_hash_;
    h.number = ++number_;
    h.rewardbase = validators_[number_ % validators_.size()];
    h.time = kGenesisTime + number_;
    h.time_fos = static_cast<std::uint8_t>(rng_() % 100);
    fill(h.state_root.data(), h.state_root.size());
    const std::size_t ntx = rng_() % 201;
    std::uint64_t gas = 0;
    for (std::size_t i = 0; i < ntx; ++i) {
      const std::uint32_t from = skewed(kSenders);
      const std::uint32_t to = skewed(kAddresses);
      chain::Transaction tx;
      tx.nonce = nonces_[from]++;
      tx.gas_price = kGasPrice;
      tx.gas_limit = kGasLimits[rng_() % std::size(kGasLimits)];
      tx.to = addresses_[to];
      tx.value = U256(rng_() % 100'000 + 1) * pow10_[12 + rng_() % 7];
      tx.v = U256(kChainId * 2 + 35 + (rng_() & 1));
      tx.r = random_u256(false);
      tx.s = random_u256(true);
      gas += chain::kTransferGas;
      chain::Receipt rc;
      rc.cumulative_gas_used = gas;
      rc.tx_hash = tx.hash();
      receipts.push_back(rc);
      block.transactions.push_back(std::move(tx));
      touched.push_back(from);
      touched.push_back(to);
    }
    h.gas_used = gas;
    h.transactions_root = chain::transactions_root(block.transactions);
    h.receipts_root = chain::receipts_root(receipts);
    chain::IstanbulExtra extra;
    extra.validators = validators_;
    extra.proposer_seal.resize(chain::kSealSize);
    fill(extra.proposer_seal.data(), extra.proposer_seal.size());
    extra.committed_seals.resize(3);
    for (auto& s : extra.committed_seals) fill(s.data(), s.size());
    h.extra = chain::encode_extra(extra);
    return block;
  }

  std::mt19937_64 rng_;
  std::vector<Address> addresses_;
  std::vector<std::uint64_t> nonces_;
  std::vector<Address> validators_;
  std::array<U256, 31> pow10_{};
  Hash32 head_hash_{};
  Hash32 genesis_hash_{};
  std::uint64_t number_ = 0;
  std::uint64_t txs_ = 0;
};

// ------------------------------------------------------------------ breakdown passes

// How the breakdown writes a zstd tar: write_archive's settings (level 3, no threads, SHA-256)
// and the candidate changes.
struct WriteVariant {
  int level = 3;    // libarchive's "compression-level" (3: its default and the zstd CLI's)
  int threads = 0;  // libarchive's zstd "threads" option (libzstd worker threads; 0: none)
  bool sha = true;  // SHA-256 of every file while it streams, as write_archive does
};

// libarchive's zstd tar of the files (entries chaindata/<rel>) to `out`, as write_archive
// writes it but without the manifest, the trailer and the fsync. False when this libarchive
// refuses an option.
bool libarchive_write(const std::vector<SourceFile>& files, const fs::path& out,
                      const WriteVariant& v) {
  std::unique_ptr<archive, int (*)(archive*)> a(archive_write_new(), archive_write_free);
  archive_write_add_filter_zstd(a.get());
  if (archive_write_set_filter_option(a.get(), "zstd", "compression-level",
                                      std::to_string(v.level).c_str()) != ARCHIVE_OK) {
    return false;
  }
  if (v.threads > 0 &&
      archive_write_set_filter_option(a.get(), "zstd", "threads",
                                      std::to_string(v.threads).c_str()) != ARCHIVE_OK) {
    return false;
  }
  archive_write_set_format_pax_restricted(a.get());
  if (archive_write_open_filename(a.get(), out.c_str()) != ARCHIVE_OK) {
    const char* msg = archive_error_string(a.get());
    fail("libarchive open " + out.string() + ": " + (msg ? msg : "?"));
  }
  std::vector<std::uint8_t> buf(kChunk);
  for (const auto& f : files) {
    std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(),
                                                               archive_entry_free);
    const std::string name = "chaindata/" + f.rel;
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(f.size));
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0644);
    if (archive_write_header(a.get(), e.get()) != ARCHIVE_OK) fail("libarchive header " + name);
    Fd fd(::open(f.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) fail("open " + f.path.string() + ": " + errno_text(errno));
    CryptoPP::SHA256 sha;
    std::uint64_t left = f.size;
    while (left > 0) {
      const ssize_t n = ::read(fd.get(), buf.data(), std::min<std::uint64_t>(buf.size(), left));
      if (n <= 0) fail("read " + f.path.string());
      if (v.sha) sha.Update(buf.data(), static_cast<std::size_t>(n));
      if (archive_write_data(a.get(), buf.data(), static_cast<std::size_t>(n)) != n) {
        fail("libarchive write " + name);
      }
      left -= static_cast<std::uint64_t>(n);
    }
    std::array<std::uint8_t, 32> digest{};
    if (v.sha) sha.Final(digest.data());
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) fail("libarchive close " + out.string());
  return true;
}

// libarchive's read of an archive (decompression and tar parsing); with a `dest`, each entry's
// data is written to dest/<entry> (no checksum, no fsync: what restore does besides those two),
// else discarded. Returns the data bytes.
std::uint64_t libarchive_extract(const fs::path& file, const fs::path& dest) {
  std::unique_ptr<archive, int (*)(archive*)> a(archive_read_new(), archive_read_free);
  archive_read_support_filter_zstd(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_filename(a.get(), file.c_str(), kChunk) != ARCHIVE_OK) {
    fail("libarchive read " + file.string());
  }
  std::vector<std::uint8_t> buf(kChunk);
  std::uint64_t bytes = 0;
  archive_entry* e = nullptr;
  while (archive_read_next_header(a.get(), &e) == ARCHIVE_OK) {
    std::optional<Fd> out;
    if (!dest.empty()) {
      const fs::path target = dest / archive_entry_pathname(e);
      fs::create_directories(target.parent_path());
      out.emplace(::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
      if (out->get() < 0) fail("create " + target.string() + ": " + errno_text(errno));
    }
    for (;;) {
      const la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
      if (n < 0) fail("libarchive read " + file.string());
      if (n == 0) break;
      if (out && ::write(out->get(), buf.data(), static_cast<std::size_t>(n)) != n) {
        fail("write under " + dest.string() + ": " + errno_text(errno));
      }
      bytes += static_cast<std::uint64_t>(n);
    }
  }
  return bytes;
}

// One zstd stream of all the files at `level` (libzstd), output discarded; workers > 0 compresses
// on that many libzstd worker threads (ZSTD_c_nbWorkers) beside the reading one. Returns the
// compressed size.
std::uint64_t zstd_compress(const std::vector<SourceFile>& files, int level, int workers) {
  std::unique_ptr<ZSTD_CCtx, std::size_t (*)(ZSTD_CCtx*)> cctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, level);
  if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_nbWorkers, workers))) {
    fail("this libzstd has no worker threads");
  }
  std::vector<std::uint8_t> out(ZSTD_CStreamOutSize());
  std::uint64_t out_bytes = 0;
  auto feed = [&](const std::uint8_t* p, std::size_t n, ZSTD_EndDirective end) {
    ZSTD_inBuffer in{p, n, 0};
    for (;;) {
      ZSTD_outBuffer o{out.data(), out.size(), 0};
      const std::size_t left = ZSTD_compressStream2(cctx.get(), &o, &in, end);
      if (ZSTD_isError(left)) fail("zstd compression failed");
      out_bytes += o.pos;
      if (end == ZSTD_e_end ? left == 0 : in.pos == in.size) break;
    }
  };
  for_each_chunk(files, [&](const std::uint8_t* p, std::size_t n) { feed(p, n, ZSTD_e_continue); });
  feed(nullptr, 0, ZSTD_e_end);
  return out_bytes;
}

std::string fixed3(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

// ------------------------------------------------------------------ the bench

struct CheckpointRow {
  std::uint64_t db_bytes = 0;
  std::size_t db_files = 0;
  std::uint64_t head = 0;
  std::vector<double> ms;       // after 64 new blocks (their memtable flushed by the checkpoint)
  std::vector<double> idle_ms;  // nothing new since the previous checkpoint
  std::size_t cp_files = 0;
  double others = 0;  // CPU seconds other processes used during the timed checkpoints
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n == 0 ? 0 : (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2);
}

double best_wall(const std::vector<Timing>& v, bool with_fsync = false) {
  double best = 0;
  for (const auto& t : v) {
    const double w = t.wall + (with_fsync ? t.fsync : 0);
    if (best == 0 || w < best) best = w;
  }
  return best;
}

void print_rows(const char* tool, const std::vector<Timing>& v, std::uint64_t bytes,
                bool archive_sizes, bool fsync_rows) {
  for (std::size_t i = 0; i < v.size(); ++i) {
    const Timing& t = v[i];
    if (archive_sizes) {
      say("  %-3zu %-34s %8.2f %9.1f %8.2f %8.2f %11.1f %8.3f\n", i + 1, tool, t.wall,
          mb_per_s(bytes, t.wall), t.cpu, t.others, static_cast<double>(t.archive_bytes) / kMB,
          static_cast<double>(t.archive_bytes) / static_cast<double>(bytes));
    } else {
      say("  %-3zu %-34s %8.2f %9.1f %8.2f %8.2f\n", i + 1, tool, t.wall, mb_per_s(bytes, t.wall),
          t.cpu, t.others);
    }
    if (fsync_rows) {
      say("  %-3zu %-34s %8.2f %9.1f   (fsync %.2f s)\n", i + 1, "  + fsync of its output",
          t.wall + t.fsync, mb_per_s(bytes, t.wall + t.fsync), t.fsync);
    }
  }
}

struct Ratio {
  double value = 0;
  bool ok = false;
};
Ratio ratio_line(const char* what, double ours_s, double base_s, bool target) {
  Ratio r;
  r.value = ours_s > 0 ? base_s / ours_s : 0;
  r.ok = r.value >= kTargetRatio;
  if (target) {
    say("  %-44s %7.3f   target >= %.2f: %s\n", what, r.value, kTargetRatio,
        r.ok ? "met" : "MISSED");
  } else {
    say("  %-44s %7.3f\n", what, r.value);
  }
  return r;
}

int run(const Options& opt, const fs::path& work, const fs::path& tar) {
  const fs::path chaindata = work / "chaindata";
  const std::uint64_t target = opt.size_mib * kMiB;
  say("snapshot_bench: %llu MiB chaindata in %s\n", static_cast<unsigned long long>(opt.size_mib),
      work.c_str());
  say("  %s; %s; %s\n", first_line(tar, "--version").c_str(),
      first_line(*util::find_program("zstd"), "--version").c_str(), archive_version_details());
  say("  %ld CPUs online, load average %s\n", ::sysconf(_SC_NPROCESSORS_ONLN),
      load_average().c_str());

  // ---- fill, with a checkpoint series at each size
  std::vector<CheckpointRow> rows;
  SyntheticChain gen(7);
  std::optional<Hash32> head;
  {
    auto db = storage::ChainDb::open(chaindata);
    if (!db.ok()) fail("opening " + chaindata.string() + ": " + db.error().message);
    gen.write_genesis(*db);
    const auto fill_start = Steady::now();
    for (int step = 0; step < opt.checkpoint_steps; ++step) {
      const std::uint64_t size = target >> (opt.checkpoint_steps - 1 - step);
      while (dir_bytes(chaindata) < size) {
        check_stop();
        gen.append(*db);
      }
      const auto files = list_files(chaindata);
      say("  filled to %.1f MiB (%zu files): %llu blocks, %llu transfers, %.0f s since the start\n",
          mib(total_bytes(files)), files.size(), static_cast<unsigned long long>(gen.head_number()),
          static_cast<unsigned long long>(gen.txs()), seconds_since(fill_start));
      CheckpointRow row;
      row.db_bytes = total_bytes(files);
      row.db_files = files.size();
      row.head = gen.head_number();
      const fs::path cp = work / "checkpoint";
      check(db->checkpoint(cp), "untimed checkpoint");  // empties the memtables
      fs::remove_all(cp);
      for (int rep = 0; rep < opt.checkpoint_reps; ++rep) {
        check_stop();
        // Nothing written since the last checkpoint: links and the small files only.
        Timing t = timed(false, [&] { check(db->checkpoint(cp), "checkpoint"); });
        row.idle_ms.push_back(t.wall * 1000);
        row.others += t.others;
        fs::remove_all(cp);
        gen.append(*db);  // the same 64 blocks' worth of memtable for every timed checkpoint
        t = timed(false, [&] { check(db->checkpoint(cp), "checkpoint"); });
        row.ms.push_back(t.wall * 1000);
        row.others += t.others;
        row.cp_files = list_files(cp).size();
        fs::remove_all(cp);
      }
      rows.push_back(row);
    }
  }
  // The archived directory must hold the target size once closed: an open database also holds
  // WAL files and compacted SST files awaiting deletion, which go when it closes. Reopen and
  // grow in proportion to the blocks so far (and 2 % more) until it does.
  for (std::uint64_t closed = dir_bytes(chaindata); closed < target;
       closed = dir_bytes(chaindata)) {
    check_stop();
    say("  closed at %.1f MiB with %llu blocks: below the target, growing\n", mib(closed),
        static_cast<unsigned long long>(gen.head_number()));
    auto db = storage::ChainDb::open(chaindata);
    if (!db.ok()) fail("reopening " + chaindata.string() + ": " + db.error().message);
    const double blocks = static_cast<double>(gen.head_number()) * static_cast<double>(target) /
                          static_cast<double>(std::max<std::uint64_t>(closed, 1)) * 1.02;
    while (static_cast<double>(gen.head_number()) < blocks) {
      check_stop();
      gen.append(*db);
    }
  }
  head = gen.head_hash();  // closed: the directory no longer changes

  say("\ncheckpoint (ChainDb::checkpoint of the open database, %d reps per size: after 64 new\n"
      "  blocks, and idle = nothing written since the previous checkpoint; others = CPU s other\n"
      "  processes used during them)\n",
      opt.checkpoint_reps);
  say("  %10s %8s %10s %9s %9s %9s %11s %9s %8s\n", "chaindata", "files", "head", "median", "min",
      "max", "idle median", "cp files", "others");
  double cp_lo = 0;
  double cp_hi = 0;
  for (const auto& r : rows) {
    const double med = median(r.ms);
    say("  %6.0f MiB %8zu %10llu %6.1f ms %6.1f ms %6.1f ms %8.1f ms %9zu %6.2f s\n",
        mib(r.db_bytes), r.db_files, static_cast<unsigned long long>(r.head), med,
        *std::min_element(r.ms.begin(), r.ms.end()), *std::max_element(r.ms.begin(), r.ms.end()),
        median(r.idle_ms), r.cp_files, r.others);
    cp_lo = cp_lo == 0 ? med : std::min(cp_lo, med);
    cp_hi = std::max(cp_hi, med);
  }
  const double cp_growth = median(rows.back().ms) / std::max(median(rows.front().ms), 1e-9);
  say("  largest / smallest size: %.2fx the time for %.1fx the data\n", cp_growth,
      static_cast<double>(rows.back().db_bytes) / static_cast<double>(rows.front().db_bytes));

  // ---- the source: the closed chaindata, read once so the page cache is warm for everyone
  const auto files = list_files(chaindata);
  const std::uint64_t bytes = total_bytes(files);
  settle(work);
  const Timing read_pass = timed(false, [&] { for_each_chunk(files, [](auto*, std::size_t) {}); });

  // ---- create
  const fs::path ours_out = work / "ours.tar.zst";
  const fs::path tar_out = work / "tar.tar.zst";
  snapshot::Manifest header;
  header.chain_id = kChainId;
  header.genesis_hash = to_hex0x(gen.genesis_hash());
  header.head_number = gen.head_number();
  header.head_hash = to_hex0x(*head);
  header.source_node = "snapshot_bench";
  header.mode = "offline";
  std::vector<Timing> c_tar;
  std::vector<Timing> c_ours;
  for (int r = 0; r < opt.runs; ++r) {
    for (int k = 0; k < 2; ++k) {
      check_stop();
      if ((k == 0) == (r % 2 == 0)) {
        fs::remove(tar_out);
        settle(work);
        Timing t = timed(true, [&] {
          run_tar(tar, {"-I", "zstd", "-cf", tar_out.string(), "-C", work.string(), "chaindata"});
        });
        const auto t0 = Steady::now();
        fsync_path(tar_out, false);
        t.fsync = seconds_since(t0);
        t.archive_bytes = fs::file_size(tar_out);
        c_tar.push_back(t);
      } else {
        fs::remove(ours_out);
        settle(work);
        header.created = storage::format_rfc3339_ms(std::chrono::system_clock::now());
        Timing t = timed(false, [&] {
          auto m = snapshot::write_archive(chaindata, ours_out, header);
          if (!m.ok()) fail("write_archive: " + m.error().message);
          if (m->total_bytes() != bytes) fail("write_archive archived a different byte count");
        });
        t.archive_bytes = fs::file_size(ours_out);
        c_ours.push_back(t);
      }
    }
  }
  fs::remove(tar_out);

  say("\ncreate (the closed chaindata: %.1f MB = %.1f MiB in %zu files, %llu blocks, %llu\n"
      "  transfers; page cache warm; load average now %s; others = CPU s used meanwhile by every\n"
      "  other process on the machine)\n",
      static_cast<double>(bytes) / kMB, mib(bytes), files.size(),
      static_cast<unsigned long long>(gen.head_number()),
      static_cast<unsigned long long>(gen.txs()), load_average().c_str());
  say("  %-3s %-34s %8s %9s %8s %8s %11s %8s\n", "run", "tool", "wall s", "MB/s", "cpu s", "others",
      "archive MB", "size");
  print_rows("tar -I zstd -cf", c_tar, bytes, true, true);
  print_rows("corecell write_archive (syncs)", c_ours, bytes, true, false);

  // ---- restore (both from our archive)
  std::vector<Timing> r_tar;
  std::vector<Timing> r_ours;
  for (int r = 0; r < opt.runs; ++r) {
    for (int k = 0; k < 2; ++k) {
      check_stop();
      if ((k == 0) == (r % 2 == 0)) {
        const fs::path dest = work / "restore-tar";
        fs::create_directory(dest);
        settle(work);
        Timing t = timed(true, [&] {
          run_tar(tar, {"-I", "zstd", "-xf", ours_out.string(), "-C", dest.string()});
        });
        const auto t0 = Steady::now();
        fsync_tree(dest);
        t.fsync = seconds_since(t0);
        if (total_bytes(list_files(dest / "chaindata")) != bytes) {
          fail("tar restored a different byte count");
        }
        r_tar.push_back(t);
        fs::remove_all(dest);
      } else {
        const fs::path dest = work / "restore-ours";
        settle(work);
        Timing t = timed(false, [&] {
          auto m = snapshot::restore_archive(ours_out, dest);
          if (!m.ok()) fail("restore_archive: " + m.error().message);
        });
        if (total_bytes(list_files(dest)) != bytes) fail("restore_archive: different byte count");
        if (r == 0) {  // the restored database opens and has the head we wrote
          storage::ChainDb::Options ro;
          ro.read_only = true;
          auto db = storage::ChainDb::open(dest, ro);
          if (!db.ok()) fail("opening the restored database: " + db.error().message);
          auto h = db->head_hash();
          if (!h.ok() || !*h || **h != *head) fail("the restored database has another head");
        }
        r_ours.push_back(t);
        fs::remove_all(dest);
      }
    }
  }
  say("\nrestore (our archive, %.1f MB compressed, into a new directory; load average now %s)\n",
      static_cast<double>(fs::file_size(ours_out)) / kMB, load_average().c_str());
  say("  %-3s %-34s %8s %9s %8s %8s\n", "run", "tool", "wall s", "MB/s", "cpu s", "others");
  print_rows("tar -I zstd -xf", r_tar, bytes, false, true);
  print_rows("corecell restore_archive (syncs)", r_ours, bytes, false, false);

  // ---- breakdown
  if (!opt.no_breakdown) {
    check_stop();
    say("\nbreakdown (single passes over the same files, page cache warm; cpu = all threads;\n"
        "  load average before %s)\n",
        load_average().c_str());
    say("  %-62s %7s %8s %7s %7s\n", "pass", "wall s", "MB/s", "cpu s", "others");
    auto line = [&](const std::string& what, const Timing& t, const std::string& note = "") {
      say("  %-62s %7.2f %8.1f %7.2f %7.2f%s\n", what.c_str(), t.wall, mb_per_s(bytes, t.wall),
          t.cpu, t.others, note.c_str());
    };
    line("create: read (1 MiB read() calls)", read_pass);
    settle(work);
    line("create: read + SHA-256 (Crypto++, as the archive hashes)", timed(false, [&] {
           CryptoPP::SHA256 sha;
           for_each_chunk(files, [&](const std::uint8_t* p, std::size_t n) { sha.Update(p, n); });
           std::array<std::uint8_t, 32> d{};
           sha.Final(d.data());
         }));
    for (const auto& [level, workers] : {std::pair{3, 0}, {1, 0}}) {
      std::uint64_t out_bytes = 0;
      settle(work);
      const Timing t = timed(false, [&] { out_bytes = zstd_compress(files, level, workers); });
      line("create: read + zstd -" + std::to_string(level) + " (libzstd, " +
               (workers ? "nbWorkers=" + std::to_string(workers) : std::string("one thread")) +
               ", discarded)",
           t, "  size " + fixed3(static_cast<double>(out_bytes) / static_cast<double>(bytes)));
    }
    const fs::path la_out = work / "libarchive.tar.zst";
    const WriteVariant variants[] = {
        {3, 0, false}, {3, 0, true}, {3, 1, true}, {3, 2, true}, {1, 0, true}};
    for (const auto& v : variants) {
      fs::remove(la_out);
      settle(work);
      bool supported = true;
      const Timing t = timed(false, [&] { supported = libarchive_write(files, la_out, v); });
      const std::string what = "create: libarchive tar+zstd -" + std::to_string(v.level) +
                               ", threads=" + std::to_string(v.threads) +
                               (v.sha ? ", SHA-256" : ", no SHA") + "; no fsync";
      if (!supported) {
        say("  %-62s (refused by this libarchive)\n", what.c_str());
        continue;
      }
      line(what, t,
           "  size " +
               fixed3(static_cast<double>(fs::file_size(la_out)) / static_cast<double>(bytes)));
      if (!v.sha) {
        const auto t0 = Steady::now();
        fsync_path(la_out, false);
        say("  %-62s %7.2f\n", "create: fsync of that archive", seconds_since(t0));
      }
    }
    fs::remove(la_out);
    settle(work);
    line("restore: libarchive read + zstd -d of our archive (discarded)",
         timed(false, [&] { (void)libarchive_extract(ours_out, {}); }));
    const fs::path dest = work / "restore-plain";
    fs::create_directory(dest);
    settle(work);
    line("restore: libarchive read + zstd -d + write files, no SHA/fsync",
         timed(false, [&] { (void)libarchive_extract(ours_out, dest); }));
    const auto t0 = Steady::now();
    fsync_tree(dest);
    say("  %-62s %7.2f\n", "restore: fsync of those files", seconds_since(t0));
    fs::remove_all(dest);
  }
  fs::remove(ours_out);

  // ---- summary
  say("\nsummary (ratio = ours/tar throughput of the best runs; target >= %.2f)\n", kTargetRatio);
  const Ratio create =
      ratio_line("create  write_archive / tar -cf", best_wall(c_ours), best_wall(c_tar), true);
  ratio_line("create  write_archive / (tar -cf + fsync)", best_wall(c_ours), best_wall(c_tar, true),
             false);
  const Ratio restore =
      ratio_line("restore restore_archive / tar -xf", best_wall(r_ours), best_wall(r_tar), true);
  ratio_line("restore restore_archive / (tar -xf + fsync)", best_wall(r_ours),
             best_wall(r_tar, true), false);
  say("  %-44s %7.2fx  (%.1f .. %.1f ms median over a %.0fx size range; target: flat)\n",
      "checkpoint time, largest / smallest size", cp_growth, cp_lo, cp_hi,
      static_cast<double>(rows.back().db_bytes) / static_cast<double>(rows.front().db_bytes));
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  say("  peak RSS of this process: %.0f MiB\n", static_cast<double>(ru.ru_maxrss) / 1024);
  say("snapshot_bench: complete (create %.3f %s, restore %.3f %s)\n", create.value,
      create.ok ? "met" : "MISSED", restore.value, restore.ok ? "met" : "MISSED");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (const char* env = std::getenv("CC_SNAPSHOT_BENCH_MIB")) {
    opt.size_mib = std::strtoull(env, nullptr, 10);
  }
  CLI::App app{"snapshot create/restore vs tar -I zstd, checkpoint vs size (issue #7)"};
  app.add_option("--size-mib", opt.size_mib,
                 "chaindata size in MiB (default 2048, or CC_SNAPSHOT_BENCH_MIB)")
      ->check(CLI::Range(8, 1 << 20));
  app.add_option("--dir", opt.dir, "parent of the bench's directory (default: the temp dir)");
  app.add_option("--runs", opt.runs, "create and restore runs per tool")->check(CLI::Range(1, 20));
  app.add_option("--checkpoint-steps", opt.checkpoint_steps,
                 "checkpoint sizes: 1/2^(n-1) .. 1 of --size-mib")
      ->check(CLI::Range(1, 10));
  app.add_option("--checkpoint-reps", opt.checkpoint_reps, "timed checkpoints per size")
      ->check(CLI::Range(1, 50));
  app.add_flag("--no-breakdown", opt.no_breakdown, "skip the single-thread breakdown passes");
  app.add_option("--report", opt.report, "also write the report to this file");
  app.add_flag("--keep", opt.keep, "keep the bench's directory");
  CLI11_PARSE(app, argc, argv);

  const auto tar = util::find_program("tar");
  if (!tar || !util::find_program("zstd")) {
    std::fprintf(stderr, "snapshot_bench: needs tar and zstd on PATH\n");
    return 2;
  }
  const fs::path parent = opt.dir.empty() ? fs::temp_directory_path() : fs::path(opt.dir);
  std::string tmpl = (parent / "cc-snapshot-bench-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::fprintf(stderr, "snapshot_bench: cannot create a directory under %s: %s\n", parent.c_str(),
                 errno_text(errno).c_str());
    return 2;
  }
  const fs::path work = tmpl;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);

  int rc = 1;
  try {
    rc = run(opt, work, *tar);
  } catch (const Failed& f) {
    std::fprintf(stderr, "snapshot_bench: %s\n", f.what.c_str());
  } catch (const std::exception& e) {  // std::filesystem
    std::fprintf(stderr, "snapshot_bench: %s\n", e.what());
  }
  std::error_code ec;
  if (opt.keep) {
    std::printf("kept %s\n", work.c_str());
  } else {
    fs::remove_all(work, ec);
  }
  if (!opt.report.empty()) {
    std::ofstream(opt.report) << g_report;
  }
  return rc;
}
