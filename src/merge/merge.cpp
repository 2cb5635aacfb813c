#include "merge/merge.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <span>

#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "common/fault.h"
#include "common/process_memory.h"
#include "common/typed_value.h"
#include "merge/fold.h"

namespace dimstream {

namespace {

constexpr const char* kHorizon = "HORIZON";
// The retryable error of an attempt that met keys sharing a key id it did not know of.
constexpr const char* kCollisionMessage = "keys sharing a key id met in the incremental path";
// The retryable error of an attempt whose key index is older than the warehouse's tables.
constexpr const char* kStaleMessage = "another process merged since the key index was read";
// A run meets each collision once; more attempts than this mean something else is wrong.
constexpr int kMaxAttempts = 8;
// A run of this many raw rows gives what it freed back to the system after it (ReturnFreeMemory).
constexpr uint64_t kLargeRun = 262144;

// "resident N MiB, peak so far M MiB" for a debug line; read only when debug lines are written.
std::string MemoryForDebug() {
  if (!spdlog::should_log(spdlog::level::debug)) {
    return {};
  }
  ProcessMemory memory = ReadProcessMemory();
  return fmt::format("resident {} MiB, peak so far {} MiB", memory.resident >> 20, memory.peak >> 20);
}

bool IsCollision(const Error& e) {
  return e.kind == ErrorKind::kRetryable && e.message == kCollisionMessage;
}

bool IsStale(const Error& e) {
  return e.kind == ErrorKind::kRetryable && e.message == kStaleMessage;
}

}  // namespace

MergeJob::MergeJob(EntitySpec entity, Warehouse& warehouse, MergeOptions options)
    : entity_(std::move(entity)), warehouse_(warehouse), options_(options) {}

Status MergeJob::Warm() {
  auto began = std::chrono::steady_clock::now();
  index_.Clear();
  truncates_.clear();
  truncate_floor_.reset();
  warmed_ = false;
  auto session = warehouse_.BeginMerge(entity_.name);
  if (!session.ok()) {
    return session.error();
  }
  auto watermark = (*session)->ReadParameter(kWatermarkParameter);
  auto horizon = (*session)->ReadParameter(kHorizon);
  if (!watermark.ok() || !horizon.ok()) {
    return (watermark.ok() ? horizon : watermark).error();
  }
  auto delta_size = (*session)->DeltaSizeNow();
  if (!delta_size.ok()) {
    return delta_size.error();
  }
  delta_ = *delta_size;
  int64_t newest_truncate = INT64_MIN;
  DIMSTREAM_TRY((*session)->ReadTruncates([&](const MergeRecord& t) {
    truncates_.push_back(t);
    truncate_floor_ = std::max(truncate_floor_.value_or(0), OrderedFloor(t.seq));
    newest_truncate = std::max(newest_truncate, t.arrival);
  }));
  // A saved index is brought up to date with the key ids whose records arrived after it was saved, as long
  // as the log was not compacted since (compaction may drop records the update would need) and no truncate
  // arrived since (it changes keys that have no records of their own). Each of those key ids is read whole,
  // so it replaces what the snapshot said.
  std::optional<int64_t> after;
  std::string source = "the warehouse";
  if (!options_.index_snapshot.empty()) {
    auto tag = index_.Load(options_.index_snapshot);
    if (tag.ok() && *tag && (*tag)->horizon == horizon->value_or(INT64_MIN) &&
        (*tag)->watermark <= watermark->value_or(0) && newest_truncate <= (*tag)->watermark) {
      after = (*tag)->watermark;
      source = fmt::format("{} and the records since", options_.index_snapshot.string());
    } else {
      index_.Clear();
    }
  }
  uint64_t updated = 0;
  if (!after) {
    // Sized once rather than grown and rehashed on the way (about a fifth of the read at 10M keys).
    auto estimate = (*session)->EstimateKeyIds();
    if (estimate.ok()) {
      index_.Reserve(*estimate + *estimate / 16);
    }
  }
  if (!after || *after < watermark->value_or(0)) {
    std::vector<std::pair<uint64_t, KeyState>> batch;
    auto flush = [&] {
      index_.PutMany(batch);
      batch.clear();
    };
    DIMSTREAM_TRY((*session)->ReadKeyStates(after, [&](const KeyRow& row) {
      if (row.several_keys) {
        // Its keys are always refolded; the state only keeps their newest sequence. It replaces what an
        // earlier row of the same id put, so that row goes in first.
        flush();
        index_.MarkColliding(row.key_id);
        index_.Put(row.key_id, KeyState{row.last_seq, 0, 0, 0, 0});
      } else {
        batch.emplace_back(row.key_id, KeyState{row.last_seq, row.opened_arrival != 0 ? row.open_from : 0,
                                                row.opened_arrival, row.scd1_hash, row.scd2_hash});
        if (batch.size() == 4096) {
          flush();
        }
      }
      ++updated;
    }));
    flush();
  }
  warmed_ = true;
  index_watermark_ = watermark->value_or(0);
  index_horizon_ = horizon->value_or(INT64_MIN);
  stats_.keys_read_at_warm = updated;
  stats_.keys = index_.size();
  stats_.state_bytes = StateBytes();
  saved_ = after && *after == watermark->value_or(0);  // read from a snapshot that needed nothing added
  spdlog::info(
      "{} merge key index: {} keys ({} read from the warehouse, {} key ids shared), {:.1f} MB, from {} in {} "
      "ms",
      entity_.name, index_.size(), updated, index_.colliding().size(),
      static_cast<double>(index_.Bytes()) / 1e6, source,
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - began)
          .count());
  return Ok();
}

