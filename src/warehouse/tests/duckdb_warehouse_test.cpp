#include "warehouse/duckdb/duckdb_warehouse.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
#include <filesystem>
#include <map>

#include "common/clock.h"
#include "common/testing/test_dir.h"

namespace dimstream {
namespace {

TEST(DuckDbWarehouseTest, Opens) {
  test_support::TestDir dir("dimstream_wh_smoke");
  auto w = DuckDbWarehouse::Open({dir.path() / "w.duckdb"}, EntitySpec{});
  ASSERT_TRUE(w.ok()) << w.error().message;
}

// The file is one process's: every lease is granted, to anyone, and a heartbeat is not kept.
TEST(DuckDbWarehouseTest, GrantsEveryLease) {
  test_support::TestDir dir("dimstream_wh_lease");
  auto w = DuckDbWarehouse::Open({dir.path() / "w.duckdb"}, EntitySpec{});
  ASSERT_TRUE(w.ok()) << w.error().message;
  std::string previous = "unset";
  for (const char* holder : {"a", "b"}) {
    auto held = (*w)->HoldLease("merge:customer", holder, std::chrono::milliseconds(60000), &previous);
    ASSERT_TRUE(held.ok()) << held.error().message;
    EXPECT_TRUE(*held) << holder;
    EXPECT_EQ(previous, "");
  }
  EXPECT_TRUE((*w)->ReleaseLease("merge:customer", "a").ok());
  EXPECT_TRUE((*w)->Beat(ProcessBeat{"h:1:1", "run", "h", 1, ""}).ok());
  auto tables = (*w)->Query(
      "SELECT count(*) FROM duckdb_tables() WHERE table_name IN ('leases', "
      "'process_heartbeats')");
  ASSERT_TRUE(tables.ok()) << tables.error().message;
  EXPECT_EQ(tables->rows[0][0], "0");
}

// While it lives, every write past `bytes` into any file of this process fails (EFBIG): the warehouse's
// disk is full for its WAL, without mounting anything.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &old_);
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit lowered = old_;
    lowered.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &lowered);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &old_);
    std::signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit old_{};
  void (*old_handler_)(int) = nullptr;
};

// One object's rows for the customer entity, every attribute set to `text`.
struct Load {
  explicit Load(const std::string& name, size_t rows, const std::string& value) : text(value) {
    request.object = ObjectInfo{ObjectKey(name), rows * 100, "v1"};
    request.checksum = Checksum(name + "-checksum");
    request.entity = "customer";
    RawRows& r = request.rows;
    EntitySpec e;
    for (const auto& c : e.input_columns()) {
      r.columns.emplace_back(e.TypeOf(c));
    }
    for (size_t i = 0; i < rows; ++i) {
      Datum key;
      key.i = static_cast<int64_t>(i);
      r.columns[0].Append(key);
      Datum attribute;
      attribute.text = text;
      for (size_t a = 1; a <= e.attribute_columns().size(); ++a) {
        r.columns[a].Append(attribute);
      }
      Datum time;
      time.i = 1'700'000'000'000'000 + static_cast<Micros>(i);
      r.columns[e.attribute_columns().size() + 1].Append(time);
      r.columns.back().AppendNull();  // op
      r.op.push_back(Operation::kUpsert);
      r.line.push_back(i + 2);
      r.key_id.push_back(i);
      r.seq_keys += OrderedTimestamp(time.i);
      r.seq_key_end.push_back(r.seq_keys.size());
      r.scd1_hash.push_back(i);
      r.scd2_hash.push_back(i);
    }
  }
  std::string text;  // viewed by the request's rows
  LoadRequest request;
};

