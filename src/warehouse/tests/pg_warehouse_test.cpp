#include "warehouse/postgres/pg_warehouse.h"

#include <unistd.h>

#include <filesystem>
#include <latch>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "warehouse/postgres/pg_connection.h"
#include "warehouse/tests/pg_test_loads.h"

// The PostgreSQL warehouse as the roles and the CLI use it, against the test server (the CTest fixture
// `postgres`), a database per test.
namespace dimstream {
namespace {

class PgWarehouseTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(db_.Create()); }

  std::unique_ptr<PgWarehouse> Open() {
    auto w = PgWarehouse::Open(db_.url(), "", {entity_});
    EXPECT_TRUE(w.ok()) << w.error().message;
    return w.ok() ? std::move(*w) : nullptr;
  }

  // A load of object `key` of entity_: two records and a reject.
  LoadRequest Request(const std::string& key, const std::string& checksum) {
    LoadRequest request;
    request.object = ObjectInfo{ObjectKey(key), 10, "tag-" + key};
    request.entity = entity_.name;
    request.checksum = Checksum(checksum);
    request.rows = pg::testing::RowsOf(entity_, {{1, "a"}, {2, "b"}});
    request.rejects = {RejectedRow{4, "x,y", "line 4 has 2 fields, header has 4"}};
    return request;
  }

  static bool Has(const Result<bool>& found) {
    EXPECT_TRUE(found.ok()) << found.error().message;
    return found.ok() && found.value();
  }

  // The first value of a query's first row ("NULL" for NULL).
  std::string Scalar(Warehouse& w, const std::string& sql) {
    auto r = w.Query(sql);
    EXPECT_TRUE(r.ok()) << r.error().message;
    if (!r.ok() || r->rows.empty() || r->rows[0].empty()) {
      return "(none)";
    }
    return r->rows[0][0].value_or("NULL");
  }

  pg::testing::TestDatabase db_;
  EntitySpec entity_ = pg::testing::StageEntity();
};

