// Lease rules (ha/lease.h) run against both backends: `local` (a state file in a temp dir, TTL
// 300 ms) and `etcd` (a real single-member /usr/bin/etcd per test, TTL 2 s, etcd's minimum).
// Then what only one backend has: the local file's corruption and reboot handling, and etcd's
// endpoints (config, unreachable, stopped, frozen, failover in a 3-member cluster).
#include "ha/lease.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <sodium.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <latch>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "ha/etcd_lease.h"
#include "support/etcd.h"
#include "support/temp_dir.h"
#include "util/files.h"

namespace cc::ha {
namespace {

using namespace std::chrono_literals;
using cc::testing::EtcdCluster;
using cc::testing::TempDir;

constexpr const char* kLeaseAlpha = "agent-alpha";
constexpr const char* kLeaseBeta = "agent-beta";
constexpr const char* kLeaseEtcdPrefix = "/corecell/test-cell";

// Succeeds when `r` failed with `code` and its message mentions every one of `words`.
template <typename R>
::testing::AssertionResult LeaseFailsWith(const R& r, const std::string& code,
                                          const std::vector<std::string>& words = {}) {
  if (r.ok()) return ::testing::AssertionFailure() << "succeeded; expected " << code;
  if (r.error().code != code) {
    return ::testing::AssertionFailure() << "failed with " << r.error().code << " ("
                                         << r.error().message << "); expected " << code;
  }
  for (const auto& w : words) {
    if (r.error().message.find(w) == std::string::npos) {
      return ::testing::AssertionFailure()
             << code << " message does not mention \"" << w << "\": " << r.error().message;
    }
  }
  return ::testing::AssertionSuccess();
}

template <typename R>
std::string LeaseWhy(const R& r) {
  return r.ok() ? std::string("ok") : r.error().code + ": " + r.error().message;
}

struct LocalLeaseBackend {
  static constexpr std::chrono::milliseconds kTtl{300};
  // How long after the TTL a lease may still look held (local: none; margin for a busy host).
  static constexpr std::chrono::milliseconds kExpirySlack{1000};
  TempDir dir;
  [[nodiscard]] std::string setup_error() const {
    return dir.path().empty() ? "mkdtemp failed" : "";
  }
  [[nodiscard]] std::unique_ptr<LeaseStore> make() const {
    return make_local_lease_store(dir.path() / "lease.json");
  }
};

struct EtcdLeaseBackend {
  static constexpr std::chrono::milliseconds kTtl{2000};
  // etcd revokes expired leases on a 500 ms sweep, after a raft round.
  static constexpr std::chrono::milliseconds kExpirySlack{4000};
  EtcdCluster cluster{1};
  [[nodiscard]] std::string setup_error() const { return cluster.ok() ? "" : cluster.error(); }
  [[nodiscard]] std::unique_ptr<LeaseStore> make() const {
    auto store = make_etcd_lease_store({cluster.endpoints(), kLeaseEtcdPrefix, 1000ms});
    return store.ok() ? std::move(store).value() : nullptr;
  }
};

template <typename Backend>
class LeaseRules : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(backend_.setup_error(), "");
    store_ = backend_.make();
    ASSERT_NE(store_, nullptr);
  }

  static constexpr std::chrono::milliseconds ttl() { return Backend::kTtl; }

