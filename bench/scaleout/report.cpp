#include "bench/scaleout/report.h"

#include <numeric>

#include <fmt/format.h>

#include "bench/bench_common.h"
#include "bench/merge/common.h"

namespace dimstream::scaleout {
namespace {

double PerSecond(double n, double seconds) {
  return seconds > 0 ? n / seconds : 0.0;
}

std::string List(const std::vector<uint64_t>& v) {
  std::string out;
  for (uint64_t n : v) {
    out += (out.empty() ? "" : " + ") + std::to_string(n);
  }
  return out;
}

}  // namespace

bool PrintReport(const Context& c, const Results& r) {
  const Options& o = c.o;
  fmt::print(
      "\ndimstream_bench_scaleout: {} files of {} rows ({} rows: {} initial keys, then changes), PostgreSQL "
      "{}, {} CPUs ({})\n",
      c.loaded.size(), Count(o.rows_per_file), Count(c.loaded_rows), Count(o.keys),
      o.pg_url.empty() ? "15 (private server)" : "at --pg-url", bench::Nproc(), bench::CpuModel());

  fmt::print(
      "\n1. Load: N `dimstream load` processes, one RabbitMQ queue, one file:// bucket, one database\n");
  fmt::print("  {:>7} {:>9} {:>11} {:>8} {:>8}  {}\n", "loaders", "seconds", "rows/s", "files/s", "speed-up",
             "files per process");
  const double base =
      r.loads.empty() ? 0.0 : PerSecond(static_cast<double>(r.loads.front().rows), r.loads.front().seconds);
  for (const LoadResult& l : r.loads) {
    const double rate = PerSecond(static_cast<double>(l.rows), l.seconds);
    fmt::print("  {:>7} {:>9.2f} {:>11} {:>8.2f} {:>7.2f}x  {}\n", l.loaders, l.seconds, Rate(rate),
               PerSecond(static_cast<double>(l.files), l.seconds), base > 0 ? rate / base : 0.0,
               List(l.objects_per_loader));
  }

  const MergeResult& m = r.merge;
  const double dim_rate = PerSecond(static_cast<double>(m.rows), m.transaction_seconds);
  fmt::print(
      "\n2. Merge on PostgreSQL: one `dimstream merge` of every loaded row, one transaction per file's "
      "rows\n");
  fmt::print(
      "  {} rows in {} runs: {:.2f} s in the runs ({} changes/s); {:.2f} s for the process ({} changes/s, "
      "with its start and key index)\n",
      Count(m.rows), m.runs, m.transaction_seconds, Rate(dim_rate), m.wall_seconds,
      Rate(PerSecond(static_cast<double>(m.rows), m.wall_seconds)));
  fmt::print("  customer_current {} rows, customer_history {} rows\n", Count(m.current_rows),
             Count(m.history_rows));

  const FreshResult& f = r.fresh;
  fmt::print(
      "\n   Freshness on PostgreSQL: `dimstream run`, {} files of {} rows linked into landing at {} a "
      "second\n",
      f.files, Count(f.rows_per_file), o.fresh_per_sec);
  fmt::print(
      "  landing -> customer_current: p50 {:.3f} s, p99 {:.3f} s, max {:.3f} s; the last file {:.3f} s after "
      "its drop{}\n",
      Percentile(f.latency_s, 50), Percentile(f.latency_s, 99), Percentile(f.latency_s, 100), f.drain_seconds,
      f.all_visible ? "" : " (NOT every file was merged)");

  const SeedResult& s = r.seed;
  const double seed_total = std::accumulate(s.run_seconds.begin(), s.run_seconds.end(), 0.0);
  const double seed_rate = PerSecond(static_cast<double>(s.rows), seed_total);
  fmt::print(
      "\n3. The seed's procedure on PostgreSQL: one transaction per file, in dimstream's load order\n");
  fmt::print(
      "  {} rows in {} runs: {:.2f} s ({} changes/s; run p50 {:.3f} s, max {:.3f} s); RAW filled by COPY "
      "in {:.2f} s, not counted\n",
      Count(s.rows), s.run_seconds.size(), seed_total, Rate(seed_rate), Percentile(s.run_seconds, 50),
      Percentile(s.run_seconds, 100), s.raw_load_seconds);
  std::string steps;
  for (const auto& [name, seconds] : s.steps) {
    steps += fmt::format("{}{} {:.2f} s", steps.empty() ? "" : ", ", name, seconds);
  }
  fmt::print("  by statement: {}\n", steps);
  fmt::print("  ratio dimstream/seed (changes/s, the runs): {:.2f}x\n",
             seed_rate > 0 ? dim_rate / seed_rate : 0.0);

  bool ok = true;
  fmt::print("\nChecks:\n");
  for (const Check& ch : r.checks) {
    fmt::print("  {} {}\n", ch.ok ? "ok    " : "FAILED", ch.what);
    ok = ok && ch.ok;
  }
  return ok;
}

}  // namespace dimstream::scaleout