// CREATE TABLE IF NOT EXISTS from two sessions at once can fail one of them (a unique violation on pg_type):
// processes that start together must each get the schema.
TEST_F(PgWarehouseTest, ProcessesOpeningAtOnceAllGetTheSchema) {
  constexpr int kOpeners = 4;
  std::latch start(kOpeners);
  std::vector<Status> opened(kOpeners, Ok());
  std::vector<std::thread> threads;
  for (int i = 0; i < kOpeners; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      auto w = PgWarehouse::Open(db_.url(), "", {entity_});
      opened[i] = w.ok() ? Ok() : Status(w.error());
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  for (const Status& s : opened) {
    EXPECT_TRUE(s.ok()) << s.error().message;
  }
  auto w = Open();
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(Scalar(*w,
                   "SELECT count(*) FROM pg_tables WHERE tablename IN ('load_history', 'thing_raw_rows', "
                   "'thing_rejects', 'parameter_control', 'task_history', 'thing_history')"),
            "6");
  // current is a view of history's open versions; raw and stage are views of the loaded rows.
  EXPECT_EQ(Scalar(*w,
                   "SELECT count(*) FROM pg_views WHERE viewname IN ('thing_raw', 'thing_stage', "
                   "'thing_current')"),
            "3");
}

TEST_F(PgWarehouseTest, ACurrentTableOfAnEarlierVersionBecomesTheView) {
  ASSERT_NE(Open(), nullptr);
  {
    auto conn = pg::PgConnection::Open(db_.url(), "");
    ASSERT_TRUE(conn.ok()) << conn.error().message;
    for (const char* sql : {"DROP VIEW thing_current", "CREATE TABLE thing_current (id BIGINT)",
                            "INSERT INTO thing_current VALUES (1)"}) {
      Status done = (*conn)->Run(sql);
      ASSERT_TRUE(done.ok()) << done.error().message;
    }
  }
  auto w = Open();
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(Scalar(*w, "SELECT count(*) FROM pg_views WHERE viewname = 'thing_current'"), "1");
  EXPECT_EQ(Scalar(*w, "SELECT count(*) FROM thing_current"), "0");  // history's open versions: none yet
}

TEST_F(PgWarehouseTest, ALoadCommitsOnceAndIsFoundAgain) {
  auto w = Open();
  ASSERT_NE(w, nullptr);
  EXPECT_FALSE(Has(w->HasLoad(ObjectKey("a.csv"), Checksum("sum-a"))));
  auto first = w->CommitLoad(Request("a.csv", "sum-a"));
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->outcome, LoadOutcome::kLoaded);
  EXPECT_EQ(first->load_id, 1);
  EXPECT_TRUE(Has(w->HasLoad(ObjectKey("a.csv"), Checksum("sum-a"))));
  EXPECT_TRUE(Has(w->HasVersion(ObjectKey("a.csv"), "tag-a.csv")));
  EXPECT_FALSE(Has(w->HasLoad(ObjectKey("a.csv"), Checksum("other"))));
  EXPECT_FALSE(Has(w->HasLoad(ObjectKey("b.csv"), Checksum("sum-a"))));
  EXPECT_FALSE(Has(w->HasVersion(ObjectKey("a.csv"), "tag-other")));
  EXPECT_EQ(Scalar(*w, "SELECT count(*) FROM thing_raw"), "2");
  EXPECT_EQ(Scalar(*w, "SELECT reason FROM thing_rejects"), "line 4 has 2 fields, header has 4");
  EXPECT_EQ(Scalar(*w, "SELECT status || ' ' || rows_loaded || ' ' || rows_rejected FROM load_history"),
            "loaded 2 1");

  // The same key and checksum again: nothing kept, not even its rejects.
  auto again = w->CommitLoad(Request("a.csv", "sum-a"));
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->outcome, LoadOutcome::kAlreadyDone);
  EXPECT_EQ(Scalar(*w, "SELECT count(*) FROM thing_raw_rows"), "2");
  EXPECT_EQ(Scalar(*w, "SELECT count(*) FROM thing_rejects"), "1");
  EXPECT_EQ(Scalar(*w, "SELECT count(*) FROM load_history"), "1");

  // An object of no entity can only fail, and is recorded so.
  LoadRequest stray;
  stray.object = ObjectInfo{ObjectKey("stray.bin"), 3, "tag-stray"};
  stray.checksum = Checksum("sum-stray");
  stray.failed = true;
  stray.error = "matches no entity's file_pattern";
  auto failed = w->CommitLoad(stray);
  ASSERT_TRUE(failed.ok()) << failed.error().message;
  EXPECT_EQ(failed->outcome, LoadOutcome::kFailed);
  EXPECT_TRUE(Has(w->HasLoad(ObjectKey("stray.bin"), Checksum("sum-stray"))));
  EXPECT_EQ(Scalar(*w,
                   "SELECT coalesce(entity, 'none') || ' ' || status FROM load_history WHERE object_key = "
                   "'stray.bin'"),
            "none failed");
}

