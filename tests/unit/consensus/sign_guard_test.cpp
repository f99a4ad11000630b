// The SignGuard: SIGN-1 (one digest per height, round and kind, across restarts and takeovers),
// KEY-1 (a live permit before every signature) and FAIL-CLOSED (no signature without a durable
// watermark). The watermark is persisted to a real file (atomic_write_file: fsync + rename) by a
// test store — consensus/ cannot link storage/, whose file format has its own tests
// (tests/unit/storage/signstate_test.cpp); node/ joins the two.
#include "consensus/sign_guard.h"

#include <gtest/gtest.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <tuple>
#include <type_traits>
#include <vector>

#include "crypto/address.h"
#include "crypto/keccak.h"
#include "support/temp_dir.h"
#include "util/files.h"

namespace cc::consensus {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using cc::testing::TempDir;

// Persists SignGuardState to one file, durably, and can be told to fail like a full disk.
class FileStore {
 public:
  explicit FileStore(fs::path path) : path_(std::move(path)) {}

  Status persist(const SignGuardState& st) {
    ++persist_calls;
    if (fail) return make_error("file.write", "writing " + path_.string() + ": No space left");
    nlohmann::json j;
    j["address"] = to_hex(st.address);
    j["max_height"] = st.max_height;
    j["floor"] = st.floor;
    j["max_epoch"] = st.max_epoch;
    j["votes"] = nlohmann::json::array();
    for (const auto& v : st.votes)
      j["votes"].push_back(
          {v.height, v.round, static_cast<int>(v.kind), v.epoch, to_hex(v.digest)});
    return atomic_write_file(path_, j.dump(), 0600);
  }

  std::optional<SignGuardState> load() const {
    auto text = read_file(path_);
    if (!text.ok()) return std::nullopt;
    auto j = nlohmann::json::parse(*text);
    SignGuardState st;
    st.address = *fixed_from_hex<20>(j["address"].get<std::string>());
    st.max_height = j["max_height"];
    st.floor = j["floor"];
    st.max_epoch = j["max_epoch"];
    for (const auto& v : j["votes"])
      st.votes.push_back({v[0].get<std::uint64_t>(), v[1].get<std::uint32_t>(),
                          static_cast<SignKind>(v[2].get<int>()), v[3].get<std::uint64_t>(),
                          *fixed_from_hex<32>(v[4].get<std::string>())});
    return st;
  }

  bool fail = false;
  int persist_calls = 0;

 private:
  fs::path path_;
};

Hash32 digest(const std::string& label) { return crypto::keccak256(view(label)); }

crypto::PrivateKey test_key(std::uint8_t seed = 1) {
  FixedBytes<32> k{};
  k[31] = seed;
  k[0] = 0x42;
  return *crypto::PrivateKey::from_bytes(k);
}

class SignGuardTest : public ::testing::Test {
 protected:
  SignGuardTest() : store_(dir_.path() / "signstate") {}

  // A guard over the file as it is on disk now (a process start).
  std::unique_ptr<SignGuard> start(SignGuardOptions options = {}, std::uint8_t key_seed = 1) {
    auto g = try_start(options, key_seed);
    EXPECT_TRUE(g.ok()) << g.error().message;
    return g.ok() ? std::move(g).value() : nullptr;
  }
  Result<std::unique_ptr<SignGuard>> try_start(SignGuardOptions options = {},
                                               std::uint8_t key_seed = 1) {
    SignGuardHooks hooks;
    hooks.persist = [this](const SignGuardState& st) {
      journal_size_at_persist_.push_back(journal_.size());
      if (during_persist_) during_persist_();
      return store_.persist(st);
    };
    hooks.journal = [this](const SignatureRecord& r) {
      journal_.push_back(r);
      return journal_fails_ ? Status(make_error("signjournal.write", "disk full")) : ok_status();
    };
    hooks.now = [this] { return now_; };
    return SignGuard::create(test_key(key_seed), store_.load(), std::move(hooks), options);
  }
  // A guard holding a permit of `epoch` valid for a minute.
  std::unique_ptr<SignGuard> start_active(std::uint64_t epoch = 1, SignGuardOptions options = {}) {
    auto g = start(options);
    if (g) {
      EXPECT_TRUE(g->grant_permit(epoch, now_ + 60s).ok());
    }
    return g;
  }

