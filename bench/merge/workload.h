#pragma once

// The workload of dimstream_bench_merge: its options, the plan of every file a run loads (what each file's
// rows do to the dimension), and the generation of those files in the seed's CSV format.
#include <cstdint>
#include <string>
#include <vector>

#include "bench/merge/common.h"
#include "common/error.h"
#include "merge/merge.h"

namespace dimstream {

// The change stream's mix (issue 5); the rest of each file are unchanged resends.
constexpr double kNewShare = 0.02;
constexpr double kScd2Share = 0.20;
constexpr double kScd1Share = 0.50;

struct BenchOptions {
  uint64_t keys = 10000000;
  uint64_t initial_rows_per_file = 1000000;
  uint64_t rows_per_file = 100000;
  uint64_t files = 10;
  uint64_t rate = 100000;  // freshness: changes per second
  uint64_t files_per_sec = 10;
  uint64_t freshness_seconds = 10;
  uint64_t poll_ms = 5;
  uint64_t drain_timeout_s = 0;                                   // 0: max(60, 6 x freshness_seconds)
  uint64_t threads = 0;                                           // 0: DuckDB's default
  uint64_t busy_delta_factor = MergeOptions{}.busy_delta_factor;  // merge.busy_delta_factor
  uint64_t delta_bounds_keys = MergeOptions{}.delta_bounds_keys;  // merge.delta_bounds_keys
  uint64_t seed = 42;
  std::string dir;
  std::string json;
  std::string log_level = "warn";
  bool keep = false;
  bool check = false;
  bool no_baseline = false;
  bool smoke = false;
};

// ---- the data ----

enum class FileGroup { kInitial, kChange, kFresh, kRestart };

const char* GroupName(FileGroup g);

// What the rows of one file do to the dimension.
struct Mix {
  uint64_t new_keys = 0;
  uint64_t scd2 = 0;     // address changes: close the current version, open a new one
  uint64_t scd1 = 0;     // name and email changes: overwrite the current version
  uint64_t resends = 0;  // the key's current values again: change nothing
  uint64_t rows() const { return new_keys + scd2 + scd1 + resends; }
  uint64_t picks() const { return scd2 + scd1 + resends; }  // existing keys the file touches
};

Mix ChangeMix(uint64_t rows);

struct PlannedFile {
  std::string name;  // also its object key
  FileGroup group = FileGroup::kChange;
  Mix mix;
};

uint64_t FreshRows(const BenchOptions& o);

// Every file of the run, in the order it is generated and loaded: the initial keys, the measured change
// files, the freshness files, the file of the restart. A function of the options alone.
std::vector<PlannedFile> PlanFiles(const BenchOptions& o);

std::vector<const PlannedFile*> FilesOf(const std::vector<PlannedFile>& plan, FileGroup g);

// Writes every file of the plan into `dir` in a child process, so that the generator's key table never
// counts in this process's memory figures (ru_maxrss included). Called before any thread exists.
Status GenerateFiles(const BenchOptions& o, const std::vector<PlannedFile>& plan, const fs::path& dir);

}  // namespace dimstream
