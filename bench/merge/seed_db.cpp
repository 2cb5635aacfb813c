#include "bench/merge/seed_db.h"

#include <fmt/format.h>

namespace dimstream {

Result<std::unique_ptr<SeedDb>> SeedDb::Open(const fs::path& path, const DuckDbOptions& like) {
  std::unique_ptr<SeedDb> s(new SeedDb());
  duckdb_config config = nullptr;
  duckdb_create_config(&config);
  if (like.threads > 0) {
    duckdb_set_config(config, "threads", std::to_string(like.threads).c_str());
  }
  if (!like.checkpoint_threshold.empty()) {
    duckdb_set_config(config, "checkpoint_threshold", like.checkpoint_threshold.c_str());
  }
  char* err = nullptr;
  duckdb_state st = duckdb_open_ext(path.c_str(), &s->db_, config, &err);
  duckdb_destroy_config(&config);
  if (st != DuckDBSuccess) {
    std::string message = err != nullptr ? err : "unknown error";
    duckdb_free(err);
    s->db_ = nullptr;
    return Error::Permanent(fmt::format("cannot open {}: {}", path.string(), message));
  }
  if (duckdb_connect(s->db_, &s->conn_) != DuckDBSuccess) {
    s->conn_ = nullptr;
    return Error::Permanent("cannot connect to " + path.string());
  }
  return s;
}

SeedDb::~SeedDb() {
  if (conn_ != nullptr) {
    duckdb_disconnect(&conn_);
  }
  if (db_ != nullptr) {
    duckdb_close(&db_);
  }
}

Status SeedDb::Run(const std::string& sql, const std::vector<SqlParam>& params,
                   std::vector<std::optional<std::string>>* column) {
  duckdb_prepared_statement stmt = nullptr;
  if (duckdb_prepare(conn_, sql.c_str(), &stmt) != DuckDBSuccess) {
    std::string message = duckdb_prepare_error(stmt) != nullptr ? duckdb_prepare_error(stmt) : "?";
    duckdb_destroy_prepare(&stmt);
    return Error::Permanent(fmt::format("{} (in: {})", message, sql));
  }
  for (size_t i = 0; i < params.size(); ++i) {
    idx_t index = i + 1;
    duckdb_state bound = params[i].kind == SqlParam::Kind::kText
                             ? duckdb_bind_varchar(stmt, index, params[i].text.c_str())
                             : duckdb_bind_timestamp(stmt, index, duckdb_timestamp{params[i].time});
    if (bound != DuckDBSuccess) {
      duckdb_destroy_prepare(&stmt);
      return Error::Permanent(fmt::format("cannot bind parameter {} of: {}", index, sql));
    }
  }
  duckdb_result result{};
  duckdb_state st = duckdb_execute_prepared(stmt, &result);
  duckdb_destroy_prepare(&stmt);
  if (st != DuckDBSuccess) {
    std::string message = duckdb_result_error(&result) != nullptr ? duckdb_result_error(&result) : "?";
    duckdb_destroy_result(&result);
    return Error::Permanent(fmt::format("{} (in: {})", message, sql));
  }
  if (column != nullptr && duckdb_column_count(&result) > 0) {
    idx_t rows = duckdb_row_count(&result);
    for (idx_t row = 0; row < rows; ++row) {
      if (duckdb_value_is_null(&result, 0, row)) {
        column->emplace_back();
      } else {
        char* text = duckdb_value_varchar(&result, 0, row);
        column->emplace_back(text != nullptr ? text : "");
        duckdb_free(text);
      }
    }
  }
  duckdb_destroy_result(&result);
  return Ok();
}

Result<int64_t> SeedDb::Int(const std::string& sql, const std::vector<SqlParam>& params) {
  std::vector<std::optional<std::string>> column;
  DIMSTREAM_TRY(Run(sql, params, &column));
  std::optional<int64_t> v = !column.empty() && column[0] ? ParseInt(*column[0]) : std::nullopt;
  if (!v) {
    return Error::Permanent("not an integer result: " + sql);
  }
  return *v;
}

}  // namespace dimstream
