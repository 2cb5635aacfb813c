#include "warehouse/duckdb/duckdb_handles.h"

#include <chrono>

#include <spdlog/spdlog.h>

#include "common/typed_value.h"
#include "warehouse/sql.h"

namespace dimstream::duck {
namespace {

duckdb_state Bind(duckdb_prepared_statement stmt, idx_t i, const Param& p) {
  return std::visit(
      [&](const auto& v) -> duckdb_state {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return duckdb_bind_null(stmt, i);
        } else if constexpr (std::is_same_v<T, int64_t>) {
          return duckdb_bind_int64(stmt, i, v);
        } else if constexpr (std::is_same_v<T, uint64_t>) {
          return duckdb_bind_uint64(stmt, i, v);
        } else if constexpr (std::is_same_v<T, std::string>) {
          return duckdb_bind_varchar_length(stmt, i, v.data(), v.size());
        } else if constexpr (std::is_same_v<T, Timestamp>) {
          return duckdb_bind_timestamp(stmt, i, duckdb_timestamp{v.micros});
        } else {
          return duckdb_bind_boolean(stmt, i, v);
        }
      },
      p);
}

class Prepared {
 public:
  ~Prepared() { duckdb_destroy_prepare(&stmt_); }
  duckdb_prepared_statement stmt_ = nullptr;
};

}  // namespace

Error ToError(const std::string& what, const std::string& message) {
  bool retryable =
      message.find("lock") != std::string::npos || message.find("Conflict") != std::string::npos ||
      message.find("IO Error") != std::string::npos || message.find("No space left") != std::string::npos;
  std::string text = what + ": " + message;
  return retryable ? Error::Retryable(text) : Error::Permanent(text);
}

Connection::Connection(duckdb_database db) {
  if (duckdb_connect(db, &conn_) != DuckDBSuccess) {
    conn_ = nullptr;
  }
}

Connection::~Connection() {
  if (conn_ != nullptr) {
    duckdb_disconnect(&conn_);
  }
}

namespace {

// Statements that take long are logged at trace level: where a merge run's time goes, statement by statement.
class StatementTimer {
 public:
  explicit StatementTimer(const std::string& sql) : sql_(sql), start_(std::chrono::steady_clock::now()) {}
  ~StatementTimer() {
    auto us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start_);
    if (us.count() >= 10000 && spdlog::should_log(spdlog::level::trace)) {
      spdlog::trace("duckdb: {:.1f} ms: {}", static_cast<double>(us.count()) / 1000.0, sql_.substr(0, 160));
    }
  }
  StatementTimer(const StatementTimer&) = delete;
  StatementTimer& operator=(const StatementTimer&) = delete;

