#pragma once

// Phase 1 of dimstream_bench_merge, the initial load: the files of the initial keys, each loaded, then
// merged in one run, and a CHECKPOINT timed apart.
#include <cstdint>
#include <vector>

#include "bench/merge/common.h"
#include "bench/merge/workload.h"

namespace dimstream {

struct DimResult;

// Phase 1: the initial keys, each file loaded then merged.
Status RunInitialLoad(const std::vector<PlannedFile>& plan, const Paths& p, DuckDbWarehouse& warehouse,
                      LocalObjectStore& store, Loader& loader, MergeJob& merge, uint64_t& keys, DimResult& r);

}  // namespace dimstream
