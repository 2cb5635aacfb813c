// dimstream_design_probe: the measurements that issue 13's physical design is chosen from, on DuckDB alone
// (no dimstream code in the timed paths), at a dimension of --keys keys:
//   1. merge-run commits that only append: --runs transactions of --rows-per-run narrow rows (6 fixed-width
//      columns) + a watermark update, and the same with wide rows (a key, 6 text columns, a sequence);
//   2. one compaction slice: the latest delta row of each key in 1/--slices of the key range replaces that
//      key's base row (DELETE + INSERT + DELETE of the delta rows), one transaction; then the wide runs
//      again while another connection compacts the other slices;
//   3. reads through a merge-on-read view (base rows without a delta row, plus each key's latest delta row)
//      with 1M, 10M and 30M delta rows, next to the same reads of a compacted table: a full-scan aggregate
//      and one key's lookup; the view either groups the delta when read or filters out the rows the merge
//      marked as replaced or superseded.
// Prints each figure; the README's design section quotes them.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>
#include <vector>

#include "bench/bench_common.h"
#include "warehouse/duckdb/duckdb_handles.h"

namespace dimstream::bench {
namespace {

namespace fs = std::filesystem;

struct ProbeOptions {
  uint64_t keys = 10000000;
  unsigned runs = 100;
  unsigned wide_runs = 20;
  uint64_t rows_per_run = 120000;
  unsigned slices = 64;
  std::vector<uint64_t> deltas = {1000000, 10000000, 30000000};
  std::string work_dir;
  std::string memory_limit = "384MB";
  bool keep = false;
};

void Check(const Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "design probe: %s: %s\n", what, s.error().message.c_str());
    std::exit(1);
  }
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

double TimeSql(duck::Connection& c, const std::string& sql) {
  auto t0 = Clock::now();
  Check(c.Exec(sql), sql.c_str());
  return Seconds(Clock::now() - t0);
}

// The text columns of a row: what a customer's attributes weigh, from the key and a version number.
std::string Text(uint64_t key, uint64_t version, int column) {
  return "v" +
         std::to_string((key * 2654435761u + version * 40503u + static_cast<uint64_t>(column)) % 1000003);
}

constexpr const char* kWideColumns =
    "kid BIGINT, a1 VARCHAR, a2 VARCHAR, a3 VARCHAR, a4 VARCHAR, "
    "a5 VARCHAR, a6 VARCHAR, seq BIGINT, arrival BIGINT";
// The same values as Text(), in SQL, for tables generated with range().
std::string SqlText(const std::string& key, const std::string& version, int column) {
  return "'v' || ((" + key + " * 2654435761 + " + version + " * 40503 + " + std::to_string(column) +
         ") % 1000003)";
}

// Appends runs of rows to `table` in transactions of their own with a watermark update; the times of each.
std::vector<double> AppendRuns(duck::Connection& c, const ProbeOptions& o, const std::string& table,
                               bool wide, unsigned runs, int64_t& arrival) {
  std::mt19937_64 rng(42);
  std::vector<double> times;
  for (unsigned r = 0; r < runs; ++r) {
    auto t0 = Clock::now();
    Check(c.Exec("BEGIN"), "begin");
    {
      duck::ChunkAppender app(c, table);
      Check(app.status(), "appender");
      for (uint64_t i = 0; i < o.rows_per_run; ++i) {
        uint64_t key = rng() % o.keys;
        ++arrival;
        app.Int64(0, static_cast<int64_t>(key));
        if (wide) {
          for (int col = 1; col <= 6; ++col) {
            app.Text(col, Text(key, static_cast<uint64_t>(arrival), col));
          }
          app.Int64(7, arrival);
          app.Int64(8, arrival);
        } else {
          app.Int64(1, arrival);
          app.Int64(2, arrival);
          app.UInt64(3, rng());
          app.UInt64(4, rng());
          app.Int64(5, arrival);
        }
        app.EndRow();
      }
      Check(app.Close(), "append");
    }
    Check(c.Run("UPDATE param SET value = $1", {arrival}), "watermark");
    Check(c.Exec("COMMIT"), "commit");
    times.push_back(Seconds(Clock::now() - t0));
  }
  return times;
}

void ReportRuns(const char* what, const std::vector<double>& t, uint64_t rows) {
  double sum = 0;
  for (double x : t) {
    sum += x;
  }
  std::printf("%s: %zu runs of %llu rows: mean %.1f ms, p50 %.1f ms, p99 %.1f ms, max %.1f ms: %.0f rows/s\n",
              what, t.size(), static_cast<unsigned long long>(rows),
              1000 * sum / static_cast<double>(t.size()), 1000 * Percentile(t, 0.5),
              1000 * Percentile(t, 0.99), 1000 * Percentile(t, 1.0),
              static_cast<double>(rows * t.size()) / sum);
}

// The latest delta row of each key over the base rows that have none.
constexpr const char* kView =
    "CREATE OR REPLACE VIEW current_v AS "
    "SELECT b.kid, b.a1, b.a2, b.a3, b.a4, b.a5, b.a6, b.seq FROM base b "
    "WHERE NOT EXISTS (SELECT 1 FROM delta d WHERE d.kid = b.kid) "
    "UNION ALL SELECT kid, arg_max(a1, arrival), arg_max(a2, arrival), arg_max(a3, arrival), "
    "arg_max(a4, arrival), arg_max(a5, arrival), arg_max(a6, arrival), max(seq) FROM delta GROUP BY kid";
// The same rows without grouping at read time: the merge, which knows from its key index where each key's
// current row is, appends the keys whose base row a delta row replaced (`replaced`) and the arrivals of
// delta rows a later one superseded (`superseded`), both narrow; the view is two anti-joins and a union.
constexpr const char* kMarkedView =
    "CREATE OR REPLACE VIEW marked_v AS "
    "SELECT b.kid, b.a1, b.a2, b.a3, b.a4, b.a5, b.a6, b.seq FROM base b ANTI JOIN replaced r ON r.kid = "
    "b.kid "
    "UNION ALL SELECT d.kid, d.a1, d.a2, d.a3, d.a4, d.a5, d.a6, d.seq FROM delta d "
    "ANTI JOIN superseded s ON s.arrival = d.arrival";

struct Slice {
  uint64_t rows = 0;  // delta rows compacted
  double seconds = 0;
};

// Compacts slice `k` of --slices of the key range: each key's latest delta row replaces its base row, and
// the slice's delta rows go, in one transaction (rolled back on an error).
Result<Slice> CompactSlice(duck::Connection& c, const ProbeOptions& o, unsigned k) {
  uint64_t width = o.keys / o.slices;
  std::string in_slice =
      " kid BETWEEN " + std::to_string(width * k) + " AND " + std::to_string(width * (k + 1) - 1);
  auto t0 = Clock::now();
  DIMSTREAM_TRY(c.Exec("BEGIN"));
  auto rows = c.ScalarInt("SELECT count(*) FROM delta WHERE" + in_slice);
  Status s = rows.ok() ? Ok() : Status(rows.error());
  if (s.ok()) {
    s = c.Exec("DELETE FROM base WHERE" + in_slice + " AND kid IN (SELECT kid FROM delta WHERE" + in_slice +
               ")");
  }
  if (s.ok()) {
    s = c.Exec(
        "INSERT INTO base SELECT kid, arg_max(a1, arrival), arg_max(a2, arrival), arg_max(a3, arrival), "
        "arg_max(a4, arrival), arg_max(a5, arrival), arg_max(a6, arrival), max(seq) FROM delta WHERE" +
        in_slice + " GROUP BY kid");
  }
  if (s.ok()) {
    s = c.Exec("DELETE FROM delta WHERE" + in_slice);
  }
  if (s.ok()) {
    s = c.Exec("COMMIT");
  }
  if (!s.ok()) {
    (void)c.Exec("ROLLBACK");
    return s.error();
  }
  return Slice{static_cast<uint64_t>(rows->value_or(0)), Seconds(Clock::now() - t0)};
}

int Run(const ProbeOptions& o) {
  fs::path dir =
      o.work_dir.empty() ? fs::temp_directory_path() / "dimstream-design-probe" : fs::path(o.work_dir);
  fs::create_directories(dir);
  WorkDir work(dir, o.keep);
  fs::path file = dir / "probe.duckdb";
  fs::remove(file);
  duckdb_database db = nullptr;
  duckdb_config config = nullptr;
  duckdb_create_config(&config);
  duckdb_set_config(config, "memory_limit", o.memory_limit.c_str());
  char* err = nullptr;
  if (duckdb_open_ext(file.c_str(), &db, config, &err) != DuckDBSuccess) {
    std::fprintf(stderr, "design probe: cannot open %s: %s\n", file.c_str(), err ? err : "");
    return 1;
  }
  duckdb_destroy_config(&config);
  {
    duck::Connection c(db);
    std::printf("dimstream_design_probe: %llu keys, DuckDB %s, memory_limit %s, %u CPUs (%s)\n",
                static_cast<unsigned long long>(o.keys), duckdb_library_version(), o.memory_limit.c_str(),
                Nproc(), CpuModel().c_str());
    std::string n = std::to_string(o.keys);
    double t = TimeSql(c, std::string("CREATE TABLE base AS SELECT range AS kid, ") +
                              SqlText("range", "0", 1) + " AS a1, " + SqlText("range", "0", 2) + " AS a2, " +
                              SqlText("range", "0", 3) + " AS a3, " + SqlText("range", "0", 4) + " AS a4, " +
                              SqlText("range", "0", 5) + " AS a5, " + SqlText("range", "0", 6) +
                              " AS a6, 0::BIGINT AS seq FROM range(" + n + ")");
    Check(c.Exec("CHECKPOINT"), "checkpoint");
    std::printf("base table of %s keys written in %.1f s\n", n.c_str(), t);
    Check(c.Exec("CREATE TABLE param (value BIGINT); INSERT INTO param VALUES (0)"), "param");
    Check(c.Exec("CREATE TABLE narrow_delta (kid BIGINT, arrival BIGINT, seq BIGINT, h1 UBIGINT, h2 UBIGINT, "
                 "opened BIGINT)"),
          "narrow");
    Check(c.Exec(std::string("CREATE TABLE delta (") + kWideColumns + ")"), "delta");
    int64_t arrival = 0;
    ReportRuns("append-only narrow runs + watermark + commit",
               AppendRuns(c, o, "narrow_delta", false, o.runs, arrival), o.rows_per_run);
    ReportRuns("append-only wide runs + watermark + commit",
               AppendRuns(c, o, "delta", true, o.wide_runs, arrival), o.rows_per_run);

    // One compaction slice over the delta the wide runs left.
    unsigned first = o.slices / 2;
    auto slice = CompactSlice(c, o, first);
    Check(slice.ok() ? Ok() : Status(slice.error()), "compaction slice");
    std::printf("compaction slice 1/%u of the keys (%llu delta rows): %.1f ms\n", o.slices,
                static_cast<unsigned long long>(slice->rows), 1000 * slice->seconds);

    // Runs and compaction at once: the wide runs again while another connection compacts the other slices
    // one after the other (what a background compaction would do between and during runs).
    {
      std::atomic<bool> stop{false};
      std::vector<double> slice_times;
      uint64_t compacted = 0;
      unsigned conflicts = 0;
      std::thread compactor([&] {
        duck::Connection c2(db);
        for (unsigned k = 1; k < o.slices && !stop; ++k) {
          auto done = CompactSlice(c2, o, (first + k) % o.slices);
          if (!done.ok()) {
            ++conflicts;  // a write conflict with a run: that slice is left for later
            continue;
          }
          slice_times.push_back(done->seconds);
          compacted += done->rows;
        }
      });
      auto runs = AppendRuns(c, o, "delta", true, o.wide_runs, arrival);
      stop = true;
      compactor.join();
      ReportRuns("the same wide runs while another connection compacts slices", runs, o.rows_per_run);
      double sum = 0;
      for (double x : slice_times) {
        sum += x;
      }
      std::printf(
          "  meanwhile %zu compaction slices (%llu delta rows, %u failed on a conflict): mean %.1f ms, "
          "p99 %.1f ms: %.0f rows/s\n",
          slice_times.size(), static_cast<unsigned long long>(compacted), conflicts,
          slice_times.empty() ? 0 : 1000 * sum / static_cast<double>(slice_times.size()),
          1000 * Percentile(slice_times, 0.99), sum > 0 ? static_cast<double>(compacted) / sum : 0);
    }

    // Reads through the view, at each delta size.
    Check(c.Exec(kView), "view");
    Check(c.Exec("CREATE TABLE replaced (kid BIGINT); CREATE TABLE superseded (arrival BIGINT)"), "marks");
    Check(c.Exec(kMarkedView), "marked view");
    const std::string scan = "SELECT count(*), sum(length(a1)), max(seq) FROM ";
    auto Best = [&](const std::string& sql) {
      double best = 1e9;
      for (int i = 0; i < 3; ++i) {
        best = std::min(best, TimeSql(c, sql));
      }
      return best;
    };
    auto LookupOf = [&](const std::string& table) {
      return "SELECT * FROM " + table + " WHERE kid = 4242421";
    };
    for (uint64_t rows : o.deltas) {
      Check(c.Exec("DELETE FROM delta"), "empty delta");
      std::string r = std::to_string(rows);
      double filled = TimeSql(c, "INSERT INTO delta SELECT (hash(range) % " + n + ")::BIGINT AS kid, " +
                                     SqlText("range", "1", 1) + ", " + SqlText("range", "1", 2) + ", " +
                                     SqlText("range", "1", 3) + ", " + SqlText("range", "1", 4) + ", " +
                                     SqlText("range", "1", 5) + ", " + SqlText("range", "1", 6) +
                                     ", range + 1, range + 1 FROM range(" + r + ")");
      // What the merge would have appended as it went (not timed: a run appends its own few).
      Check(
          c.Exec("DELETE FROM replaced; INSERT INTO replaced SELECT DISTINCT kid FROM delta; "
                 "DELETE FROM superseded; INSERT INTO superseded SELECT arrival FROM delta WHERE arrival NOT "
                 "IN (SELECT max(arrival) FROM delta GROUP BY kid)"),
          "marks");
      Check(c.Exec("CHECKPOINT"), "checkpoint");
      double marked_scan = Best(scan + "marked_v");
      double marked_lookup = Best(LookupOf("marked_v"));
      double view_scan = Best(scan + "current_v");
      double view_lookup = Best(LookupOf("current_v"));
      // The compacted table these would give: written once, then read the same ways.
      Check(c.Exec("CREATE OR REPLACE TABLE compacted AS SELECT * FROM current_v"), "compact");
      Check(c.Exec("CHECKPOINT"), "checkpoint");
      double table_scan = Best(scan + "compacted");
      double table_lookup = Best(LookupOf("compacted"));
      std::printf(
          "delta of %s rows (written in %.1f s): full scan %.0f ms through the view, %.0f ms compacted "
          "(%.1fx); one key %.1f ms through the view, %.1f ms compacted (%.1fx)\n",
          r.c_str(), filled, 1000 * view_scan, 1000 * table_scan, view_scan / table_scan, 1000 * view_lookup,
          1000 * table_lookup, view_lookup / table_lookup);
      std::printf(
          "  with the superseded rows marked (no grouping): full scan %.0f ms (%.1fx); one key %.1f ms "
          "(%.1fx)\n",
          1000 * marked_scan, marked_scan / table_scan, 1000 * marked_lookup, marked_lookup / table_lookup);
    }
  }
  duckdb_close(&db);
  return 0;
}

}  // namespace
}  // namespace dimstream::bench

