#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <utility>
#include <vector>

#include "config/entity.h"
#include "merge/key_index.h"
#include "warehouse/warehouse.h"

namespace dimstream {

struct MergeStats {
  std::atomic<uint64_t> runs{0};
  std::atomic<uint64_t> failures{0};
  std::atomic<uint64_t> rows_merged{0};
  std::atomic<int64_t> last_freshness_us{-1};  // load commit of the newest merged row -> merge commit
};

struct MergeOptions {
  // How long the log keeps a key's records for placing late ones (0: forever). Older records are compacted
  // into one base record per key; a record arriving later than that is rejected with a reason.
  int64_t log_retention_us = 0;
  // Where the key index is saved when the merge is idle, so that a restart reads it instead of scanning the
  // warehouse (empty: never saved).
  std::filesystem::path index_snapshot;
};

// The seed's stored procedure, done right: one run takes the raw rows above the watermark into stage,
// refolds every staged key from its retained records (so late records and ties land where their
// sequence puts them), replaces those keys' versions in history and current, advances the watermark,
// cleans raw and stage and records the run, all in one warehouse transaction. Called from the merge
// task's thread (or the `merge` command); not reentrant.
class MergeJob {
 public:
  MergeJob(EntitySpec entity, Warehouse& warehouse, MergeOptions options = {});

  // One run. A run with nothing to merge changes nothing and returns rows_in == 0. A failed run is
  // rolled back, recorded in task_history, and returned as the error.
  Result<TaskRecord> RunOnce();

  // Merges what is pending, then recomputes every key's versions from the retained log in the same
  // transaction: the tables must come out identical to what the runs produced (`dimstream rebuild`).
  Result<TaskRecord> Rebuild();

  // Loads what the merge keeps in memory between runs (its key index) from the warehouse, so that the first
  // run after a start does not pay for it. RunOnce calls it when it has not run yet.
  Status Warm();

  // Bytes of state this job keeps in memory between runs (its key index), for memory per key.
  uint64_t StateBytes() const;

  const MergeStats& stats() const { return stats_; }
  // The key index as it is now (for tests).
  const KeyIndex& index() const { return index_; }

 private:
  Result<TaskRecord> Run(KeyScope scope);
  // The run's work inside its transaction; `delta` collects the index entries to change once it commits.
  Result<TaskRecord> Apply(MergeSession& session, KeyScope scope, TaskRecord& task,
                           std::vector<std::pair<int64_t, KeyState>>& delta);
  // The staged records: keys with only newer records continue from the index, the others are refolded.
  Status ApplyStaged(MergeSession& session, TaskRecord& task,
                     std::vector<std::pair<int64_t, KeyState>>& delta,
                     const std::function<void(const char*)>& step);
  // Refolds the keys of `scope` from their whole log and replaces their versions.
  Status Refold(MergeSession& session, KeyScope scope, TaskRecord& task,
                std::vector<std::pair<int64_t, KeyState>>* delta);
  // Writes the index snapshot (MergeOptions::index_snapshot), tagged with the committed watermark and
  // horizon.
  void SaveIndex();
  // Log retention: compacts the records before the new horizon once it has moved far enough from `horizon`.
  Status Compact(MergeSession& session, Micros horizon);

  EntitySpec entity_;
  Warehouse& warehouse_;
  MergeOptions options_;
  MergeStats stats_;
  KeyIndex index_;  // every key of the log; valid while warmed_
  bool warmed_ = false;
  bool dirty_ = false;       // runs committed since the last checkpoint
  bool saved_ = false;       // the snapshot on disk holds the index as it is now
  bool committing_ = false;  // the run has reached MergeSession::Finish
};

}  // namespace dimstream
