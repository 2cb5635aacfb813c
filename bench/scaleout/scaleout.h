#pragma once

// dimstream_bench_scaleout (issue 14): what its phases share. The options, the run's files and places, the
// configuration files of the dimstream processes it starts, and every phase's result.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "bench/merge/workload.h"
#include "common/error.h"

namespace dimstream::scaleout {

namespace fs = std::filesystem;

struct Options {
  uint64_t files = 30;  // loaded files: the initial ones (--keys new keys) first, then change files
  uint64_t rows_per_file = 50000;
  uint64_t keys = 250000;
  uint64_t fresh_files = 30;  // freshness: files dropped into landing of a running `dimstream run`
  uint64_t fresh_rows = 10000;
  double fresh_per_sec = 2;
  uint64_t poll_ms = 10;
  std::vector<uint64_t> loaders = {1, 2, 3};
  uint64_t seed = 42;
  std::string pg_url;    // empty: a private server (scripts/servers/postgres.sh)
  std::string amqp_url;  // empty: a private broker (scripts/servers/rabbitmq.sh)
  std::string binary;    // the dimstream executable; empty: beside this program
  std::string dir;       // work directory; empty: a temporary one
  std::string log_level = "info";
  bool keep = false;
  bool smoke = false;
};

// What every phase needs: the options, the places, the servers' URLs and the files.
struct Context {
  Options o;
  fs::path work;
  fs::path files_dir;  // every generated file
  fs::path binary;
  std::string pg_url;  // the server (its database `dimstream`); each phase uses a database of its own
  std::string amqp_url;
  std::vector<PlannedFile> plan;
  std::vector<const PlannedFile*> loaded;  // initial and change files, in the order they are generated
  std::vector<const PlannedFile*> fresh;   // the first is the warm-up, not measured
  uint64_t loaded_rows = 0;
  uint64_t keys_at_end = 0;  // keys the loaded files create

  // A dimstream configuration file for a process of a phase, written under work/: the warehouse in
  // database `db`, the bucket `bucket` (a file:// store), and `extra` TOML appended.
  Result<fs::path> WriteConfig(const std::string& name, const std::string& db, const fs::path& bucket,
                               const std::string& extra) const;
  // `dimstream --config cfg --data-dir dir --log-level L <args...>`.
  std::vector<std::string> Command(const fs::path& config, const fs::path& data_dir,
                                   const std::vector<std::string>& args) const;
};

// The load plan (BenchOptions of the merge benchmark's workload) for these options.
BenchOptions WorkloadOptions(const Options& o);

// What a check found: its name and whether it held (the smoke test's verdict).
struct Check {
  std::string what;
  bool ok = false;
};

struct LoadResult {
  uint64_t loaders = 0;
  double seconds = 0;  // first notification published -> the last load committed
  uint64_t files = 0;
  uint64_t rows = 0;
  std::vector<uint64_t> objects_per_loader;  // from each process's summary line
};

struct MergeResult {
  double wall_seconds = 0;         // the `dimstream merge` process, start to exit
  double transaction_seconds = 0;  // its runs' own time (task_history)
  uint64_t runs = 0;
  uint64_t rows = 0;
  uint64_t current_rows = 0;
  uint64_t history_rows = 0;
};

struct FreshResult {
  uint64_t files = 0;
  uint64_t rows_per_file = 0;
  std::vector<double> latency_s;  // drop into landing -> the merge commit that covers it seen
  double drain_seconds = 0;       // the last drop -> everything visible
  bool all_visible = false;
};

struct SeedResult {
  std::vector<double> run_seconds;  // per file, the procedure's transaction
  std::vector<std::pair<std::string, double>> steps;
  double raw_load_seconds = 0;  // COPY into RAW, not counted
  uint64_t rows = 0;
  uint64_t current_rows = 0;
  uint64_t history_rows = 0;
};

struct Results {
  std::vector<LoadResult> loads;
  MergeResult merge;
  FreshResult fresh;
  SeedResult seed;
  std::vector<Check> checks;
};

// `value` as a TOML basic string.
std::string TomlString(const std::string& value);

// The database of the load phase with `loaders` processes; the merge and freshness phases use the first.
std::string LoadDatabase(uint64_t loaders);
inline constexpr const char* kSeedDatabase = "scaleout_seed";

}  // namespace dimstream::scaleout
