#include "warehouse/postgres/pg_merge_session.h"

#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "warehouse/postgres/pg_merge_log.h"
#include "warehouse/tests/pg_test_loads.h"

// A merge run's transaction on PostgreSQL, against the test server (the CTest fixture `postgres`). What a
// run computes is the behaviour cases' (merge_postgres_test); here: the raw view and its clean-up, and one
// run of an entity at a time.
namespace dimstream::pg {
namespace {

using testing::Arrival;
using testing::LoadRecords;

class PgMergeSessionTest : public testing::LoadedDatabaseTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(LoadedDatabaseTest::SetUp());
    ASSERT_TRUE(EnsureMergeTables(*conn_, entity_).ok());
    ASSERT_TRUE(EnsureVersionTables(*conn_, entity_).ok());
    pool_ = std::make_unique<PgPool>(db_.url(), "");
  }

  std::unique_ptr<MergeSession> Begin() {
    auto lease = pool_->Acquire();
    EXPECT_TRUE(lease.ok()) << lease.error().message;
    auto session = BeginPgMerge(std::move(*lease), entity_);
    EXPECT_TRUE(session.ok()) << session.error().message;
    return session.ok() ? std::move(*session) : nullptr;
  }

  std::vector<std::string> Column(const std::string& sql) { return testing::Column(*conn_, sql); }

  std::unique_ptr<PgPool> pool_;
};

TEST_F(PgMergeSessionTest, RawShowsTheLoadedRowsAboveTheWatermarkUntilMerged) {
  LoadRecords(*conn_, entity_, "1.csv", {{1, "A"}, {2, "A"}});
  EXPECT_EQ(Column("SELECT _arrival || ' ' || _object_key FROM thing_raw ORDER BY _arrival"),
            (std::vector<std::string>{std::to_string(Arrival(1, 2)) + " 1.csv",
                                      std::to_string(Arrival(1, 3)) + " 1.csv"}));
  auto session = Begin();
  ASSERT_NE(session, nullptr);
  auto staged = session->Stage(0);
  ASSERT_TRUE(staged.ok()) << staged.error().message;
  EXPECT_EQ(staged->new_watermark, Arrival(1, 3));
  TaskRecord task{.task_name = "thing_merge", .status = "succeeded", .rows_in = 2};
  ASSERT_TRUE(session->Finish(staged->new_watermark, task).ok());
  // Merged: raw shows nothing, its rows are gone, the run is recorded with the watermark.
  EXPECT_EQ(Column("SELECT count(*) FROM thing_raw"), (std::vector<std::string>{"0"}));
  EXPECT_EQ(Column("SELECT count(*) FROM thing_raw_rows"), (std::vector<std::string>{"0"}));
  EXPECT_EQ(Column("SELECT count(*) FROM thing_stage"), (std::vector<std::string>{"0"}));
  EXPECT_EQ(Column("SELECT parameter_value FROM parameter_control WHERE parameter_name = 'LETS'"),
            (std::vector<std::string>{std::to_string(Arrival(1, 3))}));
  EXPECT_EQ(Column("SELECT rows_in FROM task_history"), (std::vector<std::string>{"2"}));
  LoadRecords(*conn_, entity_, "2.csv", {{3, "B"}});
  EXPECT_EQ(Column("SELECT _arrival FROM thing_raw"),
            (std::vector<std::string>{std::to_string(Arrival(2, 2))}));
}

TEST_F(PgMergeSessionTest, ASessionNotFinishedChangesNothing) {
  LoadRecords(*conn_, entity_, "1.csv", {{1, "A"}});
  {
    auto session = Begin();
    ASSERT_NE(session, nullptr);
    ASSERT_TRUE(session->Stage(0).ok());
    ASSERT_TRUE(session->WriteParameter(kWatermarkParameter, Arrival(1, 2)).ok());
  }  // rolled back
  EXPECT_EQ(Column("SELECT count(*) FROM thing_raw"), (std::vector<std::string>{"1"}));
  EXPECT_EQ(Column("SELECT count(*) FROM parameter_control"), (std::vector<std::string>{"0"}));
  // Its connection went back to the pool usable: the next session works.
  auto next = Begin();
  ASSERT_NE(next, nullptr);
  auto staged = next->Stage(0);
  ASSERT_TRUE(staged.ok()) << staged.error().message;
  EXPECT_EQ(staged->rows_in, 1u);
}

TEST_F(PgMergeSessionTest, ASecondRunOfTheEntityWaitsForTheFirst) {
  auto first = Begin();
  ASSERT_NE(first, nullptr);
  std::atomic<bool> second_began{false};
  std::thread other([&] {
    auto second = Begin();
    second_began = second != nullptr;
  });
  // The second cannot begin while the first holds the entity; a slow machine only delays it further.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_FALSE(second_began.load());
  ASSERT_TRUE(first->Commit().ok());
  other.join();
  EXPECT_TRUE(second_began.load());
}

}  // namespace
}  // namespace dimstream::pg
