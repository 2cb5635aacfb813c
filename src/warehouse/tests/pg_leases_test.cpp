#include "warehouse/postgres/pg_leases.h"

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "warehouse/postgres/pg_warehouse.h"
#include "warehouse/tests/pg_test_loads.h"

// Leases and heartbeats on the PostgreSQL warehouse: what lets a second `merge --watch` wait and take over,
// and what `status` lists. Against the test server (the CTest fixture `postgres`), a database per test.
namespace dimstream {
namespace {

using std::chrono::milliseconds;

class PgLeasesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(db_.Create());
    auto w = PgWarehouse::Open(db_.url(), "", {pg::testing::StageEntity()});
    ASSERT_TRUE(w.ok()) << w.error().message;
    w_ = std::move(*w);
  }

  bool Hold(const std::string& holder, milliseconds ttl, std::string* previous = nullptr) {
    auto held = w_->HoldLease("merge:thing", holder, ttl, previous);
    EXPECT_TRUE(held.ok()) << held.error().message;
    return held.ok() && *held;
  }

  std::vector<std::vector<Value>> Rows(const std::string& sql) {
    auto r = w_->Query(sql);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? r->rows : std::vector<std::vector<Value>>{};
  }

  pg::testing::TestDatabase db_;
  std::unique_ptr<PgWarehouse> w_;
};

TEST_F(PgLeasesTest, OneHolderAtATimeUntilItExpires) {
  std::string previous = "unset";
  EXPECT_TRUE(Hold("a", milliseconds(60000), &previous));
  EXPECT_EQ(previous, "");                                 // nobody held it
  EXPECT_TRUE(Hold("a", milliseconds(60000), &previous));  // a renewal
  EXPECT_EQ(previous, "a");
  EXPECT_FALSE(Hold("b", milliseconds(60000), &previous));
  EXPECT_EQ(previous, "a");  // who holds it
  // Another lease name is another lease.
  auto other = w_->HoldLease("merge:other", "b", milliseconds(60000));
  ASSERT_TRUE(other.ok()) << other.error().message;
  EXPECT_TRUE(*other);

  // a stops renewing: b takes the lease once a's has run out, and learns from whom.
  EXPECT_TRUE(Hold("a", milliseconds(300)));
  EXPECT_FALSE(Hold("b", milliseconds(60000)));
  std::this_thread::sleep_for(milliseconds(400));
  EXPECT_TRUE(Hold("b", milliseconds(60000), &previous));
  EXPECT_EQ(previous, "a");
  EXPECT_FALSE(Hold("a", milliseconds(60000)));  // and a, back, now waits
  EXPECT_EQ(Rows("SELECT holder FROM leases WHERE name = 'merge:thing'"),
            (std::vector<std::vector<Value>>{{"b"}}));
}

TEST_F(PgLeasesTest, AReleasedLeaseIsFreeAtOnceAndOnlyItsHolderReleasesIt) {
  ASSERT_TRUE(Hold("a", milliseconds(60000)));
  ASSERT_TRUE(w_->ReleaseLease("merge:thing", "b").ok());  // not b's: nothing happens
  EXPECT_FALSE(Hold("b", milliseconds(60000)));
  ASSERT_TRUE(w_->ReleaseLease("merge:thing", "a").ok());
  std::string previous = "unset";
  EXPECT_TRUE(Hold("b", milliseconds(60000), &previous));
  EXPECT_EQ(previous, "");
}

TEST_F(PgLeasesTest, ManyContendersGetOneHolder) {
  constexpr int kContenders = 8;
  std::vector<int> won(kContenders, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < kContenders; ++i) {
    threads.emplace_back([&, i] {
      auto held = w_->HoldLease("merge:thing", "p" + std::to_string(i), milliseconds(60000));
      won[i] = held.ok() && *held ? 1 : held.ok() ? 0 : -1;
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  int winners = 0;
  for (int w : won) {
    EXPECT_NE(w, -1);
    winners += w == 1;
  }
  EXPECT_EQ(winners, 1);
}

TEST_F(PgLeasesTest, HeartbeatsListEveryProcessWithItsLeases) {
  ProcessBeat merge{"h1:10:1", "merge", "h1", 10, "runs=3"};
  ProcessBeat load{"h2:20:1", "load", "h2", 20, "loaded=7"};
  ASSERT_TRUE(w_->Beat(merge).ok());
  ASSERT_TRUE(w_->Beat(load).ok());
  ASSERT_TRUE(w_->HoldLease("merge:thing", merge.process, milliseconds(60000)).ok());
  merge.detail = "runs=4";
  ASSERT_TRUE(w_->Beat(merge).ok());  // the same process again: its row, updated
  EXPECT_EQ(Rows("SELECT process, role, host, pid, leases, detail, seconds_since_beat < 60, "
                 "beat_at >= started_at FROM processes ORDER BY process"),
            (std::vector<std::vector<Value>>{
                {"h1:10:1", "merge", "h1", "10", "merge:thing", "runs=4", "true", "true"},
                {"h2:20:1", "load", "h2", "20", std::nullopt, "loaded=7", "true", "true"}}));
}

}  // namespace
}  // namespace dimstream
