#include "bench/merge/report.h"

#include <duckdb.h>

#include <iostream>

#include <fmt/format.h>

namespace dimstream {
namespace {

double Mb(uint64_t bytes) {
  return static_cast<double>(bytes) / 1e6;
}

const char* Met(bool met) {
  return met ? "met" : "NOT met";
}

std::string FormatSteps(const StepTimes& steps) {
  double total = 0;
  for (const auto& [n, s] : steps) {
    total += s;
  }
  std::string out;
  for (const auto& [n, s] : steps) {
    out += fmt::format("{}{} {:.3f} s ({:.0f}%)", out.empty() ? "" : ", ", n, s,
                       total > 0 ? 100.0 * s / total : 0.0);
  }
  return out;
}

}  // namespace

double Report::Ratio() const {
  return dim.change_merge.Total() > 0 && seed.ran ? seed.change.Total() / dim.change_merge.Total() : 0.0;
}

double Report::FreshP(double pct) const {
  return Percentile(dim.fresh.latency, pct);
}

double Report::StatePerKey() const {
  return dim.restart.keys > 0
             ? static_cast<double>(dim.restart.state_bytes) / static_cast<double>(dim.restart.keys)
             : 0.0;
}

const MemorySample* Report::Memory(std::string_view phase) const {
  for (const auto& m : dim.memory) {
    if (m.phase == phase) {
      return &m;
    }
  }
  return nullptr;
}

std::pair<double, double> Report::PerKey() const {
  const MemorySample* before = Memory("warehouse open, empty");
  const MemorySample* after = Memory("after the initial load + merge");
  if (before == nullptr || after == nullptr || initial_keys == 0) {
    return {0.0, 0.0};
  }
  double keys = static_cast<double>(initial_keys);
  double rss = (static_cast<double>(after->rss) - static_cast<double>(before->rss)) / keys;
  double duck = after->duckdb >= 0 && before->duckdb >= 0
                    ? (static_cast<double>(after->duckdb) - static_cast<double>(before->duckdb)) / keys
                    : 0.0;
  return {rss, rss - duck};
}

void Report::Print() const {
  const auto changes = FilesOf(plan, FileGroup::kChange);
  const auto initial = FilesOf(plan, FileGroup::kInitial);
  auto out = [](const std::string& text) { std::cout << text; };
  out("\ndimstream_bench_merge\n");
  out(fmt::format("machine:  {} CPUs (nproc), {}, {:.1f} GB RAM\n", Nproc(), CpuModel(), MemTotalGb()));
  out(fmt::format("duckdb:   {}; both databases: {}\n", duckdb_library_version(), dim.settings));
  out(fmt::format("data:     generated in {:.1f} s (seed {}, in a child process); CSV in the seed's format, ",
                  generate_seconds, o.seed));
  out("no updated_at column: a record's sequence is its load's commit time\n");
  out(fmt::format("          change files: {:.0f}% new keys, {:.0f}% address changes (SCD2), ",
                  kNewShare * 100, kScd2Share * 100));
  out(fmt::format("{:.0f}% name/email changes (SCD1), the rest unchanged resends\n", kScd1Share * 100));

  const std::string columns = "   {:<40} {:>12} {:>10} {:>12} {:>8} {:>8} {:>8}\n";
  const std::string values = "   {:<40} {:>12} {:>10.3f} {:>12} {:>8.1f} {:>8.1f} {:>8.2f}\n";
  auto row = [&values](const std::string& name, const Timings& t) {
    std::cout << fmt::format(fmt::runtime(values), name, Count(t.rows), t.Total(), Rate(t.PerSecond()),
                             t.P50Ms(), t.MaxMs(), t.cpu_seconds);
  };
  // A sum of two series: no runs of its own, so no p50 or max.
  auto sum_row = [](const std::string& name, const Timings& a, const Timings& b) {
    std::cout << fmt::format("   {:<40} {:>12} {:>10.3f} {:>12} {:>8} {:>8} {:>8.2f}\n", name, Count(a.rows),
                             a.Total() + b.Total(), Rate(RowsPerSecondOfBoth(a, b)), "-", "-",
                             a.cpu_seconds + b.cpu_seconds);
  };
  out(fmt::format("\n1. initial load of {} keys: {} file(s), each loaded, then merged in one run\n",
                  Count(initial_keys), initial.size()));
  out(fmt::format(fmt::runtime(columns), "", "rows", "seconds", "rows/s", "p50 ms", "max ms", "cpu s"));
  row("load (Loader::LoadObject)", dim.initial_load);
  row("merge (MergeJob::RunOnce)", dim.initial_merge);
  sum_row("load + merge", dim.initial_load, dim.initial_merge);
  if (seed.ran) {
    row("seed procedure (RAW load not timed)", seed.initial);
  }
  row("DuckDB alone: read_csv into a table", dim.floor.initial);
  row("DuckDB alone: that table copied", dim.floor.initial_copy);
  sum_row("DuckDB alone: both", dim.floor.initial, dim.floor.initial_copy);
  const double floor_rate = RowsPerSecondOfBoth(dim.floor.initial, dim.floor.initial_copy);
  out(fmt::format(
      "   (each record stored once, each file one INSERT and commit, then the current table written once: "
      "what any file -> dimension takes on this engine at least; goal >= {} rows/s: {} for the engine "
      "alone)\n",
      Rate(kGoalInitialRowsPerSecond),
      floor_rate >= kGoalInitialRowsPerSecond ? "reachable" : "NOT reachable"));
  out(fmt::format("   then a CHECKPOINT (not in the figures): dimstream {:.3f} s", dim.initial_checkpoint_s));
  out(seed.ran ? fmt::format(", seed {:.3f} s\n", seed.initial_checkpoint_s) : "\n");

  out(fmt::format(
      "\n2. merge throughput: {} change files x {} rows, each loaded, then merged in one timed run\n",
      changes.size(), Count(o.rows_per_file)));
  out(fmt::format(fmt::runtime(columns), "", "changes", "merge s", "changes/s", "p50 ms", "max ms", "cpu s"));
  row("dimstream MergeJob::RunOnce", dim.change_merge);
  if (seed.ran) {
    row("seed procedure", seed.change);
    out(fmt::format("   ratio dimstream/seed: {:.2f}x (goal >= {:.0f}x: {})\n", Ratio(),
                    GoalRatio(initial_keys), Met(Ratio() >= GoalRatio(initial_keys))));
  }
  out(fmt::format("   dimstream >= {} changes/s: {}\n", Rate(kGoalChangesPerSecond),
                  Met(dim.change_merge.PerSecond() >= kGoalChangesPerSecond)));
  auto with_checkpoint = [](const Timings& t, double checkpoint) {
    double s = t.Total() + checkpoint;
    return s > 0 ? static_cast<double>(t.rows) / s : 0.0;
  };
  out(fmt::format(
      "   counting a CHECKPOINT after the last file: dimstream {} changes/s (checkpoint {:.3f} s)",
      Rate(with_checkpoint(dim.change_merge, dim.change_checkpoint_s)), dim.change_checkpoint_s));
  out(seed.ran ? fmt::format(", seed {} changes/s (checkpoint {:.3f} s)\n",
                             Rate(with_checkpoint(seed.change, seed.change_checkpoint_s)),
                             seed.change_checkpoint_s)
               : "\n");
  const MergeCounts& c = dim.change_counts;
  out(fmt::format("   dimstream runs: {} rows in, {} keys, {} versions opened, {} closed, {} SCD1 updates\n",
                  Count(c.rows_in), Count(c.keys), Count(c.versions_opened), Count(c.versions_closed),
                  Count(c.scd1_updates)));
  if (!dim.change_steps.empty()) {
    out("   dimstream merge by step: " + FormatSteps(dim.change_steps) + "\n");
    const double compaction = StepSeconds(dim.change_steps, kCompactionStep);
    const double runs = dim.change_merge.Total() - compaction;
    out(fmt::format(
        "   the runs alone, without compacting the delta after them ({:.3f} s): {} changes/s (goal >= {}: "
        "{})\n",
        compaction, Rate(runs > 0 ? static_cast<double>(dim.change_merge.rows) / runs : 0.0),
        Rate(kGoalChangesPerSecond),
        Met(runs > 0 && static_cast<double>(dim.change_merge.rows) / runs >= kGoalChangesPerSecond)));
  }
  if (seed.ran) {
    out("   seed procedure by step: " + FormatSteps(seed.change_steps) + "\n");
  }
  out(fmt::format("   loading the change files (not in the figures): dimstream Loader {} rows/s; ",
                  Rate(dim.change_load.PerSecond())));
  out("the seed's RAW is filled by DuckDB's read_csv, untimed\n");
  out(fmt::format(
      "   DuckDB alone, read_csv of each change file into a table (one INSERT and commit a file, nothing "
      "merged): {} rows/s, p50 {:.1f} ms a file\n",
      Rate(dim.floor.change.PerSecond()), dim.floor.change.P50Ms()));

  const FreshnessResult& f = dim.fresh;
  if (f.ran) {
    out(fmt::format("\n3. freshness: {} files x {} rows = {} changes/s ({} files/s) for {} s, ", f.files,
                    Count(f.rows_per_file), Count(f.rows_per_file * o.files_per_sec), o.files_per_sec,
                    o.freshness_seconds));
    out("mover + loader + merge task as in `dimstream run`\n");
    out(fmt::format("   renamed into landing -> merge commit seen (LETS read every {} ms): ", o.poll_ms));
    const char* at_least = f.unmerged > 0 ? ">= " : "";
    const double goal = GoalFreshnessP99Seconds(f.rows_per_file * o.files_per_sec);
    out(fmt::format("p50 {}{:.0f} ms, p99 {}{:.0f} ms, max {}{:.0f} ms (goal p99 < {:.0f} ms: {})\n",
                    at_least, FreshP(50) * 1000, at_least, FreshP(99) * 1000, at_least, FreshP(100) * 1000,
                    goal * 1000, Met(f.unmerged == 0 && FreshP(99) < goal)));
    out(fmt::format(
        "   {}: latency trend {:+.3f} s per s of arrivals; backlog at the last arrival {} file(s) ",
        f.fell_behind ? "FELL BEHIND" : "kept up", f.slope, f.backlog_at_end));
    out(f.unmerged == 0
            ? fmt::format("(max {}); all visible {:.2f} s after it\n", f.max_backlog, f.drain_seconds)
            : fmt::format("(max {}); {} file(s) not visible when the drain timeout ended\n", f.max_backlog,
                          f.unmerged));
    if (f.unmerged == 0) {
      // Offered faster than the pipeline goes (--rate), this is what it sustains from landing to visible.
      const double rate = EndToEndRate(f);
      out(fmt::format(
          "   end to end: {} changes from the first file renamed into landing to the last one "
          "visible in {:.2f} s: {} changes/s (offered {}; goal at 10M keys >= {}: {})\n",
          Count(f.files * f.rows_per_file), EndToEndSeconds(f), Rate(rate),
          Count(f.rows_per_file * o.files_per_sec), Rate(kGoalEndToEnd), Met(rate >= kGoalEndToEnd)));
    }
    out(fmt::format(
        "   {} of {} files merged, in {} merge runs ({:.1f} files a run); feeder at most {:.0f} ms late\n",
        f.files - f.unmerged, f.files, f.merge_runs,
        f.merge_runs > 0 ? static_cast<double>(f.files) / static_cast<double>(f.merge_runs) : 0.0,
        f.feed_lateness * 1000));
  }

  out("\n4. memory (RSS after malloc_trim; peak = ru_maxrss)\n");
  out(fmt::format("   {:<40} {:>10} {:>10} {:>10} {:>15}\n", "", "RSS MB", "peak MB", "DuckDB MB",
                  "merge state MB"));
  auto mb_or_dash = [](int64_t bytes) {
    return bytes >= 0 ? fmt::format("{:.1f}", Mb(static_cast<uint64_t>(bytes))) : std::string("-");
  };
  auto mem_row = [&](const MemorySample& m) {
    out(fmt::format("   {:<40} {:>10.1f} {:>10.1f} {:>10} {:>15}\n", m.phase, Mb(m.rss), Mb(m.peak),
                    mb_or_dash(m.duckdb), mb_or_dash(m.state)));
  };
  for (const auto& m : dim.memory) {
    mem_row(m);
  }
  if (seed.memory) {
    mem_row(*seed.memory);
  }
  auto [rss_per_key, beyond_duckdb] = PerKey();
  out(
      fmt::format("   per initial key: RSS +{:.0f} bytes, {:.0f} of them not in DuckDB's buffer manager "
                  "(duckdb_memory()); ",
                  rss_per_key, beyond_duckdb));
  out(fmt::format("MergeJob::StateBytes() / keys = {:.1f} bytes (goal <= {:.0f}: {})\n", StatePerKey(),
                  kGoalStateBytesPerKey, Met(StatePerKey() <= kGoalStateBytesPerKey)));

  const RestartResult& rs = dim.restart;
  out(fmt::format(
      "\n5. restart at {} keys: reopen {:.3f} s + Warm {:.3f} s + first merge {:.3f} s ({} changes)",
      Count(rs.keys), rs.reopen_s, rs.warm_s, rs.first_merge_s, Count(rs.first_merge_rows)));
  out(fmt::format(" = {:.3f} s (goal < {:.0f} s: {})\n", rs.Sum(), kGoalRestartSeconds,
                  Met(rs.Sum() < kGoalRestartSeconds)));
  out(
      fmt::format("   not counted: the idle run before the stop {:.3f} s (checkpoint, key index snapshot), "
                  "closing {:.3f} s, "
                  "loading the change file {:.3f} s\n",
                  rs.idle_s, rs.close_s, rs.load_s));
  out(fmt::format(
      "   after a crash (the snapshot of the idle moment after the initial load, then the state of the "
      "{} key ids with records since read from the warehouse): Warm {:.3f} s, so {:.3f} s to the first "
      "merge (goal < {:.0f} s: {}; the WAL's replay when a crashed file is opened is not in it)\n",
      Count(rs.crash_keys_read), rs.warm_crash_s, rs.CrashSum(), kGoalRestartSeconds,
      Met(rs.CrashSum() < kGoalRestartSeconds)));
  out(fmt::format(
      "   without any snapshot: Warm scans the warehouse, {:.3f} s, so {:.3f} s to the first merge\n",
      rs.warm_scan_s, rs.reopen_s + rs.warm_scan_s + rs.first_merge_s));

  const ViewReadResult& vr = dim.reads;
  if (vr.ran) {
    out(fmt::format(
        "\n6. reads through the views, with the delta as the run left it ({} rows with values, {} closes), "
        "best of three, against the same read on a table made from the view\n",
        Count(vr.delta_values), Count(vr.delta_closes)));
    out("                                                  view ms   table ms    ratio\n");
    for (const ViewRead& read : vr.reads) {
      out(fmt::format("   {:<44} {:>9.1f} {:>10.1f} {:>7.2f}x (goal <= {:.0f}x: {})\n", read.what,
                      read.view_ms, read.table_ms, read.Ratio(), kGoalViewReadRatio,
                      Met(read.Ratio() <= kGoalViewReadRatio)));
    }
  }

  if (o.check) {
    out(fmt::format("\nchecks: {}\n", failures.empty() ? "all passed" : "FAILED"));
    out(fmt::format("   invariants (CheckInvariants): {}\n",
                    dim.invariant_failures.empty() ? "hold" : "FAILED"));
    out(fmt::format("   dimstream: current {} rows (expected {}), history {} rows (expected {})\n",
                    dim.current_rows, expected_keys, dim.history_rows, expected_versions));
    if (compare.ran) {
      out(fmt::format("   seed procedure: current {} rows, history {} rows; ", seed.current_rows,
                      seed.history_rows));
      out(fmt::format("rows only in dimstream / only in the seed: current {} / {}, history {} / {}\n",
                      compare.current_only_dimstream, compare.current_only_seed,
                      compare.history_only_dimstream, compare.history_only_seed));
    }
    if (f.ran) {
      out(fmt::format("   freshness files merged: {} of {}\n", f.files - f.unmerged, f.files));
    }
  }
}

}  // namespace dimstream