void MergeJob::SaveIndex() {
  if (options_.index_snapshot.empty() || !warmed_ || saved_) {
    return;
  }
  auto began = std::chrono::steady_clock::now();
  auto session = warehouse_.BeginMerge(entity_.name);
  if (!session.ok()) {
    spdlog::warn("cannot save the key index: {}", session.error().message);
    return;
  }
  auto watermark = (*session)->ReadParameter(kWatermarkParameter);
  auto horizon = (*session)->ReadParameter(kHorizon);
  if (!watermark.ok() || !horizon.ok()) {
    spdlog::warn("cannot save the key index: {}", (watermark.ok() ? horizon : watermark).error().message);
    return;
  }
  Status saved = index_.Save(options_.index_snapshot,
                             KeyIndex::SnapshotTag{watermark->value_or(0), horizon->value_or(INT64_MIN)});
  if (!saved.ok()) {
    spdlog::warn("{} (a restart rebuilds the index from the warehouse instead)", saved.error().message);
    return;
  }
  saved_ = true;
  last_saved_ = std::chrono::steady_clock::now();
  spdlog::debug(
      "key index saved to {} in {} ms", options_.index_snapshot.string(),
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - began)
          .count());
}

uint64_t MergeJob::StateBytes() const {
  return index_.Bytes() + truncates_.capacity() * sizeof(MergeRecord);
}

Result<TaskRecord> MergeJob::RunOnce() {
  std::optional<TaskRecord> total;
  bool more = true;
  while (more) {
    if (total) {
      // What a transaction changed (deleted raw rows, closed versions) stays in DuckDB's memory until a
      // checkpoint: between the transactions of one backlog, a checkpoint keeps memory from growing with it.
      Status checkpoint = warehouse_.Checkpoint();
      if (!checkpoint.ok()) {
        spdlog::warn("checkpoint between merge transactions failed: {}", checkpoint.error().message);
      }
      spdlog::debug("checkpoint between merge transactions ({})", MemoryForDebug());
    }
    Result<TaskRecord> next = Run(KeyScope::kStaged, &more);
    if (!next.ok()) {
      return next;
    }
    if (next->rows_in >= kLargeRun) {
      ReturnFreeMemory();
    }
    // Now, so that reads through the views stay fast; down to half the bound, so that the next runs do not
    // each pay for a small compaction; closes all at once (each compaction of closes reads all of current).
    // Not while records wait, up to the busy bounds: the next run goes first.
    const bool busy = WorkWaiting();
    if (delta_.values > DeltaBound(DeltaRows::kValues, busy)) {
      CompactDelta(DeltaRows::kValues, Scaled(options_.delta_rows_max) / 2, std::chrono::hours(24));
    }
    if (delta_.closes > DeltaBound(DeltaRows::kCloses, busy)) {
      CompactDelta(DeltaRows::kCloses, 0, std::chrono::hours(24));
    }
    if (!total) {
      total = *next;
      continue;
    }
    total->finished_at = next->finished_at;
    total->status = next->status;
    total->rows_in += next->rows_in;
    total->rows_staged += next->rows_staged;
    total->keys += next->keys;
    total->versions_opened += next->versions_opened;
    total->versions_closed += next->versions_closed;
    total->scd1_updates += next->scd1_updates;
    total->rows_rejected += next->rows_rejected;
    total->watermark_to = next->watermark_to;
  }
  stats_.keys = index_.size();
  stats_.state_bytes = StateBytes();
  return *total;
}

