// Tests of storage/chain_store.h and storage/consistency.h: genesis initialisation, import,
// typed rejections that write nothing, resume, reopen, genesis mismatch.
#include "storage/chain_store.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include "chain/receipt.h"
#include "storage/consistency.h"
#include "storage_test_util.h"

namespace cc::storage {
namespace {

using testing::make_test_chain;
using testing::now_after;
using testing::proposer_of;
using testing::reseal;
using testing::TempDir;
using testing::TestChain;

// Everything the database says about the head and one block, to compare before/after.
struct Snapshot {
  Hash32 head{};
  Hash32 state_root{};
  std::size_t accounts = 0;
};

Snapshot snapshot_of(const ChainDb& db) {
  Snapshot s;
  auto head = db.head_hash();
  EXPECT_TRUE(head.ok() && head->has_value());
  if (head.ok() && head->has_value()) s.head = **head;
  auto state = db.load_state();
  EXPECT_TRUE(state.ok());
  if (state.ok()) {
    s.state_root = state->root();
    s.accounts = state->size();
  }
  return s;
}

void import_all(ChainStore& store, const TestChain& tc, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    auto v = store.import_block(tc.blocks[i], now_after(tc));
    ASSERT_TRUE(v.ok()) << v.error().message;
    ASSERT_TRUE(v->ok()) << v->rejection().to_error().message;
    ASSERT_EQ(v->outcome(), ImportOutcome::Imported);
  }
}

void import_all_from(ChainStore& store, const TestChain& tc, std::size_t first) {
  for (std::size_t i = first; i < tc.blocks.size(); ++i) {
    auto v = store.import_block(tc.blocks[i], now_after(tc));
    ASSERT_TRUE(v.ok() && v->ok());
  }
}

// Asserts that the rejected block left no trace on disk or in memory.
void expect_nothing_written(const ChainStore& store, const chain::Block& rejected,
                            const Snapshot& before) {
  Snapshot after = snapshot_of(store.db());
  EXPECT_EQ(after.head, before.head);
  EXPECT_EQ(after.state_root, before.state_root);
  EXPECT_EQ(after.accounts, before.accounts);
  EXPECT_EQ(store.head_hash(), before.head);
  EXPECT_EQ(store.state().root(), before.state_root);
  auto header = store.db().header(rejected.hash());
  ASSERT_TRUE(header.ok());
  EXPECT_FALSE(header->has_value());
  auto canonical = store.db().canonical_hash(rejected.header.number);
  ASSERT_TRUE(canonical.ok());
  EXPECT_FALSE(canonical->has_value());
  for (const auto& tx : rejected.transactions) {
    auto loc = store.db().tx_location(tx.hash());
    ASSERT_TRUE(loc.ok());
    EXPECT_FALSE(loc->has_value());
  }
}

TEST(ChainStore, InitialisesAFreshDatabaseFromTheGenesis) {
  auto tc = make_test_chain(0, 0);
  TempDir dir;
  auto store = ChainStore::open(dir.path(), tc.net.genesis);
  ASSERT_TRUE(store.ok()) << store.error().message;
  const Hash32 ghash = chain::genesis_hash(tc.net.genesis);
  EXPECT_EQ(store->head().number, 0u);
  EXPECT_EQ(store->head_hash(), ghash);
  EXPECT_EQ(store->genesis_hash(), ghash);
  EXPECT_EQ(store->state().size(), tc.net.genesis.alloc.size());
  EXPECT_EQ(store->state().root(), chain::genesis_block(tc.net.genesis).header.state_root);
  auto canonical = store->db().canonical_hash(0);
  ASSERT_TRUE(canonical.ok() && canonical->has_value());
  EXPECT_EQ(**canonical, ghash);
  auto stored_genesis = store->db().genesis_hash();
  ASSERT_TRUE(stored_genesis.ok() && stored_genesis->has_value());
  EXPECT_EQ(**stored_genesis, ghash);
}

TEST(ChainStore, ImportsAChainAndReopensAtTheSameHeadAndState) {
  auto tc = make_test_chain(12, 4);
  TempDir dir;
  Hash32 head{}, root{};
  {
    auto store = ChainStore::open(dir.path(), tc.net.genesis);
    ASSERT_TRUE(store.ok()) << store.error().message;
    import_all(*store, tc, tc.blocks.size());
    EXPECT_EQ(store->head().number, 12u);
    EXPECT_EQ(store->head_hash(), tc.blocks.back().hash());
    EXPECT_EQ(store->state().root(), tc.blocks.back().header.state_root);
    head = store->head_hash();
    root = store->state().root();
  }
  auto store = ChainStore::open(dir.path(), tc.net.genesis);
  ASSERT_TRUE(store.ok()) << store.error().message;
  EXPECT_EQ(store->head_hash(), head);
  EXPECT_EQ(store->head().number, 12u);
  EXPECT_EQ(store->state().root(), root);

  auto report = check_consistency(store->db(), tc.net.genesis);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->head_number, 12u);
  EXPECT_EQ(report->transactions, 12u * 4u);
  EXPECT_EQ(report->state_root, root);
}

