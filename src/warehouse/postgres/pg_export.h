#pragma once

#include "warehouse/postgres/pg_connection.h"
#include "warehouse/warehouse.h"

namespace dimstream::pg {

// Writes each table of `request` from one REPEATABLE READ, READ ONLY transaction on `conn` (one snapshot):
// CSV straight from the server's COPY ... TO STDOUT; Parquet through that CSV, typed from the query's
// result columns and written by DuckDB's Parquet writer (an in-memory DuckDB of its own).
Result<ExportReceipt> ExportSnapshot(PgConnection& conn, const ExportRequest& request);

}  // namespace dimstream::pg
