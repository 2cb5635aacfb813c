#pragma once

#include <duckdb.h>

#include <string>

#include "common/error.h"
#include "warehouse/warehouse.h"

namespace dimstream::duck {

// Runs any SQL the user gives (`dimstream sql`, `status`, `check`) on `conn` and returns its last result as
// text, every value whole: text is read with its length, so a NUL byte inside it is kept (DuckDB's
// value-by-value C functions stop at the first one). The error is DuckDB's message, kInvalidInput.
Result<QueryResult> QueryAsText(duckdb_connection conn, const std::string& sql);

// Runs `sql` on `conn` as QueryAsText does if it is one SELECT or one EXPLAIN of a SELECT, in a READ ONLY
// transaction rolled back after it: what writes inside it (nextval, EXPLAIN ANALYZE of a DELETE) fails
// there. Anything else, and several statements, are refused (kInvalidInput, the message naming the kind of
// statement); a statement is prepared only once its first words are a read's, since binding some does
// something already (EXPORT DATABASE makes its directory).
Result<QueryResult> ReadOnlyQueryAsText(duckdb_connection conn, const std::string& sql);

}  // namespace dimstream::duck
