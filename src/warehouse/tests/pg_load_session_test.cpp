#include "warehouse/postgres/pg_load_session.h"

#include <deque>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/typed_value.h"
#include "config/config.h"
#include "warehouse/tests/pg_test_loads.h"

// The PostgreSQL load path against a real server (the CTest fixture `postgres`), a database per test.
namespace dimstream::pg {
namespace {

// An entity with a column of every type.
EntitySpec EveryType() {
  auto config = ParseConfig(R"toml([entity]
name = "thing"
key_columns = ["id"]
scd1_columns = ["label", "price", "big"]
scd2_columns = ["ratio", "flag", "day"]
sequence_columns = ["changed_at"]
[entity.types]
id = "bigint"
price = "decimal(10,2)"
big = "decimal(38,4)"
ratio = "double"
flag = "boolean"
day = "date"
changed_at = "timestamp"
)toml",
                            "t.toml");
  EXPECT_TRUE(config.ok()) << config.error().message;
  return config->entities.front();
}

class PgLoadSessionTest : public testing::LoadedDatabaseTest {
 protected:
  void SetUp() override {
    entity_ = EveryType();
    ASSERT_NO_FATAL_FAILURE(LoadedDatabaseTest::SetUp());
  }

  // Rows of `entity_`: column values as text (empty: NULL), parsed as the loader would.
  RawRows Rows(const std::vector<std::vector<std::string>>& values) {
    RawRows rows;
    const std::vector<std::string> columns = entity_.input_columns();
    for (const std::string& c : columns) {
      rows.columns.emplace_back(entity_.TypeOf(c));
    }
    texts_.push_back(values);  // the text values view these strings
    for (size_t r = 0; r < values.size(); ++r) {
      for (size_t c = 0; c < columns.size(); ++c) {
        const std::string& text = texts_.back()[r][c];
        if (text.empty()) {
          rows.columns[c].AppendNull();
          continue;
        }
        Datum d;
        EXPECT_EQ(ParseDatum(rows.columns[c].type, text, d), ParseFailure::kNone) << text;
        rows.columns[c].Append(d);
      }
      rows.op.push_back(Operation::kUpsert);
      rows.line.push_back(r + 2);
      rows.key_id.push_back(0xF000000000000000ull + r);  // beyond a BIGINT's positive range
      rows.seq_keys += std::string("\x00\x01", 2) + static_cast<char>(r);
      rows.seq_key_end.push_back(rows.seq_keys.size());
      rows.scd1_hash.push_back(~uint64_t{0} - r);
      rows.scd2_hash.push_back(r);
    }
    return rows;
  }

  ObjectInfo Object(const std::string& key) const { return ObjectInfo{ObjectKey(key), 100, "tag-" + key}; }

  LoadSummary Summary(const std::string& checksum, uint64_t rows, uint64_t rejects = 0) const {
    LoadSummary s;
    s.checksum = Checksum(checksum);
    s.size = 100;
    s.format = "csv";
    s.uncompressed_size = 100;
    s.rows = rows;
    s.rejects = rejects;
    return s;
  }

  std::vector<std::string> Column(const std::string& sql) { return testing::Column(*conn_, sql); }