Result<TaskRecord> MergeJob::Rebuild() {
  return Run(KeyScope::kAll);
}

Result<TaskRecord> MergeJob::Attempt(KeyScope scope, TaskRecord& task, Delta& delta) {
  if (scope == KeyScope::kStaged && !warmed_) {
    DIMSTREAM_TRY(Warm());
  }
  auto session = warehouse_.BeginMerge(entity_.name);
  if (!session.ok()) {
    return session.error();
  }
  return Apply(**session, scope, task, delta);
}  // the session is gone here: rolled back unless Finish committed it

Result<TaskRecord> MergeJob::Run(KeyScope scope, bool* more) {
  TaskRecord task;
  task.task_name = scope == KeyScope::kAll ? entity_.name + "_rebuild" : entity_.merge_job();
  task.started_at = NowMicros();
  Delta delta;
  Result<TaskRecord> r = Error::Permanent("not run");
  for (int attempt = 1; attempt <= kMaxAttempts; ++attempt) {
    task = TaskRecord{task.task_name, task.started_at};
    delta = Delta{};
    r = Attempt(scope, task, delta);
    if (!r.ok() && IsStale(r.error())) {
      // A second merge process that took over (or one run by hand against a server): the next attempt
      // reads the index from the tables that process left.
      spdlog::info("{}: {}; reading it again", entity_.merge_job(), kStaleMessage);
      continue;
    }
    if (r.ok() || !IsCollision(r.error())) {
      break;
    }
    ++collision_retries_;
    spdlog::info("{}: {}; key ids now shared: {}; running again", entity_.merge_job(), kCollisionMessage,
                 index_.colliding().size());
  }
  if (r.ok()) {
    if (more != nullptr) {
      *more = delta.more;
    }
    // The index follows what was committed, and only that.
    if (scope == KeyScope::kAll || delta.rewarm) {
      index_.Clear();
      truncates_.clear();
      warmed_ = false;
      if (scope == KeyScope::kStaged) {
        // Now rather than in the next run, which should not pay for this one.
        Status warm = Warm();
        if (!warm.ok()) {
          spdlog::warn("cannot read the key index again (the next run tries): {}", warm.error().message);
        }
      }
    } else {
      if (r->status == "succeeded") {
        index_watermark_ = r->watermark_to;
        index_horizon_ = delta.horizon_to.value_or(index_horizon_);
      }
      if (delta.closed_all) {
        index_.CloseAll();
      }
      for (const auto& [key_id, state] : delta.states) {
        index_.Put(key_id, state);
      }
      for (const MergeRecord& t : delta.truncates) {
        truncates_.push_back(t);
        truncate_floor_ = std::max(truncate_floor_.value_or(0), OrderedFloor(t.seq));
      }
      if (delta.compacted_before) {
        std::erase_if(truncates_,
                      [&](const MergeRecord& t) { return t.seq.compare(0, 8, *delta.compacted_before) < 0; });
      }
    }
    if (r->rows_in > 0 || scope == KeyScope::kAll) {
      dirty_ = true;
      saved_ = false;
      delta_ = delta.delta_size;
      last_busy_ = std::chrono::steady_clock::now();
    } else {
      // Idle: the moment to compact the delta, to write the WAL into the tables, rather than in the middle of
      // a later run, and to save the key index for the next start; once no file came for a while (between the
      // files of a steady stream each would delay the next one), or for the snapshot, once it is old.
      const auto now = std::chrono::steady_clock::now();
      if (now - last_busy_ < options_.idle_compaction_after) {
        if (now - last_saved_ >= options_.index_snapshot_max_age) {
          SaveIndex();
        }
        return r;
      }
      if (delta_.total() > 0) {
        CompactDelta(DeltaRows::kAny, 0, options_.idle_compaction);
        if (delta_.total() > 0) {
          // The next idle run goes on with it. The key index does not wait for the delta: a stop now
          // restarts from the snapshot.
          SaveIndex();
          return r;
        }
      }
      if (dirty_) {
        Status checkpoint = warehouse_.Checkpoint();
        if (!checkpoint.ok()) {
          spdlog::warn("checkpoint failed (the next idle run tries again): {}", checkpoint.error().message);
        } else {
          dirty_ = false;
        }
      }
      SaveIndex();
    }
    return r;
  }
  stats_.failures++;
  if (committing_) {
    // Whether a failed commit left anything on disk is not known (a WAL written but not synced, say):
    // the next run reads the key index again rather than trust the one in memory.
    committing_ = false;
    warmed_ = false;
  }
  task.status = "failed";
  task.finished_at = NowMicros();
  task.error = r.error().message;
  Status recorded = warehouse_.RecordTask(task);
  if (!recorded.ok()) {
    spdlog::warn("cannot record the failed merge run: {}", recorded.error().message);
  }
  return r.error().Context("merge run failed and was rolled back");
}

