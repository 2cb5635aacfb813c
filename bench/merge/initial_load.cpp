#include "bench/merge/initial_load.h"

#include <fmt/format.h>

#include "bench/merge/dimstream_side.h"

namespace dimstream {

Status RunInitialLoad(const std::vector<PlannedFile>& plan, const Paths& p, DuckDbWarehouse& warehouse,
                      LocalObjectStore& store, Loader& loader, MergeJob& merge, uint64_t& keys,
                      DimResult& r) {
  auto initial = FilesOf(plan, FileGroup::kInitial);
  for (size_t i = 0; i < initial.size(); ++i) {
    double cpu = ProcessCpuSeconds();
    auto start = Clock::now();
    auto rows = LoadPlanned(loader, store, p, *initial[i]);
    if (!rows.ok()) {
      return rows.error();
    }
    r.initial_load.Add(Seconds(Clock::now() - start), *rows, ProcessCpuSeconds() - cpu);
    auto task = TimedMerge(merge, r.initial_merge);
    if (!task.ok()) {
      return task.error();
    }
    keys += initial[i]->mix.new_keys;
    r.merged_rows += task->rows_in;
    r.loaded_rows += *rows;
    fmt::print(stderr, "  initial file {}/{}: {} rows, load {:.2f} s, merge {:.2f} s\n", i + 1,
               initial.size(), Count(*rows), r.initial_load.seconds.back(), r.initial_merge.seconds.back());
  }
  // Checkpointed apart, so that the checkpoint timed after the change stream writes that stream only.
  auto checkpointing = Clock::now();
  auto checkpointed = warehouse.Query("CHECKPOINT");
  r.initial_checkpoint_s = Seconds(Clock::now() - checkpointing);
  if (!checkpointed.ok()) {
    return checkpointed.error().Context("CHECKPOINT after the initial load");
  }
  r.memory.push_back(Sample("after the initial load + merge", &warehouse, &merge, keys));
  return Ok();
}

}  // namespace dimstream
