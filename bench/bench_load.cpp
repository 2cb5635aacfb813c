// dimstream_bench_load: how fast dimstream loads one large customer file into DuckDB, in each input format
// (CSV, CSV.gz, CSV.zst, JSON lines, Parquet), next to DuckDB's own reader of the same file with the same
// thread setting; every measurement in a child process of its own, so that each has its own peak RSS. See
// bench/README.md.

#include <duckdb.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bench/bench_common.h"
#include "cli/command_support.h"
#include "common/csv_reader.h"
#include "common/stop.h"
#include "common/utf8.h"
#include "config/config.h"
#include "config/entity.h"
#include "generator/generator.h"
#include "loader/file_format.h"
#include "loader/loader.h"
#include "loader/record_parser.h"
#include "loader/source_factory.h"
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
using bench::ProcField;
using bench::Seconds;
using bench::WorkDir;

constexpr uint64_t kSmokeRows = 20000;
// Issue 12's goal: dimstream's CSV load at least as fast as DuckDB's read_csv of the same file.
constexpr double kGoal = 1.0;
// What a child prints before its result, so that anything else on its stdout cannot be taken for it.
constexpr std::string_view kResultTag = "@@bench-result ";
constexpr size_t kChunk = size_t{1} << 20;

struct BenchOptions {
  uint64_t rows = 2000000;
  std::string file;  // an existing CSV file to start from instead of generating one
  uint64_t repeat = 3;
  uint64_t threads = 0;  // 0: the default (DuckDB's) for both sides
  std::string json;
  std::string work_dir;  // default: a new directory under the system's temporary directory
  double bad_share = 0.0;
  uint64_t seed = 42;
  std::string only = "all";          // "dimstream" or "duckdb": run one side alone (for a profiler)
  std::vector<std::string> formats;  // empty: every format
  std::string duckdb_memory_limit;   // DuckDB's side; empty: DuckDB's default
  std::string big_file;              // --big-file: one load of this file alone
  bool with_duckdb = false;          // --big-file: DuckDB's reader of it too
  bool phases = true;
  bool keep = false;
  bool smoke = false;
  // A child's: what to measure ("dimstream:csv.gz", "duckdb:jsonl", ...), on which file, into which database.
  std::string child;
  std::string child_file;
  std::string child_db;
  bool ignore_errors = false;  // DuckDB's readers skip malformed rows (the file was generated with some)
};

// The formats, in the order of the table. `suffix` replaces the CSV's ".csv".
struct FormatSpec {
  const char* name;
  const char* suffix;
};
constexpr FormatSpec kFormats[] = {{"csv", ".csv"},
                                   {"csv.gz", ".csv.gz"},
                                   {"csv.zst", ".csv.zst"},
                                   {"jsonl", ".jsonl"},
                                   {"parquet", ".parquet"}};

bool IsFormat(const std::string& name) {
  return std::any_of(std::begin(kFormats), std::end(kFormats),
                     [&](const FormatSpec& f) { return name == f.name; });
}

// --- Timing and memory --------------------------------------------------------------------------------

// The repeats of one measurement, each from a child process.
struct Series {
  std::string format;
  std::string side;                   // "dimstream", "DuckDB read_csv", ...
  std::vector<double> seconds;        // the measured operation, one per repeat
  std::vector<double> cpu_seconds;    // the child's CPU time during it, all threads
  std::vector<double> close_seconds;  // closing the database afterwards (checkpoint), not part of `seconds`
  std::vector<double> peak_rss_mb;    // the child's peak RSS (VmHWM), whole run
  int64_t rows = -1;                  // what the first run loaded
  int64_t rejects = 0;
  std::string status;
  nlohmann::json extra;  // the first run's other figures

  bool empty() const { return seconds.empty(); }
  double Best() const { return seconds.empty() ? 0.0 : *std::min_element(seconds.begin(), seconds.end()); }
  static double Median(std::vector<double> v) {
    if (v.empty()) {
      return 0.0;
    }
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
  }
  static double Max(const std::vector<double>& v) {
    return v.empty() ? 0.0 : *std::max_element(v.begin(), v.end());
  }
};

// The peak RSS of this process image in MB (10^6 bytes), from /proc/self/status's VmHWM. Not ru_maxrss:
// Linux carries the RSS the process had before execve (the parent's pages, shared after fork) into it.
double PeakRssMb() {
  std::string hwm = ProcField("/proc/self/status", "VmHWM");  // "123456 kB"
  if (hwm.empty()) {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_maxrss) * 1024.0 / 1e6;
  }
  return static_cast<double>(std::stoull(hwm)) * 1024.0 / 1e6;
}

void RemoveDatabase(const fs::path& path) {
  std::error_code ec;
  fs::remove(path, ec);
  fs::remove(fs::path(path.string() + ".wal"), ec);
}

// --- DuckDB through its C API -------------------------------------------------------------------------

// A DuckDB database (a file, or in memory for an empty path) and one connection, with the benchmark's
// thread setting and memory limit given as configuration, not SQL.
class RawDuckDb {
 public:
  RawDuckDb(const fs::path& path, uint64_t threads, const std::string& memory_limit) {
    duckdb_config config = nullptr;
    duckdb_create_config(&config);
    if (threads > 0) {
      duckdb_set_config(config, "threads", std::to_string(threads).c_str());
    }
    if (!memory_limit.empty()) {
      duckdb_set_config(config, "memory_limit", memory_limit.c_str());
    }
    char* err = nullptr;
    if (duckdb_open_ext(path.empty() ? nullptr : path.c_str(), &db_, config, &err) != DuckDBSuccess) {
      error_ = err != nullptr ? err : "cannot open " + path.string();
      duckdb_free(err);
      db_ = nullptr;
    } else if (duckdb_connect(db_, &conn_) != DuckDBSuccess) {
      error_ = "cannot connect to " + path.string();
      conn_ = nullptr;
    }
    duckdb_destroy_config(&config);
  }
  RawDuckDb(const RawDuckDb&) = delete;
  RawDuckDb& operator=(const RawDuckDb&) = delete;
  ~RawDuckDb() { Close(); }

  bool ok() const { return error_.empty() && conn_ != nullptr; }
  const std::string& error() const { return error_; }