std::vector<MergeRecord> MergeJob::AllTruncates(const Delta& delta) const {
  std::vector<MergeRecord> all = truncates_;
  all.insert(all.end(), delta.truncates.begin(), delta.truncates.end());
  std::sort(all.begin(), all.end(), [](const MergeRecord& a, const MergeRecord& b) {
    int c = a.seq.compare(b.seq);
    return c < 0 || (c == 0 && a.arrival < b.arrival);
  });
  return all;
}

Result<TaskRecord> MergeJob::Apply(MergeSession& session, KeyScope scope, TaskRecord& task, Delta& delta) {
  // Step timings at debug level: where a run's time goes, without a profiler.
  auto mark = std::chrono::steady_clock::now();
  auto step = [&](const char* name) {
    auto now = std::chrono::steady_clock::now();
    spdlog::debug("merge step {}: {} ms ({})", name,
                  std::chrono::duration_cast<std::chrono::microseconds>(now - mark).count() / 1000.0,
                  MemoryForDebug());
    mark = now;
  };
  auto watermark = session.ReadParameter(kWatermarkParameter);
  auto horizon = session.ReadParameter(kHorizon);
  if (!watermark.ok() || !horizon.ok()) {
    return (watermark.ok() ? horizon : watermark).error();
  }
  if (scope == KeyScope::kStaged && warmed_ &&
      (watermark->value_or(0) != index_watermark_ || horizon->value_or(INT64_MIN) != index_horizon_)) {
    warmed_ = false;
    return Error::Retryable(kStaleMessage);
  }
  task.watermark_from = watermark->value_or(0);
  auto staged =
      session.Stage(task.watermark_from, scope == KeyScope::kStaged ? options_.max_rows_per_run : 0);
  if (!staged.ok()) {
    return staged.error();
  }
  delta.more = staged->more;
  if (*horizon) {
    // Older than the retained log: such a record can no longer be placed exactly, so it is rejected
    // with a reason rather than applied approximately or dropped.
    auto rejected = session.RejectStagedBefore(
        **horizon,
        fmt::format("its sequence is older than the retained history (merge.log_retention_days = {}; "
                    "records before {} are compacted)",
                    options_.log_retention_us / 86400000000LL, FormatTimestamp(**horizon)));
    if (!rejected.ok()) {
      return rejected.error();
    }
    task.rows_rejected = *rejected;
  }
  task.rows_in = staged->rows_in;
  task.rows_staged = staged->rows_staged;
  task.watermark_to = staged->new_watermark;
  if (scope != KeyScope::kAll && staged->rows_in == 0) {
    step("stage");
    FaultPoint("merge.after_stage");
    task.status = "empty";
    return task;
  }
  DIMSTREAM_TRY(session.ReadStagedTruncates([&](const MergeRecord& t) { delta.truncates.push_back(t); }));
  // A truncate that is not newer than every record merged before it changes versions anywhere in the past
  // of any key: the run refolds every key, as a rebuild does.
  bool late_truncate =
      !delta.truncates.empty() && OrderedFloor(delta.truncates.front().seq) <=
                                      std::max(index_.max_last_seq(), truncate_floor_.value_or(0));
  if (scope == KeyScope::kAll || late_truncate) {
    DIMSTREAM_TRY(session.AppendStageToLog(KeyScope::kStaged));
    step("stage");
    FaultPoint("merge.after_stage");
    // Every truncate from the warehouse: a rebuild may run on a job that never read them.
    std::vector<MergeRecord> truncates;
    DIMSTREAM_TRY(session.ReadTruncates([&](const MergeRecord& t) { truncates.push_back(t); }));
    DIMSTREAM_TRY(Refold(session, KeyScope::kAll, task, truncates, nullptr));
    delta.rewarm = true;
  } else {
    DIMSTREAM_TRY(ApplyStaged(session, task, delta, step));
  }
  task.status = "succeeded";
  task.finished_at = NowMicros();
  if (options_.log_retention_us > 0) {
    DIMSTREAM_TRY(Compact(session, horizon->value_or(INT64_MIN), delta));
    step("compact the log");
  }
  auto delta_size = session.DeltaSizeNow();
  if (!delta_size.ok()) {
    return delta_size.error();
  }
  delta.delta_size = *delta_size;
  committing_ = true;
  DIMSTREAM_TRY(session.Finish(staged->new_watermark, task));
  committing_ = false;
  step("watermark, clean-up, commit");
  stats_.runs++;
  stats_.rows_merged += task.rows_in;
  stats_.versions_opened += task.versions_opened;
  stats_.versions_closed += task.versions_closed;
  stats_.scd1_updates += task.scd1_updates;
  stats_.rows_rejected += task.rows_rejected;
  if (staged->rows_in > 0) {
    const Micros now = NowMicros();
    stats_.last_freshness_us = now - staged->newest_loaded_at;
    stats_.freshness_seconds.Observe(now - staged->newest_loaded_at);
    stats_.run_seconds.Observe(now - task.started_at);
  }
  spdlog::info("{}: merged {} rows ({} keys): {} versions opened, {} closed, {} SCD1 updates", entity_.name,
               task.rows_in, task.keys, task.versions_opened, task.versions_closed, task.scd1_updates);
  return task;
}

