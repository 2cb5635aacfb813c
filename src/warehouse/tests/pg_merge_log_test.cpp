#include "warehouse/postgres/pg_merge_log.h"

#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "warehouse/postgres/pg_stage.h"
#include "warehouse/tests/pg_test_loads.h"

// The merge's tables and log on PostgreSQL, against the test server (the CTest fixture `postgres`).
namespace dimstream::pg {
namespace {

using testing::Arrival;
using testing::LoadRecords;
using testing::Rec;

class PgMergeLogTest : public testing::LoadedDatabaseTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(LoadedDatabaseTest::SetUp());
    Status tables = EnsureMergeTables(*conn_, entity_);
    ASSERT_TRUE(tables.ok()) << tables.error().message;
  }

  // The staged records (or truncates) of a run from `watermark`, read in a transaction that is then
  // committed with the stage appended to the log when `append`.
  std::vector<MergeRecord> Run(int64_t watermark, bool truncates = false, bool append = true) {
    EXPECT_TRUE(conn_->Run("BEGIN").ok());
    EXPECT_TRUE(StageRaw(*conn_, entity_, watermark, 0).ok());
    std::vector<MergeRecord> out;
    Status read = ReadStagedRecords(*conn_, truncates, [&](const MergeRecord& r) { out.push_back(r); });
    EXPECT_TRUE(read.ok()) << read.error().message;
    if (append) {
      Status appended = AppendStageToLog(*conn_, entity_, /*look_for_superseded=*/true, "");
      EXPECT_TRUE(appended.ok()) << appended.error().message;
    }
    EXPECT_TRUE(conn_->Run("COMMIT").ok());
    return out;
  }

  std::vector<std::string> Rows(const std::string& sql) { return testing::Column(*conn_, sql); }
};

TEST_F(PgMergeLogTest, ParametersAreReadBackAndOverwritten) {
  auto none = ReadJobParameter(*conn_, entity_, "LETS");
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(WriteJobParameter(*conn_, entity_, "LETS", Arrival(3, 7)).ok());
  ASSERT_TRUE(WriteJobParameter(*conn_, entity_, "LETS", Arrival(4, 2)).ok());
  EXPECT_EQ(ReadJobParameter(*conn_, entity_, "LETS")->value_or(0), Arrival(4, 2));
  EXPECT_FALSE(ReadJobParameter(*conn_, entity_, "HORIZON")->has_value());
}

TEST_F(PgMergeLogTest, StagedRecordsComeInUnsignedKeyIdOrderThenSequenceThenArrival) {
  // Key id -5 is 2^64 - 5 unsigned: after 3, though its BIGINT is negative.
  LoadRecords(*conn_, entity_, "1.csv", {{-5, "A"}, {3, "B"}, {3, "A"}, {0, "T", Operation::kTruncate}});
  auto records = Run(0);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].key_id, 3u);
  EXPECT_EQ(records[0].seq, "A");
  EXPECT_EQ(records[0].arrival, Arrival(1, 4));
  EXPECT_EQ(records[1].seq, "B");
  EXPECT_EQ(records[2].key_id, ~uint64_t{0} - 4);
  EXPECT_EQ(records[2].op, Operation::kUpsert);
}

TEST_F(PgMergeLogTest, TheStageReplacesWhatItSupersedesInTheLogAndTheTruncates) {
  LoadRecords(*conn_, entity_, "1.csv", {{1, "A"}, {2, "A"}, {0, "T1", Operation::kTruncate}});
  Run(0);
  EXPECT_EQ(Rows("SELECT _arrival::TEXT FROM thing_log ORDER BY _arrival"),
            (std::vector<std::string>{std::to_string(Arrival(1, 2)), std::to_string(Arrival(1, 3))}));
  // A resend of key 1 at sequence A, a new sequence B, and the truncate of T1 again.
  LoadRecords(*conn_, entity_, "2.csv", {{1, "A"}, {1, "B"}, {0, "T1", Operation::kTruncate}});
  auto truncates = Run(Arrival(1, 4), /*truncates=*/true);
  ASSERT_EQ(truncates.size(), 1u);
  EXPECT_EQ(truncates[0].op, Operation::kTruncate);
  EXPECT_EQ(truncates[0].seq, "T1");
  EXPECT_EQ(Rows("SELECT format('%s %s', _kid, encode(_seq_key, 'escape')) FROM thing_log ORDER BY _arrival"),
            (std::vector<std::string>{"2 A", "1 A", "1 B"}));
  std::vector<MergeRecord> merged;
  ASSERT_TRUE(ReadMergedTruncates(*conn_, entity_, [&](const MergeRecord& r) { merged.push_back(r); }).ok());
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(merged[0].arrival, Arrival(2, 4));
  EXPECT_EQ(merged[0].seq, "T1");
}

TEST_F(PgMergeLogTest, ARunIsRecorded) {
  TaskRecord t;
  t.task_name = entity_.merge_job();
  t.started_at = 1736334671000000;  // 2025-01-08T11:11:11Z
  t.finished_at = t.started_at + 250000;
  t.status = "succeeded";
  t.rows_in = 10;
  t.versions_opened = 4;
  t.watermark_to = Arrival(2, 3);
  ASSERT_TRUE(InsertTask(*conn_, t).ok());
  EXPECT_EQ(Rows("SELECT format('%s %s %s %s %s %s', task_name, finished_at - started_at, status, rows_in, "
                 "versions_opened, coalesce(error, '-')) FROM task_history"),
            (std::vector<std::string>{"thing_merge 00:00:00.25 succeeded 10 4 -"}));
}

TEST(PgByteaTest, DecodesPostgresHexOutput) {
  EXPECT_EQ(DecodeBytea("\\x00ff10Ab"), std::string("\x00\xff\x10\xab", 4));
  EXPECT_EQ(DecodeBytea("\\x"), "");
}

}  // namespace
}  // namespace dimstream::pg
