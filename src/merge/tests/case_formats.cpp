#include "merge/tests/case_formats.h"

#include <duckdb.h>
#include <zlib.h>
#include <zstd.h>

#include <fstream>
#include <memory>

#include <fmt/format.h>

#include "common/byte_stream.h"
#include "common/csv_reader.h"
#include "common/utf8.h"
#include "loader/csv_source.h"
#include "loader/record_parser.h"
#include "warehouse/sql.h"

namespace dimstream {
namespace {

CsvOptions CsvOptionsOf(const EntitySpec& entity) {
  CsvOptions options;
  options.dialect = CsvDialect{entity.files.delimiter, entity.files.quote, entity.files.escape};
  options.header = entity.files.header;
  options.columns = entity.files.columns;
  return options;
}

// A CSV file's readable records: an empty field is nullopt (NULL), as the loader reads CSV.
struct CsvTable {
  std::vector<std::string> names;
  std::vector<std::vector<std::optional<std::string>>> rows;
};

Result<CsvTable> ReadTable(std::string_view csv, const CsvOptions& options) {
  CsvTable table;
  CsvReader reader(csv, options.dialect, true);
  CsvRecord r;
  std::string error;
  if (options.header) {
    if (reader.Next(r, &error) != CsvStatus::kRecord) {
      return Error::Invalid("the header cannot be read: " + error);
    }
    table.names.assign(r.fields.begin(), r.fields.end());
  } else {
    table.names = options.columns;
  }
  for (CsvStatus st; (st = reader.Next(r, &error)) != CsvStatus::kEnd;) {
    if (st != CsvStatus::kRecord || r.fields.size() != table.names.size() || !IsValidUtf8(r.raw)) {
      continue;  // rejected as CSV: no JSON or Parquet spelling of it
    }
    auto& row = table.rows.emplace_back();
    for (std::string_view f : r.fields) {
      row.push_back(f.empty() ? std::nullopt : std::optional<std::string>(f));
    }
  }
  return table;
}

std::string JsonLines(const CsvTable& table) {
  std::string out;
  for (const auto& row : table.rows) {
    out += '{';
    for (size_t i = 0; i < row.size(); ++i) {
      if (i > 0) {
        out += ',';
      }
      AppendJsonString(out, table.names[i]);
      out += ':';
      if (row[i]) {
        AppendJsonString(out, *row[i]);
      } else {
        out += "null";
      }
    }
    out += "}\n";
  }
  return out;
}

Result<std::string> Gzip(std::string_view data) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return Error::Permanent("deflateInit2 failed");
  }
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) {
    return Error::Permanent(fmt::format("deflate returned {}", rc));
  }
  return out;
}

Result<std::string> Zstd(std::string_view data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
  if (ZSTD_isError(n)) {
    return Error::Permanent(std::string("ZSTD_compress: ") + ZSTD_getErrorName(n));
  }
  out.resize(n);
  return out;
}

Status WriteFile(const std::filesystem::path& path, const Result<std::string>& bytes) {
  if (!bytes.ok()) {
    return bytes.error();
  }
  std::ofstream out(path, std::ios::binary);
  out << bytes.value();
  return out.good() ? Ok() : Error::Permanent("cannot write " + path.string());
}

