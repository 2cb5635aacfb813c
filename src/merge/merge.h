#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/histogram.h"
#include "config/entity.h"
#include "merge/key_index.h"
#include "warehouse/warehouse.h"

namespace dimstream {

struct MergeStats {
  std::atomic<uint64_t> runs{0};
  std::atomic<uint64_t> failures{0};
  std::atomic<uint64_t> rows_merged{0};
  std::atomic<int64_t> last_freshness_us{-1};  // load commit of the newest merged row -> merge commit
  std::atomic<uint64_t> keys_read_at_warm{0};  // key ids the last Warm read from the warehouse
  // Totals of the committed runs, and the state after the last one: what the metrics endpoint reports
  // while the merge thread goes on (MergeJob's own fields are that thread's alone).
  std::atomic<uint64_t> versions_opened{0};
  std::atomic<uint64_t> versions_closed{0};
  std::atomic<uint64_t> scd1_updates{0};
  std::atomic<uint64_t> rows_rejected{0};
  std::atomic<uint64_t> keys{0};         // key ids in the index
  std::atomic<uint64_t> state_bytes{0};  // StateBytes()
  DurationHistogram run_seconds;         // each committed transaction with rows, start to commit
  DurationHistogram freshness_seconds;   // each such run: load commit of its newest row -> merge commit
};

struct MergeOptions {
  // How long the log keeps a key's records for placing late ones (0: forever). Older records are compacted
  // into one base record per key; a record arriving later than that is rejected with a reason.
  int64_t log_retention_us = 0;
  // Where the key index is saved when the merge is idle, so that a restart reads it instead of scanning the
  // warehouse (empty: never saved).
  std::filesystem::path index_snapshot;
  // Raw rows one transaction merges at most (0: all of them): what bounds a run's memory (the run's key
  // states, 48 bytes a key, besides the key index) however large a load was. RunOnce goes on with the next
  // ones until raw is drained.
  uint64_t max_rows_per_run = 2000000;
  // Versions, and edits of open versions, an incremental run hands to the warehouse at a time
  // (MergeSession::AddVersions, AddEdits): about 8 MB.
  size_t versions_per_part = 65536;
  // From this many SCD1 rewrites in one run on (a backlog), they are UPDATEs of the history rows rather than
  // a DELETE and an INSERT each (see MergeSession::ApplyIncrement): slower to commit, memory bounded.
  size_t in_place_rewrites_from = 262144;
  // Merge on read (where the warehouse keeps a delta of the versions runs changed,
  // MergeSession::CompactDelta; reads through the views slow down as it grows): once a run leaves more than
  // `delta_rows_max` delta rows with values, they are compacted down to half of it right after the run, and
  // once the merge has been idle for `idle_compaction_after`, all of them, for at most `idle_compaction` at a
  // time. Delta rows that only close a version wait until there are more than `delta_closes_max`, then go
  // all at once: compacting them reads every column of current, whatever their number.
  uint64_t delta_rows_max = 100000;
  uint64_t delta_closes_max = 500000;
  // While records wait for the next run (MergeJob::SetWorkWaiting says so), compaction yields to it: after
  // a run, and between the slices of a compaction, until the delta holds more than `busy_delta_factor` times
  // those bounds. A burst then merges at the runs' speed and its delta is compacted once it has passed; reads
  // through the views meanwhile pay for the larger delta.
  uint64_t busy_delta_factor = 10;
  // Delta rows one compaction transaction moves at most: what bounds how long it can delay the next run.
  uint64_t compaction_slice = 100000;
  // delta_rows_max, delta_closes_max and compaction_slice are for a dimension of up to this many keys (0: for
  // any); a larger one scales them in proportion. Compacting a slice scans the compacted tables (a DELETE's
  // probe of every row of current, a close's read of every column of it), which grow with the dimension: a
  // slice that grows with them keeps what those scans cost a compacted row from growing with it, and the
  // delta, which the views read, stays as large next to the tables as at this size.
  uint64_t delta_bounds_keys = 10000000;
  // A run that opens at least this many versions (an initial load, a large backlog) writes them straight
  // into the compacted tables, not into the delta (MergeSession::ApplyOptions::opened_to_base).
  uint64_t opened_to_base_from = 100000;
  std::chrono::milliseconds idle_compaction_after = std::chrono::milliseconds(2000);
  std::chrono::milliseconds idle_compaction = std::chrono::milliseconds(500);
  // The idle run's checkpoint and key index snapshot also wait until the merge has been idle for
  // `idle_compaction_after`: between the files of a steady stream they would delay the next one (a snapshot
  // of 10M keys takes 1.4 s). A stream that never pauses that long still gets a snapshot once the last one
  // is older than this (DuckDB checkpoints by itself once its WAL reaches its checkpoint_threshold).
  std::chrono::milliseconds index_snapshot_max_age = std::chrono::minutes(10);
};

// The seed's stored procedure, done right: one run takes the raw rows above the watermark into stage,
// refolds every staged key from its retained records (so late records and ties land where their
// sequence puts them), replaces those keys' versions in history and current, advances the watermark (raw
// is the log above it: that is its clean-up) and records the run, all in one warehouse transaction. Called
// from the merge task's thread (or the `merge` command); not reentrant.
class MergeJob {
 public:
  MergeJob(EntitySpec entity, Warehouse& warehouse, MergeOptions options = {});

