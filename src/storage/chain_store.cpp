#include "storage/chain_store.h"

#include <algorithm>
#include <set>

#include "chain/executor.h"
#include "chain/receipt.h"
#include "util/assert.h"
#include "util/log.h"

namespace cc::storage {

namespace {

std::string short_hash(const Hash32& h) { return to_hex0x(h); }

// The executor reports a refused transaction as Error{"tx.<reason>"}; recover the typed reason.
std::optional<chain::TxInvalid> tx_reason_of(const Error& err) {
  constexpr std::string_view prefix = "tx.";
  if (err.code.rfind(prefix, 0) != 0) return std::nullopt;
  const std::string_view name = std::string_view(err.code).substr(prefix.size());
  for (int i = 0; i <= static_cast<int>(chain::TxInvalid::BlockGasLimitReached); ++i) {
    auto reason = static_cast<chain::TxInvalid>(i);
    if (chain::to_string(reason) == name) return reason;
  }
  return std::nullopt;
}

BlockRejection rejection(BlockInvalid reason, const chain::Block& block, const Hash32& hash,
                         std::string detail) {
  BlockRejection r{reason, std::nullopt,     std::nullopt, block.header.number,
                   hash,   std::move(detail)};
  return r;
}

}  // namespace

std::string_view to_string(BlockInvalid reason) {
  switch (reason) {
    case BlockInvalid::ConflictsWithCanonical:
      return "conflicts_with_canonical";
    case BlockInvalid::Header:
      return "header";
    case BlockInvalid::Transaction:
      return "transaction";
    case BlockInvalid::GasUsedMismatch:
      return "gas_used_mismatch";
    case BlockInvalid::StateRootMismatch:
      return "state_root_mismatch";
    case BlockInvalid::ReceiptsRootMismatch:
      return "receipts_root_mismatch";
  }
  return "unknown";
}

Error BlockRejection::to_error() const {
  std::string code = "import." + std::string(to_string(reason));
  if (header_reason) code += "." + std::string(chain::to_string(*header_reason));
  if (tx_reason) code += "." + std::string(chain::to_string(*tx_reason));
  return make_error(
      code, "block #" + std::to_string(number) + " " + short_hash(hash) + " rejected: " + detail);
}

ChainStore::ChainStore(ChainDb db, chain::Genesis genesis, Hash32 genesis_hash,
                       chain::Council council, ChainStoreOptions options)
    : db_(std::move(db)),
      genesis_(std::move(genesis)),
      genesis_hash_(genesis_hash),
      council_(std::move(council)),
      options_(std::move(options)) {
  // The calling thread takes part in ThreadPool::parallel_for, so N threads = N - 1 workers.
  if (options_.verify_threads > 1) {
    pool_ = std::make_unique<ThreadPool>(options_.verify_threads - 1, "cc-verify");
  }
}

ChainStore::ChainStore(ChainStore&&) noexcept = default;
ChainStore& ChainStore::operator=(ChainStore&&) noexcept = default;
ChainStore::~ChainStore() = default;

Result<ChainStore> ChainStore::open(const std::filesystem::path& chaindata_dir,
                                    const chain::Genesis& genesis,
                                    const ChainStoreOptions& options) {
  ChainDb::Options db_options;
  db_options.create_if_missing = options.create_if_missing;
  CC_TRY_ASSIGN(ChainDb db, ChainDb::open(chaindata_dir, db_options));
  auto council = genesis.make_council();
  if (!council.ok()) return council.error().context("genesis council");

  const chain::Block genesis_block = chain::genesis_block(genesis);
  const Hash32 ghash = genesis_block.hash();

  CC_TRY_ASSIGN(auto stored_genesis, db.genesis_hash());
  if (stored_genesis && *stored_genesis != ghash) {
    return make_error("chainstore.genesis_mismatch",
                      "chaindata " + chaindata_dir.string() + " was initialised with genesis " +
                          short_hash(*stored_genesis) + " but the given genesis has hash " +
                          short_hash(ghash) +
                          "; use the genesis file this DATA_DIR was created with, or an empty "
                          "DATA_DIR");
  }
  if (!stored_genesis) {
    // Fresh database: block 0, the alloc and the head in one batch, so a crash here leaves
    // either nothing (initialised again next time) or a complete genesis.
    CC_TRY_ASSIGN(auto head, db.head_hash());
    if (head) {
      return make_error("chaindb.corrupt", "chaindata " + chaindata_dir.string() +
                                               " has a head but no genesis hash; restore it "
                                               "from a snapshot or use an empty DATA_DIR");
    }
    chain::State alloc_state;
    for (const auto& [addr, balance] : genesis.alloc) {
      alloc_state.set(addr, chain::Account{0, balance});
    }
    if (alloc_state.root() != genesis_block.header.state_root) {
      return make_error("chainstore.genesis",
                        "genesis block stateRoot does not match its alloc (internal error)");
    }
    ChainBatch batch;
    batch.put_block(genesis_block, ghash, {});
    for (const auto& [addr, account] : alloc_state.take_dirty()) batch.put_account(addr, account);
    batch.put_genesis_hash(ghash);
    batch.put_chain_id(genesis.config.chain_id);
    batch.put_head_hash(ghash);
    CC_TRY_STATUS(db.write(batch, true));
    logger("storage")->info("chaindata {} initialised: genesis {} ({} accounts)",
                            chaindata_dir.string(), short_hash(ghash), genesis.alloc.size());
  }

  CC_TRY_ASSIGN(auto stored_chain_id, db.chain_id());
  if (stored_chain_id && *stored_chain_id != genesis.config.chain_id) {
    return make_error("chainstore.genesis_mismatch",
                      "chaindata " + chaindata_dir.string() + " belongs to chain id " +
                          std::to_string(*stored_chain_id) + " but the genesis says " +
                          std::to_string(genesis.config.chain_id) +
                          "; use the genesis file this DATA_DIR was created with");
  }
  if (!stored_chain_id) {  // written before the key existed: record it now
    ChainBatch batch;
    batch.put_chain_id(genesis.config.chain_id);
    CC_TRY_STATUS(db.write(batch, true));
  }

  ChainStore store(std::move(db), genesis, ghash, std::move(council).value(), options);
  CC_TRY_ASSIGN(auto head_hash, store.db_.head_hash());
  if (!head_hash) {
    return make_error("chaindb.corrupt", "chaindata " + chaindata_dir.string() +
                                             " has a genesis but no head; restore it from a "
                                             "snapshot or use an empty DATA_DIR");
  }
  CC_TRY_ASSIGN(auto head, store.db_.head_header());
  CC_TRY_ASSIGN(store.state_, store.db_.load_state());
  const Hash32 root = store.state_.root();
  if (root != head->state_root) {
    return make_error("chainstore.state_mismatch",
                      "chaindata " + chaindata_dir.string() + ": the stored state has root " +
                          short_hash(root) + " but head block #" + std::to_string(head->number) +
                          " says " + short_hash(head->state_root) +
                          "; run `corecell chain verify`, restore from a snapshot or re-sync");
  }
  auto proposer = chain::parent_proposer_of(*head);
  if (!proposer.ok()) {
    return make_error("chaindb.corrupt", "chaindata " + chaindata_dir.string() + ": head block #" +
                                             std::to_string(head->number) + ": " +
                                             proposer.rejection().detail);
  }
  store.head_proposer_ = *proposer;
  store.head_hash_ = *head_hash;
  store.head_ = std::move(*head);
  return store;
}

Result<ImportVerdict> ChainStore::import_block(const chain::Block& block, std::uint64_t now) {
  const Hash32 hash = block.hash();
  const std::uint64_t number = block.header.number;

  // 1. Heights we already have: the same block is a no-op (resumed import), another is a fork.
  if (number <= head_.number) {
    CC_TRY_ASSIGN(auto canonical, db_.canonical_hash(number));
    if (canonical && *canonical == hash) return ImportVerdict(ImportOutcome::AlreadyKnown);
    return ImportVerdict(rejection(
        BlockInvalid::ConflictsWithCanonical, block, hash,
        "block #" + std::to_string(number) + " in the canonical chain is " +
            (canonical ? short_hash(*canonical) : std::string("missing")) +
            "; Istanbul blocks are final, so a different block at that height is refused"));
  }

  // 2. Header (parent = head) and body.
  chain::VerifyParams params{genesis_.config.istanbul.block_period, now};
  auto seal = chain::verify_header(block.header, &head_, head_proposer_, council_, params);
  if (!seal.ok()) {
    auto r = rejection(BlockInvalid::Header, block, hash, seal.rejection().detail);
    r.header_reason = seal.reason();
    return ImportVerdict(std::move(r));
  }
  auto body = chain::verify_body(block);
  if (!body.ok()) {
    auto r = rejection(BlockInvalid::Header, block, hash, body.rejection().detail);
    r.header_reason = body.reason();
    return ImportVerdict(std::move(r));
  }

  // 3. Execute tentatively.
  const chain::State::Checkpoint cp = state_.checkpoint();
  auto exec = chain::execute_block(state_, block.transactions, block.header.rewardbase,
                                   genesis_.config.chain_id, pool_.get(), options_.senders.get());
  if (!exec.ok()) {
    state_.revert_to(cp);
    auto r = rejection(BlockInvalid::Transaction, block, hash, exec.error().message);
    r.tx_reason = tx_reason_of(exec.error());
    return ImportVerdict(std::move(r));
  }

  // 4. The header's commitments must match what execution produced.
  std::optional<BlockRejection> mismatch;
  if (exec->gas_used != block.header.gas_used) {
    mismatch = rejection(BlockInvalid::GasUsedMismatch, block, hash,
                         "header gasUsed " + std::to_string(block.header.gas_used) +
                             " but its transactions use " + std::to_string(exec->gas_used));
  } else if (exec->state_root != block.header.state_root) {
    mismatch = rejection(BlockInvalid::StateRootMismatch, block, hash,
                         "header stateRoot " + short_hash(block.header.state_root) +
                             " but executing the block gives " + short_hash(exec->state_root));
  } else if (exec->receipts_root != block.header.receipts_root) {
    mismatch = rejection(BlockInvalid::ReceiptsRootMismatch, block, hash,
                         "header receiptsRoot " + short_hash(block.header.receipts_root) +
                             " but the receipts hash to " + short_hash(exec->receipts_root));
  }
  if (mismatch) {
    state_.revert_to(cp);
    return ImportVerdict(std::move(*mismatch));
  }

  // 5. One batch. The accounts a transfer block can touch: senders, recipients, rewardbase.
  std::set<Address> touched(exec->senders.begin(), exec->senders.end());
  for (const auto& tx : block.transactions) {
    if (tx.to) touched.insert(*tx.to);
  }
  touched.insert(block.header.rewardbase);
  ChainBatch batch;
  batch.put_block(block, hash, exec->receipts);
  for (const auto& addr : touched) batch.put_account(addr, state_.get(addr));
  batch.put_head_hash(hash);
  Status written = db_.write(batch, options_.sync);
  if (!written.ok()) {
    state_.revert_to(cp);
    return written.error().context("importing block #" + std::to_string(number));
  }

  // 6. Commit in memory.
  state_.commit(cp);
  for (const auto& [addr, account] : state_.take_dirty()) {
    (void)account;
    // The executor changing an account outside this set would leave disk behind memory.
    CC_ASSERT(touched.count(addr) == 1);
  }
  head_ = block.header;
  head_hash_ = hash;
  head_proposer_ = seal->proposer;
  logger("storage")->debug("imported block #{} {} txs={} entries={}", number, short_hash(hash),
                           block.transactions.size(), batch.count());
  return ImportVerdict(ImportOutcome::Imported);
}

Result<ImportSummary> ChainStore::import_blocks(std::span<const chain::Block> blocks,
                                                std::uint64_t now, const Progress& progress) {
  ImportSummary summary;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    CC_TRY_ASSIGN(ImportVerdict verdict, import_block(blocks[i], now));
    if (!verdict.ok()) {
      // Debug level: block sources may be untrusted, and the caller reports the verdict.
      logger("storage")->debug("import: {}", verdict.rejection().to_error().message);
      summary.rejection = verdict.rejection();
      return summary;
    }
    if (verdict.outcome() == ImportOutcome::Imported) {
      ++summary.imported;
      summary.transactions += blocks[i].transactions.size();
    } else {
      ++summary.already_known;
    }
    if (progress) progress(i, summary);
  }
  return summary;
}

}  // namespace cc::storage