Status MergeJob::ApplyStaged(MergeSession& session, TaskRecord& task, Delta& delta,
                             const std::function<void(const char*)>& step) {
  if (!entity_.exact_key_id()) {
    // Two staged keys under one key id would both continue from its one state.
    auto shared = session.StagedKeyIdsOfSeveralKeys();
    if (!shared.ok()) {
      return shared.error();
    }
    for (uint64_t key_id : *shared) {
      index_.MarkColliding(key_id);
    }
  }
  if (!delta.truncates.empty()) {
    // Newer than everything merged before: every key that has no record in this run is closed at the first
    // one; the staged keys meet the truncates in their fold.
    DIMSTREAM_TRY(session.CloseUnstagedOpenVersions(delta.truncates.front()));
    delta.closed_all = true;
  }
  // A key whose staged records are all newer than its log and every truncate merged before (the usual case:
  // a new key, or a change after the last one) continues from its state in the index; the others (late
  // records, ties, key ids shared by several keys) are refolded from their whole log, as a rebuild would.
  const std::optional<uint64_t> newer_than = truncate_floor_;
  std::vector<uint64_t> refold;
  std::vector<Version> versions;
  std::vector<OpenVersionEdit> edits;
  std::vector<std::pair<uint64_t, int64_t>> latest_upserts;  // scd1_scope = all_versions
  size_t rewrites = 0;  // edits that rewrite an open version rather than close it
  // The versions and edits go to the session in parts: a run of millions of records never holds all of them.
  Status handed_over = Ok();
  auto hand_over = [&] {
    if (handed_over.ok() && !versions.empty()) {
      handed_over = session.AddVersions(versions);
    }
    if (handed_over.ok() && !edits.empty()) {
      handed_over = session.AddEdits(edits);
    }
    versions.clear();
    edits.clear();
  };
  auto fold_key = [&](std::span<const MergeRecord> records) {
    uint64_t key_id = records.front().key_id;
    const KeyState* state = index_.Find(key_id);
    uint64_t first = OrderedFloor(records.front().seq);
    if (index_.IsColliding(key_id) || (state != nullptr && first <= state->last_seq) ||
        (newer_than && first <= *newer_than)) {
      refold.push_back(key_id);
      return;
    }
    // A state from before the run; with an in-order truncate in it, its open version is still open here.
    size_t start = versions.size();
    FoldStep fold = FoldOnto(key_id, state, records, delta.truncates, entity_.scd1_scope, versions);
    task.keys++;
    for (size_t i = start; i < versions.size(); ++i) {
      const Version& v = versions[i];
      bool was_open = fold.rewrote_open && i == start;
      task.versions_opened += was_open ? 0 : 1;
      task.versions_closed += v.open() ? 0 : 1;
      task.scd1_updates += (was_open && v.scd1_hash != state->scd1_hash) ? 1 : 0;
    }
    if (fold.edit) {
      edits.push_back(*fold.edit);
      task.versions_closed += fold.edit->closed_arrival != 0 ? 1 : 0;
      rewrites += fold.edit->closed_arrival == 0 ? 1 : 0;
    }
    if (entity_.scd1_scope == Scd1Scope::kAllVersions && fold.latest_upsert != 0) {
      latest_upserts.emplace_back(key_id, fold.latest_upsert);
    }
    delta.states.emplace_back(key_id, fold.next);
    if (versions.size() >= options_.versions_per_part || edits.size() >= options_.versions_per_part) {
      hand_over();
    }
  };
  // The staged records come in key order; they are folded a batch of keys at a time, each key's index slot
  // asked for a few keys ahead of its fold (KeyIndex::Prefetch).
  constexpr size_t kBatchKeys = 1024;
  constexpr size_t kAhead = 16;
  std::vector<MergeRecord> batch;
  std::vector<size_t> starts;  // where each key's records begin in `batch`
  auto fold_batch = [&] {
    const size_t keys = starts.size();
    starts.push_back(batch.size());
    for (size_t k = 0; k < std::min(kAhead, keys); ++k) {
      index_.Prefetch(batch[starts[k]].key_id);
    }
    for (size_t k = 0; k < keys; ++k) {
      if (k + kAhead < keys) {
        index_.Prefetch(batch[starts[k + kAhead]].key_id);
      }
      fold_key(std::span<const MergeRecord>(batch).subspan(starts[k], starts[k + 1] - starts[k]));
    }
    batch.clear();
    starts.clear();
  };
  DIMSTREAM_TRY(session.ReadStage([&](const MergeRecord& r) {
    if (batch.empty() || batch.back().key_id != r.key_id) {
      if (starts.size() == kBatchKeys) {
        fold_batch();
      }
      starts.push_back(batch.size());
    }
    batch.push_back(r);
  }));
  fold_batch();
  hand_over();
  DIMSTREAM_TRY(handed_over);
  const uint64_t opened_by_fold = task.versions_opened;
  step("read stage and fold");
  DIMSTREAM_TRY(session.ListKeys(refold));
  DIMSTREAM_TRY(session.AppendStageToLog(KeyScope::kListed));
  step("append to log");
  FaultPoint("merge.after_stage");
  if (!refold.empty()) {
    DIMSTREAM_TRY(Refold(session, KeyScope::kListed, task, AllTruncates(delta),
                         &delta));  // passes both fault points below
    step("refold late keys");
  } else {
    FaultPoint("merge.after_fold");
  }
  if (task.rows_in >= kLargeRun) {
    // What the fold freed, back to the system before DuckDB's largest statements run.
    ReturnFreeMemory();
  }
  auto mismatched =
      session.ApplyIncrement({.rewrite_in_place = rewrites >= options_.in_place_rewrites_from,
                              .opened_to_base = opened_by_fold >= options_.opened_to_base_from});
  if (!mismatched.ok()) {
    return mismatched.error();
  }
  if (!mismatched->empty()) {
    // The index gave a key the state of another key with the same key id: from now on both are refolded.
    for (uint64_t key_id : *mismatched) {
      index_.MarkColliding(key_id);
    }
    return Error::Retryable(kCollisionMessage);
  }
  if (!latest_upserts.empty()) {
    DIMSTREAM_TRY(session.SetScd1OfAllVersions(latest_upserts, /*in_stage=*/true));
  }
  if (refold.empty()) {
    FaultPoint("merge.after_replace");
  }
  step("apply");
  return Ok();
}