  // Runs `sql` with `params` bound to $1, $2, ... as VARCHAR; the first value of the result as an integer
  // (0 when the statement returns none).
  Result<int64_t> Run(const std::string& sql, const std::vector<std::string>& params = {}) {
    duckdb_prepared_statement statement = nullptr;
    if (duckdb_prepare(conn_, sql.c_str(), &statement) != DuckDBSuccess) {
      std::string message = duckdb_prepare_error(statement);
      duckdb_destroy_prepare(&statement);
      return Error::Permanent(message);
    }
    for (size_t i = 0; i < params.size(); ++i) {
      duckdb_bind_varchar(statement, i + 1, params[i].c_str());
    }
    duckdb_result result{};
    duckdb_state st = duckdb_execute_prepared(statement, &result);
    duckdb_destroy_prepare(&statement);
    if (st != DuckDBSuccess) {
      std::string message = duckdb_result_error(&result);
      duckdb_destroy_result(&result);
      return Error::Permanent(message);
    }
    int64_t value = duckdb_row_count(&result) > 0 ? duckdb_value_int64(&result, 0, 0) : 0;
    duckdb_destroy_result(&result);
    return value;
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

// DuckDB's own reader of a file in `format`, its path bound as $1: what dimstream is compared with.
// read_csv tells gzip and zstd by the suffix.
std::string DuckDbReader(FileFormat format, bool all_varchar, bool ignore_errors) {
  const char* errors = ignore_errors ? ", ignore_errors=true" : "";
  switch (format) {
    case FileFormat::kCsv:
      return fmt::format("read_csv($1, header=true{}{})", all_varchar ? ", all_varchar=true" : "", errors);
    case FileFormat::kJsonLines:
      return fmt::format("read_json($1, format='newline_delimited'{})", errors);
    case FileFormat::kParquet:
      return "read_parquet($1)";
  }
  return "";
}

std::string DuckDbReaderName(FileFormat format, bool all_varchar) {
  switch (format) {
    case FileFormat::kCsv:
      return all_varchar ? "DuckDB read_csv all_varchar" : "DuckDB read_csv";
    case FileFormat::kJsonLines:
      return "DuckDB read_json";
    case FileFormat::kParquet:
      return "DuckDB read_parquet";
  }
  return "DuckDB";
}

// --- The files ----------------------------------------------------------------------------------------

// The realistic mix the benchmark generates: updates (SCD1 and SCD2), a few duplicates and deletes, some
// NULLs, event time and op columns. Malformed rows only when asked for.
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

Error ErrnoFailure(const std::string& what) {
  return Error::Permanent(fmt::format("{}: {}", what, std::strerror(errno)));
}

// A file mapped read-only, for reading it whole without a copy.
class MappedFile {
 public:
  MappedFile() = default;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() {
    if (data_ != nullptr) {
      munmap(data_, size_);
    }
  }
  Status Open(const fs::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return ErrnoFailure("cannot open " + path.string());
    }
    struct stat st {};
    if (fstat(fd, &st) != 0) {
      Error e = ErrnoFailure("cannot stat " + path.string());
      ::close(fd);
      return e;
    }
    size_ = static_cast<size_t>(st.st_size);
    if (size_ > 0) {
      void* p = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        Error e = ErrnoFailure("cannot map " + path.string());
        ::close(fd);
        return e;
      }
      data_ = p;
      madvise(data_, size_, MADV_SEQUENTIAL);
    }
    ::close(fd);
    return Ok();
  }
  std::string_view view() const { return {static_cast<const char*>(data_), size_}; }

 private:
  void* data_ = nullptr;
  size_t size_ = 0;
};

// Calls `chunk` with the file's bytes, kChunk at a time.
Status ForEachChunk(const fs::path& path, const std::function<Status(const char*, size_t)>& chunk) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error::Permanent("cannot open " + path.string());
  }
  std::vector<char> buffer(kChunk);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    auto got = static_cast<size_t>(in.gcount());
    if (got > 0) {
      DIMSTREAM_TRY(chunk(buffer.data(), got));
    }
  }
  if (in.bad()) {
    return Error::Permanent("cannot read " + path.string());
  }
  return Ok();
}

Status WriteGzip(const fs::path& csv, const fs::path& out) {
  gzFile gz = gzopen(out.c_str(), "wb6");
  if (gz == nullptr) {
    return ErrnoFailure("cannot create " + out.string());
  }
  gzbuffer(gz, static_cast<unsigned>(kChunk));
  Status written = ForEachChunk(csv, [&](const char* data, size_t size) -> Status {
    if (gzwrite(gz, data, static_cast<unsigned>(size)) != static_cast<int>(size)) {
      int errnum = 0;
      return Error::Permanent(fmt::format("cannot write {}: {}", out.string(), gzerror(gz, &errnum)));
    }
    return Ok();
  });
  if (gzclose(gz) != Z_OK && written.ok()) {
    return Error::Permanent("cannot finish " + out.string());
  }
  return written;
}

Status WriteZstd(const fs::path& csv, const fs::path& out) {
  std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> cctx(ZSTD_createCCtx(), &ZSTD_freeCCtx);
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, ZSTD_CLEVEL_DEFAULT);
  std::ofstream file(out, std::ios::binary | std::ios::trunc);
  if (!file) {
    return Error::Permanent("cannot create " + out.string());
  }
  std::vector<char> compressed(ZSTD_CStreamOutSize());
  auto pump = [&](ZSTD_inBuffer& in, ZSTD_EndDirective mode) -> Status {
    while (true) {
      ZSTD_outBuffer output{compressed.data(), compressed.size(), 0};
      size_t left = ZSTD_compressStream2(cctx.get(), &output, &in, mode);
      if (ZSTD_isError(left)) {
        return Error::Permanent(fmt::format("cannot compress {}: {}", out.string(), ZSTD_getErrorName(left)));
      }
      file.write(compressed.data(), static_cast<std::streamsize>(output.pos));
      bool done = mode == ZSTD_e_end ? left == 0 : in.pos == in.size;
      if (done) {
        return Ok();
      }
    }
  };
  DIMSTREAM_TRY(ForEachChunk(csv, [&](const char* data, size_t size) -> Status {
    ZSTD_inBuffer in{data, size, 0};
    return pump(in, ZSTD_e_continue);
  }));
  ZSTD_inBuffer none{nullptr, 0, 0};
  DIMSTREAM_TRY(pump(none, ZSTD_e_end));
  file.close();
  if (!file) {
    return Error::Permanent("cannot write " + out.string());
  }
  return Ok();
}

