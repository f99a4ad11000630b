// storage/chain_store.h — owns the chain on disk as the node sees it: opening or initialising
// chaindata from a genesis, the canonical head, the account state at the head (in memory,
// mirrored by the state column family), and crash-safe block import. It must never write a
// block that did not pass header verification (chain/verify.h) and execution with matching
// roots (chain/executor.h), and never write a block in more than one WriteBatch.
//
// Import of block B on top of head H (import_block):
//   1. B.number <= H.number: AlreadyKnown when canonical[B.number] == hash(B) (an import can be
//      resumed from the start of a file), else rejected ConflictsWithCanonical (no forks: IBFT
//      blocks are final).
//   2. verify_header(B, parent = H, proposer of H, genesis council, blockPeriod, now) and
//      verify_body(B): a rejection carries the HeaderInvalid reason.
//   3. execute_block on the in-memory state inside a State checkpoint (senders recovered on the
//      store's ThreadPool); a refused transaction carries its TxInvalid reason.
//   4. gasUsed, stateRoot and receiptsRoot must equal the header's; otherwise revert.
//   5. ONE WriteBatch: header, number, body, receipts, canonical entry, txlookup of every tx, the
//      accounts the block touched (senders, recipients, rewardbase) and head_hash; written with
//      WriteOptions.sync unless disabled. If the write fails the checkpoint is reverted, so
//      memory matches disk again.
//   6. Commit the checkpoint; the new head is B.
// A crash at any point leaves the database at H or at B (RocksDB applies a batch atomically on
// WAL recovery), and reopening rebuilds the in-memory state from the state column family.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "chain/block.h"
#include "chain/council.h"
#include "chain/genesis.h"
#include "chain/sender_cache.h"
#include "chain/state.h"
#include "chain/tx.h"
#include "chain/verify.h"
#include "storage/chaindb.h"
#include "util/result.h"
#include "util/thread_pool.h"

namespace cc::storage {

enum class BlockInvalid {
  ConflictsWithCanonical,  // another block is canonical at this height
  Header,                  // chain/verify.h refused the header or body (see header_reason)
  Transaction,             // a transaction is invalid (see tx_reason)
  GasUsedMismatch,         // header.gasUsed != executed gas
  StateRootMismatch,       // header.stateRoot != state after execution
  ReceiptsRootMismatch,    // header.receiptsRoot != root of the produced receipts
};

// Stable lower-case name ("state_root_mismatch"), used in error codes ("import.<name>").
[[nodiscard]] std::string_view to_string(BlockInvalid reason);

struct BlockRejection {
  BlockInvalid reason;
  std::optional<chain::HeaderInvalid> header_reason;  // set when reason == Header
  std::optional<chain::TxInvalid> tx_reason;          // set when reason == Transaction
  std::uint64_t number = 0;                           // the rejected block's number
  Hash32 hash{};                                      // and hash
  std::string detail;                                 // names the block and the values involved

  // Error{"import.<reason>", "block #N 0x..: <detail>"}.
  [[nodiscard]] Error to_error() const;
};

enum class ImportOutcome {
  Imported,      // written; the block is the new head
  AlreadyKnown,  // the same block is already canonical; nothing written
};

// The verdict on one untrusted block: an outcome, or a rejection the caller acts on (stop the
// import, drop the peer). I/O failures are not verdicts: they come back as Result errors.
class [[nodiscard]] ImportVerdict {
 public:
  ImportVerdict(ImportOutcome o) : v_(o) {}              // NOLINT(google-explicit-constructor)
  ImportVerdict(BlockRejection r) : v_(std::move(r)) {}  // NOLINT(google-explicit-constructor)
  [[nodiscard]] bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  [[nodiscard]] ImportOutcome outcome() const { return std::get<0>(v_); }
  [[nodiscard]] const BlockRejection& rejection() const { return std::get<1>(v_); }

 private:
  std::variant<ImportOutcome, BlockRejection> v_;
};

struct ChainStoreOptions {
  bool sync = true;                // WriteOptions.sync for every block batch
  std::size_t verify_threads = 1;  // threads recovering senders, caller included (1 = no pool)
  bool create_if_missing = true;   // false: refuse a DATA_DIR without chaindata
  // The node's sender cache (chain/sender_cache.h): senders its pool already recovered are not
  // recovered again at import. Null: recover every sender.
  std::shared_ptr<chain::SenderCache> senders;
};

// What import_blocks did.
struct ImportSummary {
  std::size_t imported = 0;                 // blocks written
  std::size_t already_known = 0;            // blocks skipped because they were already canonical
  std::size_t transactions = 0;             // transactions in the written blocks
  std::optional<BlockRejection> rejection;  // the block that stopped the run, if any
};

class ChainStore {
 public:
  // Opens the chain database in chaindata_dir (normally chaindata_path(DATA_DIR)). A fresh
  // database is initialised with genesis (block 0, the alloc's accounts, head = genesis) in one
  // batch; an existing one must have been initialised with the same genesis hash
  // ("chainstore.genesis_mismatch" names both hashes) and chain id (recorded on first open, also
  // into a database written before the key existed). The head's state is loaded and its root
  // checked against the head header ("chainstore.state_mismatch" otherwise).
  [[nodiscard]] static Result<ChainStore> open(const std::filesystem::path& chaindata_dir,
                                               const chain::Genesis& genesis,
                                               const ChainStoreOptions& options = {});

  ChainStore(ChainStore&&) noexcept;
  ChainStore& operator=(ChainStore&&) noexcept;
  ~ChainStore();

  [[nodiscard]] const chain::Header& head() const { return head_; }
  [[nodiscard]] const Hash32& head_hash() const { return head_hash_; }
  [[nodiscard]] const chain::State& state() const { return state_; }
  [[nodiscard]] const chain::Genesis& genesis() const { return genesis_; }
  [[nodiscard]] const Hash32& genesis_hash() const { return genesis_hash_; }
  [[nodiscard]] const chain::Council& council() const { return council_; }
  [[nodiscard]] const ChainDb& db() const { return db_; }

  // See the import steps at the top of this file. `now` (unix seconds) bounds header time.
  [[nodiscard]] Result<ImportVerdict> import_block(const chain::Block& block, std::uint64_t now);

  // Imports blocks in order, stopping at the first rejection (summary.rejection) or I/O error.
  // progress(index, summary) runs after each block, for progress lines.
  using Progress = std::function<void(std::size_t index, const ImportSummary& so_far)>;
  [[nodiscard]] Result<ImportSummary> import_blocks(std::span<const chain::Block> blocks,
                                                    std::uint64_t now,
                                                    const Progress& progress = nullptr);

 private:
  ChainStore(ChainDb db, chain::Genesis genesis, Hash32 genesis_hash, chain::Council council,
             ChainStoreOptions options);

  ChainDb db_;
  chain::Genesis genesis_;
  Hash32 genesis_hash_{};
  chain::Council council_;
  ChainStoreOptions options_;
  std::unique_ptr<ThreadPool> pool_;  // null when verify_threads <= 1
  chain::State state_;                // accounts at head_, equal to the state column family
  chain::Header head_;
  Hash32 head_hash_{};
  std::optional<Address> head_proposer_;  // nullopt while the head is block 0
};

}  // namespace cc::storage
