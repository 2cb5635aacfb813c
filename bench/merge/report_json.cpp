#include "bench/merge/report.h"

#include <duckdb.h>

#include <cmath>

namespace dimstream {
namespace {

Json StepsJson(const StepTimes& steps) {
  Json j = Json::object();
  for (const auto& [n, s] : steps) {
    j[n] = s;
  }
  return j;
}

}  // namespace

Json Report::ToJson() const {
  Json j;
  j["machine"] = {{"nproc", Nproc()},
                  {"cpu", CpuModel()},
                  {"mem_total_gb", MemTotalGb()},
                  {"duckdb_version", duckdb_library_version()},
                  {"duckdb_settings", dim.settings}};
  j["settings"] = {{"keys", o.keys},
                   {"initial_rows_per_file", o.initial_rows_per_file},
                   {"rows_per_file", o.rows_per_file},
                   {"files", o.files},
                   {"rate", o.rate},
                   {"files_per_sec", o.files_per_sec},
                   {"freshness_seconds", o.freshness_seconds},
                   {"poll_ms", o.poll_ms},
                   {"threads", o.threads},
                   {"seed", o.seed},
                   {"smoke", o.smoke},
                   {"mix", {{"new_keys", kNewShare}, {"scd2", kScd2Share}, {"scd1", kScd1Share}}},
                   {"generate_seconds", generate_seconds}};
  Json initial = {
      {"keys", initial_keys},
      {"load", dim.initial_load.ToJson()},
      {"merge", dim.initial_merge.ToJson()},
      {"load_and_merge_rows_per_second", RowsPerSecondOfBoth(dim.initial_load, dim.initial_merge)}};
  initial["checkpoint_seconds"] = dim.initial_checkpoint_s;
  initial["duckdb_read_csv_into_a_table"] = dim.floor.initial.ToJson();
  initial["duckdb_table_copied"] = dim.floor.initial_copy.ToJson();
  if (seed.ran) {
    initial["seed_merge"] = seed.initial.ToJson();
    initial["seed_checkpoint_seconds"] = seed.initial_checkpoint_s;
  }
  j["initial"] = initial;
  Json merge = {{"dimstream", dim.change_merge.ToJson()},
                {"dimstream_checkpoint_seconds", dim.change_checkpoint_s},
                {"dimstream_steps", StepsJson(dim.change_steps)},
                {"dimstream_counts",
                 {{"rows_in", dim.change_counts.rows_in},
                  {"keys", dim.change_counts.keys},
                  {"versions_opened", dim.change_counts.versions_opened},
                  {"versions_closed", dim.change_counts.versions_closed},
                  {"scd1_updates", dim.change_counts.scd1_updates}}},
                {"dimstream_load", dim.change_load.ToJson()},
                {"duckdb_read_csv_into_a_table", dim.floor.change.ToJson()}};
  if (seed.ran) {
    merge["seed"] = seed.change.ToJson();
    merge["seed_checkpoint_seconds"] = seed.change_checkpoint_s;
    merge["seed_steps"] = StepsJson(seed.change_steps);
    merge["ratio"] = Ratio();
  }
  j["merge"] = merge;
  const FreshnessResult& f = dim.fresh;
  if (f.ran) {
    Json latencies = Json::array();
    for (double l : f.latency) {
      latencies.push_back(std::round(l * 1e6) / 1e3);
    }
    j["freshness"] = {{"files", f.files},
                      {"rows_per_file", f.rows_per_file},
                      {"merged_files", f.files - f.unmerged},
                      {"unmerged_files", f.unmerged},
                      {"percentiles_are_lower_bounds", f.unmerged > 0},
                      {"p50_ms", FreshP(50) * 1000},
                      {"p99_ms", FreshP(99) * 1000},
                      {"max_ms", FreshP(100) * 1000},
                      {"latency_ms", latencies},
                      {"slope_seconds_per_second", f.slope},
                      {"fell_behind", f.fell_behind},
                      {"backlog_at_last_arrival", f.backlog_at_end},
                      {"max_backlog", f.max_backlog},
                      {"drain_seconds", f.drain_seconds},
                      {"end_to_end_changes_per_second", f.unmerged == 0 ? EndToEndRate(f) : 0.0},
                      {"merge_runs", f.merge_runs},
                      {"feed_seconds", f.feed_seconds},
                      {"feeder_max_late_ms", f.feed_lateness * 1000},
                      {"lets_polls", f.lets_polls}};
  }
  Json samples = Json::array();
  auto sample_json = [](const MemorySample& m) {
    return Json{{"phase", m.phase},         {"rss_bytes", m.rss},           {"peak_rss_bytes", m.peak},
                {"duckdb_bytes", m.duckdb}, {"merge_state_bytes", m.state}, {"keys", m.keys}};
  };
  for (const auto& m : dim.memory) {
    samples.push_back(sample_json(m));
  }
  if (seed.memory) {
    samples.push_back(sample_json(*seed.memory));
  }
  auto [rss_per_key, beyond_duckdb] = PerKey();
  j["memory"] = {{"samples", samples},
                 {"rss_bytes_per_key", rss_per_key},
                 {"rss_bytes_per_key_outside_duckdb", beyond_duckdb},
                 {"state_bytes_per_key", StatePerKey()}};
  const RestartResult& rs = dim.restart;
  j["restart"] = {{"keys", rs.keys},
                  {"close_seconds", rs.close_s},
                  {"reopen_seconds", rs.reopen_s},
                  {"warm_seconds", rs.warm_s},
                  {"warm_from_warehouse_seconds", rs.warm_scan_s},
                  {"warm_after_crash_seconds", rs.warm_crash_s},
                  {"key_ids_read_after_crash", rs.crash_keys_read},
                  {"idle_run_seconds", rs.idle_s},
                  {"first_merge_seconds", rs.first_merge_s},
                  {"first_merge_rows", rs.first_merge_rows},
                  {"load_seconds", rs.load_s},
                  {"state_bytes", rs.state_bytes},
                  {"to_first_merge_seconds", rs.Sum()}};
  if (dim.reads.ran) {
    Json reads = Json::array();
    for (const ViewRead& read : dim.reads.reads) {
      reads.push_back({{"read", read.what},
                       {"view_ms", read.view_ms},
                       {"table_ms", read.table_ms},
                       {"ratio", read.Ratio()}});
    }
    j["view_reads"] = {
        {"delta_values", dim.reads.delta_values}, {"delta_closes", dim.reads.delta_closes}, {"reads", reads}};
  }
  if (o.check) {
    j["checks"] = {{"passed", failures.empty()},
                   {"failures", failures},
                   {"invariant_failures", dim.invariant_failures},
                   {"current_rows", dim.current_rows},
                   {"history_rows", dim.history_rows},
                   {"expected_current_rows", expected_keys},
                   {"expected_history_rows", expected_versions}};
    if (compare.ran) {
      j["checks"]["seed_current_rows"] = seed.current_rows;
      j["checks"]["seed_history_rows"] = seed.history_rows;
      j["checks"]["current_only_dimstream"] = compare.current_only_dimstream;
      j["checks"]["current_only_seed"] = compare.current_only_seed;
      j["checks"]["history_only_dimstream"] = compare.history_only_dimstream;
      j["checks"]["history_only_seed"] = compare.history_only_seed;
    }
  }
  j["goals"] = {{"changes_per_second", kGoalChangesPerSecond},
                {"ratio", GoalRatio(initial_keys)},
                {"freshness_p99_seconds", GoalFreshnessP99Seconds(dim.fresh.rows_per_file * o.files_per_sec)},
                {"state_bytes_per_key", kGoalStateBytesPerKey},
                {"restart_seconds", kGoalRestartSeconds}};
  return j;
}

}  // namespace dimstream