Status MergeJob::Refold(MergeSession& session, KeyScope scope, TaskRecord& task,
                        const std::vector<MergeRecord>& truncates, Delta* delta) {
  // What the keys look like now, to count what this run changes.
  struct Before {
    bool open;
    uint64_t scd1_hash;
  };
  std::map<int64_t, Before> before;  // by opener
  DIMSTREAM_TRY(session.ReadVersions(scope, [&](const VersionInfo& v) {
    before[v.opened_arrival] = {v.open, v.scd1_hash};
  }));
  std::vector<Version> versions;
  std::vector<std::pair<uint64_t, int64_t>> latest_upserts;
  std::vector<MergeRecord> records;
  // The key id being read: its keys, its versions and its newest sequence.
  uint64_t key_id = 0;
  uint32_t keys_of_id = 0;
  size_t id_start = 0;
  uint64_t id_last_seq = 0;
  auto flush_key = [&] {
    if (records.empty()) {
      return;
    }
    size_t first = versions.size();
    FoldKey(records, truncates, entity_.scd1_scope, versions);
    id_last_seq = std::max(id_last_seq, OrderedFloor(records.back().seq));
    keys_of_id++;
    task.keys++;
    if (entity_.scd1_scope == Scd1Scope::kAllVersions && options_.log_retention_us > 0 &&
        versions.size() > first) {
      // Every version the fold gave carries the latest upsert's SCD1 values: so must the frozen ones.
      latest_upserts.emplace_back(records.front().key_id, versions.back().scd1_arrival);
    }
    records.clear();
  };
  auto flush_id = [&] {
    flush_key();
    if (keys_of_id == 0) {
      return;
    }
    if (delta != nullptr) {
      if (keys_of_id > 1) {
        index_.MarkColliding(key_id);  // its keys are refolded from now on
      }
      // The id's newest sequence over all its keys, and its open version if exactly one key has one: what a
      // scan of the warehouse gives (ReadKeyStates), and the key index's invariant.
      KeyState state;
      const Version* open = nullptr;
      size_t open_count = 0;
      for (size_t i = id_start; i < versions.size(); ++i) {
        if (versions[i].open()) {
          open = &versions[i];
          ++open_count;
        }
      }
      state = open_count == 1 ? StateAfter(std::span<const Version>(open, 1), id_last_seq) : KeyState{};
      state.last_seq = id_last_seq;
      delta->states.emplace_back(key_id, state);
    }
    keys_of_id = 0;
    id_last_seq = 0;
    id_start = versions.size();
  };
  DIMSTREAM_TRY(session.ReadLog(scope, [&](MergeRecord&& r) {
    if (!records.empty() && records.front().key_id != r.key_id) {
      flush_id();
    } else if (!records.empty() && records.front().key_ord != r.key_ord) {
      flush_key();
    }
    key_id = r.key_id;
    records.push_back(std::move(r));
  }));
  flush_id();

  for (const Version& v : versions) {
    auto it = before.find(v.opened_arrival);
    if (it == before.end()) {
      task.versions_opened++;
      task.versions_closed += v.open() ? 0 : 1;
      continue;
    }
    task.versions_closed += (!v.open() && it->second.open) ? 1 : 0;
    task.scd1_updates += it->second.scd1_hash != v.scd1_hash ? 1 : 0;
  }

  FaultPoint("merge.after_fold");
  DIMSTREAM_TRY(session.ReplaceVersions(scope, versions));
  if (!latest_upserts.empty()) {
    // Versions frozen by log retention take the latest SCD1 values too.
    DIMSTREAM_TRY(session.SetScd1OfAllVersions(latest_upserts, /*in_stage=*/false));
  }
  FaultPoint("merge.after_replace");
  return Ok();
}

