// The loader against a real bucket directory and a real DuckDB file: exactly once per key and checksum.
#include <gtest/gtest.h>

#include <zlib.h>

#include <chrono>
#include <fstream>

#include "common/stop.h"
#include "common/testing/test_dir.h"
#include "loader/loader.h"
#include "object_store/local_object_store.h"
#include "warehouse/duckdb/duckdb_warehouse.h"

namespace dimstream {
namespace {

class LoadLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_ / "bucket");
    store_ = std::make_unique<LocalObjectStore>(dir_ / "bucket");
    auto w = DuckDbWarehouse::Open({dir_ / "w.duckdb"}, EntitySpec{});
    ASSERT_TRUE(w.ok()) << w.error().message;
    warehouse_ = std::move(*w);
  }
  void TearDown() override { warehouse_.reset(); }
  void Write(const std::string& key, const std::string& content) {
    std::ofstream(dir_ / "bucket" / key, std::ios::binary) << content;
  }
  int64_t Count(const std::string& sql) {
    auto r = warehouse_->Query(sql);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? std::stoll(*r->rows[0][0]) : -1;
  }
  uint64_t LoadAll(LoaderOptions options = {}) {
    Loader loader(options, EntitySpec{}, *store_, nullptr, *warehouse_);
    auto n = loader.LoadListed(stop_);
    EXPECT_TRUE(n.ok());
    return n.ok() ? *n : 0;
  }

  test_support::TestDir tmp_{"dimstream_ledger"};
  std::filesystem::path dir_ = tmp_.path();
  std::unique_ptr<LocalObjectStore> store_;
  std::unique_ptr<DuckDbWarehouse> warehouse_;
  StopSignal stop_;
};

