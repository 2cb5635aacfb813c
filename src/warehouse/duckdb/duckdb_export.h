#pragma once

#include <string>

#include "warehouse/duckdb/duckdb_handles.h"
#include "warehouse/warehouse.h"

namespace dimstream::duck {

// DuckDB's `COPY (query) TO 'path' (...)` of one table: what ExportSnapshot runs, and what `export` sends to
// a running process's query socket when that process holds the file.
std::string CopyStatement(const ExportTable& table);

// Writes each table of `request` with COPY ... TO, inside one read-only transaction on `conn` (one snapshot;
// a query that would write, nextval say, fails; it is rolled back). CSV with a header line, NULL as an empty
// field; Parquet with zstd, DuckDB's types kept.
Result<ExportReceipt> ExportSnapshot(Connection& conn, const ExportRequest& request);

}  // namespace dimstream::duck
