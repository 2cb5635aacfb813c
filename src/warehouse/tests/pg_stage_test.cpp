#include "warehouse/postgres/pg_stage.h"

#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/typed_value.h"
#include "config/config.h"
#include "warehouse/postgres/pg_load_session.h"
#include "warehouse/tests/pg_test_loads.h"

// Staging a merge run on PostgreSQL, against the test server (the CTest fixture `postgres`).
namespace dimstream::pg {
namespace {

using testing::Arrival;
using testing::LoadRecords;
using testing::Rec;

class PgStageTest : public testing::LoadedDatabaseTest {
 protected:
  std::unique_ptr<PgLoadSession> Load(PgConnection& conn, const std::string& key,
                                      const std::vector<Rec>& records, bool has_sequence = true,
                                      bool commit = true) {
    return LoadRecords(conn, entity_, key, records, has_sequence, commit);
  }

  // Stages in a transaction of its own and returns the staged arrivals in order.
  std::vector<int64_t> Stage(int64_t watermark, uint64_t max_rows, StageResult* result) {
    EXPECT_TRUE(conn_->Run("BEGIN").ok());
    auto r = StageRaw(*conn_, entity_, watermark, max_rows);
    EXPECT_TRUE(r.ok()) << r.error().message;
    if (r.ok()) {
      *result = *r;
    }
    std::vector<int64_t> arrivals;
    auto rows = conn_->Exec(fmt::format("SELECT _arrival FROM {} ORDER BY _arrival", kStageTable));
    EXPECT_TRUE(rows.ok()) << rows.error().message;
    for (int i = 0; rows.ok() && i < rows->rows(); ++i) {
      arrivals.push_back(rows->Int(i, 0));
    }
    EXPECT_TRUE(conn_->Run("COMMIT").ok());
    return arrivals;
  }
};

TEST_F(PgStageTest, TheLatestArrivalOfAKeyAndSequenceWins) {
  Load(*conn_, "1.csv", {{1, "A"}, {1, "A"}, {2, "A"}});
  Load(*conn_, "2.csv", {{1, "A"}, {1, "B"}});
  StageResult r;
  EXPECT_EQ(Stage(0, 0, &r), (std::vector<int64_t>{Arrival(1, 4), Arrival(2, 2), Arrival(2, 3)}));
  EXPECT_EQ(r.rows_in, 5u);
  EXPECT_EQ(r.rows_staged, 3u);
  EXPECT_EQ(r.new_watermark, Arrival(2, 3));
  EXPECT_FALSE(r.more);
  EXPECT_GT(r.newest_loaded_at, 0);
}

TEST_F(PgStageTest, TruncatesOfOneSequenceSupersedeEachOther) {
  Load(*conn_, "1.csv", {{0, "T1", Operation::kTruncate}, {5, "T1"}});
  Load(*conn_, "2.csv", {{0, "T1", Operation::kTruncate}, {0, "T2", Operation::kTruncate}});
  StageResult r;
  // The first load's truncate gives way to the second's of the same sequence; the upsert of key 5 with the
  // same sequence is another record.
  EXPECT_EQ(Stage(0, 0, &r), (std::vector<int64_t>{Arrival(1, 3), Arrival(2, 2), Arrival(2, 3)}));
}

TEST_F(PgStageTest, TheWatermarkAndMaxRowsBoundTheRun) {
  Load(*conn_, "1.csv", {{1, "A"}, {2, "A"}});
  Load(*conn_, "2.csv", {{3, "A"}, {4, "A"}, {5, "A"}});
  StageResult r;
  EXPECT_EQ(Stage(Arrival(1, 3), 0, &r), (std::vector<int64_t>{Arrival(2, 2), Arrival(2, 3), Arrival(2, 4)}));
  EXPECT_EQ(r.rows_in, 3u);
  EXPECT_EQ(Stage(0, 3, &r), (std::vector<int64_t>{Arrival(1, 2), Arrival(1, 3), Arrival(2, 2)}));
  EXPECT_TRUE(r.more);
  EXPECT_EQ(r.new_watermark, Arrival(2, 2));
  EXPECT_EQ(Stage(Arrival(2, 2), 3, &r), (std::vector<int64_t>{Arrival(2, 3), Arrival(2, 4)}));
  EXPECT_FALSE(r.more);
  EXPECT_EQ(Stage(Arrival(2, 4), 0, &r), (std::vector<int64_t>{}));
  EXPECT_EQ(r.rows_in, 0u);
  EXPECT_EQ(r.new_watermark, Arrival(2, 4));  // nothing new: the watermark stays
}

TEST_F(PgStageTest, ALoadWithoutSequenceColumnsTakesItsCommitTime) {
  Load(*conn_, "1.csv", {{1, ""}, {2, ""}}, /*has_sequence=*/false);
  StageResult r;
  ASSERT_EQ(Stage(0, 0, &r).size(), 2u);
  auto loaded_at = conn_->Exec("SELECT (extract(epoch FROM loaded_at) * 1000000)::bigint FROM load_history");
  ASSERT_TRUE(loaded_at.ok());
  ASSERT_TRUE(conn_->Run("BEGIN").ok());
  ASSERT_TRUE(StageRaw(*conn_, entity_, 0, 0).ok());
  auto keys = conn_->Exec(fmt::format("SELECT DISTINCT encode(_seq_key, 'hex') FROM {}", kStageTable));
  ASSERT_TRUE(conn_->Run("COMMIT").ok());
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->rows(), 1);
  std::string expected;
  for (unsigned char c : OrderedTimestamp(loaded_at->Int(0, 0))) {
    expected += fmt::format("{:02x}", c);
  }
  EXPECT_EQ(keys->Text(0, 0), expected);
}

TEST_F(PgStageTest, ALoadNotCommittedIsNotStaged) {
  auto other = db_.Connect();
  auto open = Load(*other, "open.csv", {{1, "A"}}, true, /*commit=*/false);
  Load(*conn_, "done.csv", {{2, "A"}});
  StageResult r;
  EXPECT_EQ(Stage(0, 0, &r), (std::vector<int64_t>{Arrival(1, 2)}));
}

}  // namespace
}  // namespace dimstream::pg
