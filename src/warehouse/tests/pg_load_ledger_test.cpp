#include "warehouse/postgres/pg_load_ledger.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/testing/test_server.h"
#include "warehouse/tests/pg_test_database.h"

// Against a real PostgreSQL, started for the test run by scripts/servers/postgres.sh (the CTest fixture
// `postgres`). Every test works in a database of its own, so that they can run at the same time.
namespace dimstream::pg {
namespace {

using std::chrono::milliseconds;

class PgLoadLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(db_.Create());
    auto c = Connect();
    ASSERT_TRUE(EnsureLedgerSchema(*c).ok());
  }

  std::unique_ptr<PgConnection> Connect() { return db_.Connect(); }

  static LoadRecord Record(const std::string& key, const std::string& checksum, bool failed = false) {
    LoadRecord r;
    r.object.key = ObjectKey(key);
    r.object.size = 10;
    r.entity = "customer";
    r.summary.checksum = Checksum(checksum);
    r.summary.size = 10;
    r.summary.rows = failed ? 0 : 3;
    r.summary.failed = failed;
    r.summary.error = failed ? "not a CSV file" : "";
    return r;
  }

  int64_t Count(PgConnection& c, const std::string& sql) {
    auto r = c.Exec(sql);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? r->Int(0, 0) : -1;
  }

  testing::TestDatabase db_;
};

TEST_F(PgLoadLedgerTest, LoadIdsFollowCommitOrderNotBeginOrder) {
  auto first = Connect();
  auto second = Connect();
  auto watcher = Connect();
  // The first to begin commits last: with ids from a sequence taken at the start it would hold the lower one.
  auto a = BeginLoadTransaction(*first);
  auto b = BeginLoadTransaction(*second);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_LT(*a, *b);
  auto committed_b = CommitLoadRecord(*second, *b, Record("b.csv", "cb"));
  ASSERT_TRUE(committed_b.ok()) << committed_b.error().message;
  // A merge reading now sees load 1 and moves its watermark there.
  const int64_t watermark = Count(*watcher, "SELECT max(load_id) FROM load_history");
  EXPECT_EQ(watermark, committed_b->load_id);
  auto committed_a = CommitLoadRecord(*first, *a, Record("a.csv", "ca"));
  ASSERT_TRUE(committed_a.ok()) << committed_a.error().message;
  // The load committed later is above that watermark: the next merge takes it.
  EXPECT_GT(committed_a->load_id, watermark);
  EXPECT_EQ(committed_a->outcome, LoadOutcome::kLoaded);
  EXPECT_EQ(Count(*watcher, fmt::format("SELECT count(*) FROM load_history WHERE load_id > {}", watermark)),
            1);
}

TEST_F(PgLoadLedgerTest, ALoadWaitsToBeNumberedWhileAnotherHoldsTheLastPosition) {
  auto holder = Connect();
  auto loader = Connect();
  auto watcher = Connect();
  // Another load between taking its id and committing: it holds load_position's row.
  ASSERT_TRUE(holder->Run("BEGIN").ok());
  ASSERT_TRUE(holder->Run("UPDATE load_position SET last_load_id = last_load_id + 1").ok());
  auto ref = BeginLoadTransaction(*loader);
  ASSERT_TRUE(ref.ok());
  std::atomic<bool> done{false};
  Result<LoadReceipt> receipt = Error::Retryable("not committed");
  std::thread commit([&] {
    receipt = CommitLoadRecord(*loader, *ref, Record("x.csv", "cx"));
    done = true;
  });
  // The loader's UPDATE of load_position waits for the holder's lock (PostgreSQL says so).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  int64_t waiting = 0;
  while (std::chrono::steady_clock::now() < deadline && waiting == 0) {
    waiting = Count(*watcher,
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE "
                    "'UPDATE load_position%'");
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_EQ(waiting, 1);
  EXPECT_FALSE(done.load());
  ASSERT_TRUE(holder->Run("COMMIT").ok());
  commit.join();
  ASSERT_TRUE(receipt.ok()) << receipt.error().message;
  EXPECT_EQ(receipt->load_id, 2);  // after the holder's 1
}

TEST_F(PgLoadLedgerTest, LoadersRacingForOneObjectRecordItOnce) {
  constexpr int kLoaders = 4;
  std::vector<std::unique_ptr<PgConnection>> conns;
  std::vector<int64_t> refs;
  for (int i = 0; i < kLoaders; ++i) {
    conns.push_back(Connect());
    auto ref = BeginLoadTransaction(*conns.back());
    ASSERT_TRUE(ref.ok());
    refs.push_back(*ref);
  }
  // Every one has begun before any commits; they commit at once.
  std::vector<Result<LoadReceipt>> receipts(kLoaders, Error::Retryable("not committed"));
  std::vector<std::thread> threads;
  for (int i = 0; i < kLoaders; ++i) {
    threads.emplace_back(
        [&, i] { receipts[i] = CommitLoadRecord(*conns[i], refs[i], Record("same.csv", "c1")); });
  }
  for (auto& t : threads) {
    t.join();
  }
  int loaded = 0;
  int already = 0;
  for (const auto& r : receipts) {
    ASSERT_TRUE(r.ok()) << r.error().message;
    loaded += r->outcome == LoadOutcome::kLoaded ? 1 : 0;
    already += r->outcome == LoadOutcome::kAlreadyDone ? 1 : 0;
  }
  EXPECT_EQ(loaded, 1);
  EXPECT_EQ(already, kLoaders - 1);
  auto c = Connect();
  EXPECT_EQ(Count(*c, "SELECT count(*) FROM load_history"), 1);
  // The same key with other content is another load.
  auto ref = BeginLoadTransaction(*c);
  ASSERT_TRUE(ref.ok());
  auto other = CommitLoadRecord(*c, *ref, Record("same.csv", "c2"));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->outcome, LoadOutcome::kLoaded);
  EXPECT_EQ(other->load_id, 2);  // no hole where the losers rolled back
}

