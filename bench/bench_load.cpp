// dimstream_bench_load: how fast dimstream loads one large customer file into DuckDB, next to DuckDB's own
// CSV reader on the same file, in the same process, with the same thread settings. See bench/README.md.

#include <duckdb.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bench/bench_common.h"
#include "common/checksum.h"
#include "common/stop.h"
#include "config/entity.h"
#include "generator/generator.h"
#include "loader/loader.h"
#include "loader/record_parser.h"
#include "object_store/local_object_store.h"
#include "warehouse/duckdb/duckdb_warehouse.h"
#include "warehouse/sql.h"

namespace dimstream {
namespace {

namespace fs = std::filesystem;
using bench::Clock;
using bench::CpuModel;
using bench::Nproc;
using bench::PlaceInBucket;
using bench::ProcessCpuSeconds;
using bench::Seconds;
using bench::WorkDir;

constexpr uint64_t kSmokeRows = 20000;
constexpr double kGoal = 0.5;

struct BenchOptions {
  uint64_t rows = 2000000;
  std::string file;  // an existing CSV file to load instead of generating one
  uint64_t repeat = 3;
  uint64_t threads = 0;  // 0: DuckDB's default
  std::string json;
  std::string work_dir;  // default: a new directory under the system's temporary directory
  double bad_share = 0.0;
  uint64_t seed = 42;
  std::string only = "all";  // "dimstream" or "duckdb": run one side alone (for a profiler)
  bool phases = true;
  bool keep = false;
  bool smoke = false;
};

// The repeats of one measurement.
struct Series {
  std::string name;
  std::vector<double> seconds;        // the measured operation, one per repeat
  std::vector<double> cpu_seconds;    // process CPU time during the measured operation
  std::vector<double> close_seconds;  // closing the database afterwards (checkpoint), not part of `seconds`

  double Best() const { return seconds.empty() ? 0.0 : *std::min_element(seconds.begin(), seconds.end()); }
  static double Median(std::vector<double> v) {
    if (v.empty()) {
      return 0.0;
    }
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
  }
  double MedianSeconds() const { return Median(seconds); }
  double MedianClose() const { return Median(close_seconds); }
  double MedianCpu() const { return Median(cpu_seconds); }
};

void RemoveDatabase(const fs::path& path) {
  std::error_code ec;
  fs::remove(path, ec);
  fs::remove(fs::path(path.string() + ".wal"), ec);
}

// The realistic mix the benchmark generates: updates (SCD1 and SCD2), a few duplicates and deletes, some
// NULLs, event time and op columns. Malformed rows only when asked for (DuckDB's reader stops at them).
GenerateOptions GeneratorSettings(const BenchOptions& o) {
  GenerateOptions g;
  g.seed = o.seed;
  g.rows = o.rows;
  g.rows_per_file = std::max<uint64_t>(o.rows, 1);
  g.update_share = 0.2;
  g.scd2_share = 0.5;
  g.duplicate_share = 0.01;
  g.delete_share = 0.01;
  g.null_share = 0.02;
  g.bad_share = o.bad_share;
  g.event_time = true;
  g.with_op = true;
  g.progress = false;
  return g;
}

// A DuckDB database and one connection, opened on a fresh file with the benchmark's thread setting.
class RawDuckDb {
 public:
  RawDuckDb(const fs::path& path, uint64_t threads) {
    duckdb_config config = nullptr;
    duckdb_create_config(&config);
    char* err = nullptr;
    if (duckdb_open_ext(path.c_str(), &db_, config, &err) != DuckDBSuccess) {
      error_ = err != nullptr ? err : "cannot open " + path.string();
      duckdb_free(err);
      db_ = nullptr;
    } else if (duckdb_connect(db_, &conn_) != DuckDBSuccess) {
      error_ = "cannot connect to " + path.string();
      conn_ = nullptr;
    }
    duckdb_destroy_config(&config);
    if (ok() && threads > 0) {
      Status st = Exec(fmt::format("SET threads = {}", threads));
      if (!st.ok()) {
        error_ = st.error().message;
      }
    }
  }
  RawDuckDb(const RawDuckDb&) = delete;
  RawDuckDb& operator=(const RawDuckDb&) = delete;
  ~RawDuckDb() { Close(); }