// Loads run at the same time (no lock around them, unlike DuckDB's): the one that commits first takes the
// lower load id. Each session keeps its pooled connection until it ends, and gives it back then.
TEST_F(PgWarehouseTest, LoadsRunAtOnceAndConnectionsAreReused) {
  auto w = Open();
  ASSERT_NE(w, nullptr);
  auto first = w->BeginLoad(ObjectInfo{ObjectKey("first.csv"), 1, "t1"}, entity_.name);
  auto second = w->BeginLoad(ObjectInfo{ObjectKey("second.csv"), 1, "t2"}, entity_.name);
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_TRUE((*first)->AppendRows(pg::testing::RowsOf(entity_, {{1, "a"}})).ok());
  ASSERT_TRUE((*second)->AppendRows(pg::testing::RowsOf(entity_, {{2, "b"}})).ok());
  LoadSummary summary;
  summary.rows = 1;
  summary.checksum = Checksum("s2");
  Result<LoadReceipt> committed_second = Error::Permanent("not committed");
  std::thread other([&] { committed_second = (*second)->Commit(summary); });
  other.join();
  summary.checksum = Checksum("s1");
  auto committed_first = (*first)->Commit(summary);
  ASSERT_TRUE(committed_first.ok() && committed_second.ok());
  EXPECT_EQ(committed_second->load_id, 1);
  EXPECT_EQ(committed_first->load_id, 2);
  first->reset();
  second->reset();

  // A session not committed is rolled back when it goes, and its connection is reused, not left open.
  for (int i = 0; i < 5; ++i) {
    auto abandoned = w->BeginLoad(ObjectInfo{ObjectKey("gone.csv"), 1, "t"}, entity_.name);
    ASSERT_TRUE(abandoned.ok());
    ASSERT_TRUE((*abandoned)->AppendRows(pg::testing::RowsOf(entity_, {{3, "c"}})).ok());
  }
  EXPECT_EQ(Scalar(*w, "SELECT count(*) FROM thing_raw_rows"), "2");
  EXPECT_EQ(Scalar(*w,
                   "SELECT count(*) <= 2 FROM pg_stat_activity WHERE datname = current_database() AND "
                   "application_name = 'dimstream'"),
            "true");
}

TEST_F(PgWarehouseTest, UnknownEntitiesAreRefused) {
  auto w = Open();
  ASSERT_NE(w, nullptr);
  auto load = w->BeginLoad(ObjectInfo{ObjectKey("a.csv"), 1, "t"}, "nothing");
  ASSERT_FALSE(load.ok());
  EXPECT_EQ(load.error().kind, ErrorKind::kInvalidInput);
  EXPECT_NE(load.error().message.find("no entity 'nothing'"), std::string::npos) << load.error().message;
  auto merge = w->BeginMerge("nothing");
  ASSERT_FALSE(merge.ok());
  EXPECT_EQ(merge.error().kind, ErrorKind::kInvalidInput);
}

TEST_F(PgWarehouseTest, QueriesShowValuesAsDuckDbDoes) {
  auto w = Open();
  ASSERT_NE(w, nullptr);
  auto r = w->Query(
      "SELECT 42::BIGINT AS n, true AS b, false AS f, 'x' AS t, NULL::TEXT AS z, 1.50::NUMERIC(5,2) AS d, "
      "0.25::DOUBLE PRECISION AS r, NULL::BOOLEAN AS nb, TIMESTAMP '2025-01-01 06:00:00.5' AS ts, DATE "
      "'2025-01-02' AS day");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->columns, (std::vector<std::string>{"n", "b", "f", "t", "z", "d", "r", "nb", "ts", "day"}));
  using K = ColumnKind;
  EXPECT_EQ(r->kinds, (std::vector<ColumnKind>{K::kNumber, K::kBoolean, K::kBoolean, K::kText, K::kText,
                                               K::kNumber, K::kNumber, K::kBoolean, K::kText, K::kText}));
  ASSERT_EQ(r->rows.size(), 1u);
  EXPECT_EQ(r->rows[0], (std::vector<Value>{"42", "true", "false", "x", std::nullopt, "1.50", "0.25",
                                            std::nullopt, "2025-01-01 06:00:00.5", "2025-01-02"}));

  // Statements that return no rows give no columns; of several statements, the last one's result counts.
  auto created = w->Query("CREATE TABLE scratch (v INT)");
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_TRUE(created->columns.empty() && created->rows.empty());
  auto several = w->Query("INSERT INTO scratch VALUES (1), (2); SELECT count(*) AS c FROM scratch");
  ASSERT_TRUE(several.ok()) << several.error().message;
  EXPECT_EQ(several->columns, std::vector<std::string>{"c"});
  EXPECT_EQ(several->rows, (std::vector<std::vector<Value>>{{"2"}}));
  auto nothing = w->Query("");
  ASSERT_TRUE(nothing.ok()) << nothing.error().message;
  EXPECT_TRUE(nothing->columns.empty());

  // What a query sets stays with it, not with the pooled connection the loads take next.
  ASSERT_TRUE(w->Query("SET search_path TO nowhere").ok());
  auto found = w->HasLoad(ObjectKey("a.csv"), Checksum("c"));
  EXPECT_TRUE(found.ok()) << found.error().message;
}