TEST_F(PgLoadLedgerTest, AFailedObjectIsRecordedOnceAsFailed) {
  auto c = Connect();
  auto ref = BeginLoadTransaction(*c);
  ASSERT_TRUE(ref.ok());
  auto failed = CommitLoadRecord(*c, *ref, Record("bad.bin", "cb", /*failed=*/true));
  ASSERT_TRUE(failed.ok()) << failed.error().message;
  EXPECT_EQ(failed->outcome, LoadOutcome::kFailed);
  ref = BeginLoadTransaction(*c);
  ASSERT_TRUE(ref.ok());
  auto again = CommitLoadRecord(*c, *ref, Record("bad.bin", "cb", /*failed=*/true));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->outcome, LoadOutcome::kAlreadyDone);
  auto row = c->Exec("SELECT status, error, entity FROM load_history");
  ASSERT_TRUE(row.ok());
  ASSERT_EQ(row->rows(), 1);
  EXPECT_EQ(row->Text(0, 0), "failed");
  EXPECT_EQ(row->Text(0, 1), "not a CSV file");
  EXPECT_EQ(row->Text(0, 2), "customer");
}

TEST_F(PgLoadLedgerTest, ConnectionFailuresSayWhatToDo) {
  auto absent = PgConnection::Open(db_.UrlOf("no_such_db"), "");
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(absent.error().kind, ErrorKind::kPermanent) << absent.error().message;
  auto away = PgConnection::Open("postgresql://dim@127.0.0.1:1/dimstream", "s3cr3t-pw");
  ASSERT_FALSE(away.ok());
  EXPECT_EQ(away.error().kind, ErrorKind::kRetryable) << away.error().message;
  EXPECT_EQ(away.error().message.find("s3cr3t-pw"), std::string::npos) << away.error().message;
  // A statement's error carries its SQLSTATE and the kind it means.
  auto c = Connect();
  auto missing = c->Exec("SELECT * FROM no_such_table", {}, "read a table");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::kNotFound) << missing.error().message;
  EXPECT_NE(missing.error().message.find("42P01"), std::string::npos) << missing.error().message;
  auto bad = c->Exec("SELECT $1::bigint", {std::string("twelve")}, "read a number");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, ErrorKind::kInvalidInput) << bad.error().message;
}

// libpq's URL parameters pass through: sslmode=verify-full connects over TLS to a server whose certificate
// the given CA signed for the host, and is refused without it.
TEST_F(PgLoadLedgerTest, TlsWhenTheUrlAsksForIt) {
  auto tls_of = [](PgConnection& c) {
    auto r = c.Exec("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", {}, "read the TLS state");
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() && r->rows() == 1 ? std::string(r->Text(0, 0)) : std::string("(none)");
  };
  const std::string ca = test_support::TestServerFile("postgres", "ca.crt").string();
  auto verified = PgConnection::Open(db_.url() + "?sslmode=verify-full&sslrootcert=" + ca, "");
  ASSERT_TRUE(verified.ok()) << verified.error().message;
  EXPECT_EQ(tls_of(**verified), "t");
  auto plain = PgConnection::Open(db_.url() + "?sslmode=disable", "");
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  EXPECT_EQ(tls_of(**plain), "f");
  auto unverifiable =
      PgConnection::Open(db_.url() + "?sslmode=verify-full&sslrootcert=/nonexistent/ca.crt", "");
  EXPECT_FALSE(unverifiable.ok());
}

TEST_F(PgLoadLedgerTest, CopyTextIsEscaped) {
  auto c = Connect();
  ASSERT_TRUE(c->Run("CREATE TABLE t (v TEXT)").ok());
  std::string data;
  for (const char* v : {"plain", "tab\there", "new\nline", "back\\slash", "cr\rhere"}) {
    AppendCopyText(data, v);
    data += '\n';
  }
  auto rows = c->CopyIn("COPY t (v) FROM STDIN", data, "copy rows");
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  EXPECT_EQ(*rows, 5u);
  EXPECT_EQ(Count(*c,
                  "SELECT count(*) FROM t WHERE v IN ('plain', E'tab\\there', E'new\\nline', "
                  "E'back\\\\slash', E'cr\\rhere')"),
            5);
}

}  // namespace
}  // namespace dimstream::pg
