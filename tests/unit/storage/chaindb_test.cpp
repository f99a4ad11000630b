// Tests of storage/chaindb.h: the key schema round trips, schema version and open errors.
#include "storage/chaindb.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <fstream>
#include <vector>

#include "storage_test_util.h"

namespace cc::storage {
namespace {

using testing::make_test_chain;
using testing::TempDir;

// Writes raw bytes under a key in one column family, bypassing ChainDb (to fake corruption or
// another version's data).
void raw_put(const std::filesystem::path& dir, const std::string& cf_name, const std::string& key,
             const std::string& value) {
  rocksdb::DBOptions opts;
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(opts, dir.string(), &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (const auto& n : names) descs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(opts, dir.string(), descs, &handles, &db).ok());
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == cf_name) {
      ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), handles[i], key, value).ok());
    }
  }
  for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
  delete db;
}

std::string str(ByteView v) { return {v.begin(), v.end()}; }

TEST(ChainDb, ChaindataLivesUnderKlay) {
  EXPECT_EQ(chaindata_path("/var/kcnd/data"),
            std::filesystem::path("/var/kcnd/data/klay/chaindata"));
}

TEST(ChainDb, FreshDatabaseRecordsCurrentSchemaVersionAndHasNoChain) {
  TempDir dir;
  auto db = ChainDb::open(dir.path() / "chaindata");
  ASSERT_TRUE(db.ok()) << db.error().message;
  auto version = db->schema_version();
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, kChainDbSchemaVersion);
  auto head = db->head_hash();
  ASSERT_TRUE(head.ok());
  EXPECT_FALSE(head->has_value());
  auto canonical = db->canonical_hash(0);
  ASSERT_TRUE(canonical.ok());
  EXPECT_FALSE(canonical->has_value());
}

TEST(ChainDb, BlockRoundTripsThroughEveryColumnFamily) {
  auto tc = make_test_chain(2, 3);
  ASSERT_EQ(tc.blocks.size(), 2u);
  const chain::Block& block = tc.blocks[1];
  const Hash32 hash = block.hash();
  std::vector<chain::Receipt> receipts;
  std::uint64_t gas = 0;
  for (const auto& tx : block.transactions) {
    gas += chain::kTransferGas;
    receipts.push_back(
        chain::Receipt{chain::kReceiptStatusSuccess, gas, chain::kTransferGas, tx.hash()});
  }

  TempDir dir;
  {
    auto db = ChainDb::open(dir.path());
    ASSERT_TRUE(db.ok()) << db.error().message;
    ChainBatch batch;
    batch.put_block(block, hash, receipts);
    batch.put_head_hash(hash);
    batch.put_genesis_hash(Hash32{1});
    ASSERT_TRUE(db->write(batch, true).ok());
  }
  // Reopened from disk, every query finds what was written.
  auto db = ChainDb::open(dir.path());
  ASSERT_TRUE(db.ok()) << db.error().message;
  auto head = db->head_hash();
  ASSERT_TRUE(head.ok() && head->has_value());
  EXPECT_EQ(**head, hash);
  auto genesis = db->genesis_hash();
  ASSERT_TRUE(genesis.ok() && genesis->has_value());
  EXPECT_EQ(**genesis, Hash32{1});

  auto header = db->header(hash);
  ASSERT_TRUE(header.ok() && header->has_value());
  EXPECT_EQ(**header, block.header);
  auto body = db->body(hash);
  ASSERT_TRUE(body.ok() && body->has_value());
  EXPECT_EQ(**body, block.transactions);
  auto stored_receipts = db->receipts(hash);
  ASSERT_TRUE(stored_receipts.ok() && stored_receipts->has_value());
  EXPECT_EQ(**stored_receipts, receipts);
  auto canonical = db->canonical_hash(block.header.number);
  ASSERT_TRUE(canonical.ok() && canonical->has_value());
  EXPECT_EQ(**canonical, hash);
  auto number = db->block_number(hash);
  ASSERT_TRUE(number.ok() && number->has_value());
  EXPECT_EQ(**number, block.header.number);
  auto by_number = db->block_by_number(block.header.number);
  ASSERT_TRUE(by_number.ok() && by_number->has_value());
  EXPECT_EQ(**by_number, block);
  auto head_header = db->head_header();
  ASSERT_TRUE(head_header.ok() && head_header->has_value());
  EXPECT_EQ(**head_header, block.header);
  for (std::size_t i = 0; i < block.transactions.size(); ++i) {
    auto loc = db->tx_location(block.transactions[i].hash());
    ASSERT_TRUE(loc.ok() && loc->has_value());
    EXPECT_EQ(**loc, (TxLocation{block.header.number, static_cast<std::uint32_t>(i)}));
  }
  // Absent keys read as nullopt, not as errors.
  auto missing = db->header(Hash32{9});
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  auto missing_tx = db->tx_location(Hash32{9});
  ASSERT_TRUE(missing_tx.ok());
  EXPECT_FALSE(missing_tx->has_value());
}

