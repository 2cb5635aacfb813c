#include "bench/merge/dimstream_side.h"

#include <filesystem>
#include <memory>
#include <utility>

#include "bench/merge/initial_load.h"

namespace dimstream {

Status RunDimstream(const BenchOptions& o, const std::vector<PlannedFile>& plan, const Paths& p,
                    StepSink& steps, DimResult& r) {
  EntitySpec entity;
  const DuckDbOptions db = WarehouseOptions(o, p);
  uint64_t keys = 0;
  r.memory.push_back(Sample("start (nothing open)", nullptr, nullptr, 0));
  auto opened = DuckDbWarehouse::Open(db, entity);
  if (!opened.ok()) {
    return opened.error();
  }
  std::unique_ptr<DuckDbWarehouse> warehouse = std::move(opened).value();
  auto settings = QueryText(*warehouse,
                            "SELECT 'threads=' || current_setting('threads') || ', memory_limit=' || "
                            "current_setting('memory_limit') || ', checkpoint_threshold=' || "
                            "current_setting('checkpoint_threshold')");
  r.settings = settings.ok() && *settings ? **settings : "?";
  LocalObjectStore store(p.bucket);
  // As `dimstream run` sets it: the key index is saved beside the warehouse whenever the merge is idle.
  MergeOptions merge_options;
  merge_options.busy_delta_factor = o.busy_delta_factor;
  merge_options.delta_bounds_keys = o.delta_bounds_keys;
  merge_options.index_snapshot = db.path;
  merge_options.index_snapshot += ".customer.keys";
  {
    MergeJob merge(entity, *warehouse, merge_options);
    Loader loader(LoaderOptionsFromDefaults(), entity, store, nullptr, *warehouse);
    r.memory.push_back(Sample("warehouse open, empty", warehouse.get(), &merge, 0));

    // Phase 1: the initial load.
    DIMSTREAM_TRY(RunInitialLoad(plan, p, *warehouse, store, loader, merge, keys, r));
    // The idle moment after the initial load, as in `run` once nothing came for merge.idle_compaction_ms:
    // the merge saves its key index. A copy of it is the snapshot a crash at the end finds (its watermark
    // behind by every later run; phase 4).
    auto idle_after_load = merge.RunOnce();
    if (!idle_after_load.ok()) {
      return idle_after_load.error().Context("the idle merge run after the initial load");
    }
    merge.SaveIndex();
    std::error_code copied;
    std::filesystem::copy_file(merge_options.index_snapshot, StaleSnapshot(merge_options),
                               std::filesystem::copy_options::overwrite_existing, copied);
    if (copied) {
      return Error::Permanent("cannot copy the key index snapshot: " + copied.message());
    }

    // Phase 2: the change stream.
    DIMSTREAM_TRY(RunChangeStream(plan, p, *warehouse, store, loader, merge, steps, keys, r));

    // Phase 3: freshness.
    uint64_t merged_before = merge.stats().rows_merged;
    DIMSTREAM_TRY(
        RunFreshness(o, FilesOf(plan, FileGroup::kFresh), p, entity, *warehouse, store, merge, r.fresh));
    r.merged_rows += merge.stats().rows_merged - merged_before;
    for (const PlannedFile* f : FilesOf(plan, FileGroup::kFresh)) {
      keys += f->mix.new_keys;
    }
    r.memory.push_back(Sample("after freshness", warehouse.get(), &merge, keys));
    // A clean stop: the merge task's last, idle run, then the key index saved as `run` does when it stops,
    // and a checkpoint (timed apart).
    auto idle = Clock::now();
    auto last = merge.RunOnce();
    if (!last.ok()) {
      return last.error().Context("the idle merge run before the restart");
    }
    merge.SaveIndex();
    auto checkpointed = warehouse->Query("CHECKPOINT");
    if (!checkpointed.ok()) {
      return checkpointed.error().Context("CHECKPOINT before the restart");
    }
    r.restart.idle_s = Seconds(Clock::now() - idle);
  }

  // Phase 4: restart, then what the run leaves.
  DIMSTREAM_TRY(RunRestart(o, plan, p, entity, db, merge_options, store, warehouse, keys, r));
  // Phase 6: reads through the views, with the delta the run left.
  return RunViewReads(*warehouse, r.reads);
}

}  // namespace dimstream