TEST_F(LoadLedgerTest, SameKeySameContentLoadsOnce) {
  Write("a.csv", "customer_id,first_name\n1,Ann\n2,Bob\n");
  EXPECT_EQ(LoadAll(), 1u);
  EXPECT_EQ(LoadAll(), 0u);
  // Touching the file changes its version tag but not its checksum: still nothing new.
  Write("a.csv", "customer_id,first_name\n1,Ann\n2,Bob\n");
  EXPECT_EQ(LoadAll(), 0u);
  EXPECT_EQ(Count("SELECT count(*) FROM customer_raw"), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM load_history"), 1);
}

TEST_F(LoadLedgerTest, SameKeyNewContentIsANewObject) {
  Write("a.csv", "customer_id,first_name\n1,Ann\n");
  EXPECT_EQ(LoadAll(), 1u);
  Write("a.csv", "customer_id,first_name\n1,Anna\n");
  EXPECT_EQ(LoadAll(), 1u);
  EXPECT_EQ(Count("SELECT count(*) FROM load_history WHERE object_key = 'a.csv'"), 2);
  EXPECT_EQ(Count("SELECT count(DISTINCT _arrival) FROM customer_raw"), 2);
  // Arrival follows load commit order.
  EXPECT_EQ(
      Count(
          "SELECT count(*) FROM customer_raw WHERE first_name = 'Anna' AND _arrival > (SELECT _arrival FROM "
          "customer_raw WHERE first_name = 'Ann')"),
      1);
}

TEST_F(LoadLedgerTest, RejectsAndFailuresAreRecorded) {
  Write("good.csv", "customer_id,first_name\n1,Ann\nx,Bob\n3,Cy\n");
  Write("nokey.csv", "id,first_name\n1,Ann\n");
  EXPECT_EQ(LoadAll(), 2u);
  EXPECT_EQ(Count("SELECT rows_loaded FROM load_history WHERE object_key = 'good.csv'"), 2);
  EXPECT_EQ(Count("SELECT rows_rejected FROM load_history WHERE object_key = 'good.csv'"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM customer_rejects WHERE object_key = 'good.csv' AND line = 3 AND raw "
                  "= 'x,Bob' "
                  "AND reason LIKE '%not a bigint%'"),
            1);
  EXPECT_EQ(
      Count(
          "SELECT count(*) FROM load_history WHERE object_key = 'nokey.csv' AND status = 'failed' AND error "
          "LIKE '%no ''customer_id'' column%'"),
      1);
  // A failed object is not retried with the same content.
  EXPECT_EQ(LoadAll(), 0u);
}

TEST_F(LoadLedgerTest, SkipFileLoadsNoneOfABadFile) {
  Write("bad.csv", "customer_id,first_name\n1,Ann\nx,Bob\n");
  LoaderOptions o;
  o.on_error = OnError::kSkipFile;
  EXPECT_EQ(LoadAll(o), 1u);
  EXPECT_EQ(Count("SELECT count(*) FROM customer_raw"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM customer_rejects"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM load_history WHERE status = 'failed' AND error LIKE '%skip_file%'"),
            1);
}

TEST_F(LoadLedgerTest, SequenceIsEventTimeOrLoadCommitTime) {
  Write("a.csv", "customer_id,updated_at\n1,2020-05-01T00:00:00Z\n");
  Write("b.csv", "customer_id\n2\n");
  EXPECT_EQ(LoadAll(), 2u);
  EXPECT_EQ(
      Count("SELECT count(*) FROM customer_raw WHERE customer_id = 1 AND _seq = TIMESTAMP '2020-05-01'"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM customer_raw r JOIN load_history h ON r._load_id = h.load_id WHERE "
                  "r.customer_id = 2 AND r._seq = h.sequence_time"),
            1);
}

// A CSV of `rows` customers, row i with key i.
std::string Customers(int rows, int bad_at = -1) {
  std::string csv = "customer_id,first_name,updated_at\n";
  for (int i = 0; i < rows; ++i) {
    csv +=
        i == bad_at ? "oops,Bad,2024-01-01T00:00:00Z\n" : fmt::format("{},n{},2024-01-01T00:00:00Z\n", i, i);
  }
  return csv;
}

std::string Gzip(const std::string& bytes) {
  std::string out(compressBound(bytes.size()) + 64, '\0');
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// A file of many batches is one load: its rows, one load_history row with its format and sizes.
TEST_F(LoadLedgerTest, ManyBatchesAreOneLoad) {
  Write("big.csv.gz", Gzip(Customers(5000)));
  LoaderOptions options;
  options.batch_rows = 64;
  EXPECT_EQ(LoadAll(options), 1u);
  EXPECT_EQ(Count("SELECT count(*) FROM customer_raw"), 5000);
  EXPECT_EQ(Count("SELECT count(DISTINCT _load_id) FROM customer_raw"), 1);
  EXPECT_EQ(Count("SELECT rows_loaded FROM load_history"), 5000);
  EXPECT_EQ(Count("SELECT count(*) FROM load_history WHERE format = 'csv.gz' AND uncompressed_size = " +
                  std::to_string(Customers(5000).size()) +
                  " AND size = " + std::to_string(Gzip(Customers(5000)).size())),
            1);
}

// A file that turns out unreadable after some batches were appended keeps none of them.
TEST_F(LoadLedgerTest, FailureAfterSomeBatchesKeepsNoRow) {
  std::string gz = Gzip(Customers(5000));
  Write("cut.csv.gz", gz.substr(0, gz.size() / 2));
  LoaderOptions options;
  options.batch_rows = 64;
  EXPECT_EQ(LoadAll(options), 1u);
  EXPECT_EQ(Count("SELECT count(*) FROM customer_raw"), 0);
  EXPECT_EQ(
      Count("SELECT count(*) FROM load_history WHERE status = 'failed' AND error LIKE '%truncated%' AND "
            "format = 'csv.gz'"),
      1);
}

// on_error = skip_file: a row rejected in a late batch takes back the rows of the earlier ones.
TEST_F(LoadLedgerTest, SkipFileTakesBackEarlierBatches) {
  Write("a.csv", Customers(3000, 2500));
  LoaderOptions options;
  options.batch_rows = 100;
  options.on_error = OnError::kSkipFile;
  EXPECT_EQ(LoadAll(options), 1u);
  EXPECT_EQ(Count("SELECT count(*) FROM customer_raw"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM customer_rejects WHERE line = 2502"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM load_history WHERE status = 'failed' AND rows_loaded = 0 AND "
                  "rows_rejected = 1"),
            1);
}

TEST_F(LoadLedgerTest, AbortFileKeepsOnlyTheFirstReject) {
  Write("a.csv", Customers(3000, 2500));
  LoaderOptions options;
  options.batch_rows = 100;
  options.on_error = OnError::kAbortFile;
  EXPECT_EQ(LoadAll(options), 1u);
  EXPECT_EQ(Count("SELECT count(*) FROM customer_raw"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM customer_rejects"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM load_history WHERE status = 'failed' AND error LIKE 'line "
                  "2502:%abort_file%'"),
            1);
}

// The same content under a new version tag is not loaded twice, even though its checksum is known only
// once it has been read.
TEST_F(LoadLedgerTest, ReadAgainUnderANewVersionTagChangesNothing) {
  Write("a.jsonl", "{\"customer_id\": 1, \"first_name\": \"Ann\"}\n");
  EXPECT_EQ(LoadAll(), 1u);
  std::filesystem::last_write_time(
      dir_ / "bucket" / "a.jsonl",
      std::filesystem::last_write_time(dir_ / "bucket" / "a.jsonl") + std::chrono::hours(1));
  EXPECT_EQ(LoadAll(), 0u);
  EXPECT_EQ(Count("SELECT count(*) FROM load_history"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM customer_raw"), 1);
}

TEST_F(LoadLedgerTest, UnknownSuffixFailsNamingTheSuffixes) {
  Write("a.txt", "customer_id\n1\n");
  EXPECT_EQ(LoadAll(), 1u);
  EXPECT_EQ(
      Count("SELECT count(*) FROM load_history WHERE status = 'failed' AND error LIKE '%.jsonl%.parquet%'"),
      1);
}

}  // namespace
}  // namespace dimstream
