#include "warehouse/duckdb/duckdb_export.h"

#include "warehouse/duckdb/query_text.h"
#include "warehouse/sql.h"

namespace dimstream::duck {

std::string CopyStatement(const ExportTable& t) {
  const char* options =
      t.format == ExportFormat::kParquet ? "FORMAT parquet, COMPRESSION zstd" : "FORMAT csv, HEADER true";
  return "COPY (" + t.query + ") TO " + QuoteLiteral(t.path.string()) + " (" + options + ")";
}

Result<ExportReceipt> ExportSnapshot(Connection& conn, const ExportRequest& request) {
  DIMSTREAM_TRY(conn.Exec("BEGIN TRANSACTION READ ONLY"));
  auto export_all = [&]() -> Result<ExportReceipt> {
    ExportReceipt receipt;
    for (const ExportTable& t : request.tables) {
      auto rows = conn.ScalarInt(CopyStatement(t));
      if (!rows.ok()) {
        return rows.error().Context("cannot export to " + t.path.string());
      }
      receipt.rows.push_back(static_cast<uint64_t>(rows->value_or(0)));
    }
    if (!request.info_query.empty()) {
      auto info = QueryAsText(conn.get(), request.info_query);
      if (!info.ok()) {
        return info.error();
      }
      receipt.info = std::move(*info);
    }
    return receipt;
  };
  Result<ExportReceipt> out = export_all();
  Status rolled_back = conn.Exec("ROLLBACK");
  if (out.ok() && !rolled_back.ok()) {
    return rolled_back.error();
  }
  return out;
}

}  // namespace dimstream::duck
