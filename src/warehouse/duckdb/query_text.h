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

}  // namespace dimstream::duck