// JSON lines from the CSV: one object per record, keyed by the header's names, every field a JSON string
// and an empty unquoted field null (as the CSV reader reads it). A record the CSV reader cannot read or with
// another field count than the header is left out and counted in `dropped` (only with --bad-share).
Status WriteJsonLines(const fs::path& csv, const fs::path& out, uint64_t& dropped) {
  MappedFile mapped;
  DIMSTREAM_TRY(mapped.Open(csv));
  std::ofstream file(out, std::ios::binary | std::ios::trunc);
  if (!file) {
    return Error::Permanent("cannot create " + out.string());
  }
  CsvReader reader(mapped.view());
  CsvRecord record;
  std::string why;
  if (reader.Next(record, &why) != CsvStatus::kRecord) {
    return Error::Permanent(csv.string() + " has no header");
  }
  std::vector<std::string> keys;  // each name already as a JSON string and a colon
  for (std::string_view name : record.fields) {
    std::string key;
    AppendJsonString(key, name);
    keys.push_back(key + ':');
  }
  std::string buffer;
  while (true) {
    CsvStatus st = reader.Next(record, &why);
    if (st == CsvStatus::kEnd) {
      break;
    }
    if (st != CsvStatus::kRecord || record.fields.size() != keys.size()) {
      ++dropped;
      continue;
    }
    buffer.push_back('{');
    for (size_t i = 0; i < keys.size(); ++i) {
      if (i > 0) {
        buffer.push_back(',');
      }
      buffer += keys[i];
      if (record.fields[i].empty() && !record.quoted[i]) {
        buffer += "null";
      } else {
        AppendJsonString(buffer, record.fields[i]);
      }
    }
    buffer += "}\n";
    if (buffer.size() >= kChunk) {
      file.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      buffer.clear();
    }
  }
  file.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
  file.close();
  if (!file) {
    return Error::Permanent("cannot write " + out.string());
  }
  return Ok();
}

// Parquet from the CSV by DuckDB, every column VARCHAR (what the CSV holds, as text), in DuckDB's default
// row groups and compression (snappy).
Status WriteParquet(const fs::path& csv, const fs::path& out, bool ignore_errors) {
  RawDuckDb db(fs::path(), 0, "");
  if (!db.ok()) {
    return Error::Permanent(db.error());
  }
  auto copied = db.Run(fmt::format("COPY (SELECT * FROM read_csv($1, all_varchar=true, header=true{})) TO $2 "
                                   "(FORMAT parquet)",
                                   ignore_errors ? ", ignore_errors=true" : ""),
                       {csv.string(), out.string()});
  if (!copied.ok()) {
    return copied.error();
  }
  return Ok();
}

// The size of the data a file holds before compression: a CSV or JSON lines file's size after gzip or zstd
// (the CSV's own size: the .gz and .zst are made from it), a Parquet file's column chunks uncompressed.
Result<uint64_t> UncompressedSize(const fs::path& file, const std::string& format, uint64_t csv_bytes) {
  if (format == "csv.gz" || format == "csv.zst") {
    return csv_bytes;
  }
  if (format == "parquet") {
    RawDuckDb db(fs::path(), 0, "");
    if (!db.ok()) {
      return Error::Permanent(db.error());
    }
    auto n = db.Run("SELECT sum(total_uncompressed_size)::BIGINT FROM parquet_metadata($1)", {file.string()});
    if (!n.ok()) {
      return n.error();
    }
    return static_cast<uint64_t>(*n);
  }
  return static_cast<uint64_t>(fs::file_size(file));
}

// --- The child: one measurement -----------------------------------------------------------------------

// dimstream's side runs with the default configuration's settings (dimstream.toml without any key): the
// loader's options as LoaderOptionsFrom makes them, the warehouse's DuckDB settings (memory limit, checkpoint
// threshold) as OpenWarehouse passes them; only the thread count may be set (--threads, for both sides).
LoaderOptions DefaultLoaderOptions() {
  return LoaderOptionsFrom(Config{});
}

DuckDbOptions DefaultDuckDbOptions(const fs::path& db_path, uint64_t threads) {
  Config c;
  return DuckDbOptions{db_path, threads > 0 ? threads : c.warehouse_threads, c.warehouse_memory_limit,
                       c.warehouse_checkpoint_threshold};
}

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

// One Loader::LoadObject of `file` into a fresh DuckDB file: the load timed, closing timed apart.
Result<nlohmann::json> ChildDimstream(const BenchOptions& o, const fs::path& file, const fs::path& db_path) {
  RemoveDatabase(db_path);
  EntitySpec entity;
  auto warehouse = DuckDbWarehouse::Open(DefaultDuckDbOptions(db_path, o.threads), entity);
  if (!warehouse.ok()) {
    return warehouse.error();
  }
  LocalObjectStore store(file.parent_path());
  auto object = store.Stat(ObjectKey(file.filename().string()));
  if (!object.ok()) {
    return object.error();
  }
  Loader loader(DefaultLoaderOptions(), entity, store, nullptr, **warehouse);
  double cpu_start = ProcessCpuSeconds();
  auto start = Clock::now();
  auto receipt = loader.LoadObject(*object);
  auto loaded = Clock::now();
  double cpu = ProcessCpuSeconds() - cpu_start;
  if (!receipt.ok()) {
    return receipt.error();
  }
  auto raw = CountOf(**warehouse, "SELECT count(*) FROM " + QuoteIdent(entity.raw_table()));
  auto rejects = CountOf(**warehouse, "SELECT count(*) FROM " + QuoteIdent(entity.rejects_table()));
  auto history = (*warehouse)->Query("SELECT status, format, uncompressed_size, error FROM load_history");
  if (!raw.ok() || !rejects.ok() || !history.ok() || history->rows.size() != 1) {
    return Error::Permanent("cannot count what the load wrote");
  }
  const auto& h = history->rows[0];
  if (receipt->outcome != LoadOutcome::kLoaded) {
    return Error::Permanent(fmt::format("the load did not commit rows: {}", h[3].value_or("(no error)")));
  }
  auto closing = Clock::now();
  warehouse->reset();
  auto closed = Clock::now();
  RemoveDatabase(db_path);
  return nlohmann::json{{"seconds", Seconds(loaded - start)},
                        {"cpu_seconds", cpu},
                        {"close_seconds", Seconds(closed - closing)},
                        {"rows", *raw},
                        {"rejects", *rejects},
                        {"status", h[0].value_or("?")},
                        {"format", h[1].value_or("?")},
                        {"uncompressed_bytes", h[2] ? std::stoll(*h[2]) : 0}};
}