bool MergeJob::WorkWaiting() const {
  return work_waiting_ && work_waiting_();
}

uint64_t MergeJob::DeltaBound(DeltaRows kind, bool busy) const {
  const uint64_t factor = busy ? std::max<uint64_t>(1, options_.busy_delta_factor) : 1;
  switch (kind) {
    case DeltaRows::kValues:
      return Scaled(options_.delta_rows_max) * factor;
    case DeltaRows::kCloses:
      return Scaled(options_.delta_closes_max) * factor;
    default:
      return Scaled(options_.delta_rows_max + options_.delta_closes_max) * factor;
  }
}

uint64_t MergeJob::Scaled(uint64_t bound) const {
  const uint64_t keys = index_.size();
  if (options_.delta_bounds_keys == 0 || keys <= options_.delta_bounds_keys) {
    return bound;
  }
  return static_cast<uint64_t>(static_cast<double>(bound) * static_cast<double>(keys) /
                               static_cast<double>(options_.delta_bounds_keys));
}

void MergeJob::CompactDelta(DeltaRows kind, uint64_t keep, std::chrono::milliseconds budget) {
  const auto began = std::chrono::steady_clock::now();
  auto rows = [&] {
    return kind == DeltaRows::kValues   ? delta_.values
           : kind == DeltaRows::kCloses ? delta_.closes
                                        : delta_.total();
  };
  uint64_t moved = 0;
  uint64_t slices = 0;
  while (rows() > keep) {
    if (slices > 0 && rows() <= DeltaBound(kind, true) && WorkWaiting()) {
      break;  // records wait: the next run goes first, the next compaction goes on with the rest
    }
    ++slices;
    // Closes many at a time (what each transaction of them costs is a scan of current, whatever their
    // number), but no more than delta_closes_max: a backlog's closes would otherwise be one huge transaction.
    uint64_t per_slice =
        Scaled(kind == DeltaRows::kCloses ? std::max(options_.compaction_slice, options_.delta_closes_max)
                                          : options_.compaction_slice);
    uint64_t slice = std::min(per_slice, rows() - keep);
    auto session = warehouse_.BeginMerge(entity_.name);
    Result<Compaction> c =
        session.ok() ? (*session)->CompactDelta(slice, kind) : Result<Compaction>(session.error());
    Status committed = c.ok() ? (*session)->Commit() : Status(c.error());
    if (!committed.ok()) {
      spdlog::warn("{}: compaction of the delta failed (rolled back; the next run tries again): {}",
                   entity_.name, committed.error().message);
      return;
    }
    dirty_ = true;
    moved += c->moved;
    delta_ = c->left;
    if (c->moved == 0 || std::chrono::steady_clock::now() - began >= budget) {
      break;
    }
  }
  spdlog::debug(
      "merge step compact the delta: {} ms ({} rows moved; {} with values and {} closes left; {})",
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - began)
              .count() /
          1000.0,
      moved, delta_.values, delta_.closes, MemoryForDebug());
}