TEST(ChainDb, CanonicalIteratesInNumericOrder) {
  TempDir dir;
  auto db = ChainDb::open(dir.path());
  ASSERT_TRUE(db.ok());
  ChainBatch batch;
  // Little-endian or decimal keys would put 256 before 2; big-endian keeps numeric order.
  const std::vector<std::uint64_t> numbers = {65536, 2, 256, 0, 1ull << 40, 255};
  for (auto n : numbers) batch.put_canonical(n, Hash32{static_cast<std::uint8_t>(n & 0xff)});
  ASSERT_TRUE(db->write(batch, false).ok());
  std::vector<std::uint64_t> seen;
  ASSERT_TRUE(db->for_each_canonical([&](std::uint64_t n, const Hash32&) {
                  seen.push_back(n);
                  return true;
                }).ok());
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{0, 2, 255, 256, 65536, 1ull << 40}));
}

TEST(ChainDb, StateRoundTripsAndEmptyAccountsAreDeleted) {
  TempDir dir;
  const Address a{0x11}, b{0x22};
  {
    auto db = ChainDb::open(dir.path());
    ASSERT_TRUE(db.ok());
    ChainBatch batch;
    batch.put_account(a, chain::Account{3, 1000});
    batch.put_account(b, chain::Account{0, 5});
    ASSERT_TRUE(db->write(batch, true).ok());
    ChainBatch erase;
    erase.put_account(b, chain::Account{});
    ASSERT_TRUE(db->write(erase, true).ok());
  }
  auto db = ChainDb::open(dir.path());
  ASSERT_TRUE(db.ok());
  auto state = db->load_state();
  ASSERT_TRUE(state.ok()) << state.error().message;
  EXPECT_EQ(state->size(), 1u);
  EXPECT_EQ(state->get(a), (chain::Account{3, 1000}));
  EXPECT_FALSE(state->contains(b));
  EXPECT_EQ(state->dirty_count(), 0u);  // loaded state has nothing to persist
  auto acct = db->account(b);
  ASSERT_TRUE(acct.ok());
  EXPECT_FALSE(acct->has_value());
}

TEST(ChainDb, TxLocationIsTwelveBigEndianBytes) {
  const TxLocation loc{0x0102030405060708ull, 0x0a0b0c0d};
  const Bytes enc = encode_tx_location(loc);
  EXPECT_EQ(to_hex(enc), "01020304050607080a0b0c0d");
  auto dec = decode_tx_location(enc);
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(*dec, loc);
  EXPECT_FALSE(decode_tx_location(ByteView(enc).first(11)).ok());
}

TEST(ChainDb, RefusesANewerSchemaVersionNamingBothVersions) {
  TempDir dir;
  {
    auto db = ChainDb::open(dir.path());
    ASSERT_TRUE(db.ok());
    ChainBatch batch;
    batch.put_schema_version(kChainDbSchemaVersion + 1);
    ASSERT_TRUE(db->write(batch, true).ok());
  }
  auto db = ChainDb::open(dir.path());
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.error().code, "chaindb.schema");
  EXPECT_NE(db.error().message.find(dir.path().string()), std::string::npos);
  EXPECT_NE(db.error().message.find("version " + std::to_string(kChainDbSchemaVersion + 1)),
            std::string::npos)
      << db.error().message;
  EXPECT_NE(db.error().message.find("newer"), std::string::npos);
}

