#pragma once

// The seed baseline's database for dimstream_bench_merge: a DuckDB file of its own, reached through the
// DuckDB C API, with prepared statements and their parameters.
#include <duckdb.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bench/merge/common.h"
#include "common/types.h"

namespace dimstream {

// A value bound to a prepared statement's parameter.
struct SqlParam {
  enum class Kind { kText, kTimestamp };
  Kind kind = Kind::kText;
  std::string text;
  Micros time = 0;
  static SqlParam Text(std::string s) { return {Kind::kText, std::move(s), 0}; }
  static SqlParam Time(Micros t) { return {Kind::kTimestamp, {}, t}; }
};

// The seed's database: its own DuckDB file, opened with the warehouse's DuckDB settings except its memory
// limit (DuckDB's default instead: the seed's MERGE INTO ran out of memory with 320MB at 1M keys, and
// needs more than dimstream does), and one connection.
// Owned by the baseline phase; used from the main thread only.
class SeedDb {
 public:
  static Result<std::unique_ptr<SeedDb>> Open(const fs::path& path, const DuckDbOptions& like);
  SeedDb(const SeedDb&) = delete;
  SeedDb& operator=(const SeedDb&) = delete;
  ~SeedDb();

  Status Exec(const std::string& sql) { return Run(sql, {}); }

  // Runs `sql` with `params` bound to $1, $2, ...; the first column of the result as text into `column`.
  Status Run(const std::string& sql, const std::vector<SqlParam>& params,
             std::vector<std::optional<std::string>>* column = nullptr);

  Result<int64_t> Int(const std::string& sql, const std::vector<SqlParam>& params = {});

 private:
  SeedDb() = default;
  duckdb_database db_ = nullptr;
  duckdb_connection conn_ = nullptr;
};

}  // namespace dimstream