  TempDir dir_;
  FileStore store_;
  std::vector<SignatureRecord> journal_;
  std::vector<std::size_t> journal_size_at_persist_;  // how many signatures existed at each persist
  bool journal_fails_ = false;
  std::function<void()> during_persist_;  // runs inside each persist (a slow disk, a suspend)
  PermitClock::time_point now_ = PermitClock::time_point{} + 1000h;
};

SignRequest req(std::uint64_t height, std::uint32_t round, SignKind kind, const std::string& what) {
  return SignRequest{height, round, kind, digest(what)};
}

TEST_F(SignGuardTest, SignatureRecoversToTheValidatorAddress) {
  auto g = start_active();
  const auto r = req(10, 0, SignKind::kPrepare, "block A");
  auto sig = g->sign(r);
  ASSERT_TRUE(sig.ok()) << sig.error().message;
  auto pub = crypto::recover(r.digest, *sig);
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(crypto::address_of(*pub), g->address());
  EXPECT_EQ(g->address(), crypto::address_of(test_key()));
}

TEST_F(SignGuardTest, VoteIsOnDiskBeforeTheSignatureExists) {
  auto g = start_active();
  const auto r = req(10, 0, SignKind::kCommit, "block A");
  journal_size_at_persist_.clear();
  auto sig = g->sign(r);
  ASSERT_TRUE(sig.ok());
  // One persist, made while no signature for this request existed yet.
  ASSERT_EQ(journal_size_at_persist_.size(), 1u);
  EXPECT_EQ(journal_size_at_persist_[0], 0u);
  EXPECT_EQ(journal_.size(), 1u);
  auto on_disk = store_.load();
  ASSERT_TRUE(on_disk.has_value());
  ASSERT_EQ(on_disk->votes.size(), 1u);
  EXPECT_EQ(on_disk->votes[0].digest, r.digest);
  EXPECT_EQ(on_disk->votes[0].epoch, 1u);
  EXPECT_EQ(on_disk->max_height, 10u);
  EXPECT_EQ(*on_disk, g->state());
}

TEST_F(SignGuardTest, PersistFailureRefusesAndSignsNothingUntilAPersistSucceeds) {
  auto g = start_active();
  const auto first = req(10, 0, SignKind::kPrepare, "block A");
  ASSERT_TRUE(g->sign(first).ok());
  const auto disk_before = store_.load();

  store_.fail = true;  // the disk fills up
  const auto next = req(10, 0, SignKind::kCommit, "block A commit");
  auto refused = g->sign(next);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "sign.persist_failed");
  EXPECT_NE(refused.error().message.find("No space left"), std::string::npos);
  EXPECT_EQ(store_.load(), disk_before);  // nothing new on disk...
  EXPECT_EQ(journal_.size(), 1u);         // ...and no signature produced
  // Fail closed: not even a re-sign of an already durable vote while persistence is broken.
  auto resign = g->sign(first);
  ASSERT_FALSE(resign.ok());
  EXPECT_EQ(resign.error().code, "sign.persist_failed");
  // The refused vote is not remembered as signed: a different digest is not a "conflict".
  EXPECT_EQ(g->state().votes.size(), 1u);

  store_.fail = false;  // space freed
  auto recovered = g->sign(next);
  ASSERT_TRUE(recovered.ok()) << recovered.error().message;
  EXPECT_TRUE(g->sign(first).ok());
  const auto stats = g->stats();
  EXPECT_EQ(stats.persist_failures, 1u);
  EXPECT_EQ(stats.refusals.at("sign.persist_failed"), 2u);
  EXPECT_EQ(stats.signatures, 2u);
  EXPECT_EQ(stats.resigns, 1u);
}

TEST_F(SignGuardTest, ConflictingDigestIsRefusedAcrossARestart) {
  const auto a = req(10, 1, SignKind::kPrepare, "block A");
  const auto b = req(10, 1, SignKind::kPrepare, "block B");
  crypto::Signature sig_a;
  {
    auto g = start_active(3);
    auto s = g->sign(a);
    ASSERT_TRUE(s.ok());
    sig_a = *s;
  }  // process exits
  auto g = start_active(3);
  auto conflict = g->sign(b);
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().code, "sign.conflict");
  EXPECT_NE(conflict.error().message.find(to_hex0x(a.digest)), std::string::npos);
  EXPECT_NE(conflict.error().message.find(to_hex0x(b.digest)), std::string::npos);
  // The same request is re-signed byte for byte; other kinds and rounds are independent.
  auto again = g->sign(a);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, sig_a);
  EXPECT_TRUE(g->sign(req(10, 1, SignKind::kCommit, "block B")).ok());
  EXPECT_TRUE(g->sign(req(10, 2, SignKind::kPrepare, "block B")).ok());
  EXPECT_EQ(g->stats().refusals.at("sign.conflict"), 1u);
}

