#include "bench/merge/change_stream.h"

#include <charconv>
#include <string_view>
#include <system_error>

#include <fmt/format.h>

#include "bench/merge/dimstream_side.h"

namespace dimstream {

void StepSink::sink_it_(const spdlog::details::log_msg& msg) {
  constexpr std::string_view kPrefix = "merge step ";
  std::string_view text(msg.payload.data(), msg.payload.size());
  if (!on_ || !text.starts_with(kPrefix)) {
    return;
  }
  text.remove_prefix(kPrefix.size());
  size_t colon = text.rfind(": ");
  if (colon == std::string_view::npos) {
    return;
  }
  std::string_view number = text.substr(colon + 2);
  double ms = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), ms);
  if (ec == std::errc()) {
    AddStep(steps_, text.substr(0, colon), ms / 1000.0);
  }
}

Status RunChangeStream(const std::vector<PlannedFile>& plan, const Paths& p, DuckDbWarehouse& warehouse,
                       LocalObjectStore& store, Loader& loader, MergeJob& merge, StepSink& steps,
                       uint64_t& keys, DimResult& r) {
  auto changes = FilesOf(plan, FileGroup::kChange);
  steps.Start();
  for (size_t i = 0; i < changes.size(); ++i) {
    double cpu = ProcessCpuSeconds();
    auto start = Clock::now();
    auto rows = LoadPlanned(loader, store, p, *changes[i]);
    if (!rows.ok()) {
      return rows.error();
    }
    r.change_load.Add(Seconds(Clock::now() - start), *rows, ProcessCpuSeconds() - cpu);
    auto task = TimedMerge(merge, r.change_merge);
    if (!task.ok()) {
      return task.error();
    }
    r.change_counts.Add(*task);
    keys += changes[i]->mix.new_keys;
    r.merged_rows += task->rows_in;
    r.loaded_rows += *rows;
    fmt::print(stderr, "  change file {}/{}: {} rows, load {:.2f} s, merge {:.3f} s\n", i + 1, changes.size(),
               Count(*rows), r.change_load.seconds.back(), r.change_merge.seconds.back());
  }
  r.change_steps = steps.Stop();
  // What the runs left for DuckDB to write: a sustained rate pays for it sooner or later.
  auto start = Clock::now();
  auto checkpoint = warehouse.Query("CHECKPOINT");
  r.change_checkpoint_s = Seconds(Clock::now() - start);
  if (!checkpoint.ok()) {
    return checkpoint.error().Context("CHECKPOINT after the change stream");
  }
  r.memory.push_back(Sample("after the change stream", &warehouse, &merge, keys));
  return Ok();
}

}  // namespace dimstream
