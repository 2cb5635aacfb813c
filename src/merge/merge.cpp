#include "merge/merge.h"

#include <chrono>
#include <map>

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
  Result<TaskRecord> r = [&]() -> Result<TaskRecord> {
    auto session = warehouse_.BeginMerge();
    if (!session.ok()) {
      return session.error();
    }
    return Apply(**session, scope, task);
  }();  // the session is gone here: rolled back unless Finish committed it
  if (r.ok()) {
    return r;
  }
  stats_.failures++;
  task.status = "failed";
  task.finished_at = NowMicros();
  task.error = r.error().message;
  Status recorded = warehouse_.RecordTask(task);
  if (!recorded.ok()) {
    spdlog::warn("cannot record the failed merge run: {}", recorded.error().message);
  }
  return r.error().Context("merge run failed and was rolled back");
}

Result<TaskRecord> MergeJob::Apply(MergeSession& session, KeyScope scope, TaskRecord& task) {
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
  DIMSTREAM_TRY(session.AppendStageToLog());
  step("stage");
  FaultPoint("merge.after_stage");
  task.rows_in = staged->rows_in;
  task.rows_staged = staged->rows_staged;
  task.watermark_to = staged->new_watermark;
  if (staged->rows_in == 0 && scope == KeyScope::kStaged) {
    task.status = "empty";
    return task;
  }

  // What the staged keys look like now, to count what this run changes.
  struct Before {
    bool open;
    uint64_t scd1_hash;
  };
  std::map<std::pair<int64_t, Micros>, Before> before;
  DIMSTREAM_TRY(session.ReadVersions(scope, [&](Version&& v) {
    before[{v.key, v.valid_from}] = {!v.valid_to.has_value(), v.scd1_hash};
  }));

  step("read versions");
  std::vector<Version> versions;
  std::vector<LogRecord> records;
  size_t scd1_count = entity_.scd1_columns.size();
  auto flush = [&] {
    if (!records.empty()) {
      FoldKey(records, scd1_count, versions);
      records.clear();
      task.keys++;
    }
  };
  DIMSTREAM_TRY(session.ReadLog(scope, [&](LogRecord&& r) {
    if (!records.empty() && records.front().key != r.key) {
      flush();
    }
    records.push_back(std::move(r));
  }));
  flush();
  step("read log and fold");

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
  step("replace versions");
  task.status = "succeeded";
  task.finished_at = NowMicros();
  if (options_.log_retention_us > 0) {
    DIMSTREAM_TRY(Compact(session, horizon->value_or(INT64_MIN)));
    step("compact the log");
  }
  DIMSTREAM_TRY(session.Finish(staged->new_watermark, task));
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