// An in-memory DuckDB database and its connection.
class Scratch {
 public:
  Scratch() {
    if (duckdb_open(nullptr, &db_) == DuckDBSuccess) {
      (void)duckdb_connect(db_, &conn_);
    }
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() {
    duckdb_disconnect(&conn_);
    duckdb_close(&db_);
  }
  duckdb_connection get() const { return conn_; }

  Status Exec(const std::string& sql) {
    if (conn_ == nullptr) {
      return Error::Permanent("cannot open an in-memory DuckDB database");
    }
    duckdb_result r{};
    bool ok = duckdb_query(conn_, sql.c_str(), &r) == DuckDBSuccess;
    std::string error = ok ? "" : duckdb_result_error(&r);
    duckdb_destroy_result(&r);
    return ok ? Ok() : Error::Permanent(sql + ": " + error);
  }

 private:
  duckdb_database db_ = nullptr;
  duckdb_connection conn_ = nullptr;
};

// The records as a table of VARCHAR columns named as the header, then COPY TO Parquet: DuckDB's read_csv is
// not used, so that NULL and quoting are exactly the loader's reading of the CSV.
Status WriteParquet(const CsvTable& table, const std::filesystem::path& path) {
  Scratch db;
  std::string columns;
  for (const auto& name : table.names) {
    columns += (columns.empty() ? "" : ", ") + QuoteIdent(name) + " VARCHAR";
  }
  if (auto st = db.Exec("CREATE TABLE records (" + columns + ")"); !st.ok()) {
    return st;
  }
  duckdb_appender appender = nullptr;
  if (duckdb_appender_create(db.get(), nullptr, "records", &appender) != DuckDBSuccess) {
    duckdb_appender_destroy(&appender);
    return Error::Permanent("cannot create an appender");
  }
  bool ok = true;
  for (const auto& row : table.rows) {
    for (const auto& field : row) {
      ok = ok && (field ? duckdb_append_varchar_length(appender, field->data(), field->size())
                        : duckdb_append_null(appender)) == DuckDBSuccess;
    }
    ok = ok && duckdb_appender_end_row(appender) == DuckDBSuccess;
  }
  ok = ok && duckdb_appender_close(appender) == DuckDBSuccess;
  std::string error;
  if (!ok) {
    duckdb_error_data data = duckdb_appender_error_data(appender);
    error = duckdb_error_data_message(data);
    duckdb_destroy_error_data(&data);
  }
  duckdb_appender_destroy(&appender);
  if (!ok) {
    return Error::Permanent("appending the records: " + error);
  }
  return db.Exec("COPY records TO " + QuoteLiteral(path.string()) + " (FORMAT parquet)");
}

}  // namespace

std::string_view CaseFormatName(CaseFormat format) {
  switch (format) {
    case CaseFormat::kCsv:
      return "csv";
    case CaseFormat::kCsvGz:
      return "csv_gz";
    case CaseFormat::kCsvZst:
      return "csv_zst";
    case CaseFormat::kJsonLines:
      return "jsonl";
    case CaseFormat::kParquet:
      return "parquet";
  }
  return "?";
}

std::string StoredName(std::string_view csv_name, CaseFormat format) {
  std::string stem(csv_name.substr(0, csv_name.size() - (csv_name.ends_with(".csv") ? 4 : 0)));
  switch (format) {
    case CaseFormat::kCsv:
      return std::string(csv_name);  // as the case names it, whatever its suffix
    case CaseFormat::kCsvGz:
      return stem + ".csv.gz";
    case CaseFormat::kCsvZst:
      return stem + ".csv.zst";
    case CaseFormat::kJsonLines:
      return stem + ".jsonl";
    case CaseFormat::kParquet:
      return stem + ".parquet";
  }
  return stem;
}

Status WriteConverted(std::string_view csv, const EntitySpec& entity, CaseFormat format,
                      const std::filesystem::path& path) {
  switch (format) {
    case CaseFormat::kCsv:
      return WriteFile(path, std::string(csv));
    case CaseFormat::kCsvGz:
      return WriteFile(path, Gzip(csv));
    case CaseFormat::kCsvZst:
      return WriteFile(path, Zstd(csv));
    case CaseFormat::kJsonLines:
    case CaseFormat::kParquet:
      break;
  }
  auto table = ReadTable(csv, CsvOptionsOf(entity));
  if (!table.ok()) {
    return table.error();
  }
  return format == CaseFormat::kJsonLines ? WriteFile(path, JsonLines(*table)) : WriteParquet(*table, path);
}

std::optional<std::string> WhyNotIn(CaseFormat format, const std::vector<CaseFile>& files,
                                    const EntitySpec& entity) {
  if (format == CaseFormat::kCsv) {
    return std::nullopt;
  }
  if (!entity.files.format.empty()) {
    return "the entity sets loader.format = \"" + entity.files.format + "\", so the key's suffix is not read";
  }
  for (const CaseFile& f : files) {
    if (!f.name.ends_with(".csv")) {
      return "file " + f.name + " is not named *.csv: its name is part of the case";
    }
  }
  if (format == CaseFormat::kCsvGz || format == CaseFormat::kCsvZst) {
    return std::nullopt;  // the same bytes, compressed: whatever CSV does to them still applies
  }
  for (const CaseFile& f : files) {
    CsvSource source(std::make_unique<MemoryStream>(f.content), CsvOptionsOf(entity));
    ParsedObject parsed;
    (void)ParseRecords(source, entity, ParseOptions{}, parsed);
    if (parsed.failed) {
      return "file " + f.name + " fails whole as CSV (" + parsed.error +
             "): the case is about CSV, with no JSON lines or Parquet equivalent";
    }
  }
  return std::nullopt;
}

}  // namespace dimstream
