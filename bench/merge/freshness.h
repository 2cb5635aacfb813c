#pragma once

// Phase 3 of dimstream_bench_merge, freshness: files arrive in landing at a steady rate while the mover, the
// loader and the merge task run as in `dimstream run`, and each file's time until its merge is seen.
#include <cstdint>
#include <vector>

#include "bench/merge/common.h"
#include "bench/merge/workload.h"
#include "config/entity.h"

namespace dimstream {

struct FreshnessResult {
  bool ran = false;
  uint64_t files = 0;
  uint64_t rows_per_file = 0;
  double feed_seconds = 0;   // first rename to last rename
  double feed_lateness = 0;  // how far the feeder fell behind its own schedule at worst
  // Seconds per file, in rename order; for a file not merged when the drain timeout ended, the time until
  // then (a lower bound, which makes the percentiles lower bounds too).
  std::vector<double> latency;
  uint64_t unmerged = 0;        // files not visible when the drain timeout ended
  double drain_seconds = 0;     // last rename -> every file visible
  double slope = 0;             // latency growth per second of arrivals
  uint64_t backlog_at_end = 0;  // files renamed and not yet visible when the last file was renamed
  uint64_t max_backlog = 0;
  uint64_t merge_runs = 0;
  uint64_t lets_polls = 0;
  bool fell_behind = false;
};

// Phase 3: files renamed into landing at a steady rate while the mover, the loader and the merge task run
// on their threads as in `dimstream run`; a poller reads the watermark through its own connection. A file
// with load id L and R rows is visible once LETS >= (L << 32) + R: its rows' arrivals are (L << 32) + line,
// lines start at 2 (the header is line 1), and the merge that stages a load stages all of it.
Status RunFreshness(const BenchOptions& o, const std::vector<const PlannedFile*>& files, const Paths& p,
                    const EntitySpec& entity, Warehouse& warehouse, LocalObjectStore& store, MergeJob& merge,
                    FreshnessResult& r);

}  // namespace dimstream