// One `CREATE TABLE t AS SELECT * FROM <reader>(file)` into a fresh DuckDB file.
Result<nlohmann::json> ChildDuckDb(const BenchOptions& o, const fs::path& file, const fs::path& db_path,
                                   bool all_varchar) {
  auto format = FormatOf(file.filename().string());
  if (!format.ok()) {
    return format.error();
  }
  RemoveDatabase(db_path);
  auto db = std::make_unique<RawDuckDb>(db_path, o.threads, o.duckdb_memory_limit);
  if (!db->ok()) {
    return Error::Permanent(db->error());
  }
  std::string sql =
      "CREATE TABLE t AS SELECT * FROM " + DuckDbReader(format->format, all_varchar, o.ignore_errors);
  double cpu_start = ProcessCpuSeconds();
  auto start = Clock::now();
  auto created = db->Run(sql, {file.string()});
  auto done = Clock::now();
  double cpu = ProcessCpuSeconds() - cpu_start;
  if (!created.ok()) {
    return created.error();
  }
  auto rows = db->Run("SELECT count(*) FROM " + QuoteIdent("t"));
  if (!rows.ok()) {
    return rows.error();
  }
  auto closing = Clock::now();
  db.reset();
  auto closed = Clock::now();
  RemoveDatabase(db_path);
  return nlohmann::json{{"seconds", Seconds(done - start)},
                        {"cpu_seconds", cpu},
                        {"close_seconds", Seconds(closed - closing)},
                        {"rows", *rows},
                        {"rejects", 0},
                        {"status", "loaded"}};
}

// The steps of a dimstream load, to say where the time goes without a profiler: (1) the object opened and
// its stored bytes read with their SHA-256 (OpenObject, then Finish before any record: for Parquet that
// includes what OpenObject does to the file); (2) the same plus every record read, decompressed, parsed,
// checked and hashed by ParseRecords, with batches dropped instead of appended. The load's time minus (2)
// is the warehouse's part: append, load_history, commit.
Result<nlohmann::json> ChildPhases(const fs::path& file) {
  EntitySpec entity;
  LocalObjectStore store(file.parent_path());
  auto object = store.Stat(ObjectKey(file.filename().string()));
  if (!object.ok()) {
    return object.error();
  }
  LoaderOptions options = DefaultLoaderOptions();
  auto t0 = Clock::now();
  {
    auto opened = OpenObject(store, *object, entity, options.readers);
    if (!opened.ok()) {
      return opened.error();
    }
    auto digest = opened->Finish();
    if (!digest.ok()) {
      return digest.error();
    }
  }
  auto t1 = Clock::now();
  uint64_t rows = 0;
  {
    auto opened = OpenObject(store, *object, entity, options.readers);
    if (!opened.ok()) {
      return opened.error();
    }
    ParseOptions parse_options{options.max_reject_bytes, false, options.batch_rows, options.batch_bytes};
    ParsedObject parsed;
    Status st =
        ParseRecords(*opened->source, entity, parse_options, parsed, [](ParsedObject&) { return Ok(); });
    if (!st.ok()) {
      return st.error();
    }
    if (parsed.failed) {
      return Error::Permanent("cannot parse " + file.string() + ": " + parsed.error);
    }
    auto digest = opened->Finish();
    if (!digest.ok()) {
      return digest.error();
    }
    rows = parsed.total_rows;
  }
  auto t2 = Clock::now();
  return nlohmann::json{
      {"read_sha256_seconds", Seconds(t1 - t0)}, {"parse_seconds", Seconds(t2 - t1)}, {"rows", rows}};
}

int ChildMain(const BenchOptions& o) {
  spdlog::set_level(spdlog::level::warn);
  size_t colon = o.child.find(':');
  std::string side = o.child.substr(0, colon);
  Result<nlohmann::json> r = Error::Invalid("unknown --child " + o.child);
  if (side == "dimstream") {
    r = ChildDimstream(o, o.child_file, o.child_db);
  } else if (side == "duckdb" || side == "duckdb-varchar") {
    r = ChildDuckDb(o, o.child_file, o.child_db, side == "duckdb-varchar");
  } else if (side == "phases") {
    r = ChildPhases(o.child_file);
  }
  nlohmann::json out = r.ok() ? *r : nlohmann::json{{"error", r.error().message}};
  out["peak_rss_mb"] = PeakRssMb();
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  out["ru_maxrss_kb"] = usage.ru_maxrss;
  std::cout << kResultTag << out.dump() << std::endl;
  return r.ok() ? 0 : 1;
}

// --- The parent ---------------------------------------------------------------------------------------

// Runs this program again with `args` and returns the result line it prints. Its stderr is ours.
Result<nlohmann::json> RunChild(const std::vector<std::string>& args) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return ErrnoFailure("cannot create a pipe");
  }
  std::vector<std::string> argv_strings = {"dimstream_bench_load"};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_strings) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  std::cout.flush();
  pid_t pid = fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return ErrnoFailure("cannot fork");
  }
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    execv("/proc/self/exe", argv.data());
    _exit(127);
  }
  ::close(fds[1]);
  std::string output;
  char buffer[4096];
  while (true) {
    ssize_t got = ::read(fds[0], buffer, sizeof(buffer));
    if (got > 0) {
      output.append(buffer, static_cast<size_t>(got));
    } else if (got == 0 || errno != EINTR) {
      break;
    }
  }
  ::close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  size_t at = output.rfind(kResultTag);
  if (at == std::string::npos) {
    return Error::Permanent(
        fmt::format("the child ({}) printed no result (exit status {})", fmt::join(args, " "), status));
  }
  size_t end = output.find('\n', at);
  auto j = nlohmann::json::parse(output.substr(at + kResultTag.size(), end - at - kResultTag.size()), nullptr,
                                 false);
  if (j.is_discarded()) {
    return Error::Permanent("the child printed an unreadable result");
  }
  if (j.contains("error")) {
    return Error::Permanent(j["error"].get<std::string>());
  }
  return j;
}

