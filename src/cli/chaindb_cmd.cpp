// cli/chaindb_cmd.cpp — `corecell chain import|head|verify`: the chain database commands. Thin:
// they parse flags, hold DATA_DIR/klay/LOCK where they write, and call storage/.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <thread>

#include "chain/block.h"
#include "chain/genesis.h"
#include "cli/app.h"
#include "cli/common.h"
#include "storage/chain_store.h"
#include "storage/chaindb.h"
#include "storage/consistency.h"
#include "util/bytes.h"
#include "util/clock.h"
#include "util/files.h"

namespace cc::cli {

namespace {

namespace fs = std::filesystem;

std::string utc_time(std::uint64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

struct ImportArgs {
  std::string datadir;
  std::string genesis;
  std::string file;
  bool no_sync = false;
  std::size_t threads = 0;
};

void run_import(const ImportArgs& a) {
  const fs::path data_dir = a.datadir;
  or_fail(ensure_dir(data_dir / "klay"));
  // One process per DATA_DIR (DESIGN.md); held until the command returns.
  ProcessLock lock = or_fail(ProcessLock::acquire(data_dir / "klay" / "LOCK"));
  const chain::Genesis genesis = or_fail(chain::load_genesis_file(a.genesis));

  // Decode the whole file before writing anything: a malformed file imports nothing.
  const std::string raw = or_fail(read_file(a.file, std::size_t{1} << 34));
  auto decoded = chain::decode_block_stream(view(raw));
  if (!decoded.ok()) fail(a.file + ": " + decoded.error().message);
  const std::vector<chain::Block> blocks = std::move(decoded).value();

  storage::ChainStoreOptions options;
  options.sync = !a.no_sync;
  options.verify_threads =
      a.threads != 0 ? a.threads : std::max(1u, std::thread::hardware_concurrency());
  storage::ChainStore store =
      or_fail(storage::ChainStore::open(storage::chaindata_path(data_dir), genesis, options));
  std::printf("import: %s: %zu blocks; chaindata %s at #%llu %s%s\n", a.file.c_str(), blocks.size(),
              storage::chaindata_path(data_dir).string().c_str(),
              static_cast<unsigned long long>(store.head().number),
              to_hex0x(store.head_hash()).c_str(), a.no_sync ? " (--no-sync)" : "");
  std::fflush(stdout);

  const auto start = std::chrono::steady_clock::now();
  auto last_print = start;
  auto progress = [&](std::size_t index, const storage::ImportSummary& s) {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_print < std::chrono::seconds(1)) return;
    last_print = now;
    const double secs = seconds_since(start);
    std::printf("import: block #%llu (%zu/%zu) imported %zu skipped %zu txs %zu %.1f s %.0f tx/s\n",
                static_cast<unsigned long long>(blocks[index].header.number), index + 1,
                blocks.size(), s.imported, s.already_known, s.transactions, secs,
                secs > 0 ? static_cast<double>(s.transactions) / secs : 0.0);
    std::fflush(stdout);
  };
  const storage::ImportSummary summary =
      or_fail(store.import_blocks(blocks, unix_seconds_now(), progress));
  const double secs = seconds_since(start);
  std::printf(
      "import: summary: blocks %zu imported, %zu already present; txs %zu; %.2f s; %.0f tx/s; "
      "head #%llu %s\n",
      summary.imported, summary.already_known, summary.transactions, secs,
      secs > 0 ? static_cast<double>(summary.transactions) / secs : 0.0,
      static_cast<unsigned long long>(store.head().number), to_hex0x(store.head_hash()).c_str());
  std::fflush(stdout);
  if (summary.rejection) {
    fail(a.file + ": " + summary.rejection->to_error().message +
         "; nothing of it was written, "
         "the head stays at #" +
         std::to_string(store.head().number) + " " + to_hex0x(store.head_hash()));
  }
}

storage::ChainDb open_read_only(const std::string& datadir) {
  storage::ChainDb::Options ro;
  ro.read_only = true;
  return or_fail(storage::ChainDb::open(storage::chaindata_path(datadir), ro));
}

void run_head(const std::string& datadir) {
  storage::ChainDb db = open_read_only(datadir);
  auto hash = or_fail(db.head_hash());
  if (!hash) fail("chaindata " + db.path().string() + " has no head yet (not initialised)");
  auto header = or_fail(db.head_header());
  std::printf("number     %llu\nhash       %s\nstateRoot  %s\ntime       %llu (%s)\n",
              static_cast<unsigned long long>(header->number), to_hex0x(*hash).c_str(),
              to_hex0x(header->state_root).c_str(), static_cast<unsigned long long>(header->time),
              utc_time(header->time).c_str());
}

struct VerifyArgs {
  std::string datadir;
  std::string genesis;
  bool no_reexecute = false;
  std::size_t threads = 0;
};

void run_verify(const VerifyArgs& a) {
  const chain::Genesis genesis = or_fail(chain::load_genesis_file(a.genesis));
  storage::ChainDb db = open_read_only(a.datadir);
  const std::size_t threads =
      a.threads != 0 ? a.threads : std::max(1u, std::thread::hardware_concurrency());
  std::unique_ptr<ThreadPool> pool;
  if (threads > 1) pool = std::make_unique<ThreadPool>(threads - 1, "cc-verify");
  storage::ConsistencyOptions options;
  options.reexecute = !a.no_reexecute;
  options.pool = pool.get();
  options.progress = [](std::uint64_t n) {
    std::printf("verify: block #%llu ok\n", static_cast<unsigned long long>(n));
    std::fflush(stdout);
  };
  const auto start = std::chrono::steady_clock::now();
  auto report = storage::check_consistency(db, genesis, options);
  if (!report.ok()) {
    fail("chaindata " + db.path().string() + " is inconsistent: " + report.error().message);
  }
  std::printf(
      "verify: ok: blocks 0..%llu consistent%s; txs %zu; accounts %zu; head %s; stateRoot %s; "
      "%.2f s\n",
      static_cast<unsigned long long>(report->head_number),
      options.reexecute ? " and re-executed" : "", report->transactions, report->accounts,
      to_hex0x(report->head_hash).c_str(), to_hex0x(report->state_root).c_str(),
      seconds_since(start));
}

}  // namespace

void add_chaindb_commands(CLI::App& app) {
  CLI::App* chain = nullptr;
  try {
    chain = app.get_subcommand("chain");
  } catch (const CLI::OptionNotFound&) {
    // add_chain_commands normally creates it first; standing alone keeps these usable.
    chain = app.add_subcommand("chain", "Chain data: generate, import, inspect and verify");
    chain->require_subcommand(1);
  }

  auto import_args = std::make_shared<ImportArgs>();
  CLI::App* import = chain->add_subcommand(
      "import",
      "Import blocks from an RLP file (a concatenation of blocks) into DATA_DIR's "
      "chaindata, verifying seals, signatures and roots; resumes where it stopped");
  import->add_option("--datadir", import_args->datadir, "DATA_DIR")->required();
  import->add_option("--genesis", import_args->genesis, "genesis.json")->required();
  import->add_option("--file", import_args->file, "blocks file (RLP blocks, concatenated)")
      ->required();
  import->add_flag("--no-sync", import_args->no_sync,
                   "do not fsync each block's batch (a process crash is still safe; a power "
                   "loss may lose the last blocks)");
  import->add_option("--threads", import_args->threads,
                     "threads recovering transaction senders (default: all cores)");
  import->callback([import_args] { run_import(*import_args);
});

auto head_dir = std::make_shared<std::string>();
CLI::App* head = chain->add_subcommand("head", "Print the head block of DATA_DIR's chaindata");
head->add_option("--datadir", *head_dir, "DATA_DIR")->required();
head->callback([head_dir] { run_head(*head_dir); });

auto verify_args = std::make_shared<VerifyArgs>();
CLI::App* verify = chain->add_subcommand(
    "verify",
    "Check DATA_DIR's chaindata end to end (links, indexes, roots, re-execution); exit 1 "
    "with the first problem");
verify->add_option("--datadir", verify_args->datadir, "DATA_DIR")->required();
verify->add_option("--genesis", verify_args->genesis, "genesis.json")->required();
verify->add_flag("--no-reexecute", verify_args->no_reexecute,
                 "check structure and roots only, without re-verifying seals and re-executing");
verify->add_option("--threads", verify_args->threads,
                   "threads recovering senders during re-execution (default: all cores)");
verify->callback([verify_args] { run_verify(*verify_args); });
}  // namespace cc::cli

}  // namespace cc::cli
