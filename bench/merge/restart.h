#pragma once

// Phase 4 of dimstream_bench_merge, restart: the warehouse closed and reopened, the merge's state warmed
// and the first merge run on one change file, each timed; then what the run leaves is read back.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "bench/merge/common.h"
#include "bench/merge/workload.h"
#include "config/entity.h"

namespace dimstream {

struct DimResult;

struct RestartResult {
  uint64_t keys = 0;
  double close_s = 0;
  double reopen_s = 0;
  double warm_s = 0;        // from the snapshot the idle run saved
  double warm_crash_s = 0;  // from the snapshot of the idle moment after the initial load, as after a crash
  uint64_t crash_keys_read = 0;  // key ids with records since that snapshot, read from the warehouse
  double warm_scan_s = 0;        // from the warehouse alone, without any snapshot (not in Sum)
  double idle_s = 0;             // the idle run before the stop: checkpoint and snapshot (not in Sum)
  double load_s = 0;
  double first_merge_s = 0;
  uint64_t first_merge_rows = 0;
  uint64_t state_bytes = 0;
  double Sum() const { return reopen_s + warm_s + first_merge_s; }
  double CrashSum() const { return reopen_s + warm_crash_s + first_merge_s; }
};

// The copy of the key index snapshot saved after the initial load: what a crash at the end of the run finds.
inline std::filesystem::path StaleSnapshot(const MergeOptions& merge_options) {
  std::filesystem::path stale = merge_options.index_snapshot;
  stale += ".after-initial-load";
  return stale;
}

// Phase 4: restart. Closing checkpoints (timed apart, not part of the restart); then reopen, warm the
// merge's state and run the first merge on one change file.
// Then, with the restarted merge job still open: the invariants (--check), the load order, the row counts.
Status RunRestart(const BenchOptions& o, const std::vector<PlannedFile>& plan, const Paths& p,
                  const EntitySpec& entity, const DuckDbOptions& db, const MergeOptions& merge_options,
                  LocalObjectStore& store, std::unique_ptr<DuckDbWarehouse>& warehouse, uint64_t keys,
                  DimResult& r);

}  // namespace dimstream
