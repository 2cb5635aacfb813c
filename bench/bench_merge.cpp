// dimstream_bench_merge: the merge benchmark of issue 5. On generated data, in one run: the initial load and
// merge of N keys, merge throughput on a stream of change files, freshness with the mover, loader and merge
// task running as `dimstream run` runs them, memory per key, restart to the first merge, and the seed's
// stored procedure applied to the same files by the same DuckDB engine. See bench/README.md.

// Here the options and Run, which wires the phases; each phase is in bench/merge/: the workload, phases 1
// to 4 (initial_load, change_stream, freshness, restart; run by dimstream_side), seed_baseline, report.
#include <unistd.h>

#include <algorithm>
#include <exception>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "bench/merge/change_stream.h"
#include "bench/merge/common.h"
#include "bench/merge/dimstream_side.h"
#include "bench/merge/engine_floor.h"
#include "bench/merge/report.h"
#include "bench/merge/seed_baseline.h"
#include "bench/merge/workload.h"

namespace dimstream {
namespace {

int Fail(const std::string& message) {
  std::cerr << "dimstream_bench_merge: " << message << "\n";
  return 1;
}

std::shared_ptr<StepSink> SetUpLogging(const std::string& level_name) {
  auto level = spdlog::level::from_str(level_name);
  auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  console->set_level(level);
  auto steps = std::make_shared<StepSink>();
  steps->set_level(spdlog::level::debug);
  auto logger = std::make_shared<spdlog::logger>("dimstream", spdlog::sinks_init_list{console, steps});
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  logger->set_level(std::min(level, spdlog::level::debug));
  spdlog::set_default_logger(logger);
  return steps;
}

Status Validate(const BenchOptions& o) {
  if (o.files_per_sec == 0 || o.rate < o.files_per_sec) {
    return Error::Invalid(
        "--rate must be at least --files-per-sec (each freshness file holds rate/files-per-sec rows)");
  }
  // Each file picks distinct existing keys at random; with fewer than twice as many keys the draw would
  // crawl.
  uint64_t picks = std::max(ChangeMix(o.rows_per_file).picks(), ChangeMix(FreshRows(o)).picks());
  if (picks * 2 > o.keys) {
    return Error::Invalid(
        fmt::format("--keys {} is too small for files of this size: a file changes {} distinct existing "
                    "keys, and needs at "
                    "least twice as many keys",
                    o.keys, picks));
  }
  return Ok();
}

int Run(BenchOptions o) {
  if (o.smoke) {
    o.keys = 100000;
    o.initial_rows_per_file = 100000;
    o.rows_per_file = 10000;
    o.files = 3;
    o.freshness_seconds = 3;
    o.check = true;
    o.no_baseline = false;
  }
  if (o.check && o.no_baseline) {
    return Fail("--check compares with the seed baseline: it cannot go with --no-baseline");
  }
  Status valid = Validate(o);
  if (!valid.ok()) {
    return Fail(valid.error().message);
  }
  auto steps = SetUpLogging(o.log_level);

  std::error_code ec;
  const bool temp_dir = o.dir.empty();
  const fs::path dir = temp_dir
                           ? fs::temp_directory_path() / fmt::format("dimstream_bench_merge_{}", ::getpid())
                           : fs::absolute(o.dir);
  // Only what the benchmark writes is removed: its data under <dir>/bench-merge-work, never <dir> itself.
  // The benchmark's data goes on every way out unless --keep; the JSON report stays. A temporary directory
  // the benchmark made goes as well when nothing else is left in it (the report went elsewhere).
  WorkDir work(dir / "bench-merge-work", o.keep, temp_dir ? std::optional<fs::path>(dir) : std::nullopt);
  fs::remove_all(work.path(), ec);
  Paths p{work.path() / "files", work.path() / "landing", work.path() / "bucket",
          work.path() / "dimstream.duckdb", work.path() / "seed.duckdb"};
  for (const auto& d : {p.files, p.landing, p.bucket}) {
    fs::create_directories(d, ec);
    if (ec) {
      return Fail(fmt::format("cannot create {}: {}", d.string(), ec.message()));
    }
  }
  const std::string json_path = o.json.empty() ? (dir / "bench-merge.json").string() : o.json;

  const std::vector<PlannedFile> plan = PlanFiles(o);
  uint64_t rows = 0;
  for (const auto& f : plan) {
    rows += f.mix.rows();
  }
  fmt::print(stderr, "dimstream_bench_merge: generating {} files ({} rows) in {}\n", plan.size(), Count(rows),
             p.files.string());
  auto generating = Clock::now();
  Status generated = GenerateFiles(o, plan, p.files);
  if (!generated.ok()) {
    return Fail(generated.error().message);
  }
  double generate_seconds = Seconds(Clock::now() - generating);

  DimResult dim;
  fmt::print(stderr, "dimstream_bench_merge: dimstream (phases 1 to 4)\n");
  Status ran = RunDimstream(o, plan, p, *steps, dim);
  if (!ran.ok()) {
    return Fail("dimstream: " + ran.error().message);
  }
  fmt::print(stderr,
             "dimstream_bench_merge: DuckDB alone, the same files into a table (the engine's floor)\n");
  Status floor = RunEngineFloor(o, plan, p, dim.floor);
  if (!floor.ok()) {
    return Fail("engine floor: " + floor.error().message);
  }
  SeedResult seed;
  CompareResult compare;
  if (!o.no_baseline) {
    fmt::print(stderr, "dimstream_bench_merge: the seed procedure (phase 5)\n");
    Status seeded = RunSeed(o, plan, dim, p, seed, o.check ? &compare : nullptr);
    if (!seeded.ok()) {
      return Fail("seed baseline: " + seeded.error().message);
    }
  }

  Report report{o, plan, dim, seed, compare};
  report.generate_seconds = generate_seconds;
  for (const auto& f : plan) {
    report.expected_keys += f.mix.new_keys;
    report.expected_versions += f.mix.new_keys + f.mix.scd2;
    report.initial_keys += f.group == FileGroup::kInitial ? f.mix.new_keys : 0;
  }
  if (o.check) {
    auto& failures = report.failures;
    for (const auto& line : dim.invariant_failures) {
      failures.push_back("invariant: " + line);
    }
    if (dim.current_rows != static_cast<int64_t>(report.expected_keys)) {
      failures.push_back(fmt::format("dimstream customer_current has {} rows, expected {} (one per key)",
                                     dim.current_rows, report.expected_keys));
    }
    if (dim.history_rows != static_cast<int64_t>(report.expected_versions)) {
      failures.push_back(
          fmt::format("dimstream customer_history has {} rows, expected {} (a version per new key "
                      "and per address change)",
                      dim.history_rows, report.expected_versions));
    }
    if (dim.merged_rows != dim.loaded_rows + dim.fresh.files * dim.fresh.rows_per_file +
                               FilesOf(plan, FileGroup::kRestart).front()->mix.rows()) {
      failures.push_back(fmt::format("the merge runs took {} rows in, the loads committed {}",
                                     dim.merged_rows,
                                     dim.loaded_rows + dim.fresh.files * dim.fresh.rows_per_file +
                                         FilesOf(plan, FileGroup::kRestart).front()->mix.rows()));
    }
    if (dim.fresh.unmerged > 0) {
      failures.push_back(fmt::format("{} of {} freshness files were not merged before the drain timeout",
                                     dim.fresh.unmerged, dim.fresh.files));
    }
    if (compare.ran && !compare.ok()) {
      std::string keys;
      for (const auto& k : compare.example_keys) {
        keys += (keys.empty() ? "" : ", ") + k;
      }
      failures.push_back(fmt::format(
          "dimstream and the seed procedure disagree: customer_current rows only in dimstream {}, only in "
          "the seed "
          "{}; customer_history rows only in dimstream {}, only in the seed {} (on the key, the 7 "
          "attributes{}); "
          "keys: {}",
          compare.current_only_dimstream, compare.current_only_seed, compare.history_only_dimstream,
          compare.history_only_seed, " and is_current for history", keys));
    }
    if (compare.ran && (seed.current_rows != dim.current_rows || seed.history_rows != dim.history_rows)) {
      failures.push_back(
          fmt::format("row counts differ: dimstream current {} history {}, seed current {} history {}",
                      dim.current_rows, dim.history_rows, seed.current_rows, seed.history_rows));
    }
  }

  report.Print();
  std::ofstream out(json_path);
  out << report.ToJson().dump(2) << "\n";
  out.close();
  if (!out) {
    return Fail("cannot write " + json_path);
  }
  std::cout << fmt::format("\nJSON: {}{}\n", json_path,
                           o.keep ? fmt::format(" (data kept in {})", work.path().string()) : "");
  if (o.check) {
    for (const auto& f : report.failures) {
      std::cerr << "dimstream_bench_merge: check failed: " << f << "\n";
    }
    if (!report.failures.empty()) {
      return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace dimstream

int main(int argc, char** argv) {
  dimstream::BenchOptions o;
  CLI::App app(
      "The merge benchmark of issue 5, on generated data: initial load and merge of N keys, merge throughput "
      "on "
      "change files next to the seed's stored procedure on the same DuckDB engine, freshness with every role "
      "running, memory per key and restart time. Prints a table and writes it as JSON.",
      "dimstream_bench_merge");
  using Range = CLI::Range;
  app.add_option("--keys", o.keys, "Initial keys, loaded and merged before the change stream")
      ->check(Range(uint64_t{1000}, uint64_t{1} << 32));
  app.add_option("--initial-rows-per-file", o.initial_rows_per_file,
                 "Rows per file of the initial load (one merge run after each file)")
      ->check(Range(uint64_t{1000}, uint64_t{1} << 32));
  app.add_option(
         "--rows-per-file", o.rows_per_file,
         "Rows per change file (2% new keys, 20% address changes, 50% name/email changes, 28% resends)")
      ->check(Range(uint64_t{100}, uint64_t{1} << 32));
  app.add_option("--files", o.files, "Change files, each loaded and then merged in one timed run")
      ->check(Range(uint64_t{1}, uint64_t{100000}));
  app.add_option("--rate", o.rate, "Freshness: changes per second offered to landing")
      ->check(Range(uint64_t{1}, uint64_t{1} << 32));
  app.add_option("--files-per-sec", o.files_per_sec,
                 "Freshness: files per second (each holds rate/files-per-sec rows)")
      ->check(Range(uint64_t{1}, uint64_t{1000}));
  app.add_option("--freshness-seconds", o.freshness_seconds,
                 "Freshness: how long files arrive (0: skip the phase)")
      ->check(Range(uint64_t{0}, uint64_t{3600}));
  app.add_option("--poll-ms", o.poll_ms, "Freshness: how often the watermark (LETS) is read, in ms")
      ->check(Range(uint64_t{1}, uint64_t{1000}));
  app.add_option(
      "--drain-timeout", o.drain_timeout_s,
      "Freshness: seconds to wait for the last files after arrivals stop (0: max(60, 6 x freshness "
      "seconds))");
  app.add_option("--threads", o.threads, "DuckDB threads for both databases (0: DuckDB's default)");
  app.add_option(
         "--busy-delta-factor", o.busy_delta_factor,
         "merge.busy_delta_factor: how far the delta may grow while records wait (1: compaction never "
         "yields to waiting records)")
      ->check(CLI::Range(1, 1000));
  app.add_option(
      "--delta-bounds-keys", o.delta_bounds_keys,
      "merge.delta_bounds_keys: the dimension the delta's bounds and the compaction slice are for; a "
      "larger one scales them (0: never scaled)");
  app.add_option("--seed", o.seed, "Seed of the generated data");
  app.add_option(
      "--dir", o.dir,
      "Work directory (default: a new directory under the system's temporary directory); the data goes "
      "to <dir>/bench-merge-work, removed at the end unless --keep");
  app.add_option("--json", o.json, "Where to write the JSON report (default: <dir>/bench-merge.json)");
  app.add_option("--log-level", o.log_level,
                 "dimstream's log level on stderr (debug shows the merge's step timings of every run)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.add_flag("--keep", o.keep, "Keep the generated files and both DuckDB files");
  app.add_flag("--check", o.check,
               "Check the results as --smoke does (invariants, row counts, dimstream = seed procedure, every "
               "freshness file merged) at the given sizes; exit 1 on a mismatch");
  app.add_flag("--no-baseline", o.no_baseline, "Skip the seed procedure (phase 5)");
  app.add_flag(
      "--smoke", o.smoke,
      "Small run for CI: 100,000 keys, 3 change files of 10,000 rows, 3 s of freshness, then --check; "
      "never checks timings");
  CLI11_PARSE(app, argc, argv);
  try {
    return dimstream::Run(o);
  } catch (const std::exception& e) {
    std::cerr << "dimstream_bench_merge: " << e.what() << "\n";
    return 1;
  }
}