TEST(DuckDbWarehouseTest, TablesOfAnotherDeclarationAreRefusedByName) {
  test_support::TestDir dir("dimstream_wh_schema");
  { ASSERT_TRUE(DuckDbWarehouse::Open({dir.path() / "w.duckdb"}, EntitySpec{}).ok()); }
  EntitySpec changed;
  changed.types["street"] = ColumnType{TypeKind::kDecimal, 10, 2};
  auto w = DuckDbWarehouse::Open({dir.path() / "w.duckdb"}, changed);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().kind, ErrorKind::kInvalidInput);
  EXPECT_NE(w.error().message.find("customer_log"), std::string::npos) << w.error().message;
  EXPECT_NE(w.error().message.find("street"), std::string::npos) << w.error().message;
  EXPECT_NE(w.error().message.find("DECIMAL(10,2)"), std::string::npos) << w.error().message;
  // The original declaration still opens it, and another entity is added beside it.
  EntitySpec orders;
  orders.name = "orders";
  orders.key_columns = {"tenant", "order_id"};
  orders.types = {{"order_id", ColumnType::Bigint()}};
  orders.scd1_columns = {"note"};
  orders.scd2_columns = {"status"};
  orders.sequence_columns = {"lsn", "pos"};
  orders.types["lsn"] = ColumnType::Bigint();
  orders.types["pos"] = ColumnType::Bigint();
  auto both = DuckDbWarehouse::Open({dir.path() / "w.duckdb"}, std::vector<EntitySpec>{EntitySpec{}, orders});
  ASSERT_TRUE(both.ok()) << both.error().message;
  auto columns = (*both)->Query(
      "SELECT column_name || ' ' || data_type FROM duckdb_columns() WHERE table_name = 'orders_history' "
      "ORDER BY "
      "column_index");
  ASSERT_TRUE(columns.ok());
  std::vector<std::string> names;
  for (const auto& row : columns->rows) {
    names.push_back(*row[0]);
  }
  std::vector<std::string> first(names.begin(), names.begin() + 8);
  EXPECT_EQ(first, (std::vector<std::string>{"tenant VARCHAR", "order_id BIGINT", "note VARCHAR",
                                             "status VARCHAR", "valid_from BIGINT", "valid_from_pos BIGINT",
                                             "valid_to BIGINT", "valid_to_pos BIGINT"}));
}

// QueryReadOnly on a database with a table, a sequence and a second database attached.
class ReadOnlyQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto w = DuckDbWarehouse::Open({dir_.path() / "w.duckdb"}, EntitySpec{});
    ASSERT_TRUE(w.ok()) << w.error().message;
    w_ = std::move(*w);
    for (const char* sql :
         {"CREATE TABLE x (id INTEGER, name VARCHAR)", "INSERT INTO x VALUES (1, 'a'), (2, NULL)",
          "CREATE SEQUENCE seq", "ATTACH ':memory:' AS spare"}) {
      auto r = w_->Query(sql);
      ASSERT_TRUE(r.ok()) << sql << ": " << r.error().message;
    }
  }

  // What a refused statement could have changed, read through Query: x's rows and columns, the tables,
  // sequences and databases, a global setting.
  std::string State() {
    auto r = w_->Query(
        "SELECT (SELECT string_agg(id || ':' || coalesce(name, 'NULL'), ',' ORDER BY id) FROM x), "
        "(SELECT string_agg(column_name, ',' ORDER BY column_index) FROM duckdb_columns() WHERE table_name = "
        "'x'), "
        "(SELECT string_agg(database_name || '.' || table_name, ',' ORDER BY database_name, table_name) FROM "
        "duckdb_tables()), "
        "(SELECT string_agg(sequence_name, ',' ORDER BY sequence_name) FROM duckdb_sequences()), "
        "(SELECT string_agg(database_name, ',' ORDER BY database_name) FROM duckdb_databases()), "
        "current_setting('memory_limit')");
    EXPECT_TRUE(r.ok()) << r.error().message;
    std::string out;
    if (r.ok()) {
      for (const Value& v : r->rows.at(0)) {
        out += v.value_or("NULL") + "|";
      }
    }
    return out;
  }

  // `sql` is refused, the message naming `kind`, and nothing is changed.
  void ExpectRefused(const std::string& sql, const std::string& kind) {
    const std::string before = State();
    auto r = w_->QueryReadOnly(sql);
    ASSERT_FALSE(r.ok()) << sql;
    EXPECT_EQ(r.error().kind, ErrorKind::kInvalidInput) << sql << ": " << r.error().message;
    EXPECT_NE(r.error().message.find(kind), std::string::npos) << sql << ": " << r.error().message;
    EXPECT_NE(r.error().message.find("only SELECT"), std::string::npos) << sql << ": " << r.error().message;
    EXPECT_EQ(State(), before) << sql;
  }

  static void ExpectSame(const Result<QueryResult>& a, const Result<QueryResult>& b) {
    ASSERT_TRUE(a.ok()) << a.error().message;
    ASSERT_TRUE(b.ok()) << b.error().message;
    EXPECT_EQ(a->columns, b->columns);
    EXPECT_EQ(a->kinds, b->kinds);
    EXPECT_EQ(a->rows, b->rows);
  }

  test_support::TestDir dir_{"dimstream_wh_ro"};
  std::unique_ptr<DuckDbWarehouse> w_;
};