Status MergeJob::Compact(MergeSession& session, Micros horizon, Delta& delta) {
  auto newest = session.NewestLogSequence();
  if (!newest.ok()) {
    return newest.error();
  }
  if (!*newest) {
    return Ok();
  }
  // Compacting rewrites part of the log, so it runs only once the horizon has moved by a tenth of the
  // retention, not on every run.
  Micros target = **newest - options_.log_retention_us;
  if (horizon != INT64_MIN && target < horizon + options_.log_retention_us / 10) {
    return Ok();
  }
  // Each key's records before the target become one base record: the version open at the target, with
  // its SCD1 values as of then. Versions before it stay in history, frozen. The first sequence column is a
  // timestamp (the configuration says so), so a sequence is before the target when its first 8 bytes are.
  const std::string target_seq = OrderedTimestamp(target);
  auto before_target = [&](const std::string& seq) { return seq.compare(0, 8, target_seq) < 0; };
  std::vector<MergeRecord> truncates = AllTruncates(delta);
  std::erase_if(truncates, [&](const MergeRecord& t) { return !before_target(t.seq); });
  std::vector<Version> base;
  std::vector<MergeRecord> before;
  std::vector<Version> versions;
  auto flush = [&] {
    if (before.empty()) {
      return;
    }
    versions.clear();
    FoldKey(before, truncates, entity_.scd1_scope, versions);
    if (!versions.empty() && versions.back().open()) {
      base.push_back(versions.back());
    }
    before.clear();
  };
  DIMSTREAM_TRY(session.ReadLogOfKeysBefore(target, [&](MergeRecord&& r) {
    if (!before.empty() && (r.key_id != before.front().key_id || r.key_ord != before.front().key_ord)) {
      flush();
    }
    if (before_target(r.seq)) {
      before.push_back(std::move(r));
    }
  }));
  flush();
  DIMSTREAM_TRY(session.ReplaceLogBefore(target, base));
  delta.compacted_before = target_seq;
  delta.horizon_to = target;
  spdlog::info("{} log compacted up to {}: {} keys keep a base record", entity_.name, FormatTimestamp(target),
               base.size());
  return session.WriteParameter(kHorizon, target);
}

}  // namespace dimstream
