#include "warehouse/duckdb/query_text.h"

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "warehouse/duckdb/duckdb_handles.h"
#include "warehouse/sql.h"

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

// A materialized result, read value by value.
QueryResult ResultAsText(duckdb_result* r) {
  QueryResult out;
  idx_t columns = duckdb_column_count(r);
  for (idx_t c = 0; c < columns; ++c) {
    out.columns.emplace_back(duckdb_column_name(r, c));
    out.kinds.push_back(KindOf(duckdb_column_type(r, c)));
  }
  idx_t rows = duckdb_row_count(r);
  out.rows.reserve(rows);
  for (idx_t row = 0; row < rows; ++row) {
    std::vector<Value> values;
    values.reserve(columns);
    for (idx_t c = 0; c < columns; ++c) {
      if (duckdb_value_is_null(r, c, row)) {
        values.emplace_back(std::nullopt);
      } else {
        char* text = duckdb_value_varchar(r, c, row);
        values.emplace_back(text != nullptr ? text : "");
        duckdb_free(text);
      }
    }
    out.rows.push_back(std::move(values));
  }
  return out;
}

class Extracted {
 public:
  ~Extracted() { duckdb_destroy_extracted(&statements); }
  duckdb_extracted_statements statements = nullptr;
};

// The kind of statement, as its SQL begins.
const char* KindName(duckdb_statement_type type) {
  switch (type) {
    case DUCKDB_STATEMENT_TYPE_SELECT:
      return "SELECT";
    case DUCKDB_STATEMENT_TYPE_INSERT:
      return "INSERT";
    case DUCKDB_STATEMENT_TYPE_UPDATE:
      return "UPDATE";
    case DUCKDB_STATEMENT_TYPE_EXPLAIN:
      return "EXPLAIN";
    case DUCKDB_STATEMENT_TYPE_DELETE:
      return "DELETE";
    case DUCKDB_STATEMENT_TYPE_PREPARE:
      return "PREPARE";
    case DUCKDB_STATEMENT_TYPE_CREATE:
      return "CREATE";
    case DUCKDB_STATEMENT_TYPE_EXECUTE:
      return "EXECUTE";
    case DUCKDB_STATEMENT_TYPE_ALTER:
      return "ALTER";
    case DUCKDB_STATEMENT_TYPE_TRANSACTION:
      return "TRANSACTION";
    case DUCKDB_STATEMENT_TYPE_COPY:
      return "COPY";
    case DUCKDB_STATEMENT_TYPE_ANALYZE:
      return "ANALYZE";
    case DUCKDB_STATEMENT_TYPE_VARIABLE_SET:
      return "SET VARIABLE";
    case DUCKDB_STATEMENT_TYPE_CREATE_FUNC:
      return "CREATE FUNCTION";
    case DUCKDB_STATEMENT_TYPE_DROP:
      return "DROP";
    case DUCKDB_STATEMENT_TYPE_EXPORT:
      return "EXPORT";
    case DUCKDB_STATEMENT_TYPE_PRAGMA:
      return "PRAGMA";
    case DUCKDB_STATEMENT_TYPE_VACUUM:
      return "VACUUM";
    case DUCKDB_STATEMENT_TYPE_CALL:
      return "CALL";
    case DUCKDB_STATEMENT_TYPE_SET:
      return "SET/RESET";
    case DUCKDB_STATEMENT_TYPE_LOAD:
      return "LOAD/INSTALL";
    case DUCKDB_STATEMENT_TYPE_ATTACH:
      return "ATTACH";
    case DUCKDB_STATEMENT_TYPE_DETACH:
      return "DETACH";
    default:
      return "unknown";
  }
}

constexpr const char* kAllowed = "only SELECT and EXPLAIN of a SELECT are allowed";
constexpr const char* kBeginReadOnly = "BEGIN TRANSACTION READ ONLY";

// True for the first words of DuckDB's statements that read: the port's (sql.h) and DuckDB's own.
bool IsDuckDbReadingKeyword(std::string_view word) {
  constexpr std::array<std::string_view, 6> kDuckDb = {"FROM",      "DESCRIBE", "SHOW",
                                                       "SUMMARIZE", "PIVOT",    "UNPIVOT"};
  return IsReadingKeyword(word) || std::find(kDuckDb.begin(), kDuckDb.end(), word) != kDuckDb.end();
}