TEST(ChainStore, RecordsTheChainIdAndRefusesAnotherOne) {
  auto tc = make_test_chain(0, 0);
  TempDir dir;
  {
    auto store = ChainStore::open(dir.path(), tc.net.genesis);
    ASSERT_TRUE(store.ok()) << store.error().message;
    auto id = store->db().chain_id();
    ASSERT_TRUE(id.ok() && id->has_value());
    EXPECT_EQ(**id, tc.net.genesis.config.chain_id);
  }
  chain::Genesis other = tc.net.genesis;
  other.config.chain_id += 1;
  auto refused = ChainStore::open(dir.path(), other);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("chain id"), std::string::npos) << refused.error().message;
}

TEST(ChainStore, CheckpointIsACompleteDatabaseAtTheHeadOfTheCall) {
  auto tc = make_test_chain(8, 3);
  TempDir dir;
  auto store = ChainStore::open(dir.path() / "live", tc.net.genesis);
  ASSERT_TRUE(store.ok()) << store.error().message;
  import_all(*store, tc, 5);
  const std::filesystem::path cp = dir.path() / "checkpoint";
  ASSERT_TRUE(store->db().checkpoint(cp).ok());
  import_all_from(*store, tc, 5);  // the live database moves on; the checkpoint does not
  auto again = store->db().checkpoint(cp);
  ASSERT_FALSE(again.ok()) << "an existing directory is refused";
  EXPECT_EQ(again.error().code, "chaindb.checkpoint");

  ChainDb::Options ro;
  ro.read_only = true;
  ro.create_if_missing = false;
  auto copy = ChainDb::open(cp, ro);
  ASSERT_TRUE(copy.ok()) << copy.error().message;
  auto head = copy->head_header();
  ASSERT_TRUE(head.ok() && head->has_value());
  EXPECT_EQ((*head)->number, 5u);
  auto state = copy->load_state();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->root(), tc.blocks[4].header.state_root);
  auto id = copy->chain_id();
  ASSERT_TRUE(id.ok() && id->has_value());
  EXPECT_EQ(store->head().number, 8u);
}

TEST(ChainStore, ResumedImportSkipsBlocksAlreadyPresent) {
  auto tc = make_test_chain(6, 2);
  TempDir dir;
  auto store = ChainStore::open(dir.path(), tc.net.genesis);
  ASSERT_TRUE(store.ok());
  import_all(*store, tc, 4);
  std::size_t progress_calls = 0;
  auto summary = store->import_blocks(tc.blocks, now_after(tc),
                                      [&](std::size_t, const ImportSummary&) { ++progress_calls; });
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_FALSE(summary->rejection.has_value());
  EXPECT_EQ(summary->already_known, 4u);
  EXPECT_EQ(summary->imported, 2u);
  EXPECT_EQ(summary->transactions, 4u);
  EXPECT_EQ(progress_calls, 6u);
  EXPECT_EQ(store->head_hash(), tc.blocks.back().hash());
}

TEST(ChainStore, RefusesADatabaseInitialisedWithAnotherGenesisNamingBothHashes) {
  auto a = make_test_chain(0, 0);
  chain::Genesis other = a.net.genesis;
  other.timestamp += 1;  // any change to the genesis block changes its hash
  ASSERT_NE(chain::genesis_hash(a.net.genesis), chain::genesis_hash(other));
  TempDir dir;
  { ASSERT_TRUE(ChainStore::open(dir.path(), a.net.genesis).ok()); }
  auto store = ChainStore::open(dir.path(), other);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, "chainstore.genesis_mismatch");
  EXPECT_NE(store.error().message.find(to_hex0x(chain::genesis_hash(a.net.genesis))),
            std::string::npos);
  EXPECT_NE(store.error().message.find(to_hex0x(chain::genesis_hash(other))), std::string::npos);
}