TEST_F(SignGuardTest, IdenticalRequestIsReSignedWithoutANewPersist) {
  auto g = start_active();
  const auto r = req(5, 0, SignKind::kRoundChange, "rc");
  auto s1 = g->sign(r);
  ASSERT_TRUE(s1.ok());
  const int persists = store_.persist_calls;
  auto s2 = g->sign(r);
  ASSERT_TRUE(s2.ok());
  EXPECT_EQ(*s1, *s2);
  EXPECT_EQ(store_.persist_calls, persists);
  EXPECT_EQ(g->stats().signatures, 1u);
  EXPECT_EQ(g->stats().resigns, 1u);
}

TEST_F(SignGuardTest, NoPermitNoSignature) {
  auto g = start();
  auto r = g->sign(req(1, 0, SignKind::kPrepare, "x"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "sign.no_permit");
  EXPECT_EQ(store_.persist_calls, 0);
  EXPECT_TRUE(journal_.empty());
}

TEST_F(SignGuardTest, PermitStopsWorkingASafetyMarginBeforeItsDeadline) {
  SignGuardOptions opts;
  opts.safety_margin = 500ms;
  auto g = start(opts);
  ASSERT_TRUE(g->grant_permit(4, now_ + 2s).ok());
  EXPECT_TRUE(g->sign(req(1, 0, SignKind::kPrepare, "a")).ok());
  now_ += 1499ms;  // 501 ms left: still usable
  EXPECT_TRUE(g->sign(req(1, 0, SignKind::kCommit, "a")).ok());
  now_ += 1ms;  // exactly the margin left: no longer
  auto r = g->sign(req(2, 0, SignKind::kPrepare, "b"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "sign.permit_expired");
  // Also for a re-sign: the permit is checked before every signature.
  auto resign = g->sign(req(1, 0, SignKind::kPrepare, "a"));
  ASSERT_FALSE(resign.ok());
  EXPECT_EQ(resign.error().code, "sign.permit_expired");
  // A renewal of the same epoch makes it usable again.
  ASSERT_TRUE(g->renew_permit(4, now_ + 10s).ok());
  EXPECT_TRUE(g->sign(req(2, 0, SignKind::kPrepare, "b")).ok());
}

// Issue #16, path 5: the persist is fsync'd and may take long (or the machine may be suspended
// while it runs); the permit that was valid before it must still be valid when the signature
// leaves. The watermark written stays (it only refuses more).
TEST_F(SignGuardTest, PermitThatLapsesDuringThePersistLetsNoSignatureOut) {
  auto g = start_active();  // permit valid for 60 s
  during_persist_ = [this] { now_ += 61s; };
  const auto r = req(10, 0, SignKind::kPrepare, "block A");
  auto sig = g->sign(r);
  ASSERT_FALSE(sig.ok());
  EXPECT_EQ(sig.error().code, "sign.permit_expired");
  EXPECT_TRUE(journal_.empty()) << "a signature left after its permit lapsed";
  EXPECT_EQ(g->state().max_height, 10u);  // persisted before the check: refuses a conflict later
  during_persist_ = nullptr;
  ASSERT_TRUE(g->grant_permit(1, now_ + 60s).ok());
  auto other = g->sign(req(10, 0, SignKind::kPrepare, "block B"));
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, "sign.conflict");
}

// Issue #16, path 5: permits are measured on CLOCK_BOOTTIME, which counts the time a machine was
// suspended (CLOCK_MONOTONIC stops then, and a resumed host would believe its permit still good).
TEST(PermitClock, IsTheBootClockThatCountsSuspendedTime) {
  static_assert(std::is_same_v<PermitClock, util::BootClock>);
  timespec before{};
  ASSERT_EQ(::clock_gettime(CLOCK_BOOTTIME, &before), 0);
  const auto ours = PermitClock::now().time_since_epoch();
  timespec after{};
  ASSERT_EQ(::clock_gettime(CLOCK_BOOTTIME, &after), 0);
  const auto as_ns = [](const timespec& t) {
    return std::chrono::nanoseconds(static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 +
                                    t.tv_nsec);
  };
  EXPECT_GE(ours, as_ns(before));
  EXPECT_LE(ours, as_ns(after));
  // BOOTTIME = MONOTONIC + the time suspended: never behind it.
  timespec mono{};
  ASSERT_EQ(::clock_gettime(CLOCK_MONOTONIC, &mono), 0);
  EXPECT_GE(PermitClock::now().time_since_epoch(), as_ns(mono));
}

TEST_F(SignGuardTest, RevokedPermitStopsSigning) {
  auto g = start_active(2);
  EXPECT_TRUE(g->sign(req(1, 0, SignKind::kPrepare, "a")).ok());
  g->revoke_permit();
  EXPECT_FALSE(g->permit().has_value());
  auto r = g->sign(req(1, 0, SignKind::kCommit, "a"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "sign.no_permit");
  auto renew = g->renew_permit(2, now_ + 60s);
  ASSERT_FALSE(renew.ok());
  EXPECT_EQ(renew.error().code, "sign.no_permit");
}

TEST_F(SignGuardTest, StaleFencingTokenIsRefusedEvenAfterARestart) {
  {
    auto g = start();
    ASSERT_TRUE(g->grant_permit(5, now_ + 60s).ok());
    auto stale = g->grant_permit(4, now_ + 60s);
    ASSERT_FALSE(stale.ok());
    EXPECT_EQ(stale.error().code, "sign.stale_epoch");
    ASSERT_TRUE(g->permit().has_value());
    EXPECT_EQ(g->permit()->epoch, 5u);  // the refused grant changed nothing
  }
  auto g = start();
  EXPECT_EQ(g->state().max_epoch, 5u);
  auto stale = g->grant_permit(4, now_ + 60s);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, "sign.stale_epoch");
  EXPECT_TRUE(g->grant_permit(5, now_ + 60s).ok());  // the same lease holder again
  EXPECT_TRUE(g->grant_permit(6, now_ + 60s).ok());
}

TEST_F(SignGuardTest, NewEpochIsNotGrantedWhenItCannotBePersisted) {
  auto g = start();
  store_.fail = true;
  auto r = g->grant_permit(9, now_ + 60s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "sign.persist_failed");
  EXPECT_FALSE(g->permit().has_value());
  EXPECT_EQ(g->state().max_epoch, 0u);
}

TEST_F(SignGuardTest, CeilingRefusesHigherHeightsAndRecordsTheWantedOne) {
  auto g = start();
  ASSERT_TRUE(g->grant_permit(3, now_ + 60s, 5).ok());
  EXPECT_TRUE(g->sign(req(5, 0, SignKind::kPrepare, "a")).ok());
  EXPECT_EQ(g->wanted_height(), 0u);
  const int persists = store_.persist_calls;
  auto r = g->sign(req(6, 0, SignKind::kPrepare, "b"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "sign.above_ceiling");
  EXPECT_EQ(g->wanted_height(), 6u);
  EXPECT_EQ(store_.persist_calls, persists);  // nothing written for a refused height
  EXPECT_EQ(g->state().max_height, 5u);
  EXPECT_EQ(g->stats().refusals.at("sign.above_ceiling"), 1u);
  // The agent replicated #6: the same request signs now.
  ASSERT_TRUE(g->renew_permit(3, now_ + 60s, 6).ok());
  EXPECT_EQ(g->permit()->ceiling, std::optional<std::uint64_t>(6));
  EXPECT_TRUE(g->sign(req(6, 0, SignKind::kPrepare, "b")).ok());
}

TEST_F(SignGuardTest, CeilingOnlyRisesAndARenewWithoutOneKeepsIt) {
  auto g = start();
  ASSERT_TRUE(g->grant_permit(3, now_ + 60s, 8).ok());
  ASSERT_TRUE(g->renew_permit(3, now_ + 60s, 4).ok());  // lower: what was replicated stays
  EXPECT_EQ(g->permit()->ceiling, std::optional<std::uint64_t>(8));
  ASSERT_TRUE(g->renew_permit(3, now_ + 60s).ok());
  EXPECT_EQ(g->permit()->ceiling, std::optional<std::uint64_t>(8));
  EXPECT_FALSE(g->sign(req(9, 0, SignKind::kPrepare, "x")).ok());
  // A new grant replaces the permit, ceiling included; without one, any height.
  ASSERT_TRUE(g->grant_permit(4, now_ + 60s).ok());
  EXPECT_FALSE(g->permit()->ceiling.has_value());
  EXPECT_TRUE(g->sign(req(9, 0, SignKind::kPrepare, "x")).ok());
}

TEST_F(SignGuardTest, PermitIsCheckedBeforeTheCeiling) {
  auto g = start();
  ASSERT_TRUE(g->grant_permit(3, now_ + 1s, 1).ok());  // within the 500 ms margin soon
  now_ += 600ms;
  auto r = g->sign(req(2, 0, SignKind::kPrepare, "x"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "sign.permit_expired");
  EXPECT_EQ(g->wanted_height(), 0u);  // an expired permit asks for nothing
}

TEST_F(SignGuardTest, RenewRefusesAnotherEpoch) {
  auto g = start_active(7);
  auto r = g->renew_permit(8, now_ + 60s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "sign.permit_mismatch");
  EXPECT_EQ(g->permit()->epoch, 7u);
}

TEST_F(SignGuardTest, JournalCarriesThePermitEpochOrZeroWithoutPermit) {
  {
    auto g = start_active(12);
    ASSERT_TRUE(g->sign(req(3, 0, SignKind::kSeal, "hdr")).ok());
  }
  SignGuardOptions no_permit;
  no_permit.require_permit = false;
  auto g = start(no_permit);
  ASSERT_TRUE(g->sign(req(4, 0, SignKind::kSeal, "hdr2")).ok());
  ASSERT_EQ(journal_.size(), 2u);
  EXPECT_EQ(journal_[0].epoch, 12u);
  EXPECT_EQ(journal_[0].request, req(3, 0, SignKind::kSeal, "hdr"));
  EXPECT_EQ(journal_[0].address, crypto::address_of(test_key()));
  EXPECT_EQ(journal_[1].epoch, 0u);
}

TEST_F(SignGuardTest, JournalFailureAfterSigningIsCountedNotFatal) {
  auto g = start_active();
  journal_fails_ = true;
  auto s = g->sign(req(1, 0, SignKind::kPrepare, "a"));
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(g->stats().journal_failures, 1u);
  EXPECT_EQ(g->stats().signatures, 1u);
}

TEST_F(SignGuardTest, FloorRefusesLowerHeightsAndSurvivesARestart) {
  {
    auto g = start_active();
    ASSERT_TRUE(g->set_floor(100).ok());
    auto below = g->sign(req(99, 0, SignKind::kPrepare, "old"));
    ASSERT_FALSE(below.ok());
    EXPECT_EQ(below.error().code, "sign.below_floor");
    EXPECT_TRUE(g->sign(req(100, 0, SignKind::kPrepare, "new")).ok());
    ASSERT_TRUE(g->set_floor(50).ok());  // never lowers
    EXPECT_EQ(g->state().floor, 100u);
  }
  auto g = start_active();
  EXPECT_EQ(g->state().floor, 100u);
  auto below = g->sign(req(99, 3, SignKind::kCommit, "old"));
  ASSERT_FALSE(below.ok());
  EXPECT_EQ(below.error().code, "sign.below_floor");
}

TEST_F(SignGuardTest, FloorHoldsInMemoryWhenItCannotBePersisted) {
  auto g = start_active();
  store_.fail = true;
  auto st = g->set_floor(20);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "sign.persist_failed");
  store_.fail = false;
  auto below = g->sign(req(19, 0, SignKind::kPrepare, "x"));
  ASSERT_FALSE(below.ok());
  EXPECT_EQ(below.error().code, "sign.below_floor");
  // The next successful persist carries the floor to disk.
  ASSERT_TRUE(g->sign(req(20, 0, SignKind::kPrepare, "y")).ok());
  EXPECT_EQ(store_.load()->floor, 20u);
}

TEST_F(SignGuardTest, OldHeightsArePrunedAndThenRefusedEvenWithTheSameDigest) {
  SignGuardOptions opts;
  opts.window_heights = 8;
  auto g = start_active(1, opts);
  for (std::uint64_t h = 1; h <= 20; ++h) {
    ASSERT_TRUE(g->sign(req(h, 0, SignKind::kPrepare, "p" + std::to_string(h))).ok());
    ASSERT_TRUE(g->sign(req(h, 0, SignKind::kCommit, "c" + std::to_string(h))).ok());
  }
  const auto st = store_.load();
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->max_height, 20u);
  ASSERT_EQ(st->votes.size(), 16u);  // heights 13..20, two kinds each
  EXPECT_EQ(st->votes.front().height, 13u);
  // Within the window, an unsigned slot below the high-water mark may still be signed.
  EXPECT_TRUE(g->sign(req(13, 1, SignKind::kPrepare, "late")).ok());
  // Below it nothing is known any more, so nothing is signed — not even the old digest.
  auto pruned = g->sign(req(12, 0, SignKind::kPrepare, "p12"));
  ASSERT_FALSE(pruned.ok());
  EXPECT_EQ(pruned.error().code, "sign.below_window");
}

TEST_F(SignGuardTest, RefusesAStateWrittenForAnotherKey) {
  { start_active(); }
  auto other = try_start({}, /*key_seed=*/2);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, "sign.state_wrong_key");
  EXPECT_NE(other.error().message.find(to_hex0x(crypto::address_of(test_key(1)))),
            std::string::npos);
}

