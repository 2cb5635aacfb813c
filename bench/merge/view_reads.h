#pragma once

// Phase 6 of dimstream_bench_merge, reads through the views: with the delta as the run left it, a full-scan
// aggregate over current and over history and one key's rows from each, timed through the merge-on-read
// views and through tables made from them (what a full compaction would give), best of three each.
#include <cstdint>
#include <string>
#include <vector>

#include "warehouse/duckdb/duckdb_warehouse.h"

namespace dimstream {

struct ViewRead {
  std::string what;
  double view_ms = 0;   // best of three, through the view
  double table_ms = 0;  // best of three, on a table with the view's rows
  double Ratio() const { return table_ms > 0 ? view_ms / table_ms : 0.0; }
};

struct ViewReadResult {
  bool ran = false;
  uint64_t delta_values = 0;  // delta rows with values when measured
  uint64_t delta_closes = 0;  // delta rows that only close a version
  std::vector<ViewRead> reads;
};

// The goal of issue 13: each read within 2x of the same read on a compacted table.
constexpr double kGoalViewReadRatio = 2.0;

Status RunViewReads(DuckDbWarehouse& warehouse, ViewReadResult& r);

}  // namespace dimstream