TEST(ChainStore, WrongStateRootIsRejectedAndWritesNothing) {
  auto tc = make_test_chain(3, 3);
  TempDir dir;
  auto store = ChainStore::open(dir.path(), tc.net.genesis);
  ASSERT_TRUE(store.ok());
  import_all(*store, tc, 2);
  const Snapshot before = snapshot_of(store->db());

  chain::Block bad = tc.blocks[2];
  bad.header.state_root[0] ^= 0xff;
  reseal(bad.header, proposer_of(tc.blocks[2].header), tc.net);
  auto v = store->import_block(bad, now_after(tc));
  ASSERT_TRUE(v.ok()) << v.error().message;
  ASSERT_FALSE(v->ok());
  EXPECT_EQ(v->rejection().reason, BlockInvalid::StateRootMismatch);
  EXPECT_EQ(v->rejection().number, 3u);
  EXPECT_EQ(v->rejection().to_error().code, "import.state_root_mismatch");
  expect_nothing_written(*store, bad, before);

  // Memory was reverted too: the genuine block still applies on top.
  auto good = store->import_block(tc.blocks[2], now_after(tc));
  ASSERT_TRUE(good.ok() && good->ok());
  EXPECT_EQ(store->head_hash(), tc.blocks[2].hash());
}

TEST(ChainStore, InvalidTransactionIsATypedRejectionAndWritesNothing) {
  auto tc = make_test_chain(2, 3);
  TempDir dir;
  auto store = ChainStore::open(dir.path(), tc.net.genesis);
  ASSERT_TRUE(store.ok());
  import_all(*store, tc, 1);
  const Snapshot before = snapshot_of(store->db());

  // The last transfer gets a nonce far ahead: stateless checks pass, execution refuses it after
  // the first two transfers were already applied in memory.
  chain::Block bad = tc.blocks[1];
  auto& tx = bad.transactions.back();
  tx.nonce += 100;
  tx = chain::sign_transaction(tx, tc.net.account_keys[0], testing::kChainId);
  bad.header.transactions_root = chain::transactions_root(bad.transactions);
  reseal(bad.header, proposer_of(tc.blocks[1].header), tc.net);
  auto v = store->import_block(bad, now_after(tc));
  ASSERT_TRUE(v.ok());
  ASSERT_FALSE(v->ok());
  EXPECT_EQ(v->rejection().reason, BlockInvalid::Transaction);
  ASSERT_TRUE(v->rejection().tx_reason.has_value());
  EXPECT_EQ(*v->rejection().tx_reason, chain::TxInvalid::NonceTooHigh);
  expect_nothing_written(*store, bad, before);
}

TEST(ChainStore, BadSealIsAHeaderRejectionAndWritesNothing) {
  auto tc = make_test_chain(2, 2);
  TempDir dir;
  auto store = ChainStore::open(dir.path(), tc.net.genesis);
  ASSERT_TRUE(store.ok());
  import_all(*store, tc, 1);
  const Snapshot before = snapshot_of(store->db());

  chain::Block bad = tc.blocks[1];
  bad.header.gas_used += 1;  // changes sig_hash, so the proposer seal recovers someone else
  auto v = store->import_block(bad, now_after(tc));
  ASSERT_TRUE(v.ok());
  ASSERT_FALSE(v->ok());
  EXPECT_EQ(v->rejection().reason, BlockInvalid::Header);
  ASSERT_TRUE(v->rejection().header_reason.has_value());
  expect_nothing_written(*store, bad, before);
}

TEST(ChainStore, BlockThatSkipsAHeightIsRejectedAsUnknownParent) {
  auto tc = make_test_chain(3, 1);
  TempDir dir;
  auto store = ChainStore::open(dir.path(), tc.net.genesis);
  ASSERT_TRUE(store.ok());
  import_all(*store, tc, 1);
  auto v = store->import_block(tc.blocks[2], now_after(tc));
  ASSERT_TRUE(v.ok());
  ASSERT_FALSE(v->ok());
  EXPECT_EQ(v->rejection().reason, BlockInvalid::Header);
  EXPECT_EQ(v->rejection().header_reason, chain::HeaderInvalid::UnknownParent);
  EXPECT_EQ(store->head().number, 1u);
}

TEST(ChainStore, DifferentBlockAtAnImportedHeightConflictsWithCanonical) {
  auto a = make_test_chain(2, 2, 7);
  auto b = make_test_chain(2, 2, 8);  // same network, other transfers
  ASSERT_NE(a.blocks[1].hash(), b.blocks[1].hash());
  TempDir dir;
  auto store = ChainStore::open(dir.path(), a.net.genesis);
  ASSERT_TRUE(store.ok());
  import_all(*store, a, 2);
  auto v = store->import_block(b.blocks[1], now_after(b));
  ASSERT_TRUE(v.ok());
  ASSERT_FALSE(v->ok());
  EXPECT_EQ(v->rejection().reason, BlockInvalid::ConflictsWithCanonical);
  EXPECT_EQ(store->head_hash(), a.blocks[1].hash());
}