TEST_F(ReadOnlyQueryTest, SelectAndExplainGiveWhatQueryGives) {
  for (const char* sql : {"SELECT id, name FROM x ORDER BY id", "  (select count(*) AS n, true AS b FROM x);",
                          "SELECT 'a' || chr(0) || 'b' AS nul, 1.5 AS d", "FROM x ORDER BY id DESC",
                          "WITH y AS (SELECT id FROM x) SELECT * FROM y ORDER BY id",
                          "EXPLAIN SELECT * FROM x", "DESCRIBE x"}) {
    SCOPED_TRACE(sql);
    ExpectSame(w_->QueryReadOnly(sql), w_->Query(sql));
  }
  auto nul = w_->QueryReadOnly("SELECT 'a' || chr(0) || 'b' AS nul");
  ASSERT_TRUE(nul.ok()) << nul.error().message;
  EXPECT_EQ(nul->rows.at(0).at(0), std::string("a\0b", 3));
  auto analyzed = w_->QueryReadOnly("EXPLAIN ANALYZE SELECT * FROM x");
  ASSERT_TRUE(analyzed.ok()) << analyzed.error().message;
  EXPECT_FALSE(analyzed->rows.empty());
}

TEST_F(ReadOnlyQueryTest, AFailingSelectFailsWithDuckDbsMessage) {
  auto r = w_->QueryReadOnly("SELECT * FROM no_such_table");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kInvalidInput);
  EXPECT_NE(r.error().message.find("no_such_table"), std::string::npos) << r.error().message;
  r = w_->QueryReadOnly("SELECT CAST(name AS INTEGER) FROM x");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("Could not convert"), std::string::npos) << r.error().message;
  r = w_->QueryReadOnly("SELEC 1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kInvalidInput);
  EXPECT_NE(r.error().message.find("syntax error"), std::string::npos) << r.error().message;
}

TEST_F(ReadOnlyQueryTest, WritesAreRefused) {
  ExpectRefused("INSERT INTO x VALUES (3, 'c')", "INSERT");
  ExpectRefused("update x SET name = 'b'", "UPDATE");
  ExpectRefused("DELETE FROM x", "DELETE");
  ExpectRefused("CREATE TABLE y (a INTEGER)", "CREATE");
  ExpectRefused("CREATE TABLE y AS SELECT * FROM x", "CREATE");
  ExpectRefused("DROP TABLE x", "DROP");
  ExpectRefused("ALTER TABLE x ADD COLUMN z INTEGER", "ALTER");
  ExpectRefused("-- a comment first\n/* and another */ DELETE FROM x", "DELETE");
  ExpectRefused("EXPLAIN ANALYZE DELETE FROM x", "EXPLAIN of DELETE");
  ExpectRefused("EXPLAIN INSERT INTO x VALUES (3, 'c')", "EXPLAIN of INSERT");
  ExpectRefused("WITH y AS (SELECT 3 AS id) INSERT INTO x SELECT id, 'c' FROM y", "INSERT");
  ExpectRefused("SELECT id FROM x; SELECT 1", "2 statements");
  ExpectRefused("SELECT 1; DROP TABLE x", "2 statements");
}

TEST_F(ReadOnlyQueryTest, AttachDetachExtensionsAndFilesAreRefused) {
  const std::filesystem::path other = dir_.path() / "other.duckdb";
  ExpectRefused("ATTACH '" + other.string() + "' AS other", "ATTACH");
  EXPECT_FALSE(std::filesystem::exists(other));
  ExpectRefused("DETACH spare", "DETACH");
  const std::filesystem::path file = dir_.path() / "out.csv";
  ExpectRefused("COPY x TO '" + file.string() + "'", "COPY");
  ExpectRefused("COPY (SELECT * FROM x) TO '" + file.string() + "'", "COPY");
  ExpectRefused("EXPLAIN ANALYZE COPY x TO '" + file.string() + "'", "EXPLAIN of COPY");
  EXPECT_FALSE(std::filesystem::exists(file));
  const std::filesystem::path exported = dir_.path() / "export";
  ExpectRefused("EXPORT DATABASE '" + exported.string() + "'", "EXPORT");
  EXPECT_FALSE(std::filesystem::exists(exported));
  ExpectRefused("INSTALL json", "INSTALL");
  ExpectRefused("LOAD json", "LOAD");
}