std::vector<std::string> ChildArgs(const BenchOptions& o, const std::string& what, const fs::path& file,
                                   const fs::path& db) {
  std::vector<std::string> args = {"--child",    what,        "--child-file", file.string(),
                                   "--child-db", db.string(), "--threads",    std::to_string(o.threads)};
  if (!o.duckdb_memory_limit.empty()) {
    args.insert(args.end(), {"--duckdb-memory-limit", o.duckdb_memory_limit});
  }
  if (o.ignore_errors) {
    args.push_back("--child-ignore-errors");
  }
  return args;
}

Status Measure(const BenchOptions& o, const std::string& what, const fs::path& file, const fs::path& db,
               Series& series) {
  auto r = RunChild(ChildArgs(o, what, file, db));
  if (!r.ok()) {
    return r.error().Context(fmt::format("{} on {}", what, file.filename().string()));
  }
  nlohmann::json j = *r;
  series.seconds.push_back(j["seconds"].get<double>());
  series.cpu_seconds.push_back(j["cpu_seconds"].get<double>());
  series.close_seconds.push_back(j["close_seconds"].get<double>());
  series.peak_rss_mb.push_back(j["peak_rss_mb"].get<double>());
  if (series.rows < 0) {
    series.rows = j["rows"].get<int64_t>();
    series.rejects = j["rejects"].get<int64_t>();
    series.status = j["status"].get<std::string>();
    series.extra = j;
  }
  return Ok();
}

// One format's file and what ran on it.
struct FormatRun {
  std::string name;
  fs::path path;
  uint64_t stored_bytes = 0;
  uint64_t raw_bytes = 0;
  double make_seconds = 0;  // deriving it from the CSV
  Series dim;
  Series duck;
  Series duck_varchar;  // CSV only: read_csv with all_varchar=true, the same text columns dimstream reads
  std::optional<nlohmann::json> phases;
};

double Rate(double amount, double seconds) {
  return seconds > 0 ? amount / seconds : 0.0;
}

// dimstream's throughput over DuckDB's on the same file: DuckDB's time over dimstream's.
double Ratio(double dim_seconds, double duck_seconds) {
  return dim_seconds > 0 && duck_seconds > 0 ? duck_seconds / dim_seconds : 0.0;
}

constexpr const char* kRowFormat =
    "{:<8} {:<28} {:>9} {:>7} {:>7} {:>7} {:>8} {:>10} {:>7} {:>8} {:>6} {:>7} {:>7}\n";

void PrintRow(const FormatRun& f, const Series& s) {
  if (s.empty()) {
    return;
  }
  double best = s.Best();
  double stored_mb = static_cast<double>(f.stored_bytes) / 1e6;
  double raw_mb = static_cast<double>(f.raw_bytes) / 1e6;
  std::cout << fmt::format(
      kRowFormat, f.name, s.side, s.rows, fmt::format("{:.1f}", stored_mb), fmt::format("{:.1f}", raw_mb),
      fmt::format("{:.3f}", best), fmt::format("{:.3f}", Series::Median(s.seconds)),
      fmt::format("{:.0f}", Rate(static_cast<double>(s.rows), best)),
      fmt::format("{:.1f}", Rate(stored_mb, best)), fmt::format("{:.1f}", Rate(raw_mb, best)),
      fmt::format("{:.2f}", Series::Median(s.cpu_seconds)),
      fmt::format("{:.3f}", Series::Median(s.close_seconds)),
      fmt::format("{:.0f}", Series::Max(s.peak_rss_mb)));
}

nlohmann::json SeriesJson(const FormatRun& f, const Series& s) {
  double best = s.Best();
  double stored_mb = static_cast<double>(f.stored_bytes) / 1e6;
  double raw_mb = static_cast<double>(f.raw_bytes) / 1e6;
  return {{"side", s.side},
          {"rows", s.rows},
          {"rejects", s.rejects},
          {"status", s.status},
          {"seconds", s.seconds},
          {"best_seconds", best},
          {"median_seconds", Series::Median(s.seconds)},
          {"cpu_seconds", s.cpu_seconds},
          {"cpu_seconds_median", Series::Median(s.cpu_seconds)},
          {"close_seconds", s.close_seconds},
          {"close_seconds_median", Series::Median(s.close_seconds)},
          {"peak_rss_mb", s.peak_rss_mb},
          {"peak_rss_mb_max", Series::Max(s.peak_rss_mb)},
          {"rows_per_second", Rate(static_cast<double>(s.rows), best)},
          {"stored_mb_per_second", Rate(stored_mb, best)},
          {"uncompressed_mb_per_second", Rate(raw_mb, best)},
          {"first_run", s.extra}};
}

int Fail(const std::string& message) {
  std::cerr << "dimstream_bench_load: " << message << "\n";
  return 1;
}

// Puts `file` in `bucket` without copying it: a hard link, or (another file system) its own directory is
// the bucket. Returns the path the loader reads.
Result<fs::path> LinkInBucket(const fs::path& file, const fs::path& bucket) {
  std::error_code ec;
  fs::create_directories(bucket, ec);
  fs::path target = bucket / file.filename();
  fs::remove(target, ec);
  fs::create_hard_link(file, target, ec);
  if (!ec) {
    return target;
  }
  return file;
}