TEST(ChainStore, FutureBlockIsRejectedUntilItsTime) {
  auto tc = make_test_chain(1, 1);
  TempDir dir;
  auto store = ChainStore::open(dir.path(), tc.net.genesis);
  ASSERT_TRUE(store.ok());
  const std::uint64_t t = tc.blocks[0].header.time;
  auto early = store->import_block(tc.blocks[0], t - 5);
  ASSERT_TRUE(early.ok());
  ASSERT_FALSE(early->ok());
  EXPECT_EQ(early->rejection().header_reason, chain::HeaderInvalid::FutureBlock);
  auto on_time = store->import_block(tc.blocks[0], t);
  ASSERT_TRUE(on_time.ok() && on_time->ok());
}

TEST(ChainStore, ParallelSenderRecoveryGivesTheSameChain) {
  auto tc = make_test_chain(4, 20);
  TempDir one, two;
  ChainStoreOptions single;
  ChainStoreOptions parallel;
  parallel.verify_threads = 2;
  parallel.sync = false;
  auto s1 = ChainStore::open(one.path(), tc.net.genesis, single);
  auto s2 = ChainStore::open(two.path(), tc.net.genesis, parallel);
  ASSERT_TRUE(s1.ok() && s2.ok());
  auto r1 = s1->import_blocks(tc.blocks, now_after(tc));
  auto r2 = s2->import_blocks(tc.blocks, now_after(tc));
  ASSERT_TRUE(r1.ok() && r2.ok());
  EXPECT_EQ(r1->imported, 4u);
  EXPECT_EQ(r2->imported, 4u);
  EXPECT_EQ(s1->head_hash(), s2->head_hash());
  EXPECT_EQ(snapshot_of(s1->db()).state_root, snapshot_of(s2->db()).state_root);
}

TEST(ChainStore, ReopenDetectsAStateColumnFamilyThatDisagreesWithTheHead) {
  auto tc = make_test_chain(2, 2);
  TempDir dir;
  {
    auto store = ChainStore::open(dir.path(), tc.net.genesis);
    ASSERT_TRUE(store.ok());
    import_all(*store, tc, 2);
  }
  {
    auto db = ChainDb::open(dir.path());
    ASSERT_TRUE(db.ok());
    ChainBatch batch;
    batch.put_account(Address{0x77}, chain::Account{1, 1});
    ASSERT_TRUE(db->write(batch, true).ok());
  }
  auto store = ChainStore::open(dir.path(), tc.net.genesis);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, "chainstore.state_mismatch");
}

TEST(Consistency, ReportsAMissingTxLookupEntryWithItsBlock) {
  auto tc = make_test_chain(3, 2);
  TempDir dir;
  {
    auto store = ChainStore::open(dir.path(), tc.net.genesis);
    ASSERT_TRUE(store.ok());
    import_all(*store, tc, 3);
  }
  // Drop one txlookup entry behind the store's back.
  {
    rocksdb::DBOptions opts;
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(opts, dir.path().string(), &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descs;
    for (const auto& n : names) descs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(opts, dir.path().string(), descs, &handles, &raw).ok());
    const Hash32 tx = tc.blocks[1].transactions[1].hash();
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (names[i] == kCfTxLookup) {
        ASSERT_TRUE(raw->Delete(rocksdb::WriteOptions(), handles[i],
                                rocksdb::Slice(reinterpret_cast<const char*>(tx.data()), 32))
                        .ok());
      }
    }
    for (auto* h : handles) ASSERT_TRUE(raw->DestroyColumnFamilyHandle(h).ok());
    delete raw;
  }
  ChainDb::Options ro;
  ro.read_only = true;
  auto db = ChainDb::open(dir.path(), ro);
  ASSERT_TRUE(db.ok());
  auto report = check_consistency(*db, tc.net.genesis);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().code, "verify.txlookup");
  EXPECT_NE(report.error().message.find("block #2"), std::string::npos) << report.error().message;
}

TEST(Consistency, ReportsAGenesisMismatch) {
  auto a = make_test_chain(0, 0);
  chain::Genesis other = a.net.genesis;
  other.alloc.begin()->second += 1;
  TempDir dir;
  { ASSERT_TRUE(ChainStore::open(dir.path(), a.net.genesis).ok()); }
  auto db = ChainDb::open(dir.path());
  ASSERT_TRUE(db.ok());
  auto report = check_consistency(*db, other);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().code, "verify.genesis_mismatch");
}

}  // namespace
}  // namespace cc::storage
