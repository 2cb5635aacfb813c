#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "common/histogram.h"
#include "common/stop.h"
#include "config/entity.h"
#include "loader/source_factory.h"
#include "object_store/object_store.h"
#include "queue/notification_queue.h"
#include "warehouse/warehouse.h"

namespace dimstream {

enum class OnError { kContinue, kSkipFile, kAbortFile };

Result<OnError> ParseOnError(const std::string& text);

struct LoaderOptions {
  OnError on_error = OnError::kContinue;
  std::chrono::milliseconds list_interval{5000};
  // How long the loader keeps a notification whose load failed with a retryable error (the warehouse or the
  // bucket away), trying it again with its back-off, before it hands it back to the queue. A notification
  // handed back at once would go round the loaders and use up its deliveries (queue.delivery_limit) in the
  // time a server takes to restart, and end up dead-lettered though nothing is wrong with it. Bounded: the
  // loader serves no broker heartbeat meanwhile, and a failure of this loader's alone should not keep the
  // object from the others for long.
  std::chrono::milliseconds hold_retryable{10000};
  uint64_t max_reject_bytes = 65536;
  ReaderLimits readers;
  // Rows and rejects handed to the warehouse at a time (with batch_bytes of records, whichever comes first).
  size_t batch_rows = 131072;
  size_t batch_bytes = size_t{32} << 20;
};

struct LoaderStats {
  std::atomic<uint64_t> objects_loaded{0};
  std::atomic<uint64_t> objects_failed{0};
  std::atomic<uint64_t> rows_loaded{0};
  std::atomic<uint64_t> rows_rejected{0};
  std::atomic<uint64_t> retries{0};
  DurationHistogram load_seconds;  // each object loaded or recorded failed: listed -> committed
};

// The Snowpipe role: turns bucket objects into raw rows, exactly once per key and checksum. It consumes
// notifications and also lists the bucket at start and every list_interval, so a lost notification only
// delays a load. Owns nothing but its counters; runs on one thread (Run) and calls `on_commit` there
// after each committed load, so that the merge task can start at once.
class Loader {
 public:
  // Each object goes to the entity whose file_pattern matches its key (RouteObject); `on_commit` is called
  // with that entity's name.
  Loader(LoaderOptions options, std::vector<EntitySpec> entities, ObjectStore& store,
         NotificationQueue* queue, Warehouse& warehouse,
         std::function<void(const std::string& entity)> on_commit = {});
  // One entity, whatever the object keys.
  Loader(LoaderOptions options, EntitySpec entity, ObjectStore& store, NotificationQueue* queue,
         Warehouse& warehouse, std::function<void(const std::string& entity)> on_commit = {});

  // Loads one object if this content was not loaded before. kNotFound if it vanished.
  Result<LoadReceipt> LoadObject(const ObjectInfo& object);
  // Lists the bucket and loads every object not yet loaded; returns how many were committed.
  Result<uint64_t> LoadListed(const StopSignal& stop);
  // Consumes notifications and lists periodically until stop; with until_idle, returns once the bucket
  // and the queue hold nothing new. A retryable failure (locked or full warehouse, unreadable bucket) is
  // retried with back-off: without end until stop, or, with until_idle, a few times in about a second and
  // then returned, so that a one-shot command reports it and exits rather than waiting unwatched. A
  // notification whose load fails so is kept and tried again for up to hold_retryable before it goes back
  // to the queue.
  Status Run(const StopSignal& stop, bool until_idle);

  const LoaderStats& stats() const { return stats_; }

 private:
  void Count(const Result<LoadReceipt>& r, uint64_t rows, uint64_t rejects);
  // Reads the object through its source into a load session, a batch at a time.
  Result<LoadReceipt> Stream(const ObjectInfo& object, const EntitySpec& entity, OpenedObject& opened,
                             uint64_t& rows, uint64_t& rejects, std::string& error);
  // Records the object as failed with `error` (and `rejects`, for on_error = abort_file), nothing loaded.
  Result<LoadReceipt> RecordFailure(const ObjectInfo& object, const std::string& entity,
                                    const FileDigest& digest, const std::string& format,
                                    uint64_t uncompressed, std::string error,
                                    std::vector<RejectedRow> rejects);

  LoaderOptions options_;
  std::vector<EntitySpec> entities_;
  ObjectStore& store_;
  NotificationQueue* queue_;
  Warehouse& warehouse_;
  std::function<void(const std::string&)> on_commit_;
  LoaderStats stats_;
};

}  // namespace dimstream