  // Polls read() until the lease is not held; false at the deadline (TTL + slack from now).
  bool WaitUntilFree(LeaseStore& store) {
    auto deadline = SteadyClock::now() + Backend::kTtl + Backend::kExpirySlack;
    while (SteadyClock::now() < deadline) {
      auto st = store.read();
      if (st.ok() && !st->held) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  // acquire, retried while the store still reports lease.held (an expiry being cleaned up).
  Result<LeaseGrant> AcquireSoon(LeaseStore& store, const std::string& holder) {
    auto deadline = SteadyClock::now() + Backend::kExpirySlack;
    for (;;) {
      auto g = store.acquire(holder, Backend::kTtl);
      if (g.ok() || g.error().code != "lease.held" || SteadyClock::now() > deadline) return g;
      std::this_thread::sleep_for(20ms);
    }
  }

  Backend backend_;
  std::unique_ptr<LeaseStore> store_;
};

struct LeaseBackendNames {
  template <typename T>
  static std::string GetName(int) {
    return std::is_same_v<T, LocalLeaseBackend> ? "Local" : "Etcd";
  }
};
using LeaseBackends = ::testing::Types<LocalLeaseBackend, EtcdLeaseBackend>;
TYPED_TEST_SUITE(LeaseRules, LeaseBackends, LeaseBackendNames);

TYPED_TEST(LeaseRules, NeverHeldLeaseIsFreeAndAcquireTakesIt) {
  auto before = this->store_->read();
  ASSERT_TRUE(before.ok()) << LeaseWhy(before);
  EXPECT_FALSE(before->held);
  EXPECT_EQ(before->holder, "");
  EXPECT_EQ(before->epoch, 0u);
  EXPECT_EQ(before->watermark, 0u);

  auto sent = LeaseClock::now();
  auto grant = this->store_->acquire(kLeaseAlpha, this->ttl());
  ASSERT_TRUE(grant.ok()) << LeaseWhy(grant);
  EXPECT_GT(grant->epoch, 0u);
  EXPECT_GE(grant->ttl, this->ttl());
  EXPECT_GE(grant->requested_at, sent);
  EXPECT_LE(grant->requested_at, LeaseClock::now());

  auto after = this->store_->read();
  ASSERT_TRUE(after.ok()) << LeaseWhy(after);
  EXPECT_TRUE(after->held);
  EXPECT_EQ(after->holder, kLeaseAlpha);
  EXPECT_EQ(after->epoch, grant->epoch);
  EXPECT_LE(after->ttl_left, grant->ttl);
}

TYPED_TEST(LeaseRules, SecondAcquireIsRefusedNamingTheHolder) {
  auto first = this->store_->acquire(kLeaseAlpha, this->ttl());
  ASSERT_TRUE(first.ok()) << LeaseWhy(first);
  auto other = this->backend_.make();  // another agent's view of the same lease
  EXPECT_TRUE(LeaseFailsWith(other->acquire(kLeaseBeta, this->ttl()), "lease.held",
                             {kLeaseAlpha, std::to_string(first->epoch)}));
  // Not even the holder itself gets a second holding while the first one lives.
  EXPECT_TRUE(
      LeaseFailsWith(this->store_->acquire(kLeaseAlpha, this->ttl()), "lease.held", {kLeaseAlpha}));
  auto st = other->read();
  ASSERT_TRUE(st.ok()) << LeaseWhy(st);
  EXPECT_EQ(st->holder, kLeaseAlpha);
  EXPECT_EQ(st->epoch, first->epoch);
}

// KEY-1: agents racing for a free lease (each with its own store object, like separate
// processes): exactly one wins.
TYPED_TEST(LeaseRules, ConcurrentAcquiresHaveExactlyOneWinner) {
  constexpr int kRacers = 4;
  std::vector<std::unique_ptr<LeaseStore>> stores;
  for (int i = 0; i < kRacers; ++i) stores.push_back(this->backend_.make());
  std::vector<Result<LeaseGrant>> results(kRacers, make_error("unset", ""));
  std::latch go(kRacers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRacers; ++i) {
    threads.emplace_back([&, i] {
      go.arrive_and_wait();
      results[static_cast<std::size_t>(i)] =
          stores[static_cast<std::size_t>(i)]->acquire("racer-" + std::to_string(i), this->ttl());
    });
  }
  for (auto& t : threads) t.join();
  int winners = 0;
  std::string winner;
  for (int i = 0; i < kRacers; ++i) {
    const auto& r = results[static_cast<std::size_t>(i)];
    if (r.ok()) {
      ++winners;
      winner = "racer-" + std::to_string(i);
    } else {
      EXPECT_EQ(r.error().code, "lease.held") << r.error().message;
    }
  }
  EXPECT_EQ(winners, 1);
  auto st = this->store_->read();
  ASSERT_TRUE(st.ok()) << LeaseWhy(st);
  EXPECT_EQ(st->holder, winner);
}

TYPED_TEST(LeaseRules, EpochsStrictlyIncreaseOverReleaseAndReacquire) {
  std::uint64_t last = 0;
  for (const char* holder : {kLeaseAlpha, kLeaseBeta, kLeaseAlpha}) {
    auto g = this->store_->acquire(holder, this->ttl());
    ASSERT_TRUE(g.ok()) << holder << ": " << LeaseWhy(g);
    EXPECT_GT(g->epoch, last) << holder;
    last = g->epoch;
    auto released = this->store_->release(holder, g->epoch, 0, false, "");
    ASSERT_TRUE(released.ok()) << LeaseWhy(released);
    auto st = this->store_->read();
    ASSERT_TRUE(st.ok()) << LeaseWhy(st);
    EXPECT_FALSE(st->held);
    EXPECT_EQ(st->holder, holder);  // the last holder stays visible
    EXPECT_EQ(st->epoch, g->epoch);
  }
}

TYPED_TEST(LeaseRules, ExpiryFreesTheLeaseWithAHigherEpochAndKeepsWatermarkAndPause) {
  auto first = this->store_->acquire(kLeaseAlpha, this->ttl());
  ASSERT_TRUE(first.ok()) << LeaseWhy(first);
  ASSERT_TRUE(this->store_->renew(kLeaseAlpha, first->epoch, 42).ok());
  ASSERT_TRUE(this->store_->set_paused(true, "ops").ok());

  ASSERT_TRUE(this->WaitUntilFree(*this->store_)) << "still held long after the TTL";
  auto expired = this->store_->read();
  ASSERT_TRUE(expired.ok()) << LeaseWhy(expired);
  EXPECT_EQ(expired->holder, kLeaseAlpha);
  EXPECT_EQ(expired->epoch, first->epoch);
  EXPECT_EQ(expired->watermark, 42u);
  EXPECT_TRUE(expired->paused);

  auto second = this->AcquireSoon(*this->store_, kLeaseBeta);
  ASSERT_TRUE(second.ok()) << LeaseWhy(second);
  EXPECT_GT(second->epoch, first->epoch);
  auto st = this->store_->read();
  ASSERT_TRUE(st.ok()) << LeaseWhy(st);
  EXPECT_TRUE(st->held);
  EXPECT_EQ(st->holder, kLeaseBeta);
  EXPECT_EQ(st->watermark, 42u);
  EXPECT_TRUE(st->paused);
}

TYPED_TEST(LeaseRules, RenewByAnyoneButTheCurrentHoldingIsLost) {
  auto g = this->store_->acquire(kLeaseAlpha, this->ttl());
  ASSERT_TRUE(g.ok()) << LeaseWhy(g);
  EXPECT_TRUE(LeaseFailsWith(this->store_->renew(kLeaseAlpha, g->epoch + 1, 5), "lease.lost",
                             {kLeaseAlpha}));
  EXPECT_TRUE(
      LeaseFailsWith(this->store_->renew(kLeaseBeta, g->epoch, 5), "lease.lost", {kLeaseAlpha}));
  EXPECT_TRUE(LeaseFailsWith(this->store_->release(kLeaseBeta, g->epoch, 5, true, kLeaseBeta),
                             "lease.lost"));
  EXPECT_TRUE(LeaseFailsWith(this->store_->release(kLeaseAlpha, g->epoch - 1, 5, true, kLeaseBeta),
                             "lease.lost"));
  // None of the refused calls changed anything.
  auto st = this->store_->read();
  ASSERT_TRUE(st.ok()) << LeaseWhy(st);
  EXPECT_TRUE(st->held);
  EXPECT_EQ(st->holder, kLeaseAlpha);
  EXPECT_EQ(st->watermark, 0u);
  EXPECT_FALSE(st->watermark_exact);
  EXPECT_EQ(st->handover_to, "");
  auto renewed = this->store_->renew(kLeaseAlpha, g->epoch, 5);
  ASSERT_TRUE(renewed.ok()) << LeaseWhy(renewed);
  EXPECT_EQ(renewed->epoch, g->epoch);
}

TYPED_TEST(LeaseRules, RenewKeepsTheHoldingPastItsFirstTtl) {
  auto g = this->store_->acquire(kLeaseAlpha, this->ttl());
  ASSERT_TRUE(g.ok()) << LeaseWhy(g);
  std::this_thread::sleep_until(g->requested_at + this->ttl() / 2);
  auto r = this->store_->renew(kLeaseAlpha, g->epoch, 1);
  ASSERT_TRUE(r.ok()) << LeaseWhy(r);
  EXPECT_GT(r->requested_at, g->requested_at);
  EXPECT_EQ(r->epoch, g->epoch);
  // Past the first holding's expiry, well before the renewed one's.
  std::this_thread::sleep_until(g->expires_at() + this->ttl() / 10);
  auto st = this->store_->read();
  ASSERT_TRUE(st.ok()) << LeaseWhy(st);
  EXPECT_TRUE(st->held);
  EXPECT_EQ(st->epoch, g->epoch);
  EXPECT_EQ(st->holder, kLeaseAlpha);
}

TYPED_TEST(LeaseRules, RenewAfterExpiryIsLostAndDoesNotResurrect) {
  auto g = this->store_->acquire(kLeaseAlpha, this->ttl());
  ASSERT_TRUE(g.ok()) << LeaseWhy(g);
  std::this_thread::sleep_until(g->expires_at());
  ASSERT_TRUE(this->WaitUntilFree(*this->store_)) << "still held long after the TTL";
  EXPECT_TRUE(
      LeaseFailsWith(this->store_->renew(kLeaseAlpha, g->epoch, 9), "lease.lost", {kLeaseAlpha}));
  EXPECT_TRUE(LeaseFailsWith(this->store_->release(kLeaseAlpha, g->epoch, 9, true, kLeaseBeta),
                             "lease.lost"));
  auto st = this->store_->read();
  ASSERT_TRUE(st.ok()) << LeaseWhy(st);
  EXPECT_FALSE(st->held);
  EXPECT_EQ(st->watermark, 0u);  // the refused calls recorded nothing
  EXPECT_FALSE(st->watermark_exact);
  EXPECT_EQ(st->handover_to, "");
  auto next = this->AcquireSoon(*this->store_, kLeaseBeta);
  ASSERT_TRUE(next.ok()) << LeaseWhy(next);
  EXPECT_GT(next->epoch, g->epoch);
}

TYPED_TEST(LeaseRules, ReleaseRecordsWatermarkExactnessAndHandoverForTheNextHolder) {
  auto a = this->store_->acquire(kLeaseAlpha, this->ttl());
  ASSERT_TRUE(a.ok()) << LeaseWhy(a);
  ASSERT_TRUE(this->store_->renew(kLeaseAlpha, a->epoch, 100).ok());
  auto released = this->store_->release(kLeaseAlpha, a->epoch, 120, true, kLeaseBeta);
  ASSERT_TRUE(released.ok()) << LeaseWhy(released);
  EXPECT_TRUE(LeaseFailsWith(this->store_->release(kLeaseAlpha, a->epoch, 120, true, ""),
                             "lease.lost"));  // released once is released
  EXPECT_TRUE(LeaseFailsWith(this->store_->renew(kLeaseAlpha, a->epoch, 130), "lease.lost"));

  auto st = this->store_->read();
  ASSERT_TRUE(st.ok()) << LeaseWhy(st);
  EXPECT_FALSE(st->held);
  EXPECT_EQ(st->holder, kLeaseAlpha);
  EXPECT_EQ(st->watermark, 120u);
  EXPECT_TRUE(st->watermark_exact);
  EXPECT_EQ(st->handover_to, kLeaseBeta);

  // The takeover sees them after acquiring; its first renew (its node runs) clears exactness
  // and the handover target, and never lowers the watermark.
  auto b = this->store_->acquire(kLeaseBeta, this->ttl());
  ASSERT_TRUE(b.ok()) << LeaseWhy(b);
  st = this->store_->read();
  ASSERT_TRUE(st.ok()) << LeaseWhy(st);
  EXPECT_EQ(st->holder, kLeaseBeta);
  EXPECT_EQ(st->watermark, 120u);
  EXPECT_TRUE(st->watermark_exact);
  EXPECT_EQ(st->handover_to, kLeaseBeta);
  ASSERT_TRUE(this->store_->renew(kLeaseBeta, b->epoch, 50).ok());
  st = this->store_->read();
  ASSERT_TRUE(st.ok()) << LeaseWhy(st);
  EXPECT_EQ(st->watermark, 120u);
  EXPECT_FALSE(st->watermark_exact);
  EXPECT_EQ(st->handover_to, "");
}

// Issue #16, path 4: a takeover's floor comes from the acquire itself, not from a read made
// before it. Here the watermark rises between a standby's read and its acquire (another holder
// took the lease, replicated a higher height and lost it again): the grant carries the value
// the lease had when it became ours.
TYPED_TEST(LeaseRules, AcquireCarriesTheWatermarkOfTheInstantItWasTaken) {
  auto seen = this->store_->read();  // what a standby read at the start of its loop
  ASSERT_TRUE(seen.ok()) << LeaseWhy(seen);
  EXPECT_EQ(seen->watermark, 0u);

  auto a = this->store_->acquire(kLeaseAlpha, this->ttl());
  ASSERT_TRUE(a.ok()) << LeaseWhy(a);
  EXPECT_EQ(a->watermark, 0u);
  ASSERT_TRUE(this->store_->renew(kLeaseAlpha, a->epoch, 77).ok());
  ASSERT_TRUE(this->store_->release(kLeaseAlpha, a->epoch, 80, true, "").ok());

  auto b = this->store_->acquire(kLeaseBeta, this->ttl());
  ASSERT_TRUE(b.ok()) << LeaseWhy(b);
  EXPECT_EQ(b->watermark, 80u) << "the grant must carry the watermark at the acquire, not "
                               << seen->watermark << " from the earlier read";
  EXPECT_TRUE(b->watermark_exact);

  // Renewed higher, then expired (a lost host): the next acquire carries the renewed value,
  // not exact.
  ASSERT_TRUE(this->store_->renew(kLeaseBeta, b->epoch, 95).ok());
  ASSERT_TRUE(this->WaitUntilFree(*this->store_));
  auto c = this->AcquireSoon(*this->store_, kLeaseAlpha);
  ASSERT_TRUE(c.ok()) << LeaseWhy(c);
  EXPECT_EQ(c->watermark, 95u);
  EXPECT_FALSE(c->watermark_exact);
}

TYPED_TEST(LeaseRules, WatermarkIsNeverLowered) {
  auto g = this->store_->acquire(kLeaseAlpha, this->ttl());
  ASSERT_TRUE(g.ok()) << LeaseWhy(g);
  ASSERT_TRUE(this->store_->renew(kLeaseAlpha, g->epoch, 500).ok());
  ASSERT_TRUE(this->store_->renew(kLeaseAlpha, g->epoch, 10).ok());
  auto st = this->store_->read();
  ASSERT_TRUE(st.ok()) << LeaseWhy(st);
  EXPECT_EQ(st->watermark, 500u);
  ASSERT_TRUE(this->store_->renew(kLeaseAlpha, g->epoch, 501).ok());
  ASSERT_TRUE(this->store_->release(kLeaseAlpha, g->epoch, 7, false, "").ok());
  st = this->store_->read();
  ASSERT_TRUE(st.ok()) << LeaseWhy(st);
  EXPECT_EQ(st->watermark, 501u);
}

TYPED_TEST(LeaseRules, PauseFlagIsSetAndClearedAndSurvivesHoldings) {
  ASSERT_TRUE(this->store_->set_paused(true, "ops: kernel upgrade").ok());
  auto g = this->store_->acquire(kLeaseAlpha, this->ttl());
  ASSERT_TRUE(g.ok()) << LeaseWhy(g);
  ASSERT_TRUE(this->store_->renew(kLeaseAlpha, g->epoch, 3).ok());
  ASSERT_TRUE(this->store_->release(kLeaseAlpha, g->epoch, 3, false, "").ok());
  auto fresh = this->backend_.make();  // another process's view
  auto st = fresh->read();
  ASSERT_TRUE(st.ok()) << LeaseWhy(st);
  EXPECT_TRUE(st->paused);
  EXPECT_EQ(st->paused_by, "ops: kernel upgrade");

  ASSERT_TRUE(fresh->set_paused(false, "ops").ok());
  st = this->store_->read();
  ASSERT_TRUE(st.ok()) << LeaseWhy(st);
  EXPECT_FALSE(st->paused);
  EXPECT_EQ(st->paused_by, "");
  EXPECT_EQ(st->watermark, 3u);  // pausing touches nothing else
}

TYPED_TEST(LeaseRules, BadAcquireArgumentsAreConfigErrors) {
  EXPECT_TRUE(LeaseFailsWith(this->store_->acquire("", this->ttl()), "lease.config", {"holder"}));
  EXPECT_TRUE(LeaseFailsWith(this->store_->acquire(kLeaseAlpha, 0ms), "lease.config", {"TTL"}));
  auto st = this->store_->read();
  ASSERT_TRUE(st.ok()) << LeaseWhy(st);
  EXPECT_FALSE(st->held);
}

// --- local only -------------------------------------------------------------------------------

TEST(LocalLease, CorruptStateFileIsAnErrorNamingTheFileAndIsNotReset) {
  TempDir dir;
  auto path = dir.path() / "lease.json";
  auto store = make_local_lease_store(path);
  ASSERT_TRUE(store->acquire(kLeaseAlpha, 300ms).ok());
  const std::string garbage = "{\"version\":1,\"holder\":";  // a torn write, say
  ASSERT_TRUE(atomic_write_file(path, garbage).ok());
  EXPECT_TRUE(LeaseFailsWith(store->read(), "lease.corrupt", {path.string(), "delete"}));
  EXPECT_TRUE(LeaseFailsWith(store->acquire(kLeaseBeta, 300ms), "lease.corrupt", {path.string()}));
  EXPECT_TRUE(LeaseFailsWith(store->set_paused(true, "x"), "lease.corrupt"));
  auto text = read_file(path);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text.value(), garbage);
}

// Issue #16, path 7: a local lease decides only between agents of one machine. A file another
// machine wrote (a network file system shared by two hosts, a copied disk) decides nothing.
TEST(LocalLease, StateFileWrittenOnAnotherMachineIsNotShared) {
  TempDir dir;
  auto path = dir.path() / "lease.json";
  auto store = make_local_lease_store(path);
  ASSERT_TRUE(store->acquire(kLeaseAlpha, 60000ms).ok());
  auto id = read_file("/etc/machine-id");
  if (!id.ok() || id->size() < 2) GTEST_SKIP() << "this machine has no /etc/machine-id";
  const std::string ours = id->substr(0, id->find('\n'));
  auto text = read_file(path);
  ASSERT_TRUE(text.ok());
  auto parsed = nlohmann::json::parse(*text);
  EXPECT_EQ(parsed.value("machine_id", ""), ours);
  parsed["machine_id"] = std::string(ours.size(), ours[0] == 'f' ? 'e' : 'f');
  ASSERT_TRUE(atomic_write_file(path, parsed.dump()).ok());
  auto other = make_local_lease_store(path);
  EXPECT_TRUE(LeaseFailsWith(other->read(), "lease.not_shared", {path.string(), "etcd"}));
  EXPECT_TRUE(LeaseFailsWith(other->acquire(kLeaseBeta, 300ms), "lease.not_shared"));
  // A file of an older version (no machine id) is still read, and then records ours.
  parsed.erase("machine_id");
  ASSERT_TRUE(atomic_write_file(path, parsed.dump()).ok());
  auto renewed = other->renew(kLeaseAlpha, 1, 5);
  ASSERT_TRUE(renewed.ok()) << LeaseWhy(renewed);
  EXPECT_EQ(nlohmann::json::parse(*read_file(path)).value("machine_id", ""), ours);
}

TEST(LocalLease, StateFileWithAWrongFieldTypeIsCorrupt) {
  TempDir dir;
  auto path = dir.path() / "lease.json";
  auto store = make_local_lease_store(path);
  auto g = store->acquire(kLeaseAlpha, 300ms);
  ASSERT_TRUE(g.ok()) << LeaseWhy(g);
  auto text = read_file(path);
  ASSERT_TRUE(text.ok());
  std::string edited = text.value();
  auto at = edited.find("\"epoch\": 1");
  ASSERT_NE(at, std::string::npos) << edited;
  edited.replace(at, 10, "\"epoch\": \"1\"");
  ASSERT_TRUE(atomic_write_file(path, edited).ok());
  EXPECT_TRUE(LeaseFailsWith(store->renew(kLeaseAlpha, g->epoch, 1), "lease.corrupt",
                             {path.string(), "epoch"}));
}

// CLOCK_MONOTONIC restarts at boot: a holding from before a reboot must not look held for as
// long as the old uptime was (its holder died with the old boot).
TEST(LocalLease, HoldingWrittenBeforeARebootIsExpired) {
  TempDir dir;
  auto path = dir.path() / "lease.json";
  const std::string before_reboot = R"({"version":1,"boot_id":"00000000-not-this-boot",
    "holder":"agent-alpha","epoch":7,"active":true,"expires_at_mono_ms":9000000000000,
    "ttl_ms":300,"watermark":70,"watermark_exact":false,"handover_to":"","paused":false,
    "paused_by":""})";
  ASSERT_TRUE(atomic_write_file(path, before_reboot).ok());
  auto store = make_local_lease_store(path);
  auto st = store->read();
  ASSERT_TRUE(st.ok()) << LeaseWhy(st);
  EXPECT_FALSE(st->held);
  EXPECT_EQ(st->epoch, 7u);
  EXPECT_TRUE(LeaseFailsWith(store->renew(kLeaseAlpha, 7, 71), "lease.lost", {"reboot"}));
  auto g = store->acquire(kLeaseBeta, 300ms);
  ASSERT_TRUE(g.ok()) << LeaseWhy(g);
  EXPECT_EQ(g->epoch, 8u);
  st = store->read();
  ASSERT_TRUE(st.ok()) << LeaseWhy(st);
  EXPECT_TRUE(st->held);
  EXPECT_EQ(st->watermark, 70u);
}

