#pragma once

// What the phases of dimstream_bench_merge share: memory and number helpers, the timings of a phase, the
// run's paths, the settings `dimstream run` uses, queries of one value, and loading and merging one file.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/bench_common.h"
#include "loader/loader.h"
#include "merge/merge.h"
#include "mover/mover.h"
#include "object_store/local_object_store.h"
#include "warehouse/duckdb/duckdb_warehouse.h"

namespace dimstream {

namespace fs = std::filesystem;
using bench::Clock;
using bench::CpuModel;
using bench::Nproc;
using bench::PlaceInBucket;
using bench::ProcessCpuSeconds;
using bench::ProcField;
using bench::Seconds;
using bench::WorkDir;
using Json = nlohmann::ordered_json;

struct BenchOptions;
struct PlannedFile;

// ---- small helpers ----

double MemTotalGb();

// Resident set size now. Freed heap is handed back to the system first (malloc_trim), so that the figure
// is what the process holds, not what the allocator kept from an earlier phase.
uint64_t RssBytes();

// The highest resident set size of this process so far (getrusage's ru_maxrss, in KiB on Linux).
uint64_t PeakRssBytes();

std::string Count(uint64_t n);

std::string Rate(double per_second);

// Nearest-rank percentile of `v` (p in 0..100); 0 for an empty vector.
double Percentile(std::vector<double> v, double p);

std::optional<int64_t> ParseInt(std::string_view text);

// The durations of one kind of operation over the files of a phase.
struct Timings {
  std::vector<double> seconds;
  uint64_t rows = 0;
  double cpu_seconds = 0;

  void Add(double s, uint64_t r, double cpu) {
    seconds.push_back(s);
    rows += r;
    cpu_seconds += cpu;
  }
  double Total() const {
    double t = 0;
    for (double s : seconds) {
      t += s;
    }
    return t;
  }
  double PerSecond() const { return Total() > 0 ? static_cast<double>(rows) / Total() : 0.0; }
  double P50Ms() const { return Percentile(seconds, 50) * 1000.0; }
  double MaxMs() const {
    return seconds.empty() ? 0.0 : *std::max_element(seconds.begin(), seconds.end()) * 1000;
  }

  Json ToJson() const {
    Json runs = Json::array();
    for (double s : seconds) {
      runs.push_back(std::round(s * 1e6) / 1e3);
    }
    return {{"rows", rows},           {"seconds", Total()},       {"rows_per_second", PerSecond()},
            {"p50_ms", P50Ms()},      {"max_ms", MaxMs()},        {"cpu_seconds", cpu_seconds},
            {"runs", seconds.size()}, {"run_ms", std::move(runs)}};
  }
};

// The rows of `a` a second over the time of `a` and `b` together: rows that went through both steps (a load
// and its merge, say).
inline double RowsPerSecondOfBoth(const Timings& a, const Timings& b) {
  const double seconds = a.Total() + b.Total();
  return seconds > 0 ? static_cast<double>(a.rows) / seconds : 0.0;
}

// Time spent per named step, in the order the steps were first seen.
using StepTimes = std::vector<std::pair<std::string, double>>;

void AddStep(StepTimes& steps, std::string_view name, double seconds);
// The seconds of one step (0 when it never ran).
double StepSeconds(const StepTimes& steps, std::string_view name);
// The merge's step that compacts the delta after the runs (merge on read).
inline constexpr std::string_view kCompactionStep = "compact the delta";

// ---- dimstream ----

struct Paths {
  fs::path files;    // generated files, before they are placed in the bucket or renamed into landing
  fs::path landing;  // freshness only
  fs::path bucket;
  fs::path dimstream_db;
  fs::path seed_db;
};

// The settings `dimstream run` uses with no configuration file (cli/commands.cpp builds them from Config).
DuckDbOptions WarehouseOptions(const BenchOptions& o, const Paths& p);

// The loader's and the mover's as `dimstream run` builds them with no configuration file.
LoaderOptions LoaderOptionsFromDefaults();

MoverOptions MoverOptionsFromDefaults(const fs::path& landing);

Result<std::optional<std::string>> QueryText(Warehouse& w, const std::string& sql);

Result<int64_t> QueryInt(Warehouse& w, const std::string& sql);

struct MemorySample {
  std::string phase;
  uint64_t rss = 0;
  uint64_t peak = 0;
  int64_t duckdb = -1;  // DuckDB's own memory (duckdb_memory()), -1 when unknown
  int64_t state = -1;   // MergeJob::StateBytes(), -1 when there is no merge job
  uint64_t keys = 0;
};

MemorySample Sample(std::string phase, Warehouse* w, const MergeJob* job, uint64_t keys);

// Loads one planned file from the bucket with `loader`; returns the rows it committed.
Result<uint64_t> LoadPlanned(Loader& loader, LocalObjectStore& store, const Paths& p, const PlannedFile& f);

// One merge run, timed into `t`.
Result<TaskRecord> TimedMerge(MergeJob& job, Timings& t);

}  // namespace dimstream
