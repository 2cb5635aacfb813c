#pragma once

// Phase 2 of dimstream_bench_merge, the change stream: each change file loaded, then merged in one timed
// run, the merge's own step timings summed from its debug log, and a CHECKPOINT timed apart.
#include <cstdint>
#include <mutex>
#include <vector>

#include <spdlog/sinks/base_sink.h>

#include "bench/merge/common.h"
#include "bench/merge/workload.h"

namespace dimstream {

struct DimResult;

// ---- the merge's step timings ----

// Sums the merge's "merge step <name>: <ms> ms" debug lines (src/merge/merge.cpp) while started, so that
// the report can say where a run's time goes without a hook in the engine. When the engine logs no such
// lines, the sums stay empty and the report leaves them out. Called by whichever thread logs.
class StepSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  void Start() {
    std::lock_guard lock(mutex_);
    steps_.clear();
    on_ = true;
  }
  StepTimes Stop() {
    std::lock_guard lock(mutex_);
    on_ = false;
    return std::move(steps_);
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}

 private:
  bool on_ = false;
  StepTimes steps_;
};

struct MergeCounts {
  uint64_t rows_in = 0;
  uint64_t keys = 0;
  uint64_t versions_opened = 0;
  uint64_t versions_closed = 0;
  uint64_t scd1_updates = 0;
  void Add(const TaskRecord& t) {
    rows_in += t.rows_in;
    keys += t.keys;
    versions_opened += t.versions_opened;
    versions_closed += t.versions_closed;
    scd1_updates += t.scd1_updates;
  }
};

// Phase 2: the change stream, one merge run per file.
Status RunChangeStream(const std::vector<PlannedFile>& plan, const Paths& p, DuckDbWarehouse& warehouse,
                       LocalObjectStore& store, Loader& loader, MergeJob& merge, StepSink& steps,
                       uint64_t& keys, DimResult& r);

}  // namespace dimstream
