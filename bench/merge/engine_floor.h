#pragma once

// The engine's floor for dimstream_bench_merge: the same files written into a table by DuckDB alone
// (read_csv, one INSERT and commit a file, nothing merged, nothing hashed), in a DuckDB file of its own
// opened as the seed's (SeedDb: the warehouse's threads and checkpoint threshold, DuckDB's own memory limit,
// more than the warehouse's), and that table copied once more, as a dimension's current table would be. Any
// design that stores each record in DuckDB once (what loading exactly once and placing late records need)
// and writes the dimension's current table cannot take a file into its dimension faster than both.
#include <vector>

#include "bench/merge/common.h"
#include "bench/merge/workload.h"

namespace dimstream {

struct EngineFloor {
  Timings initial;       // the initial files
  Timings initial_copy;  // CREATE TABLE AS SELECT of what they gave, after them
  Timings change;        // the change files, after them
};

Status RunEngineFloor(const BenchOptions& o, const std::vector<PlannedFile>& plan, const Paths& p,
                      EngineFloor& r);

}  // namespace dimstream