  bool ok() const { return error_.empty() && conn_ != nullptr; }
  const std::string& error() const { return error_; }

  Status Exec(const std::string& sql) {
    duckdb_result result{};
    duckdb_state st = duckdb_query(conn_, sql.c_str(), &result);
    std::string message = st == DuckDBSuccess ? "" : duckdb_result_error(&result);
    duckdb_destroy_result(&result);
    if (st != DuckDBSuccess) {
      return Error::Permanent(message);
    }
    return Ok();
  }

  Result<int64_t> Count(const std::string& table) {
    duckdb_result result{};
    std::string sql = "SELECT count(*) FROM " + QuoteIdent(table);
    if (duckdb_query(conn_, sql.c_str(), &result) != DuckDBSuccess) {
      std::string message = duckdb_result_error(&result);
      duckdb_destroy_result(&result);
      return Error::Permanent(message);
    }
    int64_t n = duckdb_value_int64(&result, 0, 0);
    duckdb_destroy_result(&result);
    return n;
  }

  void Close() {
    if (conn_ != nullptr) {
      duckdb_disconnect(&conn_);
    }
    if (db_ != nullptr) {
      duckdb_close(&db_);
    }
  }

 private:
  duckdb_database db_ = nullptr;
  duckdb_connection conn_ = nullptr;
  std::string error_;
};

// What one dimstream load left in the warehouse, for --smoke.
struct LoadCheck {
  int64_t raw_rows = -1;
  int64_t rejects = -1;
  std::string status;
};

Result<int64_t> CountOf(Warehouse& warehouse, const std::string& sql) {
  auto r = warehouse.Query(sql);
  if (!r.ok()) {
    return r.error();
  }
  if (r->rows.empty() || r->rows[0].empty() || !r->rows[0][0]) {
    return Error::Permanent("no result for " + sql);
  }
  return std::stoll(*r->rows[0][0]);
}

// One dimstream load of `key` into a fresh DuckDB file: Loader::LoadObject timed, closing timed apart.
Status RunDimstreamOnce(const BenchOptions& o, const fs::path& db_path, LocalObjectStore& store,
                        const ObjectKey& key, Series& series, LoadCheck* check, uint64_t* rows_seen) {
  RemoveDatabase(db_path);
  EntitySpec entity;
  DuckDbOptions db_options;
  db_options.path = db_path;
  db_options.threads = o.threads;
  auto warehouse = DuckDbWarehouse::Open(db_options, entity);
  if (!warehouse.ok()) {
    return warehouse.error();
  }
  auto object = store.Stat(key);
  if (!object.ok()) {
    return object.error();
  }
  Loader loader(LoaderOptions{}, entity, store, nullptr, **warehouse);

  double cpu_start = ProcessCpuSeconds();
  auto start = Clock::now();
  auto receipt = loader.LoadObject(*object);
  auto loaded = Clock::now();
  double cpu = ProcessCpuSeconds() - cpu_start;
  if (!receipt.ok()) {
    return receipt.error();
  }
  if (receipt->outcome != LoadOutcome::kLoaded) {
    return Error::Permanent(
        fmt::format("the load did not commit rows (outcome {})",
                    receipt->outcome == LoadOutcome::kFailed ? "failed" : "already done"));
  }
  if (rows_seen != nullptr) {
    *rows_seen = loader.stats().rows_loaded + loader.stats().rows_rejected;
  }
  if (check != nullptr) {
    auto raw = CountOf(**warehouse, "SELECT count(*) FROM " + QuoteIdent(entity.raw_table()));
    auto rejects = CountOf(**warehouse, "SELECT count(*) FROM " + QuoteIdent(entity.rejects_table()));
    auto status = (*warehouse)->Query("SELECT status FROM load_history");
    if (!raw.ok() || !rejects.ok() || !status.ok()) {
      return Error::Permanent("cannot count what the load wrote");
    }
    check->raw_rows = *raw;
    check->rejects = *rejects;
    check->status = status->rows.size() == 1 && status->rows[0][0] ? *status->rows[0][0] : "?";
  }
  auto closing = Clock::now();
  warehouse->reset();
  auto closed = Clock::now();
  series.seconds.push_back(Seconds(loaded - start));
  series.cpu_seconds.push_back(cpu);
  series.close_seconds.push_back(Seconds(closed - closing));
  RemoveDatabase(db_path);
  return Ok();
}

// One `CREATE TABLE t AS SELECT * FROM read_csv(...)` into a fresh DuckDB file.
Status RunDuckDbOnce(const BenchOptions& o, const fs::path& db_path, const fs::path& csv, bool all_varchar,
                     bool ignore_errors, Series& series, int64_t* rows_out) {
  RemoveDatabase(db_path);
  auto db = std::make_unique<RawDuckDb>(db_path, o.threads);
  if (!db->ok()) {
    return Error::Permanent(db->error());
  }
  std::string sql = fmt::format("CREATE TABLE t AS SELECT * FROM read_csv({}, header=true, all_varchar={}{})",
                                QuoteLiteral(csv.string()), all_varchar ? "true" : "false",
                                ignore_errors ? ", ignore_errors=true" : "");
  double cpu_start = ProcessCpuSeconds();
  auto start = Clock::now();
  Status st = db->Exec(sql);
  auto done = Clock::now();
  double cpu = ProcessCpuSeconds() - cpu_start;
  if (!st.ok()) {
    return st.error();
  }
  if (rows_out != nullptr) {
    auto n = db->Count("t");
    if (!n.ok()) {
      return n.error();
    }
    *rows_out = *n;
  }
  auto closing = Clock::now();
  db.reset();
  auto closed = Clock::now();
  series.seconds.push_back(Seconds(done - start));
  series.cpu_seconds.push_back(cpu);
  series.close_seconds.push_back(Seconds(closed - closing));
  RemoveDatabase(db_path);
  return Ok();
}

// The steps of Loader::LoadObject run one by one (same calls, same order) so that the table can say where
// the time goes without a profiler.
struct Phases {
  double get = 0;
  double sha256 = 0;
  double parse = 0;
  double commit = 0;  // HasLoad + CommitLoad: the appender, load_history and COMMIT
  double Total() const { return get + sha256 + parse + commit; }
};

Result<Phases> RunPhases(const BenchOptions& o, const fs::path& db_path, LocalObjectStore& store,
                         const ObjectKey& key) {
  RemoveDatabase(db_path);
  EntitySpec entity;
  DuckDbOptions db_options;
  db_options.path = db_path;
  db_options.threads = o.threads;
  auto warehouse = DuckDbWarehouse::Open(db_options, entity);
  if (!warehouse.ok()) {
    return warehouse.error();
  }
  auto object = store.Stat(key);
  if (!object.ok()) {
    return object.error();
  }
  Phases p;
  auto t0 = Clock::now();
  auto content = store.Get(key);
  if (!content.ok()) {
    return content.error();
  }
  auto t1 = Clock::now();
  LoadRequest request;
  request.object = *object;
  request.object.size = content->size();
  request.checksum = Sha256(*content);
  auto t2 = Clock::now();
  ParsedObject parsed;
  ParseObject(*content, entity, ParseOptions{}, parsed);
  auto t3 = Clock::now();
  request.failed = parsed.failed;
  request.error = parsed.error;
  request.rejects = std::move(parsed.rejects);
  request.rows = std::move(parsed.rows);
  auto done = (*warehouse)->HasLoad(object->key, request.checksum);
  if (!done.ok()) {
    return done.error();
  }
  auto receipt = (*warehouse)->CommitLoad(request);
  auto t4 = Clock::now();
  if (!receipt.ok()) {
    return receipt.error();
  }
  p.get = Seconds(t1 - t0);
  p.sha256 = Seconds(t2 - t1);
  p.parse = Seconds(t3 - t2);
  p.commit = Seconds(t4 - t3);
  warehouse->reset();
  RemoveDatabase(db_path);
  return p;
}

nlohmann::json SeriesJson(const Series& s, uint64_t rows, double mb) {
  double best = s.Best();
  return {{"name", s.name},
          {"seconds", s.seconds},
          {"best_seconds", best},
          {"median_seconds", s.MedianSeconds()},
          {"cpu_seconds", s.cpu_seconds},
          {"cpu_seconds_median", s.MedianCpu()},
          {"close_seconds_median", s.MedianClose()},
          {"rows_per_second", best > 0 ? static_cast<double>(rows) / best : 0.0},
          {"mb_per_second", best > 0 ? mb / best : 0.0}};
}

void PrintRow(const Series& s, uint64_t rows, double mb) {
  if (s.seconds.empty()) {
    return;
  }
  double best = s.Best();
  std::cout << fmt::format("{:<42} {:>9} {:>7.1f} {:>7.3f} {:>8.3f} {:>10.0f} {:>7.1f} {:>7.3f} {:>7.3f}\n",
                           s.name, rows, mb, best, s.MedianSeconds(),
                           best > 0 ? static_cast<double>(rows) / best : 0.0, best > 0 ? mb / best : 0.0,
                           s.MedianCpu(), s.MedianClose());
}

int Fail(const std::string& message) {
  std::cerr << "dimstream_bench_load: " << message << "\n";
  return 1;
}

int Run(BenchOptions o) {
  if (o.smoke) {
    o.rows = kSmokeRows;
    o.repeat = 1;
    o.only = "all";
    if (o.bad_share == 0.0) {
      o.bad_share = 0.01;  // the smoke run checks that rejects are counted too
    }
    o.file.clear();
  }
  spdlog::set_level(spdlog::level::warn);

  fs::path work = o.work_dir.empty()
                      ? fs::temp_directory_path() / fmt::format("dimstream_bench_{}", ::getpid())
                      : fs::path(o.work_dir);
  std::error_code ec;
  fs::create_directories(work, ec);
  if (ec) {
    return Fail(fmt::format("cannot create {}: {}", work.string(), ec.message()));
  }
  // A directory the user named is theirs: only what the benchmark writes into it is removed.
  WorkDir work_dir(o.work_dir.empty() ? work : work / "bench", o.keep);
  fs::create_directories(work_dir.path(), ec);
  const fs::path landing = work_dir.path() / "landing";
  const fs::path bucket = work_dir.path() / "bucket";

  // 1. The file.
  fs::path csv;
  std::optional<GenerateStats> generated;
  double generate_seconds = 0;
  if (!o.file.empty()) {
    csv = fs::absolute(o.file);
    if (!fs::is_regular_file(csv)) {
      return Fail(csv.string() + " is not a file");
    }
  } else {
    StopSignal stop;
    auto start = Clock::now();
    auto stats = Generate(GeneratorSettings(o), landing, stop,
                          [&csv](const fs::path& path, const GenerateStats&) { csv = path; });
    generate_seconds = Seconds(Clock::now() - start);
    if (!stats.ok()) {
      return Fail("cannot generate the file: " + stats.error().message);
    }
    if (stats->files != 1 || csv.empty()) {
      return Fail(fmt::format("the generator wrote {} files, expected one", stats->files));
    }
    generated = *stats;
    csv = fs::absolute(csv);
  }
  const uint64_t bytes = fs::file_size(csv);
  const double mb = static_cast<double>(bytes) / 1e6;

  LocalObjectStore store(bucket);
  auto key = PlaceInBucket(csv, bucket);
  if (!key.ok()) {
    return Fail(key.error().message);
  }
  const fs::path object_path = bucket / key->get();

  std::cout << "dimstream_bench_load\n";
  std::cout << fmt::format("machine:  {} CPUs (nproc), {}\n", Nproc(), CpuModel());
  std::cout << fmt::format("duckdb:   {}, threads = {}\n", duckdb_library_version(),
                           o.threads == 0 ? std::string("DuckDB default") : std::to_string(o.threads));
  if (generated) {
    std::cout << fmt::format(
        "file:     {} ({} rows, {} malformed, {:.1f} MB; generated in {:.2f} s, seed {}, 20% updates, 1% "
        "duplicates, 1% deletes, 2% NULL fields)\n",
        csv.string(), generated->rows, generated->bad_rows, mb, generate_seconds, o.seed);
  } else {
    std::cout << fmt::format("file:     {} ({:.1f} MB)\n", csv.string(), mb);
  }
  std::cout << fmt::format("repeats:  {} (each into a fresh DuckDB file under {})\n", o.repeat,
                           work_dir.path().string());
  std::cout.flush();

  // 2. dimstream.
  Series dim{"dimstream Loader::LoadObject"};
  LoadCheck check;
  uint64_t rows = generated ? generated->rows : 0;
  const bool run_dim = o.only != "duckdb";
  const bool run_duck = o.only != "dimstream";
  for (uint64_t i = 0; run_dim && i < o.repeat; ++i) {
    uint64_t seen = 0;
    Status st = RunDimstreamOnce(o, work_dir.path() / fmt::format("dimstream_{}.duckdb", i), store, *key, dim,
                                 i == 0 ? &check : nullptr, i == 0 ? &seen : nullptr);
    if (!st.ok()) {
      return Fail("dimstream load failed: " + st.error().message);
    }
    if (i == 0 && !generated) {
      rows = seen;
    }
  }

  // 3. DuckDB's reader, typed and all-VARCHAR.
  const bool ignore_errors = generated && generated->bad_rows > 0;
  Series typed{fmt::format("DuckDB read_csv all_varchar=false{}", ignore_errors ? " ign.err" : "")};
  Series text{fmt::format("DuckDB read_csv all_varchar=true{}", ignore_errors ? " ign.err" : "")};
  int64_t duck_rows = -1;
  for (uint64_t i = 0; run_duck && i < o.repeat; ++i) {
    Status st = RunDuckDbOnce(o, work_dir.path() / fmt::format("duckdb_typed_{}.duckdb", i), object_path,
                              false, ignore_errors, typed, i == 0 ? &duck_rows : nullptr);
    if (!st.ok()) {
      return Fail("DuckDB read_csv (all_varchar=false) failed: " + st.error().message);
    }
  }
  for (uint64_t i = 0; run_duck && i < o.repeat; ++i) {
    Status st = RunDuckDbOnce(o, work_dir.path() / fmt::format("duckdb_text_{}.duckdb", i), object_path, true,
                              ignore_errors, text, nullptr);
    if (!st.ok()) {
      return Fail("DuckDB read_csv (all_varchar=true) failed: " + st.error().message);
    }
  }

  if (rows == 0 && duck_rows > 0) {
    rows = static_cast<uint64_t>(duck_rows);  // --file with --only duckdb: DuckDB's count of the data rows
  }

  std::optional<Phases> phases;
  if (o.phases && run_dim) {
    auto p = RunPhases(o, work_dir.path() / "phases.duckdb", store, *key);
    if (!p.ok()) {
      return Fail("phase run failed: " + p.error().message);
    }
    phases = *p;
  }

  // 4. The table.
  std::cout << "\n"
            << fmt::format("{:<42} {:>9} {:>7} {:>7} {:>8} {:>10} {:>7} {:>7} {:>7}\n", "", "rows", "MB",
                           "best s", "median s", "rows/s", "MB/s", "cpu s", "close s");
  PrintRow(dim, rows, mb);
  PrintRow(typed, rows, mb);
  PrintRow(text, rows, mb);
  // Throughput ratio on the same file: DuckDB's time over dimstream's.
  auto ratio = [](double dim_seconds, double duck_seconds) {
    return dim_seconds > 0 ? duck_seconds / dim_seconds : 0.0;
  };
  double ratio_typed = ratio(dim.Best(), typed.Best());
  double ratio_text = ratio(dim.Best(), text.Best());
  double ratio_typed_median = ratio(dim.MedianSeconds(), typed.MedianSeconds());
  double ratio_text_median = ratio(dim.MedianSeconds(), text.MedianSeconds());
  if (run_dim && run_duck) {
    std::cout << "\n"
              << fmt::format(
                     "ratio dimstream/DuckDB (throughput, best; median in brackets):\n"
                     "  vs all_varchar=false: {:.2f} ({:.2f})   vs all_varchar=true: {:.2f} ({:.2f})   "
                     "goal >= {:.1f}: {}\n",
                     ratio_typed, ratio_typed_median, ratio_text, ratio_text_median, kGoal,
                     ratio_typed >= kGoal ? "met" : "NOT met");
  }
  std::cout
      << "  (rows/s and MB/s from the best time; \"cpu s\": median process CPU time of the load, all "
         "threads;\n   \"close s\": median time to close the database afterwards, not part of the load)\n";
  if (phases) {
    double total = phases->Total();
    auto share = [total](double v) { return total > 0 ? 100.0 * v / total : 0.0; };
    std::cout << "\n"
              << fmt::format(
                     "dimstream load by step (one extra run):\n"
                     "  read object {:.3f} s ({:.0f}%), SHA-256 {:.3f} s ({:.0f}%), parse+UTF-8+hash "
                     "{:.3f} s ({:.0f}%), append+commit {:.3f} s ({:.0f}%), total {:.3f} s\n",
                     phases->get, share(phases->get), phases->sha256, share(phases->sha256), phases->parse,
                     share(phases->parse), phases->commit, share(phases->commit), total);
  }

  if (!o.json.empty()) {
    nlohmann::json j;
    j["machine"] = {{"nproc", Nproc()}, {"cpu", CpuModel()}, {"duckdb_version", duckdb_library_version()}};
    j["settings"] = {{"file", csv.string()},
                     {"rows", rows},
                     {"bytes", bytes},
                     {"mb", mb},
                     {"repeat", o.repeat},
                     {"threads", o.threads},
                     {"generated", generated.has_value()},
                     {"bad_rows", generated ? generated->bad_rows : 0},
                     {"seed", o.seed}};
    j["results"] = {SeriesJson(dim, rows, mb), SeriesJson(typed, rows, mb), SeriesJson(text, rows, mb)};
    j["ratio"] = {{"vs_all_varchar_false", ratio_typed},
                  {"vs_all_varchar_true", ratio_text},
                  {"vs_all_varchar_false_median", ratio_typed_median},
                  {"vs_all_varchar_true_median", ratio_text_median},
                  {"goal", kGoal}};
    if (phases) {
      j["phases"] = {{"read_object", phases->get},
                     {"sha256", phases->sha256},
                     {"parse", phases->parse},
                     {"append_commit", phases->commit},
                     {"total", phases->Total()}};
    }
    std::ofstream out(o.json);
    out << j.dump(2) << "\n";
    if (!out) {
      return Fail("cannot write " + o.json);
    }
  }

  if (o.smoke) {
    const auto expected = static_cast<int64_t>(generated->rows - generated->bad_rows);
    const auto expected_rejects = static_cast<int64_t>(generated->bad_rows);
    bool good = check.raw_rows == expected && check.rejects == expected_rejects && check.status == "loaded" &&
                duck_rows > 0 && duck_rows <= static_cast<int64_t>(generated->rows);
    std::cout << "\n"
              << fmt::format(
                     "smoke: customer_raw {} rows (expected {}), customer_rejects {} (expected {}), "
                     "load_history status '{}', DuckDB table {} rows: {}\n",
                     check.raw_rows, expected, check.rejects, expected_rejects, check.status, duck_rows,
                     good ? "OK" : "FAILED");
    return good ? 0 : 1;
  }
  return 0;
}

}  // namespace
}  // namespace dimstream

