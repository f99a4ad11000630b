// storage/chaindb.h — owns the on-disk chain database: RocksDB at DATA_DIR/klay/chaindata, its
// column families, the key schema below, typed reads, and atomic write batches. It never decides
// what is valid (chain/verify.h and chain/executor.h do; storage/chain_store.h drives them) and
// never writes outside one WriteBatch, so a crash at any instant leaves the previous or the next
// consistent chain, never a mix.
//
// Key schema (schema version 1; every value is written by this file only):
//
//   column family   key                               value
//   -------------   --------------------------------  -----------------------------------------
//   default (meta)  "schema_version"                   be32 version (kChainDbSchemaVersion)
//                   "genesis_hash"                     32-byte hash of block 0
//                   "head_hash"                        32-byte hash of the canonical head
//                   "chain_id"                         be64 EIP-155 chain id of the genesis (so a
//                                                      snapshot of this directory can say its
//                                                      chain without the genesis file)
//   headers         block hash (32)                    rlp(header)          (chain/block.h)
//   bodies          block hash (32)                    rlp([tx, ...])       (chain/tx.h)
//   receipts        block hash (32)                    rlp([receipt, ...])  (chain/receipt.h)
//   canonical       be64(number) (8)                   block hash (32)
//   numbers         block hash (32)                    be64(number)
//   txlookup        tx hash (32)                       be64(number) ‖ be32(index in block)
//   state           address (20)                       rlp([nonce, balance]) (chain/state.h)
//
// Heights are big-endian so RocksDB's bytewise order is numeric order: iterating `canonical`
// walks the chain from genesis to head. Addresses sort bytewise, the order State::root() uses.
// The state CF holds the accounts at the head only (no history): it changes in the same batch
// that moves head_hash.
//
// One example key per query (hex):
//   head            default   "head_hash" = 686561645f68617368
//   block #1000     canonical 00000000000003e8                -> hash H
//   header of H     headers   H (e.g. 9f3c...e1, 32 bytes)    -> rlp(header)
//   number of H     numbers   H                               -> 00000000000003e8
//   tx T location   txlookup  T (32 bytes)                    -> 00000000000003e8 00000002
//   account A       state     A (e.g. 71562b71...f11c, 20 bytes) -> rlp([nonce, balance])
//   full state      state     iterate from the first key to the end
//
// Version check on open: a fresh (empty) database gets the current version; an existing one
// with another version, or with a column family this build does not know, is refused with an
// error naming the path and both versions (no silent migration).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chain/block.h"
#include "chain/receipt.h"
#include "chain/state.h"
#include "chain/tx.h"
#include "util/bytes.h"
#include "util/result.h"

namespace cc::storage {

inline constexpr std::uint32_t kChainDbSchemaVersion = 1;

// Column family names, in the order ChainDb opens them.
inline constexpr const char* kCfDefault = "default";
inline constexpr const char* kCfHeaders = "headers";
inline constexpr const char* kCfBodies = "bodies";
inline constexpr const char* kCfReceipts = "receipts";
inline constexpr const char* kCfCanonical = "canonical";
inline constexpr const char* kCfNumbers = "numbers";
inline constexpr const char* kCfTxLookup = "txlookup";
inline constexpr const char* kCfState = "state";

// Meta keys in the default CF.
inline constexpr const char* kKeySchemaVersion = "schema_version";
inline constexpr const char* kKeyGenesisHash = "genesis_hash";
inline constexpr const char* kKeyHeadHash = "head_hash";
inline constexpr const char* kKeyChainId = "chain_id";

// DATA_DIR/klay/chaindata
[[nodiscard]] std::filesystem::path chaindata_path(const std::filesystem::path& data_dir);

// Where a transaction is: block number and index in that block's body.
struct TxLocation {
  std::uint64_t block_number = 0;
  std::uint32_t index = 0;
  bool operator==(const TxLocation&) const = default;
};

// Encodings of the schema's keys and values (exposed for tests and tools that inspect a DB).
[[nodiscard]] Bytes encode_tx_location(const TxLocation& loc);  // be64 ‖ be32
[[nodiscard]] Result<TxLocation> decode_tx_location(ByteView value);
[[nodiscard]] Bytes encode_body(const std::vector<chain::Transaction>& txs);
[[nodiscard]] Result<std::vector<chain::Transaction>> decode_body(ByteView value);
[[nodiscard]] Bytes encode_receipts(const std::vector<chain::Receipt>& receipts);
[[nodiscard]] Result<std::vector<chain::Receipt>> decode_receipts(ByteView value);

class ChainDb;

// Collects writes; nothing reaches the database until ChainDb::write applies them all at once.
class ChainBatch {
 public:
  void put_schema_version(std::uint32_t version);
  void put_genesis_hash(const Hash32& hash);
  void put_head_hash(const Hash32& hash);
  void put_chain_id(std::uint64_t chain_id);
  // headers + numbers for hash; the header is stored in its wire form.
  void put_header(const Hash32& hash, const chain::Header& header);
  void put_body(const Hash32& hash, const std::vector<chain::Transaction>& txs);
  void put_receipts(const Hash32& hash, const std::vector<chain::Receipt>& receipts);
  void put_canonical(std::uint64_t number, const Hash32& hash);
  void put_tx_location(const Hash32& tx_hash, const TxLocation& loc);
  // An empty account is deleted (chain/state.h: empty == absent).
  void put_account(const Address& addr, const chain::Account& account);
  // A whole block as import writes it: header, number, body, receipts, canonical entry and the
  // txlookup entry of every transaction (tx hashes from the receipts).
  void put_block(const chain::Block& block, const Hash32& hash,
                 const std::vector<chain::Receipt>& receipts);

