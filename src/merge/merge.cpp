#include "merge/merge.h"

#include <chrono>
#include <functional>
#include <map>
#include <span>

#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "common/fault.h"
#include "merge/fold.h"

namespace dimstream {

namespace {

constexpr const char* kWatermark = "LETS";
constexpr const char* kHorizon = "HORIZON";

}  // namespace

MergeJob::MergeJob(EntitySpec entity, Warehouse& warehouse, MergeOptions options)
    : entity_(std::move(entity)), warehouse_(warehouse), options_(options) {}

Status MergeJob::Warm() {
  auto began = std::chrono::steady_clock::now();
  index_.Clear();
  warmed_ = false;
  auto session = warehouse_.BeginMerge();
  if (!session.ok()) {
    return session.error();
  }
  auto watermark = (*session)->ReadParameter(kWatermark);
  auto horizon = (*session)->ReadParameter(kHorizon);
  if (!watermark.ok() || !horizon.ok()) {
    return (watermark.ok() ? horizon : watermark).error();
  }
  // A saved index is brought up to date with the keys whose records arrived after it was saved, as long as
  // the log was not compacted since (compaction may drop records the update would need).
  std::optional<int64_t> after;
  std::string source = "the warehouse";
  if (!options_.index_snapshot.empty()) {
    auto tag = index_.Load(options_.index_snapshot);
    if (tag.ok() && *tag && (*tag)->horizon == horizon->value_or(INT64_MIN) &&
        (*tag)->watermark <= watermark->value_or(0)) {
      after = (*tag)->watermark;
      source = fmt::format("{} and the records since", options_.index_snapshot.string());
    } else {
      index_.Clear();
    }
  }
  uint64_t updated = 0;
  if (!after || *after < watermark->value_or(0)) {
    DIMSTREAM_TRY((*session)->ReadKeyStates(after, [&](const KeyRow& row) {
      KeyState state;
      state.last_seq = row.last_seq;
      if (const KeyState* saved = index_.Find(row.key); saved != nullptr) {
        state.last_seq = std::max(state.last_seq, saved->last_seq);
      }
      if (row.open_from) {
        state.open_from = *row.open_from;
        state.opened_arrival = row.opened_arrival;
        state.scd1_hash = row.scd1_hash;
        state.scd2_hash = row.scd2_hash;
      }
      index_.Put(row.key, state);
      ++updated;
    }));
  }
  warmed_ = true;
  saved_ = after && *after == watermark->value_or(0);  // read from a snapshot that needed nothing added
  spdlog::info("merge key index: {} keys ({} read from the warehouse), {:.1f} MB, from {} in {} ms",
               index_.size(), updated, static_cast<double>(index_.Bytes()) / 1e6, source,
               std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - began)
                   .count());
  return Ok();
}

void MergeJob::SaveIndex() {
  if (options_.index_snapshot.empty() || !warmed_) {
    return;
  }
  auto began = std::chrono::steady_clock::now();
  auto session = warehouse_.BeginMerge();
  if (!session.ok()) {
    spdlog::warn("cannot save the key index: {}", session.error().message);
    return;
  }
  auto watermark = (*session)->ReadParameter(kWatermark);
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
  spdlog::debug(
      "key index saved to {} in {} ms", options_.index_snapshot.string(),
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - began)
          .count());
}

uint64_t MergeJob::StateBytes() const {
  return index_.Bytes();
}

Result<TaskRecord> MergeJob::RunOnce() {
  return Run(KeyScope::kStaged);
}

Result<TaskRecord> MergeJob::Rebuild() {
  return Run(KeyScope::kAll);
}

