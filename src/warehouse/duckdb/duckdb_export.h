#pragma once

#include "warehouse/duckdb/duckdb_handles.h"
#include "warehouse/warehouse.h"

namespace dimstream::duck {

// Writes each table of `request` with COPY ... TO, inside one read-only transaction on `conn` (one snapshot;
// a query that would write, nextval say, fails; it is rolled back). CSV with a header line, NULL as an empty
// field; Parquet with zstd, DuckDB's types kept.
Result<ExportReceipt> ExportSnapshot(Connection& conn, const ExportRequest& request);

}  // namespace dimstream::duck
