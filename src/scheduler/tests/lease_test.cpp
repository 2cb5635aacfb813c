#include "scheduler/lease.h"

#include <thread>

#include <gtest/gtest.h>

#include "warehouse/postgres/pg_warehouse.h"
#include "warehouse/sql.h"
#include "warehouse/tests/pg_test_database.h"
#include "warehouse/tests/pg_test_loads.h"

// LeaseKeeper and Heartbeat on the PostgreSQL warehouse (the CTest fixture `postgres`): what `merge --watch`
// processes rely on to take turns.
namespace dimstream {
namespace {

using std::chrono::milliseconds;

class LeaseKeeperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(db_.Create());
    for (auto* w : {&a_, &b_}) {  // two processes: a pool each
      auto opened = PgWarehouse::Open(db_.url(), "", {pg::testing::StageEntity()});
      ASSERT_TRUE(opened.ok()) << opened.error().message;
      *w = std::move(*opened);
    }
  }

  // Waits up to 20 s for `keeper` to hold its lease; how long it took.
  static std::optional<milliseconds> TimeToHold(const LeaseKeeper& keeper) {
    auto began = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - began < std::chrono::seconds(20)) {
      if (keeper.held()) {
        return std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - began);
      }
      std::this_thread::sleep_for(milliseconds(10));
    }
    return std::nullopt;
  }

  pg::testing::TestDatabase db_;
  std::unique_ptr<PgWarehouse> a_;
  std::unique_ptr<PgWarehouse> b_;
};

TEST_F(LeaseKeeperTest, ACleanStopHandsTheLeaseOverAtOnce) {
  LeaseKeeper first(*a_, "merge:thing", "first", milliseconds(60000));
  LeaseKeeper second(*b_, "merge:thing", "second", milliseconds(60000));
  StopSignal stop_first;
  StopSignal stop_second;
  std::thread t1([&] { first.Run(stop_first); });
  ASSERT_TRUE(TimeToHold(first));
  std::thread t2([&] { second.Run(stop_second); });
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_FALSE(second.held());
  stop_first.Request();
  t1.join();
  EXPECT_FALSE(first.held());
  // Released, not run out (60 s): the second takes it at its next renewal, a fifth of the ttl at most.
  EXPECT_TRUE(TimeToHold(second));
  stop_second.Request();
  t2.join();
}

TEST_F(LeaseKeeperTest, AHolderThatStopsRenewingLosesTheLeaseOnceItRunsOut) {
  // The first process "dies": it took the lease once and never renews it again.
  LeaseKeeper dead(*a_, "merge:thing", "dead", milliseconds(600));
  ASSERT_TRUE(dead.Renew());
  LeaseKeeper second(*b_, "merge:thing", "second", milliseconds(600));
  EXPECT_FALSE(second.Renew());
  StopSignal stop;
  std::thread t([&] { second.Run(stop); });
  auto took = TimeToHold(second);
  EXPECT_TRUE(took);
  // Its own clock says the dead one's lease ran out too: it would not merge any more if it came back.
  EXPECT_FALSE(dead.held());
  EXPECT_FALSE(dead.Renew());
  stop.Request();
  t.join();
}

TEST_F(LeaseKeeperTest, TheHeartbeatSaysWhatTheProcessDoesAndThatItStopped) {
  int beats = 0;
  Heartbeat heartbeat(
      *a_, ProcessBeat{ThisProcessId(), "merge", ThisHostName(), 1, ""},
      [&] { return "runs " + std::to_string(++beats); }, milliseconds(50));
  StopSignal stop;
  std::thread t([&] { heartbeat.Run(stop); });
  std::this_thread::sleep_for(milliseconds(300));
  stop.Request();
  t.join();
  auto r = b_->Query("SELECT role, detail FROM processes WHERE process = " + QuoteLiteral(ThisProcessId()));
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->rows.size(), 1u);
  EXPECT_EQ(r->rows[0][0], "merge");
  EXPECT_EQ(r->rows[0][1], "stopped; runs " + std::to_string(beats));
  EXPECT_GE(beats, 3);
}

}  // namespace
}  // namespace dimstream