Result<TaskRecord> MergeJob::Run(KeyScope scope) {
  TaskRecord task;
  task.task_name = scope == KeyScope::kAll ? entity_.name + "_rebuild" : entity_.merge_job();
  task.started_at = NowMicros();
  std::vector<std::pair<int64_t, KeyState>> delta;
  Result<TaskRecord> r = [&]() -> Result<TaskRecord> {
    if (scope == KeyScope::kStaged && !warmed_) {
      DIMSTREAM_TRY(Warm());
    }
    auto session = warehouse_.BeginMerge();
    if (!session.ok()) {
      return session.error();
    }
    return Apply(**session, scope, task, delta);
  }();  // the session is gone here: rolled back unless Finish committed it
  if (r.ok()) {
    // The index follows what was committed, and only that.
    if (scope == KeyScope::kAll) {
      index_.Clear();
      warmed_ = false;
    } else {
      for (const auto& [key, state] : delta) {
        index_.Put(key, state);
      }
    }
    if (r->rows_in > 0 || scope == KeyScope::kAll) {
      dirty_ = true;
      saved_ = false;
    } else {
      // Idle: the moment to write the WAL into the tables, rather than in the middle of a later run, and to
      // save the key index for the next start.
      if (dirty_) {
        Status checkpoint = warehouse_.Checkpoint();
        if (!checkpoint.ok()) {
          spdlog::warn("checkpoint failed (the next idle run tries again): {}", checkpoint.error().message);
        } else {
          dirty_ = false;
        }
      }
      if (!saved_) {
        SaveIndex();
      }
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

Result<TaskRecord> MergeJob::Apply(MergeSession& session, KeyScope scope, TaskRecord& task,
                                   std::vector<std::pair<int64_t, KeyState>>& delta) {
  // Step timings at debug level: where a run's time goes, without a profiler.
  auto mark = std::chrono::steady_clock::now();
  auto step = [&](const char* name) {
    auto now = std::chrono::steady_clock::now();
    spdlog::debug("merge step {}: {} ms", name,
                  std::chrono::duration_cast<std::chrono::microseconds>(now - mark).count() / 1000.0);
    mark = now;
  };
  auto watermark = session.ReadParameter(kWatermark);
  auto horizon = session.ReadParameter(kHorizon);
  if (!watermark.ok() || !horizon.ok()) {
    return (watermark.ok() ? horizon : watermark).error();
  }
  task.watermark_from = watermark->value_or(0);
  auto staged = session.Stage(task.watermark_from);
  if (!staged.ok()) {
    return staged.error();
  }
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
  if (scope == KeyScope::kAll) {
    DIMSTREAM_TRY(session.AppendStageToLog(KeyScope::kStaged));
    step("stage");
    FaultPoint("merge.after_stage");
    DIMSTREAM_TRY(Refold(session, KeyScope::kAll, task, nullptr));
  } else {
    if (staged->rows_in == 0) {
      step("stage");
      FaultPoint("merge.after_stage");
      task.status = "empty";
      return task;
    }
    DIMSTREAM_TRY(ApplyStaged(session, task, delta, step));
  }
  task.status = "succeeded";
  task.finished_at = NowMicros();
  if (options_.log_retention_us > 0) {
    DIMSTREAM_TRY(Compact(session, horizon->value_or(INT64_MIN)));
    step("compact the log");
  }
  committing_ = true;
  DIMSTREAM_TRY(session.Finish(staged->new_watermark, task));
  committing_ = false;
  step("watermark, clean-up, commit");
  stats_.runs++;
  stats_.rows_merged += task.rows_in;
  if (staged->rows_in > 0) {
    stats_.last_freshness_us = NowMicros() - staged->newest_loaded_at;
  }
  spdlog::info("merged {} rows ({} keys): {} versions opened, {} closed, {} SCD1 updates", task.rows_in,
               task.keys, task.versions_opened, task.versions_closed, task.scd1_updates);
  return task;
}

Status MergeJob::ApplyStaged(MergeSession& session, TaskRecord& task,
                             std::vector<std::pair<int64_t, KeyState>>& delta,
                             const std::function<void(const char*)>& step) {
  // A key whose staged records are all newer than its log (the usual case: a new key, or a change after
  // the last one) continues from its state in the index; the others (late records, ties) are refolded
  // from their whole log, as a rebuild would.
  std::vector<int64_t> refold;
  std::vector<Version> versions;
  std::vector<VersionClose> closes;
  std::vector<std::pair<int64_t, Micros>> rewritten;
  std::vector<int64_t> current_keys;
  std::vector<StagedRecord> records;
  auto flush = [&] {
    if (records.empty()) {
      return;
    }
    int64_t key = records.front().key;
    const KeyState* state = index_.Find(key);
    if (state != nullptr && records.front().seq <= state->last_seq) {
      refold.push_back(key);
      records.clear();
      return;
    }
    size_t first = versions.size();
    FoldStep fold = FoldOnto(key, state, records, versions);
    records.clear();
    task.keys++;
    for (size_t i = first; i < versions.size(); ++i) {
      const Version& v = versions[i];
      bool was_open = fold.rewrote_open && i == first;
      task.versions_opened += was_open ? 0 : 1;
      task.versions_closed += v.valid_to ? 1 : 0;
      task.scd1_updates += (was_open && v.scd1_hash != state->scd1_hash) ? 1 : 0;
    }
    if (fold.closed) {
      closes.push_back(*fold.closed);
      task.versions_closed++;
    }
    if (state != nullptr && state->open()) {
      current_keys.push_back(key);
      if (fold.rewrote_open) {
        rewritten.emplace_back(key, state->open_from);
      }
    }
    delta.emplace_back(key, fold.next);
  };
  DIMSTREAM_TRY(session.ReadStage([&](const StagedRecord& r) {
    if (!records.empty() && records.front().key != r.key) {
      flush();
    }
    records.push_back(r);
  }));
  flush();
  step("read stage and fold");
  DIMSTREAM_TRY(session.ListKeys(refold));
  DIMSTREAM_TRY(session.AppendStageToLog(KeyScope::kListed));
  step("append to log");
  FaultPoint("merge.after_stage");
  if (!refold.empty()) {
    DIMSTREAM_TRY(Refold(session, KeyScope::kListed, task, &delta));  // passes both fault points below
    step("refold late keys");
  } else {
    FaultPoint("merge.after_fold");
  }
  DIMSTREAM_TRY(session.ApplyIncrement(closes, rewritten, current_keys, versions));
  if (refold.empty()) {
    FaultPoint("merge.after_replace");
  }
  step("apply");
  return Ok();
}

Status MergeJob::Refold(MergeSession& session, KeyScope scope, TaskRecord& task,
                        std::vector<std::pair<int64_t, KeyState>>* delta) {
  // What the keys look like now, to count what this run changes.
  struct Before {
    bool open;
    uint64_t scd1_hash;
  };
  std::map<std::pair<int64_t, Micros>, Before> before;
  DIMSTREAM_TRY(session.ReadVersions(scope, [&](Version&& v) {
    before[{v.key, v.valid_from}] = {!v.valid_to.has_value(), v.scd1_hash};
  }));

  std::vector<Version> versions;
  std::vector<LogRecord> records;
  size_t scd1_count = entity_.scd1_columns.size();
  auto flush = [&] {
    if (records.empty()) {
      return;
    }
    size_t first = versions.size();
    FoldKey(records, scd1_count, versions);
    if (delta != nullptr) {
      delta->emplace_back(records.front().key,
                          StateAfter(std::span<const Version>(versions).subspan(first), records.back().seq));
    }
    records.clear();
    task.keys++;
  };
  DIMSTREAM_TRY(session.ReadLog(scope, [&](LogRecord&& r) {
    if (!records.empty() && records.front().key != r.key) {
      flush();
    }
    records.push_back(std::move(r));
  }));
  flush();

  for (const Version& v : versions) {
    auto it = before.find({v.key, v.valid_from});
    if (it == before.end()) {
      task.versions_opened++;
      task.versions_closed += v.valid_to ? 1 : 0;
      continue;
    }
    task.versions_closed += (v.valid_to && it->second.open) ? 1 : 0;
    task.scd1_updates += it->second.scd1_hash != v.scd1_hash ? 1 : 0;
  }

  FaultPoint("merge.after_fold");
  DIMSTREAM_TRY(session.ReplaceVersions(scope, versions));
  FaultPoint("merge.after_replace");
  return Ok();
}

Status MergeJob::Compact(MergeSession& session, Micros horizon) {
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
  // its SCD1 values as of then. Versions before it stay in history, frozen.
  std::vector<LogRecord> base;
  std::vector<LogRecord> before;
  std::vector<Version> versions;
  size_t scd1_count = entity_.scd1_columns.size();
  auto flush = [&] {
    if (before.empty()) {
      return;
    }
    versions.clear();
    FoldKey(before, scd1_count, versions);
    if (!versions.empty() && !versions.back().valid_to) {
      const Version& v = versions.back();
      base.push_back(LogRecord{v.key, v.valid_from, v.opened_arrival, false, v.attributes});
    }
    before.clear();
  };
  int64_t key = 0;
  DIMSTREAM_TRY(session.ReadLogOfKeysBefore(target, [&](LogRecord&& r) {
    if (!before.empty() && r.key != key) {
      flush();
    }
    key = r.key;
    if (r.seq < target) {
      before.push_back(std::move(r));
    }
  }));
  flush();
  DIMSTREAM_TRY(session.ReplaceLogBefore(target, base));
  spdlog::info("log compacted up to {}: {} keys keep a base record", FormatTimestamp(target), base.size());
  return session.WriteParameter(kHorizon, target);
}

}  // namespace dimstream