TEST(ChainDb, RefusesAnUnknownColumnFamily) {
  TempDir dir;
  { ASSERT_TRUE(ChainDb::open(dir.path()).ok()); }
  {
    rocksdb::DBOptions opts;
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(opts, dir.path().string(), &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descs;
    for (const auto& n : names) descs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(opts, dir.path().string(), descs, &handles, &db).ok());
    rocksdb::ColumnFamilyHandle* extra = nullptr;
    ASSERT_TRUE(db->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), "snapshots", &extra).ok());
    handles.push_back(extra);
    for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    delete db;
  }
  auto db = ChainDb::open(dir.path());
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.error().code, "chaindb.schema");
  EXPECT_NE(db.error().message.find("'snapshots'"), std::string::npos) << db.error().message;
}

TEST(ChainDb, SecondOpenIsALockErrorNamingThePath) {
  TempDir dir;
  auto first = ChainDb::open(dir.path());
  ASSERT_TRUE(first.ok());
  auto second = ChainDb::open(dir.path());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, "chaindb.locked") << second.error().message;
  EXPECT_NE(second.error().message.find(dir.path().string()), std::string::npos);
  // A read-only open takes no lock, so tools can read while a node runs.
  ChainDb::Options ro;
  ro.read_only = true;
  EXPECT_TRUE(ChainDb::open(dir.path(), ro).ok());
}

TEST(ChainDb, CorruptManifestIsACorruptionErrorNamingThePath) {
  TempDir dir;
  { ASSERT_TRUE(ChainDb::open(dir.path()).ok()); }
  bool damaged = false;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    if (entry.path().filename().string().rfind("MANIFEST-", 0) == 0) {
      std::ofstream f(entry.path(), std::ios::binary | std::ios::trunc);
      f << std::string(200, '\x5a');
      damaged = true;
    }
  }
  ASSERT_TRUE(damaged);
  auto db = ChainDb::open(dir.path());
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.error().code, "chaindb.corrupt") << db.error().message;
  EXPECT_NE(db.error().message.find(dir.path().string()), std::string::npos);
}

TEST(ChainDb, PathThatIsAFileIsAClearError) {
  TempDir dir;
  const auto file = dir.path() / "chaindata";
  std::ofstream(file) << "not a database";
  auto db = ChainDb::open(file);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.error().code, "chaindb.io");
  EXPECT_NE(db.error().message.find(file.string()), std::string::npos);
  EXPECT_NE(db.error().message.find("not a directory"), std::string::npos);
}

TEST(ChainDb, UnwritableDirectoryIsAnIoErrorNamingThePath) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  TempDir dir;
  std::filesystem::permissions(
      dir.path(), std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  auto db = ChainDb::open(dir.path() / "chaindata");
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.error().message.find((dir.path() / "chaindata").string()), std::string::npos)
      << db.error().message;
}

TEST(ChainDb, ReadOnlyOpenOfAMissingDatabaseSaysSo) {
  TempDir dir;
  ChainDb::Options ro;
  ro.read_only = true;
  auto db = ChainDb::open(dir.path() / "nothing", ro);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.error().code, "chaindb.missing");
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "nothing"));  // reading creates nothing
}

TEST(ChainDb, UndecodableStoredValueNamesColumnFamilyAndKey) {
  TempDir dir;
  { ASSERT_TRUE(ChainDb::open(dir.path()).ok()); }
  const Hash32 hash{0xab};
  raw_put(dir.path(), "headers", str(hash), "\xc1\x80garbage");
  auto db = ChainDb::open(dir.path());
  ASSERT_TRUE(db.ok());
  auto header = db->header(hash);
  ASSERT_FALSE(header.ok());
  EXPECT_EQ(header.error().code, "chaindb.corrupt");
  EXPECT_NE(header.error().message.find("headers key 0x" + to_hex(hash)), std::string::npos)
      << header.error().message;
}

}  // namespace
}  // namespace cc::storage