  std::deque<std::vector<std::vector<std::string>>> texts_;  // a deque: earlier rows keep their place
};

TEST_F(PgLoadSessionTest, RowsAndRejectsCommitWithTheirLoadTyped) {
  // input_columns: the keys, SCD1, SCD2, the sequence, then the operation column.
  ASSERT_EQ(entity_.input_columns(), (std::vector<std::string>{"id", "label", "price", "big", "ratio", "flag",
                                                               "day", "changed_at", "op"}));
  auto session = PgLoadSession::Begin(*conn_, &entity_, Object("a.csv"));
  ASSERT_TRUE(session.ok()) << session.error().message;
  Status appended = (*session)->AppendRows(Rows({
      {"1", "tab\there, new\nline \\ \"q\"", "-0.05", "123456789012345678901234567890.1234", "0.1", "yes",
       "2025-01-08", "2025-01-08T11:11:11.000123Z", "U"},
      {"2", "", "", "", "", "", "", "0001-01-01T00:00:00Z", ""},
  }));
  ASSERT_TRUE(appended.ok()) << appended.error().message;
  ASSERT_TRUE((*session)->AppendRejects({{5, "x,\ty\n", "id \"x\" is not a bigint"}}).ok());
  auto receipt = (*session)->Commit(Summary("c1", 2, 1));
  ASSERT_TRUE(receipt.ok()) << receipt.error().message;
  EXPECT_EQ(receipt->outcome, LoadOutcome::kLoaded);
  EXPECT_EQ(receipt->load_id, 1);

  // NULL shows as an empty field.
  EXPECT_EQ(
      Column("SELECT format('%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s', id, label, price, big, ratio, "
             "flag, day, changed_at, op, _line, _op, _kid, encode(_seq_key, 'hex'), _scd1_hash, _scd2_hash) "
             "FROM thing_raw_rows ORDER BY _line"),
      (std::vector<std::string>{
          "1|tab\there, new\nline \\ \"q\"|-0.05|123456789012345678901234567890.1234|0.1|t|2025-01-08|"
          "2025-01-08 11:11:11.000123|U|2|U|-1152921504606846976|000100|-1|0",
          "2|||||||0001-01-01 00:00:00||3|U|-1152921504606846975|000101|-2|1"}));
  // The rows' load is found through their load_ref.
  EXPECT_EQ(
      Column(
          "SELECT DISTINCT h.load_id FROM thing_raw_rows r JOIN load_history h ON h.load_ref = r._load_ref"),
      (std::vector<std::string>{"1"}));
  EXPECT_EQ(Column("SELECT concat_ws('|', object_key, line, raw, reason) FROM thing_rejects"),
            (std::vector<std::string>{"a.csv|5|x,\ty\n|id \"x\" is not a bigint"}));
  EXPECT_EQ(
      Column("SELECT concat_ws('|', object_key, checksum, version_tag, status, rows_loaded, rows_rejected, "
             "entity, format) FROM load_history"),
      (std::vector<std::string>{"a.csv|c1|tag-a.csv|loaded|2|1|thing|csv"}));
}

TEST_F(PgLoadSessionTest, ASessionNotCommittedLeavesNothing) {
  {
    auto session = PgLoadSession::Begin(*conn_, &entity_, Object("a.csv"));
    ASSERT_TRUE(session.ok());
    ASSERT_TRUE((*session)->AppendRows(Rows({{"1", "x", "", "", "", "", "", "2025-01-01", "U"}})).ok());
  }  // destroyed: rolled back
  EXPECT_EQ(Column("SELECT count(*) FROM thing_raw_rows"), (std::vector<std::string>{"0"}));
  EXPECT_EQ(Column("SELECT count(*) FROM load_history"), (std::vector<std::string>{"0"}));
}

TEST_F(PgLoadSessionTest, DiscardedRowsAndAFailedObjectKeepOnlyTheirRejects) {
  auto session = PgLoadSession::Begin(*conn_, &entity_, Object("skip.csv"));
  ASSERT_TRUE(session.ok());
  ASSERT_TRUE((*session)->AppendRows(Rows({{"1", "x", "", "", "", "", "", "2025-01-01", "U"}})).ok());
  ASSERT_TRUE((*session)->AppendRejects({{3, "bad", "a reason"}}).ok());
  ASSERT_TRUE((*session)->DiscardRows().ok());  // on_error = skip_file
  LoadSummary failed = Summary("c1", 0, 1);
  failed.failed = true;
  failed.error = "skipped: a row was rejected";
  auto receipt = (*session)->Commit(failed);
  ASSERT_TRUE(receipt.ok()) << receipt.error().message;
  EXPECT_EQ(receipt->outcome, LoadOutcome::kFailed);
  EXPECT_EQ(Column("SELECT count(*) FROM thing_raw_rows"), (std::vector<std::string>{"0"}));
  EXPECT_EQ(Column("SELECT count(*) FROM thing_rejects"), (std::vector<std::string>{"1"}));
  EXPECT_EQ(Column("SELECT error FROM load_history"),
            (std::vector<std::string>{"skipped: a row was rejected"}));

  // The same object again: done before, and what it appended is not kept.
  auto again = PgLoadSession::Begin(*conn_, &entity_, Object("skip.csv"));
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE((*again)->AppendRows(Rows({{"1", "x", "", "", "", "", "", "2025-01-01", "U"}})).ok());
  auto second = (*again)->Commit(Summary("c1", 1));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->outcome, LoadOutcome::kAlreadyDone);
  EXPECT_EQ(Column("SELECT count(*) FROM thing_raw_rows"), (std::vector<std::string>{"0"}));
}

TEST_F(PgLoadSessionTest, AnObjectOfNoEntityRecordsItsFailureAlone) {
  auto session = PgLoadSession::Begin(*conn_, nullptr, Object("unknown.bin"));
  ASSERT_TRUE(session.ok());
  EXPECT_EQ((*session)->AppendRows(Rows({{"1", "x", "", "", "", "", "", "2025-01-01", "U"}})).error().kind,
            ErrorKind::kPermanent);
  LoadSummary failed = Summary("c9", 0);
  failed.failed = true;
  failed.error = "matches no entity's file_pattern";
  auto receipt = (*session)->Commit(failed);
  ASSERT_TRUE(receipt.ok()) << receipt.error().message;
  EXPECT_EQ(receipt->outcome, LoadOutcome::kFailed);
  EXPECT_EQ(Column("SELECT coalesce(entity, 'NULL') || '|' || status FROM load_history"),
            (std::vector<std::string>{"NULL|failed"}));
}

}  // namespace
}  // namespace dimstream::pg
