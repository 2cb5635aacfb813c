#include "merge/tests/property_pipeline.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <system_error>
#include <utility>

#include <gtest/gtest.h>

#include "common/clock.h"
#include "merge/check.h"
#include "warehouse/duckdb/duckdb_warehouse.h"
#include "warehouse/postgres/pg_warehouse.h"
#include "warehouse/sql.h"

namespace dimstream::property {
namespace {

// Placeholders for values known only at load time: "\x01<file>:<format seed>\x02".
constexpr char kOpen = '\x01';
constexpr char kClose = '\x02';

Result<std::vector<Row>> QueryRows(Warehouse& w, const std::string& sql, bool sort) {
  auto r = w.Query(sql);
  if (!r.ok()) {
    return r.error();
  }
  if (sort) {
    std::sort(r->rows.begin(), r->rows.end());
  }
  return r->rows;
}

// Replaces the placeholders of values that are load commit times (see kOpen); `files` are the names of the
// files loaded so far, in order.
std::string Render(const std::string& content, const std::vector<std::string>& files, Warehouse& w,
                   Engine engine, SpellTime spell, std::string& error) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t open = content.find(kOpen, pos);
    if (open == std::string::npos) {
      out += content.substr(pos);
      return out;
    }
    size_t close = content.find(kClose, open);
    out += content.substr(pos, open - pos);
    std::string token = content.substr(open + 1, close - open - 1);
    size_t colon = token.find(':');
    size_t file = std::stoul(token.substr(0, colon));
    uint64_t format_seed = std::stoull(token.substr(colon + 1));
    if (file >= files.size()) {
      error = "a load time names file " + std::to_string(file) + ", not loaded yet (a bug of the test)";
      return {};
    }
    auto t = w.Query("SELECT " + EpochMicrosSql(engine, "sequence_time") +
                     " FROM load_history WHERE object_key = " + QuoteLiteral(files[file]));
    if (!t.ok() || t->rows.size() != 1 || !t->rows[0][0]) {
      error = "no sequence_time for " + files[file];
      return {};
    }
    Rng rng(format_seed);
    out += CsvField(rng, spell(rng, std::stoll(*t->rows[0][0])));
    pos = close + 1;
  }
}

const ExpectedLoad* Find(const std::vector<ExpectedLoad>& files, const Value& name) {
  auto f =
      std::find_if(files.begin(), files.end(), [&](const ExpectedLoad& p) { return p.name == Text(name); });
  return f == files.end() ? nullptr : &*f;
}

template <typename W>
Result<std::unique_ptr<Warehouse>> AsWarehouse(Result<std::unique_ptr<W>> opened) {
  if (!opened.ok()) {
    return opened.error();
  }
  return std::unique_ptr<Warehouse>(std::move(*opened));
}

// A DuckDB file in `dir`, or a PostgreSQL database created for the run in `database`.
Result<std::unique_ptr<Warehouse>> OpenWarehouse(Engine engine, const fs::path& dir, const EntitySpec& entity,
                                                 pg::testing::TestDatabase& database) {
  if (engine == Engine::kDuckDb) {
    return AsWarehouse(DuckDbWarehouse::Open({dir / "w.duckdb"}, entity));
  }
  if (std::string why = database.TryCreate(); !why.empty()) {
    return Error::Permanent("cannot create a test database: " + why);
  }
  return AsWarehouse(PgWarehouse::Open(database.url(), "", {entity}));
}

}  // namespace

void SetCompaction(Compaction mode, MergeOptions& options) {
  switch (mode) {
    case Compaction::kIdle:
      options.idle_compaction_after = std::chrono::milliseconds(0);
      break;
    case Compaction::kEveryRun:
      options.delta_rows_max = 0;
      options.delta_closes_max = 0;
      break;
    case Compaction::kSlices:
      options.delta_rows_max = 2;
      options.compaction_slice = 1;
      options.delta_closes_max = 1;
      break;
    case Compaction::kOpenedToBase:
      options.opened_to_base_from = 1;
      break;
  }
}

const char* CompactionName(Compaction mode) {
  switch (mode) {
    case Compaction::kIdle:
      return "the delta compacted when idle";
    case Compaction::kEveryRun:
      return "the delta compacted after every run";
    case Compaction::kSlices:
      return "the delta compacted a row at a time, down to one row, once it holds more than two (closes: "
             "more than one)";
    case Compaction::kOpenedToBase:
      return "the versions a run opens written straight to the base tables, the rest of the delta compacted "
             "when idle";
  }
  return "?";
}

std::string LoadTimePlaceholder(size_t file, uint64_t format_seed) {
  return kOpen + std::to_string(file) + ":" + std::to_string(format_seed) + kClose;
}