TEST_F(ReadOnlyQueryTest, SettingsTransactionsAndMaintenanceAreRefused) {
  ExpectRefused("SET memory_limit = '123MB'", "SET");
  ExpectRefused("SET GLOBAL memory_limit = '123MB'", "SET");
  ExpectRefused("RESET memory_limit", "RESET");
  ExpectRefused("PRAGMA memory_limit = '123MB'", "PRAGMA");
  ExpectRefused("PRAGMA enable_profiling", "PRAGMA");
  ExpectRefused("CALL pragma_table_info('x')", "CALL");
  ExpectRefused("BEGIN TRANSACTION", "BEGIN");
  ExpectRefused("COMMIT", "COMMIT");
  ExpectRefused("CHECKPOINT", "CHECKPOINT");
}

// A function that writes fails in the read-only transaction: DuckDB's ROLLBACK would not take a nextval back.
TEST_F(ReadOnlyQueryTest, ANextvalIsRefusedAndLeavesTheSequenceAlone) {
  ExpectRefused("SELECT nextval('seq') AS v", "read-only");
  ExpectRefused("SELECT name, nextval('seq') AS v FROM x", "read-only");
  ExpectRefused("EXPLAIN ANALYZE SELECT nextval('seq')", "read-only");
  auto next = w_->Query("SELECT nextval('seq') AS v");
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_EQ(next->rows.at(0).at(0), "1");
}

class FailedCommitTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void TearDown() override { w_.reset(); }
  void Reopen() {
    w_.reset();
    auto w = DuckDbWarehouse::Open({dir_ / "w.duckdb"}, EntitySpec{});
    ASSERT_TRUE(w.ok()) << w.error().message;
    w_ = std::move(*w);
  }
  // Room for a few KB more in any file, from the warehouse's largest one on.
  rlim_t LittleRoom() const {
    uintmax_t largest = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir_)) {
      largest = std::max(largest, e.file_size());
    }
    return largest + 16 * 1024;
  }
  std::map<std::string, std::string> Column(const std::string& sql) {
    auto r = w_->Query(sql);
    EXPECT_TRUE(r.ok()) << r.error().message;
    std::map<std::string, std::string> out;
    if (r.ok()) {
      for (const auto& row : r->rows) {
        out[row.at(0).value_or("NULL")] = row.at(1).value_or("NULL");
      }
    }
    return out;
  }
  // What must hold whatever failed before: exactly the committed loads, their values intact.
  void ExpectOnly(const std::map<std::string, std::string>& loads,
                  const std::map<std::string, std::string>& names) {
    EXPECT_EQ(Column("SELECT object_key, status FROM load_history"), loads);
    EXPECT_EQ(Column("SELECT first_name, CAST(count(*) AS VARCHAR) FROM customer_raw GROUP BY 1"), names);
  }

  test_support::TestDir tmp_{"dimstream_wh"};
  std::filesystem::path dir_ = tmp_.path();
  std::unique_ptr<DuckDbWarehouse> w_;
};

TEST_F(FailedCommitTest, LaterCommitsReadBackIntactAndTheFailedOneIsGone) {
  ASSERT_TRUE(w_->CommitLoad(Load("a.csv", 10, "before").request).ok());
  ASSERT_TRUE(w_->Checkpoint().ok());
  {
    FileSizeLimit full(LittleRoom());
    Load big("big.csv", 20000, std::string(100, 'x'));
    auto r = w_->CommitLoad(big.request);
    ASSERT_FALSE(r.ok()) << "the commit should not fit";
    EXPECT_EQ(r.error().kind, ErrorKind::kRetryable) << r.error().message;
  }
  EXPECT_EQ(w_->Reopens(), 1U);
  // Committed after the failure, on the reopened instance.
  ASSERT_TRUE(w_->CommitLoad(Load("b.csv", 10, "after").request).ok());
  ASSERT_TRUE(w_->RecordTask(TaskRecord{.task_name = "t", .status = "succeeded"}).ok());
  std::map<std::string, std::string> loads{{"a.csv", "loaded"}, {"b.csv", "loaded"}};
  std::map<std::string, std::string> names{{"after", "10"}, {"before", "10"}};
  ExpectOnly(loads, names);
  EXPECT_EQ(Column("SELECT status, task_name FROM task_history"),
            (std::map<std::string, std::string>{{"succeeded", "t"}}));
  Reopen();
  ExpectOnly(loads, names);
}