 private:
  const std::string& sql_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

Status Connection::Exec(const std::string& sql) {
  StatementTimer timer(sql);
  QueryResultHandle r;
  if (duckdb_query(conn_, sql.c_str(), r.get()) != DuckDBSuccess) {
    return ToError("query failed", duckdb_result_error(r.get()));
  }
  return Ok();
}

Status Connection::Run(const std::string& sql, const std::vector<Param>& params, QueryResultHandle* out) {
  return Execute(sql, params, out, false);
}

Status Connection::Stream(const std::string& sql, const std::vector<Param>& params, QueryResultHandle* out) {
  return Execute(sql, params, out, true);
}

Status Connection::Execute(const std::string& sql, const std::vector<Param>& params, QueryResultHandle* out,
                           bool streaming) {
  StatementTimer timer(sql);
  Prepared p;
  if (duckdb_prepare(conn_, sql.c_str(), &p.stmt_) != DuckDBSuccess) {
    return ToError("cannot prepare query", duckdb_prepare_error(p.stmt_));
  }
  for (idx_t i = 0; i < params.size(); ++i) {
    if (Bind(p.stmt_, i + 1, params[i]) != DuckDBSuccess) {
      return Error::Permanent("cannot bind parameter " + std::to_string(i + 1));
    }
  }
  QueryResultHandle local;
  QueryResultHandle* r = out != nullptr ? out : &local;
  if (!streaming) {
    if (duckdb_execute_prepared(p.stmt_, r->get()) != DuckDBSuccess) {
      return ToError("query failed", duckdb_result_error(r->get()));
    }
    return Ok();
  }
  duckdb_pending_result pending = nullptr;
  if (duckdb_pending_prepared_streaming(p.stmt_, &pending) != DuckDBSuccess) {
    std::string message = pending != nullptr ? duckdb_pending_error(pending) : "no pending result";
    duckdb_destroy_pending(&pending);
    return ToError("query failed", message);
  }
  duckdb_state st = duckdb_execute_pending(pending, r->get());
  duckdb_destroy_pending(&pending);
  if (st != DuckDBSuccess) {
    return ToError("query failed", duckdb_result_error(r->get()));
  }
  return Ok();
}

Result<std::optional<int64_t>> Connection::ScalarInt(const std::string& sql,
                                                     const std::vector<Param>& params) {
  QueryResultHandle r;
  DIMSTREAM_TRY(Run(sql, params, &r));
  std::optional<int64_t> value;
  ChunkReader reader(r.get());
  reader.ForEach([&](idx_t row) {
    if (!value && !reader.IsNull(0, row)) {
      value = reader.GetInt64(0, row);
    }
  });
  return value;
}

Result<idx_t> Connection::Changed(const std::string& sql, const std::vector<Param>& params) {
  QueryResultHandle r;
  DIMSTREAM_TRY(Run(sql, params, &r));
  return duckdb_rows_changed(r.get());
}

void ChunkReader::ForEach(const std::function<void(idx_t)>& on_row) {
  idx_t columns = duckdb_column_count(result_);
  while (true) {
    chunk_ = duckdb_fetch_chunk(*result_);
    if (chunk_ == nullptr) {
      break;
    }
    idx_t n = duckdb_data_chunk_get_size(chunk_);
    data_.resize(columns);
    validity_.resize(columns);
    for (idx_t c = 0; c < columns; ++c) {
      duckdb_vector v = duckdb_data_chunk_get_vector(chunk_, c);
      data_[c] = duckdb_vector_get_data(v);
      validity_[c] = duckdb_vector_get_validity(v);
    }
    for (idx_t row = 0; row < n; ++row) {
      on_row(row);
    }
    duckdb_destroy_data_chunk(&chunk_);
  }
}

bool ChunkReader::IsNull(idx_t col, idx_t row) const {
  return validity_[col] != nullptr && !duckdb_validity_row_is_valid(validity_[col], row);
}

int64_t ChunkReader::GetInt64(idx_t col, idx_t row) const {
  return static_cast<int64_t*>(data_[col])[row];
}

uint64_t ChunkReader::GetUInt64(idx_t col, idx_t row) const {
  return static_cast<uint64_t*>(data_[col])[row];
}

bool ChunkReader::GetBool(idx_t col, idx_t row) const {
  return static_cast<bool*>(data_[col])[row];
}

std::string_view ChunkReader::GetText(idx_t col, idx_t row) const {
  auto* s = static_cast<duckdb_string_t*>(data_[col]) + row;
  return {duckdb_string_t_data(s), duckdb_string_t_length(*s)};
}

void ChunkReader::AppendEncoding(idx_t col, idx_t row, const ColumnType& type, std::string& out) const {
  Datum d;
  const void* data = data_[col];
  switch (type.kind) {
    case TypeKind::kText:
      d.text = GetText(col, row);
      break;
    case TypeKind::kBigint:
    case TypeKind::kTimestamp:  // microseconds, as DuckDB keeps a TIMESTAMP
      d.i = static_cast<const int64_t*>(data)[row];
      break;
    case TypeKind::kDate:  // days
      d.i = static_cast<const int32_t*>(data)[row];
      break;
    case TypeKind::kDouble:
      d.d = static_cast<const double*>(data)[row];
      break;
    case TypeKind::kBoolean:
      d.i = static_cast<const bool*>(data)[row] ? 1 : 0;
      break;
    case TypeKind::kDecimal:
      // Stored in the narrowest integer of its width (DuckDB's rule).
      if (type.precision <= 4) {
        d.i = static_cast<const int16_t*>(data)[row];
      } else if (type.precision <= 9) {
        d.i = static_cast<const int32_t*>(data)[row];
      } else if (type.precision <= 18) {
        d.i = static_cast<const int64_t*>(data)[row];
      } else {
        const duckdb_hugeint h = static_cast<const duckdb_hugeint*>(data)[row];
        d.wide = static_cast<Int128>((static_cast<UInt128>(static_cast<uint64_t>(h.upper)) << 64) | h.lower);
      }
      break;
  }
  AppendOrderedBytes(type, d, out);
}

std::optional<std::string> ChunkReader::GetOptText(idx_t col, idx_t row) const {
  if (IsNull(col, row)) {
    return std::nullopt;
  }
  return std::string(GetText(col, row));
}

Appender::Appender(Connection& conn, const std::string& table) : table_(table) {
  if (duckdb_appender_create(conn.get(), nullptr, table.c_str(), &app_) != DuckDBSuccess) {
    status_ = Error::Permanent("cannot append to " + QuoteIdent(table) + ": " +
                               (app_ != nullptr ? duckdb_appender_error(app_) : "no appender"));
  }
}

Appender::Appender(Connection& conn, const std::string& catalog, const std::string& table) : table_(table) {
  if (duckdb_appender_create_ext(conn.get(), catalog.c_str(), nullptr, table.c_str(), &app_) !=
      DuckDBSuccess) {
    status_ = Error::Permanent("cannot append to " + QuoteIdent(catalog) + "." + QuoteIdent(table) + ": " +
                               (app_ != nullptr ? duckdb_appender_error(app_) : "no appender"));
  }
}

Appender::~Appender() {
  if (app_ != nullptr) {
    duckdb_appender_destroy(&app_);
  }
}

void Appender::Check(duckdb_state st) {
  if (st != DuckDBSuccess && status_.ok()) {
    status_ = ToError("cannot append to " + QuoteIdent(table_), duckdb_appender_error(app_));
  }
}

Status Appender::Close() {
  if (status_.ok() && duckdb_appender_close(app_) != DuckDBSuccess) {
    status_ = ToError("cannot append to " + QuoteIdent(table_), duckdb_appender_error(app_));
  }
  return status_;
}

ChunkAppender::ChunkAppender(Connection& conn, const std::string& table) : table_(table) {
  Open(conn, nullptr, table);
}

ChunkAppender::ChunkAppender(Connection& conn, const std::string& catalog, const std::string& table)
    : table_(table) {
  Open(conn, catalog.c_str(), table);
}

void ChunkAppender::Open(Connection& conn, const char* catalog, const std::string& table) {
  if (duckdb_appender_create_ext(conn.get(), catalog, nullptr, table.c_str(), &app_) != DuckDBSuccess) {
    status_ = Error::Permanent("cannot append to " + QuoteIdent(table) + ": " +
                               (app_ != nullptr ? duckdb_appender_error(app_) : "no appender"));
    return;
  }
  idx_t n = duckdb_appender_column_count(app_);
  for (idx_t c = 0; c < n; ++c) {
    duckdb_logical_type t = duckdb_appender_column_type(app_, c);
    duckdb_type id = duckdb_get_type_id(t);
    types_.push_back(t);
    physical_.push_back(id == DUCKDB_TYPE_DECIMAL ? duckdb_decimal_internal_type(t) : id);
  }
  capacity_ = duckdb_vector_size();
  NewChunk();
}

ChunkAppender::~ChunkAppender() {
  if (chunk_ != nullptr) {
    duckdb_destroy_data_chunk(&chunk_);
  }
  for (auto& t : types_) {
    duckdb_destroy_logical_type(&t);
  }
  if (app_ != nullptr) {
    duckdb_appender_destroy(&app_);
  }
}

void ChunkAppender::NewChunk() {
  if (chunk_ != nullptr) {
    duckdb_destroy_data_chunk(&chunk_);
  }
  chunk_ = duckdb_create_data_chunk(types_.data(), types_.size());
  vectors_.resize(types_.size());
  data_.resize(types_.size());
  for (idx_t c = 0; c < types_.size(); ++c) {
    vectors_[c] = duckdb_data_chunk_get_vector(chunk_, c);
    data_[c] = duckdb_vector_get_data(vectors_[c]);
  }
  row_ = 0;
}

void ChunkAppender::Null(idx_t col) {
  duckdb_vector_ensure_validity_writable(vectors_[col]);
  duckdb_validity_set_row_invalid(duckdb_vector_get_validity(vectors_[col]), row_);
}

void ChunkAppender::Decimal(idx_t col, int64_t unscaled, Int128 wide) {
  switch (physical_[col]) {
    case DUCKDB_TYPE_SMALLINT:
      Put<int16_t>(col, static_cast<int16_t>(unscaled));
      break;
    case DUCKDB_TYPE_INTEGER:
      Put<int32_t>(col, static_cast<int32_t>(unscaled));
      break;
    case DUCKDB_TYPE_BIGINT:
      Put<int64_t>(col, unscaled);
      break;
    default: {
      auto u = static_cast<UInt128>(wide);
      Put<duckdb_hugeint>(col, duckdb_hugeint{static_cast<uint64_t>(u), static_cast<int64_t>(wide >> 64)});
    }
  }
}

void ChunkAppender::Text(idx_t col, std::string_view v) {
  duckdb_vector_assign_string_element_len(vectors_[col], row_, v.data(), v.size());
}

void ChunkAppender::Put(idx_t col, const ColumnType& type, const Datum& value) {
  switch (type.kind) {
    case TypeKind::kText:
      Text(col, value.text);
      break;
    case TypeKind::kBigint:
    case TypeKind::kTimestamp:
      Int64(col, value.i);
      break;
    case TypeKind::kDouble:
      Double(col, value.d);
      break;
    case TypeKind::kDecimal:
      Decimal(col, value.i, value.wide);
      break;
    case TypeKind::kBoolean:
      Bool(col, value.i != 0);
      break;
    case TypeKind::kDate:
      Date(col, static_cast<int32_t>(value.i));
      break;
  }
}

void ChunkAppender::EndRow() {
  if (++row_ == capacity_) {
    Flush();
  }
}

void ChunkAppender::Flush() {
  if (row_ == 0 || !status_.ok()) {
    return;
  }
  duckdb_data_chunk_set_size(chunk_, row_);
  if (duckdb_append_data_chunk(app_, chunk_) != DuckDBSuccess) {
    status_ = ToError("cannot append to " + QuoteIdent(table_), duckdb_appender_error(app_));
  }
  NewChunk();
}

Status ChunkAppender::Close() {
  if (!status_.ok()) {
    return status_;
  }
  Flush();
  if (status_.ok() && duckdb_appender_close(app_) != DuckDBSuccess) {
    status_ = ToError("cannot append to " + QuoteIdent(table_), duckdb_appender_error(app_));
  }
  return status_;
}

}  // namespace dimstream::duck