void PrintHeader(const BenchOptions& o) {
  Config c;
  std::cout << "dimstream_bench_load\n";
  std::cout << fmt::format("machine:  {} CPUs (nproc), {}, {}\n", Nproc(), CpuModel(),
                           ProcField("/proc/meminfo", "MemTotal"));
  std::cout << fmt::format("duckdb:   {}, threads = {} for both sides\n", duckdb_library_version(),
                           o.threads == 0 ? std::string("DuckDB default") : std::to_string(o.threads));
  std::cout << fmt::format(
      "settings: dimstream with the default configuration (warehouse.memory_limit {}, "
      "warehouse.checkpoint_threshold {}, loader.memory_limit {}); DuckDB's readers with memory_limit {}\n",
      c.warehouse_memory_limit, c.warehouse_checkpoint_threshold, c.loader_memory_limit,
      o.duckdb_memory_limit.empty() ? std::string("DuckDB default (80% of RAM)") : o.duckdb_memory_limit);
}

// --big-file: one load of a given file, in a child, with the default configuration.
int RunBigFile(const BenchOptions& o, const fs::path& work) {
  fs::path file = fs::absolute(o.big_file);
  auto format = FormatOf(file.filename().string());
  if (!format.ok()) {
    return Fail(format.error().message);
  }
  auto path = LinkInBucket(file, work / "bucket");
  if (!path.ok()) {
    return Fail(path.error().message);
  }
  PrintHeader(o);
  const uint64_t bytes = fs::file_size(file);
  std::cout << fmt::format("file:     {} ({}, {:.1f} MB as stored)\n\n", file.string(), Describe(*format),
                           static_cast<double>(bytes) / 1e6);
  std::cout.flush();
  FormatRun f;
  f.name = Describe(*format);
  f.path = *path;
  f.stored_bytes = bytes;
  f.dim.side = "dimstream";
  Status st = Measure(o, "dimstream:" + f.name, f.path, work / "big.duckdb", f.dim);
  if (!st.ok()) {
    return Fail(st.error().message);
  }
  f.raw_bytes = static_cast<uint64_t>(f.dim.extra.value("uncompressed_bytes", int64_t{0}));
  if (o.with_duckdb) {
    f.duck.side = DuckDbReaderName(format->format, false);
    st = Measure(o, "duckdb:" + f.name, f.path, work / "big_duckdb.duckdb", f.duck);
    if (!st.ok()) {
      return Fail(st.error().message);
    }
  }
  std::cout << fmt::format(kRowFormat, "format", "", "rows", "MB", "raw MB", "best s", "median s", "rows/s",
                           "MB/s", "raw MB/s", "cpu s", "close s", "RSS MB");
  PrintRow(f, f.dim);
  PrintRow(f, f.duck);
  std::cout << fmt::format(
      "\npeak RSS of the dimstream load: {:.0f} MB ({} rows, {} rejected, {:.0f} rows/s)\n",
      Series::Max(f.dim.peak_rss_mb), f.dim.rows, f.dim.rejects,
      Rate(static_cast<double>(f.dim.rows), f.dim.Best()));
  if (!o.json.empty()) {
    nlohmann::json j;
    j["machine"] = {{"nproc", Nproc()}, {"cpu", CpuModel()}, {"duckdb_version", duckdb_library_version()}};
    j["big_file"] = {{"file", file.string()},          {"format", f.name},
                     {"stored_bytes", f.stored_bytes}, {"uncompressed_bytes", f.raw_bytes},
                     {"threads", o.threads},           {"dimstream", SeriesJson(f, f.dim)}};
    if (!f.duck.empty()) {
      j["big_file"]["duckdb"] = SeriesJson(f, f.duck);
    }
    std::ofstream out(o.json);
    out << j.dump(2) << "\n";
    if (!out) {
      return Fail("cannot write " + o.json);
    }
  }
  return 0;
}