  [[nodiscard]] std::size_t count() const { return ops_.size(); }  // put/delete operations
  [[nodiscard]] bool empty() const { return ops_.empty(); }

 private:
  friend class ChainDb;
  struct Op {
    int cf;  // index into ChainDb's column family list
    bool erase;
    std::string key;
    std::string value;
  };
  void put(int cf, ByteView key, ByteView value);
  void erase(int cf, ByteView key);
  std::vector<Op> ops_;
};

class ChainDb {
 public:
  struct Options {
    bool create_if_missing = true;  // false: a missing DB is an error (tools that only read)
    bool read_only = false;         // RocksDB read-only open: no lock, no writes (head, verify)
  };

  // Opens (or creates) the database in `dir` (normally chaindata_path(DATA_DIR)). Errors name
  // `dir` and say what to do: "chaindb.locked" (another process has it open),
  // "chaindb.corrupt", "chaindb.io" (permissions, not a directory, ...),
  // "chaindb.missing" (read-only or !create_if_missing and nothing there),
  // "chaindb.schema" (other version or unknown column family).
  [[nodiscard]] static Result<ChainDb> open(const std::filesystem::path& dir,
                                            const Options& options);
  [[nodiscard]] static Result<ChainDb> open(const std::filesystem::path& dir) {
    return open(dir, Options{});
  }

  ChainDb(ChainDb&&) noexcept;
  ChainDb& operator=(ChainDb&&) noexcept;
  ChainDb(const ChainDb&) = delete;
  ChainDb& operator=(const ChainDb&) = delete;
  ~ChainDb();

  [[nodiscard]] const std::filesystem::path& path() const;

  // Applies every write of the batch atomically. sync = fsync the WAL before returning (a
  // power loss keeps the batch); without it a process crash still keeps it (the OS has it).
  [[nodiscard]] Status write(const ChainBatch& batch, bool sync);

  // ---- meta ----
  [[nodiscard]] Result<std::uint32_t> schema_version() const;
  [[nodiscard]] Result<std::optional<Hash32>> genesis_hash() const;
  [[nodiscard]] Result<std::optional<Hash32>> head_hash() const;
  // nullopt for a database written before the key existed (ChainStore::open adds it).
  [[nodiscard]] Result<std::optional<std::uint64_t>> chain_id() const;

  // A RocksDB checkpoint of the open database in `dir` (which must not exist; its parent must):
  // hard links to the immutable SST files plus copies of the small live files (MANIFEST,
  // OPTIONS, the WAL), so it takes about the same time at 1 GB as at 100 GB and the database
  // stays open for writes. The checkpoint is a complete database that opens on its own; it holds
  // every batch written before the call and none after. Errors: chaindb.checkpoint (naming
  // `dir` and RocksDB's reason).
  [[nodiscard]] Status checkpoint(const std::filesystem::path& dir) const;

  // ---- blocks (nullopt = not stored; an Error = I/O failure or a stored value that does not
  // decode, which names the column family and key) ----
  [[nodiscard]] Result<std::optional<chain::Header>> header(const Hash32& hash) const;
  [[nodiscard]] Result<std::optional<std::vector<chain::Transaction>>> body(
      const Hash32& hash) const;
  [[nodiscard]] Result<std::optional<std::vector<chain::Receipt>>> receipts(
      const Hash32& hash) const;
  [[nodiscard]] Result<std::optional<Hash32>> canonical_hash(std::uint64_t number) const;
  [[nodiscard]] Result<std::optional<std::uint64_t>> block_number(const Hash32& hash) const;
  [[nodiscard]] Result<std::optional<chain::Block>> block(const Hash32& hash) const;
  [[nodiscard]] Result<std::optional<chain::Block>> block_by_number(std::uint64_t number) const;
  [[nodiscard]] Result<std::optional<chain::Header>> head_header() const;

  // ---- transactions ----
  [[nodiscard]] Result<std::optional<TxLocation>> tx_location(const Hash32& tx_hash) const;

  // ---- state ----
  [[nodiscard]] Result<std::optional<chain::Account>> account(const Address& addr) const;
  // Every account of the state CF; the returned State has no dirty marks.
  [[nodiscard]] Result<chain::State> load_state() const;

  // Visits canonical entries (number, hash) in ascending number order; fn returns false to stop.
  [[nodiscard]] Status for_each_canonical(
      const std::function<bool(std::uint64_t, const Hash32&)>& fn) const;

 private:
  struct Impl;
  explicit ChainDb(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cc::storage
