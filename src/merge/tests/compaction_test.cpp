// When a merge run's delta is compacted (merge on read): right after the run once it passes
// MergeOptions::delta_rows_max, unless records wait for the next run (MergeJob::SetWorkWaiting), then only
// past busy_delta_factor times that bound, and a compaction under way stops between slices for them. Real
// loader, merge and DuckDB warehouse; the tables' invariants hold whatever was compacted.
#include "merge/check.h"
#include "merge/tests/merge_job_fixture.h"

namespace dimstream {
namespace {

class CompactionTest : public test_support::MergeJobFixture {
 protected:
  void SetUp() override {
    MergeJobFixture::SetUp();
    options_.index_snapshot.clear();
    options_.delta_rows_max = 10;
    options_.busy_delta_factor = 5;  // while records wait: up to 50 delta rows with values
    options_.compaction_slice = 4;
    options_.idle_compaction_after = std::chrono::hours(1);  // no idle compaction in these runs
  }

  // Delta rows with values now.
  uint64_t DeltaValues() {
    auto rows = warehouse_->Query("SELECT count(updated) FROM item_delta");
    EXPECT_TRUE(rows.ok()) << rows.error().message;
    return rows.ok() ? std::stoull(rows->rows.at(0).at(0).value_or("0")) : 0;
  }

  // Merges file `n` (keys 1..keys, SCD1 and SCD2 values of `n`) and checks the tables.
  void LoadAndMerge(MergeJob& job, int keys, int n) {
    Load(std::to_string(n) + ".csv", keys, n);
    auto run = job.RunOnce();
    ASSERT_TRUE(run.ok()) << run.error().message;
    ASSERT_EQ(run->rows_in, static_cast<uint64_t>(keys));
    auto problems = CheckInvariants(*warehouse_, entity_);
    ASSERT_TRUE(problems.ok()) << problems.error().message;
    EXPECT_EQ(*problems, std::vector<std::string>{}) << "after file " << n;
  }
};

TEST_F(CompactionTest, WithNothingWaitingARunsDeltaIsCompactedDownToHalfTheBound) {
  MergeJob job(entity_, *warehouse_, options_);
  job.SetWorkWaiting([] { return false; });
  LoadAndMerge(job, 30, 1);
  EXPECT_LE(DeltaValues(), 5u);
}

TEST_F(CompactionTest, WhileRecordsWaitTheDeltaGrowsUpToTheBusyBound) {
  bool waiting = true;
  MergeJob job(entity_, *warehouse_, options_);
  job.SetWorkWaiting([&] { return waiting; });
  LoadAndMerge(job, 30, 1);
  EXPECT_EQ(DeltaValues(), 30u) << "30 opened versions, under the busy bound of 50: none compacted";
  // Past the busy bound (30 more versions opened, 30 rewritten: 60 delta rows with values), compaction goes
  // slice by slice until the delta is back under it, and then yields to the waiting records.
  LoadAndMerge(job, 60, 2);
  const uint64_t busy_left = DeltaValues();
  EXPECT_LE(busy_left, 50u);
  EXPECT_GT(busy_left, 50u - options_.compaction_slice) << "compacted further than the busy bound";
  // Nothing waits any more: the next run compacts down to half of delta_rows_max.
  waiting = false;
  LoadAndMerge(job, 1, 3);
  EXPECT_LE(DeltaValues(), 5u);
}

TEST_F(CompactionTest, ALargerDimensionScalesTheBoundsAndTheSlice) {
  // 30 keys, twice the 15 the bounds are for: the bound is 20 delta rows with values, compacted down to 10
  // in slices of 8 (unscaled: down to 5).
  options_.delta_bounds_keys = 15;
  MergeJob job(entity_, *warehouse_, options_);
  job.SetWorkWaiting([] { return false; });
  LoadAndMerge(job, 30, 1);
  EXPECT_EQ(DeltaValues(), 10u);
}

TEST_F(CompactionTest, WithoutAWaitingSignalCompactionNeverYields) {
  options_.busy_delta_factor = 1000;
  MergeJob job(entity_, *warehouse_, options_);
  LoadAndMerge(job, 30, 1);
  EXPECT_LE(DeltaValues(), 5u);
}

}  // namespace
}  // namespace dimstream
