#include "cli/export_command.h"

#include <fstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "cli/command_support.h"
#include "cli/progress_line.h"
#include "common/clock.h"
#include "warehouse/duckdb/duckdb_export.h"
#include "warehouse/merge_session.h"
#include "warehouse/sql.h"

namespace dimstream {
namespace {

// The columns of `table`, as a query through QueryAnywhere reads them.
std::vector<std::string> ColumnsOf(const Config& config, const std::string& table) {
  QueryResult r = Must(QueryAnywhere(config, "SELECT * FROM " + QuoteIdent(table) + " LIMIT 0"));
  return r.columns;
}

// The SELECT of the export: the table as it is, or as of `as_of` (on the first sequence column): current as
// the versions open at that moment, history as the versions begun by then, with what ended later still open.
std::string ExportQuery(const Config& config, const EntitySpec& e, const std::string& table,
                        const std::string& as_of) {
  const std::string name = table == "current" ? e.current_table() : e.history_table();
  if (as_of.empty()) {
    return "SELECT * FROM " + QuoteIdent(name);
  }
  const std::string t = QuoteLiteral(as_of);
  const std::string open_then = "(valid_to IS NULL OR valid_to > " + t + ")";
  std::string select;
  if (table == "current") {
    for (const std::string& c : ColumnsOf(config, e.current_table())) {
      select += (select.empty() ? "" : ", ") + QuoteIdent(c);
    }
    return "SELECT " + select + " FROM " + QuoteIdent(e.history_table()) + " WHERE valid_from <= " + t +
           " AND " + open_then;
  }
  for (const std::string& c : ColumnsOf(config, e.history_table())) {
    std::string column = QuoteIdent(c);
    if (c == "valid_to" || c.rfind("valid_to_", 0) == 0) {
      column = "CASE WHEN valid_to > " + t + " THEN NULL ELSE " + column + " END AS " + column;
    } else if (c == "is_current") {
      column = open_then + " AS is_current";
    }
    select += (select.empty() ? "" : ", ") + column;
  }
  return "SELECT " + select + " FROM " + QuoteIdent(e.history_table()) + " WHERE valid_from <= " + t;
}

ExportFormat FormatFor(const ExportOptions& o) {
  std::string format = o.format;
  if (format.empty()) {
    format = std::filesystem::path(o.out).extension() == ".csv" ? "csv" : "parquet";
  }
  return format == "csv" ? ExportFormat::kCsv : ExportFormat::kParquet;
}

std::string WatermarkQuery(const Config& config) {
  std::string jobs;
  for (const EntitySpec& e : config.entities) {
    jobs += (jobs.empty() ? "" : ", ") + QuoteLiteral(e.merge_job());
  }
  return "SELECT job_name, parameter_value FROM parameter_control WHERE parameter_name = " +
         QuoteLiteral(kWatermarkParameter) + " AND job_name IN (" + jobs + ")";
}

}  // namespace

void Export(const GlobalOptions& g, const ExportOptions& o) {
  Config config = ResolveConfig(g);
  std::vector<const EntitySpec*> entities = SelectEntities(config, o.entity);
  if (entities.size() != 1) {
    throw Fail("several entities are declared: say which one to export with --entity NAME");
  }
  if (o.table != "current" && o.table != "history") {
    throw Fail("--table must be current or history, not '" + o.table + "'");
  }
  const std::filesystem::path out = std::filesystem::absolute(o.out);
  const std::filesystem::path partial = out.string() + ".partial";
  ExportTable table{ExportQuery(config, *entities[0], o.table, o.as_of), partial, FormatFor(o)};
  const auto started = std::chrono::steady_clock::now();
  auto write = [&]() -> Result<uint64_t> {
    auto warehouse = OpenWarehouse(config);
    if (warehouse.ok()) {
      auto receipt = (*warehouse)->Export({{table}, ""});
      if (!receipt.ok()) {
        return receipt.error();
      }
      return receipt->rows.at(0);
    }
    if (!HeldByAnotherProcess(warehouse.error())) {
      return warehouse.error();
    }
    // The process holding the DuckDB file writes it, through its query socket (the same user, the same
    // machine: the path is absolute).
    auto r = QueryAnywhere(config, duck::CopyStatement(table));
    if (!r.ok()) {
      return r.error();
    }
    return r->rows.empty() || !r->rows[0][0] ? uint64_t{0} : std::stoull(*r->rows[0][0]);
  };
  Result<uint64_t> rows = Error::Permanent("not written");
  {
    ProgressLine progress(
        [&] {
          return fmt::format("export: writing {} of {} to {}", o.table, entities[0]->name, out.string());
        },
        g.log_level.empty());
    rows = write();
  }
  if (!rows.ok()) {
    std::error_code ignored;
    std::filesystem::remove(partial, ignored);
    throw Fail("export: " + rows.error().message);
  }
  std::error_code ec;
  std::filesystem::rename(partial, out, ec);
  if (ec) {
    std::filesystem::remove(partial, ec);
    throw Fail("export: cannot write " + out.string() + ": " + ec.message());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  fmt::print("export: {} rows of {} to {} in {:.1f} s\n", *rows, entities[0]->name + "_" + o.table,
             out.string(), seconds);
}

Publisher::Publisher(const Config& config, Warehouse& warehouse, std::filesystem::path dir,
                     std::chrono::milliseconds interval, std::function<uint64_t()> merged)
    : config_(config),
      warehouse_(warehouse),
      dir_(std::move(dir)),
      interval_(interval),
      merged_(std::move(merged)) {}

void Publisher::Run(const StopSignal& stop) {
  uint64_t published_at_runs = 0;
  bool first = true;
  auto publish = [&] {
    const uint64_t runs = merged_();
    if (!first && runs == published_at_runs) {
      return;
    }
    Status st = PublishNow();
    if (!st.ok()) {
      spdlog::warn("publish to {} failed (the next one tries again): {}", dir_.string(), st.error().message);
      return;
    }
    first = false;
    published_at_runs = runs;
  };
  while (!stop.WaitFor(interval_)) {
    publish();
  }
  publish();
}

Status Publisher::PublishNow() {
  const auto started = std::chrono::steady_clock::now();
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  // The generations there: the next one's number is one more than any (a restart goes on from them), and
  // those before the previous one go once the new one is current.
  std::vector<std::pair<uint64_t, std::filesystem::path>> generations;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("g-", 0) == 0) {
      generations.emplace_back(std::strtoull(name.c_str() + 2, nullptr, 10), entry.path());
      generation_ = std::max(generation_, generations.back().first);
    }
  }
  const std::string name = fmt::format("g-{:08}", ++generation_);
  const std::filesystem::path gen = dir_ / name;
  std::filesystem::create_directories(gen, ec);
  if (ec) {
    return Error::Permanent("cannot create " + gen.string() + ": " + ec.message());
  }
  ExportRequest request;
  for (const EntitySpec& e : config_.entities) {
    for (const std::string& table : {e.current_table(), e.history_table()}) {
      request.tables.push_back(
          {"SELECT * FROM " + QuoteIdent(table), gen / (table + ".parquet"), ExportFormat::kParquet});
    }
  }
  request.info_query = WatermarkQuery(config_);
  auto receipt = warehouse_.Export(request);
  if (!receipt.ok()) {
    std::filesystem::remove_all(gen, ec);
    return receipt.error();
  }
  nlohmann::ordered_json manifest = {{"published_at", FormatTimestamp(NowMicros())},
                                     {"generation", generation_}};
  nlohmann::ordered_json entities = nlohmann::ordered_json::object();
  size_t i = 0;
  for (const EntitySpec& e : config_.entities) {
    nlohmann::ordered_json entry = {{"watermark", nullptr}};
    for (const auto& row : receipt->info.rows) {
      if (row.size() == 2 && row[0] == e.merge_job() && row[1]) {
        entry["watermark"] = std::stoll(*row[1]);
      }
    }
    for (const char* table : {"current", "history"}) {
      entry[table] = {{"file", request.tables[i].path.filename().string()}, {"rows", receipt->rows[i]}};
      ++i;
    }
    entities[e.name] = entry;
  }
  manifest["entities"] = entities;
  {
    std::ofstream out(gen / "manifest.json", std::ios::binary | std::ios::trunc);
    out << manifest.dump(2) << "\n";
    if (!out.flush()) {
      return Error::Permanent("cannot write " + (gen / "manifest.json").string());
    }
  }
  // The switch: a new link renamed over the old one, atomically.
  const std::filesystem::path link = dir_ / "current";
  const std::filesystem::path next = dir_ / ".current.next";
  std::filesystem::remove(next, ec);
  std::filesystem::create_directory_symlink(name, next, ec);
  if (!ec) {
    std::filesystem::rename(next, link, ec);
  }
  if (ec) {
    return Error::Permanent("cannot switch " + link.string() + " to " + name + ": " + ec.message());
  }
  // Keep this generation and the one before (readers may still be on it).
  for (const auto& [number, path] : generations) {
    if (number + 1 < generation_) {
      std::filesystem::remove_all(path, ec);
    }
  }
  spdlog::info(
      "published {} to {} in {} ms", name, dir_.string(),
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started)
          .count());
  return Ok();
}

}  // namespace dimstream
