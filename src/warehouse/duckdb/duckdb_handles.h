#pragma once

#include <duckdb.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/error.h"
#include "common/typed_value.h"
#include "common/types.h"
#include "common/value_type.h"

namespace dimstream::duck {

// Owning wrappers over DuckDB's C handles, and the few operations the adapter needs on them. Used by
// DuckDbWarehouse only; each Connection is used from one thread at a time.

struct Timestamp {
  Micros micros;
};
using Param = std::variant<std::monostate, int64_t, uint64_t, std::string, Timestamp, bool>;

class QueryResultHandle {
 public:
  QueryResultHandle() = default;
  QueryResultHandle(const QueryResultHandle&) = delete;
  QueryResultHandle& operator=(const QueryResultHandle&) = delete;
  ~QueryResultHandle() { duckdb_destroy_result(&result_); }
  duckdb_result* get() { return &result_; }

 private:
  duckdb_result result_{};
};

class Connection {
 public:
  explicit Connection(duckdb_database db);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  bool ok() const { return conn_ != nullptr; }
  duckdb_connection get() const { return conn_; }

  // Runs SQL without parameters (DDL, BEGIN, COMMIT).
  Status Exec(const std::string& sql);
  // Runs SQL with bound parameters; `out` (optional) receives the materialized result.
  Status Run(const std::string& sql, const std::vector<Param>& params, QueryResultHandle* out = nullptr);
  // Like Run, but the result streams: chunks are computed as they are fetched instead of all held in
  // memory first (for results of millions of rows). No other statement may run on this connection
  // until the result is read or destroyed.
  Status Stream(const std::string& sql, const std::vector<Param>& params, QueryResultHandle* out);
  // A single BIGINT (or NULL -> nullopt) from the first row, first column.
  Result<std::optional<int64_t>> ScalarInt(const std::string& sql, const std::vector<Param>& params = {});
  // Runs an INSERT, UPDATE or DELETE; returns how many rows it changed.
  Result<idx_t> Changed(const std::string& sql, const std::vector<Param>& params = {});

 private:
  Status Execute(const std::string& sql, const std::vector<Param>& params, QueryResultHandle* out,
                 bool streaming);

  duckdb_connection conn_ = nullptr;
};

// Maps a DuckDB error message to a kind: lock conflicts and I/O trouble are retryable.
Error ToError(const std::string& what, const std::string& message);

// Reads a materialized result chunk by chunk; `row` is called with an accessor per row.
class ChunkReader {
 public:
  explicit ChunkReader(duckdb_result* result) : result_(result) {}
  // Calls on_row(chunk_row) for every row; getters below read the current chunk.
  void ForEach(const std::function<void(idx_t)>& on_row);
  bool IsNull(idx_t col, idx_t row) const;
  int64_t GetInt64(idx_t col, idx_t row) const;
  uint64_t GetUInt64(idx_t col, idx_t row) const;
  bool GetBool(idx_t col, idx_t row) const;
  // VARCHAR and BLOB.
  std::string_view GetText(idx_t col, idx_t row) const;
  // Appends the order-preserving encoding (common/typed_value.h) of the value, which must not be NULL, of a
  // column of `type` (as the entity declares it: the result column is of that type's SQL type).
  void AppendEncoding(idx_t col, idx_t row, const ColumnType& type, std::string& out) const;
  std::optional<std::string> GetOptText(idx_t col, idx_t row) const;

 private:
  duckdb_result* result_;
  duckdb_data_chunk chunk_ = nullptr;
  std::vector<void*> data_;
  std::vector<uint64_t*> validity_;
};

// Appends rows to one table inside the connection's current transaction.
class Appender {
 public:
  Appender(Connection& conn, const std::string& table);
  // A table of another catalog ("temp" for temporary tables).
  Appender(Connection& conn, const std::string& catalog, const std::string& table);
  Appender(const Appender&) = delete;
  Appender& operator=(const Appender&) = delete;
  ~Appender();

  Status status() const { return status_; }
  void Int64(int64_t v) { Check(duckdb_append_int64(app_, v)); }
  void UInt8(uint8_t v) { Check(duckdb_append_uint8(app_, v)); }
  void UInt64(uint64_t v) { Check(duckdb_append_uint64(app_, v)); }
  void Bool(bool v) { Check(duckdb_append_bool(app_, v)); }
  void Null() { Check(duckdb_append_null(app_)); }
  void Text(std::string_view v) { Check(duckdb_append_varchar_length(app_, v.data(), v.size())); }
  void OptText(const std::optional<std::string>& v) { v ? Text(*v) : Null(); }
  void Time(Micros t) { Check(duckdb_append_timestamp(app_, duckdb_timestamp{t})); }
  void OptTime(const std::optional<Micros>& t) { t ? Time(*t) : Null(); }
  void EndRow() { Check(duckdb_appender_end_row(app_)); }
  // Flushes and closes; returns the first error met.
  Status Close();

 private:
  void Check(duckdb_state st);
  duckdb_appender app_ = nullptr;
  Status status_;
  std::string table_;
};

// Appends rows to one table inside the connection's current transaction a data chunk at a time
// (duckdb_append_data_chunk), the values written straight into the chunk's vectors in the table's column
// types: several times cheaper than value-by-value appends. Set every column of a row, then EndRow.
class ChunkAppender {
 public:
  ChunkAppender(Connection& conn, const std::string& table);
  // A table of another catalog ("temp" for temporary tables).
  ChunkAppender(Connection& conn, const std::string& catalog, const std::string& table);
  ChunkAppender(const ChunkAppender&) = delete;
  ChunkAppender& operator=(const ChunkAppender&) = delete;
  ~ChunkAppender();

  Status status() const { return status_; }
  idx_t column_count() const { return types_.size(); }
  // The column's type as DuckDB stores it (a decimal's internal integer type for DECIMAL columns).
  duckdb_type physical_type(idx_t col) const { return physical_[col]; }

  void Null(idx_t col);
  void Int64(idx_t col, int64_t v) { Put<int64_t>(col, v); }
  void UInt64(idx_t col, uint64_t v) { Put<uint64_t>(col, v); }
  void Double(idx_t col, double v) { Put<double>(col, v); }
  void Bool(idx_t col, bool v) { Put<bool>(col, v); }
  void Date(idx_t col, int32_t days) { Put<int32_t>(col, days); }
  void Time(idx_t col, Micros t) { Put<int64_t>(col, t); }
  // A DECIMAL column's unscaled value, in whatever width the column stores.
  void Decimal(idx_t col, int64_t unscaled, Int128 wide);
  // VARCHAR or BLOB: the bytes are copied into the chunk.
  void Text(idx_t col, std::string_view v);
  // A value of a column declared as `type` (common/typed_value.h says which field of the Datum holds it).
  void Put(idx_t col, const ColumnType& type, const Datum& value);
  void EndRow();
  // Appends what is left and closes the appender; returns the first error met.
  Status Close();

 private:
  template <typename T>
  void Put(idx_t col, T v) {
    static_cast<T*>(data_[col])[row_] = v;
  }
  void Open(Connection& conn, const char* catalog, const std::string& table);
  void NewChunk();
  void Flush();

  duckdb_appender app_ = nullptr;
  Status status_;
  std::string table_;
  std::vector<duckdb_logical_type> types_;
  std::vector<duckdb_type> physical_;
  duckdb_data_chunk chunk_ = nullptr;
  std::vector<duckdb_vector> vectors_;
  std::vector<void*> data_;
  idx_t row_ = 0;
  idx_t capacity_ = 0;
};

}  // namespace dimstream::duck