TEST(LocalLease, MissingDirectoryIsUnavailableNamingIt) {
  TempDir dir;
  auto store = make_local_lease_store(dir.path() / "no-such-dir" / "lease.json");
  EXPECT_TRUE(LeaseFailsWith(store->read(), "lease.unavailable", {"no-such-dir"}));
  EXPECT_TRUE(
      LeaseFailsWith(store->acquire(kLeaseAlpha, 300ms), "lease.unavailable", {"no-such-dir"}));
  EXPECT_EQ(store->describe(), "local " + (dir.path() / "no-such-dir" / "lease.json").string());
}

// --- etcd only --------------------------------------------------------------------------------

// The raw value of an etcd key (through the same JSON gateway), "" when absent.
std::string LeaseEtcdB64(const std::string& raw) {
  std::string out(sodium_base64_ENCODED_LEN(raw.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(raw.data()),
                    raw.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);
  return out;
}

nlohmann::json LeaseEtcdPost(const std::string& endpoint, const std::string& path,
                             const nlohmann::json& body) {
  httplib::Client client(endpoint);
  client.set_read_timeout(2s);
  auto res = client.Post(path, body.dump(), "application/json");
  if (!res) return nlohmann::json();
  return nlohmann::json::parse(res->body, nullptr, false);
}

// renew, retried while the store is unavailable (an agent renews until its TTL runs out): a
// 3-member cluster that lost its leader answers again after an election.
Result<LeaseGrant> LeaseRenewWithin(LeaseStore& store, std::uint64_t epoch, std::uint64_t watermark,
                                    std::chrono::milliseconds within) {
  auto deadline = SteadyClock::now() + within;
  for (;;) {
    auto r = store.renew(kLeaseAlpha, epoch, watermark);
    if (r.ok() || r.error().code != "lease.unavailable" || SteadyClock::now() > deadline) return r;
    std::this_thread::sleep_for(100ms);
  }
}

Result<std::unique_ptr<LeaseStore>> LeaseEtcdStore(std::vector<std::string> endpoints,
                                                   std::chrono::milliseconds timeout = 1000ms) {
  return make_etcd_lease_store({std::move(endpoints), kLeaseEtcdPrefix, timeout});
}

TEST(EtcdLease, ConfigErrorsNameTheBadEndpointOrPrefix) {
  EXPECT_TRUE(LeaseFailsWith(LeaseEtcdStore({}), "lease.config", {"endpoint"}));
  for (const std::string bad :
       {"127.0.0.1:2379", "https://127.0.0.1:2379", "http://127.0.0.1", "http://127.0.0.1:99999",
        "http://127.0.0.1:2379/v3", "http://:2379"}) {
    EXPECT_TRUE(
        LeaseFailsWith(LeaseEtcdStore({"http://127.0.0.1:2379", bad}), "lease.config", {bad}))
        << bad;
  }
  for (const std::string bad : {"", "corecell/cell-1", "/", "/corecell/cell-1/"}) {
    EXPECT_TRUE(LeaseFailsWith(make_etcd_lease_store({{"http://127.0.0.1:2379"}, bad, 1000ms}),
                               "lease.config", {"prefix", "\"" + bad + "\""}))
        << bad;
  }
  auto good = make_etcd_lease_store(
      {{"http://127.0.0.1:2379", "http://[::1]:2379"}, "/corecell/cell-1", 1000ms});
  ASSERT_TRUE(good.ok()) << LeaseWhy(good);
  EXPECT_EQ(good.value()->describe(),
            "etcd http://127.0.0.1:2379,http://[::1]:2379 /corecell/cell-1");
}

TEST(EtcdLease, NoReachableEndpointIsUnavailableNamingEveryEndpoint) {
  // Nothing listens on port 1 of these loopback addresses: connections are refused at once.
  const std::vector<std::string> endpoints = {"http://127.0.163.1:1", "http://127.0.163.2:1"};
  auto store = LeaseEtcdStore(endpoints);
  ASSERT_TRUE(store.ok()) << LeaseWhy(store);
  LeaseStore& s = *store.value();
  EXPECT_TRUE(LeaseFailsWith(s.read(), "lease.unavailable", endpoints));
  EXPECT_TRUE(LeaseFailsWith(s.acquire(kLeaseAlpha, 2s), "lease.unavailable", endpoints));
  EXPECT_TRUE(LeaseFailsWith(s.renew(kLeaseAlpha, 5, 1), "lease.unavailable", endpoints));
  EXPECT_TRUE(LeaseFailsWith(s.release(kLeaseAlpha, 5, 1, true, ""), "lease.unavailable"));
  EXPECT_TRUE(LeaseFailsWith(s.set_paused(true, "ops"), "lease.unavailable", endpoints));
}

TEST(EtcdLease, TtlIsRoundedUpToWholeSecondsWithAMinimumOfTwo) {
  EtcdCluster etcd(1);
  ASSERT_TRUE(etcd.ok()) << etcd.error();
  auto store = LeaseEtcdStore(etcd.endpoints());
  ASSERT_TRUE(store.ok()) << LeaseWhy(store);
  auto g = store.value()->acquire(kLeaseAlpha, 300ms);
  ASSERT_TRUE(g.ok()) << LeaseWhy(g);
  EXPECT_EQ(g->ttl, 2s);
  ASSERT_TRUE(store.value()->release(kLeaseAlpha, g->epoch, 0, false, "").ok());
  g = store.value()->acquire(kLeaseAlpha, 2500ms);
  ASSERT_TRUE(g.ok()) << LeaseWhy(g);
  EXPECT_EQ(g->ttl, 3s);
  auto r = store.value()->renew(kLeaseAlpha, g->epoch, 0);
  ASSERT_TRUE(r.ok()) << LeaseWhy(r);
  EXPECT_EQ(r->ttl, 3s);
}

// The schema in ha/etcd_lease.h: the holder key's create_revision is the epoch, it is attached
// to an etcd lease, and the state key has none (it outlives the holding).
TEST(EtcdLease, KeysFollowTheDocumentedSchema) {
  EtcdCluster etcd(1);
  ASSERT_TRUE(etcd.ok()) << etcd.error();
  auto store = LeaseEtcdStore(etcd.endpoints());
  ASSERT_TRUE(store.ok()) << LeaseWhy(store);
  auto g = store.value()->acquire(kLeaseAlpha, 2s);
  ASSERT_TRUE(g.ok()) << LeaseWhy(g);
  ASSERT_TRUE(store.value()->renew(kLeaseAlpha, g->epoch, 11).ok());
  auto range = [&](const std::string& key) {
    auto reply = LeaseEtcdPost(etcd.endpoint(0), "/v3/kv/range",
                               {{"key", LeaseEtcdB64(std::string(kLeaseEtcdPrefix) + key)}});
    return reply.is_object() && reply.contains("kvs") ? reply["kvs"][0] : nlohmann::json();
  };
  auto holder = range("/holder");
  ASSERT_TRUE(holder.is_object());
  EXPECT_EQ(holder["create_revision"], std::to_string(g->epoch));
  EXPECT_NE(holder.value("lease", "0"), "0");
  auto state = range("/state");
  ASSERT_TRUE(state.is_object());
  EXPECT_EQ(state.value("lease", "0"), "0");
  ASSERT_TRUE(store.value()->release(kLeaseAlpha, g->epoch, 12, true, "").ok());
  EXPECT_TRUE(range("/holder").is_null());
}

TEST(EtcdLease, CorruptStateKeyIsAnErrorNamingTheKey) {
  EtcdCluster etcd(1);
  ASSERT_TRUE(etcd.ok()) << etcd.error();
  const std::string key = std::string(kLeaseEtcdPrefix) + "/state";
  auto put = LeaseEtcdPost(etcd.endpoint(0), "/v3/kv/put",
                           {{"key", LeaseEtcdB64(key)}, {"value", LeaseEtcdB64("not json")}});
  ASSERT_TRUE(put.is_object() && put.contains("header")) << put.dump();
  auto store = LeaseEtcdStore(etcd.endpoints());
  ASSERT_TRUE(store.ok()) << LeaseWhy(store);
  EXPECT_TRUE(LeaseFailsWith(store.value()->read(), "lease.corrupt", {key, "etcdctl del"}));
  EXPECT_TRUE(LeaseFailsWith(store.value()->acquire(kLeaseAlpha, 2s), "lease.corrupt", {key}));
}

// FAIL-CLOSED: a store that is down is "cannot prove" (lease.unavailable), not "not yours"
// (lease.lost); when it is back within the TTL the holding is still there.
TEST(EtcdLease, StoppedStoreIsUnavailableNotLostAndTheHoldingSurvivesARestart) {
  EtcdCluster etcd(1);
  ASSERT_TRUE(etcd.ok()) << etcd.error();
  auto store = LeaseEtcdStore(etcd.endpoints(), 500ms);
  ASSERT_TRUE(store.ok()) << LeaseWhy(store);
  auto g = store.value()->acquire(kLeaseAlpha, 5s);
  ASSERT_TRUE(g.ok()) << LeaseWhy(g);
  etcd.stop(0);
  EXPECT_TRUE(LeaseFailsWith(store.value()->renew(kLeaseAlpha, g->epoch, 1), "lease.unavailable",
                             {etcd.endpoint(0)}));
  EXPECT_TRUE(LeaseFailsWith(store.value()->read(), "lease.unavailable", {etcd.endpoint(0)}));
  ASSERT_TRUE(etcd.start(0)) << etcd.logs_tail();
  auto r = store.value()->renew(kLeaseAlpha, g->epoch, 2);
  ASSERT_TRUE(r.ok()) << LeaseWhy(r);
  auto st = store.value()->read();
  ASSERT_TRUE(st.ok()) << LeaseWhy(st);
  EXPECT_TRUE(st->held);
  EXPECT_EQ(st->epoch, g->epoch);
  EXPECT_EQ(st->watermark, 2u);
}

// A hung member (accepts TCP, never answers) costs one request timeout, then lease.unavailable.
TEST(EtcdLease, FrozenStoreTimesOutAsUnavailable) {
  EtcdCluster etcd(1);
  ASSERT_TRUE(etcd.ok()) << etcd.error();
  auto store = LeaseEtcdStore(etcd.endpoints(), 500ms);
  ASSERT_TRUE(store.ok()) << LeaseWhy(store);
  auto g = store.value()->acquire(kLeaseAlpha, 5s);
  ASSERT_TRUE(g.ok()) << LeaseWhy(g);
  etcd.freeze(0);
  auto t0 = SteadyClock::now();
  EXPECT_TRUE(LeaseFailsWith(store.value()->renew(kLeaseAlpha, g->epoch, 1), "lease.unavailable",
                             {etcd.endpoint(0)}));
  EXPECT_LT(SteadyClock::now() - t0, 2500ms);
  etcd.thaw(0);
  auto r = store.value()->renew(kLeaseAlpha, g->epoch, 2);
  EXPECT_TRUE(r.ok()) << LeaseWhy(r);
}

// Endpoints are tried in order: a dead first endpoint is skipped, and with one member of three
// down the cluster keeps the lease; with two down (no quorum) it is unavailable, not lost.
TEST(EtcdLease, ThreeMemberClusterKeepsTheLeaseWithOneMemberDown) {
  EtcdCluster etcd(3);
  ASSERT_TRUE(etcd.ok()) << etcd.error();
  std::vector<std::string> endpoints = {"http://127.0.163.1:1"};  // refused: skipped
  for (const auto& e : etcd.endpoints()) endpoints.push_back(e);
  auto store = LeaseEtcdStore(endpoints, 1000ms);
  ASSERT_TRUE(store.ok()) << LeaseWhy(store);
  auto g = store.value()->acquire(kLeaseAlpha, 15s);
  ASSERT_TRUE(g.ok()) << LeaseWhy(g);

  etcd.stop(0);  // perhaps the leader: then m1 and m2 elect a new one first
  auto r = LeaseRenewWithin(*store.value(), g->epoch, 1, 8s);
  EXPECT_TRUE(r.ok()) << LeaseWhy(r);
  auto other = LeaseEtcdStore({etcd.endpoint(2)});
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(LeaseFailsWith(other.value()->acquire(kLeaseBeta, 2s), "lease.held", {kLeaseAlpha}));

  etcd.stop(1);  // m2 alone: no quorum, no linearizable answer
  EXPECT_TRUE(LeaseFailsWith(store.value()->renew(kLeaseAlpha, g->epoch, 2), "lease.unavailable"));
  ASSERT_TRUE(etcd.start(1)) << etcd.logs_tail();
  auto again = LeaseRenewWithin(*store.value(), g->epoch, 3, 8s);
  EXPECT_TRUE(again.ok()) << LeaseWhy(again);
  auto st = store.value()->read();
  ASSERT_TRUE(st.ok()) << LeaseWhy(st);
  EXPECT_EQ(st->holder, kLeaseAlpha);
  EXPECT_EQ(st->epoch, g->epoch);
}

}  // namespace
}  // namespace cc::ha