int main(int argc, char** argv) {
  dimstream::BenchOptions o;
  CLI::App app("Times dimstream's load of one large customer CSV file next to DuckDB's read_csv on it",
               "dimstream_bench_load");
  app.add_option("--rows", o.rows, "Rows to generate")->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  app.add_option("--file", o.file, "Load this CSV file instead of generating one")->check(CLI::ExistingFile);
  app.add_option("--repeat", o.repeat, "Repeats of each measurement, each into a fresh DuckDB file")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1000}));
  app.add_option("--threads", o.threads, "DuckDB threads for both (0: DuckDB's default)");
  app.add_option("--json", o.json, "Also write the figures as JSON to this file");
  app.add_option("--work-dir", o.work_dir, "Where the file and the DuckDB files go (default: a temp dir)");
  app.add_option("--seed", o.seed, "Generator seed");
  app.add_option("--bad-share", o.bad_share,
                 "Share of malformed rows to generate (DuckDB then reads with ignore_errors=true)")
      ->check(CLI::Range(0.0, 0.5));
  app.add_option("--only", o.only, "Run only one side, to profile it: dimstream or duckdb (default: all)")
      ->check(CLI::IsMember({"all", "dimstream", "duckdb"}));
  app.add_flag("--keep", o.keep, "Keep the work directory");
  app.add_flag("!--no-phases", o.phases, "Skip the extra run that times the load's steps one by one");
  app.add_flag("--smoke", o.smoke,
               "20,000 rows, one repeat, and check the loaded row counts (exit 1 when wrong); for CI");
  CLI11_PARSE(app, argc, argv);
  try {
    return dimstream::Run(o);
  } catch (const std::exception& e) {
    std::cerr << "dimstream_bench_load: " << e.what() << "\n";
    return 1;
  }
}