int Run(BenchOptions o) {
  if (o.smoke) {
    o.rows = kSmokeRows;
    o.repeat = 1;
    o.only = "all";
    o.bad_share = 0.0;  // every format must then load every row, as DuckDB does
    o.file.clear();
    o.formats.clear();
  }
  for (const auto& name : o.formats) {
    if (!IsFormat(name)) {
      return Fail("unknown format '" + name + "' (csv, csv.gz, csv.zst, jsonl, parquet)");
    }
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
  if (!o.big_file.empty()) {
    return RunBigFile(o, work_dir.path());
  }
  const fs::path landing = work_dir.path() / "landing";
  const fs::path bucket = work_dir.path() / "bucket";

  // 1. The CSV file.
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
  o.ignore_errors = (generated && generated->bad_rows > 0) || (!generated && o.bad_share > 0);
  const uint64_t csv_bytes = fs::file_size(csv);
  fs::create_directories(bucket, ec);
  auto key = PlaceInBucket(csv, bucket);
  if (!key.ok()) {
    return Fail(key.error().message);
  }
  const fs::path bucket_csv = bucket / key->get();
  const std::string stem = bucket_csv.stem().string();

  PrintHeader(o);
  if (generated) {
    std::cout << fmt::format(
        "file:     {} ({} rows, {} malformed, {:.1f} MB; generated in {:.2f} s, seed {}, 20% updates, 1% "
        "duplicates, 1% deletes, 2% NULL fields)\n",
        csv.string(), generated->rows, generated->bad_rows, static_cast<double>(csv_bytes) / 1e6,
        generate_seconds, o.seed);
  } else {
    std::cout << fmt::format("file:     {} ({:.1f} MB)\n", csv.string(),
                             static_cast<double>(csv_bytes) / 1e6);
  }
  std::cout << fmt::format("repeats:  {} (each a child process loading into a fresh DuckDB file under {})\n",
                           o.repeat, work_dir.path().string());
  std::cout.flush();

  // 2. The other formats, made from the CSV.
  std::vector<FormatRun> runs;
  uint64_t json_dropped = 0;
  for (const FormatSpec& spec : kFormats) {
    if (!o.formats.empty() && std::find(o.formats.begin(), o.formats.end(), spec.name) == o.formats.end()) {
      continue;
    }
    FormatRun f;
    f.name = spec.name;
    f.path = f.name == "csv" ? bucket_csv : bucket / (stem + spec.suffix);
    auto start = Clock::now();
    Status made = Ok();
    if (f.name == "csv.gz") {
      made = WriteGzip(bucket_csv, f.path);
    } else if (f.name == "csv.zst") {
      made = WriteZstd(bucket_csv, f.path);
    } else if (f.name == "jsonl") {
      made = WriteJsonLines(bucket_csv, f.path, json_dropped);
    } else if (f.name == "parquet") {
      made = WriteParquet(bucket_csv, f.path, o.ignore_errors);
    }
    f.make_seconds = Seconds(Clock::now() - start);
    if (!made.ok()) {
      return Fail(fmt::format("cannot make the {} file: {}", f.name, made.error().message));
    }
    f.stored_bytes = fs::file_size(f.path);
    auto raw = UncompressedSize(f.path, f.name, csv_bytes);
    if (!raw.ok()) {
      return Fail(fmt::format("cannot size {}: {}", f.path.string(), raw.error().message));
    }
    f.raw_bytes = *raw;
    auto format = FormatOf(f.path.filename().string());
    if (!format.ok()) {
      return Fail(format.error().message);
    }
    f.dim.side = "dimstream";
    f.duck.side = DuckDbReaderName(format->format, false);
    if (f.name == "csv") {
      f.duck_varchar.side = DuckDbReaderName(format->format, true);
    }
    if (f.name != "csv") {
      std::cout << fmt::format("          {}: {:.1f} MB, made in {:.2f} s\n", f.path.filename().string(),
                               static_cast<double>(f.stored_bytes) / 1e6, f.make_seconds);
    }
    runs.push_back(std::move(f));
  }
  if (json_dropped > 0) {
    std::cout << fmt::format("          ({} malformed CSV records left out of the JSON lines file)\n",
                             json_dropped);
  }
  std::cout.flush();

  // 3. The measurements: for each format, the sides in turn within each repeat, so that a slow spell of the
  // machine touches both.
  const bool run_dim = o.only != "duckdb";
  const bool run_duck = o.only != "dimstream";
  for (FormatRun& f : runs) {
    for (uint64_t i = 0; i < o.repeat; ++i) {
      fs::path db = work_dir.path() / fmt::format("run_{}.duckdb", i);
      if (run_dim) {
        Status st = Measure(o, "dimstream:" + f.name, f.path, db, f.dim);
        if (!st.ok()) {
          return Fail("dimstream load failed: " + st.error().message);
        }
      }
      if (run_duck) {
        Status st = Measure(o, "duckdb:" + f.name, f.path, db, f.duck);
        if (!st.ok()) {
          return Fail(f.duck.side + " failed: " + st.error().message);
        }
        if (!f.duck_varchar.side.empty()) {
          st = Measure(o, "duckdb-varchar:" + f.name, f.path, db, f.duck_varchar);
          if (!st.ok()) {
            return Fail(f.duck_varchar.side + " failed: " + st.error().message);
          }
        }
      }
    }
    if (o.phases && run_dim) {
      auto p = RunChild(ChildArgs(o, "phases:" + f.name, f.path, work_dir.path() / "phases.duckdb"));
      if (!p.ok()) {
        return Fail(fmt::format("the step run on {} failed: {}", f.name, p.error().message));
      }
      f.phases = *p;
    }
  }

  // 4. The table.
  std::cout << "\n"
            << fmt::format(kRowFormat, "format", "", "rows", "MB", "raw MB", "best s", "median s", "rows/s",
                           "MB/s", "raw MB/s", "cpu s", "close s", "RSS MB");
  for (const FormatRun& f : runs) {
    PrintRow(f, f.dim);
    PrintRow(f, f.duck);
    PrintRow(f, f.duck_varchar);
  }
  std::cout
      << "  (MB: the file as stored, 10^6 bytes; raw MB: its uncompressed size; rows/s and both MB/s from "
         "the "
         "best time;\n   cpu s: median CPU time of the load, all threads; close s: median time to close the "
         "database afterwards,\n   not part of the load; RSS MB: the largest peak RSS of the child process "
         "over the repeats)\n";

  nlohmann::json ratios = nlohmann::json::array();
  double csv_ratio = 0;
  if (run_dim && run_duck) {
    std::cout
        << "\nratio dimstream/DuckDB (throughput: DuckDB's time / dimstream's; best, median in brackets):\n";
    for (const FormatRun& f : runs) {
      double best = Ratio(f.dim.Best(), f.duck.Best());
      double median = Ratio(Series::Median(f.dim.seconds), Series::Median(f.duck.seconds));
      std::string line =
          fmt::format("  {:<8} vs {:<20} {:.2f} ({:.2f})", f.name, f.duck.side.substr(7), best, median);
      nlohmann::json r = {{"format", f.name}, {"vs", f.duck.side}, {"best", best}, {"median", median}};
      if (!f.duck_varchar.empty()) {
        double vbest = Ratio(f.dim.Best(), f.duck_varchar.Best());
        double vmedian = Ratio(Series::Median(f.dim.seconds), Series::Median(f.duck_varchar.seconds));
        line += fmt::format("   vs read_csv all_varchar: {:.2f} ({:.2f})", vbest, vmedian);
        r["vs_all_varchar_best"] = vbest;
        r["vs_all_varchar_median"] = vmedian;
      }
      if (f.name == "csv") {
        csv_ratio = best;
        line += fmt::format("   goal >= {:.1f}: {}", kGoal, best >= kGoal ? "met" : "NOT met");
        r["goal"] = kGoal;
      }
      std::cout << line << "\n";
      ratios.push_back(r);
    }
  }
  bool any_phases =
      std::any_of(runs.begin(), runs.end(), [](const FormatRun& f) { return f.phases.has_value(); });
  if (any_phases) {
    std::cout
        << "\ndimstream load by step (one extra child per format; load = the median load time above):\n";
    for (const FormatRun& f : runs) {
      if (!f.phases) {
        continue;
      }
      double read = (*f.phases)["read_sha256_seconds"].get<double>();
      double parse = (*f.phases)["parse_seconds"].get<double>();
      double load = Series::Median(f.dim.seconds);
      auto share = [load](double v) { return load > 0 ? 100.0 * v / load : 0.0; };
      std::cout << fmt::format(
          "  {:<8} read+SHA-256 {:.3f} s ({:.0f}%), read+decompress+parse+check+hash {:.3f} s ({:.0f}%), "
          "append+commit ~{:.3f} s ({:.0f}%), load {:.3f} s\n",
          f.name, read, share(read), parse, share(parse), std::max(0.0, load - parse),
          share(std::max(0.0, load - parse)), load);
    }
  }

  if (!o.json.empty()) {
    nlohmann::json j;
    j["machine"] = {{"nproc", Nproc()}, {"cpu", CpuModel()}, {"duckdb_version", duckdb_library_version()}};
    j["settings"] = {{"csv", csv.string()},
                     {"rows", generated ? generated->rows : 0},
                     {"csv_bytes", csv_bytes},
                     {"repeat", o.repeat},
                     {"threads", o.threads},
                     {"duckdb_memory_limit", o.duckdb_memory_limit},
                     {"generated", generated.has_value()},
                     {"bad_rows", generated ? generated->bad_rows : 0},
                     {"json_dropped_records", json_dropped},
                     {"seed", o.seed}};
    nlohmann::json formats = nlohmann::json::array();
    for (const FormatRun& f : runs) {
      nlohmann::json fj = {{"format", f.name},
                           {"file", f.path.filename().string()},
                           {"stored_bytes", f.stored_bytes},
                           {"uncompressed_bytes", f.raw_bytes},
                           {"make_seconds", f.make_seconds}};
      if (!f.dim.empty()) {
        fj["dimstream"] = SeriesJson(f, f.dim);
      }
      if (!f.duck.empty()) {
        fj["duckdb"] = SeriesJson(f, f.duck);
      }
      if (!f.duck_varchar.empty()) {
        fj["duckdb_all_varchar"] = SeriesJson(f, f.duck_varchar);
      }
      if (f.phases) {
        fj["phases"] = *f.phases;
      }
      formats.push_back(fj);
    }
    j["formats"] = formats;
    j["ratio"] = ratios;
    j["goal"] = {{"csv_vs_read_csv", kGoal}, {"met", csv_ratio >= kGoal}};
    std::ofstream out(o.json);
    out << j.dump(2) << "\n";
    if (!out) {
      return Fail("cannot write " + o.json);
    }
  }

  if (o.smoke) {
    // Every format loads every generated row, none rejected, and DuckDB's reader counts as many.
    const auto expected = static_cast<int64_t>(generated->rows);
    bool good = true;
    std::cout << fmt::format("\nsmoke (expected {} rows in every format, none rejected):\n", expected);
    for (const FormatRun& f : runs) {
      bool ok = f.dim.rows == expected && f.dim.rejects == 0 && f.dim.status == "loaded" &&
                f.duck.rows == expected && (f.duck_varchar.empty() || f.duck_varchar.rows == expected) &&
                (!f.phases || (*f.phases)["rows"].get<int64_t>() == expected);
      good = good && ok;
      std::cout << fmt::format("  {:<8} dimstream {} rows, {} rejected, status '{}'; {} {} rows: {}\n",
                               f.name, f.dim.rows, f.dim.rejects, f.dim.status, f.duck.side, f.duck.rows,
                               ok ? "OK" : "FAILED");
    }
    std::cout << fmt::format("smoke: {}\n", good ? "OK" : "FAILED");
    return good ? 0 : 1;
  }
  return 0;
}

}  // namespace
}  // namespace dimstream

