#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "config/config.h"
#include "object_store/object_store.h"
#include "queue/notification_queue.h"
#include "warehouse/warehouse.h"

namespace dimstream {

// Finished files waiting in landing (not hidden, not temporary names): what the mover has yet to move.
uint64_t CountLandingFiles(const Config& config);

// Where a status query runs: QueryAnywhere for the `status` command, the process's own warehouse for
// /api/status.
using StatusQuery = std::function<Result<QueryResult>(const std::string& sql)>;

// What `status` shows: where each part is and what waits there, then its tables (pipeline, last merge
// runs, processes on a server, files with --files).
struct StatusReport {
  std::string landing;
  uint64_t landing_files = 0;
  std::string bucket;
  std::optional<uint64_t> bucket_objects;
  std::string bucket_error;
  std::string queue;  // empty: the queue is in a process (memory:)
  std::optional<uint64_t> queue_waiting;
  std::optional<uint64_t> queue_dead;
  std::string queue_error;
  std::string warehouse;
  std::vector<std::pair<std::string, QueryResult>> tables;  // title -> result, in order
};

// Reads the report, through the caller's adapters: `store`, and `broker` when the queue is a broker's (null:
// the queue is in a process, and not shown). Every text in it has passed Redact(): no credential shows.
Result<StatusReport> ReadStatus(const Config& config, const std::string& entity, bool files,
                                const StatusQuery& query, ObjectStore& store, NotificationQueue* broker);

// The report as one JSON document (`status --format json`, /api/status): {"landing": {...}, "bucket": {...},
// "queue": {...}, "warehouse": "...", "pipeline": [rows], "last_merge_runs": [rows], ...}.
nlohmann::ordered_json StatusJson(const StatusReport& report);

}  // namespace dimstream