// Why `sql` may not even be prepared, from its first words; empty when they are a read's. Preparing binds
// the statement, and binding some does something already (EXPORT DATABASE makes its directory).
std::string RefusalByWords(const std::string& sql) {
  std::string_view rest;
  const std::string word = FirstKeyword(sql, &rest);
  if (word.empty()) {
    return fmt::format("refused: no keyword begins the statement; {}", kAllowed);
  }
  if (!IsDuckDbReadingKeyword(word)) {
    return fmt::format("refused: {} statement; {}", word, kAllowed);
  }
  if (word != "EXPLAIN") {
    return {};
  }
  std::string_view after;
  std::string explained = FirstKeyword(rest, &after);
  if (explained == "ANALYZE" || explained == "ANALYSE") {
    explained = FirstKeyword(after);
  }
  return IsDuckDbReadingKeyword(explained) && explained != "EXPLAIN"
             ? std::string()
             : fmt::format("refused: EXPLAIN of {} statement; {}", explained.empty() ? "a" : explained,
                           kAllowed);
}

// Why the prepared statement `sql` of `type` may not run; empty when it is a SELECT or an EXPLAIN.
std::string RefusalByType(const std::string& sql, duckdb_statement_type type) {
  if (type == DUCKDB_STATEMENT_TYPE_SELECT || type == DUCKDB_STATEMENT_TYPE_EXPLAIN) {
    return {};
  }
  return fmt::format("refused: {} statement (it begins with {}); {}", KindName(type), FirstKeyword(sql),
                     kAllowed);
}

// DuckDB's message of a failed result.
std::string ErrorOf(duckdb_result* r) {
  const char* error = duckdb_result_error(r);
  return error != nullptr ? error : "unknown error";
}

// Runs the one statement `sql`, prepared as `stmt`, in the open read-only transaction as QueryAsText would.
// What the transaction refuses (nextval, a write through EXPLAIN ANALYZE) is refused as a write.
Result<QueryResult> RunReading(duckdb_connection conn, const std::string& sql, duckdb_prepared_statement stmt,
                               duckdb_statement_type type) {
  if (type == DUCKDB_STATEMENT_TYPE_SELECT) {
    if (auto select = SelectAsText(conn, sql)) {
      return std::move(*select);
    }
    // Its text query may have failed, and a failure aborts the transaction: a fresh one for the statement.
    if (duckdb_query(conn, "ROLLBACK", nullptr) != DuckDBSuccess ||
        duckdb_query(conn, kBeginReadOnly, nullptr) != DuckDBSuccess) {
      return Error::Retryable("cannot start the read-only query's transaction again");
    }
  }
  QueryResultHandle r;
  if (duckdb_execute_prepared(stmt, r.get()) != DuckDBSuccess) {
    const std::string error = ErrorOf(r.get());
    if (error.find("read-only mode") != std::string::npos) {
      return Error::Invalid(fmt::format("refused: the statement writes; {}: {}", kAllowed, error));
    }
    return Error::Invalid(error);
  }
  return ResultAsText(r.get());
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
  return ResultAsText(r.get());
}

Result<QueryResult> ReadOnlyQueryAsText(duckdb_connection conn, const std::string& sql) {
  Extracted extracted;
  const idx_t count = duckdb_extract_statements(conn, sql.c_str(), &extracted.statements);
  if (count != 1) {
    const char* error = duckdb_extract_statements_error(extracted.statements);
    if (count == 0 && error != nullptr) {
      return Error::Invalid(error);
    }
    return Error::Invalid(fmt::format("refused: {} statements; {}, one at a time", count, kAllowed));
  }
  if (std::string refused = RefusalByWords(sql); !refused.empty()) {
    return Error::Invalid(refused);
  }
  Prepared p;
  if (duckdb_prepare_extracted_statement(conn, extracted.statements, 0, &p.stmt) != DuckDBSuccess) {
    const char* error = duckdb_prepare_error(p.stmt);
    return Error::Invalid(error != nullptr ? error : "cannot prepare the statement");
  }
  const duckdb_statement_type type = duckdb_prepared_statement_type(p.stmt);
  if (std::string refused = RefusalByType(sql, type); !refused.empty()) {
    return Error::Invalid(refused);
  }
  QueryResultHandle begun;
  if (duckdb_query(conn, kBeginReadOnly, begun.get()) != DuckDBSuccess) {
    return ToError("begin the read-only query's transaction", ErrorOf(begun.get()));
  }
  auto out = RunReading(conn, sql, p.stmt, type);
  QueryResultHandle rolled_back;
  if (duckdb_query(conn, "ROLLBACK", rolled_back.get()) != DuckDBSuccess && out.ok()) {
    return ToError("roll the read-only query back", ErrorOf(rolled_back.get()));
  }
  return out;
}

}  // namespace dimstream::duck
