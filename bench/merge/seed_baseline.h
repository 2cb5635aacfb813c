#pragma once

// Phase 5 of dimstream_bench_merge, the seed baseline: the seed's stored procedure, ported to DuckDB, run
// on the same files by the same engine, timed per file, and with --check compared with dimstream's tables.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/merge/common.h"
#include "bench/merge/workload.h"

namespace dimstream {

struct DimResult;

struct SeedResult {
  bool ran = false;
  Timings initial;
  Timings change;
  Timings fresh;
  Timings restart;
  double initial_checkpoint_s = 0;
  double change_checkpoint_s = 0;
  StepTimes change_steps;
  double load_seconds = 0;  // read_csv into RAW, all files; not measured against anything
  int64_t current_rows = -1;
  int64_t history_rows = -1;
  std::optional<MemorySample> memory;
};

struct CompareResult {
  bool ran = false;
  int64_t current_only_dimstream = 0;
  int64_t current_only_seed = 0;
  int64_t history_only_dimstream = 0;
  int64_t history_only_seed = 0;
  std::vector<std::string> example_keys;
  bool ok() const {
    return current_only_dimstream == 0 && current_only_seed == 0 && history_only_dimstream == 0 &&
           history_only_seed == 0;
  }
};

// Phase 5: the seed's procedure on the same files, one run per file, in dimstream's load order, in a DuckDB
// file of its own with the warehouse's DuckDB settings. Loading RAW (read_csv) is not timed. With `compare`
// every file dimstream loaded is applied (freshness and restart files too) and the two dimensions compared.
Status RunSeed(const BenchOptions& o, const std::vector<PlannedFile>& plan, const DimResult& dim,
               const Paths& p, SeedResult& r, CompareResult* compare);

}  // namespace dimstream
