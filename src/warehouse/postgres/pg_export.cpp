#include "warehouse/postgres/pg_export.h"

#include <duckdb.h>

#include <cstdio>
#include <fstream>

#include <fmt/format.h>

#include "warehouse/postgres/pg_result_text.h"
#include "warehouse/sql.h"

namespace dimstream::pg {
namespace {

// DuckDB's type for a result column of PostgreSQL type `oid` (modifier `mod`): what the Parquet file keeps.
std::string DuckDbType(Oid oid, int mod) {
  switch (oid) {
    case 16:
      return "BOOLEAN";
    case 20:
      return "BIGINT";
    case 21:
      return "SMALLINT";
    case 23:
      return "INTEGER";
    case 700:
      return "FLOAT";
    case 701:
      return "DOUBLE";
    case 1082:
      return "DATE";
    case 1114:
      return "TIMESTAMP";
    case 1184:
      return "TIMESTAMPTZ";
    case 1700:
      if (mod >= 4) {
        const int precision = ((mod - 4) >> 16) & 0xffff;
        const int scale = (mod - 4) & 0xffff;
        if (precision >= 1 && precision <= 38) {
          return fmt::format("DECIMAL({},{})", precision, scale);
        }
      }
      return "DOUBLE";
    default:
      return "VARCHAR";
  }
}

// The CSV file `csv` (PostgreSQL's: a header, NULL as an empty field, an empty text as "") as a Parquet
// file at `out`, each column of the type `columns` gives it.
Status ParquetFromCsv(const std::filesystem::path& csv,
                      const std::vector<std::pair<std::string, std::string>>& columns,
                      const std::filesystem::path& out) {
  duckdb_database db = nullptr;
  duckdb_connection conn = nullptr;
  if (duckdb_open(nullptr, &db) != DuckDBSuccess || duckdb_connect(db, &conn) != DuckDBSuccess) {
    duckdb_close(&db);
    return Error::Permanent("cannot open an in-memory DuckDB to write " + out.string());
  }
  std::string types;
  for (const auto& [name, type] : columns) {
    types += (types.empty() ? "" : ", ") + QuoteLiteral(name) + ": " + QuoteLiteral(type);
  }
  const std::string sql =
      "SET memory_limit = '256MB'; COPY (SELECT * FROM read_csv(" + QuoteLiteral(csv.string()) +
      ", header = true, auto_detect = false, quote = '\"', escape = '\"', delim = ',', "
      "nullstr = '', allow_quoted_nulls = false, columns = {" +
      types + "})) TO " + QuoteLiteral(out.string()) + " (FORMAT parquet, COMPRESSION zstd)";
  duckdb_result result;
  const bool ok = duckdb_query(conn, sql.c_str(), &result) == DuckDBSuccess;
  std::string error = ok ? "" : duckdb_result_error(&result);
  duckdb_destroy_result(&result);
  duckdb_disconnect(&conn);
  duckdb_close(&db);
  if (!ok) {
    return Error::Permanent("cannot write " + out.string() + ": " + error);
  }
  return Ok();
}

Result<uint64_t> ExportTableTo(PgConnection& conn, const ExportTable& t) {
  const std::filesystem::path csv =
      t.format == ExportFormat::kCsv ? t.path : std::filesystem::path(t.path.string() + ".csv.tmp");
  std::ofstream file(csv, std::ios::binary | std::ios::trunc);
  if (!file) {
    return Error::Permanent("cannot write " + csv.string());
  }
  auto rows = conn.CopyOut(
      "COPY (" + t.query + ") TO STDOUT WITH (FORMAT csv, HEADER true)",
      [&file](std::string_view data) {
        return static_cast<bool>(file.write(data.data(), static_cast<std::streamsize>(data.size())));
      },
      "export to " + t.path.string());
  file.close();
  if (!rows.ok() || !file) {
    std::filesystem::remove(csv);
    return rows.ok() ? Error::Permanent("cannot write " + csv.string()) : rows.error();
  }
  if (t.format == ExportFormat::kParquet) {
    auto shape = conn.Exec("SELECT * FROM (" + t.query + ") AS q LIMIT 0", {}, "read the export's columns");
    Status written = shape.ok() ? Ok() : Status(shape.error());
    if (shape.ok()) {
      std::vector<std::pair<std::string, std::string>> columns;
      for (int c = 0; c < shape->columns(); ++c) {
        columns.emplace_back(std::string(shape->Name(c)),
                             DuckDbType(PQftype(shape->get(), c), PQfmod(shape->get(), c)));
      }
      written = ParquetFromCsv(csv, columns, t.path);
    }
    std::filesystem::remove(csv);
    if (!written.ok()) {
      return written.error();
    }
  }
  return *rows;
}

}  // namespace

Result<ExportReceipt> ExportSnapshot(PgConnection& conn, const ExportRequest& request) {
  DIMSTREAM_TRY(conn.Run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", {}, "begin the export"));
  auto export_all = [&]() -> Result<ExportReceipt> {
    ExportReceipt receipt;
    for (const ExportTable& t : request.tables) {
      auto rows = ExportTableTo(conn, t);
      if (!rows.ok()) {
        return rows.error();
      }
      receipt.rows.push_back(*rows);
    }
    if (!request.info_query.empty()) {
      auto info = conn.Exec(request.info_query, {}, "read the export's snapshot");
      if (!info.ok()) {
        return info.error();
      }
      receipt.info = AsText(*info);
    }
    return receipt;
  };
  Result<ExportReceipt> out = export_all();
  Status rolled_back = conn.Run("ROLLBACK", {}, "end the export");
  if (out.ok() && !rolled_back.ok()) {
    return rolled_back.error();
  }
  return out;
}

}  // namespace dimstream::pg
