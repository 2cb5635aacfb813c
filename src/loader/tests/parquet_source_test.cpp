#include "loader/parquet_source.h"

#include <duckdb.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>

#include "common/clock.h"
#include "common/testing/test_dir.h"
#include "loader/record_parser.h"

namespace dimstream {
namespace {

namespace fs = std::filesystem;
using test_support::TestDir;

// The test's own DuckDB, which writes the Parquet files the source reads.
class Writer {
 public:
  Writer() {
    EXPECT_EQ(duckdb_open(nullptr, &db_), DuckDBSuccess);
    EXPECT_EQ(duckdb_connect(db_, &conn_), DuckDBSuccess);
  }
  ~Writer() {
    duckdb_disconnect(&conn_);
    duckdb_close(&db_);
  }

  // Writes the rows of `select` to `file`, in row groups of `row_group_size` rows.
  void Copy(const std::string& select, const fs::path& file, int row_group_size = 122880) {
    Run("COPY (" + select + ") TO $1 (FORMAT parquet, ROW_GROUP_SIZE " + std::to_string(row_group_size) + ")",
        file.string());
  }

  // The first value of the first row of `sql` (with `file` as $1), as text.
  std::string Scalar(const std::string& sql, const std::string& file) {
    duckdb_prepared_statement p = nullptr;
    duckdb_result r{};
    std::string out;
    EXPECT_EQ(duckdb_prepare(conn_, sql.c_str(), &p), DuckDBSuccess) << duckdb_prepare_error(p);
    duckdb_bind_varchar(p, 1, file.c_str());
    if (duckdb_execute_prepared(p, &r) == DuckDBSuccess) {
      char* v = duckdb_value_varchar(&r, 0, 0);
      out = v != nullptr ? v : "";
      duckdb_free(v);
    } else {
      ADD_FAILURE() << sql << ": " << duckdb_result_error(&r);
    }
    duckdb_destroy_result(&r);
    duckdb_destroy_prepare(&p);
    return out;
  }

 private:
  void Run(const std::string& sql, const std::string& param) {
    duckdb_prepared_statement p = nullptr;
    duckdb_result r{};
    ASSERT_EQ(duckdb_prepare(conn_, sql.c_str(), &p), DuckDBSuccess)
        << sql << ": " << duckdb_prepare_error(p);
    duckdb_bind_varchar(p, 1, param.c_str());
    EXPECT_EQ(duckdb_execute_prepared(p, &r), DuckDBSuccess) << sql << ": " << duckdb_result_error(&r);
    duckdb_destroy_result(&r);
    duckdb_destroy_prepare(&p);
  }

