#include "warehouse/duckdb/query_text.h"

#include <fmt/format.h>

#include "warehouse/duckdb/duckdb_handles.h"

namespace dimstream::duck {
namespace {

ColumnKind KindOf(duckdb_type type) {
  switch (type) {
    case DUCKDB_TYPE_BOOLEAN:
      return ColumnKind::kBoolean;
    case DUCKDB_TYPE_TINYINT:
    case DUCKDB_TYPE_SMALLINT:
    case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_UTINYINT:
    case DUCKDB_TYPE_USMALLINT:
    case DUCKDB_TYPE_UINTEGER:
    case DUCKDB_TYPE_UBIGINT:
    case DUCKDB_TYPE_HUGEINT:
    case DUCKDB_TYPE_UHUGEINT:
    case DUCKDB_TYPE_FLOAT:
    case DUCKDB_TYPE_DOUBLE:
    case DUCKDB_TYPE_DECIMAL:
      return ColumnKind::kNumber;
    default:
      return ColumnKind::kText;
  }
}

class Prepared {
 public:
  ~Prepared() { duckdb_destroy_prepare(&stmt); }
  duckdb_prepared_statement stmt = nullptr;
};

// A single SELECT with text columns, run as `SELECT COLUMNS(*)::VARCHAR FROM (sql)` and read from its data
// chunks, where every value is a string with its length. nullopt when the query is not such a SELECT or
// does not run that way: then it runs as it is.
std::optional<QueryResult> SelectAsText(duckdb_connection conn, const std::string& sql) {
  std::string body = sql;
  while (!body.empty() && (body.back() == ';' || body.back() == ' ' || body.back() == '\n' ||
                           body.back() == '\t' || body.back() == '\r')) {
    body.pop_back();
  }
  Prepared p;
  if (duckdb_prepare(conn, body.c_str(), &p.stmt) != DuckDBSuccess ||
      duckdb_prepared_statement_type(p.stmt) != DUCKDB_STATEMENT_TYPE_SELECT) {
    return std::nullopt;
  }
  QueryResult out;
  bool text = false;
  idx_t columns = duckdb_prepared_statement_column_count(p.stmt);
  for (idx_t c = 0; c < columns; ++c) {
    duckdb_type type = duckdb_prepared_statement_column_type(p.stmt, c);
    const char* name = duckdb_prepared_statement_column_name(p.stmt, c);  // ours to free
    out.columns.emplace_back(name != nullptr ? name : "");
    duckdb_free(const_cast<char*>(name));
    out.kinds.push_back(KindOf(type));
    text |= type == DUCKDB_TYPE_VARCHAR;
  }
  if (!text || columns == 0) {
    return std::nullopt;  // nothing a NUL can hide in
  }
  QueryResultHandle r;
  std::string wrapped = "SELECT COLUMNS(*)::VARCHAR FROM (" + body + "\n) AS dimstream_query";
  if (duckdb_query(conn, wrapped.c_str(), r.get()) != DuckDBSuccess ||
      duckdb_column_count(r.get()) != columns) {
    return std::nullopt;
  }
  idx_t chunks = duckdb_result_chunk_count(*r.get());
  for (idx_t i = 0; i < chunks; ++i) {
    duckdb_data_chunk chunk = duckdb_result_get_chunk(*r.get(), i);
    idx_t n = duckdb_data_chunk_get_size(chunk);
    std::vector<duckdb_string_t*> data(columns);
    std::vector<uint64_t*> validity(columns);
    for (idx_t c = 0; c < columns; ++c) {
      duckdb_vector v = duckdb_data_chunk_get_vector(chunk, c);
      data[c] = static_cast<duckdb_string_t*>(duckdb_vector_get_data(v));
      validity[c] = duckdb_vector_get_validity(v);
    }
    for (idx_t row = 0; row < n; ++row) {
      std::vector<Value> values;
      values.reserve(columns);
      for (idx_t c = 0; c < columns; ++c) {
        if (validity[c] != nullptr && !duckdb_validity_row_is_valid(validity[c], row)) {
          values.emplace_back(std::nullopt);
        } else {
          duckdb_string_t* s = data[c] + row;
          values.emplace_back(std::string(duckdb_string_t_data(s), duckdb_string_t_length(*s)));
        }
      }
      out.rows.push_back(std::move(values));
    }
    duckdb_destroy_data_chunk(&chunk);
  }
  return out;
}

}  // namespace

Result<QueryResult> QueryAsText(duckdb_connection conn, const std::string& sql) {
  if (auto select = SelectAsText(conn, sql)) {
    return std::move(*select);
  }
  QueryResultHandle r;
  if (duckdb_query(conn, sql.c_str(), r.get()) != DuckDBSuccess) {
    return Error::Invalid(duckdb_result_error(r.get()));
  }
  QueryResult out;
  idx_t columns = duckdb_column_count(r.get());
  for (idx_t c = 0; c < columns; ++c) {
    out.columns.emplace_back(duckdb_column_name(r.get(), c));
    out.kinds.push_back(KindOf(duckdb_column_type(r.get(), c)));
  }
  idx_t rows = duckdb_row_count(r.get());
  out.rows.reserve(rows);
  for (idx_t row = 0; row < rows; ++row) {
    std::vector<Value> values;
    values.reserve(columns);
    for (idx_t c = 0; c < columns; ++c) {
      if (duckdb_value_is_null(r.get(), c, row)) {
        values.emplace_back(std::nullopt);
      } else {
        char* text = duckdb_value_varchar(r.get(), c, row);
        values.emplace_back(text != nullptr ? text : "");
        duckdb_free(text);
      }
    }
    out.rows.push_back(std::move(values));
  }
  return out;
}

}  // namespace dimstream::duck