TEST_F(SignGuardTest, RefusesAnInvalidLoadedState) {
  SignGuardState st;
  st.address = crypto::address_of(test_key());
  st.max_height = 10;
  st.votes = {{5, 0, SignKind::kCommit, 0, digest("a")},
              {5, 0, SignKind::kPrepare, 0, digest("b")}};
  SignGuardHooks hooks;
  hooks.persist = [](const SignGuardState&) { return ok_status(); };
  auto unsorted = SignGuard::create(test_key(), st, hooks);
  ASSERT_FALSE(unsorted.ok());
  EXPECT_EQ(unsorted.error().code, "sign.state_invalid");

  st.votes = {{5, 0, static_cast<SignKind>(9), 0, digest("a")}};
  auto bad_kind = SignGuard::create(test_key(), st, hooks);
  ASSERT_FALSE(bad_kind.ok());
  EXPECT_EQ(bad_kind.error().code, "sign.state_invalid");

  st.votes = {{11, 0, SignKind::kPrepare, 0, digest("a")}};
  auto above = SignGuard::create(test_key(), st, hooks);
  ASSERT_FALSE(above.ok());
  EXPECT_EQ(above.error().code, "sign.state_invalid");
}

TEST_F(SignGuardTest, RefusesToStartWithoutAPersistHook) {
  auto g = SignGuard::create(test_key(), std::nullopt, SignGuardHooks{});
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().code, "sign.config");
}