int main(int argc, char** argv) {
  dimstream::bench::ProbeOptions o;
  CLI::App app{
      "Measures on DuckDB alone what issue 13's physical design is chosen from: append-only merge "
      "commits, one compaction slice, reads through a merge-on-read view"};
  app.add_option("--keys", o.keys, "Keys of the dimension")->capture_default_str();
  app.add_option("--runs", o.runs, "Append-only runs of narrow rows")->capture_default_str();
  app.add_option("--wide-runs", o.wide_runs, "Append-only runs of wide rows")->capture_default_str();
  app.add_option("--rows-per-run", o.rows_per_run, "Rows a run appends")->capture_default_str();
  app.add_option("--slices", o.slices, "Compaction slices of the key range")->capture_default_str();
  app.add_option("--deltas", o.deltas, "Delta sizes the view is read at")->capture_default_str();
  app.add_option("--memory-limit", o.memory_limit, "DuckDB's memory_limit")->capture_default_str();
  app.add_option("--work-dir", o.work_dir, "Where the DuckDB file goes (default: a temp dir)");
  app.add_flag("--keep", o.keep, "Keep the work directory");
  CLI11_PARSE(app, argc, argv);
  if (o.slices == 0 || o.keys < o.slices || o.rows_per_run == 0 || o.runs == 0 || o.wide_runs == 0) {
    std::fprintf(stderr, "design probe: --keys must be at least --slices, and every count above 0\n");
    return 2;
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each figure as it is measured, also into a file
  return dimstream::bench::Run(o);
}