TEST_F(PgWarehouseTest, ABadStatementFailsWithTheServersMessage) {
  auto w = Open();
  ASSERT_NE(w, nullptr);
  auto missing = w->Query("SELECT * FROM no_such_table");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::kNotFound);
  EXPECT_NE(missing.error().message.find("relation \"no_such_table\" does not exist"), std::string::npos)
      << missing.error().message;
  auto syntax = w->Query("SELEC 1");
  ASSERT_FALSE(syntax.ok());
  EXPECT_NE(syntax.error().message.find("syntax error"), std::string::npos) << syntax.error().message;
  // The connection is good for the next query.
  EXPECT_EQ(Scalar(*w, "SELECT 1"), "1");
}

TEST_F(PgWarehouseTest, RecordsTasksAndDescribesItself) {
  auto w = Open();
  ASSERT_NE(w, nullptr);
  TaskRecord task;
  task.task_name = "thing_merge";
  task.started_at = 1000000;
  task.finished_at = 2000000;
  task.status = "failed";
  task.error = "rolled back";
  ASSERT_TRUE(w->RecordTask(task).ok());
  EXPECT_EQ(Scalar(*w, "SELECT task_name || ' ' || status || ' ' || error FROM task_history"),
            "thing_merge failed rolled back");
  EXPECT_TRUE(w->Checkpoint().ok());
  EXPECT_EQ(w->Describe(), "PostgreSQL " + db_.url());
}

// A query from a process that holds no warehouse touches no schema.
TEST_F(PgWarehouseTest, QueryOnceLeavesTheSchemaAlone) {
  auto r = PgWarehouse::QueryOnce(db_.url(), "", "SELECT to_regclass('load_history') IS NULL AS fresh");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->rows, (std::vector<std::vector<Value>>{{"true"}}));
  auto unreachable = PgWarehouse::QueryOnce("postgresql://dim@127.0.0.1:1/nothing", "", "SELECT 1");
  ASSERT_FALSE(unreachable.ok());
  EXPECT_EQ(unreachable.error().kind, ErrorKind::kRetryable);
}

// QueryReadOnly on a table t and a sequence s.
class PgReadOnlyQueryTest : public PgWarehouseTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(PgWarehouseTest::SetUp());
    w_ = Open();
    ASSERT_NE(w_, nullptr);
    auto made = w_->Query(
        "CREATE TABLE t (id INT, name TEXT); INSERT INTO t VALUES (1, 'a'), (2, NULL); "
        "CREATE SEQUENCE s");
    ASSERT_TRUE(made.ok()) << made.error().message;
  }

  // What a refused statement could have changed, read through Query: t's rows and columns, the tables.
  std::string State() {
    return Scalar(
        *w_,
        "SELECT concat_ws('|', (SELECT string_agg(id || ':' || coalesce(name, 'NULL'), ',' ORDER BY id) "
        "FROM t), (SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = "
        "to_regclass('t') AND attnum > 0 AND NOT attisdropped), (SELECT string_agg(tablename, ',' ORDER "
        "BY tablename) FROM pg_tables WHERE schemaname = 'public'))");
  }

  // `sql` is refused, the message naming `what`, and nothing is changed.
  void ExpectRefused(const std::string& sql, const std::string& what) {
    const std::string before = State();
    auto r = w_->QueryReadOnly(sql);
    ASSERT_FALSE(r.ok()) << sql;
    EXPECT_EQ(r.error().kind, ErrorKind::kInvalidInput) << sql << ": " << r.error().message;
    EXPECT_NE(r.error().message.find(what), std::string::npos) << sql << ": " << r.error().message;
    EXPECT_EQ(State(), before) << sql;
  }

  std::unique_ptr<PgWarehouse> w_;
};