TEST_F(SignGuardTest, RefusesAnUnknownKind) {
  auto g = start_active();
  auto r = g->sign(SignRequest{1, 0, static_cast<SignKind>(7), digest("x")});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "sign.bad_request");
  EXPECT_EQ(store_.persist_calls, 1);  // only the permit's epoch
}

// Many threads racing to sign different digests for one slot: exactly one digest is signed.
TEST_F(SignGuardTest, ConcurrentConflictingRequestsSignExactlyOneDigest) {
  auto g = start_active();
  constexpr int kThreads = 8;
  std::atomic<int> ok_count{0};
  std::atomic<int> conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (std::uint64_t h = 1; h <= 20; ++h) {
        auto r = g->sign(
            req(h, 0, SignKind::kPrepare, "t" + std::to_string(t) + "h" + std::to_string(h)));
        if (r.ok()) {
          ++ok_count;
        } else if (r.error().code == "sign.conflict") {
          ++conflicts;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok_count.load(), 20);
  EXPECT_EQ(conflicts.load(), 20 * (kThreads - 1));
  std::set<std::uint64_t> heights;
  for (const auto& rec : journal_) heights.insert(rec.request.height);
  EXPECT_EQ(journal_.size(), 20u);
  EXPECT_EQ(heights.size(), 20u);
}

// Issue #16: the check and the update of the watermark are one step under one lock (Horcrux's
// 2025 double sign came from a check and an update taken under two separate locks). Many threads
// ask to sign the same (height, round, kind) with different digests while another thread renews,
// revokes and re-grants the permit and moves the clock: for every slot exactly one digest is
// ever signed, each signature recovers to the validator, and the journal holds exactly the
// signatures returned.
TEST(SignGuardConcurrency, OneDigestPerSlotWhilePermitsAreRenewedAndRevoked) {
  TempDir dir;
  FileStore store(dir.path() / "signstate");
  std::mutex journal_mu;
  std::vector<SignatureRecord> journal;
  std::atomic<std::int64_t> now_ms{1'000'000};
  SignGuardHooks hooks;
  hooks.persist = [&](const SignGuardState& st) { return store.persist(st); };
  hooks.journal = [&](const SignatureRecord& r) {
    std::lock_guard lock(journal_mu);
    journal.push_back(r);
    return ok_status();
  };
  hooks.now = [&] { return PermitClock::time_point(std::chrono::milliseconds(now_ms.load())); };
  SignGuardOptions options;
  options.safety_margin = 10ms;
  auto created = SignGuard::create(test_key(), std::nullopt, std::move(hooks), options);
  ASSERT_TRUE(created.ok()) << created.error().message;
  auto& g = **created;
  const auto at = [&](std::int64_t ms) {
    return PermitClock::time_point(std::chrono::milliseconds(ms));
  };
  ASSERT_TRUE(g.grant_permit(1, at(now_ms.load() + 1000)).ok());

  constexpr int kThreads = 6;
  constexpr std::uint64_t kHeights = 30;
  std::atomic<bool> done{false};
  std::thread permits([&] {
    std::uint64_t epoch = 1;
    for (int i = 0; !done.load(); ++i) {
      now_ms += 3;
      switch (i % 5) {
        case 0:
        case 1:
          (void)g.renew_permit(epoch, at(now_ms.load() + 50));
          break;
        case 2:
          g.revoke_permit();
          break;
        case 3:
          (void)g.grant_permit(++epoch, at(now_ms.load() + 50));
          break;
        default:
          now_ms += 100;  // past the deadline: the permit lapses until the next grant
          break;
      }
      std::this_thread::yield();
    }
  });
  struct Signed {
    std::uint64_t height;
    std::uint32_t round;
    SignKind kind;
    Hash32 digest;
  };
  std::mutex signed_mu;
  std::vector<Signed> returned;
  std::vector<std::thread> signers;
  for (int t = 0; t < kThreads; ++t) {
    signers.emplace_back([&, t] {
      for (int pass = 0; pass < 40; ++pass) {
        for (std::uint64_t h = 1; h <= kHeights; ++h) {
          for (SignKind kind : {SignKind::kPrepare, SignKind::kCommit}) {
            const auto r = req(h, static_cast<std::uint32_t>(pass % 2), kind,
                               "t" + std::to_string(t) + "h" + std::to_string(h));
            auto sig = g.sign(r);
            if (!sig.ok()) continue;
            auto pub = crypto::recover(r.digest, *sig);
            ASSERT_TRUE(pub.ok());
            ASSERT_EQ(crypto::address_of(*pub), g.address());
            std::lock_guard lock(signed_mu);
            returned.push_back({r.height, r.round, r.kind, r.digest});
          }
        }
      }
    });
  }
  for (auto& th : signers) th.join();
  done = true;
  permits.join();

  std::map<std::tuple<std::uint64_t, std::uint32_t, int>, std::set<Hash32>> by_slot;
  for (const auto& s : returned) {
    by_slot[{s.height, s.round, static_cast<int>(s.kind)}].insert(s.digest);
  }
  ASSERT_FALSE(by_slot.empty()) << "no signature at all: the test exercised nothing";
  for (const auto& [slot, digests] : by_slot) {
    EXPECT_EQ(digests.size(), 1u) << "height " << std::get<0>(slot) << " round "
                                  << std::get<1>(slot) << ": " << digests.size()
                                  << " different digests signed";
  }
  std::lock_guard lock(journal_mu);
  EXPECT_EQ(journal.size(), returned.size());
  const auto stats = g.stats();
  EXPECT_GT(stats.refusals.count("sign.conflict") + stats.refusals.count("sign.no_permit") +
                stats.refusals.count("sign.permit_expired"),
            0u);
}

}  // namespace
}  // namespace cc::consensus