int main(int argc, char** argv) {
  dimstream::BenchOptions o;
  CLI::App app(
      "Times dimstream's load of one large customer file in each format (CSV, CSV.gz, CSV.zst, JSON lines, "
      "Parquet) next to DuckDB's own reader of it",
      "dimstream_bench_load");
  app.add_option("--rows", o.rows, "Rows to generate")->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  app.add_option("--file", o.file, "Start from this CSV file instead of generating one")
      ->check(CLI::ExistingFile);
  app.add_option("--formats", o.formats,
                 "Formats to measure (default: all): csv csv.gz csv.zst jsonl parquet")
      ->delimiter(',');
  app.add_option("--repeat", o.repeat,
                 "Repeats of each measurement, each a child process into a fresh DuckDB file")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1000}));
  app.add_option("--threads", o.threads, "DuckDB threads for both sides (0: DuckDB's default)");
  app.add_option("--duckdb-memory-limit", o.duckdb_memory_limit,
                 "memory_limit of DuckDB's side, e.g. 512MB (default: DuckDB's)");
  app.add_option("--json", o.json, "Also write the figures as JSON to this file");
  app.add_option("--work-dir", o.work_dir, "Where the files and the DuckDB files go (default: a temp dir)");
  app.add_option("--seed", o.seed, "Generator seed");
  app.add_option("--bad-share", o.bad_share,
                 "Share of malformed rows to generate (DuckDB then reads with ignore_errors=true)")
      ->check(CLI::Range(0.0, 0.5));
  app.add_option("--only", o.only, "Run only one side, to profile it: dimstream or duckdb (default: all)")
      ->check(CLI::IsMember({"all", "dimstream", "duckdb"}));
  app.add_option(
         "--big-file,--rss-only", o.big_file,
         "Load only this file (any format, any size) once with the default configuration and print its "
         "peak RSS and rows/s")
      ->check(CLI::ExistingFile);
  app.add_flag("--with-duckdb", o.with_duckdb, "With --big-file: also DuckDB's reader of the file");
  app.add_flag("--keep", o.keep, "Keep the work directory");
  app.add_flag("!--no-phases", o.phases, "Skip the extra run per format that times the load's steps");
  app.add_flag("--smoke", o.smoke,
               "20,000 rows, every format, one repeat, and check the row counts (exit 1 when wrong); for CI");
  // What the parent passes to the children it runs.
  app.add_option("--child", o.child)->group("");
  app.add_option("--child-file", o.child_file)->group("");
  app.add_option("--child-db", o.child_db)->group("");
  app.add_flag("--child-ignore-errors", o.ignore_errors)->group("");
  CLI11_PARSE(app, argc, argv);
  try {
    return o.child.empty() ? dimstream::Run(o) : dimstream::ChildMain(o);
  } catch (const std::exception& e) {
    std::cerr << "dimstream_bench_load: " << e.what() << "\n";
    return 1;
  }
}