  duckdb_database db_ = nullptr;
  duckdb_connection conn_ = nullptr;
};

struct Row {
  uint64_t line = 0;
  std::string raw;
  std::vector<std::optional<std::string>> fields;
};

std::vector<Row> ReadAll(const fs::path& file, std::vector<std::string>* header = nullptr) {
  ParquetSource source(file, "128MB");
  std::vector<std::string> names;
  Status st = source.ReadHeader(names);
  EXPECT_TRUE(st.ok()) << st.error().message;
  if (header != nullptr) {
    *header = names;
  }
  std::vector<Row> rows;
  SourceRecord record;
  std::string why;
  while (st.ok()) {
    SourceStatus s = source.Next(record, why);
    if (s == SourceStatus::kEnd) {
      break;
    }
    EXPECT_EQ(s, SourceStatus::kRecord) << why << source.failure().message;
    if (s != SourceStatus::kRecord) {
      break;
    }
    Row row{record.line, std::string(record.raw), {}};
    EXPECT_EQ(record.fields.size(), names.size());
    for (const SourceField& f : record.fields) {
      row.fields.push_back(f.null ? std::nullopt : std::optional<std::string>(std::string(f.text)));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

Status HeaderOf(const fs::path& file, const std::string& memory_limit = "64MB") {
  ParquetSource source(file, memory_limit);
  std::vector<std::string> names;
  return source.ReadHeader(names);
}

// The parsed rows' text views the source's chunks: it lives as long as they do.
struct ParsedParquet : ParsedObject {
  std::unique_ptr<ParquetSource> source;
};

ParsedParquet ParseParquet(const fs::path& file, const EntitySpec& entity) {
  ParsedParquet out;
  out.source = std::make_unique<ParquetSource>(file, "128MB");
  EXPECT_TRUE(ParseRecords(*out.source, entity, ParseOptions{}, out).ok());
  return out;
}

// An entity of one bigint key `id`, the given SCD1 columns and types, no sequence, no operation.
EntitySpec Entity(std::vector<std::string> scd1, std::map<std::string, ColumnType> types) {
  EntitySpec e;
  e.name = "t";
  e.key_columns = {"id"};
  e.scd1_columns = std::move(scd1);
  e.scd2_columns = {};
  e.sequence_columns = {};
  e.operation_column = "";
  types.emplace("id", ColumnType::Bigint());
  e.types = std::move(types);
  return e;
}

Micros At(const char* iso) {
  auto t = ParseTimestamp(iso);
  EXPECT_TRUE(t.has_value()) << iso;
  return t.value_or(0);
}

// The process's resident memory now, in KiB.
long RssKb() {
  long pages = 0;
  long resident = 0;
  std::ifstream("/proc/self/statm") >> pages >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

TEST(ParquetSourceTest, ScalarTypesAsText) {
  TestDir dir("parquet_source");
  fs::path file = dir.path() / "scalars.parquet";
  Writer().Copy(
      "SELECT 1::BIGINT AS id, -7::INTEGER AS i32, 18446744073709551615::UBIGINT AS u64, "
      "CAST('123456789012345678901234567890' AS DECIMAL(38,0)) AS huge, 0.1::DOUBLE AS dbl, 0.1::FLOAT AS "
      "flt, "
      "1e300::DOUBLE AS big, 12.50::DECIMAL(12,2) AS amount, "
      "CAST('-1234567890123456789012345.0123456789' AS DECIMAL(38,10)) AS wide, true AS flag, "
      "DATE '2024-02-29' AS day, TIMESTAMP '2024-01-01 01:02:03.5' AS ts, "
      "TIMESTAMPTZ '2024-01-01 01:02:03+02' AS tstz, CAST(TIMESTAMP '2024-05-06 07:08:09.123' AS "
      "TIMESTAMP_MS) "
      "AS ts_ms, 'say \"hi\"\\ Zoë' AS txt, '\\xAA\\x41'::BLOB AS bytes, "
      "'6d3f1a52-0b0e-4a6b-9d3a-3c7d4c1e0f00'::UUID AS uuid, TIME '12:34:56' AS tm "
      "UNION ALL SELECT 2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
      "NULL, "
      "NULL, NULL, NULL ORDER BY id",
      file);
  std::vector<std::string> header;
  std::vector<Row> rows = ReadAll(file, &header);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(header,
            (std::vector<std::string>{"id", "i32", "u64", "huge", "dbl", "flt", "big", "amount", "wide",
                                      "flag", "day", "ts", "tstz", "ts_ms", "txt", "bytes", "uuid", "tm"}));
  std::vector<std::optional<std::string>> expected = {"1",
                                                      "-7",
                                                      "18446744073709551615",
                                                      "123456789012345678901234567890",
                                                      "0.1",
                                                      "0.1",
                                                      "1e+300",
                                                      "12.50",
                                                      "-1234567890123456789012345.0123456789",
                                                      "true",
                                                      "2024-02-29",
                                                      "2024-01-01 01:02:03.5",
                                                      "2023-12-31 23:02:03+00",
                                                      "2024-05-06 07:08:09.123",
                                                      "say \"hi\"\\ Zoë",
                                                      std::string("\xAA") + "A",
                                                      "6d3f1a52-0b0e-4a6b-9d3a-3c7d4c1e0f00",
                                                      "12:34:56"};
  EXPECT_EQ(rows[0].fields, expected);
  EXPECT_EQ(rows[0].line, 1u);
  EXPECT_EQ(rows[1].line, 2u);
  EXPECT_EQ(rows[1].fields[0], "2");
  for (size_t c = 1; c < header.size(); ++c) {
    EXPECT_EQ(rows[1].fields[c], std::nullopt) << header[c];
  }
  // raw: one JSON object, always valid UTF-8 (the BLOB's byte outside UTF-8 is shown as \xAA).
  EXPECT_EQ(
      rows[0].raw,
      "{\"id\":\"1\",\"i32\":\"-7\",\"u64\":\"18446744073709551615\",\"huge\":"
      "\"123456789012345678901234567890\",\"dbl\":\"0.1\",\"flt\":\"0.1\",\"big\":\"1e+300\",\"amount\":"
      "\"12.50\",\"wide\":\"-1234567890123456789012345.0123456789\",\"flag\":\"true\",\"day\":"
      "\"2024-02-29\",\"ts\":\"2024-01-01 01:02:03.5\",\"tstz\":\"2023-12-31 23:02:03+00\",\"ts_ms\":"
      "\"2024-05-06 07:08:09.123\",\"txt\":\"say \\\"hi\\\"\\\\ Zoë\",\"bytes\":\"\\\\xAAA\",\"uuid\":"
      "\"6d3f1a52-0b0e-4a6b-9d3a-3c7d4c1e0f00\",\"tm\":\"12:34:56\"}");
  EXPECT_EQ(rows[1].raw.substr(0, 21), "{\"id\":\"2\",\"i32\":null,");
}

TEST(ParquetSourceTest, TypedThroughTheParser) {
  TestDir dir("parquet_source");
  fs::path file = dir.path() / "typed.parquet";
  // Names in other cases than the entity's; an undeclared column (`extra`) is ignored.
  Writer().Copy(
      "SELECT 10::BIGINT AS \"ID\", 12.50::DECIMAL(12,2) AS \"Amount\", 0.1::DOUBLE AS price, "
      "1.5::FLOAT AS ratio, true AS \"ACTIVE\", DATE '1990-05-17' AS born, "
      "TIMESTAMPTZ '2024-01-01 01:00:00+01' AS seen_at, TIMESTAMP '2024-03-04 05:06:07.000008' AS naive_at, "
      "42::INTEGER AS count32, 'Zoë' AS note, 7 AS extra "
      "UNION ALL SELECT 11, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL",
      file);
  EntitySpec e =
      Entity({"amount", "price", "ratio", "active", "born", "seen_at", "naive_at", "count32", "note"},
             {{"amount", ParseColumnType("decimal(12,2)").value()},
              {"price", ParseColumnType("double").value()},
              {"ratio", ParseColumnType("double").value()},
              {"active", ParseColumnType("boolean").value()},
              {"born", ParseColumnType("date").value()},
              {"seen_at", ColumnType::Timestamp()},
              {"naive_at", ColumnType::Timestamp()},
              {"count32", ColumnType::Bigint()}});
  ParsedParquet p = ParseParquet(file, e);
  ASSERT_FALSE(p.failed) << p.error;
  ASSERT_TRUE(p.rejects.empty()) << p.rejects[0].reason;
  ASSERT_EQ(p.rows.size(), 2u);
  EXPECT_EQ(p.ignored_columns, 1u);
  const auto& c = p.rows.columns;
  EXPECT_EQ(c[0].ints[0], 10);
  EXPECT_EQ(c[1].ints[0], 1250);
  EXPECT_EQ(c[2].doubles[0], 0.1);
  EXPECT_EQ(c[3].doubles[0], 1.5);
  EXPECT_EQ(c[4].ints[0], 1);
  EXPECT_EQ(c[5].ints[0], 7441);  // days from 1970-01-01 to 1990-05-17
  EXPECT_EQ(c[6].ints[0], At("2024-01-01T00:00:00Z"));
  EXPECT_EQ(c[7].ints[0], At("2024-03-04T05:06:07.000008Z"));
  EXPECT_EQ(c[8].ints[0], 42);
  EXPECT_EQ(c[9].texts[0], "Zoë");
  EXPECT_EQ(p.rows.line, (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(c[0].ints[1], 11);
  for (size_t k = 1; k < c.size(); ++k) {
    EXPECT_EQ(c[k].valid[1], 0) << k;
  }
}

TEST(ParquetSourceTest, NestedColumnsAsJson) {
  TestDir dir("parquet_source");
  fs::path file = dir.path() / "nested.parquet";
  Writer().Copy(
      "SELECT 1::BIGINT AS id, {'x': 1, 'y': 'a\"b'} AS point, ['a', 'b'] AS tags, MAP {'k': 2} AS attrs, "
      "[{'n': 1}, {'n': NULL}] AS items, [1, 2, 3]::INTEGER[3] AS triple "
      "UNION ALL SELECT 2, NULL, [], NULL, NULL, NULL ORDER BY id",
      file);
  std::vector<Row> rows = ReadAll(file);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].fields[1], "{\"x\":1,\"y\":\"a\\\"b\"}");
  EXPECT_EQ(rows[0].fields[2], "[\"a\",\"b\"]");
  EXPECT_EQ(rows[0].fields[3], "{\"k\":2}");
  EXPECT_EQ(rows[0].fields[4], "[{\"n\":1},{\"n\":null}]");
  EXPECT_EQ(rows[0].fields[5], "[1,2,3]");
  EXPECT_EQ(rows[0].raw,
            "{\"id\":\"1\",\"point\":{\"x\":1,\"y\":\"a\\\"b\"},\"tags\":[\"a\",\"b\"],\"attrs\":{\"k\":2},"
            "\"items\":[{\"n\":1},{\"n\":null}],\"triple\":[1,2,3]}");
  EXPECT_EQ(rows[1].fields[1], std::nullopt);
  EXPECT_EQ(rows[1].fields[2], "[]");
  // As text through the parser, JSON and all.
  ParsedParquet p = ParseParquet(file, Entity({"point", "tags"}, {}));
  ASSERT_FALSE(p.failed) << p.error;
  ASSERT_EQ(p.rows.size(), 2u);
  EXPECT_EQ(p.rows.columns[1].texts[0], "{\"x\":1,\"y\":\"a\\\"b\"}");
  EXPECT_EQ(p.rows.columns[2].texts[1], "[]");
}

TEST(ParquetSourceTest, KeyOfTheWrongTypeIsRejectedPerRow) {
  TestDir dir("parquet_source");
  Writer w;
  fs::path text_key = dir.path() / "text_key.parquet";
  w.Copy("SELECT * FROM (VALUES ('1', 'a'), ('abc', 'b'), ('3', 'c'), ('', 'd')) t(id, note)", text_key);
  ParsedParquet p = ParseParquet(text_key, Entity({"note"}, {}));
  ASSERT_FALSE(p.failed) << p.error;
  EXPECT_EQ(p.rows.line, (std::vector<uint64_t>{1, 3}));
  ASSERT_EQ(p.rejects.size(), 2u);
  EXPECT_EQ(p.rejects[0].line, 2u);
  EXPECT_EQ(p.rejects[0].reason, "line 2: key \"id\" is \"abc\", not a bigint");
  EXPECT_EQ(p.rejects[0].raw, "{\"id\":\"abc\",\"note\":\"b\"}");
  EXPECT_EQ(p.rejects[1].reason, "line 4: key \"id\" is empty");

  fs::path double_key = dir.path() / "double_key.parquet";
  w.Copy("SELECT * FROM (VALUES (1.5::DOUBLE), (2.0::DOUBLE), (NULL)) t(id)", double_key);
  p = ParseParquet(double_key, Entity({}, {}));
  ASSERT_FALSE(p.failed) << p.error;
  EXPECT_TRUE(p.rows.line.empty());
  ASSERT_EQ(p.rejects.size(), 3u);
  EXPECT_EQ(p.rejects[0].reason, "line 1: key \"id\" is \"1.5\", not a bigint");
  // A double is given as DuckDB writes it: an integral one is "2.0", which a bigint column refuses too.
  EXPECT_EQ(p.rejects[1].reason, "line 2: key \"id\" is \"2.0\", not a bigint");
  EXPECT_EQ(p.rejects[2].reason, "line 3: key \"id\" is empty");
}

TEST(ParquetSourceTest, BytesThatAreNotUtf8) {
  TestDir dir("parquet_source");
  fs::path file = dir.path() / "blob.parquet";
  Writer().Copy(
      "SELECT 1::BIGINT AS id, 'caf\\xC3\\xA9'::BLOB AS note, '\\x00\\xFF'::BLOB AS thumb "
      "UNION ALL SELECT 2, '\\xFF'::BLOB, NULL ORDER BY id",
      file);
  // Text stored without the string annotation loads as text; an undeclared binary column is ignored.
  ParsedParquet p = ParseParquet(file, Entity({"note"}, {}));
  ASSERT_FALSE(p.failed) << p.error;
  ASSERT_EQ(p.rows.size(), 1u);
  EXPECT_EQ(p.rows.columns[1].texts[0], "café");
  ASSERT_EQ(p.rejects.size(), 1u);
  EXPECT_EQ(p.rejects[0].reason, "line 2: note is not valid UTF-8");
  EXPECT_EQ(p.rejects[0].raw, "{\"id\":\"2\",\"note\":\"\\\\xFF\",\"thumb\":null}");
}

TEST(ParquetSourceTest, ManyRowsAcrossChunksInFileOrder) {
  TestDir dir("parquet_source");
  fs::path file = dir.path() / "many.parquet";
  constexpr int64_t kRows = 150000;
  Writer().Copy("SELECT i AS id, 'name number ' || i AS name, i % 7 = 0 AS flag FROM range(" +
                    std::to_string(kRows) + ") t(i) ORDER BY i",
                file, 5000);
  ParquetSource source(file, "64MB");
  std::vector<std::string> names;
  ASSERT_TRUE(source.ReadHeader(names).ok());
  SourceRecord record;
  std::string why;
  std::vector<std::pair<int64_t, std::string_view>> since_release;  // views of names since the last Release
  size_t most_chunks = 0;
  int64_t n = 0;
  while (true) {
    SourceStatus st = source.Next(record, why);
    if (st == SourceStatus::kEnd) {
      break;
    }
    ASSERT_EQ(st, SourceStatus::kRecord) << source.failure().message;
    ASSERT_EQ(record.line, static_cast<uint64_t>(n + 1));
    ASSERT_EQ(record.fields[0].text, std::to_string(n));
    ASSERT_TRUE(source.Stable(record.fields[1].text));
    ASSERT_FALSE(source.Stable(record.raw));
    since_release.emplace_back(n, record.fields[1].text);
    ++n;
    if (n % 3000 == 0) {
      for (const auto& [id, view] : since_release) {
        ASSERT_EQ(view, "name number " + std::to_string(id));
      }
      most_chunks = std::max(most_chunks, source.held_chunks());
      since_release.clear();
      source.Release();
    }
  }
  EXPECT_EQ(n, kRows);
  EXPECT_EQ(source.Next(record, why), SourceStatus::kEnd);
  // 3000 rows span at most three chunks of 2048 rows, plus the current one.
  EXPECT_LE(most_chunks, 4u);
  EXPECT_GE(most_chunks, 2u);
}

TEST(ParquetSourceTest, FilesThatAreNotParquet) {
  TestDir dir("parquet_source");
  fs::path good = dir.path() / "good.parquet";
  Writer().Copy("SELECT i AS id, 'x' || i AS name FROM range(50000) t(i)", good, 10000);
  std::string bytes;
  {
    std::ifstream in(good, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_GT(bytes.size(), 1000u);
  auto write = [&](const std::string& name, const std::string& content) {
    std::ofstream(dir.path() / name, std::ios::binary) << content;
    return dir.path() / name;
  };
  std::mt19937 random(12);
  std::string noise(4096, '\0');
  for (char& c : noise) {
    c = static_cast<char>(random());
  }
  // The footer's length and its "PAR1" end the file: cut them, or spoil the footer itself.
  std::string spoiled = bytes;
  for (size_t k = spoiled.size() - 200; k < spoiled.size() - 8; ++k) {
    spoiled[k] = static_cast<char>(0xEE);
  }
  struct Case {
    fs::path file;
    std::string message;
  };
  std::vector<Case> cases = {
      {write("truncated.parquet", bytes.substr(0, bytes.size() - 100)),
       "cannot read truncated.parquet as Parquet: No magic bytes found at end of file 'truncated.parquet'"},
      {write("noise.parquet", noise), "cannot read noise.parquet as Parquet: "},
      {write("empty.parquet", ""), "cannot read empty.parquet as Parquet: "},
      {write("spoiled.parquet", spoiled), "cannot read spoiled.parquet as Parquet: "},
      {write("text.parquet", "customer_id,name\n1,Ann\n"), "cannot read text.parquet as Parquet: "},
  };
  for (const Case& c : cases) {
    Status st = HeaderOf(c.file);
    ASSERT_FALSE(st.ok()) << c.file;
    EXPECT_EQ(st.error().kind, ErrorKind::kInvalidInput) << st.error().message;
    EXPECT_EQ(st.error().message.substr(0, c.message.size()), c.message);
    EXPECT_EQ(st.error().message.find(dir.path().string()), std::string::npos) << st.error().message;
    EXPECT_EQ(st.error().message.find("LINE 1"), std::string::npos) << st.error().message;
  }
  Status missing = HeaderOf(dir.path() / "missing.parquet");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::kRetryable) << missing.error().message;
  Status directory = HeaderOf(dir.path());
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.error().kind, ErrorKind::kInvalidInput) << directory.error().message;
  Status limit = HeaderOf(good, "plenty");
  ASSERT_FALSE(limit.ok());
  EXPECT_EQ(limit.error().kind, ErrorKind::kPermanent) << limit.error().message;
}

// A footer that reads well over pages that do not: the rows before the damage are given, then kFailed.
TEST(ParquetSourceTest, CorruptPageFailsTheRead) {
  TestDir dir("parquet_source");
  fs::path file = dir.path() / "pages.parquet";
  Writer().Copy("SELECT i AS id, md5(i::VARCHAR) AS name FROM range(100000) t(i)", file, 10000);
  std::string bytes;
  {
    std::ifstream in(file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  for (size_t k = bytes.size() / 2; k < bytes.size() / 2 + 4096; ++k) {
    bytes[k] = static_cast<char>(k * 31);
  }
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
  ParquetSource source(file, "64MB");
  std::vector<std::string> names;
  ASSERT_TRUE(source.ReadHeader(names).ok());
  SourceRecord record;
  std::string why;
  SourceStatus st = SourceStatus::kRecord;
  uint64_t n = 0;
  while ((st = source.Next(record, why)) == SourceStatus::kRecord) {
    ++n;
  }
  ASSERT_EQ(st, SourceStatus::kFailed) << n;
  EXPECT_LT(n, 100000u);
  EXPECT_EQ(source.failure().kind, ErrorKind::kInvalidInput) << source.failure().message;
  EXPECT_TRUE(source.failure().message.starts_with("cannot read pages.parquet as Parquet: "))
      << source.failure().message;
  std::cout << "[ parquet ] after " << n << " rows: " << source.failure().message << "\n";
  EXPECT_EQ(source.Next(record, why), SourceStatus::kFailed);
}

TEST(ParquetSourceTest, PathIsNotAGlob) {
  TestDir dir("parquet_source");
  Writer w;
  w.Copy("SELECT 1 AS id", dir.path() / "a*.parquet");
  w.Copy("SELECT 2 AS id", dir.path() / "ab.parquet");
  w.Copy("SELECT 3 AS id", dir.path() / "c[1]?.parquet");
  w.Copy("SELECT 4 AS id", dir.path() / "c1x.parquet");
  std::vector<Row> rows = ReadAll(dir.path() / "a*.parquet");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].fields[0], "1");
  rows = ReadAll(dir.path() / "c[1]?.parquet");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].fields[0], "3");
}

TEST(ParquetSourceTest, ColumnNamedFileRowNumber) {
  TestDir dir("parquet_source");
  fs::path file = dir.path() / "frn.parquet";
  Writer().Copy("SELECT 5 AS file_row_number, 'a\"b' AS \"odd \"\"name\"\"\"", file);
  std::vector<std::string> header;
  std::vector<Row> rows = ReadAll(file, &header);
  EXPECT_EQ(header, (std::vector<std::string>{"file_row_number", "odd \"name\""}));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].line, 1u);
  EXPECT_EQ(rows[0].raw, "{\"file_row_number\":\"5\",\"odd \\\"name\\\"\":\"a\\\"b\"}");
}

// A file larger than the reader's memory limit streams through it: the source holds a few chunks, and the
// process grows far less than the file's rows take as text.
TEST(ParquetSourceTest, LargeFileInBoundedMemory) {
  TestDir dir("parquet_source");
  fs::path file = dir.path() / "large.parquet";
  constexpr int64_t kRows = 2000000;
  Writer w;
  w.Copy(
      "SELECT i AS id, 'customer ' || i || ' ' || md5(i::VARCHAR) AS name, (i % 100000) / 100 AS amount, "
      "TIMESTAMP '2024-01-01' + INTERVAL (i) SECOND AS updated_at FROM range(" +
          std::to_string(kRows) + ") t(i)",
      file, 100000);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(w.Scalar("SELECT count(*) FROM read_parquet($1)", file.string()), std::to_string(kRows));
  auto t1 = std::chrono::steady_clock::now();
  EXPECT_NE(w.Scalar("SELECT max(length(name)) + max(length(CAST(updated_at AS VARCHAR))) + "
                     "max(length(CAST(amount AS VARCHAR))) FROM read_parquet($1)",
                     file.string()),
            "");
  auto t2 = std::chrono::steady_clock::now();

  long rss_before = RssKb();
  long rss_peak = rss_before;
  ParquetSource source(file, "64MB");
  std::vector<std::string> names;
  ASSERT_TRUE(source.ReadHeader(names).ok());
  SourceRecord record;
  std::string why;
  uint64_t n = 0;
  uint64_t text_bytes = 0;
  size_t most_chunks = 0;
  while (true) {
    SourceStatus st = source.Next(record, why);
    if (st == SourceStatus::kEnd) {
      break;
    }
    ASSERT_EQ(st, SourceStatus::kRecord) << source.failure().message;
    ASSERT_EQ(record.line, ++n);
    for (const SourceField& f : record.fields) {
      text_bytes += f.text.size();
    }
    text_bytes += record.raw.size();
    if (n % 4096 == 0) {
      most_chunks = std::max(most_chunks, source.held_chunks());
      if (n % (64 * 4096) == 0) {
        rss_peak = std::max(rss_peak, RssKb());
      }
      source.Release();
    }
  }
  auto t3 = std::chrono::steady_clock::now();
  long grown_kb = rss_peak - rss_before;
  EXPECT_EQ(n, static_cast<uint64_t>(kRows));
  EXPECT_LE(most_chunks, 4u);
  // Loosely (sampled, and allocators keep memory): far below the rows' text, let alone the whole file's.
  EXPECT_LT(static_cast<uint64_t>(grown_kb) * 1024, text_bytes / 4)
      << "grew " << grown_kb << " KiB for " << text_bytes << " bytes of text";
  auto secs = [](auto d) { return std::chrono::duration<double>(d).count(); };
  std::cout << "[ parquet ] " << kRows << " rows, " << fs::file_size(file) / 1024 << " KiB file, "
            << text_bytes / (1024 * 1024) << " MiB as text (fields + raw): ParquetSource "
            << static_cast<double>(kRows) / secs(t3 - t2) << " rows/s (" << secs(t3 - t2) << " s); count(*) "
            << secs(t1 - t0) << " s; cast of every column to text, aggregated " << secs(t2 - t1)
            << " s; RSS grew " << grown_kb / 1024 << " MiB\n";
}

// Hostile Parquet files for tests/hostile/: written here (no DuckDB CLI or pyarrow is at hand), into
// $DIMSTREAM_HOSTILE_PARQUET_DIR when it is set, and checked through the parser.
TEST(ParquetSourceTest, HostileFiles) {
  TestDir scratch("parquet_source");
  const char* env = std::getenv("DIMSTREAM_HOSTILE_PARQUET_DIR");
  fs::path dir = env != nullptr && *env != '\0' ? fs::path(env) : scratch.path();
  fs::create_directories(dir);
  Writer w;
  EntitySpec customer;  // the built-in entity

  fs::path wrong_key = dir / "parquet_wrong_key_type.parquet";
  w.Copy(
      "SELECT * FROM (VALUES ('1', 'Ann'), ('x7', 'Bob'), ('3', 'Cy'), (NULL, 'Di')) t(customer_id, "
      "first_name)",
      wrong_key);
  ParsedParquet p = ParseParquet(wrong_key, customer);
  ASSERT_FALSE(p.failed) << p.error;
  EXPECT_EQ(p.rows.line, (std::vector<uint64_t>{1, 3}));
  ASSERT_EQ(p.rejects.size(), 2u);
  EXPECT_EQ(p.rejects[0].reason, "line 2: key \"customer_id\" is \"x7\", not a bigint");
  EXPECT_EQ(p.rejects[1].reason, "line 4: key \"customer_id\" is empty");

  fs::path nested = dir / "parquet_nested_columns.parquet";
  w.Copy(
      "SELECT 1::BIGINT AS customer_id, {'line1': '1 Main St', 'zip': 12345} AS street, "
      "['Ann', 'Annie'] AS first_name, MAP {'home': 'a@example.com'} AS email",
      nested);
  p = ParseParquet(nested, customer);
  ASSERT_FALSE(p.failed) << p.error;
  ASSERT_EQ(p.rows.size(), 1u);
  EXPECT_TRUE(p.rejects.empty());
  EXPECT_EQ(p.rows.columns[1].texts[0], "[\"Ann\",\"Annie\"]");
  EXPECT_EQ(p.rows.columns[3].texts[0], "{\"home\":\"a@example.com\"}");
  EXPECT_EQ(p.rows.columns[4].texts[0], "{\"line1\":\"1 Main St\",\"zip\":12345}");

  fs::path corrupt = dir / "parquet_corrupt_footer.parquet";
  fs::path scratch_file = scratch.path() / "whole.parquet";
  w.Copy("SELECT i AS customer_id, 'n' || i AS first_name FROM range(1000) t(i)", scratch_file);
  std::string bytes;
  {
    std::ifstream in(scratch_file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  // Keeps the footer's length and magic, spoils the footer (Thrift) before them.
  for (size_t k = bytes.size() - 60; k < bytes.size() - 8; ++k) {
    bytes[k] = static_cast<char>(0xFF);
  }
  std::ofstream(corrupt, std::ios::binary) << bytes;
  p = ParseParquet(corrupt, customer);
  EXPECT_TRUE(p.failed);
  EXPECT_TRUE(p.error.starts_with("cannot read parquet_corrupt_footer.parquet as Parquet: ")) << p.error;
  EXPECT_TRUE(p.rows.line.empty());
}

}  // namespace
}  // namespace dimstream
