#pragma once

// The dimstream side of dimstream_bench_merge: phases 1 to 4 (initial load, change stream, freshness,
// restart) and 6 (reads through the views) on one warehouse, and what they measure.
#include <cstdint>
#include <string>
#include <vector>

#include "bench/merge/change_stream.h"
#include "bench/merge/common.h"
#include "bench/merge/engine_floor.h"
#include "bench/merge/freshness.h"
#include "bench/merge/restart.h"
#include "bench/merge/view_reads.h"
#include "bench/merge/workload.h"

namespace dimstream {

struct DimResult {
  Timings initial_load;
  Timings initial_merge;
  Timings change_load;
  Timings change_merge;
  MergeCounts change_counts;
  double initial_checkpoint_s = 0;
  double change_checkpoint_s = 0;
  StepTimes change_steps;
  FreshnessResult fresh;
  RestartResult restart;
  ViewReadResult reads;
  EngineFloor floor;  // measured after phase 6 (engine_floor.h)
  std::vector<MemorySample> memory;
  std::vector<std::string> load_order;  // object keys in load order
  std::vector<std::string> invariant_failures;
  int64_t current_rows = -1;
  int64_t history_rows = -1;
  uint64_t merged_rows = 0;  // rows_in over every run
  uint64_t loaded_rows = 0;
  std::string settings;  // DuckDB's settings as the warehouse reports them
};

// Phases 1 to 4 and 6, on the dimstream side.
Status RunDimstream(const BenchOptions& o, const std::vector<PlannedFile>& plan, const Paths& p,
                    StepSink& steps, DimResult& r);

}  // namespace dimstream
