#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "loader/loader.h"
#include "merge/merge.h"
#include "mover/mover.h"

namespace dimstream {

// What a process counts while it works, for `/metrics`: the counters of the roles it runs (null: a role
// this process does not run) and one merge job per entity it merges.
struct MetricSources {
  std::string role;  // the process's command: "run", "load", "merge"
  const MoverStats* mover = nullptr;
  const LoaderStats* loader = nullptr;
  std::vector<std::pair<std::string, const MergeStats*>> merges;  // entity -> its merge job's counters
};

// What is waiting where, read when the metrics are asked for (each nullopt when it could not be read now:
// that gauge is left out and dimstream_scrape_errors_total counts it).
struct PipelineGauges {
  std::optional<uint64_t> landing_files;   // finished files in landing, not moved yet
  std::optional<uint64_t> bucket_objects;  // objects in the bucket
  std::optional<uint64_t> bucket_backlog;  // of those, the ones whose key has no load recorded
  std::optional<uint64_t> queue_waiting;   // notifications on the broker, not yet taken
  std::optional<uint64_t> queue_dead;      // dead-lettered notifications
  struct Entity {
    std::optional<uint64_t> raw_rows_waiting;     // loaded, above the watermark
    std::optional<double> watermark_lag_seconds;  // the oldest waiting row's load -> now (0: none waits)
  };
  std::map<std::string, Entity> entities;
  uint64_t errors = 0;  // gauges that could not be read
};

// The Prometheus text exposition (format 0.0.4) of `sources` and `gauges`, through prometheus-cpp's
// serializer: names dimstream_<noun>_<unit>[_total] in base units (seconds, bytes), every metric labelled
// with the process's `role`, the merge's with its `entity`.
std::string RenderMetrics(const MetricSources& sources, const PipelineGauges& gauges);

// Every metric RenderMetrics may write, with its type and meaning, for the README and `--help`.
struct MetricInfo {
  std::string name;
  std::string type;  // counter, gauge, histogram
  std::string help;
};
const std::vector<MetricInfo>& DescribeMetrics();

}  // namespace dimstream
