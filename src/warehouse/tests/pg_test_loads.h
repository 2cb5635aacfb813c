#pragma once

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "config/config.h"
#include "warehouse/postgres/pg_load_session.h"
#include "warehouse/tests/pg_test_database.h"

// Records loaded into the test PostgreSQL through the real load path, for the tests of what reads them.
namespace dimstream::pg::testing {

// An entity of a bigint key, a text SCD1 and SCD2 column, and a timestamp sequence.
inline EntitySpec StageEntity() {
  auto config = ParseConfig(R"toml([entity]
name = "thing"
key_columns = ["id"]
scd1_columns = ["name"]
scd2_columns = ["city"]
sequence_columns = ["ts"]
[entity.types]
id = "bigint"
ts = "timestamp"
)toml",
                            "t.toml");
  EXPECT_TRUE(config.ok()) << config.error().message;
  return config->entities.front();
}

// A record: its key (0: a truncate), its sequence's encoding, its operation.
struct Rec {
  int64_t id;
  std::string seq;
  Operation op = Operation::kUpsert;
};

inline constexpr int64_t Arrival(int64_t load, int64_t line) {
  return load << 32 | line;
}

// `records` as the rows of one object of `entity` (lines 2, 3, ...): the key its first column, the others
// NULL.
inline RawRows RowsOf(const EntitySpec& entity, const std::vector<Rec>& records, bool has_sequence = true) {
  RawRows rows;
  for (const std::string& c : entity.input_columns()) {
    rows.columns.emplace_back(entity.TypeOf(c));
  }
  for (size_t i = 0; i < records.size(); ++i) {
    const Rec& r = records[i];
    for (size_t c = 0; c < rows.columns.size(); ++c) {
      TypedColumn& column = rows.columns[c];
      if (c == 0 && r.op != Operation::kTruncate) {
        Datum d;
        d.i = r.id;
        column.Append(d);
      } else {
        column.AppendNull();
      }
    }
    rows.op.push_back(r.op);
    rows.line.push_back(i + 2);
    rows.key_id.push_back(r.op == Operation::kTruncate ? 0 : static_cast<uint64_t>(r.id));
    rows.seq_keys += r.seq;
    rows.seq_key_end.push_back(rows.seq_keys.size());
    rows.scd1_hash.push_back(0);
    rows.scd2_hash.push_back(0);
  }
  rows.has_sequence = has_sequence;
  return rows;
}

// Loads `records` as one object of `entity` (RowsOf), committed unless `commit` is false (the session is then
// returned open).
inline std::unique_ptr<PgLoadSession> LoadRecords(PgConnection& conn, const EntitySpec& entity,
                                                  const std::string& key, const std::vector<Rec>& records,
                                                  bool has_sequence = true, bool commit = true) {
  RawRows rows = RowsOf(entity, records, has_sequence);
  auto session = PgLoadSession::Begin(conn, &entity, ObjectInfo{ObjectKey(key), 1, key});
  EXPECT_TRUE(session.ok());
  EXPECT_TRUE((*session)->AppendRows(rows).ok());
  if (!commit) {
    return std::move(*session);
  }
  LoadSummary summary;
  summary.checksum = Checksum("c-" + key);
  summary.rows = records.size();
  auto receipt = (*session)->Commit(summary);
  EXPECT_TRUE(receipt.ok() && receipt->outcome == LoadOutcome::kLoaded);
  return nullptr;
}

// A test with a database of its own holding the ledger and the load tables of StageEntity().
class LoadedDatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(db_.Create());
    conn_ = db_.Connect();
    ASSERT_NE(conn_, nullptr);
    ASSERT_TRUE(EnsureLedgerSchema(*conn_).ok());
    ASSERT_TRUE(EnsureLoadTables(*conn_, entity_).ok());
  }

  TestDatabase db_;
  EntitySpec entity_ = StageEntity();
  std::unique_ptr<PgConnection> conn_;
};

}  // namespace dimstream::pg::testing
