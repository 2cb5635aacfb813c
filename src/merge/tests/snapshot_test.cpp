// The key index snapshot (MergeOptions::index_snapshot): when the merge writes it, and that a start reads it
// instead of the warehouse. Real loader, merge and DuckDB warehouse.
#include "merge/check.h"
#include "merge/tests/merge_job_fixture.h"

namespace dimstream {
namespace {

class SnapshotTest : public test_support::MergeJobFixture {};

TEST_F(SnapshotTest, AStopRightAfterARunSavesTheIndex) {
  MergeJob job(entity_, *warehouse_, options_);
  Load("1.csv", 50, 1);
  auto run = job.RunOnce();
  ASSERT_TRUE(run.ok()) << run.error().message;
  ASSERT_EQ(run->rows_in, 50u);
  // No idle run came: the snapshot is missing, a start would read every key from the warehouse.
  EXPECT_FALSE(std::filesystem::exists(options_.index_snapshot));
  EXPECT_EQ(KeysReadAtStart(), 50u);
  job.SaveIndex();  // what a clean stop of `run` and `merge --watch` does
  EXPECT_EQ(KeysReadAtStart(), 0u);
}

// On a warehouse server the data directory holds nothing but the snapshot, and nothing else creates it
// (tests/e2e/test_distributed.py: `merge --watch` warned of every save, and read every key at each start).
TEST_F(SnapshotTest, TheSnapshotsDirectoryIsMadeIfMissing) {
  options_.index_snapshot = dir_.path() / "data-dir" / "postgres-0123456789abcdef.item.keys";
  MergeJob job(entity_, *warehouse_, options_);
  Load("1.csv", 50, 1);
  auto run = job.RunOnce();
  ASSERT_TRUE(run.ok()) << run.error().message;
  job.SaveIndex();
  EXPECT_TRUE(std::filesystem::exists(options_.index_snapshot));
  EXPECT_EQ(KeysReadAtStart(), 0u);
}

// A gap between the files of a steady stream is an idle run too: it does not stop for a snapshot (or a
// checkpoint) unless the merge has been idle for idle_compaction_after, or the last snapshot is older than
// index_snapshot_max_age.
TEST_F(SnapshotTest, AShortGapSavesTheIndexOnlyOnceTheSnapshotIsOld) {
  options_.idle_compaction_after = std::chrono::hours(1);
  for (const bool old : {false, true}) {
    options_.index_snapshot_max_age = old ? std::chrono::milliseconds(0) : std::chrono::hours(1);
    std::filesystem::remove(options_.index_snapshot);
    MergeJob job(entity_, *warehouse_, options_);
    Load(old ? "2.csv" : "1.csv", 50, old ? 2 : 1);
    auto run = job.RunOnce();
    ASSERT_TRUE(run.ok()) << run.error().message;
    ASSERT_EQ(run->rows_in, 50u);
    auto gap = job.RunOnce();
    ASSERT_TRUE(gap.ok()) << gap.error().message;
    ASSERT_EQ(gap->rows_in, 0u);
    EXPECT_EQ(std::filesystem::exists(options_.index_snapshot), old) << (old ? "old snapshot" : "recent one");
  }
}

TEST_F(SnapshotTest, AnIdleRunSavesTheIndexBeforeTheDeltaIsCompacted) {
  // An idle compaction that moves one delta row a time within a budget it has spent at once: the delta is
  // not empty when the idle run ends.
  options_.idle_compaction_after = std::chrono::milliseconds(0);
  options_.idle_compaction = std::chrono::milliseconds(0);
  options_.compaction_slice = 1;
  MergeJob job(entity_, *warehouse_, options_);
  Load("1.csv", 20, 1);
  ASSERT_TRUE(job.RunOnce().ok());
  Load("2.csv", 20, 2);
  auto changed = job.RunOnce();
  ASSERT_TRUE(changed.ok()) << changed.error().message;
  ASSERT_EQ(changed->versions_closed, 20u);
  auto idle = job.RunOnce();
  ASSERT_TRUE(idle.ok()) << idle.error().message;
  ASSERT_EQ(idle->rows_in, 0u);
  auto left = warehouse_->Query("SELECT count(*) FROM item_delta");
  ASSERT_TRUE(left.ok()) << left.error().message;
  ASSERT_NE(left->rows.at(0).at(0).value_or("0"), "0")
      << "the idle run compacted the whole delta: the case tests nothing";
  EXPECT_EQ(KeysReadAtStart(), 0u);
}

// Two merge processes on one warehouse server taking turns (one took over from the other, then it came back):
// each run finds what the other committed since its key index was read, and reads the index again rather
// than continue from versions the other one closed.
TEST_F(SnapshotTest, JobsTakingTurnsEachContinueFromTheOthersRuns) {
  options_.index_snapshot.clear();
  MergeJob first(entity_, *warehouse_, options_);
  MergeJob second(entity_, *warehouse_, options_);
  MergeJob* turns[] = {&first, &second, &first, &second};
  for (int n = 1; n <= 4; ++n) {
    Load(std::to_string(n) + ".csv", 10, n);
    auto run = turns[n - 1]->RunOnce();
    ASSERT_TRUE(run.ok()) << run.error().message;
    EXPECT_EQ(run->rows_in, 10u);
    EXPECT_EQ(run->versions_closed, n == 1 ? 0u : 10u) << "file " << n;
  }
  auto problems = CheckInvariants(*warehouse_, entity_);
  ASSERT_TRUE(problems.ok()) << problems.error().message;
  EXPECT_EQ(*problems, std::vector<std::string>{});
  auto versions = warehouse_->Query(
      "SELECT count(*), count(*) FILTER (WHERE is_current), min(color) FILTER (WHERE is_current) FROM "
      "item_history");
  ASSERT_TRUE(versions.ok()) << versions.error().message;
  EXPECT_EQ(versions->rows, (std::vector<std::vector<Value>>{{"40", "10", "C4"}}));
}

}  // namespace
}  // namespace dimstream
