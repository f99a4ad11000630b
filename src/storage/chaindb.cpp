#include "storage/chaindb.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <array>
#include <set>
#include <system_error>

#include "codec/rlp.h"
#include "util/assert.h"
#include "util/files.h"

namespace cc::storage {

namespace fs = std::filesystem;

namespace {

// Column family indices; the order of kCfNames is the order handles are opened in.
enum CfIndex : int {
  kDefault = 0,
  kHeaders,
  kBodies,
  kReceipts,
  kCanonical,
  kNumbers,
  kTxLookup,
  kState,
  kCfCount
};

constexpr std::array<const char*, kCfCount> kCfNames = {kCfDefault,  kCfHeaders,   kCfBodies,
                                                        kCfReceipts, kCfCanonical, kCfNumbers,
                                                        kCfTxLookup, kCfState};

rocksdb::Slice slice(ByteView v) { return {reinterpret_cast<const char*>(v.data()), v.size()}; }
rocksdb::Slice slice(const std::string& s) { return {s.data(), s.size()}; }
ByteView view_of(const rocksdb::Slice& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

Bytes be32(std::uint32_t v) {
  return {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
          static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
}
std::uint32_t read_be32(ByteView b) {
  return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
         std::uint32_t{b[3]};
}

// Maps a RocksDB open failure to an operator-readable error naming the directory.
Error open_error(const fs::path& dir, const rocksdb::Status& s) {
  const std::string what = s.ToString();
  if (s.IsIOError() &&
      (what.find("lock") != std::string::npos || what.find("LOCK") != std::string::npos)) {
    return make_error("chaindb.locked",
                      "chaindata " + dir.string() + " is locked by another process (" + what +
                          "); only one process may open a DATA_DIR: stop the other one first");
  }
  if (s.IsCorruption()) {
    return make_error("chaindb.corrupt", "chaindata " + dir.string() + " is corrupt (" + what +
                                             "); restore it from a snapshot or re-sync");
  }
  return make_error("chaindb.io", "cannot open chaindata " + dir.string() + ": " + what +
                                      "; check that it is a directory this user can read and "
                                      "write");
}

std::string key_text(int cf, ByteView key) {
  return std::string(kCfNames[static_cast<std::size_t>(cf)]) + " key 0x" + to_hex(key);
}

}  // namespace

fs::path chaindata_path(const fs::path& data_dir) { return data_dir / "klay" / "chaindata"; }

// ---------------------------------------------------------------------------------------------
// Value encodings

Bytes encode_tx_location(const TxLocation& loc) {
  Bytes out;
  out.reserve(12);
  auto n = be64(loc.block_number);
  out.insert(out.end(), n.begin(), n.end());
  auto i = be32(loc.index);
  out.insert(out.end(), i.begin(), i.end());
  return out;
}

Result<TxLocation> decode_tx_location(ByteView value) {
  if (value.size() != 12) {
    return make_error("chaindb.corrupt",
                      "txlookup value must be 12 bytes (be64 number, be32 "
                      "index), got " +
                          std::to_string(value.size()));
  }
  return TxLocation{read_be64(value.subspan(0, 8)), read_be32(value.subspan(8, 4))};
}

Bytes encode_body(const std::vector<chain::Transaction>& txs) {
  rlp::Encoder enc;
  enc.begin_list();
  for (const auto& tx : txs) enc.raw(tx.encode());
  enc.end_list();
  return enc.finish();
}

Result<std::vector<chain::Transaction>> decode_body(ByteView value) {
  CC_TRY_ASSIGN(auto list, rlp::ListReader::open(value));
  std::vector<chain::Transaction> txs;
  txs.reserve(list.remaining_items());
  while (!list.at_end()) {
    CC_TRY_ASSIGN(auto item, list.next());
    CC_TRY_ASSIGN(auto tx, chain::Transaction::decode(item.encoded));
    txs.push_back(std::move(tx));
  }
  return txs;
}

Bytes encode_receipts(const std::vector<chain::Receipt>& receipts) {
  rlp::Encoder enc;
  enc.begin_list();
  for (const auto& r : receipts) enc.raw(r.encode());
  enc.end_list();
  return enc.finish();
}

Result<std::vector<chain::Receipt>> decode_receipts(ByteView value) {
  CC_TRY_ASSIGN(auto list, rlp::ListReader::open(value));
  std::vector<chain::Receipt> out;
  out.reserve(list.remaining_items());
  while (!list.at_end()) {
    CC_TRY_ASSIGN(auto item, list.next());
    CC_TRY_ASSIGN(auto r, chain::Receipt::decode(item.encoded));
    out.push_back(r);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// ChainBatch

void ChainBatch::put(int cf, ByteView key, ByteView value) {
  ops_.push_back(
      Op{cf, false, std::string(key.begin(), key.end()), std::string(value.begin(), value.end())});
}
void ChainBatch::erase(int cf, ByteView key) {
  ops_.push_back(Op{cf, true, std::string(key.begin(), key.end()), {}});
}

void ChainBatch::put_schema_version(std::uint32_t version) {
  put(kDefault, view(kKeySchemaVersion), be32(version));
}
void ChainBatch::put_genesis_hash(const Hash32& hash) {
  put(kDefault, view(kKeyGenesisHash), hash);
}
void ChainBatch::put_head_hash(const Hash32& hash) { put(kDefault, view(kKeyHeadHash), hash); }
void ChainBatch::put_chain_id(std::uint64_t chain_id) {
  put(kDefault, view(kKeyChainId), be64(chain_id));
}
void ChainBatch::put_header(const Hash32& hash, const chain::Header& header) {
  put(kHeaders, hash, header.encode());
  put(kNumbers, hash, be64(header.number));
}
void ChainBatch::put_body(const Hash32& hash, const std::vector<chain::Transaction>& txs) {
  put(kBodies, hash, encode_body(txs));
}
void ChainBatch::put_receipts(const Hash32& hash, const std::vector<chain::Receipt>& receipts) {
  put(kReceipts, hash, encode_receipts(receipts));
}
void ChainBatch::put_canonical(std::uint64_t number, const Hash32& hash) {
  put(kCanonical, be64(number), hash);
}
void ChainBatch::put_tx_location(const Hash32& tx_hash, const TxLocation& loc) {
  put(kTxLookup, tx_hash, encode_tx_location(loc));
}
void ChainBatch::put_account(const Address& addr, const chain::Account& account) {
  if (account.empty()) {
    erase(kState, addr);
  } else {
    put(kState, addr, chain::encode_account(account));
  }
}
void ChainBatch::put_block(const chain::Block& block, const Hash32& hash,
                           const std::vector<chain::Receipt>& receipts) {
  // One receipt per transaction is the executor's contract; anything else is a bug here.
  CC_ASSERT(receipts.size() == block.transactions.size());
  put_header(hash, block.header);
  put_body(hash, block.transactions);
  put_receipts(hash, receipts);
  put_canonical(block.header.number, hash);
  for (std::size_t i = 0; i < receipts.size(); ++i) {
    put_tx_location(receipts[i].tx_hash,
                    TxLocation{block.header.number, static_cast<std::uint32_t>(i)});
  }
}

// ---------------------------------------------------------------------------------------------
// ChainDb

struct ChainDb::Impl {
  fs::path path;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs;

  ~Impl() {
    if (db) {
      for (auto* h : cfs) (void)db->DestroyColumnFamilyHandle(h);
      (void)db->Close();
    }
  }

  // Raw get: nullopt when absent.
  Result<std::optional<std::string>> get(int cf, ByteView key) const {
    std::string value;
    auto s = db->Get(rocksdb::ReadOptions(), cfs[static_cast<std::size_t>(cf)], slice(key), &value);
    if (s.IsNotFound()) return std::optional<std::string>{};
    if (!s.ok()) {
      return make_error(
          s.IsCorruption() ? "chaindb.corrupt" : "chaindb.io",
          "reading " + key_text(cf, key) + " from " + path.string() + ": " + s.ToString());
    }
    return std::optional<std::string>{std::move(value)};
  }

  Error corrupt(int cf, ByteView key, const std::string& why) const {
    return make_error("chaindb.corrupt", "chaindata " + path.string() + ": " + key_text(cf, key) +
                                             " holds an invalid value (" + why +
                                             "); run `corecell chain verify`, restore from a "
                                             "snapshot or re-sync");
  }

  Result<std::optional<Hash32>> get_hash(int cf, ByteView key) const {
    CC_TRY_ASSIGN(auto v, get(cf, key));
    if (!v) return std::optional<Hash32>{};
    if (v->size() != 32) {
      return corrupt(cf, key,
                     "expected a 32-byte hash, got " + std::to_string(v->size()) + " bytes");
    }
    Hash32 h{};
    std::copy(v->begin(), v->end(), h.begin());
    return std::optional<Hash32>{h};
  }
};

ChainDb::ChainDb(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ChainDb::ChainDb(ChainDb&&) noexcept = default;
ChainDb& ChainDb::operator=(ChainDb&&) noexcept = default;
ChainDb::~ChainDb() = default;

const fs::path& ChainDb::path() const { return impl_->path; }

Result<ChainDb> ChainDb::open(const fs::path& dir, const Options& options) {
  std::error_code ec;
  const bool dir_exists = fs::exists(dir, ec);
  if (dir_exists && !fs::is_directory(dir, ec)) {
    return make_error("chaindb.io", "cannot open chaindata " + dir.string() +
                                        ": it exists but is not a directory; move it away or "
                                        "fix DATA_DIR");
  }
  const bool existing = fs::exists(dir / "CURRENT", ec);
  if (!existing) {
    if (options.read_only || !options.create_if_missing) {
      return make_error("chaindb.missing",
                        "no chaindata at " + dir.string() +
                            "; check DATA_DIR, or initialise it with `corecell chain import`");
    }
    CC_TRY_STATUS(ensure_dir(dir));
  }

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = !options.read_only;
  db_options.create_missing_column_families = !options.read_only;
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  db_options.keep_log_file_num = 2;
  db_options.max_open_files = 512;
  // Bounds memtable memory across the column families (the default is 64 MiB per family).
  db_options.db_write_buffer_size = 64u << 20;

  if (existing) {
    std::vector<std::string> names;
    auto s = rocksdb::DB::ListColumnFamilies(db_options, dir.string(), &names);
    if (!s.ok()) return open_error(dir, s);
    for (const auto& n : names) {
      if (std::find_if(kCfNames.begin(), kCfNames.end(), [&](const char* k) { return n == k; }) ==
          kCfNames.end()) {
        return make_error("chaindb.schema",
                          "chaindata " + dir.string() + " has column family '" + n +
                              "', unknown to this corecell (schema version " +
                              std::to_string(kChainDbSchemaVersion) +
                              "); it was written by another version: use that version or "
                              "re-sync into an empty DATA_DIR");
      }
    }
    if (options.read_only && names.size() != kCfNames.size()) {
      return make_error("chaindb.schema",
                        "chaindata " + dir.string() + " has " + std::to_string(names.size()) +
                            " column families, expected " + std::to_string(kCfNames.size()) +
                            "; it is not a complete corecell chain database");
    }
  }

  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (const char* name : kCfNames) {
    rocksdb::ColumnFamilyOptions cf_options;
    cf_options.write_buffer_size = 16u << 20;
    descs.emplace_back(name, cf_options);
  }

  auto impl = std::make_unique<Impl>();
  impl->path = dir;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  if (options.read_only) {
    s = rocksdb::DB::OpenForReadOnly(db_options, dir.string(), descs, &impl->cfs, &raw);
  } else {
    s = rocksdb::DB::Open(db_options, dir.string(), descs, &impl->cfs, &raw);
  }
  if (!s.ok()) return open_error(dir, s);
  impl->db.reset(raw);

  ChainDb db(std::move(impl));
  CC_TRY_ASSIGN(auto version_raw, db.impl_->get(kDefault, view(kKeySchemaVersion)));
  if (!version_raw) {
    // A database this code created always has a version, written right after creation; one
    // without a version but also without a chain is that same database cut short, so it is
    // safe to adopt. Anything else is not ours.
    CC_TRY_ASSIGN(auto head, db.head_hash());
    CC_TRY_ASSIGN(auto genesis, db.genesis_hash());
    if (head || genesis) {
      return make_error("chaindb.schema", "chaindata " + dir.string() +
                                              " has no schema_version; it was not written by "
                                              "corecell: use an empty DATA_DIR");
    }
    if (options.read_only) {
      return make_error("chaindb.missing", "chaindata " + dir.string() +
                                               " is empty (no schema version, no chain); "
                                               "initialise it with `corecell chain import`");
    }
    ChainBatch batch;
    batch.put_schema_version(kChainDbSchemaVersion);
    CC_TRY_STATUS(db.write(batch, true));
    return db;
  }
  if (version_raw->size() != 4) {
    return db.impl_->corrupt(kDefault, view(kKeySchemaVersion),
                             "expected 4 bytes, got " + std::to_string(version_raw->size()));
  }
  const std::uint32_t version = read_be32(view(*version_raw));
  if (version != kChainDbSchemaVersion) {
    return make_error("chaindb.schema",
                      "chaindata " + dir.string() + " has schema version " +
                          std::to_string(version) + " but this corecell reads version " +
                          std::to_string(kChainDbSchemaVersion) +
                          (version > kChainDbSchemaVersion
                               ? "; it was written by a newer corecell: upgrade, or re-sync "
                                 "into an empty DATA_DIR"
                               : "; it was written by an older corecell: re-sync into an "
                                 "empty DATA_DIR"));
  }
  return db;
}

Status ChainDb::write(const ChainBatch& batch, bool sync) {
  rocksdb::WriteBatch wb;
  for (const auto& op : batch.ops_) {
    auto* cf = impl_->cfs[static_cast<std::size_t>(op.cf)];
    rocksdb::Status s =
        op.erase ? wb.Delete(cf, slice(op.key)) : wb.Put(cf, slice(op.key), slice(op.value));
    if (!s.ok()) {
      return make_error("chaindb.io",
                        "building a write batch for " + impl_->path.string() + ": " + s.ToString());
    }
  }
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  auto s = impl_->db->Write(wo, &wb);
  if (!s.ok()) {
    return make_error("chaindb.io", "writing " + std::to_string(batch.count()) +
                                        " entries to chaindata " + impl_->path.string() + ": " +
                                        s.ToString() + "; check free space and the disk");
  }
  return ok_status();
}

Result<std::uint32_t> ChainDb::schema_version() const {
  CC_TRY_ASSIGN(auto v, impl_->get(kDefault, view(kKeySchemaVersion)));
  if (!v || v->size() != 4) {
    return impl_->corrupt(kDefault, view(kKeySchemaVersion), "missing or not 4 bytes");
  }
  return read_be32(view(*v));
}

Result<std::optional<Hash32>> ChainDb::genesis_hash() const {
  return impl_->get_hash(kDefault, view(kKeyGenesisHash));
}

Result<std::optional<Hash32>> ChainDb::head_hash() const {
  return impl_->get_hash(kDefault, view(kKeyHeadHash));
}

Result<std::optional<std::uint64_t>> ChainDb::chain_id() const {
  CC_TRY_ASSIGN(auto v, impl_->get(kDefault, view(kKeyChainId)));
  if (!v) return std::optional<std::uint64_t>{};
  if (v->size() != 8) {
    return impl_->corrupt(kDefault, view(kKeyChainId),
                          "expected 8 bytes, got " + std::to_string(v->size()));
  }
  return std::optional<std::uint64_t>{read_be64(view(*v))};
}

Status ChainDb::checkpoint(const fs::path& dir) const {
  rocksdb::Checkpoint* raw = nullptr;
  auto s = rocksdb::Checkpoint::Create(impl_->db.get(), &raw);
  std::unique_ptr<rocksdb::Checkpoint> cp(raw);
  // log_size_for_flush 0: flush the memtables first, so the checkpoint's SST files hold every
  // write and it does not depend on replaying a WAL copy.
  if (s.ok()) s = cp->CreateCheckpoint(dir.string(), /*log_size_for_flush=*/0);
  if (!s.ok()) {
    return make_error("chaindb.checkpoint", "checkpoint of chaindata " + impl_->path.string() +
                                                " into " + dir.string() + ": " + s.ToString() +
                                                " (the directory must not exist, its parent "
                                                "must, on the same filesystem for hard links)");
  }
  return ok_status();
}

Result<std::optional<chain::Header>> ChainDb::header(const Hash32& hash) const {
  CC_TRY_ASSIGN(auto v, impl_->get(kHeaders, hash));
  if (!v) return std::optional<chain::Header>{};
  auto h = chain::Header::decode(view(*v));
  if (!h.ok()) return impl_->corrupt(kHeaders, hash, h.error().message);
  return std::optional<chain::Header>{std::move(h).value()};
}

Result<std::optional<std::vector<chain::Transaction>>> ChainDb::body(const Hash32& hash) const {
  CC_TRY_ASSIGN(auto v, impl_->get(kBodies, hash));
  if (!v) return std::optional<std::vector<chain::Transaction>>{};
  auto txs = decode_body(view(*v));
  if (!txs.ok()) return impl_->corrupt(kBodies, hash, txs.error().message);
  return std::optional<std::vector<chain::Transaction>>{std::move(txs).value()};
}

Result<std::optional<std::vector<chain::Receipt>>> ChainDb::receipts(const Hash32& hash) const {
  CC_TRY_ASSIGN(auto v, impl_->get(kReceipts, hash));
  if (!v) return std::optional<std::vector<chain::Receipt>>{};
  auto rs = decode_receipts(view(*v));
  if (!rs.ok()) return impl_->corrupt(kReceipts, hash, rs.error().message);
  return std::optional<std::vector<chain::Receipt>>{std::move(rs).value()};
}

Result<std::optional<Hash32>> ChainDb::canonical_hash(std::uint64_t number) const {
  return impl_->get_hash(kCanonical, be64(number));
}

Result<std::optional<std::uint64_t>> ChainDb::block_number(const Hash32& hash) const {
  CC_TRY_ASSIGN(auto v, impl_->get(kNumbers, hash));
  if (!v) return std::optional<std::uint64_t>{};
  if (v->size() != 8) return impl_->corrupt(kNumbers, hash, "expected 8 bytes (be64)");
  return std::optional<std::uint64_t>{read_be64(view(*v))};
}

Result<std::optional<chain::Block>> ChainDb::block(const Hash32& hash) const {
  CC_TRY_ASSIGN(auto h, header(hash));
  if (!h) return std::optional<chain::Block>{};
  CC_TRY_ASSIGN(auto txs, body(hash));
  if (!txs) {
    return impl_->corrupt(kBodies, hash, "the header is stored but the body is missing");
  }
  return std::optional<chain::Block>{chain::Block{std::move(*h), std::move(*txs)}};
}

Result<std::optional<chain::Block>> ChainDb::block_by_number(std::uint64_t number) const {
  CC_TRY_ASSIGN(auto hash, canonical_hash(number));
  if (!hash) return std::optional<chain::Block>{};
  return block(*hash);
}

Result<std::optional<chain::Header>> ChainDb::head_header() const {
  CC_TRY_ASSIGN(auto hash, head_hash());
  if (!hash) return std::optional<chain::Header>{};
  CC_TRY_ASSIGN(auto h, header(*hash));
  if (!h) {
    return impl_->corrupt(kDefault, view(kKeyHeadHash),
                          "head hash 0x" + to_hex(*hash) + " has no stored header");
  }
  return h;
}

Result<std::optional<TxLocation>> ChainDb::tx_location(const Hash32& tx_hash) const {
  CC_TRY_ASSIGN(auto v, impl_->get(kTxLookup, tx_hash));
  if (!v) return std::optional<TxLocation>{};
  auto loc = decode_tx_location(view(*v));
  if (!loc.ok()) return impl_->corrupt(kTxLookup, tx_hash, loc.error().message);
  return std::optional<TxLocation>{*loc};
}

Result<std::optional<chain::Account>> ChainDb::account(const Address& addr) const {
  CC_TRY_ASSIGN(auto v, impl_->get(kState, addr));
  if (!v) return std::optional<chain::Account>{};
  auto a = chain::decode_account(view(*v));
  if (!a.ok()) return impl_->corrupt(kState, addr, a.error().message);
  return std::optional<chain::Account>{*a};
}

Result<chain::State> ChainDb::load_state() const {
  chain::State state;
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cfs[kState]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const ByteView key = view_of(it->key());
    if (key.size() != 20) {
      return impl_->corrupt(kState, key, "state keys are 20-byte addresses");
    }
    auto acct = chain::decode_account(view_of(it->value()));
    if (!acct.ok()) return impl_->corrupt(kState, key, acct.error().message);
    Address addr{};
    std::copy(key.begin(), key.end(), addr.begin());
    state.set(addr, *acct);
  }
  if (!it->status().ok()) {
    return make_error("chaindb.io", "reading the state of chaindata " + impl_->path.string() +
                                        ": " + it->status().ToString());
  }
  (void)state.take_dirty();  // loaded from disk: nothing to persist
  return state;
}

Status ChainDb::for_each_canonical(
    const std::function<bool(std::uint64_t, const Hash32&)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cfs[kCanonical]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const ByteView key = view_of(it->key());
    const ByteView value = view_of(it->value());
    if (key.size() != 8 || value.size() != 32) {
      return impl_->corrupt(kCanonical, key, "expected be64 number -> 32-byte hash");
    }
    Hash32 h{};
    std::copy(value.begin(), value.end(), h.begin());
    if (!fn(read_be64(key), h)) break;
  }
  if (!it->status().ok()) {
    return make_error("chaindb.io", "iterating the canonical chain of " + impl_->path.string() +
                                        ": " + it->status().ToString());
  }
  return ok_status();
}

}  // namespace cc::storage