TEST_F(PgReadOnlyQueryTest, ReadingStatementsGiveWhatQueryGives) {
  for (const char* sql :
       {"SELECT id, name, id > 1 AS big FROM t ORDER BY id",
        "  -- first a comment\n((select count(*) AS n FROM t))",
        "WITH y AS (SELECT id FROM t) SELECT * FROM y ORDER BY id", "VALUES (1, 'x'), (2, NULL)", "TABLE t",
        "EXPLAIN SELECT * FROM t", "/* c */ explain (costs off) SELECT * FROM t;"}) {
    SCOPED_TRACE(sql);
    auto read = w_->QueryReadOnly(sql);
    auto queried = w_->Query(sql);
    ASSERT_TRUE(read.ok()) << read.error().message;
    ASSERT_TRUE(queried.ok()) << queried.error().message;
    EXPECT_EQ(read->columns, queried->columns);
    EXPECT_EQ(read->kinds, queried->kinds);
    EXPECT_EQ(read->rows, queried->rows);
  }
  auto missing = w_->QueryReadOnly("SELECT * FROM no_such_table");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::kNotFound);
}

// Refused before they reach the server, by their first word.
TEST_F(PgReadOnlyQueryTest, StatementsThatDoNotReadAreRefusedByTheirFirstWord) {
  const std::string file = fmt::format("/tmp/dimstream_ro_{}.csv", ::getpid());
  for (const auto& [sql, word] : std::vector<std::pair<std::string, std::string>>{
           {"INSERT INTO t VALUES (3, 'c')", "INSERT"},
           {"update t SET name = 'b'", "UPDATE"},
           {"DELETE FROM t", "DELETE"},
           {"CREATE TABLE u (v INT)", "CREATE"},
           {"DROP TABLE t", "DROP"},
           {"ALTER TABLE t ADD COLUMN z INT", "ALTER"},
           {"TRUNCATE t", "TRUNCATE"},
           {"COPY t TO '" + file + "'", "COPY"},
           {"SET work_mem = '1GB'", "SET"},
           {"RESET work_mem", "RESET"},
           {"BEGIN", "BEGIN"},
           {"START TRANSACTION", "START"},
           {"COMMIT", "COMMIT"},
           {"/* SELECT */ -- SELECT\n (DELETE FROM t)", "DELETE"},
           {"'SELECT'", "no keyword"}}) {
    ExpectRefused(sql, "refused: " + word);
    EXPECT_NE(Scalar(*w_, "SELECT 1"), "");
  }
  EXPECT_FALSE(std::filesystem::exists(file));
}

// What begins as a read and writes all the same the server refuses in the read-only transaction.
TEST_F(PgReadOnlyQueryTest, WritesInsideReadsAreRefusedByTheServer) {
  ExpectRefused("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", "read-only transaction");
  ExpectRefused("SELECT * INTO u FROM t", "read-only transaction");
  ExpectRefused("EXPLAIN ANALYZE DELETE FROM t", "read-only transaction");
  ExpectRefused("SELECT nextval('s')", "read-only transaction");
  ExpectRefused("SELECT 1; DROP TABLE t", "several statements");
  EXPECT_EQ(Scalar(*w_, "SELECT nextval('s')"), "1");
}

// A setting made by a function goes with the query's connection and transaction.
TEST_F(PgReadOnlyQueryTest, ASettingMadeInTheQueryDoesNotStay) {
  const std::string before = Scalar(*w_, "SHOW work_mem");
  ASSERT_NE(before, "1GB");
  auto set = w_->QueryReadOnly("SELECT set_config('work_mem', '1GB', false)");
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->rows, (std::vector<std::vector<Value>>{{"1GB"}}));
  EXPECT_EQ(Scalar(*w_, "SHOW work_mem"), before);
  auto read_write = w_->QueryReadOnly("SELECT set_config('transaction_read_only', 'off', false)");
  ASSERT_FALSE(read_write.ok());
  EXPECT_EQ(Scalar(*w_, "SHOW work_mem"), before);
}

}  // namespace
}  // namespace dimstream