TEST_F(FailedCommitTest, ATransactionOpenOnTheRetiredInstanceIsRolledBack) {
  ASSERT_TRUE(w_->CommitLoad(Load("a.csv", 10, "before").request).ok());
  ASSERT_TRUE(w_->Checkpoint().ok());
  auto session = w_->BeginMerge("customer");  // began before the failure, on the instance about to be retired
  ASSERT_TRUE(session.ok()) << session.error().message;
  ASSERT_TRUE((*session)->WriteParameter("LETS", 42).ok());
  {
    FileSizeLimit full(LittleRoom());
    Load big("big.csv", 20000, std::string(100, 'x'));
    ASSERT_FALSE(w_->CommitLoad(big.request).ok());
  }
  Status finished = (*session)->Finish(42, TaskRecord{.task_name = "merge", .status = "succeeded"});
  ASSERT_FALSE(finished.ok());
  EXPECT_EQ(finished.error().kind, ErrorKind::kRetryable) << finished.error().message;
  session->reset();  // the retired instance's last user: the next operation opens the file again
  ASSERT_TRUE(w_->CommitLoad(Load("b.csv", 10, "after").request).ok());
  EXPECT_EQ(w_->Reopens(), 1U);
  EXPECT_EQ(Column("SELECT parameter_name, parameter_value FROM parameter_control"),
            (std::map<std::string, std::string>{}));
  ExpectOnly({{"a.csv", "loaded"}, {"b.csv", "loaded"}}, {{"after", "10"}, {"before", "10"}});
}

// The merge's own sequence when the disk is full: its run fails at COMMIT, then it records the failure. The
// run writes its records' rejects (every record is older than the horizon given), which do not fit.
// Without the reopen, DuckDB 1.4.4 reads the second record back as "failedsucceeded": the failed run's
// task_history text glued on.
TEST_F(FailedCommitTest, AFailedMergeIsRecordedIntact) {
  ASSERT_TRUE(w_->CommitLoad(Load("a.csv", 20000, std::string(100, 'x')).request).ok());
  ASSERT_TRUE(w_->Checkpoint().ok());
  for (int run = 0; run < 3; ++run) {
    FileSizeLimit full(LittleRoom());
    auto session = w_->BeginMerge("customer");
    ASSERT_TRUE(session.ok()) << session.error().message;
    auto staged = (*session)->Stage(0);
    ASSERT_TRUE(staged.ok()) << staged.error().message;
    EXPECT_EQ(staged->rows_in, 20000U);
    auto rejected = (*session)->RejectStagedBefore(NowMicros() + 86400000000LL, "older than the horizon");
    ASSERT_TRUE(rejected.ok()) << rejected.error().message;
    EXPECT_EQ(*rejected, 20000U);
    ASSERT_TRUE((*session)->AppendStageToLog(KeyScope::kStaged).ok());
    Status finished =
        (*session)->Finish(staged->new_watermark, TaskRecord{.task_name = "m", .status = "succeeded"});
    ASSERT_FALSE(finished.ok()) << "the commit should not fit";
    session->reset();
    Status recorded = w_->RecordTask(TaskRecord{.task_name = "m", .status = "failed"});
    EXPECT_TRUE(recorded.ok()) << recorded.error().message;
  }
  EXPECT_EQ(w_->Reopens(), 3U);
  EXPECT_EQ(Column("SELECT status, CAST(count(*) AS VARCHAR) FROM task_history GROUP BY 1"),
            (std::map<std::string, std::string>{{"failed", "3"}}));
  EXPECT_EQ(Column("SELECT 'staged', CAST(count(*) AS VARCHAR) FROM customer_stage"),
            (std::map<std::string, std::string>{{"staged", "0"}}));
  EXPECT_EQ(Column("SELECT 'rejects', CAST(count(*) AS VARCHAR) FROM customer_rejects"),
            (std::map<std::string, std::string>{{"rejects", "0"}}));
  // The loaded records, all still in the log and not merged.
  EXPECT_EQ(Column("SELECT 'log', CAST(count(*) AS VARCHAR) FROM customer_log"),
            (std::map<std::string, std::string>{{"log", "20000"}}));
  EXPECT_EQ(Column("SELECT 'raw', CAST(count(*) AS VARCHAR) FROM customer_raw"),
            (std::map<std::string, std::string>{{"raw", "20000"}}));
}

}  // namespace
}  // namespace dimstream