  // One run: the rows above the watermark, in transactions of at most max_rows_per_run rows (each recorded
  // in task_history), the returned record summing them. A run with nothing to merge changes nothing and
  // returns rows_in == 0. A failed transaction is rolled back, recorded in task_history, and returned as the
  // error (the ones before it stay committed).
  Result<TaskRecord> RunOnce();
  // Tells the job whether records wait for its next run (the merge task: a load committed since this run
  // began), for compaction to yield to them (MergeOptions::busy_delta_factor). Not set: it never yields.
  void SetWorkWaiting(std::function<bool()> waiting) { work_waiting_ = std::move(waiting); }

  // Merges what is pending, then recomputes every key's versions from the retained log in the same
  // transaction: the tables must come out identical to what the runs produced (`dimstream rebuild`).
  Result<TaskRecord> Rebuild();

  // Loads what the merge keeps in memory between runs (its key index) from the warehouse, so that the first
  // run after a start does not pay for it. RunOnce calls it when it has not run yet.
  Status Warm();

  // Writes the index snapshot (MergeOptions::index_snapshot), tagged with the committed watermark and
  // horizon, unless the one written last is still current. Idle runs call it; so does a clean stop, so that
  // the next start reads it rather than the warehouse. A failure is logged (the next start scans instead).
  void SaveIndex();

  // Bytes of state this job keeps in memory between runs (its key index), for memory per key.
  uint64_t StateBytes() const;

  const MergeStats& stats() const { return stats_; }
  // The key index as it is now (for tests).
  const KeyIndex& index() const { return index_; }
  // Runs that met keys sharing a key id and were rolled back and run again (for tests).
  uint64_t collision_retries() const { return collision_retries_; }

 private:
  // What a run changes in the index once it commits.
  struct Delta {
    std::vector<std::pair<uint64_t, KeyState>> states;
    std::vector<MergeRecord> truncates;           // staged truncate records, now retained
    bool closed_all = false;                      // an in-order truncate closed every open version first
    bool rewarm = false;                          // the run refolded everything: read the index again
    std::optional<std::string> compacted_before;  // truncates before this sequence were compacted away
    std::optional<Micros> horizon_to;             // the log was compacted: the new horizon
    bool more = false;                            // the run stopped at max_rows_per_run
    DeltaSize delta_size;                         // the warehouse's delta once the run commits
  };

  Result<TaskRecord> Run(KeyScope scope, bool* more = nullptr);
  // One attempt at a run; a retryable "collision" error (see kCollisionMessage) means: try again, the key
  // ids involved are now marked colliding.
  Result<TaskRecord> Attempt(KeyScope scope, TaskRecord& task, Delta& delta);
  // The run's work inside its transaction; `delta` collects the index entries to change once it commits.
  Result<TaskRecord> Apply(MergeSession& session, KeyScope scope, TaskRecord& task, Delta& delta);
  // The staged records: keys with only newer records continue from the index, the others are refolded.
  Status ApplyStaged(MergeSession& session, TaskRecord& task, Delta& delta,
                     const std::function<void(const char*)>& step);
  // Refolds the keys of `scope` from their whole log (and every truncate) and replaces their versions.
  // `delta`, when given, collects the key ids' new states.
  Status Refold(MergeSession& session, KeyScope scope, TaskRecord& task,
                const std::vector<MergeRecord>& truncates, Delta* delta);
  // Every truncate record: the retained ones and those of the run.
  std::vector<MergeRecord> AllTruncates(const Delta& delta) const;
  // Log retention: compacts the records before the new horizon once it has moved far enough from `horizon`.
  Status Compact(MergeSession& session, Micros horizon, Delta& delta);
  // Merge on read: compacts slices of the delta's rows of `kind`, each its own transaction, until at most
  // `keep` of them are left or `budget` has passed (at least one slice). A failure is logged, the next call
  // tries again.
  void CompactDelta(DeltaRows kind, uint64_t keep, std::chrono::milliseconds budget);
  // Whether records wait for the next run (SetWorkWaiting), and the delta's bound for `kind` then or
  // otherwise (MergeOptions::busy_delta_factor).
  bool WorkWaiting() const;
  uint64_t DeltaBound(DeltaRows kind, bool busy) const;
  // `bound` (one of the delta's bounds or the slice) scaled to the key index's size
  // (MergeOptions::delta_bounds_keys).
  uint64_t Scaled(uint64_t bound) const;

  EntitySpec entity_;
  Warehouse& warehouse_;
  MergeOptions options_;
  std::function<bool()> work_waiting_;
  MergeStats stats_;
  KeyIndex index_;                          // every key id of the log; valid while warmed_
  std::vector<MergeRecord> truncates_;      // every retained truncate record, in order; valid while warmed_
  std::optional<uint64_t> truncate_floor_;  // OrderedFloor of the newest truncate ever merged
  uint64_t collision_retries_ = 0;
  DeltaSize delta_;                                    // the warehouse's delta, as of the last commit
  std::chrono::steady_clock::time_point last_busy_{};  // the last commit of a run with rows
  std::chrono::steady_clock::time_point last_saved_ = std::chrono::steady_clock::now();  // of the snapshot
  bool warmed_ = false;
  // The watermark and horizon the index reflects, valid while warmed_: a run that finds others in the
  // warehouse (another process merged since) reads the index again.
  int64_t index_watermark_ = 0;
  Micros index_horizon_ = INT64_MIN;
  bool dirty_ = false;       // runs committed since the last checkpoint
  bool saved_ = false;       // the snapshot on disk holds the index as it is now
  bool committing_ = false;  // the run has reached MergeSession::Finish
};

}  // namespace dimstream
