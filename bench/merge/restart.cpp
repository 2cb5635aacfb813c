#include "bench/merge/restart.h"

#include <utility>

#include <fmt/format.h>

#include "bench/merge/dimstream_side.h"
#include "merge/check.h"
#include "warehouse/sql.h"

namespace dimstream {
namespace {

// job.Warm(), its time in `seconds`; a failure says which warm it was.
Status TimedWarm(MergeJob& job, double& seconds, const char* what) {
  auto warming = Clock::now();
  Status warmed = job.Warm();
  seconds = Seconds(Clock::now() - warming);
  return warmed.ok() ? Ok() : Status(warmed.error().Context(what));
}

}  // namespace

Status RunRestart(const BenchOptions& o, const std::vector<PlannedFile>& plan, const Paths& p,
                  const EntitySpec& entity, const DuckDbOptions& db, const MergeOptions& merge_options,
                  LocalObjectStore& store, std::unique_ptr<DuckDbWarehouse>& warehouse, uint64_t keys,
                  DimResult& r) {
  r.restart.keys = keys;
  fmt::print(stderr, "  restart at {} keys\n", Count(keys));
  auto closing = Clock::now();
  warehouse.reset();
  r.restart.close_s = Seconds(Clock::now() - closing);
  auto reopening = Clock::now();
  auto reopened = DuckDbWarehouse::Open(db, entity);
  if (!reopened.ok()) {
    return reopened.error().Context("reopening the warehouse");
  }
  warehouse = std::move(reopened).value();
  r.restart.reopen_s = Seconds(Clock::now() - reopening);
  {
    // After a crash the snapshot is the one saved at the last idle moment, here the one after the initial
    // load: Warm reads it, then the state of every key id with records since from the warehouse.
    MergeOptions crashed = merge_options;
    crashed.index_snapshot = StaleSnapshot(merge_options);
    MergeJob job(entity, *warehouse, crashed);
    DIMSTREAM_TRY(
        TimedWarm(job, r.restart.warm_crash_s, "MergeJob::Warm from the snapshot after the initial load"));
    r.restart.crash_keys_read = job.stats().keys_read_at_warm;
    std::filesystem::remove(crashed.index_snapshot);
  }
  {
    // Without any snapshot (lost, or made stale by a rebuild or log retention) Warm scans the warehouse:
    // timed here with a job that has none, not counted in the restart.
    MergeJob scan(entity, *warehouse, MergeOptions{});
    DIMSTREAM_TRY(TimedWarm(scan, r.restart.warm_scan_s, "MergeJob::Warm from the warehouse"));
  }
  MergeJob merge(entity, *warehouse, merge_options);
  DIMSTREAM_TRY(TimedWarm(merge, r.restart.warm_s, "MergeJob::Warm"));
  r.restart.state_bytes = merge.StateBytes();
  Loader loader(LoaderOptionsFromDefaults(), entity, store, nullptr, *warehouse);
  const PlannedFile* restart_file = FilesOf(plan, FileGroup::kRestart).front();
  auto loading = Clock::now();
  auto rows = LoadPlanned(loader, store, p, *restart_file);
  if (!rows.ok()) {
    return rows.error();
  }
  r.restart.load_s = Seconds(Clock::now() - loading);
  Timings first;
  auto task = TimedMerge(merge, first);
  if (!task.ok()) {
    return task.error();
  }
  r.restart.first_merge_s = first.Total();
  r.restart.first_merge_rows = task->rows_in;
  r.merged_rows += task->rows_in;
  keys += restart_file->mix.new_keys;
  r.memory.push_back(Sample("after restart: Warm + first merge", warehouse.get(), &merge, keys));

  // What the run leaves, read with the restarted merge job still open.
  if (o.check) {
    auto failures = CheckInvariants(*warehouse, entity);
    if (!failures.ok()) {
      return failures.error().Context("CheckInvariants");
    }
    r.invariant_failures = *failures;
  }
  auto order =
      warehouse->Query("SELECT object_key FROM load_history WHERE status = 'loaded' ORDER BY load_id");
  if (!order.ok()) {
    return order.error();
  }
  for (const auto& row : order->rows) {
    if (!row.empty() && row[0]) {
      r.load_order.push_back(*row[0]);
    }
  }
  auto current = QueryInt(*warehouse, "SELECT count(*) FROM " + QuoteIdent(entity.current_table()));
  auto history = QueryInt(*warehouse, "SELECT count(*) FROM " + QuoteIdent(entity.history_table()));
  if (!current.ok() || !history.ok()) {
    return (current.ok() ? history.error() : current.error());
  }
  r.current_rows = *current;
  r.history_rows = *history;
  return Ok();
}

}  // namespace dimstream
