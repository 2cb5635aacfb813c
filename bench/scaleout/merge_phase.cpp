#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "bench/bench_common.h"
#include "bench/scaleout/child.h"
#include "bench/scaleout/phases.h"
#include "bench/scaleout/servers.h"
#include "config/entity.h"
#include "warehouse/merge_session.h"
#include "warehouse/sql.h"

namespace dimstream::scaleout {
namespace {

using bench::Clock;
using bench::Seconds;

// The merge and `run` of the benchmark share a data directory (the key index snapshot the merge saves is
// what `run` starts from) and a bucket, on the first load phase's database.
fs::path MergeDataDir(const Context& c) {
  return c.work / "merge-data";
}

// The watermark of the customer entity's merge (LETS: load id << 32 | line).
Result<int64_t> Watermark(pg::PgConnection& conn) {
  return QueryInt(conn,
                  "SELECT parameter_value::BIGINT FROM parameter_control WHERE job_name = $1 AND "
                  "parameter_name = $2",
                  {EntitySpec{}.merge_job(), std::string(kWatermarkParameter)});
}

}  // namespace

Result<std::vector<std::string>> LoadOrder(const Context& c, const std::string& db) {
  auto conn = Connect(WithDatabase(c.pg_url, db));
  if (!conn.ok()) {
    return conn.error();
  }
  auto rows = (*conn)->Exec("SELECT object_key FROM load_history WHERE load_id IS NOT NULL ORDER BY load_id",
                            {}, "read the load order");
  if (!rows.ok()) {
    return rows.error();
  }
  std::vector<std::string> keys;
  for (int i = 0; i < rows->rows(); ++i) {
    keys.emplace_back(rows->Text(i, 0));
  }
  return keys;
}

Status RunMergePhase(const Context& c, MergeResult& r, std::vector<Check>& checks) {
  const std::string db = LoadDatabase(c.o.loaders.front());
  const fs::path data = MergeDataDir(c);
  fs::create_directories(data);
  auto config = c.WriteConfig("merge", db, data / "bucket",
                              fmt::format("[merge]\nmax_rows_per_run = {}\n", c.o.rows_per_file));
  if (!config.ok()) {
    return config.error();
  }
  const auto start = Clock::now();
  DIMSTREAM_TRY(RunToEnd(c.Command(*config, data, {"merge"}), data / "merge.log"));
  r.wall_seconds = Seconds(Clock::now() - start);

  auto conn = Connect(WithDatabase(c.pg_url, db));
  if (!conn.ok()) {
    return conn.error();
  }
  const std::vector<pg::Param> job{EntitySpec{}.merge_job()};
  auto runs = QueryInt(**conn, "SELECT count(*) FROM task_history WHERE task_name = $1 AND rows_in > 0", job);
  auto rows = QueryInt(**conn, "SELECT sum(rows_in) FROM task_history WHERE task_name = $1", job);
  auto micros = QueryInt(**conn,
                         "SELECT (extract(epoch FROM sum(finished_at - started_at)) * 1000000)::BIGINT FROM "
                         "task_history WHERE task_name = $1",
                         job);
  auto raw = QueryInt(**conn, fmt::format("SELECT count(*) FROM {}", QuoteIdent("customer_raw")));
  auto current = QueryInt(**conn, fmt::format("SELECT count(*) FROM {}", QuoteIdent("customer_current")));
  auto history = QueryInt(**conn, fmt::format("SELECT count(*) FROM {}", QuoteIdent("customer_history")));
  for (const auto* q : {&runs, &rows, &micros, &raw, &current, &history}) {
    if (!q->ok()) {
      return q->error();
    }
  }
  r.runs = static_cast<uint64_t>(*runs);
  r.rows = static_cast<uint64_t>(*rows);
  r.transaction_seconds = static_cast<double>(*micros) / 1e6;
  r.current_rows = static_cast<uint64_t>(*current);
  r.history_rows = static_cast<uint64_t>(*history);
  checks.push_back({fmt::format("merge: every loaded row merged ({} of {}, {} left in customer_raw)", *rows,
                                c.loaded_rows, *raw),
                    r.rows == c.loaded_rows && *raw == 0});
  checks.push_back(
      {fmt::format("merge: customer_current holds every key ({} of {})", *current, c.keys_at_end),
       r.current_rows == c.keys_at_end});
  return Ok();
}

Status RunFreshnessPhase(const Context& c, FreshResult& r, std::vector<Check>& checks) {
  const std::string db = LoadDatabase(c.o.loaders.front());
  const fs::path data = MergeDataDir(c);
  const fs::path landing = data / "landing";
  fs::create_directories(landing);
  auto config = c.WriteConfig("run", db, data / "bucket", "");
  if (!config.ok()) {
    return config.error();
  }
  auto conn = Connect(WithDatabase(c.pg_url, db));
  if (!conn.ok()) {
    return conn.error();
  }
  auto child = Child::Start(c.Command(*config, data, {"run"}), data / "run.log");
  if (!child.ok()) {
    return child.error();
  }
  // Whether a dropped file is merged: its load committed (load id L, R rows) and the watermark at or past
  // (L << 32) + R, the merge commit that wrote its rows into customer_current and customer_history.
  auto visible = [&](const std::string& key, uint64_t rows) -> Result<bool> {
    auto load = QueryInt(**conn, "SELECT max(load_id) FROM load_history WHERE object_key = $1", {key});
    if (!load.ok() || *load == 0) {
      return load.ok() ? Result<bool>(false) : Result<bool>(load.error());
    }
    auto lets = Watermark(**conn);
    if (!lets.ok()) {
      return lets.error();
    }
    return *lets >= (*load << 32) + static_cast<int64_t>(rows);
  };
  auto drop = [&](const PlannedFile& f) -> Status {
    std::error_code ec;
    fs::create_hard_link(c.files_dir / f.name, landing / f.name, ec);
    return ec ? Error::Permanent(fmt::format("cannot link {} into landing: {}", f.name, ec.message())) : Ok();
  };
  const auto poll = std::chrono::milliseconds(c.o.poll_ms);
  const auto drain = std::chrono::seconds(c.o.smoke ? 60 : 180);
  // The warm-up file: `run` has started, found its key index and merged once.
  DIMSTREAM_TRY(drop(*c.fresh.front()));
  const auto warm_until = Clock::now() + std::chrono::seconds(120);
  for (;;) {
    auto v = visible(c.fresh.front()->name, c.fresh.front()->mix.rows());
    if (!v.ok()) {
      return v.error();
    }
    if (*v) {
      break;
    }
    if (!child->Running() || Clock::now() > warm_until) {
      return Error::Permanent(fmt::format("`dimstream run` did not merge the warm-up file (log {}):{}",
                                          child->log().string(), child->Tail()));
    }
    std::this_thread::sleep_for(poll);
  }

  const std::vector<const PlannedFile*> files(c.fresh.begin() + 1, c.fresh.end());
  r.files = files.size();
  r.rows_per_file = files.empty() ? 0 : files.front()->mix.rows();
  const auto period =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / c.o.fresh_per_sec));
  const auto start = Clock::now();
  std::vector<Clock::time_point> dropped(files.size());
  std::vector<std::optional<Clock::time_point>> seen(files.size());
  size_t next_drop = 0;
  size_t first_unseen = 0;
  Clock::time_point last_drop = start;
  while (first_unseen < files.size()) {
    if (next_drop < files.size() && Clock::now() >= start + period * static_cast<int64_t>(next_drop)) {
      dropped[next_drop] = Clock::now();
      DIMSTREAM_TRY(drop(*files[next_drop]));
      last_drop = dropped[next_drop];
      ++next_drop;
    }
    // Files are merged in load order, which is landing order here; each poll looks at the first not seen.
    for (size_t i = first_unseen; i < next_drop; ++i) {
      if (seen[i]) {
        continue;
      }
      auto v = visible(files[i]->name, files[i]->mix.rows());
      if (!v.ok()) {
        return v.error();
      }
      if (!*v) {
        break;
      }
      seen[i] = Clock::now();
    }
    while (first_unseen < files.size() && seen[first_unseen]) {
      ++first_unseen;
    }
    if (next_drop == files.size() && Clock::now() > last_drop + drain) {
      break;
    }
    if (!child->Running()) {
      return Error::Permanent(
          fmt::format("`dimstream run` ended (log {}):{}", child->log().string(), child->Tail()));
    }
    std::this_thread::sleep_for(poll);
  }
  r.all_visible = first_unseen == files.size();
  Clock::time_point last_seen = last_drop;
  for (size_t i = 0; i < files.size(); ++i) {
    if (seen[i]) {
      r.latency_s.push_back(Seconds(*seen[i] - dropped[i]));
      last_seen = std::max(last_seen, *seen[i]);
    }
  }
  r.drain_seconds = Seconds(last_seen - last_drop);
  auto code = child->Stop();
  checks.push_back(
      {fmt::format("freshness: every dropped file merged ({} of {})", r.latency_s.size(), r.files),
       r.all_visible});
  checks.push_back(
      {fmt::format("freshness: `dimstream run` stopped cleanly (exit {})", code.ok() ? *code : -1),
       code.ok() && *code == 0});
  return Ok();
}

}  // namespace dimstream::scaleout