Pipeline::Pipeline(const fs::path& dir, const EntitySpec& entity, Engine engine,
                   const MergeOptions& merge_options)
    : dir_(dir), entity_(entity), engine_(engine), merge_options_(merge_options) {
  std::error_code ec;
  fs::remove_all(dir_, ec);
  fs::create_directories(dir_ / "bucket");
  store_ = std::make_unique<LocalObjectStore>(dir_ / "bucket");
  auto opened = OpenWarehouse(engine_, dir_, entity_, database_);
  if (!opened.ok()) {
    error_ = "cannot open the warehouse: " + opened.error().message;
    return;
  }
  warehouse_ = std::move(*opened);
  loader_ = std::make_unique<Loader>(LoaderOptions{}, entity_, *store_, nullptr, *warehouse_);
  merge_ = std::make_unique<MergeJob>(entity_, *warehouse_, merge_options_);
}

Pipeline::~Pipeline() {
  merge_.reset();
  loader_.reset();
  warehouse_.reset();
  if (std::string why = database_.Drop(); !why.empty()) {
    ADD_FAILURE() << "cannot drop the case's database: " << why;
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string Pipeline::Load(const ExpectedLoad& file, std::string& content, SpellTime spell,
                           std::vector<std::string>& notes) {
  std::string render_error;
  content = Render(content, loaded_, *warehouse_, engine_, spell, render_error);
  if (!render_error.empty()) {
    return render_error;
  }
  std::ofstream(dir_ / "bucket" / file.name, std::ios::binary) << content;
  auto info = store_->Stat(ObjectKey(file.name));
  if (!info.ok()) {
    return "cannot stat " + file.name + ": " + info.error().message;
  }
  auto r = loader_->LoadObject(*info);
  if (!r.ok()) {
    return "cannot load " + file.name + ": " + r.error().message;
  }
  loaded_.push_back(file.name);
  if (r->outcome != (file.failed ? LoadOutcome::kFailed : LoadOutcome::kLoaded)) {
    notes.push_back(file.name + ": LoadObject outcome " + std::to_string(static_cast<int>(r->outcome)) +
                    (!file.failed              ? ", expected kLoaded"
                     : file.failed_why.empty() ? ", expected kFailed"
                                               : ", expected kFailed (" + file.failed_why + ")"));
  }
  return {};
}

std::string Pipeline::Merge(const std::string& name) {
  auto m = merge_->RunOnce();
  if (!m.ok()) {
    return "merge after " + name + " failed: " + m.error().message;
  }
  return {};
}

void Pipeline::RestartMerge() {
  merge_ = std::make_unique<MergeJob>(entity_, *warehouse_, merge_options_);
}

std::string Pipeline::Check(const std::vector<ExpectedLoad>& files, const TableQueries& queries,
                            RebuildCheck rebuild, RunOutcome& out) {
  std::string error = CheckLoadHistory(files, out);
  if (error.empty()) {
    error = CheckRejects(files, out.notes);
  }
  if (error.empty()) {
    error = ReadTables(queries, out);
  }
  if (error.empty() && rebuild != RebuildCheck::kNone) {
    error = CheckRebuild(queries, rebuild, out);
  }
  return error;
}

std::string Pipeline::CheckLoadHistory(const std::vector<ExpectedLoad>& files, RunOutcome& out) {
  auto loads = QueryRows(*warehouse_,
                         "SELECT object_key, status, rows_loaded, rows_rejected, coalesce(error, ''), " +
                             EpochMicrosSql(engine_, "sequence_time") + " FROM load_history ORDER BY load_id",
                         false);
  if (!loads.ok()) {
    return loads.error().message;
  }
  if (loads->size() != files.size()) {
    out.notes.push_back("load_history has " + std::to_string(loads->size()) + " rows for " +
                        std::to_string(files.size()) + " files");
  }
  for (const Row& row : *loads) {
    if (row[5]) {
      out.load_sequence[Text(row[0])] = std::stoll(*row[5]);
    }
    const ExpectedLoad* f = Find(files, row[0]);
    if (f == nullptr) {
      out.notes.push_back("load_history names an unknown object " + Text(row[0]));
      continue;
    }
    bool ok = f->failed ? Text(row[1]) == "failed" && Text(row[2]) == "0" && !Text(row[4]).empty()
                        : Text(row[1]) == "loaded" && Text(row[2]) == std::to_string(f->rows) &&
                              Text(row[3]) == std::to_string(f->rejects.size()) && row[5];
    if (!ok) {
      std::string why = f->failed_why.empty() ? std::string() : " (" + f->failed_why + ")";
      out.notes.push_back("load_history of " + f->name + ": status " + Text(row[1]) + ", rows_loaded " +
                          Text(row[2]) + ", rows_rejected " + Text(row[3]) + ", error '" + Text(row[4]) +
                          "', sequence_time " + Text(row[5]) + "; expected " +
                          (f->failed ? "failed with a reason" + why + ", 0 rows"
                                     : "loaded, " + std::to_string(f->rows) + " rows, " +
                                           std::to_string(f->rejects.size()) + " rejected"));
    }
  }
  return {};
}

// Every rejected row of a loaded file, with its line, its raw text and a reason (naming the column where
// the file plan says which).
std::string Pipeline::CheckRejects(const std::vector<ExpectedLoad>& files, std::vector<std::string>& notes) {
  auto rejects = QueryRows(
      *warehouse_, "SELECT object_key, line, raw, reason FROM " + QuoteIdent(entity_.rejects_table()), false);
  if (!rejects.ok()) {
    return rejects.error().message;
  }
  std::vector<Row> want;
  std::vector<Row> got;
  for (const ExpectedLoad& f : files) {
    for (const ExpectedReject& r : f.rejects) {
      want.push_back({f.name, std::to_string(r.line), r.raw ? *r.raw : "(escaped invalid UTF-8)"});
    }
  }
  for (const Row& row : *rejects) {
    const ExpectedLoad* f = Find(files, row[0]);
    if (f != nullptr && f->failed) {
      continue;  // what a file rejected whole reports per row is not specified
    }
    if (!row[3] || row[3]->empty()) {
      notes.push_back("a reject of " + Text(row[0]) + " line " + Text(row[1]) + " gives no reason");
    }
    Value raw = row[2];
    for (size_t i = 0; f != nullptr && i < f->rejects.size(); ++i) {
      const ExpectedReject& r = f->rejects[i];
      if (std::to_string(r.line) != Text(row[1])) {
        continue;
      }
      if (!r.raw) {
        raw = "(escaped invalid UTF-8)";
      }
      if (row[3] && !row[3]->empty() && row[3]->find(r.column) == std::string::npos) {
        notes.push_back("the reject of " + f->name + " line " + Text(row[1]) + " (" + r.why +
                        ") gives the reason '" + *row[3] + "', which does not name " + r.column);
      }
    }
    got.push_back({row[0], row[1], raw});
  }
  // By file, then line as a number, then the whole row: the order a reader expects, and a total one.
  auto by_file_line = [](const Row& a, const Row& b) {
    auto line = [](const Row& r) { return std::strtoll(Text(r[1]).c_str(), nullptr, 10); };
    if (Text(a[0]) != Text(b[0])) {
      return Text(a[0]) < Text(b[0]);
    }
    return line(a) != line(b) ? line(a) < line(b) : a < b;
  };
  std::sort(want.begin(), want.end(), by_file_line);
  std::sort(got.begin(), got.end(), by_file_line);
  if (want != got) {
    notes.push_back(entity_.rejects_table() + " (object_key, line, raw) differs.\n  expected:\n" +
                    FormatRows(want) + "  actual:\n" + FormatRows(got));
  }
  return {};
}

std::string Pipeline::ReadTables(const TableQueries& queries, RunOutcome& out) {
  auto history = QueryRows(*warehouse_, queries.history, queries.sort);
  if (!history.ok()) {
    return history.error().message;
  }
  out.tables.history = *history;
  auto current = QueryRows(*warehouse_, queries.current, queries.sort);
  if (!current.ok()) {
    return current.error().message;
  }
  out.tables.current = *current;
  auto failures = CheckInvariants(*warehouse_, entity_);
  if (!failures.ok()) {
    return "CheckInvariants failed to run: " + failures.error().message;
  }
  out.check_failures = *failures;
  return {};
}

std::string Pipeline::CheckRebuild(const TableQueries& queries, RebuildCheck check, RunOutcome& out) {
  auto r = merge_->Rebuild();
  if (!r.ok()) {
    return "Rebuild failed: " + r.error().message;
  }
  if (check == RebuildCheck::kTablesAndReport &&
      r->versions_opened + r->versions_closed + r->scd1_updates != 0) {
    out.notes.push_back("Rebuild reports changes: " + std::to_string(r->versions_opened) +
                        " versions opened, " + std::to_string(r->versions_closed) + " closed, " +
                        std::to_string(r->scd1_updates) + " SCD1 updates");
  }
  auto h2 = QueryRows(*warehouse_, queries.history, queries.sort);
  auto c2 = QueryRows(*warehouse_, queries.current, queries.sort);
  if (!h2.ok() || !c2.ok()) {
    return "cannot read the tables after Rebuild";
  }
  if (*h2 != out.tables.history || *c2 != out.tables.current) {
    out.notes.push_back("Rebuild changed the tables; after it:\n  history:\n" + FormatRows(*h2) +
                        "  current:\n" + FormatRows(*c2));
  }
  return {};
}

std::string DescribeLoadSequence(const std::map<std::string, Micros>& load_sequence) {
  std::string out;
  for (const auto& [name, t] : load_sequence) {
    out += "  " + name + " sequence_time " + std::to_string(t) + " (" + FormatTimestamp(t) + ")\n";
  }
  return out;
}

std::string RunFailures(const RunOutcome& run, const Tables& want, const std::string& label,
                        const std::string& history, const std::string& current) {
  if (!run.error.empty()) {
    return label + "pipeline error: " + run.error + "\n";
  }
  std::string problems;
  for (const std::string& n : run.notes) {
    problems += label + n + "\n";
  }
  for (const std::string& f : run.check_failures) {
    problems += label + "CheckInvariants: " + f + "\n";
  }
  problems += DescribeDiff(label + history, want.history, run.tables.history);
  problems += DescribeDiff(label + current, want.current, run.tables.current);
  return problems;
}

}  // namespace dimstream::property
